"""Matplotlib SVG made fit to inline in one self-contained HTML document.

Matplotlib writes a standalone SVG file: an XML prolog, a DOCTYPE naming the SVG DTD by URL, an RDF
metadata block with URLs, and element ids (glyph paths, clip paths) that would collide between two
figures in one page. :func:`clean_svg` removes the first three and prefixes every id (and every
``#id`` reference to it) so each figure is self-contained and nothing in it points outside the page.
"""

from __future__ import annotations

import io
import re

__all__ = ["HEAVY_ARTIST", "RASTER_DPI", "clean_svg", "figure_svg", "rasterize_heavy_artists", "tight_bbox"]

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


#: An artist drawing more paths or points than this is embedded as an image inside the SVG: a
#: 200 × 200 colour map as 40 000 vector cells would make the page megabytes heavy and slow to open.
HEAVY_ARTIST = 2000

#: Resolution of those embedded images (the rest of the SVG stays vector).
RASTER_DPI = 150


def _size(artist) -> int:
    from matplotlib.collections import QuadMesh

    if isinstance(artist, QuadMesh):
        return int(artist.get_coordinates().shape[0] * artist.get_coordinates().shape[1])
    sizes = [len(artist.get_paths() or ())]
    if hasattr(artist, "get_offsets"):
        sizes.append(len(artist.get_offsets()))
    return max(sizes)


def rasterize_heavy_artists(figure, limit: int = HEAVY_ARTIST) -> int:
    """Mark the collections of ``figure`` with more than ``limit`` elements as rasterized; returns how many."""
    count = 0
    for ax in figure.axes:
        for artist in ax.collections:
            if not artist.get_rasterized() and _size(artist) > limit:
                artist.set_rasterized(True)
                count += 1
    return count


def tight_bbox(figure) -> str | None:
    """``"tight"`` for a figure without a layout engine; ``None`` (its own size) for one with one.

    A constrained or tight layout already fits the labels inside the figure, and ``"tight"`` costs a
    second full draw of the figure.
    """
    return None if figure.get_layout_engine() is not None else "tight"


def figure_svg(figure, prefix: str) -> str:
    """A matplotlib ``Figure`` as inline SVG markup (text as paths: no font is needed to view it).

    Heavy collections are embedded as PNG images (``data:`` URIs, still self-contained).
    """
    import matplotlib

    rasterize_heavy_artists(figure)
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "verify-report"}):
        figure.savefig(buffer, format="svg", bbox_inches=tight_bbox(figure), dpi=RASTER_DPI)
    return clean_svg(buffer.getvalue(), prefix)
