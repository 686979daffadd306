"""Every torch.optim counterpart of a rule passes check_optimizer — in float64 and float32, with its options,
in its single-tensor, foreach and fused forms — given to the checker as the class itself (the adapter translates
the names). The checker accepts real implementations it did not write, and names the convention where one
differs."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from verify.checks.failure import CheckFailure
from verify.checks.optimizer import check_optimizer
from verify.kernels.schedules import CosineAnnealing, Exponential, LinearWarmup, StepDecay

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.peers

COUNTERPARTS = [
    # (rule, torch class, options that make the rule torch's form, extra options exercised)
    ("sgd", "SGD", {}, {"weight_decay": 0.1, "maximize": True}),
    ("momentum", "SGD", {}, {"dampening": 0.3, "weight_decay": 0.05}),
    ("nesterov", "SGD", {}, {"weight_decay": 0.01}),
    ("adagrad", "Adagrad", {"eps_mode": "outside"}, {"lr_decay": 0.1, "initial_accumulator_value": 0.5,
                                                      "weight_decay": 0.1}),
    ("rmsprop", "RMSprop", {}, {"centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    ("adam", "Adam", {}, {"amsgrad": True, "weight_decay": 0.1, "maximize": True}),
    ("adamw", "AdamW", {}, {"amsgrad": True}),
    ("adamax", "Adamax", {}, {"weight_decay": 0.1}),
    ("nadam", "NAdam", {}, {"weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("radam", "RAdam", {}, {"weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("adadelta", "Adadelta", {}, {"weight_decay": 0.1}),
]
WEIGHT_DECAY = {"adamw": {"weight_decay": 0.1}}  # required by the rule


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize(("rule", "cls", "form", "extra"), COUNTERPARTS, ids=[c[0] for c in COUNTERPARTS])
def test_every_torch_optimizer_passes_with_its_options(rule, cls, form, extra, dtype):
    optimizer = getattr(torch.optim, cls)
    hyper = form | WEIGHT_DECAY.get(rule, {})
    plain = check_optimizer(rule, optimizer, dtype=dtype, max_examples=6, **hyper)
    report = check_optimizer(rule, optimizer, dtype=dtype, max_examples=6, **hyper, **extra)
    assert plain.max_error_ratio < 1 and report.max_error_ratio < 1
    assert report.compared_state == (rule != "sgd")


FOREACH_FUSED = [
    ("adam", "Adam", {"foreach": True}), ("adam", "Adam", {"fused": True}),
    ("adamw", "AdamW", {"fused": True}), ("sgd", "SGD", {"fused": True}), ("momentum", "SGD", {"foreach": True}),
    ("adagrad", "Adagrad", {"fused": True}), ("rmsprop", "RMSprop", {"foreach": True}),
    ("nadam", "NAdam", {"foreach": True}), ("radam", "RAdam", {"foreach": True}),
    ("adamax", "Adamax", {"foreach": True}), ("adadelta", "Adadelta", {"foreach": True}),
]


@pytest.mark.parametrize(("rule", "cls", "form"), FOREACH_FUSED, ids=[f"{c[1]}-{next(iter(c[2]))}" for c in FOREACH_FUSED])
def test_the_foreach_and_fused_forms_pass_too(rule, cls, form):
    optimizer = functools.partial(getattr(torch.optim, cls), **form)
    hyper = ({"eps_mode": "outside"} if rule == "adagrad" else {}) | WEIGHT_DECAY.get(rule, {})
    assert check_optimizer(rule, optimizer, max_examples=6, **hyper).max_error_ratio < 1


@pytest.mark.parametrize(
    ("rule", "cls", "schedule"),
    [("sgd", "SGD", StepDecay(0.1, step_size=3, gamma=0.5)), ("momentum", "SGD", Exponential(0.1, gamma=0.9)),
     ("adam", "Adam", CosineAnnealing(0.1, T_max=7, eta_min=0.01)), ("adamw", "AdamW", LinearWarmup(0.1, 5, 0.1))],
)
def test_torch_schedulers_give_the_iterates_of_the_schedules(rule, cls, schedule):
    hyper = WEIGHT_DECAY.get(rule, {})
    assert check_optimizer(rule, getattr(torch.optim, cls), lr=schedule, max_examples=6, **hyper).examples == 6


def test_torch_adagrad_fails_the_seed_002_convention_and_is_recognised():
    with pytest.raises(CheckFailure) as caught:
        check_optimizer("adagrad", torch.optim.Adagrad, max_examples=20)  # default: ε inside, as in seed 002
    assert "eps_mode=outside" in caught.value.details["diagnosis"]
    assert "as in torch.optim.Adagrad" in str(caught.value)


def _torch_adam_l2(theta0, grads, lr, beta1, beta2, eps, weight_decay):
    """Someone's "AdamW": torch.optim.Adam with weight_decay, which is L2."""
    p = torch.tensor(theta0, requires_grad=True)
    optimizer = torch.optim.Adam([p], lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)
    out = []
    for g in grads:
        p.grad = torch.tensor(g)
        optimizer.step()
        out.append(p.detach().numpy().copy())
    return np.array(out)


def test_torch_adam_with_weight_decay_is_not_adamw_and_the_checker_says_so():
    with pytest.raises(CheckFailure) as caught:
        check_optimizer("adamw", _torch_adam_l2, weight_decay=0.1, max_examples=20)
    assert "l2_decay" in caught.value.details["diagnosis"]
    # the adapter itself asks torch for the right form: Adam with decoupled_weight_decay=True is AdamW
    assert check_optimizer("adamw", torch.optim.Adam, weight_decay=0.1, max_examples=5).examples == 5
    with pytest.raises(CheckFailure, match="AdamW always decouples"):
        check_optimizer("adam", torch.optim.AdamW, weight_decay=0.1, max_examples=5)


def test_torch_sgd_momentum_is_not_ema_momentum():
    with pytest.raises(CheckFailure) as caught:
        check_optimizer("ema_momentum", torch.optim.SGD, max_examples=20)  # SGD(momentum=β, dampening=β)
    assert caught.value.details["diagnosis"], str(caught.value)


def test_a_peer_that_cannot_express_an_option_is_refused_clearly():
    with pytest.raises(CheckFailure, match="torch.optim.Adamax has no parameter for decoupled_weight_decay=True"):
        check_optimizer("adamax", torch.optim.Adamax, weight_decay=0.1, decoupled_weight_decay=True, max_examples=2)
