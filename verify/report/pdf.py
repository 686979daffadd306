"""``report.pdf``: written with matplotlib's ``PdfPages`` (no extra dependency), A4 portrait.

Pages, in order: a title page (summary and environment), the contents (every claim with its verdict and
page), the formulas of the source material found wrong (as written, corrected, counterexample), then a
page or more per claim: statement rendered by mathtext (its LaTeX source where mathtext cannot parse
it), source, kind, verdict, evidence and the claim's figure (the same rendering as the HTML's, as a
200-dpi image). Every page has a footer with the claim id and the page number.
"""

from __future__ import annotations

import io
import os
import textwrap
from collections.abc import Sequence

import numpy as np

from verify.claims.registry import ClaimRecord
from verify.report.build import Report
from verify.report.figures import PNG_DPI, RenderedFigure
from verify.report.format import RecordTable, evidence_rows, flatten, format_seconds
from verify.report.latex import Glyphs, layout_lines

__all__ = ["PAGE_SIZE", "layout", "write_pdf"]

#: A4 portrait, in inches.
PAGE_SIZE = (8.27, 11.69)
_LEFT, _RIGHT, _TOP, _BOTTOM = 0.75, 0.75, 0.7, 0.85
_WIDTH = PAGE_SIZE[0] - _LEFT - _RIGHT
_MONO_EM = 0.602  # advance of every DejaVu Sans Mono glyph, in ems
_SANS_EM = 0.60  # a safe upper bound on DejaVu Sans' average advance for running text, in ems
_BOLD_EM = 0.68  # the same for DejaVu Sans Bold
_COLOURS = {"holds": "#1b7f3b", "refuted": "#b3261e", "inconclusive": "#8a6d00"}
_MUTED = "#5f6368"


class _Pages:
    """A flowing layout on A4 figures: a cursor moves down; a block that does not fit starts a page."""

    def __init__(self, label: str) -> None:
        self.pages: list[tuple[object, str]] = []
        self.label = label
        self.y = 0.0
        self._new_page()

    @property
    def figure(self):
        return self.pages[-1][0]

    def _new_page(self, continued: bool = False) -> None:
        from matplotlib.figure import Figure

        self.pages.append((Figure(figsize=PAGE_SIZE), self.label))
        self.y = PAGE_SIZE[1] - _TOP
        if continued:
            self.line(f"{self.label} (continued)", size=9, color=_MUTED)

    def start(self, label: str) -> int:
        """Begin a new section on a fresh page; returns that page's index (0-based)."""
        self.label = label
        if self.y < PAGE_SIZE[1] - _TOP:  # the current page is not empty
            self._new_page()
        else:
            self.pages[-1] = (self.figure, label)
        return len(self.pages) - 1

    def need(self, height: float) -> None:
        if self.y - height < _BOTTOM:
            self._new_page(continued=True)

    def gap(self, height: float) -> None:
        self.y -= height

    def line(self, text: str, *, size: float = 10, weight: str = "normal", color: str = "black",
             family: str = "sans-serif", x: float = 0.0) -> None:
        height = size * 1.4 / 72
        self.need(height)
        self.figure.text((_LEFT + x) / PAGE_SIZE[0], self.y / PAGE_SIZE[1], text, fontsize=size, weight=weight,
                         color=color, family=family, va="top", ha="left", parse_math=False)
        self.y -= height

    def paragraph(self, text: str, *, size: float = 10, family: str = "sans-serif", indent: float = 0.0,
                  color: str = "black", weight: str = "normal") -> None:
        em = _MONO_EM if family == "monospace" else (_BOLD_EM if weight == "bold" else _SANS_EM)
        columns = max(20, int((_WIDTH - indent) * 72 / (size * em)))
        for raw in text.splitlines() or [""]:
            wrapped = textwrap.wrap(raw, columns, subsequent_indent="    ", break_on_hyphens=False,
                                    replace_whitespace=False, drop_whitespace=False) or [""]
            for piece in wrapped:
                self.line(piece, size=size, family=family, x=indent, color=color, weight=weight)

    def rows(self, rows: Sequence[tuple[str, str]], *, size: float = 9) -> None:
        for key, value in rows:
            self.paragraph(f"{key}: {value}", size=size, family="monospace", indent=0.15)
        self.gap(0.06)

    def evidence(self, mapping, *, size: float = 9) -> None:
        """Evidence rows; a list of records as an aligned table when it fits the width, else one line each."""
        for key, value in evidence_rows(mapping):
            if not isinstance(value, RecordTable):
                self.paragraph(f"{key}: {value}", size=size, family="monospace", indent=0.15)
                continue
            self.paragraph(f"{key}:", size=size, family="monospace", indent=0.15)
            self._record_table(value, size=size - 1)
        self.gap(0.06)

    def _record_table(self, table: RecordTable, *, size: float) -> None:
        widths = [max([len(c), *(len(r[i]) for r in table.rows)]) for i, c in enumerate(table.columns)]
        columns = int((_WIDTH - 0.35) * 72 / (size * _MONO_EM))
        if sum(widths) + 2 * (len(widths) - 1) <= columns:
            def fmt(cells):
                return "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip()

            self.line(fmt(table.columns), size=size, family="monospace", x=0.35, weight="bold")
            for row in table.rows:
                self.line(fmt(row), size=size, family="monospace", x=0.35)
        else:
            for row in table.rows:
                text = ", ".join(f"{c}={v}" for c, v in zip(table.columns, row, strict=True) if v != "")
                self.paragraph("· " + text, size=size, family="monospace", indent=0.35)
        if table.more:
            self.line(f"… {table.more} more rows in results.json", size=size, family="monospace", x=0.35,
                      color=_MUTED)

    def math(self, latex: str | None) -> None:
        """``latex`` drawn as mathtext outlines (the same as the HTML's), wrapped or scaled to the page
        width; its LaTeX source where mathtext cannot lay it out."""
        if not latex:
            return
        lines = layout_lines(latex, (_WIDTH - 0.15) * 72)
        if lines is None:
            self.paragraph(latex, size=9, family="monospace", indent=0.15)
            return
        for placed, scale in lines:
            ascent = max(g.ascent for g, _ in placed) * scale / 72
            depth = max(g.depth for g, _ in placed) * scale / 72
            self.need(ascent + depth + 0.08)
            baseline = self.y - ascent
            for g, x in placed:
                self._outline(g, _LEFT + 0.15 + x * scale / 72, baseline, scale)
            self.y -= ascent + depth + 0.1

    def _outline(self, g: Glyphs, x: float, y: float, scale: float) -> None:
        """Glyph outlines with their baseline's left end at (x, y) inches."""
        from matplotlib.patches import PathPatch
        from matplotlib.transforms import Affine2D

        transform = Affine2D().scale(scale / 72).translate(x, y) + self.figure.dpi_scale_trans
        self.figure.add_artist(PathPatch(g.path, transform=transform, facecolor="black", edgecolor="none",
                                         linewidth=0))

    def rule(self) -> None:
        from matplotlib.lines import Line2D

        self.need(0.15)
        y = (self.y - 0.05) / PAGE_SIZE[1]
        self.figure.add_artist(Line2D([_LEFT / PAGE_SIZE[0], 1 - _RIGHT / PAGE_SIZE[0]], [y, y],
                                      color="#d9dce1", linewidth=1.0))
        self.y -= 0.15

    def image(self, png: bytes, *, min_height: float = 3.0) -> None:
        """The figure image at its printed size (``PNG_DPI``), scaled down to fit the page if needed."""
        import matplotlib.image as mpimg

        # 8-bit RGB: the PDF stores no alpha mask and no float conversion is needed
        pixels = np.asarray(mpimg.imread(io.BytesIO(png), format="png")[..., :3] * 255 + 0.5, dtype=np.uint8)
        height_px, width_px = pixels.shape[:2]
        width = min(_WIDTH, width_px / PNG_DPI)
        height = width * height_px / width_px
        if self.y - _BOTTOM < min(height, min_height):
            self._new_page(continued=True)
        available = self.y - _BOTTOM
        if height > available:
            width, height = width * available / height, available
        x0 = _LEFT + (_WIDTH - width) / 2
        ax = self.figure.add_axes((x0 / PAGE_SIZE[0], (self.y - height) / PAGE_SIZE[1],
                                   width / PAGE_SIZE[0], height / PAGE_SIZE[1]))
        ax.imshow(pixels, interpolation="none")
        ax.set_axis_off()
        self.y -= height + 0.1


def _title_pages(report: Report) -> list:
    p = _Pages("summary")
    p.line("verify", size=30, weight="bold")
    p.line("Report on the claims of the source material", size=16, color=_MUTED)
    p.gap(0.1)
    run = report.environment.get("run", {})
    p.line(f"{report.started} · seed {run.get('seed')} · backend {run.get('backend')}"
           f"{' · quick' if run.get('quick') else ''}", size=10, color=_MUTED)
    p.gap(0.3)
    p.line("Summary", size=15, weight="bold")
    p.rule()
    for verdict, count in report.counts.items():
        p.line(f"{verdict:<14}{count:>5}", size=12, family="monospace", color=_COLOURS[verdict])
    p.line(f"{'claims':<14}{len(report.records):>5}", size=12, family="monospace")
    p.gap(0.08)
    p.paragraph(f"{len(report.errata)} formula(s) of the source material found wrong as written.", size=10)
    p.paragraph(f"Run time {format_seconds(report.seconds)} (checks {format_seconds(report.claims_seconds)}).",
                size=10)
    failing = report.summary()["failing"]
    p.paragraph(f"Exit status {report.status}: "
                + ("no claim of the library is refuted and nothing raised." if not failing
                   else "failing: " + ", ".join(failing) + "."), size=10)
    p.gap(0.25)
    p.line("Environment", size=15, weight="bold")
    p.rule()
    for group, values in report.environment.items():
        p.line(group, size=11, weight="bold")
        p.rows(flatten(values))
        p.gap(0.08)
    return p.pages


def _contents_pages(records: Sequence[ClaimRecord], first_page: dict[str, int], offset: int) -> list:
    p = _Pages("contents")
    p.line("Contents", size=15, weight="bold")
    p.rule()
    p.line(f"{'page':>4}  {'verdict':<13} claim", size=9, family="monospace", color=_MUTED)
    for r in records:
        page = first_page[r.id] + offset + 1
        p.line(f"{page:>4}  {r.verdict:<13} {r.id}", size=9, family="monospace", color=_COLOURS[r.verdict])
    return p.pages


def _errata_pages(report: Report) -> list:
    p = _Pages("source formulas found wrong")
    p.line("Formulas of the source material found wrong", size=15, weight="bold")
    p.rule()
    if not report.errata:
        p.paragraph("None: every formula of the source material that was checked as written holds.")
    for r in report.errata:
        p.need(1.6)
        p.paragraph(r.title or r.id, size=12, weight="bold")
        p.paragraph(f"{r.id} · {r.source}", size=9, color=_MUTED)
        p.line("As written", size=10, weight="bold")
        p.math(r.statement)
        p.line("Corrected", size=10, weight="bold")
        if r.corrected:
            p.math(r.corrected)
        else:
            p.paragraph("no corrected form given", size=10)
        p.line("Counterexample", size=10, weight="bold")
        p.evidence(r.counterexample)
        p.rule()
    return p.pages


def _claim_block(p: _Pages, r: ClaimRecord, figure: RenderedFigure | None) -> None:
    p.line(r.topic.replace("_", " ").upper(), size=8, color=_MUTED)
    p.paragraph(r.title or r.id, size=14, weight="bold")
    verdict = f"Verdict: {r.verdict}"
    if r.kind == "as-written" and r.verdict == "refuted":
        verdict += "  (an error in the source material)"
    if r.error is not None:
        verdict += "  (the check raised)"
    p.line(verdict, size=12, weight="bold", color=_COLOURS[r.verdict])
    p.paragraph(f"{r.id} · {r.kind} · {r.source} · {format_seconds(r.seconds)}", size=9, color=_MUTED)
    p.rule()
    p.line("Statement", size=10, weight="bold")
    p.math(r.statement)
    if r.why:
        p.line("Why inconclusive", size=10, weight="bold")
        p.paragraph(r.why, size=10, indent=0.15)
    if r.counterexample:
        p.line("Counterexample", size=10, weight="bold")
        p.evidence(r.counterexample)
    if r.corrected:
        p.line("Corrected form", size=10, weight="bold")
        p.math(r.corrected)
    if r.evidence:
        p.line("Evidence", size=10, weight="bold")
        p.evidence(r.evidence)
    if r.error is not None:
        p.line("The check raised", size=10, weight="bold", color=_COLOURS["refuted"])
        p.paragraph("\n".join(r.error.rstrip().splitlines()[-25:]), size=7.5, family="monospace", indent=0.15)
    if figure is not None and figure.error is not None:
        p.line("The figure raised", size=10, weight="bold", color=_COLOURS["refuted"])
        p.paragraph("\n".join(figure.error.rstrip().splitlines()[-25:]), size=7.5, family="monospace",
                    indent=0.15)
    elif figure is not None and figure.png is not None:
        p.gap(0.1)
        p.image(figure.png)


def _footers(pages: list) -> None:
    total = len(pages)
    for number, (figure, label) in enumerate(pages, start=1):
        figure.text(_LEFT / PAGE_SIZE[0], 0.45 / PAGE_SIZE[1], f"verify report · {label}", fontsize=8,
                    color=_MUTED, parse_math=False)
        figure.text(1 - _RIGHT / PAGE_SIZE[0], 0.45 / PAGE_SIZE[1], f"{number} / {total}", fontsize=8,
                    color=_MUTED, ha="right", parse_math=False)


def layout(report: Report) -> list[tuple[object, str]]:
    """Every page as ``(matplotlib Figure, label)``; a claim's pages are labelled with its id."""
    claims = _Pages("claims")
    first_page: dict[str, int] = {}
    for r in report.records:
        first_page[r.id] = claims.start(r.id)
        _claim_block(claims, r, report.figures.get(r.id))
    title = _title_pages(report)
    errata = _errata_pages(report)
    n_contents = len(_contents_pages(report.records, first_page, 0))
    offset = len(title) + n_contents + len(errata)
    contents = _contents_pages(report.records, first_page, offset)
    return title + contents + errata + claims.pages


def write_pdf(report: Report, path: str | os.PathLike[str]) -> list[str]:
    """Write ``report.pdf`` to ``path``; returns the label of each page, in order (a claim's id on its pages)."""
    from matplotlib.backends.backend_pdf import PdfPages

    pages = layout(report)
    _footers(pages)
    metadata = {"Title": "verify — report on the claims of the source material", "Creator": "verify report"}
    with PdfPages(path, metadata=metadata) as pdf:
        for figure, _ in pages:
            pdf.savefig(figure)
    return [label for _, label in pages]
