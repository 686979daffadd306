"""check_optimizer accepts correct implementations it did not write and catches wrong ones, saying why."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from verify.checks.failure import CheckFailure
from verify.checks.optimizer import OptimizerReport, check_optimizer

ADAM = {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}


def numpy_adam(*, bias_sign=-1, t_offset=0, reset=False, swap=False, omit1=False, omit2=False, lr_twice=False,
               eps_inside=False, t_cap=None, report_state=False, state_is_mhat=False):
    """Adam written plainly in NumPy (1 − βᵗ computed directly, as most libraries do), with switches
    that introduce the usual mistakes one at a time."""

    def run(theta0, grads, lr, beta1, beta2, eps):
        b1, b2 = (beta2, beta1) if swap else (beta1, beta2)
        theta, m, v = theta0.copy(), np.zeros_like(theta0), np.zeros_like(theta0)
        out, ms, vs = [], [], []
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for step, g in enumerate(grads, start=1):
                if reset:
                    m, v = np.zeros_like(m), np.zeros_like(v)
                t = step + t_offset if t_cap is None else min(step, t_cap)
                m = b1 * m + (1.0 if omit1 else 1 - b1) * g
                v = b2 * v + (1.0 if omit2 else 1 - b2) * g * g
                m_hat = m / (1 + bias_sign * b1**t)
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
    assert report.rule == "adam" and report.conventions == {"eps_mode": "kingma"} and report.compared_state
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


def test_fixed_hyperparameters_reach_run_and_others_are_drawn():
    seen = []

    def spy(theta0, grads, **hyper):
        seen.append(hyper)
        return numpy_adam()(theta0, grads, **hyper)

    report = check_optimizer("adam", spy, lr=0.01, beta2=0.99, max_examples=10)
    assert report.hyper == {"lr": 0.01, "beta2": 0.99}
    assert all(h["lr"] == 0.01 and h["beta2"] == 0.99 and set(h) == set(ADAM) for h in seen)
    assert len({h["beta1"] for h in seen}) > 1, "beta1 was not fixed, so it is drawn"


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
        ("sgd", lambda theta0, grads, lr: theta0 + lr * np.cumsum(grads, 0), "ascent", "added instead of subtracted"),
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
    assert "the fixed input given" in message and "theta_2 agreed within tolerance" in message
    assert "matches none of the known alternative forms" in message
    assert caught.value.details["step"] == 3
    # and the same implementation is correct on the first two steps
    assert check_optimizer("adam", numpy_adam(t_cap=2), theta0=theta0, grads=grads[:2], **ADAM).steps == 2


def test_a_tiny_systematic_error_is_caught_and_reported_in_ulps():
    # 1e-12 relative is ~5000 ULPs: far beyond rounding of a 50-step recurrence, so it must fail.
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
    assert "state 'm' first leaves its reference at step 1" in message
    assert "Worst entries of state 'm'" in message and "actual   m" in message
    # without the state the same iterates pass
    assert check_optimizer("adam", numpy_adam(), max_examples=5).examples == 5


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
        check_optimizer("adamw", run)
    with pytest.raises(ValueError, match="lr must be >= 0"):
        check_optimizer("adam", run, lr=-1.0)
    with pytest.raises(ValueError, match="beta1 must be < 1"):
        check_optimizer("adam", run, beta1=1.0)
    with pytest.raises(ValueError, match="eps_mode must be one of"):
        check_optimizer("adam", run, eps_mode="pytorch")
    with pytest.raises(TypeError, match="missing"):
        check_optimizer("adam", run, theta0=np.zeros(2), grads=np.zeros((1, 2)), lr=0.1)
    with pytest.raises(TypeError, match="give both theta0 and grads"):
        check_optimizer("adam", run, theta0=np.zeros(2), **ADAM)
    with pytest.raises(TypeError, match="run must be callable"):
        check_optimizer("adam", None)
