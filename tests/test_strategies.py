"""The strategies draw what they promise: valid inputs, and the extremes are actually reached."""

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis.extra import numpy as hnp

import verify.strategies as vs
from verify._validate import require_simplex_rows
from verify.kernels.losses import LOSSES

DTYPES = [np.float64, np.float32]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("zeros", [False, True])
def test_simplex_rows_are_distributions(dtype, zeros):
    @given(vs.batch_shapes().flatmap(lambda s: vs.simplex_rows(*s, dtype, zeros=zeros)))
    def check(p):
        assert p.dtype == dtype
        require_simplex_rows(p, "p")  # never renormalised: must already sum to 1 within K·eps
        if not zeros:
            assert (p > 0).all()

    check()


@pytest.mark.parametrize("dtype", DTYPES)
def test_extremes_are_reached(dtype):
    limit = vs.LOGIT_LIMITS[np.dtype(dtype)]
    rows = hnp.arrays(dtype, (3,), elements=vs.logits(dtype))
    assert np.abs(find(rows, lambda z: np.abs(z).max() > limit / 10)).max() > limit / 10
    assert find(vs.simplex_rows(1, 3, dtype), lambda p: 0 < p.min() < 1e-30).min() < 1e-30
    assert find(vs.simplex_rows(1, 3, dtype), lambda p: (p == 0).any()).min() == 0
    tiny = float(np.finfo(dtype).smallest_subnormal)
    assert find(vs.probabilities(2, dtype), lambda q: (q == tiny).any()).min() == tiny


def test_labels():
    @given(vs.class_labels(5, 3), vs.sign_labels(5), vs.binary_labels(5), vs.one_hot_rows(5, 3))
    def check(t, s, b, h):
        assert t.dtype == np.int64 and set(t) <= {0, 1, 2}
        assert set(s) <= {-1, 1} and set(b) <= {0, 1}
        assert (h.sum(axis=1) == 1).all() and set(h.ravel()) <= {0.0, 1.0}

    check()


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_arguments_are_accepted_by_the_kernel(name):
    @settings(max_examples=25)
    @given(vs.loss_arguments(name, np.float32))
    def check(args):
        with np.errstate(all="ignore"):
            value, grad = LOSSES[name](*args, backend="numpy")
        assert grad.dtype == np.float32

    check()


def test_bad_dtype_is_refused():
    with pytest.raises(ValueError, match="float16"):
        vs.logits(np.float16)
