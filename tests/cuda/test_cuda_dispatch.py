"""``backend="cuda"`` through the public CPU-module functions reaches the CUDA kernels."""

import subprocess
import sys

import numpy as np
import pytest

from verify.kernels import activations, losses, network, optimizers, use_backend

pytestmark = pytest.mark.cuda


def test_activation_and_loss_route_to_cuda():
    from verify.kernels.cuda import activations as cuda_activations
    from verify.kernels.cuda import losses as cuda_losses

    z = np.array([[1.0, -2.0, 0.5], [300.0, 0.0, -300.0]])
    labels = np.array([2, 0])
    np.testing.assert_array_equal(activations.softmax(z, backend="cuda"), cuda_activations.softmax(z))
    value, grad = losses.softmax_cross_entropy(z, labels, backend="cuda")
    ref_value, ref_grad = cuda_losses.softmax_cross_entropy(z, labels)
    assert value == ref_value
    np.testing.assert_array_equal(grad, ref_grad)


def test_default_backend_cuda_routes_too():
    z = np.array([[0.0, 1.0]])
    with use_backend("cuda"):
        routed = activations.log_softmax(z)
    np.testing.assert_allclose(routed, activations.log_softmax(z, backend="numpy"), rtol=4e-16)


def test_optimizer_and_network_route_to_cuda():
    grads = np.ones((3, 4))
    hyper = dict(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8)
    on_gpu = optimizers.run_optimizer("adam", np.zeros(4), grads, backend="cuda", **hyper)
    on_cpu = optimizers.run_optimizer("adam", np.zeros(4), grads, backend="cpu", **hyper)
    np.testing.assert_array_equal(on_gpu, on_cpu)
    net = network.Network.from_widths([3, 4, 2], activation="tanh")
    params = network.init_parameters(net, np.random.default_rng(0))
    y = np.random.default_rng(1).standard_normal((5, 3))
    target = np.array([0, 1, 0, 1, 1])
    value_gpu = network.network_value_and_grad(net, params, y, target, backend="cuda")[0]
    value_cpu = network.network_value_and_grad(net, params, y, target, backend="cpu")[0]
    # Row sums may be ordered differently on the device: a few ulps of the mean loss.
    assert value_gpu == pytest.approx(value_cpu, rel=16 * np.finfo(np.float64).eps)


def test_importing_cpu_kernels_does_not_import_numba_cuda():
    code = (
        "import sys; import verify.kernels.losses, verify.kernels.activations, "
        "verify.kernels.optimizers, verify.kernels.network; "
        "print('numba.cuda' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
