"""Rounding noise of a computation, measured at a point (Moré & Wild, "Estimating computational noise",
SIAM J. Sci. Comput. 33(3), 2011).

A floating-point computation ``c(x)`` is a smooth function plus noise: ``c(x + k·δ) = s(k) + ε_k``. On ``m + 1``
equally spaced points the ``j``-th differences ``Δʲc`` cancel every polynomial of degree < ``j`` of the
smooth part and leave the noise, so, for noise of standard deviation ``σ`` that varies from point to point,
``γ_j · mean((Δʲc)²) ≈ σ²`` with ``γ_j = (j!)² / (2j)!`` (the ``Δʲ`` of independent noise has variance
``C(2j, j)·σ²``). The estimate ``σ_j`` is accepted at the first order ``j`` where ``σ_j``, ``σ_{j+1}``, ``σ_{j+2}``
agree within a factor 4 and ``Δʲc`` changes sign (noise, not a smooth trend); when half of the first
differences are exactly 0 the spacing is *too small* (the computation does not see the perturbation);
when no order agrees it is *too large* (the smooth part dominates), and so is a table where one first
difference is 16× the median of the others (a step: a jump or a branch of the computation, not noise), or whose second
or third differences lie, to 90 % of their absolute sum, at two neighbouring places of one sign (a kink of the
computation or of its slope crossed by the table: piecewise polynomial of degree < j on either side, its ``j``-th
differences are zero but where they straddle the kink, with the sign of the bend — white to the estimator, which would
read the bend as noise; rounding spreads over every difference: one rounded value among exact ones, ``(1, −2, 1)`` at
order 2, holds 3/4 at two places of opposite signs, as does a small jump inside a trend, ``(s, −s)``, a staircase's
cell boundary).
Both are reported, never guessed.

Each column of ``values`` is one quantity (an entry of a gradient, or ``f``); the estimate is per column.

The error of the computation at the centre point is one draw of that noise. It is bounded by
``NOISE_BOUND[j] · σ_j``: the 1 − 10⁻⁶ quantile of ``|ε_centre| / σ̂_j`` on 9 points (the centre among them)
for independent noise, the largest over three models of rounding noise (Gaussian, uniform, a sum of three
uniform roundings), each simulated with 2·10⁶ draws. The estimate from few differences has a heavy tail,
which is why the bound grows with the order.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["POINTS", "NOISE_BOUND", "noise_levels", "noise_bound", "probe_offsets"]

POINTS = 9  # m + 1: the centre and four points on either side
_MAX_ORDER = 4  # the orders at which the noise is read; j + 2 ≤ 6 < m, so three estimates are compared
NOISE_BOUND = {1: 9.0, 2: 14.0, 3: 22.0, 4: 40.0}
"""1 − 10⁻⁶ quantiles of |ε_centre| / σ̂_j, rounded up (see the module docstring)."""

_GAMMA = {j: math.factorial(j) ** 2 / math.factorial(2 * j) for j in range(1, POINTS)}


def probe_offsets() -> np.ndarray:
    """The multiples ``k = −4, …, 4`` of the spacing at which a computation is sampled (centre at index 4)."""
    return np.arange(POINTS, dtype=np.float64) - (POINTS - 1) / 2


def noise_levels(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(sigma, order, status)`` per column of ``values`` (``POINTS`` rows: the computation at ``x + k·δ``).

    ``status``: 1 noise measured (``sigma`` its standard deviation at order ``order``), 2 spacing too small
    (the values do not change: half the first differences are 0), 3 spacing too large (no order agrees),
    0 not finite. ``sigma`` is 0 where ``status != 1``.
    """
    v = np.asarray(values, dtype=np.float64)
    cols = v.shape[1]
    sigma = np.zeros(cols)
    order = np.zeros(cols, dtype=np.int64)
    status = np.full(cols, 3, dtype=np.int64)
    finite = np.isfinite(v).all(axis=0)
    status[~finite] = 0
    if not finite.any():
        return sigma, order, status
    # each column scaled by its largest magnitude (a power of 2: exact), so that squared differences neither
    # overflow (values of 1e300) nor underflow (1e-300); sigma is scaled back at the end
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        top = np.max(np.abs(np.where(finite[None, :], v, 0.0)), axis=0)
        scale = np.where(top > 0, np.exp2(np.floor(np.log2(np.where(top > 0, top, 1.0)))), 1.0)
        v = v / scale
    with np.errstate(over="ignore", invalid="ignore"):
        diffs = np.diff(v, axis=0)
        too_small = np.count_nonzero(diffs == 0.0, axis=0) >= (POINTS - 1) / 2
        # One difference far above the others is a step of the computation (a jump, a branch), not noise.
        step = np.abs(diffs).max(axis=0) > 16.0 * np.median(np.abs(diffs), axis=0)
        step |= _kinked(diffs)
        levels = np.empty((_MAX_ORDER + 2, cols))
        sign_change = np.empty((_MAX_ORDER + 2, cols), dtype=bool)
        d = v
        for j in range(1, _MAX_ORDER + 3):
            d = np.diff(d, axis=0)
            levels[j - 1] = np.sqrt(_GAMMA[j] * np.mean(d * d, axis=0))
            sign_change[j - 1] = (d.min(axis=0) < 0.0) & (d.max(axis=0) > 0.0)
    undecided = finite & ~too_small & ~step
    for j in range(1, _MAX_ORDER + 1):
        window = levels[j - 1:j + 2]
        agree = (window.max(axis=0) <= 4.0 * window.min(axis=0)) & sign_change[j - 1]
        hit = undecided & agree
        sigma[hit] = levels[j - 1][hit]
        order[hit] = j
        status[hit] = 1
        undecided &= ~hit
    status[finite & too_small] = 2
    return sigma * scale, order, status


def _kinked(diffs: np.ndarray) -> np.ndarray:
    """Per column: the second or the third differences (of the first differences ``diffs``) are nonzero, and two
    neighbouring ones of one sign hold at least 90 % of their absolute sum: a kink crossed by the table (order 2) or a
    kink of the slope (order 3), not rounding (module docstring)."""
    out = np.zeros(diffs.shape[1], dtype=bool)
    d = diffs
    for _ in (2, 3):
        d = np.diff(d, axis=0)
        a = np.abs(d)
        total = a.sum(axis=0)
        pairs = a[1:] + a[:-1]
        at = np.argmax(pairs, axis=0)
        cols = np.arange(d.shape[1])
        # one sign (or one of the two zero): a bend; a small jump inside a trend — a cell boundary of a staircase, which
        # is rounding — reads as +s, −s
        bend = d[at, cols] * d[at + 1, cols] >= 0.0
        out |= (total > 0.0) & (pairs[at, cols] >= 0.9 * total) & bend
    return out


def noise_bound(sigma: np.ndarray, order: np.ndarray) -> np.ndarray:
    """``NOISE_BOUND[order] · sigma`` per column (0 where no noise was measured)."""
    factor = np.zeros(np.shape(order))
    for j, k in NOISE_BOUND.items():
        factor[np.asarray(order) == j] = k
    return factor * np.asarray(sigma)
