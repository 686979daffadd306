"""Losses with their gradients, batched over rows, on the backends ``numpy``, ``cpu`` and ``parallel``.

Every loss is ``loss(prediction, target, *, reduction="mean", backend=None) -> (value, grad)``
(``entropy`` takes only ``p``):

- ``reduction="none"``: ``value`` is an ``(N,)`` array of per-row losses ``ℓ_i`` (dtype of
  ``prediction``) and row ``i`` of ``grad`` holds ``∂ℓ_i/∂prediction_i``;
- ``"sum"``: ``value = Σ_i ℓ_i`` (a Python float), ``grad`` its gradient;
- ``"mean"`` (the default): ``value = (1/N) Σ_i ℓ_i`` — the average over *rows* (examples), as in
  ``L(θ) = (1/n) Σ_i l(NN_θ(x⁽ⁱ⁾), y⁽ⁱ⁾)`` of ``001_02deb113427fab16.txt`` ("Chain rule and
  Backpropagation") — and ``grad`` its gradient (``1/N`` times the per-row gradients).

``grad`` always has the shape and dtype of ``prediction``. The Numba kernels compute each row in
float64 (for float32 input too) and round once; the per-row losses are summed with NumPy's pairwise
sum. Conventions that differ between libraries are named here and in each docstring:

- kinks: the hinge losses take the gradient ``0`` at ``margin = 0`` (an element of the subdifferential);
  ties for the highest-scoring wrong class go to the lowest index;
- ``0·log 0 = 0``; a term ``p_k log(1/q_k)`` with ``q_k = 0 < p_k`` is ``+∞`` (and its gradient
  ``−p_k/q_k = −∞``); where ``p_k = 0`` the gradient with respect to ``q_k`` is ``0``;
- logistic loss labels: ``labels="zero_one"`` (``y ∈ {0, 1}``, the seed's convention) or
  ``labels="plus_minus_one"`` (``y ∈ {−1, +1}``, mapped to ``(1 + y)/2``).

Bad input (NaN/inf, wrong shapes or dtypes, labels outside their set, probability rows that do not sum
to 1) raises ``ValueError``/``TypeError`` naming the argument and the value; nothing is renormalised,
clipped or cast.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import prange

from verify._jit import jit, parallel_jit
from verify._validate import (
    as_float_array,
    describe,
    require_choice,
    require_finite,
    require_labels,
    require_shape,
    require_sign_labels,
    require_simplex_rows,
)
from verify.kernels._backend import cuda_route, dispatch
from verify.kernels._finite import count_nonfinite
from verify.kernels.activations import row_max
from verify.kernels.elementary import exp_diff, exp_nonpositive, log1p_nonnegative, two_diff

__all__ = [
    "REDUCTIONS",
    "LOGISTIC_LABELS",
    "LOSSES",
    "least_squares",
    "hinge",
    "multiclass_hinge",
    "logistic_from_probability",
    "logistic_from_logit",
    "categorical_cross_entropy",
    "softmax_cross_entropy",
    "entropy",
    "cross_entropy",
    "kl_divergence",
]

REDUCTIONS: tuple[str, ...] = ("mean", "sum", "none")
LOGISTIC_LABELS: tuple[str, ...] = ("zero_one", "plus_minus_one")

# Division by zero is meaningful here (−1/q at q = 0 is −∞), so the NumPy error model: no exceptions.
_kernel = jit(error_model="numpy")
_parallel_kernel = parallel_jit(error_model="numpy")

# Modes of the shared kernels.
_HINGE, _LOGISTIC_PROB, _LOGISTIC_LOGIT = 0, 1, 2
_CROSS_ENTROPY, _KL = 0, 1


# =========================================================================== scalar building blocks


@_kernel
def _softplus(x):
    """log(1 + e^x) = max(x, 0) + log1p(e^{−|x|}): both terms ≥ 0, no overflow."""
    return max(x, 0.0) + np.log1p(np.exp(-abs(x)))


@_kernel
def _sigmoid64(x):
    if x >= 0.0:
        return 1.0 / (1.0 + np.exp(-x))
    e = np.exp(x)
    return e / (1.0 + e)


@_kernel
def _log_ratio(p, q):
    """log(p/q) for p, q > 0 to a few ULPs: log1p((p − q)/q) near 1 (p − q is exact there, Sterbenz),
    log(p/q) elsewhere, log p − log q when p/q would over/underflow (then |log(p/q)| > 690)."""
    ratio = p / q
    if 0.5 <= ratio <= 2.0:
        return np.log1p((p - q) / q)
    if 1e-300 < ratio < 1e300:
        return np.log(ratio)
    return np.log(p) - np.log(q)


# =========================================================================== row kernels


@_kernel
def _binary_row(mode, x, s, denom):
    """(loss, dloss/dx) of one example with sign label s ∈ {−1, +1}."""
    x = np.float64(x)
    if mode == 0:  # hinge: max(0, 1 − s·x); gradient 0 at the kink
        margin = 1.0 - s * x
        if margin > 0.0:
            return margin, -s / denom
        return 0.0, 0.0
    if mode == 1:  # logistic from a probability x = ŷ
        if s > 0.0:
            return -np.log(x), -1.0 / (x * denom)
        return -np.log1p(-x), 1.0 / ((1.0 - x) * denom)
    # logistic from a logit: softplus(−s·x), gradient −s·σ(−s·x)
    return _softplus(-s * x), -s * _sigmoid64(-s * x) / denom


@jit(error_model="numpy", inline="always")
def _logistic_logit_row(x, s, denom):
    """``(softplus(y), −s·σ(y)/denom)`` with ``y = −s·x``, from one ``e = exp(−|y|)`` and branch-free, so that a
    loop over it vectorises: ``softplus(y) = max(y, 0) + log1p(e)``, ``σ(y) = 1/(1 + e)`` for ``y ≥ 0`` and
    ``e/(1 + e)`` below (the forms of :func:`_softplus` and :func:`_sigmoid64`)."""
    y = -s * np.float64(x)
    e = exp_nonpositive(-abs(y), 0.0)
    r = 1.0 / (1.0 + e)
    sigma = r if y >= 0.0 else e * r
    return max(y, 0.0) + log1p_nonnegative(e), -s * sigma / denom


@_kernel
def _binary_cpu(x, s, mode, denom, vals, grad):
    if mode == _LOGISTIC_LOGIT:
        for i in range(x.shape[0]):
            vals[i], grad[i] = _logistic_logit_row(x[i], s[i], denom)
        return
    for i in range(x.shape[0]):
        vals[i], grad[i] = _binary_row(mode, x[i], s[i], denom)


@_parallel_kernel
def _binary_parallel(x, s, mode, denom, vals, grad):
    if mode == _LOGISTIC_LOGIT:
        for i in prange(x.shape[0]):
            vals[i], grad[i] = _logistic_logit_row(x[i], s[i], denom)
        return
    for i in prange(x.shape[0]):
        vals[i], grad[i] = _binary_row(mode, x[i], s[i], denom)


@_kernel
def _least_squares_row(f, c, denom, g):
    total = 0.0
    for k in range(f.shape[0]):
        d = np.float64(f[k]) - np.float64(c[k])
        total += (0.5 * d) * d  # (½d)·d: no spurious overflow of d² when ½d² is finite
        g[k] = d / denom
    return total


@_kernel
def _least_squares_cpu(f, c, mode, denom, vals, grad):
    for i in range(f.shape[0]):
        vals[i] = _least_squares_row(f[i], c[i], denom, grad[i])


@_parallel_kernel
def _least_squares_parallel(f, c, mode, denom, vals, grad):
    for i in prange(f.shape[0]):
        vals[i] = _least_squares_row(f[i], c[i], denom, grad[i])


@_kernel
def _multiclass_hinge_row(y, t, denom, g):
    j = -1
    best = 0.0
    for k in range(y.shape[0]):
        g[k] = 0.0
        if k != t and (j < 0 or y[k] > best):
            j = k
            best = np.float64(y[k])
    margin = 1.0 - (np.float64(y[t]) - best)
    if margin > 0.0:
        g[t] = -1.0 / denom
        g[j] = 1.0 / denom
        return margin
    return 0.0


@_kernel
def _multiclass_hinge_cpu(y, t, mode, denom, vals, grad):
    for i in range(y.shape[0]):
        vals[i] = _multiclass_hinge_row(y[i], t[i], denom, grad[i])


@_parallel_kernel
def _multiclass_hinge_parallel(y, t, mode, denom, vals, grad):
    for i in prange(y.shape[0]):
        vals[i] = _multiclass_hinge_row(y[i], t[i], denom, grad[i])


# Softmax cross-entropy with class indices runs over blocks of rows so that the exponentials, the
# logarithms and the scaling are loops over contiguous memory that LLVM vectorises (a loop over one row
# of K = 10 leaves a scalar remainder that costs as much as the vector part).
_BLOCK_ELEMENTS = 4096  # float64 scratch per block: 32 KiB, within L1/L2
_BLOCKS_PER_TASK = 16  # blocks one parallel task works through with one scratch allocation


@jit(inline="always")
def _rows_per_block(k):
    return max(1, _BLOCK_ELEMENTS // k)


@jit(fastmath={"reassoc"}, error_model="numpy")
def _sums_without(work, start, k_max, best, t):
    """``(Σ_{k≠best} w_k, Σ_{k≠t} w_k)`` over ``work[start:start + k_max]``, in any order (the order is
    free for the vectoriser; each sum of ``K`` nonnegative terms is within ``(K − 1)/2`` ULPs either way)."""
    s_other = 0.0
    s_not_t = 0.0
    for k in range(k_max):
        v = work[start + k]
        s_other += v if k != best else 0.0
        s_not_t += v if k != t else 0.0
    return s_other, s_not_t


@jit(error_model="numpy")
def _sce_labels_block(z, t, denom, vals, g, lo, hi, work, best, s_other, log_s):
    """Rows ``lo:hi``: the value −log σ(z_i)_t and the gradient (σ(z_i) − e_t)/denom, in float64 scratch
    (``work``: (hi − lo)·K; ``best``, ``s_other``, ``log_s``: hi − lo), rounded once into ``g``."""
    k_max = z.shape[1]
    rows = hi - lo
    for r in range(rows):
        i = lo + r
        b = 0
        m = np.float64(z[i, 0])
        for k in range(1, k_max):
            if z[i, k] > m:
                m = np.float64(z[i, k])
                b = k
        best[r] = b
        for k in range(k_max):
            work[r * k_max + k] = m
    flat = z[lo:hi].reshape(-1)
    for j in range(rows * k_max):
        work[j] = exp_diff(flat[j], work[j])  # exp(z_k − m), exactly 1 at k = best
    for r in range(rows):
        i = lo + r
        ti = t[i]
        others, not_t = _sums_without(work, r * k_max, k_max, best[r], ti)  # S − 1 and S − exp(z_t − m)
        inv = 1.0 / ((1.0 + others) * denom)
        for k in range(k_max):
            g[i, k] = work[r * k_max + k] * inv
        g[i, ti] = -not_t * inv
        s_other[r] = others
    for r in range(rows):
        log_s[r] = log1p_nonnegative(s_other[r])
    for r in range(rows):
        i = lo + r
        ti = t[i]
        d, e = two_diff(np.float64(z[i, best[r]]), z[i, ti])  # m − z_t exactly
        vals[i] = d + (log_s[r] + e)


@jit(error_model="numpy", inline="always")
def _sce_labels_range(z, t, denom, vals, g, lo, hi):
    rows = _rows_per_block(z.shape[1])
    work = np.empty(rows * z.shape[1])
    best = np.empty(rows, dtype=np.int64)
    s_other = np.empty(rows)
    log_s = np.empty(rows)
    for start in range(lo, hi, rows):
        _sce_labels_block(z, t, denom, vals, g, start, min(start + rows, hi), work, best, s_other, log_s)


@_kernel
def _sce_labels_cpu(z, t, mode, denom, vals, grad):
    _sce_labels_range(z, t, denom, vals, grad, 0, z.shape[0])


@_parallel_kernel
def _sce_labels_parallel(z, t, mode, denom, vals, grad):
    n = z.shape[0]
    rows = _rows_per_block(z.shape[1]) * _BLOCKS_PER_TASK
    for task in prange((n + rows - 1) // rows):
        lo = task * rows
        _sce_labels_range(z, t, denom, vals, grad, lo, min(lo + rows, n))


@_kernel
def _sce_dist_row(z, c, denom, g):
    """−Σ_k c_k log σ(z)_k = Σ_k c_k ((m − z_k) + log S): every term ≥ 0; gradient (Σc)·σ(z) − c."""
    best, m = row_max(z)
    s_other = 0.0
    c_sum = 0.0
    for k in range(z.shape[0]):
        v = 1.0 if k == best else exp_diff(z[k], m)
        g[k] = v
        if k != best:
            s_other += v
        c_sum += np.float64(c[k])
    log_s = np.log1p(s_other)
    scale = c_sum / (1.0 + s_other)
    total = 0.0
    for k in range(z.shape[0]):
        ck = np.float64(c[k])
        if ck != 0.0:
            d, e = two_diff(m, z[k])
            total += ck * (d + (log_s + e))
        g[k] = (np.float64(g[k]) * scale - ck) / denom
    return total


@_kernel
def _sce_dist_cpu(z, c, mode, denom, vals, grad):
    for i in range(z.shape[0]):
        vals[i] = _sce_dist_row(z[i], c[i], denom, grad[i])


@_parallel_kernel
def _sce_dist_parallel(z, c, mode, denom, vals, grad):
    for i in prange(z.shape[0]):
        vals[i] = _sce_dist_row(z[i], c[i], denom, grad[i])


@_kernel
def _cce_labels_row(q, t, denom, g):
    for k in range(q.shape[0]):
        g[k] = 0.0
    qt = np.float64(q[t])
    g[t] = -1.0 / (qt * denom)  # −∞ when q_t = 0
    return -np.log(qt)  # +∞ when q_t = 0


@_kernel
def _cce_labels_cpu(q, t, mode, denom, vals, grad):
    for i in range(q.shape[0]):
        vals[i] = _cce_labels_row(q[i], t[i], denom, grad[i])


@_parallel_kernel
def _cce_labels_parallel(q, t, mode, denom, vals, grad):
    for i in prange(q.shape[0]):
        vals[i] = _cce_labels_row(q[i], t[i], denom, grad[i])


@_kernel
def _pq_row(mode, p, q, denom, g):
    """H(p, q) (mode 0) or D(p‖q) (mode 1) of one row, and the gradient −p/q with respect to q."""
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
        elif mode == 0:
            total -= pk * np.log(qk)
        else:
            total += pk * _log_ratio(pk, qk)
    return total


@_kernel
def _pq_cpu(p, q, mode, denom, vals, grad):
    for i in range(p.shape[0]):
        vals[i] = _pq_row(mode, p[i], q[i], denom, grad[i])


@_parallel_kernel
def _pq_parallel(p, q, mode, denom, vals, grad):
    for i in prange(p.shape[0]):
        vals[i] = _pq_row(mode, p[i], q[i], denom, grad[i])


@_kernel
def _entropy_row(p, denom, g):
    total = 0.0
    for k in range(p.shape[0]):
        pk = np.float64(p[k])
        log_p = np.log(pk)  # −∞ at p_k = 0: the gradient −(log p + 1) is +∞ there
        g[k] = -(log_p + 1.0) / denom
        if pk != 0.0:
            total -= pk * log_p
    return total


@_kernel
def _entropy_cpu(p, unused, mode, denom, vals, grad):
    for i in range(p.shape[0]):
        vals[i] = _entropy_row(p[i], denom, grad[i])


@_parallel_kernel
def _entropy_parallel(p, unused, mode, denom, vals, grad):
    for i in prange(p.shape[0]):
        vals[i] = _entropy_row(p[i], denom, grad[i])


# =========================================================================== NumPy implementations
# Vectorised in the dtype of the input: the readable reference and the benchmark baseline.


def _np_two_diff(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = a - b
    bv = d - a
    return d, (a - (d - bv)) - (b + bv)


def _np_binary(x, s, mode, denom, vals, grad):
    s = s.astype(x.dtype)
    with np.errstate(divide="ignore", over="ignore", under="ignore"):
        if mode == _HINGE:
            margin = 1 - s * x
            vals[...] = np.maximum(margin, 0)
            grad[...] = np.where(margin > 0, -s, 0) / denom
        elif mode == _LOGISTIC_PROB:
            pos = s > 0
            vals[...] = np.where(pos, -np.log(x), -np.log1p(-x))
            grad[...] = np.where(pos, -1 / x, 1 / (1 - x)) / denom
        else:
            u = -s * x
            vals[...] = np.maximum(u, 0) + np.log1p(np.exp(-np.abs(u)))
            e = np.exp(-np.abs(u))
            sig = np.where(u >= 0, 1 / (1 + e), e / (1 + e))
            grad[...] = -s * sig / denom


def _np_least_squares(f, c, mode, denom, vals, grad):
    d = f - c
    vals[...] = ((0.5 * d) * d).sum(axis=1)
    grad[...] = d / denom


def _np_multiclass_hinge(y, t, mode, denom, vals, grad):
    n = y.shape[0]
    rows = np.arange(n)
    others = y.copy()
    others[rows, t] = -np.inf
    j = np.argmax(others, axis=1)
    margin = 1 - (y[rows, t] - y[rows, j])
    vals[...] = np.maximum(margin, 0)
    on = (margin > 0).astype(y.dtype) / denom
    grad[...] = 0
    grad[rows, t] -= on
    grad[rows, j] += on


def _np_shifted_exp(z: np.ndarray):
    """(best, m, d, e, t): argmax, max, z − m = d + e, and t = exp(z − m) with t[best] = 0."""
    rows = np.arange(z.shape[0])
    best = np.argmax(z, axis=1)
    m = z[rows, best][:, None]
    d, e = _np_two_diff(z, m)
    with np.errstate(under="ignore"):
        t = np.exp(d)
        t += t * e  # exp(d + e) = exp(d)(1 + e) to within e²/2
    t[rows, best] = 0
    return best, m, d, e, t


def _np_sce_labels(z, labels, mode, denom, vals, grad):
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
    vals[...] = -(d[rows, labels] + e[rows, labels]) + np.log1p(s_other)


def _np_sce_dist(z, c, mode, denom, vals, grad):
    rows = np.arange(z.shape[0])
    best, m, d, e, t = _np_shifted_exp(z)
    s_other = t.sum(axis=1)
    t[rows, best] = 1
    log_s = np.log1p(s_other)
    terms = c * ((-d) + (log_s[:, None] - e))
    vals[...] = np.where(c != 0, terms, 0).sum(axis=1)
    grad[...] = (t * (c.sum(axis=1) / (1 + s_other))[:, None] - c) / denom


def _np_cce_labels(q, labels, mode, denom, vals, grad):
    rows = np.arange(q.shape[0])
    qt = q[rows, labels]
    grad[...] = 0
    with np.errstate(divide="ignore"):
        grad[rows, labels] = -1 / (qt * denom)
        vals[...] = -np.log(qt)


def _np_log_ratio(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        ratio = p / q
        near = (ratio >= 0.5) & (ratio <= 2)
        normal = (ratio > 1e-300) & (ratio < 1e300)
        return np.where(near, np.log1p((p - q) / q), np.where(normal, np.log(ratio), np.log(p) - np.log(q)))


def _np_pq(p, q, mode, denom, vals, grad):
    with np.errstate(divide="ignore", invalid="ignore"):
        if mode == _CROSS_ENTROPY:
            terms = -p * np.log(q)
        else:
            terms = p * _np_log_ratio(p, q)
        terms = np.where(p == 0, 0, np.where(q == 0, np.inf, terms))
        vals[...] = terms.sum(axis=1)
        grad[...] = np.where(p == 0, 0, -p / (q * denom))


def _np_entropy(p, unused, mode, denom, vals, grad):
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p = np.log(p)
        vals[...] = np.where(p == 0, 0, -p * log_p).sum(axis=1)
        grad[...] = -(log_p + 1) / denom


def _table(numpy_impl: Callable, cpu: Callable, parallel: Callable) -> dict[str, Callable]:
    return {"numpy": numpy_impl, "cpu": cpu, "parallel": parallel}


_BINARY = _table(_np_binary, _binary_cpu, _binary_parallel)
_LEAST_SQUARES = _table(_np_least_squares, _least_squares_cpu, _least_squares_parallel)
_MULTICLASS_HINGE = _table(_np_multiclass_hinge, _multiclass_hinge_cpu, _multiclass_hinge_parallel)
_SCE_LABELS = _table(_np_sce_labels, _sce_labels_cpu, _sce_labels_parallel)
_SCE_DIST = _table(_np_sce_dist, _sce_dist_cpu, _sce_dist_parallel)
_CCE_LABELS = _table(_np_cce_labels, _cce_labels_cpu, _cce_labels_parallel)
_PQ = _table(_np_pq, _pq_cpu, _pq_parallel)
_ENTROPY = _table(_np_entropy, _entropy_cpu, _entropy_parallel)


# =========================================================================== validation and driver


def _prediction(value: object, ndim: int) -> np.ndarray:
    arr = np.ascontiguousarray(as_float_array(value, "prediction", ndim=ndim))
    # One pass that proves every entry finite; only when it fails, look entry by entry for the message.
    if count_nonfinite(arr.reshape(-1)):
        require_finite(arr, "prediction")
    if arr.shape[0] == 0:
        raise ValueError(f"prediction must have at least one row; got shape {arr.shape}")
    if ndim == 2 and arr.shape[1] == 0:
        raise ValueError(f"prediction must have at least one column (class); got shape {arr.shape}")
    return arr


def _float_target(value: object, name: str, like: np.ndarray) -> np.ndarray:
    arr = as_float_array(value, name, dtype=like.dtype)
    require_shape(arr, name, like.shape)
    require_finite(arr, name)
    return np.ascontiguousarray(arr)


def _probabilities(value: object, name: str, like: np.ndarray | None = None) -> np.ndarray:
    arr = as_float_array(value, name, ndim=2, dtype=None if like is None else like.dtype)
    if like is not None:
        require_shape(arr, name, like.shape)
    elif arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must have at least one row and one column; got shape {arr.shape}")
    require_simplex_rows(arr, name)
    return np.ascontiguousarray(arr)


def _class_target(target: object, prediction: np.ndarray) -> tuple[str, np.ndarray]:
    """Integer class indices (N,) or distributions (N, K) over the classes."""
    arr = target if isinstance(target, np.ndarray) else np.asarray(target)
    if arr.dtype.kind in "iu":
        n, k = prediction.shape
        return "labels", require_labels(arr, "target", n, k)
    if arr.dtype.kind == "f" and arr.ndim == 2:
        return "distribution", _probabilities(arr, "target", prediction)
    raise TypeError(
        "target must be integer class indices of shape (N,) or float distributions of shape (N, K) "
        f"with the dtype of prediction ({prediction.dtype}); got {describe(arr)}"
    )


def _binary_labels(y: object, name: str, n: int, convention: str) -> np.ndarray:
    """Labels as float64 signs ±1 for the kernels, after checking them against ``convention``."""
    arr = y if isinstance(y, np.ndarray) else np.asarray(y)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an integer or float array of labels; got dtype {arr.dtype} {describe(arr)}")
    require_shape(arr, name, (n,))
    if convention == "plus_minus_one":
        require_sign_labels(arr, name)
        return arr.astype(np.float64)
    bad = (arr != 0) & (arr != 1)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"{name} must contain only 0 and 1 (labels='zero_one'); {name}[{i}] = {arr[i].item()!r}"
            + ("; for ±1 labels pass labels='plus_minus_one'" if arr[i] == -1 else "")
        )
    return 2.0 * arr.astype(np.float64) - 1.0


def _run(table, kernel: str, prediction, target, mode: int, reduction: object, backend: str | None):
    require_choice(reduction, "reduction", REDUCTIONS)
    impl = dispatch(table, backend, kernel)
    n = prediction.shape[0]
    denom = float(n) if reduction == "mean" else 1.0
    grad = np.empty_like(prediction)
    vals = np.empty(n, dtype=np.float64 if table["numpy"] is not impl else prediction.dtype)
    impl(prediction, target, mode, denom, vals, grad)
    if reduction == "none":
        return vals.astype(prediction.dtype, copy=False), grad
    total = float(np.add.reduce(vals, dtype=np.float64))  # NumPy's pairwise sum, without np.sum's wrapper
    return (total / n if reduction == "mean" else total), grad


# =========================================================================== public losses


@cuda_route("losses")
def least_squares(prediction, target, *, reduction="mean", backend=None):
    """Least squares ``ℓ_i = ½‖F_i − c_i‖²₂``; gradient ``F_i − c_i``.

    Source: ``002_1388b78ad9a2d202.txt``, "Loss Functions": ``L_LS(F, c) = ½‖F(y, θ) − c‖²₂``.
    ``prediction`` F and ``target`` c: finite float arrays of the same shape (N, K) and dtype.
    """
    f = _prediction(prediction, 2)
    c = _float_target(target, "target", f)
    return _run(_LEAST_SQUARES, "least_squares", f, c, 0, reduction, backend)


@cuda_route("losses")
def hinge(prediction, target, *, reduction="mean", backend=None):
    """Binary hinge ``ℓ_i = max(0, 1 − y_i·ỹ_i)``; gradient ``−y_i`` where ``1 − y_i ỹ_i > 0``, else 0
    (0 at the kink ``y_i ỹ_i = 1``).

    Source: ``000_42086e2af0f76780.txt``, "LOSS FUNCTIONS — HINGE (binary) LOSS":
    ``L(ỹ, y) = max(0, 1 − y·ỹ)`` with ``y ∈ {+1, −1}``. ``prediction`` ỹ: (N,) scores; ``target`` y:
    (N,) labels in {−1, +1} (integers or floats).
    """
    x = _prediction(prediction, 1)
    s = _binary_labels(target, "target", x.shape[0], "plus_minus_one")
    return _run(_BINARY, "hinge", x, s, _HINGE, reduction, backend)


@cuda_route("losses")
def multiclass_hinge(prediction, target, *, reduction="mean", backend=None):
    """Multi-class hinge ``ℓ_i = max(0, 1 − (ŷ_[t] − ŷ_[j]))``, ``j`` the highest-scoring wrong class.

    Source: ``000_42086e2af0f76780.txt``, "LOSS FUNCTIONS — HINGE (multi-class) LOSS". Gradient: −1 at
    ``t`` and +1 at ``j`` where the margin is positive, else 0 (0 at the kink); ties for ``j`` go to the
    lowest index. ``prediction``: scores (N, K), K ≥ 2; ``target``: integer class indices t (N,).
    """
    y = _prediction(prediction, 2)
    if y.shape[1] < 2:
        raise ValueError(f"prediction must have at least 2 classes for the multi-class hinge; got shape {y.shape}")
    t = require_labels(target, "target", y.shape[0], y.shape[1])
    return _run(_MULTICLASS_HINGE, "multiclass_hinge", y, t, 0, reduction, backend)


@cuda_route("losses")
def logistic_from_probability(prediction, target, *, labels="zero_one", reduction="mean", backend=None):
    """Logistic loss (binary cross-entropy) of a probability ``ŷ = P(y = 1 | x)``:
    ``ℓ_i = −y log ŷ − (1 − y) log(1 − ŷ)``; gradient ``−1/ŷ`` (y = 1) or ``1/(1 − ŷ)`` (y = 0).

    Source: ``000_42086e2af0f76780.txt``, "LOSS FUNCTIONS — LOGISTIC LOSS (BINARY CROSS ENTROPY)",
    with ``y ∈ {0, 1}`` (``labels="zero_one"``, the default); ``labels="plus_minus_one"`` accepts
    ``y ∈ {−1, +1}`` instead (−1 ↔ 0). ``prediction``: (N,) probabilities in [0, 1] (``ŷ = 0`` with
    y = 1 gives ``+∞``); ``log(1 − ŷ)`` is evaluated as ``log1p(−ŷ)``.
    """
    require_choice(labels, "labels", LOGISTIC_LABELS)
    x = _prediction(prediction, 1)
    outside = (x < 0) | (x > 1)
    if outside.any():
        i = int(np.argmax(outside))
        raise ValueError(f"prediction must be probabilities in [0, 1]; prediction[{i}] = {x[i].item()!r}")
    s = _binary_labels(target, "target", x.shape[0], labels)
    return _run(_BINARY, "logistic_from_probability", x, s, _LOGISTIC_PROB, reduction, backend)


@cuda_route("losses")
def logistic_from_logit(prediction, target, *, labels="zero_one", reduction="mean", backend=None):
    """Logistic loss of a logit ``ỹ`` (``ŷ = σ(ỹ)``): ``ℓ_i = log(1 + e^{−s ỹ})`` with ``s = 2y − 1``;
    gradient ``σ(ỹ) − y = −s·σ(−s ỹ)``.

    Source: ``000_42086e2af0f76780.txt``, "LOGISTIC LOSS (BINARY CROSS ENTROPY)" with ``ŷ = σ(ỹ)``,
    ``σ(x) = 1/(1 + e^{−x})``. Computed as ``softplus(u) = max(u, 0) + log1p(e^{−|u|})``: finite and
    accurate for logits up to the largest float. Labels as in :func:`logistic_from_probability`.
    """
    require_choice(labels, "labels", LOGISTIC_LABELS)
    x = _prediction(prediction, 1)
    s = _binary_labels(target, "target", x.shape[0], labels)
    return _run(_BINARY, "logistic_from_logit", x, s, _LOGISTIC_LOGIT, reduction, backend)


@cuda_route("losses")
def categorical_cross_entropy(prediction, target, *, reduction="mean", backend=None):
    """Categorical cross-entropy of predicted probabilities ``ŷ`` (N, K):
    ``ℓ_i = −Σ_k y_[k] log ŷ_[k]`` (distributions y) or ``−log ŷ_[t]`` (class indices t).

    Source: ``000_42086e2af0f76780.txt``, "NEGATIVE LOG LIKELIHOOD (CATEGORICAL CROSS-ENTROPY LOSS)".
    Gradient ``−y_[k]/ŷ_[k]`` (0 where ``y_[k] = 0``). ``prediction`` rows must sum to 1 (never
    renormalised); ``ŷ_[k] = 0 < y_[k]`` gives ``+∞``. ``target``: integer (N,) or float (N, K) rows
    summing to 1, with the dtype of ``prediction``.
    """
    q = _probabilities(prediction, "prediction")
    kind, target_arr = _class_target(target, q)
    if kind == "labels":
        return _run(_CCE_LABELS, "categorical_cross_entropy", q, target_arr, 0, reduction, backend)
    return _run(_PQ, "categorical_cross_entropy", target_arr, q, _CROSS_ENTROPY, reduction, backend)


@cuda_route("losses")
def softmax_cross_entropy(prediction, target, *, reduction="mean", backend=None):
    """Cross-entropy of logits: ``ℓ_i = −Σ_k c_k log σ(z_i)_k`` (or ``−log σ(z_i)_t`` for a class index t),
    ``σ`` the softmax; gradient ``(Σ_k c_k)·σ(z_i) − c_i`` (``σ(z_i) − e_t``).

    Source: ``002_1388b78ad9a2d202.txt``, "Loss Functions": ``L_CE(F, c) = −cᵀ log σ(F)``;
    ``001_02deb113427fab16.txt``, "Chain rule and Backpropagation". One fused pass over a block of rows held
    in cache (max, shifted exponentials, value and gradient; with class indices the exponentials, sums and
    logarithms are vectorised loops over the block); finite and accurate to a few ULPs for logits up to ±1e300.
    ``prediction``: logits (N, K); ``target``: integer (N,) or float (N, K) rows summing to 1.
    """
    z = _prediction(prediction, 2)
    kind, target_arr = _class_target(target, z)
    table = _SCE_LABELS if kind == "labels" else _SCE_DIST
    return _run(table, "softmax_cross_entropy", z, target_arr, 0, reduction, backend)


@cuda_route("losses")
def entropy(p, *, reduction="mean", backend=None):
    """Entropy ``H(p_i) = Σ_k p_k log(1/p_k)`` of each row (0·log 0 = 0); gradient ``−(log p_k + 1)``
    (``+∞`` at ``p_k = 0``, the one-sided limit).

    Source: ``002_1388b78ad9a2d202.txt``, "Cross Entropy + KL Divergence — Entropy (Expected Surprise!)".
    ``p``: (N, K) rows summing to 1.
    """
    arr = _probabilities(p, "p")
    return _run(_ENTROPY, "entropy", arr, arr, 0, reduction, backend)


@cuda_route("losses")
def cross_entropy(p, q, *, reduction="mean", backend=None):
    """Cross-entropy ``H(p_i, q_i) = Σ_k p_k log(1/q_k)``; gradient with respect to ``q``: ``−p_k/q_k``.

    Source: ``002_1388b78ad9a2d202.txt``, "Cross Entropy + KL Divergence — Cross Entropy". 0·log 0 = 0;
    ``q_k = 0 < p_k`` gives ``+∞`` (gradient ``−∞``). ``p``, ``q``: (N, K) rows summing to 1, same dtype.
    """
    pa = _probabilities(p, "p")
    qa = _probabilities(q, "q", pa)
    return _run(_PQ, "cross_entropy", pa, qa, _CROSS_ENTROPY, reduction, backend)


@cuda_route("losses")
def kl_divergence(p, q, *, reduction="mean", backend=None):
    """Kullback–Leibler divergence ``D(p_i‖q_i) = Σ_k p_k log(p_k/q_k)``; gradient w.r.t. ``q``: ``−p_k/q_k``.

    Source: ``002_1388b78ad9a2d202.txt``, "Kullback-Leibler Divergence (Expected Relative Entropy)".
    0·log(0/q) = 0; ``D = +∞`` where some ``q_k = 0 < p_k``. ``log(p/q)`` is evaluated as
    ``log1p((p − q)/q)`` when ``p/q ∈ [½, 2]`` (``p − q`` exact there), so ``D`` keeps its relative
    accuracy as ``q → p``. ``p``, ``q``: (N, K) rows summing to 1, same dtype.
    """
    pa = _probabilities(p, "p")
    qa = _probabilities(q, "q", pa)
    return _run(_PQ, "kl_divergence", pa, qa, _KL, reduction, backend)


LOSSES: dict[str, Callable] = {
    "least_squares": least_squares,
    "hinge": hinge,
    "multiclass_hinge": multiclass_hinge,
    "logistic_from_probability": logistic_from_probability,
    "logistic_from_logit": logistic_from_logit,
    "categorical_cross_entropy": categorical_cross_entropy,
    "softmax_cross_entropy": softmax_cross_entropy,
    "entropy": entropy,
    "cross_entropy": cross_entropy,
    "kl_divergence": kl_divergence,
}
