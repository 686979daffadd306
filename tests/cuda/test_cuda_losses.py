"""The CUDA loss kernels against the SymPy/mpmath references (:mod:`verify.symbolic.losses`)."""

from __future__ import annotations

import numpy as np
import pytest
from numba import cuda

from verify.checks.failure import CheckFailure
from verify.kernels import losses as los
from verify.kernels.cuda import activations as ca
from verify.kernels.cuda import losses as cl
from verify.symbolic.losses import SYMBOLIC_LOSSES

pytestmark = pytest.mark.cuda

def _inputs(name: str) -> list[tuple[tuple, dict]]:
    """(args, options) cases of ``name``: its record's edge cases (both kinds of target where it takes two),
    and each with every choice of a named convention."""
    record = los.RECORDS[name]
    cases = [(args, {}) for args in record.edge_cases(np.dtype(np.float64))]
    for option in record.options:
        if option.choices:  # e.g. labels="plus_minus_one": the 0/1 labels of the cases as ±1
            cases += [((args[0], 2 * args[1] - 1), {option.name: choice}) for args, _ in cases[:1]
                      for choice in option.choices if choice != option.default]
        else:  # half the default: the option reaches the kernel
            cases.append((cases[0][0], {option.name: 0.5 * float(option.default)}))
    return cases


def _check(assert_close, name, args, kw, reduction, dtype=np.float64):
    with np.errstate(over="ignore"):
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


@pytest.mark.parametrize("name", sorted(cl.LOSSES))
def test_float32_sum_matches_symbolic(assert_close, name):
    for args, kw in _inputs(name):
        _check(assert_close, name, args, kw, "sum", np.float32)


def test_device_inputs_give_device_outputs():
    z, labels = los.RECORDS["softmax_cross_entropy"].edge_cases(np.dtype(np.float64))[0]
    value, grad = cl.softmax_cross_entropy(cuda.to_device(z), cuda.to_device(labels), reduction="none")
    assert not isinstance(value, np.ndarray) and not isinstance(grad, np.ndarray)
    host_value, host_grad = cl.softmax_cross_entropy(z, labels, reduction="none")
    np.testing.assert_array_equal(value.copy_to_host(), host_value)
    np.testing.assert_array_equal(grad.copy_to_host(), host_grad)
    mean, _ = cl.softmax_cross_entropy(cuda.to_device(z), labels)
    assert isinstance(mean, float)


@pytest.mark.parametrize("name", sorted(cl.LOSSES))
def test_agrees_with_the_cpu_backend(name):
    for args, kw in _inputs(name):
        v_cuda, g_cuda = cl.LOSSES[name](*args, reduction="none", **kw)
        v_cpu, g_cpu = los.LOSSES[name](*args, reduction="none", backend="cpu", **kw)
        # One row function compiled for both: on the simulator the same machine code, on a GPU the same
        # operations with the device's libm-free arithmetic (exp and log1p are the package's own).
        np.testing.assert_allclose(v_cuda, v_cpu, rtol=16 * 2.3e-16, atol=0)
        np.testing.assert_allclose(g_cuda, g_cpu, rtol=16 * 2.3e-16, atol=0)


# ------------------------------------------------------------------------------ wrong implementations


def test_mean_gradient_without_the_one_over_n_is_caught(assert_close):
    (z, labels), _ = _inputs("softmax_cross_entropy")[0]
    z = np.clip(z, -30, 30) + np.arange(3)  # ordinary logits: the gradient is not 0 anywhere
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
    with pytest.raises(ValueError, match="reduction must be one of"):
        cl.hinge(np.zeros(2), np.array([1, -1]), reduction="average")
    with pytest.raises(ValueError, match=r"target must contain only -1 and \+1; target\[1\] = 0"):
        cl.hinge(np.zeros(2), np.array([1, 0]))
    with pytest.raises(ValueError, match="rows must sum to 1"):
        cl.kl_divergence(np.array([[0.5, 0.5]]), np.array([[0.5, 0.6]]))
    with pytest.raises(TypeError, match="takes no backend"):
        cl.hinge(np.zeros(2), np.array([1, -1]), backend="cpu")


def test_host_arrays_need_not_be_contiguous_as_on_the_cpu_backends():
    f = np.arange(8.0).reshape(2, 4)[:, ::2]  # copied to the device anyway: no reason to refuse it
    value, grad = cl.least_squares(f, np.zeros((2, 2)))
    cpu_value, cpu_grad = los.least_squares(f, np.zeros((2, 2)), backend="cpu")
    assert value == cpu_value and np.array_equal(grad, cpu_grad)
    with pytest.raises(ValueError, match="C-contiguous"):  # a device array is used in place: never copied
        cl.least_squares(cuda.to_device(np.zeros((2, 4)))[:, ::2], np.zeros((2, 2)))
