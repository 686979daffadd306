"""Activations and row-wise softmax as ``numba.cuda`` kernels (the ``"cuda"`` backend).

Mirrors :mod:`verify.kernels.activations` (same functions, same signatures minus ``backend``):

- σ(x) for ``identity`` (x), ``sigmoid`` (1/(1+e^{−x})), ``tanh``, ``relu`` (max(0, x)) and σ'(x), with
  ReLU'(0) = 0 (seed ``002_1388b78ad9a2d202.txt``, "Activation functions"; the subgradient choice of
  PyTorch and JAX);
- ``softmax(z)_k = exp(z_k − m) / S``, ``log_softmax(z)_k = (z_k − m) − log S`` and
  ``logsumexp(z) = m + log1p(S − 1)`` with ``m = max_k z_k``, ``S = Σ_k exp(z_k − m)``, row-wise over the
  last axis of an (N, K) array (seed ``000_42086e2af0f76780.txt``, "Log-linear multi-class
  classification"; ``002_1388b78ad9a2d202.txt``, "Loss Functions").

Same stable forms as the CPU kernels: σ(x) = e^{x}/(1+e^{x}) for x < 0; σ'(x) = e^{−|x|}/(1+e^{−|x|})²
and tanh'(x) = 4e^{−2|x|}/(1+e^{−2|x|})² (no cancellation where 1 − σ or 1 − tanh² would cancel);
``S − 1`` summed without the dominant term so that ``log1p`` keeps full relative accuracy; ``z_k − m``
carried exactly as a TwoSum pair ``d + e`` and ``exp(z_k − m) = exp(d)(1 + e)``. Everything is computed
in float64 for both dtypes and rounded once on store. Row reductions: ``threads_per_row`` threads share
a row and reduce through shared memory in a fixed order (no warp shuffles, no atomics), so results are
deterministic.

Device building blocks for other CUDA kernels: :func:`apply_code`, :func:`derivative_code`,
:func:`two_diff`, :func:`exp_diff`, :func:`block_reduce_sum`, :func:`block_reduce_max`,
:func:`block_reduce_argmax`, :func:`row_max_sumexp`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from verify.kernels import elementary as _cpu_elementary
from verify.kernels.cuda._device import BLOCK, DeviceArgs, elementwise_grid, float_signatures, register, row_layout

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
    "block_reduce_sum",
    "block_reduce_max",
    "block_reduce_argmax",
    "two_diff",
    "exp_diff",
    "row_max_sumexp",
]

ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu")
ACTIVATION_CODES = {"identity": 0, "sigmoid": 1, "tanh": 2, "relu": 3}


# --------------------------------------------------------------------------------------------------
# Device functions


@cuda.jit(device=True)
def apply_code(code, x):
    """σ(x) for the activation with integer ``code`` (see :data:`ACTIVATION_CODES`), as float64."""
    x = np.float64(x)
    if code == 1:
        if x >= 0:
            return 1.0 / (1.0 + math.exp(-x))
        e = math.exp(x)
        return e / (1.0 + e)
    if code == 2:
        return math.tanh(x)
    if code == 3:
        return x if x > 0 else 0.0
    return x


@cuda.jit(device=True)
def derivative_code(code, x):
    """σ'(x) for the activation with integer ``code``, as float64; ReLU'(0) = 0."""
    x = np.float64(x)
    if code == 1:
        e = math.exp(-abs(x))
        return e / ((1.0 + e) * (1.0 + e))
    if code == 2:
        e = math.exp(-2.0 * abs(x))
        return 4.0 * e / ((1.0 + e) * (1.0 + e))
    if code == 3:
        return 1.0 if x > 0 else 0.0
    return 1.0


@cuda.jit(device=True)
def block_reduce_sum(buf, base, tx, tpr, value):
    """Σ of ``value`` over the ``tpr`` threads ``base..base+tpr`` of a row; every thread of the block must call."""
    buf[base + tx] = value
    cuda.syncthreads()
    s = tpr // 2
    while s > 0:
        if tx < s:
            buf[base + tx] += buf[base + tx + s]
        cuda.syncthreads()
        s //= 2
    total = buf[base]
    cuda.syncthreads()  # the buffer is reused by the next reduction
    return total


@cuda.jit(device=True)
def block_reduce_max(buf, base, tx, tpr, value):
    """max of ``value`` over the ``tpr`` threads of a row; every thread of the block must call."""
    buf[base + tx] = value
    cuda.syncthreads()
    s = tpr // 2
    while s > 0:
        if tx < s:
            buf[base + tx] = max(buf[base + tx], buf[base + tx + s])
        cuda.syncthreads()
        s //= 2
    top = buf[base]
    cuda.syncthreads()
    return top


@cuda.jit(device=True)
def block_reduce_argmax(vbuf, ibuf, base, tx, tpr, value, index):
    """``(index, value)`` of the first maximum over the ``tpr`` threads of a row (ties → smallest index)."""
    vbuf[base + tx] = value
    ibuf[base + tx] = index
    cuda.syncthreads()
    s = tpr // 2
    while s > 0:
        if tx < s:
            v = vbuf[base + tx + s]
            w = ibuf[base + tx + s]
            if v > vbuf[base + tx] or (v == vbuf[base + tx] and w < ibuf[base + tx]):
                vbuf[base + tx] = v
                ibuf[base + tx] = w
        cuda.syncthreads()
        s //= 2
    best = ibuf[base]
    top = vbuf[base]
    cuda.syncthreads()
    return best, top


# Knuth's TwoSum, ``a − b = d + e`` exactly in float64: the CPU kernels' Python source compiled for the device.
two_diff = cuda.jit(device=True)(_cpu_elementary.two_diff.py_func)


@cuda.jit(device=True)
def exp_diff(a, b):
    """``exp(a − b)`` to a few ULPs for ``a ≤ b`` however large ``|a − b|``: ``exp(d)·(1 + e)``."""
    d, e = two_diff(a, b)
    t = math.exp(d)
    return t + t * e


@cuda.jit(device=True)
def row_max_sumexp(z, row, active, vbuf, ibuf, base, tx, tpr):
    """``(best, m, s)`` for row ``row`` of ``z``: the first argmax, the max and s = Σ_{k≠best} e^{z_k − m}.

    ``s = S − 1`` is summed without the dominant term so that ``log1p(s)`` keeps full relative
    accuracy (as in :mod:`verify.kernels.activations`). All threads of the block must call.
    """
    k = z.shape[1]
    m = -math.inf
    best = k
    if active:
        j = tx
        while j < k:
            v = np.float64(z[row, j])
            if v > m:
                m = v
                best = j
            j += tpr
    best, m = block_reduce_argmax(vbuf, ibuf, base, tx, tpr, m, best)
    s = 0.0
    if active:
        j = tx
        while j < k:
            if j != best:
                s += exp_diff(z[row, j], m)
            j += tpr
    s = block_reduce_sum(vbuf, base, tx, tpr, s)
    return best, m, s


# --------------------------------------------------------------------------------------------------
# Kernels


@register(*float_signatures("void(int64, {f}[::1], {f}[::1])"))
def _activation_kernel(code, x, out):
    i = cuda.grid(1)
    if i < x.size:
        out[i] = apply_code(code, x[i])


@register(*float_signatures("void(int64, {f}[::1], {f}[::1])"))
def _derivative_kernel(code, x, out):
    i = cuda.grid(1)
    if i < x.size:
        out[i] = derivative_code(code, x[i])


@register(*float_signatures("void({f}[:, ::1], int64, {f}[:, ::1], {f}[::1])"))
def _softmax_kernel(z, mode, out, lse):
    # mode 0: softmax into out; 1: log-softmax into out; 2: logsumexp into lse.
    vbuf = cuda.shared.array(BLOCK, dtype=np.float64)
    ibuf = cuda.shared.array(BLOCK, dtype=np.int64)
    tx = cuda.threadIdx.x
    tpr = cuda.blockDim.x
    row = cuda.blockIdx.x * cuda.blockDim.y + cuda.threadIdx.y
    active = row < z.shape[0]
    best, m, s = row_max_sumexp(z, row, active, vbuf, ibuf, cuda.threadIdx.y * tpr, tx, tpr)
    if not active:
        return
    log_s = math.log1p(s)
    if mode == 2:
        if tx == 0:
            lse[row] = m + log_s
        return
    j = tx
    while j < z.shape[1]:
        if mode == 0:
            t = 1.0 if j == best else exp_diff(z[row, j], m)
            out[row, j] = t / (1.0 + s)
        else:
            d, e = two_diff(z[row, j], m)
            out[row, j] = (d - log_s) + e
        j += tpr


# --------------------------------------------------------------------------------------------------
# Host entry points


def activation_code(name: object) -> int:
    """The integer code of activation ``name``, or a ``ValueError`` listing the known names."""
    if not isinstance(name, str) or name not in ACTIVATION_CODES:
        raise ValueError(f"name must be one of {ACTIVATIONS}; got {name!r}")
    return ACTIVATION_CODES[name]


def _elementwise(kernel, name, x):
    code = activation_code(name)
    args = DeviceArgs()
    dx = args.float(x, "x")
    out = cuda.device_array(dx.shape, dtype=dx.dtype)
    if dx.size:
        blocks, threads = elementwise_grid(dx.size)
        kernel[blocks, threads](code, dx.reshape(dx.size), out.reshape(dx.size))
    return args.out(out)


def activation(name, x):
    """σ(x) element-wise; same shape and dtype as ``x`` (any shape, C-contiguous)."""
    return _elementwise(_activation_kernel, name, x)


def activation_derivative(name, x):
    """σ'(x) element-wise (ReLU'(0) = 0); same shape and dtype as ``x``."""
    return _elementwise(_derivative_kernel, name, x)


def _rows(z):
    args = DeviceArgs()
    dz = args.float(z, "z", ndim=2)
    if dz.shape[1] == 0:
        raise ValueError(f"z must have at least one column; got shape {tuple(dz.shape)}")
    return args, dz


def _softmax_family(z, mode):
    args, dz = _rows(z)
    n = dz.shape[0]
    out = cuda.device_array(dz.shape if mode != 2 else (n, 0), dtype=dz.dtype)
    lse = cuda.device_array(n if mode == 2 else 0, dtype=dz.dtype)
    if n:
        blocks, threads, _ = row_layout(n, dz.shape[1])
        _softmax_kernel[blocks, threads](dz, mode, out, lse)
    return args.out(lse if mode == 2 else out)


def softmax(z):
    """Row-wise softmax of an (N, K) array: exp(z_k − m) / S; same shape and dtype."""
    return _softmax_family(z, 0)


def log_softmax(z):
    """Row-wise log-softmax of an (N, K) array: (z_k − m) − log S; same shape and dtype."""
    return _softmax_family(z, 1)


def logsumexp(z):
    """Row-wise m + log1p(S − 1) of an (N, K) array; shape (N,), dtype of ``z``."""
    return _softmax_family(z, 2)
