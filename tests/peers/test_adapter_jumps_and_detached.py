"""Issue 13, from a new user's trial of the adapters: ``jumps=`` as ``verify.check_gradient`` takes it, and a torch
function whose output has left the autograd graph refused by name instead of judged as a wrong gradient.

``jumps="fail"`` (the default) fails at a point where the function is not continuous; ``jumps="allow"`` reports the
entries concerned as not differentiable and judges every other one, so a wrong derivative elsewhere still fails.
An output with no autograd path from an input whose values change with it is a ValueError naming the function, the
input and the fix; an output that does not depend on the input at all (a constant, an unused argument) is a correct
function whose derivative is zero, and passes. Each behaviour has a wrong twin that must fail."""

from __future__ import annotations

import numpy as np
import pytest
from _frameworks import F, jax, jnp, torch, vj, vt  # skips this module without torch or jax

from verify.checks import CheckFailure

pytestmark = pytest.mark.peers

POINT = [0.3, 1.0, -0.7, 2.5]  # inputs[0][1] = 1.0 sits on a jump of floor and of x >= 1
JUMP = ((1,),)
STEPS = {
    "floor": lambda x: torch.floor(x) + x,
    "x >= 1": lambda x: x + (x >= 1.0).to(x.dtype),
}
DTYPES = {"float64": torch.float64, "float32": torch.float32}


def _at(dtype=torch.float64, values=POINT):
    return (torch.tensor(values, dtype=dtype),)


def _assert_jump_reported(report, jumps=JUMP) -> None:
    slot = report["inputs[0]"]
    assert slot.jumps == jumps, str(report)
    assert slot.not_differentiable == slot.vjp_jumps + slot.jvp_jumps > 0 and slot.vjp_jumps > 0
    assert report.verified == report.entries - report.unverified - report.not_differentiable > 0
    text = str(report)
    assert "NOT DIFFERENTIABLE" in report.headline() and "NOT DIFFERENTIABLE" in text
    assert f"NOT DIFFERENTIABLE (f is not continuous there; allowed by jumps='allow'): inputs[0]{list(jumps[0])}" in text


# --- jumps= -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("step", STEPS)
def test_a_torch_jump_fails_by_default_and_is_reported_with_jumps_allow(step, dtype):
    fn, inputs = STEPS[step], _at(DTYPES[dtype])
    with pytest.raises(CheckFailure) as info:
        vt.check_function(fn, inputs)
    assert str(info.value).startswith("verify.torch.check_function: the function is not continuous at the point "
                                      "along inputs[0]")
    assert "f is not continuous" in str(info.value) and "jumps='allow'" in str(info.value)
    with pytest.raises(CheckFailure, match="not continuous"):
        vt.check_function(fn, inputs, jumps="fail")
    _assert_jump_reported(vt.check_function(fn, inputs, jumps="allow"))


class _FloorPlusX(torch.autograd.Function):
    """``floor(x) + x`` with a hand-written backward ``slope · g``: right for ``slope = 1`` (floor's derivative is 0
    wherever it has one), wrong otherwise."""

    slope = 1.0

    @staticmethod
    def forward(ctx, x):
        return torch.floor(x) + x

    @staticmethod
    def backward(ctx, g):
        return _FloorPlusX.slope * g


def test_jumps_allow_excuses_only_the_entries_where_f_jumps(monkeypatch):
    """The wrong twin: a backward wrong at every entry still fails with jumps='allow' (at the entries where f is
    continuous, which are judged), as a wrong derivative, not as a jump."""
    report = vt.check_function(_FloorPlusX.apply, _at(), jumps="allow", forward=False)
    _assert_jump_reported(report)
    monkeypatch.setattr(_FloorPlusX, "slope", 2.0)
    with pytest.raises(CheckFailure) as info:
        vt.check_function(_FloorPlusX.apply, _at(), jumps="allow", forward=False)
    assert str(info.value).startswith("verify.torch.check_function: the reverse-mode (backward) derivative w.r.t. "
                                      "inputs[0] is wrong at entries where the function is continuous")
    assert "check_gradient: grad is wrong at 3 of 4 entries" in str(info.value)


def test_jumps_allow_changes_nothing_where_f_has_no_jump():
    for fn in (torch.sin, STEPS["floor"]):
        inputs = _at(values=[0.3, 1.5, -0.7, 2.5])  # no entry on an integer: floor is smooth here
        plain, allowing = vt.check_function(fn, inputs), vt.check_function(fn, inputs, jumps="allow")
        assert allowing["inputs[0]"].jumps == () and allowing.not_differentiable == 0
        assert (plain.entries, plain.verified, plain.unverified) == (allowing.entries, allowing.verified,
                                                                     allowing.unverified)
        assert "NOT DIFFERENTIABLE" not in str(allowing)


def test_check_module_takes_jumps():
    class Quantised(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.tensor([0.5, -1.5, 2.0, 1.25], dtype=torch.float64))

        def forward(self, x):
            return self.scale * (torch.floor(x) + x)

    with pytest.raises(CheckFailure, match="not continuous at the point along inputs"):
        vt.check_module(Quantised(), _at())
    report = vt.check_module(Quantised(), _at(), jumps="allow")
    _assert_jump_reported(report)
    assert report["scale"].not_differentiable == 0 and report["scale"].jumps == ()  # continuous in the parameter


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("step", ["floor", "x >= 1"])
def test_a_jax_jump_fails_by_default_and_is_reported_with_jumps_allow(step, dtype, x64):
    fn = {"floor": lambda x: jnp.floor(x) + x, "x >= 1": lambda x: x + (x >= 1.0).astype(x.dtype)}[step]
    inputs = (jnp.array(POINT, dtype=dtype),)
    with pytest.raises(CheckFailure) as info:
        vj.check_function(fn, inputs)
    assert str(info.value).startswith("verify.jax.check_function: the function is not continuous at the point "
                                      "along inputs[0]")
    _assert_jump_reported(vj.check_function(fn, inputs, jumps="allow"))


def test_jax_jumps_allow_still_fails_a_wrong_rule_elsewhere(x64):
    @jax.custom_jvp
    def floor_plus_x(x):
        return jnp.floor(x) + x

    floor_plus_x.defjvp(lambda p, t: (floor_plus_x(p[0]), 2.0 * t[0]))  # wrong: the slope is 1
    with pytest.raises(CheckFailure, match="is wrong"):
        vj.check_function(floor_plus_x, (jnp.array(POINT),), jumps="allow")
    floor_plus_x.defjvp(lambda p, t: (floor_plus_x(p[0]), t[0]))
    _assert_jump_reported(vj.check_function(floor_plus_x, (jnp.array(POINT),), jumps="allow"))


@pytest.mark.parametrize("checker, call", [
    ("verify.torch.check_function", lambda **o: vt.check_function(torch.sin, _at(), **o)),
    ("verify.torch.check_module", lambda **o: vt.check_module(torch.nn.Linear(4, 1).double(), _at(), **o)),
    ("verify.jax.check_function", lambda **o: vj.check_function(jnp.sin, (jnp.array([0.5, 1.0]),), **o)),
])
def test_a_bad_jumps_value_names_the_adapter_the_option_and_the_value(checker, call):
    for value in ("ignore", "Allow", True, None, ["allow"]):
        with pytest.raises(ValueError) as info:
            call(jumps=value)
        message = str(info.value)
        assert message.startswith(checker) and "jumps must be one of ('fail', 'allow')" in message, message
        assert repr(value) in message


# --- an output detached from the autograd graph -----------------------------------------------------------------

DETACHED = {
    ".detach()": lambda x: (x * 2).detach(),
    ".numpy() and torch.tensor": lambda x: torch.tensor(np.sin(x.detach().numpy())),
    "torch.from_numpy": lambda x: torch.from_numpy(np.sin(x.detach().numpy())),
    "torch.no_grad()": lambda x: torch.no_grad()(torch.sin)(x),
    "requires_grad_(False)": lambda x: torch.sin(x).detach().requires_grad_(False),
}
# the same functions with the output kept in the graph: the twins that must pass
ATTACHED = {
    ".detach()": lambda x: x * 2,
    ".numpy() and torch.tensor": torch.sin,
    "torch.from_numpy": torch.sin,
    "torch.no_grad()": torch.sin,
    "requires_grad_(False)": torch.sin,
}


def _refused(fn, inputs, **kwargs) -> str:
    with pytest.raises(ValueError) as info:
        vt.check_function(fn, inputs, **kwargs)
    assert not isinstance(info.value, CheckFailure)
    return str(info.value)


@pytest.mark.parametrize("how", DETACHED)
def test_a_detached_output_is_refused_by_name_not_judged_a_wrong_gradient(how):
    message = _refused(DETACHED[how], _at())
    assert message.startswith("verify.torch.check_function: the output of fn (<lambda>) does not depend on "
                              "inputs[0] through autograd (the output does not require grad: it has no grad_fn)")
    assert "yet its values change with inputs[0]" in message and "where autodiff's is 0" in message
    assert "To fix it" in message and ".detach()" in message and "torch.no_grad()" in message
    assert "is wrong" not in message and "likely mistake" not in message
    vt.check_function(ATTACHED[how], _at())  # the twin, in the graph, passes


def test_a_new_tensor_built_from_python_floats_is_refused():
    """What the user tried: the values rebuilt with torch.tensor from Python floats (float32 by default, no graph)."""
    with pytest.warns(UserWarning, match="Converting a tensor with requires_grad=True to a scalar"):
        message = _refused(lambda x: torch.tensor([float(v) ** 2 for v in x]), _at())
    assert "does not depend on inputs[0] through autograd" in message


def test_an_input_detached_inside_is_refused_naming_that_input():
    fn = lambda a, b: a * b.detach()  # noqa: E731 - the function under test
    message = _refused(fn, (*_at(), torch.tensor([1.5, -2.0, 0.5, 3.0], dtype=torch.float64)), wrt=1)
    assert "does not depend on inputs[1] through autograd" in message and "along inputs[1][" in message
    vt.check_function(lambda a, b: a * b, (*_at(), torch.tensor([1.5, -2.0, 0.5, 3.0], dtype=torch.float64)))


def test_a_graph_that_does_not_reach_the_input_is_refused():
    """The output has a graph (through a tensor that requires grad of its own), but not from the input: autograd's
    grad with allow_unused gives None for it."""
    w = torch.tensor([0.5, -1.0, 2.0, 1.5], dtype=torch.float64, requires_grad=True)
    message = _refused(lambda x: w * x.detach(), _at())
    assert "allow_unused=True) returned None" in message and "inputs[0]" in message
    vt.check_function(lambda x: w.detach() * x, _at())


def test_a_module_that_detaches_a_parameter_is_refused_naming_the_parameter():
    class Scaled(torch.nn.Module):
        def __init__(self, detach: bool):
            super().__init__()
            self.detach = detach
            self.weight = torch.nn.Parameter(torch.tensor([0.5, -1.0, 2.0, 1.5], dtype=torch.float64))
            self.bias = torch.nn.Parameter(torch.tensor([0.25], dtype=torch.float64))

        def forward(self, x):
            weight = self.weight.detach() if self.detach else self.weight
            return weight * x + self.bias

    with pytest.raises(ValueError) as info:
        vt.check_module(Scaled(detach=True), _at())
    assert str(info.value).startswith("verify.torch.check_module: the output of the module Scaled does not depend on "
                                      "weight through autograd")
    report = vt.check_module(Scaled(detach=False), _at())
    assert [s.name for s in report.slots] == ["inputs[0]", "weight", "bias"]


ZERO_DERIVATIVE = {
    "a constant": (lambda x: torch.ones(4, dtype=torch.float64), _at()),
    "x * 0": (lambda x: x * 0, _at()),
    "an unused input": (lambda a, b: torch.sin(a), (*_at(), *_at())),
    # constant near the point but not far out: entries the judge cannot resolve stay unverified, with their reason
    "a step away from its jump": (lambda x: (x >= 5.0).double(), _at()),
    "F.one_hot of the argmax": (lambda x: F.one_hot(torch.argmax(x), 4).double(), _at()),
}


@pytest.mark.parametrize("case", ZERO_DERIVATIVE)
def test_an_output_that_does_not_depend_on_the_input_passes_with_a_zero_derivative(case):
    fn, inputs = ZERO_DERIVATIVE[case]
    report = vt.check_function(fn, inputs)
    assert report.entries > 0 and report.verified > 0 and report.not_differentiable == 0, str(report)
    if case in ("a constant", "x * 0", "an unused input"):
        assert report.verified == report.entries, str(report)
    if case != "x * 0":  # x * 0 has a graph: autograd finds the path and its zeros
        assert any(note.startswith("autodiff found no path from inputs[") for note in report.notes)


def test_a_step_without_a_graph_at_its_jump_is_a_jump_not_a_detached_output():
    """``(x >= 1)`` has no autograd graph and is constant on either side of 1: at 1 it jumps, which is what the check
    says (and allows with jumps='allow'); zeros are its derivative everywhere else."""
    fn = lambda x: (x >= 1.0).double()  # noqa: E731 - the function under test
    with pytest.raises(CheckFailure, match="not continuous at the point along inputs"):
        vt.check_function(fn, _at())
    _assert_jump_reported(vt.check_function(fn, _at(), jumps="allow"))


def test_a_path_that_gives_a_wrong_gradient_is_still_a_check_failure():
    """The rule is autograd's report of no path at all: a graph that reaches the input but drops part of the
    derivative (x · x.detach() has autograd's derivative x, the truth 2x) is a wrong gradient."""
    with pytest.raises(CheckFailure, match="is wrong"):
        vt.check_function(lambda x: x * x.detach(), _at())
    vt.check_function(lambda x: x * x, _at())
