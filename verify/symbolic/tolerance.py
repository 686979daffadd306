"""Tolerances derived from the dtype and the conditioning of the problem, and the comparison itself.

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
which rounds to ``±∞`` in that dtype) must be matched exactly.
"""

from __future__ import annotations

import math

import numpy as np

from verify.checks.failure import CheckFailure, error_table

__all__ = ["ULPS_BASE", "allowed_error", "row_terms", "compare"]

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


def compare(
    computed: object,
    reference: object,
    magnitude: object,
    *,
    dtype: np.dtype,
    terms: int = 0,
    what: str = "value",
    context: str = "",
) -> float:
    """Raise :class:`CheckFailure` unless ``computed`` matches ``reference`` within :func:`allowed_error`.

    Returns the largest error as a fraction of the allowed one (≤ 1 on success).
    """
    c = np.asarray(computed, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    with np.errstate(over="ignore"):  # a finite reference beyond the dtype's range is ±∞ in that dtype
        r = np.where(np.isfinite(r), r.astype(np.dtype(dtype)).astype(np.float64), r)
    if c.shape != r.shape:
        raise CheckFailure(f"{what}{context}: shape {c.shape} where the reference has {r.shape}")
    allowed = allowed_error(np.broadcast_to(magnitude, r.shape), dtype, terms)
    finite = np.isfinite(r)
    with np.errstate(invalid="ignore"):
        error = np.where(finite, np.abs(c - r), np.where((c == r) | (np.isnan(c) & np.isnan(r)), 0.0, np.inf))
    error = np.where(np.isnan(error), np.inf, error)
    with np.errstate(over="ignore", invalid="ignore"):
        ratio = np.where(error == 0, 0.0, error / np.where(allowed > 0, allowed, np.inf))
    worst = float(np.max(ratio, initial=0.0))
    if worst > 1.0:
        table = error_table(c.reshape(r.shape) if r.ndim else c.reshape(1), r if r.ndim else r.reshape(1),
                            dtype=np.dtype(dtype))
        raise CheckFailure(
            f"{what}{context} disagrees with the high-precision reference: worst error is {worst:.3g}× the "
            f"allowed (ULPS_BASE + {terms}) · eps({np.dtype(dtype)}) · magnitude\n{table}",
            details={"what": what, "worst_ratio": worst, "computed": c, "reference": r},
        )
    return worst
