"""Evidence and counterexamples laid out as tables, the same for the HTML and the PDF.

A claim's evidence is a JSON-like dict. :func:`evidence_blocks` turns it into blocks a reader can scan:

- scalars (numbers, strings, booleans, short lists) -> one :class:`Fields` table, "key | value";
- a dict of scalars -> its own :class:`Fields`, captioned by its key (never dotted ``a.b.c`` keys);
- a dict of dicts -> a :class:`Table` with a row per outer key and a column per inner key;
- a list of dicts -> a :class:`Table` with a row per dict;
- lists of the same length (three or more) side by side in one dict -> a :class:`Table` whose columns
  are those lists (``widths``, ``sup_error``… as a table, not as long lines);
- a list of equal-length number lists -> a :class:`Matrix` cell.

Cells are :class:`Text`, :class:`Formula` (a string with ``$…$`` is typeset) or :class:`Matrix`. Numbers
go through :func:`verify.report.format.format_number`. A table wider than :data:`TABLE_CHARS` characters
is transposed when that makes it narrower (few rows, many columns), else the columns that hold one
value in every row are shown once above it (:attr:`Table.common`); what is left wraps inside its cells.
Nothing is cut: a table longer than :data:`MAX_ROWS` rows, or a list longer than :data:`MAX_ITEMS`
items, says how many more there are in ``results.json``.

>>> blocks = evidence_blocks({"n": 3, "curve": {"0.1": {"Bias2": -0.0, "Variance": 1.5}, "1": {"Bias2": 2.0}}})
>>> [type(b).__name__ for b in blocks]
['Fields', 'Table']
>>> [c.text for c in blocks[1].columns], [[c.text for c in row] for row in blocks[1].rows]
(['', 'Bias2', 'Variance'], [['0.1', '0', '1.5'], ['1', '2', '—']])
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any, Union

from verify.report.format import format_number, key_label, plain

__all__ = [
    "MAX_ITEMS",
    "MAX_ROWS",
    "TABLE_CHARS",
    "Block",
    "Cell",
    "Fields",
    "Formula",
    "Matrix",
    "Table",
    "Text",
    "cell",
    "cell_chars",
    "evidence_blocks",
    "has_math",
]

MAX_ITEMS = 12
MAX_ROWS = 40
#: Widest table, in characters of cell text, shown as it is; wider ones are transposed or wrapped.
TABLE_CHARS = 100


@dataclasses.dataclass(frozen=True)
class Text:
    text: str


@dataclasses.dataclass(frozen=True)
class Formula:
    """LaTeX as the claim wrote it: one formula (no ``$``) or text with ``$…$`` formulas."""

    latex: str


@dataclasses.dataclass(frozen=True)
class Matrix:
    rows: tuple[tuple[str, ...], ...]


Cell = Union[Text, Formula, Matrix]  # noqa: UP007 - a runtime alias, also used with isinstance


@dataclasses.dataclass(frozen=True)
class Fields:
    """Key/value rows under an optional caption."""

    caption: Cell | None
    rows: tuple[tuple[Cell, Cell], ...]


@dataclasses.dataclass(frozen=True)
class Table:
    """A table: ``columns`` (headers), ``rows``; ``common`` holds (column, value) pairs equal in every row,
    ``more`` the number of rows left out, ``transposed`` whether records run down the columns."""

    caption: Cell | None
    columns: tuple[Cell, ...]
    rows: tuple[tuple[Cell, ...], ...]
    more: int = 0
    common: tuple[tuple[Cell, Cell], ...] = ()
    transposed: bool = False


Block = Union[Fields, Table]  # noqa: UP007


def has_math(text: str) -> bool:
    """Whether ``text`` holds a ``$…$`` formula (``\\$`` is a literal dollar)."""
    return len(re.findall(r"(?<!\\)\$", text)) >= 2


def _deep_plain(value: Any) -> Any:
    value = plain(value)
    if isinstance(value, Mapping):
        return {k: _deep_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_deep_plain(v) for v in value]
    return value


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, bool, int, float, complex))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_matrix(value: Any) -> bool:
    return (isinstance(value, list) and len(value) >= 2 and all(isinstance(r, list) and r for r in value)
            and len({len(r) for r in value}) == 1 and len(value[0]) <= MAX_ITEMS
            and all(_is_number(x) for r in value for x in r))


def _text_cell(text: str) -> Cell:
    return Formula(text) if has_math(text) else Text(text)


def label(key: Any) -> Cell:
    """A key as a header or label cell (typeset when it holds ``$…$``)."""
    return _text_cell(key_label(key))


def _inline(value: Any) -> str:
    """A value inside one line of text (for a value nested deeper than a table cell)."""
    if _is_scalar(value):
        return "—" if value is None else (value if isinstance(value, str) else format_number(value))
    if isinstance(value, Mapping):
        return ", ".join(f"{key_label(k)} {_inline(v)}" for k, v in value.items())
    items = list(value)
    shown = ", ".join(_inline(v) for v in items[:MAX_ITEMS])
    more = len(items) - MAX_ITEMS
    if more > 0:
        shown += f", … ({more} more in results.json)"
    if all(isinstance(v, str) for v in items):
        return shown
    return f"[{shown}]"


def cell(value: Any) -> Cell:
    """One value as a cell: numbers formatted, ``$…$`` typeset, a matrix as a matrix."""
    value = _deep_plain(value)
    if isinstance(value, str):
        return _text_cell(value)
    if _is_matrix(value):
        return Matrix(tuple(tuple(format_number(x) for x in row) for row in value))
    text = _inline(value)
    if isinstance(value, list) and any(isinstance(v, str) and has_math(v) for v in value):
        return Formula(text)
    return Text(text)


def cell_chars(c: Cell | None) -> int:
    """The width of a cell in characters, unwrapped (a formula counts its visible symbols)."""
    if c is None:
        return 0
    if isinstance(c, Text):
        return max((len(line) for line in c.text.splitlines()), default=0)
    if isinstance(c, Matrix):
        widths = [max(len(row[j]) for row in c.rows) for j in range(len(c.rows[0]))]
        return sum(widths) + 2 * len(widths)
    visible = re.sub(r"\\[A-Za-z]+", "x", c.latex)
    return len(re.sub(r"[{}$^_\\]", "", visible))


def _table_chars(columns: Sequence[Cell], rows: Sequence[Sequence[Cell]]) -> int:
    widths = [max([cell_chars(h), *(cell_chars(r[j]) for r in rows)]) for j, h in enumerate(columns)]
    return sum(widths) + 2 * len(widths)


def _transpose(columns: list[Cell], rows: list[list[Cell]]) -> tuple[list[Cell], list[list[Cell]]]:
    """Records down the columns: headed by the first column's values when they tell the rows apart."""
    if len({r[0] for r in rows}) == len(rows):
        return [columns[0], *(r[0] for r in rows)], [[columns[j], *(r[j] for r in rows)]
                                                      for j in range(1, len(columns))]
    return [Text(""), *(Text(str(k + 1)) for k in range(len(rows)))], [[columns[j], *(r[j] for r in rows)]
                                                                      for j in range(len(columns))]


def _fit(caption: Cell | None, columns: list[Cell], rows: list[list[Cell]], more: int) -> Table:
    """The table as it is if it fits :data:`TABLE_CHARS`; else transposed (when narrower) or with the
    columns that hold one value in every row hoisted above it."""
    width = _table_chars(columns, rows)
    if width <= TABLE_CHARS or not rows:
        return Table(caption, tuple(columns), tuple(tuple(r) for r in rows), more)
    if len(rows) <= 6 and not more:
        head, body = _transpose(columns, rows)
        if _table_chars(head, body) < width:
            return Table(caption, tuple(head), tuple(tuple(r) for r in body), transposed=True)
    common: list[tuple[Cell, Cell]] = []
    keep = list(range(len(columns)))
    if len(rows) >= 2 and not more:
        for j in range(1, len(columns)):
            if len(keep) > 2 and all(r[j] == rows[0][j] for r in rows) and cell_chars(columns[j]) > 0:
                common.append((columns[j], rows[0][j]))
                keep.remove(j)
    return Table(caption, tuple(columns[j] for j in keep), tuple(tuple(r[j] for j in keep) for r in rows),
                 more, tuple(common))


def _records_table(caption: Cell | None, records: list[Mapping[str, Any]]) -> Table:
    keys: dict[str, None] = {}
    for record in records:
        keys.update(dict.fromkeys(record))
    columns = [label(k) for k in keys]
    rows = [[cell(record[k]) if k in record else Text("—") for k in keys] for record in records[:MAX_ROWS]]
    return _fit(caption, columns, rows, max(0, len(records) - MAX_ROWS))


def _mapping_table(caption: Cell | None, mapping: Mapping[str, Mapping[str, Any]]) -> Table:
    keys: dict[str, None] = {}
    for inner in mapping.values():
        keys.update(dict.fromkeys(inner))
    columns = [Text("")] + [label(k) for k in keys]
    items = list(mapping.items())
    rows = [[label(outer)] + [cell(inner[k]) if k in inner else Text("—") for k in keys]
            for outer, inner in items[:MAX_ROWS]]
    return _fit(caption, columns, rows, max(0, len(items) - MAX_ROWS))


def _parallel_table(caption: Cell | None, columns: dict[str, list[Any]]) -> Table:
    n = len(next(iter(columns.values())))
    rows = [[cell(values[i]) for values in columns.values()] for i in range(min(n, MAX_ROWS))]
    return _fit(caption, [label(k) for k in columns], rows, max(0, n - MAX_ROWS))


def _is_records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) and v for v in value)


def _is_flat(mapping: Mapping[str, Any]) -> bool:
    return all(_is_scalar(v) or (isinstance(v, list) and all(_is_scalar(x) for x in v)) or _is_matrix(v)
               for v in mapping.values())


def _is_mapping_of_rows(value: Any) -> bool:
    return (isinstance(value, Mapping) and len(value) >= 2
            and all(isinstance(v, Mapping) and v and _is_flat(v) for v in value.values()))


def _parallel_lists(mapping: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The longest group of scalar lists of one length (>= 3 items, >= 2 lists) in ``mapping``."""
    groups: dict[int, dict[str, list[Any]]] = {}
    for key, value in mapping.items():
        if isinstance(value, list) and len(value) >= 3 and all(_is_scalar(v) for v in value):
            groups.setdefault(len(value), {})[key] = value
    best = max(groups.values(), key=len, default={})
    return best if len(best) >= 2 else {}


def _caption(parts: Sequence[str]) -> Cell | None:
    if not parts:
        return None
    return _text_cell(" › ".join(key_label(p) for p in parts))


def evidence_blocks(mapping: Mapping[str, Any] | None, _path: tuple[str, ...] = ()) -> list[Block]:
    """``mapping`` as tables (see the module docstring), in the mapping's own order."""
    mapping = _deep_plain(dict(mapping or {}))
    parallel = _parallel_lists(mapping)
    fields: list[tuple[Cell, Cell]] = []
    blocks: list[Block] = []
    for key, value in mapping.items():
        path = (*_path, str(key))
        if key in parallel:
            if key == next(iter(parallel)):
                blocks.append(_parallel_table(_caption(_path), parallel))
        elif _is_records(value):
            blocks.append(_records_table(_caption(path), value))
        elif _is_mapping_of_rows(value):
            blocks.append(_mapping_table(_caption(path), value))
        elif isinstance(value, Mapping) and value:
            blocks.extend(evidence_blocks(value, path))
        else:
            fields.append((label(key), cell(value)))
    if fields:
        blocks.insert(0, Fields(_caption(_path), tuple(fields)))
    return blocks
