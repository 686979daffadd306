"""``check_gradient``: is ``grad`` the gradient of ``f``?

``f(*args) -> float`` and ``grad(*args) -> array shaped like args[wrt]``. At every point the gradient is
compared, entry by entry, with up to three independent references, chosen automatically and named in the
report and in every failure message:

1. **SymPy** (``sympy_expr=``): the exact derivative ``sympy.diff`` of a symbolic twin of ``f``, evaluated with
   mpmath at 40 digits and correctly rounded to float64. The truth, when given.
2. **Complex step** (Squire & Trapp 1998; Martins, Sturdza & Alonso 2003): ``∂f/∂x_j ≈ Im f(x + i·h·e_j) / h``
   with ``h = 1e-20·max(1, |x_j|)`` (``1e-10·|x_j|`` where ``0 < |x_j| < 1e-10``, so that ``h`` stays small against
   ``x_j``: ``√x`` at ``1e-300``). No subtractive cancellation, so it is accurate to a few float64 ULPs — but
   only where ``f`` accepts complex input and is analytic (no ``abs``, ``conj``, ``.real``). This is
   *detected*, not assumed: ``f`` must return a complex number for complex input (a ``ComplexWarning`` or an
   exception disqualifies it), and every smooth entry must agree with the central differences below to
   within their error bound; otherwise the complex step is rejected at that point and the report says why.
   Its error: ``4·eps·|value| + h²·|f'''|/6``; an entry where ``Im f`` fell below the normal range (a tiny
   step times a tiny derivative) is left to the central differences; where ``Im f = 0`` exactly, a step 2⁴⁰
   times larger tells an identically real ``f`` (derivative 0: a dead unit) from an underflow of ``h·f'``, and
   steps of 1/8 and 1/4 tell it from an ``Im f`` lost to absolute rounding (JAX's complex softplus wraps ``Im`` into
   ``[−π, π]``: at ``x = −30`` it stays 0 at both small steps while ``f' = 9.4e-14``), left to the central differences.
3. **Central differences with Richardson extrapolation**: steps ``h, h/2, h/4`` with
   ``h = eps_f^(1/5)·max(1, |x_j|)``, ``D(h) = (f(x+h e_j) − f(x−h e_j)) / 2h``, ``R = (4 D(h/4) − D(h/2)) / 3``;
   error bound ``|R(h/2..h) − R(h/4..h/2)|`` (the truncation, measured) ``+ 6η/h`` (the rounding of ``f``). The
   rounding level ``η`` of one value of ``f`` is ``8·(eps_f·max|f| + u)`` (``u`` the smallest subnormal of f's format:
   below the normal range values are off by whole units of it, however small ``eps·|f|``), or the grid the entry's
   values lie on where that is coarser and ``f`` moved at every step (a sum of terms of size ``M`` that cancels is a
   multiple of ``ulp(M)``: ``Σ tanh`` at ``±14`` is ``3e-14`` on a grid of ``1.1e-16``), or the level measured in the
   stack itself;
   where that is not enough to decide, it is *measured* (Moré & Wild, "Estimating computational noise",
   SIAM J. Sci. Comput. 33(3), 2011; :mod:`verify.checks._measure`), at spacings up to the stencil's: a formula that
   cancels may round to cells far wider than its ULPs (gelu's ``x·½(1 + erf(x/√2))`` at ``x ≪ 0``: ``1 + erf`` on
   float64's grid near 1, cells 3.7e-11 wide at −5, 1.1e-2 at −8), inside which ``f`` is smooth with the wrong slope
   (``Φ(x)``, the product rule's ``x·φ(x)`` lost) — a *staircase*, whose rounding is that of its cells, seen where the
   tables cross them (:func:`verify.checks._measure.staircase_level`; along ``e_j`` off the point where the kink
   ladder's one-sided limits disagree at its coarser steps, or before a gradient is blamed on a ladder inside one or
   two cells). ``eps_f`` is the precision ``f``
   really computes in: that of the dtype it returns, or float32's where ``f``'s measured noise is 64× above
   its dtype's (a function that computes in float32 and returns a Python float).

The most accurate reference decides (SymPy, else complex step, else central differences), entry by entry
where one has nothing to say at an entry; the others cross-check it. Where a reference decides an entry that
does not pass, its own error is measured, not assumed: the complex step's rounding (``f``'s formula may cancel in
its imaginary part) from steps with other bits, its truncation from a step twice as large; the central
differences at steps shrinking by 4 down to the resolution ``f`` allows (a step beyond the scale on which ``f``
varies gives a value its Richardson estimate cannot vouch for), keeping the best converged one. So are the entries
whose central value decides and whose stencil betrays structure below the steps: an observed order that is not 2, or
six values departing from a quadratic by 64× f's rounding (``floor(x) + x`` at ``3e4 + 0.5``: steps of 22 average
floor's jumps into a slope of 2.1 ± 0.28 where the derivative is 1). ``f`` is evaluated on the float64
(complex128) promotion of ``args[wrt]``, so a float32 point is judged against a float64 reference.

**Tolerance.** Entry ``j`` of the computed gradient ``g`` (dtype ``d``, that of ``args[wrt]``) passes when
``|g_j − r_j| ≤ τ_j``::

    τ_j = ulps · ulp_d(r_j)                    # (a) rounding of g itself, in ULPs of d (default 32)
        + ulps · eps_d · |∂²f/∂x_j²| · |x_j|   # (b) conditioning: the exact gradient at an input `ulps` ULPs
                                               #     away (backward error, diagonal part)
        + B_j                                  # (b) the spread of g over inputs `ulps` ULPs away (two random
                                               #     sign patterns): the whole Hessian row, measured
        + N_j                                  # (b) the measured rounding noise of g at the point
        + atol                                 #     explicit absolute slack, default 0
        + 2 · e_j                              # (c) twice the error bound of the reference
        + ulps · (eps_d · F_j + η_f) / max(1, |x_j|) # (d) below f's resolution
        + grad_noise_j                         #     the caller's measured rounding of g (``grad_noise=``), if given

``B_j`` and ``N_j`` are measured only where the other terms do not suffice. ``B_j`` is what backward stability
allows: the exact gradient at some input within ``ulps`` ULPs of ``x`` (the layer norm of inputs 1e4 ± 1 in float32
moves by 0.2 % per ULP of its inputs; a gradient computed from float32 roundings of a float64 input does not move
at all over a few float64 ULPs). For ``N_j``, ``grad`` is re-evaluated at inputs a few ULPs
away and further (:mod:`verify.checks._measure`), and the Moré–Wild difference table of each entry gives
its noise level ``σ_j`` and ``N_j = NOISE_BOUND·σ_j`` (:mod:`verify.checks._noise`: a bound exceeded with
probability below 10⁻⁶ by noise). So a correct formula that cancels (layer norm, ``softmax − onehot``,
``1 − tanh²`` short of saturation) is judged by the rounding it really has, while a wrong term, slope, sign
or factor (a systematic error, not noise), an underflow to 0 (a constant shows no noise), and a float64
gradient computed in float32 (its values do not change at float64 spacings, and are float32 numbers or
float32-cell constant) are caught. ``ulp_d(r)`` is ``numpy.spacing(|r|)`` in ``d``, never 0, so the measure is
relative: a gradient that underflows to 0 where the truth is 1e-18 fails by about 1e15 ULPs.

**(d) Below f's resolution.** ``F_j`` is the largest ``|f|`` over the point and the central-difference points of
entry ``j`` (``x ± h e_j``, ``x ± h/2 e_j``, ``x ± h/4 e_j``), ``η_f`` the rounding level of one value of ``f`` where it
is measured (0 where it is not; the caller's ``f_noise=`` where larger: the rounding of a float32 ``f`` whose float64
promotion the judge evaluates, or of the terms of a scalarisation ``⟨u, f⟩`` that cancels), ``eps_d`` the machine epsilon of the gradient's dtype and ``max(1, |x_j|)`` the
entry's own scale (the scale the central-difference steps use). An error ``δ`` in entry ``j`` predicts a change
``δ·max(1, |x_j|)`` in ``f`` over a displacement of ``x_j`` by its own scale; where that change is below ``ulps``
roundings of ``f`` there (``ulps·(eps_d·F_j + η_f)``), no evaluation of ``f`` along ``e_j`` can observe the error,
and it is negligible. An entry ``0 < |x_j| < 1`` is also displaced by its own size, and the smaller term counts:
``ulps·(eps_d·F'_j + η_f) / |x_j|`` with ``F'_j`` the largest ``|f|`` over ``x ± |x_j| e_j`` (a displacement of 1 says
nothing about a tiny entry: ``Σ x²`` at ``x = 1e-25`` is ``5e-7`` a central step away, which excused ``−2x`` as
"below f's resolution", but ``4e-50`` over ``x ± |x_j|``, where the error changes ``f`` by ``1e-50``). (Only entry ``j``'s own points count: a logit of ``1e150`` elsewhere in ``f``, whose step moves
``f`` by ``1e146``, says nothing about the resolution along ``e_j``.) This is what makes a correct formula that cancels at saturation correct
where it loses all its digits: ``1 − tanh²(x)`` is 0 at ``x = 20`` (truth ``1.7e-17``) and PyTorch's and JAX's
float32 ``tanh``/``sigmoid`` backward, ``softmax − onehot`` at saturated logits (PyTorch's own cross-entropy
backward) and the textbook dense tanh layer at a pre-activation of 12 carry errors of ``eps`` times their
cancelling terms, far beyond their own ULPs but below ``f``'s resolution. It does not excuse an error that ``f``
resolves: an underflow to 0 where ``f`` itself is small (``σ(x)`` as ``1 − 1/(1 + eˣ)`` with every ``x`` in
``[−60, −30]``: ``f ≈ 1e-14``, so ``F`` and the term are tiny), a wrong term, slope, sign or factor, or a float64
gradient computed in float32 (``eps32·|g_j|`` is far above ``eps64·F/max(1, |x_j|)`` unless ``|g_j·x_j|`` is
below ``1e-7·F``, where ``f`` cannot see the entry either). The per-entry table says "below f's resolution" where
this term decides. The same rule defines "correct" in the corpus (:mod:`verify.checks.corpus.truth`).

**Unverified.** An entry no available reference can resolve is *unverified*: counted in the report with the
reason and the remedy, never a failure and never a silent pass — ``f`` not finite within the central step;
one-sided slopes that do not settle at the resolution ``f`` allows (a kink too close to locate, or an entry far
below the steps ``f`` can resolve); a central-difference reference whose error bound cannot tell
the computed value from 0 or from twice itself (``2e_j > max(τ_j − 2e_j, |g_j|/2, ulps·eps_d·S)``, ``S`` the largest
entry of the gradient at the point: a 9e-16 derivative next to ``|f| ≈ 1`` when ``f`` is not complex-analytic). An unverified entry whose error exceeds even ``τ_j`` is
still wrong — but for a flat central reference (all six values equal ``f(x)``: 0) beside an error that ``f`` may have
lost in its digits (:func:`lost_in_digits`: gelu's ``½x(1 + erf(x/√2))`` is 0 in float64 at ``x = −10``, its slope
``−7.7e-22``; the bound of a reference from values that are all 0 is near 0 and resolves nothing). Flat central differences (all six values equal ``f(x)``) are examined further out first: where ``f`` is
bitwise constant along ``e_j`` at every step ``4ᵏ·h`` out to ``16·max(1, |x_j|)`` on both sides (an output that does
not depend on ``x_j``: the off-diagonal Jacobian entries of ``torch.erf``), the slope is 0 to within ``6η/R`` at that
reach ``R``, and the entry is judged — verified, or wrong where its error also exceeds what digits lost at the
computation's scale could hide; a constant that ends sooner (ReLU below 0, gelu's tail, where the constant is a
rounding of a slope that is not 0) leaves it unverified. A failing entry along which ``f`` is bitwise constant near
``x`` (out to a step where the reference's slope would have moved it by more than 8 roundings), and beyond which it
steps by more than ``ulps`` roundings of the computation's largest magnitudes, is unverified too: ``floor`` at
``1e4 + 0.3`` (derivative 0; steps of 7 average its jumps into a slope of 1) gives the values of a smooth function rounded
to cells in a computation holding magnitudes of 1e16, and no reference here tells them apart. A kink candidate whose
one-sided slopes do not settle has no reference either (a complex step there is one branch's slope).

**Kinks and jumps** (:mod:`verify.checks._kinks`). Where the one-sided slopes at ``h`` differ by more than
the rounding allows, the steps are shrunk geometrically down to the resolution ``f`` allows. So is an entry whose
stencil shows a jump at the point (its offsets on one side the same ``J`` at ``h``, ``h/2``, ``h/4``) that ``f``
confirms 16 ULPs away, whatever the other entries suggest of f's rounding: where most entries sit on jumps
(``floor(z) + z²`` at integers), their stencils set the pooled level the slopes are compared with. A kink *at the
point* (ReLU at 0, the hinge at its margin, ``max`` at a tie; or one closer than ``f`` can resolve) accepts
any value between the one-sided limits; a kink *next to* the point does not: the ordinary derivative is
demanded, from steps that stay on one side (``|x|`` at ``x = −5e-8``). Each coordinate at a kink is judged
against its own limits, and then pairs of them together (ties first, at most 12 pairs): along ``d = e_i ± e_j``
``⟨g, d⟩`` must lie within the limits of f's slopes along ``d`` at ``x`` (one-sided) and from the four diagonal
directions next to it — so ``(x == max(x))`` at a tie of ``max``, which counts the tie twice, fails, while every
convex combination of the tied entries passes. A tie of three or more entries is judged along the sum of its unit
vectors too (it moves together there, and grad's total over it is f's slope: a strict ``>`` max backward, 0 at every
tie, fails). An entry tied with others that fails against its slopes at ``x`` is judged against f's slopes along
``e_j`` at the points next to ``x`` where the tie is ordered every way (Clarke's subdifferential: sort's backward at a
tie of ``Σ c·sort(x)``, ``c`` not increasing, gives the tied entries the weights of their order, outside the slopes at
``x``) wherever those slopes differ. Where
``f`` is not continuous (``|f(x ± t e_j) − f(x)|`` does not shrink with ``t``, and exceeds ``f``'s rounding along ``e_j``
measured on either side of the point — Moré–Wild tables off the point at the finest steps: the rounding of
``mean(x)`` in a layer norm at ``1e6 + [2, 5, 5, 5]`` moves ``f`` by ``4e-11`` per ULP of ``x_0``, invisible along the
direction ``f``'s noise is first measured on), the check fails with
"f is not continuous at …", unless ``jumps="allow"`` declares such points: then the entry is reported as
not differentiable, counted, and not judged.

**An approximate f** (``f_error=``: ``check_hessian`` passes a directional derivative computed by differences): its
values are off by up to ``f_error``, which the central differences' Richardson combination amplifies to at most
``6·f_error/h``; that is added to their error bound, kinks are located at a rounding level of at least ``f_error``,
and no complex step is taken (it would differentiate the approximation's error too).

**Inputs.** ``args[wrt]`` may hold ``±∞`` where ``f`` is finite (a masked logit): the derivative along such an
entry is the limit 0 (a nonzero limit would make ``f`` diverge) and must be 0. NaN is an error. Every call
of ``f`` and ``grad`` gets copies of the arguments (``f`` or ``grad`` writing into its input changes neither the
caller's arrays nor the judge's points).

``inputs`` is one point (a tuple of arrays; the other arguments may be anything ``f`` takes, e.g. integer
labels) or a Hypothesis strategy of such tuples: then the search runs (``@given`` inside, no deadline,
``target()`` pushing towards the largest error / tolerance), and a failure is shrunk before it is raised.
It runs under the active Hypothesis profile (the ``verify`` pytest plugin's, or Hypothesis' default in a
plain script); call it from a plain test, not from inside another ``@given`` test. A search that runs over
2 s shows its progress on stderr (outside pytest).

If ``f`` accepts a stack of points along a new leading axis of ``args[wrt]`` and returns one value per point
(vectorised, e.g. written with ``axis=-1`` and ``...``), all perturbed points are evaluated in one call; this
is detected on the first point and verified against scalar calls (``vectorized=`` forces it on or off). The
extra evaluations of the measured tolerance (noise of ``f`` and ``grad``, kink location) are made only at
points where the cheap terms (a), (b) diagonal, (c) do not already decide.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import numbers
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from verify._validate import FLOAT_DTYPES
from verify.checks import _kinks
from verify.checks._evaluate import BUILD_AGAIN, Evaluator, as_scalar, fresh
from verify.checks._gradient_kernels import (
    FAST_PASS,
    FAST_REFINE,
    FAST_SLOW,
    STRAIGHT_EST,
    STRAIGHT_H,
    STRAIGHT_OUT,
    STRAIGHT_ROWS,
    STRAIGHT_STEP,
    STRAIGHT_TAKEN,
    central_point,
    complex_points,
    float32_values,
    judge_central_point,
    judge_complex_point,
    judge_smooth_point,
    judge_straight,
    own_scale_terms,
    resolution_terms,
    stencil_jumps,
    straight_points,
    underflow_unit,
    warm_up,
    warm_up_point,
)
from verify.checks._measure import (
    backward_spread,
    coarse_format,
    complex_step_noise,
    confirmed_level,
    f_noise,
    gradient_noise,
    jumps_at_point,
    two_sided_level,
)
from verify.checks._noise import noise_bound, noise_levels, probe_offsets
from verify.checks._probes import infinite_input_note, validate_point
from verify.checks._references import (
    CS_RELATIVE,
    CS_STEP,
    Central,
    ComplexStep,
    Reference,
    SympyReference,
    accept_complex_step,
    central,
    central_from,
    complex_step,
    complex_step_from,
    measure_truncation,
    require_agreement,
    steps,
    with_noise,
)
from verify.checks.failure import CheckFailure, error_table, format_arguments

__all__ = ["check_gradient", "GradientReport"]

_EPS = {dt: float(np.finfo(dt).eps) for dt in FLOAT_DTYPES}
_EPS64 = _EPS[np.dtype(np.float64)]
_EPS32 = _EPS[np.dtype(np.float32)]
_STEP64 = _EPS64 ** 0.2  # the central differences' first step per unit of max(1, |x_j|) for a float64 f (steps())
_CS_LIMIT = CS_STEP / CS_RELATIVE  # below this |x_j| the complex step takes a smaller step too (complex_step)
_NO_POINTS = np.empty((0, 0), dtype=np.complex128)  # the straight path: f takes no complex input
_FLOAT32 = np.dtype(np.float32)
_FLOAT64 = np.dtype(np.float64)
_DTYPE_NAMES = {dt: str(dt) for dt in FLOAT_DTYPES}
REFERENCES = ("sympy", "complex step", "central differences")
_REFERENCE_CHOICES = ("auto", *REFERENCES)
JUMPS = ("fail", "allow")
_NONZERO, _MAX = np.count_nonzero, np.maximum.reduce  # cheaper than .any()/np.max on a few dozen entries
_CENTRAL_DETAIL = "Richardson on steps h, h/2, h/4 with h = eps_f^(1/5)·max(1,|x_j|)"


def jumps_choice(jumps: object, checker: str = "") -> str:
    """``jumps`` when it is one of :data:`JUMPS`, else a ValueError naming the option and the value (and ``checker``,
    where given): the one rule of every checker that takes ``jumps=``.

    >>> jumps_choice("allow")
    'allow'
    >>> jumps_choice("ignore", "verify.jax.check_function")
    Traceback (most recent call last):
    ValueError: verify.jax.check_function: jumps must be one of ('fail', 'allow'); got 'ignore'
    """
    if not isinstance(jumps, str) or jumps not in JUMPS:
        raise ValueError(f"{checker + ': ' if checker else ''}jumps must be one of {JUMPS}; got {jumps!r}")
    return jumps


# Why an entry is unverified, and how to get a verdict.
_NOT_FINITE = ("f is not finite within the central-difference step of the entry",
               "pass sympy_expr= or check at a point where f is finite around")
_NO_RESOLUTION = ("the reference's error bound cannot tell the computed value from 0 or from twice itself",
                  "pass sympy_expr=, write f so that it takes complex input (complex-analytic), or compute f in "
                  "float64")
_NO_NOISE = np.empty(0)  # no grad_noise= (judge_smooth_point adds nothing)
_NOTHING = np.empty(0)  # no complex-step floor / no truncation to measure (as verify.checks._references has it)
#: The fields of a kink candidate's verdict (verify.checks._kinks.Located) replaced when it is classified again at a
#: measured level (a jump's only where its own side noise stands; ``unsettled`` too after a staircase's level).
_RECLASSIFIED = ("kind", "value", "error", "low", "high", "side", "jump", "finest")
#: At most this many pairs of kink entries are judged together at a point (those closest in value first: ties).
_JOINT_PAIRS = 12


def _tie_reach(pt, x: np.ndarray, support: np.ndarray) -> float:
    """The offset δ towards the points next to x over the entries ``support``: ``√eps·max(1, |x_i|)``, and, for each
    value of theirs that is a tie (shared by two entries of x or more), at most a quarter of the distance from the tie
    to the nearest other entry's value and of the tie's own magnitude (the neighbours at δ and 2δ order the ties and
    nothing else: at a tie of 3e-8 beside an entry of 2e-8, offsets of 1.5e-8 let that entry take the max, and its
    slope 0 excused a backward of 0). 0 where that leaves no room for slopes resolved beyond a few ULPs of a tie: the
    entries are not judged jointly."""
    value = x[support]
    delta = max(1.0, float(np.max(np.abs(value)))) * _sqrt_eps(pt)
    for tie in np.unique(value):
        if np.count_nonzero(x == tie) < 2:
            continue
        others = np.abs(x[np.isfinite(x) & (x != tie)] - tie)
        if others.size:
            delta = min(delta, float(np.min(others)) / 4.0)
        if tie != 0.0:
            delta = min(delta, abs(float(tie)) / 4.0)
        # no room where the slopes' step δ/8 is within a few ULPs of the tie (an entry a few ULPs from it): 0
        if delta / 8.0 <= 64.0 * float(np.spacing(abs(tie))):
            return 0.0
    return delta


def _ranks_around(x: np.ndarray, j: int) -> tuple[np.ndarray, np.ndarray]:
    """``(support, offsets)``: the other entries tied with ``x[j]`` and their offsets (rows, largest 1) towards the
    points next to x where ``x_j``, not moved, takes every rank among them: distinct magnitudes, every sign pattern (16
    drawn, seeded by the point, beyond four others, and the two orders by index, :func:`_index_orders`). ``x_j`` itself
    stays: a kink of f along e_j a little way off (ReLU at −5e-8) is not straddled; nor is x_j moved off the tie's
    value with the others (where f has a kink at that value in each entry, the slopes there would excuse a single entry
    that only a pair with another entry's kink can judge: a float32 Crammer–Singer hinge at its margin at 1e-8, the true
    class's −1 dropped, passed)."""
    others = np.flatnonzero(x == x[j])
    others = others[others != j]
    magnitudes = np.linspace(0.5, 1.0, others.size)  # ≥ δ/2, beyond the central step δ/8 of the slopes there
    if others.size <= 4:
        return others, np.array(list(itertools.product((1.0, -1.0), repeat=others.size))) * magnitudes
    seed = int.from_bytes(hashlib.blake2b(x.tobytes() + b"ranks", digest_size=8).digest(), "little")
    signs = np.random.default_rng(seed).choice(np.array([-1.0, 1.0]), size=(16, others.size))
    by_index = _index_orders(np.append(others, j))  # rows over others and j; x_j's level moved to 0, scaled to ≥ 1/2
    relative = by_index[:, :-1] - by_index[:, -1:]
    relative = np.sign(relative) * (0.5 + 0.5 * np.abs(relative) / np.max(np.abs(relative)))
    return others, np.concatenate([signs * magnitudes, relative])


def _index_orders(support: np.ndarray) -> np.ndarray:
    """Two rows of offsets over ``support`` (entries of a tie) that order it by index, ascending and descending: the
    points next to x whose gradient the common tie-breaking rules return (the first or the last of the tied entries
    taken, as ``argmax`` and a max-pooling backward in NumPy, PyTorch and JAX do). Random orders of a tie of n entries
    hit one given order with chance 1/n!: an overlapping max pooling at a plateau of eight entries, with weights of both
    signs, failed the first-argmax backward on the 16 drawn (its gradient is that of the points ordered by index)."""
    levels = np.linspace(-1.0, 1.0, support.size)[np.argsort(np.argsort(support))]
    return np.stack([levels, -levels])


def _tie_offsets(x: np.ndarray, pair: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``(support, offsets)``: the entries moved towards the points next to x, and their offsets (rows, largest 1):
    the ties of ``x[i]`` and ``x[j]`` (the entries equal to either). A pair's four sign patterns ``±e_i ± e_j``; and,
    for each of the ties of three or more entries (of two or more for ``(i, i)`` and for a pair from two ties), offsets
    that order it every way (:func:`_orders`; two ordered ties: every combination of their orders up to 36 or beside an
    entry alone, else the k-th order of one with the k-th of the other, the orders by index paired). Sign patterns
    leave two of three tied entries tied, and the slopes next to x where a third one lies between them (Clarke's limits
    at a tie of ``Σ c·sort(x)``) are never seen; a pair from two ties (an overlapping max pooling over plateaus at two
    levels) moves along a direction whose slopes depend on how both ties are ordered at once."""
    i, j = pair
    ties = [np.flatnonzero(x == x[i])] + ([np.flatnonzero(x == x[j])] if x[i] != x[j] else [])
    support = np.concatenate(ties)
    rows = []
    if i != j:
        signs = np.zeros((4, support.size))
        signs[:, np.flatnonzero(support == i)[0]] = (1.0, 1.0, -1.0, -1.0)
        signs[:, np.flatnonzero(support == j)[0]] = (1.0, -1.0, 1.0, -1.0)
        rows.append(signs)
    # (beside a tie, the other entry of a pair is moved to either side of its value too: a kink of its own there —
    # clamp(x, −1, 1) at −1 beside a tie at 1 — is not straddled at the points where the tie is ordered)
    paired = len(ties) == 2 and max(tie.size for tie in ties) >= 2
    ordered = [(k, tie) for k, tie in enumerate(ties)
               if tie.size >= 3 or (tie.size == 2 and (i == j or paired)) or (tie.size == 1 and paired)]
    if ordered:
        at = np.cumsum([0] + [tie.size for tie in ties])
        orders = [_orders(x, tie) for _, tie in ordered]
        if len(orders) == 1:
            combined = [(row,) for row in orders[0]]
        elif len(orders[0]) * len(orders[1]) <= 36 or min(len(orders[0]), len(orders[1])) == 2:
            combined = list(itertools.product(*orders))
        else:
            m = max(len(orders[0]), len(orders[1]))
            combined = [(orders[0][k % len(orders[0])], orders[1][k % len(orders[1])]) for k in range(m)]
        block = np.zeros((len(combined), support.size))
        for r, parts in enumerate(combined):
            for (k, _), part in zip(ordered, parts, strict=True):
                block[r, at[k]:at[k + 1]] = part
        rows.append(block)
    return support, np.concatenate(rows) if rows else np.zeros((0, support.size))


def _orders(x: np.ndarray, tie: np.ndarray) -> np.ndarray:
    """Rows of offsets (distinct values in [−1, 1]) over the entries ``tie`` (ascending indices) that order them: the
    two orders by index first (:func:`_index_orders`), then every other permutation up to four entries, else 16 drawn,
    seeded by the point; each spread around the tie's value, and also wholly above and wholly below it
    (:func:`_wholly_aside`; for more than four entries: the orders by index and 16 more drawn). A kink of f at that
    value in each entry (``clamp(x, −1, 1) + max(x)`` at a tie at 1) has slopes next to x, where every tied entry lies
    below 1, that orders spread around the value never reach (torch's own backward there, the max split over the tie,
    failed). An entry alone (beside a tie, in a pair) is moved to either side of its value."""
    if tie.size == 1:
        return np.array([[1.0], [-1.0]])
    levels = np.linspace(-1.0, 1.0, tie.size)
    by_index = _index_orders(tie)
    if tie.size <= 4:
        rest = [levels[list(p)] for p in itertools.permutations(range(tie.size))][1:-1]  # not the two by index
        around = np.concatenate([by_index, np.array(rest).reshape(-1, tie.size)])
        return np.concatenate([around, _wholly_aside(around)])
    seed = int.from_bytes(hashlib.blake2b(x.tobytes() + tie.tobytes() + b"ties", digest_size=8).digest(), "little")
    rng = np.random.default_rng(seed)
    drawn = np.array([rng.permutation(levels) for _ in range(32)])
    return np.concatenate([by_index, drawn[:16], _wholly_aside(by_index), _wholly_aside(drawn[16:])])


def _wholly_aside(rows: np.ndarray) -> np.ndarray:
    """``rows`` (offsets in [−1, 1] that order a tie) moved wholly above the tie's value, to [0.2, 1], and wholly below
    it, to [−1, −0.2]; none where that packs more than seven entries closer than the slopes' central step (δ/8: the
    offsets of neighbouring entries 0.8/(n − 1)·δ apart, at least δ/8 from the value)."""
    if rows.shape[1] > 7:
        return np.zeros((0, rows.shape[1]))
    return np.concatenate([0.6 + 0.4 * rows, -0.6 + 0.4 * rows])


def _sqrt_eps(pt) -> float:
    """√eps of f's working precision: the offset of the points next to a kink (float64 1.5e-8, float32 3.5e-4),
    small against the pieces' bending, large against f's rounding over the slopes' steps (δ/8)."""
    return float(np.finfo(pt.x.dtype if pt.x.dtype == np.float32 else np.float64).eps) ** 0.5


#: What a rejection of the complex step measured, by whether f's values along the entry were bitwise constant at
#: every central-difference step (then they show no slope at all: gelu's x·½(1 + erf(x/√2)) at x = −12 is exactly 0
#: in float64, while its analytic slope is −2.6e-31 — f is analytic, its values lost those digits).
_REJECTED_BECAUSE = {
    False: "f is likely not complex-analytic there (abs, .real, conj, a comparison of complex values), or its complex "
           "arithmetic loses digits its real arithmetic keeps; the central differences decide",
    True: "f is bitwise constant along that entry at every central-difference step, so its values show no slope at "
          "all (a formula that lost the digits of a tiny slope to rounding, as x·(1 + erf(x/√2)) does far in its tail, "
          "or a true constant): this is no sign that f is not analytic, only that its values cannot confirm the complex "
          "step; the central differences decide",
}
_KINK_UNLOCATED = ("the one-sided slopes of f along the entry did not settle at the resolution f allows (a kink too "
                   "close to locate, or an entry far smaller than the steps f can resolve: Σx² at x = 1e-25 written "
                   "without complex input)",
                   "pass sympy_expr=, write f so that it takes complex input, or check at a point away from the kink")
_NOT_DIFFERENTIABLE = "not differentiable (a jump of f, declared with jumps='allow')"
_FLAT_NEAR = ("f is bitwise constant along the entry near x but not out to 16·max(1,|x_j|) (a constant that ends: ReLU "
              "below 0, max away from its maximum, a tail rounded to a constant), so its values resolve no slope finer "
              "than the central differences' bound",
              "pass sympy_expr=, or write f so that it takes complex input (np.where on the real part keeps Im f exactly "
              "0 where f is flat, and the complex step resolves the 0)")
_STEP_OR_CELLS = ("f is bitwise constant along the entry around x, where the slope its values show across wider steps "
                  "would have moved it by many roundings: a step function (floor, round, a quantiser: its derivative "
                  "there is 0) and a smooth function rounded to cells wider than those steps (its derivative is that "
                  "slope) give the same values, and no reference here tells them apart",
                  "pass sympy_expr=, or write f so that it takes complex input")
#: The reasons of the unverified codes 1, 2, 3, 4, 5 of _Verdict.unverified, with their remedies, and their short
#: forms in the per-entry table's note column.
_UNVERIFIED_WHY = (_NOT_FINITE, _NO_RESOLUTION, _KINK_UNLOCATED, _FLAT_NEAR, _STEP_OR_CELLS)
_UNVERIFIED_NOTES = tuple("UNVERIFIED: " + short for short in (
    "f not finite around", "reference too coarse", "slopes not settled", "f constant only near x",
    "step function or cells"))


def computation_scale(y0: np.ndarray | float, args: tuple) -> float:
    """The largest finite magnitude among ``f``'s outputs at ``x`` and its floating array arguments: the scale of
    the terms an output that lost its digits may have been computed from."""
    top = 0.0
    for a in (y0, *args):
        arr = np.asarray(a) if isinstance(a, np.ndarray) or a is y0 else None
        if arr is None or arr.dtype.kind != "f" or arr.size == 0:
            continue
        v = np.abs(arr.astype(np.float64))
        v = v[np.isfinite(v)]
        if v.size:
            top = max(top, float(v.max()))
    return top


def lost_in_digits(error, x, ulps: float, eps: float, scale: float):
    """Whether an error in entry ``j`` is one an ``f`` constant along ``e_j`` cannot resolve: its change over the
    entry's scale, ``error·max(1, |x_j|)``, is within ``ulps`` roundings (``eps``) of the computation's largest
    magnitudes ``scale`` (:func:`computation_scale`) — 0 may be exact there (ReLU below 0) or all digits lost (gelu's
    ``½x(1 + erf(x/√2))`` at ``x = −10``: ``1 + erf`` is 0 in float64, the slope −7.7e-22). Elementwise on arrays."""
    return error * np.maximum(1.0, np.abs(x)) <= ulps * eps * scale


@dataclass(frozen=True, kw_only=True)
class JudgeSummary:
    """What the judge reports, in every checker's report alike (the judge is ``check_gradient``; the checkers of
    scalar views — VJP, JVP, HVP — report the sum of its reports over their views).

    ``worst_ratio`` is the largest error / tolerance over all entries and examples (≤ 1 on success);
    ``worst_ulps`` the largest error in ULPs of the gradient's dtype at a smooth entry (ULPs of the reference, or of
    f's resolution along the entry where that unit is coarser: term (d) per ``ulps``, so an entry near 0 next to an
    ``f`` of size 1 counts its error in roundings of that scale, not in subnormals; or of the central differences'
    error bound where they decide and it is coarser still: central differences of an ``f`` computed in float32 cannot resolve a float64
    gradient's ULPs, and their error is not counted as so many of them) and ``worst_abs_error`` the
    largest absolute error; ``references`` counts, per reference, the examples (views) it decided; ``kinks``
    counts entries judged by their subdifferential; ``unverified`` counts entries no reference could resolve;
    ``jumps`` counts entries where ``f`` jumps, declared with ``jumps="allow"`` (not judged: no derivative exists
    there); ``notes`` are the judge's remarks.
    """

    worst_ratio: float
    worst_ulps: float
    worst_abs_error: float
    references: dict[str, int]
    kinks: int
    unverified: int
    notes: tuple[str, ...] = ()
    jumps: int = 0


@dataclass(frozen=True, kw_only=True)
class GradientReport(JudgeSummary):
    """What ``check_gradient`` verified: the judge's summary (:class:`JudgeSummary`) over ``examples`` points,
    with ``cross_checks`` (per reference, the examples it confirmed), ``kink_examples`` (the examples with a
    kink), ``unverified_reasons`` (each reason for an unverified entry and its remedy) and ``noise_measured``
    (entries whose tolerance took measured noise); the ``dtype`` judged, the tolerance's ``ulps`` and ``atol``,
    whether ``f`` was ``vectorized`` and the ``seconds`` taken.
    """

    examples: int
    cross_checks: dict[str, int]
    kink_examples: int
    vectorized: bool
    dtype: str
    ulps: float
    atol: float
    seconds: float
    unverified_reasons: tuple[str, ...] = ()
    noise_measured: int = 0

    def __str__(self) -> str:
        refs = ", ".join(f"{name} ×{count}" for name, count in self.references.items() if count) or "none"
        lines = [
            f"check_gradient: {self.examples} example(s) passed in {self.seconds:.3g} s "
            f"({self.dtype}, tolerance {self.ulps:g} ULPs + conditioning + measured noise + f's resolution, atol "
            f"{self.atol:.3g})" + (f"; {self.unverified} entr{'y' if self.unverified == 1 else 'ies'} UNVERIFIED "
                                   "(below)" if self.unverified else ""),
            f"  worst error: {self.worst_ratio:.3g} of the tolerance, {self.worst_ulps:.3g} ULPs, "
            f"{self.worst_abs_error:.3g} absolute",
            f"  decided by: {refs}",
            "  cross-checked by: " + (", ".join(f"{n} ×{c}" for n, c in self.cross_checks.items() if c) or "none"),
            f"  kinks met: {self.kinks} entr{'y' if self.kinks == 1 else 'ies'} in {self.kink_examples} example(s)",
        ]
        if self.noise_measured:
            lines.append(f"  entries judged with their measured rounding (noise, spread a few ULPs away): "
                         f"{self.noise_measured}")
        if self.jumps:
            lines.append(f"  not differentiable (jumps of f, allowed): {self.jumps} entr"
                         f"{'y' if self.jumps == 1 else 'ies'}")
        if self.unverified:
            lines.append(f"  UNVERIFIED entries: {self.unverified}")
            lines.extend(f"    {reason}" for reason in self.unverified_reasons)
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)


@dataclass
class _PointResult:
    ratio: np.ndarray
    abs_error: np.ndarray
    ulps: np.ndarray
    kinks: int
    reference: str
    unverified: int


@dataclass
class _Point:
    """One point and what was computed there (flat float64 arrays over args[wrt])."""

    args: tuple
    x: np.ndarray  # args[wrt] as given
    x64: np.ndarray
    g: np.ndarray  # grad(*args) as returned
    gf: np.ndarray  # flat float64
    f0: float


@dataclass
class _Verdict:
    """Per-entry outcome of the full (slow) judgement."""

    r: np.ndarray
    e: np.ndarray
    tol: np.ndarray
    parts: dict[str, np.ndarray]
    ratio: np.ndarray
    abs_err: np.ndarray
    ulps: np.ndarray
    kink: np.ndarray
    low: np.ndarray
    high: np.ndarray
    jump: np.ndarray
    unverified: np.ndarray  # reason index + 1, 0 where verified
    noise: np.ndarray  # the measured noise bound (0 where not measured)
    note: list[str]
    primary: Reference
    refs: list[Reference]
    central: Central
    jumps: list[str] = field(default_factory=list)
    coarse: str = ""
    f_scale: float = 0.0  # the largest F_j of term (d)
    eta: float = 0.0  # f's measured rounding level in term (d) (0: not measured)


# ---------------------------------------------------------------------------------------------
# argument handling


def _computed_gradient(grad: Callable, args: tuple, x: np.ndarray, wrt: int) -> np.ndarray:
    g = np.asarray(grad(*fresh(args)))
    if g.shape != x.shape:
        raise ValueError(
            f"grad returned shape {g.shape} but args[{wrt}] has shape {x.shape}: grad(*args) must return "
            f"∂f/∂args[{wrt}], shaped like args[{wrt}]"
        )
    kind = g.dtype.kind
    if kind == "c":
        raise TypeError(f"grad returned complex values (dtype {g.dtype}) for real input")
    if kind not in "fiub":
        raise TypeError(f"grad must return a numeric array; got dtype {g.dtype}")
    return g


def _number(value: object, name: str, *, integer: bool = False, positive: bool = False) -> float | int:
    """A real (or integer) option, numpy scalars included, or a ValueError naming it."""
    if type(value) is (int if integer else float) and (integer or math.isfinite(value)) and value >= (1 if integer
                                                                                                 else 0):
        return value  # the common case, without the ABC checks below
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, kind):
        what = "a positive integer" if integer else "a finite number >= 0"
        raise ValueError(f"{name} must be {what}; got {value!r}")
    number = int(value) if integer else float(value)
    if integer:
        if number < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    elif not math.isfinite(number) or number < 0 or (positive and number == 0):
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")
    return number


def _judge_options(ulps, atol, worst, max_examples) -> tuple:
    """``(ulps, atol, worst, max_examples)`` checked as :func:`check_gradient` and ``check_loss`` take them: each a
    number of the right kind or a ValueError naming it; ``max_examples`` may be None."""
    return (_number(ulps, "ulps"), _number(atol, "atol"), _number(worst, "worst", integer=True),
            None if max_examples is None else _number(max_examples, "max_examples", integer=True))


# ---------------------------------------------------------------------------------------------
# the verdict at one point


def _take_row(found: _kinks.Located, i: int, again: _kinks.Located, names: tuple[str, ...]) -> None:
    """Entry ``i`` of ``found`` replaced, in the fields ``names``, by the one entry of ``again`` (its reclassification)."""
    for name in names:
        getattr(found, name)[i] = getattr(again, name)[0]


@dataclass
class _Checker:
    f: Callable
    grad: Callable
    wrt: int
    ulps: float
    atol: float
    reference: str
    worst: int
    jumps_allowed: bool
    sympy_ref: SympyReference | None
    ev: Evaluator
    f_error: float = 0.0  # an absolute bound on the error of f's values (f itself an approximation)
    grad_noise: np.ndarray | None = None  # flat: the caller's bound on grad's rounding per entry
    grad_noise_shape: tuple | None = None
    f_noise: float = 0.0  # the caller's bound on the rounding of one value of f as the code under test computes it
    examples: int = 0
    worst_ratio: float = 0.0
    worst_ulps: float = 0.0
    worst_abs: float = 0.0
    kinks: int = 0
    kink_examples: int = 0
    unverified: int = 0
    jumps: int = 0
    noise_measured: int = 0
    dtype: str = ""
    decided: dict[str, int] = field(default_factory=dict.fromkeys(REFERENCES, 0).copy)
    cross: dict[str, int] = field(default_factory=dict.fromkeys(REFERENCES, 0).copy)
    notes: list[str] = field(default_factory=list)
    reasons: dict[str, None] = field(default_factory=dict)
    _validated: bool = False
    _cs: ComplexStep | None = None

    def check_point(self, point: object) -> _PointResult:
        __tracebackhide__ = True
        args, x = validate_point(point, self.wrt, "check_gradient", copy=False)
        self.ev.new_point()
        g = _computed_gradient(self.grad, args, x, self.wrt)
        x64 = x.astype(_FLOAT64)
        raw = self.ev.call(args, x64)
        f0 = as_scalar(raw, "f")
        if not self._validated and x.dtype != _FLOAT64:
            as_scalar(self.f(*fresh(args)), "f")  # f must also take the point in its own dtype
            self._validated = True
        if not math.isfinite(f0):
            raise ValueError(f"check_gradient: f is not finite at the input: f(*args) = {f0!r}{infinite_input_note(args)}"
                             f"\n{format_arguments(args)}")
        if self.grad_noise_shape is not None and self.grad_noise_shape != x.shape:
            raise ValueError(f"grad_noise has shape {self.grad_noise_shape} but args[{self.wrt}] has shape {x.shape}")
        pt = _Point(args, x, x64, g, g.astype(np.float64, copy=False).ravel(), f0)
        # f's rounding is that of the dtype it computes in: float32 if it returns float32, or if its
        # measured noise is far above its return dtype's (a float32 computation returned as a Python float).
        eps_f = _EPS64 if isinstance(raw, float) or np.asarray(raw).dtype != _FLOAT32 else _EPS32
        if eps_f < _EPS32 and self.sympy_ref is None and self.reference == "auto" and not self.f_error:
            result = self._straight(pt, raw)
        else:
            result = self._general(pt, raw, eps_f)
        self.examples += 1
        self.dtype = _DTYPE_NAMES[x.dtype]  # str(dtype) costs microseconds per example
        return result

    def _general(self, pt: _Point, raw: object, eps_f: float, cen: Central | None = None) -> _PointResult:
        """The verdict at a point from its central differences on (``cen``: already computed with ``eps_f``); ``raw`` is
        ``f(x)`` as f returned it."""
        __tracebackhide__ = True
        args, x64, f0 = pt.args, pt.x64, pt.f0
        if cen is None:
            cen = central(self.ev, args, x64, f0, eps_f)
            f0 = pt.f0 = cen.f0  # f(x) as the stack computed it (central: Evaluator.centre)
        cen = self._with_jumps(pt, cen)
        if eps_f < _EPS32 and (_float32_values(f0, cen) or (
                _noisier_than(cen, 64.0 * eps_f * abs(f0))
                and (f_noise(self.ev, args, x64, f0, skip=cen.kink)[0] or 0.0) > max(64.0 * float(np.max(cen.model)),
                                                                    0.25 * _EPS32 * abs(f0)))):
            # f's values at x and over the stack are all float32 numbers (a float32 computation returned as a
            # Python float), or the differences' rounding level is far above the model, confirmed by the difference
            # table of f along a direction (the differences' own level also holds truncation, where f bends on a
            # scale below the step; kink candidates are not moved: a jump is no noise) at a level a float32
            # computation has (a quarter of float32's rounding of f(x)
            # at least): a float64 f whose rounding is amplified by its conditioning — sin(x²) at x = 400, 1e-11;
            # layer norm of inputs equal to 1e-7, 0.15·eps32·|f| — keeps float64's steps and its complex step's
            # float64 accuracy
            cen = self._with_jumps(pt, central(self.ev, args, x64, f0, _EPS32))
            self._remember_note(f"f computes in float32 (its values are float32 numbers, or its measured rounding is "
                                f"64× that of its return type, {type(raw).__name__}): central differences use "
                                "float32's step and noise")
        if self.f_error:
            cen = _with_f_error(cen, self.f_error)
        cs = self._complex(args, x64)
        return self._fast(pt, cen, cs) or self._slow(pt, cen, cs)

    def _with_jumps(self, pt: _Point, cen: Central) -> Central:
        """``cen`` with the jumps at the point its stencil suggests and f confirms closer in
        (:func:`verify.checks._measure.jumps_at_point`) made kink candidates — located, and reported as jumps — where
        the kink test missed them: a row of jumps at the point sets the pooled rounding level it compares with (five of
        six entries of ``floor(z) + z²`` at integers: read as rounding, then as f computing in float32). Computed
        again on the same steps, with those entries forced."""
        if not cen.suggests:
            return cen
        sizes = stencil_jumps(cen.values, cen.f0, cen.eps_f, cen.kink, cen.finite)
        confirmed = jumps_at_point(self.ev, pt.args, pt.x64, cen.f0, sizes)
        if not _NONZERO(confirmed):
            return replace(cen, suggests=False)
        cen = central(self.ev, pt.args, pt.x64, cen.f0, cen.eps_f, forced=confirmed | cen.kink)
        # a jump's one-sided slopes on the stencil are J/h, no limits of f's slopes: the ladder that locates it is
        # set by the slope scale (_locate), as for an entry without limits
        low, high = cen.low.copy(), cen.high.copy()
        low[confirmed], high[confirmed] = cen.value[confirmed], cen.value[confirmed]
        return replace(cen, low=low, high=high)

    def _straight(self, pt: _Point, raw: object) -> _PointResult:
        """:meth:`_general` in one straight line where it is most often taken (f returns float64, no SymPy twin,
        ``reference="auto"``, no ``f_error``, no infinite entry): the same evaluations of f in the same order and the
        same compiled judgement (:func:`verify.checks._gradient_kernels.judge_complex_point`), with kernels that write
        into arrays allocated here (``straight_points``, ``central_point``, ``judge_straight``) and without the records
        (``Central``, ``ComplexStep``) the general steps read — built only where the point leaves this line, and handed
        to those steps at the one they have reached: f rounding to float32 or noisier than float64 (the float32 test),
        a complex step with more to do than one stack (a tiny entry, ``Im f = 0``), f that takes no complex input, or a
        point the compiled judgement does not pass. Where f is known to take stacks, its two stacks are built in the
        layout the Evaluator gives f (the points innermost, ``Evaluator._batch_innermost``) and handed over without the
        copy into it; where f fails on one, it is built again as the general steps build it."""
        __tracebackhide__ = True
        ev, args, x64, f0 = self.ev, pt.args, pt.x64, pt.f0
        flat = x64.ravel()
        n = flat.size
        # where f is known to take stacks, its stack is built with the points innermost, as the Evaluator lays one out
        # (points_innermost: the transpose of a C-ordered array), and goes to f without a copy
        innermost = ev.takes_innermost
        work, stack = np.empty((STRAIGHT_ROWS, n)), np.empty((n, 6 * n + 1)).T if innermost else np.empty((6 * n + 1, n))
        if straight_points(flat, _STEP64, work, stack):
            return self._general(pt, raw, _EPS64)  # an infinite entry
        every = ev.many_innermost(args, stack.reshape((6 * n + 1,) + x64.shape), f0) if innermost else None
        if every is None:  # f as yet unknown, or it failed on the innermost stack (which it may have written into)
            if innermost:
                stack = np.empty((6 * n + 1, n))
                straight_points(flat, _STEP64, work, stack)
            every = ev.many(args, stack.reshape((6 * n + 1,) + x64.shape), f0)
        f0 = pt.f0 = ev.centre(every, f0)  # f(x) as the stack computed it, where its layout may round otherwise
        values = every[1:].reshape(3, 2, n)
        flags = np.empty((2, n), dtype=bool)
        status = ev.complex_status  # None or "ok": f may take complex input (else _complex takes none)
        innermost = ev.takes_complex_innermost  # (the real stack may have failed in that layout)
        points = (np.empty((n, n), dtype=np.complex128).T if innermost else np.empty((n, n), dtype=np.complex128)) \
            if status is None or status == "ok" else _NO_POINTS
        candidates, quartile, float32, smallest, suggests = central_point(values, work, f0, _EPS64, flags, flat, CS_STEP,
                                                                          points)
        if float32 or suggests or quartile > 64.0 * _EPS64 * abs(f0):
            # _general's float32 test decides (_noisier_than), or its confirmation of the jumps the stencil suggests
            return self._general(pt, raw, _EPS64, self._central_of(work, flags, candidates, quartile, values, f0,
                                                                    suggests))
        imag = ev.many_complex(args, points.reshape((n,) + x64.shape), innermost) if points.size else None
        if imag is BUILD_AGAIN:  # f failed on the innermost stack, which it may have written into
            imag = ev.many_complex(args, complex_points(flat, CS_STEP)[1].reshape((n,) + x64.shape))
        if imag is not None:
            dt = pt.x.dtype
            outcome, no_truncation, worst, worst_ulps, worst_abs = judge_straight(
                imag, work, flags, pt.gf, flat, values, f0, dt == _FLOAT32, self.ulps, _EPS[dt], self.atol,
                _NO_NOISE if self.grad_noise is None else self.grad_noise, smallest, _CS_LIMIT)
            if outcome == FAST_PASS:
                ulps = work[STRAIGHT_OUT + 2]
                if worst_ulps > self.ulps:  # rarely: an entry near 0 beside an f of size 1 (as _fast does)
                    cen = self._central_of(work, flags, candidates, quartile, values, f0)
                    ulps, worst_ulps = self._coarser_ulps(pt, cen, ulps, work[STRAIGHT_OUT + 1])
                self._count_fast(worst, worst_ulps, worst_abs)
                return _PointResult(work[STRAIGHT_OUT], work[STRAIGHT_OUT + 1], ulps, 0, "complex step", 0)
            cen = self._central_of(work, flags, candidates, quartile, values, f0)
            if outcome != FAST_REFINE:
                cs = ComplexStep(imag, work[STRAIGHT_STEP])
                return self._not_passed(pt, cen, cs, outcome, no_truncation) or self._slow(pt, cen, cs)
            cs = complex_step_from(ev, args, x64, imag, work[STRAIGHT_STEP], smallest)
        else:
            cen, cs = self._central_of(work, flags, candidates, quartile, values, f0), None
        return self._fast(pt, cen, cs) or self._slow(pt, cen, cs)

    @staticmethod
    def _central_of(work: np.ndarray, flags: np.ndarray, candidates: bool, quartile: float, values: np.ndarray,
                    f0: float, suggests: bool = False) -> Central:
        """The record ``central()`` makes, from the straight path's arrays (:func:`_straight`)."""
        n = work.shape[1]
        return central_from((work[STRAIGHT_EST:STRAIGHT_OUT], flags[0], flags[1], candidates, quartile, suggests),
                            values, f0, _EPS64, work[STRAIGHT_H:STRAIGHT_TAKEN], np.zeros(n, dtype=bool))

    # -- references --------------------------------------------------------------------------

    def _complex(self, args: tuple, x64: np.ndarray) -> ComplexStep | None:
        if self.reference not in ("auto", "complex step") or self.f_error:
            return None  # an approximate f (f_error > 0) is not differentiated by the complex step
        if self.ev.complex_status not in (None, "ok") and _NONZERO(np.isfinite(x64)):
            cs = ComplexStep(None, _NO_NOISE)  # known to take no complex input: no stack built for it (an all-±∞ point
            # needs none: complex_step gives its exact zeros)
        else:
            cs = complex_step(self.ev, args, x64)
        if cs.imag is None:
            if self.reference == "complex step":
                raise ValueError(f"reference='complex step' but {self.ev.complex_status}")
            return None
        return cs

    def _references(self, pt: _Point, cen: Central, cs: ComplexStep | None) -> tuple[list[Reference], bool]:
        """The references in order of accuracy, and whether the complex step was rejected at this point."""
        refs: list[Reference] = []
        rejected = False
        if self.sympy_ref is not None and self.reference in ("auto", "sympy"):
            value = self.sympy_ref(pt.args, pt.x64)
            refs.append(Reference("sympy", value, 0.5 * np.spacing(np.abs(value)), "sympy.diff, mpmath 40 digits"))
        if cs is not None:
            measure_truncation(self.ev, pt.args, pt.x64, cs, cen)
            ref, j = accept_complex_step(cs, cen)
            if ref is None:
                rejected = True
                note = (f"complex step rejected at a point: it gives {float(cs.imag[j] / cs.step[j])!r} at entry {j} "
                        f"where central differences give {float(cen.value[j])!r} ± {cen.error[j]:.2g}, beyond their "
                        "error bound; " + _REJECTED_BECAUSE[bool(cen.flat[j])])
                if self.reference == "complex step":
                    raise ValueError(f"reference='complex step' but {note}")
                self._remember_note(note)
            else:
                refs.append(ref)
        if self.reference in ("auto", "central differences") or not refs:
            refs.append(Reference("central differences", cen.value, cen.error, _CENTRAL_DETAIL))
        if refs[0].name == "sympy" and len(refs) > 1:
            require_agreement(refs[0], refs[-1], cen.finite & ~cen.kink & ~cen.flat, pt.args)
        return refs, rejected

    def _remember_note(self, note: str) -> None:
        if note.split(" at entry")[0] not in " ".join(self.notes):
            self.notes.append(note)

    @staticmethod
    def _entrywise(refs: list[Reference]) -> tuple[np.ndarray, np.ndarray]:
        """Per entry, the value and error of the most accurate reference with something to say there."""
        r, e = refs[0].value.copy(), refs[0].error.copy()
        for other in refs[1:]:
            missing = ~np.isfinite(e) | ~np.isfinite(r)
            if not missing.any():
                break
            r = np.where(missing, other.value, r)
            e = np.where(missing, other.error, e)
        return r, e

    # -- the cheap judgement -------------------------------------------------------------------

    def _fast(self, pt: _Point, cen: Central, cs: ComplexStep | None) -> _PointResult | None:
        """The verdict from the cheap terms, when they decide: every entry passes, none is a kink candidate,
        every one is resolved by its reference. Otherwise None (the measured judgement follows).

        Where the complex step decides (no SymPy twin, ``reference="auto"``), the steps below run as one compiled
        call (:func:`verify.checks._gradient_kernels.judge_complex_point`); it hands back to them where they have
        more to do than judge (a truncation to measure, a rejection to note, an entry the complex step leaves to
        the central differences). So do they where the central differences are the only reference
        (:func:`verify.checks._gradient_kernels.judge_central_point`)."""
        if (cs is not None and cs.truncation is None and self.sympy_ref is None and self.reference == "auto"
                and cen.values is not None):
            dt = pt.x.dtype
            outcome, no_truncation, ratio, abs_err, ulps, worst, worst_ulps, worst_abs = judge_complex_point(
                cs.imag, cs.step, cen.value, cen.error, cen.third, cen.finite, cen.kink, cen.infinite,
                max(_EPS64, cen.eps_f), _NOTHING if cs.floor is None else cs.floor, pt.gf, cen.curvature,
                pt.x64.ravel(), cen.values, cen.f0, dt == _FLOAT32, self.ulps, _EPS[dt], self.atol,
                _NO_NOISE if self.grad_noise is None else self.grad_noise)
            if outcome == FAST_PASS:
                if worst_ulps > self.ulps:
                    ulps, worst_ulps = self._coarser_ulps(pt, cen, ulps, abs_err)
                self._count_fast(worst, worst_ulps, worst_abs)
                return _PointResult(ratio, abs_err, ulps, 0, "complex step", 0)
            return self._not_passed(pt, cen, cs, outcome, no_truncation)
        if cs is None and self.sympy_ref is None and cen.values is not None:
            dt = pt.x.dtype
            outcome, ratio, abs_err, ulps, worst, worst_ulps, worst_abs = judge_central_point(
                cen.value, cen.error, cen.finite, cen.kink, cen.flat, cen.order, cen.measured, cen.model, pt.gf,
                cen.curvature, pt.x64.ravel(), cen.infinite, cen.values, cen.f0, dt == _FLOAT32, self.ulps, _EPS[dt],
                self.atol, _NO_NOISE if self.grad_noise is None else self.grad_noise)
            if outcome != FAST_PASS:
                return None
            if worst_ulps > self.ulps:
                ulps, worst_ulps = self._coarser_ulps(pt, cen, ulps, abs_err, cen.error)
            self._count_fast(worst, worst_ulps, worst_abs, "central differences")
            return _PointResult(ratio, abs_err, ulps, 0, "central differences", 0)
        return self._fast_general(pt, cen, cs)

    def _coarser_ulps(self, pt: _Point, cen: Central, ulps: np.ndarray, abs_err: np.ndarray,
                      reference_error: np.ndarray | float = 0.0) -> tuple[np.ndarray, float]:
        """A passing point's ULPs counted as the slow judgement counts them: in the unit of f's resolution along e_j
        (term (d) with η_f = 0, per ulps) or of the central differences' error bound where they decide
        (``reference_error``, :func:`_central_error`), where that
        is coarser than the reference's ULP (a reference near 0 next to an f of size 1, whose subnormal ULPs made
        "7.7e15 ULPs" of an error at the rounding level; central differences of an f computed in float32, whose
        error of 1.6e-6 made "1.1e10 ULPs" of a float64 gradient they cannot resolve); only where some entry's figure
        exceeds ``ulps`` (rarely: the fast paths pay nothing otherwise)."""
        unit = _ulp_floor(self._resolution(pt, cen, _EPS[pt.x.dtype], 0.0), self.ulps, reference_error)
        with np.errstate(invalid="ignore", divide="ignore"):
            coarse = np.where(unit > 0.0, abs_err / unit, np.inf)
        ulps = np.minimum(ulps, coarse)
        return ulps, float(np.max(ulps, initial=0.0))

    def _not_passed(self, pt: _Point, cen: Central, cs: ComplexStep, outcome: int,
                    no_truncation: bool) -> _PointResult | None:
        """``_fast`` where :func:`verify.checks._gradient_kernels.judge_complex_point` did not pass the point: None for
        the measured judgement (``FAST_SLOW``), else the general fast path."""
        if no_truncation:
            cs.truncation = _NOTHING  # as measure_truncation records it: none needed
        return None if outcome == FAST_SLOW else self._fast_general(pt, cen, cs)

    def _count_fast(self, worst: float, worst_ulps: float, worst_abs: float, decided: str = "complex step") -> None:
        """``_count`` of a point decided on the cheap terms by the complex step (the central differences
        cross-checking) or by the central differences alone."""
        self.decided[decided] += 1
        if decided == "complex step":
            self.cross["central differences"] += 1
        if worst > self.worst_ratio:
            self.worst_ratio = worst
        if worst_ulps > self.worst_ulps:
            self.worst_ulps = worst_ulps
        if worst_abs > self.worst_abs:
            self.worst_abs = worst_abs

    def _fast_general(self, pt: _Point, cen: Central, cs: ComplexStep | None) -> _PointResult | None:
        """``_fast`` for any reference (the steps ``judge_complex_point`` compiles for the complex step)."""
        if _NONZERO(cen.kink):
            return None
        refs, rejected = self._references(pt, cen, cs)
        if rejected:
            return None
        primary = refs[0]
        finite_e = np.isfinite(primary.error)
        whole = _NONZERO(finite_e) == finite_e.size  # the primary reference has something to say everywhere
        r, e = (primary.value, primary.error) if whole or len(refs) == 1 else self._entrywise(refs)
        dt = pt.x.dtype
        usable = np.isfinite(r) & (finite_e if e is primary.error else np.isfinite(e))
        if primary.name == "central differences":
            usable &= cen.finite & ~cen.flat
        if _NONZERO(usable) != usable.size:
            return None
        eps_d = _EPS[dt]
        with np.errstate(invalid="ignore", over="ignore"):
            ulp_r = np.spacing(np.abs(r).astype(dt)).astype(np.float64) if dt == _FLOAT32 else np.spacing(np.abs(r))
        # term (d) with η_f = 0, the caller's grad_noise and judge_smooth, in one compiled call
        values = cen.values if cen.values is not None else np.full((1, 1, r.size), cen.f0)
        ratio, abs_err, ulps, tol, worst, worst_ulps, worst_abs = judge_smooth_point(
            pt.gf, r, ulp_r, cen.curvature, pt.x64.ravel(), cen.infinite, e, usable, self.ulps, eps_d, self.atol,
            values, cen.f0, _NO_NOISE if self.grad_noise is None else self.grad_noise)
        if worst > 1.0:
            return None
        if worst_ulps > self.ulps:
            ulps, worst_ulps = self._coarser_ulps(pt, cen, ulps, abs_err, _central_error(e, r, cen))
        if primary.name == "central differences" or not whole:
            from_central = _decided_by_central(e, r, cen)
            if from_central.any() and np.any((_vague(e, tol - 2.0 * e, pt.gf, r, self.ulps, _EPS[dt])
                                              | _not_asymptotic(cen) | _rough(cen)) & from_central):
                return None
        self._count(refs, 0, 0, 0, 0, worst, worst_ulps, worst_abs)
        return _PointResult(ratio, abs_err, ulps, 0, primary.name, 0)

    def _grad_noise(self, pt: _Point) -> np.ndarray | float:
        """The caller's bound on grad's rounding per entry (``grad_noise=``), or 0."""
        return 0.0 if self.grad_noise is None else self.grad_noise

    def _resolution(self, pt: _Point, cen: Central, eps_d: float, eta: float) -> np.ndarray:
        """Term (d), per entry: ``ulps·(eps_d·F_j + η_f) / max(1, |x_j|)`` (0 at an infinite entry), or, where smaller,
        the same at the entry's own scale ``0 < |x_j| < 1``: ``ulps·(eps_d·F'_j + η_f) / |x_j|``, ``F'_j`` the largest
        ``|f|`` over ``x`` and ``x ± |x_j| e_j`` — evaluated where the model of :func:`own_scale_terms` (from the central
        differences' slope and curvature) says it may be smaller. ``η_f`` is the larger of the level measured here and
        the caller's ``f_noise``."""
        eta = float(max(eta, self.f_noise))
        flat = pt.x64.ravel()
        out = resolution_terms(cen.f_scale, flat, self.ulps, eps_d, eta)
        eta = eta + underflow_unit(cen.eps_f)  # f's values are no finer than its format's smallest subnormal
        with np.errstate(invalid="ignore", over="ignore"):
            model = own_scale_terms(pt.f0, np.where(np.isfinite(cen.value), cen.value, 0.0),
                                    np.where(np.isfinite(cen.error), cen.error, np.inf),
                                    np.where(np.isfinite(cen.curvature), cen.curvature, np.inf), flat, self.ulps, eps_d, eta)
        entries = np.flatnonzero(model < out)
        if entries.size:
            stack = np.repeat(flat[None, :], 2 * entries.size + 1, axis=0)  # row 0: x itself, f(x) known
            rows = 1 + 2 * np.arange(entries.size)
            stack[rows, entries] = 2.0 * flat[entries]  # x ± |x_j| e_j: x_j moved to 2·x_j and to 0
            stack[rows + 1, entries] = 0.0
            with np.errstate(all="ignore"):
                values = np.abs(self.ev.many(pt.args, stack.reshape((stack.shape[0],) + pt.x64.shape), pt.f0))
            values = values[1:].reshape(entries.size, 2)
            ok = np.isfinite(values).all(axis=1)
            largest = np.maximum(values.max(axis=1), abs(pt.f0))
            own = self.ulps * (eps_d * largest + eta) / np.abs(flat[entries])
            out[entries] = np.where(ok, np.minimum(out[entries], own), out[entries])
        return out

    def _count(self, refs, n_kinks, n_unverified, n_jumps, n_noise, worst, worst_ulps, worst_abs) -> None:
        self.decided[refs[0].name] += 1
        for other in refs[1:]:
            self.cross[other.name] += 1
        self.kinks += n_kinks
        self.kink_examples += int(n_kinks > 0)
        self.unverified += n_unverified
        self.jumps += n_jumps
        self.noise_measured += n_noise
        self.worst_ratio = max(self.worst_ratio, worst)
        self.worst_ulps = max(self.worst_ulps, worst_ulps)
        self.worst_abs = max(self.worst_abs, worst_abs)

    # -- the measured judgement ----------------------------------------------------------------

    def _slow(self, pt: _Point, cen: Central, cs: ComplexStep | None) -> _PointResult:
        __tracebackhide__ = True
        self._cs = cs
        # f's rounding as it enters the differences: measured at spacings up to the stencil's (h/4), so that a
        # staircase (a cancelling formula rounded to cells wider than the finest spacings) counts at its cells' level
        eta, kind = f_noise(self.ev, pt.args, pt.x64, pt.f0, skip=cen.kink, reach=cen.eps_f ** 0.2 / 4.0)
        cen = with_noise(cen, eta, kind)
        # the rounding level for locating kinks: measured, else 8·(eps_f·|f(x)| + u) (u the underflow unit: values of f
        # below the normal range are off by whole subnormals) and the lower quartile of the levels
        # measured at the entries that are not kink candidates (f's value grid is not used: a step function's
        # values lie on a grid of its step)
        eta_f = eta
        if eta_f is None:
            eta_f = 8.0 * (cen.eps_f * abs(pt.f0) + underflow_unit(cen.eps_f))
            level, j = _stencil_level(cen)
            if level > eta_f:
                eta_f = max(eta_f, self._rounding_along(pt, j, float(cen.h[j])))
        # an approximate f's values are no finer than their error, nor the values of the code under test than its
        # rounding (f_noise: a float32 function whose float64 promotion is evaluated here shows no jump or kink below it);
        # the derivative the ladder estimates from the values evaluated here is bounded by their own rounding, not by
        # f_noise (a float32 gelu at −5, 4.9e-7, made the float64 reference's bound 1.1e-3 and every backward unverified)
        values_level = max(eta_f, self.f_error)
        eta_f = max(eta_f, self.f_error, self.f_noise)
        resolution = self._resolution(pt, cen, _EPS[pt.x.dtype], eta if eta is not None and math.isfinite(eta) else 0.0)
        was_kink = cen.kink & cen.finite
        cen, jump_entries, next_to_kink, unlocated, jump_texts = self._locate(
            pt, cen, eta_f, self._doubtful(pt, cen, cs, resolution, eta_f),
            measured=eta if eta is not None and math.isfinite(eta) and not self.f_error else None,
            values_level=values_level)
        refs, _ = self._references(pt, cen, cs)
        v = self._judge(pt, cen, refs, jump_entries, next_to_kink, unlocated, resolution, unlocated & was_kink)
        if np.any((v.unverified == 2) & cen.flat):
            self._constant_far(pt, cen, v, max(eta_f, 8.0 * (cen.eps_f * abs(pt.f0) + underflow_unit(cen.eps_f))))
        v.f_scale, v.eta = float(np.max(cen.f_scale)), max(eta or 0.0, self.f_noise)
        v.jumps = jump_texts
        n_kinks = int(np.count_nonzero(v.kink))
        n_unverified = int(np.count_nonzero(v.unverified))
        n_jumps = int(np.count_nonzero(v.jump))
        if np.any((v.ratio > 1.0) & ~v.kink & ~v.jump):
            self._step_or_cells(pt, cen, v)
            n_unverified = int(np.count_nonzero(v.unverified))
        if np.any((v.ratio > 1.0) & ~v.jump):
            self._clarke_at_ties(pt, v, eta_f)
            n_kinks = int(np.count_nonzero(v.kink))
            # an entry whose slopes did not settle, failing against its reference: failing, not UNVERIFIED
            for j in np.flatnonzero((v.ratio > 1.0) & (v.unverified == 3)):
                v.unverified[j] = 0
                v.note[j] = "its slopes did not settle; its reference decides"
            n_unverified = int(np.count_nonzero(v.unverified))
        judged = ~v.jump
        worst = float(np.max(np.where(judged, v.ratio, 0.0), initial=0.0))
        if (n_jumps and not self.jumps_allowed) or worst > 1.0:
            raise CheckFailure(self._message(pt, v), details=self._details(pt, v))
        if n_kinks >= 2:
            self._joint_kinks(pt, v, eta_f)
        if n_unverified == v.r.size and not n_kinks:
            first = int(np.argmax(v.unverified))
            reason = _UNVERIFIED_WHY[v.unverified[first] - 1]
            if reason is _NOT_FINITE:
                raise ValueError(
                    "f is not finite near the input, so no reference can be computed there (central differences "
                    f"step {steps(pt.x64.ravel()[:1], cen.eps_f)[0]:.3g} away):\n{format_arguments(pt.args)}")
        for code in np.unique(v.unverified[v.unverified > 0]):
            reason, remedy = _UNVERIFIED_WHY[code - 1]
            self.reasons[f"{reason} (remedy: {remedy})"] = None
        smooth = ~v.kink & ~v.jump & (v.unverified == 0)
        worst_ulps = float(np.max(np.where(smooth, v.ulps, 0.0), initial=0.0))
        worst_abs = float(np.max(np.where(smooth, v.abs_err, 0.0), initial=0.0))
        self._count(refs, n_kinks, n_unverified, n_jumps, int(np.count_nonzero(v.noise)), worst, worst_ulps,
                    worst_abs)
        return _PointResult(v.ratio, v.abs_err, v.ulps, n_kinks, refs[0].name, n_unverified)

    def _clarke_at_ties(self, pt: _Point, v: _Verdict, eta: float) -> None:
        """Failing entries tied in value with other entries, judged against f's slopes along ``e_j`` next to x (Clarke's
        subdifferential: the limits of f's gradients at nearby points where f is differentiable), not only at x. At a
        tie of ``Σ c·sort(x)`` with ``c`` not increasing, moving one tied entry alone makes it the largest or the
        smallest (slopes ``c_max``, ``c_min`` at x), while next to x, where the tied entries are ordered, it is any rank
        (slope any ``c_k``): torch's, JAX's and NumPy's sort backward give the tie's entries the weights of their order
        (``c`` itself), a subgradient that lies outside the slopes at x. (The median of a triple tie is constant along
        every axis at x, yet its Clarke subdifferential holds torch's weight on one entry.) An entry whose value lies
        within those slopes, by the errors the pairs of :meth:`_joint_kinks` allow, is judged at a kink with them as its
        limits; the ties' totals are then checked together there. Only where those slopes differ by more than twice
        their own error (rounding and change): where they agree, f is differentiable at x as far as they tell (a tie of
        Σ tanh(x)), and the verdict of the references, far finer than these differences, stands; so it does where their
        error exceeds a quarter of the error they would excuse."""
        flat = pt.x64.ravel()
        # (and an entry whose own slopes did not settle, yet failing against its reference: a max pooling at a plateau,
        # flat along e_j on both sides, whose complex step is one branch's slope)
        failing = np.flatnonzero((v.ratio > 1.0) & ~v.jump & ((v.unverified == 0) | (v.unverified == 3))
                                 & np.isfinite(flat))
        for j in failing[:_JOINT_PAIRS]:
            if np.count_nonzero(flat == flat[j]) < 2:
                continue
            d = np.zeros(flat.size)
            d[j] = 1.0
            support, offsets = _ranks_around(flat, int(j))
            near = self._slopes_near(pt, d, np.append(support, j), support, offsets, eta)
            if near is None:
                continue
            # the slopes next to x only: the one-sided ones at x straddle any kink of f along e_j closer than the step
            # (ReLU at 1e-300: the ladder demands the derivative on x_j's side there)
            slopes, slope_error = near[0][2:], near[1]
            # grad's own rounding and f's resolution; not the spread measured a few ULPs away (across a tie, grad's
            # assignment flips: a float32 tie of 3e-8 measured 0.5 there) nor the reference's bound (not used here)
            own = sum(float(np.broadcast_to(part, v.r.shape)[j]) for name, part in v.parts.items()
                      if name not in ("noise", "backward", "reference"))
            low, high = float(np.min(slopes)), float(np.max(slopes))
            # and grad's format's rounding of a value within them: the ULPs part counts those of the reference, 0 at
            # a plateau of a float32 min pooling whose backward holds −1.2 as −1.2000000477
            allowed = own + slope_error + self._format_rounding(pt, low, high)
            if high - low <= 2.0 * slope_error:
                continue  # the slopes next to x agree: f is differentiable there as far as they tell, the verdict stands
            # the error found: at a kink, grad's distance from its one-sided slopes (not from the central value between
            # them: Σ v·relu(x) at a tie at 0, an entry 1.7e-8 outside [v_0, 0], is no error of 0.62)
            gj = float(pt.gf[j])
            found = max(float(v.low[j]) - gj, gj - float(v.high[j]), 0.0) if v.kink[j] else float(v.abs_err[j])
            if slope_error > found / 4.0:
                continue  # too coarse to excuse the error found (a float32 tie of 3e-8 beside 2e-8): the verdict stands
            if v.kink[j]:
                low, high = min(low, float(v.low[j])), max(high, float(v.high[j]))
            if not low - allowed <= float(pt.gf[j]) <= high + allowed:
                continue
            v.kink[j], v.low[j], v.high[j] = True, low, high
            v.unverified[j] = 0
            v.ratio[j] = 0.0
            v.ulps[j] = 0.0
            v.note[j] = f"kink at a tie: [{low:.17g}, {high:.17g}] (slopes next to x)"

    def _step_or_cells(self, pt: _Point, cen: Central, v: _Verdict) -> None:
        """Failing entries along which f is bitwise constant at every step ``t_k = h·4⁻ᵏ`` (k = 1…12) from some ``t``
        down, on both sides, where the reference's slope ``r`` would have moved f by ``|r|·t``, more than 8 roundings of
        its values (``eps_f·F_j``: values rounded to a grid of spacing ``≤ 2·eps_f·F_j`` hold a slope ``r`` on one value
        over ``2t`` only where ``|r|·t ≤ eps_f·F_j``; 8 leaves room for the roundings of f's last few operations), and
        where the step f takes beyond that is more than ``ulps`` roundings of the computation's largest magnitudes
        (:func:`computation_scale`; a step within them is a rounding staircase, whose slope is ``r``: ``log(1 + eˣ)`` at
        −30): f is a step function there (floor at 1e4 + 0.3: derivative 0, while steps of 7 average its jumps into a
        slope of 1), or a smooth function rounded to cells wider than ``t`` in a computation that holds magnitudes
        beyond those. Values alone cannot tell them apart: unverified (code 5), not blamed on grad."""
        n = v.r.size
        failing = np.flatnonzero((v.ratio > 1.0) & ~v.kink & ~v.jump & (v.unverified == 0) & np.isfinite(v.r)
                                 & (v.r != 0.0) & ~cen.infinite)
        if not failing.size:
            return
        flat = pt.x64.ravel()
        ladder = 4.0 ** -np.arange(1, 13)
        rows = []
        for j in failing:
            for sign in (1.0, -1.0):
                moved = np.broadcast_to(flat, (ladder.size, n)).copy()
                moved[:, j] = flat[j] + sign * cen.h[j] * ladder
                rows.append(moved)
        stack = np.concatenate([flat[None, :]] + rows)
        with np.errstate(all="ignore"):
            values = self.ev.many(pt.args, stack.reshape((stack.shape[0],) + pt.x64.shape), pt.f0)[1:]
        values = values.reshape(failing.size, 2, ladder.size)
        scale = cen.f_scale
        computation = computation_scale(pt.f0, pt.args)
        for c, j in enumerate(failing):
            constant = np.all(values[c] == pt.f0, axis=0)  # per step, both sides
            if not constant[-1]:
                continue
            first = ladder.size - int(np.argmin(constant[::-1])) if not constant.all() else 0
            reach = float(cen.h[j] * ladder[first])
            if abs(float(v.r[j])) * reach <= 8.0 * cen.eps_f * float(scale[j]):
                continue
            # the step f takes where it stops being constant: within the rounding of the computation's largest
            # magnitudes, it is a rounding staircase (log(1 + eˣ) at −30: cells of 2.2e-16 beside an x of 30), whose
            # slope is the reference's; far beyond any rounding (floor's 1 beside 1e4), f may be a step function
            outer = values[c, :, first - 1] if first > 0 else cen.values[:, :, j]
            step_size = float(np.max(np.abs(outer - pt.f0)))
            if step_size <= self.ulps * cen.eps_f * computation:
                continue
            v.unverified[j] = 5
            v.ratio[j] = 0.0
            v.ulps[j] = 0.0
            v.note[j] = f"{_UNVERIFIED_NOTES[4]} (constant out to ±{reach:.3g})"

    def _constant_far(self, pt: _Point, cen: Central, v: _Verdict, level: float) -> None:
        """Entries left unverified because their central differences are flat (all six values equal ``f(x)``: the
        value 0 with an error bound that cannot tell the computed value from 0), examined further out: where ``f`` is
        bitwise constant along ``e_j`` at every step ``4ᵏ·h`` up to the first beyond ``_FAR_REACH·max(1, |x_j|)``
        on both sides (an output that does not depend on ``x_j``: the off-diagonal entries of an elementwise
        function's Jacobian), the central difference at that step ``R`` is exactly 0 at every scale, so the derivative
        is 0 to within ``6·η/R`` (``η`` f's rounding level, as the central differences' own bound at step ``R``). The
        verdict then follows from that reference, in ``v`` (entry by entry):

        - within the tolerance with that error: verified;
        - outside it, by more than what a value that lost its digits at the computation's scale could hide
          (``|g_j|·max(1, |x_j|) > ulps·eps_f·S``, ``S`` the largest magnitude of ``f(x)`` and the floating
          arguments: the rule of :func:`verify.checks._views.settle_flat`): wrong;
        - otherwise unverified, as before (an ``f`` that lost the digits of a tiny slope is constant too).

        A constant that ends within the reach (ReLU below 0, gelu's tail: the constant is a rounding of a slope that
        is not 0) resolves nothing and the entry stays unverified, with that reason (``_FLAT_NEAR``)."""
        flat = pt.x64.ravel()
        n = flat.size
        candidates = np.flatnonzero((v.unverified == 2) & cen.flat & (v.r == 0.0) & ~v.kink & ~v.jump & cen.finite
                                    & ~cen.infinite & np.isfinite(flat))
        if candidates.size == 0:
            return
        count = int(np.ceil(np.log(_FAR_REACH / cen.eps_f ** 0.2) / np.log(4.0)))
        ladder = cen.h[candidates][:, None] * 4.0 ** np.arange(1, count + 1)[None, :]  # (m, count), last ≥ reach
        rows = []
        for i, j in enumerate(candidates):
            for sign in (1.0, -1.0):
                moved = np.broadcast_to(flat, (count, n)).copy()
                moved[:, j] = flat[j] + sign * ladder[i]
                rows.append(moved)
        stack = np.concatenate(rows)
        with np.errstate(all="ignore"):
            values = self.ev.many(pt.args, stack.reshape((stack.shape[0],) + pt.x64.shape), pt.f0)
        constant = np.all(values.reshape(candidates.size, 2 * count) == pt.f0, axis=1)
        dt = pt.x.dtype
        computation = computation_scale(pt.f0, pt.args)
        for i, j in enumerate(candidates):
            if not constant[i]:
                v.unverified[j] = 4
                v.note[j] = _UNVERIFIED_NOTES[3]
                continue
            error = 6.0 * level / float(ladder[i, -1])
            tol = 2.0 * error + sum(float(np.broadcast_to(part, v.r.shape)[j]) for name, part in v.parts.items()
                                    if name != "reference")
            err = float(v.abs_err[j])
            ratio = 0.0 if err == 0.0 else err / tol
            if ratio <= 1.0:
                v.unverified[j] = 0
                v.note[j] = f"f constant along e_j out to ±{float(ladder[i, -1]):.3g}"
            elif not lost_in_digits(err, flat[j], self.ulps, cen.eps_f, computation):
                v.unverified[j] = 0
                v.note[j] = f"f constant along e_j out to ±{float(ladder[i, -1]):.3g}: its slope is 0"
            else:
                continue
            v.e[j], v.tol[j], v.ratio[j] = error, tol, ratio
            v.parts["reference"][j] = 2.0 * error
            v.ulps[j] = 0.0 if err == 0.0 else err / max(float(np.spacing(np.abs(v.r[j]).astype(dt))),
                                                            float(v.parts["f's resolution"][j]) / self.ulps)

    def _joint_kinks(self, pt: _Point, v: _Verdict, eta: float) -> None:
        """Entries at kinks judged together, pairwise: each alone may lie between its own one-sided slopes while
        the vector is no subgradient (``(x == max(x))`` at a tie counts the tied entries twice). Along
        ``d = e_i ± e_j`` the component ⟨g, d⟩ of any (Clarke) subgradient lies within the slopes of f along d
        at x and near it; they are sampled at x (one-sided, both ways) and at the four points x ± δe_i ± δe_j
        (central slopes at two steps, their change counted as their error). A pair whose ⟨g, d⟩ falls outside,
        by more than the entries' own allowed errors and the slopes' rounding and change, fails."""
        __tracebackhide__ = True
        kinks = np.flatnonzero(v.kink & (v.unverified == 0) & ~v.jump)
        flat = pt.x64.ravel()
        pairs = sorted(((int(i), int(j)) for k, i in enumerate(kinks) for j in kinks[k + 1:]),
                       key=lambda ij: abs(flat[ij[0]] - flat[ij[1]]))  # ties first
        # half the pairs at least from different values where there are such: the pairs inside one tie alone fill
        # every place at a tie of six (15 pairs; a Crammer–Singer hinge at its margin with six classes tied at the max,
        # whose backward dropped the true class's −1, was judged on none of the pairs with the true class)
        same = [p for p in pairs if flat[p[0]] == flat[p[1]]]
        across = [p for p in pairs if flat[p[0]] != flat[p[1]]]
        n_same = min(len(same), max(_JOINT_PAIRS // 2, _JOINT_PAIRS - len(across)))
        pairs = same[:n_same] + across[:_JOINT_PAIRS - n_same]
        for i, j in pairs:
            for sign in (1.0, -1.0):
                d = np.zeros(flat.size)
                d[i], d[j] = 1.0, sign
                self._judge_along(pt, v, eta, d, (i, j),
                                  f"the kink shared by args[{self.wrt}]{_index(pt.x.shape, i)} and "
                                  f"args[{self.wrt}]{_index(pt.x.shape, j)}: along d = e_i {'+' if sign > 0 else '−'} "
                                  "e_j", details={"entries": (i, j), "direction_sign": sign})
        # a tie of three or more moves together along the sum of its unit vectors, where f keeps the tie: the total of
        # grad over the tie is f's slope there (max at a triple tie: 1; a strict `>` backward gives 0, each tied entry
        # 0.3 gives 0.9 — every pair of them within its slopes)
        # (every entry of the tie that is not at a jump: one whose own slopes did not settle, or a smooth one, moves
        # with it — a backward of 0 on a plateau of eight entries of a max pooling left one of them unsettled, and the
        # other seven, moved together, are no tie that moves as one)
        values, counts = np.unique(flat[kinks], return_counts=True)
        for value in values[counts >= 3][:_JOINT_PAIRS]:
            tie = np.flatnonzero((flat == value) & ~v.jump)
            d = np.zeros(flat.size)
            d[tie] = 1.0
            self._judge_along(pt, v, eta, d, (int(tie[0]), int(tie[0])),
                              f"the tie of {tie.size} entries at {float(value)!r} "
                              f"(args[{self.wrt}]{_index(pt.x.shape, int(tie[0]))}, …): along d = Σ e_i over the tie",
                              details={"entries": tuple(int(k) for k in tie), "direction_sign": 1.0})

    def _judge_along(self, pt: _Point, v: _Verdict, eta: float, d: np.ndarray, pair: tuple[int, int], where: str,
                     details: dict) -> None:
        """⟨g, d⟩ against f's slopes along ``d`` at x and next to it (:meth:`_slopes_along`, the neighbours of
        :func:`_tie_offsets` for ``pair``); fails where it lies outside them by more than the errors allowed to the
        entries along ``d``, the slopes' rounding and their change."""
        __tracebackhide__ = True
        flat = pt.x64.ravel()
        support, offsets = _tie_offsets(flat, pair)
        moved = np.flatnonzero(d)
        near = self._slopes_near(pt, d, support, support, offsets, eta)
        if near is None:
            return
        slopes, slope_error = near
        along = float(np.dot(pt.gf[moved], d[moved]))
        low, high = float(np.min(slopes)), float(np.max(slopes))
        # an unverified entry (no reference: no tolerance of its own) is allowed grad's format's rounding of the slopes
        tol = v.tol[moved]
        allowed = float(np.sum(np.where(np.isfinite(tol), tol, self._format_rounding(pt, low, high)))) + slope_error
        if low - allowed <= along <= high + allowed:
            return
        raise CheckFailure(
            f"check_gradient: grad is no subgradient at {where}, ⟨grad, d⟩ = {along:.6g} but every slope of f along d "
            f"at x and next to it lies in [{low:.6g}, {high:.6g}] (allowed error {allowed:.3g}); each entry alone is "
            f"between its one-sided slopes, together they are not (a tie counted twice, or not at all?)\n"
            f"{format_arguments(pt.args)}",
            details={**details, "along": along, "slopes": (low, high), "allowed": allowed})

    def _format_rounding(self, pt: _Point, low: float, high: float) -> float:
        """``ulps`` roundings, in grad's format, of a value within the slopes ``[low, high]``: what a grad entry judged
        against slopes (not against a reference, whose ULPs the tolerance counts) is allowed for its own format."""
        return self.ulps * _EPS[pt.x.dtype] * max(abs(low), abs(high))

    def _slopes_near(self, pt: _Point, d: np.ndarray, tie: np.ndarray, support: np.ndarray, offsets: np.ndarray,
                     eta: float) -> tuple[np.ndarray, float] | None:
        """:meth:`_slopes_along` at the reach :func:`_tie_reach` gives ``tie``, with their error: the rounding ``η``
        at the step (``4η/step``) and their change. None where the tie leaves no room or f is not finite."""
        delta = _tie_reach(pt, pt.x64.ravel(), tie)
        if delta == 0.0:
            return None
        step = delta / 8.0
        slopes, spread = self._slopes_along(pt, d, delta, step, support, offsets)
        if slopes is None:
            return None
        return slopes, 4.0 * eta / step + spread

    def _slopes_along(self, pt: _Point, d: np.ndarray, delta: float, step: float, support: np.ndarray,
                      offsets: np.ndarray):
        """The limits of f's slopes along ``d`` as x is approached: one-sided at x (both ways), and from each of
        the directions ``s`` (rows of ``offsets`` over the entries ``support``: :func:`_tie_offsets`,
        :func:`_ranks_around`): central slopes at x + δ·s and at twice that offset, extrapolated linearly to x, so a
        piece that bends is followed to its limit. Returns (limits, their error: the extrapolations' change plus
        rounding's share already in the caller) or (None, 0) where f is not finite."""
        x = pt.x64.ravel()
        points = [x, x + step * d, x - step * d, x + step / 2 * d, x - step / 2 * d]
        for pattern in offsets:
            for k in (1.0, 2.0):
                y = x.copy()
                y[support] += k * delta * pattern
                points += [y + step * d, y - step * d]
        stack = np.stack(points).reshape((len(points),) + pt.x.shape)
        with np.errstate(all="ignore"):
            values = self.ev.many(pt.args, stack, pt.f0)
        if not np.all(np.isfinite(values)):
            return None, 0.0
        right, left = (values[1] - values[0]) / step, (values[0] - values[2]) / step
        right_half, left_half = (values[3] - values[0]) / (step / 2), (values[0] - values[4]) / (step / 2)
        limits = [2.0 * right_half - right, 2.0 * left_half - left]  # one-sided slopes, Richardson to t → 0
        error = max(abs(right - right_half), abs(left - left_half))
        for k in range((len(points) - 5) // 4):
            near_a, near_b, far_a, far_b = values[5 + 4 * k: 9 + 4 * k]
            near, far = (near_a - near_b) / (2 * step), (far_a - far_b) / (2 * step)
            limits.append(2.0 * near - far)  # the slope at offset δ and 2δ, extrapolated to the offset 0
            error = max(error, abs(near - far))
        return np.array(limits), 2.0 * error

    def _doubtful(self, pt: _Point, cen: Central, cs: ComplexStep | None, resolution: np.ndarray,
                  eta: float = 0.0) -> np.ndarray:
        """Smooth entries whose central-difference value decides or rejects, and does not settle the entry:
        they are examined at shrinking steps too (a step far beyond the scale on which f varies — layer norm
        of inputs 1e8 ± 1, sin(x²) at x = 25 — gives a value its Richardson estimate cannot vouch for)."""
        smooth = cen.finite & ~cen.infinite & ~cen.kink
        if cs is not None and accept_complex_step(cs, cen)[0] is None:
            return smooth  # rejected: the disagreement may come from any entry's central value
        refs, _ = self._references(pt, cen, cs)
        r, e = self._entrywise(refs)
        central = _decided_by_central(e, r, cen)
        dt = pt.x.dtype
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            ulp_r = np.spacing(np.abs(r).astype(dt)).astype(np.float64)
            rest = (self.ulps * ulp_r + self.ulps * _EPS[dt] * cen.curvature * np.abs(np.where(cen.infinite, 0.0,
                    pt.x64.ravel())) + self.atol + resolution + self._grad_noise(pt))
            failing = np.abs(pt.gf - r) > rest + 2.0 * e
        # where the complex step decides a failing entry, the refined central differences cross-check it: f's
        # formula may cancel in its imaginary part (a complex division at a saturated softmax)
        return smooth & (failing | (central & (_vague(e, rest, pt.gf, r, self.ulps, _EPS[dt]) | _not_asymptotic(cen)
                                               | _rough(cen, eta))))

    def _locate(self, pt: _Point, cen: Central, eta: float, doubtful: np.ndarray | None = None,
                measured: float | None = None, values_level: float | None = None):
        """Kink candidates (and ``doubtful`` smooth entries) examined at shrinking steps: ``(central, jumps,
        next_to_kink, unlocated, jump_texts)``, the central differences with each one's verdict folded in
        (:mod:`verify.checks._kinks`)."""
        n = cen.value.size
        jumps = np.zeros(n, dtype=bool)
        near = np.zeros(n, dtype=bool)
        unlocated = np.zeros(n, dtype=bool)
        texts: list[str] = []
        was_kink = cen.kink & cen.finite
        candidates = np.flatnonzero(was_kink | (doubtful if doubtful is not None else False))
        if candidates.size == 0:
            return cen, jumps, near, unlocated, texts
        if cen.low is None:
            cen = replace(cen, low=cen.value.copy(), high=cen.value.copy(), side_error=cen.error.copy())
        flat = pt.x64.ravel()
        # the slope scale that sets the finest step: the jump of the one-sided slopes at a kink candidate; for a
        # smooth entry the size of its derivative (the computed one, or the complex step's: a central value from
        # a step beyond f's own scale can be far too small)
        scale = np.maximum(np.abs(cen.value), np.abs(pt.gf))
        if self._cs is not None:
            scale = np.maximum(scale, np.abs(np.nan_to_num(self._cs.imag / self._cs.step)))
        # at a kink candidate, the jump of its one-sided slopes at h, or the slope scale if larger (the slopes of a
        # smooth f at a step far beyond its own scale — layer norm of inputs 1e8 ± 1 — are ~1/h: their jump says
        # nothing about the steps needed)
        slope_jump = np.where(was_kink[candidates], np.maximum(np.abs(cen.high[candidates] - cen.low[candidates]),
                                                               scale[candidates]), scale[candidates])
        ladders = _kinks.refine_steps(flat[candidates], cen.h[candidates], slope_jump, eta)
        rows = []
        for j, ladder in zip(candidates, ladders, strict=True):
            for sign in (1.0, -1.0):
                moved = np.broadcast_to(flat, (ladder.size, n)).copy()
                moved[:, j] = flat[j] + sign * ladder
                rows.append(moved)
        stack = np.concatenate([flat[None, :]] + rows)
        with np.errstate(all="ignore"):
            values = self.ev.many(pt.args, stack.reshape((stack.shape[0],) + pt.x64.shape), pt.f0)[1:]
        right, left, taken_r, taken_l = [], [], [], []
        at = 0
        for j, ladder in zip(candidates, ladders, strict=True):
            m = ladder.size
            right.append(values[at:at + m])
            left.append(values[at + m:at + 2 * m])
            taken_r.append((flat[j] + ladder) - flat[j])
            taken_l.append(flat[j] - (flat[j] - ladder))
            at += 2 * m
        found = _kinks.classify(pt.f0, right, left, taken_r, taken_l, eta, cen.eps_f, scale[candidates],
                                flat[candidates], measured, values_level)
        for i in np.flatnonzero(found.kind == _kinks.JUMP):
            # A jump is a change that does not shrink with the step; f's rounding along e_j can do that too, and it
            # need not show along the direction f's noise was measured on (layer norm at 1e6 + [2, 5, 5, 5]: the
            # rounding of mean(x) moves f by 4e-11 whenever x_j moves by one of its ULPs, while a move of every
            # entry by a few ULPs that keeps the mean shows 1e-15). So the rounding along e_j itself is measured on
            # either side, off the point, and the candidate is classified again at that level: a jump stands only
            # where it exceeds f's own rounding there.
            j = int(candidates[i])
            side = self._side_noise(pt, j, float(found.finest[i]))
            if side > eta:
                again = _kinks.classify(pt.f0, right[i:i + 1], left[i:i + 1], taken_r[i:i + 1], taken_l[i:i + 1],
                                        side, cen.eps_f, scale[candidates][i:i + 1], flat[candidates][i:i + 1],
                                        side)
                _take_row(found, i, again, _RECLASSIFIED)
        with np.errstate(invalid="ignore", over="ignore"):
            blamed = np.abs(pt.gf[candidates] - found.value) > (2.0 * found.error
                                                                 + self.ulps * np.spacing(np.abs(found.value)))
        first_steps = np.array([ladder[0] for ladder in ladders])
        unsettled = np.where(found.unsettled > 0, found.unsettled, np.where(blamed, first_steps / 4.0, 0.0))
        for i in np.flatnonzero((found.kind == _kinks.SMOOTH) & (unsettled > 0)):
            # f's rounding along e_j at the scale of the steps, where the ladder's value may be a plateau:
            # - the one-sided limits disagreed at the coarser steps and agree at the finer (found.unsettled): a kink or
            #   jump next to the point, or f's rounding above eta at the scale of those steps — a staircase whose cells
            #   are wider than the spacings f's rounding was measured at (gelu's cancelling 1 + erf(x/√2) at x = −7.5:
            #   cells 2.3e-4 wide, inside which f is x times a constant and its slope Φ(x) lacks the product rule's
            #   x·φ(x); the limits disagree by the cells' jumps, |Δ₊ − Δ₋| ≈ 4e-16 at every coarser step t, the 1/t
            #   of rounding);
            # - the gradient under test is about to be blamed on a value from the ladder (it is outside the value's
            #   error): where the cells are wider than the ladder's first step h (gelu's 1 + tanh(·) in its tanh
            #   form at x = −7, cells 1.4e-2 wide, h = 5.2e-3), every step lies in one cell and nothing in the
            #   ladder disagrees; the tables at spacings h/4, h, 4h, off the point, cross the cells.
            # f's rounding along e_j is measured off the point, on either side, at the scales of that step, confirmed
            # by two neighbouring spacings on each side (_staircase_along), and where it exceeds eta the entry is
            # classified again at that level, as its values' rounding too.
            j = int(candidates[i])
            # (Before blaming the gradient under test, noise seen on either side is enough — also where the limits came
            # apart and no level was confirmed: a staircase may end on one side, and its cells may be wider than 4h;
            # what is read is only what rounding can be, and at worst it makes a wrong entry unverified.)
            level = self._staircase_along(pt, j, float(unsettled[i]), float(first_steps[i]), cen.eps_f,
                                          confirm=bool(found.unsettled[i] > 0))
            if found.unsettled[i] > 0 and blamed[i] and level <= _CELLS_ABOVE * max(eta, values_level or 0.0):
                # no cells confirmed (only f's own rounding, within _CELLS_ABOVE of what was measured): before blaming,
                # what the tables show at any spacing, as for an entry whose limits never came apart
                level = max(level, self._staircase_along(pt, j, float(first_steps[i]) / 4.0, float(first_steps[i]),
                                                         cen.eps_f, confirm=False))
            if level > max(eta, values_level or 0.0):
                again = _kinks.classify(pt.f0, right[i:i + 1], left[i:i + 1], taken_r[i:i + 1], taken_l[i:i + 1],
                                        level, cen.eps_f, scale[candidates][i:i + 1], flat[candidates][i:i + 1],
                                        level, level)
                _take_row(found, i, again, _RECLASSIFIED + ("unsettled",))
        value, error, kink = cen.value.copy(), cen.error.copy(), cen.kink.copy()
        low, high, side = cen.low.copy(), cen.high.copy(), cen.side_error.copy()
        curvature = cen.curvature.copy()
        for i, j in enumerate(candidates):
            kind = found.kind[i]
            if kind == _kinks.KINK:
                low[j], high[j], side[j] = found.low[i], found.high[i], found.error[i]
                kink[j] = True
                curvature[j] = 0.0
                continue
            kink[j] = False
            if was_kink[j]:
                curvature[j] = 0.0
            if kind == _kinks.SMOOTH:
                value[j], error[j] = found.value[i], found.error[i]
                near[j] = bool(was_kink[j])
            elif kind == _kinks.JUMP:
                jumps[j] = True
                texts.append(
                    f"args[{self.wrt}]{_index(pt.x.shape, j)} = {float(flat[j])!r}: f(x {'+' if found.side[i] > 0 else '−'} "
                    f"t·e_j) − f(x) = {found.jump[i]:.6g} does not shrink as t goes from {ladders[i][0]:.3g} down to "
                    f"{found.finest[i]:.3g}")
                value[j], error[j] = np.nan, np.inf
            else:
                unlocated[j] = True
                value[j], error[j] = np.nan, np.inf
        return (replace(cen, value=value, error=error, kink=kink, low=low, high=high, side_error=side,
                        curvature=curvature), jumps, near, unlocated, texts)

    def _side_tables(self, pt: _Point, j: int, spacings: tuple[float, ...]):
        """Moré–Wild difference tables of ``f`` along ``e_j`` on either side of the point and off it: nine points
        ``x ± (5 + k)·δ·e_j``, ``k = −4…4``, for each spacing ``δ``; ``(sigma, order, status)`` of
        :func:`verify.checks._noise.noise_levels`, shaped ``(len(spacings), 2)`` (sides +, −). The tables do not reach
        ``x`` itself, so a jump at ``x`` is not taken for noise."""
        flat = pt.x64.ravel()
        k = probe_offsets()
        rows = []
        for delta in spacings:
            for sign in (1.0, -1.0):
                moved = np.broadcast_to(flat, (k.size, flat.size)).copy()
                moved[:, j] = flat[j] + sign * (5.0 + k) * delta
                rows.append(moved)
        stack = np.concatenate([flat[None, :]] + rows)
        with np.errstate(all="ignore"):
            values = self.ev.many(pt.args, stack.reshape((stack.shape[0],) + pt.x64.shape), pt.f0)[1:]
        table = values.reshape(len(rows), k.size).T
        sigma, order, status = noise_levels(table)
        shape = (len(spacings), 2)
        return sigma.reshape(shape), order.reshape(shape), status.reshape(shape)

    def _side_noise(self, pt: _Point, j: int, finest: float) -> float:
        """The rounding level of one value of ``f`` along ``e_j``, measured on either side of the point and off it
        (:meth:`_side_tables`) at the spacings ``δ = t/4, t, 4t`` with ``t`` the finest step of the jump test (the
        scales it looked at): the largest bound measured (0 where no table shows noise: a piece that is smooth, or
        constant, at those scales)."""
        sigma, order, status = self._side_tables(pt, j, (finest / 4.0, finest, 4.0 * finest))
        bound = noise_bound(np.where(status == 1, sigma, 0.0), order)
        return float(np.max(bound, initial=0.0))

    def _rounding_along(self, pt: _Point, j: int, h: float) -> float:
        """f's rounding along ``e_j`` where no direction showed it (:func:`verify.checks._measure.f_noise` found f exact
        or flat) and entry ``j``'s central differences suggest a level above the model: :meth:`_side_tables` at
        ``δ = h/16, h/64, …, h/4⁸`` on either side of the point, off it, and the level confirmed by two neighbouring
        spacings on each side, the smaller side's (:func:`verify.checks._measure.two_sided_level`). A level read from
        the stencil itself is never taken for rounding: the stencil's values need not lie on one smooth piece of f (relu
        at ``x_j = −1e-4``, steps of 7.4e-4 that cross its kink at 0, whose bend reads as a level of 1.3e-5 though f's
        values are exact, stopped the kink ladder of another entry at 4.6e-5 where its one-sided slopes 0 and 1 could
        not be told apart). Rounding is the same at every spacing above its resolution and on both sides; a kink or jump
        crossed by a table grows with the spacing or is a step, and one beside the point is on one side only."""
        spacings = tuple(h / 16.0 * 4.0 ** -np.arange(7))
        sigma, order, status = self._side_tables(pt, j, spacings)
        return two_sided_level(sigma, order, status, ratio=4.0)

    def _staircase_along(self, pt: _Point, j: int, step: float, h: float, eps_f: float, confirm: bool = True) -> float:
        """f's rounding along ``e_j`` where it is a staircase at the scale of ``step`` (0 where it is not seen), from
        :meth:`_side_tables` on two ladders of spacings, ``δ = t·4ᵏ`` and ``δ = t·4ᵏ/√2``:

        - with ``confirm`` (the one-sided limits came apart at ``t``: a kink or jump next to the point, or cells), the
          spacings up to ``4h`` (``h`` the entry's central step: cells wider than the stencil show only beyond it), and
          on each side the level confirmed by two neighbouring spacings of one ladder
          (:func:`verify.checks._measure.confirmed_level`: rounding shows the same level at every spacing that crosses
          its cells, a kink crossed by a table a level proportional to the spacing), the larger of the two ladders'; the
          smaller of the two sides (a staircase is on both, a kink next to the point on one);
        - without (the gradient under test is about to be blamed on a ladder that may lie inside one cell), the spacings
          up to ``16h`` (at float64's steps; ``4h`` at a float32 f's, already 5.6 times wider) and on each side the
          largest bound seen at any of them (at a float32 f's steps, by both ladders); the smaller side's — or, where f
          is exactly constant at every spacing beyond ``4h`` on one side, the other side's: cells that end in a constant
          (gelu's tanh form at ``x = −7.1``, where ``1 + tanh`` takes the values 0, 1 and 2 ULPs of 1 over cells
          ``4.7e-2`` wide, 9h, and f is exactly 0 a few cells further out) show on one side only, and only beyond
          ``4h``. At worst such a level makes a wrong entry unverified; it never blames a right one.

        Only what rounding can be counts: a level at most ``eps_f`` times the largest magnitude the computation holds in
        view (its inputs and f: a cancelling 1 + erf in gelu at x = −8 rounds at 2.5e-16 ≤ eps·8; floor's jumps in
        floor(x) + x at x = 3e4 + 0.5, a staircase of f itself whose steps of 1 are far above eps·3e4, are no rounding;
        a view of f along a line, t ↦ f(x + t·v), holds x + t·v, not t: its own scale, ``input_scale``). So ``f`` that
        varies faster than a table resolves at the far spacings (``gelu(sin x)`` in float32 aliases sin's period into
        "noise") is not taken for rounding.

        Two ladders, because ``t`` is where the ladder's one-sided limits came apart: about the cells' width ``W``
        itself, and a table whose spacing is close to a whole multiple of ``W`` samples the sawtooth at nearly the same
        phase at every point — it reads as smooth (gelu's tanh form at ``x = −6.4`` along a tangent, cells of ``3e-6``
        and ``t = 2.9e-6``: no noise at ``t``, ``4t``, ``16t``, and the plateau slope ``Φ`` was demanded). Spacings ``√2``
        apart cannot both be near multiples of one ``W``."""
        finite = np.abs(pt.x64[np.isfinite(pt.x64)])
        scale = max(float(np.max(finite, initial=0.0)), abs(pt.f0), float(getattr(self.f, "input_scale", 0.0)))
        # (the far spacings only at float64's steps: a float32 f's steps, already eps32^(1/5)·|x| = 4e-2·|x|, at 16 times
        # that span the scale on which f itself varies, which the loose float32 filter below takes for rounding)
        far = not confirm and eps_f <= _EPS64
        reach = (_BLAMED_REACH if far else 4.0) * h * (1.0 + 1e-12)
        tables = []
        for base in (step, step / np.sqrt(2.0)):
            spacings = tuple(float(d) for d in base * 4.0 ** np.arange(8) if d <= reach)
            if len(spacings) < 2:
                continue
            sigma, order, status = self._side_tables(pt, j, spacings)
            tables.append((sigma, order, np.where(sigma <= eps_f * scale, status, 3), np.array(spacings) > 4.0 * h))
        if not tables:
            return 0.0
        if confirm:  # per side the smaller of the levels the two ladders confirm, then the quieter side's
            sides = []
            for side in (0, 1):
                found = [confirmed_level(sigma[:, side], order[:, side], status[:, side], 4.0)
                         for sigma, order, status, _ in tables]
                sides.append(min((level for level in found if level > 0), default=0.0))
            return min(sides)
        sides, flat = [], []
        for side in (0, 1):
            found = [float(np.max(noise_bound(np.where(status[:, side] == 1, sigma[:, side], 0.0), order[:, side]),
                                  initial=0.0)) for sigma, order, status, _ in tables]
            # noise seen at any spacing of either ladder; at a float32 f's steps, by both (its far tables span the scale
            # on which f varies, which the float32 filter is loose enough to take for rounding)
            sides.append(max(found) if far else min((level for level in found if level > 0), default=0.0))
            # f exactly constant at every spacing beyond 4h on this side: the cells end there
            flat.append(all(bool(beyond.any() and np.all(status[beyond, side] == 2)) for _, _, status, beyond in tables))
        if flat[0] or flat[1]:
            return max(sides)  # cells that end in a constant on one side (f exactly 0 there) show on the other only
        return min(sides)

    def _judge(self, pt: _Point, cen: Central, refs: list[Reference], jumps: np.ndarray, near: np.ndarray,
               unlocated: np.ndarray, resolution: np.ndarray, unlocated_kinks: np.ndarray | None = None) -> _Verdict:
        """The verdict per entry; ``unlocated_kinks``: kink candidates of the stencil whose one-sided slopes did not
        settle: no reference decides them (unverified; their stencil's one-sided slopes bound nothing either: a float32
        relu layer, sin at 1e145)."""
        primary = refs[0]
        r, e = self._entrywise(refs)
        dt = pt.x.dtype
        eps_d = _EPS[dt]
        gf = pt.gf
        n = gf.size
        xf = np.where(cen.infinite, 0.0, pt.x64.ravel())
        kink = cen.kink
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            ulp_r = np.spacing(np.abs(r).astype(dt)).astype(np.float64)
            ulp_r = np.where(np.isfinite(ulp_r), ulp_r, np.inf)
            parts = {
                "ULPs": self.ulps * ulp_r,
                "conditioning": self.ulps * eps_d * cen.curvature * np.abs(xf),
                "noise": np.zeros(n),
                "atol": np.full(n, self.atol),
                "f's resolution": resolution,
                **({} if self.grad_noise is None else {"grad_noise (caller's)": self.grad_noise}),
                "reference": 2.0 * e,
            }
            abs_err = np.where(gf == r, 0.0, np.abs(gf - r))
            no_reference = ~np.isfinite(r) | ~np.isfinite(e)
            if primary.name == "central differences":
                no_reference |= ~cen.finite
            # a kink candidate whose one-sided slopes did not settle has no reference: a complex step or SymPy there is
            # one branch's slope (max(x, 0) at 0 takes x's for 0 + ih), not the set of f's subgradients
            if unlocated_kinks is not None:
                no_reference |= unlocated_kinks
            no_reference &= ~kink & ~jumps
            if kink.any():
                scale = np.maximum(np.abs(cen.low), np.abs(cen.high)).astype(dt)
                k_tol = (self.ulps * np.spacing(scale).astype(np.float64) + self.atol + 2.0 * cen.side_error
                         + resolution + self._grad_noise(pt))
                k_dist = np.maximum(np.maximum(cen.low - gf, gf - cen.high), 0.0)
            tol = sum(parts.values())
            ratio = np.where(abs_err == 0.0, 0.0, abs_err / tol)
            failing = (ratio > 1.0) & ~kink & ~jumps & ~no_reference & np.isfinite(gf)
            noise_bound = np.zeros(n)
            coarse = ""
            if failing.any():
                spread = backward_spread(self._grad_at(pt, []), pt.x, gf, self.ulps)
                parts["backward"] = np.where(failing & ~_holds_coarse(gf, dt), spread, 0.0)
                tol = sum(parts.values())
                ratio = np.where(abs_err == 0.0, 0.0, abs_err / tol)
                failing = (ratio > 1.0) & ~kink & ~jumps & ~no_reference & np.isfinite(gf)
            from_cs = failing & (primary.name == "complex step") & (e == primary.error) & (r == primary.value)
            if from_cs.any() and self._cs is not None:
                cs_noise = np.zeros(n)
                cs_noise[from_cs] = complex_step_noise(self.ev, pt.args, pt.x64, np.flatnonzero(from_cs),
                                                       self._cs.step)
                parts["reference"] = parts["reference"] + 2.0 * cs_noise
                tol = sum(parts.values())
                ratio = np.where(abs_err == 0.0, 0.0, abs_err / tol)
                failing = (ratio > 1.0) & ~kink & ~jumps & ~no_reference & np.isfinite(gf)
            if failing.any():
                curvature = cen.curvature[np.isfinite(cen.curvature)]
                top = float(np.max(np.abs(r[np.isfinite(r)]), initial=0.0))
                bend = float(np.max(curvature, initial=0.0))
                length = top / bend if bend > 0 else np.inf
                others = [i for i, a in enumerate(pt.args) if i != self.wrt and isinstance(a, np.ndarray)
                          and a.dtype.kind == "f" and a.size]
                measured = gradient_noise(self._grad_at(pt, others), [pt.x] + [pt.args[i] for i in others], gf,
                                          np.flatnonzero(failing), length)
                noise_bound = np.where(failing, measured.bound, 0.0)
                coarse = measured.coarse
                parts["noise"] = noise_bound
                tol = tol + noise_bound
                ratio = np.where(abs_err == 0.0, 0.0, abs_err / tol)
            if kink.any():
                ratio = np.where(kink, np.where(k_dist == 0.0, 0.0, k_dist / k_tol), ratio)
                tol = np.where(kink, k_tol, tol)
            measured = noise_bound + parts.get("backward", 0.0)
            ratio = np.where(np.isnan(ratio) | ~np.isfinite(gf), np.inf, ratio)
            ratio = np.where(no_reference | jumps, 0.0, ratio)
            # in ULPs of the reference, or of f's resolution along e_j or the reference's error bound where coarser
            # (term (d) per ulps: a reference near 0 next to an f of size 1 is judged at that scale, and its own
            # subnormal ULPs mean nothing there; an error the reference cannot resolve is no count of grad's ULPs)
            ulps = np.where((abs_err == 0.0) | no_reference | kink | jumps, 0.0,
                            abs_err / np.maximum(ulp_r, _ulp_floor(resolution, self.ulps, _central_error(e, r, cen))))
            # only a central-difference value can be too coarse to decide: SymPy's and the complex step's error
            # bounds are rounding and truncation bounds of a few ULPs (or a step's underflow bound)
            vague = (_vague(e, tol - parts["reference"], gf, r, self.ulps, eps_d) & ~kink & ~jumps & ~no_reference
                     & _decided_by_central(e, r, cen))
            # a flat central reference (all six values equal f(x), so 0) beside a failing error f may have lost in its digits
            # (at the scale of f(x) and of the entry itself: a logit of 1e150 elsewhere does not make every slope
            # invisible) resolves nothing, however small its bound (f(x) = 0 makes it tiny): unverified, and examined
            # further out (_constant_far), not blamed on grad
            lost = (cen.flat & (r == 0.0) & _decided_by_central(e, r, cen) & ~kink & ~jumps & ~no_reference
                    & (ratio > 1.0) & np.isfinite(gf) & lost_in_digits(abs_err, xf, self.ulps, cen.eps_f,
                                                       np.maximum(abs(pt.f0), np.abs(xf))))
            ratio = np.where(lost, 0.0, ratio)
            ulps = np.where(lost, 0.0, ulps)
            vague |= lost
            below_resolution = (abs_err > tol - resolution) & (ratio <= 1.0)
        unverified = np.zeros(n, dtype=np.int64)
        unverified[no_reference & ~unlocated] = np.where(cen.finite, 2, 1)[no_reference & ~unlocated]
        unverified[vague & (ratio <= 1.0)] = 2
        unverified[unlocated] = 3
        note = [""] * n
        for j in range(n):
            if kink[j]:
                note[j] = f"kink: [{cen.low[j]:.17g}, {cen.high[j]:.17g}]"
            elif jumps[j]:
                note[j] = "f jumps here (not continuous)"
            elif unverified[j]:
                note[j] = _UNVERIFIED_NOTES[unverified[j] - 1]
            elif measured[j] > 0 and abs_err[j] <= measured[j]:
                note[j] = "at rounding level (measured)"
            elif below_resolution[j]:
                note[j] = "below f's resolution"
            elif near[j]:
                note[j] = "next to a kink: ordinary derivative demanded"
        low = cen.low if cen.low is not None else np.zeros(n)
        high = cen.high if cen.high is not None else np.zeros(n)
        return _Verdict(r=r, e=e, tol=tol, parts=parts, ratio=ratio, abs_err=abs_err, ulps=ulps, kink=kink,
                        low=low, high=high, jump=jumps, unverified=unverified, noise=measured, note=note,
                        primary=primary, refs=refs, central=cen, coarse=coarse)

    def _grad_at(self, pt: _Point, others: list[int]) -> Callable[[list[np.ndarray]], np.ndarray]:
        """The gradient under test as a function of ``[args[wrt], *args[others]]`` (flat, float64)."""
        def at(values: list[np.ndarray]) -> np.ndarray:
            args = list(pt.args)
            args[self.wrt] = values[0]
            for i, v in zip(others, values[1:], strict=True):
                args[i] = v
            return _computed_gradient(self.grad, tuple(args), pt.x, self.wrt).astype(np.float64).ravel()
        return at

    # -- reporting -------------------------------------------------------------------------------

    def _details(self, pt: _Point, v: _Verdict) -> dict:
        shape = pt.x.shape
        expected = np.where(v.kink, np.clip(pt.gf, v.low, v.high), v.r)
        return {"ratio": v.ratio.reshape(shape), "reference": v.primary.name, "computed": pt.g,
                "expected": expected.reshape(shape), "args": pt.args, "tolerance": v.tol.reshape(shape),
                "unverified": (v.unverified > 0).reshape(shape), "jumps": v.jump.reshape(shape),
                "kinks": v.kink.reshape(shape),
                "near_kink": np.array([n.startswith("next to a kink") for n in v.note]).reshape(shape)}

    def _message(self, pt: _Point, v: _Verdict) -> str:
        x, g = pt.x, pt.g
        judged = ~v.jump
        failing = int(np.count_nonzero((v.ratio > 1.0) & judged))
        expected = np.where(v.kink, np.clip(pt.gf, v.low, v.high), v.r)
        dominant = np.array(list(v.parts))[np.argmax(np.stack(list(v.parts.values())), axis=0)]
        largest = np.where(v.kink, "subgradient", np.where(v.jump, "-", dominant))
        table = error_table(
            g.astype(np.float64).reshape(x.shape) if g.dtype.kind != "f" else g, expected.reshape(x.shape),
            worst=self.worst, dtype=x.dtype, order_by=np.where(v.jump, np.inf, v.ratio).reshape(x.shape),
            extra={"tolerance": v.tol.reshape(x.shape), "error/tol": v.ratio.reshape(x.shape),
                   "largest part": largest.reshape(x.shape), "note": np.array(v.note).reshape(x.shape)},
            ulp_floor=_ulp_floor(v.parts["f's resolution"], self.ulps, _central_error(v.e, v.r, v.central)).reshape(x.shape),
        )
        cen = v.central
        orders = cen.order[cen.finite & ~cen.kink & np.isfinite(cen.order)]
        observed = (f"observed order {np.median(orders):.2f}" if orders.size
                    else "differences at the rounding level: order not measurable")
        details = {ref.name: ref.detail + (f", {observed}" if ref.name == "central differences" else "")
                   for ref in v.refs}
        others = "; ".join(f"{ref.name} ({details[ref.name]})" for ref in v.refs[1:]) or "none"
        lines = []
        if v.jumps:
            lines.append(f"check_gradient: f is not continuous at {len(v.jumps)} entr"
                         f"{'y' if len(v.jumps) == 1 else 'ies'} of args[{self.wrt}], so grad cannot be its gradient "
                         "there:")
            lines.extend(f"  {text}" for text in v.jumps)
            if self.jumps_allowed:
                lines = []
            else:
                lines.append("  (a step function, floor, a piecewise definition? pass jumps='allow' to report such "
                             "entries as not differentiable instead of failing)")
        if failing:
            lines.append(
                f"check_gradient: grad is wrong at {failing} of {v.ratio.size} entries of args[{self.wrt}] "
                f"(shape {x.shape}, {x.dtype}); worst error is {float(np.max(np.where(judged, v.ratio, 0))):.3g} × "
                "the tolerance.")
        lines += [
            f"reference: {v.primary.name} ({details[v.primary.name]})",
            f"cross-checked by: {others}",
            f"tolerance per entry: {self.ulps:g} ULPs of {x.dtype} (of the reference, or of f's resolution, the term "
            f"below, or of the central differences' error bound where they decide, where that is coarser: the ULPs column "
            f"counts in that unit) "
            f"+ {self.ulps:g}·eps·|f''|·|x| (conditioning) "
            f"+ the measured rounding noise of grad (Moré–Wild, where needed) + atol {self.atol:g} "
            f"+ {self.ulps:g}·(eps·F_j + η_f)/max(1,|x_j|) (below f's resolution: F_j ≤ {v.f_scale:.3g} the largest "
            f"|f| near x along e_j, η_f = {v.eta:.3g} f's measured rounding; for 0 < |x_j| < 1 the same over "
            f"x ± |x_j|·e_j divided by |x_j| where smaller"
            + (f", the caller's f_noise {self.f_noise:.3g} where larger" if self.f_noise else "")
            + ") + 2 × the reference's error bound"
            + (" + grad's rounding measured by the caller (grad_noise)" if self.grad_noise is not None else ""),
        ]
        if self.f_error:
            lines.append(f"f is an approximation with error ≤ {self.f_error:.3g} (f_error): carried into the central "
                         "differences' error as 6·f_error/h; no complex step")
        if v.coarse:
            lines.append(f"grad's rounding noise is not excused: {v.coarse}")
        hint = _float32_cancellation_hint(pt, v, self.ulps, failing)
        if hint:
            lines.append(hint)
        if v.kink.any():
            lines.append("kinks met at entries " + str([int(i) for i in np.flatnonzero(v.kink)])
                         + " (any value in [left slope, right slope] accepted there)")
        if np.any(v.unverified):
            lines.append(f"unverified entries: {int(np.count_nonzero(v.unverified))} (see the note column)")
        lines += [
            "failing input:",
            format_arguments(pt.args),
            f"worst entries (by error / tolerance; {min(self.worst, v.ratio.size)} of {v.ratio.size} shown):",
            table,
        ]
        return "\n".join(lines)

    def report(self, seconds: float) -> GradientReport:
        # ``GradientReport(**fields)``: the frozen dataclass's ``__init__`` sets its 18 fields one by one through
        # ``object.__setattr__``, a few µs, a measurable part of a check at a small point; here they are stored at once
        # (the class has no ``__post_init__``; tests/checks/test_judge_shortcuts.py compares both)
        report = object.__new__(GradientReport)
        report.__dict__.update({
            "examples": self.examples, "worst_ratio": self.worst_ratio, "worst_ulps": self.worst_ulps,
            "worst_abs_error": self.worst_abs, "references": dict(self.decided), "cross_checks": dict(self.cross),
            "kinks": self.kinks, "kink_examples": self.kink_examples, "unverified": self.unverified,
            "vectorized": bool(self.ev.vectorized), "dtype": self.dtype, "ulps": self.ulps, "atol": self.atol,
            "seconds": seconds, "notes": tuple(self.notes), "jumps": self.jumps,
            "unverified_reasons": tuple(self.reasons), "noise_measured": self.noise_measured,
        })
        return report


def _decided_by_central(e: np.ndarray, r: np.ndarray, cen: Central) -> np.ndarray:
    """The entries whose reference value and error (``r``, ``e``: :meth:`_Checker._entrywise`) are the central
    differences'."""
    return (e == cen.error) & (r == cen.value)


def _central_error(e: np.ndarray, r: np.ndarray, cen: Central) -> np.ndarray:
    """The reference's error bound at the entries the central differences decide, 0 elsewhere: the unit an error is
    counted in where they cannot resolve the gradient's ULPs (SymPy's and the complex step's bounds are a few ULPs)."""
    return np.where(_decided_by_central(e, r, cen), e, 0.0)


def _ulp_floor(resolution: np.ndarray, ulps: float, reference_error: np.ndarray) -> np.ndarray:
    """The coarsest unit an entry's error can be counted in: f's resolution along e_j (term (d) per ``ulps``) or the
    central differences' error bound where they decide (:func:`_central_error`), where either is coarser than the reference's ULP (an error the reference cannot resolve
    is not so many ULPs of the gradient)."""
    return np.maximum(resolution / ulps, np.where(np.isfinite(reference_error), reference_error, 0.0))


def _float32_cancellation_hint(pt: _Point, v: _Verdict, ulps: float, failing: int) -> str:
    """A line for a float32 gradient judged against a float64 ``f`` whose failing errors all lie within ``ulps``
    float32 roundings of a term of size ``max(1, |f(x)|)``: what a float32 formula that cancels such terms loses — a
    real error that f resolves, with the ways to judge against f as the code under test computes it. Empty
    otherwise."""
    if not failing or pt.x.dtype != _FLOAT32 or v.central.eps_f >= _EPS32:
        return ""
    bad = (v.ratio > 1.0) & ~v.jump & ~v.kink
    worst = float(np.max(v.abs_err[bad], initial=0.0))
    limit = ulps * _EPS32 * max(1.0, abs(pt.f0))
    if not 0.0 < worst <= limit:
        return ""
    return (f"note: every failing error (at most {worst:.3g}) is within {ulps:g} float32 roundings of a term of size "
            f"max(1, |f(x)|) ({limit:.3g}): what a float32 formula that cancels terms of that size loses (softmax − "
            "onehot at saturated logits, as PyTorch's float32 cross-entropy backward computes it). f is float64 here "
            "and resolves it. If the code under test computes f in float32, check against that f (its rounding is then "
            "measured) or pass f_noise= (the rounding of one of its values)")


def _holds_coarse(g: np.ndarray, dt: np.dtype) -> bool:
    """The gradient's values are all numbers of the next coarser format (see :mod:`verify.checks._measure`)."""
    from verify.checks._measure import _holds_coarse_numbers

    return _holds_coarse_numbers(g, coarse_format(dt))


def _float32_values(f0: float, cen: Central) -> bool:
    """``f(x)`` and every finite value of ``f`` over the central-difference stack are float32 numbers, one of them
    with more than 8 significant bits (not merely a small dyadic number): ``f`` rounds its result to float32."""
    return cen.values is not None and float32_values(cen.values, f0)


def _with_f_error(cen: Central, f_error: float) -> Central:
    """The central differences of an ``f`` whose values are off by up to ``f_error`` (``f`` itself an approximation):
    the Richardson combination amplifies an error ``e`` of the values to at most ``6·e/h`` (as it does the rounding
    ``η``), added to each entry's error bound and to its one-sided limits' (a kink candidate)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        extra = np.where(cen.h > 0, 6.0 * f_error / cen.h, 0.0)
    side = None if cen.side_error is None else cen.side_error + extra
    return replace(cen, error=cen.error + extra, side_error=side)


def _noisier_than(cen: Central, level: float) -> bool:
    """``f``'s rounding level measured in its differences exceeds ``level`` (``>= 0``) at most entries (the lower
    quartile: a few entries inflated by a kink or a jump do not count)."""
    # every finite entry: where f computes in float32, its rounding makes kink candidates of all of them. That lower
    # quartile, over the finite entries, is ``cen.quartile`` (central() keeps it; 0 where every entry is infinite)
    return cen.quartile > level


_BLAMED_REACH = 16.0  # before a gradient is blamed on a ladder inside one cell: f's rounding read out to 16h (_staircase_along)
# a level confirmed along e_j within this factor of f's rounding measured at the point is that rounding, not cells (a
# staircase's cells are orders of magnitude above the rounding of its last operation: 1e-16 against 1e-30 in gelu)
_CELLS_ABOVE = 64.0
#: How far out, in units of max(1, |x_j|), f must be bitwise constant along e_j for its flat central differences to
#: resolve a slope of 0 (_Checker._constant_far): beyond the entry's own scale, so that a constant that is a rounding
#: of a slope (gelu's tail ends near 0, ReLU's at 0) never reaches it.
_FAR_REACH = 16.0


def _stencil_level(cen: Central) -> tuple[float, int]:
    """``(level, j)``: f's rounding level as its central differences suggest it, and the entry ``j`` whose stencil
    gave it — the lower quartile of the entries' own levels, over the entries that are no kink candidates (a kink
    within an entry's steps inflates its level by the kink's bend, not by rounding); where every entry is a
    candidate, the smallest of their levels (ReLU at ``[0, 1e-5, 1e-5, 1e-5]``: three entries have the kink at 0
    within their steps). Only a suggestion: a stencil that crosses a kink of f that is no candidate (relu at
    ``−1e-4`` with steps of 7.4e-4) reads as a level the size of the kink's bend; the caller measures f's rounding along
    ``e_j`` itself (:meth:`_Checker._rounding_along`). (−1, 0) where no entry has one."""
    usable = np.flatnonzero(cen.finite & ~cen.infinite)
    pool = usable[~cen.kink[usable]]
    if pool.size:
        j = int(pool[np.argsort(cen.measured[pool], kind="stable")[pool.size // 4]])
        return float(cen.measured[j]), j
    if usable.size:
        j = int(usable[np.argmin(cen.measured[usable])])
        return float(cen.measured[j]), j
    return -1.0, 0


def _not_asymptotic(cen: Central) -> np.ndarray:
    """Entries whose central differences changed beyond their rounding from step to step (the order was measured)
    but not as ``h²`` does (observed order outside (1, 3)): the steps are beyond the scale on which ``f`` varies, where
    Richardson's estimate of its own error means nothing (``sin(50x)/50`` at ``x ≈ 100`` with no complex step: steps
    of 0.07 span most of a period, and a gradient 2 % off passed at 13 of 30 points). They are examined at shrinking
    steps."""
    order = cen.order
    with np.errstate(invalid="ignore"):
        return ~np.isnan(order) & ~((order > 1.0) & (order < 3.0))


def _rough(cen: Central, eta: float = 0.0) -> np.ndarray:
    """Entries whose six central-difference values depart from a quadratic by more than 64 times f's rounding (the
    model, or ``eta`` measured along a direction): not rounding but structure below the steps (``floor(x) + x`` at
    ``3e4 + 0.5``: a staircase whose steps of 1 the central steps of 22 average into a slope of 2.1, with a
    Richardson error of 0.28 where the derivative is 1). They are examined at shrinking steps."""
    return cen.measured > 64.0 * np.maximum(cen.model, eta)


def _vague(e: np.ndarray, rest: np.ndarray, g: np.ndarray, r: np.ndarray, ulps: float, eps_d: float) -> np.ndarray:
    """Entries whose reference cannot tell the computed value from 0 or from twice itself:
    ``2e > max(rest of the tolerance, |g|/2, ulps·eps_d·S)``, ``S`` the largest |entry| of g or r at the point (a
    reference error below the rounding of the gradient's own scale resolves every entry)."""
    with np.errstate(invalid="ignore"):
        both = np.concatenate([np.abs(g[np.isfinite(g)]), np.abs(r[np.isfinite(r)])])
    scale = ulps * eps_d * float(both.max(initial=0.0))
    return 2.0 * e > np.maximum(np.maximum(rest, 0.5 * np.abs(g)), scale)


def _index(shape: tuple, flat: int) -> str:
    return str(list(int(i) for i in np.unravel_index(int(flat), shape))) if shape else "[]"


# ---------------------------------------------------------------------------------------------
# the public checker


def _is_strategy(inputs: object) -> bool:
    if type(inputs) is tuple:  # one point (the common case), without the import below
        return False
    try:
        from hypothesis.strategies import SearchStrategy
    except ImportError:  # pragma: no cover - hypothesis is a core dependency
        return False
    return isinstance(inputs, SearchStrategy)


def _search_settings(max_examples: int | None):
    """The active profile's settings, without a deadline (a slow f is not a failure), without Hypothesis'
    replay blob and explanation (the failure message already shows the shrunk input in full)."""
    from hypothesis import HealthCheck, Phase, settings

    base = settings()
    return settings(
        base, deadline=None, print_blob=False, report_multiple_bugs=False,
        phases=tuple(p for p in base.phases if p is not Phase.explain),
        suppress_health_check=(*base.suppress_health_check, HealthCheck.too_slow, HealthCheck.data_too_large),
        **({} if max_examples is None else {"max_examples": max_examples}),
    )


class _Progress:
    """Progress of a long search on stderr: silent for the first 2 s, and under pytest (captured output)."""

    def __init__(self, total: int, description: str) -> None:
        self.total = total
        self.description = description
        self.began = time.perf_counter()
        self.bar = None
        self.count = 0
        self.enabled = not os.environ.get("PYTEST_CURRENT_TEST")

    def tick(self) -> None:
        self.count += 1
        if not self.enabled:
            return
        if self.bar is None:
            if time.perf_counter() - self.began < 2.0:
                return
            from verify._progress import Progress

            self.bar = Progress(self.total, self.description).__enter__()
        self.bar.start(f"example {self.count}")
        self.bar.done(f"example {self.count}", "ok")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _search(checker: _Checker, strategy: Any, max_examples: int | None) -> None:
    __tracebackhide__ = True
    from hypothesis import given, target

    chosen = _search_settings(max_examples)
    progress = _Progress(chosen.max_examples, "check_gradient search")

    @chosen
    @given(strategy)
    def search(point: Sequence) -> None:
        __tracebackhide__ = True
        result = checker.check_point(point)
        progress.tick()
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
    try:
        search()
    except CheckFailure as failure:
        raise _without_search_frames(failure) from None
    finally:
        progress.close()


def _without_search_frames(failure: CheckFailure) -> CheckFailure:
    """The failure as the checker's own: Hypothesis' frames and notes dropped (the message already shows the
    shrunk input in full), one line saying it was found and shrunk by the search."""
    failure.__notes__ = ["(found by a Hypothesis search and shrunk; the failing input is the one shown above)"]
    return failure.with_traceback(None)


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
    jumps: str = "fail",
    f_error: float = 0.0,
    grad_noise: np.ndarray | None = None,
    f_noise: float = 0.0,
) -> GradientReport:
    """Check that ``grad(*args)`` is the gradient of ``f(*args)`` with respect to ``args[wrt]``.

    Args:
      f: ``f(*args) -> float``. Written with NumPy ufuncs it usually also accepts complex input
        (enabling the complex-step reference) and a leading batch axis (one call per point).
      grad: ``grad(*args) -> array`` shaped like ``args[wrt]``; its accuracy is judged in the dtype
        of ``args[wrt]`` (float32 or float64).
      inputs: one point, a tuple ``(arg0, arg1, …)``, or a Hypothesis strategy of such tuples. Every argument
        may hold ``±inf`` where ``f`` is finite (masked logits); a NaN in any floating argument is a ``ValueError``
        naming the argument and its index.
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
      jumps: ``"fail"`` (default): a point where ``f`` is not continuous fails the check; ``"allow"``: such
        entries are reported as not differentiable and not judged.
      f_error: an absolute bound on the error of each value of ``f`` near the point, for an ``f`` that is itself
        an approximation (``check_hessian`` passes a directional derivative computed by differences); carried
        into the central differences' error bound (``6·f_error/h``) and into the rounding level kinks are located
        at. Default 0: ``f`` is exact up to its rounding. An ``f`` with ``f_error > 0`` is not differentiated by
        the complex step (``reference="complex step"`` with it is a ValueError).
      grad_noise: an absolute bound per entry (shaped like ``args[wrt]``, finite, ``>= 0``) on the rounding error
        of ``grad`` at the point, measured by the caller where the judge cannot (``check_vjp`` measures a VJP's
        along its cotangent, which it is linear in); added to each entry's tolerance. One point only (not with a
        strategy).
      f_noise: an absolute bound on the rounding error of one value of ``f`` as the code under test computes it,
        measured or derived by the caller where the judge cannot see it: the judge evaluates ``f`` on the float64
        promotion of ``args[wrt]``, so the rounding of a function that computes in float32 is not in its values,
        and a scalarisation ``⟨u, f⟩`` whose terms cancel has a rounding of its terms' size, not its value's
        (``check_vjp`` passes both). Used in term (d), as ``η_f`` where it is larger than the level measured, and as
        the least rounding level at which kinks and jumps are located (the code under test shows none below its
        rounding); the references are unchanged. Default 0. One point only (not with a strategy).

    Returns:
      A :class:`GradientReport` (examples tried, worst error, references used, kinks met, unverified
      entries with the reason and the remedy).

    Raises:
      CheckFailure: the gradient is wrong at some entry (or ``f`` jumps there); the message shows the
        (shrunk) input, the reference and the worst entries.
      TypeError / ValueError: bad arguments (``f`` returns a non-scalar, ``grad`` has the wrong shape,
        a NaN input, ``wrt`` out of range), never reported as a wrong gradient.

    >>> import numpy as np
    >>> report = check_gradient(lambda x: np.sum(np.sin(x), axis=-1), np.cos, (np.array([0.5, 2.0]),))
    >>> report.examples, report.references["complex step"]
    (1, 1)
    """
    __tracebackhide__ = True
    if not callable(f) or not callable(grad):
        raise TypeError(f"f and grad must be callables; got {type(f).__name__} and {type(grad).__name__}")
    if reference not in _REFERENCE_CHOICES:
        raise ValueError(f"reference must be one of {_REFERENCE_CHOICES}; got {reference!r}")
    if reference == "sympy" and sympy_expr is None:
        raise ValueError("reference='sympy' needs sympy_expr=")
    jumps_choice(jumps)
    if type(wrt) is not int and (isinstance(wrt, (bool, np.bool_)) or not isinstance(wrt, numbers.Integral)):
        raise TypeError(f"wrt must be an integer index into the arguments; got {wrt!r}")
    # the common case: every numeric option a finite float >= 0 or a positive int (what _number's first test passes);
    # otherwise each one is checked below, in this order, or a ValueError names it
    common = (type(ulps) is float and type(atol) is float and type(f_error) is float and type(f_noise) is float
              and type(worst) is int and max_examples is None and 0.0 <= ulps < math.inf and 0.0 <= atol < math.inf
              and 0.0 <= f_error < math.inf and 0.0 <= f_noise < math.inf and worst >= 1)
    if not common:
        ulps, atol, worst, max_examples = _judge_options(ulps, atol, worst, max_examples)
        f_error = _number(f_error, "f_error")
    if reference == "complex step" and f_error:
        raise ValueError(f"reference='complex step' cannot differentiate an approximate f (f_error={f_error!r})")
    noise = None
    if grad_noise is not None:
        noise = np.array(grad_noise, dtype=np.float64)
        if not (np.all(np.isfinite(noise)) and np.all(noise >= 0)):
            raise ValueError(f"grad_noise must be finite and >= 0 in every entry; got {grad_noise!r}")
        if _is_strategy(inputs):
            raise ValueError("grad_noise is measured at one point: it cannot go with a strategy of points")
    if not common:
        f_noise = _number(f_noise, "f_noise")
    if f_noise and _is_strategy(inputs):
        raise ValueError("f_noise is measured at one point: it cannot go with a strategy of points")
    wrt = int(wrt)
    checker = _Checker(  # the fields without defaults in their order: positional, a few µs less per check
        f, grad, wrt, ulps, atol, reference, worst, jumps == "allow",
        SympyReference(sympy_expr, wrt) if sympy_expr is not None else None, Evaluator(f, wrt, vectorized),
        f_error=f_error,
        grad_noise=None if noise is None else noise.ravel(), grad_noise_shape=None if noise is None else noise.shape,
        f_noise=f_noise,
    )
    start = time.perf_counter()
    if _is_strategy(inputs):
        warm_up()  # compile before the search
        warm_up_point()
        _search(checker, inputs, max_examples)
    else:
        checker.check_point(inputs)
    return checker.report(time.perf_counter() - start)
