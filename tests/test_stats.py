"""Calibrated statistics: quantiles, intervals, sample sizes, budgets and the three-way decision."""

import math

import numpy as np
import pytest

from verify import stats


def test_quantiles_match_known_values():
    # t_{0.975, 10} = 2.228138851986; z_{0.975} = 1.959963984540
    assert stats.t_quantile(0.975, 10) == pytest.approx(2.228138851986, rel=1e-10)
    assert stats.normal_quantile(0.975) == pytest.approx(1.959963984540, rel=1e-12)
    assert stats.t_quantile(1 - 5e-7, 10**6) == pytest.approx(stats.normal_quantile(1 - 5e-7), rel=1e-4)


def test_clopper_pearson_is_exact():
    # the binomial tail at the interval's ends equals alpha/2 exactly (successes = 3 of 10)
    lo, hi = stats.clopper_pearson(3, 10, 0.05)
    tail_hi = sum(math.comb(10, k) * lo**k * (1 - lo) ** (10 - k) for k in range(3, 11))
    tail_lo = sum(math.comb(10, k) * hi**k * (1 - hi) ** (10 - k) for k in range(0, 4))
    assert tail_hi == pytest.approx(0.025, rel=1e-9) and tail_lo == pytest.approx(0.025, rel=1e-9)
    assert stats.clopper_pearson(10, 10, 0.05)[1] == 1.0 and stats.clopper_pearson(0, 10, 0.05)[0] == 0.0


def test_mean_interval_covers_at_its_level():
    # at alpha = 0.2 a calibrated interval misses the true mean about 20% of the time (skewed data)
    rng = np.random.default_rng(0)
    misses = 0
    for _ in range(1000):
        x = rng.exponential(size=50)
        _, lo, hi, _ = stats.mean_interval(x, 0.2)
        misses += not (lo <= 1.0 <= hi)
    assert 0.12 < misses / 1000 < 0.25


def test_a_too_narrow_interval_is_caught_by_the_coverage_check():
    # the same coverage experiment detects an interval built with z instead of t and no skew term
    rng = np.random.default_rng(1)
    misses = 0
    for _ in range(2000):
        x = rng.exponential(size=8)
        m, s = x.mean(), x.std(ddof=1) / math.sqrt(8)
        half = stats.normal_quantile(1 - 0.01 / 2) * s
        misses += not (m - half <= 1.0 <= m + half)
    assert misses / 2000 > 0.03  # a 1% interval that misses > 3%: miscalibrated


def test_sample_size_follows_the_effect():
    n1 = stats.sample_size(0.1, 1.0, 1e-6)
    n2 = stats.sample_size(0.05, 1.0, 1e-6)
    assert n2 == pytest.approx(4 * n1, rel=0.01)
    with pytest.raises(ValueError, match="effect"):
        stats.sample_size(0.0, 1.0, 1e-6)


def test_budget_is_shared_and_cannot_be_overspent():
    b = stats.ErrorBudget(1e-6, checks=4)
    assert [b.take() for _ in range(4)] == [2.5e-7] * 4
    with pytest.raises(RuntimeError, match="exhausted"):
        b.take()
    with pytest.raises(ValueError, match="alpha"):
        stats.ErrorBudget(1.5)


def test_assert_mean_three_verdicts():
    normal = lambda n, rng: rng.normal(1.0, 1.0, size=n)
    ok = stats.assert_mean("t.ok", normal, 1.0, effect=0.1, alpha=1e-6, seed=3)
    assert ok.verdict == "holds" and ok.ci[0] <= 1.0 <= ok.ci[1] and ok.ci[1] - ok.ci[0] <= 0.2
    biased = stats.assert_mean("t.bad", normal, 1.3, effect=0.1, alpha=1e-6, seed=3)
    assert biased.verdict == "refuted"
    capped = stats.assert_mean("t.cap", normal, 1.0, effect=0.001, alpha=1e-6, seed=3, max_n=1000)
    assert capped.verdict == "inconclusive" and "max_n" in capped.note
    assert ok.seed == stats.claim_rng(3, "t.ok")[1]


def test_diverging_samples_are_refuted_not_averaged():
    res = stats.assert_mean("t.inf", lambda n, rng: np.full(n, np.inf), 0.0, effect=1.0, alpha=1e-6, seed=0)
    assert res.verdict == "refuted" and "non-finite" in res.note


def test_combine():
    assert stats.combine(["holds", "holds"]) == "holds"
    assert stats.combine(["holds", "inconclusive"]) == "inconclusive"
    assert stats.combine(["inconclusive", "refuted"]) == "refuted"
