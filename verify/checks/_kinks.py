"""Is ``f`` differentiable at the point, along one coordinate? Kinks and jumps located by shrinking steps.

The central differences of :mod:`verify.checks.gradient` flag a coordinate ``j`` as a *candidate* when its
one-sided slopes at the steps ``h, h/2, h/4`` differ by more than the rounding allows. A kink a little way
from ``x`` (``|x|`` at ``x = −5e-8`` with ``h ≈ 7e-4``) looks the same at those steps as one at ``x``, so the
candidate is examined at the steps ``t_k = h·4⁻ᵏ``, ``k = 0, 1, …, K``, down to the finest step at which ``f``
still resolves the slopes:

    t_K ≥ max(4·ulp(x_j), 64·η / J)

where ``η`` bounds the rounding error of one evaluation of ``f`` and ``J`` is the jump of the one-sided slopes
seen at ``h`` (at ``t_K`` the slopes carry a rounding error ``2η/t_K ≤ J/32``). With ``Δ±(k) = ±(f(x ± t_k e_j)
− f(x))`` and the one-sided slopes ``s±(k) = Δ±(k) / t_k`` (the steps actually taken), their limits are
extrapolated as for a Richardson table with ratio 4, ``L±(k) = (4 s±(k+1) − s±(k)) / 3``, with the error
``E±(k) = |L±(k) − L±(k−1)| + (8η/t_{k+1} + 2η/t_k)/3``. Then, per candidate:

- **jump** (``f`` not continuous at ``x``): on one side, the change ``|Δ(k)|`` exceeds ``8η``, shrinks by less
  than 10 % a level at the three finest levels (a continuous side shrinks ×4 a level, ×4^α at a Hölder-α cusp)
  and exceeds ``4·S·t_K``, what a slope of size ``S`` could make over the finest step, ``S`` the largest of the
  one-sided slopes at the first step, the gradient under test, the complex step at the entry and ``eps_f`` (a term
  of the size of the step rounds at ``eps_f·t``: a subnormal part of ``f`` absorbed into a sum that holds
  ``x_j + t`` moves ``f`` by itself at every step) (a kink a few subnormals from ``x`` is not a jump, nor is ``f`` that oscillates on a scale below the finest step the rounding
  allows: ``sin(x²)`` at ``x = 20`` computed in float32). ``η`` here is f's rounding as modelled
  (``8·(eps_f·|f| + u)``, ``u`` the underflow unit) or measured along a direction; the caller
  (:meth:`verify.checks.gradient._Checker._locate`) measures f's rounding along ``e_j`` itself, on either side off
  the point, for every jump found, and classifies the entry again at that level where it is higher;
- **kink at the point**: at the two finest levels the extrapolated limits differ, ``|L₊ − L₋| > E₊ + E₋``,
  and each limit at the finest level agrees with the one taken (the level of least error) within the latter's
  error and twice the finest one's rounding (limits that still drift mean another kink a little way off, closer
  than the coarse levels tell: unresolved);
  the accepted subgradients are ``[min(L₊, L₋), max(L₊, L₋)]`` widened by the limits' errors;
- **differentiable at the point** (the kink is elsewhere, or the entry is a smooth one whose central value was
  doubtful): the limits agree at every level from some level ``k*`` down, and the one-sided slopes have settled at
  the two finest steps (changed by at most 4× their rounding); the central differences ``D(k)`` there are
  Richardson-extrapolated between neighbouring steps, ``R(k) = (16 D(k+1) − D(k))/15``, each with the error
  ``|R(k) − R(k+1)| + 4η/t_{k+1}·16/15`` (its measured change to the next finer estimate, and rounding), and the
  ``R(k)``, ``k ≥ k*``, with the smallest error is the derivative: steps that stay on one side of the kink and
  within the scale on which ``f`` varies. Where ``k* > 0`` the step ``t_{k*−1}`` is reported (``unsettled``): limits
  apart at the coarser steps are a kink or jump next to the point — or ``f``'s rounding above ``η`` there, a
  staircase whose cells the finer steps lie inside (the caller measures ``f``'s rounding along ``e_j`` at that scale
  and classifies the entry again where it is higher);
- **unresolved**: none of these (the slopes do not settle at the resolution ``f`` allows): no verdict.

Where ``|x_j|`` is far below the ladder's finest step (``1e-300`` next to a kink at 0), the ladder goes on with six
levels of ÷4 from ``|x_j|/2``: steps that stay on ``x_j``'s side of 0. Where the whole ladder finds the entry
differentiable and the main ladder alone a kink at the point, both enclose the derivative: any value in their
intersection is accepted (judged as at a kink, with that interval).

A kink closer to ``x`` than ``t_K`` cannot be told from one at ``x``: ``f``'s own rounding hides the difference,
and the entry is judged as at a kink (reported with ``t_K``). For ``f`` that computes in float32, steps at which it no
longer changes at all, after it did at larger ones, are below the resolution of its values (it is constant across
a float32 cell): the ladder ends before them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from verify.checks._gradient_kernels import underflow_unit

__all__ = ["SMOOTH", "KINK", "JUMP", "UNRESOLVED", "Located", "refine_steps", "classify"]

SMOOTH, KINK, JUMP, UNRESOLVED = 0, 1, 2, 3
_MAX_LEVELS = 40
_TAIL = 6


@dataclass
class Located:
    """What was found at each candidate (arrays over the candidates)."""

    kind: np.ndarray  # SMOOTH / KINK / JUMP / UNRESOLVED
    value: np.ndarray  # SMOOTH: the derivative
    error: np.ndarray  # SMOOTH: its error bound; KINK: the limits' error
    low: np.ndarray  # KINK: the smaller one-sided limit
    high: np.ndarray  # KINK: the larger
    side: np.ndarray  # JUMP: +1 right, −1 left
    jump: np.ndarray  # JUMP: f(x ± t_K e_j) − f(x) at the finest step
    finest: np.ndarray  # t_K, the resolution reached
    unsettled: np.ndarray | None = None  # SMOOTH: the finest step at which the one-sided limits disagreed (0: none)


def refine_steps(x: np.ndarray, h: np.ndarray, slope_jump: np.ndarray, eta: float) -> list[np.ndarray]:
    """The steps ``t_k = h·4⁻ᵏ`` for each candidate, down to the resolution limit (module docstring)."""
    out = []
    for xj, hj, jump in zip(x, h, slope_jump, strict=True):
        with np.errstate(over="ignore"):
            floor = max(4.0 * float(np.spacing(abs(xj))), 64.0 * eta / jump if jump > 0 else 0.0, 1e-300)
        levels = int(np.clip(np.floor(np.log(hj / floor) / np.log(4.0)), 2, _MAX_LEVELS)) if hj > floor else 2
        ladder = hj * 4.0 ** -np.arange(levels + 1)
        # A coordinate far smaller than the finest step (1e-300 next to a kink at 0): its own size is the distance
        # to that kink, so the ladder goes on from |x_j|/2 (steps that stay on x_j's side of 0), _TAIL levels of ÷4
        # above the floor.
        # (Its floor is the resolution alone, without the 1e-300 of the main ladder: such steps are the point.)
        ax = abs(float(xj))
        with np.errstate(over="ignore"):
            low = max(4.0 * float(np.spacing(ax)), 64.0 * eta / jump if jump > 0 else 0.0)
        if 0.0 < ax < ladder[-1] / 4.0 and ax / 2.0 > 4.0 * low:
            tail = ax / 2.0 * 4.0 ** -np.arange(_TAIL)
            ladder = np.concatenate([ladder, tail[tail >= low]])
        out.append(ladder)
    return out


def classify(f0: float, right: list[np.ndarray], left: list[np.ndarray], taken_right: list[np.ndarray],
             taken_left: list[np.ndarray], eta: float, eps_f: float = 0.0,
             slopes: np.ndarray | None = None, x: np.ndarray | None = None,
             measured: float | None = None, values_level: float | None = None) -> Located:
    """Classify each candidate from ``f`` at ``x + t_k e_j`` (``right``) and ``x − t_k e_j`` (``left``).

    ``taken_right[c][k] > 0`` and ``taken_left[c][k] > 0`` are the steps actually taken; ``slopes[c]`` a slope
    known at the entry besides the one-sided ones (the gradient under test, the complex step), for the jump test;
    ``x[c]`` the coordinate itself (the float32 cell of a float32 f); ``measured`` f's rounding level measured
    along a direction (Moré–Wild), when it was: the drift of the one-sided limits at the finest level is judged
    against it (at least one rounding of f's values, ``eps_f·|f|``) rather than against the ``8·eps_f·|f|`` model.
    ``values_level`` is the rounding of the values themselves where ``eta`` is higher for another reason (the caller's
    ``f_noise``: the code under test is a float32 function, whose float64 promotion gives these values): kinks and
    jumps are located at ``eta`` (the code under test has none below its rounding), while the derivative estimated
    from the values is bounded by the values' own rounding.
    """
    c = len(right)
    unit = underflow_unit(eps_f) if eps_f > 0 else 0.0
    out = Located(kind=np.full(c, UNRESOLVED), value=np.zeros(c), error=np.full(c, np.inf), low=np.zeros(c),
                  high=np.zeros(c), side=np.zeros(c), jump=np.zeros(c), finest=np.zeros(c), unsettled=np.zeros(c))
    for i in range(c):
        # the rounding level at each step: the measured one, or 8·(eps_f·|f| + u) of the values there if larger (u:
        # the underflow unit, the absolute rounding of values below the normal range)
        size = np.maximum(abs(f0), np.maximum(np.abs(right[i]), np.abs(left[i])))
        level = np.maximum(eta, 8.0 * (eps_f * size + unit))
        own = level if values_level is None else np.maximum(values_level, 8.0 * (eps_f * size + unit))
        drift_level = level if measured is None else np.minimum(level, np.maximum(measured, eps_f * size + unit))
        options = dict(coarse=eps_f > float(np.finfo(np.float64).eps),
                       slope=0.0 if slopes is None else float(slopes[i]), x_j=0.0 if x is None else float(x[i]),
                       rounding_slope=eps_f)
        tr, tl = taken_right[i], taken_left[i]
        _classify_one(out, i, f0, right[i], left[i], tr, tl, level, drift_level=drift_level, values_eta=own, **options)
        gap = np.flatnonzero(tr[:-1] > 8.0 * tr[1:]) if tr.size > 1 else np.zeros(0, dtype=np.int64)
        if gap.size and out.kind[i] == SMOOTH:
            # A ladder with a tail from |x_j|/2 (refine_steps): the main ladder's verdict alone, a kink at the
            # point, also encloses the derivative: the entry's derivative lies in both enclosures, and any value in
            # their intersection is accepted (as at a kink: the interval, widened by the main limits' error).
            m = int(gap[0]) + 1
            main = Located(kind=np.full(1, UNRESOLVED), value=np.zeros(1), error=np.full(1, np.inf),
                           low=np.zeros(1), high=np.zeros(1), side=np.zeros(1), jump=np.zeros(1), finest=np.zeros(1),
                           unsettled=np.zeros(1))
            _classify_one(main, 0, f0, right[i][:m], left[i][:m], tr[:m], tl[:m], level[:m],
                          drift_level=drift_level[:m], values_eta=own[:m], **options)
            if main.kind[0] == KINK:
                lo = max(main.low[0] - main.error[0], out.value[i] - out.error[i])
                hi = min(main.high[0] + main.error[0], out.value[i] + out.error[i])
                if lo <= hi:
                    out.kind[i], out.low[i], out.high[i], out.error[i] = KINK, lo, hi, main.error[0]
    return out


def _jumps(delta: np.ndarray, steps: np.ndarray, eta: np.ndarray, slope: float) -> bool:
    """The one-sided change does not shrink with the step at the three finest levels (by less than 10 % a
    level, where a continuous side shrinks ×4, or ×4^α at a Hölder-α cusp), and it is more than a slope of the
    size seen at the first step (on either side) could make over the finest step (a kink a few subnormals
    away is no jump)."""
    tail = np.abs(delta[-3:])
    return bool(np.all(tail > 8.0 * eta[-3:]) and tail[2] > 0.9 * tail[1] and tail[1] > 0.9 * tail[0]
                and tail[2] > 4.0 * slope * steps[-1])


def _classify_one(out: Located, i: int, f0: float, fr: np.ndarray, fl: np.ndarray, tr: np.ndarray,
                  tl: np.ndarray, eta: np.ndarray, coarse: bool = False, slope: float = 0.0,
                  x_j: float = 0.0, drift_level: np.ndarray | None = None,
                  values_eta: np.ndarray | None = None, rounding_slope: float = 0.0) -> None:
    if values_eta is None:
        values_eta = eta
    # For f that computes in a coarser format than float64 (``coarse``), steps at which f does not change at all,
    # after it did at larger ones, are below the resolution of its values (a function computed in float32 is
    # constant across a float32 cell): the ladder ends before them — but only where the step is below that
    # resolution: under 2 float32 spacings of x_j, or so small that the slope seen at the first step would move f
    # by less than 2 float32 spacings of f. A step above both at which f does not move shows f flat there (a ReLU
    # layer whose units are all off between kinks a few hundred float32 ULPs of x_j away on either side).
    moved = (fr != f0) | (fl != f0)
    if coarse and moved.any() and not moved[-1]:
        last = int(np.flatnonzero(moved)[-1]) + 1
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            seen = max(abs(fr[0] - f0) / tr[0], abs(f0 - fl[0]) / tl[0])
            x32 = float(np.spacing(np.float32(min(abs(x_j), 3e38)))) if np.isfinite(x_j) else np.inf
            f32 = float(np.spacing(np.float32(min(float(np.max(np.abs(np.append(np.append(fr, fl), f0)))), 3e38))))
            steps_ = np.minimum(tr, tl)
            resolvable = (steps_ >= 2.0 * x32) & (seen * steps_ >= 2.0 * f32)
        last = max(last, int(np.count_nonzero(np.cumprod(resolvable))))
        if last < 3:
            out.finest[i] = min(tr[last - 1], tl[last - 1])
            return  # resolved at fewer than three steps: nothing can be said
        fr, fl, tr, tl, eta, values_eta = fr[:last], fl[:last], tr[:last], tl[:last], eta[:last], values_eta[:last]
        drift_level = None if drift_level is None else drift_level[:last]
    out.finest[i] = min(tr[-1], tl[-1])
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        d_right = fr - f0
        d_left = f0 - fl
        if not (np.all(np.isfinite(d_right)) and np.all(np.isfinite(d_left))):
            return
        # at least eps_f: a term of the size of the step rounds at eps_f·t, so a change below that at every step is
        # rounding of the displaced coordinate's own term, not a jump (a subnormal part of f absorbed into a sum that
        # holds x_j + t: Σ x_i·x_{i+1} at x = [s, 1, s, −1, s, s], s = 2.2e-309, moved by −s at every step)
        slope = max(abs(d_right[0]) / tr[0], abs(d_left[0]) / tl[0], slope if np.isfinite(slope) else 0.0,
                    rounding_slope)
        for sign, delta, steps in ((1.0, d_right, tr), (-1.0, d_left, tl)):
            if _jumps(delta, steps, eta, slope):
                out.kind[i], out.side[i], out.jump[i] = JUMP, sign, sign * delta[-1]
                return
        s_right, s_left = d_right / tr, d_left / tl
        # limit k uses the steps k and k + 1
        lim_r = (4.0 * s_right[1:] - s_right[:-1]) / 3.0
        lim_l = (4.0 * s_left[1:] - s_left[:-1]) / 3.0
        step = np.minimum(tr, tl)
        noise = (8.0 * eta[1:] / step[1:] + 2.0 * eta[:-1] / step[:-1]) / 3.0
        conv_r = np.abs(np.diff(lim_r, prepend=np.nan))
        conv_l = np.abs(np.diff(lim_l, prepend=np.nan))
        gap = np.abs(lim_r - lim_l)
        err = conv_r + conv_l + 2.0 * noise  # NaN at the first limit: no predecessor to measure convergence by
        apart = gap > err
        together = gap <= 2.0 * noise
    # Limits that agreed at a coarser step and come apart at a finer one show f's rounding beyond η there, not a
    # kink: a kink at distance d keeps them apart at every step beyond d, one at the point at every step (its gap is
    # fixed, the rounding's grows as 1/t). Such rounding is a staircase whose cells are wider than the spacings that
    # measured η: gelu's x·½(1 + erf(x/√2)) at x = −5 rounds the cancelling 1 + erf to cells 4e-11 wide, and inside
    # one f is x times a constant, smooth to its last digit, whose slope ½(1 + erf) = Φ(−5) loses the product rule's
    # x·φ(x) term. The ladder ends at the last level where they agreed before coming apart.
    came_apart = np.flatnonzero(apart & (np.cumsum(together) > together))
    if came_apart.size:
        last = int(np.flatnonzero(together[:came_apart[0]])[-1]) + 2  # limit k uses the steps k and k + 1
        if last < 3:
            out.finest[i] = min(tr[last - 1], tl[last - 1])
            return
        _classify_one(out, i, f0, fr[:last], fl[:last], tr[:last], tl[:last], eta[:last], slope=slope, x_j=x_j,
                      drift_level=None if drift_level is None else drift_level[:last], values_eta=values_eta[:last])
        return
    if apart[-1] and apart[-2]:
        # A kink at the point: the limits from the level, among those from which they stay apart down to the
        # finest, whose error is the smallest (coarse steps carry less rounding when f is piecewise smooth).
        first = len(apart) - 1
        while first > 1 and apart[first - 1]:
            first -= 1
        k = first + int(np.argmin(err[first:]))
        # The limits must hold down to the finest level: one-sided slopes that still drift there (another kink a
        # little way off on one side, closer than the coarse levels can tell) leave the kink not located.
        # (The limit at the finest level differs from the one taken by at most the latter's error and the finest
        # one's rounding, 2·noise, where the pieces on either side are smooth.)
        # The finest one's rounding from f's measured level where it was measured (the 8·eps_f·|f| model of a
        # float32 f can be 30× its real rounding, and would hide a drift of the slopes to another kink).
        finest_noise = noise[-1]
        if drift_level is not None:
            finest_noise = min(finest_noise, float(8.0 * drift_level[-1] / step[-1] + 2.0 * drift_level[-2] / step[-2])
                               / 3.0)
        allowed = err[k] + 2.0 * finest_noise
        if abs(lim_r[-1] - lim_r[k]) > allowed or abs(lim_l[-1] - lim_l[k]) > allowed:
            return
        out.kind[i] = KINK
        out.low[i] = min(lim_r[k], lim_l[k])
        out.high[i] = max(lim_r[k], lim_l[k])
        out.error[i] = err[k]
        return
    if not together[-1]:
        return
    # The one-sided slopes must also have settled at the two finest steps (each changed by at most 4× its rounding
    # there): limits that agree at the finest level only because its rounding swamps a kink closer than the ladder
    # reaches (a ReLU layer with a pre-activation 3.6e-12 from 0: the right slope drifts from −2.67 to −0.82 over the
    # last two steps, where the rounding is 0.1) say nothing of the derivative, and one difference of a central value
    # straddling that kink is no error bound for it.
    if step.size >= 2:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # steps of 1e-300: an infinite allowance
            settle = 4.0 * (2.0 * eta[-1] / step[-1] + 2.0 * eta[-2] / step[-2])
            if abs(s_right[-1] - s_right[-2]) > settle or abs(s_left[-1] - s_left[-2]) > settle:
                return
    # Differentiable: the limits agree from some level down to the finest (steps that stay on one side of a kink
    # nearby). The central differences there, Richardson-extrapolated between neighbouring steps; each estimate's
    # error is its measured change to the next finer one (the truncation) plus its rounding, and the estimate with
    # the smallest error is taken (a step beyond the scale on which f varies — layer norm of equal inputs, whose
    # scale is sqrt(its epsilon) — has not converged, and its change to the next one says so).
    first = len(together) - 1
    while first > 0 and together[first - 1]:
        first -= 1
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        central = (fr - fl) / (tr + tl)
        rich = (16.0 * central[1:] - central[:-1]) / 15.0  # between steps k and k + 1
        rounding = 2.0 * (2.0 * values_eta[1:]) / (tr[1:] + tl[1:]) * 16.0 / 15.0
        change = np.abs(np.diff(rich))  # rich[k] − rich[k + 1]: len − 1 of them
    candidates = np.arange(first, change.size)
    if candidates.size:
        error = change[candidates] + rounding[candidates]
        error = np.where(np.isfinite(error), error, np.inf)
        k = int(candidates[np.argmin(error)])
        value, bound = rich[k], float(error[k - first])
    else:  # two steps only: their own difference
        k = first
        value = rich[k]
        bound = abs(value - central[k + 1]) + rounding[k]
    out.kind[i] = SMOOTH
    out.value[i] = value
    out.error[i] = bound
    # limits apart at the coarser steps and together from `first` down: a kink or jump next to the point — or f's
    # rounding above the level given, at the scale of those steps (the caller measures it there: a staircase)
    out.unsettled[i] = step[first - 1] if first > 0 else 0.0
    if first > 0 and apart[:first].any():
        _unless_swamped(out, i, f0, fr, fl, tr, tl, eta, noise, float(np.max(gap[:first][apart[:first]])), slope, x_j,
                        drift_level, values_eta, rounding_slope)


def _unless_swamped(out: Located, i: int, f0: float, fr: np.ndarray, fl: np.ndarray, tr: np.ndarray, tl: np.ndarray,
                    eta: np.ndarray, noise: np.ndarray, gap: float, slope: float, x_j: float,
                    drift_level: np.ndarray | None, values_eta: np.ndarray, rounding_slope: float) -> None:
    """A derivative next to a kink (limits ``gap`` apart at coarser steps, together at finer ones) whose error bound
    is a quarter of that gap or more was read where the rounding swamps the gap: the limits "agree" within it (the
    caller's ladder reaches ``64η/S`` for a slope scale ``S`` above the gap: a jvp's line through three ReLU-like
    kinks at the point, gap 1.2 beside slopes of 44, agreed within 1.05 at a step of 1.7e-13). The ladder is cut
    before the steps whose rounding exceeds an eighth of the gap; where it then finds a kink at the point, that
    stands."""
    if out.error[i] < gap / 4.0:
        return
    swamped = np.flatnonzero(2.0 * noise > gap / 8.0)
    if not swamped.size:
        return
    last = int(swamped[0]) + 1  # limit k uses the steps k and k + 1: the steps of the last resolved limit
    if last < 3 or last >= len(tr):
        return
    cut = Located(kind=np.full(1, UNRESOLVED), value=np.zeros(1), error=np.full(1, np.inf), low=np.zeros(1),
                  high=np.zeros(1), side=np.zeros(1), jump=np.zeros(1), finest=np.zeros(1), unsettled=np.zeros(1))
    _classify_one(cut, 0, f0, fr[:last], fl[:last], tr[:last], tl[:last], eta[:last], slope=slope, x_j=x_j,
                  drift_level=None if drift_level is None else drift_level[:last], values_eta=values_eta[:last],
                  rounding_slope=rounding_slope)
    if cut.kind[0] == KINK:
        for name in ("kind", "value", "error", "low", "high", "side", "jump", "finest", "unsettled"):
            getattr(out, name)[i] = getattr(cut, name)[0]
