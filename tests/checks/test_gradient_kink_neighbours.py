"""Kinks beside kinks (issue 13): an entry at its kink while the other entries sit just off theirs.

A soak find (seed 1130), relu at ``[0, −1e-4]``: the other entry's central stencil (steps 7.4e-4, 3.7e-4, 1.85e-4)
crosses its own kink at 0 without making it a kink candidate, and the level its differences show (1.3e-5, the kink's
bend, where f's values are exact) was taken for f's rounding: the kink ladder of entry 0 stopped at 4.6e-5, where its
one-sided slopes 0 and 1 cannot be told apart, and the complex step's one-sided slope 1 was demanded of a correct 0.
A rounding level is never read from values that may straddle a kink or jump of f, along any axis:

- a stencil's level is a suggestion, measured along its axis off the point on either side and confirmed by two
  neighbouring spacings (``verify.checks.gradient._Checker._rounding_along``);
- a difference table whose second or third differences sit at one place with one sign is a kink crossed, not noise
  (``verify.checks._noise``);
- f's level along a direction that appears only at a spacing where the finer ones saw f stand still must be confirmed
  by the next spacing (``verify.checks._measure.f_noise``): a direction that moves several entries crosses their kinks
  at several places (clamp at ``1 + 3e-4`` in three entries read as float32 noise).

Each family (relu, leaky relu, abs, max(x, 0), clamp to [−1, 1]) is checked with one entry at its kink and 1 or 3
entries at ``d = 1e-8 … 1e-2`` on either side of theirs, float32 and float64: the correct gradient passes, verified
(the kink met, or the complex step's one-sided slope equal to grad's subgradient), also with an entry at ``kink − 5e-8``; the wrong slope on that entry (the other piece's) fails. Runtime: ~12 s
on the shared 2-core machine.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from verify.checks import CheckFailure, check_gradient
from verify.checks._noise import noise_levels

_LEAK = 0.01
DISTANCES = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 3e-4, 1e-3, 1e-2]
NEAR = 5e-8  # the entry whose slope the wrong twins get wrong sits this far below a kink


def _re(x):
    return np.real(x)


def _relu(x):
    return np.sum(np.maximum(x, 0.0), axis=-1)


def _leaky(x):
    return np.sum(np.where(_re(x) > 0, x, _LEAK * x), axis=-1)


def _abs(x):
    return np.sum(np.where(_re(x) >= 0, x, -x), axis=-1)


def _max0(x):
    return np.sum(np.where(_re(x) >= 0, x, 0.0 * x), axis=-1)


def _clamp(x):
    return np.sum(np.where(_re(x) > 1, 1.0 + 0.0 * x, np.where(_re(x) < -1, -1.0 + 0.0 * x, x)), axis=-1)


def _with(grad, value):
    """The correct gradient with entry 1 (the one at kink − 5e-8) replaced by ``value``."""
    def wrong(x):
        g = grad(x).copy()
        g[1] = value
        return g
    return wrong


# name: (f, correct gradient, kink, wrong values for the entry at kink − 5e-8 (the true one is the left piece's))
FAMILIES = {
    "relu": (_relu, lambda x: (x > 0).astype(x.dtype), 0.0, [1.0, 0.5]),
    "leaky relu": (_leaky, lambda x: np.where(x > 0, 1.0, _LEAK).astype(x.dtype), 0.0, [0.0, 2 * _LEAK, 1.0]),
    "abs": (_abs, lambda x: np.sign(x).astype(x.dtype), 0.0, [1.0, 0.0]),
    "max(x, 0)": (_max0, lambda x: (x >= 0).astype(x.dtype), 0.0, [1.0]),
    "clamp": (_clamp, lambda x: (np.abs(x) < 1).astype(x.dtype), 1.0, [0.0, 0.5]),
}


def _outcome(f, grad, x) -> str:
    try:
        report = check_gradient(f, grad, (x,))
    except CheckFailure:
        return "failed"
    return "unverified" if report.unverified else ("kink" if report.kinks else "passed")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("family", list(FAMILIES))
def test_an_entry_at_its_kink_beside_entries_near_theirs(family, dtype):
    f, grad, kink, wrong_values = FAMILIES[family]
    false_alarms, missed = [], []
    for d, side, count in itertools.product(DISTANCES, (-1.0, 1.0), (1, 3)):
        others = [kink + side * d * (1.0 + 0.0029353254692 * i) for i in range(count)]
        x = np.array([kink] + others, dtype=dtype)
        if _outcome(f, grad, x) not in ("kink", "passed"):  # passed: the complex step's one side is grad's value
            false_alarms.append((d, side, count, "at the kink"))
        x = np.array([kink, kink - NEAR] + others, dtype=dtype)
        if _outcome(f, grad, x) not in ("kink", "passed"):
            false_alarms.append((d, side, count, "beside it too"))
        for value in wrong_values:
            outcome = _outcome(f, _with(grad, value), x)
            if outcome != "failed":
                missed.append((d, side, count, value, outcome))
    assert not false_alarms and not missed, (false_alarms, missed)


def test_a_kink_crossed_by_a_table_is_no_noise_and_a_staircase_cell_is():
    k = np.arange(9.0) - 4.0
    kinked = 0.7 * k + np.maximum(k - 0.3, 0.0) * 1e-3  # piecewise linear, its kink between two points
    bent_slope = np.maximum(k - 0.3, 0.0) ** 2 * 1e-3 + 0.7 * k  # a kink of the slope, inside a trend
    cell = 0.7 * k + np.where(k > 0.5, 1e-3, 0.0)  # a small jump inside a trend: a staircase's cell boundary
    rng = np.random.default_rng(0)
    rounding = 0.7 * k + 1e-3 * rng.uniform(-0.5, 0.5, 9)
    _, _, status = noise_levels(np.stack([kinked, bent_slope, cell, rounding], axis=1))
    assert status[0] == 3 and status[1] == 3  # too large: no noise
    assert status[2] == 1 and status[3] == 1
