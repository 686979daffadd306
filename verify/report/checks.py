"""What a machine can check of a rendered report, shared by the test suite and ``scripts/visual_check.py``.

- every formula typeset: no statement, corrected form or formula in the evidence falls back to its LaTeX
  source (the HTML's ``<code class="latex">``, the PDF's :attr:`PdfLayout.fallbacks`);
- every figure present: each claim whose figure rendered has it in the HTML and on a PDF page;
- every claim present, and the PDF within :data:`MAX_PAGES` pages;
- no words for the command line in a document for readers ("exit status");
- every corrected form a formula (:func:`formula_problems`): typeset as mathematics, not shown as text
  (``grad_theta2 L = …``), and no arithmetic written as code (``mu*(1 - beta**i)``) in the statements
  and evidence.

Each function returns a list of problems, empty when the report passes.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from verify.report.build import Report
from verify.report.pdf import PdfLayout
from verify.report.view import anchor

__all__ = ["MAX_PAGES", "formula_problems", "html_problems", "pdf_problems"]

#: The most pages the PDF of the whole catalogue may have.
MAX_PAGES = 34


class _Articles(HTMLParser):
    """For each ``<article id=…>``: the classes of the elements inside it; and the page's text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.classes: dict[str, list[str]] = {}
        self.fallbacks: list[str] = []
        self.text: list[str] = []
        self._article: str | None = None
        self._depth = 0
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "style":
            self._in_style = True
        if tag == "article":
            self._article, self._depth = attrs.get("id"), 0
            self.classes[self._article] = []
        if self._article is not None:
            self._depth += tag == "article"
            self.classes[self._article].extend((attrs.get("class") or "").split())
        if "latex" in (attrs.get("class") or "").split():
            self.fallbacks.append(self._article or "outside the claims")

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False
        if self._article is not None and tag == "article":
            self._depth -= 1
            if self._depth == 0:
                self._article = None

    def handle_data(self, data):
        if not self._in_style:
            self.text.append(data)


def html_problems(report: Report, html: str) -> list[str]:
    """Problems of ``index.html`` (its text ``html``) rendered from ``report``."""
    parser = _Articles()
    parser.feed(html)
    parser.close()
    problems = [f"a formula shown as LaTeX source in {where}" for where in parser.fallbacks]
    for record in report.records:
        classes = parser.classes.get(anchor(record.id))
        if classes is None:
            problems.append(f"no section for {record.id}")
            continue
        figure = report.figures.get(record.id)
        if figure is not None and figure.present and "claim-figure" not in classes:
            problems.append(f"the figure of {record.id} is missing")
    if re.search(r"exit status", " ".join(parser.text), re.IGNORECASE):
        problems.append("the report speaks of exit statuses (words for the command line, not for readers)")
    return problems


def pdf_problems(report: Report, layout: PdfLayout, max_pages: int = MAX_PAGES) -> list[str]:
    """Problems of ``report.pdf`` as laid out (:func:`verify.report.pdf.write_pdf`'s result)."""
    problems = [f"a formula shown as LaTeX source: {latex!r}" for latex in layout.fallbacks]
    missing = [r.id for r in report.records if r.id not in layout.claim_pages]
    problems += [f"no section for {claim_id}" for claim_id in missing]
    drawn = set(layout.figures)
    problems += [f"the figure of {r.id} is missing" for r in report.records
                 if report.figures.get(r.id) is not None and report.figures[r.id].present and r.id not in drawn]
    if layout.pages > max_pages:
        problems.append(f"{layout.pages} pages, more than {max_pages}")
    return problems


#: Arithmetic written as code (SymPy's or Python's ``mu*(1 - beta**i)``), where a formula belongs. Names of
#: functions (``adagrad_norm``) are words a text may use; a corrected form is checked on its own.
_CODE = re.compile(r"\*\*|[A-Za-z0-9)]\*[A-Za-z0-9(]")


def _code_outside_math(text: str) -> list[str]:
    from verify.report.latex import split_math

    return [m.group(0) for is_math, piece in split_math(text) if not is_math for m in _CODE.finditer(piece)]


def formula_problems(report: Report) -> list[str]:
    """Formulas a reader would get as text or code: a corrected form that is not typeset as mathematics,
    a statement or a formula of the evidence that mathtext rejects, code where a formula belongs."""
    from verify.report.evidence import Fields, Formula, Text
    from verify.report.latex import is_display_math, layout_lines
    from verify.report.view import view

    problems = []
    for c in view(report).claims():
        if layout_lines(c.statement, 400.0) is None:
            problems.append(f"{c.id}: the statement is not typeset")
        problems += [f"{c.id}: code in the statement: {code!r}" for code in _code_outside_math(c.statement)]
        if c.corrected is not None:
            if not is_display_math(c.corrected) or layout_lines(c.corrected, 400.0) is None:
                problems.append(f"{c.id}: the corrected form is not typeset as a formula: {c.corrected!r}")
        for block in [*c.counterexample, *c.evidence, *c.correction_evidence]:
            cells = [x for row in block.rows for x in row] if isinstance(block, Fields) else [
                *block.columns, *(x for row in block.rows for x in row)]
            for cell in cells:
                if isinstance(cell, Formula) and layout_lines(cell.latex, 400.0) is None:
                    problems.append(f"{c.id}: a formula of the evidence is not typeset: {cell.latex!r}")
                if isinstance(cell, Text):  # shown verbatim
                    codes = [m.group(0) for m in _CODE.finditer(cell.text)]
                else:
                    codes = _code_outside_math(cell.latex) if isinstance(cell, Formula) else []
                problems += [f"{c.id}: code in the evidence: {code!r}" for code in codes]
    return problems
