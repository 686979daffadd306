"""``check_gradient``: is ``grad`` the gradient of ``f``?

``f(*args) -> float`` and ``grad(*args) -> array shaped like args[wrt]``. At every point the
gradient is compared, entry by entry, with up to three independent references, chosen
automatically and named in the report and in every failure message:

1. **SymPy** (``sympy_expr=``): the exact derivative ``sympy.diff`` of a symbolic twin of ``f``,
   evaluated with mpmath at 40 digits and correctly rounded to float64. The truth, when given.
2. **Complex step** (Squire & Trapp 1998; Martins, Sturdza & Alonso 2003):
   ``∂f/∂x_j ≈ Im f(x + i·h·e_j) / h`` with ``h = 1e-20·max(1, |x_j|)``. There is no subtractive
   cancellation, so it is accurate to a few float64 ULPs — but only where ``f`` accepts complex
   input and is analytic (no ``abs``, ``conj``, ``.real``). This is *detected*, not assumed: ``f``
   must return a complex number for complex input (a ``ComplexWarning`` or an exception disqualifies
   it), and every smooth entry must agree with the central differences below to within their error
   estimate; otherwise the complex step is rejected at that point and the report says why.
3. **Central differences with Richardson extrapolation and a convergence-order test**: with steps
   ``h, h/2, h/4`` (``h = eps_f^(1/5)·max(1, |x_j|)``, the step that balances an O(h⁴) truncation
   against the rounding error ``|f|·eps_f/h``), ``D(h) = (f(x+h e_j) − f(x−h e_j)) / 2h`` and
   ``R = (4 D(h/4) − D(h/2)) / 3``. Its error estimate is ``|R(h/2..h) − R(h/4..h/2)|`` (the Taylor
   remainder, measured) plus ``6 η / h`` (the rounding of ``f``, ``η = 8·eps_f·max|f|`` near ``x``,
   where ``eps_f`` is the machine epsilon of the dtype ``f`` returns). The observed order
   ``log2(|D(h) − D(h/2)| / |D(h/2) − D(h/4)|)`` should be 2; where it is not and the differences are
   above the rounding level, the error estimate is widened to the last difference.

The most accurate available reference decides (SymPy, else complex step, else central differences);
the others cross-check it. ``f`` is always evaluated on the float64 (complex128) promotion of
``args[wrt]``, so a float32 point is judged against a float64 reference.

**Tolerance.** Entry ``j`` of the computed gradient ``g`` (of dtype ``d``, the dtype of
``args[wrt]``) passes when ``|g_j − r_j| ≤ τ_j`` with::

    τ_j = ulps · ulp_d(r_j)                   # rounding of g itself, in ULPs of d (default 32)
        + ulps · eps_d · |∂²f/∂x_j²| · |x_j|  # conditioning: the exact gradient at an input within
                                              #   `ulps` ULPs of x_j (backward error, diagonal part)
        + atol                                # explicit absolute slack, default 0
        + 2 · e_j                             # twice the error estimate of the reference

``ulp_d(r)`` is ``numpy.spacing(|r|)`` in dtype ``d``, which is never 0 (the smallest subnormal at
``r = 0``), so the measure is relative: a gradient that underflows to 0 where the truth is 1e-18 fails
by about 1e15 ULPs instead of hiding under an absolute tolerance. Nothing scales with the size of the
array: each entry is judged on its own. ``ulps = 32`` allows the rounding of a few dozen correctly
rounded, well-conditioned operations; a gradient that is a difference of O(1) terms (e.g.
``softmax − onehot`` near a one-hot softmax) loses relative accuracy by cancellation and needs an
explicit ``atol`` (e.g. ``atol = 32·eps``), which is then stated in the report, never hidden.

**Kinks.** Where the one-sided slopes ``(f(x ± h e_j) − f(x)) / ±h`` differ by an amount that does
not shrink with ``h`` (ReLU at 0, the hinge at its margin, ``max`` at a tie), any value in
``[min(left, right), max(left, right)]`` (the one-sided limits, extrapolated) is accepted for that
entry and the report counts a kink. Coordinates are judged one at a time, so at a tie of ``max`` the
box ``[0, 1]^k`` is accepted, which contains the true subdifferential (the simplex).

``inputs`` is one point (a tuple of arrays; the other arguments may be anything ``f`` takes, e.g.
integer labels) or a Hypothesis strategy of such tuples: then the search runs (``@given`` inside,
with ``target()`` pushing towards the largest error / tolerance), and a failure is shrunk before it
is raised. It runs under the active Hypothesis profile (the ``verify`` pytest plugin's, or
Hypothesis' default in a plain script); call it from a plain test, not from inside another
``@given`` test.

If ``f`` accepts a stack of points along a new leading axis of ``args[wrt]`` and returns one value
per point (vectorised, e.g. written with ``axis=-1`` and ``...``), all perturbed points are evaluated
in one call; this is detected on the first point and verified against scalar calls (``vectorized=``
forces it on or off).

Known limits: the complex step propagates derivatives through ``f``'s own formula, so cancellation
inside ``f`` (forward-mode) limits it — pass ``sympy_expr`` for the truth at such points. Central
differences cannot resolve gradient entries below ``|f|·eps^(4/5)``; the report names the references
used, so a check that relied on them says so.
"""

from __future__ import annotations

import hashlib
import math
import time
import warnings
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from verify._validate import FLOAT_DTYPES, require_finite
from verify.checks._gradient_kernels import (
    central_estimates,
    complex_points,
    complex_step_estimates,
    judge_smooth,
    perturbed_points,
    warm_up,
)
from verify.checks.failure import CheckFailure, error_table, format_arguments

__all__ = ["check_gradient", "GradientReport"]

_EPS64 = float(np.finfo(np.float64).eps)
_EPS = {dt: float(np.finfo(dt).eps) for dt in FLOAT_DTYPES}
_TINY64 = float(np.finfo(np.float64).tiny)
_CS_STEP = 1e-20
_CS_DETAIL = f"Im f(x + i·h·e_j)/h, h = {_CS_STEP:g}·max(1,|x_j|)"
_FLOAT32 = np.dtype(np.float32)
_DTYPE_NAMES = {dt: str(dt) for dt in FLOAT_DTYPES}
REFERENCES = ("sympy", "complex step", "central differences")

# What was learned about a function object (vectorised? complex-capable?), so that repeated checks of
# the same f skip the detection; the vectorised result is still verified at every point.
_LEARNED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class GradientReport:
    """What ``check_gradient`` verified.

    ``worst_ratio`` is the largest error / tolerance over all entries and examples (≤ 1 on
    success); ``worst_ulps`` the largest error in ULPs of the gradient's dtype at a smooth entry;
    ``references`` counts, per reference, the examples it decided; ``kinks`` counts entries judged
    by their subdifferential; ``unverified`` counts entries no reference could evaluate (``f`` not
    finite around them).
    """

    examples: int
    worst_ratio: float
    worst_ulps: float
    worst_abs_error: float
    references: dict[str, int]
    cross_checks: dict[str, int]
    kinks: int
    kink_examples: int
    unverified: int
    vectorized: bool
    dtype: str
    ulps: float
    atol: float
    seconds: float
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        refs = ", ".join(f"{name} ×{count}" for name, count in self.references.items() if count) or "none"
        lines = [
            f"check_gradient: {self.examples} example(s) passed in {self.seconds:.3g} s "
            f"({self.dtype}, tolerance {self.ulps:g} ULPs + conditioning, atol {self.atol:.3g})",
            f"  worst error: {self.worst_ratio:.3g} of the tolerance, {self.worst_ulps:.3g} ULPs, "
            f"{self.worst_abs_error:.3g} absolute",
            f"  decided by: {refs}",
            "  cross-checked by: " + (", ".join(f"{n} ×{c}" for n, c in self.cross_checks.items() if c) or "none"),
            f"  kinks met: {self.kinks} entr{'y' if self.kinks == 1 else 'ies'} in {self.kink_examples} example(s)",
        ]
        if self.unverified:
            lines.append(f"  UNVERIFIED entries (f not finite near them): {self.unverified}")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)


@dataclass
class _Reference:
    name: str
    value: np.ndarray  # float64, flat
    error: np.ndarray  # error estimate per entry, flat
    detail: str = ""


@dataclass
class _Central:
    value: np.ndarray
    error: np.ndarray
    kink: np.ndarray
    low: np.ndarray | None  # the one-sided limits and their error: None when no entry is a kink
    high: np.ndarray | None
    side_error: np.ndarray | None
    curvature: np.ndarray
    order: np.ndarray
    finite: np.ndarray
    eps_f: float
    third: np.ndarray


@dataclass
class _PointResult:
    ratio: np.ndarray
    abs_error: np.ndarray
    ulps: np.ndarray
    kinks: int
    reference: str
    unverified: int


# ---------------------------------------------------------------------------------------------
# argument handling


def _as_scalar(value: object, what: str) -> float:
    """A real scalar from ``f``, or a TypeError that says what came back."""
    arr = np.asarray(value)
    if arr.ndim != 0:
        raise TypeError(
            f"{what} must return a scalar (a float or a 0-d array); got an array of shape {arr.shape}: "
            "reduce it (e.g. .sum() or .mean()) inside f"
        )
    if arr.dtype.kind == "c":
        raise TypeError(f"{what} returned a complex value {arr.item()!r} for real input")
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{what} must return a real number; got {type(value).__name__} {value!r}")
    return float(arr)


def _validate_point(point: object, wrt: int) -> tuple[tuple, np.ndarray]:
    if isinstance(point, np.ndarray) or not isinstance(point, (tuple, list)):
        raise TypeError(
            f"inputs must be a tuple of arguments for f (e.g. (x,) or (logits, labels)) or a Hypothesis "
            f"strategy of such tuples; got {type(point).__name__}"
        )
    args = tuple(point)
    if not isinstance(wrt, (int, np.integer)) or isinstance(wrt, bool):
        raise TypeError(f"wrt must be an integer index into the arguments; got {wrt!r}")
    if not 0 <= wrt < len(args):
        raise ValueError(f"wrt={wrt} is out of range for {len(args)} argument(s)")
    x = args[wrt]
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"args[{wrt}] (the argument differentiated) must be a float32 or float64 array; "
                        f"got dtype {x.dtype}")
    if x.size == 0:
        raise ValueError(f"args[{wrt}] is empty (shape {x.shape}): there is no gradient to check")
    require_finite(x, f"args[{wrt}]")
    return args, x


def _computed_gradient(grad: Callable, args: tuple, x: np.ndarray, wrt: int) -> np.ndarray:
    g = np.asarray(grad(*args))
    if g.shape != x.shape:
        raise ValueError(
            f"grad returned shape {g.shape} but args[{wrt}] has shape {x.shape}: grad(*args) must return "
            f"∂f/∂args[{wrt}], shaped like args[{wrt}]"
        )
    if g.dtype.kind == "c":
        raise TypeError(f"grad returned complex values (dtype {g.dtype}) for real input")
    if g.dtype.kind not in "fiub":
        raise TypeError(f"grad must return a numeric array; got dtype {g.dtype}")
    return g


# ---------------------------------------------------------------------------------------------
# evaluating f on many points


class _Evaluator:
    """Evaluates ``f`` on a stack of values of ``args[wrt]``: one vectorised call when ``f`` supports it."""

    def __init__(self, f: Callable, wrt: int, vectorized: bool | None) -> None:
        self.f = f
        self.wrt = wrt
        self.forced = vectorized is True
        try:
            learned = _LEARNED.setdefault(f, {})
        except TypeError:  # not weak-referenceable (e.g. a builtin): learn afresh each call
            learned = {}
        self.learned = learned
        # None: not decided yet
        self.vectorized = vectorized if vectorized is not None else learned.get("vectorized")
        # None: untried; "ok"; else the reason it is unusable
        self.complex_status: str | None = learned.get("complex")

    def _call(self, args: tuple, value: np.ndarray) -> Any:
        replaced = args[: self.wrt] + (value,) + args[self.wrt + 1:]
        return self.f(*replaced)

    def scalar(self, args: tuple, value: np.ndarray) -> float:
        return _as_scalar(self._call(args, value), "f")

    def many(self, args: tuple, stack: np.ndarray, known: float) -> np.ndarray:
        """``f`` at every ``stack[k]``; ``stack[0]`` is a point where ``f`` is already ``known``."""
        if self.vectorized is not False:
            out = self._try_batch(args, stack, known)
            if out is not None:
                return out
        return np.array([known] + [self.scalar(args, point) for point in stack[1:]], dtype=np.float64)

    def _try_batch(self, args: tuple, stack: np.ndarray, known: float) -> np.ndarray | None:
        out = self._batch(args, stack, known)
        self.learned["vectorized"] = self.vectorized
        return out

    def _batch(self, args: tuple, stack: np.ndarray, known: float) -> np.ndarray | None:
        forced = self.forced
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out = np.asarray(self._call(args, stack))
        except Exception:
            if forced:
                raise
            self.vectorized = False
            return None
        if out.shape != (stack.shape[0],) or out.dtype.kind not in "fiu":
            if forced:
                raise TypeError(
                    f"vectorized=True but f returned shape {out.shape} for a stack of {stack.shape[0]} points; "
                    f"expected ({stack.shape[0]},)"
                )
            self.vectorized = False
            return None
        out = out.astype(np.float64, copy=False)
        # Verified at every point against the scalar value, and once more at the last point when
        # the decision is first made.
        checks = [(0, known)]
        if self.vectorized is None:
            checks.append((stack.shape[0] - 1, self.scalar(args, stack[-1])))
        for k, single in checks:
            scale = max(abs(single), abs(out[k]), _TINY64)
            # Batched and single calls may sum in another order: allow a few ULPs of |f| per term.
            if not (abs(single - out[k]) <= 64 * _EPS64 * scale or (np.isnan(single) and np.isnan(out[k]))):
                if forced:
                    raise ValueError(f"vectorized=True but f on a stack disagrees with f on point {k}: "
                                     f"{out[k]!r} vs {single!r}")
                self.vectorized = False
                return None
        self.vectorized = True
        return out

    def many_complex(self, args: tuple, stack: np.ndarray) -> np.ndarray | None:
        """``Im f`` at every complex ``stack[k]``, or None when ``f`` cannot take complex input."""
        out = self._many_complex(args, stack)
        self.learned["complex"] = self.complex_status
        return out

    def _many_complex(self, args: tuple, stack: np.ndarray) -> np.ndarray | None:
        if self.complex_status not in (None, "ok"):
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", np.exceptions.ComplexWarning)
                warnings.simplefilter("ignore", RuntimeWarning)
                if self.vectorized:
                    out = np.asarray(self._call(args, stack))
                    if out.shape != (stack.shape[0],):
                        raise TypeError(f"returned shape {out.shape} for a complex stack")
                else:
                    out = np.array([np.asarray(self._call(args, p)) for p in stack])
                    if out.shape != (stack.shape[0],):
                        raise TypeError(f"returned shape {out.shape[1:]} for complex input")
        except Exception as exc:  # noqa: BLE001 - any failure means "not usable with complex input"
            self.complex_status = f"f does not accept complex input ({type(exc).__name__}: {exc})"
            return None
        if out.dtype.kind != "c":
            self.complex_status = f"f returns {out.dtype} for complex input (it drops the imaginary part)"
            return None
        self.complex_status = "ok"
        return out.imag.astype(np.float64)


# ---------------------------------------------------------------------------------------------
# the references


def _steps(x: np.ndarray, eps_f: float) -> np.ndarray:
    return eps_f ** 0.2 * np.maximum(1.0, np.abs(x))


def _central(ev: _Evaluator, args: tuple, x64: np.ndarray, f0: float, eps_f: float) -> _Central:
    # The formulas of the module docstring, evaluated entry by entry in verify.checks._gradient_kernels: steps
    # h, h/2, h/4 (level) and ± (sign); D(h) = (f(x+h) − f(x−h)) / (hp + hm) with the steps actually taken;
    # η, the rounding error of one evaluation of f near x, modelled as 8·eps_f·|f| and also measured
    # (D(h) − 5 D(h/2) + 4 D(h/4) cancels the h² term and most of the h⁴ term, leaving rounding noise of at
    # most 27 η / h; pooled over the coordinates as 4 × the median, as one coordinate's sample can be small
    # by chance); Richardson R(h/2..h), R(h/4..h/2) and the observed order; a kink where the one-sided
    # slopes jump by more than the noise, by an amount that does not shrink with h, and their extrapolated
    # limits differ; the third derivative bounded through D(h) − D(h/2) = f⁽³⁾·h²/8 + O(h⁴).
    shape, flat = x64.shape, x64.ravel()
    n = flat.size
    h, taken, stack = perturbed_points(flat, eps_f ** 0.2)
    values = ev.many(args, stack.reshape((6 * n + 1,) + shape), f0)
    estimates, kink, finite, candidates = central_estimates(values[1:].reshape(3, 2, n), taken, h, f0, eps_f)
    value, error, low, high, side_error, curvature, order, third = estimates
    if not candidates:
        low = high = side_error = None
    return _Central(value=value, error=error, kink=kink, low=low, high=high, side_error=side_error,
                    curvature=curvature, order=order, finite=finite, eps_f=eps_f, third=third)


def _complex_step(ev: _Evaluator, args: tuple, x64: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """``(Im f(x + i·h_j·e_j) for each j, h)``, or ``(None, h)`` when ``f`` cannot take complex input."""
    step, stack = complex_points(x64.ravel(), _CS_STEP)
    return ev.many_complex(args, stack.reshape((step.size,) + x64.shape)), step


class _SympyReference:
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


def _require_agreement(exact: _Reference, other: _Reference, smooth: np.ndarray, args: tuple) -> None:
    """The symbolic twin must be the derivative of f: a disagreement is a bad argument, not a verdict."""
    gap = np.abs(exact.value - other.value)
    bad = smooth & ~(gap <= 4.0 * other.error + 64.0 * _EPS64 * np.abs(exact.value))
    if bad.any():
        j = int(np.argmax(bad))
        raise ValueError(
            f"sympy_expr does not describe f: its derivative at entry {j} is {float(exact.value[j])!r} but "
            f"{other.name} on f give {float(other.value[j])!r} ± {other.error[j]:.2g}\n{format_arguments(args)}"
        )


# ---------------------------------------------------------------------------------------------
# the verdict at one point


@dataclass
class _Checker:
    f: Callable
    grad: Callable
    wrt: int
    ulps: float
    atol: float
    reference: str
    worst: int
    sympy_ref: _SympyReference | None
    ev: _Evaluator
    f_error: float = 0.0
    grad_noise: np.ndarray | None = None
    examples: int = 0
    worst_ratio: float = 0.0
    worst_ulps: float = 0.0
    worst_abs: float = 0.0
    kinks: int = 0
    kink_examples: int = 0
    unverified: int = 0
    dtype: str = ""
    decided: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REFERENCES, 0))
    cross: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REFERENCES, 0))
    notes: list[str] = field(default_factory=list)
    _validated: bool = False

    def check_point(self, point: object) -> _PointResult:
        args, x = _validate_point(point, self.wrt)
        g = _computed_gradient(self.grad, args, x, self.wrt)
        x64 = x.astype(np.float64)
        raw = self.ev._call(args, x64)
        f0 = _as_scalar(raw, "f")
        if not self._validated and x.dtype != np.float64:
            _as_scalar(self.f(*args), "f")  # f must also take the point in its own dtype
            self._validated = True
        if not math.isfinite(f0):
            raise ValueError(f"f is not finite at the input: f(*args) = {f0!r}\n{format_arguments(args)}")
        # f's rounding is that of the dtype it computes in (float32 if it casts its input down).
        eps_f = _EPS64 if isinstance(raw, float) or np.asarray(raw).dtype != _FLOAT32 else _EPS[_FLOAT32]
        central = _central(self.ev, args, x64, f0, eps_f)
        if self.f_error:
            # f is itself an approximation with error f_error: the Richardson combination of central
            # differences amplifies an error e of f's values to at most 6·e/h (as it does the rounding η).
            central.error = central.error + 6.0 * self.f_error / _steps(x64.ravel(), eps_f)
        refs = self._references(args, x64, central)
        result = self._judge(args, x, x64, g, central, refs)
        self.examples += 1
        self.dtype = _DTYPE_NAMES[x.dtype]  # str(dtype) costs microseconds per example
        return result

    def _references(self, args: tuple, x64: np.ndarray, central: _Central) -> list[_Reference]:
        refs: list[_Reference] = []
        smooth = central.finite & ~central.kink
        if self.sympy_ref is not None and self.reference in ("auto", "sympy"):
            value = self.sympy_ref(args, x64)
            refs.append(_Reference("sympy", value, 0.5 * np.spacing(np.abs(value)), "sympy.diff, mpmath 40 digits"))
        if self.reference in ("auto", "complex step") and not self.f_error:  # an approximate f: no complex step
            imag, step = _complex_step(self.ev, args, x64)
            if imag is not None:
                # Coarse cross-validation: the complex step must agree with the central differences
                # wherever they resolve the derivative; a disagreement means f is not analytic here.
                # Its error: rounding (a few ULPs: no cancellation) + truncation h²·|f'''|/6.
                cs, err, j = complex_step_estimates(imag, step, central.value, central.error, central.third, smooth,
                                                    _EPS64)
                if j >= 0:
                    note = (f"complex step rejected at a point: it gives {float(cs[j])!r} at entry {j} where central "
                            f"differences give {float(central.value[j])!r} ± {central.error[j]:.2g} "
                            "(f is not analytic there)")
                    if note.split(" at entry")[0] not in " ".join(self.notes):
                        self.notes.append(note)
                else:
                    refs.append(_Reference("complex step", cs, err, _CS_DETAIL))
            elif self.reference == "complex step":
                raise ValueError(f"reference='complex step' but {self.ev.complex_status}")
        refs.append(_Reference(
            "central differences", central.value, central.error,
            "Richardson on steps h, h/2, h/4 with h = eps_f^(1/5)·max(1,|x_j|)",
        ))
        if refs[0].name == "sympy":
            _require_agreement(refs[0], refs[1], smooth, args)
        return refs

    def _judge(self, args: tuple, x: np.ndarray, x64: np.ndarray, g: np.ndarray, central: _Central,
               refs: list[_Reference]) -> _PointResult:
        primary = refs[0]
        if self.grad_noise is not None:
            if self.grad_noise.shape != x.shape:
                raise ValueError(f"grad_noise has shape {self.grad_noise.shape} but args[{self.wrt}] has shape {x.shape}")
            # the caller's measured rounding of grad, added to each entry's tolerance (the kernels add
            # 2 × the reference's error: half of the noise rides on it)
            primary = _Reference(primary.name, primary.value, primary.error + 0.5 * self.grad_noise.ravel(),
                                 primary.detail)
        dt = x.dtype
        eps_d = _EPS[dt]
        gf = g.astype(np.float64, copy=False).ravel()
        xf = x64.ravel()
        r = primary.value
        usable = np.isfinite(r)
        if primary.name == "central differences":
            usable &= central.finite
        kink = central.kink
        any_kink = bool(kink.any())
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            if dt == _FLOAT32:
                ulp_r = np.spacing(np.abs(r).astype(dt)).astype(np.float64)
            else:
                ulp_r = np.spacing(np.abs(r))
            if any_kink:
                ratio, abs_err, ulps, tol = self._judge_with_kinks(
                    gf, r, ulp_r, dt, eps_d, xf, central, primary, usable)
                smooth = usable & ~kink
                worst, worst_ulps = float(ratio.max()), float(ulps.max())
                worst_abs = float(np.where(smooth, abs_err, 0.0).max())
            else:
                ratio, abs_err, ulps, tol, worst, worst_ulps, worst_abs = judge_smooth(
                    gf, r, ulp_r, central.curvature, xf, primary.error, usable, self.ulps, eps_d, self.atol)
                smooth = usable
        all_smooth = bool(smooth.all())
        n_kinks = int(np.count_nonzero(kink)) if any_kink else 0
        n_unverified = 0 if all_smooth else int(np.count_nonzero(~usable & ~kink))
        if n_unverified == r.size:
            raise ValueError(
                "f is not finite near the input, so no reference can be computed there (central differences "
                f"step {_steps(xf[:1], central.eps_f)[0]:.3g} away):\n{format_arguments(args)}"
            )
        if worst > 1.0:
            raise CheckFailure(self._message(args, x, g, r, central, refs, ratio, tol, kink),
                               details={"ratio": ratio.reshape(x.shape), "reference": primary.name,
                                        "computed": g, "expected": r.reshape(x.shape), "args": args})
        self.decided[primary.name] += 1
        for other in refs[1:]:
            self.cross[other.name] += 1
        self.kinks += n_kinks
        self.kink_examples += int(n_kinks > 0)
        self.unverified += n_unverified
        # worst ≤ 1 here, so every ratio is finite
        self.worst_ratio = max(self.worst_ratio, worst)
        self.worst_ulps = max(self.worst_ulps, worst_ulps)
        self.worst_abs = max(self.worst_abs, worst_abs)
        return _PointResult(ratio, abs_err, ulps, n_kinks, primary.name, n_unverified)

    def _judge_with_kinks(self, gf, r, ulp_r, dt, eps_d, xf, central, primary, usable):
        """``(ratio, abs_err, ulps, tol)`` when some entry is a kink: there the distance to [low, high] is
        judged against a tolerance from the one-sided limits' uncertainty."""
        kink = central.kink
        tol = (self.ulps * ulp_r + self.ulps * eps_d * central.curvature * np.abs(xf)
               + self.atol + 2.0 * primary.error)
        abs_err = np.abs(gf - r)
        exact = abs_err == 0.0
        k_dist = np.maximum(np.maximum(central.low - gf, gf - central.high), 0.0)
        k_scale = np.maximum(np.abs(central.low), np.abs(central.high)).astype(dt)
        k_tol = (self.ulps * np.spacing(k_scale).astype(np.float64) + self.atol + 2.0 * central.side_error)
        err = np.where(kink, k_dist, abs_err)
        tol = np.where(kink, k_tol, tol)
        ratio = err / tol
        ratio[err == 0.0] = 0.0
        ratio[np.isnan(ratio) | ~np.isfinite(gf)] = np.inf
        ratio[~(usable | kink)] = 0.0
        ulps = abs_err / ulp_r
        ulps[exact] = 0.0
        ulps[~(usable & ~kink)] = 0.0
        return ratio, abs_err, ulps, tol

    def _message(self, args, x, g, r, central, refs, ratio, tol, kink) -> str:
        primary = refs[0]
        failing = int((ratio > 1.0).sum())
        if kink.any():
            expected = np.where(kink, np.clip(g.astype(np.float64).ravel(), central.low, central.high), r)
            status = np.where(kink, "kink: [" + np.char.mod("%.17g", central.low) + ", "
                              + np.char.mod("%.17g", central.high) + "]", "")
        else:
            expected = r
        table = error_table(
            g.astype(np.float64).reshape(x.shape) if g.dtype.kind != "f" else g, expected.reshape(x.shape),
            worst=self.worst, dtype=x.dtype, order_by=ratio.reshape(x.shape),
            extra={"tolerance": tol.reshape(x.shape), "error/tol": ratio.reshape(x.shape),
                   **({"note": status.reshape(x.shape)} if kink.any() else {})},
        )
        orders = central.order[central.finite & ~central.kink & np.isfinite(central.order)]
        observed = (f"observed order {np.median(orders):.2f}" if orders.size
                    else "differences at the rounding level: order not measurable")
        for ref in refs:
            if ref.name == "central differences":
                ref.detail += f", {observed}"
        others = "; ".join(f"{ref.name} ({ref.detail})" for ref in refs[1:]) or "none"
        lines = [
            f"check_gradient: grad is wrong at {failing} of {ratio.size} entries of args[{self.wrt}] "
            f"(shape {x.shape}, {x.dtype}); worst error is {float(np.max(ratio)):.3g} × the tolerance.",
            f"reference: {primary.name} ({primary.detail})",
            f"cross-checked by: {others}",
            f"tolerance per entry: {self.ulps:g} ULPs of {x.dtype} + {self.ulps:g}·eps·|f''|·|x| (conditioning) "
            f"+ atol {self.atol:g} + 2 × the reference's error estimate"
            + (" + grad's rounding measured by the caller (grad_noise)" if self.grad_noise is not None else ""),
            *(["kinks met at entries " + str([int(i) for i in np.flatnonzero(kink)])
               + " (any value in [left slope, right slope] accepted there)"] if kink.any() else []),
            "failing input:",
            format_arguments(args),
            f"worst entries (by error / tolerance; {min(self.worst, ratio.size)} of {ratio.size} shown):",
            table,
        ]
        return "\n".join(lines)

    def report(self, seconds: float) -> GradientReport:
        return GradientReport(
            examples=self.examples, worst_ratio=self.worst_ratio, worst_ulps=self.worst_ulps,
            worst_abs_error=self.worst_abs, references=dict(self.decided), cross_checks=dict(self.cross),
            kinks=self.kinks, kink_examples=self.kink_examples, unverified=self.unverified,
            vectorized=bool(self.ev.vectorized), dtype=self.dtype, ulps=self.ulps, atol=self.atol,
            seconds=seconds, notes=tuple(self.notes),
        )


# ---------------------------------------------------------------------------------------------
# the public checker


def _is_strategy(inputs: object) -> bool:
    try:
        from hypothesis.strategies import SearchStrategy
    except ImportError:  # pragma: no cover - hypothesis is a core dependency
        return False
    return isinstance(inputs, SearchStrategy)


def _search(checker: _Checker, strategy: Any, max_examples: int | None) -> None:
    from hypothesis import given, settings, target

    chosen = settings() if max_examples is None else settings(max_examples=max_examples)

    @chosen
    @given(strategy)
    def search(point: Sequence) -> None:
        result = checker.check_point(point)
        finite = result.ratio[np.isfinite(result.ratio)]
        target(float(min(finite.max(initial=0.0), 1e300)), label="error / tolerance")

    # One database entry per (f, grad, strategy), so a failure found once is replayed first next time.
    digest = hashlib.sha256(
        f"{getattr(checker.f, '__qualname__', checker.f)!r}|{getattr(checker.grad, '__qualname__', checker.grad)!r}"
        f"|{strategy!r}|{checker.wrt}".encode()
    ).digest()
    inner = getattr(getattr(search, "hypothesis", None), "inner_test", None)
    if inner is not None:
        inner._hypothesis_internal_add_digest = digest
    search()


def check_gradient(
    f: Callable[..., float],
    grad: Callable[..., np.ndarray],
    inputs: object,
    *,
    wrt: int = 0,
    sympy_expr: Callable[..., Any] | None = None,
    reference: str = "auto",
    ulps: float = 32.0,
    atol: float = 0.0,
    max_examples: int | None = None,
    vectorized: bool | None = None,
    worst: int = 10,
    f_error: float = 0.0,
    grad_noise: np.ndarray | None = None,
) -> GradientReport:
    """Check that ``grad(*args)`` is the gradient of ``f(*args)`` with respect to ``args[wrt]``.

    Args:
      f: ``f(*args) -> float``. Written with NumPy ufuncs it usually also accepts complex input
        (enabling the complex-step reference) and a leading batch axis (one call per point).
      grad: ``grad(*args) -> array`` shaped like ``args[wrt]``; its accuracy is judged in the dtype
        of ``args[wrt]`` (float32 or float64).
      inputs: one point, a tuple ``(arg0, arg1, …)``, or a Hypothesis strategy of such tuples.
      wrt: index of the argument to differentiate.
      sympy_expr: optional symbolic twin of ``f``: called with ``args[wrt]`` replaced by an object array
        of SymPy symbols (same shape), it returns a SymPy expression; its exact derivative becomes the
        deciding reference.
      reference: ``"auto"`` (SymPy > complex step > central differences), or one of ``"sympy"``,
        ``"complex step"``, ``"central differences"`` to force the deciding reference.
      ulps: rounding allowance of the gradient in ULPs of its dtype (see the module docstring).
      atol: absolute allowance per entry, default 0 (stated in the report and in failures).
      max_examples: for a strategy, overrides the active Hypothesis profile's ``max_examples``.
      vectorized: whether ``f`` takes a stack of points along a new leading axis; None detects it.
      worst: rows of the worst-entries table in a failure message.
      f_error: an absolute bound on the error of each value of ``f`` near the point, for an ``f`` that
        is itself an approximation (``check_hessian`` passes a directional derivative computed by
        differences); carried into the reference's error estimate. Default 0: ``f`` is exact up to
        its rounding. An ``f`` with ``f_error > 0`` is not differentiated by the complex step.
      grad_noise: an absolute bound per entry (shaped like ``args[wrt]``) on the rounding error of ``grad``
        at the point, measured by the caller where the judge cannot (``check_vjp`` measures a VJP's along
        its cotangent, which it is linear in); added to each entry's tolerance. For one point only.

    Returns:
      A :class:`GradientReport` (examples tried, worst error, references used, kinks met).

    Raises:
      CheckFailure: the gradient is wrong at some entry; the message shows the (shrunk) input, the
        reference and the worst entries.
      TypeError / ValueError: bad arguments (``f`` returns a non-scalar, ``grad`` has the wrong shape,
        a non-finite input, ``wrt`` out of range), never reported as a wrong gradient.
    """
    if not callable(f) or not callable(grad):
        raise TypeError(f"f and grad must be callables; got {type(f).__name__} and {type(grad).__name__}")
    if reference not in ("auto", *REFERENCES):
        raise ValueError(f"reference must be one of {('auto', *REFERENCES)}; got {reference!r}")
    if reference == "sympy" and sympy_expr is None:
        raise ValueError("reference='sympy' needs sympy_expr=")
    if reference == "complex step" and f_error:
        raise ValueError(f"reference='complex step' cannot differentiate an approximate f (f_error={f_error!r})")
    for name, value in (("ulps", ulps), ("atol", atol), ("f_error", f_error)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")
    if max_examples is not None and (not isinstance(max_examples, int) or max_examples < 1):
        raise ValueError(f"max_examples must be a positive integer; got {max_examples!r}")
    if grad_noise is not None:
        noise = np.asarray(grad_noise, dtype=np.float64)
        if not (np.all(np.isfinite(noise)) and np.all(noise >= 0)):
            raise ValueError("grad_noise must be finite and >= 0 in every entry")
        if _is_strategy(inputs):
            raise ValueError("grad_noise is measured at one point: it cannot go with a strategy of points")
    checker = _Checker(
        f=f, grad=grad, wrt=wrt, ulps=float(ulps), atol=float(atol), reference=reference, worst=worst,
        sympy_ref=_SympyReference(sympy_expr, wrt) if sympy_expr is not None else None,
        ev=_Evaluator(f, wrt, vectorized), f_error=float(f_error),
        grad_noise=None if grad_noise is None else np.asarray(grad_noise, dtype=np.float64),
    )
    start = time.perf_counter()
    if _is_strategy(inputs):
        warm_up()  # compile before the search, whose deadline (if any) is meant for f and grad
        _search(checker, inputs, max_examples)
    else:
        checker.check_point(inputs)
    return checker.report(time.perf_counter() - start)
