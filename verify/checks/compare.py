"""The comparison of a kernel's output with its high-precision reference, within the derived tolerance.

:mod:`verify.symbolic` gives the truth (correctly rounded references) and the magnitudes and allowed
errors (:mod:`verify.symbolic.tolerance`); this module judges, and raises :class:`verify.CheckFailure` with
the table of the worst entries — the one-way flow of DESIGN.md (symbolic → checks).
"""

from __future__ import annotations

import numpy as np

from verify.checks.failure import CheckFailure, error_table
from verify.symbolic.tolerance import allowed_error

__all__ = ["compare"]


def compare(
    computed: object,
    reference: object,
    magnitude: object,
    *,
    dtype: np.dtype,
    terms: int = 0,
    what: str = "value",
    context: str = "",
    delivered: np.dtype | None = None,
) -> float:
    """Raise :class:`CheckFailure` unless ``computed`` matches ``reference`` within :func:`allowed_error`.

    ``dtype`` sets the rounding the tolerance allows; ``delivered`` is the dtype ``computed`` comes in, to which the
    reference is rounded (default ``dtype``): a reduced loss of float32 rows is summed and returned in float64, so
    its reference is not rounded to float32 (a finite sum beyond float32's range is no ∞ there).
    Returns the largest error as a fraction of the allowed one (≤ 1 on success).
    """
    c = np.asarray(computed, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    with np.errstate(over="ignore"):  # a finite reference beyond the dtype's range is ±∞ in that dtype
        r = np.where(np.isfinite(r), r.astype(np.dtype(delivered or dtype)).astype(np.float64), r)
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
