"""elementwise(count_nonfinite=...): the finiteness check fused into the update's pass over memory."""

from __future__ import annotations

import numpy as np
import pytest

from verify._jit import jit
from verify.kernels._compile import elementwise


@jit(inline="always", cache=False)
def _scale(a, b, s):
    return a * s, b + a


COUNTED = elementwise(_scale, name="test_compile_counted", arrays=("a", "b"), assigned=("a", "b"), scalars=("s",),
                      count_nonfinite=("a", "b"), cache=False)


@pytest.mark.parametrize("variant", ["cpu", "parallel"])
def test_the_counts_are_of_the_entries_before_the_update_and_the_update_is_applied(variant):
    a = np.array([1.0, np.nan, 2.0, np.inf, 3.0] * 300)
    b = np.array([0.0, 0.0, -np.inf, 0.0, np.nan] * 300)
    counts = getattr(COUNTED, variant)(a, b, 2.0)
    assert counts == (600, 600)
    assert a[0] == 2.0 and b[0] == 1.0  # every entry stepped
    assert getattr(COUNTED, variant)(np.ones(7), np.ones(7), 1.0) == (0, 0)


def test_counted_arrays_must_be_distinct_arrays_of_the_kernel():
    with pytest.raises(ValueError, match="count_nonfinite must name distinct arrays"):
        elementwise(_scale, name="test_compile_counted_bad", arrays=("a", "b"), assigned=("a",), scalars=("s",),
                    count_nonfinite=("c",), cache=False)
    with pytest.raises(ValueError, match="count_nonfinite must name distinct arrays"):
        elementwise(_scale, name="test_compile_counted_bad2", arrays=("a", "b"), assigned=("a",), scalars=("s",),
                    count_nonfinite=("a", "a"), cache=False)


def test_the_cuda_variant_takes_a_trailing_counts_array():
    assert COUNTED.cuda_source.startswith("def NAME(a, b, s, _counts):")
    assert "_cuda.atomic.add(_counts, 1, 1)" in COUNTED.cuda_source


REFUSING = elementwise(_scale, name="test_compile_refusing", arrays=("a", "b"), assigned=("a", "b"), scalars=("s",),
                       count_nonfinite=("a",), refuse_nonfinite=("b",), cache=False)


@pytest.mark.parametrize("variant", ["cpu", "parallel"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", [0, 4_999, 9_999])
def test_a_refused_array_with_a_nan_or_inf_means_nothing_is_written(variant, bad, where):
    a, b = np.arange(10_000.0), np.ones(10_000)
    b[where] = bad
    a[3] = np.nan  # counted, but the update never runs: its count is 0
    before_a, before_b = a.copy(), b.copy()
    assert getattr(REFUSING, variant)(a, b, 2.0) == (1, 0)
    np.testing.assert_array_equal(a, before_a)
    np.testing.assert_array_equal(b, before_b)
    # the same kernel merely counting b (the check as it writes) has stepped every other entry by then
    assert COUNTED.cpu(a, b, 2.0)[1] == 1 and not np.array_equal(a, before_a)


@pytest.mark.parametrize("variant", ["cpu", "parallel"])
def test_finite_refused_arrays_let_the_update_run_with_its_counts(variant):
    a, b = np.array([1.0, np.inf, 3.0]), np.array([1.0, 2.0, 3.0])
    assert getattr(REFUSING, variant)(a, b, 2.0) == (0, 1)
    assert a[0] == 2.0 and b[0] == 2.0 and b[2] == 6.0
    assert getattr(REFUSING, variant)(np.empty(0), np.empty(0), 2.0) == (0, 0)


def test_refused_arrays_must_be_distinct_arrays_of_the_kernel():
    with pytest.raises(ValueError, match="refuse_nonfinite must name distinct arrays"):
        elementwise(_scale, name="test_compile_refused_bad", arrays=("a", "b"), assigned=("a",), scalars=("s",),
                    refuse_nonfinite=("c",), cache=False)


def test_the_cuda_variant_leaves_the_scan_of_refused_arrays_to_its_caller():
    # a grid cannot wait for a scan over all its blocks: the CUDA launcher scans first (DeviceArgs finite=True)
    assert REFUSING.cuda_source.startswith("def NAME(a, b, s, _counts):")
    assert "b[_i] - b[_i]" not in REFUSING.cuda_source and "a[_i] - a[_i]" in REFUSING.cuda_source
