"""``CheckFailure`` and the error measures and tables every checker reports with.

Error measures, for a computed value ``c`` and a reference ``r`` (both finite):

- absolute error ``|c − r|``;
- relative error ``|c − r| / |r|`` (``inf`` when ``r = 0 ≠ c``, ``0`` when both are 0);
- ULPs: ``|c − r| / ulp(r)`` where ``ulp(r) = numpy.spacing(|r|)`` in the dtype of ``c``. At
  ``r = 0`` the spacing is the smallest subnormal, so a result that is wrong by being tiny is
  *not* hidden, and one that underflows to 0 where ``r = 1e-18`` scores about 1e-18 / 1.9e-34 ≈ 5e15 ULPs.
  A checker whose tolerance is set at a coarser scale than ``r``'s own (a derivative near 0 next to an ``f`` of
  size 1: the judge's "below f's resolution") passes that scale's unit as ``floor``: the ULPs are then counted in
  ``max(ulp(r), floor)``, so a figure near 0 says how many roundings at the scale that decides the error is, not
  how many subnormals.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

__all__ = ["CheckFailure", "ulp_error", "relative_error", "error_table", "format_arguments"]


class CheckFailure(AssertionError):
    """Raised by every checker of ``verify`` when an implementation is wrong.

    The message is for a person: the failing input, the reference used, expected vs actual, and a
    table of the worst entries, never truncated. ``details`` keeps the same facts as data.
    """

    def __init__(self, message: str, *, details: dict | None = None) -> None:
        super().__init__(message)
        self.details = details or {}


def ulp_error(computed: np.ndarray, reference: np.ndarray, dtype: np.dtype | None = None,
              floor: np.ndarray | float | None = None) -> np.ndarray:
    """``|computed − reference|`` in units of the last place of ``reference`` in ``dtype`` (or of ``floor``, per
    entry, where that unit is larger: module docstring).

    ``reference`` should be more accurate than ``dtype`` (float64 from a high-precision value, or
    exact). Both infinities equal → 0; a mismatch in non-finite values → ``inf``.

    >>> float(ulp_error(np.float64(1e-17), 0.0))  # in subnormals of 0
    2.0240225330731063e+306
    >>> float(ulp_error(np.float64(1e-17), 0.0, floor=2.2e-16))  # in the unit the tolerance uses there
    0.045454545454545456
    """
    c = np.asarray(computed)
    dt = np.dtype(dtype) if dtype is not None else (c.dtype if c.dtype.kind == "f" else np.dtype(np.float64))
    r = np.asarray(reference, dtype=np.float64)
    c64 = c.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        spacing = np.spacing(np.abs(r).astype(dt)).astype(np.float64)
        if floor is not None:
            spacing = np.maximum(spacing, np.nan_to_num(np.asarray(floor, dtype=np.float64), nan=0.0))
        out = np.abs(c64 - r) / spacing
    same = (c64 == r) | (np.isnan(c64) & np.isnan(r))
    out = np.where(same, 0.0, out)
    return np.where(np.isnan(out), np.inf, out)


def relative_error(computed: np.ndarray, reference: np.ndarray) -> np.ndarray:
    c = np.asarray(computed, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rel = np.abs(c - r) / np.abs(r)
    rel = np.where(c == r, 0.0, rel)
    return np.where(np.isnan(rel), np.inf, rel)


def error_table(
    computed: np.ndarray,
    reference: np.ndarray,
    *,
    worst: int = 10,
    dtype: np.dtype | None = None,
    order_by: str | np.ndarray = "ulps",
    labels: Sequence[str] | None = None,
    extra: dict[str, np.ndarray] | None = None,
    ulp_floor: np.ndarray | None = None,
) -> str:
    """A plain-text table of the ``worst`` entries: index, reference, computed, abs, rel, ULPs.

    Numbers are printed with ``repr`` precision (17 significant digits) and never elided.
    ``order_by`` is ``"ulps"``, ``"abs"``, ``"rel"`` or an array (shaped like ``computed``) whose
    largest entries come first, e.g. error / tolerance. ``extra`` adds columns (name → array shaped
    like ``computed``, printed with 4 significant digits), e.g. the tolerance of each entry. ``ulp_floor`` (shaped
    like ``computed``) is the ``floor`` of :func:`ulp_error`: the unit of the ULPs column where it is coarser than
    the reference's own.
    """
    c = np.asarray(computed)
    r = np.asarray(reference, dtype=np.float64)
    if c.shape != r.shape:
        raise ValueError(f"computed and reference must have the same shape; got {c.shape} and {r.shape}")
    with np.errstate(invalid="ignore", over="ignore"):
        absolute = np.abs(c.astype(np.float64) - r)
    absolute = np.where(c == r, 0.0, absolute)
    rel = relative_error(c, r)
    ulps = ulp_error(c, r, dtype, ulp_floor)
    if isinstance(order_by, str):
        key = {"ulps": ulps, "abs": absolute, "rel": rel}[order_by]
    else:
        key = np.asarray(order_by, dtype=np.float64)
        if key.shape != c.shape:
            raise ValueError(f"order_by must have the shape of computed {c.shape}; got {key.shape}")
    extra = {name: np.asarray(col) for name, col in (extra or {}).items()}
    flat_order = np.argsort(-np.nan_to_num(key.ravel(), nan=np.inf, posinf=np.inf), kind="stable")[:worst]
    header = ("index", "reference", "computed", "abs error", "rel error", "ULPs", *extra)
    rows = [header]
    for flat in flat_order:
        idx = np.unravel_index(int(flat), c.shape) if c.ndim else ()
        label = labels[int(flat)] if labels is not None else str(tuple(int(i) for i in idx))
        rows.append((
            label,
            repr(float(r[idx])),
            repr(float(c[idx])),
            f"{float(absolute[idx]):.3e}",
            f"{float(rel[idx]):.3e}",
            f"{float(ulps[idx]):.3g}",
            *(_cell(col[idx]) for col in extra.values()),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, (str, np.str_)):
        return str(value)
    return f"{float(value):.4g}"


def format_arguments(args: Sequence[object], *, names: Sequence[str] | None = None) -> str:
    """Every argument in full, one per line, floats with 17 significant digits; never elided.

    A person must be able to paste the failing input back into Python, so arrays are printed with
    ``numpy.array2string(threshold=sys.maxsize)`` (no "…") and with their dtype.
    """
    lines = []
    for i, value in enumerate(args):
        name = names[i] if names is not None else f"args[{i}]"
        if isinstance(value, np.ndarray):
            body = np.array2string(
                value, threshold=sys.maxsize, max_line_width=110, precision=17, separator=", ",
                floatmode="maxprec", prefix="np.array(",
            )
            text = f"np.array({body}, dtype=np.{value.dtype})"
        else:
            text = repr(value)
        indented = text.replace("\n", "\n" + " " * (len(name) + 5))
        lines.append(f"  {name} = {indented}")
    return "\n".join(lines)
