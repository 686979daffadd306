"""Matplotlib SVG made fit to inline in one self-contained HTML document.

Matplotlib writes a standalone SVG file: an XML prolog, a DOCTYPE naming the SVG DTD by URL, an RDF
metadata block with URLs, and element ids (glyph paths, clip paths) that would collide between two
figures in one page. :func:`clean_svg` removes the first three and prefixes every id (and every
``#id`` reference to it) so each figure is self-contained and nothing in it points outside the page.
"""

from __future__ import annotations

import io
import re

__all__ = ["clean_svg", "figure_svg"]

_PROLOG = re.compile(r"<\?xml[^>]*\?>\s*|<!DOCTYPE[^>]*>\s*", re.DOTALL)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
_ID = re.compile(r'\bid="([^"]+)"')


def clean_svg(svg: str, prefix: str) -> str:
    """``svg`` without prolog, DOCTYPE and metadata, with every id scoped by ``prefix``."""
    svg = _METADATA.sub("", _PROLOG.sub("", svg))
    ids = set(_ID.findall(svg))
    if not ids:
        return svg.strip()

    def scope_reference(match: re.Match[str]) -> str:
        name = match.group(2)
        return f"{match.group(1)}{prefix}-{name}" if name in ids else match.group(0)

    svg = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    svg = re.sub(r'(href="#)([^"]+)(?=")', scope_reference, svg)
    svg = re.sub(r"(url\(#)([^)]+)(?=\))", scope_reference, svg)
    return svg.strip()


def figure_svg(figure, prefix: str) -> str:
    """A matplotlib ``Figure`` as inline SVG markup (text as paths: no font is needed to view it)."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "verify-report"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight")
    return clean_svg(buffer.getvalue(), prefix)
