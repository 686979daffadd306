"""The NaN/inf count of verify.kernels._finite (read as four streams, the array's quarters, then the rest)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from verify.kernels import _finite


def _expected(x: np.ndarray) -> tuple[int, int]:
    bad = np.flatnonzero(~np.isfinite(x))
    return int(bad.size), int(bad[0]) if bad.size else -1


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("parallel", [False, True], ids=["one thread", "all threads"])
def test_every_position_of_a_bad_entry_is_counted_and_found(dtype, parallel):
    # lengths around the quarter boundaries and the remainder after the four streams (n mod 4 = 0..3)
    for n in range(1, 18):
        for at in range(n):
            for bad in (np.nan, np.inf, -np.inf):
                x = np.linspace(-1.0, 1.0, n).astype(dtype)
                x[at] = bad
                assert _finite.first_bad(x, _finite.NONFINITE, parallel=parallel) == (1, at), (n, at, bad)
    assert _finite.first_bad(np.ones(0, dtype), _finite.NONFINITE, parallel=parallel) == (0, -1)


@given(hnp.arrays(st.sampled_from([np.float64, np.float32]), st.integers(0, 300),
                  elements=st.sampled_from([0.0, -1.5, 2.0, 1e300, np.nan, np.inf, -np.inf])))
def test_the_count_and_first_index_are_numpys(x):
    assert _finite.first_bad(x, _finite.NONFINITE) == _expected(x)
    assert _finite.count_nonfinite(x) == _expected(x)[0]
    assert _finite.count_nonfinite_parallel(x) == _expected(x)[0]


def test_a_count_that_skipped_the_remainder_or_a_quarter_would_be_caught():
    # the bad entries sit in the last quarter and in the remainder (n = 4q + 3): a loop over the four streams alone,
    # or over three of them, misses some
    x = np.zeros(4 * 5 + 3)
    x[[16, 21, 22]] = np.nan
    assert _finite.count_nonfinite(x) == 3
    assert _finite.first_bad(x, _finite.NONFINITE) == (3, 16)


@given(hnp.arrays(st.sampled_from([np.float64, np.float32]), st.integers(0, 40),
                  elements=st.sampled_from([0.0, -1.5, 1e300, np.nan, np.inf, -np.inf])))
def test_the_nonfinite_scan_and_the_scan_of_every_rule_agree(x):
    # first_bad takes SCAN_NONFINITE for NaN/inf in floats; SCAN_VALUES (the CUDA backend's) must say the same
    for parts in (1, 3):
        alone, every = _finite.scan_parts(x.size, parts), _finite.scan_parts(x.size, parts)
        _finite.SCAN_NONFINITE.cpu(x, alone)
        _finite.SCAN_VALUES.cpu(x, every, _finite.NONFINITE, 0)
        assert _finite.combine(alone) == _finite.combine(every) == _expected(x)


def test_first_bad_sends_each_rule_to_a_scan_that_applies_it():
    x = np.array([1.0, np.nan, 2.0])
    assert _finite.first_bad(x, _finite.NONFINITE) == (1, 1)
    assert _finite.first_bad(x, _finite.NEGATIVE) == (0, -1)  # the other rules still go through SCAN_VALUES
