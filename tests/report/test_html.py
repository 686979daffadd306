"""index.html is self-contained, has a figure for every claim with one, and lists the source's errors."""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser

from conftest import external_references

from verify.report.figures import RenderedFigure
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
    html = (out / "index.html").read_text(encoding="utf-8")
    sections = _sections(html)
    rendered = sections[anchor("fake.mean_zero")]
    assert "svg" in rendered["tags"] and "latex" not in " ".join(rendered["classes"])
    fallback = sections[anchor("fake.unparseable_holds")]
    assert "latex" in fallback["classes"]
    assert r"\begin{cases}" in "".join(fallback["text"])
    # that claim is the only formula of the page that falls back to its source
    assert html.count('class="latex"') == 1


def test_errata_section_lists_each_refuted_as_written_formula(built):
    report, out, _ = built
    html = (out / "index.html").read_text(encoding="utf-8")
    errata = html.split('id="errata"', 1)[1].split("</section>", 1)[0]
    assert f'href="#{anchor("fake.sigmoid_derivative_as_written")}"' in errata
    assert "1 formula, as written in the notes, is refuted" in errata
    # the as-written formula, its corrected form (both typeset) and the counterexample's numbers
    assert errata.count('class="math"') == 2 and 'class="latex"' not in errata
    assert "as written" in errata and "1.01" in errata and "0.235" in errata
    # claims refuted that are not as written are not errors of the source material
    assert "library_refuted" not in errata
    # the claim's own section points at its erratum instead of repeating it
    section = "".join(_sections(html)[anchor("fake.sigmoid_derivative_as_written")]["text"])
    assert "in the list of formulas found wrong" in section and "Counterexample" not in section


def test_html_is_deterministic_apart_from_times(built):
    report, _, _ = built
    # rendering twice from the same report gives the same page (ids are content-derived, not random)
    assert render_html(report) == render_html(report)


def test_section_check_catches_a_renderer_that_drops_figures_or_claims(built):
    import dataclasses

    report, _, _ = built
    # wrong: a renderer that loses the figures
    without_figures = dataclasses.replace(report, figures={k: RenderedFigure() for k in report.figures})
    problems = _section_problems(report, render_html(without_figures))
    assert problems == ["figure of fake.mean_zero", "figure of fake.sigmoid_derivative_as_written"]
    html = render_html(report).replace(f'id="{anchor("fake.inconclusive")}"', 'id="renamed"')
    assert "no section for fake.inconclusive" in _section_problems(report, html)


def test_headings_are_the_titles_people_wrote(built):
    report, out, _ = built
    html = (out / "index.html").read_text(encoding="utf-8")
    headings = re.findall(r'<h2 class="topic" id="[^"]+">([^<]+)</h2>', html)
    # known topics by their written headings, an unknown one exactly as given: nothing capitalised
    assert headings == ["statistics", "activations", "Other claims", "kernels"]
    assert "text-transform: capitalize" not in html
    for record in report.records:
        assert f"{escape(record.title)} <span class=\"badge" in html, record.title


def test_no_words_for_the_command_line_in_the_report(built):
    report, out, _ = built
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "exit status" not in html.lower()
    assert "Not an error of the notes" in html  # the failing claims are named in words instead
    assert "its check raised an error" in html and "its figure raised an error" in html


def test_evidence_is_shown_as_tables(built):
    report, out, _ = built
    sections = _sections((out / "index.html").read_text(encoding="utf-8"))
    evidence = sections[anchor("fake.evidence_shapes")]
    text = "".join(evidence["text"])
    assert "curve.0.0001" not in text and "runs.0" not in text  # no flat dotted keys
    assert "−5.6×10⁻⁶" in text and "3.8×10⁻³²" in text
    assert not re.search(r"−0(?![.\d])", text)  # −0 is shown as 0
    assert "signed zero" in text  # snake_case keys read as words
    assert evidence["classes"].count("block") >= 4 and "matrix" in evidence["classes"]
    # the formula in a value and the one in a key are typeset
    assert evidence["tags"].count("svg") >= 3


def test_the_templates_are_package_data():
    import tomllib
    from importlib import resources
    from pathlib import Path

    folder = resources.files("verify.report") / "templates"
    names = sorted(p.name for p in folder.iterdir() if p.is_file())
    assert {"report.html.j2", "blocks.html.j2", "report.css"} <= set(names)
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["verify.report"]
    import fnmatch

    assert all(any(fnmatch.fnmatch(f"templates/{n}", p) for p in patterns) for n in names), (names, patterns)
