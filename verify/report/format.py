"""Evidence, counterexamples and run times as short human-readable text (shared by HTML and PDF).

Numbers are shown with 6 significant digits; ``results.json`` keeps them in full. A list longer than
:data:`MAX_ITEMS` shows its first items and says how many more there are and where they are, so a
report stays readable without hiding that anything was left out.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["MAX_ITEMS", "MAX_ROWS", "RecordTable", "format_value", "flatten", "evidence_rows", "format_seconds"]

MAX_ITEMS = 12
MAX_ROWS = 40


def _format_number(x: Any) -> str:
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, numbers.Integral):
        return str(int(x))
    value = float(x)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "−inf"
    return f"{value:.6g}".replace("-", "−")


def format_value(value: Any) -> str:
    """One evidence value as text: numbers to 6 significant digits, lists inline (capped), dicts inline."""
    if value is None:
        return "—"
    if isinstance(value, numbers.Number) and not isinstance(value, complex):
        return _format_number(value)
    if isinstance(value, str):
        return value
    if hasattr(value, "tolist") and not isinstance(value, Mapping):  # numpy scalars and arrays
        return format_value(value.tolist())
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {format_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Sequence):
        shown = ", ".join(format_value(v) for v in list(value)[:MAX_ITEMS])
        more = len(value) - MAX_ITEMS
        suffix = f", … ({more} more in results.json)" if more > 0 else ""
        return f"[{shown}{suffix}]"
    return str(value)


def flatten(mapping: Mapping[str, Any] | None, prefix: str = "") -> list[tuple[str, str]]:
    """``(dotted key, formatted value)`` rows of a nested mapping, in its own order."""
    rows: list[tuple[str, str]] = []
    for key, value in (mapping or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            rows.extend(flatten(value, prefix=f"{name}."))
        else:
            rows.append((name, format_value(value)))
    return rows


@dataclasses.dataclass(frozen=True)
class RecordTable:
    """A list of records (dicts) shown as a table: ``columns``, formatted ``rows``, ``more`` left out."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    more: int = 0


def _record_table(value: Any) -> RecordTable | None:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence) or not value:
        return None
    if not all(isinstance(v, Mapping) for v in value):
        return None
    flat = [dict(flatten(v)) for v in value]
    columns: dict[str, None] = {}
    for row in flat:
        columns.update(dict.fromkeys(row))
    rows = tuple(tuple(row.get(c, "") for c in columns) for row in flat[:MAX_ROWS])
    return RecordTable(tuple(columns), rows, max(0, len(flat) - MAX_ROWS))


def evidence_rows(mapping: Mapping[str, Any] | None, prefix: str = "") -> list[tuple[str, str | RecordTable]]:
    """Like :func:`flatten`, but a list of records becomes a :class:`RecordTable` instead of a string."""
    rows: list[tuple[str, str | RecordTable]] = []
    for key, value in (mapping or {}).items():
        name = f"{prefix}{key}"
        table = _record_table(value)
        if table is not None:
            rows.append((name, table))
        elif isinstance(value, Mapping) and value:
            rows.extend(evidence_rows(value, prefix=f"{name}."))
        else:
            rows.append((name, format_value(value)))
    return rows


def format_seconds(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"
