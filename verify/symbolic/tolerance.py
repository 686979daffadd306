"""Tolerances derived from the dtype and the conditioning of the problem.

A kernel output ``c`` is accepted against the correctly rounded reference ``r`` when

    |c − r| ≤ (ULPS_BASE + terms) · eps(dtype) · magnitude  +  ULPS_BASE · smallest_subnormal(dtype)

- ``magnitude`` is the sum of the absolute values of the quantities the result is added up from (the
  condition number of the final sum times ``|r|``; equal to ``|r|`` when they share a sign, as for
  every loss value here except KL). It is supplied by the references
  (:meth:`verify.symbolic.losses.SymbolicLoss.reference_and_magnitudes`).
- ``ULPS_BASE = 8``: a kernel's path from exact inputs to one output has at most four operations
  with an error of up to two ULPs each (libm ``exp``/``log``/``log1p``/``tanh`` are within 1 ULP,
  the vectorised ``exp``/``log1p`` of :mod:`verify.kernels.elementary` and NumPy's float32 SIMD
  ``exp``/``log`` within 2, ``+ − × ÷`` within ½): that bound leaves room for no algorithmic error.
- ``terms``: the number of additions behind the result (``K − 1`` for a sum over a row of ``K``;
  ``⌈log₂ N⌉`` more for NumPy's pairwise sum over ``N`` rows), each adding up to ½ ULP of the magnitude.
- the subnormal term: below the normal range every operation rounds to an absolute grid.

Non-finite references (``±∞`` at ``q = 0 < p``, or a finite value beyond the dtype's largest float,
which rounds to ``±∞`` in that dtype) must be matched exactly. The comparison itself, which judges and
raises :class:`verify.CheckFailure`, is :func:`verify.checks.compare.compare` (the flow of DESIGN.md: the
references give the truth and its magnitudes, the checks judge).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ULPS_BASE", "allowed_error", "row_terms"]

ULPS_BASE = 8


def row_terms(k: int, n: int = 1, reduction: str = "none") -> int:
    """Additions behind a loss value of a row of ``k`` entries, reduced over ``n`` rows."""
    extra = math.ceil(math.log2(n)) if reduction != "none" and n > 1 else 0
    return max(k - 1, 0) + extra


def allowed_error(magnitude: np.ndarray, dtype: np.dtype, terms: int = 0) -> np.ndarray:
    """The largest accepted ``|computed − reference|`` for each entry (see the module docstring)."""
    info = np.finfo(np.dtype(dtype))
    mag = np.abs(np.asarray(magnitude, dtype=np.float64))
    return (ULPS_BASE + terms) * float(info.eps) * mag + ULPS_BASE * float(info.smallest_subnormal)
