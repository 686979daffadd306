"""The three named claims, checked in both directions, and broken on purpose to see the verdict change."""

from fractions import Fraction

import numpy as np
import pytest

from verify.claims import Context, momentum, step_size
from verify.claims import bias_variance as bv
from verify.claims import information as info
from verify.claims.registry import get_claim, run_claim

CTX = Context(seed=7, quick=True, backend="cpu")


def test_gibbs_holds_on_the_kernels_and_on_the_reference():
    assert run_claim(get_claim("information.gibbs"), CTX).verdict == "holds"
    refs = {"entropy": info.entropy_reference, "cross_entropy": info.cross_entropy_reference, "kl": info.kl_reference}
    out = info.check_gibbs(CTX, **refs)
    assert out.verdict == "holds" and all(out.evidence["proved by SymPy (3 outcomes)"].values())
    # fails just past its condition (mass of q > 1)
    assert out.evidence["past the condition (q of mass 1 + δ)"]["D(p‖q) < 0 found"]
    assert out.pair.measured >= 0 and out.pair.relation == ">="


@pytest.mark.parametrize("wrong_kl", [
    lambda p, q: info.kl_reference(q, p) if np.all(p > 0) else info.kl_reference(p, q),  # reversed arguments
    lambda p, q: -info.kl_reference(p, q),  # sign flipped
    lambda p, q: float(np.sum(p * np.log(p + 1e-300) - p * np.log(q + 1e-300))) + 1e-3,  # a constant offset
])
def test_gibbs_catches_a_wrong_kl(wrong_kl):
    out = info.check_gibbs(CTX, kl=wrong_kl)
    assert out.verdict == "refuted" and out.counterexample


def test_kl_step1_as_written_is_refuted_and_its_correction_holds():
    rec = run_claim(get_claim("information.kl_step1_as_written"), CTX)
    assert rec.verdict == "refuted" and rec.corrected == r"D_{KL}(p\|q) = H(p, q) - H(p)"
    assert rec.correction["verified"] and rec.correction["evidence"]["SymPy"]["verdict"] == "proved"
    cx = rec.counterexample
    assert cx["D(p‖q)"] != cx["H(q, p) − H(p) as written"]


def test_gd_step_size_condition_both_directions():
    out = step_size.check_gd_quadratic(CTX)
    assert out.verdict == "holds"
    observed = {(r["problem"], str(r["ηL"])): r["observed"] for r in out.evidence["runs"]}
    exact = "1-D, exact rationals"
    assert observed[(exact, "49/25")] == "converges"  # just below 2/L
    assert observed[(exact, "2")] == "cycles"  # at 2/L
    assert observed[(exact, "51/25")] == "diverges"  # just above
    assert out.pair.measured == "2" and out.pair.theoretical == 2


@pytest.mark.parametrize("wrong_step", [
    lambda x, g, eta: x - 0.5 * eta * g,  # half the step: converges past 2/L
    lambda x, g, eta: x - 2 * eta * g,  # double the step: diverges below 2/L
    lambda x, g, eta: x + eta * g,  # ascent
])
def test_gd_with_a_wrong_step_is_refuted(wrong_step):
    assert step_size.check_gd_quadratic(CTX, step=wrong_step).verdict == "refuted"
    assert step_size.check_exercise_x2(CTX, step=wrong_step).verdict == "refuted"


def test_exercise_outcomes_are_computed():
    out = step_size.check_exercise_x2(CTX)
    got = {r["η"]: r["observed"] for r in out.evidence["outcomes"]}
    assert got == {"1/100": "converges", "1/10": "converges", "1": "cycles", "100": "diverges", "1000": "diverges"}


def test_drori_teboulle_attained_and_broken():
    out = step_size.check_drori_teboulle(CTX)
    assert out.verdict == "holds" and all(a["equal"] for a in out.evidence["attained on the Huber worst case (exact "
                                                                          "rationals)"])
    assert out.evidence["past the condition"]["exceeded"]
    assert step_size.check_drori_teboulle(CTX, step=lambda x, g, eta: x - 0.9 * eta * g).verdict == "refuted"


def test_huber_worst_case_attains_the_bound_exactly():
    L, R, N, h = Fraction(2), Fraction(1), 3, Fraction(1, 2)
    f, df = step_size.huber_worst_case(L, R, N, h)
    x = R
    for _ in range(N):
        x = x - h / L * df(x)
    assert f(x) == L * R * R / (4 * N * h + 2)


def test_descent_lemma_fails_with_too_small_a_constant():
    assert step_size.check_descent_lemma(CTX).verdict == "holds"
    assert step_size.check_descent_lemma(CTX, smoothness_factor=0.5).verdict == "refuted"


def test_heavy_ball_boundary_and_a_wrong_momentum():
    assert momentum.check_heavy_ball_stability(CTX).verdict == "holds"
    # an EMA momentum passed off as heavy ball moves the boundary: refuted
    assert momentum.check_heavy_ball_stability(CTX, step=momentum.ema_momentum_step).verdict == "refuted"


def test_bias_variance_identity_holds_and_a_dropped_term_is_refuted():
    out = bv.check_decomposition(CTX)
    assert out.verdict == "holds"

    def drop_variance(preds, f, s2):
        b2, _, noise = bv.unbiased_decomposition(preds, f, s2)
        return b2, np.zeros_like(b2), noise

    def drop_noise(preds, f, s2):
        b2, var, _ = bv.unbiased_decomposition(preds, f, s2)
        return b2, var, 0.0

    for wrong in (drop_variance, drop_noise, bv.literal_decomposition):
        bad = bv.check_decomposition(CTX, decomposition=wrong)
        assert bad.verdict == "refuted", wrong.__name__
        assert bad.counterexample["Err − (Bias² + Variance + σ²)"] > 0


def test_bootstrap_estimator_identity_and_noise_in_bias():
    rng = np.random.default_rng(0)
    x = bv.draw_inputs(rng, (bv.N_TRAIN,))
    y = bv.true_function(x) + bv.SIGMA * rng.normal(size=x.size)
    y_test = bv.true_function(bv.TEST_POINTS) + bv.SIGMA * rng.normal(size=bv.TEST_POINTS.size)
    loss, bias, var = bv.bootstrap_bias_variance(x, y, bv.TEST_POINTS, y_test, degree=3, rounds=20, rng=rng)
    assert loss == pytest.approx(bias + var, rel=1e-12)
    out = run_claim(get_claim("bias_variance.mlxtend_noise_in_bias"), CTX)
    assert out.verdict == "holds"
    for row in out.evidence["estimators side by side"]:
        assert row["mlxtend bias − true Bias²"] > 0.5 * bv.SIGMA**2  # the noise sits in mlxtend's bias


def test_the_literal_first_slide_explains_its_counterexample_and_checks_its_correction():
    rec = run_claim(get_claim("bias_variance.first_slide_as_written"), CTX)
    assert rec.verdict == "refuted"
    assert "rounding" in rec.counterexample_explained and "unbiased" in rec.counterexample_explained
    lo, hi = rec.counterexample["Bias² interval"]
    assert lo <= rec.counterexample["Bias² (unbiased estimate)"] <= hi
    assert rec.correction["verified"] and r"E\left[(\hat f(x) - E[\hat f(x)])^2\right]" in rec.corrected


def test_the_bias_variance_sweep_runs_unchanged_through_an_executor():
    from concurrent.futures import ThreadPoolExecutor

    serial, _ = bv.run_bias_variance_sweep(CTX)
    with ThreadPoolExecutor(2) as pool:
        pooled, _ = bv.run_bias_variance_sweep(Context(seed=7, quick=True, backend="cpu", executor=pool))
    for a, b in zip(serial, pooled, strict=True):
        assert a["seed"] == b["seed"] and np.array_equal(a["d"], b["d"])
