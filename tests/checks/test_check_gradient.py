"""check_gradient: arguments, references, tolerances, kinks, search, messages and reports."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from verify.checks import CheckFailure, GradientReport, check_gradient
from verify.pytest_plugin import scaled

pytest_plugins = ["pytester"]

X = np.array([-2.0, -0.5, 0.25, 1.5])


def f_cubic(x):
    return np.sum(x**3, axis=-1)


def g_cubic(x):
    return 3.0 * x**2


# --- bad arguments get TypeError / ValueError, never a verdict ---------------------------------


def test_f_returning_a_vector_is_a_type_error():
    with pytest.raises(TypeError, match=r"f must return a scalar.*shape \(4,\)"):
        check_gradient(lambda x: x**3, g_cubic, (X,))


def test_grad_of_the_wrong_shape_is_a_value_error():
    with pytest.raises(ValueError, match=r"grad returned shape \(3,\) but args\[0\] has shape \(4,\)"):
        check_gradient(f_cubic, lambda x: g_cubic(x)[:3], (X,))


def test_nan_input_is_a_value_error():
    with pytest.raises(ValueError, match=r"^check_gradient: args\[0\] has a NaN at index \(2,\): a NaN input has no "
                                         r"derivative to check$"):
        check_gradient(f_cubic, g_cubic, (np.array([1.0, 2.0, np.nan]),))


@pytest.mark.parametrize("wrt", [1, -1])
def test_wrt_out_of_range_is_a_value_error(wrt):
    with pytest.raises(ValueError, match=f"wrt={wrt} is out of range for 1 argument"):
        check_gradient(f_cubic, g_cubic, (X,), wrt=wrt)


def test_a_bare_array_instead_of_a_tuple_is_a_type_error():
    with pytest.raises(TypeError, match=r"tuple of arguments for f \(e\.g\. \(x,\)"):
        check_gradient(f_cubic, g_cubic, X)


def test_integer_point_is_a_type_error():
    with pytest.raises(TypeError, match="float32 or float64"):
        check_gradient(f_cubic, g_cubic, (np.arange(4),))


def test_f_not_finite_at_the_input_is_a_value_error():
    with pytest.raises(ValueError, match="f is not finite at the input"), np.errstate(invalid="ignore"):
        check_gradient(lambda x: np.sum(np.log(x), axis=-1), lambda x: 1 / x, (np.array([1.0, -1.0]),))


def test_bad_options_are_value_errors():
    with pytest.raises(ValueError, match="reference must be one of"):
        check_gradient(f_cubic, g_cubic, (X,), reference="forward")
    with pytest.raises(ValueError, match="needs sympy_expr"):
        check_gradient(f_cubic, g_cubic, (X,), reference="sympy")
    with pytest.raises(ValueError, match="ulps must be a finite number >= 0"):
        check_gradient(f_cubic, g_cubic, (X,), ulps=-1)


# --- the references --------------------------------------------------------------------------


def test_report_of_a_correct_gradient():
    report = check_gradient(f_cubic, g_cubic, (X,))
    assert isinstance(report, GradientReport)
    assert report.examples == 1
    assert report.references["complex step"] == 1
    assert report.cross_checks["central differences"] == 1
    assert report.kinks == 0
    assert report.worst_ratio <= 1.0
    assert report.vectorized
    assert "1 example(s) passed" in str(report)


def test_non_analytic_f_falls_back_to_central_differences():
    # |x| has no complex extension: np.abs returns the (real) modulus, so the complex step is refused.
    f = lambda x: np.sum(np.abs(x) ** 3, axis=-1)
    g = lambda x: 3.0 * x * np.abs(x)
    report = check_gradient(f, g, (X,))
    assert report.references == {"sympy": 0, "complex step": 0, "central differences": 1}
    with pytest.raises(CheckFailure, match="reference: central differences"):
        check_gradient(f, lambda x: 3.0 * x**2, (X,))


def test_complex_step_that_disagrees_is_rejected_and_reported():
    # x·conj(x)·x is x³ on the reals and accepts complex input, but it is not analytic: the complex
    # step gives x² where the derivative is 3x².
    f = lambda x: np.sum(x * np.conj(x) * x, axis=-1)
    report = check_gradient(f, g_cubic, (X,))
    assert report.references["central differences"] == 1
    assert any("complex step rejected" in note for note in report.notes)


def test_f_that_cannot_take_complex_input_uses_central_differences():
    f = lambda x: np.sum(np.logaddexp(0.0, x), axis=-1)
    g = lambda x: 1.0 / (1.0 + np.exp(-x))
    assert check_gradient(f, g, (X,)).references["central differences"] == 1


def test_sympy_reference_decides_when_given():
    sp = pytest.importorskip("sympy")
    f = lambda x: np.sum(np.log1p(np.exp(x)), axis=-1)
    twin = lambda x: sum(sp.log(1 + sp.exp(v)) for v in x)
    good = lambda x: 1.0 / (1.0 + np.exp(-x))
    report = check_gradient(f, good, (np.array([-41.0, 0.5, 3.0]),), sympy_expr=twin)
    assert report.references["sympy"] == 1 and report.cross_checks["complex step"] == 1
    # σ as 1 − 1/(1 + eˣ) underflows to 0 where f itself is ~1e-18 (f resolves it: term (d) is tiny there; next
    # to an entry at 0.5, |f| ≈ 1 would hide it — below f's resolution)
    with pytest.raises(CheckFailure, match="reference: sympy"):
        check_gradient(f, lambda x: 1.0 - 1.0 / (1.0 + np.exp(x)), (np.array([-41.0, -45.0]),), sympy_expr=twin)


def test_a_wrong_sympy_twin_is_a_value_error_not_a_verdict():
    pytest.importorskip("sympy")
    with pytest.raises(ValueError, match="sympy_expr does not describe f"):
        check_gradient(f_cubic, g_cubic, (X,), sympy_expr=lambda x: sum(v**2 for v in x))


def test_non_vectorised_f_is_evaluated_point_by_point():
    f = lambda x: float((x**3).sum())  # no axis: a stack would be summed whole
    report = check_gradient(f, g_cubic, (X,))
    assert not report.vectorized and report.examples == 1
    with pytest.raises(CheckFailure):
        check_gradient(f, lambda x: 2.0 * x**2, (X,))


def test_forcing_vectorized_on_a_scalar_only_f_is_an_error():
    with pytest.raises(TypeError, match="vectorized=True but f returned shape"):
        check_gradient(lambda x: float((x**3).sum()), g_cubic, (X,), vectorized=True)


def test_other_arguments_are_passed_through_and_wrt_selects():
    f = lambda w, x: np.sum(np.tanh(w * x), axis=-1)
    g_w = lambda w, x: x / np.cosh(w * x) ** 2
    w = np.array([0.5, -1.0, 2.0])
    x = np.array([1.5, 0.25, -0.75])
    assert check_gradient(f, g_w, (w, x), wrt=0).examples == 1
    with pytest.raises(CheckFailure, match=r"entries of args\[1\]"):
        check_gradient(f, g_w, (w, x), wrt=1)  # g_w is not ∂f/∂x


# --- tolerances: relative, dtype-aware, explicit ------------------------------------------------


def test_tiny_gradient_that_underflows_to_zero_is_caught_in_ulps():
    # σ flushed to 0 below −40, where f itself is ~1e-17: f resolves the lost 1.6e-18 (term (d) is tiny there)
    f = lambda x: np.sum(np.log1p(np.exp(x)), axis=-1)
    with pytest.raises(CheckFailure) as info:
        check_gradient(f, lambda x: np.where(x < -40.0, 0.0, 1.0 / (1.0 + np.exp(-x))), (np.array([-41.0, -38.0]),))
    message = str(info.value)
    assert "1.5628821893349888e-18" in message and "0.0" in message
    assert info.value.details["ratio"][0] > 1e10 and info.value.details["ratio"][1] <= 1.0


def test_float32_gradient_judged_at_float32_accuracy():
    f = lambda x: np.sum(np.sin(x), axis=-1)
    x32 = np.linspace(-3, 3, 7, dtype=np.float32)
    report = check_gradient(f, lambda x: np.cos(x), (x32,))
    assert report.dtype == "float32" and report.worst_ulps <= 32
    # float16 accuracy is not float32 accuracy
    with pytest.raises(CheckFailure, match="ULPs of float32"):
        check_gradient(f, lambda x: np.cos(x).astype(np.float16).astype(np.float32), (x32,))


def test_float64_gradient_with_a_float32_error_is_caught():
    f = lambda x: np.sum(np.sin(x), axis=-1)
    with pytest.raises(CheckFailure):
        check_gradient(f, lambda x: np.cos(x).astype(np.float32).astype(np.float64), (X,))


def test_cancellation_is_judged_by_its_measured_noise_and_atol_is_stated():
    # softmax − onehot near a one-hot softmax: p_y − 1 cancels; relative accuracy is lost to rounding, which
    # the judge measures (the gradient's noise under perturbations of the input) instead of blaming it.
    from verify.checks.zoo import _ce_grad, _cross_entropy

    z = np.array([[12.0, 0.0, -1.0, 0.5]])
    y = np.array([0])
    report = check_gradient(_cross_entropy, _ce_grad, (z, y))
    assert report.worst_ratio <= 1.0
    with pytest.raises(CheckFailure, match="grad is wrong at 1 of 4"):  # the cancelling entry off by 1e-9
        check_gradient(_cross_entropy, lambda z, y: _ce_grad(z, y) - (np.arange(4) == 0) * 1e-9, (z, y))
    eps = float(np.finfo(np.float64).eps)
    report = check_gradient(_cross_entropy, _ce_grad, (z, y), atol=32 * eps)
    assert report.atol == 32 * eps and "atol 7.11e-15" in str(report)


# --- kinks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("subgradient", [0.0, 0.25, 1.0])
def test_any_subgradient_of_relu_at_zero_is_accepted(subgradient):
    f = lambda x: np.sum(np.maximum(x, 0.0), axis=-1)
    g = lambda x: np.where(x > 0, 1.0, np.where(x < 0, 0.0, subgradient))
    report = check_gradient(f, g, (np.array([-1.0, 0.0, 2.0]),))
    assert report.kinks == 1 and report.kink_examples == 1


def test_outside_the_subdifferential_is_caught_with_the_interval_shown():
    f = lambda x: np.sum(np.maximum(x, 0.0), axis=-1)
    g = lambda x: np.where(x > 0, 1.0, np.where(x < 0, 0.0, 1.5))
    with pytest.raises(CheckFailure, match=r"kinks met at entries \[1\]") as info:
        check_gradient(f, g, (np.array([-1.0, 0.0, 2.0]),))
    assert "kink: [0, 1" in str(info.value)


def test_smooth_point_near_nothing_is_not_called_a_kink():
    assert check_gradient(f_cubic, g_cubic, (np.array([0.0, 1e-3]),)).kinks == 0


# --- search --------------------------------------------------------------------------------------

vectors = hnp.arrays(np.float64, 5, elements=st.floats(-3, 3)).map(lambda x: (x,))


def test_search_counts_examples_and_passes_a_correct_gradient():
    report = check_gradient(f_cubic, g_cubic, vectors, max_examples=scaled(15))
    assert report.examples >= 10


def test_search_finds_and_shrinks_a_bug_on_one_branch():
    wrong = lambda x: np.where(x < -1.0, 2.0 * x**2, 3.0 * x**2)  # wrong only below −1
    with pytest.raises(CheckFailure) as info:
        check_gradient(f_cubic, wrong, vectors, max_examples=100)
    x = info.value.details["args"][0]
    assert (x < -1.0).any(), x
    assert np.all(x == np.round(x)) and x.min() >= -3.0, x  # shrunk to small integers, e.g. −2
    assert "failing input:" in str(info.value)
    assert info.value.__notes__ == ["(found by a Hypothesis search and shrunk; the failing input is the one shown "
                                    "above)"]


def test_search_raises_bad_arguments_from_the_strategy():
    with pytest.raises(ValueError, match="has a NaN at index"):
        check_gradient(f_cubic, g_cubic, st.just((np.array([np.nan]),)))


def test_works_in_a_plain_script(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(
        "import numpy as np\n"
        "from hypothesis import strategies as st\n"
        "from hypothesis.extra import numpy as hnp\n"
        "import verify\n"
        "xs = hnp.arrays(np.float64, 3, elements=st.floats(-2, 2)).map(lambda x: (x,))\n"
        "f = lambda x: np.sum(np.exp(x), axis=-1)\n"
        "print(verify.check_gradient(f, np.exp, xs, max_examples=10).examples)\n"
        "try:\n"
        "    verify.check_gradient(f, lambda x: np.exp(x) + (x > 1), xs, max_examples=50)\n"
        "except verify.CheckFailure as e:\n"
        "    print('CAUGHT', 'worst entries' in str(e))\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split()
    assert int(lines[0]) >= 10 and "CAUGHT" in lines and "True" in lines


# --- messages ------------------------------------------------------------------------------------


def test_message_has_input_reference_and_untruncated_table():
    x = np.linspace(-1, 1, 200)
    with pytest.raises(CheckFailure) as info:
        check_gradient(f_cubic, lambda x: 3.0 * x**2 + (np.arange(x.size) == 137) * 1e-6, (x,))
    message = str(info.value)
    assert "…" not in message and "..." not in message
    assert "failing input:" in message and "reference: complex step" in message
    for column in ("index", "reference", "computed", "abs error", "rel error", "ULPs", "tolerance"):
        assert column in message
    assert "(137,)" in message.split("worst entries")[1].splitlines()[3]  # the worst row comes first
    assert repr(float(x[137])) in message  # the whole input is printed
    assert "grad is wrong at 1 of 200 entries" in message


# --- internals kept exact by the fast path ---------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 7, 40])
def test_the_fast_median_is_numpys(size):
    from verify.checks._gradient_kernels import _median

    values = np.random.default_rng(size).random(size)
    assert _median(values) == float(np.median(values))


# --- the examples of issue 13: false alarms that must pass, wrong derivatives that must fail ------------

W_LN = np.array([1.5, -0.25, 0.75, -2.0])


def layer_norm(x):  # f(x) = Σ w·x̂, x̂ = (x − mean x)/s, s = sqrt(mean((x − mean x)²) + 1e-5)
    c = x - x.mean(axis=-1, keepdims=True)
    s = np.sqrt((c * c).mean(axis=-1, keepdims=True) + 1e-5)
    return np.sum(W_LN * c / s, axis=-1)


def layer_norm_backward(x):  # (w − mean(w) − x̂·mean(w·x̂)) / s: correct, and it cancels at x = [2, 5, 5, 5]
    c = x - x.mean()
    s = np.sqrt((c * c).mean() + 1e-5)
    xh = c / s
    return (W_LN - W_LN.mean() - xh * np.mean(W_LN * xh)) / s


def test_layer_norm_backward_that_cancels_is_judged_by_its_measured_noise():
    x = np.array([2.0, 5.0, 5.0, 5.0])
    report = check_gradient(layer_norm, layer_norm_backward, (x,))
    assert report.worst_ratio <= 1.0  # the cancelling entry's rounding, measured (in grad and in the complex step)
    with pytest.raises(CheckFailure, match="grad is wrong at 4 of 4"):  # the x̂·mean(w·x̂) term dropped
        check_gradient(layer_norm, lambda x: (W_LN - W_LN.mean()) / np.sqrt(x.var() + 1e-5), (x,))


def test_a_wrong_entry_next_to_one_at_rounding_level_is_caught_and_the_table_says_which_is_which():
    x = np.array([2.0, 5.0, 5.0, 5.0])
    with pytest.raises(CheckFailure, match="grad is wrong at 1 of 4") as info:
        check_gradient(layer_norm, lambda x: layer_norm_backward(x) + np.array([0, 1e-6, 0, 0]), (x,))
    table = str(info.value).split("worst entries")[1]
    assert "below f's resolution" in table  # entry 0 cancels: its error is rounding f cannot see
    assert info.value.details["ratio"][1] > 1 and info.value.details["ratio"][0] <= 1


X_DENSE = np.ones((2, 3))
V_DENSE = np.array([[0.5, -1.0], [2.0, 0.3]])


def dense_tanh(w):  # f(W) = Σ V ⊙ tanh(X W)
    return np.sum(V_DENSE * np.tanh(X_DENSE @ w), axis=(-2, -1))


def test_dense_tanh_layer_backward_near_saturation_passes_and_a_wrong_slope_fails():
    w = 2.0 * np.ones((3, 2))
    textbook = lambda w: X_DENSE.T @ (V_DENSE * (1.0 - np.tanh(X_DENSE @ w) ** 2))  # 2e-12 relative: 1 − y²
    report = check_gradient(dense_tanh, textbook, (w,))
    assert report.worst_ratio <= 1.0
    with pytest.raises(CheckFailure, match="grad is wrong at 6 of 6"):
        check_gradient(dense_tanh, lambda w: X_DENSE.T @ (V_DENSE * (1.0 - np.tanh(X_DENSE @ w))), (w,))


def test_float32_tanh_derivative_at_18_is_not_blamed_for_a_flat_central_difference():
    # The chance failure of the zoo's float32_tanh search, root-caused: f = Σ tanh(x) cancels to about 0
    # while its terms are ±1, so the modelled rounding 8·eps·|f| was 1e-31 where f really moves in steps of
    # 1e-16; the central differences (all six values equal) claimed 0 ± 1e-26, rejected the complex step
    # (9.3e-16, right) and blamed the gradient. Now f's rounding is measured (the grid its values lie on where
    # f is flat), the central differences resolve nothing there, and the complex step decides.
    from verify.checks.zoo import get_case

    case = get_case("float32_tanh")
    x = np.array([-18.458343505859375, -16.331411361694336, 18.0, 19.667448043823242], np.float32)
    report = check_gradient(case.f, case.grad, (x,))
    assert report.references["complex step"] == 1 and report.worst_ratio <= 1.0


def test_f_computing_in_float32_and_returning_a_python_float_gets_float32_steps():
    f32 = lambda x: float(np.sum(np.sin(x.astype(np.float32))))  # no complex step: astype drops Im
    x = np.linspace(-3.0, 3.0, 7)
    report = check_gradient(f32, np.cos, (x,))
    assert any("f computes in float32" in note for note in report.notes), report.notes
    with pytest.raises(CheckFailure):
        check_gradient(f32, lambda x: 1.01 * np.cos(x), (x,))


def test_a_float64_gradient_computed_in_float32_is_not_excused():
    f = lambda x: np.sum(np.sin(x) * x, axis=-1)
    g = lambda x: np.cos(x) * x + np.sin(x)
    x = np.array([-2.0, -0.5, 0.25, 1.5, 3.0])
    assert check_gradient(f, g, (x,)).worst_ratio <= 1.0
    for wrong in (lambda x: g(x.astype(np.float32)).astype(np.float64),  # inputs rounded to float32
                  lambda x: g(x).astype(np.float32).astype(np.float64),  # result rounded to float32
                  lambda x: (np.cos(x.astype(np.float32)) * x + np.sin(x)).astype(np.float64)):  # one term
        with pytest.raises(CheckFailure):
            check_gradient(f, wrong, (x,))


def test_abs_next_to_its_kink_demands_the_ordinary_derivative():
    f = lambda x: np.sum(np.abs(x), axis=-1)
    x = np.array([-5e-8, 2.0])
    with pytest.raises(CheckFailure, match="grad is wrong at 1 of 2") as info:
        check_gradient(f, np.ones_like, (x,))
    assert "next to a kink: ordinary derivative demanded" in str(info.value)
    report = check_gradient(f, np.sign, (x,))
    assert report.kinks == 0 and report.worst_ratio <= 1.0


@pytest.mark.parametrize("point", [[0.0, 2.0], [-1e-300, 2.0]])
def test_abs_at_its_kink_accepts_any_subgradient(point):
    f = lambda x: np.sum(np.abs(x), axis=-1)
    x = np.array(point)
    for sub in (-1.0, 0.0, 0.5, 1.0):
        assert check_gradient(f, lambda x, s=sub: np.where(np.abs(x) < 1e-200, s, np.sign(x)), (x,)).kinks == 1
    with pytest.raises(CheckFailure, match="kinks met at entries"):
        check_gradient(f, lambda x: np.where(np.abs(x) < 1e-200, 1.5, np.sign(x)), (x,))


def floor_plus_x(x):
    return np.sum(np.floor(x) + x, axis=-1)


def test_a_jump_fails_with_f_is_not_continuous_and_the_wrong_slope_too():
    x = np.array([2.0, 0.5])
    with pytest.raises(CheckFailure) as info:
        check_gradient(floor_plus_x, lambda x: np.full_like(x, 9.0), (x,))
    message = str(info.value)
    assert "f is not continuous at 1 entry of args[0]" in message and "args[0][0] = 2.0" in message
    assert "grad is wrong at 1 of 2 entries" in message  # the slope 9 at 0.5 (true: 1)
    assert info.value.details["jumps"].tolist() == [True, False]


def test_a_declared_jump_is_reported_not_judged():
    x = np.array([2.0, 0.5])
    report = check_gradient(floor_plus_x, np.ones_like, (x,), jumps="allow")
    assert report.jumps == 1 and "not differentiable" in str(report)
    with pytest.raises(CheckFailure, match="grad is wrong at 1 of 2"):  # the slope at 0.5 is still judged
        check_gradient(floor_plus_x, lambda x: np.full_like(x, 9.0), (x,), jumps="allow")
    with pytest.raises(ValueError, match="jumps must be one of"):
        check_gradient(floor_plus_x, np.ones_like, (x,), jumps="ignore")


def test_a_jump_near_but_not_at_the_point_is_not_one():
    assert check_gradient(floor_plus_x, np.ones_like, (np.array([2.0 - 1e-9, 0.5]),)).jumps == 0


def layer_norm_tanh(x):  # Σ w·tanh(x̂): smooth everywhere
    c = x - x.mean(axis=-1, keepdims=True)
    s = np.sqrt((c * c).mean(axis=-1, keepdims=True) + 1e-5)
    return np.sum(W_LN * np.tanh(c / s), axis=-1)


def layer_norm_tanh_backward(x):
    c = x - x.mean()
    s = np.sqrt((c * c).mean() + 1e-5)
    xh = c / s
    v = W_LN * (1.0 - np.tanh(xh) ** 2)
    return (v - v.mean() - xh * np.mean(v * xh)) / s


@pytest.mark.parametrize("offset", [3e4, 1e6, 1e8])
@pytest.mark.parametrize("f, backward", [(layer_norm, layer_norm_backward), (layer_norm_tanh, layer_norm_tanh_backward)],
                         ids=["layer_norm", "layer_norm_tanh"])
def test_a_smooth_layer_norm_at_a_large_offset_is_continuous(f, backward, offset):
    # At 1e6 + [2, 5, 5, 5] the rounding of mean(x) moves f by 4e-11 whenever x_0 moves by one of its ULPs: at the
    # jump test's finest steps (a few ULPs of x_0) that change does not shrink, and it is far above the rounding
    # measured along a random direction (1.7e-15). It is f's rounding along e_0, measured there: no jump.
    x = offset + np.array([2.0, 5.0, 5.0, 5.0])
    report = check_gradient(f, backward, (x,))
    assert report.jumps == 0 and report.worst_ratio <= 1.0
    with pytest.raises(CheckFailure, match="grad is wrong at"):  # the x̂·mean(w·x̂) term dropped: still caught
        check_gradient(f, lambda x: backward(x) + np.array([0.0, 0.0, 1e-3, 0.0]), (x,))


@pytest.mark.parametrize("x0", [3e4, 1e6, 1e8])
@pytest.mark.parametrize("slope", [1.0, 2.0, 9.0])
def test_a_jump_at_a_large_offset_fails_whatever_the_gradient(x0, slope):
    with pytest.raises(CheckFailure, match=r"f is not continuous at 1 entry of args\[0\]") as info:
        check_gradient(floor_plus_x, lambda x: np.full_like(x, slope), (np.array([x0, 0.5]),))
    assert info.value.details["jumps"].tolist() == [True, False]


def test_a_jump_is_not_taken_for_the_rounding_of_few_bit_values():
    # f's values next to the jump are exactly 1 and 2 (a constant piece on the right): their grid is no rounding
    f = lambda x: x[..., 1] ** 2 + (x[..., 0] >= 0.3)
    with pytest.raises(CheckFailure, match=r"f is not continuous at 1 entry of args\[0\]"):
        check_gradient(f, lambda x: np.array([0.0, 2.0]), (np.array([0.3, 1.0]),))
    # nor below a cancelling sum's grid (ulp(1) = 1.1e-16 in Σ tanh at ±14): a jump of 1 stands far above it
    g = lambda x: np.sum(np.tanh(x), axis=-1) + (x[..., 0] >= -14.0)
    with pytest.raises(CheckFailure, match=r"f is not continuous at 1 entry of args\[0\]"):
        check_gradient(g, lambda x: 1.0 / np.cosh(x) ** 2, (np.array([-14.0, 14.0, 0.0, 0.0]),))


def test_an_oscillation_below_the_central_steps_is_not_averaged_into_a_verdict():
    # sin(50x)/50 at x ≈ 20…200, not complex-analytic: the central steps (7.4e-4·|x|) span much of a period. The
    # right gradient passes; one 2 % off fails or is reported unverified — it never passes as verified.
    f = lambda x: np.sum(np.sin(50.0 * np.real(x)) / 50.0, axis=-1)
    rng = np.random.default_rng(1)
    for _ in range(12):
        x = np.array([rng.uniform(20.0, 200.0), rng.uniform(-1.0, 1.0)])
        assert check_gradient(f, lambda x: np.cos(50.0 * x), (x,)).worst_ratio <= 1.0
        try:
            report = check_gradient(f, lambda x: np.cos(50.0 * x) * np.array([1.02, 1.0]), (x,))
        except CheckFailure:
            continue
        assert report.unverified >= 1, (x, report)


def test_next_to_the_jumps_of_floor_at_a_large_offset_the_slope_is_judged():
    # x_0 = 3e4 + 0.5: the central steps (22) span 44 jumps of floor, yet f is differentiable there, slope 1
    x = np.array([3e4 + 0.5, 0.5])
    assert check_gradient(floor_plus_x, np.ones_like, (x,)).jumps == 0
    with pytest.raises(CheckFailure, match="grad is wrong at 1 of 2"):  # floor's average slope, 2, is wrong there
        check_gradient(floor_plus_x, lambda x: np.array([2.0, 1.0]), (x,))


def lse(x):
    m = np.max(x.real, axis=-1, keepdims=True)
    return m[..., 0] + np.log(np.sum(np.exp(x - m), axis=-1))


def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def test_masked_minus_inf_logit_is_judged_and_nan_stays_an_error():
    x = np.array([-np.inf, 0.5, 1.0])
    report = check_gradient(lse, softmax, (x,))
    assert report.worst_ratio <= 1.0 and report.unverified == 0
    with pytest.raises(CheckFailure, match="grad is wrong at 1 of 3"):  # the masked entry's derivative is 0
        check_gradient(lse, lambda x: np.where(np.isinf(x), 1e-3, softmax(x)), (x,))
    with pytest.raises(CheckFailure), np.errstate(invalid="ignore"):  # NaN at the masked entry (−∞ − −∞)
        check_gradient(lse, lambda x: softmax(x) + (x - x), (x,))
    with pytest.raises(ValueError, match="has a NaN at index"):
        check_gradient(lse, softmax, (np.array([np.nan, 0.5, 1.0]),))


def test_complex_step_scaled_for_tiny_inputs():
    f = lambda x: np.sum(np.sqrt(x), axis=-1)
    report = check_gradient(f, lambda x: 0.5 / np.sqrt(x), (np.array([1e-300, 1.0]),))
    assert report.references["complex step"] == 1 and report.worst_ratio <= 1.0


def test_a_derivative_below_every_reference_is_unverified_not_passed_and_not_failed():
    # logaddexp takes no complex input: only central differences, which cannot resolve σ(−41) = 1.6e-18
    f = lambda x: np.sum(np.logaddexp(0.0, x), axis=-1)
    sigmoid = lambda x: np.exp(-np.logaddexp(0.0, -x))
    x = np.array([-41.0, 1.0])
    for g in (sigmoid, lambda x: np.where(x < -40, 0.0, sigmoid(x))):  # the right value, and an underflow
        report = check_gradient(f, g, (x,))
        assert report.unverified == 1 and "sympy_expr=" in str(report), report
    with pytest.raises(CheckFailure):  # but an error beyond even the wide tolerance is wrong
        check_gradient(f, lambda x: np.where(x < -40, 1.0, sigmoid(x)), (x,))
    sp = pytest.importorskip("sympy")
    twin = lambda x: sum(sp.log(1 + sp.exp(v)) for v in x)
    assert check_gradient(f, sigmoid, (x,), sympy_expr=twin).unverified == 0  # the remedy works


def test_numpy_scalars_are_accepted_wherever_numbers_are():
    report = check_gradient(f_cubic, g_cubic, (X,), ulps=np.float32(4), atol=np.float64(0.0), wrt=np.int64(0),
                            worst=np.int32(3))
    assert report.ulps == 4.0
    assert check_gradient(f_cubic, g_cubic, vectors, max_examples=np.int64(5)).examples >= 1


def test_callables_that_write_into_their_inputs_cannot_fool_the_judge_or_harm_the_caller():
    x = np.array([1.0, -2.0, 0.5])
    keep = x.copy()

    def f_zeroing(x):
        value = float(np.sum(x**3))
        x[...] = 0.0
        return value

    def g_scaling(x):
        g = 3.0 * x**2
        x *= 7.0
        return g

    def g_wrong_zeroing(x):
        x[...] = 0.0
        return np.zeros_like(x)

    assert check_gradient(f_zeroing, g_scaling, (x,)).worst_ratio <= 1.0
    with pytest.raises(CheckFailure):
        check_gradient(f_cubic, g_wrong_zeroing, (x,))
    np.testing.assert_array_equal(x, keep)


def test_failure_details_keep_their_keys():
    with pytest.raises(CheckFailure) as info:
        check_gradient(f_cubic, lambda x: 2.0 * x**2, (X,))
    details = info.value.details
    assert {"ratio", "reference", "computed", "expected", "args", "tolerance", "unverified"} <= set(details)
    assert details["ratio"].shape == X.shape and details["reference"] == "complex step"


def test_a_slow_f_in_a_plain_script_is_not_killed_and_a_long_search_shows_progress(tmp_path):
    import os

    script = tmp_path / "slow.py"
    script.write_text(
        "import time\n"
        "import numpy as np\n"
        "from hypothesis import strategies as st\n"
        "from hypothesis.extra import numpy as hnp\n"
        "import verify\n"
        "def f(x):\n"
        "    time.sleep(0.25)  # longer than Hypothesis' default 200 ms deadline\n"
        "    return np.sum(np.sin(x), axis=-1)\n"
        "xs = hnp.arrays(np.float64, 2, elements=st.floats(-2, 2)).map(lambda x: (x,))\n"
        "print(verify.check_gradient(f, np.cos, xs, max_examples=6).examples)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=600,
                         env=env)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[-1]) >= 1
    assert "check_gradient search" in out.stderr or "example" in out.stderr, out.stderr


FAILING_CHECKS = '''
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
import verify


def test_point(check_gradient):
    f = lambda x: np.sum(np.log1p(np.exp(x)), axis=-1)
    check_gradient(f, lambda x: np.where(x < -40.0, 0.0, 1.0 / (1.0 + np.exp(-x))), (np.array([-41.0, -38.0]),))


def test_search():
    xs = hnp.arrays(np.float64, 3, elements=st.floats(-3, 3)).map(lambda x: (x,))
    verify.check_gradient(lambda x: np.sum(x**3, axis=-1), lambda x: np.where(x < -1, 2 * x**2, 3 * x**2), xs,
                          max_examples=100)


def test_loss():
    verify.check_loss("least_squares", grad=lambda f, c: 2.0 * (f - c) / f.shape[0])
'''


def test_a_failing_check_shows_the_verdict_and_no_library_or_hypothesis_frames(pytester):
    pytester.makepyfile(test_failing=FAILING_CHECKS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(failed=3)
    out = result.stdout.str()
    for library in ("verify/checks/", "verify/pytest_plugin.py", "hypothesis/", "@given"):
        assert library not in out, library
    assert "Highest target score" not in out and "Falsifying example" not in out and "reproduce_failure" not in out
    assert "found by a Hypothesis search and shrunk" in out  # one line instead of Hypothesis' notes
    for line in ("test_failing.py:9: CheckFailure", "test_failing.py:14: CheckFailure",  # the user's lines are
                 "test_failing.py:19: CheckFailure"):                                    # the last frames shown
        assert line in out, line
    result.stdout.fnmatch_lines(["*grad is wrong at 1 of 2 entries*", "*(0,)*1.5628821893349888e-18*0.0*"])
    result.stdout.fnmatch_lines(["*failing input:*", "*worst entries*"])
    result.stdout.fnmatch_lines(["*Diagnosis: the implementation computes*"])


# --- hooks for check_vjp / check_jvp / check_hessian: f_error= and grad_noise= ------------------------


def test_f_error_carries_an_approximate_f_s_error_into_the_reference():
    """An ``f`` off by a smooth error of at most 2e-6 (a directional derivative computed by differences, as
    check_hessian passes): without ``f_error`` the exact gradient of the intended function fails (the complex step
    differentiates the approximation's error too); with it, it passes; a wrong gradient is still caught."""
    x = (np.array([0.3, 1.0, -2.0]),)
    approx = lambda x: np.sum(np.sin(x) + 1e-6 * np.cos(3.0 * x) * np.sin(x), axis=-1)  # noqa: E731
    with pytest.raises(CheckFailure):
        check_gradient(approx, np.cos, x)
    report = check_gradient(approx, np.cos, x, f_error=3e-6)
    assert report.references["complex step"] == 0 and report.references["central differences"] == 1
    for wrong in (lambda x: np.cos(x) + 0.5, lambda x: -np.cos(x), lambda x: np.sin(x)):
        with pytest.raises(CheckFailure, match="f_error"):
            check_gradient(approx, wrong, x, f_error=3e-6)
    with pytest.raises(ValueError, match="f_error must be a finite number >= 0"):
        check_gradient(approx, np.cos, x, f_error=-1.0)
    with pytest.raises(ValueError, match="cannot differentiate an approximate f"):
        check_gradient(approx, np.cos, x, f_error=3e-6, reference="complex step")


def test_grad_noise_is_added_to_the_tolerance():
    """The caller's measured rounding of grad widens the entries it is given for, and only those."""
    x = (np.array([0.3, 1.0, -2.0]),)
    f = lambda x: np.sum(np.sin(x), axis=-1)  # noqa: E731
    off = lambda x: np.cos(x) + np.array([0.0, 1e-13, 0.0])  # noqa: E731 - 1e-13 off at entry 1
    with pytest.raises(CheckFailure):
        check_gradient(f, off, x)
    check_gradient(f, off, x, grad_noise=np.array([0.0, 2e-13, 0.0]))
    with pytest.raises(CheckFailure, match="grad_noise"):
        check_gradient(f, off, x, grad_noise=np.array([2e-13, 0.0, 2e-13]))
    with pytest.raises(CheckFailure):  # a wrong gradient is caught with it
        check_gradient(f, lambda x: np.cos(x) + 1e-3, x, grad_noise=np.full(3, 2e-13))
    with pytest.raises(ValueError, match="grad_noise must be finite and >= 0"):
        check_gradient(f, off, x, grad_noise=np.array([-1.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match=r"grad_noise has shape \(2,\)"):
        check_gradient(f, off, x, grad_noise=np.zeros(2))
    with pytest.raises(ValueError, match="cannot go with a strategy"):
        check_gradient(f, np.cos, st.just(x), grad_noise=np.zeros(3))


def test_a_float64_f_whose_conditioning_amplifies_its_rounding_keeps_float64_accuracy():
    """sin(x²) at x = 400 rounds at ~1e-11 (the phase x² carries eps·1.6e5): far above eps·|f|, far below float32's
    rounding; it is not taken for a float32 computation, so a gradient computed in float32 is still caught."""
    x = (np.array([25.0, -20.0, -400.0]),)
    v = np.array([1.2, -1.8, -0.8])
    f = lambda x: np.sum(v * np.sin(x**2), axis=-1)  # noqa: E731
    grad = lambda x: 2.0 * x * v * np.cos(x**2)  # noqa: E731
    report = check_gradient(f, grad, x)
    assert not any("float32" in note for note in report.notes), report.notes
    with pytest.raises(CheckFailure, match="grad is wrong"):
        check_gradient(f, lambda x: grad(x.astype(np.float32)).astype(np.float64), x)


def test_a_wrong_slope_next_to_a_kink_1e300_away_is_caught():
    """ReLU at x = 1e-300 and −1e-310 (f ≈ 1e-300 resolves such steps): the kink at 0 is closer than the ladder's main
    levels reach (~1e-27); its tail from |x_j|/2 demands the ordinary derivative there (the other side's slope, or one
    1e-6 off, is wrong). Next to an entry at 2, |f| ≈ 4 could not see a step of 1e-310 at all."""
    v = np.array([1.5, -0.7])
    x = (np.array([1e-300, -1e-310]),)
    f = lambda x: np.sum(v * np.maximum(x, 0.0), axis=-1)  # noqa: E731
    right = lambda x: v * (x > 0)  # noqa: E731
    check_gradient(f, right, x)
    for wrong in (lambda x: v * (x >= -1e-200), lambda x: right(x) * np.array([1.0 + 1e-6, 1.0])):
        with pytest.raises(CheckFailure, match="grad is wrong at 1 of 2"):
            check_gradient(f, wrong, x)


# --- entries at kinks judged together (a new user's report: a tie counted twice passed) ------------------------

_MAX = lambda x: np.max(x, axis=-1)  # noqa: E731


@pytest.mark.parametrize("x, grad", [
    (np.array([2.0, 2.0, 1.0]), lambda x: (x == x.max()) * 1.0),  # the tie counted twice: (1, 1, 0)
    (np.array([2.0, 2.0, 1.0]), lambda x: np.zeros_like(x)),  # the tie counted not at all
    (np.array([3.0, 3.0, 3.0]), lambda x: np.ones_like(x)),
], ids=["tie twice", "tie never", "triple tie"])
def test_a_vector_of_one_sided_slopes_that_is_no_subgradient_at_a_tie_is_caught(x, grad):
    with pytest.raises(CheckFailure, match="no subgradient at the kink shared by"):
        check_gradient(_MAX, grad, (x,))


@pytest.mark.parametrize("x, grad", [
    (np.array([2.0, 2.0, 1.0]), lambda x: (x == x.max()) / np.sum(x == x.max())),  # the tie split
    (np.array([2.0, 2.0, 1.0]), lambda x: (np.arange(x.size) == np.argmax(x)) * 1.0),  # the first of the tie
    (np.array([3.0, 3.0, 3.0]), lambda x: (np.arange(3) == 2) * 1.0),
], ids=["split", "first", "last of three"])
def test_every_subgradient_at_a_tie_passes(x, grad):
    check_gradient(_MAX, grad, (x,))


def test_the_norm_at_zero_takes_its_unit_ball_and_nothing_outside():
    norm = lambda x: np.sqrt(np.sum(x * x, axis=-1))  # noqa: E731
    check_gradient(norm, lambda x: np.zeros_like(x), (np.zeros(2),))
    with pytest.raises(CheckFailure, match="no subgradient"):
        check_gradient(norm, lambda x: np.ones_like(x), (np.zeros(2),))


def test_separate_kinks_keep_every_combination_of_their_subgradients():
    f = lambda x: np.maximum(x[..., 0], 0) - np.maximum(x[..., 1], 0)  # noqa: E731  relu(a) − relu(b) at 0
    for g in ([1.0, 0.0], [0.0, -1.0], [1.0, -1.0], [0.0, 0.0]):
        check_gradient(f, lambda x, g=g: np.array(g), (np.zeros(2),))
