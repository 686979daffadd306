"""The network kernels against torch.autograd on the same architectures (float64).

Both are correct implementations, each within the first-order rounding bound B of
:func:`verify.kernels.network.backward_error_bound` of the exact gradient, so they may differ by up to
2·(2B): the tolerance is 4B. The exact reference stays SymPy (tests/kernels/test_network.py); this is a
cross-check of conventions (K u vs u Kᵀ, valid cross-correlation for the convolution, mean reduction).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings

from verify.checks.failure import CheckFailure, error_table
from verify.kernels.network import Network, backward_error_bound, init_parameters, network_value_and_grad
from verify.strategies import network_problems

torch = pytest.importorskip("torch")
F = torch.nn.functional

pytestmark = pytest.mark.peers

_ACT = {"identity": lambda x: x, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}


def torch_value_and_grad(network: Network, params, y, target, reduction="mean"):
    tensors = [tuple(torch.tensor(a, requires_grad=True) for a in pair) for pair in params]
    u = y_t = torch.tensor(y, requires_grad=True)
    for layer, (weight, bias) in zip(network.layers, tensors, strict=True):
        if layer.kind == "conv1d":
            z = F.conv1d(u.unsqueeze(1), weight.view(1, 1, -1)).squeeze(1) + bias
        else:
            z = u @ weight.T + bias
        out = _ACT[layer.activation](z)
        u = u + out if layer.kind == "residual" else out
    if network.loss == "least_squares":
        per_row = 0.5 * ((u - torch.tensor(target)) ** 2).sum(dim=1)
    else:
        arr = np.asarray(target)
        c = torch.tensor(np.eye(network.output_width)[arr] if arr.dtype.kind in "iu" else arr)
        per_row = -(c * F.log_softmax(u, dim=1)).sum(dim=1)
    loss = per_row.mean() if reduction == "mean" else per_row.sum()
    loss.backward()
    loss = loss.detach()
    grads = [(w.grad.numpy(), b.grad.numpy()) for w, b in tensors]
    return float(loss), grads, y_t.grad.numpy()


def _assert_close(ours, theirs, bound, what):
    allowed = 4.0 * np.asarray(bound) + 1e-300
    if not np.all(np.abs(np.asarray(ours) - np.asarray(theirs)) <= allowed):
        raise CheckFailure(f"{what} differs from torch beyond 4× the rounding bound\n"
                           + error_table(np.atleast_1d(ours), np.atleast_1d(theirs)))


def _compare(problem, backend, *, drawn=True):
    network, params, y, target = problem
    bound = backward_error_bound(network, params, y, target)
    if drawn:
        assume(not bound.near_kink)  # a ReLU pre-activation within rounding of 0: the gradient jumps there
    else:
        assert not bound.near_kink
    value, grads, grad_y = network_value_and_grad(network, params, y, target, backend=backend)
    t_value, t_grads, t_grad_y = torch_value_and_grad(network, params, y, target)
    _assert_close(value, t_value, bound.value, "loss")
    for j, ((gw, gb), (tw, tb), (bw, bb)) in enumerate(zip(grads, t_grads, bound.grads, strict=True)):
        _assert_close(gw, tw, bw, f"∇ weight of layer {j}")
        _assert_close(gb, tb, bb, f"∇ bias of layer {j}")
    _assert_close(grad_y, t_grad_y, bound.input, "∇y")


@settings(max_examples=20)
@given(problem=network_problems(max_batch=4))
def test_drawn_networks_agree_with_torch(backend, problem):
    _compare(problem, backend)


def test_mlp_784_256_256_10_agrees_with_torch(backend):
    network = Network.from_widths((784, 256, 256, 10), "tanh")  # no ReLU: never near a kink
    rng = np.random.default_rng(0)
    params = init_parameters(network, rng)
    y = rng.standard_normal((64, 784))
    _compare((network, params, y, rng.integers(0, 10, 64)), backend, drawn=False)
