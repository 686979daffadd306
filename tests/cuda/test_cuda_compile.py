"""The CUDA variant of a kernel written once computes what its CPU variants compute (on the simulator or a GPU)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import cuda

from verify._jit import jit
from verify.kernels._compile import blockwise, elementwise
from verify.kernels.cuda._device import KERNELS, elementwise_grid, float_signatures

pytestmark = pytest.mark.cuda


@jit(inline="always", cache=False)
def _scale(v, w):
    return math.sqrt(v) + w


@jit(inline="always", cache=False)
def _rms_step(theta, g, v, lr, rho, eps):
    v = rho * v + (1.0 - rho) * g * g
    return theta - lr * g / _scale(v, eps), v  # calls another @jit function: compiled for the device too


@jit(inline="always", cache=False)
def _row_max(z, out):
    for r in range(z.shape[0]):
        m = z[r, 0]
        for k in range(1, z.shape[1]):
            m = max(m, z[r, k])
        out[r] = m


RMS = elementwise(_rms_step, name="test_cuda_compile_rms", arrays=("theta", "g", "v"), assigned=("theta", "v"),
                  scalars=("lr", "rho", "eps"), signatures=float_signatures(
                      "void({f}[::1], {f}[::1], {f}[::1], {f}, {f}, {f})"), cache=False)
ROW_MAX = blockwise(_row_max, name="test_cuda_compile_row_max", arrays=("z", "out"),
                    signatures=float_signatures("void({f}[:, ::1], {f}[::1])"), cache=False)


def test_elementwise_cuda_variant_matches_the_serial_one():
    rng = np.random.default_rng(2)
    theta, g, v = rng.normal(size=(3, 300))
    v = v * v
    want = [theta.copy(), g, v.copy()]
    RMS.cpu(*want, 0.01, 0.9, 1e-8)
    device = [cuda.to_device(a) for a in (theta, g, v)]
    blocks, threads = elementwise_grid(theta.size)
    RMS.cuda[blocks, threads](*device, 0.01, 0.9, 1e-8)
    # libdevice's sqrt is correctly rounded like libm's; the operations are the same, so the floats agree.
    np.testing.assert_array_equal(device[0].copy_to_host(), want[0])
    np.testing.assert_array_equal(device[2].copy_to_host(), want[2])
    assert any(name.endswith(".test_cuda_compile_rms__cuda") for name in KERNELS)  # registered for PTX


def test_blockwise_cuda_variant_gives_each_thread_one_row():
    z = np.random.default_rng(3).normal(size=(70, 5))
    out = cuda.device_array(70)
    blocks, threads = elementwise_grid(70)
    ROW_MAX.cuda[blocks, threads](cuda.to_device(z), out)
    np.testing.assert_array_equal(out.copy_to_host(), z.max(axis=1))
