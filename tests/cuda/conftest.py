"""Shared helpers of the CUDA backend's tests (run them with ``NUMBA_ENABLE_CUDASIM=1 … --backends cuda``).

The tests call :mod:`verify.kernels.cuda` directly; they run on Numba's CUDA simulator without a GPU
and for real on one. The simulator runs every thread as a Python thread, so inputs are small (a few
hundred threads a launch) and each Hypothesis search is limited to 8 examples (``max_examples=8`` in
the modules). Helpers reach the tests as session fixtures: ``assert_close`` and ``host``.

Tolerances (stated once, used by every module): a kernel computes each output in float64 with a
bounded number of roundings and rounds once to the output dtype, so its error is at most
``C·eps64·magnitude + C·smallest_subnormal64 + ½ ulp(dtype)``, where ``magnitude`` is the condition of the
final sum (the sum of the absolute values added up, from :mod:`verify.symbolic`) and ``C`` counts the roundings
and the error of ``exp``/``log``/``log1p`` (≤ 2 ulp each in CUDA's libdevice and in C's libm). Below the normal
range every float64 operation rounds to an absolute grid (the smallest subnormal), not a relative one: the
``C·smallest_subnormal64`` term (as in :mod:`verify.symbolic.tolerance`). ``tanh'(358) = 4e^{-716}/(1 + e^{-716})²``
is subnormal; ``4·exp(−716)`` multiplies exp's half-subnormal rounding by 4, two subnormal ULPs, the same on
the CPU backends.
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import cuda

from verify.checks.failure import CheckFailure, error_table

ROUNDINGS = 16
_SUBNORMAL64 = float(np.finfo(np.float64).smallest_subnormal)
"""C above: a generous count of float64 roundings and libm errors along one output's computation."""


@pytest.fixture(autouse=True)
def _needs_cuda(request):
    """Skip kernel-running tests where neither a GPU nor the simulator is there (the PTX test runs anyway)."""
    if request.node.get_closest_marker("cuda") and request.module.__name__.split(".")[-1] != "test_cuda_ptx":
        if not cuda.is_available():
            pytest.skip("no CUDA device and NUMBA_ENABLE_CUDASIM is not 1")


def _host(x) -> np.ndarray:
    """A kernel result as a host array (device arrays are copied back)."""
    return x.copy_to_host() if hasattr(x, "copy_to_host") else np.asarray(x)


def _assert_close(computed, reference, magnitude, dtype, what: str) -> None:
    """``|computed − reference| ≤ ROUNDINGS·(eps64·magnitude + smallest_subnormal64) + ½ ulp(dtype)(|reference|)``,
    infinities equal.

    Raises :class:`CheckFailure` with the never-truncated table of the worst entries.
    """
    c = np.atleast_1d(np.asarray(_host(computed), dtype=np.float64))
    r = np.atleast_1d(np.asarray(reference, dtype=np.float64))
    mag = np.broadcast_to(np.atleast_1d(np.asarray(magnitude, dtype=np.float64)), r.shape)
    if c.shape != r.shape:
        raise CheckFailure(f"{what}: shape {c.shape}, reference shape {r.shape}")
    eps = float(np.finfo(np.float64).eps)
    with np.errstate(invalid="ignore", over="ignore"):
        half_ulp = 0.5 * np.spacing(np.abs(r).astype(dtype)).astype(np.float64)
        tol = (ROUNDINGS * (eps * np.where(np.isfinite(mag), mag, 0.0) + _SUBNORMAL64)
               + np.where(np.isfinite(half_ulp), half_ulp, 0.0))
        err = np.abs(c - r)
    same = (c == r) | (np.isnan(c) & np.isnan(r))
    bad = ~same & ~(err <= tol)
    if bad.any():
        raise CheckFailure(f"{what}: {int(bad.sum())} of {r.size} entries outside the tolerance\n"
                           + error_table(c, r, dtype=np.dtype(dtype)))


@pytest.fixture(scope="session")
def host():
    """``host(x)``: a kernel result as a host array."""
    return _host


@pytest.fixture(scope="session")
def assert_close():
    """``assert_close(computed, reference, magnitude, dtype, what)``: see the module docstring."""
    return _assert_close
