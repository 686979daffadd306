"""The rounding noise of ``f`` and of the gradient under test, measured at the point (the probes; the estimator
is :mod:`verify.checks._noise`).

**f.** ``f`` is evaluated at ``x + k·t·u`` (``k = −4…4``) along one direction ``u_i = ±|x_i|`` (random signs,
seeded by the point; ``±1`` where every ``x_i`` is 0), at the relative spacings ``t = eps64·16^l``,
``l = 0…11`` (one stack): the first spacing at which the difference table shows noise gives ``σ_f``, and
``η = NOISE_BOUND·σ_f`` bounds the rounding error of one value of ``f`` — unless coarser spacings, up to the central
differences' stencil, refute it with a confirmed higher level: ``f`` is then a staircase, rounded to cells wider than
the finer spacings, and its rounding is the cells' (:func:`staircase_level`), a level the same tables centred off the
point, on either side, must show too (kinks closer together than the spacings a little way from x make a bump of a
fixed size that every table through x sees at one place, and the tables off it do not). A function that computes in
float32 and returns a Python float shows float32 noise here, whatever type it returns.

**The gradient.** ``grad`` is re-evaluated at ``x + k·δ`` (``k = −4…4``), ``δ_i = ±s·ulp_d(x_i)`` (whole ULPs of
the gradient's dtype ``d``, so the points are exact in ``d``; 0 where ``x_i`` is 0 or infinite), for
``s = 1, 4, 16, …`` (ratio 4: a gradient rounded to cells of a coarser scale — ``softmax − onehot`` in float32 —
shows its noise only at spacings that cross a cell or a few per step, a window that a ratio of 16 can straddle; a
spacing that is commensurate with the cells makes a table whose roundings repeat and read as a step) up to a step of ``ρ_d·|x_i|`` (``ρ = √eps`` for float64: the nine points stay within
about one float32 cell of each input, see below; ``ρ = eps^(1/3)`` for float32: a relative change over which a
function of scale ``|x|`` stays polynomial to float32's rounding), and never more than ``L/128`` with
``L = max|g| / max|f''|`` the distance over which the gradient changes (the table spans at most ``L/16``: the
probe stays local); an entry whose table spreads over more than ``max|g|/16`` is probed no further, for the
same reason; an input whose ULP is already beyond that range is not moved (a logit of 1e8 in float32, whose
ULP is 8, for a softmax whose scale is 1). It stops once every entry asked about shows noise. An intermediate quantity ``v`` of a correct computation
(``y = tanh(z)`` in ``1 − y²``) moves by one of its ULPs when ``x`` moves by about ``1/κ_v`` ULPs (``κ_v`` its
condition number), so its rounding appears in the table at that spacing; a gradient computed from inputs
rounded to a coarser format (float32 inside a float64 gradient) does not change until ``x`` crosses a cell
of that format, ``2²⁹`` float64 ULPs wide, far beyond the largest spacing, and so shows no noise: its error is
not excused.

Two direct tests back this up for the coarser format ``c`` (float32 for a float64 gradient, float16 for a
float32 one): a gradient whose entries are all numbers of ``c`` (with more than 8 significant bits in one
of them, so not merely small dyadic numbers) was rounded to ``c``; and a float64 gradient that is the same,
bit for bit, at ``x`` and at another point of the same float32 cell of every input was computed from the
float32 rounding of its inputs. Either way its noise is that of ``c``, not of its dtype, and is not excused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np

from verify.checks._evaluate import Evaluator
from verify.checks._noise import noise_bound, noise_levels, probe_offsets

__all__ = ["f_noise", "jumps_at_point", "staircase_level", "confirmed_level", "two_sided_level", "GradientNoise", "gradient_noise", "coarse_format", "complex_step_noise", "backward_spread"]

_EPS64 = float(np.finfo(np.float64).eps)
_SPACING_RATIO = 16.0
_F_SPACINGS = _EPS64 * _SPACING_RATIO ** np.arange(12)
_GRADIENT_RATIO = 4.0  # between the gradient probe's spacings (module docstring)
_COARSER = {np.dtype(np.float64): np.dtype(np.float32), np.dtype(np.float32): np.dtype(np.float16)}
# The largest step of the gradient probe, relative to |x_i|: for float64 √eps64 (≈ eps32/8: the nine points stay
# within about one float32 cell of every input, so a gradient computed in float32 shows no noise), for float32
# eps32^(1/3) (a relative change over which a function of scale |x| stays polynomial to float32's rounding).
_RELATIVE_REACH = {np.dtype(np.float64): float(np.sqrt(np.finfo(np.float64).eps)),
                   np.dtype(np.float32): float(np.cbrt(np.finfo(np.float32).eps))}


def _signs(x: np.ndarray, salt: bytes) -> np.ndarray:
    """Random signs, reproducible for the point."""
    seed = int.from_bytes(hashlib.blake2b(x.tobytes() + salt, digest_size=8).digest(), "little")
    return np.random.default_rng(seed).choice(np.array([-1.0, 1.0]), size=x.shape)


def f_noise(ev: Evaluator, args: tuple, x64: np.ndarray, f0: float,
            skip: np.ndarray | None = None, reach: float | None = None) -> tuple[float | None, str]:
    """``(η, kind)``: a bound on the rounding error of one value of ``f`` near ``x``. ``kind`` is ``"measured"``
    (``η`` from the first spacing whose table shows noise), ``"exact"`` (no spacing up to ``2⁻⁸`` shows noise, and
    ``f`` already changed smoothly at the smallest one: its rounding is below what the table resolves) or
    ``"flat"`` (``f`` did not change at the smallest spacings and no spacing shows noise: it moves in steps
    coarser than the probe, as a sum of saturated terms does); ``η`` is None unless measured. Entries in
    ``skip`` (kink candidates: a kink or jump there is not noise) are not moved. With ``reach`` (the largest relative
    spacing whose table stays within the central differences' stencil, ``eps_f^(1/5)/4``), a bound refuted by the
    levels at coarser spacings up to ``reach`` is raised to theirs: f's rounding is a staircase
    (:func:`staircase_level`)."""
    flat = x64.ravel()
    finite = np.isfinite(flat) & (True if skip is None else ~skip)
    if not finite.any():
        return None, "exact"  # nothing to move: no measurement, the model stands
    scale = np.where(finite, np.abs(flat), 0.0)
    if not scale.any():
        scale = np.where(finite, 1.0, 0.0)
    u = _signs(x64, b"f") .ravel() * scale
    k = probe_offsets()
    others = k != 0.0
    points = flat[None, None, :] + (_F_SPACINGS[:, None, None] * k[None, others, None]) * u[None, None, :]
    stack = np.concatenate([flat[None, :], points.reshape(-1, flat.size)])
    with np.errstate(all="ignore"):
        values = ev.many(args, stack.reshape((stack.shape[0],) + x64.shape), f0)
    table = np.empty((k.size, _F_SPACINGS.size))
    table[others] = values[1:].reshape(_F_SPACINGS.size, -1).T
    table[~others] = f0
    sigma, order, status = noise_levels(table)
    found = [int(i) for i in np.flatnonzero(status == 1) if _first_level_stands(sigma, status, int(i))]
    if not found:
        return None, "exact" if status[0] == 3 else "flat"
    first = found[0]
    eta = float(noise_bound(sigma[first:first + 1], order[first:first + 1])[0])
    if reach is not None:
        usable = int(np.count_nonzero(_F_SPACINGS <= reach))
        raised = staircase_level(sigma, order, status, first, eta, usable)
        if raised > eta:
            # a staircase is there on either side of x too; kinks a little way from x, closer together than the
            # coarser spacings (hard_tanh at ±1 ± 1e-6 along a tangent: four kinks within 2e-6, a bump of a fixed
            # size that every table through x sees at one place) are not, and no rounding of f
            raised = min(raised, *(_off_point_level(ev, args, flat, u, f0, x64.shape, side, first, eta, usable)
                                   for side in (1.0, -1.0)))
        eta = max(eta, raised)
    return eta, "measured"


#: How far off the point the tables that confirm a staircase are centred, in their own spacings: beyond the four
#: points on either side of a table through x, so that no point of theirs is x or its neighbours.
_OFF_POINT = 5.0


def _off_point_level(ev: Evaluator, args: tuple, flat: np.ndarray, u: np.ndarray, f0: float, shape: tuple,
                     side: float, first: int, eta: float, usable: int) -> float:
    """:func:`staircase_level` from the tables along ``u`` at the spacings ``first…usable``, each centred
    ``_OFF_POINT`` of its spacings from x on ``side``: f's rounding as a staircase shows there as at x."""
    k = probe_offsets()
    spacings = _F_SPACINGS[:usable]
    offsets = (spacings[:, None] * (k[None, :] + side * _OFF_POINT))  # (spacings, 9)
    points = flat[None, None, :] + offsets[:, :, None] * u[None, None, :]
    with np.errstate(all="ignore"):
        values = ev.many(args, points.reshape((-1,) + shape), f0)
    sigma, order, status = noise_levels(values.reshape(spacings.size, k.size).T)
    return staircase_level(sigma, order, status, first, eta, usable)


#: How close in a jump the stencil suggests is confirmed: this many ULPs of max(1, |x_j|) from x, where a continuous f
#: has moved by its slope times that (a layer norm of inputs 1e8 ± 1, varying on a scale of 1 below a step of 7e4,
#: gives offsets as constant as a jump's at h, h/2 and h/4).
JUMP_CONFIRM_ULPS = 16.0


def jumps_at_point(ev: Evaluator, args: tuple, x64: np.ndarray, f0: float, suggested: np.ndarray) -> np.ndarray:
    """Per entry of ``x64`` (flattened): ``f`` jumps at ``x`` along it. ``suggested`` (2, n) holds, per side (``+``,
    ``−``), the jump the central-difference stencil suggests (:func:`verify.checks._gradient_kernels.stencil_jumps`, 0
    where none); one is confirmed where ``±(f(x ± t·e_j) − f(x))`` at ``t = JUMP_CONFIRM_ULPS·ulp(max(1, |x_j|))`` is
    still within half of it. Confirmed, the entry is a kink candidate (located, and reported as a jump) and f's
    rounding is not measured along it: a direction crossing a jump at the point reads the jump as noise
    (``floor(z) + z²`` at integer ``z`` was read as a float32 computation)."""
    flat = x64.ravel()
    jumps = np.zeros(flat.size, dtype=bool)
    sides, entries = np.nonzero(suggested)
    if entries.size == 0:
        return jumps
    sign = np.where(sides == 0, 1.0, -1.0)
    t = JUMP_CONFIRM_ULPS * np.spacing(np.maximum(1.0, np.abs(flat[entries])))
    stack = np.broadcast_to(flat, (entries.size + 1, flat.size)).copy()  # stack[0]: x, where f is known
    stack[np.arange(1, entries.size + 1), entries] += sign * t
    with np.errstate(all="ignore"):
        values = ev.many(args, stack.reshape((entries.size + 1,) + x64.shape), f0)[1:]
        offset = sign * (values - f0)
        size = suggested[sides, entries]
        confirmed = np.abs(offset - size) <= 0.5 * np.abs(size)
    jumps[entries[confirmed]] = True
    return jumps


def _first_level_stands(sigma: np.ndarray, status: np.ndarray, i: int) -> bool:
    """The level at spacing ``i``, the finest one showing noise, is f's rounding — unless f did not change at all at
    the spacing before (``status 2``) and the next coarser table refutes it: no noise there, or a level more than
    ``√16 = 4×`` higher (a kink crossed grows with the spacing, 16× here; rounding stays). A level that appears from
    nothing, where f stood still, is f's own rounding where f computes in a coarser format (float32 f moves only once
    its input crosses a float32 cell, and shows float32's rounding at every coarser spacing) — or a kink crossed by the
    table: a direction that moves several entries crosses theirs at several places, which the table alone cannot tell
    from noise (clamp at ``1 + 3e-4`` in three entries, spacing ``2.4e-4``: a level of ``6.8e-5`` in values that are
    exact)."""
    if i == 0 or status[i - 1] != 2 or i + 1 >= sigma.size:
        return True
    return bool(status[i + 1] == 1 and sigma[i + 1] <= np.sqrt(_SPACING_RATIO) * sigma[i])


def staircase_level(sigma: np.ndarray, order: np.ndarray, status: np.ndarray, first: int, eta: float,
                    usable: int) -> float:
    """f's rounding bound ``eta`` (from the finest spacing ``first`` that shows noise) raised where the tables at
    coarser spacings contradict it: f's rounding is then a *staircase*, not independent from point to point.

    A formula that cancels (gelu's ``x·½(1 + erf(x/√2))`` at ``x = −5``: ``1 + erf`` is ``5.7e-7`` on float64's grid of
    ``1.1e-16`` near ``erf = −1``) rounds to cells: ``1 + erf`` is constant across an interval of ``x`` of width
    ``W = ulp(1)/|d erf/dx| = 3.7e-11``, so ``f`` is ``x`` times a constant there, and its error ``e(x)`` is a sawtooth
    of amplitude ``A = |x|·ulp(1)/4`` and period ``W``. A table at a spacing below ``W`` sees only the rounding of the
    last product (``eps·|f| ≈ 1.6e-22``), or none; one at a spacing of ``W`` or more sees errors of size ``A`` (``7e-17``
    measured) at every point — and a difference of ``f`` over a step ``t`` carries up to ``2A``, not ``2η``, however
    small ``t``: inside one cell the slope of ``f`` is ``Φ(x)``, without the product rule's ``x·φ(x)`` (gelu's
    derivative off by ``1.9e-4`` relative at ``x = −5``).

    So: independent rounding shows the same level at every spacing above its resolution; a staircase shows a level
    that grows with the spacing up to ``W`` and stays there. The level ``σ_l`` at spacing ``l`` counts where it is
    *confirmed* — the tables at ``l`` and ``l + 1`` both show noise at levels within 4× of each other (:func:`_agree`:
    √16, the geometric midpoint between rounding's 1× and a crossed kink's 16×) — and where it exceeds the current bound
    (``σ_l > eta``: a root-mean-square error above the bound refutes it: some error exceeds ``eta``); ``eta`` becomes
    the larger of the two tables' bounds, and the search goes on to coarser spacings. A kink crossed by the table
    reads as a level proportional to the spacing (its second difference is the slope's jump times the spacing), 16×
    from one spacing to the next here: not confirmed; nor is truncation, which grows faster still. Only the first
    ``usable`` spacings are used: tables that span at most the central differences' stencil, ``[x − h, x + h]``
    (spacing ≤ ``h/4``), the only distances at which f's rounding enters a difference quotient of the judge; a
    staircase with cells wider than ``h`` cannot be seen at any of its steps (f is exactly linear across them).
    """
    for level in range(first + 1, usable - 1):
        pair = slice(level, level + 2)
        if _agree(sigma[pair], status[pair], _SPACING_RATIO) and float(np.min(sigma[pair])) > eta:
            eta = max(eta, float(np.max(noise_bound(sigma[pair], order[pair]))))
    return eta


def _agree(sigma: np.ndarray, status: np.ndarray, ratio: float) -> bool:
    """Two tables at spacings ``ratio`` apart both show noise, at levels within ``√ratio`` of each other: the geometric
    midpoint between what rounding does (the same level at both) and what a kink crossed by the tables does (a level
    proportional to the spacing, ``ratio`` times larger; truncation grows faster still)."""
    if not np.all(status == 1):
        return False
    low, high = float(np.min(sigma)), float(np.max(sigma))
    return high <= np.sqrt(ratio) * low


def confirmed_level(sigma: np.ndarray, order: np.ndarray, status: np.ndarray, ratio: float) -> float:
    """The largest rounding bound ``NOISE_BOUND·σ`` confirmed by two neighbouring tables (spacings ``ratio`` apart, in
    increasing order) whose levels agree (:func:`_agree`); 0 where no two do."""
    level = 0.0
    for i in range(sigma.size - 1):
        pair = slice(i, i + 2)
        if _agree(sigma[pair], status[pair], ratio):
            level = max(level, float(np.max(noise_bound(sigma[pair], order[pair]))))
    return level


def two_sided_level(sigma: np.ndarray, order: np.ndarray, status: np.ndarray, ratio: float,
                    confirm: bool = True) -> float:
    """f's rounding bound from difference tables on either side of a point along a line (columns: the ``+`` and ``−``
    side; rows: spacings ``ratio`` apart, increasing). A staircase is on both sides, a kink next to the point on one:
    the smaller side's level counts. With ``confirm`` a side's level is one :func:`confirmed_level` (rounding is the
    same at every spacing that crosses its cells; a kink crossed by a table grows with the spacing); without, the
    largest bound the side shows at any spacing."""
    if confirm:
        return min(confirmed_level(sigma[:, side], order[:, side], status[:, side], ratio) for side in (0, 1))
    bound = noise_bound(np.where(status == 1, sigma, 0.0), order)
    return float(np.min(np.max(bound, axis=0)))


def coarse_format(dtype: np.dtype) -> np.dtype:
    return _COARSER[np.dtype(dtype)]


def _holds_coarse_numbers(g: np.ndarray, coarse: np.dtype) -> bool:
    """Every entry is a number of ``coarse`` and one of them has more than 8 significant bits."""
    with np.errstate(over="ignore", invalid="ignore"):
        back = g.astype(coarse).astype(np.float64)
    if not np.array_equal(back, g.astype(np.float64)):
        return False
    finite = g[np.isfinite(g) & (g != 0)].astype(np.float64)
    if finite.size == 0:
        return False
    mantissa = np.frexp(finite)[0] * 2.0**8
    return bool(np.any(mantissa != np.round(mantissa)))


class GradientNoise:
    """The measured noise of the gradient under test at the entries asked about."""

    def __init__(self, bound: np.ndarray, spacing: np.ndarray, coarse: str) -> None:
        self.bound = bound  # NOISE_BOUND·σ per entry (0: no noise measured)
        self.spacing = spacing  # in ULPs of the dtype (0: none)
        self.coarse = coarse  # "" or why the noise is not excused (rounded to a coarser format)


def gradient_noise(at: Callable[[list[np.ndarray]], np.ndarray], inputs: list[np.ndarray], g: np.ndarray,
                   entries: np.ndarray, length: float = np.inf, *, every_input: bool = True) -> GradientNoise:
    """Measure the noise of ``at`` (the gradient under test as a function of its float inputs, flattened float64
    result) at the flat ``entries``. ``inputs[0]`` is ``args[wrt]``, the others the other float arguments (data:
    the computation's rounding also depends on them); ``g`` is the value at ``inputs`` (flat). ``length`` is the
    distance over which the gradient changes (``|g|/|f''|``).

    First ``args[wrt]`` alone is moved, on the whole ladder of spacings; entries that show no noise are then
    (``every_input``) probed once more with every input moved by 1, 16 and 256 of its ULPs (a zero entry of ``args[wrt]`` by ULPs
    of its largest entry, or of 1): a gradient whose rounding comes from constants (``vᵀA`` at ``x = 0``) shows
    it there. A table whose centre alone differs from the rest (a branch taken only at the exact inputs, as
    ``y == 1`` on a perturbed label) is a step, not noise (:func:`verify.checks._noise.noise_levels`).
    """
    x = inputs[0]
    dt = x.dtype
    eps = float(np.finfo(dt).eps)
    n = g.size
    bound, spacing = np.zeros(n), np.zeros(n)
    coarse = coarse_format(dt)
    if _holds_coarse_numbers(g, coarse):
        return GradientNoise(bound, spacing, f"its values are all {coarse} numbers")
    flat = x.ravel()
    finite = np.isfinite(flat) & (flat != 0)
    with np.errstate(over="ignore"):
        ulp = np.where(finite, np.spacing(np.abs(flat).astype(dt)).astype(np.float64), 0.0)
    signs = _signs(x, b"g").ravel()
    largest = _RELATIVE_REACH[dt] / eps
    reach = np.minimum(_RELATIVE_REACH[dt] * np.abs(np.where(finite, flat, 0.0)), length / 128.0)
    reach = np.where(reach >= ulp, reach, 0.0)  # an entry whose ULP is already beyond the local range stays put
    pending = np.zeros(n, dtype=bool)
    pending[entries] = True
    top = float(np.max(np.abs(g[np.isfinite(g)]), initial=0.0))
    ladder = (*_GRADIENT_RATIO ** np.arange(int(np.log(largest) / np.log(_GRADIENT_RATIO)) + 1), np.floor(largest))
    for s in ladder:
        if not pending.any():
            break
        delta = signs * np.minimum(s * ulp, reach)
        _probe(at, [lambda kk, d=delta: (flat + kk * d).astype(dt).reshape(x.shape)] + [None] * (len(inputs) - 1),
               inputs, g, top, s, pending, bound, spacing)
    if pending.any() and every_input:
        moves = [_all_entries(a, b"a%d" % i) for i, a in enumerate(inputs)]
        for s in (1.0, 16.0, 256.0):
            if not pending.any():
                break
            _probe(at, [lambda kk, m=m, s=s: m(kk * s) for m in moves], inputs, g, top, s, pending, bound, spacing)
    if dt == np.float64 and bound.any():
        # float32 cell: the float32 rounding of x, moved a quarter of a float32 ULP (it stays in its cell)
        with np.errstate(over="ignore", under="ignore"):
            centre = flat.astype(np.float32).astype(np.float64)
            quarter = np.where(np.isfinite(centre) & (centre != 0),
                               np.spacing(np.abs(centre).astype(np.float32)).astype(np.float64) / 4.0, 0.0)
        other = np.where(np.isfinite(flat), centre + signs * quarter, flat)
        # only where float32 holds x as a normal number (else its "cell" says nothing: 1e-301 rounds to 0)
        normal32 = np.all(~np.isfinite(flat) | (flat == 0) | ((np.abs(flat) >= np.finfo(np.float32).tiny)
                                                             & (np.abs(flat) <= np.finfo(np.float32).max)))
        if normal32 and not np.array_equal(other, flat) and np.array_equal(at([other.reshape(x.shape),
                                                                                 *inputs[1:]]), g):
            return GradientNoise(np.zeros(n), np.zeros(n),
                                 "it is the same, bit for bit, at another point of the same float32 cell of every "
                                 "input: it was computed from float32 roundings of its inputs")
    return GradientNoise(bound, spacing, "")


def _all_entries(a: np.ndarray, salt: bytes) -> Callable[[float], np.ndarray]:
    """``a`` moved by ``t`` of its ULPs per entry (random signs; a zero entry by ULPs of ``a``'s largest entry,
    or of 1), as a function of ``t``; infinite entries stay."""
    flat = a.ravel().astype(np.float64)
    finite = np.isfinite(flat)
    scale = np.where(finite & (flat != 0), np.abs(flat), float(np.max(np.abs(flat[finite]), initial=0.0)) or 1.0)
    with np.errstate(over="ignore"):
        ulp = np.where(finite, np.spacing(scale.astype(a.dtype)).astype(np.float64), 0.0)
    signs = _signs(a, salt).ravel()
    return lambda t: (flat + t * signs * ulp).astype(a.dtype).reshape(a.shape)


def _probe(at, movers, inputs, g, top, s, pending, bound, spacing) -> None:
    """One table of the gradient at the nine points ``k = −4…4`` (``movers[i](k)`` gives input ``i`` at point ``k``,
    None: unmoved); entries of ``pending`` that show local noise get their bound."""
    k = probe_offsets()
    table = np.empty((k.size, g.size))
    for row, kk in enumerate(k):
        if kk == 0.0:
            table[row] = g
            continue
        table[row] = at([inputs[i] if m is None else m(kk) for i, m in enumerate(movers)])
    sigma, order, status = noise_levels(table)
    # Not local any more where the table spreads over more than 1/16 of the gradient's largest entry.
    spread = table.max(axis=0) - table.min(axis=0)
    pending &= spread <= top / 16.0
    hit = pending & (status == 1)
    bound[hit] = noise_bound(sigma, order)[hit]
    spacing[hit] = s
    pending &= ~hit


def complex_step_noise(ev: Evaluator, args: tuple, x64: np.ndarray, entries: np.ndarray,
                       step: np.ndarray) -> np.ndarray:
    """The rounding noise of the complex-step derivative at the flat ``entries`` (``NOISE_BOUND·σ``, 0 where none
    shows).

    The complex step has no subtractive cancellation of its own, but ``f``'s formula may cancel in its imaginary
    part (``log1p(eˣ) − x`` at ``x = 25`` subtracts ``h`` from ``h·σ(x)``; a complex division subtracts ``ad`` from
    ``bc``), with an error of ``eps`` times the terms, far above the step's nominal ``4·eps·|value|``. That rounding
    depends on the bits of ``h``: ``Im f(x + i·h_k·e_j)/h_k`` at the nine steps ``h_k = h·(1 + (k + 1)/16)`` is the
    same derivative (the truncation ``h²·|f'''|`` is far below rounding) plus different rounding, and its
    difference table gives that rounding's level.
    """
    flat = x64.ravel()
    rows = np.arange(entries.size)
    factors = 1.0 + (np.arange(9) + 1.0) / 16.0
    stack = []
    for factor in factors:
        block = np.broadcast_to(flat.astype(np.complex128), (entries.size, flat.size)).copy()
        block[rows, entries] += 1j * step[entries] * factor
        stack.append(block)
    imag = ev.many_complex(args, np.concatenate(stack).reshape((-1,) + x64.shape))
    if imag is None:
        return np.zeros(entries.size)
    table = imag.reshape(factors.size, entries.size) / (step[entries][None, :] * factors[:, None])
    sigma, order, status = noise_levels(table)
    return np.where(status == 1, noise_bound(sigma, order), 0.0)


def backward_spread(at: Callable[[list[np.ndarray]], np.ndarray], x: np.ndarray, g: np.ndarray,
                    ulps: float) -> np.ndarray:
    """``max |g(x + δ) − g(x − δ)|/2`` per entry over two random sign patterns, ``|δ_i| = ulps·ulp_d(x_i)``, where
    the gradient moves linearly over the ball (its second difference at most 4 × that).

    A backward-stable gradient is the exact gradient at some input within a few ULPs of ``x``; over that ball
    the gradient moves by ``|H·δ|`` (the whole Hessian row, where the diagonal conditioning term sees one entry:
    the layer norm of inputs 1e4 ± 1 in float32 moves by 0.2 % per ULP of its inputs). A gradient computed from
    a coarser rounding of its inputs (float32 inside a float64 gradient) does not move at all over a few float64
    ULPs, and is not excused. Infinite and zero entries stay.
    """
    dt = x.dtype
    flat = x.ravel().astype(np.float64)
    finite = np.isfinite(flat) & (flat != 0)
    with np.errstate(over="ignore"):
        ulp = np.where(finite, np.spacing(np.abs(np.where(finite, flat, 0.0)).astype(dt)).astype(np.float64), 0.0)
    spread = np.zeros(g.size)
    for salt in (b"b1", b"b2"):
        delta = _signs(x, salt).ravel() * ulps * ulp
        plus = at([(flat + delta).astype(dt).reshape(x.shape)])
        minus = at([(flat - delta).astype(dt).reshape(x.shape)])
        with np.errstate(invalid="ignore", over="ignore"):
            slope = np.abs(plus - minus) / 2.0  # the linear part, H·δ
            bend = np.abs(plus + minus - 2.0 * g)  # what is not linear over the ball
            # a gradient that jumps inside the ball (a branch on a tie, argmax) is not the exact gradient of a
            # nearby input: only a ball over which it moves linearly, up to as much again, counts
            smooth = np.isfinite(slope) & np.isfinite(bend) & (bend <= 4.0 * slope)
        spread = np.maximum(spread, np.where(smooth, slope, 0.0))
    return spread
