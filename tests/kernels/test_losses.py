"""Every loss (value and gradient, every reduction) against its SymPy/mpmath reference on every CPU
backend and both float dtypes; a deliberately wrong version of each loss is caught by the same check."""

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from verify.checks.failure import CheckFailure
from verify.checks.selfcheck import verify_loss
from verify.kernels import losses as los
from verify.strategies import loss_arguments

DTYPES = [np.float64, np.float32]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(los.LOSSES))
def test_loss_matches_reference(name, dtype, backend):
    fn = los.LOSSES[name]

    @given(loss_arguments(name, dtype), st.sampled_from(los.REDUCTIONS))
    def check(args, reduction):
        verify_loss(lambda *a, **kw: fn(*a, backend=backend, **kw), name, args, reduction=reduction)

    check()


def test_documented_conventions(backend):
    # hinge kink: gradient 0 at y·ỹ = 1; multi-class ties go to the lowest wrong index
    _, g = los.hinge(np.array([1.0, -1.0]), np.array([1, -1]), reduction="sum", backend=backend)
    assert g.tolist() == [0.0, 0.0]
    _, g = los.multiclass_hinge(np.array([[0.5, 1.0, 1.0]]), np.array([0]), reduction="sum", backend=backend)
    assert g.tolist() == [[-1.0, 1.0, 0.0]]
    # labels={0,1} (the seed's) and {−1,+1} give the same loss
    x = np.array([0.3, -2.0])
    a = los.logistic_from_logit(x, np.array([1, 0]), backend=backend)
    b = los.logistic_from_logit(x, np.array([1, -1]), labels="plus_minus_one", backend=backend)
    assert a[0] == b[0] and np.array_equal(a[1], b[1])
    # 0·log 0 = 0; D = +∞ where q_k = 0 < p_k
    p = np.array([[0.5, 0.5, 0.0]])
    assert los.entropy(p, backend=backend)[0] == pytest.approx(np.log(2), rel=1e-15)
    assert los.kl_divergence(p, np.array([[1.0, 0.0, 0.0]]), backend=backend)[0] == np.inf
    # reductions: "mean" is over rows
    z = np.array([[1.0, 2.0], [3.0, -1.0]])
    rows, g_rows = los.softmax_cross_entropy(z, np.array([0, 1]), reduction="none", backend=backend)
    mean, g_mean = los.softmax_cross_entropy(z, np.array([0, 1]), reduction="mean", backend=backend)
    assert rows.shape == (2,) and isinstance(mean, float)
    assert mean == pytest.approx(rows.mean(), rel=1e-15)
    assert np.allclose(g_mean, g_rows / 2, rtol=1e-15)


# --------------------------------------------------------------------------- wrong losses are caught
# Plausible bugs, one per loss; searched without shrinking (finding one failure is what is asserted).


def _wrong(name):
    def least_squares(f, c, reduction="mean"):
        d = f - c
        return _reduce((d * d).sum(axis=1), d, reduction)  # forgot the ½ of ½‖F − c‖²

    def hinge(x, y, reduction="mean"):
        m = 1 - y * x
        return _reduce(np.maximum(m, 0), np.where(m > 0, -x, 0.0), reduction)  # −ỹ where −y was meant

    def multiclass_hinge(y, t, reduction="mean"):
        rows = np.arange(len(t))
        j = np.argmax(y, axis=1)  # the true class is not excluded
        m = 1 - (y[rows, t] - y[rows, j])
        g = np.zeros_like(y)
        on = (m > 0).astype(y.dtype)
        g[rows, t] -= on
        g[rows, j] += on
        return _reduce(np.maximum(m, 0), g, reduction)

    def logistic_from_probability(p, y, reduction="mean"):
        pos = y == 1
        v = np.where(pos, -np.log(p), -np.log(1 - p))  # log(1 − ŷ) instead of log1p(−ŷ): 0 for tiny ŷ
        return _reduce(v, np.where(pos, -1 / p, 1 / (1 - p)), reduction)

    def logistic_from_logit(x, y, reduction="mean"):
        s = 2 * y - 1
        e = np.exp(-s * x)  # overflows for −s·x > 709
        return _reduce(np.log(1 + e), -s * e / (1 + e), reduction)

    def categorical_cross_entropy(q, c, reduction="mean"):
        c = np.eye(q.shape[1], dtype=q.dtype)[c] if c.dtype.kind in "iu" else c
        eps = 1e-12  # "numerical safety" that changes the loss
        return _reduce(-(c * np.log(q + eps)).sum(axis=1), -c / (q + eps), reduction)

    def softmax_cross_entropy(z, c, reduction="mean"):
        c = np.eye(z.shape[1], dtype=z.dtype)[c] if c.dtype.kind in "iu" else c
        s = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)  # unshifted softmax, then log
        return _reduce(-(c * np.log(s)).sum(axis=1), s * c.sum(axis=1, keepdims=True) - c, reduction)

    def entropy(p, reduction="mean"):
        return _reduce(-(p * np.log(p)).sum(axis=1), -(np.log(p) + 1), reduction)  # 0·log 0 = nan

    def cross_entropy(p, q, reduction="mean"):
        return _reduce(-(q * np.log(p)).sum(axis=1), -np.log(p), reduction)  # H(q, p): arguments swapped

    def kl_divergence(p, q, reduction="mean"):
        terms = np.where(p > 0, p * np.log(np.where(p > 0, p, 1) / q), 0)
        return _reduce(terms.sum(axis=1), p / q, reduction)  # gradient sign flipped

    return locals()[name]


def _reduce(values, grad, reduction):
    if reduction == "none":
        return values.astype(grad.dtype), grad
    n = values.shape[0]
    total = float(np.sum(values, dtype=np.float64))
    return (total / n, grad / n) if reduction == "mean" else (total, grad)


@pytest.mark.parametrize("name", sorted(los.LOSSES))
def test_wrong_loss_is_caught(name):
    wrong = _wrong(name)

    @settings(max_examples=300, phases=(Phase.explicit, Phase.generate), database=None)
    @given(loss_arguments(name, np.float64), st.sampled_from(los.REDUCTIONS))
    def check(args, reduction):
        with np.errstate(all="ignore"):
            verify_loss(wrong, name, args, reduction=reduction)

    with pytest.raises(CheckFailure):
        check()
