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
    a = np.array([1.0, np.nan, 2.0, np.inf, 3.0] * 3000)  # parallel: several chunks, whose counts are summed
    b = np.array([0.0, 0.0, -np.inf, 0.0, np.nan] * 3000)
    counts = getattr(COUNTED, variant)(a, b, 2.0)
    assert counts == (6000, 6000)
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
