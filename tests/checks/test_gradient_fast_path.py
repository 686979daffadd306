"""check_gradient's fast path computes term (d) and the smooth judgement in one compiled call
(``judge_smooth_point``), and the complex step as a reference in another (``complex_step_reference``): each must
give bitwise the floats of the NumPy statement of the same formulas (module docstring of verify.checks.gradient)."""

from __future__ import annotations

import warnings
from dataclasses import asdict

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import verify.checks._evaluate as evaluate_module
import verify.checks.gradient as gradient_module
from verify.checks import CheckFailure, check_gradient
from verify.checks._evaluate import _runtime_warnings_ignored
from verify.checks._gradient_kernels import (
    complex_step_estimates,
    complex_step_reference,
    judge_smooth,
    judge_smooth_point,
    largest_values,
    own_scale_terms,
    resolution_terms,
)

_SPECIAL = (np.inf, -np.inf, np.nan, 0.0, -0.0, 5e-324, 1.7976931348623157e308)


def _largest_numpy(values: np.ndarray, f0: float) -> np.ndarray:
    """``F_j``: the largest finite |f| over f(x) and entry j's six central-difference values."""
    v = np.abs(values)
    v = np.where(np.isfinite(v), v, 0.0)
    return np.maximum(v.max(axis=(0, 1)), abs(f0))


def _resolution_numpy(largest: np.ndarray, x: np.ndarray, ulps: float, eps_d: float, eta: float) -> np.ndarray:
    with np.errstate(all="ignore"):
        return ulps * (eps_d * largest + eta) / np.maximum(1.0, np.abs(x))


def _own_scale_numpy(f0, slope, slope_error, curvature, x, ulps, eps_d, eta):
    s = np.abs(x)
    with np.errstate(all="ignore"):
        bound = abs(f0) + (np.abs(slope) + slope_error) * s + np.abs(curvature) * s * s
        term = ulps * (eps_d * bound + eta) / s
    return np.where((s > 0.0) & (s < 1.0) & np.isfinite(bound), term, np.inf)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(np.ascontiguousarray(a).view(np.int64),
                                                 np.ascontiguousarray(b).view(np.int64))


_floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64), st.sampled_from(_SPECIAL))


@st.composite
def _points(draw):
    n = draw(st.integers(1, 6))
    values = np.array(draw(st.lists(_floats, min_size=6 * n, max_size=6 * n))).reshape(3, 2, n)
    f0 = draw(st.floats(allow_nan=False, allow_infinity=False, width=64))
    x = np.array(draw(st.lists(st.floats(allow_nan=False, width=64), min_size=n, max_size=n)))
    g = np.array(draw(st.lists(st.floats(-10, 10), min_size=n, max_size=n)))
    r = g + np.array(draw(st.lists(st.floats(-1e-6, 1e-6), min_size=n, max_size=n)))
    usable = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    extra = np.array(draw(st.lists(st.floats(0, 1e-12), min_size=n, max_size=n))) if draw(st.booleans()) \
        else np.empty(0)
    ulps = draw(st.sampled_from([32.0, 1.0, 4.5]))
    eps_d = draw(st.sampled_from([2.0**-52, 2.0**-23]))
    eta = draw(st.sampled_from([0.0, 1e-12, 3.0]))
    return values, f0, x, g, r, usable, extra, ulps, eps_d, eta


@settings(deadline=None, max_examples=300)
@given(_points())
def test_the_fused_judgement_gives_the_floats_of_the_numpy_formulas(point):
    values, f0, x, g, r, usable, extra, ulps, eps_d, eta = point
    largest = largest_values(values, f0)
    assert _same(largest, _largest_numpy(values, f0))
    assert _same(resolution_terms(largest, x, ulps, eps_d, eta), _resolution_numpy(largest, x, ulps, eps_d, eta))
    infinite = ~np.isfinite(x)
    ulp_r = np.spacing(np.abs(r))
    curvature, error = np.abs(g), np.full(g.size, 1e-15)
    resolution = _resolution_numpy(_largest_numpy(values, f0), x, ulps, eps_d, 0.0)
    own_scale = _own_scale_numpy(f0, r, error, curvature, x, ulps, eps_d, 2.0**-1074)
    assert _same(own_scale_terms(f0, r, error, curvature, x, ulps, eps_d, 2.0**-1074), own_scale)
    resolution = np.minimum(resolution, own_scale)
    if extra.size:
        resolution = resolution + extra
    expected = judge_smooth(g, r, ulp_r, curvature, np.where(infinite, 0.0, x), error, usable, ulps, eps_d, 0.0,
                            resolution)
    got = judge_smooth_point(g, r, ulp_r, curvature, x, infinite, error, usable, ulps, eps_d, 0.0, values, f0, extra)
    for a, b in zip(expected[:4], got[:4], strict=True):
        assert _same(a, b)
    assert _same(np.array(expected[4:], dtype=np.float64), np.array(got[4:], dtype=np.float64))


def test_a_value_that_is_not_finite_does_not_set_f_scale():
    """The case a kernel that forgot the zeroing of inf/NaN values would get wrong (F_j = inf: term (d) would excuse
    any error at that entry)."""
    values = np.ones((3, 2, 2))
    values[1, 0, 0] = np.inf
    values[2, 1, 1] = np.nan
    assert largest_values(values, -2.5).tolist() == [2.5, 2.5]
    assert largest_values(values, 0.5).tolist() == [1.0, 1.0]


def _complex_step_numpy(imag, step, value, error, third, finite, kink, infinite, eps, truncation, floor):
    """The complex step as a reference, stated with NumPy (verify.checks._references.accept_complex_step)."""
    finite_cs = np.isfinite(imag)
    smooth = finite & ~kink & ~infinite & np.isfinite(value) & np.isfinite(error) & finite_cs
    cs, cs_error, first = complex_step_estimates(imag, step, value, error, third, smooth, eps)
    with np.errstate(all="ignore"):
        if truncation.size:
            cs_error = np.where(np.isnan(truncation), cs_error, 4.0 * eps * np.abs(cs) + truncation)
        if floor.size:
            cs_error = np.maximum(cs_error, floor)
        lost = ((np.abs(imag) < np.finfo(np.float64).tiny) & (imag != 0.0) | ~finite_cs) & ~infinite
    cs_error = np.where(lost, np.inf, cs_error)
    return np.where(infinite, 0.0, cs), np.where(infinite, 0.0, cs_error), first


def _same_or_nan(a: np.ndarray, b: np.ndarray) -> bool:
    """Bitwise equal, a NaN matching any NaN (its sign and payload are never looked at)."""
    return a.shape == b.shape and bool(np.all((a.view(np.int64) == b.view(np.int64)) | (np.isnan(a) & np.isnan(b))))


@st.composite
def _complex_steps(draw):
    n = draw(st.integers(1, 6))

    def floats(**kw):
        return np.array(draw(st.lists(_floats, min_size=n, max_size=n)), **kw)

    def mask():
        return np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)

    imag, value = floats(), floats()
    if draw(st.booleans()):  # a point where the two references agree, as at a correct gradient
        with np.errstate(over="ignore", invalid="ignore"):
            value = imag * 1e20
    step = np.full(n, 1e-20)
    error, third = np.abs(floats()), np.abs(floats())
    truncation = draw(st.sampled_from(["none", "nan", "drawn"]))
    truncation = (np.empty(0) if truncation == "none" else np.full(n, np.nan) if truncation == "nan"
                  else np.abs(floats()))
    floor = np.abs(floats()) if draw(st.booleans()) else np.empty(0)
    eps = draw(st.sampled_from([2.0**-52, 2.0**-23]))
    return imag, step, value, error, third, mask(), mask(), mask(), eps, truncation, floor


@settings(deadline=None, max_examples=300)
@given(_complex_steps())
def test_the_compiled_complex_step_reference_gives_the_floats_of_its_numpy_statement(case):
    expected = _complex_step_numpy(*case)
    got = complex_step_reference(*case)
    assert expected[2] == got[2]
    assert _same_or_nan(expected[0], got[0]) and _same_or_nan(expected[1], got[1])


def test_a_complex_step_below_the_normal_range_says_nothing():
    """A kernel that kept an Im f below the normal range (lost relative precision) would decide there."""
    imag = np.array([1e-310, 1e-12])
    cs, error, first = complex_step_reference(imag, np.full(2, 1e-20), imag * 1e20, np.full(2, 1e-6), np.zeros(2),
                                              np.ones(2, bool), np.zeros(2, bool), np.zeros(2, bool), 2.0**-52,
                                              np.empty(0), np.empty(0))
    assert first == -1 and error[0] == np.inf and np.isfinite(error[1])


# --- the compiled fast paths give the verdicts of the general one ----------------------------------------------------
#
# ``_Checker._fast`` judges a point whose deciding reference is the complex step (``judge_complex_point``) or the central
# differences alone (``judge_central_point``) in one compiled call, handing back to ``_fast_general`` (the same steps in
# NumPy) where there is more to do than judge. Whatever the point, the gradient and f, the report (every field but the
# time) or the failure message must be the same either way.


def _softmax_ce(z, labels):
    m = z.real.max(axis=-1, keepdims=True)
    lse = m[..., 0] + np.log(np.exp(z - m).sum(axis=-1))
    return (lse - z[..., np.arange(z.shape[-2]), labels]).mean(axis=-1)


def _softmax_ce_grad(z, labels):
    p = np.exp(z - z.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    p[np.arange(z.shape[0]), labels] -= 1.0
    return p / z.shape[0]


def _one_at_a_time(f):
    """``f`` one point per call (no stack): the evaluator falls back to scalar calls."""
    def at(x, *rest):
        if x.ndim > 1:
            raise ValueError("one point at a time")
        return f(x, *rest)
    return at


# name -> (f, its gradient, point maker); the complex-analytic ones are decided by the complex step, the others by the
# central differences alone (abs, a float32 computation, a function that takes no complex input)
_FUNCTIONS = {
    "sin": (lambda x: np.sum(np.sin(x), axis=-1), np.cos),
    "cubic": (lambda x: np.sum(x**3, axis=-1), lambda x: 3.0 * x**2),
    "exp": (lambda x: np.sum(np.exp(x), axis=-1), np.exp),
    "sin_x2": (lambda x: np.sum(np.sin(x * x), axis=-1), lambda x: 2.0 * x * np.cos(x * x)),
    "tanh": (lambda x: np.sum(np.tanh(x), axis=-1), lambda x: 1.0 - np.tanh(x) ** 2),
    "abs": (lambda x: np.sum(np.abs(x), axis=-1), np.sign),
    "real_only_sin": (lambda x: np.sum(np.sin(np.asarray(x).real.astype(np.float64)), axis=-1), np.cos),
    "float32_sin": (lambda x: float(np.sum(np.sin(np.asarray(x, dtype=np.float32)))), np.cos),
    "scalar_calls_sin": (_one_at_a_time(lambda x: np.sum(np.sin(x), axis=-1)), np.cos),
    # complex-analytic pieces with a kink at 0 (the central differences find it; the complex step does not)
    "leaky_relu": (lambda x: np.sum(np.where(np.real(x) > 0, x, 0.01 * x), axis=-1),
                   lambda x: np.where(x > 0, 1.0, 0.01)),
    # a staircase: structure below the central steps at large x (no complex input: floor)
    "staircase": (lambda x: np.sum(np.floor(x) + x, axis=-1), np.ones_like),
}


def _outcome(f, grad, point):
    try:
        report = check_gradient(f, grad, point)
    except CheckFailure as failure:
        return "failed", str(failure)
    fields = asdict(report)
    fields.pop("seconds")
    return "passed", fields


def _case(name, x, mutation="none", size=0.0, k=0):
    """``(name, f, grad, point)``: ``grad`` is the gradient of ``f`` with ``mutation`` applied: "relative" (a factor
    ``1 + size``), "one entry" (entry ``k`` off by ``size`` relative), "one entry negated", "zero"."""
    f, grad = _FUNCTIONS[name]

    def g(xx):
        out = np.array(grad(np.asarray(xx, dtype=np.float64)), dtype=np.float64)
        if mutation == "relative":
            out = out * (1.0 + size)
        elif mutation == "one entry negated":
            out[k] = -out[k]
        elif mutation == "one entry":
            out[k] += size * max(1.0, abs(out[k]))
        elif mutation == "zero":
            out[:] = 0.0
        return out.astype(xx.dtype)

    return name, f, g, (x,)


@st.composite
def _cases(draw):
    name = draw(st.sampled_from(sorted(_FUNCTIONS)))
    n = draw(st.integers(1, 5))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    scale = draw(st.sampled_from([1e-12, 1e-3, 1.0, 30.0, 1e4]))
    x = np.array(draw(st.lists(st.floats(-1.0, 1.0), min_size=n, max_size=n))) * scale
    if name in ("exp", "cubic"):
        x = np.clip(x, -30.0, 30.0)
    if draw(st.booleans()):
        x[draw(st.integers(0, n - 1))] = 0.0  # at a kink of the piecewise ones
    mutation = draw(st.sampled_from(["none", "relative", "relative", "one entry", "one entry negated", "zero"]))
    # errors of 0.1 to 10 times the tolerance's leading term (32 ULPs of the dtype), so that many land near it
    size = 10.0 ** draw(st.floats(-1.0, 1.0)) * 32.0 * float(np.finfo(dtype).eps)
    return _case(name, x.astype(dtype), mutation, size, draw(st.integers(0, n - 1)))


@settings(deadline=None, max_examples=200)
@given(_cases())
@example(_case("leaky_relu", np.array([0.0, 0.5])))  # a kink candidate: the measured judgement
@example(_case("staircase", np.array([3e4 + 0.5])))  # structure below the steps
@example(_case("sin", np.array([0.5, 2.0]), "relative", 1.5 * 32.0 * 2.0**-52))  # just beyond the cheap tolerance
@example(_case("sin", np.array([0.5, 2.0], dtype=np.float32), "relative", 0.5 * 32.0 * 2.0**-23))
def test_the_compiled_fast_paths_give_the_verdicts_of_the_general_one(case):
    _, f, g, point = case
    fused = _outcome(f, g, point)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gradient_module._Checker, "_fast", gradient_module._Checker._fast_general)
        general = _outcome(f, g, point)
    assert fused == general


@pytest.mark.parametrize("f, grad, point, kernel, decided", [
    (lambda x: np.sum(np.sin(x), axis=-1), np.cos, (np.array([0.5, -2.0, 3.0]),), "judge_straight",
     "complex step"),
    (lambda x: np.sum(np.sin(x), axis=-1), np.cos, (np.array([0.5, -2.0, 3.0], dtype=np.float32),),
     "judge_straight", "complex step"),
    (_FUNCTIONS["abs"][0], np.sign, (np.array([0.5, -2.0, 3.0]),), "judge_central_point", "central differences"),
    (_softmax_ce, _softmax_ce_grad, (np.linspace(-2.0, 3.0, 12).reshape(3, 4), np.array([0, 3, 1])),
     "judge_straight", "complex step"),
])
def test_a_smooth_point_is_judged_in_one_compiled_call(f, grad, point, kernel, decided):
    """The fast paths are taken (a test of their equivalence that never reached them would prove nothing), and a
    wrong gradient at the same point still fails."""
    calls = []
    original = getattr(gradient_module, kernel)

    def spy(*args):
        out = original(*args)
        calls.append(out[0])
        return out

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gradient_module, kernel, spy)
        report = check_gradient(f, grad, point)
        assert calls == [gradient_module.FAST_PASS] and report.references[decided] == 1
        with pytest.raises(CheckFailure):
            check_gradient(f, lambda *a: 1.001 * np.asarray(grad(*a)), point)


# --- the straight path gives the verdicts of the general steps ----------------------------------------------------------
#
# ``_Checker._straight`` takes a float64 f's point through the same evaluations and the same compiled judgement as
# ``_Checker._general`` without the records those read, and hands the point to them where it leaves its line (an
# infinite entry, f rounding to float32, a tiny entry or Im f = 0 for the complex step, f that takes no complex input,
# a point not passed). Whatever the point, the gradient and f, the report or the failure must be the same either way,
# and f must be called the same number of times with the same points.


def _general_only(self, pt, raw):
    return self._general(pt, raw, gradient_module._EPS64)


def _traced(f):
    calls = []

    def traced(x, *rest):
        calls.append(np.array(x, copy=True))
        return f(x, *rest)
    return traced, calls


def _both_ways(f, grad, point, **options):
    outcomes, traces = [], []
    for straight in (True, False):
        traced, calls = _traced(f)
        with pytest.MonkeyPatch.context() as patch:
            if not straight:
                patch.setattr(gradient_module._Checker, "_straight", _general_only)
            try:
                report = check_gradient(traced, grad, point, **options)
                fields = asdict(report)
                fields.pop("seconds")
                outcomes.append(("passed", fields))
            except CheckFailure as failure:
                outcomes.append(("failed", str(failure)))
            except (TypeError, ValueError) as error:
                outcomes.append((type(error).__name__, str(error)))
        traces.append(calls)
    assert outcomes[0] == outcomes[1]
    assert len(traces[0]) == len(traces[1])
    # the same points in the same layout (a stack reaches f with its points innermost: Evaluator._batch_innermost)
    assert all(a.dtype == b.dtype and a.shape == b.shape and a.strides == b.strides
               and np.array_equal(np.ascontiguousarray(a).view(np.uint8), np.ascontiguousarray(b).view(np.uint8))
               for a, b in zip(*traces, strict=True))
    return outcomes[0]


@settings(deadline=None, max_examples=150)
@given(_cases())
@example(_case("sin", np.array([1e-12, 0.5, 2.0])))  # a tiny entry: the complex step's smaller step
@example(_case("real_only_sin", np.array([0.5, 2.0])))  # f takes no complex input
@example(_case("float32_sin", np.array([0.5, 2.0])))  # f rounds to float32 and returns a Python float
@example(_case("leaky_relu", np.array([0.0, 0.5])))  # a kink candidate: not passed on the cheap terms
@example(_case("sin", np.array([0.5, 2.0]), "relative", 1.5 * 32.0 * 2.0**-52))  # just beyond the cheap tolerance
def test_the_straight_path_gives_the_verdicts_of_the_general_steps(case):
    _, f, g, point = case
    _both_ways(f, g, point)


@pytest.mark.parametrize("name, f, grad, point", [
    ("masked logit", lambda z: np.log(np.sum(np.exp(z), axis=-1)),
     lambda z: np.exp(z) / np.sum(np.exp(z)), (np.array([-np.inf, 0.5, 1.0]),)),
    ("dead unit: Im f = 0 along an entry", lambda x: np.sum(np.sin(x[..., :2]), axis=-1) + 0.0 * x[..., 2],
     lambda x: np.array([np.cos(x[0]), np.cos(x[1]), 0.0]), (np.array([0.5, 2.0, 3.0]),)),
    ("tiny entry", lambda x: np.sum(np.sqrt(x), axis=-1), lambda x: 0.5 / np.sqrt(x),
     (np.array([1e-300, 2.0]),)),
    ("float32 f", lambda x: float(np.sum(np.sin(x.astype(np.float32)))), np.cos, (np.array([0.5, 2.0]),)),
    ("no complex input", lambda x: np.sum(np.sin(np.real(x).astype(np.float64)), axis=-1), np.cos,
     (np.array([0.5, 2.0]),)),
    ("wrong", lambda x: np.sum(np.sin(x), axis=-1), lambda x: 1.01 * np.cos(x), (np.array([0.5, 2.0]),)),
    ("kink", lambda x: np.sum(np.abs(x), axis=-1), np.sign, (np.array([0.0, 2.0]),)),
    ("truncation to measure", lambda x: np.sum(np.exp(30.0 * x), axis=-1), lambda x: 30.0 * np.exp(30.0 * x),
     (np.array([3.0, -1.0]),)),
    ("float32 point", lambda x: np.sum(np.sin(x), axis=-1), lambda x: np.cos(x).astype(np.float32),
     (np.array([0.5, 2.0], dtype=np.float32),)),
])
def test_the_straight_path_hands_each_kind_of_point_to_the_general_steps_unchanged(name, f, grad, point):
    _both_ways(f, grad, point)
    _both_ways(f, grad, point, grad_noise=np.full(point[0].shape, 1e-12), atol=1e-14, ulps=8.0)


# --- RuntimeWarnings at complex points are ignored as warnings.catch_warnings ignores them ------------------------------


def _warn_all():
    warnings.warn("overflow at a perturbed point", RuntimeWarning, stacklevel=1)
    warnings.warn("casting complex values to real", np.exceptions.ComplexWarning, stacklevel=1)
    warnings.warn("something else", UserWarning, stacklevel=1)


@pytest.mark.parametrize("context", [_runtime_warnings_ignored,
                                     lambda: warnings.catch_warnings(action="ignore", category=RuntimeWarning)])
def test_runtime_warnings_are_ignored_inside_and_the_warnings_state_is_restored(context):
    """The same for the standard context manager and the one the evaluator uses: under an 'error' filter (pytest -W
    error) RuntimeWarnings inside are ignored, any other warning still raises, and on leaving — normally or by an
    exception — the filter list and the display hook are the caller's again."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        filters, show = warnings.filters, warnings.showwarning
        with pytest.raises(UserWarning, match="something else"):
            with context():
                _warn_all()
        assert warnings.filters is filters and warnings.showwarning is show
        with context():
            warnings.warn("overflow", RuntimeWarning, stacklevel=1)
            warnings.simplefilter("always")  # f changing the filters changes them only inside
            warnings.showwarning = print
        assert warnings.filters is filters and warnings.showwarning is show
        with pytest.raises(RuntimeWarning):
            warnings.warn("outside", RuntimeWarning, stacklevel=1)


@pytest.mark.parametrize("lean", [True, False])
def test_a_call_ignoring_runtime_warnings_ignores_them_inside_and_restores_the_state(lean):
    """The evaluator's complex stacks go through ``_ignoring_runtime_warnings`` (the context above, in one frame): the
    same behaviour, on the lean path (CPython 3.11/3.12) and the standard one."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(evaluate_module, "_LEAN_WARNINGS", lean)
        warn_all = evaluate_module._ignoring_runtime_warnings(_warn_all)

        def meddle():
            warnings.warn("overflow", RuntimeWarning, stacklevel=1)
            warnings.simplefilter("always")  # f changing the filters changes them only inside
            warnings.showwarning = print
            return 7

        meddling = evaluate_module._ignoring_runtime_warnings(meddle)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        filters, show = warnings.filters, warnings.showwarning
        with pytest.raises(UserWarning, match="something else"):
            warn_all()
        assert warnings.filters is filters and warnings.showwarning is show
        assert meddling() == 7
        assert warnings.filters is filters and warnings.showwarning is show
        with pytest.raises(RuntimeWarning):
            warnings.warn("outside", RuntimeWarning, stacklevel=1)


@pytest.mark.parametrize("numpy2", [True, False])
def test_a_call_ignoring_floating_point_errors_ignores_them_inside_and_restores_the_state(numpy2):
    """The evaluator's real stacks go through ``_ignoring_errors``: ``np.errstate(all="ignore")`` as a decorator on
    NumPy 2, its ``with`` statement otherwise; the caller's error state (here: raise) holds again after the call, also
    after an exception, and inside a nested call."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(evaluate_module, "_NUMPY2", numpy2)
        overflow = evaluate_module._ignoring_errors(lambda x: x * 1e308)
        fail = evaluate_module._ignoring_errors(lambda: 1 / 0)
        nested = evaluate_module._ignoring_errors(lambda x: (overflow(x), np.geterr()["over"]))
    big = np.array([1e10])
    with np.errstate(all="raise"):
        assert np.isinf(overflow(big)[0])
        assert np.geterr()["over"] == "raise"
        with pytest.raises(ZeroDivisionError):
            fail()
        assert np.geterr()["over"] == "raise"
        value, inside = nested(big)
        assert np.isinf(value[0]) and inside == "ignore" and np.geterr()["over"] == "raise"
        with pytest.raises(FloatingPointError):
            big * 1e308
