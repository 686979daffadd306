"""Statements: mathtext where it can, the LaTeX source where it cannot, never an exception."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from verify.report.latex import latex_svg, mathtext_lines
from verify.report.svg import clean_svg


def test_common_tex_that_mathtext_lacks_is_rewritten():
    assert mathtext_lines(r"a \le b") == (r"$a \leq b$",)
    assert mathtext_lines(r"\tfrac12 \lVert x \rVert") == (r"$\frac{1}{2} \Vert x \Vert$",)
    # whole-word rewriting: \left is not \le + ft
    assert mathtext_lines(r"\left(\frac{a}{b}\right) \ge 0") == (r"$\left(\frac{a}{b}\right) \geq 0$",)
    # aligned environments become one line per row
    assert mathtext_lines(r"\begin{aligned} a &= b \\ c &= d \end{aligned}") == ("$a = b$", "$c = d$")
    # text with inline mathematics is kept as text
    assert mathtext_lines(r"for all $x$: $x^2 \ge 0$") == (r"for all $x$: $x^2 \geq 0$",)


def test_unparseable_statements_give_none():
    for tex in (r"\begin{cases} 1 & x \end{cases}", r"\unknowncommand{x}", r"\frac{a", "", "   "):
        assert mathtext_lines(tex) is None, tex
        assert latex_svg(tex) is None, tex


_TOKENS = [*"ab12^_{}()[]|=+-\\ $&", r"\frac", r"\le", r"\sum", r"\alpha", r"\begin{aligned}", r"\\"]


@given(st.lists(st.sampled_from(_TOKENS), max_size=25).map("".join))
def test_rendering_never_raises(tex):
    svg = latex_svg(tex)
    assert svg is None or svg.count("<svg") == len(mathtext_lines(tex))


def test_svg_ids_are_scoped_and_references_follow():
    raw = ('<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/x.dtd">\n'
           '<svg xmlns="http://www.w3.org/2000/svg"><metadata><rdf:RDF><dc:type rdf:resource="http://p.org/x"/>'
           '</rdf:RDF></metadata><defs><path id="g1" d="M 0 0"/><clipPath id="c1"/></defs>'
           '<use xlink:href="#g1"/><g clip-path="url(#c1)"/><a href="#elsewhere"/></svg>')
    out = clean_svg(raw, "f7")
    assert "<?xml" not in out and "DOCTYPE" not in out and "metadata" not in out
    assert re.findall(r'id="([^"]+)"', out) == ["f7-g1", "f7-c1"]
    assert 'xlink:href="#f7-g1"' in out and "url(#f7-c1)" in out
    assert 'href="#elsewhere"' in out  # not an id of this SVG: left alone


def test_two_renderings_share_no_ids():
    a, b = latex_svg(r"x^2", prefix="p"), latex_svg(r"x^2", prefix="q")
    ids_a, ids_b = set(re.findall(r'id="([^"]+)"', a)), set(re.findall(r'id="([^"]+)"', b))
    assert ids_a and ids_b and not ids_a & ids_b
