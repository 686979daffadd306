"""Evidence as tables a reader can scan: numbers formatted, nested dicts as tables, nothing dropped or cut."""

from __future__ import annotations

import math
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from verify.report.evidence import (
    MAX_ITEMS,
    MAX_ROWS,
    TABLE_CHARS,
    Fields,
    Formula,
    Matrix,
    Table,
    Text,
    cell_chars,
    evidence_blocks,
)
from verify.report.format import format_number, key_label


def test_numbers_read_as_a_person_writes_them():
    assert format_number(-0.0) == "0" and format_number(0.0) == "0"
    assert format_number(2.5999999999999996) == "2.6"
    assert format_number(-5.586e-06) == "−5.586×10⁻⁶"
    assert format_number(3.811e-32) == "3.811×10⁻³²"
    assert format_number(1e-6) == "10⁻⁶" and format_number(-1e20) == "−10²⁰"
    assert format_number(123456.0) == "1.235×10⁵" and format_number(99999.0) == "100000"
    assert format_number(27800.0) == "27800" and format_number(12344.9) == "12340" and format_number(1234.5) == "1234"
    assert format_number(0.001) == "0.001" and format_number(0.0009) == "9×10⁻⁴"
    assert format_number(20261123) == "20261123"  # integers (seeds, counts) keep every digit
    assert format_number(-3) == "−3"
    assert (format_number(float("nan")), format_number(float("inf")), format_number(-math.inf)) == ("NaN", "∞", "−∞")
    assert (format_number(True), format_number(False)) == ("yes", "no")


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_formatted_number_is_never_minus_zero_and_reads_back_to_4_digits(x):
    text = format_number(x)
    assert text not in ("−0", "-0") and "-" not in text and "e" not in text
    sign = -1 if text.startswith("−") else 1
    text = text.removeprefix("−")
    if text.startswith("10") and text[2:3] and text[2] in "⁰¹²³⁴⁵⁶⁷⁸⁹⁻":  # 10⁻⁶: a mantissa of 1
        text = "1×" + text
    mantissa, _, power = text.partition("×10")
    exponent = int(power.translate(str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-"))) if power else 0
    value = sign * Decimal(mantissa) * Decimal(10) ** exponent
    assert abs(value - Decimal(x)) <= Decimal("5.01e-4") * abs(Decimal(x)), (x, text)


def test_keys_snake_case_gets_spaces_anything_else_is_kept():
    assert key_label("max_abs_difference") == "max abs difference"
    assert key_label("rate_at_beta_0.995") == "rate at beta 0.995"
    for kept in ("f(x1) < f(x2)", "E[m_i / (1 + beta^i)]", "u2", "2/L", "D_KL(p,q)", "$\\beta_1$"):
        assert key_label(kept) == kept


def _texts(blocks) -> list[str]:
    """Every piece of text the blocks show."""
    out = []

    def add(c):
        if isinstance(c, Text):
            out.append(c.text)
        elif isinstance(c, Formula):
            out.append(c.latex)
        elif isinstance(c, Matrix):
            out.extend(x for row in c.rows for x in row)

    for b in blocks:
        if b.caption is not None:
            add(b.caption)
        if isinstance(b, Fields):
            for k, v in b.rows:
                add(k)
                add(v)
        else:
            for c in b.columns:
                add(c)
            for row in b.rows:
                for c in row:
                    add(c)
            for k, v in b.common:
                add(k)
                add(v)
    return out


def test_nested_dicts_become_tables_not_dotted_keys():
    blocks = evidence_blocks({
        "n": 3,
        "curve": {"0.0001": {"Bias2": -5.6e-06, "Variance": 0.031}, "100.0": {"Bias2": 0.41}},
        "budget": {"alpha": 1e-6, "checks": 8},
        "runs": [{"eta": "1/10", "observed": "converges"}, {"eta": "1", "observed": "cycles"}],
    })
    assert [type(b) for b in blocks] == [Fields, Table, Fields, Table]
    curve = blocks[1]
    assert curve.caption == Text("curve")
    assert [c.text for c in curve.columns] == ["", "Bias2", "Variance"]
    assert [[c.text for c in row] for row in curve.rows] == [["0.0001", "−5.6×10⁻⁶", "0.031"], ["100.0", "0.41", "—"]]
    assert blocks[2].caption == Text("budget") and [k.text for k, _ in blocks[2].rows] == ["alpha", "checks"]
    assert [[c.text for c in row] for row in blocks[3].rows] == [["1/10", "converges"], ["1", "cycles"]]
    assert not any("." in t and t.split(".")[0].isalpha() and "curve" in t for t in _texts(blocks))


def test_lists_side_by_side_become_columns_and_number_lists_stay_inline():
    blocks = evidence_blocks({"widths": [2, 4, 8], "sup_error": [1.0, 0.5, 0.25], "gradient": [-0.0, -1.0],
                              "W": [[1.0, 2.0], [3.0, -0.0]]})
    fields, table = blocks
    assert [c.text for c in table.columns] == ["widths", "sup error"]
    assert [[c.text for c in row] for row in table.rows] == [["2", "1"], ["4", "0.5"], ["8", "0.25"]]
    assert dict((k.text, v) for k, v in fields.rows) == {
        "gradient": Text("[0, −1]"), "W": Matrix((("1", "2"), ("3", "0")))}


def test_formulas_in_values_and_keys_are_typeset_strings_stay_verbatim():
    (fields,) = evidence_blocks({"E": "$\\mu(1-\\beta^i)$", "$\\hat m$": 1, "code": "mu*(1 - beta**i)",
                                 "cost": "5 $ per unit"})
    rows = dict((k.latex if isinstance(k, Formula) else k.text, v) for k, v in fields.rows)
    assert rows["E"] == Formula("$\\mu(1-\\beta^i)$") and isinstance(rows["$\\hat m$"], Text)
    assert rows["code"] == Text("mu*(1 - beta**i)") and rows["cost"] == Text("5 $ per unit")


def test_a_table_too_wide_is_transposed_or_loses_its_constant_columns():
    wide = [{f"column_number_{j}": 1.0 / (j + 1) for j in range(14)} for _ in range(3)]
    (table,) = evidence_blocks({"wide": wide})
    assert table.transposed and len(table.columns) == 4 and len(table.rows) == 14
    # many rows: columns equal in every row are shown once above the table
    records = [{"name": f"check {k}", "estimate": k / 7, "alpha": 1.25e-7, "verdict": "holds",
                "seed": {"entropy": 20261123, "spawn_key": [3523361669, k]}, "ci": [k - 0.5, k + 0.5],
                "note": "the interval lies inside the equivalence band"}
               for k in range(12)]
    (table,) = evidence_blocks({"subchecks": records})
    assert not table.transposed
    assert [(k.text, v.text) for k, v in table.common] == [
        ("alpha", "1.25×10⁻⁷"), ("verdict", "holds"), ("note", "the interval lies inside the equivalence band")]
    assert [c.text for c in table.columns] == ["name", "estimate", "seed", "ci"]


def test_long_tables_and_lists_say_how_much_is_left_out():
    (table,) = evidence_blocks({"rows": [{"k": k} for k in range(MAX_ROWS + 5)]})
    assert len(table.rows) == MAX_ROWS and table.more == 5
    (fields,) = evidence_blocks({"xs": list(range(MAX_ITEMS + 3))})
    assert fields.rows[0][1].text.endswith("… (3 more in results.json)]")


_leaf = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False, width=32),
                  st.booleans(), st.none(), st.text("abc xyz_", max_size=8))
_key = st.text("abcdef_", min_size=1, max_size=6)
_evidence = st.recursive(
    st.dictionaries(_key, _leaf, max_size=4),
    lambda inner: st.dictionaries(_key, st.one_of(_leaf, inner, st.lists(_leaf, max_size=5),
                                                  st.lists(inner, min_size=1, max_size=4)), max_size=5),
    max_leaves=30,
)


@settings(deadline=None, max_examples=150)
@given(_evidence)
def test_every_value_is_shown_somewhere(evidence):
    blocks = evidence_blocks(evidence)
    shown = " ".join(_texts(blocks))

    def leaves(value):
        if isinstance(value, dict):
            for v in value.values():
                yield from leaves(v)
        elif isinstance(value, list):
            for v in value:
                yield from leaves(v)
        else:
            yield value

    for leaf in leaves(evidence):
        text = "—" if leaf is None else leaf if isinstance(leaf, str) else format_number(leaf)
        assert text in shown, (text, evidence)
    for b in blocks:
        if isinstance(b, Table) and not b.transposed and b.rows:
            assert all(len(row) == len(b.columns) for row in b.rows)


def test_width_estimate_counts_visible_symbols_of_formulas():
    assert cell_chars(Text("abc")) == 3
    assert cell_chars(Formula(r"$\hat m_i$")) < len(r"$\hat m_i$")
    assert TABLE_CHARS >= 60
