"""The references of ``check_gradient``: SymPy, the complex step and central differences (formulas and error
estimates in the module docstring of :mod:`verify.checks.gradient`).

Every reference is an array of values and an array of error bounds over the flattened ``args[wrt]``. Entries
at ``±∞`` (a masked logit) are not perturbed: ``f`` is finite there, so its derivative along that entry is the
limit 0 (a derivative with a nonzero limit would make ``f`` diverge), exactly, with error 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from verify.checks._evaluate import Evaluator
from verify.checks._gradient_kernels import (
    central_estimates,
    complex_points,
    complex_step_reference,
    finite_complex_points,
    finite_perturbed_points,
    largest_values,
    perturbed_points,
)
from verify.checks.failure import format_arguments

__all__ = ["Reference", "Central", "ComplexStep", "central", "central_from", "complex_step", "complex_step_from",
           "accept_complex_step", "measure_truncation", "SympyReference", "require_agreement", "steps", "CS_STEP",
           "CS_RELATIVE"]

_EPS64 = float(np.finfo(np.float64).eps)
_TINY64 = float(np.finfo(np.float64).tiny)
CS_STEP = 1e-20
CS_RELATIVE = 1e-10  # below |x| = CS_STEP / CS_RELATIVE the step is CS_RELATIVE·|x| (truncation (h/x)² ≤ 1e-20)
_NOTHING = np.empty(0)  # a truncation looked for and not needed anywhere
# On the few dozen entries of a typical point a NumPy call costs more than its arithmetic: the ufuncs' own
# reductions (no Python wrapper, as np.max's) and ``count_nonzero`` (for ``any``/``all``) are the cheapest.
_MAX, _MIN, _NONZERO = np.maximum.reduce, np.minimum.reduce, np.count_nonzero
CS_TEST = 2.0**40 * CS_STEP  # where Im f(x + i h e_j) = 0: is it identically 0, or did h·f' underflow?
CS_DETECT = 0.125  # where Im f is still 0 at CS_TEST: steps of 1/8 and 1/4 tell a lost Im f (complex_step)
CS_DETAIL = f"Im f(x + i·h·e_j)/h, h = {CS_STEP:g}·max(1,|x_j|) ({CS_RELATIVE:g}·|x_j| for 0 < |x_j| < 1e-10)"


@dataclass
class Reference:
    name: str
    value: np.ndarray  # float64, flat
    error: np.ndarray  # error bound per entry, flat (inf: this reference has nothing to say at the entry)
    detail: str = ""


@dataclass
class Central:
    """The central-difference reference and what its stack revealed (arrays over the flattened input)."""

    value: np.ndarray
    error: np.ndarray
    kink: np.ndarray
    low: np.ndarray | None  # the one-sided limits and their error: None when no entry is a kink candidate
    high: np.ndarray | None
    side_error: np.ndarray | None
    curvature: np.ndarray
    order: np.ndarray
    finite: np.ndarray
    eps_f: float
    third: np.ndarray
    noise: np.ndarray  # the rounding level of one value of f used per entry
    flat: np.ndarray  # all six values equal f(x): the differences resolved nothing
    h: np.ndarray  # the first step per entry (0 at an infinite entry)
    quartile: float  # the lower quartile of the rounding levels of f measured per entry
    infinite: np.ndarray
    model: np.ndarray  # 8·eps_f·max|f| per entry
    measured: np.ndarray  # the entry's own rounding level, measured in its differences
    values: np.ndarray | None = None  # f at the stack's points (for the grid, computed when needed)
    f0: float = 0.0
    suggests: bool = False  # an entry's stencil suggests a jump at the point (central_estimates), not yet confirmed

    @property
    def f_scale(self) -> np.ndarray:
        """``F_j`` per entry: the largest finite ``|f|`` over the point and entry ``j``'s central-difference points
        (``|f(x)|`` at an infinite entry, which is not moved)."""
        if self.values is None:
            return np.full(self.value.size, abs(self.f0))
        return largest_values(self.values, self.f0)

    @property
    def quantum(self) -> float:
        """The grid the values of f near x lie on (0: all are 0): see ``_quantum``."""
        if self.values is None:
            return 0.0
        return _quantum(self.values, self.f0, self.kink)


@dataclass
class ComplexStep:
    imag: np.ndarray | None  # Im f(x + i h_j e_j), or None when f takes no complex input
    step: np.ndarray
    truncation: np.ndarray | None = None  # measured |cs(2h) − cs(h)| where the third-derivative bound dominates
    floor: np.ndarray | None = None  # an error floor: tiny/h of the larger step where Im f stayed exactly 0


def steps(x: np.ndarray, eps_f: float) -> np.ndarray:
    return eps_f ** 0.2 * np.maximum(1.0, np.abs(x))


def central(ev: Evaluator, args: tuple, x64: np.ndarray, f0: float, eps_f: float,
            forced: np.ndarray | None = None) -> Central:
    """Central differences with Richardson extrapolation on the steps h, h/2, h/4 (one stack of 6n + 1 points),
    evaluated entry by entry in :mod:`verify.checks._gradient_kernels`; infinite entries are not perturbed. The
    entries ``forced`` (flat bool, default none) are kink candidates whatever their stencil says: confirmed jumps."""
    shape, flat = x64.shape, x64.ravel()
    n = flat.size
    if forced is None:
        forced = np.zeros(n, dtype=bool)
    infinite, count, h, taken, stack = finite_perturbed_points(flat, eps_f ** 0.2)
    if not count:
        every = ev.many(args, stack.reshape((6 * n + 1,) + shape), f0)
        f0 = ev.centre(every, f0)  # f(x) as the stack computed it, where its layout may round otherwise
        values = every[1:].reshape(3, 2, n)
        return central_from(central_estimates(values, taken, h, f0, eps_f, forced), values, f0, eps_f, h, infinite)
    idx = np.flatnonzero(~infinite)
    m = idx.size
    out = _infinite_only(n, eps_f, infinite)
    out.f0 = f0
    if m == 0:
        return out
    h, taken, sub = perturbed_points(flat[idx], eps_f ** 0.2)
    stack = np.broadcast_to(flat, (6 * m + 1, n)).copy()
    stack[:, idx] = sub
    values = ev.many(args, stack.reshape((6 * m + 1,) + shape), f0)
    f0 = ev.centre(values, f0)  # as above
    est, kink, finite, candidates, quartile, suggests = central_estimates(values[1:].reshape(3, 2, m), taken, h, f0,
                                                                          eps_f, forced[idx])
    part = _central_record(est, kink, finite, candidates, quartile, eps_f, h[0], np.zeros(m, dtype=bool))
    full = _scatter(out, part, idx)
    stacked = np.full((3, 2, n), f0)
    stacked[:, :, idx] = values[1:].reshape(3, 2, m)
    full.values, full.f0, full.suggests = stacked, f0, bool(suggests)
    return full


def central_from(estimates: tuple, values: np.ndarray, f0: float, eps_f: float, h: np.ndarray,
                 infinite: np.ndarray) -> Central:
    """The record :func:`central` makes at a point with no infinite entry: from ``central_estimates``' output
    ``estimates`` on ``values`` (3, 2, n), f on the stack of ``finite_perturbed_points`` (its ``h`` and ``infinite``)."""
    est, kink, finite, candidates, quartile, suggests = estimates
    record = _central_record(est, kink, finite, candidates, quartile, eps_f, h[0], infinite)
    record.values, record.f0, record.suggests = values, f0, bool(suggests)
    return record


def _quantum(values: np.ndarray, f0: float, kink: np.ndarray | None = None) -> float:
    """The grid the values of ``f`` near ``x`` lie on: the largest power of 2 that divides every one of them
    (finite, nonzero). A value computed as a sum of terms of size ``M`` is a multiple of ``ulp(M)``, so a sum of
    saturated terms that cancels to about 0 still lies on the grid of its terms: that spacing is the rounding
    level of ``f`` there, where the values alone (tiny) would suggest a far finer one."""
    v = np.append(values.ravel(), f0)
    v = v[np.isfinite(v) & (v != 0.0)]
    if v.size == 0:
        return 0.0
    mantissa, exponent = np.frexp(v)
    digits = (np.abs(mantissa) * 2.0**53).astype(np.int64)
    lowest = digits & -digits  # the lowest set bit of each 53-bit significand
    return float(np.min(np.ldexp(lowest.astype(np.float64), exponent - 53)))


def _central_record(est, kink, finite, candidates, quartile, eps_f, h0, infinite) -> Central:
    value, error, low, high, side_error, curvature, order, third, noise, flat, model, measured = est
    if not candidates:
        low = high = side_error = None
    # positional, in the order of Central's fields (keywords cost as much again on this path, once per point)
    return Central(value, error, kink, low, high, side_error, curvature, order, finite, eps_f, third, noise,
                   flat.astype(bool), h0, float(quartile), infinite, model, measured)


def _infinite_only(n: int, eps_f: float, infinite: np.ndarray) -> Central:
    zeros = np.zeros(n)
    return Central(value=zeros.copy(), error=zeros.copy(), kink=np.zeros(n, dtype=bool), low=None, high=None,
                   side_error=None, curvature=zeros.copy(), order=np.full(n, np.nan), finite=np.ones(n, dtype=bool),
                   eps_f=eps_f, third=zeros.copy(), noise=zeros.copy(), flat=np.zeros(n, dtype=bool), h=zeros.copy(),
                   quartile=0.0, infinite=infinite, model=zeros.copy(), measured=zeros.copy())


def _scatter(full: Central, part: Central, idx: np.ndarray) -> Central:
    for name in ("value", "error", "kink", "curvature", "order", "finite", "third", "noise", "flat", "h", "model",
                 "measured"):
        getattr(full, name)[idx] = getattr(part, name)
    if part.low is not None:
        n = full.value.size
        full.low, full.high, full.side_error = np.zeros(n), np.zeros(n), np.zeros(n)
        full.low[idx], full.high[idx], full.side_error[idx] = part.low, part.high, part.side_error
    full.quartile = part.quartile
    return full


def with_noise(c: Central, eta: float | None, kind: str) -> Central:
    """The central differences' error bounds with the rounding level of ``f`` measured along a direction
    (``eta``, :func:`verify.checks._measure.f_noise`) in place of the pooled one: per entry the largest of the
    model ``8·eps_f·max|f|``, ``eta`` and the entry's own measured level (the Richardson value's rounding is at
    most ``6·level/h``). Where ``f`` is *flat* (no spacing showed noise and ``f`` did not change at the smallest:
    it moves in steps too coarse for the probe, as a sum of saturated terms does), the rounding level is at
    least the spacing of the grid the values of ``f`` lie on (see ``_quantum``), and entries whose six values all equal
    ``f(x)`` resolved nothing: their error is unbounded. Where ``f`` is *exact* at the probe's resolution (it
    changed, smoothly, with no noise), the model and the measured levels stand."""
    floor = eta if eta is not None else (c.quantum if kind == "flat" else 0.0)
    level = np.maximum(np.maximum(c.model, c.measured), floor)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        truncation = np.maximum(c.error - np.where(c.h > 0, 6.0 * c.noise / c.h, 0.0), 0.0)
        error = np.where(c.h > 0, truncation + 6.0 * level / c.h, c.error)
    if kind == "flat":
        error = np.where(c.flat, np.inf, error)
    return replace(c, error=error, noise=level)


def complex_step(ev: Evaluator, args: tuple, x64: np.ndarray) -> ComplexStep:
    """``Im f(x + i·h_j·e_j)`` for each finite entry ``j`` (0 at an infinite entry), or ``imag=None``.

    ``h_j = CS_STEP·max(1, |x_j|)``; where ``0 < |x_j| < CS_STEP/CS_RELATIVE`` that step is not small against
    ``x_j`` (``√x`` at ``1e-300``), so ``h_j = CS_RELATIVE·|x_j|`` is tried too and kept where its ``Im f`` is a
    normal number (a tiny step times a small derivative can underflow to 0, which would read as a zero
    derivative: there the larger step and its truncation bound are kept).
    """
    flat = x64.ravel()
    count, smallest, step, stack = finite_complex_points(flat, CS_STEP)
    if not count:  # the common case: every entry, one kernel-built stack
        imag = ev.many_complex(args, stack.reshape((flat.size,) + x64.shape))
        if imag is None:
            return ComplexStep(None, np.ones(flat.size))
        return complex_step_from(ev, args, x64, imag, step, smallest)
    infinite = ~np.isfinite(flat)
    idx = np.flatnonzero(~infinite)
    step = np.ones(flat.size)
    imag = np.zeros(flat.size)
    if idx.size == 0:
        return ComplexStep(imag, step)
    got = _imaginary_parts(ev, args, x64, idx, None)
    if got is None:
        return ComplexStep(None, step)
    imag[idx], step[idx] = got
    return _refined(ev, args, x64, imag, step, infinite)


def complex_step_from(ev: Evaluator, args: tuple, x64: np.ndarray, imag: np.ndarray, step: np.ndarray,
                      smallest: float) -> ComplexStep:
    """:func:`complex_step` at a point with no infinite entry, from ``Im f`` on its stack at the standard steps
    (``finite_complex_points``'s ``step`` and ``smallest``, the least ``|x_j|``): what it does after that first
    evaluation of ``f``."""
    if not smallest < CS_STEP / CS_RELATIVE and _NONZERO(imag) == imag.size:
        return ComplexStep(imag, step)  # no entry takes the smaller step, none has Im f = 0: nothing below to do
    return _refined(ev, args, x64, imag, step, np.zeros(imag.size, dtype=bool))


def _refined(ev: Evaluator, args: tuple, x64: np.ndarray, imag: np.ndarray, step: np.ndarray,
             infinite: np.ndarray) -> ComplexStep:
    """The complex step's smaller steps where ``|x_j|`` is tiny and its larger test step where ``Im f = 0`` (see
    :func:`complex_step`), from its values at the standard steps."""
    flat = x64.ravel()
    a = np.abs(flat)
    if _MIN(a) < CS_STEP / CS_RELATIVE:
        tiny = np.flatnonzero(~infinite & (a * CS_RELATIVE < CS_STEP) & (a * CS_RELATIVE > 0.0))
    else:
        tiny = ()
    if len(tiny):
        small = _imaginary_parts(ev, args, x64, tiny, CS_RELATIVE * a[tiny])
        if small is not None:
            keep = np.abs(small[0]) >= _TINY64
            imag[tiny[keep]], step[tiny[keep]] = small[0][keep], small[1][keep]
    zero = np.flatnonzero(~infinite & (imag == 0.0)) if _NONZERO(imag) != imag.size else ()
    if len(zero):
        # Im f = 0: f's imaginary part is identically 0 along e_j (a dead unit, an even power at 0), or
        # h·f' underflowed. A step 2^40 times larger tells them apart: still 0, the derivative is 0;
        # otherwise its value is the reference (or NaN, nothing, where it is not a normal number).
        test = _imaginary_parts(ev, args, x64, zero, CS_TEST * np.maximum(1.0, a[zero]))
        if test is not None:
            moved = test[0] != 0.0
            normal = np.abs(test[0]) >= _TINY64
            # ... unless h·f' was a normal number at the first step (the larger step's slope times the first step):
            # then no underflow explains the 0, f lost its imaginary part to absolute rounding (added to a larger
            # number and taken off again: JAX's complex logaddexp wraps Im into [−π, π] by rem(Im + π, 2π) − π, so
            # Im f is a multiple of ulp(π) = 4.4e-16, and jax.nn.softplus(1e4 + 1e-16i) has Im 0), and the larger
            # step's value is off by that unknown quantum too (2.7e-12 at 1e4, 6.8e-8 relative at −3): the complex
            # step says nothing at such an entry (NaN; the next reference decides)
            lost = np.abs(test[0] / test[1]) * step[zero] >= _TINY64
            imag[zero[moved]] = np.where(normal[moved] & ~lost[moved], test[0][moved], np.nan)
            step[zero[moved]] = test[1][moved]
            # still 0 at 2⁴⁰·h: the derivative is 0, or below what even the larger step carries (tiny/2⁴⁰h) — or Im f
            # was lost to absolute rounding at both steps (JAX's complex softplus at x = −30: Im = 1e-8·9.4e-14 is
            # below ulp(π), the grid its wrap of Im into [−π, π] leaves). Steps D = 1/8 and 2D tell them apart (large
            # enough to lift D·f' of a slope the judge resolves above that grid, small enough for exp's first-order
            # term to dominate): Im f growing linearly there (Im(2D)/2D within a quarter of Im(D)/D)
            # with a slope above that floor is the first-order term D·f' of a derivative the small steps lost, and the
            # complex step says nothing at that entry (NaN; the central differences decide); Im f exactly 0 (a dead
            # unit, ReLU below 0 as where(x.real > 0, …)), within the floor, or not linear (a step that reaches a
            # singularity: √(1 + x²) at x = 5e-324 meets its branch point at ±i) leaves the floor standing
            still = zero[~moved]
            floor = np.zeros(flat.size)
            floor[still] = _TINY64 / test[1][~moved]
            if still.size:
                d = np.full(still.size, CS_DETECT)
                both = _imaginary_parts(ev, args, x64, np.concatenate([still, still]), np.concatenate([d, 2.0 * d]))
                if both is not None:  # one stack: both steps of every entry
                    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
                        slope, slope2 = both[0][:still.size] / d, both[0][still.size:] / (2.0 * d)
                        lost = (np.abs(slope) > floor[still]) & (np.abs(slope2 - slope) <= 0.25 * np.abs(slope))
                    imag[still[lost]] = np.nan
                    floor[still[lost]] = 0.0
            return ComplexStep(imag, step, floor=floor)
    return ComplexStep(imag, step)


def _imaginary_parts(ev: Evaluator, args: tuple, x64: np.ndarray, idx: np.ndarray | None,
                     h: np.ndarray | None) -> tuple[np.ndarray, np.ndarray] | None:
    """``(Im f(x + i h_j e_j), h_j)`` for the entries ``idx`` (None: every entry; ``h`` None: the standard steps)."""
    flat = x64.ravel()
    if idx is None or (h is None and idx.size == flat.size):
        step, stack = complex_points(flat, CS_STEP)
    else:
        step = CS_STEP * np.maximum(1.0, np.abs(flat[idx])) if h is None else h
        stack = np.broadcast_to(flat.astype(np.complex128), (idx.size, flat.size)).copy()
        stack[np.arange(idx.size), idx] += 1j * step
    imag = ev.many_complex(args, stack.reshape((stack.shape[0],) + x64.shape))
    return None if imag is None else (imag, step)


def accept_complex_step(cs: ComplexStep, c: Central) -> tuple[Reference | None, int]:
    """The complex step as a reference, or ``(None, j)`` with ``j`` the first smooth entry where it disagrees
    with the central differences beyond their error (``f`` is not complex-analytic there)."""
    # A NaN or infinite value of the complex step at an entry says nothing there (lost), it is no disagreement;
    # where measured, the truncation replaces the bound from the central differences' third derivative; Im f(x + ih)
    # below the normal range has lost relative precision (a tiny step times a tiny derivative). Its rounding is that
    # of the arithmetic f computes in (eps_f: float32's for a function that computes in float32). All in one
    # compiled pass (its docstring states each step).
    value, error, j = complex_step_reference(
        cs.imag, cs.step, c.value, _able_to_overrule(c), c.third, c.finite, c.kink, c.infinite, max(_EPS64, c.eps_f),
        _NOTHING if cs.truncation is None else cs.truncation, _NOTHING if cs.floor is None else cs.floor)
    if j >= 0:
        return None, int(j)
    return Reference("complex step", value, error, CS_DETAIL), -1


def _able_to_overrule(c: Central) -> np.ndarray:
    """The central differences' error bound per entry, ``inf`` where they resolve nothing of ``f``'s slope: the rounding
    level measured in their values is at least the largest ``|f|`` over the entry's points (``c.model`` is
    ``8·eps_f·max|f|``). Their bound, ``noise/h`` plus a truncation read off differences that are all noise, then means
    nothing: ``sin`` at ``7.4e7``, whose step (``eps^(1/5)·|x|``, 5e4) spans thousands of periods, measured a "noise"
    of 1.7 on values below 0.9 and central differences of −4.7e-5 ± 2.5e-4 where the slope is 0.485, and rejected the
    complex step, which had it right. Such entries cannot overrule the complex step (it is then not cross-checked)."""
    hopeless = (c.noise > 0.0) & (c.noise * (8.0 * c.eps_f) >= c.model)
    return np.where(hopeless, np.inf, c.error) if _NONZERO(hopeless) else c.error


def measure_truncation(ev: Evaluator, args: tuple, x64: np.ndarray, cs: ComplexStep, c: Central) -> None:
    """Where the complex step's truncation bound ``h²·|f'''|/6`` (the third derivative bounded through the central
    differences, whose rounding dominates that bound at a saturated point) exceeds its rounding
    ``4·eps·|value|``, the truncation is measured instead: ``Im f(x + 2i·h·e_j)/(2h) − Im f(x + i·h·e_j)/h`` is
    ``3·h²·f'''/6`` to leading order, so ``|cs(2h) − cs(h)|`` (three times the truncation at ``h``) bounds it.
    Stored in ``cs.truncation`` (NaN where not measured)."""
    if cs.imag is None or cs.truncation is not None:
        return
    value = cs.imag / cs.step
    largest = float(_MAX(cs.step)) ** 2 * float(_MAX(c.third)) / 6.0
    if not largest > 4.0 * max(_EPS64, c.eps_f) * float(_MIN(np.abs(value))):  # nowhere, in one comparison
        cs.truncation = _NOTHING
        return
    bound = cs.step * cs.step * c.third / 6.0
    dominant = bound > 4.0 * max(_EPS64, c.eps_f) * np.abs(value)
    if not _NONZERO(dominant):
        cs.truncation = _NOTHING
        return
    needed = np.flatnonzero(dominant & np.isfinite(value) & ~c.infinite)
    cs.truncation = np.full(value.size, np.nan)
    if needed.size == 0:
        return
    twice = _imaginary_parts(ev, args, x64, needed, 2.0 * cs.step[needed])
    if twice is None:
        return
    with np.errstate(invalid="ignore", over="ignore"):
        measured = np.abs(twice[0] / twice[1] - value[needed])
    ok = np.isfinite(measured) & ((np.abs(twice[0]) >= _TINY64) | (twice[0] == 0.0))
    cs.truncation[needed[ok]] = measured[ok]


class SympyReference:
    """Exact gradient of ``sympy_expr(*args)`` (the symbolic twin of f), evaluated at 40 digits."""

    def __init__(self, sympy_expr: Callable, wrt: int) -> None:
        self.sympy_expr = sympy_expr
        self.wrt = wrt
        self._cache: dict[tuple, Callable] = {}

    def __call__(self, args: tuple, x: np.ndarray) -> np.ndarray:
        import mpmath
        import sympy

        key = (x.shape, tuple(repr(a) for i, a in enumerate(args) if i != self.wrt))
        fn = self._cache.get(key)
        if fn is None:
            symbols = np.array(sympy.symbols(f"x0:{x.size}", real=True), dtype=object).reshape(x.shape)
            sym_args = args[: self.wrt] + (symbols,) + args[self.wrt + 1:]
            expr = sympy.sympify(self.sympy_expr(*sym_args))
            derivatives = [sympy.diff(expr, s) for s in symbols.ravel()]
            fn = sympy.lambdify(list(symbols.ravel()), derivatives, modules="mpmath")
            self._cache[key] = fn
        with mpmath.workdps(40):
            values = fn(*[mpmath.mpf(float(v)) for v in x.ravel()])  # mpf(float) is exact
            return np.array([float(mpmath.mpf(v)) for v in values], dtype=np.float64)


def require_agreement(exact: Reference, other: Reference, smooth: np.ndarray, args: tuple) -> None:
    """The symbolic twin must be the derivative of f: a disagreement is a bad argument, not a verdict."""
    gap = np.abs(exact.value - other.value)
    bad = smooth & ~(gap <= 4.0 * other.error + 64.0 * _EPS64 * np.abs(exact.value))
    if bad.any():
        j = int(np.argmax(bad))
        raise ValueError(
            f"sympy_expr does not describe f: its derivative at entry {j} is {float(exact.value[j])!r} but "
            f"{other.name} on f give {float(other.value[j])!r} ± {other.error[j]:.2g}\n{format_arguments(args)}"
        )
