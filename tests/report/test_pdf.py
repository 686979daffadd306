"""report.pdf is a document: claims flow, tables are tables, the contents give titles and pages."""

from __future__ import annotations

import re

import pytest
from conftest import pdf_page_count, pdf_text

from verify.report import pdf as pdf_module


def test_every_claim_and_figure_is_laid_out_and_claims_flow(built):
    report, out, layout = built
    data = (out / "report.pdf").read_bytes()
    assert data.startswith(b"%PDF") and pdf_page_count(data) == layout.pages
    assert list(layout.claim_pages) == [c.id for t in _topics(report) for c in t]
    assert set(layout.claim_pages) == {r.id for r in report.records}
    with_figure = {r.id for r in report.records if report.figures[r.id].present}
    assert sorted(layout.figures) == sorted(with_figure) and with_figure
    # no page per claim: several claims share a page
    assert len(set(layout.claim_pages.values())) < len(report.records)
    assert layout.pages <= 8


def _topics(report):
    topics: dict[str, list] = {}
    for r in report.records:
        topics.setdefault(r.topic, []).append(r)
    return topics.values()


def test_only_the_unparseable_formula_falls_back_to_its_source(built):
    _, _, layout = built
    assert layout.fallbacks == [r"f(x) = \begin{cases} x & x > 0 \\ 0 & \text{otherwise} \end{cases}"]


def test_contents_list_titles_with_their_pages(built):
    report, _, layout = built
    claims = [(text, page) for level, text, page in layout.contents if level == 1]
    assert len(claims) == len(report.records)
    titles = {r.id: r.title for r in report.records}
    for (text, page), (claim_id, claim_page) in zip(claims, layout.claim_pages.items(), strict=True):
        assert text.startswith(titles[claim_id]) and page == claim_page
    topics = [text for level, text, _ in layout.contents if level == 0]
    assert topics == ["Formulas of the notes found wrong", "statistics", "activations", "Other claims", "kernels",
                      "Environment"]


def test_pdf_text_has_titles_tables_and_no_command_line_words(built):
    report, out, layout = built
    text = pdf_text(out / "report.pdf")
    if text is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    for record in report.records:
        assert record.title in text.replace("\n", " "), record.title
    assert "Contents" in text and "Formulas of the notes found wrong" in text
    assert "deliberate failure inside the figure" in text and "exit status" not in text.lower()
    # a table is a table: its header cells on one line, each row's cells on one line
    lines = text.splitlines()
    assert any(re.search(r"\beta\s+observed\s+radius\b", line) for line in lines)
    assert any(re.search(r"(^|\s)1/10\s+converges\s+0\.8(\s|$)", line) for line in lines)
    assert "curve.0.0001" not in text


def test_long_evidence_flows_onto_more_pages(tmp_path):
    from verify.claims.registry import Claim, Context, Outcome
    from verify.report import build_report, write_pdf

    rows = {f"row_{i:03d}": i * 0.5 for i in range(150)}
    c = Claim(id="fake.long", statement="x = x", source="test", kind="identity",
              check=lambda ctx: Outcome("holds", rows))
    report = build_report([c], Context(seed=1), progress=None)
    layout = write_pdf(report, tmp_path / "report.pdf")
    assert layout.pages >= 2
    assert pdf_page_count((tmp_path / "report.pdf").read_bytes()) == layout.pages


def test_column_widths_always_fit_the_page():
    from hypothesis import given
    from hypothesis import strategies as st

    widths = st.floats(0, 2000, allow_nan=False)

    @given(st.lists(st.lists(st.tuples(widths, widths), min_size=1, max_size=5), min_size=1, max_size=14),
           st.floats(50, 600))
    def check(columns, available):
        columns = [[(max(n, m), min(n, m)) for n, m in col] for col in columns]
        result = pdf_module._column_widths(columns, available)
        assert sum(result) <= available * (1 + 1e-9) or sum(result) <= sum(
            max(n for n, _ in col) + pdf_module._PAD for col in columns)
        assert all(w >= 0 for w in result)

    check()


def test_figures_are_sized_to_the_page(built):
    report, _, _ = built
    from verify.report.view import view

    for c in view(report).claims():
        if c.figure is not None and c.figure.png is not None:
            flowable = pdf_module._figure(c, pdf_module._Layout())
            flowable.wrap(pdf_module.WIDTH, pdf_module.HEIGHT)
            assert flowable.image_width <= pdf_module.WIDTH + 1e-6
            assert flowable.image_height <= pdf_module.FIGURE_HEIGHT * pdf_module.HEIGHT + 1e-6
            full = flowable.image_height
            # at the foot of a page it shrinks to fit, down to FIGURE_SHRINK of its size, never below
            flowable.wrap(pdf_module.WIDTH, flowable.caption_height + 0.8 * full)
            assert abs(flowable.image_height - 0.8 * full) < 1e-6
            flowable.wrap(pdf_module.WIDTH, flowable.caption_height + 0.2 * full)
            assert abs(flowable.image_height - pdf_module.FIGURE_SHRINK * full) < 1e-6
