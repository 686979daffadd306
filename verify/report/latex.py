"""LaTeX statements rendered with matplotlib's mathtext, for the HTML (inline SVG) and the PDF.

mathtext understands a large subset of TeX math but not all of it. :func:`mathtext_lines` rewrites the
few common commands it lacks into ones it has (``\\le`` → ``\\leq``, ``\\tfrac`` → ``\\frac``,
``\\lVert`` → ``\\Vert``, sizing commands such as ``\\big`` dropped…), splits ``aligned`` environments
at ``\\\\`` into lines, and *parses* every line; if any line still does not parse it returns ``None`` and
the caller shows the LaTeX source instead. Rendering a statement therefore never raises.
"""

from __future__ import annotations

import functools
import io
import re

from verify.report.svg import clean_svg

__all__ = ["mathtext_lines", "latex_svg", "escape_dollars"]

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


def _split_lines(tex: str) -> list[str]:
    """Split at ``\\\\`` (outside braces is not tracked: mathtext has no environment that uses it)."""
    return [line.replace("&", "").strip() for line in re.split(r"\\\\", tex) if line.strip()]


@functools.lru_cache(maxsize=1024)
def _parses(line: str) -> bool:
    from matplotlib.mathtext import MathTextParser

    try:
        MathTextParser("path").parse(line)
    except Exception:  # noqa: BLE001 - any parser failure means "show the source instead"
        return False
    return True


@functools.lru_cache(maxsize=1024)
def mathtext_lines(latex: str) -> tuple[str, ...] | None:
    """The statement as mathtext strings, one per displayed line, or ``None`` if it cannot be parsed.

    A statement with no ``$`` is taken to be mathematics throughout (``$…$`` is added); one with ``$``
    is text with inline mathematics, as in LaTeX.
    """
    if not isinstance(latex, str) or not latex.strip():
        return None
    tex = _rewrite(latex.strip())
    math_mode = "$" not in tex
    lines = []
    for line in _split_lines(tex) if math_mode else [tex]:
        text = f"${line}$" if math_mode else line
        if not _parses(text):
            return None
        lines.append(text)
    return tuple(lines) or None


def escape_dollars(text: str) -> str:
    """Plain text for a matplotlib ``Text`` whose math parsing is on: ``$`` made literal."""
    return text.replace("$", r"\$")


@functools.lru_cache(maxsize=1024)
def latex_svg(latex: str, *, size: float = 15.0, prefix: str = "m") -> str | None:
    """Inline SVG markup of ``latex`` (one ``<svg>`` per line, in a ``<span>``), or ``None``.

    ``None`` means mathtext cannot parse it; the caller shows the LaTeX source in a code span.
    ``prefix`` scopes the SVG element ids so that several SVGs can live in one HTML document.
    """
    lines = mathtext_lines(latex)
    if lines is None:
        return None
    import matplotlib
    from matplotlib import mathtext
    from matplotlib.font_manager import FontProperties

    parts = []
    for k, line in enumerate(lines):
        buffer = io.BytesIO()
        try:
            with matplotlib.rc_context({"savefig.transparent": True, "svg.fonttype": "path"}):
                mathtext.math_to_image(line, buffer, prop=FontProperties(size=size), format="svg")
        except Exception:  # noqa: BLE001 - parse succeeded but layout failed: show the source
            return None
        parts.append(clean_svg(buffer.getvalue().decode("utf-8"), f"{prefix}-{k}"))
    return "".join(f'<span class="math-line">{part}</span>' for part in parts)
