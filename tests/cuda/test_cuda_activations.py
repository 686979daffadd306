"""The CUDA activation and softmax kernels against the SymPy/mpmath references (:mod:`verify.symbolic`)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import cuda

from verify.checks.failure import CheckFailure
from verify.kernels.cuda import activations as ca
from verify.pytest_plugin import scaled
from verify.symbolic.activations import (
    SYMBOLIC_ACTIVATIONS,
    log_softmax_reference,
    logsumexp_reference,
    softmax_reference,
)

pytestmark = pytest.mark.cuda

SIM_EXAMPLES = scaled(8)  # each example launches kernels on the (slow) simulator; 20x under verify-soak

DTYPES = (np.float64, np.float32)
# Points where a careless form loses everything: large |x| (1 − σ and 1 − tanh² cancel), 0 (ReLU's kink);
# 358: tanh'(358) = 4.4e-311 is subnormal (judged on the absolute grid there, see conftest).
EDGES = np.array([-745.0, -700.0, -40.0, -20.0, -1.0, -1e-300, -0.0, 0.0, 1e-300, 0.5, 20.0, 40.0, 358.0, 700.0])


def _check_activation(assert_close, name, x, dtype):
    value_ref, derivative_ref = SYMBOLIC_ACTIVATIONS[name].reference(x.astype(np.float64))
    assert_close(ca.activation(name, x), value_ref, np.abs(value_ref), dtype, f"{name}({x.dtype})")
    assert_close(ca.activation_derivative(name, x), derivative_ref, np.abs(derivative_ref), dtype, f"{name}'")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ca.ACTIVATIONS)
def test_activation_edges_match_symbolic(assert_close, name, dtype):
    with np.errstate(over="ignore"):
        x = EDGES.astype(dtype)
    _check_activation(assert_close, name, x, dtype)
    assert ca.activation(name, x).dtype == dtype


@settings(max_examples=SIM_EXAMPLES)
@given(
    name=st.sampled_from(ca.ACTIVATIONS),
    x=st.lists(st.floats(-800, 800, allow_subnormal=True), min_size=1, max_size=24).map(np.array),
)
def test_activation_matches_symbolic_on_drawn_inputs(assert_close, name, x):
    _check_activation(assert_close, name, x.reshape(-1, 1) if x.size % 2 else x, np.float64)


def _logits():
    rng = np.random.default_rng(8)
    z = rng.normal(size=(6, 5)) * np.array([[1.0], [10.0], [100.0], [1e3], [1.0], [1.0]])
    z[4] = [1e300, -1e300, 0.0, 1e300, 5.0]  # a tie at the top and the largest magnitudes
    z[5] = [-700.0, -700.5, -745.0, -1e-3, -1e300]
    return z


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_family_matches_symbolic(assert_close, dtype):
    with np.errstate(over="ignore"):
        z = _logits() if dtype == np.float64 else np.clip(_logits(), -1e38, 1e38).astype(dtype)
    z64 = z.astype(np.float64)
    sm = softmax_reference(z64)
    assert_close(ca.softmax(z), sm, sm, dtype, "softmax")
    ls = log_softmax_reference(z64)
    # log σ_k = (z_k − m) − log S: the subtraction's operands bound the error.
    assert_close(ca.log_softmax(z), ls, np.abs(ls) + np.log(z.shape[1]), dtype, "log_softmax")
    lse = logsumexp_reference(z64)
    assert_close(ca.logsumexp(z), lse, np.abs(z64).max(axis=1) + np.log(z.shape[1]), dtype, "logsumexp")


@settings(max_examples=SIM_EXAMPLES)
@given(st.integers(1, 9).flatmap(
    lambda k: st.lists(st.lists(st.floats(-1e4, 1e4), min_size=k, max_size=k), min_size=1, max_size=4)))
def test_softmax_matches_symbolic_on_drawn_logits(assert_close, host, rows):
    z = np.array(rows)
    sm = softmax_reference(z)
    assert_close(ca.softmax(z), sm, sm, np.float64, "softmax")
    assert np.allclose(host(ca.softmax(z)).sum(axis=1), 1.0, rtol=0, atol=z.shape[1] * 2.3e-16)


def test_device_arrays_in_device_arrays_out():
    z = _logits()
    d = cuda.to_device(z)
    out = ca.softmax(d)
    assert not isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out.copy_to_host(), ca.softmax(z))
    x = cuda.to_device(EDGES)
    np.testing.assert_array_equal(ca.activation("tanh", x).copy_to_host(), ca.activation("tanh", EDGES))


def test_agrees_with_the_cpu_backend_to_a_few_ulps():
    """Both backends are checked against the mpmath reference above; here they are compared directly.

    The CPU kernels evaluate exp with their own vectorisable polynomial and CUDA with the device's
    exp, each within 1 ulp of the correctly rounded value; through the row sum and the quotient or
    logarithm such a difference grows to at most about 2 ulps on each side, so 4 ulps bound the gap.
    """
    from verify.checks.failure import ulp_error
    from verify.kernels import activations as cpu

    z = _logits()
    for f in ("softmax", "log_softmax", "logsumexp"):
        gap = ulp_error(getattr(ca, f)(z), getattr(cpu, f)(z, backend="cpu"))
        assert gap.max() <= 4, (f, gap.max())
    for name in ca.ACTIVATIONS:
        np.testing.assert_array_equal(ca.activation_derivative(name, EDGES),
                                      cpu.activation_derivative(name, EDGES, backend="cpu"))


# ------------------------------------------------------------------------------ wrong implementations


@cuda.jit
def _naive_sigmoid_prime(x, out):
    i = cuda.grid(1)
    if i < x.size:
        s = 1.0 / (1.0 + math.exp(-x[i]))
        out[i] = s * (1.0 - s)  # cancels to 0 for x ≳ 37 although σ'(x) ≈ e^{−x} is a normal float


@cuda.jit
def _softmax_without_shift(z, out):
    i = cuda.grid(1)
    if i < z.shape[0]:
        s = 0.0
        for k in range(z.shape[1]):
            s += math.exp(max(min(z[i, k], 709.0), -745.0))  # clamped only to keep Python's math from raising
        for k in range(z.shape[1]):
            out[i, k] = math.exp(max(min(z[i, k], 709.0), -745.0)) / s


def test_naive_sigmoid_derivative_is_caught(assert_close):
    x = np.array([1.0, 30.0, 40.0, 100.0])
    out = cuda.device_array(4)
    _naive_sigmoid_prime[1, 32](cuda.to_device(x), out)
    _, ref = SYMBOLIC_ACTIVATIONS["sigmoid"].reference(x)
    with pytest.raises(CheckFailure, match="outside the tolerance"):
        assert_close(out, ref, np.abs(ref), np.float64, "naive σ'")


def test_unshifted_softmax_is_caught(assert_close):
    z = np.array([[800.0, 799.0, 0.0], [1.0, 2.0, 3.0]])
    out = cuda.device_array(z.shape)
    _softmax_without_shift[1, 32](cuda.to_device(z), out)
    ref = softmax_reference(z)
    with pytest.raises(CheckFailure, match="outside the tolerance"):
        assert_close(out, ref, ref, np.float64, "unshifted softmax")


# ------------------------------------------------------------------------------ bad input


def test_bad_input_gets_clear_errors():
    with pytest.raises(TypeError, match="x must have dtype float32 or float64; got dtype int64"):
        ca.activation("relu", np.arange(3))
    with pytest.raises(TypeError, match="z must have dtype float32 or float64"):
        ca.softmax(cuda.to_device(np.ones((2, 2), dtype=np.int64)))
    with pytest.raises(ValueError, match="name must be one of"):
        ca.activation("gelu", np.ones(2))
    np.testing.assert_array_equal(ca.softmax(np.ones((4, 4))[:, ::2]), np.full((4, 2), 0.5))  # host: copied anyway
    with pytest.raises(ValueError, match="C-contiguous"):
        ca.activation("tanh", cuda.to_device(np.ones(8))[::2])
    with pytest.raises(ValueError, match=r"z must be finite; z\[1, 0\] = nan"):
        ca.logsumexp(cuda.to_device(np.array([[0.0, 1.0], [np.nan, 2.0]])))
    with pytest.raises(ValueError, match="ndim"):
        ca.softmax(np.ones(3))
