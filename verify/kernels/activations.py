"""Activations and their derivatives; softmax, log-softmax and logsumexp over rows.

Backends ``"numpy"``, ``"cpu"`` (``@jit``) and ``"parallel"`` (``@parallel_jit``, ``prange`` over
elements / rows), selected with ``backend=`` (``None``: the process default, see
:mod:`verify.kernels._backend`).

Activations (source: ``002_1388b78ad9a2d202.txt``, slide "affine transformation + activation";
``000_42086e2af0f76780.txt``, "Log-Linear Binary Classification"):

- ``identity``: ``a(x) = x``, ``a'(x) = 1``;
- ``sigmoid``: ``σ(x) = 1 / (1 + e^{-x})``, ``σ'(x) = σ(x)(1 − σ(x)) = e^{-|x|} / (1 + e^{-|x|})²``;
- ``tanh``: ``tanh(x)``, ``tanh'(x) = 1 − tanh²(x) = 4e^{-2|x|} / (1 + e^{-2|x|})²``;
- ``relu``: ``max(x, 0)``, ``relu'(x) = 1 if x > 0 else 0``. **ReLU'(0) = 0** is our documented
  choice (any value in the subdifferential [0, 1] is valid; 0 matches PyTorch, JAX and TensorFlow).

The derivatives are evaluated in the forms on the right, never as ``σ(1 − σ)`` or ``1 − tanh²``, which
cancel to 0 for ``|x| ≳ 20`` although the true value is a normal float down to ``|x| ≈ 700``.

Softmax family, row-wise over the last axis of a 2-D ``(N, K)`` array (source:
``000_42086e2af0f76780.txt``, "Log-linear multi-class classification"; ``002_1388b78ad9a2d202.txt``,
"Loss Functions": ``σ(z) = exp(z) / 1ᵀexp(z)``):

- ``softmax(z)_k = exp(z_k − m) / S``, ``log_softmax(z)_k = (z_k − m) − log S``,
  ``logsumexp(z) = m + log1p(S − 1)``, with ``m = max_k z_k`` and ``S = Σ_k exp(z_k − m) ≥ 1``.

Stability: the shift by the row maximum keeps every exponent ≤ 0 (no overflow for logits up to the
largest float); ``S − 1`` is summed directly over the non-maximal entries so that ``log1p`` keeps full
relative accuracy when one logit dominates; and ``z_k − m`` is computed *exactly* as a float pair
``d + e`` (Knuth's TwoSum) so that ``exp(z_k − m) = exp(d)·(1 + e)`` has a relative error of a few
ULPs even when ``|z_k − m|`` is in the hundreds (a plain ``exp(fl(z_k − m))`` loses up to
``|z_k − m|/2`` ULPs there). The Numba kernels compute in float64 for float32 input and round once.

Njit building blocks for other kernels (call them from your own ``@jit`` code): :func:`apply_code`,
:func:`derivative_code` (scalar → float64, dispatching on :data:`ACTIVATION_CODES`), :func:`row_max`,
:func:`exp_diff`, :func:`row_logsumexp` (``two_diff``, ``exp_nonpositive`` and ``exp_diff`` live in
:mod:`verify.kernels.elementary` and are re-exported here).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from verify._jit import jit, parallel_jit
from verify._validate import as_float_array, require_choice, require_finite
from verify.kernels._backend import cuda_route, dispatch
from verify.kernels.elementary import exp_diff, exp_nonpositive, two_diff

__all__ = [
    "ACTIVATIONS",
    "ACTIVATION_CODES",
    "activation",
    "activation_derivative",
    "softmax",
    "log_softmax",
    "logsumexp",
    "apply_code",
    "derivative_code",
    "two_diff",
    "exp_nonpositive",
    "exp_diff",
    "row_max",
    "row_logsumexp",
]

ACTIVATIONS: tuple[str, ...] = ("identity", "sigmoid", "tanh", "relu")
ACTIVATION_CODES: dict[str, int] = {"identity": 0, "sigmoid": 1, "tanh": 2, "relu": 3}


# --------------------------------------------------------------------------- njit building blocks


@jit
def _sigmoid(x):
    """σ(x) without overflow: ``1/(1+e^{-x})`` for x ≥ 0, ``e^{x}/(1+e^{x})`` for x < 0."""
    x = np.float64(x)
    if x >= 0.0:
        return 1.0 / (1.0 + np.exp(-x))
    e = np.exp(x)
    return e / (1.0 + e)


@jit
def _sigmoid_prime(x):
    """σ'(x) = e^{-|x|} / (1 + e^{-|x|})² (no cancellation, symmetric in x)."""
    e = np.exp(-abs(np.float64(x)))
    d = 1.0 + e
    return e / (d * d)


@jit
def _tanh_prime(x):
    """tanh'(x) = 4e^{-2|x|} / (1 + e^{-2|x|})² (no cancellation; 2|x| is exact)."""
    e = np.exp(-2.0 * abs(np.float64(x)))
    d = 1.0 + e
    return 4.0 * e / (d * d)


@jit
def apply_code(code, x):
    """The activation with integer ``code`` (see :data:`ACTIVATION_CODES`) at the scalar ``x``, as float64."""
    x = np.float64(x)
    if code == 0:
        return x
    if code == 1:
        return _sigmoid(x)
    if code == 2:
        return np.tanh(x)
    return x if x > 0.0 else 0.0


@jit
def derivative_code(code, x):
    """The derivative of the activation with integer ``code`` at the scalar ``x`` (ReLU'(0) = 0), as float64."""
    x = np.float64(x)
    if code == 0:
        return 1.0
    if code == 1:
        return _sigmoid_prime(x)
    if code == 2:
        return _tanh_prime(x)
    return 1.0 if x > 0.0 else 0.0


@jit
def row_max(row):
    """``(index, value)`` of the first maximum of a 1-D array."""
    best = 0
    m = np.float64(row[0])
    for k in range(1, row.shape[0]):
        v = np.float64(row[k])
        if v > m:
            m = v
            best = k
    return best, m


@jit
def _row_sum_others(row, skip, m):
    """Σ_{k ≠ skip} exp(row_k − m): ``S − 1`` when ``skip`` is the argmax and ``m`` the max."""
    s = 0.0
    for k in range(row.shape[0]):
        if k != skip:
            s += exp_diff(row[k], m)
    return s


@jit
def row_logsumexp(row):
    """log Σ_k exp(row_k) = m + log1p(Σ_{k≠argmax} exp(row_k − m)), stable for any finite row."""
    best, m = row_max(row)
    return m + np.log1p(_row_sum_others(row, best, m))


# --------------------------------------------------------------------------- elementwise kernels


@jit
def _elementwise_cpu(code, derivative, x, out):
    for i in range(x.shape[0]):
        out[i] = derivative_code(code, x[i]) if derivative else apply_code(code, x[i])


@parallel_jit
def _elementwise_parallel(code, derivative, x, out):
    for i in prange(x.shape[0]):
        out[i] = derivative_code(code, x[i]) if derivative else apply_code(code, x[i])


def _elementwise_numpy(code: int, derivative: bool, x: np.ndarray, out: np.ndarray) -> None:
    with np.errstate(over="ignore", under="ignore"):
        if code == 0:
            out[...] = 1.0 if derivative else x
        elif code == 1:
            e = np.exp(-np.abs(x))  # e^{-|x|} ∈ (0, 1]: no overflow on either side
            if derivative:
                out[...] = e / ((1.0 + e) * (1.0 + e))
            else:
                out[...] = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        elif code == 2:
            if derivative:
                e = np.exp(-2.0 * np.abs(x))
                out[...] = 4.0 * e / ((1.0 + e) * (1.0 + e))
            else:
                out[...] = np.tanh(x)
        else:
            out[...] = (x > 0).astype(x.dtype) if derivative else np.where(x > 0, x, x.dtype.type(0))


_ELEMENTWISE = {"numpy": _elementwise_numpy, "cpu": _elementwise_cpu, "parallel": _elementwise_parallel}


def _elementwise(name: object, x: object, backend: str | None, derivative: bool) -> np.ndarray:
    kernel_name = "activation_derivative" if derivative else "activation"
    require_choice(name, "name", ACTIVATIONS)
    arr = as_float_array(x, "x")
    require_finite(arr, "x")
    impl = dispatch(_ELEMENTWISE, backend, kernel_name)
    flat = np.ascontiguousarray(arr).reshape(-1)
    out = np.empty_like(flat)
    impl(ACTIVATION_CODES[name], derivative, flat, out)
    return out.reshape(arr.shape)


@cuda_route("activations")
def activation(name: str, x: np.ndarray, *, backend: str | None = None) -> np.ndarray:
    """Elementwise activation ``name`` (one of :data:`ACTIVATIONS`) of ``x``; same shape and dtype.

    ``identity``: x; ``sigmoid``: 1/(1+e^{-x}); ``tanh``: tanh x; ``relu``: max(x, 0).
    Source: ``002_1388b78ad9a2d202.txt`` (activation function slide). ``x`` must be finite float32/64.
    """
    return _elementwise(name, x, backend, derivative=False)


@cuda_route("activations")
def activation_derivative(name: str, x: np.ndarray, *, backend: str | None = None) -> np.ndarray:
    """Elementwise derivative ``a'(x)`` of activation ``name``; same shape and dtype. ReLU'(0) = 0.

    ``identity``: 1; ``sigmoid``: e^{-|x|}/(1+e^{-|x|})²; ``tanh``: 4e^{-2|x|}/(1+e^{-2|x|})²;
    ``relu``: 1 for x > 0, else 0.
    """
    return _elementwise(name, x, backend, derivative=True)


# --------------------------------------------------------------------------- softmax family

_SOFTMAX, _LOG_SOFTMAX, _LOGSUMEXP = 0, 1, 2


@jit
def _softmax_row(z, mode, out_row, lse_out, i):
    best, m = row_max(z)
    s = 0.0
    for k in range(z.shape[0]):
        t = 1.0 if k == best else exp_diff(z[k], m)
        if mode == 0:
            out_row[k] = t  # the unnormalised term, divided below once S is known
        if k != best:
            s += t
    log_s = np.log1p(s)
    if mode == 0:
        total = 1.0 + s
        for k in range(z.shape[0]):
            out_row[k] = np.float64(out_row[k]) / total if k != best else 1.0 / total
    elif mode == 1:
        for k in range(z.shape[0]):
            d, e = two_diff(z[k], m)
            out_row[k] = (d - log_s) + e
    else:
        lse_out[i] = m + log_s


@jit
def _softmax_cpu(z, mode, out, lse):
    for i in range(z.shape[0]):
        _softmax_row(z[i], mode, out[i], lse, i)


@parallel_jit
def _softmax_parallel(z, mode, out, lse):
    for i in prange(z.shape[0]):
        _softmax_row(z[i], mode, out[i], lse, i)


def _softmax_numpy(z: np.ndarray, mode: int, out: np.ndarray, lse: np.ndarray) -> None:
    n, k = z.shape
    best = np.argmax(z, axis=1)
    rows = np.arange(n)
    m = z[rows, best][:, None]
    d = z - m
    bv = d - z
    e = (z - (d - bv)) - (m + bv)  # TwoSum error term: z − m = d + e exactly
    with np.errstate(under="ignore"):
        t = np.exp(d)
        t = t + t * e
    t[rows, best] = 0.0
    s = t.sum(axis=1)
    log_s = np.log1p(s)
    if mode == _SOFTMAX:
        t[rows, best] = 1.0
        out[...] = t / (1.0 + s)[:, None]
    elif mode == _LOG_SOFTMAX:
        out[...] = (d - log_s[:, None]) + e
    else:
        lse[...] = m[:, 0] + log_s


_SOFTMAX_IMPLS = {"numpy": _softmax_numpy, "cpu": _softmax_cpu, "parallel": _softmax_parallel}


def _softmax_family(z: object, backend: str | None, mode: int, kernel_name: str):
    arr = as_float_array(z, "z", ndim=2)
    require_finite(arr, "z")
    if arr.shape[1] == 0:
        raise ValueError(f"z must have at least one column (class); got shape {arr.shape}")
    impl = dispatch(_SOFTMAX_IMPLS, backend, kernel_name)
    arr = np.ascontiguousarray(arr)
    out = np.empty_like(arr) if mode != _LOGSUMEXP else np.empty((arr.shape[0], 0), dtype=arr.dtype)
    lse = np.empty(arr.shape[0] if mode == _LOGSUMEXP else 0, dtype=arr.dtype)
    impl(arr, mode, out, lse)
    return lse if mode == _LOGSUMEXP else out


@cuda_route("activations")
def softmax(z: np.ndarray, *, backend: str | None = None) -> np.ndarray:
    """Row-wise softmax of ``z`` (N, K): ``σ(z)_k = exp(z_k) / Σ_j exp(z_j)``, computed shifted by the max.

    Source: ``000_42086e2af0f76780.txt`` ("Log-linear multi-class classification") and
    ``002_1388b78ad9a2d202.txt`` ("Loss Functions"). Accurate to a few ULPs for finite logits of any size.
    """
    return _softmax_family(z, backend, _SOFTMAX, "softmax")


@cuda_route("activations")
def log_softmax(z: np.ndarray, *, backend: str | None = None) -> np.ndarray:
    """Row-wise ``log σ(z)_k = (z_k − m) − log Σ_j exp(z_j − m)`` with ``m = max_j z_j``; shape (N, K)."""
    return _softmax_family(z, backend, _LOG_SOFTMAX, "log_softmax")


@cuda_route("activations")
def logsumexp(z: np.ndarray, *, backend: str | None = None) -> np.ndarray:
    """Row-wise ``log Σ_k exp(z_k) = m + log1p(Σ_{k≠argmax} exp(z_k − m))``; shape (N,)."""
    return _softmax_family(z, backend, _LOGSUMEXP, "logsumexp")
