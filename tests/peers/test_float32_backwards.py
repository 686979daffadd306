"""Float32 backwards off by 0.1 % are caught through the adapters, their correct twins pass (issue 13).

The reference of a float32 function is its float64 promotion (central differences where the framework takes no
complex input, as PyTorch's softplus and ELU); the float32 function's own rounding, measured on it (``f_noise``,
~1e-6 here), says what the float32 code can resolve and where kinks are seen. It once also set the error of the
central differences read from the float64 promotion (whose rounding is ~1e-16): a 0.3 % bound, under which a
softplus backward scaled by 0.999 and an ELU backward using ``exp(x) + 1e-3`` passed in float32 while the same
0.999 rule as a JAX ``custom_vjp`` (decided by the complex step) failed. Each wrong backward below is a
``torch.autograd.Function`` (or ``jax.custom_vjp``) with one such error; the same Function with the right formula
passes in float32 and float64.

Runtime: 46 tests, about 30 s on the shared 2-core machine at load 5 (10 s of CPU).
"""

from __future__ import annotations

import numpy as np
import pytest

from verify.checks import CheckFailure

torch = pytest.importorskip("torch")
vt = pytest.importorskip("verify.torch")
F = torch.nn.functional

pytestmark = pytest.mark.peers

POINTS = [[-5.0, -0.5, 0.0, 3.0], [0.1, -0.2, 0.3, -0.4], [-1.5, 2.5, -3.5, 4.5]]  # each with x < 0 (ELU's mistake)


def _elu_slope(x):
    return torch.where(x > 0, torch.ones_like(x), torch.exp(x))


# name: (forward, the right derivative, the wrong one)
RULES = {
    "softplus ×0.999": (F.softplus, torch.sigmoid, lambda x: torch.sigmoid(x) * 0.999),
    "elu exp(x) + 1e-3": (F.elu, _elu_slope, lambda x: torch.where(x > 0, torch.ones_like(x), torch.exp(x) + 1e-3)),
    "sigmoid ×1.001": (torch.sigmoid, lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x)),
                       lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x)) * 1.001),
    "tanh + 1e-3": (torch.tanh, lambda x: 1 - torch.tanh(x) ** 2, lambda x: 1 - torch.tanh(x) ** 2 + 1e-3),
    "silu −1e-3·x": (F.silu, lambda x: torch.sigmoid(x) * (1 + x * (1 - torch.sigmoid(x))),
                     lambda x: torch.sigmoid(x) * (1 + x * (1 - torch.sigmoid(x))) - 1e-3 * x),
}


def _function(forward, slope):
    class Rule(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return forward(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * slope(x)

    return Rule.apply


@pytest.mark.parametrize("point", POINTS, ids=str)
@pytest.mark.parametrize("name", list(RULES))
def test_a_float32_backward_off_by_a_thousandth_is_caught(name, point):
    forward, right, wrong = RULES[name]
    x = torch.tensor(point, dtype=torch.float32)
    with pytest.raises(CheckFailure) as info:
        vt.check_function(_function(forward, wrong), (x,), forward=False)
    assert "reverse-mode (backward) derivative" in str(info.value)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("point", POINTS, ids=str)
@pytest.mark.parametrize("name", list(RULES))
def test_the_right_twin_passes(name, point, dtype):
    forward, right, wrong = RULES[name]
    x = torch.tensor(point, dtype=getattr(torch, dtype))
    assert vt.check_function(_function(forward, right), (x,), forward=False)["inputs[0]"].vjp.examples == 1


def test_the_same_rule_as_a_jax_custom_vjp_fails_too():
    jax = pytest.importorskip("jax")
    vj = pytest.importorskip("verify.jax")

    @jax.custom_vjp
    def softplus(x):
        return jax.nn.softplus(x)

    softplus.defvjp(lambda x: (jax.nn.softplus(x), x), lambda x, g: (g * jax.nn.sigmoid(x) * 0.999,))
    with pytest.raises(CheckFailure):
        vj.check_function(softplus, (np.array(POINTS[1], dtype=np.float32),))
