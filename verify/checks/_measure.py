"""The rounding noise of ``f`` and of the gradient under test, measured at the point (the probes; the estimator
is :mod:`verify.checks._noise`).

**f.** ``f`` is evaluated at ``x + k·t·u`` (``k = −4…4``) along one direction ``u_i = ±|x_i|`` (random signs,
seeded by the point; ``±1`` where every ``x_i`` is 0), at the relative spacings ``t = eps64·16^l``,
``l = 0…11`` (one stack): the first spacing at which the difference table shows noise gives ``σ_f``, and
``η = NOISE_BOUND·σ_f`` bounds the rounding error of one value of ``f``. A function that computes in float32
and returns a Python float shows float32 noise here, whatever type it returns.

**The gradient.** ``grad`` is re-evaluated at ``x + k·δ`` (``k = −4…4``), ``δ_i = ±s·ulp_d(x_i)`` (whole ULPs of
the gradient's dtype ``d``, so the points are exact in ``d``; 0 where ``x_i`` is 0 or infinite), for
``s = 1, 16, 256, …`` up to a step of ``ρ_d·|x_i|`` (``ρ = √eps`` for float64: the nine points stay within
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

__all__ = ["f_noise", "GradientNoise", "gradient_noise", "coarse_format"]

_EPS64 = float(np.finfo(np.float64).eps)
_F_SPACINGS = _EPS64 * 16.0 ** np.arange(12)
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
            skip: np.ndarray | None = None) -> tuple[float | None, str]:
    """``(η, kind)``: a bound on the rounding error of one value of ``f`` near ``x``. ``kind`` is ``"measured"``
    (``η`` from the first spacing whose table shows noise), ``"exact"`` (no spacing up to ``2⁻⁸`` shows noise, and
    ``f`` already changed smoothly at the smallest one: its rounding is below what the table resolves) or
    ``"flat"`` (``f`` did not change at the smallest spacings and no spacing shows noise: it moves in steps
    coarser than the probe, as a sum of saturated terms does); ``η`` is None unless measured. Entries in
    ``skip`` (kink candidates: a kink or jump there is not noise) are not moved."""
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
    found = np.flatnonzero(status == 1)
    if found.size == 0:
        return None, "exact" if status[0] == 3 else "flat"
    first = found[0]
    return float(noise_bound(sigma[first:first + 1], order[first:first + 1])[0]), "measured"


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


def gradient_noise(grad_at: Callable[[np.ndarray], np.ndarray], x: np.ndarray, g: np.ndarray,
                   entries: np.ndarray, length: float = np.inf) -> GradientNoise:
    """Measure the noise of ``grad_at`` (the gradient under test as a function of ``args[wrt]``, flattened
    float64 result) at the flat ``entries``; ``g`` is its value at ``x`` (flat). ``length`` is the distance over
    which the gradient itself changes (``|g|/|f''|``); the probe moves no entry by more than ``√eps_d`` of it."""
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
    k = probe_offsets()
    largest = _RELATIVE_REACH[dt] / eps
    reach = np.minimum(_RELATIVE_REACH[dt] * np.abs(np.where(finite, flat, 0.0)), length / 128.0)
    reach = np.where(reach >= ulp, reach, 0.0)  # an entry whose ULP is already beyond the local range stays put
    pending = np.zeros(n, dtype=bool)
    pending[entries] = True
    for s in (*16.0 ** np.arange(int(np.log(largest) / np.log(16.0)) + 1), np.floor(largest)):
        if not pending.any():
            break
        delta = signs * np.minimum(s * ulp, reach)
        table = np.empty((k.size, n))
        for row, kk in enumerate(k):
            if kk == 0.0:
                table[row] = g
                continue
            point = (flat.astype(np.float64) + kk * delta).astype(dt).reshape(x.shape)
            table[row] = grad_at(point)
        sigma, order, status = noise_levels(table)
        # Not local any more where the table spreads over more than 1/16 of the gradient's largest entry.
        spread = table.max(axis=0) - table.min(axis=0)
        local = spread <= float(np.max(np.abs(g[np.isfinite(g)]), initial=0.0)) / 16.0
        pending &= local
        hit = pending & (status == 1)
        bound[hit] = noise_bound(sigma, order)[hit]
        spacing[hit] = s
        pending &= ~hit
    if dt == np.float64 and bound.any():
        # float32 cell: the float32 rounding of x, moved a quarter of a float32 ULP (it stays in its cell)
        centre = flat.astype(np.float32).astype(np.float64)
        with np.errstate(over="ignore"):
            quarter = np.where(np.isfinite(centre) & (centre != 0),
                               np.spacing(np.abs(centre).astype(np.float32)).astype(np.float64) / 4.0, 0.0)
        other = np.where(np.isfinite(flat), centre + signs * quarter, flat)
        if not np.array_equal(other, flat) and np.array_equal(grad_at(other.reshape(x.shape)), g):
            return GradientNoise(np.zeros(n), np.zeros(n),
                                 "it is the same, bit for bit, at another point of the same float32 cell of every "
                                 "input: it was computed from float32 roundings of its inputs")
    return GradientNoise(bound, spacing, "")
