"""Learning-rate schedules: their values, exact forms, rounding bounds and bad parameters."""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from verify.kernels.schedules import SCHEDULES, Constant, CosineAnnealing, Exponential, LinearWarmup, StepDecay

ALL = [Constant(0.1), StepDecay(0.1, step_size=3, gamma=0.5), Exponential(0.3, gamma=0.93),
       CosineAnnealing(0.1, T_max=10), CosineAnnealing(0.7, T_max=3, eta_min=0.05), LinearWarmup(0.1, 7, 0.01),
       LinearWarmup(0.2, 4)]


def _mp(x):
    return mpmath.mpf(x.numerator) / x.denominator if isinstance(x, Fraction) else mpmath.mpf(x)


def test_the_closed_forms():
    assert [StepDecay(1.0, 2, 0.5)(t) for t in range(1, 6)] == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert [Exponential(1.0, 0.5)(t) for t in range(1, 4)] == [1.0, 0.5, 0.25]
    assert [LinearWarmup(1.0, 4, 0.0)(t) for t in range(1, 7)] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    cosine = CosineAnnealing(1.0, T_max=2)
    assert [cosine(t) for t in range(1, 6)] == pytest.approx([1.0, 0.5, 0.0, 0.5, 1.0], abs=3e-16)
    assert Constant(0.3)(7) == 0.3 and set(SCHEDULES) == {"constant", "step", "exponential", "cosine", "linear_warmup"}


@pytest.mark.parametrize("schedule", ALL, ids=repr)
def test_the_exact_form_is_the_closed_form_and_within_its_own_bound(schedule):
    u = 2.0**-53
    with mpmath.workdps(50):
        for t in range(1, 40):
            alpha, eta = schedule.exact(t)
            assert abs(mpmath.mpf(schedule(t)) - _mp(alpha)) <= schedule.error_bound(t, u) + 1e-300
            if schedule.lr:
                assert abs(_mp(alpha) - schedule.lr * _mp(eta)) < mpmath.mpf(10) ** -45
    if schedule.arithmetic == "rational":
        assert isinstance(schedule.exact(3)[0], Fraction)


@pytest.mark.parametrize("schedule", ALL, ids=repr)
def test_a_recursive_computation_stays_within_the_bound(schedule):
    # each step's rate from the previous one, as torch's schedulers compute it, in float32 for a large u
    u = 2.0**-24
    rate = np.float32(schedule(1))
    for t in range(2, 60):
        previous, current = schedule(t - 1), schedule(t)
        if previous != 0.0:
            rate = np.float32(rate * np.float32(current / previous))
        else:
            rate = np.float32(current)
        assert abs(float(rate) - schedule(t)) <= schedule.error_bound(t, u) + 2 * u * abs(schedule(t)), (schedule, t)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Constant(-0.1), "lr must be >= 0"),
        (lambda: Constant(math.nan), "lr must be finite"),
        (lambda: StepDecay(0.1, 0, 0.5), "step_size must be an integer >= 1"),
        (lambda: StepDecay(0.1, 2.5, 0.5), "step_size must be an integer"),
        (lambda: StepDecay(0.1, 2, -0.5), "gamma must be >= 0"),
        (lambda: Exponential(0.1, math.inf), "gamma must be finite"),
        (lambda: CosineAnnealing(0.1, 0), "T_max must be an integer >= 1"),
        (lambda: CosineAnnealing(0.1, 5, eta_min=-1.0), "eta_min must be >= 0"),
        (lambda: LinearWarmup(0.1, 5, start_factor=1.5), "start_factor must be <= 1"),
        (lambda: LinearWarmup(0.1, 0), "warmup_steps must be an integer >= 1"),
    ],
)
def test_bad_parameters_are_refused_by_name(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_step_numbers_count_from_one():
    with pytest.raises(ValueError, match="t must be >= 1"):
        Constant(0.1)(0)
    with pytest.raises(TypeError, match="t must be an integer"):
        Constant(0.1)(1.0)
    assert Constant(0.1)(np.int64(3)) == 0.1
