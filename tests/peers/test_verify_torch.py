"""verify.torch: torch's derivatives of functions, custom autograd.Functions and modules, through check_vjp/check_jvp."""

from __future__ import annotations

import copy
import math

import pytest

from verify.checks import CheckFailure

torch = pytest.importorskip("torch")
vt = pytest.importorskip("verify.torch")

pytestmark = pytest.mark.peers

def _x(*shape, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=dtype)


class Dense(torch.autograd.Function):
    """y = x W, with a forward-mode rule."""

    @staticmethod
    def forward(ctx, x, W):
        ctx.save_for_backward(x, W)
        ctx.save_for_forward(x, W)
        return x @ W

    @staticmethod
    def backward(ctx, g):
        x, W = ctx.saved_tensors
        return g @ W.T, x.T @ g

    @staticmethod
    def jvp(ctx, dx, dW):
        x, W = ctx.saved_tensors
        return dx @ W + x @ dW


def _with_backward(backward):
    return type("Planted", (torch.autograd.Function,), {
        "forward": staticmethod(lambda ctx, x, W: (ctx.save_for_backward(x, W), x @ W)[1]),
        "backward": staticmethod(backward),
    })


def _failure(fn, inputs, **kwargs) -> CheckFailure:
    with pytest.raises(CheckFailure) as info:
        vt.check_function(fn, inputs, **kwargs)
    return info.value


X, WSQ = _x(3, 3, seed=1), _x(3, 3, seed=2)


# --- right derivatives pass -----------------------------------------------------------------------


def test_a_custom_function_passes_in_both_modes():
    report = vt.check_function(Dense.apply, (X, _x(3, 2, seed=3)))
    assert [s.name for s in report.slots] == ["inputs[0]", "inputs[1]"]
    assert report.forward_checked == 2
    assert report["inputs[1]"].vjp.jacobian_rows == 6 and report["inputs[1]"].jvp.jacobian_columns == 6


def test_built_ins_pass_and_integer_labels_pass_through():
    vt.check_function(torch.nn.functional.softmax, (_x(2, 4), -1))
    labels = torch.tensor([1, 0, 3])
    report = vt.check_function(torch.nn.functional.cross_entropy, (_x(3, 4), labels))
    assert [s.name for s in report.slots] == ["inputs[0]"]


def test_forward_mode_not_supported_is_said_not_failed():
    Planted = _with_backward(lambda ctx, g: (g @ ctx.saved_tensors[1].T, ctx.saved_tensors[0].T @ g))
    report = vt.check_function(Planted.apply, (X, WSQ))
    assert report.forward_checked == 0
    assert report["inputs[0]"].forward.startswith("forward mode not supported by this function")
    assert "forward mode not supported by this function" in str(report)
    with pytest.raises(ValueError, match="forward=True but forward mode not supported"):
        vt.check_function(Planted.apply, (X, WSQ), forward=True)
    assert vt.check_function(Planted.apply, (X, WSQ), forward=False)["inputs[1]"].jvp is None


def test_an_input_without_requires_grad_is_checked_on_a_copy_and_left_alone():
    x = X.clone()
    w = WSQ.clone().requires_grad_(True)
    report = vt.check_function(Dense.apply, (x, w))
    assert "inputs[0] did not require grad: checked on a copy that does" in report.notes
    assert not any("inputs[1]" in note for note in report.notes)
    assert not x.requires_grad and x.grad is None and w.grad is None
    assert torch.equal(x, X) and torch.equal(w.detach(), WSQ)


def test_float32_is_judged_as_float32_against_a_float64_reference():
    seen = []

    def cube(x):  # elementwise: its backward is one product per entry, no cancelling sum
        seen.append(x.dtype)
        return x**3 + torch.sin(x)

    report = vt.check_function(cube, (_x(2, 3, dtype=torch.float32),))
    assert report["inputs[0]"].dtype == "float32" and report["inputs[0]"].vjp.dtype == "float32"
    assert torch.float64 in seen and torch.float32 in seen


def test_a_float32_backward_computed_in_bfloat16_is_caught():
    class Cube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return (g * 3 * x * x).to(torch.bfloat16).to(x.dtype)

    _failure(Cube.apply, (_x(2, 3, dtype=torch.float32),))


# --- planted bugs are caught and named -------------------------------------------------------------


def test_a_dropped_grad_output_is_named():
    Planted = _with_backward(lambda ctx, g: (g @ ctx.saved_tensors[1].T, ctx.saved_tensors[0].T @ torch.ones_like(g)))
    failure = _failure(Planted.apply, (X, WSQ))
    assert "derivative w.r.t. inputs[1] is wrong" in str(failure)
    assert "the incoming gradient (the cotangent u, grad_output) is ignored" in str(failure)
    assert failure.details["slot"] == "inputs[1]"


def test_a_transposed_weight_gradient_and_a_flipped_sign_are_named():
    Transposed = _with_backward(lambda ctx, g: (g @ ctx.saved_tensors[1].T, (ctx.saved_tensors[0].T @ g).T))
    assert "transposed: vjp(u) is the transpose" in str(_failure(Transposed.apply, (X, WSQ)))
    Flipped = _with_backward(lambda ctx, g: (-(g @ ctx.saved_tensors[1].T), ctx.saved_tensors[0].T @ g))
    failure = _failure(Flipped.apply, (X, WSQ))
    assert "w.r.t. inputs[0]" in str(failure) and "a flipped sign" in str(failure)


def test_a_backward_rounding_to_float32_for_float64_inputs_is_caught():
    Rounded = _with_backward(lambda ctx, g: (g @ ctx.saved_tensors[1].T,
                                             (ctx.saved_tensors[0].T @ g).float().double()))
    failure = _failure(Rounded.apply, (X, WSQ))
    assert "w.r.t. inputs[1]" in str(failure)


def test_a_wrong_forward_mode_rule_is_caught():
    class WrongJvp(Dense):
        @staticmethod
        def jvp(ctx, dx, dW):
            x, W = ctx.saved_tensors
            return dx @ W + x @ dW.T

    failure = _failure(WrongJvp.apply, (X, WSQ))
    assert "forward-mode (jvp) derivative w.r.t. inputs[1]" in str(failure)
    assert "the tangent is used transposed" in str(failure)


# --- bad input -------------------------------------------------------------------------------------


def test_bad_input_is_a_clear_type_or_value_error():
    with pytest.raises(TypeError, match="must return one torch.Tensor; got tuple"):
        vt.check_function(lambda x: (x, x), (X,))
    with pytest.raises(TypeError, match=r"inputs\[1\] is a torch.int64 tensor, not a floating-point tensor"):
        vt.check_function(lambda x, y: x * y, (X, torch.ones(3, 3, dtype=torch.int64)), wrt=1)
    with pytest.raises(TypeError, match="no float32/float64 tensor among the inputs"):
        vt.check_function(lambda y: y * 2.0, (torch.ones(3, dtype=torch.int64),))
    with pytest.raises(TypeError, match="has dtype torch.float16"):
        vt.check_function(lambda x: x * 2, (X.half(),))
    with pytest.raises(ValueError, match=r"inputs\[0\] is on device meta"):
        vt.check_function(lambda x: x * 2, (torch.empty(3, device="meta"),))
    NonSquare = _with_backward(lambda ctx, g: (g @ ctx.saved_tensors[1].T, (ctx.saved_tensors[0].T @ g).T))
    with pytest.raises(ValueError, match=r"torch's backward for inputs\[1\] failed: .*invalid gradient"):
        vt.check_function(NonSquare.apply, (X, _x(3, 2)))


def test_the_options_go_to_check_vjp_and_check_jvp_and_nothing_else_is_taken():
    report = vt.check_function(torch.tanh, (X,), seed=7, directions=1, jacobian_max=0)
    assert (report.slots[0].vjp.seed, report.slots[0].vjp.cotangents, report.slots[0].vjp.jacobian_rows) == (7, 1, 0)
    assert (report.slots[0].jvp.seed, report.slots[0].jvp.tangents) == (7, 1)
    with pytest.raises(TypeError, match="check_function got an unexpected keyword argument 'ulp'; its options for "
                                        "check_vjp and check_jvp: directions, seed, jacobian_max, ulps, atol, worst"):
        vt.check_function(torch.tanh, (X,), ulp=64.0)
    with pytest.raises(TypeError, match="check_module got an unexpected keyword argument 'max_examples'"):
        vt.check_module(torch.nn.Linear(3, 2).double(), (X,), max_examples=5)
    with pytest.raises(ValueError, match="directions"):  # the values are check_vjp's to judge
        vt.check_function(torch.tanh, (X,), directions=-1)


def test_a_cuda_tensor_without_a_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"inputs\[0\] is on cuda:0 but no CUDA GPU is available here"):
        vt._device_ok(torch.device("cuda:0"), "inputs[0]")


# --- modules ----------------------------------------------------------------------------------------


class Affine(torch.nn.Module):
    """x ↦ x Wᵀ + b through a custom Function whose weight gradient is planted wrong when asked."""

    def __init__(self, wrong: bool) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(_x(3, 3, seed=5))
        self.bias = torch.nn.Parameter(_x(3, seed=6))
        self.wrong = wrong

    def forward(self, x):
        fn = _with_backward(lambda ctx, g: (g @ ctx.saved_tensors[1].T,
                                            2.0 * ctx.saved_tensors[0].T @ g if self.wrong else ctx.saved_tensors[0].T @ g))
        return fn.apply(x, self.weight.T) + self.bias


def test_a_module_passes_and_a_failure_names_the_parameter():
    report = vt.check_module(Affine(wrong=False), _x(4, 3))
    assert [s.name for s in report.slots] == ["inputs[0]", "weight", "bias"]
    with pytest.raises(CheckFailure) as info:
        vt.check_module(Affine(wrong=True), _x(4, 3))
    assert "verify.torch.check_module: the reverse-mode (backward) derivative w.r.t. weight is wrong" in str(info.value) and info.value.details["slot"] == "weight"
    assert "a constant factor: vjp(u) is the right one × 2" in str(info.value)


def test_the_module_is_left_exactly_as_it_was():
    module = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Tanh(),
                                 torch.nn.Linear(4, 2)).double()
    module.train()
    module[0].weight.grad = torch.full_like(module[0].weight, 0.5)
    module[3].bias.requires_grad_(False)
    before = copy.deepcopy(module.state_dict())
    flags = {name: p.requires_grad for name, p in module.named_parameters()}
    grads = {name: None if p.grad is None else p.grad.clone() for name, p in module.named_parameters()}
    report = vt.check_module(module, _x(5, 3), forward=False)
    after = module.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)  # buffers too
    assert module.training and all(m.training for m in module.modules())
    assert {name: p.requires_grad for name, p in module.named_parameters()} == flags
    for name, p in module.named_parameters():
        assert (p.grad is None) == (grads[name] is None) and (p.grad is None or torch.equal(p.grad, grads[name]))
    assert "3.bias did not require grad: checked on a copy that does" in report.notes
    module.eval()
    vt.check_module(module, _x(5, 3), parameters=["1.weight"], check_inputs=False, forward=False)
    assert not module.training


def test_bad_modules():
    with pytest.raises(TypeError, match="module must be a torch.nn.Module"):
        vt.check_module(lambda x: x, (X,))
    with pytest.raises(ValueError, match="has no parameters"):
        vt.check_module(torch.nn.Tanh(), (X,))
    with pytest.raises(ValueError, match="'nope', which is not a parameter"):
        vt.check_module(torch.nn.Linear(3, 2).double(), (X,), parameters=["nope"])
    dropout = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Dropout(0.5)).double().train()
    with pytest.raises(ValueError, match="f is not deterministic"):
        vt.check_module(dropout, (X,))


def test_a_float32_module_passes():  # its gradients are float32 sums that cancel: their rounding is measured
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3))
    vt.check_module(module, torch.randn(6, 5))


# gelu(x) = x·Φ(x), gelu'(x) = Φ(x) + x·φ(x). Where x ≪ 0, Φ = ½(1 + erf(x/√2)) cancels (float32 keeps one bit of it at
# x = −5, float64 ten digits fewer than its own), and the product rule's two terms nearly cancel too (2.9e-7 − 7.4e-6).
_GELU_POINT = [-5.0, -4.0, -0.5, 0.0, 3.0]
# below -5.5 float32's 1 + erf is 0: its gelu' is x·φ(x) alone, 16 % off at -6 — the rounding of the same code,
# measured against its float64 run (verify._adapters), not a mistake
_GELU_DEEP = [-6.0, -5.5, -4.5, 1.0]


def test_pytorch_gelu_in_float32_passes():
    # issue 13: at x = -5 the unit cotangent's row was judged against 2.87e-7 = Φ(-5), not the derivative -7.15e-6.
    # the judge now stops refining its central differences where the one-sided slopes agreed at a larger step
    # (verify.checks._kinks: -7.15e-6), and the float32 backward's 3e-3 relative error is its measured rounding
    vt.check_function(torch.nn.functional.gelu, (torch.tensor([-5.0, -0.5, 0.0, 3.0]),))
    vt.check_function(torch.nn.functional.gelu, (torch.tensor(_GELU_DEEP),))


# issue 13: float64 1 + erf(x/√2) cancels into cells (3.7e-11 wide at x = −5, 2.3e-4 at −7.5), inside which f is
# x·const and its slope Φ(x) lacks the x·φ(x) term; the judge measures f's rounding at the cells' level
# (verify.checks._measure.staircase_level, and along e_j where the kink ladder's one-sided limits disagree), so
# neither the plateau nor a value next to it is taken for the derivative (tests/checks/test_gradient_staircases.py)
def test_pytorch_gelu_in_float64_passes():
    vt.check_function(torch.nn.functional.gelu, (torch.tensor([-4.0, -0.5, 0.0, 3.0], dtype=torch.float64),))


def test_pytorch_gelu_in_float64_passes_at_minus_5():
    vt.check_function(torch.nn.functional.gelu, (torch.tensor([-5.0, -0.5, 0.0, 3.0], dtype=torch.float64),))


def test_pytorch_gelu_in_float64_passes_deep_in_its_tail():
    vt.check_function(torch.nn.functional.gelu, (torch.tensor(_GELU_DEEP + _GELU_POINT, dtype=torch.float64),))


def _gelu_function(backward_rule):
    """A torch.autograd.Function whose forward is torch's gelu and whose backward is ``backward_rule(x) · grad``."""

    class Gelu(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return torch.nn.functional.gelu(x)

        backward = staticmethod(lambda ctx, grad: grad * backward_rule(*ctx.saved_tensors))

    return Gelu.apply


def _cdf(x):
    return 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


def _pdf(x):
    return torch.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


# each backward with the points it is judged at: x = -5 alone asks the reference to keep the product rule's x·φ(x)
# term where 1 + erf cancels (it once lost it, taking Φ(-5) for the derivative, so the classic bug passed); dropping
# Φ(x) instead changes gelu' at -5 by 2.9e-7, below what float32 gelu itself resolves there (it is off by 5.7e-8,
# 4 %), so that bug is looked for where it shows
_GELU_BACKWARDS = {
    "right": (lambda x: _cdf(x) + x * _pdf(x), ([-5.0], _GELU_POINT)),
    "cdf only (the x·φ(x) term dropped)": (_cdf, ([-5.0],)),
    "sign error in the x·φ(x) term": (lambda x: _cdf(x) - x * _pdf(x), ([-5.0],)),
    "pdf only (the Φ(x) term dropped)": (lambda x: x * _pdf(x), (_GELU_POINT,)),
}


def _gelu_backward_cases():
    for name in _GELU_BACKWARDS:
        for dtype, label in ((torch.float32, "float32"), (torch.float64, "float64")):
            yield pytest.param(name, dtype, id=f"{name}-{label}")


@pytest.mark.parametrize(("name", "dtype"), list(_gelu_backward_cases()))
def test_hand_written_gelu_backwards_are_judged_right_and_wrong(name, dtype):
    rule, points = _GELU_BACKWARDS[name]
    gelu = _gelu_function(rule)
    for point in points:
        x = torch.tensor(point, dtype=dtype)
        if name == "right":
            vt.check_function(gelu, (x,), forward=False)
        else:
            with pytest.raises(CheckFailure, match="reverse-mode"):
                vt.check_function(gelu, (x,), forward=False)


# issue 13, the staircase over [−8, −3]: gelu and its tanh form (½x(1 + tanh(√(2/π)(x + 0.044715x³))), whose 1 + tanh
# cancels too), hand-written backwards through autograd.Function. The right ones pass everywhere (unverified where f's
# rounding over the central step is above the derivative: float64 gelu below −7.25, its tanh form below −6; see
# tests/checks/test_gradient_staircases.py); the classic wrong ones — Φ alone, a sign error in x·φ(x) — fail wherever f
# resolves their error. In float32 that ends sooner: float32's 1 + erf has one bit left at −5 and none below −5.5, and an
# error below what the float32 gelu itself resolves is not observable (check_gradient's term (d)).
_K_TANH = math.sqrt(2.0 / math.pi)


def _tanh_inner(x):
    return torch.tanh(_K_TANH * (x + 0.044715 * x**3))


def _tanh_inner_slope(x):
    return (1.0 - _tanh_inner(x) ** 2) * _K_TANH * (1.0 + 3.0 * 0.044715 * x * x)


_GELU_FORMS = {
    "erf": (torch.nn.functional.gelu, _cdf, lambda x: x * _pdf(x)),
    "tanh": (lambda x: torch.nn.functional.gelu(x, approximate="tanh"), lambda x: 0.5 * (1.0 + _tanh_inner(x)),
             lambda x: 0.5 * x * _tanh_inner_slope(x)),
}
_GELU_TAIL = [-3.0, -4.0, -5.0, -5.5, -6.0, -6.5, -7.0, -7.25, -7.5, -8.0]
_GELU_RESOLVED = {("erf", torch.float64): [-3.0, -5.0, -6.0, -7.0, -7.25], ("erf", torch.float32): [-3.0, -4.0, -5.0],
                  ("tanh", torch.float64): [-3.0, -5.0, -6.0], ("tanh", torch.float32): [-3.0, -4.0]}


def _gelu_form(form, rule):
    forward = _GELU_FORMS[form][0]

    class Gelu(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return forward(x)

        backward = staticmethod(lambda ctx, grad: grad * rule(*ctx.saved_tensors))

    return Gelu.apply


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("form", list(_GELU_FORMS))
def test_gelu_backwards_over_the_tail(form, dtype):
    _, cdf, term = _GELU_FORMS[form]
    right = _gelu_form(form, lambda x: cdf(x) + term(x))
    for x0 in _GELU_TAIL:
        vt.check_function(right, (torch.tensor([x0], dtype=dtype),), forward=False)
    for wrong in (cdf, lambda x: cdf(x) - term(x)):
        for x0 in _GELU_RESOLVED[form, dtype]:
            with pytest.raises(CheckFailure, match="reverse-mode"):
                vt.check_function(_gelu_form(form, wrong), (torch.tensor([x0], dtype=dtype),), forward=False)
