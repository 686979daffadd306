"""check_loss: the catalogue's own kernels pass; hand-written wrong losses are caught on drawn inputs."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from verify.checks import CheckFailure, LossReport, check_loss
from verify.checks.loss import edge_cases
from verify.kernels.losses import LOSSES


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _onehot(t, k):
    return np.eye(k)[t]


def sce_value_naive(z, t):
    """−log softmax computed as written on the slide: exp overflows for logits near 1000."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        return float(np.mean(-np.log(p[np.arange(z.shape[0]), t])))


def sce_grad_sum(z, t):
    return _softmax(z) - _onehot(t, z.shape[1])  # the gradient of the sum, not of the mean


def logistic_value_naive(x, y):
    with np.errstate(over="ignore"):
        return float(np.mean(y * np.log1p(np.exp(-x)) + (1 - y) * np.log(1 + np.exp(x))))  # log(1+e^x) loses e^x


def hinge_grad_sign(s, y):
    return np.where(y * s < 1.0, y, 0.0) / s.shape[0]  # sign error: should be −y


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_the_catalogue_kernels_pass(name):
    report = check_loss(name, value_and_grad=functools.partial(LOSSES[name], backend="numpy"), max_examples=8)
    assert isinstance(report, LossReport)
    assert report.edge_cases == len(edge_cases(name)) and report.examples > report.edge_cases
    assert report.worst_value_ratio <= 1.0 and report.worst_grad_ratio <= 1.0


@pytest.mark.parametrize("reduction", ["sum", "none"])
def test_reductions(reduction):
    fn = functools.partial(LOSSES["softmax_cross_entropy"], backend="numpy", reduction=reduction)
    assert check_loss("softmax_cross_entropy", value_and_grad=fn, reduction=reduction, max_examples=5).examples > 0
    with pytest.raises(CheckFailure, match="grad is wrong"):
        check_loss("softmax_cross_entropy", grad=lambda z, t: fn(z, t)[1] * 2.0, reduction=reduction,
                   max_examples=5)


def test_float32_kernel_at_float32_accuracy():
    fn = functools.partial(LOSSES["logistic_from_logit"], backend="numpy")
    report = check_loss("logistic_from_logit", value_and_grad=fn, dtype=np.float32, max_examples=10)
    assert report.dtype == "float32"


def test_overflowing_softmax_cross_entropy_is_caught_at_extreme_logits():
    with pytest.raises(CheckFailure) as info:
        check_loss("softmax_cross_entropy", value=sce_value_naive)
    message = str(info.value)
    assert "the value is wrong" in message and "nan" in message and "1000." in message
    assert "reference: −cᵀ log σ(z)" in message


def test_mean_vs_sum_gradient_is_caught():
    with pytest.raises(CheckFailure, match=r"grad is wrong at \d+ of 12 entries"):
        check_loss("softmax_cross_entropy", grad=sce_grad_sum)


def test_absorbed_tiny_loss_is_caught_in_relative_terms():
    # log(1 + e^x) at x = −40 is 4.2e-18, but 1 + e^−40 rounds to 1: the value loses everything.
    with pytest.raises(CheckFailure, match="the value is wrong"):
        check_loss("logistic_from_logit", value=logistic_value_naive, inputs=(np.array([-40.0]), np.array([0])))


def test_hinge_sign_error_is_caught_and_both_subgradients_at_the_margin_pass():
    with pytest.raises(CheckFailure, match="grad is wrong"):
        check_loss("hinge", grad=hinge_grad_sign)
    left = lambda s, y: np.where(y * s <= 1.0, -y, 0.0) / s.shape[0]  # −y at the margin
    right = lambda s, y: np.where(y * s < 1.0, -y, 0.0) / s.shape[0]  # 0 at the margin
    for grad in (left, right):
        assert check_loss("hinge", grad=grad, max_examples=20).worst_grad_ratio <= 1.0


def test_kl_with_the_arguments_swapped_is_caught():
    def kl_swapped(p, q):
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.mean(np.sum(np.where(q == 0, 0.0, q * np.log(q / p)), axis=1)))
    with pytest.raises(CheckFailure, match="kl_divergence"):
        check_loss("kl_divergence", value=kl_swapped)


def test_bad_arguments():
    with pytest.raises(ValueError, match="name must be a loss of the catalogue"):
        check_loss("softmax", value=lambda z: 0.0)
    with pytest.raises(TypeError, match="nothing to check"):
        check_loss("hinge")
    with pytest.raises(TypeError, match="not both"):
        check_loss("hinge", value=lambda s, y: 0.0, value_and_grad=lambda s, y: (0.0, s))
    with pytest.raises(ValueError, match="reduction must be one of"):
        check_loss("hinge", value=lambda s, y: 0.0, reduction="avg")
    with pytest.raises(ValueError, match=r"value of hinge \(reduction='mean'\) must be a scalar; got shape \(6,\)"):
        check_loss("hinge", value=lambda s, y: np.maximum(0, 1 - y * s))
