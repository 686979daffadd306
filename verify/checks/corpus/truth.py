"""The truth of the corpus: the exact derivative, at 40 digits, and what "rounding level" means.

**The derivative.** A family's function is written once (``math(M, *args)``, :mod:`.ops`); with
``M = SYM`` it is a SymPy expression in one symbol per entry of every float argument. ``sympy.diff``
gives the exact partial derivatives, which are evaluated with mpmath at the point (float inputs are
exact in mpmath) at 40 digits and again at 80; where the two disagree beyond 1e-30 relative (a
cancellation inside the derivative's expression) the precision is doubled until two agree (up to
1280 digits).

**Kinks.** For a family with kinks, the one-sided partial derivatives of entry ``i`` are the
derivative at ``x ∓ δ_i e_i`` with ``δ_i = 2⁻¹⁰⁰·|x_i|`` (``2⁻¹²⁰⁰`` at 0), at 60 digits. Where they
differ, the truth of that entry is the interval between them (the coordinatewise subdifferential);
otherwise it is the derivative.

**The rounding bound.** A correct gradient computed in dtype ``d`` (unit roundoff ``u_d = eps_d/2``)
must satisfy, entry by entry::

    dist(g_j, truth_j) ≤ 64·u_d·( |truth_j| + cond_j ) + 64·u_d·F / max(1, |x_j|) + 64·denorm_d

* ``cond_j = Σ_i |∂truth_j/∂a_i| · |a_i|`` over every entry ``a_i`` of every float argument that is
  data (not a label): the componentwise condition number of the gradient. A mixed forward–backward
  stable algorithm (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., §1.5) returns
  the exact gradient at inputs within a few ``u`` of the given ones, plus a few ``u`` of relative
  error — the first two terms. It is measured by one-sided differences of the exact derivative with
  a relative step ``2⁻⁶⁰`` at 60 digits (the smaller of the two sides, so that a kink next to the
  point does not count as conditioning).
* ``F / max(1, |x_j|)``: **below f's resolution**, the policy of ``check_gradient``'s tolerance term (d)
  (:mod:`verify.checks.gradient`), with the same ``F = F_j``: the largest ``|f|`` of the float64 ``f`` over
  the point and its central-difference steps along entry ``j``, ``x ± h_j e_j``, ``h_j = eps64^(1/5)·max(1,
  |x_j|)`` (the widest steps of ``check_gradient``'s stack for a float64 ``f``). An error ``δ`` in entry ``j`` predicts a change
  ``δ·max(1, |x_j|)`` of ``f`` over a displacement of ``x_j`` by its own scale; below ``64·u_d·F`` (``ulps = 32``
  roundings of ``f``) no evaluation of ``f`` there can observe it (``1 − tanh²`` is 0 at ``x = 20`` where the
  truth is ``1.7e-17``: correct in ``Σ v tanh(x)`` of size 1; the same formula's 0 where ``f`` itself is
  ``1e-14`` is not). One rule for every implementation: no per-implementation allowance for the terms its
  formula cancels. For ``0 < |x_j| < 1`` the entry's own scale counts too, where smaller: ``F'_j / |x_j|``, ``F'_j``
  the largest ``|f|`` over ``x ± |x_j| e_j`` plus ``denorm64/eps_d`` (f's values are no finer than a subnormal) — a displacement of 1 says nothing about a tiny entry (``Σ x²`` at
  ``x = 1e-25`` is ``5e-7`` a central step away, which made a gradient of ``−2x`` "below f's resolution"; over
  ``x ± |x_j|`` ``f`` is ``4e-50`` and resolves it).
* ``64``: the longest chain of operations on any path of the corpus' gradients is a few dozen, each
  correctly rounded (``≤ u``) or, for ``exp``, ``log``, ``tanh``, ``erfc`` in NumPy/SciPy/torch/XLA,
  within a few ULPs; 64 ``u`` bounds their first-order sum (Higham §3.1, ``γ_n ≈ n u``) with a margin.
* ``64 · denorm_d``: results in the subnormal range carry an absolute error of half a subnormal
  spacing per operation.

A mutant must be more than 3 × this bound from the truth at some entry (or non-finite there), so that
no correct formula's rounding and nothing below ``f``'s resolution could explain it; a candidate
closer than that is screened out (:mod:`.mutations`), not counted.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["K", "MUTANT_MARGIN", "Truth", "truth", "bound", "rounding_unit", "f_resolution", "correct_error_ratio"]

K = 64.0
MUTANT_MARGIN = 3.0  # a mutant is farther than this many bounds from the truth at some entry
_DENORM = {np.dtype(np.float64): 2.0 ** -1074, np.dtype(np.float32): 2.0 ** -149}
_STEP = 2.0 ** -60


def rounding_unit(dtype) -> float:
    return float(np.finfo(dtype).eps) / 2


def _is_data(a) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def _key(args: tuple) -> tuple:
    out = []
    for a in args:
        if _is_data(a):
            fixed = tuple((int(i), float(a.flat[i])) for i in np.flatnonzero(~np.isfinite(a)))
            out.append(("symbols", a.shape, fixed))
        else:
            arr = np.asarray(a)
            out.append(("constant", arr.shape, arr.dtype.str, tuple(arr.ravel().tolist())))
    return tuple(out)


@functools.cache
def _compiled(family, key: tuple):
    import sympy as sp

    from verify.checks.corpus.ops import SYM

    sym_args, flat = [], []
    for i, spec in enumerate(key):
        if spec[0] == "symbols":
            # one symbol per finite entry; a non-finite entry (a masked −∞ logit) is the constant it is:
            # f does not vary with it, and SymPy simplifies exp(−∞) to 0 before differentiating
            _, shape, fixed = spec
            size = int(np.prod(shape)) if shape else 1
            constants = dict(fixed)
            entries = [sp.Symbol(f"a{i}_{k}", real=True) if k not in constants else
                       (sp.oo if constants[k] > 0 else -sp.oo) for k in range(size)]
            sym_args.append(np.array(entries, dtype=object).reshape(shape))
            flat.extend(e for k, e in enumerate(entries) if k not in constants)
        else:
            _, shape, dtype, values = spec
            sym_args.append(np.array(values, dtype=np.dtype(dtype)).reshape(shape))
    expr = sp.sympify(family.math(SYM, *sym_args))
    wrt = list(np.asarray(sym_args[0], dtype=object).ravel())
    derivatives = [sp.diff(expr, s) if isinstance(s, sp.Symbol) else sp.Integer(0) for s in wrt]
    import mpmath

    from verify.checks.corpus.ops import MPMATH_FUNCTIONS

    names = {name: getattr(mpmath, target) for name, target in MPMATH_FUNCTIONS.items()}
    return sp.lambdify(flat, derivatives, modules=[names, "mpmath"], cse=True)


def _values(args: tuple) -> list:
    import mpmath

    out = []
    for a in args:
        if _is_data(a):
            out.extend(mpmath.mpf(float(v)) for v in a.ravel() if np.isfinite(v))
    return out


def _evaluate(fn, values, dps: int) -> list:
    import mpmath

    with mpmath.workdps(dps):
        return [mpmath.mpf(r) for r in fn(*values)]


def _agree(a, b) -> bool:
    import mpmath

    for x, y in zip(a, b, strict=True):
        if mpmath.isnan(x) or mpmath.isnan(y):
            return False
        if x == y:
            continue
        if abs(x - y) > mpmath.mpf(10) ** -30 * abs(y) and max(abs(x), abs(y)) > mpmath.mpf(2) ** -1100:
            return False
    return True


def _derivative(fn, values) -> list:
    dps = 40
    a = _evaluate(fn, values, dps)
    b = _evaluate(fn, values, 2 * dps)
    while not _agree(a, b):
        dps *= 2
        if dps > 1280:
            raise ArithmeticError("the 40-digit derivative did not settle by 1280 digits")
        a, b = b, _evaluate(fn, values, 2 * dps)
    return b


@dataclass(frozen=True)
class Truth:
    """The exact gradient at a point: ``low ≤ truth ≤ high`` per entry (equal except at kinks), the
    componentwise condition ``cond`` and ``resolution = F / max(1, |x_j|)`` (``F = |f(x)|``, float64 f), all
    float64 with the shape of ``args[0]``; ``kinks`` counts the entries at a kink."""

    low: np.ndarray
    high: np.ndarray
    cond: np.ndarray
    kinks: int
    resolution: np.ndarray

    @property
    def magnitude(self) -> np.ndarray:
        return np.maximum(np.abs(self.low), np.abs(self.high))


_STEP0 = float(np.finfo(np.float64).eps) ** 0.2  # check_gradient's first central-difference step, relative


def f_resolution(family, args: tuple, dtype=None) -> np.ndarray:
    """``F_j / max(1, |x_j|)`` per entry of ``args[0]`` (0 at an infinite entry), ``F_j`` the largest finite ``|f|``
    of the family's float64 ``f`` over ``x`` and ``x ± h_j e_j``, ``h_j = eps64^(1/5)·max(1, |x_j|)`` — or, where
    smaller, ``F'_j / |x_j|`` for ``0 < |x_j| < 1``, ``F'_j`` the same over ``x`` and ``x ± |x_j| e_j`` (the entry's own
    scale) (module docstring): the scale of the bound's term "below f's resolution". ``dtype``: the gradient's (default
    ``args[0]``'s)."""
    from verify.checks.corpus.ops import NP

    a64 = tuple(a.astype(np.float64) if _is_data(a) else a for a in args)
    x0_dtype = np.dtype(args[0].dtype if dtype is None else dtype)
    x = a64[0]
    flat = x.ravel()
    with np.errstate(all="ignore"):
        big_f = np.full(flat.size, abs(float(family.math(NP, *a64))))
        for i in np.flatnonzero(np.isfinite(flat)):
            for sign in (1.0, -1.0):
                moved = flat.copy()
                moved[i] = flat[i] + sign * _STEP0 * max(1.0, abs(flat[i]))
                value = abs(float(family.math(NP, moved.reshape(x.shape), *a64[1:])))
                if np.isfinite(value):
                    big_f[i] = max(big_f[i], value)
        out = big_f / np.maximum(1.0, np.abs(flat))
        at_x = abs(float(family.math(NP, *a64)))
        for i in np.flatnonzero(np.isfinite(flat) & (np.abs(flat) < 1.0) & (flat != 0.0)):
            own = [at_x]
            for moved_to in (2.0 * flat[i], 0.0):  # x ± |x_i| e_i
                moved = flat.copy()
                moved[i] = moved_to
                own.append(abs(float(family.math(NP, moved.reshape(x.shape), *a64[1:]))))
            if np.all(np.isfinite(own)):
                # f's values are no finer than float64's smallest subnormal: F' at least that over eps_d
                out[i] = min(out[i], (max(own) + _DENORM[np.dtype(np.float64)] / (2.0 * rounding_unit(x0_dtype)))
                             / abs(flat[i]))
        return out.reshape(x.shape)


def _to_float(values, shape) -> np.ndarray:
    return np.array([float(v) for v in values], dtype=np.float64).reshape(shape)


def _positions(args: tuple) -> list:
    """For each argument: its flat index → position in the symbol values (−1: a constant entry)."""
    out, position = [], 0
    for a in args:
        if not _is_data(a):
            out.append(None)
            continue
        finite = np.isfinite(a).ravel()
        where = np.full(finite.size, -1)
        where[finite] = np.arange(position, position + int(finite.sum()))
        position += int(finite.sum())
        out.append(where)
    return out


def truth(family, args: tuple) -> Truth:
    """The exact gradient of ``family.math`` w.r.t. ``args[0]`` at ``args`` (see the module docstring)."""
    import mpmath

    with mpmath.workdps(60):  # the steps x ± 2⁻¹⁰⁰|x| and a·(1 ± 2⁻⁶⁰) must be exact
        return _truth(family, args)


def _truth(family, args: tuple) -> Truth:
    import mpmath

    fn = _compiled(family, _key(args))
    values = _values(args)
    positions = _positions(args)
    shape = np.shape(args[0])
    n = int(np.prod(shape)) if shape else 1
    centre = _derivative(fn, values)
    low = list(centre)
    high = list(centre)
    kinks = 0

    def moved(p, value):
        return values[:p] + [value] + values[p + 1:]

    if family.kink:
        two = mpmath.mpf(2)
        for i in range(n):
            p = positions[0][i]
            if p < 0:
                continue
            x = values[p]
            step = abs(x) * two ** -100 if x != 0 else two ** -1200
            left = _evaluate(fn, moved(p, x - step), 60)[i]
            right = _evaluate(fn, moved(p, x + step), 60)[i]
            if abs(left - right) > mpmath.mpf(10) ** -25 * max(abs(left), abs(right)) + two ** -1100:
                low[i], high[i] = min(left, right), max(left, right)
                kinks += 1
    # conditioning: every finite, nonzero entry of every float argument that is data
    cond = [mpmath.mpf(0)] * n
    base = _evaluate(fn, values, 60)
    step = mpmath.mpf(_STEP)
    for index, where in enumerate(positions):
        if where is None or index in family.exact:
            continue
        for p in where[where >= 0]:
            v = values[p]
            if v == 0:
                continue
            deltas = None
            for sign in ((1,) if not family.kink else (1, -1)):
                d = [abs(a - b) for a, b in zip(_evaluate(fn, moved(p, v * (1 + sign * step)), 60), base, strict=True)]
                deltas = d if deltas is None else [min(a, b) for a, b in zip(deltas, d, strict=True)]
            cond = [c + d / step for c, d in zip(cond, deltas, strict=True)]
    return Truth(low=_to_float(low, shape), high=_to_float(high, shape), cond=_to_float(cond, shape), kinks=kinks,
                 resolution=np.asarray(f_resolution(family, args), dtype=np.float64).reshape(shape))


def bound(t: Truth, dtype) -> np.ndarray:
    """The rounding bound per entry (module docstring) for a gradient computed in ``dtype``."""
    dt = np.dtype(dtype)
    with np.errstate(over="ignore"):
        return K * rounding_unit(dt) * (t.magnitude + t.cond + t.resolution) + K * _DENORM[dt]


def _distance(g: np.ndarray, t: Truth) -> np.ndarray:
    g = np.asarray(g, dtype=np.float64).reshape(t.low.shape)
    with np.errstate(invalid="ignore"):
        d = np.maximum(np.maximum(t.low - g, g - t.high), 0.0)
    return np.where(np.isfinite(g), d, np.inf)


def correct_error_ratio(g: np.ndarray, t: Truth, dtype) -> float:
    """max_j dist(g_j, truth_j) / bound_j: at most 1 for a gradient correct to rounding, above
    :data:`MUTANT_MARGIN` for a mutant."""
    d = _distance(g, t)
    b = bound(t, dtype)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        r = np.where(d == 0, 0.0, d / b)
    return float(np.max(r)) if r.size else 0.0


def sig(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:.3g}"
