"""check_loss: the catalogue's own kernels pass; hand-written wrong losses are caught on drawn inputs."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from verify.checks import CheckFailure, LossReport, check_loss
from verify.checks.loss import edge_cases
from verify.kernels.losses import LOSSES
from verify.pytest_plugin import scaled


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
    report = check_loss(name, value_and_grad=functools.partial(LOSSES[name], backend="numpy"), max_examples=scaled(8))
    assert isinstance(report, LossReport)
    assert report.edge_cases == len(edge_cases(name)) and report.examples > report.edge_cases
    assert report.worst_value_ratio <= 1.0 and report.worst_grad_ratio <= 1.0


@pytest.mark.parametrize("reduction", ["sum", "none"])
def test_reductions(reduction):
    fn = functools.partial(LOSSES["softmax_cross_entropy"], backend="numpy", reduction=reduction)
    assert check_loss("softmax_cross_entropy", value_and_grad=fn, reduction=reduction, max_examples=scaled(5)).examples > 0
    with pytest.raises(CheckFailure, match="grad is wrong"):
        check_loss("softmax_cross_entropy", grad=lambda z, t: fn(z, t)[1] * 2.0, reduction=reduction,
                   max_examples=scaled(5))


def test_float32_kernel_at_float32_accuracy():
    fn = functools.partial(LOSSES["logistic_from_logit"], backend="numpy")
    report = check_loss("logistic_from_logit", value_and_grad=fn, dtype=np.float32, max_examples=scaled(10))
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


def test_a_tiny_loss_absorbed_by_the_log_of_a_shifted_sum_is_its_rounding_but_a_missing_log_is_caught():
    # log(1 + e^x) at x = −40 is 4.2e-18, but 1 + e^−40 rounds to 1: an absolute eps, the rounding of log-sum-exp
    # as PyTorch's binary_cross_entropy_with_logits and log_softmax form it (log, not log1p, of a sum ≥ 1)
    check_loss("logistic_from_logit", value=logistic_value_naive, inputs=(np.array([-40.0]), np.array([0])))
    no_log = lambda x, y: float(np.mean(np.maximum(np.where(y == 1, -x, x), 0.0)))  # the log1p term dropped
    with pytest.raises(CheckFailure, match="the value is wrong"):
        check_loss("logistic_from_logit", value=no_log, inputs=(np.array([-7.0]), np.array([0])))


def test_hinge_sign_error_is_caught_and_both_subgradients_at_the_margin_pass():
    with pytest.raises(CheckFailure, match="grad is wrong"):
        check_loss("hinge", grad=hinge_grad_sign)
    left = lambda s, y: np.where(y * s <= 1.0, -y, 0.0) / s.shape[0]  # −y at the margin
    right = lambda s, y: np.where(y * s < 1.0, -y, 0.0) / s.shape[0]  # 0 at the margin
    for grad in (left, right):
        assert check_loss("hinge", grad=grad, max_examples=scaled(20)).worst_grad_ratio <= 1.0


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


# --- issue 13: domains, NaN, masks, 1e8 logits, one rule for labels and one-hot, ulps/atol, diagnoses --------


def test_torch_binary_cross_entropy_with_logits_gradient_passes_at_logit_3():
    torch = pytest.importorskip("torch")

    def bce(x, y):  # PyTorch's σ(x) − y: σ(3) and 1 cancel to a few ULPs of the result (the terms' magnitude)
        xt = torch.tensor(x, requires_grad=True)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(xt, torch.tensor(y, dtype=xt.dtype))
        loss.backward()
        return float(loss.detach()), xt.grad.numpy()

    report = check_loss("logistic_from_logit", value_and_grad=bce, inputs=(np.array([3.0]), np.array([1])))
    assert report.worst_grad_ratio <= 1.0


def test_pytorch_cross_entropy_values_pass_where_log_of_the_shifted_sum_rounds():
    # log_softmax forms log(1 + e⁻⁷) with log, not log1p: an absolute eps on a 9.1e-4 value (550 ULPs of it),
    # the rounding of every framework's log-sum-exp; logsumexp(z) − z_t stays caught (the test below)
    torch = pytest.importorskip("torch")

    def ce(z, t):
        zt = torch.tensor(z, requires_grad=True)
        loss = torch.nn.functional.cross_entropy(zt, torch.tensor(t))
        loss.backward()
        return loss.item(), zt.grad.numpy()

    def bce(x, y):
        xt = torch.tensor(x, requires_grad=True)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(xt, torch.tensor(y, dtype=xt.dtype))
        loss.backward()
        return loss.item(), xt.grad.numpy()

    check_loss("softmax_cross_entropy", value_and_grad=ce, inputs=(np.array([[0.0, -7.0], [0.0, -7.0]]), np.array([0, 0])))
    check_loss("logistic_from_logit", value_and_grad=bce, inputs=(np.array([2.0, -7.0, -7.0]), np.array([1, 0, 0])))


def test_a_value_that_cancels_beyond_its_magnitudes_is_judged_by_its_measured_rounding():
    expanded = lambda f, c: float(np.mean(np.sum(0.5 * (f * f - 2 * f * c + c * c), axis=1)))  # ½(F² − 2Fc + c²)
    inputs = (np.array([[1000.1, 2.0], [1.7, 0.2]]), np.array([[1000.0, 2.5], [1.5, 0.1]]))
    report = check_loss("least_squares", value=expanded, inputs=inputs)  # F² ≈ 1e6 cancels to 0.005
    assert report.worst_value_ratio <= 1.0 and report.noise_measured >= 1
    with pytest.raises(CheckFailure, match="the value is wrong"):  # the ½ forgotten: not rounding
        check_loss("least_squares", value=lambda f, c: 2 * expanded(f, c), inputs=inputs)


_SATURATED = (np.array([[0.0, 40.0, 40.0, 40.0], [20.0, 0.0, 40.0, 40.0], [40.0, 40.0, 40.0, 40.0]]),
              np.array([0, 0, 0]))  # σ of the logits at 0 and 20 is e^-40 and e^-20: tiny, formed in log space


def test_torch_cross_entropy_gradient_passes_where_its_log_softmax_rounds():
    torch = pytest.importorskip("torch")

    def ce(z, t):  # exp(log_softmax): the exponent −40.69 carries eps·40 of rounding, 25 ULPs of σ = 7.1e-19
        zt = torch.tensor(z, requires_grad=True)
        loss = torch.nn.functional.cross_entropy(zt, torch.tensor(t))
        (g,) = torch.autograd.grad(loss, zt)
        return loss.item(), g.numpy()

    report = check_loss("softmax_cross_entropy", value_and_grad=ce, inputs=_SATURATED)
    assert report.worst_grad_ratio <= 1.0


def test_a_softmax_rounded_to_float32_is_still_caught_where_log_space_rounding_is_allowed():
    def ce_grad(z, t):  # σ − onehot with σ through float32: 1e-8 relative, far beyond eps·|log σ|
        e = np.exp(z - z.max(axis=1, keepdims=True))
        p = (e / e.sum(axis=1, keepdims=True)).astype(np.float32).astype(np.float64)
        p[np.arange(len(t)), t] -= 1.0
        return p / len(t)

    with pytest.raises(CheckFailure, match="the grad is wrong"):
        check_loss("softmax_cross_entropy", grad=ce_grad, inputs=_SATURATED)


def test_the_textbook_sigmoid_minus_label_passes_at_saturation_as_softmax_minus_onehot_does():
    # σ(40) − 1 = 0 where the truth is −4.2e-18: the terms σ and y cancel, as softmax − onehot does at the
    # logits (0, 40) — the same loss, judged by one rule (PyTorch's binary_cross_entropy_with_logits backward)
    grad = lambda x, y: (1.0 / (1.0 + np.exp(-x)) - y) / x.shape[0]
    check_loss("logistic_from_logit", grad=grad, inputs=(np.array([40.0, 3.0]), np.array([1, 1])))
    softmax_grad = lambda z, t: (np.exp(z) / np.exp(z).sum(axis=1, keepdims=True) - np.eye(2)[t]) / z.shape[0]
    check_loss("softmax_cross_entropy", grad=softmax_grad, inputs=(np.array([[0.0, 40.0], [0.0, 3.0]]), np.array([1, 1])))


def test_an_underflow_to_0_where_nothing_cancels_is_still_caught():
    grad = lambda x, y: (1.0 - 1.0 / (1.0 + np.exp(x)) - y) / x.shape[0]  # σ(−40) as 1 − σ(40) = 0, truth 4.2e-18
    with pytest.raises(CheckFailure, match="the grad is wrong"):
        check_loss("logistic_from_logit", grad=grad, inputs=(np.array([-40.0, 3.0]), np.array([0, 1])))


def test_a_sigmoid_rounded_to_float32_is_still_caught_where_the_terms_cancel():
    grad = lambda x, y: ((1.0 / (1.0 + np.exp(-x))).astype(np.float32).astype(np.float64) - y) / x.shape[0]
    with pytest.raises(CheckFailure, match="the grad is wrong"):
        check_loss("logistic_from_logit", grad=grad, inputs=(np.array([40.0, 3.0]), np.array([1, 1])))


def test_kl_as_plogp_minus_plogq_in_float32_passes_and_a_dropped_term_fails():
    # PyTorch's kl_div form: Σ p log p − Σ p log q cancels where q ≈ p (the terms are 0.35, the value 7.7e-6)
    p = np.full((3, 4), 0.25, dtype=np.float32)
    q = np.array([[0.24705882, 0.2509804, 0.2509804, 0.2509804]] + [[0.25] * 4] * 2, dtype=np.float32)
    q /= q.sum(axis=1, keepdims=True, dtype=np.float32)
    kl = lambda p, q: float(np.mean(np.sum(p * np.log(p) - p * np.log(q), axis=1, dtype=np.float32)))
    check_loss("kl_divergence", value=kl, dtype=np.float32, inputs=(p, q))
    dropped = lambda p, q: float(np.mean(np.sum(-p * np.log(q), axis=1, dtype=np.float32)))  # cross-entropy
    with pytest.raises(CheckFailure, match="the value is wrong"):
        check_loss("kl_divergence", value=dropped, dtype=np.float32, inputs=(p, q))


def test_a_point_outside_the_domain_is_a_value_error_naming_the_argument_before_any_call():
    calls = []

    def kl(p, q):
        calls.append(1)
        return 0.0

    with pytest.raises(ValueError, match=r"q rows must sum to 1.*row \[0\] sums to 0\.6"):
        check_loss("kl_divergence", value=kl, inputs=(np.array([[0.5, 0.5]]), np.array([[0.3, 0.3]])))
    with pytest.raises(ValueError, match=r"prediction has a NaN at index \(0, 1\)"):
        check_loss("softmax_cross_entropy", value=kl, inputs=(np.array([[0.0, np.nan]]), np.array([0])))
    with pytest.raises(ValueError, match=r"target must lie in \[0, 2\)"):
        check_loss("softmax_cross_entropy", value=kl, inputs=(np.array([[0.0, 1.0]]), np.array([2])))
    with pytest.raises(ValueError, match="−∞ marks a masked logit only for softmax_cross_entropy"):
        check_loss("hinge", value=kl, inputs=(np.array([-np.inf, 1.0]), np.array([1, -1])))
    assert not calls


def _sce_masked(z, t):
    """Mean softmax cross-entropy with integer labels that accepts masked (−∞) logits."""
    m = z.max(axis=1, keepdims=True)
    e = np.exp(z - m)
    s = e.sum(axis=1, keepdims=True)
    rows = np.arange(z.shape[0])
    value = float(np.mean(np.log(s[:, 0]) - (z[rows, t] - m[:, 0])))
    grad = e / s
    grad[rows, t] -= 1.0
    return value, grad / z.shape[0]


def test_masked_logits_are_judged_and_a_refusal_is_reported():
    z = np.array([[-np.inf, 0.5, 1.0], [2.0, -np.inf, -np.inf]])
    t = np.array([2, 0])
    assert check_loss("softmax_cross_entropy", value_and_grad=_sce_masked, inputs=(z, t)).worst_grad_ratio <= 1.0
    leaky = lambda z, t: (_sce_masked(z, t)[0], np.where(np.isinf(z), 1e-3, _sce_masked(z, t)[1]))
    with pytest.raises(CheckFailure, match="the grad is wrong at 3 of 6"):  # the three masked entries
        check_loss("softmax_cross_entropy", value_and_grad=leaky, inputs=(z, t))
    with pytest.raises(ValueError, match="target puts mass on a masked"):
        check_loss("softmax_cross_entropy", value_and_grad=_sce_masked, inputs=(z, np.array([0, 0])))
    kernel = functools.partial(LOSSES["softmax_cross_entropy"], backend="numpy")
    report = check_loss("softmax_cross_entropy", value_and_grad=kernel, max_examples=3)
    assert report.refused and "prediction must be finite" in report.refused[0] and "REFUSED" in str(report)


def _lse_minus_zt(z, t):  # logsumexp(z) − z_t: loses everything at logits of 1e8 in float32
    m = z.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
    return float(np.mean(lse - z[np.arange(z.shape[0]), t]))


def test_logsumexp_minus_logit_is_caught_by_the_default_float32_cases():
    with pytest.raises(CheckFailure, match="the value is wrong") as info:
        check_loss("softmax_cross_entropy", value=_lse_minus_zt, dtype=np.float32, targets="labels", max_examples=5)
    assert np.abs(info.value.details["args"][0]).max() >= 1e7
    kernel = functools.partial(LOSSES["softmax_cross_entropy"], backend="numpy")
    assert check_loss("softmax_cross_entropy", value_and_grad=kernel, dtype=np.float32, max_examples=scaled(5)).examples


def test_integer_labels_and_one_hot_targets_are_judged_by_one_rule():
    z = np.array([[12.0, 0.0, -1.0], [0.5, 0.25, -3.0]])
    t = np.array([0, 2])
    onehot = np.eye(3)[t]
    kernel = functools.partial(LOSSES["softmax_cross_entropy"], backend="numpy")
    by_label = check_loss("softmax_cross_entropy", value_and_grad=kernel, inputs=(z, t))
    by_row = check_loss("softmax_cross_entropy", value_and_grad=lambda z, c: kernel(z, c.argmax(axis=1)),
                        inputs=(z, onehot))
    assert by_label.worst_grad_ratio == by_row.worst_grad_ratio
    assert by_label.worst_value_ratio == by_row.worst_value_ratio


def test_ulps_and_atol_are_options_and_take_numpy_scalars():
    kernel = functools.partial(LOSSES["least_squares"], backend="numpy")
    report = check_loss("least_squares", value_and_grad=kernel, ulps=np.float32(4), atol=np.float64(0.0),
                        max_examples=np.int64(3))
    assert report.ulps == 4.0 and "ulps 4" in str(report)
    off = lambda f, c: kernel(f, c)[1] + 1e-12
    with pytest.raises(CheckFailure):
        check_loss("least_squares", grad=off, inputs=(np.ones((2, 2)), np.zeros((2, 2))))
    assert check_loss("least_squares", grad=off, inputs=(np.ones((2, 2)), np.zeros((2, 2))), atol=1e-11).examples
    with pytest.raises(ValueError, match="ulps must be a finite number >= 0"):
        check_loss("least_squares", grad=off, ulps=-1)


@pytest.mark.parametrize(("name", "wrong", "named"), [
    ("softmax_cross_entropy", lambda z, t: LOSSES["softmax_cross_entropy"](z, t, backend="numpy")[1] * z.shape[0],
     "the sum over rows where the mean is asked"),
    ("softmax_cross_entropy", lambda z, t: -LOSSES["softmax_cross_entropy"](z, t, backend="numpy")[1],
     "a flipped sign"),
    ("least_squares", lambda f, c: 2.0 * (f - c) / f.shape[0], "the ½ of a square forgotten"),
    ("kl_divergence", lambda p, q: np.where(p > 0, np.log(p / q) + 1.0, -np.inf) / p.shape[0],
     "the gradient with respect to p instead of q"),
])
def test_common_mistakes_are_named(name, wrong, named):
    points = {"softmax_cross_entropy": (np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]]), np.array([1, 2])),
              "least_squares": (np.array([[1.0, 2.0], [0.5, -1.0]]), np.array([[0.0, 1.0], [1.0, 1.0]])),
              "kl_divergence": (np.array([[0.2, 0.8], [0.5, 0.5]]), np.array([[0.6, 0.4], [0.3, 0.7]]))}
    with pytest.raises(CheckFailure, match="Diagnosis: the implementation computes") as info:
        check_loss(name, grad=wrong, inputs=points[name])
    assert named in str(info.value) and named in " ".join(info.value.details["diagnosis"])


def test_swapped_arguments_are_named_for_the_value():
    kl_swapped = lambda p, q: float(np.mean(np.sum(q * np.log(q / p), axis=1)))
    with pytest.raises(CheckFailure, match="the arguments swapped"):
        check_loss("kl_divergence", value=kl_swapped,
                   inputs=(np.array([[0.2, 0.8], [0.5, 0.5]]), np.array([[0.6, 0.4], [0.3, 0.7]])))


def test_a_nan_gradient_at_a_smooth_entry_is_wrong():
    kernel = functools.partial(LOSSES["softmax_cross_entropy"], backend="numpy")
    nan_grad = lambda z, t: np.where(np.arange(z.size).reshape(z.shape) == 0, np.nan, kernel(z, t)[1])
    with pytest.raises(CheckFailure, match="the grad is wrong at 1 of"):
        check_loss("softmax_cross_entropy", grad=nan_grad, inputs=(np.array([[1.0, 2.0]]), np.array([0])))
