"""What the judge cannot see in a scalar view of a vector function, and the checkers of linear maps can.

``check_vjp`` and ``check_jvp`` hand :func:`verify.check_gradient` scalar views of ``f`` (:mod:`verify.checks._probes`):
``φ_u = ⟨u, f⟩`` for a cotangent ``u``, or one output ``f_k``. The judge sees only the values of the view, on the
float64 promotion of the point; three things about the rounding of the code under test are not in them.

**The terms of a scalarisation.** ``⟨u, f⟩`` may cancel (``tanh`` at ``x = [−20, 20, …]`` with ``u₀ ≈ u₁``: terms of
size 1.9, a value of 0.01), but the outputs it is summed from are rounded at their own size: each ``f_k`` is at
least rounded to its dtype, ``eps·|f_k|``, and an error in the VJP that moves ``f_k`` by less than that cannot be
observed in ``f_k``, however the sum turns out. So the rounding level of the view is at least
``eps·Σ_k |u_k|·|f_k(x)|`` (:func:`terms_noise`): the resolution each output has on its own, weighted as the
cotangent weighs it (the Jacobian rows, judged one by one, have exactly their own).

**The float32 function's own rounding.** For a function that computes in float32, the judge's values come from
its float64 promotion, whose rounding is float64's; the rounding the float32 function really has is measured here
on the function itself, at float32 points (:func:`float32_noise`: Moré & Wild, "Estimating computational noise",
SIAM J. Sci. Comput. 33(3), 2011, difference tables at spacings of a few float32 ULPs and up).

**Outputs that are constant in the code under test.** An output that is bitwise constant along ``e_j`` near ``x``
(``gelu(−12) = 0.5·x·(1 + erf(x/√2))`` is exactly 0 in float64: ``1 + erf`` cancels; ``log_softmax`` of the
largest of ``[−20, 20, …]`` is exactly 0 in float32) shows no rounding at all, and its value says nothing about
its rounding scale: 0 may be exact (ReLU below 0, a true slope 0) or all digits lost (gelu: the true slope is
−2.6e-31). Such an output resolves no slope whose change over the entry's scale, ``|δ|·max(1, |x_j|)``, is below
``ulps`` roundings of the largest magnitude the computation holds in view (its outputs at ``x`` and its inputs):
an error in the derivative that small is *unverified* (:func:`settle_flat`: counted, with the reason and the
remedy), never a pass; one above it (a leaky-ReLU slope of 0.01 where ReLU is flat) is still wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from verify.checks._measure import _signs
from verify.checks._noise import noise_bound, noise_levels, probe_offsets
from verify.checks.failure import CheckFailure
from verify.checks.gradient import JudgeSummary, computation_scale, lost_in_digits

__all__ = ["terms_noise", "float32_noise", "computation_scale", "settle_flat", "judge_view", "Settled", "FLAT_REASON"]

FLAT_REASON = ("an output of f is bitwise constant along e_j near x in the code under test, so it cannot tell an "
               "error this small (below the rounding scale of the computation's largest magnitudes) from 0: its "
               "value may be exact or may have lost every digit (remedy: check that output with "
               "check_gradient(sympy_expr=) or an mpmath reference, or where f keeps its digits)")
# float32 spacings of the noise probe, relative to |x_i|: 1, 4, …, 4⁹ float32 ULPs (≈ 1.2e-7 … 3e-2)
_F32_SPACINGS = float(np.finfo(np.float32).eps) * 4.0 ** np.arange(10)


def terms_noise(y0: np.ndarray, weights: np.ndarray | None) -> float:
    """``eps·Σ_k |u_k|·|f_k(x)|``: the rounding level of the view ``⟨u, f⟩`` from its terms (``eps`` of ``f``'s
    output dtype), 0 without weights (a single output, whose own value the judge already sees)."""
    if weights is None:
        return 0.0
    y = np.abs(np.asarray(y0, dtype=np.float64)).ravel()
    w = np.abs(np.asarray(weights, dtype=np.float64)).ravel()
    eps = float(np.finfo(y0.dtype if y0.dtype in (np.float32, np.float64) else np.float64).eps)
    return float(eps * np.sum(w * np.where(np.isfinite(y), y, 0.0)))


def _directions(x: np.ndarray) -> np.ndarray:
    """``±|x_i|`` with signs reproducible for the point (``±1`` where ``x_i`` is 0; 0 where it is infinite)."""
    flat = x.astype(np.float64).ravel()
    signs = _signs(x, b"f32").ravel()
    scale = np.where(np.isfinite(flat), np.abs(flat), 0.0)
    scale = np.where(np.isfinite(flat) & (scale == 0.0), 1.0, scale)
    return signs * scale


def float32_noise(view: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> float:
    """The rounding level of one value of a view of a float32 function, measured on the function itself at float32
    points ``x + k·t·d`` (``k = −4…4``, ``d_i = ±|x_i|``, rounded to float32) for the spacings ``t`` of 1 to 4⁹ float32
    ULPs: the table of ``view(p) − view(float64(p))`` — the float32 function less its float64 promotion at the same
    points, so the smooth part is gone and only the float32 rounding is left, at any spacing (a float32 value that
    stays on one step of its grid over many ULPs of x, as ``1 + tanh`` near saturation does, shows its rounding only
    at spacings beyond the step; at smaller ones the table holds only the float64 promotion's own rounding). The
    largest ``NOISE_BOUND·σ`` over the spacings whose difference table shows noise (:mod:`verify.checks._noise`: a
    table of differences is noise only, so no spacing is too large for it; a constant offset between the two cancels
    in the differences and counts for nothing). 0 where none does."""
    if x.dtype != np.float32:
        return 0.0
    flat = x.astype(np.float64).ravel()
    d = _directions(x)
    k = probe_offsets()
    points = flat[None, None, :] + (_F32_SPACINGS[:, None, None] * k[None, :, None]) * d[None, None, :]
    with np.errstate(all="ignore"):
        stack = points.reshape((-1,) + x.shape).astype(np.float32)
        low = np.asarray(view(stack), dtype=np.float64)
        high = np.asarray(view(stack.astype(np.float64)), dtype=np.float64)
        values = (low - high).reshape(_F32_SPACINGS.size, k.size)
    sigma, order, status = noise_levels(values.T)
    found = status == 1
    return float(np.max(noise_bound(np.where(found, sigma, 0.0), order), initial=0.0))


def _constant_along(along: Callable[[np.ndarray], float], x: np.ndarray, j: int, at_x: float) -> bool:
    """Whether the view takes exactly its value at ``x`` at ``x ± t·e_j`` for ``t = h, h/2, h/4`` (``h`` the
    judge's central step, ``eps^(1/5)·max(1, |x_j|)``), evaluated in ``x``'s dtype (the code under test)."""
    flat = x.ravel()
    eps = float(np.finfo(x.dtype).eps)
    h = eps ** 0.2 * max(1.0, abs(float(flat[j])))
    for t in (h, h / 2.0, h / 4.0):
        for sign in (1.0, -1.0):
            moved = flat.astype(np.float64).copy()
            moved[j] += sign * t
            point = moved.astype(x.dtype).reshape(x.shape)
            if point.ravel()[j] == flat[j]:
                continue
            if float(along(point)) != at_x:
                return False
    return True


@dataclass(frozen=True, kw_only=True)
class Settled(JudgeSummary):
    """A view whose failing entries were all unverified (an output constant along them): what the checker tallies
    in place of the judge's report."""


def settle_flat(failure: CheckFailure, along: Callable[[np.ndarray], float], x: np.ndarray, scale: float,
                ulps: float) -> Settled | None:
    """The failing entries of ``failure`` reconsidered under the rule for constant outputs (module docstring).

    ``along(value)``: the view at ``args[wrt] = value`` (in the code under test's dtype). Returns a :class:`Settled`
    when every failing entry is one where the view is bitwise constant along ``e_j`` and its error is within
    ``ulps·eps·scale / max(1, |x_j|)``; None when any failing entry is not (the failure stands), or ``f`` jumps."""
    d = failure.details
    if "ratio" not in d or "computed" not in d or "expected" not in d:
        return None
    if np.any(np.asarray(d.get("jumps", False))):
        return None
    ratio = np.asarray(d["ratio"], dtype=np.float64).ravel()
    failing = np.flatnonzero(~(ratio <= 1.0))
    if failing.size == 0:
        return None
    computed = np.asarray(d["computed"], dtype=np.float64).ravel()
    expected = np.asarray(d["expected"], dtype=np.float64).ravel()
    flat = x.astype(np.float64).ravel()
    eps = float(np.finfo(x.dtype).eps)
    at_x = float(along(x))
    for j in failing:
        error = abs(computed[j] - expected[j])
        if not (np.isfinite(error) and np.isfinite(flat[j])):
            return None
        if not lost_in_digits(error, flat[j], ulps, eps, scale):
            return None
        if not _constant_along(along, x, int(j), at_x):
            return None
    unverified = np.zeros(ratio.size, dtype=bool)
    unverified[failing] = True
    unverified |= np.asarray(d.get("unverified", np.zeros(ratio.size, dtype=bool)), dtype=bool).ravel()
    reference = str(d.get("reference", "central differences"))
    return Settled(worst_ratio=float(np.max(ratio[~unverified], initial=0.0)), worst_ulps=0.0, worst_abs_error=0.0,
                   references={reference: 1}, kinks=0, unverified=int(np.count_nonzero(unverified)),
                   notes=(f"UNVERIFIED: {FLAT_REASON}",))


def judge_view(view: Callable, grad: Callable, args: tuple, wrt: int, options: Any, y0: np.ndarray,
               weights: np.ndarray | None = None, noise: Callable[[], np.ndarray | None] | None = None,
               inputs: tuple | None = None) -> tuple[Any, CheckFailure | None]:
    """:func:`verify.checks._probes.judge` of a scalar view of ``f`` (``view(*args)``: ``⟨weights, f⟩`` or one output
    of ``f``, whose output at the point is ``y0``), with what the judge cannot see in the view's values: where it
    fails, the rounding of the view's terms and the float32 function's own rounding (``f_noise``), and then the
    rule for outputs constant in the code under test (:func:`settle_flat`), at the scale of ``f``'s outputs and of
    ``inputs`` (``f``'s arguments; default ``args``: a line view's argument is its parameter ``t``). ``(report, None)``
    or ``(None, failure)``; the report of a settled view is a :class:`Settled`."""
    from verify.checks._probes import judge, replaced

    x = np.asarray(args[wrt])

    def at(value: np.ndarray) -> Any:
        return view(*replaced(args, wrt, value))

    def level() -> float:
        return max(terms_noise(y0, weights), float32_noise(at, x) if y0.dtype == np.float32 else 0.0)

    report, failure = judge(view, grad, args, wrt, options, noise=noise, f_noise=level)
    if failure is None:
        return report, None
    settled = settle_flat(failure, lambda value: float(at(value)), x, computation_scale(y0, args if inputs is None else inputs),
                          options.ulps)
    return (settled, None) if settled is not None else (None, failure)
