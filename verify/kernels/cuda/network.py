"""Network forward and backward passes as ``numba.cuda`` kernels (the ``"cuda"`` backend).

Mirrors :mod:`verify.kernels.network` (same :class:`~verify.kernels.network.Network`,
:class:`~verify.kernels.network.Tape`, parameters ``[(K_j or θ_j, b_j), …]`` and results), batched over
the rows of ``y`` (``002_1388b78ad9a2d202.txt``, "Architectures 101", "Backward Propagation: Chain Rule"):

    Z_j = U_{j−1} K_jᵀ + b_j,  U_j = [U_{j−1} +] σ(Z_j);   Δ_j = δ_j ⊙ σ'(Z_j),
    ∇_{K_j} L = Δ_jᵀ U_{j−1},  ∇_{b_j} L = Σ_rows Δ_j,  δ_{j−1} = Δ_j K_j [+ δ_j],
    ∇_{θ_j} L = (Σ_{i,r} Δ_j[i, r] U_{j−1}[i, r + l])_l  for a convolution K(θ_j).

Matrix products use one tiled kernel, ``C = op(A)·op(B)`` with op = identity or transpose: a
:data:`TILE` × :data:`TILE` block of C per thread block, tiles of op(A) and op(B) staged through shared
memory (loads coalesced for both layouts), accumulated in float64 and rounded once. Bias, activation,
slope and residual add are fused into one element-wise pass; the convolution is computed directly from θ
(never forming K(θ)). Everything stays on the device between layers; host inputs are copied in once and
results copied back once.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from verify._validate import require_choice
from verify.kernels.cuda import losses as _losses
from verify.kernels.cuda._device import (
    BLOCK,
    DeviceArgs,
    elementwise_grid,
    float_signatures,
    register,
    simulator_enabled,
)
from verify.kernels.cuda.activations import apply_code, block_reduce_sum, derivative_code
from verify.kernels.network import ACTIVATION_CODES, REDUCTIONS, Network, Tape

__all__ = [
    "TILE",
    "matmul",
    "network_forward",
    "network_backward",
    "network_loss",
    "network_value_and_grad",
]

TILE = 4 if simulator_enabled() else 16
"""Side of the square tiles of the matrix-product kernel: 16 on a GPU (256 threads a block); 4 on Numba's
simulator, where every thread is a Python thread and a 256-thread barrier costs ~10 ms, so small test
matrices would pay mostly for padding."""


# --------------------------------------------------------------------------------------------------
# Kernels


@register(*float_signatures("void({f}[:, ::1], {f}[:, ::1], {f}[:, ::1], int64, int64, int64)"))
def _gemm_kernel(a, b, c, ta, tb, accumulate):
    """c = op(a)·op(b) (+ c when accumulate == 1); op(x) = xᵀ where its flag is 1."""
    sa = cuda.shared.array((TILE, TILE), dtype=np.float64)
    sb = cuda.shared.array((TILE, TILE), dtype=np.float64)
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    row0 = cuda.blockIdx.y * TILE
    col0 = cuda.blockIdx.x * TILE
    m = c.shape[0]
    n = c.shape[1]
    inner = a.shape[0] if ta == 1 else a.shape[1]
    acc = 0.0
    for t0 in range(0, inner, TILE):
        # Stage op(a)[row0:row0+TILE, t0:t0+TILE] as sa[r, k] and op(b)[t0:, col0:] as sb[k, c]; the
        # thread index that varies fastest (tx) always walks a contiguous row of the stored array.
        if ta == 1:
            r, k = row0 + tx, t0 + ty
            sa[tx, ty] = a[k, r] if (r < m and k < inner) else 0.0
        else:
            r, k = row0 + ty, t0 + tx
            sa[ty, tx] = a[r, k] if (r < m and k < inner) else 0.0
        if tb == 1:
            q, k = col0 + ty, t0 + tx
            sb[tx, ty] = b[q, k] if (q < n and k < inner) else 0.0
        else:
            q, k = col0 + tx, t0 + ty
            sb[ty, tx] = b[k, q] if (q < n and k < inner) else 0.0
        cuda.syncthreads()
        for kk in range(TILE):
            acc += sa[ty, kk] * sb[kk, tx]
        cuda.syncthreads()
    row = row0 + ty
    col = col0 + tx
    if row < m and col < n:
        if accumulate == 1:
            acc += c[row, col]
        c[row, col] = acc


@register(*float_signatures("void({f}[:, ::1], {f}[:, ::1], {f}[::1])"))
def _conv_forward_kernel(u, z, theta):
    """z[i, r] = Σ_l θ_l u[i, r + l] (valid cross-correlation, K(θ)_{r, r+l} = θ_l)."""
    idx = cuda.grid(1)
    if idx < z.size:
        i = idx // z.shape[1]
        r = idx - i * z.shape[1]
        acc = 0.0
        for l in range(theta.shape[0]):
            acc += np.float64(theta[l]) * u[i, r + l]
        z[i, r] = acc


@register(*float_signatures("void({f}[:, ::1], {f}[::1], {f}[:, ::1], int64, int64, {f}[:, ::1], {f}[:, ::1])"))
def _activate_kernel(z, bias, u_in, code, residual, out, slope):
    """out = [u_in +] σ(z + b), slope = σ'(z + b), element-wise over (N, n_out)."""
    idx = cuda.grid(1)
    if idx < z.size:
        i = idx // z.shape[1]
        j = idx - i * z.shape[1]
        pre = np.float64(z[i, j]) + bias[j]
        value = apply_code(code, pre)
        if residual == 1:
            value += u_in[i, j]
        out[i, j] = value
        slope[i, j] = derivative_code(code, pre)


@register(*float_signatures("void({f}[:, ::1], {f}[:, ::1], {f}[:, ::1])"))
def _scale_kernel(delta, slope, out):
    idx = cuda.grid(1)
    if idx < delta.size:
        i = idx // delta.shape[1]
        j = idx - i * delta.shape[1]
        out[i, j] = delta[i, j] * slope[i, j]


@register(*float_signatures("void({f}[:, ::1], {f}[::1])"))
def _column_sums_kernel(d, out):
    """out[j] = Σ_i d[i, j]: one block per column, a shared-memory reduction over the rows."""
    buf = cuda.shared.array(BLOCK, dtype=np.float64)
    j = cuda.blockIdx.x
    tx = cuda.threadIdx.x
    acc = 0.0
    i = tx
    while i < d.shape[0]:
        acc += d[i, j]
        i += cuda.blockDim.x
    total = block_reduce_sum(buf, 0, tx, cuda.blockDim.x, acc)
    if tx == 0:
        out[j] = total


@register(*float_signatures("void({f}[:, ::1], {f}[:, ::1], {f}[::1])"))
def _conv_theta_grad_kernel(d, u, out):
    """out[l] = Σ_{i, r} d[i, r] u[i, r + l]: one block per tap l, a shared-memory reduction."""
    buf = cuda.shared.array(BLOCK, dtype=np.float64)
    l = cuda.blockIdx.x
    tx = cuda.threadIdx.x
    n_out = d.shape[1]
    acc = 0.0
    idx = tx
    while idx < d.size:
        i = idx // n_out
        r = idx - i * n_out
        acc += np.float64(d[i, r]) * u[i, r + l]
        idx += cuda.blockDim.x
    total = block_reduce_sum(buf, 0, tx, cuda.blockDim.x, acc)
    if tx == 0:
        out[l] = total


@register(*float_signatures("void({f}[:, ::1], {f}[::1], {f}[:, ::1])"))
def _conv_input_grad_kernel(d, theta, out):
    """out[i, c] = Σ_l d[i, c − l] θ_l over the taps with 0 ≤ c − l < n_out (the adjoint of the forward)."""
    idx = cuda.grid(1)
    if idx < out.size:
        i = idx // out.shape[1]
        c = idx - i * out.shape[1]
        acc = 0.0
        for l in range(theta.shape[0]):
            r = c - l
            if 0 <= r < d.shape[1]:
                acc += np.float64(d[i, r]) * theta[l]
        out[i, c] = acc


@register(*float_signatures("void({f}[:, ::1], {f}[:, ::1])"))
def _add_kernel(src, dst):
    idx = cuda.grid(1)
    if idx < dst.size:
        i = idx // dst.shape[1]
        j = idx - i * dst.shape[1]
        dst[i, j] += src[i, j]


# --------------------------------------------------------------------------------------------------
# Host side


def _flat_launch(kernel, size: int, *args) -> None:
    if size:
        blocks, threads = elementwise_grid(size)
        kernel[blocks, threads](*args)


def _reduction_threads(n: int) -> int:
    """Threads of a one-block-per-output reduction over ``n`` terms: a power of two, at most BLOCK."""
    return min(BLOCK, 1 << max(0, n - 1).bit_length())


def _gemm(a, b, ta: int, tb: int, out=None, accumulate: int = 0):
    m = a.shape[1] if ta else a.shape[0]
    n = b.shape[0] if tb else b.shape[1]
    if out is None:
        out = cuda.device_array((m, n), dtype=a.dtype)
    grid = ((n + TILE - 1) // TILE, (m + TILE - 1) // TILE)
    if m and n:
        _gemm_kernel[grid, (TILE, TILE)](a, b, out, ta, tb, accumulate)
    return out


def matmul(a, b, *, transpose_a: bool = False, transpose_b: bool = False):
    """``op(a) @ op(b)`` by the tiled shared-memory kernel; 2-D float arrays of one dtype (host or device)."""
    args = DeviceArgs()
    da = args.float(a, "a", ndim=2)
    db = args.float(b, "b", ndim=2, dtype=da.dtype)
    inner_a = da.shape[0] if transpose_a else da.shape[1]
    inner_b = db.shape[1] if transpose_b else db.shape[0]
    if inner_a != inner_b:
        raise ValueError(f"inner dimensions differ: op(a) has {inner_a} columns, op(b) has {inner_b} rows")
    return args.out(_gemm(da, db, int(transpose_a), int(transpose_b)))


def _params(args: DeviceArgs, network: Network, params):
    if not isinstance(network, Network):
        raise TypeError(f"network must be a Network; got {network!r}")
    if not isinstance(params, (list, tuple)):
        raise TypeError(f"params must be a list of (weight, bias) pairs; got {type(params).__name__}")
    if len(params) != network.depth:
        raise ValueError(f"params must hold {network.depth} (weight, bias) pairs, one per layer; got {len(params)}")
    out, dtype = [], None
    for j, (layer, pair) in enumerate(zip(network.layers, params, strict=True)):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise TypeError(f"params[{j}] must be a (weight, bias) pair; got {pair!r}")
        checked = []
        for slot, shape in enumerate((layer.weight_shape, layer.bias_shape)):
            what = ("θ" if layer.kind == "conv1d" else "K") if slot == 0 else "b"
            arr = args.float(pair[slot], f"params[{j}][{slot}]", dtype=dtype, shape=shape,
                             what=f"{what} of layer {j}: {layer.describe()}")
            dtype = arr.dtype
            checked.append(arr)
        out.append((checked[0], checked[1]))
    return out


def _input(args: DeviceArgs, network: Network, y, dtype):
    dy = args.float(y, "y", ndim=2)
    if dy.dtype != dtype:
        raise TypeError(f"y must have the dtype of the parameters ({np.dtype(dtype)}); got {dy.dtype}")
    if dy.shape[1] != network.input_width or dy.shape[0] == 0:
        raise ValueError(f"y must have shape (N, {network.input_width}) with N ≥ 1 (one example per row, the "
                         f"network's input width); got {tuple(dy.shape)}")
    return dy


def _forward(network: Network, params, y) -> Tape:
    inputs, slopes = [], []
    u = y
    n = y.shape[0]
    for layer, (weight, bias) in zip(network.layers, params, strict=True):
        if layer.kind == "conv1d":
            z = cuda.device_array((n, layer.n_out), dtype=y.dtype)
            _flat_launch(_conv_forward_kernel, z.size, u, z, weight)
        else:
            z = _gemm(u, weight, 0, 1)
        out = cuda.device_array((n, layer.n_out), dtype=y.dtype)
        slope = cuda.device_array((n, layer.n_out), dtype=y.dtype)
        residual = 1 if layer.kind == "residual" else 0
        _flat_launch(_activate_kernel, z.size, z, bias, u, ACTIVATION_CODES[layer.activation], residual, out, slope)
        inputs.append(u)
        slopes.append(slope)
        u = out
    return Tape(tuple(inputs), tuple(slopes), u)


def _backward(network: Network, params, tape: Tape, delta, input_grad: bool):
    grads: list = [None] * network.depth
    for j in range(network.depth - 1, -1, -1):
        layer = network.layers[j]
        weight, _ = params[j]
        u = tape.inputs[j]
        scaled = cuda.device_array(delta.shape, dtype=delta.dtype)
        _flat_launch(_scale_kernel, delta.size, delta, tape.slopes[j], scaled)
        grad_b = cuda.device_array(layer.n_out, dtype=delta.dtype)
        _column_sums_kernel[layer.n_out, _reduction_threads(delta.shape[0])](scaled, grad_b)
        need_previous = j > 0 or input_grad
        previous = None
        if layer.kind == "conv1d":
            grad_w = cuda.device_array(weight.shape[0], dtype=delta.dtype)
            _conv_theta_grad_kernel[weight.shape[0], _reduction_threads(scaled.size)](scaled, u, grad_w)
            if need_previous:
                previous = cuda.device_array(u.shape, dtype=delta.dtype)
                _flat_launch(_conv_input_grad_kernel, previous.size, scaled, weight, previous)
        else:
            grad_w = _gemm(scaled, u, 1, 0)
            if need_previous:
                if layer.kind == "residual":
                    previous = cuda.device_array(u.shape, dtype=delta.dtype)
                    previous.copy_to_device(delta)
                    _gemm(scaled, weight, 0, 0, out=previous, accumulate=1)
                else:
                    previous = _gemm(scaled, weight, 0, 0)
        grads[j] = (grad_w, grad_b)
        delta = previous
    return grads, delta


def _tape_on_device(args: DeviceArgs, network: Network, tape: Tape) -> Tape:
    if not isinstance(tape, Tape) or len(tape.inputs) != network.depth:
        raise TypeError(f"tape must be the Tape returned by network_forward for this network; got {tape!r}")
    move = lambda x, name: args.float(x, name, ndim=2, finite=False)  # noqa: E731
    return Tape(tuple(move(x, f"tape.inputs[{j}]") for j, x in enumerate(tape.inputs)),
                tuple(move(x, f"tape.slopes[{j}]") for j, x in enumerate(tape.slopes)),
                move(tape.output, "tape.output"))


def _host_tape(args: DeviceArgs, tape: Tape) -> Tape:
    return Tape(tuple(args.out(x) for x in tape.inputs), tuple(args.out(x) for x in tape.slopes), args.out(tape.output))


def _host_grads(args: DeviceArgs, grads, grad_y):
    return [(args.out(w), args.out(b)) for w, b in grads], (None if grad_y is None else args.out(grad_y))


def network_forward(network: Network, params, y) -> Tape:
    """Forward pass over the batch ``y`` (N, n_0); the :class:`Tape` (host arrays for host inputs)."""
    args = DeviceArgs()
    checked = _params(args, network, params)
    dy = _input(args, network, y, checked[0][0].dtype)
    return _host_tape(args, _forward(network, checked, dy))


def network_backward(network: Network, params, tape: Tape, grad_output, *, input_grad: bool = True):
    """``(grads, grad_y)`` from ∇_F L = ``grad_output``: ``grads[j] = (∇K_j or ∇θ_j, ∇b_j)``; ``grad_y``
    is ``None`` when ``input_grad=False``."""
    args = DeviceArgs()
    checked = _params(args, network, params)
    dtape = _tape_on_device(args, network, tape)
    delta = args.float(grad_output, "grad_output", ndim=2, dtype=checked[0][0].dtype)
    if tuple(delta.shape) != tuple(dtape.output.shape):
        raise ValueError(f"grad_output must have the shape of tape.output {tuple(dtape.output.shape)}; "
                         f"got {tuple(delta.shape)}")
    grads, grad_y = _backward(network, checked, dtape, delta, bool(input_grad))
    return _host_grads(args, grads, None if not input_grad else grad_y)


def _head(network: Network, output, target, reduction: str):
    return getattr(_losses, network.loss)(output, target, reduction=reduction)


def network_loss(network: Network, params, y, target, *, reduction: str = "mean") -> float:
    """L(θ) = reduce_i loss(F(y_i, θ), c_i) with the network's loss head, computed on the device."""
    require_choice(reduction, "reduction", REDUCTIONS)
    args = DeviceArgs()
    checked = _params(args, network, params)
    tape = _forward(network, checked, _input(args, network, y, checked[0][0].dtype))
    value, _ = _head(network, tape.output, target, reduction)
    return float(value)


def network_value_and_grad(network: Network, params, y, target, *, reduction: str = "mean",
                           input_grad: bool = True):
    """``(L, grads, grad_y)`` by one forward and one backward pass, all on the device."""
    require_choice(reduction, "reduction", REDUCTIONS)
    if reduction == "none":
        raise ValueError("reduction='none' has no scalar loss to differentiate; use 'mean' or 'sum'")
    args = DeviceArgs()
    checked = _params(args, network, params)
    tape = _forward(network, checked, _input(args, network, y, checked[0][0].dtype))
    value, grad_output = _head(network, tape.output, target, reduction)
    grads, grad_y = _backward(network, checked, tape, grad_output, bool(input_grad))
    grads, grad_y = _host_grads(args, grads, grad_y if input_grad else None)
    return float(value), grads, grad_y
