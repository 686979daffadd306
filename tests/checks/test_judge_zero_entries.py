"""check_gradient at entries whose truth is 0 or tiny (issue 13, items 2 and 8): an output that does not depend on an
entry is verified there, not left unverified; a complex step whose imaginary part was lost to absolute rounding is
not taken for a derivative of 0; a constant that is a rounding of a slope stays unverified, with its reason. Each has
a wrong twin."""

from __future__ import annotations

import math

import numpy as np
import pytest

from verify import CheckFailure, check_gradient

POINT = np.array([-1.0, 0.5, 2.0, 3.0])
SLOPE = 2.0 / math.sqrt(math.pi) * math.exp(-0.25)  # erf'(0.5)


def _real_only(fn):
    """``fn`` refusing complex input (as torch.erf does): the central differences decide."""
    def f(x):
        if np.iscomplexobj(x):
            raise TypeError("real input only")
        return fn(np.asarray(x))
    return f


ERF_OF_X1 = _real_only(lambda x: math.erf(float(x[1])))


def test_entries_f_does_not_depend_on_are_verified_in_both_dtypes():
    right = check_gradient(ERF_OF_X1, lambda x: np.array([0.0, SLOPE, 0.0, 0.0], dtype=x.dtype), (POINT,))
    assert right.unverified == 0 and right.worst_ulps < 1e4
    single = check_gradient(ERF_OF_X1, lambda x: np.array([0.0, SLOPE, 0.0, 0.0], dtype=x.dtype),
                            (POINT.astype(np.float32),))
    assert single.unverified == 0


@pytest.mark.parametrize("wrong", [1e-9, 1e-12, -3e-13])
def test_a_wrong_value_where_the_truth_is_exactly_0_fails(wrong):
    with pytest.raises(CheckFailure, match="grad is wrong at 1 of 4 entries"):
        check_gradient(ERF_OF_X1, lambda x: np.array([0.0, SLOPE, wrong, 0.0]), (POINT,))


def test_a_constant_that_ends_within_the_reach_stays_unverified_with_its_reason():
    """ReLU at −5 is constant only up to 0: the flat values resolve no slope finer than the central differences'
    bound there, so the entry is unverified (with the reason and remedy), neither passed nor failed."""
    relu_sum = _real_only(lambda x: float(np.maximum(x, 0.0).sum()))
    report = check_gradient(relu_sum, lambda x: (x > 0).astype(float), (np.array([-5.0, 2.0]),))
    assert report.unverified == 1
    assert report.unverified_reasons and all("remedy" in r for r in report.unverified_reasons)
    assert "bitwise constant along the entry near x but not out to" in report.unverified_reasons[0]


def _wrapped_softplus_sum(weights):
    """Σ wᵢ·softplus(xᵢ) whose complex form wraps Im into [−π, π] as JAX's logaddexp does (Im is then a multiple
    of ulp(π): at x = −30, Im f(x + i·h) is 0 for every small step h though f' = 9.4e-14)."""
    def f(x):
        x = np.asarray(x)
        y = np.logaddexp(0.0, x.real) if not np.iscomplexobj(x) else np.log1p(np.exp(x))
        if np.iscomplexobj(x):
            y = y.real + 1j * (np.remainder(y.imag + np.pi, 2.0 * np.pi) - np.pi)
        return np.sum(weights * y, axis=-1)
    return f


def test_an_imaginary_part_lost_to_absolute_rounding_is_not_a_derivative_of_0():
    weights = np.array([1.98, 1.14])
    x = np.array([-30.0, 25.0])
    f = _wrapped_softplus_sum(weights)

    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))

    report = check_gradient(f, lambda x: weights * sigmoid(x), (x,))  # failed at 4.4 × the tolerance
    assert report.worst_ratio <= 1.0
    # its wrong twin, underflowing to 0 at −30, was passed by the complex step's 0; now it is not passed silently
    try:
        twin = check_gradient(f, lambda x: weights * np.where(x < -20, 0.0, sigmoid(x)), (x,))
    except CheckFailure:
        return
    assert twin.unverified >= 1 and twin.unverified_reasons


def test_an_identically_real_direction_still_gets_the_complex_steps_exact_0():
    """ReLU below 0 written for complex input (where on the real part): Im f is exactly 0 at every step, so the
    complex step resolves the zero derivative; a wrong slope of 1e-12 there is caught."""
    def f(x):
        return np.sum(np.where(np.real(x) > 0, x, 0.0 * x), axis=-1) + np.sum(np.sin(x), axis=-1)

    x = np.array([-1.0, 2.0])
    right = check_gradient(f, lambda x: (x > 0) + np.cos(x), (x,))
    assert right.unverified == 0 and right.references["complex step"] == 1
    with pytest.raises(CheckFailure):
        check_gradient(f, lambda x: (x > 0) + np.cos(x) + np.array([1e-12, 0.0]), (x,))
