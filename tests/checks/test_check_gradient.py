"""check_gradient: arguments, references, tolerances, kinks, search, messages and reports."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from verify.checks import CheckFailure, GradientReport, check_gradient

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
    with pytest.raises(ValueError, match=r"args\[0\] must not be NaN; args\[0\]\[2\] = nan"):
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
    with pytest.raises(CheckFailure, match="reference: sympy"):
        check_gradient(f, lambda x: 1.0 - 1.0 / (1.0 + np.exp(x)), (np.array([-41.0, 0.5]),), sympy_expr=twin)


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
    f = lambda x: np.sum(np.log1p(np.exp(x)), axis=-1)
    with pytest.raises(CheckFailure) as info:
        check_gradient(f, lambda x: 1.0 - 1.0 / (1.0 + np.exp(x)), (np.array([-41.0, 1.0]),))
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
    assert report.noise_measured >= 1 and "measured rounding noise" in str(report)
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
    report = check_gradient(f_cubic, g_cubic, vectors, max_examples=15)
    assert report.examples >= 10


def test_search_finds_and_shrinks_a_bug_on_one_branch():
    wrong = lambda x: np.where(x < -1.0, 2.0 * x**2, 3.0 * x**2)  # wrong only below −1
    with pytest.raises(CheckFailure) as info:
        check_gradient(f_cubic, wrong, vectors, max_examples=100)
    x = info.value.details["args"][0]
    assert (x < -1.0).any(), x
    assert np.all(x == np.round(x)) and x.min() >= -3.0, x  # shrunk to small integers, e.g. −2
    assert "failing input:" in str(info.value) and "point=" in "".join(info.value.__notes__)


def test_search_raises_bad_arguments_from_the_strategy():
    with pytest.raises(ValueError, match="must not be NaN"):
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
