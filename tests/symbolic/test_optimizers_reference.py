"""The exact optimizer references: hand-computed values, identities between rules, the alternative forms."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from verify.checks.optimizer import check_optimizer
from verify.kernels.optimizers import RULES, apply_step, init_state, run_optimizer
from verify.strategies import gradient_sequences, parameter_vectors
from verify.symbolic.optimizers import EXACT_RULES, float_run, magnitude_run, reference_run, variants

decay = st.sampled_from([0.0, 0.5, 0.9, 0.99, 0.999]) | st.floats(0.0, 0.999)
step_size = st.sampled_from([0.1, 0.01, 1.0]) | st.floats(1e-4, 1.0)


@st.composite
def problems(draw, max_steps=12, max_size=3):
    grads = draw(gradient_sequences(max_steps=max_steps, max_size=max_size))
    return draw(parameter_vectors(grads.shape[1])), grads


# --------------------------------------------------------------------------- hand-computed values


def test_sgd_is_exact_in_rationals():
    theta0, grads = np.array([0.5]), np.array([[0.1], [0.2], [-0.3]])
    ref = reference_run("sgd", theta0, grads, lr=0.1)
    exact = Fraction(0.5) - Fraction(0.1) * (Fraction(0.1) + Fraction(0.2) + Fraction(-0.3))
    assert ref.exact_iterates[-1][0] == exact
    assert ref.iterates[-1, 0] == float(exact)  # correctly rounded once
    assert ref.arithmetic.startswith("exact rational")


def test_momentum_buffer_is_the_discounted_sum_of_gradients():
    grads = np.array([[1.0], [2.0], [4.0]])
    ref = reference_run("momentum", np.zeros(1), grads, lr=0.5, momentum=0.5)
    assert [row[0] for row in ref.exact_states["b"]] == [1, Fraction(5, 2), Fraction(21, 4)]
    assert ref.exact_iterates[-1][0] == -Fraction(1, 2) * (1 + Fraction(5, 2) + Fraction(21, 4))


def test_nesterov_adds_the_look_ahead_term():
    ref = reference_run("nesterov", np.zeros(1), np.array([[1.0], [1.0]]), lr=1.0, momentum=0.5)
    # b1 = 1, Δ1 = 1 + 0.5·1; b2 = 1.5, Δ2 = 1 + 0.5·1.5
    assert [r[0] for r in ref.exact_iterates] == [Fraction(-3, 2), Fraction(-3, 2) - Fraction(7, 4)]


def test_adagrad_inside_and_outside_on_a_pythagorean_example():
    grads = np.array([[3.0], [4.0]])  # v = 9, then 25
    inside = reference_run("adagrad", np.zeros(1), grads, lr=1.0, eps=0.0, eps_mode="inside")
    outside = reference_run("adagrad", np.zeros(1), grads, lr=1.0, eps=1.0, eps_mode="outside")
    assert inside.iterates[:, 0].tolist() == [float(Fraction(-1)), float(Fraction(-9, 5))]
    assert outside.iterates[:, 0].tolist() == [float(Fraction(-3, 4)), float(Fraction(-17, 12))]


def test_adagrad_norm_shares_one_accumulator():
    ref = reference_run("adagrad_norm", np.zeros(2), np.array([[3.0, 4.0]]), lr=1.0, eps=0.0)
    assert ref.states["acc"].tolist() == [[25.0]]
    assert ref.iterates.tolist() == [[-0.6, -0.8]]


def test_adam_first_step_is_lr_times_g_over_abs_g_plus_eps():
    # m̂₁ = g and v̂₁ = g² whatever β₁, β₂: Δ₁ = α g / (|g| + ε) (Kingma & Ba, §2.1: |Δ| ≲ α).
    g, lr, eps = 0.37, 0.01, 1e-3
    ref = reference_run("adam", np.zeros(1), np.array([[g]]), lr=lr, beta1=0.9, beta2=0.999, eps=eps)
    with mpmath.workdps(60):
        expected = -mpmath.mpf(lr) * mpmath.mpf(g) / (abs(mpmath.mpf(g)) + mpmath.mpf(eps))
        assert abs(ref.exact_iterates[0][0] - expected) < mpmath.mpf(10) ** -55


def test_the_seed_002_adam_is_not_kingma_and_ba():
    # 002_1388b78ad9a2d202.txt writes m̂ = m / (1 + β̂₁ⁱ): the (1 − β) factors no longer cancel, so the
    # first step is α·[(1 − β₁)/(1 + β₁)] / √[(1 − β₂)/(1 + β₂)] ≈ 2.35α instead of α.
    theta0, grads, hyper = np.zeros(1), np.array([[1.0]]), {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 0.0}
    kingma = reference_run("adam", theta0, grads, **hyper)
    seed = next(v for v in variants("adam") if v.name == "bias_plus").reference(theta0, grads, hyper | {
        "eps_mode": "kingma"})
    assert kingma.iterates[0, 0] == -0.1
    with mpmath.workdps(60):
        b1, b2, lr = mpmath.mpf(0.9), mpmath.mpf(0.999), mpmath.mpf(0.1)
        expected = -lr * ((1 - b1) / (1 + b1)) / mpmath.sqrt((1 - b2) / (1 + b2))
        assert abs(seed.exact_iterates[0][0] - expected) < mpmath.mpf(10) ** -55
    assert seed.iterates[0, 0] < -0.23


# --------------------------------------------------------------------------- identities, checked


@given(problems(), step_size, decay)
def test_ema_momentum_is_heavy_ball_with_step_times_one_minus_beta(problem, lr, beta):
    # m_t = (1 − β) b_t by induction, so θ − α m_t = θ − α(1 − β) b_t: equal exactly, in rationals.
    theta0, grads = problem
    ema = reference_run("ema_momentum", theta0, grads, lr=lr, beta=beta)
    hb = _exact_heavy_ball(theta0, grads, Fraction(lr) * (1 - Fraction(beta)), Fraction(beta))
    assert [list(r) for r in ema.exact_iterates] == [list(r) for r in hb]


def _exact_heavy_ball(theta0, grads, lr, mu):
    theta, b, out = [Fraction(x) for x in theta0], [Fraction(0)] * len(theta0), []
    for row in grads:
        b = [mu * bi + Fraction(gi) for bi, gi in zip(b, row, strict=True)]
        theta = [t - lr * bi for t, bi in zip(theta, b, strict=True)]
        out.append(tuple(theta))
    return out


def test_ema_momentum_and_heavy_ball_kernels_agree_after_rescaling(backend):
    rng = np.random.default_rng(1)
    theta0, grads = rng.normal(size=4), rng.normal(size=(20, 4))
    lr, beta = 0.25, 0.75  # α(1 − β) = 1/16 exactly
    # the heavy-ball kernel with step α(1 − β) passes the check of EMA momentum: the identity holds on the
    # kernels to rounding (check_optimizer raises otherwise)
    report = check_optimizer("ema_momentum", lambda th, g, lr, beta: run_optimizer(
        "momentum", th, g, backend=backend, lr=lr * (1 - beta), momentum=beta), theta0=theta0, grads=grads,
        lr=lr, beta=beta)
    assert report.steps == 20


@given(problems(), step_size, decay, st.sampled_from([1e-8, 1e-3, 1.0]))
def test_adam_with_beta1_zero_is_rmsprop_with_bias_correction(problem, lr, rho, eps):
    theta0, grads = problem
    hyper = {"lr": lr, "beta1": 0.0, "beta2": rho, "eps": eps}
    adam = reference_run("adam", theta0, grads, **hyper)
    corrected = next(v for v in variants("rmsprop") if v.name == "bias_corrected")
    rms = corrected.reference(theta0, grads, {"lr": lr, "rho": rho, "eps": eps, "eps_mode": "outside"})
    with mpmath.workdps(60):
        for a_row, r_row in zip(adam.exact_iterates, rms.exact_iterates, strict=True):
            for a, r in zip(a_row, r_row, strict=True):
                assert abs(a - r) <= mpmath.mpf(10) ** -50 * (1 + abs(a))


def test_adam_with_beta1_zero_is_plain_rmsprop_with_a_per_step_rescaling(backend):
    # α m̂/(√v̂ + ε) = α√c_t · g / (√v + ε√c_t), c_t = 1 − β₂ᵗ: RMSprop with α_t = α√c_t and ε_t = ε√c_t.
    rng = np.random.default_rng(2)
    theta0, grads = rng.normal(size=3), rng.normal(size=(15, 3))
    lr, rho, eps = 0.1, 0.9, 1e-3

    def rescaled_rmsprop(th0, gs, lr, beta1, beta2, eps):
        theta, state, out = th0.copy(), init_state("rmsprop", th0.size), []
        for t, g in enumerate(gs, start=1):
            c = 1 - beta2**t
            apply_step("rmsprop", theta, g, state, t, backend=backend, lr=lr * c**0.5, rho=beta2, eps=eps * c**0.5)
            out.append(theta.copy())
        return np.array(out)

    check_optimizer("adam", rescaled_rmsprop, theta0=theta0, grads=grads, lr=lr, beta1=0.0, beta2=rho, eps=eps)
    # …and it is not plain RMSprop: uncorrected, v₁ = (1 − ρ)g² makes the first step longer by
    # (|g| + ε) / (√(1 − ρ)|g| + ε), about 1/√(1 − ρ) ≈ 3.2 here
    plain = run_optimizer("rmsprop", theta0, grads, backend=backend, lr=lr, rho=rho, eps=eps)
    adam = reference_run("adam", theta0, grads, lr=lr, beta1=0.0, beta2=rho, eps=eps).iterates
    g = np.abs(grads[0])
    expected = (g + eps) / ((1 - rho) ** 0.5 * g + eps)
    # a ratio of float64 differences of O(1) numbers: rounding ~1e-15; 1e-9 is far below the factor ~3 shown
    assert np.allclose((plain[0] - theta0) / (adam[0] - theta0), expected, rtol=1e-9)
    assert np.all(expected > 2.5)


# --------------------------------------------------------------------------- the references themselves


@pytest.mark.parametrize("rule", list(RULES))
def test_every_alternative_form_differs_from_the_rule_on_a_generic_input(rule):
    theta0 = np.array([0.5, -1.25, 2.0])
    grads = np.array([[0.3, -1.2, 0.05], [-0.7, 0.4, 0.0], [1.5, -0.2, 0.9], [0.1, 2.5, -0.6]])
    hyper = {"lr": 0.1, "momentum": 0.9, "beta": 0.8, "beta1": 0.9, "beta2": 0.99, "rho": 0.9, "eps": 1e-3}
    hyper = {k: hyper[k] for k in RULES[rule].hyperparameters}
    truth = reference_run(rule, theta0, grads, **hyper).iterates
    full = hyper | {k: RULES[rule].defaults[k] for k in RULES[rule].options}
    names = set()
    for v in variants(rule, full):
        other = v.reference(theta0, grads, full).iterates
        assert not np.allclose(other, truth, rtol=1e-6, equal_nan=True), v.name
        names.add(v.name)
    assert {"lr_squared", "ascent"} <= names
    assert ("reset" in names) == bool(RULES[rule].state)


def test_the_arithmetic_is_exact_where_it_can_be():
    assert EXACT_RULES == {"sgd", "momentum", "ema_momentum", "nesterov"}
    rms = reference_run("rmsprop", np.zeros(1), np.ones((1, 1)), lr=0.1, rho=0.9, eps=1e-8)
    assert rms.arithmetic == "mpmath with 60 significant digits"
    assert isinstance(rms.exact_iterates[0][0], mpmath.mpf)


@pytest.mark.parametrize("rule", list(RULES))
def test_magnitude_and_float_runs_bound_and_approximate_the_exact_run(rule):
    rng = np.random.default_rng(4)
    theta0, grads = rng.normal(size=3), rng.normal(size=(10, 3))
    hyper = {"lr": 0.1, "momentum": 0.9, "beta": 0.8, "beta1": 0.9, "beta2": 0.99, "rho": 0.9, "eps": 1e-3}
    hyper = {k: hyper[k] for k in RULES[rule].hyperparameters}
    exact = reference_run(rule, theta0, grads, **hyper)
    assert np.all(np.abs(exact.updates) <= magnitude_run(rule, grads, **hyper).updates * (1 + 1e-12))
    approx = float_run(rule, theta0, grads, **hyper).iterates
    assert np.all(np.abs(approx - exact.iterates) <= 1e-12 * (1 + np.abs(exact.iterates)))


def test_division_by_zero_gives_ieee_values_not_exceptions():
    v = next(v for v in variants("adam") if v.name == "t_from_0")
    out = v.reference(np.zeros(2), np.array([[1.0, 0.0]]), {"lr": 0.1, "beta1": 0.9, "beta2": 0.99, "eps": 1e-8,
                                                           "eps_mode": "kingma"})
    assert np.isnan(out.iterates).all()


def test_the_reference_refuses_bad_hyperparameters():
    with pytest.raises(ValueError, match="beta2 must be < 1"):
        reference_run("adam", np.zeros(1), np.ones((1, 1)), lr=0.1, beta1=0.9, beta2=1.0, eps=0.0)
    with pytest.raises(TypeError, match="missing hyperparameter"):
        reference_run("momentum", np.zeros(1), np.ones((1, 1)), lr=0.1)
    with pytest.raises(ValueError, match="grads must have shape"):
        reference_run("sgd", np.zeros(2), np.ones((1, 3)), lr=0.1)

