"""The exact optimizer references: hand-computed values, identities between rules, the rounding bound, the
alternative forms."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verify.checks.optimizer import check_optimizer
from verify.kernels.optimizers import RULES, apply_step, init_state, run_optimizer
from verify.kernels.schedules import CosineAnnealing, StepDecay
from verify.strategies import gradient_sequences, parameter_vectors
from verify.symbolic.optimizers import (
    EXACT_RULES,
    _Arithmetic,
    float_run,
    reference_run,
    variants,
)

decay = st.sampled_from([0.0, 0.5, 0.9, 0.99, 0.999]) | st.floats(0.0, 0.999)
step_size = st.sampled_from([0.1, 0.01, 1.0]) | st.floats(1e-4, 1.0)
GENERIC = {"lr": 0.1, "momentum": 0.9, "beta": 0.8, "beta1": 0.9, "beta2": 0.99, "rho": 0.9, "eps": 1e-3,
           "weight_decay": 0.05, "momentum_decay": 4e-3}


def generic(rule: str) -> dict:
    return {k: GENERIC[k] for k in RULES[rule].hyperparameters}


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


def test_dampening_spares_the_first_step_as_pytorch_does():
    ref = reference_run("momentum", np.zeros(1), np.array([[1.0], [1.0]]), lr=1.0, momentum=0.5, dampening=0.5)
    assert [r[0] for r in ref.exact_states["b"]] == [1, Fraction(1, 2) + Fraction(1, 2)]
    plain = reference_run("momentum", np.zeros(1), np.array([[1.0], [1.0]]), lr=1.0, momentum=0.0, dampening=0.5)
    assert [r[0] for r in plain.exact_iterates] == [-1, -2], "μ = 0: PyTorch keeps no buffer, dampening unused"


def test_nesterov_adds_the_look_ahead_term():
    ref = reference_run("nesterov", np.zeros(1), np.array([[1.0], [1.0]]), lr=1.0, momentum=0.5)
    # b1 = 1, Δ1 = 1 + 0.5·1; b2 = 1.5, Δ2 = 1 + 0.5·1.5
    assert [r[0] for r in ref.exact_iterates] == [Fraction(-3, 2), Fraction(-3, 2) - Fraction(7, 4)]


def test_weight_decay_in_both_forms_on_one_step():
    # L2: g' = g + λθ;  decoupled: θ(1 − αλ) − αg;  maximize: −g
    common = {"lr": 0.5, "weight_decay": 0.25}
    l2 = reference_run("sgd", np.array([2.0]), np.array([[1.0]]), **common)
    dec = reference_run("sgd", np.array([2.0]), np.array([[1.0]]), decoupled_weight_decay=True, **common)
    up = reference_run("sgd", np.array([2.0]), np.array([[1.0]]), maximize=True, **common)
    assert l2.exact_iterates[0][0] == 2 - Fraction(1, 2) * (1 + Fraction(1, 2))
    assert dec.exact_iterates[0][0] == 2 * (1 - Fraction(1, 8)) - Fraction(1, 2)
    assert up.exact_iterates[0][0] == 2 - Fraction(1, 2) * (-1 + Fraction(1, 2))


def test_the_papers_decoupled_decay_follows_the_schedule_not_the_rate():
    schedule = StepDecay(0.5, step_size=1, gamma=0.5)  # α_t = 0.5, 0.25; η_t = 1, 0.5
    ref = reference_run("sgd", np.array([1.0]), np.zeros((2, 1)), lr=schedule, weight_decay=0.25,
                        decoupled_weight_decay=True, decay_scale="schedule")
    assert [r[0] for r in ref.exact_iterates] == [Fraction(3, 4), Fraction(3, 4) * (1 - Fraction(1, 8))]


def test_adagrad_inside_and_outside_on_a_pythagorean_example():
    grads = np.array([[3.0], [4.0]])  # v = 9, then 25
    inside = reference_run("adagrad", np.zeros(1), grads, lr=1.0, eps=0.0, eps_mode="inside")
    outside = reference_run("adagrad", np.zeros(1), grads, lr=1.0, eps=1.0, eps_mode="outside")
    assert inside.iterates[:, 0].tolist() == [float(Fraction(-1)), float(Fraction(-9, 5))]
    assert outside.iterates[:, 0].tolist() == [float(Fraction(-3, 4)), float(Fraction(-17, 12))]
    start = reference_run("adagrad", np.zeros(1), grads, lr=1.0, eps=0.0, initial_accumulator_value=16.0)
    assert start.iterates[:, 0].tolist() == [-0.6, -0.6 - 4 / 41**0.5]  # √(16 + 9) = 5, then √(25 + 16)
    decayed = reference_run("adagrad", np.zeros(1), grads, lr=1.0, eps=0.0, lr_decay=1.0)
    assert decayed.iterates[:, 0].tolist() == [-1.0, -1.0 - 0.5 * 4 / 5]


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
    seed = next(v for v in variants("adam") if v.name == "bias_plus").reference(theta0, grads, hyper)
    assert kingma.iterates[0, 0] == -0.1
    with mpmath.workdps(60):
        b1, b2, lr = mpmath.mpf(0.9), mpmath.mpf(0.999), mpmath.mpf(0.1)
        expected = -lr * ((1 - b1) / (1 + b1)) / mpmath.sqrt((1 - b2) / (1 + b2))
        assert abs(seed.exact_iterates[0][0] - expected) < mpmath.mpf(10) ** -55
    assert seed.iterates[0, 0] < -0.23


def test_amsgrad_keeps_the_largest_second_moment():
    grads = np.array([[2.0], [0.0], [0.0]])  # v shrinks after the first step; v_max does not
    ref = reference_run("adam", np.zeros(1), grads, lr=1.0, beta1=0.0, beta2=0.5, eps=0.0, amsgrad=True)
    assert ref.states["vmax"][:, 0].tolist() == [2.0, 2.0, 2.0] and ref.states["v"][:, 0].tolist() == [2.0, 1.0, 0.5]
    on_v_hat = reference_run("adam", np.zeros(1), grads, lr=1.0, beta1=0.0, beta2=0.5, eps=0.0, amsgrad=True,
                             amsgrad_max="v_hat")
    assert on_v_hat.states["vmax"][:, 0].tolist() == [4.0, 4.0, 4.0]  # v̂₁ = 2/(1 − ½) = 4


def test_radam_takes_the_plain_step_until_the_variance_is_tractable():
    # ρ∞ = 2/(1 − β₂) − 1 = 19 for β₂ = 0.9; ρ_t > 5 first at t = 6
    ref = reference_run("radam", np.zeros(1), np.ones((7, 1)), lr=0.1, beta1=0.0, beta2=0.9, eps=0.0)
    steps = -np.diff(np.concatenate([[0.0], ref.iterates[:, 0]]))
    assert np.allclose(steps[:5], 0.1, rtol=1e-15)  # m̂ = g = 1: the un-adapted step α
    rho_inf = 19.0
    rho_6 = rho_inf - 2 * 6 * 0.9**6 / (1 - 0.9**6)
    r6 = math.sqrt((rho_6 - 4) * (rho_6 - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_6))
    assert steps[5] == pytest.approx(0.1 * r6, rel=1e-13)  # √v̂ = |g| = 1: the rectified step α r_t


def test_lion_moves_every_coordinate_by_exactly_the_rate():
    ref = reference_run("lion", np.zeros(3), np.array([[0.3, -2.0, 0.0]]), lr=0.25, beta1=0.9, beta2=0.99,
                        weight_decay=0.0)
    assert ref.exact_iterates[0] == (Fraction(-1, 4), Fraction(1, 4), 0)


# --------------------------------------------------------------------------- identities, checked


@settings(max_examples=15)
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
    report = check_optimizer("ema_momentum", lambda th, g, lr, beta: run_optimizer(
        "momentum", th, g, backend=backend, lr=lr * (1 - beta), momentum=beta), theta0=theta0, grads=grads,
        lr=lr, beta=beta)
    assert report.steps == 20


@settings(max_examples=10)
@given(problems(max_steps=8), step_size, decay, st.sampled_from([1e-8, 1e-3, 1.0]))
def test_adam_with_beta1_zero_is_rmsprop_with_bias_correction(problem, lr, rho, eps):
    theta0, grads = problem
    hyper = {"lr": lr, "beta1": 0.0, "beta2": rho, "eps": eps}
    adam = reference_run("adam", theta0, grads, **hyper)
    corrected = next(v for v in variants("rmsprop") if v.name == "bias_corrected")
    rms = corrected.reference(theta0, grads, {"lr": lr, "rho": rho, "eps": eps})
    with mpmath.workdps(60):
        for a_row, r_row in zip(adam.exact_iterates, rms.exact_iterates, strict=True):
            for a, r in zip(a_row, r_row, strict=True):
                assert abs(a - r) <= mpmath.mpf(10) ** -50 * (1 + abs(a))


def test_adamw_is_adam_with_decoupled_decay_and_l2_sgd_is_decoupled_sgd_with_the_same_lambda():
    rng = np.random.default_rng(5)
    theta0, grads = rng.normal(size=3), rng.normal(size=(6, 3))
    hyper = {"lr": 0.1, "beta1": 0.9, "beta2": 0.99, "eps": 1e-8, "weight_decay": 0.1}
    assert reference_run("adamw", theta0, grads, **hyper).exact_iterates == reference_run(
        "adam", theta0, grads, decoupled_weight_decay=True, **hyper).exact_iterates
    # SGD: θ − α(g + λθ) = θ(1 − αλ) − αg, exactly
    assert reference_run("sgd", theta0, grads, lr=0.1, weight_decay=0.1).exact_iterates == reference_run(
        "sgd", theta0, grads, lr=0.1, weight_decay=0.1, decoupled_weight_decay=True).exact_iterates


# --------------------------------------------------------------------------- the rounding bound


def test_the_bound_of_a_reduction_covers_every_order_of_summation():
    # AdaGrad-Norm's ‖g‖² is added up in an order each backend chooses; the bound must hold for all of them.
    rng = random.Random(0)
    A = _Arithmetic("fraction", 2.0**-53)
    for _ in range(200):
        values = [rng.uniform(-1, 1) * 10 ** rng.randint(-5, 5) for _ in range(6)]
        tracked = A.total([A.num(x) for x in values])
        exact = sum(Fraction(x) for x in values)
        for _ in range(10):
            order = values[:]
            rng.shuffle(order)
            computed = 0.0
            for x in order:
                computed += x
            assert abs(Fraction(computed) - exact) <= Fraction(tracked.e)


def test_the_bound_widens_where_cancellation_makes_a_denominator_small():
    # Adam with L2 decay: g' = g + λθ can cancel; then m̂/(√v̂ + ε) is very sensitive to the rounding of g'
    theta0, grads = np.array([-10.000000000000002]), np.array([[1.0]])
    ref = reference_run("adam", theta0, grads, lr=0.1, beta1=0.9, beta2=0.99, eps=1e-12, weight_decay=0.1)
    far = reference_run("adam", np.array([5.0]), grads, lr=0.1, beta1=0.9, beta2=0.99, eps=1e-12, weight_decay=0.1)
    assert ref.theta_error[0, 0] > 1e6 * far.theta_error[0, 0]


def test_centered_rmsprop_near_zero_variance_is_unverified_not_failed():
    # a constant gradient: v − ḡ² = W(1 − W)g² → 0 while its rounding does not; an implementation may even
    # take √ of a negative rounded value (torch then returns NaN)
    grads = np.full((40, 1), 3.0)
    ref = reference_run("rmsprop", np.zeros(1), grads, lr=0.01, rho=0.125, eps=0.0, centered=True)
    assert ref.unverified.any() and "square root of a quantity within rounding of 0" in ref.reasons[0]
    assert not ref.unverified[0].any(), "the first steps are decided"
    assert not reference_run("rmsprop", np.zeros(1), grads, lr=0.01, rho=0.125, eps=0.0).unverified.any()


def test_teacher_forcing_starts_each_step_from_the_given_iterates():
    grads = np.array([[1.0], [1.0], [1.0]])
    forced = np.array([[5.0], [7.0], [0.0]])
    ref = reference_run("sgd", np.zeros(1), grads, lr=0.5, forced=forced)
    assert ref.iterates[:, 0].tolist() == [-0.5, 4.5, 6.5]  # from θ₀ = 0, then from the forced 5 and 7
    decayed = reference_run("sgd", np.zeros(1), grads, lr=0.5, weight_decay=1.0, forced=forced)
    assert decayed.iterates[:, 0].tolist() == [-0.5, 5 - 0.5 * (1 + 5), 7 - 0.5 * (1 + 7)]


def test_schedules_enter_the_reference_exactly():
    schedule = CosineAnnealing(0.5, T_max=2)  # α = 0.5, 0.25, 0
    ref = reference_run("sgd", np.zeros(1), np.ones((3, 1)), lr=schedule)
    assert ref.arithmetic.startswith("mpmath")  # a cosine
    assert ref.iterates[:, 0].tolist() == [-0.5, -0.75, -0.75]
    assert ref.theta_error[2, 0] > 0, "the schedule's own rounding bound enters the tolerance"


# --------------------------------------------------------------------------- the references themselves


def _with_options(rule):
    yield generic(rule)
    spec = RULES[rule]
    if "weight_decay" in spec.optional:
        yield generic(rule) | {"weight_decay": 0.05}
        yield generic(rule) | {"weight_decay": 0.05, "decoupled_weight_decay": True}
    if rule in ("adam", "adamw"):
        yield generic(rule) | {"amsgrad": True}
    if rule == "rmsprop":
        yield generic(rule) | {"centered": True, "momentum": 0.5}
    if rule == "adagrad":
        yield generic(rule) | {"initial_accumulator_value": 0.5, "lr_decay": 0.1}
    if rule == "momentum":
        yield generic(rule) | {"dampening": 0.3}


@pytest.mark.parametrize("rule", list(RULES))
def test_every_alternative_form_differs_from_the_rule_on_a_generic_input(rule):
    theta0 = np.array([0.5, -1.25, 2.0])
    grads = np.array([[0.3, -1.2, 0.05], [-0.7, 0.4, 0.0], [1.5, -0.2, 0.9], [0.1, 2.5, -0.6], [-0.9, -0.3, 0.02],
                      [0.6, 0.8, -1.1]])
    for hyper in _with_options(rule):
        truth = reference_run(rule, theta0, grads, **hyper).iterates
        names = set()
        for v in variants(rule, hyper):
            other = v.reference(theta0, grads, hyper).iterates
            assert not np.allclose(other, truth, rtol=1e-6, equal_nan=True), (v.name, hyper)
            names.add(v.name)
        assert {"lr_squared", "maximize=True"} <= names
        assert ("reset" in names) == bool(RULES[rule].state)


@pytest.mark.parametrize("rule", list(RULES))
def test_the_catalogue_lists_each_alternative_form_of_a_rule_once_and_those_of_its_record(rule):
    spec = RULES[rule]
    for hyper in _with_options(rule):
        names = [v.name for v in variants(rule, hyper)]
        assert len(names) == len(set(names)), names
        assert ("t_stuck" in names) == spec.step_dependent  # from the record: every rule that counts its steps
        assert all(v.rule in RULES for v in variants(rule, hyper))  # each runs a rule's reference


def test_the_arithmetic_is_exact_where_it_can_be():
    assert EXACT_RULES == {"sgd", "momentum", "ema_momentum", "nesterov", "lion"}
    rms = reference_run("rmsprop", np.zeros(1), np.ones((1, 1)), lr=0.1, rho=0.9, eps=1e-8)
    assert rms.arithmetic == "mpmath with 60 significant digits"
    assert isinstance(rms.exact_iterates[0][0], mpmath.mpf)


@pytest.mark.parametrize("rule", list(RULES))
def test_the_float_run_approximates_the_exact_run_within_its_bound(rule):
    rng = np.random.default_rng(4)
    theta0, grads = rng.normal(size=3), rng.normal(size=(10, 3))
    hyper = generic(rule)
    exact = reference_run(rule, theta0, grads, **hyper)
    approx = float_run(rule, theta0, grads, **hyper)
    assert np.all(np.abs(approx.iterates - exact.iterates) <= exact.theta_tolerance())


def test_division_by_zero_gives_ieee_values_not_exceptions():
    v = next(v for v in variants("adam") if v.name == "t_from_0")
    out = v.reference(np.zeros(2), np.array([[1.0, 0.0]]), {"lr": 0.1, "beta1": 0.9, "beta2": 0.99, "eps": 1e-8})
    assert np.isnan(out.iterates).all()


def test_the_reference_refuses_bad_hyperparameters():
    with pytest.raises(ValueError, match="beta2 must be < 1"):
        reference_run("adam", np.zeros(1), np.ones((1, 1)), lr=0.1, beta1=0.9, beta2=1.0, eps=0.0)
    with pytest.raises(TypeError, match="missing hyperparameter"):
        reference_run("momentum", np.zeros(1), np.ones((1, 1)), lr=0.1)
    with pytest.raises(ValueError, match="grads must have shape"):
        reference_run("sgd", np.zeros(2), np.ones((1, 3)), lr=0.1)


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


def test_a_rate_held_as_one_minus_its_complement_is_uncertain_by_the_complements_rounding():
    # torch's lerp(m, g, 1 − ρ) uses ρ̃ = 1 − fl(1 − ρ): for ρ = 1e-178, fl(1 − ρ) = 1 and ρ̃ = 0. The uncertainty
    # must be computed in rationals (at 60 digits 1 − ρ would already be 1).
    for kind in ("mpmath", "fraction"):
        A = _Arithmetic(kind, 2.0**-53)
        held, complement = A.ema_coefficients(A.hyper(1.2e-178))
        assert held.e == pytest.approx(1.2e-178, rel=1e-12)
        held, _ = A.ema_coefficients(A.hyper(0.25))  # 0.75 is a float: held exactly
        assert held.e == 0.0
