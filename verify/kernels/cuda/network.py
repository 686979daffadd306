"""Network forward and backward passes on the ``"cuda"`` backend: :mod:`verify.kernels.network`'s functions
with ``backend="cuda"``.

Nothing here is written a second time: the network driver runs on
:class:`~verify.kernels.cuda._device.DeviceArrays` — matrix products by the tiled kernel
:func:`~verify.kernels.cuda._device.gemm`, every elementwise pass (bias, activation and slope, residual add;
δ ⊙ σ' and the bias gradient's column sums; the convolution, its adjoint and its θ-gradient) by the row
functions of :mod:`verify.kernels.network` compiled for CUDA. Everything stays on the device between layers;
host inputs are copied in once and results copied back once. Same signatures minus ``backend``.
"""

from __future__ import annotations

from verify.kernels import network as _network
from verify.kernels.cuda._device import TILE, DeviceArrays, on_cuda

__all__ = ["TILE", "matmul", "network_forward", "network_backward", "network_loss", "network_value_and_grad"]

network_forward = on_cuda(_network.network_forward)
network_backward = on_cuda(_network.network_backward)
network_loss = on_cuda(_network.network_loss)
network_value_and_grad = on_cuda(_network.network_value_and_grad)


def matmul(a, b, *, transpose_a: bool = False, transpose_b: bool = False):
    """``op(a) @ op(b)`` by the tiled shared-memory kernel; 2-D float arrays of one dtype (host or device)."""
    arrays = DeviceArrays()
    da = arrays.floats(a, "a", ndim=2)
    db = arrays.floats(b, "b", ndim=2, dtype=da.dtype)
    inner_a = da.shape[0] if transpose_a else da.shape[1]
    inner_b = db.shape[1] if transpose_b else db.shape[0]
    if inner_a != inner_b:
        raise ValueError(f"inner dimensions differ: op(a) has {inner_a} columns, op(b) has {inner_b} rows")
    return arrays.result(arrays.matmul(da, db, ta=transpose_a, tb=transpose_b))
