"""check_jvp: right JVPs pass, wrong ones fail with the wrong entries of the output and the likely mistake."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_check_vjp import WSQ, X, dense, softmax, softmax_vjp

import verify
from verify.checks import CheckFailure, JVPReport, check_jvp


def dense_jvp_w(V, x, W):  # ∂(xW)/∂W · V = x V
    return x @ V


softmax_jvp = softmax_vjp  # softmax's Jacobian diag(p) − p pᵀ is symmetric: its JVP is its VJP


def cube_sin(x):
    return x**3 + np.sin(x)


def _failure(f, jvp, point, **kwargs) -> CheckFailure:
    with pytest.raises(CheckFailure) as info:
        check_jvp(f, jvp, point, **kwargs)
    return info.value


def test_right_jvps_pass_with_the_whole_jacobian():
    report = check_jvp(dense, dense_jvp_w, (X, WSQ), wrt=1)
    assert isinstance(report, JVPReport)
    assert report.tangents == 3 and report.cotangent_checks == 6 and report.jacobian_columns == 9
    assert report.output_shape == (2, 3)
    assert check_jvp(softmax, softmax_jvp, (np.array([0.5, -1.0, 2.0]),)).jacobian_columns == 3
    assert check_jvp(dense, dense_jvp_w, (X, WSQ), wrt=1, jacobian_max=0).jacobian_columns == 0


def test_a_search_and_float32():
    points = hnp.arrays(np.float64, (4,), elements=st.floats(-3, 3)).map(lambda x: (x,))
    assert check_jvp(cube_sin, lambda v, x: v * (3 * x**2 + np.cos(x)), points, max_examples=10).examples == 10
    report = check_jvp(dense, dense_jvp_w, (X.astype(np.float32), WSQ.astype(np.float32)), wrt=1)
    assert report.dtype == "float32"


def test_the_tangents_are_scaled_never_all_ones_and_the_first_has_both_signs():
    seen = []

    def jvp(v, x):
        seen.append(v.copy())
        return v * (3 * x**2 + np.cos(x))

    x = np.array([100.0, -0.5, 3.0, 0.25])
    check_jvp(cube_sin, jvp, (x,), jacobian_max=0)
    assert len(seen) == 3 and not any(np.all(v == 1.0) for v in seen)
    assert (seen[0] > 0).any() and (seen[0] < 0).any() and (seen[1] > 0).all()
    assert 50.0 <= abs(seen[0][0]) <= 100.0 and abs(seen[0][1]) <= 1.0  # ±[0.5, 1)·max(1, |x_j|)


def test_an_ignored_tangent_is_named():
    def jvp_of_ones(v, x, W):
        return x @ np.ones_like(v)

    failure = _failure(dense, jvp_of_ones, (X, WSQ), wrt=1)
    assert "likely mistake: the tangent v is ignored: jvp(v) equals the JVP of the all-ones tangent" in str(failure)


def test_a_flipped_sign_and_a_factor_are_named():
    failure = _failure(softmax, lambda v, z: -softmax_jvp(v, z), (np.array([0.5, -1.0, 2.0]),))
    assert "likely mistake: a flipped sign" in str(failure)
    failure = _failure(dense, lambda V, x, W: 0.5 * (x @ V), (X, WSQ), wrt=1)
    assert "a constant factor: jvp(v) is the right one ÷ 2" in str(failure)


def test_a_transposed_tangent_is_named():
    def weight_used_transposed(V, x, W):
        return x @ V.T

    failure = _failure(dense, weight_used_transposed, (X, WSQ), wrt=1)
    assert "likely mistake: the tangent is used transposed" in str(failure)


def test_the_table_lists_the_wrong_entries_of_the_output():
    def last_column_wrong(v, z):
        out = softmax_jvp(v, z)
        out[..., -1] *= 1.5
        return out

    z = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -3.0]])
    failure = _failure(softmax, last_column_wrong, (z,))
    text = str(failure)
    assert "entries of jvp(v) are wrong (index in f's output, shape (2, 3)" in text
    assert "(0, 2)" in text and "(1, 2)" in text
    assert "failing input:" in text and "args[0] = np.array([[ 0.5, -1. ,  2. ]," in text


def test_columns_of_the_jacobian_catch_a_rule_wrong_only_for_unit_tangents():
    def fast_path_for_one_hot(V, x, W):
        out = x @ V
        return -out if np.count_nonzero(V) == 1 else out

    failure = _failure(dense, fast_path_for_one_hot, (X, WSQ), wrt=1)
    assert "Jacobian assembled from jvp(e_j, *args)" in str(failure) and "though the drawn tangents passed" in str(failure)


def test_bad_input():
    with pytest.raises(ValueError, match=r"jvp\(v, \*args\) returned shape \(3,\) but f\(\*args\) has shape \(2, 3\)"):
        check_jvp(dense, lambda V, x, W: (x @ V)[0], (X, WSQ), wrt=1)
    with pytest.raises(TypeError, match="f and jvp must be callables"):
        check_jvp(dense, None, (X, WSQ))


def test_the_top_level_exports():
    assert verify.check_jvp is check_jvp and verify.JVPReport is JVPReport
