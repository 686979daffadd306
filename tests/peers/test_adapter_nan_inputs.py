"""The checkers' rule for a user's point, under the adapters' names (issue 13, item 9): a NaN in any floating input or
parameter is a ValueError naming the adapter, the input and its index; ±inf is allowed, and judged, where the function
is finite (a masked logit)."""

from __future__ import annotations

import numpy as np
import pytest
from _frameworks import jnp, torch, vj, vt  # skips this module without torch or jax

from verify.checks import CheckFailure

pytestmark = pytest.mark.peers

NAN_POINT = [1.0, float("nan"), 2.0]
MASKED = [-float("inf"), 0.5, 1.0]


def test_torch_check_function_names_itself_the_input_and_the_index():
    with pytest.raises(ValueError, match=r"verify\.torch\.check_function: inputs\[0\] has a NaN at index \(1,\)"):
        vt.check_function(torch.tanh, (torch.tensor(NAN_POINT, dtype=torch.float64),))


def test_torch_check_module_names_a_nan_parameter():
    module = torch.nn.Linear(3, 2).double()
    with torch.no_grad():
        module.weight[0, 1] = float("nan")
    with pytest.raises(ValueError, match=r"verify\.torch\.check_module: parameter 'weight' has a NaN at index \(0, 1\)"):
        vt.check_module(module, (torch.ones(1, 3, dtype=torch.float64),))


def test_torch_check_module_names_a_nan_buffer():
    # a running mean the module reads in eval mode: f itself is NaN, from a buffer, not from anything differentiated
    module = torch.nn.BatchNorm1d(3).double().eval()
    module.running_mean[1] = float("nan")
    with pytest.raises(ValueError, match=r"verify\.torch\.check_module: buffer 'running_mean' has a NaN at index \(1,\)"):
        vt.check_module(module, (torch.ones(2, 3, dtype=torch.float64),))


def test_jax_check_function_names_itself_the_input_and_the_index():
    with pytest.raises(ValueError, match=r"verify\.jax\.check_function: inputs\[0\] has a NaN at index \(1,\)"):
        vj.check_function(jnp.tanh, (np.array(NAN_POINT, dtype=np.float32),))


def test_a_masked_logit_is_judged_and_a_wrong_backward_there_fails():
    logits = torch.tensor(MASKED, dtype=torch.float64)
    assert vt.check_function(lambda t: torch.logsumexp(t, 0), (logits,)).verified > 0

    class WrongLogsumexp(torch.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            ctx.save_for_backward(t)
            return torch.logsumexp(t, 0)

        @staticmethod
        def backward(ctx, grad):
            (t,) = ctx.saved_tensors
            return grad * 2.0 * torch.softmax(t, 0)  # a factor 2

    with pytest.raises(CheckFailure):
        vt.check_function(WrongLogsumexp.apply, (logits,), forward=False)
