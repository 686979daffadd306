"""check_hessian: right HVPs pass (analytic f by the complex step, others by differences), wrong ones fail
with the likely mistake, an asymmetric HVP fails the symmetry test, kinks of the gradient are reported."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import verify
from verify.checks import CheckFailure, HessianReport, check_gradient, check_hessian

X = np.array([-2.0, 0.5, 3.0])


def softplus_sum(x):  # analytic: the complex step computes the directional derivatives
    return np.sum(np.log1p(np.exp(x)), axis=-1)


def softplus_sum_stable(x):  # the same function written with abs and max: not analytic in this form
    return np.sum(np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x))), axis=-1)


def softplus_hvp(v, x):
    s = 1.0 / (1.0 + np.exp(-x))
    return s * (1.0 - s) * v


A = np.array([[2.0, 0.5, -1.0], [0.5, 1.0, 0.25], [-1.0, 0.25, 3.0]])


def quartic(x):  # f = ¼ (xᵀA x)², H = (xᵀAx)·A + 2 (Ax)(Ax)ᵀ
    q = np.einsum("...i,ij,...j->...", x, A, x)
    return 0.25 * q * q


def quartic_hvp(v, x):
    ax = A @ x
    return (x @ ax) * (A @ v) + 2.0 * ax * (ax @ v)


def _failure(f, hvp, point, **kwargs) -> CheckFailure:
    with pytest.raises(CheckFailure) as info:
        check_hessian(f, hvp, point, **kwargs)
    return info.value


def test_an_analytic_f_is_differentiated_by_the_complex_step():
    report = check_hessian(softplus_sum, softplus_hvp, (X,))
    assert isinstance(report, HessianReport)
    assert report.directional == {"complex step": 6, "central differences": 0}
    assert report.directions == 3 and report.columns == 3 and report.symmetry_pairs == 2
    assert report.worst_symmetry <= 1.0


def test_a_non_analytic_f_falls_back_to_central_differences_and_says_why():
    report = check_hessian(softplus_sum_stable, softplus_hvp, (X,))
    assert report.directional["central differences"] == 6
    assert any("complex step rejected" in note for note in report.notes)


def test_a_dense_hessian_a_search_and_a_matrix_argument():
    check_hessian(quartic, quartic_hvp, (np.array([0.3, -0.7, 1.2]),))
    points = hnp.arrays(np.float64, 3, elements=st.floats(-2, 2)).map(lambda x: (x,))
    assert check_hessian(softplus_sum, softplus_hvp, points, max_examples=5).examples == 5

    def frobenius_cubed(M, b):  # f(M) = (Σ M²)^{3/2} + b·ΣM ; H v = 3‖M‖ v + 3 ⟨M, v⟩ M / ‖M‖
        return np.sum(M * M, axis=(-2, -1)) ** 1.5 + b * np.sum(M, axis=(-2, -1))

    def hvp(V, M, b):
        n = np.sqrt(np.sum(M * M))
        return 3.0 * n * V + 3.0 * np.sum(M * V) * M / n

    report = check_hessian(frobenius_cubed, hvp, (np.array([[1.0, -0.5], [0.25, 2.0]]), 0.5))
    assert report.columns == 4


def test_kinks_of_the_gradient_are_reported():
    def relu_squared(x):  # gradient max(x, 0): a kink at 0, where any value in [0, 1]·v_j is a valid H v entry
        return 0.5 * np.sum(np.maximum(x, 0.0) ** 2, axis=-1)

    report = check_hessian(relu_squared, lambda v, x: (x > 0) * v, (np.array([-2.0, 0.0, 3.0]),))
    assert report.gradient_kinks > 0
    assert report.gradient_kinks == report.kinks  # the judge's kinks (JudgeSummary): here kinks of the gradient
    assert f"kinks of the gradient met: {report.kinks}" in str(report)
    assert np.isfinite(report.worst_abs_error) and report.worst_abs_error >= 0.0


def test_a_flipped_sign_a_factor_and_an_ignored_direction_are_named():
    failure = _failure(softplus_sum, lambda v, x: -softplus_hvp(v, x), (X,))
    assert "likely mistake: a flipped sign: hvp(v) is the negative of the right one" in str(failure)
    failure = _failure(softplus_sum, lambda v, x: 0.5 * softplus_hvp(v, x), (X,))
    assert "a constant factor: hvp(v) is the right one ÷ 2" in str(failure)
    failure = _failure(softplus_sum, lambda v, x: softplus_hvp(np.ones_like(v), x), (X,))
    assert "the direction v is ignored: hvp(v) equals the HVP of the all-ones direction" in str(failure)


def test_a_transposed_hvp_of_a_matrix_argument_is_named():
    B = np.array([[1.0, 2.0], [-0.5, 0.3]])

    def f(M):  # f = ½ ‖M B‖²: H V = V B Bᵀ, not symmetric in its entries' layout
        return 0.5 * np.sum((M @ B) ** 2, axis=(-2, -1))

    M = np.array([[0.2, -1.0], [0.7, 0.4]])
    check_hessian(f, lambda V, M: V @ B @ B.T, (M,))
    failure = _failure(f, lambda V, M: (V @ B @ B.T).T, (M,))
    assert "likely mistake: transposed: hvp(v) is the transpose of the right one" in str(failure)


def test_a_missing_term_fails_without_a_name():
    failure = _failure(quartic, lambda v, x: (x @ A @ x) * (A @ v), (np.array([0.3, -0.7, 1.2]),))
    assert "likely mistake: none of the usual ones" in str(failure)
    assert "entries of args[0] (shape (3,), float64)" in str(failure)


def test_an_asymmetric_hvp_at_a_kink_of_the_gradient_fails():
    def relu_of_sum_squared(x):  # ∇f = relu(x0 + x1)·(1, 1): at x0 + x1 = 0, H = c·[[1, 1], [1, 1]] for any c in [0, 1]
        return 0.5 * np.maximum(x[..., 0] + x[..., 1], 0.0) ** 2

    def consistent(v, x):  # one subgradient choice (c = 1) for every entry: symmetric
        return np.full(2, v[0] + v[1])

    def inconsistent(v, x):  # H = [[1, 1], [0, 0]]: every entry inside the judge's range, but not symmetric
        return np.array([v[0] + v[1], 0.0])

    x = (np.array([0.5, -0.5]),)
    assert check_hessian(relu_of_sum_squared, consistent, x).gradient_kinks > 0
    failure = _failure(relu_of_sum_squared, inconsistent, x)
    # caught by the entries at the gradient's kink judged together (the row (1, 0)·v is no subgradient of the
    # directional derivative there), before the symmetry test would see it
    assert "no subgradient at the kink shared by" in str(failure) or (
        "hvp is not symmetric" in str(failure) and failure.details["symmetry"])


def test_a_symmetric_hvp_that_cancels_passes_the_symmetry_test():
    def log_sum_exp(z):  # H = diag(p) − p pᵀ: H v = p ⊙ v − p ⟨p, v⟩ cancels where p is nearly one-hot
        m = np.max(z.real, axis=-1, keepdims=True)
        return m[..., 0] + np.log(np.sum(np.exp(z - m), axis=-1))

    def hvp(v, z):
        p = np.exp(z - z.max())
        p /= p.sum()
        return p * v - p * np.sum(p * v)

    report = check_hessian(log_sum_exp, hvp, (np.array([30.0, 0.0, -2.0, 1.0]),))
    assert report.worst_symmetry <= 1.0


def test_f_error_is_carried_into_the_judge():  # the hook check_hessian relies on (check_gradient's f_error=)
    def noisy(x):  # a difference quotient's error of size 1e-9 on top of Σ sin
        return np.sum(np.sin(x), axis=-1) + 1e-9 * np.sin(1e7 * np.sum(x, axis=-1))

    x = (np.array([0.3, 1.0, -2.0]),)
    check_gradient(noisy, np.cos, x, f_error=1e-9)
    with pytest.raises(CheckFailure):
        check_gradient(noisy, lambda x: np.cos(x) * (1 + 1e-4), x, f_error=1e-9)
    with pytest.raises(ValueError, match="f_error must be a finite number >= 0"):
        check_gradient(noisy, np.cos, x, f_error=-1.0)


def test_bad_input():
    with pytest.raises(TypeError, match="f must return a scalar"):
        check_hessian(lambda x: x * x, lambda v, x: 2 * v, (X,))
    with pytest.raises(ValueError, match=r"hvp\(v, \*args\) returned shape \(2,\) but args\[0\] has shape \(3,\)"):
        check_hessian(softplus_sum, lambda v, x: v[:2], (X,))


def test_the_top_level_exports():
    assert verify.check_hessian is check_hessian and verify.HessianReport is HessianReport
