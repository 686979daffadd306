"""check_gradient at the scales a new user's trial found misjudged (issue 13, items 1–3): a float32 softmax − onehot
(PyTorch's own cross-entropy backward) whose rounding shows only at spacings between the probe's old rungs; wrong
gradients at tiny magnitudes, once excused as "below f's resolution" by f's size a unit away; gelu's tail, where f is
0 in float64 and a right slope was blamed on a reference that resolves nothing. Each has a wrong twin."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import erf

from verify import CheckFailure, check_gradient

# -- a float32 softmax − onehot against a float64 f --------------------------------------------------------------


def _cross_entropy(target):
    """``logsumexp(z) − z_t`` in float64 (complex too: the complex step applies)."""
    def f(z):
        m = np.max(z.real)
        value = np.log(np.sum(np.exp(z - m))) + m - z[target]
        return value if np.iscomplexobj(z) else float(value)
    return f


def _float32_backward(target, offset=0.0):
    """The backward PyTorch's ``cross_entropy`` runs in float32: ``exp(log_softmax(z)) − onehot``; ``offset`` added to
    the target entry makes the wrong twin."""
    def grad(z):
        z = np.asarray(z, dtype=np.float32)
        m = z.max()
        log_softmax = z - (m + np.log(np.sum(np.exp(z - m), dtype=np.float32)))
        g = np.exp(log_softmax).astype(np.float32)
        g[target] -= np.float32(1.0)
        g[target] += np.float32(offset)
        return g
    return grad


# the trial's point: the target's probability 0.99963 rounds to float32 cells of 6e-8, which the gradient probe sees
# at 1024 ULPs of x and not at 256 or 4096 (too few cells per step; commensurate steps whose roundings repeat)
TRIAL_POINT = np.array([-3.0, 4.8984375], dtype=np.float32)


def test_float32_softmax_minus_onehot_is_judged_by_its_measured_rounding():
    check_gradient(_cross_entropy(1), _float32_backward(1), (TRIAL_POINT,))


def test_pytorchs_own_cross_entropy_backward_passes_there():
    torch = pytest.importorskip("torch")

    def torch_grad(z):
        logits = torch.tensor(z, requires_grad=True)
        torch.nn.functional.cross_entropy(logits[None], torch.tensor([1])).backward()
        return logits.grad.numpy()

    check_gradient(_cross_entropy(1), torch_grad, (TRIAL_POINT,))


@pytest.mark.parametrize("offset", [5e-6, -5e-6, 2e-5])
def test_an_error_beyond_that_rounding_fails_there(offset):
    # the measured rounding is float32's on terms of size 1: cells of 6e-8, a bound (the 1 − 1e-6 quantile of the
    # estimate from nine values) of 1.9e-6 measured at this point; 5e-6 is 80 cells, 1.3% of the entry
    with pytest.raises(CheckFailure, match="grad is wrong"):
        check_gradient(_cross_entropy(1), _float32_backward(1, offset), (TRIAL_POINT,))


# -- tiny magnitudes ------------------------------------------------------------------------------------------------

def _sum_of_squares(x):
    return np.sum(x * x)


TINY = [np.array([1e-25, 2e-25, -3e-25]), np.array([1e-25]), np.array([3e-12, -1e-9])]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("point", TINY, ids=["three", "one", "mixed"])
def test_the_right_gradient_at_tiny_magnitudes_passes(point, dtype):
    check_gradient(_sum_of_squares, lambda x: 2 * x, (point.astype(dtype),))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("point", TINY, ids=["three", "one", "mixed"])
@pytest.mark.parametrize("wrong", [lambda x: -2 * x, lambda x: 3 * x, lambda x: 0 * x], ids=["sign", "factor", "zero"])
def test_wrong_gradients_at_tiny_magnitudes_fail(point, dtype, wrong):
    # a displacement of 1 moves f = sum(x^2) to 5e-7, which made any error below 3e-21 "below f's resolution"; over
    # x ± |x_j| f is 4e-50 and resolves it
    with pytest.raises(CheckFailure, match="grad is wrong"):
        check_gradient(_sum_of_squares, wrong, (point.astype(dtype),))


def test_a_cancelling_formula_at_small_entries_keeps_f_s_resolution_a_unit_away():
    # tanh layer with small weights and saturated pre-activations (100·0.2·3 = 60): 1 − y² is 0 where the truth is
    # ~1e-50; f is of size 1 at the point and a unit away, so its own-scale term is the larger and term (d) stands
    x = np.full((2, 3), 100.0)
    v = np.array([[0.5, -1.0], [2.0, 0.3]])

    def f(w):
        return np.sum(v * np.tanh(x @ w))

    def grad(w):
        y = np.tanh(x @ w)
        return x.T @ (v * (1.0 - y * y))

    report = check_gradient(f, grad, (np.full((3, 2), 0.2),))
    assert report.worst_ratio <= 1.0
    with pytest.raises(CheckFailure):
        check_gradient(f, lambda w: grad(w) + 1e-3, (np.full((3, 2), 0.2),))


# -- gelu's tail ------------------------------------------------------------------------------------------------------

def _gelu_sum(x):
    return np.sum(0.5 * x * (1.0 + erf(x / math.sqrt(2.0))))


def _gelu_grad(x):
    return 0.5 * (1.0 + erf(x / math.sqrt(2.0))) + x * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _no_complex(fn):
    def f(x):
        if np.iscomplexobj(x):
            raise TypeError("real input only")
        return fn(x)
    return f


@pytest.mark.parametrize("point", [[-10.0], [-20.0], [-10.0, -20.0]])
def test_the_right_slope_in_gelus_flat_tail_is_unverified_not_wrong(point):
    # 1 + erf(x/√2) is 0 in float64 below about −8.3, so f is bitwise 0 around x and the central reference is 0 with a
    # bound near 0; the right slope (−7.7e-22 at −10) is lost in f's digits: unverified, with its reason
    report = check_gradient(_no_complex(_gelu_sum), _gelu_grad, (np.array(point),))
    assert report.unverified == len(point)
    assert "UNVERIFIED" in str(report)


@pytest.mark.parametrize("slope", [1e-3, -1e-8, 1.0])
def test_a_slope_f_would_resolve_in_that_tail_fails(slope):
    # a slope s over the entry's scale changes f by 10·s, far above the rounding of the computation's magnitudes
    # (32·eps·10 = 7e-14): not lost in f's digits, so f's flat values refute it
    with pytest.raises(CheckFailure, match="grad is wrong"):
        check_gradient(_no_complex(_gelu_sum), lambda x: np.full_like(x, slope), (np.array([-10.0]),))


def test_relu_below_zero_still_demands_slope_zero():
    relu_sum = _no_complex(lambda x: np.sum(np.maximum(x, 0.0)))
    check_gradient(relu_sum, lambda x: (x > 0).astype(x.dtype), (np.array([-3.0, 2.0]),))
    with pytest.raises(CheckFailure, match="grad is wrong"):
        check_gradient(relu_sum, lambda x: np.ones_like(x), (np.array([-3.0, 2.0]),))


SATURATED = np.array([11.270698, -3.7972536], dtype=np.float32)  # p_0 = 1 − 2.9e-7: float32 keeps 2 bits of it


def test_deep_saturation_is_a_real_error_against_a_float64_f_and_the_failure_says_why():
    # exp(log_softmax) − 1 is 0 at the target where the truth is −2.9e-7: f in float64 resolves that (f ≈ 2.9e-7),
    # so it fails — with a note that the error is float32's rounding of terms of size 1, and the remedies
    with pytest.raises(CheckFailure, match=r"within 32 float32 roundings of a term of size") as failure:
        check_gradient(_cross_entropy(0), _float32_backward(0), (SATURATED,))
    assert "f_noise=" in str(failure.value)


def test_with_f_noise_from_a_float32_f_it_passes_and_a_wrong_gradient_still_fails():
    f_noise = float(np.finfo(np.float32).eps) * float(np.max(np.abs(SATURATED)))  # one float32 rounding of lse(z)
    check_gradient(_cross_entropy(0), _float32_backward(0), (SATURATED,), f_noise=f_noise)
    with pytest.raises(CheckFailure, match="grad is wrong") as failure:
        check_gradient(_cross_entropy(0), _float32_backward(0, offset=-1e-3), (SATURATED,), f_noise=f_noise)
    assert "float32 roundings of a term" not in str(failure.value)  # 1e-3 is no rounding of size-1 terms


def test_the_note_is_not_given_for_float64_gradients():
    with pytest.raises(CheckFailure) as failure:
        check_gradient(_cross_entropy(0), lambda z: _float32_backward(0)(z).astype(np.float64),
                       (SATURATED.astype(np.float64),))
    assert "float32 roundings of a term" not in str(failure.value)


# -- the ULPs figure where the reference cannot resolve the gradient's ULPs -----------------------------------------

def _tanh_sum_in_float32(x):
    return float(np.sum(np.tanh(np.asarray(x, dtype=np.float32))))


def test_the_ulps_figure_does_not_count_a_coarse_references_error_as_the_gradients():
    # f computes in float32: its central differences are good to ~1e-5, and the exact float64 gradient differs from
    # them by 1.6e-6 — once reported as "1.1e10 ULPs" of a gradient that is exact
    report = check_gradient(_tanh_sum_in_float32, lambda x: 1.0 - np.tanh(x) ** 2, (np.array([0.5, -1.2, 2.0]),))
    assert report.worst_ulps <= 1.0
    with pytest.raises(CheckFailure, match="grad is wrong"):
        check_gradient(_tanh_sum_in_float32, lambda x: 1.1 * (1.0 - np.tanh(x) ** 2), (np.array([0.5, -1.2, 2.0]),))


def test_a_resolving_reference_still_counts_the_gradients_own_ulps():
    x = np.array([0.5, -1.2, 2.0])
    exact = 1.0 - np.tanh(x) ** 2
    off = exact + 3 * np.spacing(exact)
    report = check_gradient(lambda z: np.sum(np.tanh(z)), lambda z: off, (x,))
    assert 2.0 <= report.worst_ulps <= 5.0


# -- a subnormal part of f absorbed by the displaced coordinate's term is no jump (a soak find, seed 1301) ----------

SUBNORMAL = 2.225073858507203e-309
CHAIN_POINT = np.array([SUBNORMAL, 1.0, SUBNORMAL, -1.0, SUBNORMAL, SUBNORMAL])


def _chain(x):
    return np.sum(x[..., :-1] * x[..., 1:], axis=-1)


def _chain_grad(x):
    g = np.zeros_like(x)
    g[..., :-1] += x[..., 1:]
    g[..., 1:] += x[..., :-1]
    return g


def test_a_subnormal_term_absorbed_at_every_step_is_no_jump():
    # along e_2 the sum [s, 1·(s + t), (s + t)·(−1), −s, s²] rounds s + t to t and s + t (the first two terms) to t:
    # f moves by −s = −2.2e-309 at every step t, which once read as "f is not continuous"
    check_gradient(_chain, _chain_grad, (CHAIN_POINT,))


def test_a_real_jump_at_that_point_still_fails():
    def with_jump(x):
        return _chain(x) + 1.0 * (x[..., 2].real >= SUBNORMAL)
    with pytest.raises(CheckFailure, match="not continuous"):
        check_gradient(with_jump, _chain_grad, (CHAIN_POINT,))


# -- central differences that resolve nothing cannot overrule the complex step (from a new-user trial) -----------------
# At |x| ≥ 1e6 the central step eps^(1/5)·|x| spans thousands of periods of sin: the values of f over the stencil
# measured a "rounding level" larger than f itself and central differences of −4.7e-5 ± 2.5e-4 where the slope is
# 0.485, which rejected the (right) complex step and failed cos as sin's gradient.

PERIODIC = {
    "sin": (lambda z: np.sum(np.sin(z), axis=-1), np.cos),
    "sin of a square": (lambda z: np.sum(np.sin(z * z), axis=-1), lambda z: 2.0 * z * np.cos(z * z)),
    "exp of sin": (lambda z: np.sum(np.exp(np.sin(z)), axis=-1), lambda z: np.cos(z) * np.exp(np.sin(z))),
}
FAR_POINTS = [np.array([-7.3645408700166687e07]), np.array([3.3e6, -1.7e7, 9.1e7]), np.array([2.5e5, -1.25e5])]


@pytest.mark.parametrize("x", FAR_POINTS, ids=lambda x: f"{x[0]:.2g}")
@pytest.mark.parametrize("name", PERIODIC)
def test_a_periodic_f_far_from_0_passes_its_gradient(name, x):
    f, grad = PERIODIC[name]
    report = check_gradient(f, grad, (x,))
    assert report.unverified == 0


@pytest.mark.parametrize("x", FAR_POINTS, ids=lambda x: f"{x[0]:.2g}")
@pytest.mark.parametrize("wrong", ["sign", "factor 2", "zero", "the function itself"])
def test_a_wrong_gradient_of_sin_far_from_0_fails(wrong, x):
    grad = {"sign": lambda z: -np.cos(z), "factor 2": lambda z: 2.0 * np.cos(z), "zero": np.zeros_like,
            "the function itself": np.sin}[wrong]
    with pytest.raises(CheckFailure, match="grad is wrong"):
        check_gradient(PERIODIC["sin"][0], grad, (x,))
