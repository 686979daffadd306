"""Activations and their derivatives; softmax, log-softmax and logsumexp over rows; on every backend.

Backends ``"numpy"``, ``"cpu"``, ``"parallel"`` and ``"cuda"``, selected with ``backend=`` (``None``: the
process default, see :mod:`verify.kernels._backend`).

**One record per activation** (:class:`~verify.kernels.catalogue.ActivationRecord`: formula, derivative,
source, kinks, conventions) beside its element function ``x -> (a(x), a'(x))`` in float64 — the one function
the activation kernels, the derivative kernels and the network's layer pass are compiled from (serial,
parallel and CUDA, by :mod:`verify.kernels._compile`) — and its NumPy form. The integer codes
(:data:`ACTIVATION_CODES`) and the kernels' dispatch are generated from :data:`RECORDS`; the SymPy
definitions are in :mod:`verify.symbolic.activations`. Sources: *Diving Into Deep Learning, Part 1*, Emory
University (``002_1388b78ad9a2d202.txt``), slide "affine transformation + activation"; *Deep Learning*,
University of Milano-Bicocca (``000_42086e2af0f76780.txt``), "Log-Linear Binary Classification":

- ``identity``: ``a(x) = x``, ``a'(x) = 1``;
- ``sigmoid``: ``σ(x) = 1 / (1 + e^{-x})``, ``σ'(x) = σ(x)(1 − σ(x)) = e^{-|x|} / (1 + e^{-|x|})²``;
- ``tanh``: ``tanh(x)``, ``tanh'(x) = 1 − tanh²(x) = 4e^{-2|x|} / (1 + e^{-2|x|})²``;
- ``relu``: ``max(x, 0)``, ``relu'(x) = 1 if x > 0 else 0``. **ReLU'(0) = 0** is our documented
  choice (any value in the subdifferential [0, 1] is valid; 0 matches PyTorch, JAX and TensorFlow).

The derivatives are evaluated in the forms on the right, never as ``σ(1 − σ)`` or ``1 − tanh²``, which
cancel to 0 for ``|x| ≳ 20`` although the true value is a normal float down to ``|x| ≈ 700``; value and
derivative share one exponential (:func:`verify.kernels.elementary.exp_pair`, vectorisable).

Softmax family, row-wise over the last axis of a 2-D ``(N, K)`` array (source: *Deep Learning*,
``000_42086e2af0f76780.txt``, "Log-linear multi-class classification"; *Diving Into Deep Learning*,
``002_1388b78ad9a2d202.txt``, "Loss Functions": ``σ(z) = exp(z) / 1ᵀexp(z)``):

- ``softmax(z)_k = exp(z_k − m) / S``, ``log_softmax(z)_k = (z_k − m) − log S``,
  ``logsumexp(z) = m + log1p(S − 1)``, with ``m = max_k z_k`` and ``S = Σ_k exp(z_k − m) ≥ 1``.

Stability: the shift by the row maximum keeps every exponent ≤ 0 (no overflow for logits up to the
largest float); ``S − 1`` is summed directly over the non-maximal entries so that ``log1p`` keeps full
relative accuracy when one logit dominates; and ``z_k − m`` is computed *exactly* as a float pair
``d + e`` (Knuth's TwoSum) so that ``exp(z_k − m)`` has a relative error of a few ULPs even when
``|z_k − m|`` is in the hundreds. The compiled kernels compute in float64 for float32 input and round once.

Njit building blocks for other kernels: :data:`activate` (``activate(code, x) -> (a(x), a'(x))``),
:func:`first_max`, :func:`row_max`, :func:`shifted_exps`, :func:`row_exp`, :func:`others` (a block of rows'
shifted exponentials and their sums, shared with the losses), and,
re-exported from :mod:`verify.kernels.elementary`, ``two_diff``, ``exp_pair``, ``exp_diff``.
"""

from __future__ import annotations

import math

import numpy as np

from verify._jit import jit
from verify._validate import require_choice
from verify.kernels._compile import blockwise, elementwise, switch
from verify.kernels._finite import NONFINITE
from verify.kernels.catalogue import SOURCES, ActivationRecord, array_backend, require_rule
from verify.kernels.elementary import exp_diff, exp_pair, holds_float64, log1p_nonnegative, two_diff

__all__ = [
    "RECORDS",
    "ACTIVATIONS",
    "ACTIVATION_CODES",
    "activation",
    "activation_derivative",
    "softmax",
    "log_softmax",
    "logsumexp",
    "activate",
    "first_max",
    "row_max",
    "shifted_exps",
    "row_exp",
    "others",
    "two_diff",
    "exp_pair",
    "exp_diff",
]

_element = jit(forceinline=True, error_model="numpy")
_SOURCE = f"{SOURCES['002']}, slide 'affine transformation + activation'"


# =========================================================================== the activations, one record each


@_element
def _identity(x):
    return x, 1.0


@_element
def _sigmoid(x):
    """σ and σ' from e = e^{−|x|} ∈ (0, 1]: σ = 1/(1 + e) for x ≥ 0, e/(1 + e) below; σ' = e/(1 + e)²."""
    e = exp_pair(-abs(x), 0.0)
    r = 1.0 / (1.0 + e)
    return (r if x >= 0.0 else e * r), e * r * r


def _lambert_tanh_coefficients(depth: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Lambert's continued fraction tanh x = x / (1 + x²/(3 + x²/(5 + ⋯ + x²/(2·depth + 1)))), truncated,
    as x·P(x²)/Q(x²): the integer coefficients of P and Q (lowest power first), exact in float64."""
    q, p = [2 * depth + 1], [1]  # the tail 2·depth + 1 as q/p, polynomials in w = x²
    for k in range(depth - 1, -1, -1):  # tail_k = (2k + 1) + w / tail_{k+1}
        head = [(2 * k + 1) * c for c in q] + [0]
        for i, c in enumerate(p):
            head[i + 1] += c
        q, p = head, q
    while p[-1] == 0:
        p.pop()
    while q[-1] == 0:
        q.pop()
    return tuple(float(c) for c in p), tuple(float(c) for c in q)


# depth 7: the truncation error is below 2e-19·tanh x for |x| ≤ ½ (measured at 500 points in mpmath).
_TANH_P, _TANH_Q = _lambert_tanh_coefficients(7)


@_element
def _tanh(x):
    """``(tanh x, tanh' x)``: for |x| < ½ from Lambert's continued fraction (:data:`_TANH_P`, :data:`_TANH_Q`;
    no exponential, no cancellation) with tanh' = 1 − tanh² ≥ 0.78 there; above, from e = e^{−2|x|}:
    tanh|x| = (1 − e)/(1 + e), tanh' = 4e/(1 + e)². Both branches are computed and one is selected, so
    that a loop over it vectorises."""
    a = abs(x)
    w = a * a
    p = ((_TANH_P[3] * w + _TANH_P[2]) * w + _TANH_P[1]) * w + _TANH_P[0]
    q = (((_TANH_Q[4] * w + _TANH_Q[3]) * w + _TANH_Q[2]) * w + _TANH_Q[1]) * w + _TANH_Q[0]
    t_small = a * p / q
    e = exp_pair(-2.0 * a, 0.0)
    r = 1.0 / (1.0 + e)
    small = a < 0.5
    t = t_small if small else (1.0 - e) * r
    slope = 1.0 - t_small * t_small if small else 4.0 * e * r * r
    return math.copysign(t, x), slope


@_element
def _relu(x):
    on = x > 0.0
    return (x if on else 0.0), (1.0 if on else 0.0)


def _np_identity(x):
    return x.copy(), np.ones_like(x)


def _np_sigmoid(x):
    e = np.exp(-np.abs(x))  # e^{-|x|} ∈ (0, 1]: no overflow on either side
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)), e / ((1 + e) * (1 + e))


def _np_tanh(x):
    e = np.exp(-2 * np.abs(x))
    return np.tanh(x), 4 * e / ((1 + e) * (1 + e))


def _np_relu(x):
    return np.where(x > 0, x, x.dtype.type(0)), (x > 0).astype(x.dtype)


RECORDS: dict[str, ActivationRecord] = {r.name: r for r in (
    ActivationRecord("identity", "x", "1", "the identity (a linear output layer)", _identity, _np_identity),
    ActivationRecord("sigmoid", "1/(1 + e^{−x})", "e^{−|x|}/(1 + e^{−|x|})²",
                     f"{_SOURCE}; {SOURCES['000']}, 'Log-Linear Binary Classification'", _sigmoid, _np_sigmoid),
    ActivationRecord("tanh", "tanh x", "4e^{−2|x|}/(1 + e^{−2|x|})²", _SOURCE, _tanh, _np_tanh),
    ActivationRecord("relu", "max(x, 0)", "1 for x > 0, else 0", _SOURCE, _relu, _np_relu,
                     kinks="at x = 0 the derivative is 0 (the subdifferential is [0, 1]).",
                     conventions=("ReLU'(0) = 0, as PyTorch, JAX and TensorFlow.",)),
)}
"""Every elementwise activation's record, by name, in the order of their codes."""

ACTIVATIONS: tuple[str, ...] = tuple(RECORDS)
ACTIVATION_CODES: dict[str, int] = {name: code for code, name in enumerate(RECORDS)}

activate = switch(tuple(r.element for r in RECORDS.values()), name="activate")
"""``activate(code, x) -> (a(x), a'(x))`` in float64 for the activation with integer ``code``
(:data:`ACTIVATION_CODES`): the element functions of :data:`RECORDS`, for other ``@jit`` kernels."""


@_element
def _activation_element(x, out, code, derivative):
    value, slope = activate(code, np.float64(x))
    return (slope if derivative else value),


_FLOATS = ("float32", "float64")
_ELEMENTWISE = elementwise(
    _activation_element, name="activation", arrays=("x", "out"), assigned=("out",), scalars=("code", "derivative"),
    signatures=tuple(f"void({f}[::1], {f}[::1], int64, boolean)" for f in _FLOATS), error_model="numpy",
)


def _elementwise(name: object, x: object, backend: str | None, derivative: bool):
    require_choice(name, "name", ACTIVATIONS)
    arrays = array_backend(backend)
    arr = arrays.floats(x, "x")
    require_rule(arrays, arr, "x", NONFINITE, "must be finite")
    flat = arr.reshape(arr.size)
    if arrays.backend == "numpy":
        with np.errstate(over="ignore", under="ignore"):
            return RECORDS[name].numpy(arr)[1 if derivative else 0]
    out = arrays.empty(flat.shape, flat.dtype)
    if flat.size:
        arrays.run(_ELEMENTWISE, flat.size, flat, out, ACTIVATION_CODES[name], derivative)
    return arrays.result(out.reshape(arr.shape))


def activation(name: str, x: np.ndarray, *, backend: str | None = None) -> np.ndarray:
    """Elementwise activation ``name`` (one of :data:`ACTIVATIONS`) of ``x``; same shape and dtype.

    ``identity``: x; ``sigmoid``: 1/(1+e^{-x}); ``tanh``: tanh x; ``relu``: max(x, 0). Source: *Diving Into
    Deep Learning, Part 1*, Emory University (``002_1388b78ad9a2d202.txt``), "affine transformation +
    activation". ``x``: a finite float32/float64 array of any shape (host, or device for ``"cuda"``).

    Raises:
      TypeError: ``x`` is not a float32/float64 array. ValueError: ``x`` has NaN/inf; ``name`` is unknown.

    >>> activation("relu", np.array([-1.0, 2.0]), backend="numpy")
    array([0., 2.])
    """
    return _elementwise(name, x, backend, derivative=False)


def activation_derivative(name: str, x: np.ndarray, *, backend: str | None = None) -> np.ndarray:
    """Elementwise derivative ``a'(x)`` of activation ``name``; same shape and dtype. ReLU'(0) = 0.

    ``identity``: 1; ``sigmoid``: e^{-|x|}/(1+e^{-|x|})²; ``tanh``: 4e^{-2|x|}/(1+e^{-2|x|})²;
    ``relu``: 1 for x > 0, else 0. Errors as :func:`activation`.

    >>> activation_derivative("sigmoid", np.array([0.0]), backend="numpy")
    array([0.25])
    """
    return _elementwise(name, x, backend, derivative=True)


# =========================================================================== softmax family


@_element
def first_max(row):
    """``(index, value)`` of the first maximum of a 1-D array, the value in float64."""
    best = 0
    m = np.float64(row[0])
    for k in range(1, row.shape[0]):
        if row[k] > m:
            m = np.float64(row[k])
            best = k
    return best, m


@jit(fastmath={"nnan"}, error_model="numpy")
def row_max(row):
    """The largest entry of a 1-D array, as float64 (its entries are finite: the arguments were checked, so the
    reduction may be reordered and vectorised)."""
    m = np.float64(row[0])
    for k in range(1, row.shape[0]):
        m = max(m, np.float64(row[k]))
    return m


@_element
def exp_of_excess(z, e):
    """``e[r, c] = exp(z[r, c] − e[r, c])`` over a block (``e`` holding each entry's shift, e.g. its row's maximum
    broadcast), by one loop over the whole block: contiguous memory, so it vectorises, where a loop over one row
    of K = 10 would leave a scalar remainder costing as much as its vector part."""
    zf = z.reshape(-1)
    ef = e.reshape(-1)
    for j in range(zf.shape[0]):
        ef[j] = exp_diff(zf[j], ef[j])


@_element
def shifted_exps(z, e, work):
    """For each row r of a block: ``work[0, r] = m_r``, its largest entry, and ``work[1, r] = S_r − 1``, the sum of
    ``exp(z[r, k] − m_r)`` over every entry but one maximum (:func:`others`).

    Where ``e`` holds float64, ``e[r, k] = exp(z[r, k] − m_r)`` too (:func:`exp_of_excess`, the maximum
    broadcast into ``e`` first). A float32 ``e`` would
    round them, so there they are not kept and :func:`row_exp` computes them again: every result is computed
    in float64 and rounded once, in either dtype."""
    rows = z.shape[0]
    k_max = z.shape[1]
    if holds_float64(e):
        for r in range(rows):
            m = row_max(z[r])
            work[0, r] = m
            for c in range(k_max):
                e[r, c] = m
        exp_of_excess(z, e)
    else:
        for r in range(rows):
            work[0, r] = row_max(z[r])
    for r in range(rows):
        work[1, r] = others(z, e, r, work[0, r])


@_element
def row_exp(z, e, r, c, m):
    """``exp(z[r, c] − m)`` (``m`` the row's maximum): kept by :func:`shifted_exps` (float64 ``e``) or computed
    again."""
    if holds_float64(e):
        return np.float64(e[r, c])
    return exp_diff(z[r, c], m)


@jit(fastmath={"reassoc"}, error_model="numpy")
def others(z, e, r, m):
    """``S − 1 = Σ_k exp(z[r, k] − m) − 1`` without the dominant term, so that ``log1p`` keeps its relative
    accuracy: the terms below 1 summed, plus 1 for each term equal to 1 but one (the maximum's is exp(0) = 1
    exactly; excluding any other 1 instead gives the same sum). In any order (left to the vectoriser: a sum of
    K nonnegative terms is within (K − 1)/2 ULPs either way). Not inlined by Numba, which would drop the
    ``reassoc`` flag; LLVM inlines it into the calling loop."""
    s = 0.0
    ones = 0.0
    for c in range(z.shape[1]):
        v = row_exp(z, e, r, c, m)
        below = v < 1.0
        s += v if below else 0.0
        ones += 0.0 if below else 1.0
    return s + (ones - 1.0)


@_element
def _softmax_rows(z, out, work):
    shifted_exps(z, out, work)
    for r in range(z.shape[0]):
        total = 1.0 + work[1, r]
        for c in range(z.shape[1]):
            out[r, c] = row_exp(z, out, r, c, work[0, r]) / total


@_element
def _log_softmax_rows(z, out, work):
    shifted_exps(z, out, work)
    for r in range(z.shape[0]):
        log_s = log1p_nonnegative(work[1, r])
        for c in range(z.shape[1]):
            d, e = two_diff(z[r, c], work[0, r])
            out[r, c] = (d - log_s) + e


@_element
def _logsumexp_rows(z, out):
    for r in range(z.shape[0]):
        b, m = first_max(z[r])
        s = 0.0
        for c in range(z.shape[1]):
            if c != b:
                s += exp_diff(z[r, c], m)
        out[r] = m + log1p_nonnegative(s)


def _rows_kernel(function, name: str, out: str, scratch: int):
    return blockwise(function, name=name, arrays=("z", "out"), scratch=scratch, rows_per_block=64,
                     signatures=tuple(f"void({f}[:, ::1], {f}[{out}])" for f in _FLOATS), error_model="numpy")


_ROWS = {
    "softmax": _rows_kernel(_softmax_rows, "softmax", ":, ::1", 2),
    "log_softmax": _rows_kernel(_log_softmax_rows, "log_softmax", ":, ::1", 2),
    "logsumexp": _rows_kernel(_logsumexp_rows, "logsumexp", "::1", 0),
}


def _np_softmax_family(z: np.ndarray, which: str) -> np.ndarray:
    n = z.shape[0]
    best = np.argmax(z, axis=1)
    rows = np.arange(n)
    m = z[rows, best][:, None]
    d = z - m
    bv = d - z
    e = np.where(np.isfinite(d), (z - (d - bv)) - (m + bv), 0)  # TwoSum: z − m = d + e (0 where d overflows)
    t = np.exp(d)
    t = t + t * e
    t[rows, best] = 0.0
    s = t.sum(axis=1)
    log_s = np.log1p(s)
    if which == "softmax":
        t[rows, best] = 1.0
        return t / (1.0 + s)[:, None]
    if which == "log_softmax":
        return (d - log_s[:, None]) + e
    return m[:, 0] + log_s


def _softmax_family(z: object, backend: str | None, which: str):
    arrays = array_backend(backend)
    arr = arrays.floats(z, "z", ndim=2)
    if arr.shape[1] == 0:
        raise ValueError(f"z must have at least one column (class); got shape {tuple(arr.shape)}")
    require_rule(arrays, arr, "z", NONFINITE, "must be finite")
    if arrays.backend == "numpy":
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            return _np_softmax_family(arr, which)
    n = arr.shape[0]
    out = arrays.empty((n,) if which == "logsumexp" else tuple(arr.shape), arr.dtype)
    if n:
        arrays.run(_ROWS[which], n, arr, out)
    return arrays.result(out)


def softmax(z: np.ndarray, *, backend: str | None = None) -> np.ndarray:
    """Row-wise softmax of ``z`` (N, K): ``σ(z)_k = exp(z_k) / Σ_j exp(z_j)``, computed shifted by the max.

    Source: *Deep Learning*, University of Milano-Bicocca (``000_42086e2af0f76780.txt``), "Log-linear
    multi-class classification"; *Diving Into Deep Learning*, Emory (``002_1388b78ad9a2d202.txt``), "Loss
    Functions". Accurate to a few ULPs for finite logits of any size. Same shape and dtype as ``z``.

    Raises:
      TypeError: not a float32/float64 array. ValueError: not 2-D, no column, NaN/inf.

    >>> softmax(np.array([[0.0, 0.0]]), backend="numpy")
    array([[0.5, 0.5]])
    """
    return _softmax_family(z, backend, "softmax")


def log_softmax(z: np.ndarray, *, backend: str | None = None) -> np.ndarray:
    """Row-wise ``log σ(z)_k = (z_k − m) − log Σ_j exp(z_j − m)`` with ``m = max_j z_j``; shape (N, K).
    Source and errors as :func:`softmax`.

    >>> float(log_softmax(np.array([[0.0, 0.0]]), backend="numpy")[0, 0]) == -math.log(2)
    True
    """
    return _softmax_family(z, backend, "log_softmax")


def logsumexp(z: np.ndarray, *, backend: str | None = None) -> np.ndarray:
    """Row-wise ``log Σ_k exp(z_k) = m + log1p(Σ_{k≠argmax} exp(z_k − m))``; shape (N,), dtype of ``z``.
    Source and errors as :func:`softmax`.

    >>> float(logsumexp(np.array([[0.0, 0.0]]), backend="numpy")[0]) == math.log(2)
    True
    """
    return _softmax_family(z, backend, "logsumexp")
