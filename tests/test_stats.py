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


# --- SciPy's quantiles against mpmath, and the intervals they give --------------------------------------


def _t_upper_tail(t: float, df: int):
    import mpmath

    with mpmath.workdps(40):
        x = df / (df + mpmath.mpf(t) ** 2)
        return mpmath.betainc(mpmath.mpf(df) / 2, mpmath.mpf(1) / 2, 0, x, regularized=True) / 2


@pytest.mark.parametrize("df", [1, 2, 5, 29, 255, 7_799, 200_000])
@pytest.mark.parametrize("tail", [0.25, 0.025, 1e-4, 6.25e-8, 1.25e-7 / 6, 5e-13])
def test_t_quantile_has_the_tail_probability_it_claims(df, tail):
    # the exact upper tail at SciPy's quantile, by mpmath's incomplete beta at 40 digits; the tail of
    # p = 1 - tail is 1 - p exactly (p is the float the caller passes)
    import mpmath

    p = 1 - tail
    t = stats.t_quantile(p, df)
    assert float(_t_upper_tail(t, df)) == pytest.approx(float(1 - mpmath.mpf(p)), rel=1e-8, abs=0)


@pytest.mark.parametrize("tail", [0.3, 0.025, 1e-6, 6.25e-8, 1e-15])
def test_normal_quantile_has_the_tail_probability_it_claims(tail):
    import mpmath

    p = 1 - tail
    z, z_low = stats.normal_quantile(p), stats.normal_quantile(tail)
    with mpmath.workdps(40):
        assert float(mpmath.ncdf(-mpmath.mpf(z))) == pytest.approx(float(1 - mpmath.mpf(p)), rel=1e-9, abs=0)
        assert float(mpmath.ncdf(mpmath.mpf(z_low))) == pytest.approx(tail, rel=1e-9, abs=0)


@pytest.mark.parametrize(("k", "n"), [(0, 5), (1, 5), (3, 10), (500, 1000), (7, 2000), (2000, 2000)])
@pytest.mark.parametrize("alpha", [0.05, 1e-6])
def test_clopper_pearson_ends_have_binomial_tails_of_alpha_over_2(k, n, alpha):
    import mpmath

    lo, hi = stats.clopper_pearson(k, n, alpha)
    with mpmath.workdps(40):
        def at_least_k(p):  # P(X >= k) for X ~ Bin(n, p)
            return mpmath.betainc(k, n - k + 1, 0, mpmath.mpf(p), regularized=True)

        def at_most_k(p):
            return 1 - mpmath.betainc(k + 1, n - k, 0, mpmath.mpf(p), regularized=True)

        if k > 0:
            assert float(at_least_k(lo)) == pytest.approx(alpha / 2, rel=1e-7, abs=0)
        else:
            assert lo == 0.0
        if k < n:
            assert float(at_most_k(hi)) == pytest.approx(alpha / 2, rel=1e-7, abs=0)
        else:
            assert hi == 1.0


def _reference_mean_interval(x: np.ndarray, alpha: float):
    """The interval of ``mean_interval`` with mpmath's quantiles and the sample skewness written out."""
    import mpmath

    n = x.size
    mean, sd = float(x.mean()), float(x.std(ddof=1))
    with mpmath.workdps(40):
        tail = mpmath.mpf(alpha) / 2
        t = float(mpmath.findroot(lambda s: _t_upper_tail(s, n - 1) - tail, stats.t_quantile(1 - alpha / 2, n - 1)))
        z = float(-mpmath.sqrt(2) * mpmath.erfinv(2 * tail - 1))
    m2, m3 = np.mean((x - mean) ** 2), np.mean((x - mean) ** 3)
    half = (t + abs(m3 / m2**1.5) / math.sqrt(n) * (z * z - 1) / 6) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


@pytest.mark.parametrize("seed", range(6))
def test_mean_interval_equals_the_high_precision_reference(seed):
    # the decision (theory inside the interval, interval inside theory ± effect) can only change where
    # theory sits within 1e-9 of a half-width from an end: verdicts do not change with the quantiles
    rng = np.random.default_rng(seed)
    for n, alpha in ((3, 0.2), (30, 1e-6), (256, 1.25e-7), (7_800, 1.25e-7 / 6), (40_000, 5e-7)):
        x = rng.exponential(size=n) ** 2 + rng.normal(size=n)
        mean, lo, hi, _ = stats.mean_interval(x, alpha)
        ref_mean, ref_lo, ref_hi = _reference_mean_interval(x, alpha)
        half = hi - mean
        assert mean == ref_mean
        assert abs(lo - ref_lo) <= 1e-9 * half and abs(hi - ref_hi) <= 1e-9 * half, (n, alpha)


def test_the_skewness_is_scipys():
    from scipy.stats import skew

    rng = np.random.default_rng(7)
    for n in (3, 50, 10_000):
        x = rng.exponential(size=n)
        mean, lo, hi, sd = stats.mean_interval(x, 0.01)
        t, z = stats.t_quantile(0.995, n - 1), stats.normal_quantile(0.995)
        g1 = (hi - mean) / (sd / math.sqrt(n)) - t  # the skewness term, recovered from the interval
        assert g1 == pytest.approx(abs(skew(x)) / math.sqrt(n) * (z * z - 1) / 6, rel=1e-9)
