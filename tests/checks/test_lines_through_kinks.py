"""A tangent's line through several kinks at the point, beside large smooth slopes: the kink of the line at t = 0 has
a jump of slopes small beside them (1.2 against 44), and the ladder that locates it reached steps whose rounding
swamps that jump, where the limits "agreed": the kink was taken for one next to the point and the correct jvp failed.
"""

from __future__ import annotations

import numpy as np
import pytest

from verify import CheckFailure, check_jvp, check_vjp

PIECEWISE = {  # f with a kink at 0 in every entry, its derivative off 0 (either branch at 0 is a subgradient)
    "x² or −x": (lambda x: np.where(x > 0, x * x, -x), lambda x: np.where(x > 0, 2.0 * x, -1.0)),
    "relu·x + x": (lambda x: np.maximum(x, 0.0) * x + x, lambda x: np.where(x > 0, 2.0 * x + 1.0, 1.0)),
    "abs + x³": (lambda x: np.abs(x) + x**3, lambda x: np.sign(x) + 3.0 * x**2),
}
POINTS = [[0.0, 0.0, 0.0, 0.3, -1.7, 4.2], [0.0, 0.0, 0.0, 0.0, 25.0], [0.0, 0.0, 1.3]]


@pytest.mark.parametrize("x", POINTS, ids=["three zeros", "four zeros, 25", "two zeros"])
@pytest.mark.parametrize("name", PIECEWISE)
def test_a_correct_jvp_and_vjp_pass(name, x):
    f, slope = PIECEWISE[name]
    check_jvp(f, lambda v, z: slope(z) * v, (np.array(x),))
    check_vjp(f, lambda u, z: slope(z) * u, (np.array(x),))


@pytest.mark.parametrize("x", POINTS, ids=["three zeros", "four zeros, 25", "two zeros"])
@pytest.mark.parametrize("name", PIECEWISE)
def test_a_wrong_jvp_fails(name, x):
    f, slope = PIECEWISE[name]
    with pytest.raises(CheckFailure):
        check_jvp(f, lambda v, z: (slope(z) + 0.5) * v, (np.array(x),))
