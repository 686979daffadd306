"""Activations, their derivatives and the softmax family against the SymPy/mpmath reference, on every
CPU backend and both float dtypes; a deliberately wrong version of each kernel is caught by the same check."""

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from verify.checks.failure import CheckFailure
from verify.checks.selfcheck import verify_activation, verify_softmax
from verify.kernels import activations as act
from verify.strategies import activation_inputs, batch_shapes, logits

DTYPES = [np.float64, np.float32]


@st.composite
def logit_rows(draw, dtype):
    shape = draw(batch_shapes(max_rows=4, max_classes=5))
    return draw(hnp.arrays(np.dtype(dtype), shape, elements=logits(dtype)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", act.ACTIVATIONS)
def test_activation_matches_reference(name, dtype, backend):
    @given(activation_inputs(dtype))
    def check(x):
        verify_activation(lambda n, v: act.activation(n, v, backend=backend), name, x)
        verify_activation(lambda n, v: act.activation_derivative(n, v, backend=backend), name, x, derivative=True)

    check()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("which", ["softmax", "log_softmax", "logsumexp"])
def test_softmax_family_matches_reference(which, dtype, backend):
    fn = getattr(act, which)

    @given(logit_rows(dtype))
    def check(z):
        verify_softmax(lambda v: fn(v, backend=backend), which, z)

    check()


def test_relu_derivative_at_zero_is_zero_and_shapes_are_kept(backend):
    x = np.array([[-1.0, 0.0, -0.0], [2.0, 5e-324, -5e-324]])
    assert act.activation_derivative("relu", x, backend=backend).tolist() == [[0, 0, 0], [1, 1, 0]]
    assert act.activation("relu", x, backend=backend).shape == (2, 3)
    assert act.logsumexp(np.zeros((3, 4), np.float32), backend=backend).dtype == np.float32


# --------------------------------------------------------------------------- wrong kernels are caught
# Each is a plausible bug. The search runs without the shrink phase: a failure must be *found*; a
# shrunk counterexample is not needed here and shrinking against mpmath references is slow.

_FIND = settings(max_examples=300, phases=(Phase.explicit, Phase.generate), database=None)


def _naive_activation(name, x):
    with np.errstate(all="ignore"):
        return {
            "identity": lambda: x.astype(np.float32).astype(x.dtype),  # precision lost through float32
            "sigmoid": lambda: np.exp(x) / (1 + np.exp(x)),  # inf/inf = nan for x > 709
            "tanh": lambda: (np.exp(2 * x) - 1) / (np.exp(2 * x) + 1),  # nan for large x, cancels near 0
            "relu": lambda: np.maximum(x, 0.01 * x),  # a leaky ReLU where ReLU was meant
        }[name]()


def _naive_derivative(name, x):
    with np.errstate(all="ignore"):
        s = 1 / (1 + np.exp(-x))
        return {
            "identity": lambda: np.sign(x),  # the derivative of |x|, not of x
            "sigmoid": lambda: s * (1 - s),  # cancels to 0 for x ≳ 37
            "tanh": lambda: 1 - np.tanh(x) ** 2,  # cancels to 0 for |x| ≳ 19
            "relu": lambda: (x >= 0).astype(x.dtype),  # ReLU'(0) = 1: not the documented choice
        }[name]()


@pytest.mark.parametrize("derivative", [False, True])
@pytest.mark.parametrize("name", act.ACTIVATIONS)
def test_wrong_activation_is_caught(name, derivative):
    wrong = _naive_derivative if derivative else _naive_activation

    @_FIND
    @given(activation_inputs(np.float64))
    def check(x):
        verify_activation(wrong, name, x, derivative=derivative)

    with pytest.raises(CheckFailure):
        check()


def _naive_softmax(which, z):
    with np.errstate(all="ignore"):
        e = np.exp(z)  # no max shift: overflows
        if which == "softmax":
            return e / e.sum(axis=1, keepdims=True)
        if which == "log_softmax":
            m = z.max(axis=1, keepdims=True)
            s = np.exp(z - m)
            return np.log(s / s.sum(axis=1, keepdims=True))  # −inf where σ underflows, log-softmax finite
        return np.log(e.sum(axis=1))


@pytest.mark.parametrize("which", ["softmax", "log_softmax", "logsumexp"])
def test_wrong_softmax_is_caught(which):
    @_FIND
    @given(logit_rows(np.float64))
    def check(z):
        verify_softmax(lambda v: _naive_softmax(which, v), which, z)

    with pytest.raises(CheckFailure):
        check()
