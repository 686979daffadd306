"""What a machine can check of a rendered report, shared by the test suite and ``scripts/visual_check.py``.

- every formula typeset: no statement, corrected form or formula in the evidence falls back to its LaTeX
  source (the HTML's ``<code class="latex">``, the PDF's :attr:`PdfLayout.fallbacks`);
- every figure present: each claim whose figure rendered has it in the HTML and on a PDF page;
- every claim present, and the PDF within :data:`MAX_PAGES` pages;
- no words for the command line in a document for readers ("exit status").

Each function returns a list of problems, empty when the report passes.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from verify.report.build import Report
from verify.report.pdf import PdfLayout
from verify.report.view import anchor

__all__ = ["MAX_PAGES", "html_problems", "pdf_problems"]

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
