"""check_gradient's per-point shortcuts (issue 13, item 10: speed) compute what the code they replace computed, bit for
bit: the infinite-entry test built into the stacks' kernels, the lowest set bit read off a float's bits, the lower
quartile ``central()`` keeps, the report stored at once, the argument copies of the evaluator. Each test also shows
that it can fail (a wrong variant of the shortcut is told apart)."""

from __future__ import annotations

import dataclasses

import numba
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import verify.checks.gradient as gradient_module
from verify.checks._evaluate import Evaluator
from verify.checks._gradient_kernels import (
    _lowest_bit_read,
    complex_points,
    finite_complex_points,
    finite_perturbed_points,
    lowest_bit,
    perturbed_points,
)
from verify.checks._references import _central_record, central
from verify.checks.gradient import GradientReport, check_gradient

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
    fields.pop("jumps")
    with pytest.raises(TypeError):  # a field missing: the dataclass's own error, not a report without it
        gradient_module._new_report(**fields, jump=0)


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
