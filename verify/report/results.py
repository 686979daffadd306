"""``results.json``: the claim records (DESIGN.md schema) with the summary and the environment.

Layout::

    {"schema": "verify-report/1", "summary": {...}, "environment": {...},
     "claims": [{"id", "statement", "source", "kind", "verdict", "evidence", "seconds", ...}, ...]}

Each claim is ``ClaimRecord.to_json()`` (plus ``"figure": true/false`` and ``"figure_error"`` when its
figure raised). The file is strict JSON: NumPy values become plain numbers and lists, and the
non-finite floats that strict JSON cannot hold become the strings ``"nan"``, ``"inf"``, ``"-inf"``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from typing import Any

from verify.report.build import Report
from verify.report.files import replace_atomically

__all__ = ["SCHEMA", "jsonable", "report_json", "write_json"]

SCHEMA = "verify-report/1"


def jsonable(value: Any) -> Any:
    """``value`` made strict-JSON serialisable (see the module docstring for non-finite floats)."""
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return jsonable(value.tolist())
    if isinstance(value, complex):
        return {"real": jsonable(value.real), "imag": jsonable(value.imag)}
    return str(value)


def _claim_json(report: Report, record) -> dict[str, Any]:
    out = record.to_json()
    figure = report.figures.get(record.id)
    out["figure"] = bool(figure and figure.present)
    if figure is not None and figure.error is not None:
        out["figure_error"] = figure.error
    return out


def report_json(report: Report) -> dict[str, Any]:
    return jsonable({
        "schema": SCHEMA,
        "summary": report.summary(),
        "environment": report.environment,
        "claims": [_claim_json(report, r) for r in report.records],
    })


def write_json(report: Report, path: str | os.PathLike[str]) -> str:
    """Write ``results.json`` to ``path`` (atomically); returns the path written."""
    text = json.dumps(report_json(report), indent=2, allow_nan=False) + "\n"
    with replace_atomically(path) as handle:
        handle.write(text.encode("utf-8"))
    return os.fspath(path)
