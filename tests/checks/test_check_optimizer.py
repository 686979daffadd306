"""check_optimizer accepts correct implementations it did not write and catches wrong ones, saying why.

Every confusion the checker names is shown here on a wrong implementation written plainly in NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from verify.checks.failure import CheckFailure
from verify.checks.optimizer import OptimizerReport, check_optimizer
from verify.kernels.schedules import CosineAnnealing

ADAM = {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}


def numpy_adam(*, bias_sign=-1, t_offset=0, reset=False, swap=False, omit1=False, omit2=False, lr_twice=False,
               eps_inside=False, t_cap=None, report_state=False, state_is_mhat=False, l2=0.0, decoupled=0.0,
               decay_times_lr=True, amsgrad=None):
    """Adam written plainly in NumPy (1 − βᵗ computed directly, as most libraries do), with switches
    that introduce the usual mistakes one at a time. ``l2``/``decoupled``: weight decay of either kind;
    ``amsgrad``: None, "v" (max of v, then corrected) or "v_hat" (max of the corrected v̂)."""

    def run(theta0, grads, lr, beta1, beta2, eps, **options):
        b1, b2 = (beta2, beta1) if swap else (beta1, beta2)
        theta, m, v = theta0.copy(), np.zeros_like(theta0), np.zeros_like(theta0)
        vmax = np.zeros_like(theta0)
        out, ms, vs = [], [], []
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for step, g in enumerate(grads, start=1):
                if reset:
                    m, v = np.zeros_like(m), np.zeros_like(v)
                t = step + t_offset if t_cap is None else min(step, t_cap)
                g = g + l2 * theta
                theta = theta * (1 - (lr if decay_times_lr else 1.0) * decoupled)
                m = b1 * m + (1.0 if omit1 else 1 - b1) * g
                v = b2 * v + (1.0 if omit2 else 1 - b2) * g * g
                m_hat = m / (1 + bias_sign * b1**t)
                if amsgrad == "v":
                    vmax = np.maximum(vmax, v)
                    v_hat = vmax / (1 + bias_sign * b2**t)
                elif amsgrad == "v_hat":
                    vmax = np.maximum(vmax, v / (1 + bias_sign * b2**t))
                    v_hat = vmax
                else:
                    v_hat = v / (1 + bias_sign * b2**t)
                denominator = np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps
                theta = theta - (lr * lr if lr_twice else lr) * m_hat / denominator
                out.append(theta)
                ms.append(m_hat if state_is_mhat else m)
                vs.append(v)
        if report_state:
            return np.array(out), {"m": np.array(ms), "v": np.array(vs)}
        return np.array(out)

    return run


# --------------------------------------------------------------------------- correct implementations pass


def test_a_plain_numpy_adam_passes_and_gets_a_report():
    report = check_optimizer("adam", numpy_adam(report_state=True), max_examples=25)
    assert isinstance(report, OptimizerReport)
    assert report.rule == "adam" and report.conventions["eps_mode"] == "kingma" and report.compared_state
    assert report.conventions["amsgrad"] is False and report.unverified == 0
    assert report.examples >= 10 and 0 < report.max_error_ratio < 1
    assert "passed" in str(report) and "mpmath with 60 significant digits" in report.reference


def test_a_differently_rounded_but_correct_form_passes():
    # torch's lerp form of the moving average, m + (1 − β)(g − m), rounds differently: still correct.
    def lerp_ema(theta0, grads, lr, beta):
        theta, m, out = theta0.copy(), np.zeros_like(theta0), []
        for g in grads:
            m = m + (1 - beta) * (g - m)
            theta = theta - lr * m
            out.append(theta)
        return np.array(out)

    assert check_optimizer("ema_momentum", lerp_ema, max_examples=25).max_error_ratio < 1


def test_weight_decay_is_judged_with_theta_in_the_reference():
    # Both kinds of decay make the update depend on θ: each step is judged from the implementation's own θ.
    assert check_optimizer("adam", numpy_adam(l2=0.1), weight_decay=0.1, max_examples=20).examples == 20
    assert check_optimizer("adamw", numpy_adam(decoupled=0.1), weight_decay=0.1, max_examples=20).examples == 20


def test_fixed_hyperparameters_reach_run_and_others_are_drawn():
    seen = []

    def spy(theta0, grads, **hyper):
        seen.append(hyper)
        return numpy_adam()(theta0, grads, **hyper)

    report = check_optimizer("adam", spy, lr=0.01, beta2=0.99, max_examples=10)
    assert report.hyper == {"lr": 0.01, "beta2": 0.99}
    assert all(h["lr"] == 0.01 and h["beta2"] == 0.99 and set(h) == set(ADAM) for h in seen)
    assert len({h["beta1"] for h in seen}) > 1, "beta1 was not fixed, so it is drawn"


def test_a_schedule_is_passed_to_run_and_followed_by_the_reference():
    schedule = CosineAnnealing(0.1, T_max=5)

    def scheduled_sgd(theta0, grads, lr):
        rates = np.array([lr(t) for t in range(1, len(grads) + 1)])
        return theta0 - np.cumsum(rates[:, None] * grads, axis=0)

    assert check_optimizer("sgd", scheduled_sgd, lr=schedule, max_examples=15).examples == 15
    with pytest.raises(CheckFailure):  # the constant base rate is not the schedule
        check_optimizer("sgd", lambda theta0, grads, lr: theta0 - lr.lr * np.cumsum(grads, axis=0), lr=schedule,
                        max_examples=15)


def test_a_custom_input_strategy_is_searched():
    pairs = st.integers(1, 4).flatmap(lambda n: st.tuples(
        arrays(np.float64, (n,), elements=st.floats(-1, 1)),
        arrays(np.float64, (3, n), elements=st.floats(-1, 1)),
    ))
    report = check_optimizer("adam", numpy_adam(), inputs=pairs, max_examples=10)
    assert report.steps == 3 * report.examples


# --------------------------------------------------------------------------- wrong implementations fail


@pytest.mark.parametrize(
    ("mistake", "variant", "phrase"),
    [
        ({"bias_sign": +1}, "bias_plus", "1 + βᵗ instead of 1 − βᵗ, as written in seed 002"),
        ({"t_offset": -1}, "t_from_0", "counted from 0"),
        ({"reset": True}, "reset", "state reset to zero before every step"),
        ({"swap": True}, "swapped_betas", "β₁ and β₂ swapped"),
        ({"omit1": True}, "missing_one_minus_beta1", "(1 − β₁) missing"),
        ({"omit2": True}, "missing_one_minus_beta2", "(1 − β₂) missing"),
        ({"lr_twice": True}, "lr_squared", "learning rate applied twice"),
        ({"eps_inside": True}, "eps_mode=inside", "ε inside the square root"),
    ],
)
def test_wrong_adams_fail_and_are_recognised(mistake, variant, phrase):
    with pytest.raises(CheckFailure) as caught:
        check_optimizer("adam", numpy_adam(**mistake), max_examples=30)
    message = str(caught.value)
    assert "leaves the exact reference at step" in message
    assert "expected theta" in message and "actual   theta" in message and "expected m" in message
    assert "ULPs" in message and "shrunk by Hypothesis" in message and "…" not in message
    diagnosis = message.split("Diagnosis:")[1]
    assert phrase in diagnosis, message
    assert variant in caught.value.details["diagnosis"]


# The confusions of issue 15, item 2: each a wrong implementation, each named by the checker.
CONFUSIONS = [
    # L2 instead of decoupled decay: an Adam with weight_decay checked as AdamW
    ("adamw", numpy_adam(l2=0.1), {"weight_decay": 0.1}, "l2_decay", "L2 weight decay λθ added to the gradient"),
    # decoupled instead of L2: an AdamW checked as Adam with weight_decay
    ("adam", numpy_adam(decoupled=0.1), {"weight_decay": 0.1}, "decoupled_weight_decay=True",
     "decoupled weight decay θ ← θ(1 − α_tλ)"),
    # the decay not scaled by the learning rate
    ("adamw", numpy_adam(decoupled=0.1, decay_times_lr=False), {"weight_decay": 0.1}, "decay_scale=schedule",
     "not scaled by the learning rate"),
    # AMSGrad's maximum on v̂ where the rule (PyTorch) takes it on v, and the other way round
    ("adam", numpy_adam(amsgrad="v_hat"), {"amsgrad": True}, "amsgrad_max=v_hat", "maximum taken on the bias-corrected"),
    ("adam", numpy_adam(amsgrad="v"), {"amsgrad": True, "amsgrad_max": "v_hat"}, "amsgrad_max=v",
     "maximum taken on v, then bias-corrected"),
]


def _assert_confusion_named(rule, run, hyper, variant, phrase):
    """``check_optimizer`` fails ``run`` and its diagnosis names ``variant`` and says ``phrase``."""
    with pytest.raises(CheckFailure) as caught:
        check_optimizer(rule, run, max_examples=30, **hyper)
    assert variant in caught.value.details["diagnosis"], str(caught.value)
    assert phrase in str(caught.value).split("Diagnosis:")[1]


@pytest.mark.parametrize(("rule", "run", "hyper", "variant", "phrase"), CONFUSIONS,
                         ids=[c[3] for c in CONFUSIONS])
def test_weight_decay_and_amsgrad_confusions_are_named(rule, run, hyper, variant, phrase):
    _assert_confusion_named(rule, run, hyper, variant, phrase)


def _adadelta(theta0, grads, lr, rho, eps, *, update_accumulator=True):
    theta, v, u, out = theta0.copy(), np.zeros_like(theta0), np.zeros_like(theta0), []
    for g in grads:
        v = rho * v + (1 - rho) * g * g
        delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        if update_accumulator:
            u = rho * u + (1 - rho) * delta * delta
        theta = theta - lr * delta
        out.append(theta)
    return np.array(out)


def _rmsprop(theta0, grads, lr, rho, eps, *, center=True, **options):
    theta, v, gavg, out = theta0.copy(), np.zeros_like(theta0), np.zeros_like(theta0), []
    for g in grads:
        v = rho * v + (1 - rho) * g * g
        gavg = rho * gavg + (1 - rho) * g
        d = v - gavg * gavg if center else v
        theta = theta - lr * g / (np.sqrt(np.maximum(d, 0.0)) + eps)
        out.append(theta)
    return np.array(out)


def _adagrad(theta0, grads, lr, eps, *, start=None, **options):
    theta = theta0.copy()
    v = np.full_like(theta0, options["initial_accumulator_value"] if start is None else start)
    out = []
    for g in grads:
        v = v + g * g
        theta = theta - lr * g / np.sqrt(v + eps)
        out.append(theta)
    return np.array(out)


def _nadam(theta0, grads, lr, beta1, beta2, eps, momentum_decay, *, schedule=True):
    theta, m, v, product, out = theta0.copy(), np.zeros_like(theta0), np.zeros_like(theta0), 1.0, []
    for t, g in enumerate(grads, start=1):
        mu = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay)) if schedule else beta1
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay)) if schedule else beta1
        product *= mu
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        d = np.sqrt(v / (1 - beta2**t)) + eps
        theta = theta - lr * (1 - mu) / (1 - product) * g / d - lr * mu_next / (1 - product * mu_next) * m / d
        out.append(theta)
    return np.array(out)


OTHER_CONFUSIONS = [
    ("adadelta", lambda th, g, lr, rho, eps: _adadelta(th, g, lr, rho, eps, update_accumulator=False), {},
     "no_update_accumulator", "Adadelta without its update accumulator"),
    ("rmsprop", lambda th, g, lr, rho, eps, **o: _rmsprop(th, g, lr, rho, eps, center=False), {"centered": True},
     "centered=False", "'centered' without centering"),
    ("adagrad", lambda th, g, lr, eps, **o: _adagrad(th, g, lr, eps, start=0.0, **o),
     {"initial_accumulator_value": 0.5}, "initial_accumulator_ignored", "the initial accumulator ignored"),
    ("nadam", lambda th, g, lr, beta1, beta2, eps, momentum_decay: _nadam(th, g, lr, beta1, beta2, eps,
                                                                          momentum_decay, schedule=False),
     {"momentum_decay": 4e-3}, "constant_momentum", "no momentum schedule"),
]


@pytest.mark.parametrize(("rule", "run", "hyper", "variant", "phrase"), OTHER_CONFUSIONS,
                         ids=[c[3] for c in OTHER_CONFUSIONS])
def test_the_other_named_confusions(rule, run, hyper, variant, phrase):
    _assert_confusion_named(rule, run, hyper, variant, phrase)


def test_the_correct_forms_of_those_rules_pass():
    # the same plain implementations without the mistake: the diagnoses above are not artefacts of the code
    check_optimizer("adadelta", _adadelta, max_examples=15)
    check_optimizer("rmsprop", lambda th, g, lr, rho, eps, **o: _rmsprop(th, g, lr, rho, eps), centered=True,
                    max_examples=15)
    check_optimizer("adagrad", _adagrad, initial_accumulator_value=0.5, max_examples=15)
    check_optimizer("nadam", _nadam, momentum_decay=4e-3, max_examples=15)
    check_optimizer("adam", numpy_adam(amsgrad="v"), amsgrad=True, max_examples=15)
    check_optimizer("adamw", numpy_adam(decoupled=0.1, decay_times_lr=False), weight_decay=0.1, decay_scale="schedule",
                    max_examples=15)


@pytest.mark.parametrize(
    ("rule", "run", "variant", "phrase"),
    [
        (
            "adagrad",
            lambda theta0, grads, lr, eps: theta0 - lr * np.cumsum(grads / (np.sqrt(np.cumsum(grads**2, 0)) + eps), 0),
            "eps_mode=outside",
            "ε outside the square root",
        ),
        (
            "ema_momentum",
            lambda theta0, grads, lr, beta: theta0 - lr * np.cumsum(_heavy_ball_buffers(grads, beta), 0),
            "heavy_ball",
            "(1 − β) on the gradient is missing",
        ),
        (
            "momentum",
            lambda theta0, grads, lr, momentum: theta0 - lr * (1 - momentum) * np.cumsum(
                _heavy_ball_buffers(grads, momentum), 0),
            "ema_momentum",
            "EMA momentum",
        ),
        (
            "nesterov",
            lambda theta0, grads, lr, momentum: theta0 - lr * np.cumsum(_heavy_ball_buffers(grads, momentum), 0),
            "heavy_ball",
            "look-ahead term μ b is missing",
        ),
        (
            "adagrad_norm",
            lambda theta0, grads, lr, eps: theta0 - lr * np.cumsum(grads / np.sqrt(np.cumsum(grads**2, 0) + eps), 0),
            "per_coordinate",
            "per-coordinate accumulator",
        ),
        ("sgd", lambda theta0, grads, lr: theta0 + lr * np.cumsum(grads, 0), "maximize=True", "ascent"),
    ],
)
def test_wrong_forms_of_other_rules_fail_and_are_recognised(rule, run, variant, phrase):
    with pytest.raises(CheckFailure) as caught:
        check_optimizer(rule, run, max_examples=30)
    assert phrase in str(caught.value).split("Diagnosis:")[1], str(caught.value)
    assert variant in caught.value.details["diagnosis"]


def _heavy_ball_buffers(grads, mu):
    b, out = np.zeros(grads.shape[1]), []
    for g in grads:
        b = mu * b + g
        out.append(b)
    return np.array(out)


def test_rmsprop_without_the_one_minus_rho_is_recognised():
    def run(theta0, grads, lr, rho, eps):
        theta, v, out = theta0.copy(), np.zeros_like(theta0), []
        for g in grads:
            v = rho * v + g * g
            theta = theta - lr * g / (np.sqrt(v) + eps)
            out.append(theta)
        return np.array(out)

    with pytest.raises(CheckFailure) as caught:
        check_optimizer("rmsprop", run, max_examples=30)
    assert "missing_one_minus_rho" in caught.value.details["diagnosis"]


def test_a_fixed_input_names_the_first_step_that_diverges():
    # Wrong only from step 3 on (the step counter stops at 2): nothing known, and the step is named.
    theta0 = np.array([1.0, -0.5])
    grads = np.array([[0.1, 0.2], [-0.3, 0.05], [0.2, -0.1], [0.4, 0.3]])
    with pytest.raises(CheckFailure) as caught:
        check_optimizer("adam", numpy_adam(t_cap=2), theta0=theta0, grads=grads, **ADAM)
    message = str(caught.value)
    assert "leaves the exact reference at step 3 (t = 3 of T = 4)" in message
    assert "the fixed input given" in message and "from the implementation's theta_2" in message
    assert "matches none of the known alternative forms" in message
    assert caught.value.details["step"] == 3
    # and the same implementation is correct on the first two steps
    assert check_optimizer("adam", numpy_adam(t_cap=2), theta0=theta0, grads=grads[:2], **ADAM).steps == 2


def test_a_tiny_systematic_error_is_caught_and_reported_in_ulps():
    # 1e-12 relative is ~5000 ULPs: far beyond the rounding of a step, so it must fail.
    def nearly_sgd(theta0, grads, lr):
        return (theta0 - lr * np.cumsum(grads, 0)) * (1 + 1e-12)

    with pytest.raises(CheckFailure, match=r"ULPs") as caught:
        check_optimizer("sgd", nearly_sgd, max_examples=30)
    assert caught.value.details["step"] == 1


def test_wrong_state_with_right_iterates_is_caught_when_state_is_returned():
    run = numpy_adam(report_state=True, state_is_mhat=True)
    with pytest.raises(CheckFailure) as caught:
        check_optimizer("adam", run, max_examples=30)
    message = str(caught.value)
    assert "state 'm' first leaves its reference at step" in message
    assert "Worst entries of state 'm'" in message and "actual   m" in message
    # without the state the same iterates pass
    assert check_optimizer("adam", numpy_adam(), max_examples=5).examples == 5


# --------------------------------------------------------------------------- what the judge cannot decide


def test_an_undecidable_sign_is_reported_as_unverified_not_failed():
    # Lion's direction sign(β₁m + (1 − β₁)g) with m = −g·(1 − β₁)/β₁ exactly cancelled in the reals but not in
    # floats: either sign is right, so either step is accepted and the entry is counted as unverified.
    theta0, grads = np.zeros(1), np.array([[1.0], [-0.1]])
    hyper = {"lr": 0.1, "beta1": 0.9, "beta2": 0.9, "weight_decay": 0.0}

    def lion(sign_at_2):
        def run(theta0, grads, lr, beta1, beta2, weight_decay):
            return np.array([[-0.1], [-0.1 - 0.1 * sign_at_2]])
        return run

    # m₁ = 0.1·1 = 0.1; c₂ = 0.9·0.1 + 0.1·(−0.1) = 0.08 > 0: decided, so only +1 passes
    check_optimizer("lion", lion(+1.0), theta0=theta0, grads=grads, **hyper)
    with pytest.raises(CheckFailure):
        check_optimizer("lion", lion(-1.0), theta0=theta0, grads=grads, **hyper)
    # c₂ = 0.9·m₁ + 0.1·g₂ with g₂ = −0.9 → 0.09 − 0.09, zero in the reals; rounded it may be ±2⁻⁵⁸
    tied = np.array([[1.0], [-0.9]])
    for sign in (+1.0, -1.0, 0.0):
        report = check_optimizer("lion", lambda th, g, lr, beta1, beta2, weight_decay, s=sign: np.array(
            [[-0.1], [-0.1 - 0.1 * s]]), theta0=theta0, grads=tied, **hyper)
        assert report.unverified == 1 and "sign of a quantity within rounding of 0" in report.unverified_reasons[0]


# --------------------------------------------------------------------------- misbehaving runs


def test_misbehaving_runs_are_reported():
    def raises(theta0, grads, **hyper):
        raise ZeroDivisionError("boom")

    with pytest.raises(CheckFailure, match="run failed on this input: ZeroDivisionError: boom"):
        check_optimizer("sgd", raises, max_examples=5)
    point = {"theta0": np.zeros(2), "grads": np.ones((3, 2)), "lr": 0.1}
    with pytest.raises(CheckFailure, match=r"must return the iterates as a float array of shape \(T, n\)"):
        check_optimizer("sgd", lambda theta0, grads, lr: theta0, **point)
    with pytest.raises(CheckFailure, match="does not have"):
        check_optimizer("sgd", lambda theta0, grads, lr: (theta0 - lr * np.cumsum(grads, 0), {"m": grads}), **point)


def test_complex_iterates_are_refused_not_cut_to_their_real_part():
    def complex_sgd(theta0, grads, lr):
        return (theta0 - lr * np.cumsum(grads, 0)) + 0j

    with pytest.raises(CheckFailure, match=r"complex iterates \(dtype complex128\).*not taken silently"):
        check_optimizer("sgd", complex_sgd, max_examples=5)


def test_a_run_that_is_not_deterministic_is_told_so():
    rng = np.random.default_rng(0)

    def noisy_sgd(theta0, grads, lr):
        out = theta0 - lr * np.cumsum(grads, 0)
        return out * (1 + 1e-9 * rng.integers(0, 2))  # wrong one time in two

    with pytest.raises(CheckFailure, match="run is not deterministic"):
        check_optimizer("sgd", noisy_sgd, max_examples=40)
    with pytest.raises(CheckFailure, match="run is not deterministic"):
        check_optimizer("sgd", lambda th, g, lr: (th - lr * np.cumsum(g, 0)) * (1 + 1e-9 * rng.normal()),
                        theta0=np.ones(2), grads=np.ones((3, 2)), lr=0.1)


def test_failures_are_deterministic_for_a_seed():
    messages = set()
    for _ in range(2):
        with pytest.raises(CheckFailure) as caught:
            check_optimizer("sgd", lambda theta0, grads, lr: theta0 + lr * np.cumsum(grads, 0), max_examples=20,
                            seed=3)
        messages.add(str(caught.value))
    assert len(messages) == 1


def test_bad_use_of_the_checker_is_refused():
    run = numpy_adam()
    with pytest.raises(ValueError, match="rule must be one of"):
        check_optimizer("adabelief", run)
    with pytest.raises(ValueError, match="lr must be >= 0"):
        check_optimizer("adam", run, lr=-1.0)
    with pytest.raises(ValueError, match="beta1 must be < 1"):
        check_optimizer("adam", run, beta1=1.0)
    with pytest.raises(ValueError, match="eps_mode must be one of"):
        check_optimizer("adam", run, eps_mode="pytorch")
    with pytest.raises(ValueError, match="weight_decay must be >= 0"):
        check_optimizer("adamw", run, weight_decay=-0.1)
    with pytest.raises(ValueError, match="nesterov needs momentum > 0"):
        check_optimizer("nesterov", run, momentum=0.0)
    with pytest.raises(TypeError, match="missing"):
        check_optimizer("adam", run, theta0=np.zeros(2), grads=np.zeros((1, 2)), lr=0.1)
    with pytest.raises(TypeError, match="give both theta0 and grads"):
        check_optimizer("adam", run, theta0=np.zeros(2), **ADAM)
    with pytest.raises(TypeError, match="run must be callable"):
        check_optimizer("adam", None)


def test_the_exact_run_is_shared_only_by_identical_inputs():
    """One exact run judges every backend that returned the same iterates; any other input gets its own, and the
    kept arrays cannot be changed by a caller (a schedule, whose identity is no key, is never kept)."""
    from verify.checks import optimizer as checker
    from verify.kernels.optimizers import validate_hyperparameters

    full = validate_hyperparameters("adam", {"lr": 0.25, "beta1": 0.875, "beta2": 0.9375, "eps": 2.0**-20})
    theta0, grads = np.array([1.0, -2.0]), np.array([[0.5, 0.25], [-1.0, 2.0]])
    forced = np.array([[0.75, -2.25], [1.0, -2.0]])
    first = checker._exact_run("adam", theta0, grads, forced, np.dtype(np.float64), full)
    assert checker._exact_run("adam", theta0, grads, forced.copy(), np.dtype(np.float64), full) is first
    other = checker._exact_run("adam", theta0, grads, forced + 2.0**-40, np.dtype(np.float64), full)
    assert other is not first and not np.array_equal(other.iterates, first.iterates)
    assert checker._exact_run("adam", theta0, grads, forced, np.dtype(np.float32), full) is not first
    with pytest.raises(ValueError):
        first.iterates[0, 0] = 0.0
    scheduled = validate_hyperparameters("sgd", {"lr": CosineAnnealing(0.5, T_max=4)})
    once = checker._exact_run("sgd", theta0, grads, forced, np.dtype(np.float64), scheduled)
    assert checker._exact_run("sgd", theta0, grads, forced, np.dtype(np.float64), scheduled) is not once
