"""The CUDA variant of a kernel written once computes what its CPU variants compute (on the simulator or a GPU),
for each pattern of :mod:`verify.kernels._compile`, on the package's own kernels: an elementwise kernel whose
function calls other ``@jit`` functions (the activations: a generated switch, then exp), blockwise kernels with
and without scratch rows (logsumexp, softmax), and a reduction over parts of the rows (the network's column
sums)."""

from __future__ import annotations

import numpy as np
import pytest
from numba import cuda

from verify.kernels import activations as act
from verify.kernels import network as net
from verify.kernels.cuda._device import KERNELS, launch

pytestmark = pytest.mark.cuda


def test_elementwise_cuda_variant_matches_the_serial_one():
    x = np.random.default_rng(2).normal(size=300) * 5
    for code in range(len(act.ACTIVATIONS)):
        for derivative in (False, True):
            want = np.empty_like(x)
            act._ELEMENTWISE.cpu(x, want, code, derivative)
            out = cuda.device_array(300)
            launch(act._ELEMENTWISE, 300, cuda.to_device(x), out, code, derivative)
            # the same operations (the package's exp, no libm): the same floats
            np.testing.assert_array_equal(out.copy_to_host(), want)
    assert any(name.endswith(".activation__cuda") for name in KERNELS)  # registered for PTX


@pytest.mark.parametrize("which", ["logsumexp", "softmax"])
def test_blockwise_cuda_variant_gives_each_thread_one_row(which):
    z = np.random.default_rng(3).normal(size=(70, 5)) * 30
    kernel = act._ROWS[which]
    want = np.empty(70 if which == "logsumexp" else z.shape)
    kernel.cpu(z, want)
    out = cuda.device_array(want.shape)
    launch(kernel, 70, cuda.to_device(z), out)
    np.testing.assert_array_equal(out.copy_to_host(), want)


def test_reduction_cuda_variant_gives_each_thread_one_part():
    x = np.random.default_rng(4).normal(size=(101, 3))
    want = np.empty((7, 3))
    net._SUM_ROWS.cpu(x, want)
    out = cuda.device_array((7, 3))
    launch(net._SUM_ROWS, 7, cuda.to_device(x), out)
    np.testing.assert_array_equal(out.copy_to_host(), want)  # the same partition, the same order of additions
