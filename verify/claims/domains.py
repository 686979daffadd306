r"""Domains of the symbols of a declarative claim: what ``where={"x": "positive"}`` means.

Each domain word or interval becomes a :class:`Domain`, which knows three things: the SymPy assumptions
a symbol on it carries (so that SymPy can reason about signs), a Hypothesis strategy of *exact* points
(floats converted exactly to :class:`fractions.Fraction`, rationals for the vectors), and the domain as
LaTeX for the claim's statement.

The words (case and spaces do not matter):

========================================  =================================================================
``"real"``                                 every real number; the search draws $|x| \le 10^9$
``"positive"``, ``"nonnegative"``          $(0, \infty)$, $[0, \infty)$ (searched up to $10^9$)
``"negative"``, ``"nonpositive"``          $(-\infty, 0)$, $(-\infty, 0]$
``"(0, 1)"``, ``"[a, b]"``, ``"(0, 1]"``   intervals, open or closed at each end; the ends are numbers or
                                           constants SymPy reads (``pi``, ``1/2``, ``sqrt(2)``, ``oo``)
``"integer"``                              every integer; the search draws $|n| \le 200$
``"integer >= 1"`` (also ``>``, ``<=``,    integers with a bound; the search draws at most 200 values past a
``<``), ``"positive integer"``,            missing bound
``"nonnegative integer"``
``"integer in [1, 10]"``                   an integer range (ends included where the bracket is square)
``"simplex(n)"``                           the probability simplex $\Delta^n$: $p \in \mathbb{R}^n$, $p_i \ge 0$,
                                           $\sum_i p_i = 1$; components are written ``p[1]`` … ``p[n]``
``"ball(n)"``, ``"ball(n, r)"``            the closed Euclidean ball $\{x \in \mathbb{R}^n : \|x\|_2 \le r\}$
                                           ($r = 1$ by default); components ``x[1]`` … ``x[n]``
========================================  =================================================================

A word that is not one of these raises :class:`ValueError` naming it and listing the words.

>>> Domain.parse("(0, 1]").latex("x")
'x \\in (0, 1]'
>>> Domain.parse("integer >= 1").latex("t")
't \\in \\{1, 2, \\dots\\}'
>>> Domain.parse("simplex(3)").dim
3
"""

from __future__ import annotations

import dataclasses
import math
import re
from fractions import Fraction
from typing import Any

__all__ = ["Domain", "DOMAIN_WORDS", "REAL_SEARCH_BOUND", "INTEGER_SEARCH_SPAN"]

#: How far the search goes on an unbounded real domain.
REAL_SEARCH_BOUND = 1e9
#: How many integers past its one bound (or either side of 0) the search goes on an unbounded integer domain.
INTEGER_SEARCH_SPAN = 200

DOMAIN_WORDS = ("real", "positive", "nonnegative", "negative", "nonpositive", "(a, b) / [a, b] / (a, b] / [a, b)",
                "integer", "integer >= k (>, <=, <)", "positive integer", "nonnegative integer",
                "integer in [a, b]", "simplex(n)", "ball(n)", "ball(n, r)")

_SIGN_WORDS = {"real": (None, None, True, True), "reals": (None, None, True, True),
               "positive": (0, None, True, True), "nonnegative": (0, None, False, True),
               "negative": (None, 0, True, True), "nonpositive": (None, 0, True, False)}
_INTERVAL = re.compile(r"^([\(\[])\s*([^,]+?)\s*,\s*([^,]+?)\s*([\)\]])$")
_INTEGER_BOUND = re.compile(r"^integer\s*(>=|>|<=|<|≥|≤)\s*(.+)$")
_INTEGER_RANGE = re.compile(r"^integer\s*(?:in\s*)?([\(\[].*[\)\]])$")
_VECTOR = re.compile(r"^(simplex|ball)\s*\(\s*([^,()]+?)\s*(?:,\s*([^,()]+?)\s*)?\)$")


def _number(text: str, what: str) -> Any:
    """A real constant SymPy reads (``-1/2``, ``pi``, ``sqrt(2)``, ``oo``), or ValueError."""
    import sympy as sp

    cleaned = text.strip().replace("∞", "oo").replace("inf", "oo").replace("ooinity", "oo")
    try:
        value = sp.sympify(cleaned, rational=True)
    except (sp.SympifyError, SyntaxError, TypeError) as exc:
        raise ValueError(f"{what} {text!r} is not a number ({exc})") from None
    if value.free_symbols or not (value.is_real or value in (sp.oo, -sp.oo)):
        raise ValueError(f"{what} {text!r} is not a real constant")
    return value


@dataclasses.dataclass(frozen=True)
class Domain:
    """Where a symbol lives (see the module docstring for the words).

    ``kind`` is ``"real"``, ``"integer"``, ``"simplex"`` or ``"ball"``; ``low``/``high`` are SymPy numbers
    or ``None`` (unbounded) with ``low_open``/``high_open``; ``dim`` and ``radius`` describe a vector domain.
    """

    text: str
    kind: str
    low: Any = None
    high: Any = None
    low_open: bool = True
    high_open: bool = True
    dim: int = 0
    radius: Any = None

    # ------------------------------------------------------------------ parsing

    @classmethod
    def parse(cls, text: Any) -> Domain:
        """The domain a word or interval names; ``ValueError`` (naming it) when it names none."""
        if isinstance(text, Domain):
            return text
        if not isinstance(text, str):
            raise TypeError(f"a domain is a string such as 'real' or '(0, 1)'; got {type(text).__name__} {text!r}")
        word = " ".join(text.strip().lower().replace("non-negative", "nonnegative")
                        .replace("non-positive", "nonpositive").split())
        if word in _SIGN_WORDS:
            low, high, lo_open, hi_open = _SIGN_WORDS[word]
            import sympy as sp

            return cls(text, "real", None if low is None else sp.Integer(low), None if high is None else sp.Integer(high),
                       lo_open, hi_open)
        if word in ("integer", "integers"):
            return cls(text, "integer")
        if word in ("positive integer", "natural", "integer > 0"):
            return cls._integer(text, ">=", "1")
        if word == "nonnegative integer":
            return cls._integer(text, ">=", "0")
        m = _INTEGER_BOUND.match(word)
        if m:
            return cls._integer(text, m.group(1), m.group(2))
        m = _INTEGER_RANGE.match(word)
        if m:
            inner = cls._interval(text, m.group(1))
            return cls._integer_range(text, inner)
        m = _INTERVAL.match(word)
        if m:
            return cls._interval(text, word)
        m = _VECTOR.match(word)
        if m:
            return cls._vector(text, m.group(1), m.group(2), m.group(3))
        raise ValueError(f"unknown domain {text!r}; a domain is one of: {', '.join(DOMAIN_WORDS)}")

    @classmethod
    def _interval(cls, text: str, word: str) -> Domain:
        m = _INTERVAL.match(word)
        if not m:
            raise ValueError(f"unknown domain {text!r}: an interval is written like '(0, 1)', '[a, b]' or '(0, 1]'")
        import sympy as sp

        low, high = _number(m.group(2), f"domain {text!r}: lower end"), _number(m.group(3), f"domain {text!r}: upper end")
        if not bool(low < high):
            raise ValueError(f"domain {text!r} is empty: its lower end {low} is not below its upper end {high}")
        low_open, high_open = m.group(1) == "(" or low == -sp.oo, m.group(4) == ")" or high == sp.oo
        return cls(text, "real", None if low == -sp.oo else low, None if high == sp.oo else high, low_open, high_open)

    @classmethod
    def _integer(cls, text: str, op: str, bound: str) -> Domain:
        import sympy as sp

        value = _number(bound, f"domain {text!r}: bound")
        op = {"≥": ">=", "≤": "<="}.get(op, op)
        if op in (">=", ">"):
            low = sp.ceiling(value) if op == ">=" else sp.floor(value) + 1
            return cls(text, "integer", sp.Integer(low), None, False, True)
        high = sp.floor(value) if op == "<=" else sp.ceiling(value) - 1
        return cls(text, "integer", None, sp.Integer(high), True, False)

    @classmethod
    def _integer_range(cls, text: str, interval: Domain) -> Domain:
        import sympy as sp

        low = None if interval.low is None else sp.Integer(
            sp.floor(interval.low) + 1 if interval.low_open else sp.ceiling(interval.low))
        high = None if interval.high is None else sp.Integer(
            sp.ceiling(interval.high) - 1 if interval.high_open else sp.floor(interval.high))
        if low is not None and high is not None and low > high:
            raise ValueError(f"domain {text!r} holds no integer")
        return cls(text, "integer", low, high, low is None, high is None)

    @classmethod
    def _vector(cls, text: str, shape: str, dim_text: str, radius_text: str | None) -> Domain:
        import sympy as sp

        dim = _number(dim_text, f"domain {text!r}: dimension")
        if not (dim.is_integer and dim >= 1):
            raise ValueError(f"domain {text!r}: the dimension must be an integer >= 1; got {dim_text!r}")
        if shape == "simplex":
            if radius_text is not None:
                raise ValueError(f"domain {text!r}: simplex(n) takes only its dimension")
            return cls(text, "simplex", dim=int(dim))
        radius = sp.Integer(1) if radius_text is None else _number(radius_text, f"domain {text!r}: radius")
        if not bool(radius > 0) or radius == sp.oo:
            raise ValueError(f"domain {text!r}: the radius must be a positive number; got {radius_text!r}")
        return cls(text, "ball", dim=int(dim), radius=radius)

    # ------------------------------------------------------------------ what it is

    @property
    def is_vector(self) -> bool:
        return self.kind in ("simplex", "ball")

    def assumptions(self, *, interior: bool = False) -> dict[str, bool]:
        """SymPy assumptions of a symbol (or of each component) on this domain.

        ``interior=True`` drops the boundary point 0 (``nonnegative`` becomes ``positive``): used to prove
        identities and non-strict inequalities, which extend from the interior to the boundary by continuity.
        """
        base: dict[str, bool] = {"integer": True} if self.kind == "integer" else {"real": True}
        if self.kind == "simplex":
            return {"real": True, ("positive" if interior else "nonnegative"): True}
        if self.kind == "ball":
            return base
        if self.low is not None and self.low >= 0:
            strict = self.low > 0 or self.low_open or interior
            base["positive" if strict else "nonnegative"] = True
        elif self.high is not None and self.high <= 0:
            strict = self.high < 0 or self.high_open or interior
            base["negative" if strict else "nonpositive"] = True
        return base

    def latex(self, name: str) -> str:
        r"""``name \in <domain>`` as LaTeX math."""
        if self.kind == "simplex":
            return rf"{name} \in \Delta^{{{self.dim}}}"
        if self.kind == "ball":
            import sympy as sp

            return rf"\|{name}\|_2 \le {sp.latex(self.radius)},\ {name} \in \mathbb{{R}}^{{{self.dim}}}"
        if self.kind == "integer":
            if self.low is None and self.high is None:
                return rf"{name} \in \mathbb{{Z}}"
            if self.high is None:
                return rf"{name} \in \{{{self.low}, {self.low + 1}, \dots\}}"
            if self.low is None:
                return rf"{name} \in \{{\dots, {self.high - 1}, {self.high}\}}"
            return rf"{name} \in \{{{self.low}, \dots, {self.high}\}}"
        if self.low is None and self.high is None:
            return rf"{name} \in \mathbb{{R}}"
        import sympy as sp

        lo = r"-\infty" if self.low is None else sp.latex(self.low)
        hi = r"\infty" if self.high is None else sp.latex(self.high)
        return rf"{name} \in {'(' if self.low_open else '['}{lo}, {hi}{')' if self.high_open else ']'}"

    def contains(self, value: Any) -> bool:
        """Exact membership of a point (Fraction, int, or a tuple of Fractions for a vector)."""
        import sympy as sp

        if self.kind == "simplex":
            return len(value) == self.dim and all(v >= 0 for v in value) and sum(value) == 1
        if self.kind == "ball":
            norm2 = sum((Fraction(v) ** 2 for v in value), Fraction(0))
            return len(value) == self.dim and bool(sp.Rational(norm2.numerator, norm2.denominator) <= self.radius**2)
        if self.kind == "integer" and Fraction(value).denominator != 1:
            return False
        v = sp.Rational(Fraction(value).numerator, Fraction(value).denominator)
        if self.low is not None and not bool(v > self.low if self.low_open else v >= self.low):
            return False
        return self.high is None or bool(v < self.high if self.high_open else v <= self.high)

    # ------------------------------------------------------------------ the search

    def strategy(self) -> Any:
        """Hypothesis strategy of exact points: ``Fraction`` (reals), ``int`` (integers), tuples of
        ``Fraction`` (vectors). Floats are drawn (Hypothesis favours ends, zero, small integers and
        extreme magnitudes) and converted exactly; a point outside the domain is never drawn."""
        from hypothesis import strategies as st

        if self.kind == "integer":
            lo = None if self.low is None else int(self.low)
            hi = None if self.high is None else int(self.high)
            if lo is None and hi is None:
                lo, hi = -INTEGER_SEARCH_SPAN, INTEGER_SEARCH_SPAN
            elif hi is None:
                hi = lo + INTEGER_SEARCH_SPAN
            elif lo is None:
                lo = hi - INTEGER_SEARCH_SPAN
            return st.integers(lo, hi)
        if self.kind == "simplex":
            # small integer weights first (exact, readable points such as (1/3, 1/3, 1/3), quick to shrink),
            # then floats for extreme components (1e-300 beside 1) and zeros
            weight = st.one_of(st.integers(1, 20), st.floats(0.0, 1.0))
            vec = st.lists(weight, min_size=self.dim, max_size=self.dim).filter(lambda w: sum(w) > 0)
            return vec.map(_normalise)
        if self.kind == "ball":
            r = float(self.radius)
            vec = st.lists(st.floats(-r, r), min_size=self.dim, max_size=self.dim)
            return vec.map(self._into_ball)
        lo = -REAL_SEARCH_BOUND if self.low is None else float(self.low)
        hi = REAL_SEARCH_BOUND if self.high is None else float(self.high)
        floats = st.floats(lo, hi, exclude_min=self.low is not None and self.low_open,
                           exclude_max=self.high is not None and self.high_open, allow_nan=False, allow_infinity=False)
        exact_ends = all(b is None or (b.is_Rational and Fraction(float(b)) == Fraction(int(b.p), int(b.q)))
                         for b in (self.low, self.high))
        # ends that are floats exactly (0, 1, -1/2...): the float strategy respects them; others (pi, 1/3): filter
        return floats.map(Fraction) if exact_ends else floats.map(Fraction).filter(self.contains)

    def _into_ball(self, xs: list[float]) -> tuple[Fraction, ...]:
        v = tuple(Fraction(x) for x in xs)
        if self.contains(v):
            return v
        norm = math.sqrt(sum(x * x for x in xs))
        scale = Fraction(float(self.radius) / norm * (1 - 1e-12))
        v = tuple(x * scale for x in v)
        while not self.contains(v):  # float rounding of the scale: shrink until exactly inside
            v = tuple(x * Fraction(999_999, 1_000_000) for x in v)
        return v


def _normalise(weights: list[float | int]) -> tuple[Fraction, ...]:
    exact = [Fraction(w) for w in weights]
    total = sum(exact, Fraction(0))
    return tuple(w / total for w in exact)
