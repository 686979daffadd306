"""check_vjp: right VJPs pass, wrong ones fail with the likely mistake named, bad input is refused."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import verify
from verify.checks import CheckFailure, VJPReport, check_vjp
from verify.checks._probes import draw_cotangents, point_rng

X = np.array([[1.0, -2.0, 0.5], [0.3, 0.7, -1.1]])  # (2, 3): a batch of two inputs
W = np.array([[0.5, 1.0], [2.0, -3.0], [-0.25, 0.75]])  # (3, 2)
WSQ = np.array([[0.5, 1.0, -0.4], [2.0, -3.0, 0.1], [-0.25, 0.75, 1.3]])  # (3, 3)


def dense(x, W):
    return x @ W


def dense_vjp_x(u, x, W):
    return u @ W.T


def dense_vjp_w(u, x, W):
    return x.T @ u


def tanh_layer(x, W):  # y = tanh(x W): the Jacobian mixes every entry of a row
    return np.tanh(x @ W)


def tanh_layer_vjp_w(u, x, W):
    y = np.tanh(x @ W)
    return x.T @ (u * (1.0 - y * y))


def softmax(z):
    e = np.exp(z - np.max(z.real, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def softmax_vjp(u, z):
    p = softmax(z)
    return p * (u - np.sum(u * p, axis=-1, keepdims=True))


# --- right VJPs pass ----------------------------------------------------------------------------


def test_dense_layer_both_arguments_pass_with_the_whole_jacobian():
    report = check_vjp(dense, dense_vjp_w, (X, W), wrt=1)
    assert isinstance(report, VJPReport)
    assert report.examples == 1 and report.cotangents == 3 and report.jacobian_rows == 4
    assert report.output_shape == (2, 2) and report.worst_ratio <= 1.0
    assert check_vjp(dense, dense_vjp_x, (X, W), wrt=0).jacobian_rows == 4


def test_any_argument_can_be_differentiated():
    def f(a, x, b):  # the bias b is argument 2
        return np.tanh(a * x + b)

    def vjp_b(u, a, x, b):
        return u * (1.0 - np.tanh(a * x + b) ** 2)

    report = check_vjp(f, vjp_b, (2.0, np.array([0.1, -0.4, 0.9]), np.array([0.3, 0.2, -0.5])), wrt=2)
    assert report.jacobian_rows == 3


def test_softmax_passes():
    check_vjp(softmax, softmax_vjp, (np.array([[0.5, -1.0, 2.0], [3.0, 0.1, -0.2]]),))


def test_a_tanh_layer_weight_gradient_passes():  # entry (0, 1) of xᵀ(u ⊙ (1 − y²)) cancels to 0.0032
    check_vjp(tanh_layer, tanh_layer_vjp_w, (X, W), wrt=1)


def test_a_scalar_output_gets_scalar_cotangents_that_are_not_one():
    seen = []

    def vjp(u, x):
        seen.append(float(u))
        return u * 2.0 * x

    check_vjp(lambda x: np.sum(x * x, axis=-1), vjp, (np.array([0.5, -1.5]),), jacobian_max=0)
    assert len(seen) == 3 and 1.0 not in seen and any(u < 0 for u in seen)
    seen.clear()
    check_vjp(lambda x: np.sum(x * x, axis=-1), vjp, (np.array([0.5, -1.5]),))  # + the one row: u = 1
    assert seen[-1] == 1.0


def test_a_search_over_a_strategy():
    def f(x):  # elementwise: each entry of the VJP is one product, 3x² + cos x ≥ 1 never cancels
        return x**3 + np.sin(x)

    points = hnp.arrays(np.float64, (2, 3), elements=st.floats(-3, 3)).map(lambda x: (x,))
    report = check_vjp(f, lambda u, x: u * (3.0 * x**2 + np.cos(x)), points, max_examples=10)
    assert report.examples == 10


def test_float32_is_judged_in_float32():
    x32, w32 = X.astype(np.float32), W.astype(np.float32)
    report = check_vjp(dense, dense_vjp_w, (x32, w32), wrt=1)
    assert report.dtype == "float32"


def test_f_is_evaluated_once_per_distinct_point():  # (the judge may add points of its own)
    calls = [0]

    def f(x, W):
        calls[0] += 1
        return x @ W

    check_vjp(f, dense_vjp_w, (X, W), wrt=1, jacobian_max=0)
    alone = calls[0]
    calls[0] = 0
    check_vjp(f, dense_vjp_w, (X, W), wrt=1)  # + 4 Jacobian rows, judged on the same points
    assert calls[0] < 2 * alone  # without the memo: 7/3 as many (4 more views on the same 6n + 1 points)


# --- the cotangents -----------------------------------------------------------------------------


def test_cotangents_are_never_all_ones_and_one_has_both_signs():
    rng = point_rng(0, X)
    us = draw_cotangents(rng, (2, 3), np.dtype(np.float64), 3)
    assert all(not np.all(u == 1.0) for u in us)
    assert (us[0] > 0).any() and (us[0] < 0).any()
    assert (us[1] > 0).all()
    assert all(np.all((np.abs(u) >= 0.5) & (np.abs(u) < 2.0)) for u in us)


def test_the_same_point_meets_the_same_cotangents_and_the_seed_changes_them():
    def record(store):
        def vjp(u, x, W):
            store.append(u.copy())
            return x.T @ u
        return vjp

    a, b, c = [], [], []
    check_vjp(dense, record(a), (X, W), wrt=1, jacobian_max=0)
    check_vjp(dense, record(b), (X, W), wrt=1, jacobian_max=0)
    check_vjp(dense, record(c), (X, W), wrt=1, jacobian_max=0, seed=7)
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])


# --- wrong VJPs fail, and the mistake is named ---------------------------------------------------


def _failure(f, vjp, point, **kwargs) -> CheckFailure:
    with pytest.raises(CheckFailure) as info:
        check_vjp(f, vjp, point, **kwargs)
    return info.value


def test_dropped_grad_output_is_named():
    def backward_without_grad_output(u, x, W):  # the local derivative, never multiplied by u
        return x.T @ np.ones_like(u)

    failure = _failure(dense, backward_without_grad_output, (X, W), wrt=1)
    assert "likely mistake: the incoming gradient (the cotangent u, grad_output) is ignored" in str(failure)
    assert "equals the VJP of the all-ones cotangent" in str(failure)


def test_the_same_array_for_every_cotangent_is_named():
    fixed = np.array([[0.3, -1.2], [0.8, 0.4]])

    def backward_with_a_stale_cotangent(u, x, W):  # uses a cotangent saved once, not the one passed
        return x.T @ fixed

    failure = _failure(dense, backward_with_a_stale_cotangent, (X, W), wrt=1)
    assert "returns the same array for each of the 3 cotangents tried" in str(failure)


def test_a_flipped_sign_is_named():
    failure = _failure(dense, lambda u, x, W: -dense_vjp_w(u, x, W), (X, W), wrt=1)
    assert "likely mistake: a flipped sign" in str(failure)
    assert "constant factor" not in str(failure)


def test_a_constant_factor_is_named_with_the_axis_it_matches():
    def mean_instead_of_sum(u, x, W):  # divides by the batch size 2
        return x.T @ u / x.shape[0]

    failure = _failure(dense, mean_instead_of_sum, (X, W), wrt=1)
    assert "likely mistake: a constant factor: vjp(u) is the right one ÷ 2 (an axis has length 2" in str(failure)

    failure = _failure(softmax, lambda u, z: 3.0 * softmax_vjp(u, z), (np.array([0.5, -1.0, 2.0]),))
    assert "is the right one × 3" in str(failure)


def test_a_transposed_weight_gradient_is_named():
    def transposed(u, x, W):  # (xᵀu)ᵀ = uᵀx: shaped like W only because W is square
        return (x.T @ u).T

    x = np.array([[1.0, -2.0, 0.5], [0.3, 0.7, -1.1], [0.2, 0.0, 0.9]])
    failure = _failure(dense, transposed, (x, WSQ), wrt=1)
    assert "likely mistake: transposed: vjp(u) is the transpose of the right one" in str(failure)
    assert failure.details["mistakes"] and failure.details["checker"] == "check_vjp"


def test_a_transposed_non_square_weight_gradient_is_a_shape_error_that_says_so():
    with pytest.raises(ValueError, match=r"vjp\(u, \*args\) returned shape \(2, 3\) but args\[1\] has shape "
                                         r"\(3, 2\) — the transpose"):
        check_vjp(dense, lambda u, x, W: u.T @ x, (X, W), wrt=1)


def test_an_unexplained_error_says_no_usual_mistake_fits():
    def missing_a_term(u, x, W):  # the chain rule through tanh dropped
        return x.T @ u

    failure = _failure(tanh_layer, missing_a_term, (X, W), wrt=1)
    assert "likely mistake: none of the usual ones" in str(failure)


def test_the_table_is_in_the_arguments_own_shape_and_index():
    def one_entry_wrong(u, x, W):
        g = x.T @ u
        g[2, 1] += 0.5
        return g

    failure = _failure(dense, one_entry_wrong, (X, W), wrt=1)
    text = str(failure)
    assert "entries of args[1] (shape (3, 2), float64)" in text
    assert "(2, 1)" in text.split("worst entries")[1].splitlines()[3]  # the worst row of the judge's table
    assert failure.details["computed"].shape == (3, 2) and failure.details["direction"].shape == (2, 2)


def test_rows_of_the_jacobian_catch_a_backward_wrong_only_for_one_hot_cotangents():
    def fast_path_for_one_hot(u, x, W):  # a special case for sparse grad_output, with a wrong factor
        g = x.T @ u
        return 2.0 * g if np.count_nonzero(u) == 1 else g

    failure = _failure(dense, fast_path_for_one_hot, (X, W), wrt=1)
    assert "rows of the Jacobian (unit cotangents), though the 3 drawn cotangents passed" in str(failure)
    check_vjp(dense, fast_path_for_one_hot, (X, W), wrt=1, jacobian_max=0)  # without the rows it is missed


def test_a_search_finds_and_shrinks_a_wrong_vjp():
    def wrong_for_large_inputs(u, x, W):
        g = x.T @ u
        return np.where(np.abs(g) > 4.0, 0.0, g)

    points = hnp.arrays(np.float64, (2, 3), elements=st.floats(-3, 3)).map(lambda x: (x, W))
    failure = _failure(dense, wrong_for_large_inputs, points, wrt=1, max_examples=50)
    assert "failing input:" in str(failure) and failure.details["point"][1] is not None


# --- bad input ----------------------------------------------------------------------------------


def test_bad_input_is_a_type_or_value_error():
    with pytest.raises(TypeError, match="f must return a float32 or float64 array"):
        check_vjp(lambda x: np.argmax(x, axis=-1), lambda u, x: x, (np.array([1.0, 2.0]),))
    with pytest.raises(TypeError, match=r"args\[0\] \(the argument differentiated\) must be a float32 or float64"):
        check_vjp(lambda x: x * 2, lambda u, x: 2 * u, (np.array([1, 2]),))
    with pytest.raises(ValueError, match="wrt=3 is out of range for 2 argument"):
        check_vjp(dense, dense_vjp_w, (X, W), wrt=3)
    with pytest.raises(ValueError, match=r"vjp\(u, \*args\) returned shape \(2,\) but args\[0\] has shape \(3,\)"):
        check_vjp(lambda x: 2 * x, lambda u, x: u[:2], (np.array([1.0, 2.0, 3.0]),))
    with pytest.raises(ValueError, match="directions must be an integer >= 1"):
        check_vjp(dense, dense_vjp_w, (X, W), wrt=1, directions=0)
    with pytest.raises(TypeError, match="inputs must be a tuple"):
        check_vjp(dense, dense_vjp_w, X)
    with pytest.raises(ValueError, match="f is not finite at the input"), np.errstate(invalid="ignore"):
        check_vjp(lambda x: np.log(x), lambda u, x: u / x, (np.array([1.0, -1.0]),))


def test_a_function_that_is_not_deterministic_is_refused():
    rng = np.random.default_rng(0)

    def dropout(x):
        return x * (rng.uniform(size=x.shape) > 0.5) * 2.0

    with pytest.raises(ValueError, match="f is not deterministic"):
        check_vjp(dropout, lambda u, x: u, (np.array([1.0, 2.0, 3.0]),))


def test_the_top_level_exports():
    assert verify.check_vjp is check_vjp and verify.VJPReport is VJPReport


# --- the rounding of a map linear in its direction ---------------------------------------------------


def test_the_rounding_of_a_linear_map_is_measured_along_its_direction():
    from fractions import Fraction

    from verify.checks._probes import linear_noise

    rng = np.random.default_rng(3)
    u, Wm = rng.uniform(-1.5, 1.5, (4, 6)), rng.uniform(-1.5, 1.5, (5, 6))
    noise = linear_noise(lambda c: (u * c) @ Wm.T, np.dtype(np.float64))
    computed = u @ Wm.T
    exact = np.array([[float(sum(Fraction(a) * Fraction(b) for a, b in zip(ur, wr, strict=True))) for wr in Wm]
                      for ur in u])
    assert np.all(np.abs(computed - exact) <= noise) and np.any(noise > 0)
    assert np.max(noise / np.spacing(np.abs(exact))) < 200  # rounding, not a loose bound: a few dozen ULPs
    assert not np.any(linear_noise(lambda c: np.full(3, 2.0) * c, np.dtype(np.float64)))  # exact: no noise
    # a float64 map computed in float32 is a wrong precision, not noise: nothing is measured
    assert linear_noise(lambda c: ((u * c) @ Wm.T).astype(np.float32).astype(np.float64), np.dtype(np.float64)) is None


def test_a_linear_layer_whose_vjp_cancels_passes():
    # x ↦ x W + b does not depend on x in its VJP u Wᵀ: moving the point shows no rounding, while entries of
    # u Wᵀ cancel (47 ULPs at 0.037 here); the rounding is measured along the cotangent instead
    from verify.checks.layer_corpus import _inputs

    x, Wm, b = _inputs((3, 3), (3, 3), (3,), seed=1)
    check_vjp(lambda x, W, b: x @ W + b, lambda u, x, W, b: u @ W.T, (x, Wm, b))


# gelu(x) = x·½(1 + erf(x/√2)) at x = −5: 1 + erf cancels, so f is x times a constant across cells 4e-11 wide, and
# steps inside one cell see the slope Φ(−5) alone. Written on the real part (no complex step): the central
# differences alone must keep the product rule's x·φ(x) term (their shrinking steps once took Φ(−5) for gelu').
def _gelu(x):
    from scipy.special import erf

    x = np.real(x)
    return x * 0.5 * (1.0 + erf(x / np.sqrt(2.0)))


def _gelu_rule(keep_pdf: float):
    def vjp(u, x):
        from scipy.special import erf

        return u * (0.5 * (1.0 + erf(x / np.sqrt(2.0))) + keep_pdf * x * np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi))
    return vjp


def test_gelu_where_its_formula_cancels_keeps_both_terms_of_the_product_rule():
    x = (np.array([-5.0]),)
    check_vjp(_gelu, _gelu_rule(1.0), x)
    for wrong in (0.0, -1.0):  # Φ(x) alone (the classic bug), a sign error in x·φ(x)
        with pytest.raises(CheckFailure, match="vjp"):
            check_vjp(_gelu, _gelu_rule(wrong), x)


# --- check_jvp at the kinks of several entries (issue 13) ----------------------------------------------------------


def _hardtanh(x):
    return np.clip(x, -1.0, 1.0)


def _hardtanh_jvp(v, x):  # 0 at both kinks, as PyTorch chooses: within each entry's one-sided slopes
    return v * (np.abs(x) < 1.0)


KINKS_BOTH_WAYS = (np.array([1.0, -1.0, 0.3, -2.0]),)


def test_a_jvp_at_kinks_facing_both_ways_is_judged_entry_by_entry():
    from verify.checks import check_jvp

    report = check_jvp(_hardtanh, _hardtanh_jvp, KINKS_BOTH_WAYS)
    assert any("judged entry by entry" in note for note in report.notes)
    for wrong in (lambda v, x: 1.0 * (np.abs(x) < 1.0),  # the tangent ignored
                  lambda v, x: -_hardtanh_jvp(v, x),  # a flipped sign
                  lambda v, x: v * ((np.abs(x) < 1.0) + 2.0 * (np.abs(x) == 1.0))):  # a slope beyond the kinks'
        with pytest.raises(CheckFailure):
            check_jvp(_hardtanh, wrong, KINKS_BOTH_WAYS)


def test_without_the_jacobian_the_failure_says_a_kink_may_be_the_cause(monkeypatch):
    import verify.checks.vjp as vjp_module
    from verify.checks import check_jvp

    monkeypatch.setattr(vjp_module, "_PER_ENTRY_MAX", 1)
    with pytest.raises(CheckFailure, match="only a judgement entry by entry can tell"):
        check_jvp(_hardtanh, _hardtanh_jvp, KINKS_BOTH_WAYS)


def test_linear_noise_beyond_float32s_range_warns_nothing():
    # A new user saw "RuntimeWarning: overflow encountered in cast" from the library at |x| ~ 1e150: the test of
    # whether a float64 map computes in float32 casts its values, and beyond float32's range they are not.
    import warnings

    from verify.checks._probes import linear_noise

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bound = linear_noise(lambda c: np.array([1e150, -3e200]) * c, np.float64)
    assert bound is not None and np.all(np.isfinite(bound))
