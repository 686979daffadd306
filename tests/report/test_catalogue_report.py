"""The report of the real claim catalogue, as a reader gets it: every formula typeset, every figure
present, every claim laid out, the PDF under 35 pages. The same checks as ``scripts/visual_check.py``
minus the browser (``verify.report.checks``); the claims run once, at the quick sample sizes.
"""

from __future__ import annotations

import pytest

from verify.report.checks import MAX_PAGES, html_problems, pdf_problems


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    import matplotlib

    matplotlib.use("Agg")
    from verify.claims.registry import Context, all_claims
    from verify.report import build_report, render_html, write_pdf

    report = build_report(all_claims(), Context(quick=True), progress=None)
    layout = write_pdf(report, tmp_path_factory.mktemp("catalogue") / "report.pdf")
    return report, render_html(report), layout


def test_the_html_has_every_claim_formula_and_figure(catalogue):
    report, html, _ = catalogue
    assert html_problems(report, html) == []


def test_the_pdf_has_every_claim_formula_and_figure_in_few_pages(catalogue):
    report, _, layout = catalogue
    assert pdf_problems(report, layout) == []
    assert layout.pages <= MAX_PAGES
    assert layout.figures and layout.claim_pages


def test_the_checks_catch_what_they_check(catalogue):
    # wrong renderings, one per check: a formula left as source, a figure dropped, a page budget blown
    import dataclasses

    report, html, layout = catalogue
    with_figure = next(r.id for r in report.records if report.figures[r.id].present)
    broken = html.replace('class="claim-figure"', 'class="lost"', 1)
    broken = broken.replace('<span class="math">', '<span class="math"><code class="latex">x</code>', 1)
    broken = broken.replace("</body>", "<p>Exit status 0</p></body>")
    problems = html_problems(report, broken)
    assert any(f"figure of {with_figure}" in p for p in problems)
    assert any("LaTeX source" in p for p in problems) and any("exit status" in p for p in problems)
    bad = dataclasses.replace(layout, pages=MAX_PAGES + 1, fallbacks=[r"\unknown"],
                              figures=[f for f in layout.figures if f != with_figure])
    assert len(pdf_problems(report, bad)) == 3
