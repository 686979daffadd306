"""Calibrated Monte-Carlo assertions: every statistical verdict declares its false-fail rate.

A statistical check of a true claim must fail with probability at most ``alpha`` (its declared
false-fail rate, e.g. ``1e-6``). The sub-checks of one claim share one :class:`ErrorBudget`
(Bonferroni: ``k`` sub-checks get ``alpha / k`` each, so the claim as a whole stays within ``alpha``).

The decision rule of :func:`assert_mean` is a two-sided confidence interval combined with an
equivalence band of half-width ``effect`` (the smallest deviation worth detecting):

- ``refuted``       the theoretical value lies outside the ``1 - alpha`` interval;
- ``holds``         the interval lies inside ``[theory - effect, theory + effect]``: every deviation
  of size ``effect`` or more is excluded at level ``alpha``;
- ``inconclusive``  neither: the sample the budget allowed is too small to decide. Nothing is guessed.

The sample size follows from the effect size (:func:`sample_size`): with ``n`` samples of standard
deviation ``sd`` both errors (a spurious refutation and an inconclusive verdict on a true claim) have
probability at most ``alpha``. Seeds are recorded in every :class:`StatResult`.

Intervals for a mean are Student-t intervals widened by a first-order Cornish-Fisher term for the
skewness of the sample mean (Hall, 1992, *The Bootstrap and Edgeworth Expansion*, §3.5); they are
asymptotically exact, and the false-alarm rate of every statistical claim is measured over 200 seeds
(tests/claims). Intervals for a proportion are exact Clopper-Pearson intervals. The quantiles (normal,
Student's t, beta) and the sample skewness come from :mod:`scipy.stats`; upper-tail quantiles are taken
with ``isf`` so that tail probabilities as small as 1e-12 keep their precision.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import zlib
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from scipy import stats as scipy_stats

__all__ = [
    "DEFAULT_ALPHA",
    "ErrorBudget",
    "StatResult",
    "normal_quantile",
    "t_quantile",
    "clopper_pearson",
    "mean_interval",
    "sample_size",
    "assert_mean",
    "assert_proportion",
    "decide",
    "combine",
    "claim_rng",
    "seed_record",
]

#: The default false-fail rate of one statistical claim (all its sub-checks together).
DEFAULT_ALPHA = 1e-6

Verdict = Literal["holds", "refuted", "inconclusive"]


@dataclasses.dataclass
class ErrorBudget:
    """A claim's false-fail rate ``alpha``, shared by its ``checks`` sub-checks (Bonferroni).

    Each call of :meth:`take` hands out ``alpha / checks``; taking more than ``checks`` shares is an
    error, so a claim cannot silently spend more than it declared.
    """

    alpha: float = DEFAULT_ALPHA
    checks: int = 1
    spent: int = 0

    def __post_init__(self) -> None:
        if not (0.0 < self.alpha < 1.0):
            raise ValueError(f"alpha must lie in (0, 1); got {self.alpha!r}")
        if not isinstance(self.checks, int) or self.checks < 1:
            raise ValueError(f"checks must be a positive integer; got {self.checks!r}")

    @property
    def per_check(self) -> float:
        return self.alpha / self.checks

    def take(self) -> float:
        if self.spent >= self.checks:
            raise RuntimeError(f"error budget exhausted: {self.checks} sub-checks declared, a further one asked")
        self.spent += 1
        return self.per_check

    def to_json(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "checks": self.checks, "per_check": self.per_check, "spent": self.spent}


@dataclasses.dataclass
class StatResult:
    """One calibrated sub-check: estimate, interval, theory, and the verdict they imply."""

    name: str
    estimate: float
    ci: tuple[float, float]
    theoretical: float
    alpha: float
    n: int
    verdict: Verdict
    effect: float | None = None
    sd: float | None = None
    seed: dict[str, Any] | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name, "estimate": _num(self.estimate), "ci": [_num(self.ci[0]), _num(self.ci[1])],
            "theoretical": _num(self.theoretical), "alpha": self.alpha, "n": self.n, "verdict": self.verdict,
        }
        if self.effect is not None:
            out["effect"] = _num(self.effect)
        if self.sd is not None:
            out["sd"] = _num(self.sd)
        if self.seed is not None:
            out["seed"] = self.seed
        if self.note:
            out["note"] = self.note
        return out


def _num(x: float) -> float | str:
    x = float(x)
    return x if math.isfinite(x) else repr(x)


@functools.lru_cache(maxsize=512)
def normal_quantile(p: float) -> float:
    """The ``p``-quantile of the standard normal distribution (``scipy.stats.norm``)."""
    if not (0.0 < p < 1.0):
        raise ValueError(f"p must lie in (0, 1); got {p!r}")
    if p > 0.5:  # the upper tail from its own probability: 1 - p is exact here, p itself rounds
        return float(scipy_stats.norm.isf(1.0 - p))
    return float(scipy_stats.norm.ppf(p))


@functools.lru_cache(maxsize=512)
def t_quantile(p: float, df: int) -> float:
    """The ``p``-quantile (``p >= 1/2``) of Student's t with ``df`` degrees of freedom (``scipy.stats.t``).

    Taken as the upper-tail quantile of ``1 - p``, so tail probabilities as small as 1e-12 are exact to
    float64 (checked against mpmath's incomplete beta function in the tests).
    """
    if not (0.5 <= p < 1.0):
        raise ValueError(f"p must lie in [1/2, 1); got {p!r}")
    if df < 1:
        raise ValueError(f"df must be >= 1; got {df!r}")
    if p == 0.5:
        return 0.0
    return float(scipy_stats.t.isf(1.0 - p, df))


def clopper_pearson(successes: int, n: int, alpha: float) -> tuple[float, float]:
    """Exact two-sided ``1 - alpha`` interval for a binomial proportion (Clopper & Pearson, 1934):
    beta quantiles from ``scipy.stats.beta``."""
    if n < 1 or not (0 <= successes <= n):
        raise ValueError(f"need 0 <= successes <= n, n >= 1; got successes={successes!r}, n={n!r}")
    if not (0.0 < alpha < 1.0):
        raise ValueError(f"alpha must lie in (0, 1); got {alpha!r}")
    lo = 0.0 if successes == 0 else float(scipy_stats.beta.ppf(alpha / 2, successes, n - successes + 1))
    hi = 1.0 if successes == n else float(scipy_stats.beta.isf(alpha / 2, successes + 1, n - successes))
    return lo, hi


def mean_interval(samples: np.ndarray, alpha: float) -> tuple[float, float, float, float]:
    """``(mean, low, high, sd)``: a two-sided ``1 - alpha`` interval for the mean of iid ``samples``.

    Student-t half-width ``t_{1-alpha/2, n-1} s / sqrt(n)``, widened on each side by the first-order
    Cornish-Fisher term ``|gamma| (z^2 - 1) / 6 * s / sqrt(n)`` where ``gamma = g_1 / sqrt(n)`` is the
    skewness of the sample mean (``g_1 = m_3 / m_2^{3/2}``, the sample skewness of ``scipy.stats.skew``):
    squared errors are skewed, and at ``alpha = 1e-6`` (z = 4.9) the plain t interval would under-cover
    by a factor of a few.
    """
    x = np.asarray(samples, dtype=np.float64).ravel()
    n = x.size
    if n < 3:
        raise ValueError(f"samples must hold at least 3 values; got {n}")
    if not np.all(np.isfinite(x)):
        raise ValueError("samples must be finite; got NaN/inf (the quantity estimated diverged)")
    mean = float(x.mean())
    sd = float(x.std(ddof=1))
    if sd == 0.0:
        return mean, mean, mean, 0.0
    se = sd / math.sqrt(n)
    t = t_quantile(1 - alpha / 2, n - 1)
    z = normal_quantile(1 - alpha / 2)
    centred = x - mean
    g1 = float(np.mean(centred**3) / np.mean(centred**2) ** 1.5)  # = scipy.stats.skew(x), without its overhead
    skew_term = abs(g1) / math.sqrt(n) * (z * z - 1) / 6
    half = (t + skew_term) * se
    return mean, mean - half, mean + half, sd


def sample_size(effect: float, sd: float, alpha: float, miss: float | None = None) -> int:
    """Samples needed to decide a mean to within ``effect`` at false-fail rate ``alpha``.

    With ``n = ((z_{1-alpha/2} + z_{1-miss/2}) sd / effect)^2`` a true claim is refuted with
    probability <= ``alpha`` and left inconclusive with probability <= ``miss`` (default ``alpha``).
    """
    if effect <= 0 or not math.isfinite(effect):
        raise ValueError(f"effect must be positive and finite; got {effect!r}")
    if sd < 0 or not math.isfinite(sd):
        raise ValueError(f"sd must be non-negative and finite; got {sd!r}")
    miss = alpha if miss is None else miss
    z = normal_quantile(1 - alpha / 2) + normal_quantile(1 - miss / 2)
    return max(3, math.ceil((z * sd / effect) ** 2))


def decide(estimate: float, low: float, high: float, theoretical: float, effect: float | None) -> Verdict:
    """The three-way decision of the module docstring."""
    if not (low <= theoretical <= high):
        return "refuted"
    if effect is None or (theoretical - effect <= low and high <= theoretical + effect):
        return "holds"
    return "inconclusive"


def claim_rng(seed: int, name: str, *extra: int) -> tuple[np.random.Generator, dict[str, Any]]:
    """A generator for sub-check ``name`` of a run with ``seed``, and the record that reproduces it.

    The stream is ``SeedSequence(seed, spawn_key=(crc32(name), *extra))``: independent across names,
    identical across runs, platforms and executors.
    """
    key = (zlib.crc32(name.encode()), *[int(e) for e in extra])
    ss = np.random.SeedSequence(int(seed), spawn_key=key)
    return np.random.default_rng(ss), seed_record(ss)


def seed_record(ss: np.random.SeedSequence) -> dict[str, Any]:
    return {"entropy": int(ss.entropy), "spawn_key": [int(k) for k in ss.spawn_key]}


def assert_mean(
    name: str,
    draw: Callable[[int, np.random.Generator], np.ndarray],
    theoretical: float,
    *,
    effect: float,
    alpha: float,
    seed: int,
    pilot: int = 256,
    max_n: int = 200_000,
) -> StatResult:
    """Decide whether ``E[draw(·)] == theoretical`` to within ``effect``, at false-fail rate ``alpha``.

    ``draw(n, rng)`` returns ``n`` iid samples. A pilot of ``pilot`` samples estimates the standard
    deviation (inflated by 20% for its own uncertainty), :func:`sample_size` sets ``n`` (capped at
    ``max_n``: then the verdict may be ``inconclusive``), and the decision uses all samples drawn.
    """
    rng, record = claim_rng(seed, name)
    first = np.asarray(draw(pilot, rng), dtype=np.float64).ravel()
    if not np.all(np.isfinite(first)):
        return StatResult(name, float("nan"), (float("nan"), float("nan")), theoretical, alpha, first.size,
                          "refuted", effect, None, record, note="non-finite samples: the quantity diverged")
    sd0 = float(first.std(ddof=1)) * 1.2
    n = min(max_n, sample_size(effect, sd0, alpha)) if sd0 > 0 else pilot
    parts = [first]
    if n > first.size:
        parts.append(np.asarray(draw(n - first.size, rng), dtype=np.float64).ravel())
    x = np.concatenate(parts)
    if not np.all(np.isfinite(x)):
        return StatResult(name, float("nan"), (float("nan"), float("nan")), theoretical, alpha, x.size,
                          "refuted", effect, None, record, note="non-finite samples: the quantity diverged")
    mean, low, high, sd = mean_interval(x, alpha)
    verdict = decide(mean, low, high, theoretical, effect)
    note = "" if verdict != "inconclusive" else f"sample capped at max_n={max_n}: interval wider than ±effect"
    return StatResult(name, mean, (low, high), theoretical, alpha, int(x.size), verdict, effect, sd, record, note)


def assert_proportion(
    name: str,
    successes: int,
    n: int,
    theoretical: float,
    *,
    alpha: float,
    effect: float | None = None,
    seed: dict[str, Any] | None = None,
) -> StatResult:
    """Decide whether a success probability equals ``theoretical`` (Clopper-Pearson at level ``alpha``)."""
    low, high = clopper_pearson(successes, n, alpha)
    estimate = successes / n
    verdict = decide(estimate, low, high, theoretical, effect)
    return StatResult(name, estimate, (low, high), theoretical, alpha, n, verdict, effect, None, seed)


def combine(verdicts: list[str]) -> Verdict:
    """A claim's verdict from its sub-checks: refuted if any is, else inconclusive if any is, else holds."""
    if "refuted" in verdicts:
        return "refuted"
    if "inconclusive" in verdicts:
        return "inconclusive"
    return "holds"
