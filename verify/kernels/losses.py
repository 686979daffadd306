"""Losses with their gradients, batched over rows, on every backend (``numpy``, ``cpu``, ``parallel``, ``cuda``).

Every loss is ``loss(*arguments, *, <options>, reduction="mean", backend=None) -> (value, grad)``:

- ``reduction="none"``: ``value`` is an ``(N,)`` array of per-row losses ``ℓ_i`` (dtype of the prediction)
  and row ``i`` of ``grad`` holds ``∂ℓ_i/∂prediction_i``;
- ``"sum"``: ``value = Σ_i ℓ_i`` (a Python float), ``grad`` its gradient;
- ``"mean"`` (the default): ``value = (1/N) Σ_i ℓ_i`` — the average over *rows* (examples), as in
  ``L(θ) = (1/n) Σ_i l(NN_θ(x⁽ⁱ⁾), y⁽ⁱ⁾)`` of *CS3485 Deep Learning for Computer Vision*, Lecture 4
  (``001_02deb113427fab16.txt``), "Chain rule and Backpropagation" — and ``grad`` its gradient. Where
  ``Σ_i ℓ_i`` overflows although every ``ℓ_i`` is finite, the mean is ``Σ_i (ℓ_i / N)`` (never ``inf``).

``grad`` always has the shape and dtype of the differentiated argument. The compiled kernels compute each
row in float64 (for float32 input too) and round once; the per-row losses are summed with NumPy's pairwise
sum (a tree reduction on CUDA).

**One record per loss.** Each loss below is a :class:`~verify.kernels.catalogue.LossRecord` (formula,
source, arguments with their kinds, options, kinks, conventions, edge cases) beside its row function (one
function per kind of target, compiled into the serial, parallel and CUDA kernels by
:mod:`verify.kernels._compile`) and its vectorised NumPy form (the readable reference and the benchmark
baseline). The public function, its docstring, its validation (the same on every backend), the symbolic
reference's wiring, the strategies, ``check_loss``'s inputs, the tests and the README's table are generated
from the record (:mod:`verify.kernels.catalogue`). Adding a loss is: its record, its row function and its
NumPy form here, and its SymPy builder in :mod:`verify.symbolic.losses`.

Conventions that differ between libraries are named in each record:

- kinks: the hinge losses take the gradient ``0`` at ``margin = 0`` (an element of the subdifferential);
  ties for the highest-scoring wrong class go to the lowest index;
- ``0·log 0 = 0``; a term ``p_k log(1/q_k)`` with ``q_k = 0 < p_k`` is ``+∞`` (and its gradient
  ``−p_k/q_k = −∞``); where ``p_k = 0`` the gradient with respect to ``q_k`` is ``0``;
- logistic loss labels: ``labels="zero_one"`` (``y ∈ {0, 1}``, the source's convention) or
  ``labels="plus_minus_one"`` (``y ∈ {−1, +1}``, mapped to ``(1 + y)/2``);
- ``huber``: PyTorch's ``HuberLoss(delta)`` (``SmoothL1Loss(beta)`` is ``huber/β`` with ``δ = β``);
- ``label_smoothed_cross_entropy``: PyTorch's ``cross_entropy(label_smoothing=ε)`` target
  ``(1 − ε)c + ε/K``.

Bad input (NaN/inf, wrong shapes or dtypes, labels outside their set, probability rows that do not sum
to 1, an unknown option) raises ``ValueError``/``TypeError`` naming the argument and the value; nothing is
renormalised, clipped or cast.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from verify._jit import jit
from verify.kernels.activations import exp_of_excess, row_exp, row_max, shifted_exps
from verify.kernels.catalogue import (
    REDUCTIONS,
    SOURCES,
    Argument,
    LossRecord,
    Option,
    loss_record,
    public_function,
)
from verify.kernels.elementary import exp_diff, exp_pair, holds_float64, log1p_nonnegative, two_diff

__all__ = [
    "REDUCTIONS",
    "LOGISTIC_LABELS",
    "RECORDS",
    "LOSSES",
    "least_squares",
    "huber",
    "hinge",
    "multiclass_hinge",
    "logistic_from_probability",
    "logistic_from_logit",
    "categorical_cross_entropy",
    "softmax_cross_entropy",
    "label_smoothed_cross_entropy",
    "entropy",
    "cross_entropy",
    "kl_divergence",
]

LOGISTIC_LABELS: tuple[str, ...] = ("zero_one", "plus_minus_one")

# Row functions: division by zero is meaningful here (−1/q at q = 0 is −∞), hence the NumPy error model
# (``math.log(0)`` is then −∞ too; ``math``, not NumPy's ufuncs, because the CUDA target has no lowering of
# ``np.log1p``); inlined into the generated loops so that they vectorise.
_row = jit(error_model="numpy", forceinline=True)

_S000, _S001, _S002 = SOURCES["000"], SOURCES["001"], SOURCES["002"]
_LARGEST = float(np.finfo(np.float64).max)


# =========================================================================== edge values shared by the records


class _Edges:
    """Fixed arguments at the edges of the domains, in ``dtype`` (``big``: logits where exp over/underflows)."""

    def __init__(self, dtype) -> None:
        dt = self.dtype = np.dtype(dtype)
        self.big = big = 1000.0 if dt == np.float64 else 80.0
        self.logits = np.array([[big, 0.0, -big], [0.0, 0.0, 0.0], [-big, -big, big], [3.0, 3.0, -2.0]], dtype=dt)
        self.labels = np.array([0, 1, 2, 2])
        self.simplex_with_zeros = _simplex([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [1.0, 1.0, 1.0], [1e-300, 1.0, 2.0]], dt)
        self.positive = _simplex([[0.7, 0.2, 0.1], [1e-30, 0.5, 0.5], [1.0, 1.0, 1.0], [1.0, 1e-10, 1.0]], dt)
        self.scores = np.array([1.0, -1.0, 0.5, big, -big, 0.0], dtype=dt)
        self.signs = np.array([1.0, -1.0, 1.0, 1.0, 1.0, -1.0], dtype=dt)
        self.binary = np.array([1, 0, 1, 0, 1, 0])
        tiny = 1e-300 if dt == np.float64 else 1e-38
        self.probabilities = np.array([tiny, 0.5, 1 - 2.0**-20, 0.25, 0.999, 1e-5], dt)


def _simplex(weights, dtype) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    return (w / w.sum(axis=-1, keepdims=True)).astype(dtype)


def _one_hot(labels: np.ndarray, like: np.ndarray) -> np.ndarray:
    out = np.zeros_like(like)
    out[np.arange(like.shape[0]), labels] = 1
    return out


# =========================================================================== shared row helpers


@_row
def _nll_term(ck, m, zk, log_s):
    """``c_k·((m − z_k) + log S)`` (``c_k ≥ 0``, ``m ≥ z_k``), with ``m − z_k`` exact (TwoSum) and no spurious
    overflow: where ``m − z_k`` exceeds the largest float but the product does not (``c_k < 1``), the halves
    ``m/2 − z_k/2`` are used."""
    d, e = two_diff(m, zk)
    if abs(d) <= _LARGEST:
        return ck * (d + (log_s + e))
    return 2.0 * (ck * ((0.5 * m - 0.5 * np.float64(zk)) + 0.5 * log_s))


def _np_nll_terms(c, z, m, d, e, log_s):
    """The terms ``c_k((m − z_k) + log S)`` of :func:`_nll_term` on arrays (``d + e = z − m``)."""
    terms = c * ((-d) + (log_s - e))
    halves = 2 * (c * ((0.5 * m - 0.5 * z) + 0.5 * log_s))
    return np.where(c != 0, np.where(np.isfinite(d), terms, halves), 0)


@_row
def _log_ratio(p, q):
    """log(p/q) for p, q > 0 to a few ULPs: log1p((p − q)/q) near 1 (p − q is exact there, Sterbenz),
    log(p/q) elsewhere, log p − log q when p/q would over/underflow (then |log(p/q)| > 690)."""
    ratio = p / q
    if 0.5 <= ratio <= 2.0:
        return math.log1p((p - q) / q)
    if 1e-300 < ratio < 1e300:
        return math.log(ratio)
    return math.log(p) - math.log(q)


@_row
def _cross_entropy_row(p, q, g, denom, kl):
    """H(p, q) (``kl`` false) or D(p‖q) of one row, and the gradient −p/q with respect to q into ``g``."""
    total = 0.0
    for k in range(p.shape[0]):
        pk = np.float64(p[k])
        qk = np.float64(q[k])
        if pk == 0.0:
            g[k] = 0.0  # 0·log 0 = 0 and the term does not depend on q_k
            continue
        g[k] = -pk / (qk * denom)
        if qk == 0.0:
            total += np.inf
        elif kl:
            total += pk * _log_ratio(pk, qk)
        else:
            total -= pk * math.log(qk)
    return total


def _np_two_diff(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TwoSum on arrays, with the error term 0 where the difference overflows (as :func:`two_diff`)."""
    d = a - b
    bv = d - a
    e = (a - (d - bv)) - (b + bv)
    return d, np.where(np.isfinite(d), e, 0)


def _np_shifted_exp(z: np.ndarray):
    """(best, m, d, e, t): argmax, max, z − m = d + e, and t = exp(z − m) with t[best] = 0."""
    rows = np.arange(z.shape[0])
    best = np.argmax(z, axis=1)
    m = z[rows, best][:, None]
    d, e = _np_two_diff(z, m)
    t = np.exp(d)
    t += t * e  # exp(d + e) = exp(d)(1 + e) to within e²/2
    t[rows, best] = 0
    return best, m, d, e, t


# =========================================================================== least squares and Huber


@_row
def _least_squares_rows(f, c, values, g, denom):
    for r in range(f.shape[0]):
        total = 0.0
        for k in range(f.shape[1]):
            d = np.float64(f[r, k]) - np.float64(c[r, k])
            total += (0.5 * d) * d  # (½d)·d: no spurious overflow of d² when ½d² is finite
            g[r, k] = d / denom
        values[r] = total


def _np_least_squares(f, c, values, grad, denom):
    d = f - c
    values[...] = ((0.5 * d) * d).sum(axis=1)
    grad[...] = d / denom


def _reals_edges(dtype) -> list[tuple]:
    e = _Edges(dtype)
    return [(e.logits, e.logits.copy()), (e.logits, np.zeros_like(e.logits))]


_REALS = (Argument("prediction", ("reals",), "F", "predictions"), Argument("target", ("reals",), "c", "targets"))

LEAST_SQUARES = loss_record(
    name="least_squares",
    formula="½‖F − c‖²₂",
    summary="Least squares ``ℓ_i = ½‖F_i − c_i‖²₂``; gradient ``F_i − c_i``.",
    source=f"{_S002}, 'Loss Functions': L_LS(F, c) = ½‖F(y, θ) − c‖²₂",
    arguments=_REALS,
    rows={"reals": (_least_squares_rows, _np_least_squares)},
    edge_cases=_reals_edges,
    example=">>> least_squares(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]]))\n(2.5, array([[1., 2.]]))",
)


@_row
def _huber_rows(f, c, values, g, denom, delta):
    for r in range(f.shape[0]):
        total = 0.0
        for k in range(f.shape[1]):
            d = np.float64(f[r, k]) - np.float64(c[r, k])
            a = abs(d)
            inside = a <= delta
            total += (0.5 * d) * d if inside else delta * (a - 0.5 * delta)  # a − δ/2 > δ/2: no cancellation
            g[r, k] = (d if inside else math.copysign(delta, d)) / denom
        values[r] = total


def _np_huber(f, c, values, grad, denom, delta):
    d = f - c
    a = np.abs(d)
    # δ as float64: a Python float meets float32 arrays as float32 (NEP 50), and a δ below float32's normal range
    # (6.6e-43) would lose bits before the row is formed; the row functions keep δ in float64 too
    delta = np.float64(delta)
    inside = a <= delta
    values[...] = np.where(inside, (0.5 * d) * d, delta * (a - 0.5 * delta)).sum(axis=1)
    grad[...] = np.where(inside, d, np.copysign(delta, d)) / denom


def _huber_edges(dtype) -> list[tuple]:
    e = _Edges(dtype)
    at_delta = np.array([[1.0, -1.0, 0.5], [2.0, -3.0, 1.0 + 2.0**-20], [0.0, 1e-30, -1.0], [1e3, -1e3, 1.0]], e.dtype)
    return [*_reals_edges(dtype), (at_delta, np.zeros_like(at_delta))]  # |d| = δ = 1: the quadratic meets the line


HUBER = loss_record(
    name="huber",
    formula="Σ_k h_δ(F_k − c_k), h_δ(d) = ½d² for |d| ≤ δ, δ(|d| − ½δ) beyond",
    summary="Huber loss (smooth L1) ``ℓ_i = Σ_k h_δ(F_ik − c_ik)``; gradient ``d`` for ``|d| ≤ δ``, ``δ·sign(d)`` beyond.",
    source="P. J. Huber, 'Robust Estimation of a Location Parameter', Ann. Math. Statist. 35 (1964); "
           "torch.nn.HuberLoss(delta)",
    arguments=_REALS,
    rows={"reals": (_huber_rows, _np_huber)},
    options=(Option("delta", 1.0, "where the quadratic becomes linear", interval=(0.0, math.inf, False, False),
                    kernel=True),),
    conventions=("PyTorch's HuberLoss(delta); SmoothL1Loss(beta) is this loss divided by β (with δ = β), "
                 "and PyTorch's reduction='mean' averages over all N·K entries where this one averages over "
                 "the N rows.",),
    notes=("Differentiable everywhere: at |d| = δ the two pieces meet with the same slope ±δ (only the second "
           "derivative jumps), so there is no kink.",),
    edge_cases=_huber_edges,
    example=">>> huber(np.array([[0.5, 3.0]]), np.zeros((1, 2)), delta=1.0)\n(2.625, array([[0.5, 1. ]]))",
)


# =========================================================================== binary losses (one entry per example)


@_row
def _hinge_element(x, s, value, g, denom):
    margin = 1.0 - s * np.float64(x)
    on = margin > 0.0
    return (margin if on else 0.0), (-s / denom if on else 0.0)


@_row
def _logistic_probability_element(x, s, value, g, denom):
    x = np.float64(x)
    if s > 0.0:
        return -math.log(x), -1.0 / (x * denom)  # +∞ and −∞ at ŷ = 0
    return -math.log1p(-x), 1.0 / ((1.0 - x) * denom)  # +∞ and +∞ at ŷ = 1


@_row
def _logistic_logit_element(x, s, value, g, denom):
    """``(softplus(u), −s·σ(u)/denom)`` with ``u = −s·x``, from one ``e = exp(−|u|)``, branch-free so that the
    loop vectorises: ``softplus(u) = max(u, 0) + log1p(e)``, ``σ(u) = 1/(1 + e)`` for ``u ≥ 0``, ``e/(1 + e)``
    below."""
    u = -s * np.float64(x)
    e = exp_pair(-abs(u), 0.0)
    r = 1.0 / (1.0 + e)
    sigma = r if u >= 0.0 else e * r
    return max(u, 0.0) + log1p_nonnegative(e), -s * sigma / denom


def _np_hinge(x, s, values, grad, denom):
    s = s.astype(x.dtype)
    margin = 1 - s * x
    values[...] = np.maximum(margin, 0)
    grad[...] = np.where(margin > 0, -s, 0) / denom


def _np_logistic_probability(x, s, values, grad, denom):
    pos = s > 0
    values[...] = np.where(pos, -np.log(x), -np.log1p(-x))
    grad[...] = np.where(pos, -1 / x, 1 / (1 - x)) / denom


def _np_logistic_logit(x, s, values, grad, denom):
    s = s.astype(x.dtype)
    u = -s * x
    e = np.exp(-np.abs(u))
    values[...] = np.maximum(u, 0) + np.log1p(e)
    grad[...] = -s * np.where(u >= 0, 1 / (1 + e), e / (1 + e)) / denom


def _hinge_kink(args: tuple) -> tuple:
    """ỹ = y: the margin 1 − y·ỹ is exactly 0."""
    return args[1].astype(args[0].dtype), args[1]


_BINARY_LABELS = Option("labels", "zero_one", "the label convention: y ∈ {0, 1} or y ∈ {−1, +1}",
                        choices=LOGISTIC_LABELS)
_SCORES = Argument("prediction", ("logits",), "ỹ", "scores")
_SIGNS = Argument("target", ("signs",), "y", "labels")
_BINARY = Argument("target", ("binary",), "y", "labels")

HINGE = loss_record(
    name="hinge",
    formula="max(0, 1 − y·ỹ)",
    summary="Binary hinge ``ℓ_i = max(0, 1 − y_i·ỹ_i)``; gradient ``−y_i`` where ``1 − y_i ỹ_i > 0``, else 0.",
    source=f"{_S000}, 'LOSS FUNCTIONS — HINGE (binary) LOSS': L(ỹ, y) = max(0, 1 − y·ỹ), y ∈ {{+1, −1}}",
    arguments=(_SCORES, _SIGNS),
    row="scalar",
    rows={"signs": (_hinge_element, _np_hinge)},
    kinks="at y_i·ỹ_i = 1 the gradient is 0 (any value between 0 and −y_i is a subgradient).",
    kink=_hinge_kink,
    edge_cases=lambda dtype: [(_Edges(dtype).scores, _Edges(dtype).signs)],
    example=">>> hinge(np.array([0.5, 2.0]), np.array([1, 1]))\n(0.25, array([-0.5,  0. ]))",
)

LOGISTIC_FROM_PROBABILITY = loss_record(
    name="logistic_from_probability",
    formula="−y log ŷ − (1 − y) log(1 − ŷ)",
    summary="Logistic loss (binary cross-entropy) of a probability ``ŷ = P(y = 1 | x)``: "
            "``ℓ_i = −y log ŷ − (1 − y) log(1 − ŷ)``; gradient ``−1/ŷ`` (y = 1) or ``1/(1 − ŷ)`` (y = 0).",
    source=f"{_S000}, 'LOSS FUNCTIONS — LOGISTIC LOSS (BINARY CROSS ENTROPY)'",
    arguments=(Argument("prediction", ("probabilities",), "ŷ", "predicted probabilities of y = 1"), _BINARY),
    row="scalar",
    rows={"binary": (_logistic_probability_element, _np_logistic_probability)},
    options=(_BINARY_LABELS,),
    conventions=("ŷ = 0 with y = 1 (or ŷ = 1 with y = 0) gives +∞; log(1 − ŷ) is evaluated as log1p(−ŷ).",),
    edge_cases=lambda dtype: [(_Edges(dtype).probabilities, _Edges(dtype).binary)],
    example=">>> logistic_from_probability(np.array([0.5, 0.5]), np.array([1, 0]))[0] == math.log(2)\nTrue",
)

LOGISTIC_FROM_LOGIT = loss_record(
    name="logistic_from_logit",
    formula="−y log σ(ỹ) − (1 − y) log(1 − σ(ỹ)), σ(x) = 1/(1 + e^{−x})",
    summary="Logistic loss of a logit ``ỹ`` (``ŷ = σ(ỹ)``): ``ℓ_i = log(1 + e^{−s ỹ})`` with ``s = 2y − 1``; "
            "gradient ``σ(ỹ) − y = −s·σ(−s ỹ)``.",
    source=f"{_S000}, 'LOGISTIC LOSS (BINARY CROSS ENTROPY)' with ŷ = σ(ỹ)",
    arguments=(Argument("prediction", ("logits",), "ỹ", "logits"), _BINARY),
    row="scalar",
    rows={"binary": (_logistic_logit_element, _np_logistic_logit)},
    options=(_BINARY_LABELS,),
    notes=("Computed as softplus(u) = max(u, 0) + log1p(e^{−|u|}), u = −s ỹ: finite and accurate for logits up "
           "to the largest float.",),
    edge_cases=lambda dtype: [(_Edges(dtype).scores, _Edges(dtype).binary), (-_Edges(dtype).scores,
                                                                              _Edges(dtype).binary)],
    example=">>> logistic_from_logit(np.array([0.0]), np.array([1]))[0] == math.log(2)\nTrue",
)


# =========================================================================== multi-class losses of scores and logits


@_row
def _multiclass_hinge_rows(y, t, values, g, denom):
    for r in range(y.shape[0]):
        ti = t[r]
        j = -1
        best = 0.0
        for k in range(y.shape[1]):
            g[r, k] = 0.0
            if k != ti and (j < 0 or y[r, k] > best):
                j = k
                best = np.float64(y[r, k])
        d, e = two_diff(y[r, ti], best)  # y_t − y_j = d + e exactly
        margin = (1.0 - d) - e  # 1 − d is exact near the kink (Sterbenz): the margin's sign is right
        if margin > 0.0:
            g[r, ti] = -1.0 / denom
            g[r, j] = 1.0 / denom
            values[r] = margin
        else:
            values[r] = 0.0


def _np_multiclass_hinge(y, t, values, grad, denom):
    rows = np.arange(y.shape[0])
    others = y.copy()
    others[rows, t] = -np.inf
    j = np.argmax(others, axis=1)
    d, e = _np_two_diff(y[rows, t], y[rows, j])
    margin = (1 - d) - e
    values[...] = np.maximum(margin, 0)
    on = (margin > 0).astype(y.dtype) / denom
    grad[...] = 0
    grad[rows, t] -= on
    grad[rows, j] += on


def _multiclass_hinge_kink(args: tuple) -> tuple:
    """ŷ_t = ŷ_j + 1 for the first highest-scoring wrong class j: the margin is exactly 0 (where that sum is exact)."""
    y, t = args[0].copy(), args[1]
    for i, ti in enumerate(t):
        wrong = np.delete(y[i], ti)
        y[i, ti] = wrong.max() + 1
    return y, t


_MULTICLASS_SCORES = Argument("prediction", ("logits",), "ŷ", "scores, K ≥ 2")
_LABELS = Argument("target", ("labels",), "t", "classes")

MULTICLASS_HINGE = loss_record(
    name="multiclass_hinge",
    formula="max(0, 1 − (ŷ_[t] − ŷ_[j])), j = argmax_{j≠t} ŷ_[j]",
    summary="Multi-class hinge ``ℓ_i = max(0, 1 − (ŷ_[t] − ŷ_[j]))``, ``j`` the highest-scoring wrong class; "
            "gradient −1 at ``t`` and +1 at ``j`` where the margin is positive, else 0.",
    source=f"{_S000}, 'LOSS FUNCTIONS — HINGE (multi-class) LOSS'",
    arguments=(_MULTICLASS_SCORES, _LABELS),
    rows={"labels": (_multiclass_hinge_rows, _np_multiclass_hinge)},
    min_classes=2,
    kinks="at margin 0 the gradient is 0 (the subdifferential: [−1, 0] at t, [0, 1] at the tied wrong classes).",
    conventions=("ties for the highest-scoring wrong class go to the lowest index.",),
    kink=_multiclass_hinge_kink,
    edge_cases=lambda dtype: [(np.array([[1.0, 1.0, 0.0], [2.0, 1.0, 1.0], [0.0, 0.0, 0.0],
                                         [_Edges(dtype).big, 0.0, -_Edges(dtype).big]], dtype), _Edges(dtype).labels)],
    example=">>> multiclass_hinge(np.array([[0.5, 1.0, 1.0]]), np.array([0]), reduction='sum')\n"
            "(1.5, array([[-1.,  1.,  0.]]))",
)


@jit(fastmath={"reassoc"}, error_model="numpy")
def _finite_row(row):
    """Whether every entry of a 1-D array is finite (Σ (x − x) is 0, or NaN for a NaN or an infinity)."""
    total = 0.0
    for k in range(row.shape[0]):
        v = np.float64(row[k])
        total += v - v
    return total == 0.0


_SHIFT_LIMIT = 2.0**64  # Σ_{k≠t} exp(z_k − z_t) below it: 1/((1 + s)·N) stays a normal float for N < 2^900


@_row
def _softmax_cross_entropy_labels(z, t, values, g, denom):
    """Rows of −log σ(z)_t and (σ(z) − e_t)/denom over a block of rows small enough to stay in cache.

    Shifted by the label's own logit: with ``e_k = exp(z_k − z_t)`` and ``s = Σ_{k≠t} e_k`` (summed directly),
    ``−log σ(z)_t = log1p(s)`` and ``σ(z)_k = e_k/(1 + s)``, ``σ(z)_t − 1 = −s/(1 + s)``: the evaluation form of
    the reference itself, with no maximum to find and no difference ``m − z_t`` to carry. A row where ``s``
    reaches 2^64 (some logit above z_t by more than about 44, ``e_k`` possibly beyond the largest float) is
    done by the maximum's shift instead (:func:`_softmax_cross_entropy_row`); its loss, above 44, is kept as
    ``−loss`` so that the loop taking the logarithms of the other rows' ``s`` (over the whole block: it
    vectorises) can tell it apart. ``g`` holds the exponentials until they are scaled (float64; float32
    computes them again, see :func:`verify.kernels.activations.shifted_exps`), the label's own term, exp(0) = 1,
    set to 0 by a loop of its own so that the rows' sums have no test in them. The block's logits are checked
    for NaN and ±inf by one vectorised pass; only a block where that fails checks its rows one by one."""
    rows = z.shape[0]
    k_max = z.shape[1]
    if holds_float64(g):
        for r in range(rows):
            zt = np.float64(z[r, t[r]])
            for c in range(k_max):
                g[r, c] = zt
        exp_of_excess(z, g)
        for r in range(rows):
            g[r, t[r]] = 0.0
    block_finite = _finite_row(z.reshape(-1))
    for r in range(rows):
        ti = t[r]
        zt = np.float64(z[r, ti])
        if not block_finite and not _finite_row(z[r]):  # a NaN or an infinity in the row (checks_finite)
            values[r] = np.nan
            continue
        s = _sum_without(z, g, r, ti, zt)
        if s < _SHIFT_LIMIT:
            inv = 1.0 / ((1.0 + s) * denom)
            for c in range(k_max):
                g[r, c] = row_exp(z, g, r, c, zt) * inv
            g[r, ti] = -s * inv
            values[r] = s
        else:
            values[r] = -_softmax_cross_entropy_row(z[r], ti, g[r], denom)
    for r in range(rows):
        v = values[r]
        values[r] = log1p_nonnegative(v) if v >= 0.0 else -v


@jit(fastmath={"reassoc"}, error_model="numpy")
def _sum_without(z, e, r, skip, shift):
    """``Σ_{c ≠ skip} exp(z[r, c] − shift)`` in any order (left to the vectoriser; a sum of K nonnegative terms is
    within (K − 1)/2 ULPs either way): a float64 ``e`` holds the terms, its entry at ``skip`` already 0; in
    float32 they are computed again. Not inlined by Numba, which would drop the flag."""
    s = 0.0
    if holds_float64(e):
        for c in range(e.shape[1]):
            s += e[r, c]
    else:
        for c in range(z.shape[1]):
            s += exp_diff(z[r, c], shift) if c != skip else 0.0
    return s


@_row
def _softmax_cross_entropy_row(z, t, g, denom):
    """One row shifted by its maximum m: −log σ(z)_t = (m − z_t) + log1p(S − 1), the gradient (σ(z) − e_t)/denom,
    exponentials computed twice (the rows of a dominating wrong class only, see above)."""
    m = row_max(z)
    s_other = 0.0  # S − 1: every term but one maximum's exp(0) = 1
    not_t = 0.0  # S − exp(z_t − m), summed directly
    ones = 0.0
    for c in range(z.shape[0]):
        v = exp_diff(z[c], m)
        below = v < 1.0
        s_other += v if below else 0.0
        ones += 0.0 if below else 1.0
        not_t += v if c != t else 0.0
    s_other += ones - 1.0
    inv = 1.0 / ((1.0 + s_other) * denom)
    for c in range(z.shape[0]):
        g[c] = exp_diff(z[c], m) * inv
    g[t] = -not_t * inv
    d, e = two_diff(m, z[t])
    return d + (log1p_nonnegative(s_other) + e)


@_row
def _softmax_cross_entropy_distribution(z, c, values, g, work, denom):
    """Rows of Σ_k c_k((m − z_k) + log S) (every term ≥ 0) and ((Σc)·σ(z) − c)/denom."""
    shifted_exps(z, g, work)
    for r in range(z.shape[0]):
        if not _finite_row(z[r]):  # checks_finite: the value NaN marks the row
            values[r] = np.nan
            continue
        m = work[0, r]
        log_s = log1p_nonnegative(work[1, r])
        c_sum = 0.0
        total = 0.0
        for k in range(z.shape[1]):
            ck = np.float64(c[r, k])
            c_sum += ck
            if ck != 0.0:
                total += _nll_term(ck, m, z[r, k], log_s)
        scale = c_sum / (1.0 + work[1, r])
        for k in range(z.shape[1]):
            g[r, k] = (row_exp(z, g, r, k, m) * scale - np.float64(c[r, k])) / denom
        values[r] = total


def _np_softmax_cross_entropy_labels(z, labels, values, grad, denom):
    rows = np.arange(z.shape[0])
    best, m, d, e, t = _np_shifted_exp(z)
    s_other = t.sum(axis=1)
    t[rows, best] = 1
    at_label = t[rows, labels]
    t[rows, labels] = 0
    s_not_t = t.sum(axis=1)  # S − exp(z_t − m), summed directly: no cancellation
    t[rows, labels] = at_label
    inv = 1 / ((1 + s_other) * denom)
    np.multiply(t, inv[:, None], out=grad)
    grad[rows, labels] = -s_not_t * inv
    values[...] = -(d[rows, labels] + e[rows, labels]) + np.log1p(s_other)


def _np_softmax_cross_entropy_distribution(z, c, values, grad, denom):
    rows = np.arange(z.shape[0])
    best, m, d, e, t = _np_shifted_exp(z)
    s_other = t.sum(axis=1)
    t[rows, best] = 1
    log_s = np.log1p(s_other)
    values[...] = _np_nll_terms(c, z, m, d, e, log_s[:, None]).sum(axis=1)
    grad[...] = (t * (c.sum(axis=1) / (1 + s_other))[:, None] - c) / denom


def _class_edges(dtype) -> list[tuple]:
    e = _Edges(dtype)
    return [(e.logits, e.labels), (e.logits, e.simplex_with_zeros)]


_LOGITS = Argument("prediction", ("logits",), "z", "logits")
_CLASSES = Argument("target", ("labels", "simplex"), "c", "classes or target distributions")

SOFTMAX_CROSS_ENTROPY = loss_record(
    name="softmax_cross_entropy",
    formula="−cᵀ log σ(z), σ(z) = exp(z)/1ᵀexp(z)",
    summary="Cross-entropy of logits: ``ℓ_i = −Σ_k c_k log σ(z_i)_k`` (or ``−log σ(z_i)_t`` for a class index t), "
            "``σ`` the softmax; gradient ``(Σ_k c_k)·σ(z_i) − c_i`` (``σ(z_i) − e_t``).",
    source=f"{_S002}, 'Loss Functions': L_CE(F, c) = −cᵀ log σ(F); {_S001}, 'Chain rule and Backpropagation'",
    arguments=(_LOGITS, _CLASSES),
    rows={"labels": (_softmax_cross_entropy_labels, _np_softmax_cross_entropy_labels),
          "simplex": (_softmax_cross_entropy_distribution, _np_softmax_cross_entropy_distribution)},
    scratch={"labels": 0, "simplex": 2},
    checks_finite=True,  # one pass over the logits instead of two (the benchmark's loss)
    elements_per_block=2048,  # z and the gradient of a block: 2 × 16 KiB of float64, in L1
    notes=("One fused pass over a block of rows held in cache (max, shifted exponentials, value and gradient; the "
           "exponentials and logarithms are loops over the block that vectorise); z_k − m is carried exactly "
           "(TwoSum), so the result is accurate to a few ULPs for logits up to the largest float.",),
    edge_cases=_class_edges,
    example=">>> value, grad = softmax_cross_entropy(np.array([[0.0, 0.0]]), np.array([1]))\n"
            ">>> value == math.log(2), grad.tolist()\n(True, [[0.5, -0.5]])",
)


@_row
def _smoothed_rows(z, t, is_labels, values, g, work, denom, epsilon):
    """Rows of Σ_k c'_k((m − z_k) + log S) with c' = (1 − ε)c + ε/K (c one-hot at ``t[r]`` when ``is_labels``,
    else the row ``t[r]``), every term ≥ 0, and (σ(z) Σc' − c')/denom."""
    shifted_exps(z, g, work)
    k_max = z.shape[1]
    uniform = epsilon / k_max
    for r in range(z.shape[0]):
        m = work[0, r]
        log_s = log1p_nonnegative(work[1, r])
        c_sum = 0.0
        total = 0.0
        for k in range(k_max):
            ck = _smoothed_target(t, is_labels, r, k, epsilon, uniform)
            c_sum += ck
            if ck != 0.0:
                total += _nll_term(ck, m, z[r, k], log_s)
        scale = c_sum / (1.0 + work[1, r])
        for k in range(k_max):
            target = _smoothed_target(t, is_labels, r, k, epsilon, uniform)
            g[r, k] = (row_exp(z, g, r, k, m) * scale - target) / denom
        values[r] = total


@_row
def _smoothed_target(t, is_labels, r, k, epsilon, uniform):
    if is_labels:
        return (1.0 - epsilon if k == t[r, 0] else 0.0) + uniform
    return (1.0 - epsilon) * np.float64(t[r, k]) + uniform


@_row
def _label_smoothed_labels(z, t, values, g, work, denom, epsilon):
    _smoothed_rows(z, t.reshape((t.shape[0], 1)), True, values, g, work, denom, epsilon)


@_row
def _label_smoothed_distribution(z, c, values, g, work, denom, epsilon):
    _smoothed_rows(z, c, False, values, g, work, denom, epsilon)


def _np_smoothed(z, c, values, grad, denom, epsilon):
    # the smoothed target in float64, as the row functions form it: ε as a Python float would meet float32 arrays
    # as float32 (NEP 50), and ε/K below float32's normal range (ε = 1.4e-45) would lose its bits
    epsilon = np.float64(epsilon)
    c = (1 - epsilon) * (_one_hot(c, z) if c.dtype.kind in "iu" else c) + epsilon / z.shape[1]
    _np_softmax_cross_entropy_distribution(z, c, values, grad, denom)


LABEL_SMOOTHED_CROSS_ENTROPY = loss_record(
    name="label_smoothed_cross_entropy",
    formula="−c'ᵀ log σ(z), c' = (1 − ε)c + ε/K",
    summary="Softmax cross-entropy against the smoothed target ``c' = (1 − ε)c + ε/K``: "
            "``ℓ_i = −Σ_k c'_k log σ(z_i)_k``; gradient ``(Σ_k c'_k)·σ(z_i) − c'``.",
    source="Szegedy et al., 'Rethinking the Inception Architecture for Computer Vision', CVPR 2016, §7; "
           "torch.nn.functional.cross_entropy(label_smoothing=ε)",
    arguments=(_LOGITS, _CLASSES),
    rows={"labels": (_label_smoothed_labels, _np_smoothed), "simplex": (_label_smoothed_distribution, _np_smoothed)},
    scratch=2,
    options=(Option("label_smoothing", 0.1, "ε, the mass moved to the uniform distribution",
                    interval=(0.0, 1.0, True, True), kernel=True),),
    conventions=("PyTorch's label_smoothing: the target c (one-hot for a class index) becomes (1 − ε)c + ε/K, "
                 "also for distributions; ε = 0 is softmax_cross_entropy.",),
    edge_cases=_class_edges,
    example=">>> value, grad = label_smoothed_cross_entropy(np.array([[0.0, 0.0]]), np.array([1]), label_smoothing=0.2)\n"
            ">>> value == math.log(2), grad.tolist()\n(True, [[0.4, -0.4]])",
)


# =========================================================================== losses of distributions


@_row
def _categorical_labels_rows(q, t, values, g, denom):
    for r in range(q.shape[0]):
        for k in range(q.shape[1]):
            g[r, k] = 0.0
        qt = np.float64(q[r, t[r]])
        g[r, t[r]] = -1.0 / (qt * denom)  # −∞ when q_t = 0
        values[r] = -math.log(qt)  # +∞ when q_t = 0


@_row
def _categorical_distribution_rows(q, c, values, g, denom):
    for r in range(q.shape[0]):
        values[r] = _cross_entropy_row(c[r], q[r], g[r], denom, False)


@_row
def _cross_entropy_rows(p, q, values, g, denom):
    for r in range(p.shape[0]):
        values[r] = _cross_entropy_row(p[r], q[r], g[r], denom, False)


@_row
def _kl_divergence_rows(p, q, values, g, denom):
    for r in range(p.shape[0]):
        values[r] = _cross_entropy_row(p[r], q[r], g[r], denom, True)


@_row
def _entropy_rows(p, values, g, denom):
    for r in range(p.shape[0]):
        total = 0.0
        for k in range(p.shape[1]):
            pk = np.float64(p[r, k])
            log_p = math.log(pk)  # −∞ at p_k = 0: the gradient −(log p + 1) is +∞ there
            g[r, k] = -(log_p + 1.0) / denom
            if pk != 0.0:
                total -= pk * log_p
        values[r] = total


def _np_categorical_labels(q, labels, values, grad, denom):
    rows = np.arange(q.shape[0])
    qt = q[rows, labels]
    grad[...] = 0
    grad[rows, labels] = -1 / (qt * denom)
    values[...] = -np.log(qt)


def _np_log_ratio(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    ratio = p / q
    near = (ratio >= 0.5) & (ratio <= 2)
    normal = (ratio > 1e-300) & (ratio < 1e300)
    return np.where(near, np.log1p((p - q) / q), np.where(normal, np.log(ratio), np.log(p) - np.log(q)))


def _np_cross_entropy_terms(p, q, values, grad, denom, kl: bool):
    terms = p * _np_log_ratio(p, q) if kl else -p * np.log(q)
    terms = np.where(p == 0, 0, np.where(q == 0, np.inf, terms))
    values[...] = terms.sum(axis=1)
    grad[...] = np.where(p == 0, 0, -p / (q * denom))


def _np_categorical_distribution(q, c, values, grad, denom):
    _np_cross_entropy_terms(c, q, values, grad, denom, False)


def _np_cross_entropy(p, q, values, grad, denom):
    _np_cross_entropy_terms(p, q, values, grad, denom, False)


def _np_kl_divergence(p, q, values, grad, denom):
    _np_cross_entropy_terms(p, q, values, grad, denom, True)


def _np_entropy(p, values, grad, denom):
    log_p = np.log(p)
    values[...] = np.where(p == 0, 0, -p * log_p).sum(axis=1)
    grad[...] = -(log_p + 1) / denom


_PROBABILITIES = Argument("prediction", ("simplex",), "ŷ", "predicted probabilities", positive=True)
_P = Argument("p", ("simplex",), "p", "distribution")
_Q = Argument("q", ("simplex",), "q", "distribution (the gradient is with respect to q)", like="p", positive=True)


def _categorical_edges(dtype) -> list[tuple]:
    e = _Edges(dtype)
    return [(e.positive, e.labels), (e.positive, e.simplex_with_zeros)]


CATEGORICAL_CROSS_ENTROPY = loss_record(
    name="categorical_cross_entropy",
    formula="−Σ_i y_[i] log ŷ_[i]  (−log ŷ_[t] for a class t)",
    summary="Categorical cross-entropy of predicted probabilities ``ŷ`` (N, K): ``ℓ_i = −Σ_k y_[k] log ŷ_[k]`` "
            "(distributions y) or ``−log ŷ_[t]`` (class indices t); gradient ``−y_[k]/ŷ_[k]`` (0 where ``y_[k] = 0``).",
    source=f"{_S000}, 'NEGATIVE LOG LIKELIHOOD (CATEGORICAL CROSS-ENTROPY LOSS)'",
    arguments=(_PROBABILITIES, _CLASSES),
    rows={"labels": (_categorical_labels_rows, _np_categorical_labels),
          "simplex": (_categorical_distribution_rows, _np_categorical_distribution)},
    conventions=("0·log 0 = 0; ŷ_k = 0 < y_k gives +∞ (gradient −∞). Rows of ŷ must sum to 1: never renormalised.",),
    edge_cases=_categorical_edges,
    example=">>> categorical_cross_entropy(np.array([[0.5, 0.5]]), np.array([0]))[0] == math.log(2)\nTrue",
)

ENTROPY = loss_record(
    name="entropy",
    formula="H(p) = Σ_x p(x) log(1/p(x))",
    summary="Entropy ``H(p_i) = Σ_k p_k log(1/p_k)`` of each row (0·log 0 = 0); gradient ``−(log p_k + 1)``.",
    source=f"{_S002}, 'Cross Entropy + KL Divergence — Entropy (Expected Surprise!)'",
    arguments=(Argument("p", ("simplex",), "p", "distribution", positive=True),),
    rows={"simplex": (_entropy_rows, _np_entropy)},
    conventions=("0·log 0 = 0; the gradient at p_k = 0 is +∞, the one-sided limit.",),
    edge_cases=lambda dtype: [(_Edges(dtype).positive,)],
    example=">>> entropy(np.array([[0.5, 0.5]]))[0] == math.log(2)\nTrue",
)


def _pq_edges(dtype) -> list[tuple]:
    e = _Edges(dtype)
    return [(e.simplex_with_zeros, e.positive)]


CROSS_ENTROPY = loss_record(
    name="cross_entropy",
    formula="H(p, q) = Σ_x p(x) log(1/q(x))",
    summary="Cross-entropy ``H(p_i, q_i) = Σ_k p_k log(1/q_k)``; gradient with respect to ``q``: ``−p_k/q_k``.",
    source=f"{_S002}, 'Cross Entropy + KL Divergence — Cross Entropy'",
    arguments=(_P, _Q),
    wrt=1,
    rows={"simplex": (_cross_entropy_rows, _np_cross_entropy)},
    conventions=("0·log 0 = 0; q_k = 0 < p_k gives +∞ (gradient −∞).",),
    edge_cases=_pq_edges,
    example=">>> cross_entropy(np.array([[1.0, 0.0]]), np.array([[0.5, 0.5]]))[0] == math.log(2)\nTrue",
)

KL_DIVERGENCE = loss_record(
    name="kl_divergence",
    formula="D_KL(p‖q) = Σ_x p(x) log(p(x)/q(x))",
    summary="Kullback–Leibler divergence ``D(p_i‖q_i) = Σ_k p_k log(p_k/q_k)``; gradient w.r.t. ``q``: ``−p_k/q_k``.",
    source=f"{_S002}, 'Kullback-Leibler Divergence (Expected Relative Entropy)'",
    arguments=(_P, _Q),
    wrt=1,
    rows={"simplex": (_kl_divergence_rows, _np_kl_divergence)},
    conventions=("0·log(0/q) = 0; D = +∞ where some q_k = 0 < p_k.",),
    notes=("log(p/q) is evaluated as log1p((p − q)/q) when p/q ∈ [½, 2] (p − q exact there), so D keeps its "
           "relative accuracy as q → p.",),
    edge_cases=_pq_edges,
    example=">>> kl_divergence(np.array([[0.5, 0.5]]), np.array([[0.5, 0.5]]))[0]\n0.0",
)


# =========================================================================== the catalogue

RECORDS: dict[str, LossRecord] = {r.name: r for r in (
    LEAST_SQUARES, HUBER, HINGE, MULTICLASS_HINGE, LOGISTIC_FROM_PROBABILITY, LOGISTIC_FROM_LOGIT,
    CATEGORICAL_CROSS_ENTROPY, SOFTMAX_CROSS_ENTROPY, LABEL_SMOOTHED_CROSS_ENTROPY, ENTROPY, CROSS_ENTROPY,
    KL_DIVERGENCE,
)}
"""Every loss's record, by name."""

LOSSES: dict[str, Callable] = {name: public_function(record, __name__) for name, record in RECORDS.items()}
"""Every loss's public function, by name (generated from :data:`RECORDS`)."""

least_squares = LOSSES["least_squares"]
huber = LOSSES["huber"]
hinge = LOSSES["hinge"]
multiclass_hinge = LOSSES["multiclass_hinge"]
logistic_from_probability = LOSSES["logistic_from_probability"]
logistic_from_logit = LOSSES["logistic_from_logit"]
categorical_cross_entropy = LOSSES["categorical_cross_entropy"]
softmax_cross_entropy = LOSSES["softmax_cross_entropy"]
label_smoothed_cross_entropy = LOSSES["label_smoothed_cross_entropy"]
entropy = LOSSES["entropy"]
cross_entropy = LOSSES["cross_entropy"]
kl_divergence = LOSSES["kl_divergence"]
