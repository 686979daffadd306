"""``index.html``: one self-contained page from Jinja2 templates — inline CSS and SVG, no script, no network.

The templates are package data (``verify/report/templates``): ``report.html.j2`` (the page),
``blocks.html.j2`` (evidence tables) and ``report.css``. They read the reader's view of the report
(:mod:`verify.report.view`): summary, contents, the formulas of the notes found wrong (as written beside
the corrected form and the counterexample), the claims by topic, the environment. Formulas are typeset
by mathtext as inline SVG (:func:`verify.report.latex.latex_html`); the only links are to anchors in the page.
"""

from __future__ import annotations

import functools
import os

from verify.report.build import Report
from verify.report.evidence import Fields, Formula, Matrix, Table, Text, has_math
from verify.report.files import replace_atomically
from verify.report.latex import latex_html
from verify.report.view import anchor, view

__all__ = ["anchor", "environment", "render_html", "write_html"]


def _math(latex: str | None):
    """A statement, formula or text with ``$…$`` formulas, typeset (see :func:`latex_html`)."""
    from markupsafe import Markup

    return Markup(f'<span class="math">{latex_html(latex)}</span>') if latex else ""


def _words(text: str | None):
    """Sentences, with their ``$…$`` formulas typeset; without ``$`` all of it is text (never a formula)."""
    from markupsafe import Markup, escape

    if not text:
        return ""
    return Markup(latex_html(text)) if has_math(text) else escape(text)


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


@functools.cache
def environment():
    """The Jinja2 environment: templates from the package, HTML autoescaping, formulas as a filter."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("verify.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["math"] = _math
    env.filters["words"] = _words
    env.filters["plural"] = _plural
    for name, kind in (("text", Text), ("formula", Formula), ("matrix", Matrix), ("fields", Fields),
                       ("table", Table)):
        env.tests[name] = functools.partial(lambda value, kind: isinstance(value, kind), kind=kind)
    return env


def render_html(report: Report) -> str:
    """The whole page as a string (UTF-8, no external reference)."""
    return environment().get_template("report.html.j2").render(**vars(view(report)))


def write_html(report: Report, path: str | os.PathLike[str]) -> str:
    """Write ``index.html`` to ``path`` (atomically: a reader never sees half a page); returns the path."""
    text = render_html(report)
    with replace_atomically(path) as handle:
        handle.write(text.encode("utf-8"))
    return os.fspath(path)
