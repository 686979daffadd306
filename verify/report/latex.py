"""LaTeX statements rendered with matplotlib's mathtext, for the HTML (inline SVG) and the PDF.

mathtext understands a large subset of TeX math but not all of it. :func:`mathtext_lines` rewrites the
few common commands it lacks into ones it has (``\\le`` → ``\\leq``, ``\\tfrac`` → ``\\frac``,
``\\lVert`` → ``\\Vert``, sizing commands such as ``\\big`` dropped…), splits ``aligned`` environments
at ``\\\\`` into lines, and *parses* every line; if any line still does not parse it returns ``None`` and
the caller shows the LaTeX source instead. Rendering a statement therefore never raises.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import re
from typing import Any

__all__ = [
    "DISPLAY_SIZE",
    "INLINE_SIZE",
    "Glyphs",
    "chunks",
    "glyphs",
    "glyphs_svg",
    "is_display_math",
    "reads_as_prose",
    "latex_html",
    "mathtext_lines",
    "split_math",
    "layout_lines",
]

# (pattern, replacement): TeX commands mathtext does not know, mapped to ones it does. A command is
# matched only as a whole word (``\le`` must not match ``\left``).
_REWRITES: tuple[tuple[str, str], ...] = (
    (r"\\(?:displaystyle|textstyle|scriptstyle|limits|nolimits)(?![A-Za-z])", ""),
    (r"\\(?:big|Big|bigg|Bigg)(?:l|r|m)?(?![A-Za-z])", ""),
    (r"\\[td]frac(?![A-Za-z])", r"\\frac"),
    (r"\\le(?![A-Za-z])", r"\\leq"),
    (r"\\ge(?![A-Za-z])", r"\\geq"),
    (r"\\iff(?![A-Za-z])", r"\\Leftrightarrow"),
    (r"\\implies(?![A-Za-z])", r"\\Rightarrow"),
    (r"\\[lr]Vert(?![A-Za-z])", r"\\Vert"),
    (r"\\[lr]vert(?![A-Za-z])", "|"),
    (r"\\bm(?![A-Za-z])", r"\\boldsymbol"),
    (r"\\operatorname\*", r"\\operatorname"),
    # \mathbf 1 → \mathbf{1}: TeX takes a one-token argument, mathtext wants braces
    (r"\\(mathbf|mathrm|mathit|mathbb|mathcal|mathsf|mathtt|mathfrak|boldsymbol)\s*([A-Za-z0-9])", r"\\\1{\2}"),
    (r"\\begin\{(?:aligned|align\*?|gathered|gather\*?|split|equation\*?)\}", ""),
    (r"\\end\{(?:aligned|align\*?|gathered|gather\*?|split|equation\*?)\}", ""),
    (r"\\(?:nonumber|notag)(?![A-Za-z])", ""),
)


# ``\frac12`` / ``\frac{1}2``: TeX takes one-token arguments, mathtext wants braces.
_FRAC = re.compile(r"\\frac\s*(\{[^{}]*\}|[^\s{}\\])\s*(\{[^{}]*\}|[^\s{}\\])")


def _brace(argument: str) -> str:
    return argument if argument.startswith("{") else "{" + argument + "}"


def _rewrite(tex: str) -> str:
    for pattern, replacement in _REWRITES:
        tex = re.sub(pattern, replacement, tex)
    return _FRAC.sub(lambda m: r"\frac" + _brace(m.group(1)) + _brace(m.group(2)), tex)


_SPACING = re.compile(r"^(?:\s|\\ |\\quad|\\qquad|\\,|\\;)+")


def _split_top_level(tex: str) -> list[str]:
    """Split at ``;`` outside braces (not ``\\;``, a space): a list of formulas becomes one per line."""
    parts, depth, start = [], 0, 0
    for k, ch in enumerate(tex):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == ";" and depth == 0 and (k == 0 or tex[k - 1] != "\\"):
            parts.append(tex[start:k])
            start = k + 1
    parts.append(tex[start:])
    return [_SPACING.sub("", p).strip() for p in parts]


def _split_lines(tex: str) -> list[str]:
    """Display lines: rows of an environment (``\\\\``) and formulas of a ``;``-separated list."""
    rows = [row.replace("&", "") for row in re.split(r"\\\\", tex)]
    return [line for row in rows for line in _split_top_level(row) if line]



@functools.lru_cache(maxsize=1024)
def mathtext_lines(latex: str) -> tuple[str, ...] | None:
    """The statement as mathtext strings, one per displayed line, or ``None`` if it cannot be parsed.

    A statement with no ``$`` is taken to be mathematics throughout (``$…$`` is added) and each of its
    lines is laid out here, so ``None`` means mathtext rejects it. One with ``$`` is text with inline
    mathematics, as in LaTeX: it is rewritten but its formulas are checked where they are laid out
    (:func:`glyphs`, :func:`layout_lines`), one by one.
    """
    if not isinstance(latex, str) or not latex.strip():
        return None
    tex = _rewrite(latex.strip())
    if not is_display_math(tex):
        return (tex,)
    lines = tuple(f"${line}$" for line in _split_lines(tex))
    if not lines or any(glyphs(line, DISPLAY_SIZE) is None for line in lines):
        return None
    return lines


def reads_as_prose(tex: str) -> bool:
    """Whether a statement without ``$`` is words or code rather than mathematics: it has a run of four
    or more words (outside TeX commands and their arguments), two of them at least three letters long,
    or an identifier such as ``grad_theta2`` (TeX would subscript only its first letter)."""
    stripped = re.sub(r"\\[A-Za-z]+(?:\{[^{}]*\})?", " ", tex)
    if re.search(r"[A-Za-z0-9]_[A-Za-z]{3,}", stripped):  # code identifiers (grad_theta2): in TeX, garbled
        return True
    runs = re.findall(r"[A-Za-z][A-Za-z']*(?:\s+[A-Za-z][A-Za-z']*){3,}", stripped)
    return any(sum(len(word) >= 3 for word in run.split()) >= 2 for run in runs)


def is_display_math(latex: str) -> bool:
    """A statement that is mathematics throughout: no ``$`` in it, and it does not read as prose."""
    return "$" not in latex.replace(r"\$", "") and not reads_as_prose(latex)


def split_math(latex: str) -> list[tuple[bool, str]]:
    """``[(is_math, piece), …]`` of text with inline ``$…$`` mathematics (``\\$`` is a literal dollar).

    A statement with no ``$`` at all is one piece: mathematics, unless it reads as prose
    (:func:`reads_as_prose`). An unclosed ``$`` leaves the rest as text.
    """
    if "$" not in latex.replace(r"\$", ""):
        return [(not reads_as_prose(latex), latex.strip())] if latex.strip() else []
    pieces: list[tuple[bool, str]] = []
    parts = re.split(r"(?<!\\)\$", latex)
    if len(parts) % 2 == 0:  # unbalanced: the last "$" opens nothing
        parts[-2:] = ["$".join(parts[-2:])]
    for k, part in enumerate(parts):
        if part:
            pieces.append((k % 2 == 1, part if k % 2 else part.replace(r"\$", "$")))
    return pieces


@dataclasses.dataclass(frozen=True)
class Glyphs:
    """A line of text or mathematics as outlines, in points: origin at the left end of the baseline.

    ``path`` is the outline for matplotlib (y up); :attr:`d` the same as SVG path data (y down, so the
    baseline is ``y = 0``). ``width`` is the advance, ``ascent`` and ``depth`` the extent above and
    below the baseline.
    """

    path: Any
    width: float
    ascent: float
    depth: float

    @functools.cached_property
    def d(self) -> str:
        return _svg_path_data(self.path.vertices, self.path.codes)

    @functools.cached_property
    def pdf(self) -> str:
        """The outline as PDF path operators in points (y up), ready to fill (``f``)."""
        return _pdf_path_data(self.path.vertices, self.path.codes)


_SVG_COMMAND = {1: "M", 2: "L", 4: "C"}


def _svg_path_data(vertices, codes) -> str:
    """SVG path data of a matplotlib path made of MOVETO, LINETO, CURVE3, CURVE4 and CLOSEPOLY."""
    coordinates = [f"{x:.2f} {-y:.2f}" for x, y in vertices.tolist()]
    out = []
    pending = 0  # control points still to come for the current curve
    for xy, code in zip(coordinates, codes.tolist(), strict=True):
        if pending:
            out.append(" " + xy)
            pending -= 1
        elif code == 79:
            out.append("Z")
        elif code == 3:
            out.append("Q" + xy)
            pending = 1
        elif code == 4:
            out.append("C" + xy)
            pending = 2
        else:
            out.append(_SVG_COMMAND.get(code, "L") + xy)
    return "".join(out)


def _pdf_path_data(vertices, codes) -> str:
    """PDF path operators (``m``, ``l``, ``c``, ``h``) of a matplotlib path; quadratic pieces as cubics."""
    points = vertices.tolist()
    out: list[str] = []
    current = (0.0, 0.0)
    k, n = 0, len(points)
    codes = codes.tolist()
    while k < n:
        code = codes[k]
        x, y = points[k]
        if code == 1 or code == 2:
            out.append(f"{x:.2f} {y:.2f} {'m' if code == 1 else 'l'}")
            current = (x, y)
            k += 1
        elif code == 3 and k + 1 < n:
            (qx, qy), (ex, ey) = points[k], points[k + 1]
            cx, cy = current
            out.append(f"{cx + 2 / 3 * (qx - cx):.2f} {cy + 2 / 3 * (qy - cy):.2f} "
                       f"{ex + 2 / 3 * (qx - ex):.2f} {ey + 2 / 3 * (qy - ey):.2f} {ex:.2f} {ey:.2f} c")
            current = (ex, ey)
            k += 2
        elif code == 4 and k + 2 < n:
            (ax, ay), (bx, by), (ex, ey) = points[k], points[k + 1], points[k + 2]
            out.append(f"{ax:.2f} {ay:.2f} {bx:.2f} {by:.2f} {ex:.2f} {ey:.2f} c")
            current = (ex, ey)
            k += 3
        elif code == 79:
            out.append("h")
            k += 1
        else:  # STOP, or a truncated curve: nothing to draw
            k += 1
    return " ".join(out)


#: The size (points) at which each text is laid out once; every other size is the same outline scaled
#: (matplotlib's text paths are unhinted, so its layout is exactly proportional to the font size).
REFERENCE_SIZE = 10.0


@functools.lru_cache(maxsize=4096)
def _laid_out(text: str) -> Glyphs | None:
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath, text_to_path

    ismath = "$" in text.replace(r"\$", "")
    try:
        path = TextPath((0, 0), text, size=REFERENCE_SIZE, prop=FontProperties())
        width, height, depth = text_to_path.get_text_width_height_descent(
            text, FontProperties(size=REFERENCE_SIZE), ismath=ismath)
    except Exception:  # noqa: BLE001 - any layout failure means "show the source instead"
        return None
    return Glyphs(path, float(width), float(height - depth), float(depth))


@functools.lru_cache(maxsize=4096)
def glyphs(text: str, size: float) -> Glyphs | None:
    """``text`` (plain, or with ``$…$`` mathematics) laid out by matplotlib at ``size`` points, or ``None``
    if mathtext rejects it. Each text is parsed once (at :data:`REFERENCE_SIZE`) and scaled, and HTML (as
    SVG) and PDF (as a path) draw the same outlines."""
    g = _laid_out(text)
    if g is None or size == REFERENCE_SIZE:
        return g
    from matplotlib.transforms import Affine2D

    f = size / REFERENCE_SIZE
    return Glyphs(g.path.transformed(Affine2D().scale(f)), g.width * f, g.ascent * f, g.depth * f)


def glyphs_svg(g: Glyphs, *, pad: float = 1.0) -> str:
    """Inline ``<svg>`` of ``g``, sized in points so that it matches text of the same size."""
    top, bottom = g.ascent + pad, g.depth + pad
    width = g.width + 2 * pad
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.2f}pt" height="{top + bottom:.2f}pt" '
            f'viewBox="{-pad:.2f} {-top:.2f} {width:.2f} {top + bottom:.2f}" role="img">'
            f'<path d="{g.d}" fill="currentColor"/></svg>')


def _code(tex: str) -> str:
    return f'<code class="latex" title="LaTeX source (mathtext cannot render it)">{html.escape(tex)}</code>'


#: Sizes in points, shared by HTML and PDF so each formula is laid out once: displayed statements,
#: and formulas inline in text.
DISPLAY_SIZE = 14.0
INLINE_SIZE = 12.0


def latex_html(latex: str, *, display_size: float = DISPLAY_SIZE, inline_size: float = INLINE_SIZE) -> str:
    """HTML for a statement: text stays text, mathematics becomes inline SVG. Never raises.

    A purely mathematical statement (no ``$``) is displayed, one SVG per line; one with inline ``$…$``
    keeps its words as HTML text (so it wraps) with each formula an SVG sitting on the baseline. A
    formula mathtext cannot parse is shown as its LaTeX source in a code span.
    """
    if not isinstance(latex, str) or not latex.strip():
        return ""
    pieces = split_math(latex)
    if pieces == [(True, latex.strip())]:
        lines = mathtext_lines(latex)
        rendered = [glyphs(line, display_size) for line in lines] if lines else [None]
        if any(g is None for g in rendered):
            return _code(latex)
        return "".join(f'<span class="math-line">{glyphs_svg(g)}</span>' for g in rendered)
    out = []
    for is_math, piece in pieces:
        if not is_math:
            out.append(html.escape(piece))
            continue
        lines = mathtext_lines(f"${piece}$")
        g = glyphs(lines[0], inline_size) if lines and len(lines) == 1 else None
        if g is None:
            out.append(_code(f"${piece}$"))
        else:
            out.append(f'<span class="math-inline" style="vertical-align: -{g.depth + 1.0:.2f}pt">'
                       f"{glyphs_svg(g)}</span>")
    return "".join(out)


def chunks(line: str) -> list[str]:
    """Words of the text and whole formulas of one mathtext line, each ending with its own space."""
    words: list[str] = []
    for is_math, piece in split_math(line) if "$" in line.replace(r"\$", "") else [(False, line)]:
        if is_math:
            words.append(f"${piece}$")
        else:
            words.extend(w for w in re.split(r"(?<=\s)", piece.replace("$", r"\$")) if w)
    # glue a formula to the word it touches ("Bias$^2$", "$x$,") so that breaks fall between words
    glued: list[str] = []
    for chunk in words:
        if glued and not glued[-1].endswith(" ") and not chunk.startswith(" "):
            glued[-1] += chunk
        else:
            glued.append(chunk)
    return glued


@functools.lru_cache(maxsize=4096)
def layout_lines(
    latex: str, width: float, *, display_size: float = DISPLAY_SIZE, inline_size: float = INLINE_SIZE
) -> list[tuple[list[tuple[Glyphs, float]], float]] | None:
    """A statement broken into lines no wider than ``width`` points, for drawing outlines (the PDF).

    Each line is ``([(glyphs, x offset in points), …], scale)``. Displayed mathematics keeps its own
    lines and is scaled down (``scale < 1``) if wider than ``width``; text with inline formulas is
    broken between words, never inside a formula. ``None`` when mathtext rejects any part of it.
    """
    lines = mathtext_lines(latex)
    if lines is None:
        return None
    if is_display_math(latex):
        laid = [glyphs(line, display_size) for line in lines]
        if any(g is None for g in laid):
            return None
        return [([(g, 0.0)], min(1.0, width / g.width) if g.width > 0 else 1.0) for g in laid]
    space = glyphs("x x", inline_size).width - glyphs("xx", inline_size).width
    out: list[tuple[list[tuple[Glyphs, float]], float]] = []
    for line in lines:
        placed: list[tuple[Glyphs, float]] = []
        x = 0.0
        for chunk in chunks(line):
            text = chunk.strip()
            if not text:
                x += space
                continue
            # a glued chunk ("Bias$^2$,") is laid out piece by piece, so that each formula is the one
            # already laid out for the HTML
            pieces = [glyphs(f"${p}$" if is_math else p.replace("$", r"\$"), inline_size)
                      for is_math, p in (split_math(text) if "$" in text.replace(r"\$", "") else [(False, text)])]
            if any(g is None for g in pieces):
                return None
            chunk_width = sum(g.width for g in pieces)
            if placed and x + chunk_width > width:
                out.append((placed, 1.0))
                placed, x = [], 0.0
            for g in pieces:
                placed.append((g, x))
                x += g.width
            x += space if chunk.endswith(" ") else 0.0
        if placed:
            longest = max(gx + g.width for g, gx in placed)
            out.append((placed, min(1.0, width / longest) if longest > 0 else 1.0))
    return out
