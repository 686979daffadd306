"""index.html is self-contained, has a figure for every claim with one, and lists the source's errors."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from conftest import external_references

from verify.report.html import anchor, render_html


class _Sections(HTMLParser):
    """For each ``<article id=…>``: its raw inner HTML (tags counted by name) and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.articles: dict[str, dict] = {}
        self._current: str | None = None
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "article":
            self._current, self._depth = attrs["id"], 0
            self.articles[self._current] = {"tags": [], "classes": [], "text": []}
        if self._current is not None:
            self._depth += tag == "article"
            self.articles[self._current]["tags"].append(tag)
            self.articles[self._current]["classes"].append(attrs.get("class") or "")

    def handle_endtag(self, tag):
        if self._current is not None and tag == "article":
            self._depth -= 1
            if self._depth == 0:
                self._current = None

    def handle_data(self, data):
        if self._current is not None:
            self.articles[self._current]["text"].append(data)


def _sections(html: str) -> dict[str, dict]:
    parser = _Sections()
    parser.feed(html)
    return parser.articles


def test_html_references_nothing_outside_itself(built):
    report, out, _ = built
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "<svg" in html  # figures and mathematics are inline
    assert external_references(html) == []
    assert "<script" not in html and "<link" not in html and "<img" not in html
    # in-page links exist and each points at an element of the page
    targets = re.findall(r'href="#([^"]+)"', html)
    assert targets
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    assert set(targets) <= ids


def test_reference_check_catches_outside_references(built):
    # The check above must fail on a page that does reach outside: one injection per way of doing it.
    report, out, _ = built
    html = (out / "index.html").read_text(encoding="utf-8")
    for injected in ('<img src="https://example.org/x.png">', '<link rel="stylesheet" href="style.css">',
                     '<a href="file:///etc/passwd">x</a>', '<div style="background: url(http://e.org/a.png)">',
                     "<style>@import 'https://fonts.example/f.css';</style>",
                     '<svg><use xlink:href="other.svg#g"/></svg>', '<script src="//cdn.example/x.js"></script>'):
        bad = html.replace("</body>", injected + "</body>")
        assert external_references(bad), injected


def _section_problems(report, html: str) -> list[str]:
    """What is wrong with the claim sections of ``html``: missing sections, figures, verdicts."""
    sections = _sections(html)
    problems = [f"no section for {r.id}" for r in report.records if anchor(r.id) not in sections]
    for record in report.records:
        section = sections.get(anchor(record.id))
        if section is None:
            continue
        if ("claim-figure" in section["classes"]) != report.figures[record.id].present:
            problems.append(f"figure of {record.id}")
        text = "".join(section["text"])
        if record.verdict not in text or record.source not in text:
            problems.append(f"verdict or source of {record.id}")
    return problems


def test_one_section_per_claim_with_its_figure(built):
    report, out, _ = built
    html = (out / "index.html").read_text(encoding="utf-8")
    assert len(_sections(html)) == len(report.records)
    assert _section_problems(report, html) == []
    # the claims with a working figure function do have one: the test is not vacuous
    assert {r.id for r in report.records if report.figures[r.id].present} == {
        "fake.mean_zero", "fake.sigmoid_derivative_as_written"}


def test_figure_and_check_errors_are_shown_not_raised(built):
    report, out, _ = built
    sections = _sections((out / "index.html").read_text(encoding="utf-8"))
    figure_text = "".join(sections[anchor("fake.figure_raises")]["text"])
    assert "deliberate failure inside the figure" in figure_text
    check_text = "".join(sections[anchor("fake.check_raises")]["text"])
    assert "deliberate failure inside the check" in check_text
    # a check that raised has no outcome to draw: no figure, although the claim has a figure function
    assert "claim-figure" not in sections[anchor("fake.check_raises")]["classes"]


def test_statements_are_rendered_or_shown_as_source(built):
    report, out, _ = built
    sections = _sections((out / "index.html").read_text(encoding="utf-8"))
    rendered = sections[anchor("fake.mean_zero")]
    assert "svg" in rendered["tags"] and "latex" not in " ".join(rendered["classes"])
    fallback = sections[anchor("fake.unparseable_holds")]
    assert "latex" in fallback["classes"]
    assert r"\begin{cases}" in "".join(fallback["text"])


def test_errata_section_lists_each_refuted_as_written_formula(built):
    report, out, _ = built
    html = (out / "index.html").read_text(encoding="utf-8")
    errata = html.split('id="errata"', 1)[1].split("</section>", 1)[0]
    assert f'href="#{anchor("fake.sigmoid_derivative_as_written")}"' in errata
    # the as-written formula, its corrected form (both rendered) and the counterexample's numbers
    assert errata.count('class="math"') == 2
    assert "as_written" in errata and "1.00" in errata
    # claims refuted that are not as written are not errors of the source material
    assert "fake.library_refuted" not in errata


def test_html_is_deterministic_apart_from_times(built):
    report, _, _ = built
    # rendering twice from the same report gives the same page (ids are content-derived, not random)
    assert render_html(report) == render_html(report)


def test_section_check_catches_a_renderer_that_drops_figures_or_claims(built, monkeypatch):
    from verify.report import html as html_module

    report, _, _ = built
    monkeypatch.setattr(html_module, "_figure", lambda record, figure: "")  # wrong: figures dropped
    problems = _section_problems(report, render_html(report))
    assert problems == ["figure of fake.mean_zero", "figure of fake.sigmoid_derivative_as_written"]
    monkeypatch.undo()
    html = render_html(report).replace(f'id="{anchor("fake.inconclusive")}"', 'id="renamed"')
    assert "no section for fake.inconclusive" in _section_problems(report, html)
