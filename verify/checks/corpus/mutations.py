"""Mutants: wrong gradients made from a correct one, and the float64 screen that keeps only real ones.

Generic mutations apply to any gradient (sign, factor 2, dropped 1/N, one entry wrong, transposed,
wrong in the last entries, flushed to 0 where small, computed in float32 for a float64 input, a jump
added to ``f``); each family adds the bugs people write for it (:attr:`~.model.Family.bugs`).

A candidate is kept only where it differs from the truth by more than rounding. At generation this
is screened in float64 without SymPy: the careful gradient evaluated in float64 stands for the truth
(its one-sided values at ``x_i ± max(2⁻⁴⁵|x_i|, 2⁻¹⁰⁷⁴)`` give the interval at a kink), the
conditioning is measured by one-sided differences with a relative step 2⁻²⁰, and a candidate must
be off by more than 3 × the bound of :mod:`.truth` (``MUTANT_MARGIN``; the bound includes the term
"below f's resolution") at some entry. ``tests/checks/test_corpus.py`` then proves every kept mutant
against the 40-digit truth.

The same stand-in screens the other correct implementations (the textbook formulas, PyTorch's and JAX's
backward): one farther than the bound from it at some entry is not correct under the corpus' one rule
(a formula that cancels where ``f`` is small resolves its lost digits), and not a mutant either: it is
left out of the corpus (:meth:`Screen.correct`, counted in :func:`verify.checks.corpus.excluded`).

A candidate must also be *observable*: where ``f`` has kinks (and so no complex step), an entry whose
error, integrated over the distance to a kink, stays below f's rounding cannot be told from a valid
subgradient at that kink by any evaluation of ``f`` (ReLU at ``x = 1e-300`` in a sum of terms of size
1: whether the kink at 0 is at x or next to it does not show in f). A candidate wrong only at such
entries is dropped (:meth:`Screen.observable`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from verify.checks.corpus import stable as S
from verify.checks.corpus.truth import MUTANT_MARGIN, K, f_resolution, rounding_unit

__all__ = ["generic_mutations", "screen", "Screen", "jump_size", "with_jump", "jump_is_real"]

_DENORM = {np.dtype(np.float64): 2.0 ** -1074, np.dtype(np.float32): 2.0 ** -149}


def _float_args(args: tuple, dtype) -> tuple:
    with np.errstate(over="ignore"):  # 1e150 is inf in float32: that is the float32 mutant's bug there
        return tuple(a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in args)


def generic_mutations(family, args: tuple, rng: np.random.Generator) -> list[tuple[str, Callable]]:
    """``(mutation, wrong gradient)`` candidates that apply to ``family`` at ``args`` (before screening)."""
    grad = family.grad
    x = args[0]
    dt = x.dtype
    out: list[tuple[str, Callable]] = [
        ("sign", lambda *a: -grad(*a)),
        ("factor 2", lambda *a: grad(*a) * 2),
    ]
    if family.count > 1:
        out.append(("dropped 1/N", lambda *a, n=family.count: grad(*a) * n))
    k = int(rng.integers(x.size))
    rho = 1e-3 if dt == np.float32 else 1e-6

    def one_entry(*a, k=k, rho=rho):
        g = np.array(grad(*a), copy=True)
        flat = g.reshape(-1)
        scale = max(abs(float(flat[k])), 1e-2 * float(np.max(np.abs(flat))))
        flat[k] = flat[k] + flat.dtype.type(rho * scale)
        return g

    out.append(("one entry", one_entry))
    if family.matrix and x.ndim == 2 and x.shape[0] == x.shape[1]:
        out.append(("transposed", lambda *a: np.ascontiguousarray(grad(*a).T)))

    def last(*a):
        g = np.array(grad(*a), copy=True)
        if g.ndim == 2:
            g[-1, :] = 0
        else:
            g.reshape(-1)[-1] = 0
        return g

    out.append(("tail: last entries", last))
    threshold = 2.0 ** (-20 if dt == np.float64 else -10)

    def flush(*a, threshold=threshold):
        g = np.array(grad(*a), copy=True)
        small = np.abs(g) < threshold * np.max(np.abs(g))
        g[small] = 0
        return g

    out.append(("underflow to 0", flush))
    if dt == np.float64:
        out.append(("float32 gradient",
                    lambda *a: np.asarray(grad(*_float_args(a, np.float32))).astype(np.float64)))
    return out


def jump_size(f: Callable, args: tuple) -> float:
    return 1.0 + abs(float(f(*_float_args(args, np.float64))))


def with_jump(f: Callable, args: tuple) -> tuple[Callable, str, int, float] | None:
    """``f`` plus a jump at the point: ``J·floor(x_k)`` at an integer-valued entry (0 included, |x_k| ≤ 4),
    else ``J·[x_k ≥ x_k⁰]``, with ``J = 1 + |f(point)|`` so that the jump is far above f's rounding.
    Returns ``(f_jump, description, k, J)``."""
    x = np.asarray(args[0])
    flat = x.reshape(-1)
    finite = np.flatnonzero(np.isfinite(flat))
    if finite.size == 0:
        return None
    jump = jump_size(f, args)
    if not np.isfinite(jump):
        return None
    integer = [k for k in finite if float(flat[k]) == np.floor(float(flat[k])) and abs(float(flat[k])) <= 4]
    ndim = x.ndim

    def entry(a, k):
        xx = np.asarray(a[0])
        return xx.reshape(xx.shape[: xx.ndim - ndim] + (-1,))[..., k].real

    if integer:
        k = int(integer[0])

        def f_floor(*a, k=k, jump=jump):
            return f(*a) + jump * np.floor(entry(a, k))
        return f_floor, f"f + {jump:.6g}·floor(x[{k}]) at x[{k}] = {float(flat[k]):g}", k, jump
    k = int(finite[0])
    c = float(flat[k])

    def f_step(*a, k=k, c=c, jump=jump):
        return f(*a) + jump * (entry(a, k) >= c)
    return f_step, f"f + {jump:.6g}·[x[{k}] ≥ {c!r}]", k, jump


def jump_is_real(f_jump: Callable, args: tuple, k: int, jump: float) -> bool:
    """f changes by more than half the jump between the float64 neighbours of x_k: f is discontinuous there."""
    x = np.asarray(args[0], dtype=np.float64)
    rest = _float_args(args[1:], np.float64)
    flat = x.reshape(-1)
    lo, hi = flat.copy(), flat.copy()
    lo[k] = np.nextafter(flat[k], -np.inf)
    hi[k] = np.nextafter(flat[k], np.inf)
    a = float(f_jump(lo.reshape(x.shape), *rest))
    b = float(f_jump(hi.reshape(x.shape), *rest))
    return abs(b - a) > 0.5 * jump


# --------------------------------------------------------------------------------------------- screening


class Screen:
    """The float64 stand-in for the truth at one point, shared by all candidates made there."""

    def __init__(self, family, args: tuple):
        self.family = family
        self.dtype = np.dtype(args[0].dtype)
        a64 = _float_args(args, np.float64)
        self.args = a64
        g = np.asarray(family.grad(*a64), dtype=np.float64)
        low = high = g
        x = a64[0]
        if family.kink:
            low, high = g.copy(), g.copy()
            flat = x.reshape(-1)
            for i in range(flat.size):
                if not np.isfinite(flat[i]):
                    continue
                step = max(abs(flat[i]) * 2.0 ** -45, 2.0 ** -1074)
                for sign in (-1, 1):
                    moved = flat.copy()
                    moved[i] = flat[i] + sign * step
                    gi = float(np.asarray(family.grad(moved.reshape(x.shape), *a64[1:]), np.float64).reshape(-1)[i])
                    low.reshape(-1)[i] = min(low.reshape(-1)[i], gi)
                    high.reshape(-1)[i] = max(high.reshape(-1)[i], gi)
        self.low, self.high = low, high
        cond = np.zeros(g.shape)
        with S.errstate():
            for index, a in enumerate(a64):
                if not (isinstance(a, np.ndarray) and a.dtype.kind == "f") or index in family.exact:
                    continue
                flat = a.reshape(-1)
                for k in range(flat.size):
                    if flat[k] == 0 or not np.isfinite(flat[k]):
                        continue
                    # two relative steps, the larger estimate kept: 2⁻²⁰ can overshoot the local length
                    # scale (x ≈ 1e8 with a spread of 1) and 2⁻³⁶ can drown in g's own rounding; an
                    # overestimate only makes the screen stricter
                    worst = np.zeros(g.shape)
                    for step in (2.0 ** -20, 2.0 ** -36):
                        deltas = None
                        for sign in ((1,) if not family.kink else (1, -1)):
                            moved = flat.copy()
                            moved[k] = flat[k] * (1 + sign * step)
                            moved_args = a64[:index] + (moved.reshape(a.shape),) + a64[index + 1:]
                            d = np.abs(np.asarray(family.grad(*moved_args), np.float64) - g)
                            deltas = d if deltas is None else np.minimum(deltas, d)
                        worst = np.maximum(worst, np.where(np.isfinite(deltas), deltas, np.inf) / step)
                    cond += worst
        resolution = np.asarray(f_resolution(family, a64, self.dtype), np.float64).reshape(g.shape)
        with np.errstate(over="ignore", invalid="ignore"):
            scale = np.maximum(np.abs(low), np.abs(high)) + cond + resolution
            self.bound = K * rounding_unit(self.dtype) * scale + K * _DENORM[self.dtype]

    def wrong_entries(self, wrong: np.ndarray, margin: float = MUTANT_MARGIN) -> np.ndarray:
        """Flat indices where ``wrong`` is farther than ``margin`` bounds from the truth (or not finite)."""
        m = np.asarray(wrong, dtype=np.float64).reshape(self.low.shape)
        with np.errstate(invalid="ignore"):
            d = np.maximum(np.maximum(self.low - m, m - self.high), 0.0)
            bad = (d > margin * self.bound) | ~np.isfinite(m)
        return np.flatnonzero(bad.reshape(-1))

    def differs(self, wrong: np.ndarray, margin: float = MUTANT_MARGIN) -> bool:
        return self.wrong_entries(wrong, margin).size > 0

    def correct(self, g: np.ndarray) -> bool:
        """Whether ``g`` is within the bound (one, not ``MUTANT_MARGIN``) of the stand-in at every entry."""
        return not self.differs(g, margin=1.0)

    def observable(self, wrong: np.ndarray, f) -> bool:
        """Whether some wrong entry could show in f's values (see the module docstring).

        Always for a family without kinks (f is analytic: the complex step resolves any entry). With
        kinks, entry j is hidden when a kink within ``D = 64·u·F / err_j`` of x_j (``F = |f| + Σ|g_i x_i|``,
        f's rounding scale; ``err_j`` the entry's distance from the truth) makes the wrong value a
        valid one-sided slope: no evaluation of f can place that kink on either side of x_j.
        """
        bad = self.wrong_entries(wrong)
        if not self.family.kink:
            return bad.size > 0
        m = np.asarray(wrong, dtype=np.float64).reshape(-1)
        x = self.args[0]
        flat = x.reshape(-1)
        g = np.maximum(np.abs(self.low), np.abs(self.high)).reshape(-1)
        finite = np.isfinite(flat)
        with np.errstate(all="ignore"):
            scale = abs(float(f(*self.args))) + float(np.sum(np.abs(g[finite] * flat[finite])))
        eta = K * rounding_unit(np.float64) * scale
        low, high, bound = self.low.reshape(-1), self.high.reshape(-1), self.bound.reshape(-1)
        for j in bad:
            if not (np.isfinite(m[j]) and np.isfinite(flat[j])):
                return True
            err = max(low[j] - m[j], m[j] - high[j])
            reach = eta / err
            values = [low[j], high[j]]
            for sign in (-1.0, 1.0):
                for fraction in (1.0, 0.5, 0.25):
                    moved = flat.copy()
                    moved[j] = flat[j] + sign * fraction * reach
                    with np.errstate(all="ignore"):
                        gj = float(np.asarray(self.family.grad(moved.reshape(x.shape), *self.args[1:]),
                                              np.float64).reshape(-1)[j])
                    if np.isfinite(gj):
                        values.append(gj)
            if not (min(values) - bound[j] <= m[j] <= max(values) + bound[j]):
                return True
        return False


def screen(family, args: tuple) -> Screen:
    return Screen(family, args)
