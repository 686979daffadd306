"""High-precision (mpmath) evaluation of SymPy expressions, rounded correctly to float64.

:class:`Compiled` lambdifies a list of SymPy expressions once (``modules="mpmath"``) and
:meth:`Compiled.evaluate` runs it at increasing working precisions (:data:`PRECISIONS` bits) until
two consecutive precisions give the same float64 results (Ziv's strategy). The expressions handed to
it are written so that no tiny term is absorbed by a large one (``log1p``, shifted exponentials), which
is what makes "two precisions agree" mean "correct": an absorbed term would be lost at both. For the same
reason the first precision is wide enough for any sum or difference of two arguments to be exact
(:func:`exact_span_bits`): ``z_j − z_i`` with ``z_j = 1e200`` and ``z_i = −1.8e277`` needs 309 bits, and at
128 and 256 bits both would agree on ``1.8e277``.

Where an expression divides by zero at a point of the boundary of its domain (``−p/q`` at ``q = 0``,
``1/(1 − ŷ)`` at ``ŷ = 1``), the value is the one-sided limit from inside the domain computed exactly
by ``sympy.limit`` (arguments equal to 0 approached from above, equal to 1 from below).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import mpmath
import sympy as sp

__all__ = ["PRECISIONS", "HighPrecisionError", "Compiled", "to_float64", "mp_to_float64", "exact_span_bits"]

PRECISIONS: tuple[int, ...] = (128, 256, 512, 1024, 2048, 4096, 8192, 16384)


class HighPrecisionError(ArithmeticError):
    """The reference did not settle: no two consecutive precisions agreed (or a limit failed)."""


def _round_half_even(man: int, shift: int) -> int:
    q = man >> shift
    r = man - (q << shift)
    half = 1 << (shift - 1)
    if r > half or (r == half and q & 1):
        q += 1
    return q


def mp_to_float64(value: mpmath.mpf) -> float:
    """``value`` rounded to the nearest float64 (ties to even), subnormals and overflow included."""
    value = mpmath.mpf(value) if not isinstance(value, mpmath.mpf) else value
    if mpmath.isnan(value):
        return math.nan
    if mpmath.isinf(value):
        return math.inf if value > 0 else -math.inf
    sign, man, exp, bc = value._mpf_
    if man == 0:
        return 0.0
    top = exp + bc - 1  # value ∈ [2^top, 2^(top+1))
    if top < -1076:  # below half the smallest subnormal
        return -0.0 if sign else 0.0
    if top > 1024:
        return -math.inf if sign else math.inf
    keep_from = max(top - 52, -1074)  # exponent of the last kept bit (subnormals: 2^-1074)
    shift = keep_from - exp
    if shift > 0:
        man, exp = _round_half_even(man, shift), keep_from
    try:
        out = math.ldexp(float(man), exp)  # man < 2^54 here: float(man) is exact
    except OverflowError:
        out = math.inf
    return -out if sign else out


def to_float64(value: object) -> float:
    """Any real (mpf, SymPy number, int, float) rounded correctly to float64."""
    if isinstance(value, sp.Basic):
        if value is sp.oo:
            return math.inf
        if value is sp.S.NegativeInfinity:
            return -math.inf
        if value is sp.nan:
            return math.nan
        with mpmath.workprec(PRECISIONS[-1]):
            return mp_to_float64(mpmath.mpf(sp.N(value, PRECISIONS[-1] // 3)))
    return mp_to_float64(mpmath.mpf(value))


def exact_span_bits(values: Sequence[float]) -> int:
    """Bits from the highest to the lowest set bit over all finite nonzero ``values``: a working precision
    of at least this makes every sum or difference of two of them exact."""
    top, low = None, None
    for v in values:
        if v == 0.0 or not math.isfinite(v):
            continue
        fraction, exponent = math.frexp(abs(v))  # |v| = fraction·2^exponent, fraction ∈ [½, 1)
        mantissa = int(fraction * 2.0**53)  # exact: 53 significant bits at most
        lowest = exponent - 53 + (mantissa & -mantissa).bit_length() - 1
        highest = exponent - 1
        top = highest if top is None else max(top, highest)
        low = lowest if low is None else min(low, lowest)
    return 0 if top is None else top - low + 1


def _precisions(values: Sequence[float]) -> list[int]:
    """The working precisions to try: from the first that holds every pairwise sum exactly (plus a margin)."""
    needed = exact_span_bits(values) + 64
    ladder = [p for p in PRECISIONS if p >= needed]
    while len(ladder) < 2:
        ladder.append(2 * (ladder[-1] if ladder else PRECISIONS[-1]))
    return ladder


def _same(a: Sequence[float], b: Sequence[float]) -> bool:
    return all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b, strict=True))


def _ties_to_even(rounded: list[float], previous: list[float], out: Sequence, prec: int) -> list[float] | None:
    """``rounded`` with each entry that flips between two neighbouring float64 values from one precision to the next
    replaced by the even one of them, where the value lies within ``2^−(prec − 64)`` (relative) of their midpoint: an
    exact value *on* a midpoint (``(1 − ε)/3`` with ``1 − ε`` a 55-bit float ratio) is approached from either side
    at every precision, so no two precisions agree, and its correct rounding is the tie's even neighbour. ``None``
    where any other entry differs."""
    resolved = list(rounded)
    for i, (x, y) in enumerate(zip(rounded, previous, strict=True)):
        if x == y or (math.isnan(x) and math.isnan(y)):
            continue
        if not (math.isfinite(x) and math.isfinite(y)) or math.nextafter(x, y) != y:
            return None
        midpoint = (mpmath.mpf(x) + mpmath.mpf(y)) / 2
        if abs(mpmath.mpf(out[i]) - midpoint) > abs(midpoint) * mpmath.ldexp(1, -(prec - 64)):
            return None
        resolved[i] = x if math.frexp(x)[0] * 2.0**53 % 2 == 0 else y
    return resolved


class Compiled:
    """A list of SymPy expressions in ``symbols``, lambdified once for mpmath."""

    def __init__(self, symbols: Sequence[sp.Symbol], expressions: Sequence[sp.Expr], *, cse: bool = True,
                 limit_symbols: Sequence[sp.Symbol] | None = None):
        self.symbols = tuple(symbols)
        # the variables a one-sided limit is taken in (the others are fixed at their exact values)
        self.limit_symbols = frozenset(self.symbols if limit_symbols is None else limit_symbols)
        self.expressions = tuple(expressions)
        has_piecewise = any(e.has(sp.Piecewise) for e in self.expressions)
        # cse could hoist a division out of a Piecewise branch that guards it, so not with Piecewise.
        self._all = sp.lambdify(self.symbols, list(self.expressions), modules="mpmath",
                                cse=cse and not has_piecewise)
        self._each: list | None = None

    def _componentwise(self, args: list, exact: Sequence[float]) -> list:
        if self._each is None:
            self._each = [sp.lambdify(self.symbols, e, modules="mpmath") for e in self.expressions]
        out = []
        for expr, fn in zip(self.expressions, self._each, strict=True):
            try:
                out.append(fn(*args))
            except ZeroDivisionError:
                out.append(mpmath.mpf(to_float64(self._limit(expr, exact))))
        return out

    def _limit(self, expr: sp.Expr, exact: Sequence[float]) -> sp.Expr:
        boundary = {s: v for s, v in zip(self.symbols, exact, strict=True)
                    if v in (0.0, 1.0) and s in self.limit_symbols}
        inner = {s: sp.Rational(v) for s, v in zip(self.symbols, exact, strict=True) if s not in boundary}
        result = expr.subs(inner)
        for symbol, v in boundary.items():
            result = sp.limit(result, symbol, int(v), "+" if v == 0.0 else "-")
        if result.has(sp.zoo, sp.Limit) or result is sp.nan:
            raise HighPrecisionError(f"no one-sided limit of {expr} at {dict(zip(self.symbols, exact, strict=True))}")
        return result

    def evaluate(self, values: Sequence[float]) -> tuple[list[float], list]:
        """``(floats, mp_values)``: every expression at ``values`` (exact floats), correctly rounded."""
        exact = [float(v) for v in values]
        previous = None
        precisions = _precisions(exact)
        for prec in precisions:
            with mpmath.workprec(prec):
                args = [mpmath.mpf(v) for v in exact]
                try:
                    out = list(self._all(*args))
                except ZeroDivisionError:
                    out = self._componentwise(args, exact)
                rounded = [mp_to_float64(mpmath.mpf(v)) for v in out]
            if previous is not None and _same(rounded, previous):
                return rounded, out
            if previous is not None and (tie := _ties_to_even(rounded, previous, out, prec)) is not None:
                return tie, out
            previous = rounded
        raise HighPrecisionError(
            f"{self.expressions} at {exact}: no two consecutive precisions up to {precisions[-1]} bits agreed"
        )
