"""Compiled scans for argument validation, written once for every backend.

A scan counts the entries of an array that break one rule (not finite, outside [0, 1], negative, not ±1,
not 0/1, a class index outside ``[0, K)``; for probability rows: a row sum farther than a tolerance from 1)
and finds the first of them, without allocating NumPy's boolean mask. Each is a :func:`reduction` of
:mod:`verify.kernels._compile`: the same function scans host arrays (its ``cpu``/``parallel`` kernels) and
device arrays (its CUDA kernel), so a bad argument gets the same verdict and the same message on every
backend. :func:`first_bad` runs one on a host array; the CUDA backend launches ``.cuda`` the same way.

The commonest rule, NaN/±inf in a float array, has a scan of its own on the host (:data:`SCAN_NONFINITE`): the scan
of every rule compiles six counting loops per dtype (2.5 s of CPU for float64 on the 2-core machine, at load 7),
the NaN/inf scan one (0.9 s), and a process that only checks finiteness (an optimizer run, an activation) never
compiles the others. Both count with the same function, so they agree entry for entry.
"""

from __future__ import annotations

import numpy as np

from verify._jit import jit
from verify.kernels._compile import reduction

__all__ = [
    "NONFINITE",
    "OUTSIDE_UNIT",
    "NEGATIVE",
    "NOT_SIGN",
    "NOT_BINARY",
    "OUTSIDE_RANGE",
    "SCAN_VALUES",
    "SCAN_NONFINITE",
    "SCAN_ROW_SUMS",
    "scan_parts",
    "combine",
    "first_bad",
    "first_bad_row",
    "count_nonfinite",
    "count_nonfinite_parallel",
]

# The rules of SCAN_VALUES (its ``mode``): what makes an entry v bad.
NONFINITE = 0  # NaN or ±inf
OUTSIDE_UNIT = 1  # v < 0 or v > 1 (a probability)
NEGATIVE = 2  # v < 0
NOT_SIGN = 3  # v ∉ {−1, +1}
NOT_BINARY = 4  # v ∉ {0, 1}
OUTSIDE_RANGE = 5  # v < 0 or v ≥ bound (a class index)


@jit(forceinline=True, error_model="numpy")
def _bad(v, mode, bound):
    if mode == NONFINITE:
        return not (v - v == 0.0)  # x − x is 0 for a finite x, NaN for ±inf and NaN
    if mode == OUTSIDE_UNIT:
        return v < 0 or v > 1
    if mode == NEGATIVE:
        return v < 0
    if mode == NOT_SIGN:
        return v != 1 and v != -1
    if mode == NOT_BINARY:
        return v != 0 and v != 1
    return v < 0 or v >= bound


@jit(forceinline=True, error_model="numpy")
def _count(x, mode, bound):
    count = 0
    for i in range(x.shape[0]):  # a counting loop without an early exit vectorises
        count += 1 if _bad(x[i], mode, bound) else 0
    return count


@jit(forceinline=True, error_model="numpy")
def _nonfinite(v):
    return 1 if v - v != 0.0 else 0  # x − x is 0 for a finite x, NaN for ±inf and NaN


@jit(forceinline=True, error_model="numpy")
def _count_nonfinite(x):
    """The number of NaN/±inf entries of ``x``, read as four streams (its quarters, side by side), then the rest.

    Reading four places of the array at once keeps more cache lines in flight than one stream does, so one thread
    reads faster: 2.6 ms instead of 3.9 ms of CPU time for 1e7 float64 on the 2-core bench machine (median of 60
    interleaved runs, load 6). Only this rule is read so: the same four-stream loop for all six rules made the
    scan's first compile 8 times slower (40 s instead of 5)."""
    q = x.shape[0] // 4
    a, b, c, d = x[:q], x[q:2 * q], x[2 * q:3 * q], x[3 * q:4 * q]
    count = 0
    for i in range(q):
        count += _nonfinite(a[i]) + _nonfinite(b[i]) + _nonfinite(c[i]) + _nonfinite(d[i])
    for i in range(4 * q, x.shape[0]):
        count += _nonfinite(x[i])
    return count


@jit(forceinline=True, error_model="numpy")
def _scan_values(x, out, first, mode, bound):
    """``out = (number of bad entries of x, index of the first one + first, or −1)``. The loop is written once
    per rule (its mode a constant there), so that each one vectorises."""
    if mode == NONFINITE:
        count = _count_nonfinite(x)
    elif mode == OUTSIDE_UNIT:
        count = _count(x, OUTSIDE_UNIT, bound)
    elif mode == NEGATIVE:
        count = _count(x, NEGATIVE, bound)
    elif mode == NOT_SIGN:
        count = _count(x, NOT_SIGN, bound)
    elif mode == NOT_BINARY:
        count = _count(x, NOT_BINARY, bound)
    else:
        count = _count(x, OUTSIDE_RANGE, bound)
    at = -1
    if count:
        for i in range(x.shape[0]):
            if _bad(x[i], mode, bound):
                at = first + i
                break
    out[0] = count
    out[1] = at


@jit(forceinline=True, error_model="numpy")
def _scan_nonfinite(x, out, first):
    """:func:`_scan_values` for the rule ``NONFINITE`` alone (float arrays on the host; see the module docstring)."""
    count = _count_nonfinite(x)
    at = -1
    if count:
        for i in range(x.shape[0]):
            if _nonfinite(x[i]):
                at = first + i
                break
    out[0] = count
    out[1] = at


@jit(forceinline=True, error_model="numpy")
def _scan_row_sums(p, out, first, tol):
    """``out = (number of rows of p whose float64 sum is farther than tol from 1, first such row or −1)``."""
    count = 0
    at = -1
    for r in range(p.shape[0]):
        total = 0.0
        for k in range(p.shape[1]):
            total += p[r, k]
        if abs(total - 1.0) > tol:
            if count == 0:
                at = first + r
            count += 1
    out[0] = count
    out[1] = at


_FLOATS = ("float32", "float64")
SCAN_VALUES = reduction(
    _scan_values, name="scan_values", arrays=("x", "out"), out="out", scalars=("mode", "bound"),
    signatures=tuple(f"void({t}[::1], int64[:, ::1], int64, int64)" for t in (*_FLOATS, "int64")),
    error_model="numpy",
)
#: The NaN/±inf scan of float arrays on the host (no CUDA signatures: the CUDA backend launches SCAN_VALUES).
SCAN_NONFINITE = reduction(_scan_nonfinite, name="scan_nonfinite", arrays=("x", "out"), out="out", error_model="numpy")
SCAN_ROW_SUMS = reduction(
    _scan_row_sums, name="scan_row_sums", arrays=("p", "out"), out="out", scalars=("tol",),
    signatures=tuple(f"void({t}[:, ::1], int64[:, ::1], float64)" for t in _FLOATS),
    error_model="numpy",
)


def scan_parts(n: int, parts: int) -> np.ndarray:
    """The (parts, 2) int64 array a scan of ``n`` rows writes into (at least one part, at most one per row)."""
    return np.zeros((max(1, min(n, parts)), 2), dtype=np.int64)


def combine(partial: np.ndarray) -> tuple[int, int]:
    """``(count, first index)`` over the parts of a scan (the first index is −1 when the count is 0)."""
    count = int(partial[:, 0].sum())
    firsts = [int(i) for c, i in partial if c]
    return count, (min(firsts) if firsts else -1)


def first_bad(x: np.ndarray, mode: int, bound: int = 0, *, parallel: bool = False) -> tuple[int, int]:
    """``(count, first flat index)`` of the entries of a C-contiguous host array breaking rule ``mode``."""
    flat = x.reshape(-1)
    partial = scan_parts(flat.shape[0], 64 if parallel else 1)
    if mode == NONFINITE and flat.dtype.kind == "f":
        (SCAN_NONFINITE.parallel if parallel else SCAN_NONFINITE.cpu)(flat, partial)
    else:
        (SCAN_VALUES.parallel if parallel else SCAN_VALUES.cpu)(flat, partial, mode, bound)
    return combine(partial)


def first_bad_row(p: np.ndarray, tol: float, *, parallel: bool = False) -> tuple[int, int]:
    """``(count, first row)`` of the rows of a C-contiguous (N, K) host array not summing to 1 within ``tol``."""
    partial = scan_parts(p.shape[0], 64 if parallel else 1)
    (SCAN_ROW_SUMS.parallel if parallel else SCAN_ROW_SUMS.cpu)(p, partial, float(tol))
    return combine(partial)


def count_nonfinite(x: np.ndarray) -> int:
    """The number of NaN/±inf entries of a C-contiguous float array (one serial pass)."""
    return first_bad(np.ascontiguousarray(x), NONFINITE)[0]


def count_nonfinite_parallel(x: np.ndarray) -> int:
    """:func:`count_nonfinite` over the threads."""
    return first_bad(np.ascontiguousarray(x), NONFINITE, parallel=True)[0]
