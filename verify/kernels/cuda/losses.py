"""Losses with their gradients as ``numba.cuda`` kernels (the ``"cuda"`` backend).

Mirrors :mod:`verify.kernels.losses` — the same functions, formulas, conventions and reductions, with
the signatures of the CPU kernels minus ``backend``:

``loss(prediction, target, *, reduction="mean") -> (value, grad)`` (``entropy(p)`` takes one array);
``"none"``: an (N,) array of per-row losses (dtype of ``prediction``) and row i of ``grad`` = ∂ℓ_i/∂prediction_i;
``"sum"``/``"mean"``: a Python float and the gradient of that reduced value (``"mean"`` averages over rows,
``001_02deb113427fab16.txt``, "Chain rule and Backpropagation").

- ``least_squares``: ½‖F_i − c_i‖² (``002_1388b78ad9a2d202.txt``, "Loss Functions");
- ``hinge``: max(0, 1 − y·ỹ), y ∈ {−1, +1}; ``multiclass_hinge``: max(0, 1 − (ŷ_t − ŷ_j)), j the
  highest-scoring wrong class, ties to the lowest index (``000_42086e2af0f76780.txt``, "LOSS FUNCTIONS");
  gradient 0 at the kinks;
- ``logistic_from_probability`` / ``logistic_from_logit`` (``labels="zero_one"`` or ``"plus_minus_one"``),
  the latter as softplus(−s ỹ) (``000_42086e2af0f76780.txt``, "LOGISTIC LOSS");
- ``categorical_cross_entropy`` (probabilities) and ``softmax_cross_entropy`` (logits; one fused pass,
  TwoSum-exact shifts, accurate for logits up to ±1e300), targets as class indices or distributions;
- ``entropy``, ``cross_entropy``, ``kl_divergence`` with 0·log 0 = 0 and +∞ where q_k = 0 < p_k
  (``002_1388b78ad9a2d202.txt``, "Cross Entropy + KL Divergence").

GPU layout: the 1-D losses use one thread per example; the row losses put ``threads_per_row`` threads on
each row and reduce through shared memory (no warp shuffles, no atomics: deterministic). Each row is
computed in float64 and rounded once; the per-row losses are summed on the device in float64 and one
float comes back for ``"sum"``/``"mean"``. Division by zero and ``log 0`` are written as explicit
branches (±∞), so the kernels behave the same on a GPU and on Numba's simulator (where Python's ``math``
raises instead).

Inputs may be host or device arrays (see :mod:`verify.kernels.cuda._device`); device inputs are
validated on the device (finite, labels in range, rows summing to 1, probabilities in [0, 1]).
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from verify._validate import describe, require_choice, require_simplex_rows, simplex_tolerance
from verify.kernels.cuda._device import (
    BLOCK,
    DeviceArgs,
    device_sum,
    elementwise_grid,
    float_signatures,
    is_device_array,
    register,
    row_layout,
)
from verify.kernels.cuda.activations import block_reduce_argmax, block_reduce_sum, exp_diff, two_diff
from verify.kernels.losses import LOGISTIC_LABELS, REDUCTIONS

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

_HINGE, _LOGISTIC_PROB, _LOGISTIC_LOGIT = 0, 1, 2
_CROSS_ENTROPY, _KL = 0, 1


# ================================================================================ device functions


@cuda.jit(device=True)
def _softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


@cuda.jit(device=True)
def _sigmoid(x):
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@cuda.jit(device=True)
def _log_ratio(p, q):
    """log(p/q), p, q > 0, to a few ULPs (as in the CPU kernel): log1p((p − q)/q) for p/q ∈ [½, 2]."""
    ratio = p / q
    if 0.5 <= ratio <= 2.0:
        return math.log1p((p - q) / q)
    if 1e-300 < ratio < 1e300:
        return math.log(ratio)
    return math.log(p) - math.log(q)


@cuda.jit(device=True)
def _binary(mode, x, s, denom):
    """(loss, dloss/dx) of one example with sign label s ∈ {−1, +1}."""
    if mode == 0:
        margin = 1.0 - s * x
        if margin > 0.0:
            return margin, -s / denom
        return 0.0, 0.0
    if mode == 1:
        if s > 0.0:
            if x == 0.0:
                return math.inf, -math.inf
            return -math.log(x), -1.0 / (x * denom)
        if x == 1.0:
            return math.inf, math.inf
        return -math.log1p(-x), 1.0 / ((1.0 - x) * denom)
    return _softplus(-s * x), -s * _sigmoid(-s * x) / denom


# ================================================================================ kernels


@register(*float_signatures("void({f}[::1], float64[::1], int64, float64, float64[::1], {f}[::1])"))
def _binary_kernel(x, s, mode, denom, vals, grad):
    i = cuda.grid(1)
    if i < x.size:
        value, g = _binary(mode, np.float64(x[i]), s[i], denom)
        vals[i] = value
        grad[i] = g


@register(*float_signatures("void({f}[:, ::1], {f}[:, ::1], float64, float64[::1], {f}[:, ::1])"))
def _least_squares_kernel(f, c, denom, vals, grad):
    buf = cuda.shared.array(BLOCK, dtype=np.float64)
    tx = cuda.threadIdx.x
    tpr = cuda.blockDim.x
    row = cuda.blockIdx.x * cuda.blockDim.y + cuda.threadIdx.y
    active = row < f.shape[0]
    total = 0.0
    if active:
        k = tx
        while k < f.shape[1]:
            d = np.float64(f[row, k]) - c[row, k]
            total += (0.5 * d) * d  # (½d)·d: no spurious overflow of d² when ½d² is finite
            grad[row, k] = d / denom
            k += tpr
    total = block_reduce_sum(buf, cuda.threadIdx.y * tpr, tx, tpr, total)
    if active and tx == 0:
        vals[row] = total


@register(*float_signatures("void({f}[:, ::1], int64[::1], float64, float64[::1], {f}[:, ::1])"))
def _multiclass_hinge_kernel(y, t, denom, vals, grad):
    vbuf = cuda.shared.array(BLOCK, dtype=np.float64)
    ibuf = cuda.shared.array(BLOCK, dtype=np.int64)
    tx = cuda.threadIdx.x
    tpr = cuda.blockDim.x
    row = cuda.blockIdx.x * cuda.blockDim.y + cuda.threadIdx.y
    active = row < y.shape[0]
    n_classes = y.shape[1]
    best = -math.inf
    j = n_classes
    target = 0
    if active:
        target = t[row]
        k = tx
        while k < n_classes:
            v = np.float64(y[row, k])
            if k != target and v > best:
                best = v
                j = k
            k += tpr
    j, best = block_reduce_argmax(vbuf, ibuf, cuda.threadIdx.y * tpr, tx, tpr, best, j)
    if active:
        margin = 1.0 - (np.float64(y[row, target]) - best)
        on = margin > 0.0
        k = tx
        while k < n_classes:
            g = 0.0
            if on and k == target:
                g = -1.0 / denom
            elif on and k == j:
                g = 1.0 / denom
            grad[row, k] = g
            k += tpr
        if tx == 0:
            vals[row] = margin if on else 0.0


@register(*float_signatures("void({f}[:, ::1], int64[::1], float64, float64[::1], {f}[:, ::1])"))
def _sce_labels_kernel(z, t, denom, vals, grad):
    # value −log σ(z)_t = (m − z_t) + log1p(S − 1); gradient σ(z) − e_t, its t entry −Σ_{k≠t} e^{z_k−m}/S.
    vbuf = cuda.shared.array(BLOCK, dtype=np.float64)
    ibuf = cuda.shared.array(BLOCK, dtype=np.int64)
    tx = cuda.threadIdx.x
    tpr = cuda.blockDim.x
    base = cuda.threadIdx.y * tpr
    row = cuda.blockIdx.x * cuda.blockDim.y + cuda.threadIdx.y
    active = row < z.shape[0]
    n_classes = z.shape[1]
    m = -math.inf
    best = n_classes
    target = 0
    if active:
        target = t[row]
        k = tx
        while k < n_classes:
            v = np.float64(z[row, k])
            if v > m:
                m = v
                best = k
            k += tpr
    best, m = block_reduce_argmax(vbuf, ibuf, base, tx, tpr, m, best)
    s_other = 0.0  # S − 1
    s_not_t = 0.0  # S − e^{z_t − m}, summed directly (no cancellation)
    if active:
        k = tx
        while k < n_classes:
            v = 1.0 if k == best else exp_diff(z[row, k], m)
            if k != best:
                s_other += v
            if k != target:
                s_not_t += v
            k += tpr
    s_other = block_reduce_sum(vbuf, base, tx, tpr, s_other)
    s_not_t = block_reduce_sum(vbuf, base, tx, tpr, s_not_t)
    if active:
        inv = 1.0 / ((1.0 + s_other) * denom)
        k = tx
        while k < n_classes:
            if k == target:
                grad[row, k] = -s_not_t * inv
            else:
                v = 1.0 if k == best else exp_diff(z[row, k], m)
                grad[row, k] = v * inv
            k += tpr
        if tx == 0:
            d, e = two_diff(m, z[row, target])
            vals[row] = d + (math.log1p(s_other) + e)


@register(*float_signatures("void({f}[:, ::1], {f}[:, ::1], float64, float64[::1], {f}[:, ::1])"))
def _sce_dist_kernel(z, c, denom, vals, grad):
    # value Σ_k c_k ((m − z_k) + log S) (every term ≥ 0); gradient (Σ_k c_k)·σ(z) − c.
    vbuf = cuda.shared.array(BLOCK, dtype=np.float64)
    ibuf = cuda.shared.array(BLOCK, dtype=np.int64)
    tx = cuda.threadIdx.x
    tpr = cuda.blockDim.x
    base = cuda.threadIdx.y * tpr
    row = cuda.blockIdx.x * cuda.blockDim.y + cuda.threadIdx.y
    active = row < z.shape[0]
    n_classes = z.shape[1]
    m = -math.inf
    best = n_classes
    if active:
        k = tx
        while k < n_classes:
            v = np.float64(z[row, k])
            if v > m:
                m = v
                best = k
            k += tpr
    best, m = block_reduce_argmax(vbuf, ibuf, base, tx, tpr, m, best)
    s_other = 0.0
    c_sum = 0.0
    if active:
        k = tx
        while k < n_classes:
            if k != best:
                s_other += exp_diff(z[row, k], m)
            c_sum += np.float64(c[row, k])
            k += tpr
    s_other = block_reduce_sum(vbuf, base, tx, tpr, s_other)
    c_sum = block_reduce_sum(vbuf, base, tx, tpr, c_sum)
    log_s = math.log1p(s_other)
    scale = c_sum / (1.0 + s_other)
    total = 0.0
    if active:
        k = tx
        while k < n_classes:
            ck = np.float64(c[row, k])
            if ck != 0.0:
                d, e = two_diff(m, z[row, k])
                total += ck * (d + (log_s + e))
            v = 1.0 if k == best else exp_diff(z[row, k], m)
            grad[row, k] = (v * scale - ck) / denom
            k += tpr
    total = block_reduce_sum(vbuf, base, tx, tpr, total)
    if active and tx == 0:
        vals[row] = total


@register(*float_signatures("void({f}[:, ::1], int64[::1], float64, float64[::1], {f}[:, ::1])"))
def _cce_labels_kernel(q, t, denom, vals, grad):
    tx = cuda.threadIdx.x
    tpr = cuda.blockDim.x
    row = cuda.blockIdx.x * cuda.blockDim.y + cuda.threadIdx.y
    if row < q.shape[0]:
        target = t[row]
        qt = np.float64(q[row, target])
        k = tx
        while k < q.shape[1]:
            g = 0.0
            if k == target:
                g = -math.inf if qt == 0.0 else -1.0 / (qt * denom)
            grad[row, k] = g
            k += tpr
        if tx == 0:
            vals[row] = math.inf if qt == 0.0 else -math.log(qt)


@register(*float_signatures("void({f}[:, ::1], {f}[:, ::1], int64, float64, float64[::1], {f}[:, ::1])"))
def _pq_kernel(p, q, mode, denom, vals, grad):
    # mode 0: H(p, q) = −Σ p_k log q_k; mode 1: D(p‖q) = Σ p_k log(p_k/q_k); gradient −p/q w.r.t. q.
    buf = cuda.shared.array(BLOCK, dtype=np.float64)
    tx = cuda.threadIdx.x
    tpr = cuda.blockDim.x
    row = cuda.blockIdx.x * cuda.blockDim.y + cuda.threadIdx.y
    active = row < p.shape[0]
    total = 0.0
    if active:
        k = tx
        while k < p.shape[1]:
            pk = np.float64(p[row, k])
            qk = np.float64(q[row, k])
            if pk == 0.0:
                grad[row, k] = 0.0  # 0·log 0 = 0 and the term does not depend on q_k
            elif qk == 0.0:
                grad[row, k] = -math.inf
                total += math.inf
            else:
                grad[row, k] = -pk / (qk * denom)
                if mode == 0:
                    total -= pk * math.log(qk)
                else:
                    total += pk * _log_ratio(pk, qk)
            k += tpr
    total = block_reduce_sum(buf, cuda.threadIdx.y * tpr, tx, tpr, total)
    if active and tx == 0:
        vals[row] = total


@register(*float_signatures("void({f}[:, ::1], float64, float64[::1], {f}[:, ::1])"))
def _entropy_kernel(p, denom, vals, grad):
    buf = cuda.shared.array(BLOCK, dtype=np.float64)
    tx = cuda.threadIdx.x
    tpr = cuda.blockDim.x
    row = cuda.blockIdx.x * cuda.blockDim.y + cuda.threadIdx.y
    active = row < p.shape[0]
    total = 0.0
    if active:
        k = tx
        while k < p.shape[1]:
            pk = np.float64(p[row, k])
            if pk == 0.0:
                grad[row, k] = math.inf  # −(log p + 1) → +∞ as p → 0⁺
            else:
                log_p = math.log(pk)
                grad[row, k] = -(log_p + 1.0) / denom
                total -= pk * log_p
            k += tpr
    total = block_reduce_sum(buf, cuda.threadIdx.y * tpr, tx, tpr, total)
    if active and tx == 0:
        vals[row] = total


@register(*float_signatures("void(float64[::1], {f}[::1])"))
def _round_kernel(src, dst):
    i = cuda.grid(1)
    if i < src.size:
        dst[i] = src[i]


# Device-side validation: found[0] = number of offending entries, found[1] = the first one's index.
_NEGATIVE, _OUTSIDE_UNIT, _NOT_SIGN, _NOT_ZERO_ONE = 1, 2, 3, 4


@register(*float_signatures("void({f}[::1], int64, int64[::1])"), "void(int64[::1], int64, int64[::1])")
def _scan_values_kernel(x, mode, found):
    i = cuda.grid(1)
    if i < x.size:
        v = x[i]
        if mode == 1:
            bad = v < 0
        elif mode == 2:
            bad = v < 0 or v > 1
        elif mode == 3:
            bad = v != 1 and v != -1
        else:
            bad = v != 0 and v != 1
        if bad:
            cuda.atomic.add(found, 0, 1)
            cuda.atomic.min(found, 1, i)


@register(*float_signatures("void({f}[:, ::1], float64, int64[::1])"))
def _scan_row_sums_kernel(p, tol, found):
    row = cuda.grid(1)
    if row < p.shape[0]:
        total = 0.0
        for k in range(p.shape[1]):
            total += np.float64(p[row, k])
        if abs(total - 1.0) > tol:
            cuda.atomic.add(found, 0, 1)
            cuda.atomic.min(found, 1, row)


@register(*float_signatures("void({f}[::1], int64, float64[::1])"), "void(int64[::1], int64, float64[::1])")
def _signs_kernel(y, zero_one, out):
    i = cuda.grid(1)
    if i < y.size:
        v = np.float64(y[i])
        out[i] = 2.0 * v - 1.0 if zero_one == 1 else v


# ================================================================================ validation


def _scan(kernel, flat, *extra) -> tuple[int, int]:
    found = cuda.to_device(np.array([0, flat.shape[0]], dtype=np.int64))
    blocks, threads = elementwise_grid(flat.shape[0])
    kernel[blocks, threads](flat, *extra, found)
    count, first = found.copy_to_host()
    return int(count), int(first)


def _entry(arr, index: int):
    flat = arr.reshape(arr.size)
    return flat[index : index + 1].copy_to_host()[0].item()


def _require_values(arr, name: str, mode: int, message: str) -> None:
    """Device arrays: every entry passes ``mode`` (see the kernel), else ValueError naming the first."""
    count, first = _scan(_scan_values_kernel, arr.reshape(arr.size), mode)
    if count:
        index = ", ".join(str(int(i)) for i in np.unravel_index(first, tuple(arr.shape)))
        raise ValueError(f"{name} {message}; {name}[{index}] = {_entry(arr, first)!r}")


def _require_simplex(arr, name: str) -> None:
    if not is_device_array(arr):
        require_simplex_rows(arr, name)
        return
    _require_values(arr, name, _NEGATIVE, "must be non-negative")
    tol = simplex_tolerance(arr.shape[1], arr.dtype)
    count, first = _scan(_scan_row_sums_kernel, arr, tol)
    if count:
        row = arr[first : first + 1].copy_to_host()
        raise ValueError(
            f"{name} rows must sum to 1 (within {tol:.3g}); row [{first}] sums to {float(row.sum())!r}. "
            "verify never renormalises: pass a distribution."
        )


def _prediction(args: DeviceArgs, value, ndim: int):
    arr = args.float(value, "prediction", ndim=ndim)
    if arr.shape[0] == 0:
        raise ValueError(f"prediction must have at least one row; got shape {tuple(arr.shape)}")
    if ndim == 2 and arr.shape[1] == 0:
        raise ValueError(f"prediction must have at least one column (class); got shape {tuple(arr.shape)}")
    return arr


def _same_shape(arr, name: str, like) -> None:
    if tuple(arr.shape) != tuple(like.shape):
        raise ValueError(f"{name} must have shape {tuple(like.shape)}; got {tuple(arr.shape)}")


def _float_target(args: DeviceArgs, value, name: str, like):
    arr = args.float(value, name, dtype=like.dtype)
    _same_shape(arr, name, like)
    return arr


def _probabilities(args: DeviceArgs, value, name: str, like=None):
    host = None if is_device_array(value) else value
    arr = args.float(value, name, ndim=2, dtype=None if like is None else like.dtype)
    if like is not None:
        _same_shape(arr, name, like)
    elif arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must have at least one row and one column; got shape {tuple(arr.shape)}")
    _require_simplex(arr if host is None else np.asarray(host), name)
    return arr


def _class_target(args: DeviceArgs, target, prediction):
    """``("labels", int64 (N,))`` or ``("distribution", (N, K))`` on the device."""
    n, k = prediction.shape
    if is_device_array(target):
        kind = np.dtype(target.dtype).kind
        if kind in "iu":
            return "labels", args.labels(target, "target", n, k)
        if kind == "f" and target.ndim == 2:
            return "distribution", _probabilities(args, target, "target", prediction)
        raise TypeError(f"target must be int64 class indices (N,) or float distributions (N, K); got "
                        f"device array(shape={tuple(target.shape)}, dtype={target.dtype})")
    arr = target if isinstance(target, np.ndarray) else np.asarray(target)
    if arr.dtype.kind in "iu":
        return "labels", args.labels(arr, "target", n, k)
    if arr.dtype.kind == "f" and arr.ndim == 2:
        return "distribution", _probabilities(args, arr, "target", prediction)
    raise TypeError(
        "target must be integer class indices of shape (N,) or float distributions of shape (N, K) "
        f"with the dtype of prediction ({prediction.dtype}); got {describe(arr)}"
    )


def _signs(args: DeviceArgs, y, n: int, convention: str):
    """Labels as float64 signs ±1 on the device, after checking them against ``convention``."""
    if is_device_array(y):
        args.on_device = True
        if np.dtype(y.dtype).kind not in "if" or (np.dtype(y.dtype).kind == "i" and y.dtype != np.int64):
            raise TypeError(f"target must be float or int64 labels on the device; got dtype {y.dtype}")
        if tuple(y.shape) != (n,):
            raise ValueError(f"target must have shape ({n},); got {tuple(y.shape)}")
        if not y.is_c_contiguous():
            raise ValueError("target must be C-contiguous for the cuda backend")
        arr = y
    else:
        arr = y if isinstance(y, np.ndarray) else np.asarray(y)
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"target must be an integer or float array of labels; got dtype {arr.dtype} {describe(arr)}")
        if arr.shape != (n,):
            raise ValueError(f"target must have shape ({n},); got {arr.shape}")
        arr = cuda.to_device(np.ascontiguousarray(arr, dtype=arr.dtype if arr.dtype.kind == "f" else np.int64))
    zero_one = convention == "zero_one"
    if zero_one:
        hint = "(labels='zero_one'); for ±1 labels pass labels='plus_minus_one'"
        _require_values(arr, "target", _NOT_ZERO_ONE, f"must contain only 0 and 1 {hint}")
    else:
        _require_values(arr, "target", _NOT_SIGN, "must contain only -1 and +1")
    out = cuda.device_array(n, dtype=np.float64)
    blocks, threads = elementwise_grid(n)
    _signs_kernel[blocks, threads](arr, 1 if zero_one else 0, out)
    return out


# ================================================================================ driver


def _run(args: DeviceArgs, prediction, reduction, launch):
    """Allocate, launch ``launch(denom, vals, grad)``, reduce; the ``(value, grad)`` of the contract."""
    require_choice(reduction, "reduction", REDUCTIONS)
    n = prediction.shape[0]
    denom = float(n) if reduction == "mean" else 1.0
    vals = cuda.device_array(n, dtype=np.float64)
    grad = cuda.device_array(prediction.shape, dtype=prediction.dtype)
    launch(denom, vals, grad)
    if reduction == "none":
        if prediction.dtype != np.float64:
            rounded = cuda.device_array(n, dtype=prediction.dtype)
            blocks, threads = elementwise_grid(n)
            _round_kernel[blocks, threads](vals, rounded)
            vals = rounded
        return args.out(vals), args.out(grad)
    total = device_sum(vals)
    return (total / n if reduction == "mean" else total), args.out(grad)


def _rows(kernel, a, *rest):
    blocks, threads, _ = row_layout(a.shape[0], a.shape[1])
    return lambda denom, vals, grad: kernel[blocks, threads](a, *rest, denom, vals, grad)


def _elementwise(kernel, x, s, mode):
    blocks, threads = elementwise_grid(x.shape[0])
    return lambda denom, vals, grad: kernel[blocks, threads](x, s, mode, denom, vals, grad)


# ================================================================================ public losses


def least_squares(prediction, target, *, reduction="mean"):
    """Least squares ``ℓ_i = ½‖F_i − c_i‖²₂``; gradient ``F_i − c_i``. F, c: (N, K), same dtype."""
    args = DeviceArgs()
    f = _prediction(args, prediction, 2)
    c = _float_target(args, target, "target", f)
    return _run(args, f, reduction, _rows(_least_squares_kernel, f, c))


def hinge(prediction, target, *, reduction="mean"):
    """Binary hinge ``max(0, 1 − y·ỹ)``, y ∈ {−1, +1}; gradient ``−y`` where the margin is positive, else 0."""
    args = DeviceArgs()
    x = _prediction(args, prediction, 1)
    s = _signs(args, target, x.shape[0], "plus_minus_one")
    return _run(args, x, reduction, _elementwise(_binary_kernel, x, s, _HINGE))


def multiclass_hinge(prediction, target, *, reduction="mean"):
    """Multi-class hinge ``max(0, 1 − (ŷ_t − ŷ_j))``, j the highest-scoring wrong class (ties: lowest index)."""
    args = DeviceArgs()
    y = _prediction(args, prediction, 2)
    if y.shape[1] < 2:
        raise ValueError(f"prediction must have at least 2 classes for the multi-class hinge; got shape {tuple(y.shape)}")
    t = args.labels(target, "target", y.shape[0], y.shape[1])
    return _run(args, y, reduction, _rows(_multiclass_hinge_kernel, y, t))


def logistic_from_probability(prediction, target, *, labels="zero_one", reduction="mean"):
    """Binary cross-entropy of a probability ŷ: ``−y log ŷ − (1 − y) log(1 − ŷ)`` (``log1p(−ŷ)``)."""
    require_choice(labels, "labels", LOGISTIC_LABELS)
    args = DeviceArgs()
    x = _prediction(args, prediction, 1)
    _require_values(x, "prediction", _OUTSIDE_UNIT, "must be probabilities in [0, 1]")
    s = _signs(args, target, x.shape[0], labels)
    return _run(args, x, reduction, _elementwise(_binary_kernel, x, s, _LOGISTIC_PROB))


def logistic_from_logit(prediction, target, *, labels="zero_one", reduction="mean"):
    """Logistic loss of a logit ỹ: ``softplus(−s ỹ)``, s = 2y − 1; gradient ``−s·σ(−s ỹ)``."""
    require_choice(labels, "labels", LOGISTIC_LABELS)
    args = DeviceArgs()
    x = _prediction(args, prediction, 1)
    s = _signs(args, target, x.shape[0], labels)
    return _run(args, x, reduction, _elementwise(_binary_kernel, x, s, _LOGISTIC_LOGIT))


def categorical_cross_entropy(prediction, target, *, reduction="mean"):
    """``−Σ_k y_k log ŷ_k`` (distributions) or ``−log ŷ_t`` (class indices) of probabilities ŷ (N, K)."""
    args = DeviceArgs()
    q = _probabilities(args, prediction, "prediction")
    kind, tgt = _class_target(args, target, q)
    if kind == "labels":
        return _run(args, q, reduction, _rows(_cce_labels_kernel, q, tgt))
    return _run(args, q, reduction, _rows(_pq_kernel, tgt, q, _CROSS_ENTROPY))


def softmax_cross_entropy(prediction, target, *, reduction="mean"):
    """``−Σ_k c_k log σ(z)_k`` (or ``−log σ(z)_t``) of logits z; gradient ``(Σc)·σ(z) − c`` (``σ(z) − e_t``)."""
    args = DeviceArgs()
    z = _prediction(args, prediction, 2)
    kind, tgt = _class_target(args, target, z)
    kernel = _sce_labels_kernel if kind == "labels" else _sce_dist_kernel
    return _run(args, z, reduction, _rows(kernel, z, tgt))


def entropy(p, *, reduction="mean"):
    """``H(p_i) = Σ_k p_k log(1/p_k)`` (0·log 0 = 0); gradient ``−(log p_k + 1)`` (+∞ at p_k = 0)."""
    args = DeviceArgs()
    arr = _probabilities(args, p, "p")
    return _run(args, arr, reduction, _rows(_entropy_kernel, arr))


def cross_entropy(p, q, *, reduction="mean"):
    """``H(p_i, q_i) = Σ_k p_k log(1/q_k)``; gradient w.r.t. q ``−p_k/q_k`` (+∞ value where q_k = 0 < p_k)."""
    args = DeviceArgs()
    pa = _probabilities(args, p, "p")
    qa = _probabilities(args, q, "q", pa)
    return _run(args, qa, reduction, _rows(_pq_kernel, pa, qa, _CROSS_ENTROPY))


def kl_divergence(p, q, *, reduction="mean"):
    """``D(p_i‖q_i) = Σ_k p_k log(p_k/q_k)``; gradient w.r.t. q ``−p_k/q_k``; +∞ where q_k = 0 < p_k."""
    args = DeviceArgs()
    pa = _probabilities(args, p, "p")
    qa = _probabilities(args, q, "q", pa)
    return _run(args, qa, reduction, _rows(_pq_kernel, pa, qa, _KL))


LOSSES = {
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
