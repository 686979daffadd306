"""report.pdf has a page (or more) per claim, the title page, contents and the source's errors."""

from __future__ import annotations

import pytest
from conftest import pdf_page_count, pdf_text


def _claims_without_pages(report, labels) -> list[str]:
    return [r.id for r in report.records if r.id not in labels]


def test_a_page_per_claim(built):
    report, out, labels = built
    data = (out / "report.pdf").read_bytes()
    assert data.startswith(b"%PDF")
    assert pdf_page_count(data) == len(labels)
    assert labels[:3] == ["summary", "contents", "source formulas found wrong"]
    assert _claims_without_pages(report, labels) == []
    # pages are in claim order, one section each
    claim_pages = [label for label in labels if label in {r.id for r in report.records}]
    assert list(dict.fromkeys(claim_pages)) == [r.id for r in report.records]


def test_page_check_catches_a_layout_that_drops_a_claim(built, tmp_path, monkeypatch):
    from verify.report import pdf as pdf_module

    report, _, _ = built
    real = pdf_module._claim_block

    def wrong(p, record, figure):  # wrong: the refuted claims get no section
        if record.verdict != "refuted":
            real(p, record, figure)

    monkeypatch.setattr(pdf_module, "_claim_block", wrong)
    labels = pdf_module.write_pdf(report, tmp_path / "report.pdf")
    assert set(_claims_without_pages(report, labels)) == {r.id for r in report.records if r.verdict == "refuted"}


def test_page_counter_is_not_fooled_by_the_pages_tree():
    # "/Type /Pages" (the tree node) must not count as a page; a wrong counter would say 3 here.
    pdf = b"<< /Type /Pages /Kids [1 0 R 2 0 R] >> << /Type /Page >> << /Type/Page /Parent 3 0 R >>"
    assert pdf_page_count(pdf) == 2


def test_pdf_text_names_every_claim_and_verdict(built):
    report, out, _ = built
    text = pdf_text(out / "report.pdf")
    if text is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    pages = text.split("\f")
    for record in report.records:
        own = [p for p in pages if f"verify report · {record.id}" in p]
        assert own, record.id
        assert f"Verdict: {record.verdict}" in own[0]
    assert "Formulas of the source material found wrong" in text
    assert "deliberate failure inside the figure" in text


def test_long_evidence_flows_onto_more_pages(tmp_path):
    from verify.claims.registry import Claim, Context, Outcome
    from verify.report import build_report, write_pdf

    rows = {f"row_{i:03d}": i * 0.5 for i in range(150)}
    c = Claim(id="fake.long", statement="x = x", source="test", kind="identity",
              check=lambda ctx: Outcome("holds", rows))
    report = build_report([c], Context(seed=1), progress=None)
    labels = write_pdf(report, tmp_path / "report.pdf")
    assert labels.count("fake.long") >= 2
    assert pdf_page_count((tmp_path / "report.pdf").read_bytes()) == len(labels)
