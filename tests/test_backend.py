"""One selection mechanism for every kernel: the ``backend=`` keyword and the process default."""

import numpy as np
import pytest

from verify.kernels import activations as act
from verify.kernels import losses as los
from verify.kernels._backend import dispatch, get_default_backend, resolve_backend, use_backend


def test_default_is_parallel_and_use_backend_switches_it():
    assert get_default_backend() == "parallel"
    with use_backend("numpy"):
        assert resolve_backend(None) == "numpy"
    assert resolve_backend(None) == "parallel"


def test_every_kernel_gives_the_same_answer_on_every_backend(backend):
    z = np.array([[0.5, -1.0, 2.0], [3.0, 3.0, -4.0]])
    t = np.array([2, 0])
    expected = los.softmax_cross_entropy(z, t, backend="numpy")
    value, grad = los.softmax_cross_entropy(z, t, backend=backend)
    assert value == pytest.approx(expected[0], rel=4e-16) and np.allclose(grad, expected[1], rtol=4e-16)
    with use_backend(backend):  # the default follows use_backend
        assert np.allclose(act.softmax(z), act.softmax(z, backend="numpy"), rtol=4e-16)


@pytest.mark.parametrize("bad", ["gpu", 3])
def test_unknown_backend_is_refused(bad):
    with pytest.raises((ValueError, TypeError), match="backend"):
        act.activation("tanh", np.zeros(2), backend=bad)


def test_a_backend_a_kernel_lacks_is_a_clear_error():
    with pytest.raises(NotImplementedError, match=r"my_kernel has no 'cuda' backend \(available: \('numpy',\)\)"):
        dispatch({"numpy": np.sum}, "cuda", "my_kernel")

