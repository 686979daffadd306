"""The vectorisable exp and log1p of verify.kernels.elementary against mpmath at 120 bits.

The bound is 2 ULPs of the correctly rounded result (the error budgets are in the docstrings of
:mod:`verify.kernels.elementary`; ``symbolic.tolerance.ULPS_BASE`` allows for them). The functions are
called from a jitted loop over an array, as the kernels call them, so that the vectorised code is the
code under test. Each bound is also shown to reject a plausible wrong implementation.
"""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numba import njit

from verify.kernels.elementary import exp_diff, exp_pair, log1p_nonnegative

MAX_ULPS = 2.0
_MP_PREC = 120


@njit
def _exp_loop(x, out):
    for j in range(x.shape[0]):
        out[j] = exp_pair(x[j], 0.0)


@njit
def _exp_diff_loop(a, b, out):
    for j in range(a.shape[0]):
        out[j] = exp_diff(a[j], b[j])


@njit
def _log1p_loop(s, out):
    for j in range(s.shape[0]):
        out[j] = log1p_nonnegative(s[j])


def _ulps(computed: np.ndarray, exact: list) -> np.ndarray:
    """|computed − exact| in ULPs of the correctly rounded result (2^−1074 for a subnormal one); a result beyond
    the largest float must be +∞ exactly."""
    out = np.empty(len(exact))
    for j, (c, r) in enumerate(zip(computed, exact, strict=True)):
        rounded = float(r)
        if math.isinf(rounded) or math.isinf(c):
            out[j] = 0.0 if c == rounded else math.inf
            continue
        spacing = float(np.spacing(abs(rounded))) if rounded != 0.0 else 5e-324
        out[j] = float(abs(mpmath.mpf(float(c)) - r) / spacing)
    return out


def worst_exp_ulps(loop, x: np.ndarray) -> float:
    out = np.empty_like(x)
    loop(x, out)
    with mpmath.workprec(_MP_PREC):
        return float(_ulps(out, [mpmath.exp(mpmath.mpf(float(v))) for v in x]).max(initial=0.0))


def worst_exp_diff_ulps(loop, a: np.ndarray, b: np.ndarray) -> float:
    out = np.empty_like(a)
    loop(a, b, out)
    with mpmath.workprec(_MP_PREC):
        exact = [mpmath.exp(mpmath.mpf(float(u)) - mpmath.mpf(float(v))) for u, v in zip(a, b, strict=True)]
        return float(_ulps(out, exact).max(initial=0.0))


def worst_log1p_ulps(loop, s: np.ndarray) -> float:
    out = np.empty_like(s)
    loop(s, out)
    with mpmath.workprec(_MP_PREC):
        return float(_ulps(out, [mpmath.log1p(mpmath.mpf(float(v))) for v in s]).max(initial=0.0))


# -------------------------------------------------------------------------------- wrong implementations


@njit
def _exp_degree_9(x, out):
    """Taylor degree 9 after the same reduction: truncation error up to r^10/10! ≈ 2^−37 — wrong."""
    for j in range(x.shape[0]):
        k = np.floor(x[j] / math.log(2.0) + 0.5)
        r = x[j] - k * math.log(2.0)
        p = 1.0
        term = 1.0
        for i in range(1, 10):
            term *= r / i
            p += term
        out[j] = p * 2.0**k


@njit
def _exp_of_rounded_difference(a, b, out):
    """exp(fl(a − b)): the rounding of the difference, up to ulp(b)/2, is lost — wrong for large |b|."""
    for j in range(a.shape[0]):
        out[j] = np.exp(a[j] - b[j])


@njit
def _log_of_one_plus(s, out):
    """log(fl(1 + s)): loses every digit of s below ulp(1) — wrong for small s."""
    for j in range(s.shape[0]):
        out[j] = np.log(1.0 + s[j])


# -------------------------------------------------------------------------------- grids


def _exp_grid() -> np.ndarray:
    rng = np.random.default_rng(20261124)
    return np.concatenate([
        -np.linspace(0.0, 750.0, 3001),  # the whole range, through the subnormals to 0
        -rng.uniform(0.0, 1.0, 1000),  # |r| small and k ∈ {−1, 0}
        -(10.0 ** rng.uniform(-300, 2.5, 1000)),
        (-np.arange(1, 40)[:, None] * math.log(2.0) + np.array([-1e-12, 0.0, 1e-12])).ravel(),  # k steps
        np.array([0.0, -0.0, -5e-324, -708.39641853226408, -744.44007192138122, -745.13321910194111, -746.0,
                  -1e16]),
        np.linspace(0.0, 709.78, 2001),  # positive arguments, up to the largest float
        (np.arange(1, 40)[:, None] * math.log(2.0) + np.array([-1e-12, 0.0, 1e-12])).ravel(),
        np.array([5e-324, 1.0, 709.782712893384, 709.7827128933841, 710.0, 800.0, 1e300]),  # overflow: +inf
    ])


def _log1p_grid() -> np.ndarray:
    rng = np.random.default_rng(20261125)
    return np.concatenate([
        10.0 ** rng.uniform(-320, 308, 2000),
        rng.uniform(0.0, 10.0, 2000),
        rng.uniform(0.35, 0.5, 500),  # around √2 − 1, where k steps from 0 to 1
        np.array([0.0, 5e-324, 1e-300, 2.0**-53, 2.0**-52, 0.5, 1.0, 2.0, 9.0, math.sqrt(2.0) - 1.0,
                  np.nextafter(math.sqrt(2.0) - 1.0, 1.0), 1e300, 1.7976931348623157e308]),
    ])


# -------------------------------------------------------------------------------- tests


def test_exp_pair_within_two_ulps_on_a_grid_through_the_subnormals():
    assert worst_exp_ulps(_exp_loop, _exp_grid()) <= MAX_ULPS


def test_exp_bound_rejects_a_truncated_polynomial():
    assert worst_exp_ulps(_exp_degree_9, -np.linspace(0.0, 20.0, 401)) > MAX_ULPS


@given(hnp.arrays(np.float64, st.integers(1, 64), elements=st.floats(-800.0, 800.0)))
def test_exp_pair_within_two_ulps(x):
    assert worst_exp_ulps(_exp_loop, x) <= MAX_ULPS


@st.composite
def ordered_pairs(draw):
    """(a, b) spanning huge magnitudes, with differences of either sign through exp's range."""
    n = draw(st.integers(1, 32))
    b = draw(hnp.arrays(np.float64, n, elements=st.floats(-1e15, 1e15)))
    gap = draw(hnp.arrays(np.float64, n, elements=st.floats(-720.0, 760.0)))
    return b - gap, b


@given(ordered_pairs())
def test_exp_diff_within_two_ulps_even_for_huge_operands(pair):
    assert worst_exp_diff_ulps(_exp_diff_loop, *pair) <= MAX_ULPS


def test_exp_diff_bound_rejects_the_exponential_of_the_rounded_difference():
    # Opposite signs, so a − b is rounded (Sterbenz does not apply): ulp(600)/2 ≈ 5.7e-14 relative ≈ 500 ULPs.
    b = np.linspace(1.0, 370.0, 50) + 1.0 / 3.0
    a = -np.linspace(1.0, 370.0, 50) * (1.0 + 1.0 / 7.0)
    assert worst_exp_diff_ulps(_exp_diff_loop, a, b) <= MAX_ULPS
    assert worst_exp_diff_ulps(_exp_of_rounded_difference, a, b) > MAX_ULPS


def test_log1p_nonnegative_within_two_ulps_on_a_grid():
    assert worst_log1p_ulps(_log1p_loop, _log1p_grid()) <= MAX_ULPS


@given(hnp.arrays(np.float64, st.integers(1, 64),
                  elements=st.floats(0.0, 1e308) | st.floats(0.0, 1e-5) | st.floats(0.0, 20.0)))
def test_log1p_nonnegative_within_two_ulps(s):
    assert worst_log1p_ulps(_log1p_loop, s) <= MAX_ULPS


def test_log1p_bound_rejects_log_of_one_plus_s():
    s = 10.0 ** np.linspace(-12, -1, 100)
    assert worst_log1p_ulps(_log_of_one_plus, s) > MAX_ULPS


@pytest.mark.parametrize("s", [0.0, 5e-324, 1e-300, 2.0**-60])
def test_log1p_of_a_tiny_argument_is_the_argument(s):
    out = np.empty(1)
    _log1p_loop(np.array([s]), out)
    assert out[0] == s


@given(st.floats(-1e300, 1e300), st.floats(-1e300, 1e300))
def test_exp_diff_of_any_finite_pair_is_never_nan(a, b):
    """Beyond exp's range the rounding error of a − b (up to 1e284 here) must not reach the polynomial:
    exp(+huge) is +∞ and exp(−huge) is 0, never NaN."""
    out = np.empty(1)
    _exp_diff_loop(np.array([a]), np.array([b]), out)
    assert not np.isnan(out[0])
    if a - b > 710:
        assert out[0] == np.inf
    if a - b < -746:
        assert out[0] == 0.0
