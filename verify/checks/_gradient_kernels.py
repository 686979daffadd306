"""The arithmetic of ``check_gradient`` (central-difference reference, judging), compiled with Numba.

The formulas are those of :mod:`verify.checks.gradient` (its module docstring states and justifies them);
this module only evaluates them entry by entry in one compiled pass instead of some eighty NumPy calls on
arrays of a few dozen entries, whose call overhead dominated a check of a small gradient. The IEEE
operations and their order are the NumPy version's, so the results are the same floats (``log2``
may differ by an ULP between libm and NumPy's; the observed order it gives is only compared with 1 and 3).

Layout: level ``l ∈ {0, 1, 2}`` is the step ``h/2^l``; sign ``s ∈ {0, 1}`` is ``+h`` / ``−h``.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from verify._jit import jit

__all__ = ["underflow_unit", "perturbed_points", "central_estimates", "complex_points", "complex_step_estimates", "judge_smooth",
           "warm_up", "finite_perturbed_points", "finite_complex_points"]

_kernel = jit(error_model="numpy")  # divisions by 0 give ±inf/NaN as in NumPy, never an exception


@_kernel
def _maximum(a, b):
    """``numpy.maximum`` of two scalars: NaN if either is NaN."""
    if a != a or b != b:
        return np.nan
    return a if a > b else b


@_kernel
def _minimum(a, b):
    """``numpy.minimum`` of two scalars: NaN if either is NaN."""
    if a != a or b != b:
        return np.nan
    return a if a < b else b


@_kernel
def underflow_unit(eps_f):
    """The absolute rounding unit below the normal range of the format whose machine epsilon is ``eps_f``: its
    smallest subnormal, ``eps_f·tiny`` (float64 ``2⁻¹⁰⁷⁴``, float32 ``2⁻¹⁴⁹``). With gradual underflow every operation
    rounds as ``fl(a ∘ b) = (a ∘ b)(1 + δ) + η``, ``|δ| ≤ eps/2``, ``|η| ≤ that unit / 2`` (Higham, *Accuracy and
    Stability of Numerical Algorithms*, 2nd ed., §2.1): a value of ``f`` made of subnormal terms is off by whole
    units of it, however small ``eps·|f|`` is."""
    if eps_f <= 2.0**-52:
        return 2.0**-1074
    if eps_f <= 2.0**-23:
        return 2.0**-149
    return 2.0**-24  # float16: eps 2⁻¹⁰, smallest subnormal 2⁻²⁴


@_kernel
def lowest_bit(v):
    """The largest power of 2 that divides the finite nonzero float64 ``v`` (the spacing of the coarsest grid it lies
    on): ``2^(e − 53)`` times the lowest set bit of its 53-bit significand."""
    m, e = math.frexp(abs(v))
    digits = np.int64(m * 9007199254740992.0)  # 2**53: the significand as an integer
    return math.ldexp(float(digits & -digits), e - 53)


@_kernel
def _lowest_bit_read(v, scratch, bits):
    """:func:`lowest_bit` read off the bits of ``v`` (``scratch``: a float64 array of one element, ``bits``: its int64
    view), without the ``frexp`` and ``ldexp`` calls that cost most of :func:`central_estimates` (seven per entry). The
    same float: ``|v| = M·2^e`` with ``M`` the integer significand (the hidden bit set; a subnormal's own bits, with
    ``e = −1074``), and the largest power of 2 dividing it is ``(M & −M)·2^e``, a product of powers of 2 that is
    representable (it divides ``v``), so exact."""
    scratch[0] = abs(v)
    b = bits[0]
    field = b >> 52
    significand = b & 0xFFFFFFFFFFFFF
    e = -1074
    if field:
        significand |= 0x10000000000000
        e = field - 1075
    bits[0] = (e + 1023) << 52 if e >= -1022 else np.int64(1) << (e + 1074)  # 2^e, normal or subnormal
    return float(significand & -significand) * scratch[0]


@_kernel
def _value_grid(v, f0, j, grid0, scratch, bits):
    """The grid the values of entry ``j`` (its six central-difference values and ``f(x)``) lie on: the largest power of
    2 dividing every nonzero one — where every one of the six differs from ``f(x)`` (f moves at every step on both
    sides, as a cancelling sum does); else 0. A side on which ``f`` does not move at all (a ReLU off, a step
    function's flat piece, an exactly constant term next to a jump) says nothing of rounding: its few-bit values
    (0, 1) are exact, and taking their grid as rounding would hide a jump of 1. ``grid0``: that of ``f(x)`` alone
    (``inf`` where it is 0 or not finite), the same for every entry; ``scratch``, ``bits``: see
    :func:`_lowest_bit_read`."""
    grid = grid0
    for level in range(3):
        for s in range(2):
            x = v[level, s, j]
            if x == f0 or not np.isfinite(x):
                return 0.0
            if x != 0.0:
                grid = min(grid, _lowest_bit_read(x, scratch, bits))
    if not np.isfinite(grid):
        return 0.0
    return grid


@_kernel
def perturbed_points(flat, step0):
    """``(h, taken, stack)`` for the central differences around ``flat`` (n,).

    ``h[l, j] = step0·max(1, |x_j|) / 2^l``; ``taken[l, s, j] = fl(x_j ± h[l, j]) − x_j``, the steps actually
    taken; ``stack`` (6n + 1, n): row 0 is ``flat``, row ``1 + (2l + s)·n + j`` is ``flat`` with entry ``j``
    moved by ``±h[l, j]``.
    """
    n = flat.shape[0]
    h = np.empty((3, n))
    taken = np.empty((3, 2, n))
    stack = np.empty((6 * n + 1, n))
    _fill_perturbed(flat, step0, h, taken, stack)
    return h, taken, stack


@_kernel
def _every_row(flat, stack):
    """``stack[p] = flat`` for every row ``p``, in the stack's memory order: down each column where the points are
    innermost (Fortran order), else row by row (element by element: faster than a row slice assignment here)."""
    if stack.strides[0] < stack.strides[1]:
        for j in range(stack.shape[1]):
            for p in range(stack.shape[0]):
                stack[p, j] = flat[j]
    else:
        for p in range(stack.shape[0]):
            for j in range(stack.shape[1]):
                stack[p, j] = flat[j]


@_kernel
def _fill_perturbed(flat, step0, h, taken, stack):
    """:func:`perturbed_points` written into ``h`` (3, n), ``taken`` (3, 2, n) and ``stack`` (6n + 1, n)."""
    n = flat.shape[0]
    _every_row(flat, stack)
    for j in range(n):
        base = step0 * max(1.0, abs(flat[j]))
        for level in range(3):
            h[level, j] = base / (1.0, 2.0, 4.0)[level]
            for s in range(2):
                sign = 1.0 if s == 0 else -1.0
                moved = flat[j] + h[level, j] * sign
                taken[level, s, j] = moved - flat[j]
                stack[1 + (2 * level + s) * n + j, j] = moved


@_kernel
def finite_perturbed_points(flat, step0):
    """The test for infinite entries and :func:`perturbed_points`, in one call: ``(infinite, count, h, taken, stack)``,
    ``infinite[j]`` whether ``flat[j]`` is not finite (``~numpy.isfinite``) and ``count`` how many are; the points are
    built only where every entry is finite (``count == 0``; else the arrays are empty: the caller perturbs the finite
    entries alone)."""
    n = flat.shape[0]
    infinite = np.empty(n, dtype=np.bool_)
    count = 0
    for j in range(n):
        infinite[j] = not np.isfinite(flat[j])
        if infinite[j]:
            count += 1
    if count:
        return infinite, count, np.empty((3, 0)), np.empty((3, 2, 0)), np.empty((0, 0))
    h, taken, stack = perturbed_points(flat, step0)
    return infinite, count, h, taken, stack


@_kernel
def _noise_measured(d, h0):
    """``|D(h) − 5 D(h/2) + 4 D(h/4)|·h/27`` per entry, 0 where not finite."""
    n = d.shape[1]
    measured = np.empty(n)
    for j in range(n):
        m = abs(d[0, j] - 5.0 * d[1, j] + 4.0 * d[2, j]) * h0[j] / 27.0
        measured[j] = m if np.isfinite(m) else 0.0
    return measured


@_kernel
def _median_of_sorted(s):
    k = s.size // 2
    return s[k] if s.size % 2 else (s[k - 1] + s[k]) / 2.0


@_kernel
def _median(values):
    return _median_of_sorted(np.sort(values))


@_kernel
def _jump_sizes(v, f0, j, model):
    """``(J₊, J₋)``: the jumps of ``f`` at ``x`` that entry ``j``'s stencil suggests on its ``+`` and ``−`` side (0 where
    it suggests none), whatever the rounding level the other entries suggest — a row of jumps at the point sets their
    lower quartile, and the kink test then reads each jump as rounding (``floor(z) + z²`` with five of six entries at
    integers). The caller confirms a suggestion closer in (:func:`verify.checks._measure.jumps_at_point`): a function
    varying on a scale below the step (a layer norm of inputs 1e8 ± 1, steps of 7e4) gives the same stencil.

    On each side the offsets ``a_l = ±(f(x ± h_l e_j) − f(x))`` at ``h_l = h, h/2, h/4`` are, for a smooth ``f``,
    ``f'·h_l + c·h_l² + …``; a jump ``J`` on that side adds ``J`` to all three. The affine fit through the two finer
    offsets meets ``h = 0`` at ``A = 2a₂ − a₁`` (``J``, or ``−c·h²/16`` without one) and misses the coarsest by
    ``r = a₀ − 3a₁ + 2a₂`` (``3c·h²/16``): a side suggests ``J = A`` where ``|A|`` is 64× both ``|r|`` and ``model``,
    the rounding of one value. Rounding noise gives ``A`` and ``r`` alike of its size; a kink (offsets affine on each
    side) gives ``A = 0``."""
    sizes = [0.0, 0.0]
    for s in range(2):
        sign = 1.0 if s == 0 else -1.0
        a0 = sign * (v[0, s, j] - f0)
        a1 = sign * (v[1, s, j] - f0)
        a2 = sign * (v[2, s, j] - f0)
        intercept = 2.0 * a2 - a1
        if abs(intercept) > 64.0 * abs(a0 - 3.0 * a1 + 2.0 * a2) and abs(intercept) > 64.0 * model:
            sizes[s] = intercept
    return sizes[0], sizes[1]


__all__ += ["stencil_jumps"]


@_kernel
def stencil_jumps(v, f0, eps_f, kink, finite):
    """``(2, n)``: :func:`_jump_sizes` of every finite entry that is no kink candidate (0 elsewhere), with the model
    ``8·(eps_f·F_j + u)`` of :func:`central_estimates`."""
    n = v.shape[2]
    out = np.zeros((2, n))
    largest = largest_values(v, f0)
    underflow = underflow_unit(eps_f)
    for j in range(n):
        if finite[j] and not kink[j]:
            out[0, j], out[1, j] = _jump_sizes(v, f0, j, 8.0 * (eps_f * largest[j] + underflow))
    return out


@_kernel
def central_estimates(v, taken, h, f0, eps_f, forced):
    """The central-difference reference from ``v[l, s, j] = f(x ± h_l e_j)``; the entries ``forced`` are kink
    candidates whatever their stencil says (jumps at the point, confirmed: :func:`_jump_sizes`).

    Returns ``(estimates, kink, finite, candidates, quartile, suggests)``: ``estimates`` (12, n) holds the rows value
    (Richardson ``R(h/4..h/2)``), error, low, high, side_error, curvature, order, third, noise (the rounding
    level ``e`` of one value of ``f`` used for the entry's error), flat (1 where all six values equal ``f(x)``:
    the differences resolved nothing), model (``8·(eps_f·max|f| + u)``, ``u`` the format's underflow unit) and measured (the entry's own rounding level
    from its differences); ``candidates`` says whether any entry was a kink candidate (low, high and
    side_error mean nothing otherwise); ``quartile`` is the lower quartile of the measured rounding levels
    (robust to the few entries a kink or jump inflates); ``suggests`` whether the stencil of an entry that is no
    kink candidate suggests a jump at the point (:func:`_jump_sizes`, :func:`stencil_jumps`).

    The kink test uses the rounding level ``max(model, lower quartile of measured)``: a jump or a curved kink
    inflates its own entry's measured level (and, among few entries, the median), which must not hide it.
    """
    n = v.shape[2]
    out = np.empty((12, n))
    kink = np.empty(n, dtype=np.bool_)
    finite = np.empty(n, dtype=np.bool_)
    candidates, quartile, suggests = _central_estimates_into(v, taken, h, f0, eps_f, forced, out, kink, finite)
    return out, kink, finite, candidates, quartile, suggests


@_kernel
def _central_estimates_into(v, taken, h, f0, eps_f, forced, out, kink, finite):
    """:func:`central_estimates` written into ``out`` (12, n), ``kink`` and ``finite`` (n,): returns ``(candidates,
    quartile, suggests)``."""
    n = v.shape[2]
    d = np.empty((3, n))
    eta = np.empty(n)
    largest_of = np.empty(n)
    underflow = underflow_unit(eps_f)
    scratch = np.empty(1)
    bits = scratch.view(np.int64)
    grid0 = lowest_bit(f0) if f0 != 0.0 and np.isfinite(f0) else np.inf
    for j in range(n):
        ok = True
        largest = abs(f0)
        for level in range(3):
            for s in range(2):
                x = v[level, s, j]
                ok = ok and np.isfinite(x)
                largest = _maximum(largest, abs(x))
            d[level, j] = (v[level, 0, j] - v[level, 1, j]) / (taken[level, 0, j] - taken[level, 1, j])
        finite[j] = ok
        # the model, or the grid the entry's values lie on where it is coarser: a sum of terms of size M that cancels
        # to a small value (Σ tanh at ±14: 3e-14 from terms ±1) is a multiple of ulp(M), and carries that rounding,
        # not eps·|f| (one value's rounding is up to a spacing of that grid: its terms', summed exactly)
        largest_of[j] = largest
        eta[j] = _maximum(8.0 * (eps_f * largest + underflow), _value_grid(v, f0, j, grid0, scratch, bits))
    measured = _noise_measured(d, h[0])
    ordered = np.sort(measured)  # one sort for the median and the lower quartile
    pooled = 4.0 * _median_of_sorted(ordered)
    quartile = ordered[n // 4]
    candidates = False
    suggests = False
    sided = np.empty((3, 2))  # the one-sided slopes of entry j (every element written before it is read)
    for j in range(n):
        e = _maximum(_maximum(eta[j], measured[j]), pooled)
        for level in range(3):
            for s in range(2):
                sign = 1.0 if s == 0 else -1.0
                sided[level, s] = (v[level, s, j] * sign - f0 * sign) / (taken[level, s, j] * sign)
        r0 = (4.0 * d[1, j] - d[0, j]) / 3.0
        r1 = (4.0 * d[2, j] - d[1, j]) / 3.0
        error = abs(r0 - r1) + 6.0 * e / h[0, j]
        d12 = abs(d[0, j] - d[1, j])
        d23 = abs(d[1, j] - d[2, j])
        order = np.log2(d12 / d23)
        resolved = d23 > 4.0 * e / h[2, j]
        if not resolved:
            order = np.nan
        elif not (order > 1.0 and order < 3.0):
            error = _maximum(error, d23)
        jump0 = abs(sided[0, 0] - sided[0, 1])
        jump2 = abs(sided[2, 0] - sided[2, 1])
        e_kink = _maximum(eta[j], quartile)
        noise0 = 4.0 * e / h[0, j]
        noise2 = 4.0 * e_kink / h[2, j]
        is_kink = (jump2 > 8.0 * noise2) and (jump2 > 0.5 * jump0)
        candidates = candidates or is_kink or forced[j]
        right = 2.0 * sided[2, 0] - sided[1, 0]
        left = 2.0 * sided[2, 1] - sided[1, 1]
        side_error = (abs(right - (2.0 * sided[1, 0] - sided[0, 0])) + abs(left - (2.0 * sided[1, 1] - sided[0, 1]))
                      + 2.0 * noise2)
        is_kink = (is_kink and abs(right - left) > side_error) or forced[j]
        if not is_kink and finite[j] and not suggests:
            plus, minus = _jump_sizes(v, f0, j, 8.0 * (eps_f * largest_of[j] + underflow))
            suggests = plus != 0.0 or minus != 0.0
        curvature = _maximum(jump0 - noise0, 0.0) / h[0, j]
        third = 8.0 * (d12 + 2.0 * e / h[0, j]) / h[0, j] ** 2
        if is_kink:
            curvature = 0.0
        if is_kink or not finite[j]:
            third = 0.0
        kink[j] = is_kink and finite[j]
        out[0, j] = r1
        out[1, j] = error
        out[2, j] = _minimum(left, right)
        out[3, j] = _maximum(left, right)
        out[4, j] = side_error
        out[5, j] = curvature
        out[6, j] = order
        out[7, j] = third
        out[8, j] = e
        flat = True
        for level in range(3):
            for s in range(2):
                flat = flat and v[level, s, j] == f0
        out[9, j] = 1.0 if flat else 0.0
        out[10, j] = eta[j]
        out[11, j] = measured[j]
    return candidates, quartile, suggests


_FLOAT32_MAX = float(np.finfo(np.float32).max)


@_kernel
def float32_values(values, f0):
    """Whether ``f(x) = f0`` and every finite value of ``values`` (f over the central-difference stack) are float32
    numbers, one of them with more than 8 significant bits (not merely a small dyadic number): ``f`` rounds its result
    to float32. ``f0`` finite. A value beyond float32's range is no float32 number (its cast would be ``inf``); the
    test of more than 8 bits is that ``2⁸`` times its significand (``frexp``) is no integer. Values that are all
    integers below ``2²³``, where float32 also holds fractions, say nothing of float32: f is integer-valued there
    (``floor(x)`` at ``1e6 + 0.5``, a count). (A coarser grid in general is no such sign: a float32 computation that
    cancels leaves values with low bits 0.)"""
    if not abs(f0) <= _FLOAT32_MAX or np.float64(np.float32(f0)) != f0:
        return False
    wide = False
    fraction = False
    largest = 0.0
    flat = values.ravel()
    for k in range(flat.size + 1):
        v = flat[k] if k < flat.size else f0
        if not np.isfinite(v):
            continue
        if abs(v) > _FLOAT32_MAX or np.float64(np.float32(v)) != v:
            return False
        largest = _maximum(largest, abs(v))
        fraction = fraction or v != math.floor(v)
        if v != 0.0 and not wide:
            m = math.frexp(v)[0] * 256.0
            wide = m != math.floor(m)
    return wide and (fraction or largest >= 2.0**23)


# -- check_gradient's straight path (verify.checks.gradient._Checker._straight) --------------------------------------
# Its kernels write into arrays the caller allocates and return scalars only: handing a new array back to Python
# costs Numba some 2 µs (the array object built, its dtype looked up through a Python call), a dozen times a point,
# where NumPy allocates one in 0.2 µs. The float64 arrays of a point share one allocation, ``work`` (25, n), by rows:
STRAIGHT_H, STRAIGHT_TAKEN, STRAIGHT_EST, STRAIGHT_OUT, STRAIGHT_STEP, STRAIGHT_ROWS = 0, 3, 9, 21, 24, 25
# h (3, n) | taken (3·2, n) | central_estimates' rows (12, n) | ratio, error, ULPs (3, n) | the complex steps (1, n);
# the flags (2, n) hold kink and finite.
#: judge_straight's outcome where the complex step has more to do than its one stack (a tiny entry, Im f = 0).
FAST_REFINE = 3
__all__ += ["float32_values", "straight_points", "central_point", "judge_straight", "FAST_REFINE", "STRAIGHT_H",
            "STRAIGHT_TAKEN", "STRAIGHT_EST", "STRAIGHT_OUT", "STRAIGHT_STEP", "STRAIGHT_ROWS"]


@_kernel
def _taken_of(work):
    n = work.shape[1]
    return work[STRAIGHT_TAKEN:STRAIGHT_EST].reshape((3, 2, n))


@_kernel
def straight_points(flat, step0, work, stack):
    """:func:`finite_perturbed_points` into ``work``'s rows ``h`` and ``taken`` and into ``stack`` (6n + 1, n): returns how
    many entries of ``flat`` are not finite; the points are written only where none is."""
    count = 0
    for j in range(flat.shape[0]):
        if not np.isfinite(flat[j]):
            count += 1
    if count == 0:
        _fill_perturbed(flat, step0, work[STRAIGHT_H:STRAIGHT_TAKEN], _taken_of(work), stack)
    return count


@_kernel
def central_point(v, work, f0, eps_f, flags, flat, cs_step, points):
    """:func:`central_estimates` into ``work``'s rows ``est`` and ``flags`` (kink, finite), and :func:`float32_values`;
    where neither says that f computes in float32 nor its rounding is above float64's (the lower quartile of the
    measured levels beyond ``64·eps_f·|f0|``: check_gradient's float32 test decides then) and ``points`` is not empty,
    :func:`complex_points` into ``work``'s row ``step`` and ``points`` (n, n). Returns ``(candidates, quartile,
    float32, smallest, suggests)``, ``smallest`` the least ``|x_j|`` (NaN where no complex points were written),
    ``suggests`` as :func:`central_estimates` says it (no entry forced)."""
    forced = np.zeros(v.shape[2], dtype=np.bool_)
    candidates, quartile, suggests = _central_estimates_into(v, _taken_of(work), work[STRAIGHT_H:STRAIGHT_TAKEN], f0,
                                                             eps_f, forced, work[STRAIGHT_EST:STRAIGHT_OUT], flags[0],
                                                             flags[1])
    float32 = float32_values(v, f0)
    smallest = np.nan
    if not float32 and not quartile > 64.0 * eps_f * abs(f0) and points.shape[0]:
        smallest = np.inf
        for j in range(flat.shape[0]):
            smallest = min(smallest, abs(flat[j]))
        _fill_complex(flat, cs_step, work[STRAIGHT_STEP], points)
    return candidates, quartile, float32, smallest, suggests


@_kernel
def judge_smooth(g, r, ulp_r, curvature, x, reference_error, usable, ulps, eps_d, atol, resolution):
    """``(ratio, abs_error, ulps_off, tolerance)`` per entry where no entry is a kink, and their maxima
    ``(worst_ratio, worst_ulps, worst_abs_error)`` (the last over the usable entries).

    ``tolerance = ulps·ulp(r) + ulps·eps_d·|f''|·|x| + atol + 2·reference_error + resolution`` (the last: term (d),
    below f's resolution, per entry; the module docstring of
    :mod:`verify.checks.gradient`); ``ratio = |g − r| / tolerance``, 0 where ``g == r`` or the entry is not
    usable, ``+inf`` where it is NaN or ``g`` is not finite; ``ulps_off = |g − r| / ulp(r)``, 0 where exact
    or not usable.
    """
    n = g.shape[0]
    ratio = np.empty(n)
    abs_error = np.empty(n)
    ulps_off = np.empty(n)
    tolerance = np.empty(n)
    scale = ulps * eps_d
    worst_ratio = 0.0
    worst_ulps = 0.0
    worst_abs = 0.0
    for j in range(n):
        tol = ulps * ulp_r[j] + scale * curvature[j] * abs(x[j]) + atol + 2.0 * reference_error[j] + resolution[j]
        err = abs(g[j] - r[j])
        q = err / tol
        if err == 0.0:
            q = 0.0
        if q != q or not np.isfinite(g[j]):
            q = np.inf
        off = err / ulp_r[j]
        if err == 0.0 or not usable[j]:
            off = 0.0
        if not usable[j]:
            q = 0.0
        ratio[j] = q
        abs_error[j] = err
        ulps_off[j] = off
        tolerance[j] = tol
        worst_ratio = _maximum(worst_ratio, q)
        worst_ulps = _maximum(worst_ulps, off)
        worst_abs = _maximum(worst_abs, err if usable[j] else 0.0)
    return ratio, abs_error, ulps_off, tolerance, worst_ratio, worst_ulps, worst_abs


@_kernel
def complex_points(flat, cs_step):
    """``(step, stack)`` for the complex step: ``step_j = cs_step·max(1, |x_j|)`` and ``stack`` (n, n), row
    ``j`` = ``flat + i·step_j·e_j``."""
    n = flat.shape[0]
    step = np.empty(n)
    stack = np.empty((n, n), dtype=np.complex128)
    _fill_complex(flat, cs_step, step, stack)
    return step, stack


@_kernel
def _fill_complex(flat, cs_step, step, stack):
    """:func:`complex_points` written into ``step`` (n,) and ``stack`` (n, n)."""
    n = flat.shape[0]
    _every_row(flat, stack)
    for j in range(n):
        step[j] = cs_step * max(1.0, abs(flat[j]))
        stack[j, j] += 1j * step[j]


@_kernel
def finite_complex_points(flat, cs_step):
    """The test for infinite entries and :func:`complex_points`, in one call: ``(count, smallest, step, stack)``,
    ``count`` the number of entries of ``flat`` that are not finite and ``smallest`` the least ``|x_j|``; the points are
    built only where every entry is finite (``count == 0``; else ``smallest`` is NaN and the arrays are empty)."""
    n = flat.shape[0]
    count = 0
    smallest = np.inf
    for j in range(n):
        if not np.isfinite(flat[j]):
            count += 1
        smallest = min(smallest, abs(flat[j]))
    if count:
        return count, np.nan, np.empty(0), np.empty((0, 0), dtype=np.complex128)
    step, stack = complex_points(flat, cs_step)
    return count, smallest, step, stack


@_kernel
def complex_step_estimates(imag, step, value, error, third, smooth, eps):
    """``(cs, cs_error, first_disagreement)`` from ``imag[j] = Im f(x + i·step_j·e_j)``.

    ``cs = imag/step``; its error ``4·eps·|cs| + step²·|f'''|/6`` (rounding, no cancellation; truncation);
    ``first_disagreement`` is the first smooth entry where ``|cs − value| > 4·error + 64·eps·|value|``
    against the central differences (``value``, ``error``), or −1.
    """
    n = imag.shape[0]
    cs = np.empty(n)
    cs_error = np.empty(n)
    first = -1
    for j in range(n):
        c = imag[j] / step[j]
        cs[j] = c
        cs_error[j] = 4.0 * eps * abs(c) + step[j] ** 2 * third[j] / 6.0
        agrees = abs(c - value[j]) <= 4.0 * error[j] + 64.0 * eps * abs(value[j])
        if first < 0 and smooth[j] and not agrees:
            first = j
    return cs, cs_error, first


@functools.cache
def warm_up() -> None:
    """Compile (or load from the cache) every kernel here for the argument types ``check_gradient`` passes,
    so that the first example of a Hypothesis search is not charged the compilation (its deadline)."""
    flat = np.zeros(1)
    h, taken, stack = perturbed_points(flat, 1e-3)
    values = np.ones(7)
    estimates, _, finite, _, _, _ = central_estimates(values[1:].reshape(3, 2, 1), taken, h, 1.0, 2.0**-52,
                                                      np.zeros(1, dtype=np.bool_))
    stencil_jumps(values[1:].reshape(3, 2, 1), 1.0, 2.0**-52, np.zeros(1, dtype=np.bool_), finite)
    judge_smooth(flat, estimates[0], np.ones(1), estimates[5], flat, estimates[1], finite, 32.0, 2.0**-52, 0.0, flat)
    step, points = complex_points(flat, 1e-20)
    finite_perturbed_points(flat, 1e-3)
    finite_complex_points(flat, 1e-20)
    complex_step_estimates(points[:, 0].imag.copy(), step, estimates[0], estimates[1], estimates[7], finite, 2.0**-52)


# -- term (d) and the judgement of a smooth point in one call: check_gradient's fast path -------------------------
__all__ += ["largest_values", "resolution_terms", "own_scale_terms", "judge_smooth_point", "complex_step_reference", "warm_up_point"]


@_kernel
def largest_values(values, f0):
    """``F_j`` of term (d), below f's resolution (module docstring of :mod:`verify.checks.gradient`): the largest
    ``|f|`` over ``f(x)`` and entry ``j``'s central-difference values ``values[l, s, j]`` (a value that is not
    finite counts as 0)."""
    n = values.shape[2]
    out = np.empty(n)
    at_x = abs(f0)
    for j in range(n):
        largest = 0.0
        for level in range(values.shape[0]):
            for s in range(values.shape[1]):
                v = abs(values[level, s, j])
                if np.isfinite(v) and v > largest:
                    largest = v
        out[j] = _maximum(largest, at_x)
    return out


@_kernel
def resolution_terms(largest, x, ulps, eps_d, eta):
    """Term (d) per entry: ``ulps·(eps_d·F_j + η_f) / max(1, |x_j|)`` (0 at an infinite entry), ``F_j = largest[j]``."""
    n = x.shape[0]
    out = np.empty(n)
    for j in range(n):
        out[j] = ulps * (eps_d * largest[j] + eta) / _maximum(1.0, abs(x[j]))
    return out


_SUBNORMAL64 = 2.0**-1074  # the smallest float64 subnormal: f's values (float64 here) are no finer


@_kernel
def own_scale_terms(f0, slope, slope_error, curvature, x, ulps, eps_d, eta):
    """Term (d) at the entry's own scale, modelled: ``ulps·(eps_d·F'_j + η_f) / |x_j|`` for ``0 < |x_j| < 1`` (``η_f``
    at least the smallest subnormal of f's format: f's values are no finer), with
    ``F'_j = |f(x)| + (|slope_j| + slope_error_j)·|x_j| + |f''_j|·x_j²`` a bound on ``|f|`` over ``x ± |x_j| e_j`` from
    the slope and the curvature at ``x`` (twice the Taylor term); ``+inf`` elsewhere or where the model is not finite.
    :func:`judge_smooth_point` takes the smaller of this and term (d); the measured judgement replaces the model by
    ``f``'s values there (``check_gradient``'s module docstring, term (d))."""
    n = x.shape[0]
    out = np.empty(n)
    for j in range(n):
        s = abs(x[j])
        out[j] = np.inf
        if 0.0 < s < 1.0:
            bound = abs(f0) + (abs(slope[j]) + slope_error[j]) * s + abs(curvature[j]) * s * s
            if np.isfinite(bound):
                out[j] = ulps * (eps_d * bound + eta) / s
    return out


@_kernel
def judge_smooth_point(g, r, ulp_r, curvature, x, infinite, reference_error, usable, ulps, eps_d, atol, values, f0,
                       extra):
    """:func:`judge_smooth` at a point, with its term (d) computed here (``η_f = 0``) from ``f(x)`` and the
    central-difference values ``values`` (3, 2, n) — or at the entry's own scale where smaller
    (:func:`own_scale_terms`, from the reference ``r`` and its error) — plus ``extra`` per entry (the caller's ``grad_noise``; empty:
    none); ``x`` is the flat point, its infinite entries (``infinite``) entering the conditioning term as 0. One
    compiled call where the fast path would make some fifteen NumPy calls on a few dozen entries."""
    n = x.shape[0]
    xf = np.empty(n)
    for j in range(n):
        xf[j] = 0.0 if infinite[j] else x[j]
    resolution = resolution_terms(largest_values(values, f0), x, ulps, eps_d, 0.0)
    own_scale = own_scale_terms(f0, r, reference_error, curvature, x, ulps, eps_d, _SUBNORMAL64)
    for j in range(n):
        resolution[j] = _minimum(resolution[j], own_scale[j])
    if extra.shape[0]:
        for j in range(n):
            resolution[j] = resolution[j] + extra[j]
    return judge_smooth(g, r, ulp_r, curvature, xf, reference_error, usable, ulps, eps_d, atol, resolution)


_TINY64 = float(np.finfo(np.float64).tiny)
_EPS64 = float(np.finfo(np.float64).eps)


@_kernel
def complex_step_reference(imag, step, value, error, third, finite, kink, infinite, eps, truncation, floor):
    """``(cs, cs_error, first_disagreement)``: the complex step as a reference against the central differences
    (``value``, ``error``, ``third``, and their ``finite``/``kink``/``infinite`` masks), as
    :func:`verify.checks._references.accept_complex_step` states it. The disagreement is looked for at the smooth
    entries (finite, no kink, not infinite, both references finite: a NaN or infinite complex step says nothing
    there, it is no disagreement), by :func:`complex_step_estimates`. Then, per entry: a measured ``truncation``
    (empty: none; NaN: not measured there) replaces the bound from the third derivative, ``4·eps·|cs| +
    truncation``; the error is at least ``floor`` (empty: none); an ``Im f`` below the normal range or not finite
    has lost its precision (error ``inf``); an infinite entry is exactly 0."""
    n = imag.shape[0]
    smooth = np.empty(n, dtype=np.bool_)
    for j in range(n):
        smooth[j] = (finite[j] and not kink[j] and not infinite[j] and np.isfinite(value[j]) and np.isfinite(error[j])
                     and np.isfinite(imag[j]))
    cs, cs_error, first = complex_step_estimates(imag, step, value, error, third, smooth, eps)
    measured = truncation.shape[0] > 0
    floored = floor.shape[0] > 0
    for j in range(n):
        e = cs_error[j]
        if measured and not np.isnan(truncation[j]):
            e = 4.0 * eps * abs(cs[j]) + truncation[j]
        if floored:
            e = _maximum(e, floor[j])
        if ((abs(imag[j]) < _TINY64 and imag[j] != 0.0) or not np.isfinite(imag[j])) and not infinite[j]:
            e = np.inf
        if infinite[j]:
            cs[j] = 0.0
            e = 0.0
        cs_error[j] = e
    return cs, cs_error, first


@functools.cache
def warm_up_point() -> None:
    """:func:`warm_up` for the kernels of the fast path above."""
    flat = np.zeros(1)
    resolution_terms(largest_values(np.ones((3, 2, 1)), 1.0), flat, 32.0, 2.0**-52, 0.0)
    own_scale_terms(1.0, flat, flat, flat, flat, 32.0, 2.0**-52, 0.0)
    judge_smooth_point(flat, flat, np.ones(1), flat, flat, np.zeros(1, dtype=np.bool_), flat, np.ones(1, dtype=np.bool_),
                       32.0, 2.0**-52, 0.0, np.ones((3, 2, 1)), 1.0, np.empty(0))
    no = np.zeros(1, dtype=np.bool_)
    complex_step_reference(flat, np.ones(1), flat, flat, flat, ~no, no, no, 2.0**-52, np.empty(0), np.empty(0))
    values = np.ones((3, 2, 1))
    judge_complex_point(flat, np.ones(1), flat, flat, flat, ~no, no, no, 2.0**-52, np.empty(0), flat, flat, flat, values,
                        1.0, False, 32.0, 2.0**-52, 0.0, np.empty(0))
    judge_central_point(flat, flat, ~no, no, no, flat, flat, flat, flat, flat, flat, no, values, 1.0, False, 32.0,
                        2.0**-52, 0.0, np.empty(0))
    work, stack, flags = np.empty((STRAIGHT_ROWS, 1)), np.empty((7, 1)), np.empty((2, 1), dtype=np.bool_)
    straight_points(flat, 1e-3, work, stack)
    straight_points(flat, 1e-3, work, np.empty((1, 7)).T)  # the stack built with its points innermost (Fortran order)
    points = np.empty((1, 1), dtype=np.complex128)
    central_point(values, work, 1.0, 2.0**-52, flags, flat, 1e-20, points)
    central_point(values, work, 1.0, 2.0**-52, flags, flat, 1e-20, points.T)  # the points innermost (Fortran order)
    judge_straight(flat, work, flags, flat, flat, values, 1.0, False, 32.0, 2.0**-52, 0.0, np.empty(0), 1.0, 1e-10)


# -- check_gradient's fast path where the complex step decides, in one compiled call ----------------------------
__all__ += ["judge_complex_point", "FAST_PASS", "FAST_SLOW", "FAST_GENERAL"]

#: Outcomes of :func:`judge_complex_point`: the point passes on the cheap terms; the measured judgement follows
#: (a kink candidate, an entry no reference resolves, or an entry that does not pass); the general fast path decides
#: (the complex step's truncation to be measured, its rejection to be noted, or an entry it says nothing about).
FAST_PASS, FAST_SLOW, FAST_GENERAL = 0, 1, 2


@_kernel
def _complex_truncation_needed(imag, step, third, eps):
    """Whether the complex step's truncation bound ``step²·|f'''|/6`` exceeds its rounding ``4·eps·|cs|`` anywhere (then
    it is measured, :func:`verify.checks._references.measure_truncation`): first in one comparison of the largest bound
    with the smallest rounding, then entry by entry — the same floats and the same NaN propagation as its NumPy
    statement there."""
    n = imag.shape[0]
    largest_step = step[0]
    largest_third = third[0]
    smallest = abs(imag[0] / step[0])
    for j in range(1, n):
        largest_step = _maximum(largest_step, step[j])
        largest_third = _maximum(largest_third, third[j])
        smallest = _minimum(smallest, abs(imag[j] / step[j]))
    largest = largest_step ** 2 * largest_third / 6.0
    if not largest > 4.0 * eps * smallest:
        return False
    for j in range(n):
        if step[j] * step[j] * third[j] / 6.0 > 4.0 * eps * abs(imag[j] / step[j]):
            return True
    return False


@_kernel
def _spacing32(v):
    """``numpy.spacing`` of the float32 rounding of ``v`` (``inf`` beyond float32's range: NaN), as float64."""
    w = np.float32(v)
    return np.float64(np.spacing(w))


@_kernel
def judge_complex_point(imag, step, value, error, third, finite, kink, infinite, eps_cs, floor, g, curvature, x, values,
                        f0, float32, ulps, eps_d, atol, extra):
    """check_gradient's fast path at a point whose deciding reference is the complex step (no SymPy twin, reference
    ``"auto"``), in one compiled call instead of some twenty NumPy calls: ``(outcome, no_truncation, ratio,
    abs_error, ulps_off, worst_ratio, worst_ulps, worst_abs)``.

    The steps of ``_Checker._fast`` (:mod:`verify.checks.gradient`) in its order: a kink candidate → ``FAST_SLOW``;
    the complex step's truncation to be measured → ``FAST_GENERAL``; else ``no_truncation`` is True (none is
    needed: the caller records it, as ``measure_truncation`` does) and the complex step becomes the reference
    (:func:`complex_step_reference`, no truncation measured, ``floor`` as given); rejected by the central
    differences (``value``, ``error``) → ``FAST_GENERAL`` (which notes why); an entry whose error bound is not finite
    → ``FAST_GENERAL`` (the central differences stand in there); a reference value that is not finite → ``FAST_SLOW``;
    then ``ulp(r)`` in the gradient's dtype (``float32``: NumPy's ``spacing`` of the float32 rounding of ``|r|``) and
    :func:`judge_smooth_point`: an entry beyond its tolerance → ``FAST_SLOW``, else ``FAST_PASS`` with the per-entry
    ratio, error and ULPs and their maxima. The arrays are empty unless the outcome is ``FAST_PASS``."""
    n = imag.shape[0]
    nothing = np.empty(0)
    for j in range(n):
        if kink[j]:
            return FAST_SLOW, False, nothing, nothing, nothing, 0.0, 0.0, 0.0
    if _complex_truncation_needed(imag, step, third, eps_cs):
        return FAST_GENERAL, False, nothing, nothing, nothing, 0.0, 0.0, 0.0
    r, e, first = complex_step_reference(imag, step, value, error, third, finite, kink, infinite, eps_cs, nothing,
                                         floor)
    if first >= 0:
        return FAST_GENERAL, True, nothing, nothing, nothing, 0.0, 0.0, 0.0
    for j in range(n):
        if not np.isfinite(e[j]):
            return FAST_GENERAL, True, nothing, nothing, nothing, 0.0, 0.0, 0.0
    for j in range(n):
        if not np.isfinite(r[j]):
            return FAST_SLOW, True, nothing, nothing, nothing, 0.0, 0.0, 0.0
    ratio, abs_error, ulps_off, _, worst, worst_ulps, worst_abs = _judge_resolved(
        g, r, e, curvature, x, infinite, values, f0, float32, ulps, eps_d, atol, extra)
    if worst > 1.0:
        return FAST_SLOW, True, nothing, nothing, nothing, 0.0, 0.0, 0.0
    return FAST_PASS, True, ratio, abs_error, ulps_off, worst, worst_ulps, worst_abs


@_kernel
def judge_straight(imag, work, flags, g, x, values, f0, float32, ulps, eps_d, atol, extra, smallest, cs_limit):
    """:func:`judge_complex_point` at a point with no infinite entry whose complex step has no floor (float64 ``f``), from
    ``work``'s rows (:func:`central_point`, the complex steps) and ``flags``, with its per-entry ratio, error and ULPs
    written into ``work``'s rows ``out`` where it passes: ``(outcome, no_truncation, worst_ratio, worst_ulps,
    worst_abs)``. First, as :func:`verify.checks._references.complex_step_from`: where an entry is below ``cs_limit``
    (``smallest`` its least ``|x_j|``) or has ``Im f = 0``, the complex step has more to do: ``FAST_REFINE``, nothing
    judged."""
    n = imag.shape[0]
    if smallest < cs_limit:
        return FAST_REFINE, False, 0.0, 0.0, 0.0
    for j in range(n):
        if imag[j] == 0.0:
            return FAST_REFINE, False, 0.0, 0.0, 0.0
    est = work[STRAIGHT_EST:STRAIGHT_OUT]
    outcome, no_truncation, ratio, abs_error, ulps_off, worst, worst_ulps, worst_abs = judge_complex_point(
        imag, work[STRAIGHT_STEP], est[0], est[1], est[7], flags[1], flags[0], np.zeros(n, dtype=np.bool_), _EPS64,
        np.empty(0), g, est[5], x, values, f0, float32, ulps, eps_d, atol, extra)
    if outcome == FAST_PASS:
        for j in range(n):
            work[STRAIGHT_OUT, j] = ratio[j]
            work[STRAIGHT_OUT + 1, j] = abs_error[j]
            work[STRAIGHT_OUT + 2, j] = ulps_off[j]
    return outcome, no_truncation, worst, worst_ulps, worst_abs


@_kernel
def _judge_resolved(g, r, e, curvature, x, infinite, values, f0, float32, ulps, eps_d, atol, extra):
    """:func:`judge_smooth_point` where every entry is usable (its reference resolved it), with ``ulp(r)`` in the
    gradient's dtype: NumPy's ``spacing`` of ``|r|``, or of its float32 rounding (``float32``)."""
    n = r.shape[0]
    ulp_r = np.empty(n)
    usable = np.empty(n, dtype=np.bool_)
    for j in range(n):
        if float32:
            ulp_r[j] = _spacing32(abs(r[j]))
        else:
            ulp_r[j] = np.spacing(abs(r[j]))
        usable[j] = True
    return judge_smooth_point(g, r, ulp_r, curvature, x, infinite, e, usable, ulps, eps_d, atol, values, f0, extra)


__all__ += ["judge_central_point"]


@_kernel
def judge_central_point(value, error, finite, kink, flat, order, measured, model, g, curvature, x, infinite, values,
                        f0, float32, ulps, eps_d, atol, extra):
    """check_gradient's fast path at a point whose only reference is the central differences (``f`` takes no
    complex input, no SymPy twin), in one compiled call: ``(outcome, ratio, abs_error, ulps_off, worst_ratio,
    worst_ulps, worst_abs)``, ``outcome`` ``FAST_PASS`` or ``FAST_SLOW`` (the arrays empty then).

    The steps of ``_Checker._fast`` (:mod:`verify.checks.gradient`) in its order: a kink candidate, an entry whose
    value or error bound is not finite, whose six values are not all finite or all equal ``f(x)`` (resolved
    nothing) → ``FAST_SLOW``; the judgement of :func:`_judge_resolved`: an entry beyond its tolerance →
    ``FAST_SLOW``; an entry whose reference is too vague to decide (``_vague``: ``2e > max(τ − 2e, |g|/2,
    ulps·eps_d·S)``), whose differences do not converge as ``h²`` (``_not_asymptotic``) or depart from a quadratic
    beyond 64 times f's rounding (``_rough``) → ``FAST_SLOW``; else ``FAST_PASS``."""
    n = value.shape[0]
    nothing = np.empty(0)
    for j in range(n):
        if kink[j]:
            return FAST_SLOW, nothing, nothing, nothing, 0.0, 0.0, 0.0
    for j in range(n):
        if not (np.isfinite(value[j]) and np.isfinite(error[j]) and finite[j] and not flat[j]):
            return FAST_SLOW, nothing, nothing, nothing, 0.0, 0.0, 0.0
    ratio, abs_error, ulps_off, tol, worst, worst_ulps, worst_abs = _judge_resolved(
        g, value, error, curvature, x, infinite, values, f0, float32, ulps, eps_d, atol, extra)
    if worst > 1.0:
        return FAST_SLOW, nothing, nothing, nothing, 0.0, 0.0, 0.0
    # _vague's scale: ulps·eps_d times the largest finite |entry| of g or of the reference
    largest = 0.0
    for j in range(n):
        if np.isfinite(g[j]):
            largest = _maximum(largest, abs(g[j]))
    for j in range(n):
        if np.isfinite(value[j]):
            largest = _maximum(largest, abs(value[j]))
    scale = ulps * eps_d * largest
    for j in range(n):
        vague = 2.0 * error[j] > _maximum(_maximum(tol[j] - 2.0 * error[j], 0.5 * abs(g[j])), scale)
        not_asymptotic = not np.isnan(order[j]) and not (order[j] > 1.0 and order[j] < 3.0)
        rough = measured[j] > 64.0 * _maximum(model[j], 0.0)
        if vague or not_asymptotic or rough:
            return FAST_SLOW, nothing, nothing, nothing, 0.0, 0.0, 0.0
    return FAST_PASS, ratio, abs_error, ulps_off, worst, worst_ulps, worst_abs
