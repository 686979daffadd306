"""Statements: mathtext where it can, the LaTeX source where it cannot, never an exception."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from verify.report.latex import glyphs, latex_html, layout_lines, mathtext_lines, split_math
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


def test_split_math():
    assert split_math(r"a $x$ b \$5") == [(False, "a "), (True, "x"), (False, " b $5")]
    assert split_math(r"x^2") == [(True, "x^2")]
    assert split_math("cost $5") == [(False, "cost $5")]  # an unclosed $ opens nothing


def test_unparseable_statements_fall_back_to_their_source():
    for tex in (r"\begin{cases} 1 & x \end{cases}", r"\unknowncommand{x}", r"\frac{a"):
        assert mathtext_lines(tex) is None, tex
        assert layout_lines(tex, 400) is None, tex
        out = latex_html(tex)
        assert out.startswith('<code class="latex"') and "<svg" not in out, tex
    # in text, only the bad formula falls back; the good one is drawn
    out = latex_html(r"good $x^2$ and bad $\unknowncommand{y}$")
    assert out.count("<svg") == 1 and out.count('class="latex"') == 1
    assert latex_html("") == latex_html("   ") == ""


_TOKENS = [*"ab12^_{}()[]|=+-\\ $&", r"\frac", r"\le", r"\sum", r"\alpha", r"\begin{aligned}", r"\\"]


@given(st.lists(st.sampled_from(_TOKENS), max_size=25).map("".join))
def test_rendering_never_raises(tex):
    out = latex_html(tex)
    assert isinstance(out, str)
    lines = layout_lines(tex, 300)
    assert lines is None or all(isinstance(scale, float) for _, scale in lines)


def test_glyph_svg_is_self_contained():
    out = latex_html(r"\sum_{i=1}^n \frac{x_i}{2}")
    assert out.count("<svg") == 1 and "<path" in out
    assert "id=" not in out and "href" not in out  # nothing to collide with or to fetch
    g = glyphs(r"$\frac{1}{2}$", 12.0)
    assert g.width > 0 and g.ascent > 0 and g.depth > 0


def test_text_with_formulas_wraps_between_words_never_inside_a_formula():
    tex = (r"Heavy ball $g_t = \beta g_{t-1} + \nabla f(x_t)$, $x_{t+1} = x_t - \eta g_t$ on an $L$-smooth "
           r"quadratic converges iff $0 < \eta < 2(1+\beta)/L$ ($0 \le \beta < 1$)")
    width = 200.0
    lines = layout_lines(tex, width)
    assert len(lines) >= 3
    for placed, scale in lines:
        assert scale == 1.0
        assert max(x + g.width for g, x in placed) <= width + 1e-9
    # a layout that never breaks (the wrong implementation) is caught by the same measure
    unbroken = layout_lines(tex, 1e9)
    assert len(unbroken) == 1 and max(x + g.width for g, x in unbroken[0][0]) > width


def test_wide_display_formula_is_scaled_down():
    (placed, scale), = layout_lines(r"a_1 + a_2 + a_3 + a_4 + a_5 + a_6 + a_7 + a_8 + a_9", 60.0)
    assert scale < 1 and placed[0][0].width * scale <= 60.0 + 1e-9


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


def test_svg_path_data_matches_matplotlib_segments():
    import numpy as np
    from matplotlib.path import Path

    from verify.report.latex import _svg_path_data

    vertices = np.array([[0, 0], [1, 0], [1, 1], [2, 1], [0.5, 2], [0, 3], [1, 3], [2, 3], [0, 0]], dtype=float)
    codes = np.array([Path.MOVETO, Path.LINETO, Path.CURVE3, Path.CURVE3, Path.LINETO,
                      Path.CURVE4, Path.CURVE4, Path.CURVE4, Path.CLOSEPOLY])
    expected = "M0.00 -0.00L1.00 -0.00Q1.00 -1.00 2.00 -1.00L0.50 -2.00C0.00 -3.00 1.00 -3.00 2.00 -3.00Z"
    assert _svg_path_data(vertices, codes) == expected
    # and it agrees with matplotlib's own segment iterator on a real formula
    g = glyphs(r"$\sqrt{\frac{a}{b}}$", 14.0)
    reference = []
    for v, c in g.path.iter_segments(simplify=False, curves=True):
        xy = " ".join(f"{a:.2f}" for a in (v.reshape(-1, 2) * [1, -1]).ravel())
        reference.append({1: "M", 2: "L", 3: "Q", 4: "C"}.get(int(c), "Z") + ("" if int(c) == 79 else xy))
    assert g.d == "".join(reference)


def test_prose_without_dollars_stays_text():
    prose = "Using each data point once, SGD makes more progress than GD"
    code = "for i in range(nb): idx = shuffled_idx[i*bs:(i+1)*bs]"
    for text in (prose, code):
        assert split_math(text) == [(False, text)]
        assert "<svg" not in latex_html(text) and "latex" not in latex_html(text)
        lines = layout_lines(text, 200.0)
        assert lines and sum(len(placed) for placed, _ in lines) == len(text.split())
    # mathematics without dollars is still mathematics, even with a word or two in it
    for math in (r"f(x_1) < f(x_0)", r"\mathrm{Err}(x) = \mathrm{Bias}^2 + \mathrm{Var} + \sigma^2",
                 r"x \text{ is the unit simplex } \Delta"):
        assert split_math(math) == [(True, math)], math


def test_one_token_font_arguments_get_braces():
    assert mathtext_lines(r"\mathbf 1^\top x = \mathbb R") == (r"$\mathbf{1}^\top x = \mathbb{R}$",)


def test_a_list_of_formulas_is_displayed_one_per_line():
    tex = r"\nabla_{\theta_3} L = a;\ \nabla_{\theta_2} L = b \; c;\quad x_{a;b} = 1"
    assert mathtext_lines(tex) == (r"$\nabla_{\theta_3} L = a$", r"$\nabla_{\theta_2} L = b \; c$", "$x_{a;b} = 1$")
    # code identifiers are not TeX: shown as text rather than garbled into subscripts
    assert split_math("grad_theta2 L = grad_theta2 u2") == [(False, "grad_theta2 L = grad_theta2 u2")]
