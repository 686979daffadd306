"""Step functions away from their jumps (floor, round, a quantiser at 1e3…1e6): their derivative is 0, while the
central differences' steps, relative to |x|, average their jumps into a slope of 1. Such values are those of a
smooth function rounded to cells as well, so where f is bitwise constant around x and only wider steps show a slope,
a failing entry is UNVERIFIED (no reference tells them apart), not blamed: ``floor`` with its derivative 0 failed at
1e4 + 0.3 (and torch.floor through verify.torch). Integer values below 2²³ are no sign of float32 either: floor at
1000.5 was read as a float32 computation, which let a straight-through gradient of 1 pass."""

from __future__ import annotations

import numpy as np
import pytest

from verify import CheckFailure, check_gradient
from verify.checks._gradient_kernels import float32_values

STEPS = {
    "floor": lambda x: np.sum(np.floor(x), axis=-1),
    "round": lambda x: np.sum(np.round(x), axis=-1),
    "quantiser 1/8": lambda x: np.sum(np.floor(8.0 * x) / 8.0, axis=-1),
}
POINTS = [1e3 + 0.3, 1e4 + 0.3, 1e6 + 0.3]


# (the quantiser's values, multiples of 1/8, are float32 numbers; at 1e6 its cells are read as a float32 computation's
# rounding, at which they are no wider than one rounding of f: not yet told apart, and left out)
@pytest.mark.parametrize(("name", "x"), [(name, x) for name in STEPS for x in POINTS
                                         if not (name == "quantiser 1/8" and x > 1e5)])
def test_the_zero_derivative_of_a_step_function_is_not_failed(name, x):
    report = check_gradient(STEPS[name], np.zeros_like, (np.array([x, x + 1.0]),))
    assert report.unverified <= 2
    if name != "quantiser 1/8":  # its multiples of 1/8 are float32 numbers, as a float32 computation's would be
        assert "float32" not in str(report)


@pytest.mark.parametrize("x", POINTS[:2])
@pytest.mark.parametrize("name", ["floor", "round"])
def test_a_straight_through_gradient_is_not_passed(name, x):
    """The straight-through estimator's 1 is no derivative of floor: failed (or, where f is read as cells, unverified)."""
    try:
        report = check_gradient(STEPS[name], np.ones_like, (np.array([x]),))
    except CheckFailure:
        return
    assert report.unverified == 1


def test_integer_values_below_two_to_the_23_are_no_float32_sign():
    values = np.array([999.0, 1000.0, 1001.0, 1000.0, 1000.0, 1000.0]).reshape(3, 2, 1)
    assert not float32_values(values, 1000.0)
    assert float32_values(values + 0.25, 1000.25)  # float32 numbers with fractions
    big = 4.0 * (2.0**23 + values)  # multiples of 4 near 2²⁵, where float32's spacing is 4: float32's own grid
    assert float32_values(big, 4.0 * (2.0**23 + 1000.0))
