"""``report.pdf``: the report as an A4 document, laid out by ReportLab's Platypus.

Platypus is a real layout engine: paragraphs and claims flow from page to page (no page per claim),
tables are tables (cells wrap, a long table continues on the next page under its repeated header), the
contents list every section and claim by title with its page number (and link), and the PDF outline
(bookmarks) mirrors them. It installs from PyPI as a pure-Python wheel, with no system library.

Order: title, summary and contents; the formulas of the notes found wrong (as written beside the
corrected form, with the counterexample); the claims by topic (statement, evidence, figure); the
environment. Every formula is typeset: mathtext's glyph outlines (the same as the HTML's, see
:mod:`verify.report.latex`) drawn as vector paths. Figures are the claims' own PNG renderings, scaled to
the text width and to at most :data:`FIGURE_HEIGHT` of the page. Text is set in DejaVu Sans, which
ships with matplotlib.

:func:`write_pdf` returns a :class:`PdfLayout`: the page count, each claim's page, the figures placed
and any formula that could not be typeset (shown as its LaTeX source) — what the tests check.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import os
import struct
from collections.abc import Sequence
from html import escape
from xml.sax.saxutils import escape as xml_escape

from verify.report.build import Report
from verify.report.evidence import Block, Cell, Fields, Formula, Matrix, Table, Text, has_math
from verify.report.figures import PNG_DPI
from verify.report.files import replace_atomically
from verify.report.latex import layout_lines
from verify.report.view import ClaimView, View, view

__all__ = ["FIGURE_HEIGHT", "PdfLayout", "write_pdf"]

_MM = 72 / 25.4
PAGE = (210 * _MM, 297 * _MM)
_LEFT = _RIGHT = 16 * _MM
_TOP, _BOTTOM = 14 * _MM, 17 * _MM
WIDTH = PAGE[0] - _LEFT - _RIGHT
HEIGHT = PAGE[1] - _TOP - _BOTTOM
#: The tallest a figure may be, as a fraction of the text height.
FIGURE_HEIGHT = 0.28
_COLOURS = {"holds": "#1b7f3b", "refuted": "#b3261e", "inconclusive": "#8a6d00"}
_MUTED = "#5f6368"
_RULE = "#d9dce1"
_CELL = 7.0  # font size of table cells
_BODY = 8.5


@dataclasses.dataclass
class PdfLayout:
    """What was laid out: ``pages``; each claim's first page; the contents as ``(level, title, page)``
    (level 0: sections and topics, 1: claims); the claims whose figure was drawn; formulas not typeset."""

    pages: int
    claim_pages: dict[str, int]
    contents: list[tuple[int, str, int]]
    figures: list[str]
    fallbacks: list[str]


# --- fonts and styles ---------------------------------------------------------------------------------


@functools.cache
def _fonts() -> str:
    """Register DejaVu Sans (regular, bold, italic, mono) from matplotlib's fonts; returns the family."""
    import matplotlib
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    folder = os.path.join(matplotlib.get_data_path(), "fonts", "ttf")
    for name, file in (("DejaVu", "DejaVuSans.ttf"), ("DejaVu-Bold", "DejaVuSans-Bold.ttf"),
                       ("DejaVu-Oblique", "DejaVuSans-Oblique.ttf"),
                       ("DejaVu-BoldOblique", "DejaVuSans-BoldOblique.ttf"), ("DejaVuMono", "DejaVuSansMono.ttf")):
        pdfmetrics.registerFont(TTFont(name, os.path.join(folder, file)))
    for bold, italic, face in ((0, 0, "DejaVu"), (1, 0, "DejaVu-Bold"), (0, 1, "DejaVu-Oblique"),
                               (1, 1, "DejaVu-BoldOblique")):
        addMapping("DejaVu", bold, italic, face)
    return "DejaVu"


@functools.cache
def _styles() -> dict:
    from reportlab.lib.colors import HexColor
    from reportlab.lib.styles import ParagraphStyle

    font = _fonts()
    muted = HexColor(_MUTED)
    base = ParagraphStyle("body", fontName=font, fontSize=_BODY, leading=_BODY * 1.35, spaceAfter=3)
    return {
        "body": base,
        "title": ParagraphStyle("title", base, fontName="DejaVu-Bold", fontSize=19, leading=24, spaceAfter=4),
        "subtitle": ParagraphStyle("subtitle", base, textColor=muted, spaceAfter=10),
        "h1": ParagraphStyle("h1", base, fontName="DejaVu-Bold", fontSize=14, leading=18, spaceBefore=12,
                             spaceAfter=6, keepWithNext=1),
        "h2": ParagraphStyle("h2", base, fontName="DejaVu-Bold", fontSize=11, leading=14, spaceBefore=8,
                             spaceAfter=1, keepWithNext=1),
        "meta": ParagraphStyle("meta", base, fontSize=7.5, leading=9.5, textColor=muted, spaceAfter=3),
        "lead-in": ParagraphStyle("lead-in", base, fontSize=7.5, leading=9.5, textColor=muted, spaceAfter=2,
                                  keepWithNext=1),
        "part": ParagraphStyle("part", base, fontName="DejaVu-Bold", fontSize=8, leading=10, spaceBefore=4,
                               spaceAfter=1, textColor=muted, keepWithNext=1),
        "cell": ParagraphStyle("cell", base, fontSize=_CELL, leading=_CELL * 1.25, spaceAfter=0),
        "head": ParagraphStyle("head", base, fontName="DejaVu-Bold", fontSize=_CELL, leading=_CELL * 1.25,
                               spaceAfter=0, textColor=muted),
        "caption": ParagraphStyle("caption", base, fontSize=7.5, leading=9.5, textColor=muted, alignment=1,
                                  spaceBefore=2, spaceAfter=6),
        "code": ParagraphStyle("code", base, fontName="DejaVuMono", fontSize=6.5, leading=8, spaceAfter=4),
        "toc0": ParagraphStyle("toc0", base, fontName="DejaVu-Bold", fontSize=8.5, leading=15, spaceAfter=0),
        "toc1": ParagraphStyle("toc1", base, fontSize=8, leading=11.5, leftIndent=12, spaceAfter=0),
    }


@dataclasses.dataclass
class _Layout:
    """The state of one document being laid out.

    ``outline``: the contents' entries ``(level, text, key)`` in story order, known before any page is;
    ``final``: whether figures are drawn (the build that settles the page numbers needs only their size);
    ``figures``: the claims whose figure was drawn; ``fallbacks``: formulas shown as LaTeX source.
    """

    final: bool = False
    outline: list[tuple[int, str, str]] = dataclasses.field(default_factory=list)
    figures: list[str] = dataclasses.field(default_factory=list)
    fallbacks: list[str] = dataclasses.field(default_factory=list)


# --- formulas ------------------------------------------------------------------------------------------


def _math_flowable(latex: str, *, display: float, inline: float, layout: _Layout):
    """A formula (or text with ``$…$`` formulas) as glyph outlines; its LaTeX source if mathtext fails."""
    from reportlab.lib.colors import black
    from reportlab.platypus import Flowable, Paragraph

    class MathFlowable(Flowable):
        _gap = 2.5

        def __init__(self) -> None:
            super().__init__()
            self.latex = latex
            self.lines = None
            self.fallback = None

        def wrap(self, available_width, available_height):
            self.lines = layout_lines(self.latex, max(available_width, 20.0), display_size=display,
                                      inline_size=inline)
            if self.lines is None:
                if self.fallback is None:
                    layout.fallbacks.append(self.latex)
                    self.fallback = Paragraph(xml_escape(self.latex), _styles()["code"])
                return self.fallback.wrap(available_width, available_height)
            self.width = max((gx + g.width) * scale for placed, scale in self.lines for g, gx in placed)
            self.height = sum(self._line_height(placed, scale) for placed, scale in self.lines)
            self._available = available_width
            return self.width, self.height

        @staticmethod
        def _line_height(placed, scale) -> float:
            ascent = max(g.ascent for g, _ in placed)
            depth = max(g.depth for g, _ in placed)
            return (ascent + depth) * scale + MathFlowable._gap

        def draw(self) -> None:
            if self.lines is None:
                self.fallback.drawOn(self.canv, 0, 0)
                return
            canvas = self.canv
            canvas.saveState()
            canvas.setFillColor(black)
            top = self.height
            for placed, scale in self.lines:
                ascent = max(g.ascent for g, _ in placed) * scale
                baseline = top - ascent
                for g, gx in placed:  # the outline, moved and scaled by one cm operator, filled nonzero
                    canvas.addLiteral(f"q {scale:.4f} 0 0 {scale:.4f} {gx * scale:.2f} {baseline:.2f} cm "
                                      f"{g.pdf} f Q")
                top -= self._line_height(placed, scale)
            canvas.restoreState()

        def split(self, available_width, available_height):
            return []

    return MathFlowable()


# --- tables -------------------------------------------------------------------------------------------


def _text_width(text: str, size: float, bold: bool = False) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    font = "DejaVu-Bold" if bold else "DejaVu"
    return max((stringWidth(line, font, size) for line in text.splitlines() or [""]), default=0.0)


def _longest_word(text: str, size: float, bold: bool = False) -> float:
    return max((_text_width(w, size, bold) for w in text.split()), default=0.0)


def _cell_flowable(c: Cell, layout: _Layout, *, header: bool = False):
    from reportlab.platypus import Paragraph
    from reportlab.platypus import Table as RLTable

    styles = _styles()
    if isinstance(c, Formula):
        return _math_flowable(c.latex, display=_CELL + 1.5, inline=_CELL, layout=layout)
    if isinstance(c, Matrix):
        rows = [[Paragraph(x, styles["cell"]) for x in row] for row in c.rows]
        widths = [max(_text_width(row[j], _CELL) for row in c.rows) + 8 for j in range(len(c.rows[0]))]
        table = RLTable(rows, colWidths=widths, hAlign="LEFT")
        table.setStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 6),
                        ("TOPPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
                        ("ALIGN", (0, 0), (-1, -1), "RIGHT")])
        return table
    return Paragraph(xml_escape(c.text).replace("\n", "<br/>"), styles["head" if header else "cell"])


def _cell_widths(c: Cell, header: bool, *, bold: bool | None = None) -> tuple[float, float]:
    """(natural, minimum) width of a cell's content in points; a column header's natural width is its
    longest word (headers wrap rather than widen a column)."""
    bold = header if bold is None else bold
    if isinstance(c, Formula):
        lines = layout_lines(c.latex, 10_000.0, display_size=_CELL + 1.5, inline_size=_CELL)
        if lines is None:
            natural = _text_width(c.latex, 6.5)
            return natural, min(natural, 80.0)
        natural = max((gx + g.width) * scale for placed, scale in lines for g, gx in placed)
        return natural, min(natural, 0.3 * WIDTH)
    if isinstance(c, Matrix):
        width = sum(max(_text_width(row[j], _CELL) for row in c.rows) + 8 for j in range(len(c.rows[0])))
        return width, width
    natural = _text_width(c.text, _CELL, bold)
    return (_longest_word(c.text, _CELL, bold) if header else natural), _longest_word(c.text, _CELL, bold)


_PAD = 6.0  # left + right padding of a cell
_GUTTER = 14.0  # between the parts of a table set side by side


def _column_widths(columns: Sequence[Sequence[tuple[float, float]]], available: float) -> list[float]:
    """Widths that fit ``available``: natural widths if they fit, else the slack shared out in proportion."""
    natural = [max(n for n, _ in col) + _PAD for col in columns]
    minimum = [min(max(m for _, m in col) + _PAD, 0.45 * available) for col in columns]
    if sum(natural) <= available:
        return natural
    if sum(minimum) >= available:
        return [available * m / sum(minimum) for m in minimum]
    slack = available - sum(minimum)
    want = [n - m for n, m in zip(natural, minimum, strict=True)]
    return [m + slack * w / sum(want) if sum(want) > 0 else m for m, w in zip(minimum, want, strict=True)]


def _table_style(header: bool) -> list:
    from reportlab.lib.colors import HexColor

    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), _PAD),
        ("TOPPADDING", (0, 0), (-1, -1), 1), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.2),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, HexColor(_RULE)),
    ]
    if header:
        style.append(("LINEBELOW", (0, 0), (-1, 0), 0.8, HexColor("#9aa0a6")))
    return style


def _caption_flowable(caption: Cell | None, layout: _Layout) -> list:
    from reportlab.platypus import Paragraph

    if caption is None:
        return []
    if isinstance(caption, Formula):
        return [_math_flowable(caption.latex, display=8.5, inline=8, layout=layout)]
    return [Paragraph(xml_escape(caption.text), _styles()["part"])]


def _fields_flowables(block: Fields, layout: _Layout, available: float) -> list:
    from reportlab.lib import colors
    from reportlab.platypus import Table as RLTable

    pairs = list(block.rows)
    keys = [_cell_widths(k, False, bold=True) for k, _ in pairs]
    values = [_cell_widths(v, False) for _, v in pairs]
    key_width = min(max(n for n, _ in keys) + _PAD, 0.3 * available)
    value_natural = max(n for n, _ in values) + _PAD
    style = _table_style(False)
    # many short rows: two key/value pairs side by side, read down the first pair, then the second
    if len(pairs) > 3 and 2 * (key_width + value_natural) + 14 <= available:
        half = (len(pairs) + 1) // 2
        rows = []
        for k in range(half):
            row = [_cell_flowable(pairs[k][0], layout, header=True), _cell_flowable(pairs[k][1], layout), ""]
            if k + half < len(pairs):
                right = pairs[k + half]
                row += [_cell_flowable(right[0], layout, header=True), _cell_flowable(right[1], layout)]
            else:
                row += ["", ""]
            rows.append(row)
        widths = [key_width, value_natural, 14, key_width, value_natural]
        style.append(("LINEBELOW", (2, 0), (2, -1), 0, colors.white))
        if len(pairs) % 2:
            style.append(("LINEBELOW", (3, -1), (4, -1), 0, colors.white))
    else:
        rows = [[_cell_flowable(k, layout, header=True), _cell_flowable(v, layout)] for k, v in pairs]
        widths = [key_width, min(value_natural, available - key_width)]
    table = RLTable(rows, colWidths=widths, hAlign="LEFT")
    table.setStyle(style)
    return [*_caption_flowable(block.caption, layout), table]


#: The most rows of one table on paper; the rest are in index.html and results.json, and the table says so.
PDF_ROWS = 24


def _table_flowables(block: Table, layout: _Layout, available: float) -> list:
    from reportlab.platypus import Paragraph
    from reportlab.platypus import Table as RLTable

    if len(block.rows) > PDF_ROWS and not block.transposed:
        block = dataclasses.replace(block, rows=block.rows[:PDF_ROWS], more=block.more + len(block.rows) - PDF_ROWS)

    out = _caption_flowable(block.caption, layout)
    if block.common:
        parts = [f"{_plain(k)} = {_plain(v)}" for k, v in block.common]
        out.append(Paragraph(xml_escape("The same in every row: " + "; ".join(parts) + "."), _styles()["lead-in"]))
    columns = [[_cell_widths(block.columns[j], True)] + [_cell_widths(row[j], block.transposed and j == 0)
                                                         for row in block.rows]
               for j in range(len(block.columns))]
    widths = _column_widths(columns, available)
    head = [_cell_flowable(c, layout, header=True) for c in block.columns]
    body = [[_cell_flowable(c, layout, header=block.transposed and j == 0) for j, c in enumerate(row)]
            for row in block.rows]
    # a long, narrow table runs in two or three columns side by side, each under its own header
    parts = min(3, int((available + _GUTTER) // (sum(widths) + _GUTTER)))
    if len(body) >= 12 and parts >= 2 and not block.transposed:
        size = -(-len(body) // parts)
        chunks = [body[k:k + size] for k in range(0, len(body), size)]
        tables = []
        for chunk in chunks:
            piece = RLTable([[_cell_flowable(c, layout, header=True) for c in block.columns], *chunk],
                            colWidths=widths, hAlign="LEFT")
            piece.setStyle(_table_style(True))
            tables.append(piece)
        outer = RLTable([tables], colWidths=[sum(widths) + _GUTTER] * len(tables), hAlign="LEFT")
        outer.setStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                        ("RIGHTPADDING", (0, 0), (-1, -1), _GUTTER), ("TOPPADDING", (0, 0), (-1, -1), 0),
                        ("BOTTOMPADDING", (0, 0), (-1, -1), 0)])
        out.append(outer)
    else:
        table = RLTable([head, *body], colWidths=widths, repeatRows=1, hAlign="LEFT")
        table.setStyle(_table_style(True))
        out.append(table)
    if block.more:
        out.append(Paragraph(f"… and {block.more} more rows in results.json", _styles()["meta"]))
    return out


def _plain(c: Cell) -> str:
    if isinstance(c, Text):
        return c.text
    if isinstance(c, Formula):
        return c.latex
    return "; ".join(", ".join(row) for row in c.rows)


def _natural_width(block: Block) -> float:
    """The width a block takes when nothing forces it narrower (its caption included)."""
    caption = _cell_widths(block.caption, False, bold=True)[0] if block.caption is not None else 0.0
    if isinstance(block, Fields):
        key = max(_cell_widths(k, False, bold=True)[0] for k, _ in block.rows) + _PAD
        value = max(_cell_widths(v, False)[0] for _, v in block.rows) + _PAD
        return max(caption, key + value)
    columns = [[_cell_widths(block.columns[j], True)] + [_cell_widths(row[j], block.transposed and j == 0)
                                                         for row in block.rows]
               for j in range(len(block.columns))]
    common = max((_text_width(f"{_plain(k)} = {_plain(v)}", 7.5) for k, v in block.common), default=0.0)
    return max(caption, common, sum(max(n for n, _ in col) + _PAD for col in columns))


def _block_flowables(block: Block, layout: _Layout, available: float) -> list:
    if isinstance(block, Fields):
        return _fields_flowables(block, layout, available)
    return _table_flowables(block, layout, available)


def _blocks(blocks: Sequence[Block], layout: _Layout, available: float = WIDTH) -> list:
    """The blocks one under the other; two narrow ones in a row share it, side by side."""
    from reportlab.platypus import Spacer
    from reportlab.platypus import Table as RLTable

    half = (available - _GUTTER) / 2
    out: list = []
    k = 0
    while k < len(blocks):
        block = blocks[k]
        if (k + 1 < len(blocks) and _natural_width(block) <= half and _natural_width(blocks[k + 1]) <= half
                and not (isinstance(block, Table) and block.more)):
            cells = [_block_flowables(block, layout, half), _block_flowables(blocks[k + 1], layout, half)]
            row = RLTable([cells], colWidths=[half + _GUTTER, half], hAlign="LEFT")
            row.setStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                          ("RIGHTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 0),
                          ("BOTTOMPADDING", (0, 0), (-1, -1), 0)])
            out.append(row)
            k += 2
        else:
            out += _block_flowables(block, layout, available)
            k += 1
        out.append(Spacer(1, 2))
    return out


# --- the document -------------------------------------------------------------------------------------


def _png_size(png: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", png[16:24])
    return width, height




#: A figure may shrink to this fraction of its size to finish a page instead of leaving a gap.
FIGURE_SHRINK = 0.6


def _figure(c: ClaimView, layout: _Layout):
    """The claim's figure and its caption as one flowable: at most the text width and
    :data:`FIGURE_HEIGHT` of the page, shrunk (down to :data:`FIGURE_SHRINK`) to fit the rest of a page."""
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import Flowable, Paragraph

    png = c.figure.png
    width_px, height_px = _png_size(png)
    width, height = width_px / PNG_DPI * 72, height_px / PNG_DPI * 72
    scale = min(1.0, WIDTH / width, FIGURE_HEIGHT * HEIGHT / height)
    caption = Paragraph(f"Figure {c.figure_number}: {xml_escape(c.title)}", _styles()["caption"])

    class FigureWithCaption(Flowable):
        def wrap(self, available_width, available_height):
            _, caption_height = caption.wrap(available_width, available_height)
            self.caption_height = caption_height + caption.getSpaceBefore() + caption.getSpaceAfter()
            fit = (available_height - self.caption_height) / (height * scale)
            shrink = min(1.0, max(fit, FIGURE_SHRINK))
            self.image_width, self.image_height = width * scale * shrink, height * scale * shrink
            self.width, self.height = available_width, self.image_height + self.caption_height
            return self.width, self.height

        def draw(self) -> None:
            x = (self.width - self.image_width) / 2
            if layout.final:
                self.canv.drawImage(ImageReader(io.BytesIO(png)), x, self.caption_height, self.image_width,
                                    self.image_height)
                layout.figures.append(c.id)
            caption.drawOn(self.canv, 0, caption.getSpaceAfter())

    return FigureWithCaption()


def _heading(text: str, style: str, *, key: str, level: int | None = None, layout: _Layout | None = None,
             toc_text: str | None = None, claim_id: str | None = None):
    """A heading with an anchor ``key``; with a ``level``, also an entry of the contents and the outline."""
    from reportlab.platypus import Paragraph

    paragraph = Paragraph(f'<a name="{key}"/>{text}', _styles()[style])
    paragraph.toc = None
    if level is not None:
        paragraph.toc = (level, toc_text if toc_text is not None else text, key)
        layout.outline.append(paragraph.toc)
    paragraph.claim_id = claim_id
    return paragraph


def _verdict_markup(verdict: str) -> str:
    return f'<font color="{_COLOURS.get(verdict, _MUTED)}"><b>{escape(verdict)}</b></font>'


def _words(text: str, layout: _Layout, *, muted: bool = False):
    """A sentence with inline ``$…$`` formulas: a paragraph, or glyph outlines when it holds a formula."""
    from reportlab.platypus import Paragraph

    if has_math(text):
        return _math_flowable(text, display=_BODY + 1, inline=_BODY, layout=layout)
    return Paragraph(xml_escape(text), _styles()["meta" if muted else "body"])


def _claim_story(c: ClaimView, layout: _Layout) -> list:
    from reportlab.platypus import KeepTogether, Paragraph, Preformatted, Spacer

    styles = _styles()
    title = xml_escape(c.title)
    head = [_heading(title, "h2", key=c.anchor, level=1, layout=layout, claim_id=c.id,
                     toc_text=f"{title} · {_verdict_markup(c.verdict)}")]
    verdict = _verdict_markup(c.verdict)
    if c.erratum:
        verdict += ' <font color="#b3261e">— wrong in the notes</font>'
    if c.error:
        verdict += " — the check raised"
    details = " · ".join(xml_escape(d) for d in c.details)
    head.append(Paragraph(f"{verdict} · {details}", styles["meta"]))
    head.append(_math_flowable(c.statement, display=11.5, inline=9.5, layout=layout))
    if c.pair is not None:
        head.append(Spacer(1, 2))
        head.append(_words(c.pair.line, layout, muted=True))
    story = [KeepTogether(head)]
    if c.why:
        story.append(Paragraph(f"<b>Why inconclusive:</b> {xml_escape(c.why)}", styles["body"]))
    if c.erratum:
        story.append(Paragraph(f'Corrected form and counterexample: <a href="#{c.erratum_anchor}" color="#1a56a8">'
                               "in “Formulas of the notes found wrong”</a>.", styles["meta"]))
    else:
        if c.counterexample:
            story.append(Paragraph("Counterexample", styles["part"]))
            story += _blocks(c.counterexample, layout)
            if c.counterexample_explained:
                story.append(_words(c.counterexample_explained, layout))
        if c.corrected:
            story.append(Paragraph("Corrected form" + ("" if c.correction_verified else " (not checked)"),
                                   styles["part"]))
            story.append(_math_flowable(c.corrected, display=11.5, inline=9.5, layout=layout))
            if c.correction_explanation:
                story.append(_words(c.correction_explanation, layout))
    if c.evidence:
        story.append(Paragraph("Evidence", styles["part"]))
        story += _blocks(c.evidence, layout)
    if c.correction_evidence or c.correction_pair is not None:
        story.append(Paragraph("How the correction was checked", styles["part"]))
        if c.correction_pair is not None:
            story.append(_words(c.correction_pair.line, layout, muted=True))
        story += _blocks(c.correction_evidence, layout)
    if c.error:
        story.append(Paragraph("The check raised", styles["part"]))
        story.append(Preformatted("\n".join(c.error.rstrip().splitlines()[-25:]), styles["code"], maxLineLength=120))
    if c.figure_error:
        story.append(Paragraph("The figure raised", styles["part"]))
        story.append(Preformatted("\n".join(c.figure_error.rstrip().splitlines()[-25:]), styles["code"],
                                  maxLineLength=120))
    elif c.figure is not None and c.figure.png is not None:
        story.append(Spacer(1, 4))
        story.append(_figure(c, layout))
    story.append(Spacer(1, 4))
    return story


def _erratum_story(c: ClaimView, layout: _Layout) -> list:
    from reportlab.lib.colors import HexColor
    from reportlab.platypus import KeepTogether, Paragraph
    from reportlab.platypus import Table as RLTable

    styles = _styles()
    half = WIDTH / 2
    written = [Paragraph("AS WRITTEN", styles["part"]),
               _math_flowable(c.statement, display=10.5, inline=8.5, layout=layout)]
    corrected = [Paragraph("CORRECTED" + ("" if c.correction_verified or not c.corrected else " (NOT CHECKED)"),
                           styles["part"]),
                 _math_flowable(c.corrected, display=10.5, inline=8.5, layout=layout) if c.corrected
                 else Paragraph("no corrected form given", styles["body"])]
    pair = RLTable([[written, corrected]], colWidths=[half - 3, half - 3], hAlign="LEFT")
    pair.setStyle([("BACKGROUND", (0, 0), (0, 0), HexColor("#fbeceb")),
                   ("BACKGROUND", (1, 0), (1, 0), HexColor("#e9f5ec")), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                   ("LEFTPADDING", (0, 0), (-1, -1), 6), ("RIGHTPADDING", (0, 0), (-1, -1), 6),
                   ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 5)])
    head = [Paragraph(f'<a name="{c.erratum_anchor}"/><a href="#{c.anchor}">{xml_escape(c.title)}</a>', styles["h2"]),
            Paragraph(xml_escape(c.source), styles["meta"]), pair]
    if c.correction_explanation:
        head.append(_words(c.correction_explanation, layout))
    if c.correction_checked_by:
        verdict = "holds" if c.correction_verified else "was not confirmed"
        head.append(Paragraph(xml_escape(f"The correction {verdict}: checked by {c.correction_checked_by}."),
                              styles["meta"]))
    counterexample = _blocks(c.counterexample, layout)
    # the card's head, and the counterexample's label with its first table, are kept on one page
    story = [KeepTogether(head), KeepTogether([Paragraph("Counterexample", styles["part"]), *counterexample[:1]]),
             *counterexample[1:]]
    if c.counterexample_explained:
        story.append(_words(c.counterexample_explained, layout))
    return story


def _front(v: View, toc) -> list:
    from reportlab.lib.colors import HexColor
    from reportlab.platypus import Paragraph
    from reportlab.platypus import Table as RLTable

    styles = _styles()
    story = [_heading(xml_escape(v.title), "title", key="summary"),
             Paragraph(xml_escape(v.subtitle), styles["subtitle"])]
    rows = [[Paragraph(_verdict_markup(verdict), styles["body"]), Paragraph(str(n), styles["body"])]
            for verdict, n in v.summary.counts]
    rows.append([Paragraph("<b>claims checked</b>", styles["body"]), Paragraph(f"<b>{v.summary.total}</b>",
                                                                                styles["body"])])
    counts = RLTable(rows, colWidths=[90, 40], hAlign="LEFT")
    counts.setStyle([("LINEBELOW", (0, 0), (-1, -1), 0.4, HexColor(_RULE)), ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                     ("LEFTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 1),
                     ("BOTTOMPADDING", (0, 0), (-1, -1), 1)])
    story += [counts, Paragraph(xml_escape(v.summary.sentence), styles["body"])]
    if v.summary.failing:
        items = ", ".join(f'<a href="#{f.anchor}" color="#1a56a8">{xml_escape(f.title)}</a> ({xml_escape(f.reason)})'
                          for f in v.summary.failing)
        story.append(Paragraph(f"<b>Not an error of the notes:</b> {items}.", styles["body"]))
    story.append(Paragraph(xml_escape(v.summary.run), styles["meta"]))
    contents = _heading("Contents", "h1", key="contents")
    contents.keepWithNext = 0  # the contents may start on the title page and run on
    story.append(contents)
    story.append(toc)
    return story


def _contents():
    from reportlab.platypus.tableofcontents import TableOfContents

    styles = _styles()
    compact = [("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
               ("RIGHTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 0),
               ("BOTTOMPADDING", (0, 0), (-1, -1), 0)]
    return TableOfContents(levelStyles=[styles["toc0"], styles["toc1"]], dotsMinLevel=0, tableStyle=compact)


def _story(v: View, layout: _Layout, toc) -> list:
    from reportlab.platypus import CondPageBreak, Paragraph

    styles = _styles()
    story = _front(v, toc)
    story.append(CondPageBreak(0.25 * HEIGHT))
    story.append(_heading("Formulas of the notes found wrong", "h1", key="errata", level=0, layout=layout))
    if not v.errata:
        story.append(Paragraph("None: every formula of the notes that was checked as written holds.", styles["body"]))
    else:
        story.append(Paragraph(
            f"{len(v.errata)} {'formula' if len(v.errata) == 1 else 'formulas'}, as written in the notes, "
            f"{'is' if len(v.errata) == 1 else 'are'} refuted. Each is shown beside its corrected "
            "form and the counterexample that refutes it; the claim's own section has the evidence.", styles["body"]))
        for c in v.errata:
            story += _erratum_story(c, layout)
    for topic in v.topics:
        story.append(CondPageBreak(0.22 * HEIGHT))
        story.append(_heading(xml_escape(topic.title), "h1", key=topic.anchor, level=0, layout=layout))
        for c in topic.claims:
            story += _claim_story(c, layout)
    story.append(CondPageBreak(0.3 * HEIGHT))
    story.append(_heading("Environment", "h1", key="environment", level=0, layout=layout))
    for group, blocks in v.environment:
        story.append(Paragraph(xml_escape(group), styles["h2"]))
        story += _blocks(blocks, layout)
    return story


def _document(target, v: View, toc, claim_pages: dict[str, int], contents: list[tuple[int, str, int]]):
    from reportlab.lib.colors import HexColor
    from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate

    def footer(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont("DejaVu", 7.5)
        canvas.setFillColor(HexColor(_MUTED))
        canvas.drawString(_LEFT, _BOTTOM - 22, v.title)
        canvas.drawRightString(PAGE[0] - _RIGHT, _BOTTOM - 22, f"page {doc.page}")
        canvas.restoreState()

    class Document(BaseDocTemplate):
        def afterFlowable(self, flowable) -> None:
            entry = getattr(flowable, "toc", None)
            if entry is not None:
                level, text, key = entry
                self.canv.bookmarkPage(key)
                plain_text = _strip_markup(text)
                self.canv.addOutlineEntry(plain_text, key, level=level, closed=level == 0)
                toc.addEntry(level, text, self.page, key)
                contents.append((level, plain_text, self.page))
            claim_id = getattr(flowable, "claim_id", None)
            if claim_id is not None:
                claim_pages[claim_id] = self.page

    frame = Frame(_LEFT, _BOTTOM, WIDTH, HEIGHT, leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    return Document(target, pagesize=PAGE, leftMargin=_LEFT, rightMargin=_RIGHT, topMargin=_TOP,
                    bottomMargin=_BOTTOM, title=v.title, author="verify report", creator="verify report",
                    pageTemplates=[PageTemplate(id="page", frames=[frame], onPage=footer)])


def _strip_markup(text: str) -> str:
    import re
    from html import unescape

    return unescape(re.sub(r"<[^>]+>", "", text))


def write_pdf(report: Report, path: str | os.PathLike[str]) -> PdfLayout:
    """Write ``report.pdf`` to ``path`` (atomically); returns what was laid out (:class:`PdfLayout`).

    Two builds: the first, with the contents already holding every entry (page numbers unknown, so the
    contents take their final room) and figures as empty boxes of their size, finds each entry's page;
    the second draws everything with those pages. A further build follows only if a page moved.
    """
    from reportlab import rl_config

    v = view(report)
    toc = _contents()
    outline = _Layout()
    _story(v, outline, toc)  # the headings, in order, before any page is laid out
    for level, text, key in outline.outline:
        toc.addEntry(level, text, 0, key)
    claim_pages: dict[str, int] = {}
    a85 = rl_config.useA85
    rl_config.useA85 = 0  # images as binary Flate streams: smaller, and ReportLab's pure-Python ASCII85 is slow
    try:
        for build in range(5):
            layout = _Layout(final=build > 0)
            toc.beforeBuild()  # prints the entries of the previous build, collects this build's
            buffer = io.BytesIO()
            contents: list[tuple[int, str, int]] = []
            document = _document(buffer, v, toc, claim_pages, contents)
            document.build(_story(v, layout, toc))
            if layout.final and toc.isSatisfied():
                break
        else:
            raise RuntimeError("the contents' page numbers did not settle in 5 builds")
    finally:
        rl_config.useA85 = a85
    with replace_atomically(path) as handle:
        handle.write(buffer.getvalue())
    return PdfLayout(pages=document.page, claim_pages=dict(claim_pages), contents=contents,
                     figures=list(layout.figures),
                     fallbacks=list(dict.fromkeys(layout.fallbacks)))
