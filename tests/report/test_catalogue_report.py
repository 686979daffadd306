"""The report of the real claim catalogue, as a reader gets it: every formula typeset, every figure
present, every claim laid out, the PDF under 35 pages. The same checks as ``scripts/visual_check.py``
minus the browser (``verify.report.checks``); the claims run once, at the quick sample sizes.
"""

from __future__ import annotations

import pytest

from verify.claims.registry import ClaimRecord
from verify.report.checks import MAX_PAGES, formula_problems, html_problems, pdf_problems


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


@pytest.mark.skipif(not hasattr(ClaimRecord, "correction"),
                    reason="the claims' second schema (checked corrections, claims_schema.md) promises corrected "
                           "forms as LaTeX; the first wrote one as plain text (backprop.chain_as_written)")
def test_every_corrected_form_is_a_typeset_formula_and_nothing_is_code(catalogue):
    report, _, _ = catalogue
    assert formula_problems(report) == []


def test_the_formula_check_catches_code_and_text_where_a_formula_belongs():
    from verify.claims.registry import Claim, Context, Outcome
    from verify.report import build_report

    def refuted(corrected, counterexample):
        return lambda ctx: Outcome("refuted", {"x": 1}, counterexample=counterexample, corrected=corrected)

    claims = [
        Claim(id="t.code", statement=r"$\nabla_{\theta_2} L = a$", source="t", kind="as-written",
              check=refuted("grad_theta2 L = grad_theta2 u2 grad_u2 L", {"x": 1})),
        Claim(id="t.sympy", statement=r"$E[m_i]$ as written", source="t", kind="as-written",
              check=refuted(r"\hat m_i = m_i/(1-\beta^i)", {"E[m_i]": "mu*(1 - beta**i)", "bad": r"$\frac{a$"})),
        Claim(id="t.good", statement=r"$\sigma'(x) = \sigma(1+\sigma)$", source="t", kind="as-written",
              check=refuted(r"\sigma'(x) = \sigma(x)(1 - \sigma(x))", {"x": 0.5, "exact": "$0.235$"})),
    ]
    report = build_report(claims, Context(seed=1), progress=None)
    problems = formula_problems(report)
    assert any(p.startswith("t.code: the corrected form is not typeset") for p in problems)
    assert any(p.startswith("t.sympy: a formula of the evidence is not typeset") for p in problems)
    assert "t.sympy: code in the evidence: '**'" in problems
    assert not any(p.startswith("t.good") for p in problems)


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
