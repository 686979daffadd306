"""The CUDA loss kernels against the SymPy/mpmath references (:mod:`verify.symbolic.losses`)."""

from __future__ import annotations

import numpy as np
import pytest
from numba import cuda

from verify.checks.failure import CheckFailure
from verify.kernels.cuda import activations as ca
from verify.kernels.cuda import losses as cl
from verify.symbolic.losses import SYMBOLIC_LOSSES

pytestmark = pytest.mark.cuda

N, K = 4, 3


def _simplex(rng, zeros: bool = False) -> np.ndarray:
    p = rng.random((N, K)) + 0.05
    if zeros:
        p[0, 0] = 0.0
        p[1, 2] = 0.0
    return p / p.sum(axis=1, keepdims=True)


def _inputs(name: str) -> list[tuple[tuple, dict]]:
    """(args, keywords) cases of ``name``: ordinary values, edge values and both kinds of target."""
    rng = np.random.default_rng(sum(map(ord, name)))
    labels = np.array([0, 2, 1, 2])
    if name == "least_squares":
        return [((rng.normal(size=(N, K)), rng.normal(size=(N, K))), {})]
    if name == "hinge":
        return [((np.array([0.5, 1.0, -3.0, 2.0]), np.array([1, 1, 1, -1])), {})]  # 1.0: the kink
    if name == "multiclass_hinge":
        return [((np.array([[1.0, 0.0, 0.5], [0.0, 3.0, 2.5], [1.0, 1.0, 1.0], [2.0, 2.0, 0.0]]), labels), {})]
    if name == "logistic_from_probability":
        return [((np.array([0.3, 1e-12, 0.999, 0.0]), np.array([1, 1, 0, 0])), {}),
                ((np.array([0.3, 0.7, 0.5, 1.0]), np.array([-1, 1, -1, 1])), {"labels": "plus_minus_one"})]
    if name == "logistic_from_logit":
        return [((np.array([0.3, -40.0, 1e300, -1e300]), np.array([1, 1, 1, 0])), {})]
    if name == "categorical_cross_entropy":
        return [((_simplex(rng), labels), {}), ((_simplex(rng), _simplex(rng, zeros=True)), {})]
    if name == "softmax_cross_entropy":
        z = rng.normal(size=(N, K)) * 10
        z[3] = [1e300, -1e300, 0.0]
        return [((z, labels), {}), ((z, _simplex(rng, zeros=True)), {})]
    if name == "entropy":
        return [((_simplex(rng, zeros=True),), {})]
    return [((_simplex(rng, zeros=True), _simplex(rng)), {})]  # cross_entropy, kl_divergence


def _check(assert_close, name, args, kw, reduction, dtype=np.float64):
    cast = tuple(a.astype(dtype) if a.dtype.kind == "f" else a for a in args)
    ref_value, ref_grad, value_mag, grad_mag = SYMBOLIC_LOSSES[name].reference_and_magnitudes(
        *(a.astype(np.float64) if a.dtype.kind == "f" else a for a in cast), reduction=reduction, **kw)
    value, grad = cl.LOSSES[name](*cast, reduction=reduction, **kw)
    assert grad.dtype == dtype and grad.shape == cast[SYMBOLIC_LOSSES[name].wrt].shape
    value_dtype = np.float64 if reduction != "none" else dtype  # "mean"/"sum" are Python floats
    assert_close(value, ref_value, value_mag, value_dtype, f"{name} value ({reduction})")
    assert_close(grad, ref_grad, grad_mag, dtype, f"{name} gradient ({reduction})")


@pytest.mark.parametrize("reduction", ["none", "mean"])
@pytest.mark.parametrize("name", sorted(cl.LOSSES))
def test_loss_matches_symbolic(assert_close, name, reduction):
    for args, kw in _inputs(name):
        _check(assert_close, name, args, kw, reduction)


@pytest.mark.parametrize("name", ["softmax_cross_entropy", "kl_divergence", "least_squares"])
def test_float32_sum_matches_symbolic(assert_close, name):
    args, kw = _inputs(name)[-1]
    with np.errstate(over="ignore"):
        args = tuple(np.clip(a, -1e38, 1e38) if a.dtype.kind == "f" else a for a in args)
    _check(assert_close, name, args, kw, "sum", np.float32)


def test_device_inputs_give_device_outputs():
    (z, labels), _ = _inputs("softmax_cross_entropy")[0]
    value, grad = cl.softmax_cross_entropy(cuda.to_device(z), cuda.to_device(labels), reduction="none")
    assert not isinstance(value, np.ndarray) and not isinstance(grad, np.ndarray)
    host_value, host_grad = cl.softmax_cross_entropy(z, labels, reduction="none")
    np.testing.assert_array_equal(value.copy_to_host(), host_value)
    np.testing.assert_array_equal(grad.copy_to_host(), host_grad)
    mean, _ = cl.softmax_cross_entropy(cuda.to_device(z), labels)
    assert isinstance(mean, float)


def test_agrees_with_the_cpu_backend():
    from verify.kernels import losses as cpu

    for name in sorted(cl.LOSSES):
        for args, kw in _inputs(name):
            v_cuda, g_cuda = cl.LOSSES[name](*args, reduction="none", **kw)
            v_cpu, g_cpu = cpu.LOSSES[name](*args, reduction="none", backend="cpu", **kw)
            # Same formulas and float64 arithmetic; only the order of the row sums differs.
            np.testing.assert_allclose(v_cuda, v_cpu, rtol=4 * K * 2.3e-16, atol=0)
            np.testing.assert_allclose(g_cuda, g_cpu, rtol=4 * K * 2.3e-16, atol=0)


# ------------------------------------------------------------------------------ wrong implementations


def test_mean_gradient_without_the_one_over_n_is_caught(assert_close):
    (z, labels), _ = _inputs("softmax_cross_entropy")[0]
    _, grad = cl.softmax_cross_entropy(z, labels, reduction="sum")  # the wrong one: the sum's gradient
    _, ref_grad, _, grad_mag = SYMBOLIC_LOSSES["softmax_cross_entropy"].reference_and_magnitudes(
        z, labels, reduction="mean")
    with pytest.raises(CheckFailure, match="outside the tolerance"):
        assert_close(grad, ref_grad, grad_mag, np.float64, "gradient of the mean")


def test_cross_entropy_through_unfused_log_of_softmax_is_caught(assert_close):
    z = np.array([[800.0, 0.0, -5.0], [1.0, 2.0, 3.0]])
    labels = np.array([1, 0])
    with np.errstate(divide="ignore"):
        wrong = -np.log(ca.softmax(z)[np.arange(2), labels])  # softmax underflows to 0: −log 0 = +∞
    ref, _, mag, _ = SYMBOLIC_LOSSES["softmax_cross_entropy"].reference_and_magnitudes(z, labels, reduction="none")
    with pytest.raises(CheckFailure, match="outside the tolerance"):
        assert_close(wrong, ref, mag, np.float64, "−log softmax")


def test_multiclass_hinge_with_the_wrong_tie_rule_is_caught(assert_close):
    y = np.array([[1.0, 1.0, 1.0]])
    _, grad = cl.multiclass_hinge(y, np.array([0]), reduction="none")
    wrong = grad[:, ::-1].copy()  # the *last* highest-scoring wrong class instead of the first
    _, ref_grad, _, mag = SYMBOLIC_LOSSES["multiclass_hinge"].reference_and_magnitudes(y, np.array([0]))
    assert_close(grad, ref_grad, mag, np.float64, "first wrong class")
    with pytest.raises(CheckFailure):
        assert_close(wrong, ref_grad, mag, np.float64, "last wrong class")


# ------------------------------------------------------------------------------ bad input


def test_bad_input_on_the_device_gets_clear_errors():
    p = np.array([[0.5, 0.5], [0.25, 0.5]])
    with pytest.raises(ValueError, match=r"p rows must sum to 1 .* row \[1\] sums to 0.75"):
        cl.entropy(cuda.to_device(p))
    with pytest.raises(ValueError, match=r"p must be non-negative; p\[0, 1\] = -0.5"):
        cl.entropy(cuda.to_device(np.array([[1.5, -0.5]])))
    with pytest.raises(ValueError, match=r"target must lie in \[0, 2\); target\[1\] = 2"):
        cl.softmax_cross_entropy(cuda.to_device(np.zeros((2, 2))), cuda.to_device(np.array([0, 2])))
    with pytest.raises(ValueError, match=r"must contain only 0 and 1 .*plus_minus_one.*target\[0\] = -1"):
        cl.logistic_from_logit(np.zeros(2), cuda.to_device(np.array([-1.0, 1.0])))
    with pytest.raises(ValueError, match=r"prediction must be probabilities in \[0, 1\]; prediction\[1\] = 1.5"):
        cl.logistic_from_probability(cuda.to_device(np.array([0.5, 1.5])), np.array([1, 0]))
    with pytest.raises(ValueError, match=r"prediction must be finite; prediction\[0, 1\] = inf"):
        cl.least_squares(cuda.to_device(np.array([[0.0, np.inf]])), np.zeros((1, 2)))


def test_bad_input_on_the_host_gets_clear_errors():
    with pytest.raises(TypeError, match="target must have dtype float64"):
        cl.least_squares(np.zeros((2, 2)), np.zeros((2, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        cl.least_squares(np.zeros((2, 4))[:, ::2], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="reduction must be one of"):
        cl.hinge(np.zeros(2), np.array([1, -1]), reduction="average")
    with pytest.raises(ValueError, match=r"target must contain only -1 and \+1; target\[1\] = 0"):
        cl.hinge(np.zeros(2), np.array([1, 0]))
    with pytest.raises(ValueError, match="rows must sum to 1"):
        cl.kl_divergence(np.array([[0.5, 0.5]]), np.array([[0.5, 0.6]]))
