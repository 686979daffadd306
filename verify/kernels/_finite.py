"""Compiled finiteness scans for argument validation: one pass that counts NaN/±inf entries, so that a
valid array is accepted without allocating NumPy's boolean mask (the mask is built only to name the first
bad entry in the error message, by :func:`verify._validate.require_finite`)."""

from __future__ import annotations

import math

from numba import prange

from verify._jit import jit, parallel_jit

__all__ = ["count_nonfinite", "count_nonfinite_parallel"]


@jit(error_model="numpy")
def count_nonfinite(x):
    """The number of NaN/±inf entries of a 1-D array."""
    bad = 0
    for i in range(x.size):
        if not math.isfinite(x[i]):
            bad += 1
    return bad


@parallel_jit(error_model="numpy")
def count_nonfinite_parallel(x):
    """:func:`count_nonfinite` over the threads."""
    bad = 0
    for i in prange(x.size):
        if not math.isfinite(x[i]):
            bad += 1
    return bad
