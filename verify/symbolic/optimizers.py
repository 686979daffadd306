r"""The exact reference for every optimizer update rule, the rounding a float implementation may make, and the
known alternative forms of each rule.

Every rule of :mod:`verify.kernels.optimizers` is written here a second time, in the plainest form of its source
(not the kernels' form: a reference written from the kernel could not catch it), and run on the *exact* values
of the floats it is given:

- in exact rational arithmetic (:class:`fractions.Fraction`) where only field operations and signs occur (``sgd``,
  ``momentum``, ``ema_momentum``, ``nesterov``, ``lion``, with a rational schedule): the iterates are exact;
- with :mod:`mpmath` at :data:`REFERENCE_DPS` (60) significant digits where square roots, cosines or real powers
  appear: T ≤ 50 steps of a few dozen operations each lose at most a few hundred units of 10⁻⁶⁰, far below one
  float64 ULP, so rounding the result to float64 is correct except within 10⁻⁵⁸ of a tie.

**Rounding bound.** Each number is :class:`Tracked`: its exact value, a magnitude ``m`` bounding every partial
quantity formed on the way to it in any order (the same recurrence run on |inputs|), and ``e``, a bound on how
far a float implementation of unit roundoff u can be from the exact value (a running error analysis: Wilkinson;
Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., §3.3). With ``a``, ``b`` tracked:

- ``a ± b``: e = e_a + e_b + u(m_a + m_b) — one rounding, measured against magnitudes, not the possibly
  cancelled value, so that another grouping of the same terms (torch's ``lerp`` for β m + (1 − β) g) is covered;
  a sum over the coordinates (AdaGrad-Norm's ‖g‖²), which a reduction may add up in any order, gets
  (n − 1)u Σ m_i (Higham, eq. 4.4);
- ``a × b``: e = e_a|b| + |a|e_b + e_a e_b + u m_a m_b;
- ``a / b``: e = (e_a + |a/b| e_b)/(|b| − e_b) + u m_a/(|b| − e_b) — the actual value of the denominator, less its
  error, so a denominator near 0 (Adam's √v̂ + ε with a cancelled L2 gradient) widens the bound as it should;
  |b| ≤ e_b: no bound (the entry is *unverified*);
- ``√a``: e = min(e_a/(√a + √(a − e_a)), √e_a) + u√(a + e_a); a − e_a < 0 (RMSprop's centered v − ḡ²):
  an implementation may take √ of a negative, *unverified*;
- ``max``: e = max(e_a, e_b); ``sign(a)``: exact where |a| > e_a, else either sign is right (*unverified*);
- βᵗ: e = (t + 1)u βᵗ (a ``pow`` or a running product of t factors); a constant that is not a float (0.96):
  e = u|c|; a learning-rate schedule: its own derived bound (:meth:`verify.kernels.schedules.Schedule.error_bound`);
- a branch on a rounded quantity (RAdam's ρ_t > 5) within e of its threshold: both branches are right.

:func:`verify.check_optimizer` accepts an iterate within 2e (+ the float64 rounding of the reference): the factor
2 covers first-order neglect and implementations whose order of operations takes up to twice the roundings
(torch's ``lerp`` form of a moving average, ``addcdiv``, FMA contraction on a GPU).

**Teacher forcing.** ``reference_run(..., forced=iterates)`` runs step t from the *implementation's* θ_{t−1}
(the state still exact, driven by those θ), so that weight decay, whose update depends on θ, is judged step by
step without the reference and the implementation drifting apart; the rounding bound is then that of one step
plus the state's accumulated rounding, with θ_{t−1} keeping the magnitude |θ₀| + Σ|Δ| of the sum it was formed
from (an implementation may carry θ₀ − Σ Δ in another grouping, e.g. a cumulative sum of the updates).

:func:`variants` lists, for a rule and its options, the other libraries' conventions (every other choice of
every option, each named) and the common mistakes (bias correction ``1 + βᵗ`` as written in
``002_1388b78ad9a2d202.txt``, t counted from 0, state reset every step, L2 in place of decoupled decay, decay not
scaled by α, AMSGrad's maximum on v vs on v̂, Adadelta without its update accumulator, "centered" without
centering, the initial accumulator ignored, NAdam without its momentum schedule, …), each runnable through the
same reference, so that a failing implementation can be told which one it follows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction

import mpmath
import numpy as np

from verify._validate import as_float_array
from verify.kernels.optimizers import OPTION_MEANINGS, RULES, rule_spec, state_names, validate_hyperparameters
from verify.kernels.schedules import Schedule

__all__ = [
    "REFERENCE_DPS",
    "EXACT_RULES",
    "SAFETY",
    "Tracked",
    "ReferenceRun",
    "reference_run",
    "float_run",
    "Variant",
    "variants",
]

REFERENCE_DPS = 60
EXACT_RULES = frozenset({"sgd", "momentum", "ema_momentum", "nesterov", "lion"})
SAFETY = 2.0
"""The factor between the running error bound and the tolerance (see the module docstring)."""

_INF = math.inf


# =========================================================================== tracked arithmetic


class _Arithmetic:
    """Exact numbers of one kind (Fraction, mpmath, or float for a fast approximate run) with a unit roundoff."""

    def __init__(self, kind: str, u: float) -> None:
        self.kind, self.u = kind, float(u)
        # gradual underflow: every rounding may also add up to half the smallest subnormal (Higham §2.1)
        self.eta = 2.0**-150 if self.u > 2.0**-30 else 2.0**-1074
        self._constants: dict = {}
        if kind == "fraction":
            self.exact = Fraction
        elif kind == "mpmath":
            self.exact = mpmath.mpf
        else:
            self.exact = float

    def convert(self, x):
        if self.kind == "fraction":
            return x if isinstance(x, Fraction) else Fraction(x)
        if isinstance(x, Fraction):
            x = mpmath.mpf(x.numerator) / x.denominator if self.kind == "mpmath" else float(x)
        if self.kind == "mpmath":
            return mpmath.mpf(x) if not isinstance(x, mpmath.mpf) else x
        return float(x)

    def num(self, x) -> Tracked:
        """A data input (θ, g, a state's starting value): exact, no rounding error."""
        v = self.convert(x)
        return Tracked(self, v, _mag(v), 0.0, nonneg=bool(v >= 0))

    def hyper(self, x) -> Tracked:
        """A hyperparameter: exact (the checker rounds it to the dtype first), a scalar."""
        return Tracked(self, self.convert(x), 0.0, 0.0, scalar=True)

    def const(self, x) -> Tracked:
        """A constant of a formula (2, ½, 0.96): exact; ``u|x|`` of error if the dtype cannot hold it."""
        key = (type(x), x)
        cached = self._constants.get(key)
        if cached is None:
            cached = self._constants[key] = self._const(x)
        return cached

    def _const(self, x) -> Tracked:
        v = self.convert(x)
        return Tracked(self, v, 0.0, 0.0 if self._representable(x) else self.u * _mag(v), scalar=True)

    def _representable(self, x) -> bool:
        if isinstance(x, int) and abs(x) < 2**24:
            return True
        value = float(x)
        if Fraction(value) != Fraction(x):
            return False
        return self.u < 2.0**-30 or float(np.float32(value)) == value

    def total(self, values: list[Tracked]) -> Tracked:
        """Σ values in any order of summation: e = Σ e_i + (n − 1)(u Σ m_i + η)."""
        v = sum((x.v for x in values), self.convert(0))
        m = sum(x.m for x in values)
        k = max(len(values) - 1, 0)
        e = sum(x.e for x in values) + k * (self.u * m + self.eta)
        return Tracked(self, v, m, e, next((x.why for x in values if x.why), None),
                       nonneg=all(x.nonneg for x in values))

    def ema_coefficients(self, rate: Tracked) -> tuple[Tracked, Tracked]:
        """(ρ as an implementation may hold it, 1 − ρ), computed once per rate (see :func:`_ema`)."""
        cached = self._constants.get(("ema", id(rate)))
        if cached is None or cached[0] is not rate:
            complement = 1 - rate
            # |fl(1 − ρ) − (1 − ρ)| in rationals: at a fixed precision 1 − ρ would lose a tiny ρ altogether
            exact = 1 - Fraction(float(rate.v))
            rounded = Fraction(float(np.float32(exact)) if self.u > 2.0**-30 else float(exact))
            held = Tracked(self, rate.v, 0.0, rate.e + float(abs(rounded - exact)), rate.why, scalar=True, nonneg=True)
            cached = self._constants[("ema", id(rate))] = (rate, held, complement)
        return cached[1], cached[2]

    def bounded(self, value, error: float, why: str | None = None) -> Tracked:
        """A scalar computed elsewhere (a schedule's rate) with its own derived error bound."""
        return Tracked(self, self.convert(value), 0.0, float(error), why, scalar=True)

    def sqrt(self, a: Tracked) -> Tracked:
        if self.kind == "fraction":
            raise TypeError("square root requested in exact rational arithmetic")
        v = a.v
        if v < 0 or v != v:
            return Tracked(self, self.exact("nan"), _INF, _INF, a.why or "square root of a negative number")
        root = mpmath.sqrt(v) if self.kind == "mpmath" else math.sqrt(v)
        fv = float(v)
        lo = max(fv - a.e, 0.0) if a.nonneg else fv - a.e
        if lo < 0:
            return Tracked(self, root, math.sqrt(a.m), _INF, a.why or "the square root of a quantity within rounding "
                           "of 0 (a correct implementation may even get NaN from a negative rounded value)", a.scalar)
        s = float(root)
        spread = a.e / (s + math.sqrt(lo)) if s + math.sqrt(lo) > 0 else math.sqrt(a.e)
        e = min(spread, math.sqrt(a.e)) + self.u * math.sqrt(fv + a.e) + self.eta
        return Tracked(self, root, math.sqrt(a.m), e, a.why, a.scalar, True)

    def maximum(self, a: Tracked, b: Tracked) -> Tracked:
        return Tracked(self, a.v if a.v >= b.v else b.v, max(a.m, b.m), max(a.e, b.e), a.why or b.why,
                       a.scalar and b.scalar, a.nonneg or b.nonneg)

    def sign(self, a: Tracked) -> Tracked:
        s = 1 if a.v > 0 else -1 if a.v < 0 else 0
        v = self.convert(s)
        if abs(float(a.v)) > a.e or (a.v == 0 and a.e == 0):
            return Tracked(self, v, 1.0, 0.0, a.why)
        return Tracked(self, v, 1.0, 1.0 + abs(s), a.why or "the sign of a quantity within rounding of 0 "
                       "(either sign is right)")

    def power(self, base: Tracked, t: int) -> Tracked:
        """βᵗ for an exact β ≥ 0 and an integer t ≥ 0: exact for t ≤ 1, else a ``pow`` (≤ 1 ulp) or a running
        product (t − 1 roundings); (t + 1)u covers both."""
        v = base.v**t
        e = 0.0 if t <= 1 and base.e == 0 else (t + 1) * (self.u * _mag(v) + self.eta) + t * base.e
        return Tracked(self, v, _mag(v), e, base.why, base.scalar, base.nonneg)

    def real_power(self, base: Tracked, exponent: Tracked) -> Tracked:
        """base^y for real y (NAdam's 0.96^{tψ}): the rounding of y is amplified by |y ln base|."""
        if self.kind == "float":
            v = float(base.v) ** float(exponent.v)
        else:
            v = mpmath.power(mpmath.mpf(base.v), mpmath.mpf(exponent.v))
        fv = float(v)
        log_base = abs(math.log(float(base.v))) if float(base.v) > 0 else 0.0
        e = fv * ((2.0 + abs(float(exponent.v)) * log_base) * self.u + exponent.e * log_base) + base.e * abs(
            float(exponent.v)) * fv / max(float(base.v), 1e-300) + self.eta
        return Tracked(self, v, _mag(v) + e, e, base.why or exponent.why, base.scalar and exponent.scalar)

    def choose(self, condition: Tracked, threshold, if_true: Callable, if_false: Callable, what: str):
        """``if_true()`` where condition > threshold, else ``if_false()``; both allowed within rounding."""
        gap = float(condition.v - self.convert(threshold))
        if abs(gap) > condition.e:
            return if_true() if gap > 0 else if_false()
        a, b = if_true(), if_false()
        chosen, other = (a, b) if gap > 0 else (b, a)
        return _spread(chosen, other, f"{what} within rounding of its threshold: both branches are right")


def _spread(chosen, other, why):
    if isinstance(chosen, Tracked):
        return Tracked(chosen.A, chosen.v, max(chosen.m, other.m),
                       max(chosen.e, other.e) + abs(float(chosen.v - other.v)), why, chosen.scalar and other.scalar)
    return type(chosen)(_spread(c, o, why) for c, o in zip(chosen, other, strict=True))


def _power_of_two(x: Tracked) -> bool:
    if x.e != 0 or not x.scalar:
        return False
    f = x.f
    return f == 0.0 or (math.frexp(abs(f))[0] == 0.5 and f == x.v)


def _mag(v) -> float:
    try:
        return abs(float(v))
    except OverflowError:
        return _INF


class Tracked:
    """An exact value ``v``, a magnitude bound ``m`` and a rounding-error bound ``e`` (see the module docstring).

    ``nonneg`` marks quantities every implementation computes as ≥ 0 (squares, and sums, products, quotients,
    maxima and roots of such): their rounding cannot make them negative, so a square root of one is never
    *unverified*. ``scalar`` marks numbers formed from hyperparameters, constants and t alone (1 − β, 1 − βᵗ, a schedule's
    α_t): an implementation computes each of them once, so their magnitude is their value (|v| + e); the
    magnitudes of data terms (θ, g and what is formed from them) add up instead, bounding every partial sum
    of any order of evaluation. ``why`` is set when the bound cannot decide (the entry is then reported as
    *unverified*, with this reason).
    """

    __slots__ = ("A", "v", "f", "m", "e", "why", "scalar", "nonneg")

    def __init__(self, A: _Arithmetic, v, m: float, e: float, why: str | None = None, scalar: bool = False,
                 nonneg: bool = False) -> None:
        f = v if type(v) is float else _to_float(v)
        if e != e:
            e = _INF
        if scalar:
            m = abs(f) + e
            nonneg = nonneg or f - e >= 0
        if m != m:
            m = _INF
        self.A, self.v, self.f, self.m, self.e, self.why, self.scalar, self.nonneg = (A, v, f, m, e, why, scalar,
                                                                                      nonneg)
        if e == _INF and why is None:
            self.why = "the rounding bound overflows"

    def _lift(self, x) -> Tracked:
        return x if isinstance(x, Tracked) else self.A.const(x)

    def _sum(self, other, v, adding: bool = True) -> Tracked:
        o = self._lift(other)
        scalar = self.scalar and o.scalar
        m = self.m + o.m
        # a scalar is computed once: one rounding relative to its value; a sum of data terms is bounded against
        # the magnitudes of its terms, which any order of summation respects
        rounding = abs(v if type(v) is float else _to_float(v)) if scalar or (self.e == 0 and o.e == 0) else m
        return Tracked(self.A, v, m, self.e + o.e + self.A.u * rounding + self.A.eta, self.why or o.why, scalar,
                       adding and self.nonneg and o.nonneg)

    def __add__(self, other):
        return self._sum(other, self.v + self._lift(other).v)

    __radd__ = __add__

    def __sub__(self, other):
        return self._sum(other, self.v - self._lift(other).v, adding=False)

    def __rsub__(self, other):
        return self._lift(other).__sub__(self)

    def __neg__(self):
        return Tracked(self.A, -self.v, self.m, self.e, self.why, self.scalar)

    def __abs__(self):
        return Tracked(self.A, abs(self.v), self.m, self.e, self.why, self.scalar, True)

    def __mul__(self, other):
        o = self._lift(other)
        va, vb = abs(self.f), abs(o.f)
        scalar = self.scalar and o.scalar
        m = self.m * o.m
        if _power_of_two(self) or _power_of_two(o):
            rounding = 0.0  # scaling by an exact ±2ᵏ (or 0) is exact
        else:
            rounding = va * vb if scalar or (self.e == 0 and o.e == 0) else m
        e = self.e * vb + va * o.e + self.e * o.e + self.A.u * rounding + self.A.eta
        return Tracked(self.A, self.v * o.v, m, e, self.why or o.why, scalar,
                       self is o or (self.nonneg and o.nonneg))

    __rmul__ = __mul__

    def __truediv__(self, other):
        o = self._lift(other)
        A = self.A
        scalar = self.scalar and o.scalar
        if o.v == 0:
            value = A.exact("nan") if self.v == 0 or self.v != self.v else A.exact("inf") * (1 if self.v > 0 else -1)
            if o.e == 0 and self.e == 0:
                return Tracked(A, value, _INF, 0.0, self.why or o.why)
            return Tracked(A, value, _INF, _INF, "a division by a quantity within rounding of 0")
        v = self.v / o.v
        low = abs(o.f) - o.e
        if low <= 0:
            return Tracked(A, v, _INF, _INF, self.why or o.why or "a division by a quantity within rounding of 0")
        q = abs(_to_float(v))
        m = self.m / low
        rounding = q if scalar or (self.e == 0 and o.e == 0) else m
        return Tracked(A, v, m, (self.e + q * o.e) / low + A.u * rounding + A.eta, self.why or o.why, scalar,
                       self.nonneg and o.nonneg)

    def __rtruediv__(self, other):
        return self._lift(other).__truediv__(self)

    def __gt__(self, other):
        return self.v > self._lift(other).v

    def __repr__(self) -> str:
        return f"Tracked({float(self.v)!r}, m={self.m:.3g}, e={self.e:.3g}{', ' + self.why if self.why else ''})"


# =========================================================================== the rules, coordinate-wise
# Each step takes θ_{t−1} (a list of Tracked), g_t, the state (a dict of lists), t, the hyperparameters h (Tracked
# numbers, options as given, lr/eta: this step's rate and multiplier) and flags selecting an alternative form;
# it returns (θ_t, new state). Written from the sources, not from the kernels.


def _effective(g, theta, h):
    """The gradient the rule sees: −g with maximize; + λθ with L2 weight decay (PyTorch's order)."""
    out = [-gi for gi in g] if h["maximize"] else list(g)
    if not h["decoupled"] and h["wd"].v != 0:
        out = [gi + h["wd"] * th for gi, th in zip(out, theta, strict=True)]
    return out


def _decayed(theta, h):
    """θ(1 − α_tλ) (``decay_scale='lr'``) or θ(1 − η_tλ) (``'schedule'``) with decoupled decay, else θ."""
    if not h["decoupled"] or h["wd"].v == 0:
        return list(theta)
    scale = h["lr"] if h["decay_scale"] == "lr" else h["eta"]
    factor = 1 - scale * h["wd"]
    return [th * factor for th in theta]


def _zip(*lists):
    return zip(*lists, strict=True)


def _ema(rate, old, new):
    """ρ·old + (1 − ρ)·new. An implementation may hold ρ as 1 − fl(1 − ρ) (torch's ``lerp`` with weight 1 − ρ):
    its effective ρ is then uncertain by u(1 − ρ), which matters when ρ is small and |old| ≫ |new|."""
    held, complement = rate.A.ema_coefficients(rate)
    return held * old + complement * new


def _sgd(theta, g, state, t, h, A):
    return [d - h["lr"] * gi for d, gi in _zip(_decayed(theta, h), _effective(g, theta, h))], {}


def _momentum(theta, g, state, t, h, A, *, damp_first=False):
    mu, d = h["momentum"], h["dampening"]
    ge = _effective(g, theta, h)
    if d.v != 0 and mu.v != 0 and (t > 1 or damp_first):  # torch: no buffer at all when μ = 0
        ge = [(1 - d) * gi for gi in ge]  # torch.optim.SGD: the buffer starts as an undamped copy of g
    b = [mu * bi + gi for bi, gi in _zip(state["b"], ge)]
    return [dt - h["lr"] * bi for dt, bi in _zip(_decayed(theta, h), b)], {"b": b}


def _ema_momentum(theta, g, state, t, h, A):
    beta = h["beta"]
    m = [_ema(beta, mi, gi) for mi, gi in _zip(state["m"], _effective(g, theta, h))]
    return [dt - h["lr"] * mi for dt, mi in _zip(_decayed(theta, h), m)], {"m": m}


def _nesterov(theta, g, state, t, h, A):
    mu = h["momentum"]
    ge = _effective(g, theta, h)
    b = [mu * bi + gi for bi, gi in _zip(state["b"], ge)]
    return [dt - h["lr"] * (gi + mu * bi) for dt, gi, bi in _zip(_decayed(theta, h), ge, b)], {"b": b}


def _adagrad(theta, g, state, t, h, A, *, include_current=True, root=True, decay_from_1=False):
    ge = _effective(g, theta, h)
    v = [vi + gi * gi for vi, gi in _zip(state["v"], ge)]
    used = v if include_current else state["v"]
    eps = h["eps"]
    if not root:
        den = [vi + eps for vi in used]
    elif h["eps_mode"] == "inside":
        den = [A.sqrt(vi + eps) for vi in used]
    else:
        den = [A.sqrt(vi) + eps for vi in used]
    k = t if decay_from_1 else t - 1
    lr = h["lr"] if h["lr_decay"].v == 0 else h["lr"] / (1 + k * h["lr_decay"])
    return [dt - lr * gi / di for dt, gi, di in _zip(_decayed(theta, h), ge, den)], {"v": v}


def _total(values, A):
    """Σ values over the coordinates: an implementation may add them in any order (a parallel or pairwise
    reduction), so n − 1 roundings each bounded by u·Σ magnitudes (Higham, eq. 4.4: |error| ≤ γ_{n−1} Σ|x_i|)."""
    return A.total(values)


def _adagrad_norm(theta, g, state, t, h, A, *, include_current=True, eps_outside=False):
    ge = _effective(g, theta, h)
    (acc,) = state["acc"]
    new = acc + _total([gi * gi for gi in ge], A)
    used = new if include_current else acc
    den = A.sqrt(used) + h["eps"] if eps_outside else A.sqrt(used + h["eps"])
    return [dt - h["lr"] * gi / den for dt, gi in _zip(_decayed(theta, h), ge)], {"acc": [new]}


def _rmsprop(theta, g, state, t, h, A, *, ema=True, bias_correction=False):
    rho = h["rho"]
    ge = _effective(g, theta, h)
    v = [_ema(rho, vi, gi * gi) if ema else rho * vi + gi * gi for vi, gi in _zip(state["v"], ge)]
    new = {"v": v}
    used = v
    if h["centered"]:
        gavg = [_ema(rho, ai, gi) for ai, gi in _zip(state["gavg"], ge)]
        new["gavg"] = gavg
        used = [vi - ai * ai for vi, ai in _zip(v, gavg)]
    if bias_correction:
        c = 1 - A.power(rho, t)
        used = [ui / c for ui in used]
    den = ([A.sqrt(x) + h["eps"] for x in used] if h["eps_mode"] == "outside"
           else [A.sqrt(x + h["eps"]) for x in used])
    step = [gi / di for gi, di in _zip(ge, den)]
    if h["momentum"].v != 0:
        step = [h["momentum"] * bi + si for bi, si in _zip(state["b"], step)]
        new["b"] = step
    return [dt - h["lr"] * si for dt, si in _zip(_decayed(theta, h), step)], new


def _correction(beta, t, A, bias):
    """1 − βᵗ (Kingma & Ba); ``bias=+1``: 1 + βᵗ as written in seed 002; ``bias=0``: none."""
    if bias == -1:
        return 1 - A.power(beta, t)
    return 1 + A.power(beta, t) if bias == 1 else A.hyper(1)


def _corrections(h, t, A, bias):
    return _correction(h["beta1"], t, A, bias), _correction(h["beta2"], t, A, bias)


def _moments(ge, state, h, ema1=True, ema2=True):
    b1, b2 = h["beta1"], h["beta2"]
    m = [_ema(b1, mi, gi) if ema1 else b1 * mi + gi for mi, gi in _zip(state["m"], ge)]
    v = [_ema(b2, vi, gi * gi) if ema2 else b2 * vi + gi * gi for vi, gi in _zip(state["v"], ge)]
    return m, v


def _adam(theta, g, state, t, h, A, *, bias=-1, ema1=True, ema2=True):
    ge = _effective(g, theta, h)
    m, v = _moments(ge, state, h, ema1, ema2)
    c1, c2 = _corrections(h, t, A, bias)
    new = {"m": m, "v": v}
    if h["amsgrad"]:
        if h["amsgrad_max"] == "v":
            vmax = [A.maximum(a, b) for a, b in _zip(state["vmax"], v)]
            v_hat = [x / c2 for x in vmax]
        else:
            vmax = [A.maximum(a, b / c2) for a, b in _zip(state["vmax"], v)]
            v_hat = vmax
        new["vmax"] = vmax
    else:
        v_hat = [x / c2 for x in v]
    lr, eps, mode = h["lr"], h["eps"], h["eps_mode"]
    if mode == "kingma":
        delta = [lr * (mi / c1) / (A.sqrt(x) + eps) for mi, x in _zip(m, v_hat)]
    elif mode == "inside":
        delta = [lr * (mi / c1) / A.sqrt(x + eps) for mi, x in _zip(m, v_hat)]
    else:  # keras: α √c₂/c₁ · m / (√v + ε̂) with v = v̂ c₂
        step = lr * A.sqrt(c2) / c1
        delta = [step * mi / (A.sqrt(x * c2) + eps) for mi, x in _zip(m, v_hat)]
    return [dt - d for dt, d in _zip(_decayed(theta, h), delta)], new


def _adamax(theta, g, state, t, h, A, *, bias=-1):
    ge = _effective(g, theta, h)
    b1, b2 = h["beta1"], h["beta2"]
    m = [_ema(b1, mi, gi) for mi, gi in _zip(state["m"], ge)]
    u = [A.maximum(b2 * ui, abs(gi) + h["eps"]) for ui, gi in _zip(state["u"], ge)]
    c1 = _correction(b1, t, A, bias)
    return [dt - (h["lr"] / c1) * mi / ui for dt, mi, ui in _zip(_decayed(theta, h), m, u)], {"m": m, "u": u}


def _nadam_mu(h, t, A, constant):
    if constant:
        return h["beta1"]
    return h["beta1"] * (1 - A.const(Fraction(1, 2)) * A.real_power(A.const(Fraction(24, 25)),
                                                                    t * h["momentum_decay"]))


def _nadam(theta, g, state, t, h, A, *, constant_momentum=False, next_as_current=False):
    ge = _effective(g, theta, h)
    m, v = _moments(ge, state, h)
    mu = _nadam_mu(h, t, A, constant_momentum)
    mu_next = mu if next_as_current else _nadam_mu(h, t + 1, A, constant_momentum)
    (product,) = state["mu_product"]
    product = product * mu
    c2 = 1 - A.power(h["beta2"], t)
    den = [A.sqrt(vi / c2) + h["eps"] for vi in v]
    cg = h["lr"] * (1 - mu) / (1 - product)
    cm = h["lr"] * mu_next / (1 - product * mu_next)
    out = [dt - cg * gi / di - cm * mi / di for dt, gi, mi, di in _zip(_decayed(theta, h), ge, m, den)]
    return out, {"m": m, "v": v, "mu_product": [product]}


def _radam(theta, g, state, t, h, A, *, rectify="auto"):
    ge = _effective(g, theta, h)
    m, v = _moments(ge, state, h)
    b2 = h["beta2"]
    c1, c2 = 1 - A.power(h["beta1"], t), 1 - A.power(b2, t)
    rho_inf = 2 / (1 - b2) - 1
    rho_t = rho_inf - 2 * t * A.power(b2, t) / c2
    lr = h["lr"]
    decayed = _decayed(theta, h)

    def plain():
        return [dt - lr * (mi / c1) for dt, mi in _zip(decayed, m)]

    def rectified():
        r = A.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        return [dt - lr * (mi / c1) * r * A.sqrt(c2) / (A.sqrt(vi) + h["eps"]) for dt, mi, vi in _zip(decayed, m, v)]

    if rectify == "always":
        out = rectified()
    elif rectify == "never":
        out = plain()
    else:
        out = A.choose(rho_t, 5, rectified, plain, "RAdam's ρ_t")
    return out, {"m": m, "v": v}


def _adadelta(theta, g, state, t, h, A, *, accumulate_updates=True, numerator=True):
    rho, eps = h["rho"], h["eps"]
    ge = _effective(g, theta, h)
    v = [_ema(rho, vi, gi * gi) for vi, gi in _zip(state["v"], ge)]
    if numerator:
        delta = [A.sqrt(ui + eps) / A.sqrt(vi + eps) * gi for ui, vi, gi in _zip(state["u"], v, ge)]
    else:
        delta = [gi / A.sqrt(vi + eps) for vi, gi in _zip(v, ge)]
    if accumulate_updates:
        u = [_ema(rho, ui, di * di) for ui, di in _zip(state["u"], delta)]
    else:
        u = list(state["u"])
    return [dt - h["lr"] * di for dt, di in _zip(_decayed(theta, h), delta)], {"v": v, "u": u}


def _lion(theta, g, state, t, h, A, *, direction_from="interpolation"):
    b1, b2 = h["beta1"], h["beta2"]
    ge = _effective(g, theta, h)
    m = [_ema(b2, mi, gi) for mi, gi in _zip(state["m"], ge)]
    if direction_from == "interpolation":
        c = [_ema(b1, mi, gi) for mi, gi in _zip(state["m"], ge)]
    else:  # the new momentum itself
        c = m
    return [dt - h["lr"] * A.sign(ci) for dt, ci in _zip(_decayed(theta, h), c)], {"m": m}


_STEPS: dict[str, Callable] = {
    "sgd": _sgd, "momentum": _momentum, "ema_momentum": _ema_momentum, "nesterov": _nesterov,
    "adagrad": _adagrad, "adagrad_norm": _adagrad_norm, "rmsprop": _rmsprop, "adam": _adam, "adamw": _adam,
    "adamax": _adamax, "nadam": _nadam, "radam": _radam, "adadelta": _adadelta, "lion": _lion,
}
assert set(_STEPS) == set(RULES), "every rule needs its reference"


# =========================================================================== running a rule


@dataclass(frozen=True)
class ReferenceRun:
    """The trajectory of a rule, exact, rounded to float64, with the rounding a float implementation may make.

    ``iterates[t-1]`` is θ after step t (from the implementation's θ_{t−1} when the run was teacher-forced);
    ``updates[t-1]`` is θ_{t−1} − θ_t; ``states[name]`` stacks the state after each step, shape (T, n) or (T, 1).
    ``theta_error`` and ``state_errors`` bound the rounding error of a correct implementation in the dtype the run
    was made for (:func:`reference_run`'s ``dtype``); ``unverified`` marks the entries no bound can decide and
    ``reasons`` says why. ``exact_*`` keep the unrounded values.
    """

    rule: str
    hyper: dict
    arithmetic: str
    iterates: np.ndarray
    updates: np.ndarray
    states: dict[str, np.ndarray]
    theta_error: np.ndarray = field(repr=False, default=None)
    state_errors: dict = field(repr=False, default_factory=dict)
    unverified: np.ndarray = field(repr=False, default=None)
    reasons: tuple[str, ...] = ()
    exact_iterates: tuple = field(repr=False, default=())
    exact_states: dict = field(repr=False, default_factory=dict)

    def theta_tolerance(self) -> np.ndarray:
        """SAFETY × the error bound + the float64 rounding of the reference itself."""
        with np.errstate(over="ignore", invalid="ignore"):
            return SAFETY * self.theta_error + np.abs(self.iterates) * 2.0**-53

    def state_tolerance(self, name: str) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            return SAFETY * self.state_errors[name] + np.abs(self.states[name]) * 2.0**-53


def _to_float(x) -> float:
    try:
        return float(x)
    except OverflowError:
        return math.inf if x > 0 else -math.inf


def _floats(rows) -> np.ndarray:
    return np.array([[_to_float(x.v) for x in row] for row in rows], dtype=np.float64)


def _errors(rows) -> np.ndarray:
    return np.array([[x.e for x in row] for row in rows], dtype=np.float64)


def _kind(rule: str, hyper: Mapping, forced) -> str:
    rational = rule in EXACT_RULES and not (isinstance(hyper.get("lr"), Schedule) and hyper["lr"].arithmetic != "rational")
    if rational and forced is not None and not np.isfinite(forced).all():
        rational = False
    return "fraction" if rational else "mpmath"


def _hyper(rule: str, h: Mapping, A: _Arithmetic) -> dict:
    spec = RULES[rule]
    out = {}
    for k, v in h.items():
        if k == "lr":
            continue
        out[k] = A.hyper(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
    out["wd"] = out.get("weight_decay", A.hyper(0))
    out["decoupled"] = spec.decoupled or bool(h.get("decoupled_weight_decay", False))
    for k, default in spec.optional.items():
        out.setdefault(k, A.hyper(default))
    return out


def _rate(lr, t: int, A: _Arithmetic) -> tuple[Tracked, Tracked]:
    """(α_t, η_t) tracked: a number is exact; a schedule carries its derived rounding bound."""
    if isinstance(lr, Schedule):
        alpha, eta = lr.exact(t)
        return A.bounded(alpha, lr.error_bound(t, A.u)), A.bounded(eta, lr.multiplier_error_bound(t, A.u))
    if callable(lr):  # a user's function: its float value is what the implementation uses too
        return A.hyper(float(lr(t))), A.hyper(1)
    return A.hyper(lr), A.hyper(1)


def _run(rule: str, theta0: np.ndarray, grads: np.ndarray, hyper: Mapping, kind: str, u: float, *,
         forced: np.ndarray | None = None, flags: Mapping | None = None, reset: bool = False,
         t_map: Callable[[int], int] | None = None, initial: bool = True, dps: int = REFERENCE_DPS) -> ReferenceRun:
    """Run ``rule`` (or one of its alternative forms) on validated, complete ``hyper``."""
    spec = RULES[rule]
    A = _Arithmetic(kind, u)
    step = _STEPS[rule]
    flags = dict(flags or {})
    n = theta0.shape[0]
    names = state_names(rule, hyper)
    with mpmath.workdps(dps):
        h = _hyper(rule, hyper, A)
        if "_decoupled" in flags:
            h["decoupled"] = flags.pop("_decoupled")

        def fresh():
            out = {}
            for s in names:
                start = spec.initial.get(s, 0) if initial or s == "mu_product" else 0
                value = A.num(hyper[start] if isinstance(start, str) else start)
                out[s] = [value] * (1 if s in spec.scalar_state else n)
            return out

        theta = [A.num(x) for x in theta0.tolist()]
        state = fresh()
        iterates, states = [], {s: [] for s in names}
        forced_rows = forced.tolist() if forced is not None else None
        for t, row in enumerate(grads.tolist(), start=1):
            if reset:
                state = fresh()
            if forced_rows is not None and t > 1:
                # the implementation's θ_{t−1}, exactly; its magnitude stays that of the sum θ₀ − Σ Δ it was formed
                # from, so that an implementation accumulating θ otherwise (θ₀ − cumsum Δ) is judged by the
                # rounding of that sum, as any other sum of data terms
                theta = [_forced(A, x, before) for x, before in zip(forced_rows[t - 2], theta, strict=True)]
            seen = t_map(t) if t_map else t
            h["lr"], h["eta"] = _rate(hyper["lr"], max(seen, 1), A)
            g = [A.num(x) for x in row]
            theta, state = step(theta, g, state, seen, h, A, **flags)
            iterates.append(theta)
            for s in names:
                states[s].append(state[s])
        T = len(iterates)
        values = _floats(iterates).reshape(T, n)
        before = np.vstack([theta0[None, :].astype(np.float64),
                            (forced[:-1].astype(np.float64) if forced is not None else values[:-1])]) if T else values
        with np.errstate(invalid="ignore", over="ignore"):
            updates = before - values
        reasons = sorted({x.why for row in iterates for x in row if x.why}
                         | {x.why for rows in states.values() for row in rows for x in row if x.why})
        return ReferenceRun(
            rule=rule,
            hyper=dict(hyper),
            arithmetic=("exact rational arithmetic (fractions.Fraction)" if kind == "fraction" else
                        f"mpmath with {dps} significant digits" if kind == "mpmath" else "float64"),
            iterates=values,
            updates=updates,
            states={s: _floats(v).reshape(T, -1) for s, v in states.items()},
            theta_error=_errors(iterates).reshape(T, n),
            state_errors={s: _errors(v).reshape(T, -1) for s, v in states.items()},
            unverified=np.array([[bool(x.why) for x in row] for row in iterates], dtype=bool).reshape(T, n),
            reasons=tuple(reasons),
            exact_iterates=tuple(tuple(x.v for x in r) for r in iterates),
            exact_states={s: tuple(tuple(x.v for x in r) for r in v) for s, v in states.items()},
        )


def _forced(A: _Arithmetic, x: float, computed: Tracked) -> Tracked:
    value = A.num(x)
    value.m = max(value.m, computed.m)
    return value


def _inputs(theta0, grads, forced=None):
    theta0 = as_float_array(theta0, "theta0", ndim=1)
    grads = as_float_array(grads, "grads", ndim=2)
    if grads.shape[1] != theta0.shape[0]:
        raise ValueError(f"grads must have shape (T, {theta0.shape[0]}) to match theta0; got {grads.shape}")
    if forced is not None:
        forced = np.asarray(forced, dtype=np.float64)
        if forced.shape != grads.shape:
            raise ValueError(f"forced must have the shape of grads {grads.shape}; got {forced.shape}")
    return theta0, grads, forced


def _unit_roundoff(dtype) -> float:
    return float(np.finfo(np.dtype(dtype)).eps) / 2


def reference_run(rule: str, theta0, grads, *, forced=None, dtype=np.float64, dps: int = REFERENCE_DPS,
                  **hyper) -> ReferenceRun:
    """The exact trajectory of ``rule`` from ``theta0`` over the gradient sequence ``grads`` (T, n).

    Fresh state, steps counted from 1, ``hyper`` as for the kernels (options default to the rule's primary form).
    Runs in :class:`fractions.Fraction` where the rule allows it and in mpmath at ``dps`` digits otherwise; every
    input float is converted exactly. ``forced`` (T, n): teacher-forced — step t starts from ``forced[t − 2]``
    (the implementation's θ_{t−1}) instead of the reference's own. ``dtype``: the dtype whose rounding the error
    bounds are for.

    >>> run = reference_run("sgd", [1.0], [[0.5], [0.25]], lr=0.5)
    >>> run.exact_iterates
    ((Fraction(3, 4),), (Fraction(5, 8),))
    """
    theta0, grads, forced = _inputs(theta0, grads, forced)
    h = validate_hyperparameters(rule, hyper)
    return _run(rule, theta0, grads, h, _kind(rule, h, forced), _unit_roundoff(dtype), forced=forced, dps=dps)


def float_run(rule: str, theta0, grads, *, forced=None, dtype=np.float64, **hyper) -> ReferenceRun:
    """The same recurrence and bounds in plain float64 Python arithmetic: fast, approximate, **never the truth**.

    :func:`verify.check_optimizer` uses it only to reject, without the exact run, trajectories that are wrong by
    far more than any rounding (while it searches and shrinks a failing input).
    """
    theta0, grads, forced = _inputs(theta0, grads, forced)
    h = validate_hyperparameters(rule, hyper)
    return _run(rule, theta0.astype(np.float64), grads.astype(np.float64), h, "float", _unit_roundoff(dtype),
                forced=forced)


# =========================================================================== alternative forms


@dataclass(frozen=True)
class Variant:
    """Another library's convention or a common mistake, runnable through the exact reference.

    ``rule`` is the reference rule it runs; ``transform`` maps the checked rule's (complete) hyperparameters to
    that rule's; ``flags`` select an alternative form inside the rule; ``reset`` zeroes the state before every
    step; ``t_map`` changes the step number the rule sees; ``initial=False`` starts the state at 0 whatever the
    rule's initial values.
    """

    name: str
    description: str
    kind: str  # "convention" or "mistake"
    rule: str
    transform: Callable[[dict], dict] | None = None
    flags: Mapping = field(default_factory=dict)
    reset: bool = False
    t_map: Callable[[int], int] | None = None
    initial: bool = True

    def hyper(self, hyper: Mapping) -> dict:
        h = dict(self.transform(dict(hyper))) if self.transform else dict(hyper)
        spec = RULES[self.rule]
        known = set(spec.all_hyperparameters) | set(spec.options)
        return validate_hyperparameters(self.rule, {k: v for k, v in h.items() if k in known}, partial=True)

    def reference(self, theta0, grads, hyper: Mapping, *, forced=None, dtype=np.float64,
                  dps: int = REFERENCE_DPS) -> ReferenceRun:
        """The exact trajectory of this form (same arithmetic and bounds as :func:`reference_run`)."""
        theta0, grads, forced = _inputs(theta0, grads, forced)
        h = self.hyper(hyper)
        return _run(self.rule, theta0, grads, h, _kind(self.rule, h, forced), _unit_roundoff(dtype),
                    forced=forced, flags=self.flags, reset=self.reset, t_map=self.t_map, initial=self.initial,
                    dps=dps)

    def approximate(self, theta0, grads, hyper: Mapping, *, forced=None, dtype=np.float64) -> ReferenceRun:
        theta0, grads, forced = _inputs(theta0, grads, forced)
        return _run(self.rule, theta0.astype(np.float64), grads.astype(np.float64), self.hyper(hyper), "float",
                    _unit_roundoff(dtype), forced=forced, flags=self.flags, reset=self.reset, t_map=self.t_map,
                    initial=self.initial)


def _with(**changes) -> Callable[[dict], dict]:
    """A transform that replaces hyperparameters by functions of the old ones."""

    def transform(h: dict) -> dict:
        out = dict(h)
        for key, fn in changes.items():
            out[key] = fn(h)
        return out

    return transform


_CARRIED = ("maximize", "weight_decay", "decoupled_weight_decay", "decay_scale")


def _only(*keys: str, **extra) -> Callable[[dict], dict]:
    """A transform to another rule: keep ``keys`` (and the options every rule has), add ``extra``."""

    def transform(h: dict) -> dict:
        out = {k: h[k] for k in (*keys, *_CARRIED) if k in h}
        out.update({k: fn(h) for k, fn in extra.items()})
        return out

    return transform


def _relevant(spec, option: str, h: Mapping) -> bool:
    """Whether another choice of ``option`` changes anything for these hyperparameters."""
    decays = h.get("weight_decay", 0.0) != 0.0
    if option in ("decoupled_weight_decay",):
        # plain SGD: θ − α(g + λθ) = θ(1 − αλ) − αg, the two forms are one (claim weight_decay.sgd_coincide)
        return decays and not (spec.name == "sgd" and h.get("decay_scale", "lr") == "lr")
    if option == "decay_scale":
        return decays and (spec.decoupled or h.get("decoupled_weight_decay", False))
    if option == "amsgrad_max":
        return bool(h.get("amsgrad", False))
    return True


def _option_variants(rule: str, h: Mapping) -> list[Variant]:
    spec = RULES[rule]
    out = []
    for option, choices in spec.options.items():
        if not _relevant(spec, option, h):
            continue
        for choice in choices:
            if choice == h[option]:
                continue
            meaning = OPTION_MEANINGS.get((option, choice), f"{option}={choice!r}")
            out.append(Variant(f"{option}={choice}", meaning, "convention", rule,
                               _with(**{option: lambda _h, c=choice: c})))
    return out


def _scaled(lr, factor):
    """α × factor for a number; a schedule is left alone (the variant then equals the rule and never matches)."""
    if isinstance(lr, (int, float)) and isinstance(factor, (int, float)):
        return lr * factor
    return lr


@dataclass(frozen=True)
class _Form:
    """An entry of the catalogue: ``variant`` for every rule in ``rules`` whose hyperparameters satisfy ``when``
    (a ``variant.rule`` of ``""`` runs the checked rule itself, with other flags, counter or state)."""

    rules: frozenset[str]
    variant: Variant
    when: Callable[[Mapping], bool] | None = None

    def applies(self, rule: str, h: Mapping) -> bool:
        return rule in self.rules and (self.when is None or bool(self.when(h)))

    def of(self, rule: str) -> Variant:
        return self.variant if self.variant.rule else replace(self.variant, rule=rule)


def _form(rules, name: str, description: str, kind: str, runs: str = "", transform=None, *, when=None,
          **fields) -> _Form:
    """A catalogue entry: a :class:`Variant` of each of ``rules`` (names, or one name) running ``runs``."""
    names = frozenset((rules,) if isinstance(rules, str) else rules)
    if names - set(RULES):
        raise ValueError(f"variants of unknown rules {sorted(names - set(RULES))}")
    return _Form(names, Variant(name, description, kind, runs, transform, **fields), when)


_ADAM_FAMILY = ("adam", "adamw")
_STEP_DEPENDENT = tuple(name for name, spec in RULES.items() if spec.step_dependent)
_STATEFUL = tuple(name for name, spec in RULES.items() if spec.state)

# Every known alternative form, each written once with the rules it is a form of; a rule's variants are the
# entries that apply to it, in this order (conventions and mistakes specific to the rule, then those of every rule).
_CATALOGUE: tuple[_Form, ...] = (
    _form("momentum", "ema_momentum", "EMA momentum m ← μ m + (1 − μ) g (seed 002's SGM) instead of heavy ball "
          "b ← μ b + g", "convention", "ema_momentum", _only("lr", beta=lambda h: h["momentum"])),
    _form("momentum", "nesterov", "Nesterov momentum θ ← θ − α (g + μ b) (PyTorch nesterov=True)", "convention",
          "nesterov", _only("lr", "momentum"), when=lambda h: h.get("momentum", 1.0) > 0),
    _form("momentum", "dampened_first_step", "the first step dampened too (b₁ = (1 − d) g; PyTorch starts the "
          "buffer as a copy of g)", "convention", "momentum", flags={"damp_first": True},
          when=lambda h: h.get("dampening", 0.0) and h.get("momentum", 0.0)),
    _form("ema_momentum", "heavy_ball", "heavy-ball momentum b ← β b + g: the factor (1 − β) on the gradient is "
          "missing", "mistake", "momentum", _only("lr", momentum=lambda h: h["beta"])),
    _form("ema_momentum", "swapped_weights", "β and 1 − β swapped: m ← (1 − β) m + β g", "mistake",
          transform=_with(beta=lambda h: 1 - h["beta"] if h["beta"] > 0 else h["beta"])),
    _form("nesterov", "heavy_ball", "heavy-ball momentum θ ← θ − α b (the Nesterov look-ahead term μ b is missing)",
          "convention", "momentum", _only("lr", "momentum")),
    _form("adagrad", "stale_accumulator", "the accumulator used before adding the current g² (v updated after the "
          "step)", "mistake", flags={"include_current": False}),
    _form("adagrad", "no_sqrt", "the square root missing: α g / (v + ε)", "mistake", flags={"root": False}),
    _form("adagrad", "initial_accumulator_ignored", "the initial accumulator ignored (v starts at 0, not at "
          "initial_accumulator_value)", "mistake", initial=False, when=lambda h: h.get("initial_accumulator_value", 0.0)),
    _form("adagrad", "lr_decay_from_t", "lr_decay applied from the first step: α/(1 + tδ) instead of "
          "α/(1 + (t − 1)δ)", "mistake", flags={"decay_from_1": True}, when=lambda h: h.get("lr_decay", 0.0)),
    _form("adagrad_norm", "per_coordinate", "a per-coordinate accumulator v ← v + g² (AdaGrad) instead of the scalar "
          "Σ‖g‖²", "convention", "adagrad", _only("lr", "eps", eps_mode=lambda h: "inside")),
    _form("adagrad_norm", "eps_outside", "ε outside the square root: α g / (√a + ε)", "convention",
          flags={"eps_outside": True}),
    _form("adagrad_norm", "stale_accumulator", "the accumulator used before adding the current ‖g‖²", "mistake",
          flags={"include_current": False}),
    _form("rmsprop", "bias_corrected", "with Adam's bias correction v̂ = v / (1 − ρᵗ) (Adam with β₁ = 0)",
          "convention", flags={"bias_correction": True}),
    _form("rmsprop", "missing_one_minus_rho", "the factor (1 − ρ) missing: v ← ρ v + g²", "mistake",
          flags={"ema": False}),
    _form("rmsprop", "swapped_weights", "ρ and 1 − ρ swapped: v ← (1 − ρ) v + ρ g²", "mistake",
          transform=_with(rho=lambda h: 1 - h["rho"] if h["rho"] > 0 else h["rho"])),
    _form("rmsprop", "adagrad", "AdaGrad's running sum v ← v + g² instead of a moving average", "mistake", "adagrad",
          _only("lr", "eps", "eps_mode")),
    _form("nadam", "constant_momentum", "no momentum schedule: μ_t = β₁ at every step (optax.nadam's form, Dozat "
          "2016 §3 without the warming schedule)", "convention", flags={"constant_momentum": True}),
    _form("nadam", "mu_next_as_mu", "μ_{t+1} replaced by μ_t in the momentum term", "mistake",
          flags={"next_as_current": True}),
    _form("radam", "always_rectified", "the rectified adaptive step at every t (no ρ_t > 5 test)", "mistake",
          flags={"rectify": "always"}),
    _form("radam", "never_rectified", "the un-adapted step α m̂ at every t (the adaptive branch never taken)",
          "mistake", flags={"rectify": "never"}),
    _form("adadelta", "no_update_accumulator", "Adadelta without its update accumulator (E[Δθ²] never updated: the "
          "numerator stays √ε)", "mistake", flags={"accumulate_updates": False}),
    _form("adadelta", "no_numerator", "the numerator √(E[Δθ²] + ε) left out (RMSprop with ε inside and lr)",
          "mistake", flags={"numerator": False}),
    _form(_ADAM_FAMILY, "bias_plus", "bias corrections 1 + βᵗ instead of 1 − βᵗ, as written in seed 002 "
          "(002_1388b78ad9a2d202.txt, 'Adaptive Momentum (Adam)')", "mistake", flags={"bias": 1}),
    _form((*_ADAM_FAMILY, "adamax"), "no_bias_correction", "no bias correction (m̂ = m, v̂ = v)", "mistake",
          flags={"bias": 0}),
    _form((*_ADAM_FAMILY, "adamax"), "t_from_0", "the step counter t counted from 0 (bias corrections 1 − β^(t−1): "
          "division by zero at the first step)", "mistake", t_map=lambda t: t - 1),
    _form(_STEP_DEPENDENT, "t_stuck", "the step counter never advanced (t = 1 at every step)", "mistake",
          t_map=lambda t: 1),
    _form(_ADAM_FAMILY, "swapped_betas", "β₁ and β₂ swapped", "mistake",
          transform=_with(beta1=lambda h: h["beta2"], beta2=lambda h: h["beta1"])),
    _form(_ADAM_FAMILY, "missing_one_minus_beta1", "the factor (1 − β₁) missing: m ← β₁ m + g", "mistake",
          flags={"ema1": False}),
    _form(_ADAM_FAMILY, "missing_one_minus_beta2", "the factor (1 − β₂) missing: v ← β₂ v + g²", "mistake",
          flags={"ema2": False}),
    _form(_ADAM_FAMILY, "no_first_moment", "β₁ ignored (m = g: RMSprop with bias correction)", "mistake",
          transform=_with(beta1=lambda h: 0.0)),
    _form("adam", "adamw", "decoupled weight decay θ(1 − αλ) (AdamW) instead of L2", "convention", "adamw",
          _only("lr", "beta1", "beta2", "eps", "eps_mode", "amsgrad", "amsgrad_max"),
          when=lambda h: h.get("weight_decay", 0.0) and not h.get("decoupled_weight_decay", False)),
    _form("adamw", "l2_decay", "L2 weight decay λθ added to the gradient instead of decoupled decay (Adam with "
          "weight_decay, not AdamW)", "mistake", "adam",
          _only("lr", "beta1", "beta2", "eps", "eps_mode", "amsgrad", "amsgrad_max",
                decoupled_weight_decay=lambda h: False)),
    _form("lion", "swapped_betas", "β₁ and β₂ swapped (the direction interpolated with β₂, the momentum kept with "
          "β₁)", "mistake",
          transform=_with(beta1=lambda h: h["beta2"], beta2=lambda h: h["beta1"])),
    _form("lion", "sign_of_momentum", "the sign of the updated momentum instead of the interpolation "
          "β₁m + (1 − β₁)g", "mistake", flags={"direction_from": "momentum"}),
    _form("lion", "l2_decay", "L2 weight decay λθ added to the gradient instead of decoupled decay", "mistake",
          flags={"_decoupled": False}, when=lambda h: h.get("weight_decay", 0.0)),
    _form(tuple(RULES), "lr_squared", "the learning rate applied twice (α² in place of α)", "mistake",
          transform=_with(lr=lambda h: _scaled(h["lr"], h["lr"]))),
    _form(tuple(RULES), "double_step", "the update applied twice per step (2α in place of α)", "mistake",
          transform=_with(lr=lambda h: _scaled(h["lr"], 2.0))),
    _form(_STATEFUL, "reset", "the optimizer state reset to zero before every step (no memory across steps)",
          "mistake", reset=True),
)


def variants(rule: str, hyper: Mapping | None = None) -> list[Variant]:
    """The known alternative forms of ``rule``: other conventions first, then common mistakes.

    ``hyper`` (optional) supplies the options and hyperparameters in use, so that the *other* choices are listed
    as conventions and only the forms that can differ here are listed (decay forms need ``weight_decay > 0``).
    """
    rule_spec(rule)
    h = validate_hyperparameters(rule, dict(hyper or {}), partial=True)
    out = _option_variants(rule, h)
    out.extend(form.of(rule) for form in _CATALOGUE if form.applies(rule, h))
    return out
