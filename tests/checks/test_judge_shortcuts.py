"""check_gradient's per-point shortcuts (issue 13, item 10: speed) compute what the code they replace computed, bit for
bit: the infinite-entry test built into the stacks' kernels, the lowest set bit read off a float's bits, the lower
quartile ``central()`` keeps, the report stored at once, the argument copies of the evaluator, the float32 test as one
kernel, and the straight path's kernels that write into the caller's arrays. Each test also shows that it can fail (a
wrong variant of the shortcut is told apart)."""

from __future__ import annotations

import dataclasses

import numba
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import verify.checks.gradient as gradient_module
from verify.checks import _gradient_kernels as gk
from verify.checks._evaluate import Evaluator
from verify.checks._gradient_kernels import (
    _lowest_bit_read,
    central_estimates,
    central_point,
    complex_points,
    finite_complex_points,
    finite_perturbed_points,
    float32_values,
    judge_complex_point,
    judge_straight,
    lowest_bit,
    perturbed_points,
    straight_points,
)
from verify.checks._measure import _holds_coarse_numbers
from verify.checks._references import _central_record, central
from verify.checks.gradient import CheckFailure, GradientReport, check_gradient

_TINY = float(np.finfo(np.float64).tiny)
_SMALLEST = 5e-324


@numba.njit
def _both_lowest_bits(v):
    scratch = np.empty(1)
    bits = scratch.view(np.int64)
    old, new = np.empty(v.size), np.empty(v.size)
    for i in range(v.size):
        old[i] = lowest_bit(v[i])
        new[i] = _lowest_bit_read(v[i], scratch, bits)
    return old, new


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(np.ascontiguousarray(a).view(np.int64),
                                                 np.ascontiguousarray(b).view(np.int64))


def test_the_lowest_bit_read_off_the_bits_is_frexps_bit_for_bit():
    """Normal and subnormal magnitudes, both signs, powers of 2, the extremes, and arbitrary bit patterns."""
    rng = np.random.default_rng(13)
    values = np.concatenate([
        rng.standard_normal(20_000) * 10.0 ** rng.integers(-320, 308, 20_000),
        rng.integers(1, 2**53, 20_000).astype(np.float64) * 2.0 ** rng.integers(-1126, 971, 20_000),
        rng.integers(-2**63, 2**63 - 1, 20_000, dtype=np.int64).view(np.float64),
        rng.integers(1, 2**52, 5_000, dtype=np.int64).view(np.float64),  # subnormals, every bit pattern
        np.ldexp(1.0, np.arange(-1074, 1024)), -np.ldexp(1.0, np.arange(-1074, 1024)),
        [_SMALLEST, 3 * _SMALLEST, _TINY, _TINY - _SMALLEST, np.finfo(np.float64).max, 1.0, 3.0, 0.75, -6.5],
    ])
    values = values[np.isfinite(values) & (values != 0.0)]
    assert np.count_nonzero(np.abs(values) < _TINY) > 1000  # subnormals are there
    old, new = _both_lowest_bits(values)
    assert _same_bits(old, new)
    # the comparison resolves a wrong shortcut: the subnormal case taken as a normal one (exponent off by one)
    wrong = new.copy()
    wrong[np.abs(values) < _TINY] *= 2.0
    assert not _same_bits(old, wrong)


_STEP0 = (2.0**-52) ** 0.2  # the central differences' first step per unit of |x| in float64
_finite_floats = st.floats(-1e300, 1e300, allow_nan=False, allow_infinity=False, width=64)


@settings(deadline=None, max_examples=200)
@given(st.lists(st.one_of(_finite_floats, st.sampled_from([np.inf, -np.inf, 0.0, -0.0, 1e-300, _SMALLEST])),
                min_size=1, max_size=9))
@example([0.5, np.inf, -2.0])
@example([1e-300, 0.0, 3.0])
def test_the_stacks_built_with_the_infinite_entry_test_are_the_stacks_built_after_it(entries):
    flat = np.array(entries, dtype=np.float64)
    infinite = ~np.isfinite(flat)
    mask, count, h, taken, stack = finite_perturbed_points(flat, _STEP0)
    n_cs, smallest, step, cs_stack = finite_complex_points(flat, 1e-20)
    assert np.array_equal(mask, infinite) and count == n_cs == np.count_nonzero(infinite)
    if count:
        assert h.size == taken.size == stack.size == step.size == cs_stack.size == 0 and np.isnan(smallest)
        return
    for got, want in zip((h, taken, stack), perturbed_points(flat, _STEP0), strict=True):
        assert _same_bits(got, want)
    want_step, want_stack = complex_points(flat, 1e-20)
    assert _same_bits(step, want_step) and _same_bits(cs_stack.view(np.float64), want_stack.view(np.float64))
    assert smallest == np.minimum.reduce(np.abs(flat))


def _f(x, *rest):
    return np.sum(np.sin(x) * np.cosh(0.5 * x), axis=-1)


@settings(deadline=None, max_examples=100)
@given(st.lists(st.one_of(st.floats(-30.0, 30.0), st.sampled_from([np.inf, -np.inf])), min_size=1, max_size=8),
       st.sampled_from([2.0**-52, 2.0**-23]))
def test_central_keeps_the_lower_quartile_of_its_finite_entries_levels(entries, eps_f):
    """``_noisier_than`` reads ``cen.quartile``: the lower quartile of the measured levels of the finite entries (0 where
    there is none), which it used to sort again."""
    x = np.array(entries)
    with np.errstate(all="ignore"):
        cen = central(Evaluator(_f, 0, None), (x,), x, float(_f(np.where(np.isfinite(x), x, 0.0))), eps_f)
    measured = cen.measured[~cen.infinite]
    expected = float(np.sort(measured)[measured.size // 4]) if measured.size else 0.0
    assert cen.quartile == expected
    for level in (0.0, expected, np.nextafter(expected, 0.0), 1e-300):  # a rounding level: >= 0
        old = bool(np.max(cen.measured, initial=0.0) > level) and bool(measured.size) and expected > level
        assert gradient_module._noisier_than(cen, level) == old


def test_the_central_record_fills_each_field_by_its_name():
    """Central is built positionally on the fast path: each field must get its own row."""
    n = 3
    est = np.arange(12 * n, dtype=np.float64).reshape(12, n)
    kink, finite, infinite = np.zeros(n, bool), np.ones(n, bool), np.zeros(n, bool)
    h0 = np.full(n, -1.0)
    rec = _central_record(est, kink, finite, True, 0.25, 2.0**-52, h0, infinite)
    rows = ("value", "error", "low", "high", "side_error", "curvature", "order", "third", "noise", None, "model",
            "measured")
    for i, name in enumerate(rows):
        if name is not None:
            assert np.array_equal(getattr(rec, name), est[i]), name
    assert np.array_equal(rec.flat, est[9].astype(bool)) and rec.flat.dtype == bool
    assert rec.kink is kink and rec.finite is finite and rec.infinite is infinite and rec.h is h0
    assert rec.quartile == 0.25 and rec.eps_f == 2.0**-52 and rec.values is None and rec.f0 == 0.0
    assert _central_record(est, kink, finite, False, 0.25, 2.0**-52, h0, infinite).low is None


def test_the_report_stored_at_once_is_the_dataclasss_and_stays_frozen():
    report = check_gradient(lambda x: np.sum(np.sin(x), axis=-1), np.cos, (np.array([0.5, 2.0]),))
    fields = dataclasses.asdict(report)
    assert type(report) is GradientReport and report == GradientReport(**fields)
    assert set(vars(report)) == {f.name for f in dataclasses.fields(GradientReport)}
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.examples = 2


def test_the_evaluator_copies_the_arrays_of_each_argument_tuple_it_is_given():
    """The positions of the arrays to copy are found once per argument tuple: a new tuple (another point, another
    shape of arguments) is looked at afresh, and f writing into any argument changes nothing the judge holds."""
    seen = []

    def f(x, a, b, c):
        seen.append((x, a, b, c))
        for v in (x, a, b, c):
            if isinstance(v, np.ndarray):
                v[...] = -7
        return 0.0

    ev = Evaluator(f, 1, None)
    first = (np.ones(2), np.ones(3), 5, np.arange(2))
    second = ([1.0, 2.0], np.zeros(3), np.ones(1), 4)
    for args in (first, first, second, first):
        ev.call(args, args[1])
    assert np.array_equal(first[0], np.ones(2)) and np.array_equal(first[1], np.ones(3))
    assert np.array_equal(first[3], np.arange(2)) and np.array_equal(second[2], np.ones(1))
    assert all(not any(v is w for v, w in zip(call, args, strict=True) if isinstance(v, np.ndarray))
               for call, args in zip(seen, (first, first, second, first), strict=True))
    assert seen[2][0] is second[0]  # not an array: passed as it is


def _float32_values_numpy(values: np.ndarray, f0: float) -> bool:
    """The float32 test as check_gradient stated it in NumPy before it became a kernel (``_float32_values``)."""
    if not abs(f0) <= float(np.finfo(np.float32).max) or float(np.float32(f0)) != f0:
        return False
    finite = np.append(values[np.isfinite(values)], f0)
    integers_only = bool(np.all(finite == np.floor(finite))) and float(np.max(np.abs(finite))) < 2.0**23
    return _holds_coarse_numbers(finite, np.dtype(np.float32)) and not integers_only


_float32_numbers = st.floats(width=32, allow_nan=False, allow_infinity=False).map(float)
_any_values = st.one_of(_float32_numbers, _float32_numbers, st.floats(width=64),
                        st.sampled_from([0.0, -0.0, 0.5, -3.0, 1e-45, 1.4e-45, 3.5e38, 3.4028234663852886e38,
                                         3.4028235677973366e38, 1e39, np.inf, -np.inf, np.nan, 5e-324, 2.0**-149]))


@settings(deadline=None, max_examples=400)
@given(st.lists(_any_values, min_size=6, max_size=18).filter(lambda v: len(v) % 6 == 0), _any_values)
@example([0.5] * 6, 0.25)  # small dyadic numbers only: no more than 8 bits, not taken for float32
@example([float(np.float32(0.1))] * 6, float(np.float32(0.3)))  # float32 numbers of more than 8 bits
@example([float(np.float32(0.1))] * 5 + [0.1], float(np.float32(0.3)))  # one float64 value
@example([float(np.float32(0.1))] * 5 + [1e39], float(np.float32(0.3)))  # beyond float32's range
@example([float(np.float32(0.1))] * 5 + [np.nan], float(np.float32(0.3)))  # not finite: not looked at
def test_the_float32_test_as_one_kernel_is_its_numpy_statement(entries, f0):
    if not np.isfinite(f0):
        f0 = 0.0  # f(x) is finite where the test is made
    values = np.array(entries, dtype=np.float64).reshape(3, 2, -1)
    with np.errstate(all="ignore"):
        assert float32_values(values, f0) == _float32_values_numpy(values, f0)


def test_the_float32_test_tells_float32_results_from_others():
    rng = np.random.default_rng(4)
    values = rng.standard_normal((3, 2, 5)).astype(np.float32).astype(np.float64)
    assert float32_values(values, float(np.float32(0.7)))
    assert not float32_values(values, 0.7)  # f(x) no float32 number
    values[1, 0, 2] = 0.1
    assert not float32_values(values, float(np.float32(0.7)))
    assert not float32_values(np.full((3, 2, 1), 0.75), 0.5)  # 8 bits or fewer: any format holds them


@settings(deadline=None, max_examples=200)
@given(st.lists(st.one_of(_finite_floats, st.floats(-3.0, 3.0),
                          st.sampled_from([np.inf, -np.inf, 0.0, -0.0, 1e-300, _SMALLEST])), min_size=1, max_size=7),
       st.sampled_from([2.0**-52, 2.0**-23]), st.integers(0, 2**32 - 1))
@example([0.5, np.inf, -2.0], 2.0**-52, 0)
@example([1e-300, 0.0, 3.0], 2.0**-52, 1)
def test_the_straight_kernels_write_what_the_allocating_ones_return(entries, eps_f, seed):
    """``straight_points``, ``central_point`` and ``judge_straight`` (check_gradient's straight path) write into the
    caller's arrays the floats that ``finite_perturbed_points``, ``central_estimates`` with ``float32_values``,
    ``finite_complex_points`` and ``judge_complex_point`` return."""
    _compare_straight_kernels(np.array(entries, dtype=np.float64), eps_f, np.random.default_rng(seed))


def test_the_straight_kernels_are_compared_where_the_point_passes_and_where_it_does_not():
    flat = np.array([0.5, -1.25, 2.0])
    assert _compare_straight_kernels(flat, 2.0**-52, np.random.default_rng(0), smooth=True) == gk.FAST_PASS
    assert _compare_straight_kernels(flat, 2.0**-52, np.random.default_rng(0), smooth=True, off=1e-3) != gk.FAST_PASS
    assert _compare_straight_kernels(np.array([0.5, 1e-12]), 2.0**-52, np.random.default_rng(0), smooth=True) \
        == gk.FAST_REFINE  # a tiny entry: the complex step's smaller step


def _compare_straight_kernels(flat, eps_f, rng, smooth=False, off=0.0):
    """Returns the outcome judged (None where an infinite entry sends the point to the general path)."""
    n = flat.size
    step0 = eps_f ** 0.2
    work, stack = np.full((gk.STRAIGHT_ROWS, n), -1.0), np.full((6 * n + 1, n), -1.0)
    count = straight_points(flat, step0, work, stack)
    infinite, want_count, *want = finite_perturbed_points(flat, step0)
    assert count == want_count
    if count:
        assert np.all(work == -1.0) and np.all(stack == -1.0)  # nothing written: the general path takes the point
        return None
    h, taken = work[gk.STRAIGHT_H:gk.STRAIGHT_TAKEN], work[gk.STRAIGHT_TAKEN:gk.STRAIGHT_EST].reshape(3, 2, n)
    for got, expected in zip((h, taken, stack), want, strict=True):
        assert _same_bits(got, expected)
    f0 = float(rng.standard_normal())
    if smooth:  # f = f0 + Σ sin(x_j) − sin(x_j at the point), its values on the stack
        values = f0 + (np.sin(stack[1:]) - np.sin(flat)).sum(axis=1).reshape(3, 2, n)
    else:
        values = f0 + (stack[1:] - flat).sum(axis=1).reshape(3, 2, n) * rng.standard_normal() \
            + rng.standard_normal((3, 2, n)) * 10.0 ** rng.integers(-17, -2)
        if rng.random() < 0.3:
            with np.errstate(over="ignore"):
                values = values.astype(np.float32).astype(np.float64)
            f0 = float(np.float32(f0))
    flags = np.ones((2, n), bool)
    points = np.full((n, n), -1.0 + 0j)
    candidates, quartile, is_float32, smallest, suggests = central_point(values, work, f0, eps_f, flags, flat, 1e-20,
                                                                         points)
    w_est, w_kink, w_finite, w_candidates, w_quartile, w_suggests = central_estimates(values, taken, h, f0, eps_f,
                                                                                      np.zeros(n, bool))
    est = work[gk.STRAIGHT_EST:gk.STRAIGHT_OUT]
    assert _same_bits(est, w_est) and np.array_equal(flags[0], w_kink) and np.array_equal(flags[1], w_finite)
    assert candidates == w_candidates and quartile == w_quartile and suggests == w_suggests
    assert is_float32 == _float32_values_numpy(values, f0)
    if is_float32 or quartile > 64.0 * eps_f * abs(f0):  # the float32 test takes the point: no complex points
        assert np.isnan(smallest) and np.all(points == -1.0) and np.all(work[gk.STRAIGHT_STEP] == -1.0)
        return None
    _, w_smallest, w_step, w_points = finite_complex_points(flat, 1e-20)
    step = work[gk.STRAIGHT_STEP]
    assert smallest == w_smallest and _same_bits(step, w_step)
    assert _same_bits(points.view(np.float64), w_points.view(np.float64))
    if smooth:
        imag = np.cos(flat) * step
        g = np.cos(flat) * (1.0 + off)
    else:
        slope = (values[2, 0] - values[2, 1]) / (taken[2, 0] - taken[2, 1])
        imag = slope * step * (1.0 + rng.standard_normal(n) * 10.0 ** rng.integers(-16, -6))
        g = imag / step * (1.0 + rng.standard_normal(n) * 10.0 ** rng.integers(-16, -10))
    judged = judge_straight(imag, work, flags, g, flat, values, f0, False, 32.0, 2.0**-52, 0.0, np.empty(0),
                            smallest, 1e-10)
    out = work[gk.STRAIGHT_OUT:gk.STRAIGHT_STEP]
    if smallest < 1e-10 or np.count_nonzero(imag) < n:  # the complex step has more to do: nothing judged
        assert judged[0] == gk.FAST_REFINE and np.all(out == -1.0)
        return gk.FAST_REFINE
    want = judge_complex_point(imag, step, est[0], est[1], est[7], flags[1], flags[0], np.zeros(n, bool), 2.0**-52,
                               np.empty(0), g, est[5], flat, values, f0, False, 32.0, 2.0**-52, 0.0, np.empty(0))
    assert judged == (want[0], want[1], *want[5:])
    if want[0] == gk.FAST_PASS:
        assert _same_bits(out, np.array(want[2:5]))
    else:
        assert np.all(out == -1.0)
    return want[0]


_OPTION_VALUES = [0.0, 32.0, 1e-300, -0.0, -1.0, np.inf, np.nan, 2, True, np.float64(4.0), np.float32(2.0), 1e300]


@pytest.mark.parametrize("name", ["ulps", "atol", "f_error", "f_noise", "worst"])
@pytest.mark.parametrize("value", _OPTION_VALUES + [0, 1, 10, -3])
def test_the_common_options_are_taken_as_each_ones_own_check_takes_them(name, value):
    """check_gradient skips the per-option checks where every numeric option is a finite float >= 0 or a positive int:
    whatever it is given, it accepts and stores what _number accepts and returns, and rejects the rest with its error."""
    kind = {"worst": {"integer": True}}.get(name, {})
    try:
        expected = gradient_module._number(value, name, **kind)
    except ValueError as error:
        expected = error
    f = lambda x: np.sum(np.sin(x), axis=-1)  # noqa: E731
    try:
        report = check_gradient(f, np.cos, (np.array([0.5, 2.0]),), **{name: value})
    except ValueError as error:
        assert isinstance(expected, ValueError) and str(error) == str(expected)
        return
    except CheckFailure:  # f_error or f_noise too large to pass a point, atol too small: accepted all the same
        assert not isinstance(expected, ValueError)
        return
    assert not isinstance(expected, ValueError), expected
    if name in ("ulps", "atol"):
        stored = getattr(report, name)
        assert stored == expected and type(stored) is type(expected)
