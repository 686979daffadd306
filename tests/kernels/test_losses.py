"""Every loss of the catalogue (one per record of ``verify.kernels.losses.RECORDS``; nothing here names a loss
to parametrise over) — value and gradient, every reduction, every option — against its SymPy/mpmath reference
on every backend and both float dtypes; wrong implementations are caught by the same check."""

import functools
import math

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from verify.checks.failure import CheckFailure
from verify.checks.selfcheck import verify_loss
from verify.kernels import losses as los
from verify.strategies import loss_calls

DTYPES = [np.float64, np.float32]
NAMES = sorted(los.RECORDS)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_loss_matches_reference(name, dtype, backend):
    fn = functools.partial(los.LOSSES[name], backend=backend)

    @given(loss_calls(name, dtype), st.sampled_from(los.REDUCTIONS))
    def check(call, reduction):
        args, options = call
        verify_loss(fn, name, args, reduction=reduction, options=options)

    check()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_edge_cases_of_the_record_match_reference(name, dtype, backend):
    fn = functools.partial(los.LOSSES[name], backend=backend)
    for args in los.RECORDS[name].edge_cases(np.dtype(dtype)):
        for reduction in los.REDUCTIONS:
            verify_loss(fn, name, args, reduction=reduction)


@pytest.mark.parametrize("name", NAMES)
def test_largest_floats_give_the_references_value_never_nan(name, backend):
    """At ±1e308 a row's true loss may exceed the largest float (then it is +∞, the correctly rounded value);
    every backend returns what the reference returns, and a mean of finite rows is finite."""
    record = los.RECORDS[name]
    big = 1e308
    for args in record.edge_cases(np.dtype(np.float64)):
        huge = tuple(np.where(a == 0, 0.0, np.sign(a) * big) if a.dtype.kind == "f" and kind in ("reals", "logits")
                     else a for a, kind in zip(args, (arg.kinds[0] for arg in record.arguments), strict=True))
        for reduction in ("none", "mean"):
            verify_loss(functools.partial(los.LOSSES[name], backend=backend), name, huge, reduction=reduction)


def test_mean_of_finite_rows_is_finite(backend):
    # Σ ℓ_i overflows (2 × 1.7e308) although each row is finite: the mean must not be inf.
    value, grad = los.logistic_from_logit(np.array([1.7e308, -1.7e308]), np.array([0, 1]), backend=backend)
    assert value == 1.7e308 and np.all(np.isfinite(grad))
    value, _ = los.hinge(np.array([-1e308, -1e308]), np.array([1, 1]), backend=backend)
    assert value == 1e308 + 1.0
    total, _ = los.hinge(np.array([-1e308, -1e308]), np.array([1, 1]), reduction="sum", backend=backend)
    assert total == math.inf  # the sum itself is beyond the largest float


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


def test_option_edges_meet_the_other_losses(backend):
    rng = np.random.default_rng(0)
    z, labels = rng.normal(size=(5, 4)) * 3, rng.integers(0, 4, 5)
    # ε = 0 is the softmax cross-entropy; ε = 1 is the cross-entropy against the uniform distribution
    np.testing.assert_allclose(los.label_smoothed_cross_entropy(z, labels, label_smoothing=0.0, backend=backend)[1],
                               los.softmax_cross_entropy(z, labels, backend=backend)[1], rtol=4e-16, atol=1e-17)
    uniform = np.full((5, 4), 0.25)
    np.testing.assert_allclose(los.label_smoothed_cross_entropy(z, labels, label_smoothing=1.0, backend=backend)[0],
                               los.softmax_cross_entropy(z, uniform, backend=backend)[0], rtol=1e-15)
    # δ above every |F − c|: the Huber loss is least squares, operation for operation
    f, c = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    assert los.huber(f, c, delta=100.0, backend=backend)[0] == los.least_squares(f, c, backend=backend)[0]


def test_huber_and_label_smoothing_follow_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    f, c = rng.normal(size=(6, 3)) * 2, rng.normal(size=(6, 3))
    for delta in (0.5, 1.0, 2.5):
        ours, grad = los.huber(f, c, delta=delta, reduction="sum", backend="cpu")
        ft = torch.from_numpy(f).requires_grad_(True)
        theirs = torch.nn.HuberLoss(reduction="sum", delta=delta)(ft, torch.from_numpy(c))
        theirs.backward()
        assert ours == pytest.approx(theirs.item(), rel=1e-14)
        np.testing.assert_allclose(grad, ft.grad.numpy(), rtol=1e-14)
        smooth_l1 = torch.nn.SmoothL1Loss(reduction="sum", beta=delta)(torch.from_numpy(f), torch.from_numpy(c))
        assert ours / delta == pytest.approx(smooth_l1.item(), rel=1e-14)  # the stated relation
    z, labels = rng.normal(size=(6, 5)) * 4, rng.integers(0, 5, 6)
    for epsilon in (0.0, 0.1, 0.7):
        ours, grad = los.label_smoothed_cross_entropy(z, labels, label_smoothing=epsilon, backend="cpu")
        zt = torch.from_numpy(z).requires_grad_(True)
        theirs = torch.nn.functional.cross_entropy(zt, torch.from_numpy(labels), label_smoothing=epsilon)
        theirs.backward()
        assert ours == pytest.approx(theirs.item(), rel=1e-14)
        np.testing.assert_allclose(grad, zt.grad.numpy(), rtol=1e-12, atol=1e-17)


# --------------------------------------------------------------------------- wrong losses are caught
# Searched without shrinking (finding one failure is what is asserted). Every record gets generic wrong
# versions of its own NumPy form; plausible bugs of particular losses follow.

_FIND = settings(max_examples=300, phases=(Phase.explicit, Phase.generate), database=None)


def _correct(name):
    return functools.partial(los.LOSSES[name], backend="numpy")


def _mutants(name):
    right = _correct(name)

    def sum_gradient_for_the_mean(*args, reduction="mean", **options):  # the 1/N of the mean forgotten
        value, grad = right(*args, reduction=reduction, **options)
        return value, grad * (args[0].shape[0] if reduction == "mean" else 1)

    def value_off_by_a_millionth(*args, **kwargs):
        value, grad = right(*args, **kwargs)
        return value * (1 + 1e-6) + 1e-300, grad

    def gradient_of_another_row(*args, **kwargs):  # rows of the gradient shifted by one
        value, grad = right(*args, **kwargs)
        return value, np.roll(grad, 1, axis=0) if grad.shape[0] > 1 else 2 * grad + 1e-300

    return {"sum_gradient_for_the_mean": sum_gradient_for_the_mean, "value_off_by_a_millionth":
            value_off_by_a_millionth, "gradient_of_another_row": gradient_of_another_row}


def _assert_caught(wrong, name):
    """The check of the loss tests, run on drawn calls of ``wrong``, must fail."""

    @_FIND
    @given(loss_calls(name, np.float64), st.sampled_from(los.REDUCTIONS))
    def check(call, reduction):
        args, options = call
        with np.errstate(all="ignore"):
            verify_loss(wrong, name, args, reduction=reduction, options=options)

    with pytest.raises(CheckFailure):
        check()


@pytest.mark.parametrize("mutant", ["sum_gradient_for_the_mean", "value_off_by_a_millionth", "gradient_of_another_row"])
@pytest.mark.parametrize("name", NAMES)
def test_generic_wrong_versions_of_every_loss_are_caught(name, mutant):
    _assert_caught(_mutants(name)[mutant], name)


def _reduce(values, grad, reduction):
    if reduction == "none":
        return values.astype(grad.dtype), grad
    n = values.shape[0]
    total = float(np.sum(values, dtype=np.float64))
    return (total / n, grad / n) if reduction == "mean" else (total, grad)


def _least_squares(f, c, reduction="mean"):
    d = f - c
    return _reduce((d * d).sum(axis=1), d, reduction)  # forgot the ½ of ½‖F − c‖²


def _huber(f, c, reduction="mean", delta=1.0):
    d = f - c
    inside = np.abs(d) <= delta
    values = np.where(inside, 0.5 * d * d, delta * (np.abs(d) - 0.5 * delta)).sum(axis=1)
    return _reduce(values, np.where(inside, d, np.sign(d)), reduction)  # SmoothL1's slope ±1 instead of ±δ


def _hinge(x, y, reduction="mean"):
    m = 1 - y * x
    return _reduce(np.maximum(m, 0), np.where(m > 0, -x, 0.0), reduction)  # −ỹ where −y was meant


def _multiclass_hinge(y, t, reduction="mean"):
    rows = np.arange(len(t))
    j = np.argmax(y, axis=1)  # the true class is not excluded
    m = 1 - (y[rows, t] - y[rows, j])
    g = np.zeros_like(y)
    on = (m > 0).astype(y.dtype)
    g[rows, t] -= on
    g[rows, j] += on
    return _reduce(np.maximum(m, 0), g, reduction)


def _logistic_from_probability(p, y, reduction="mean", labels="zero_one"):
    pos = y == 1
    v = np.where(pos, -np.log(p), -np.log(1 - p))  # log(1 − ŷ) instead of log1p(−ŷ): 0 for tiny ŷ
    return _reduce(v, np.where(pos, -1 / p, 1 / (1 - p)), reduction)


def _logistic_from_logit(x, y, reduction="mean", labels="zero_one"):
    s = 2 * y - 1 if labels == "zero_one" else y
    e = np.exp(-s * x)  # overflows for −s·x > 709
    return _reduce(np.log(1 + e), -s * e / (1 + e), reduction)


def _categorical_cross_entropy(q, c, reduction="mean"):
    c = np.eye(q.shape[1], dtype=q.dtype)[c] if c.dtype.kind in "iu" else c
    eps = 1e-12  # "numerical safety" that changes the loss
    return _reduce(-(c * np.log(q + eps)).sum(axis=1), -c / (q + eps), reduction)


def _softmax_cross_entropy(z, c, reduction="mean"):
    c = np.eye(z.shape[1], dtype=z.dtype)[c] if c.dtype.kind in "iu" else c
    s = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)  # unshifted softmax, then log
    return _reduce(-(c * np.log(s)).sum(axis=1), s * c.sum(axis=1, keepdims=True) - c, reduction)


def _label_smoothed_cross_entropy(z, c, reduction="mean", label_smoothing=0.1):
    k = z.shape[1]
    c = np.eye(k, dtype=z.dtype)[c] if c.dtype.kind in "iu" else c
    # TensorFlow-style (1 − ε) on the class and ε/(K − 1) on the others, where PyTorch's target is (1 − ε)c + ε/K
    smoothed = c * (1 - label_smoothing) + (1 - c) * label_smoothing / max(k - 1, 1)
    shifted = z - z.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    grad = np.exp(log_softmax) * smoothed.sum(axis=1, keepdims=True) - smoothed
    return _reduce(-(smoothed * log_softmax).sum(axis=1), grad, reduction)


def _entropy(p, reduction="mean"):
    return _reduce(-(p * np.log(p)).sum(axis=1), -(np.log(p) + 1), reduction)  # 0·log 0 = nan


def _cross_entropy(p, q, reduction="mean"):
    return _reduce(-(q * np.log(p)).sum(axis=1), -np.log(p), reduction)  # H(q, p): arguments swapped


def _kl_divergence(p, q, reduction="mean"):
    terms = np.where(p > 0, p * np.log(np.where(p > 0, p, 1) / q), 0)
    return _reduce(terms.sum(axis=1), p / q, reduction)  # gradient sign flipped


PLAUSIBLE_BUGS = {f.__name__[1:]: f for f in (
    _least_squares, _huber, _hinge, _multiclass_hinge, _logistic_from_probability, _logistic_from_logit,
    _categorical_cross_entropy, _softmax_cross_entropy, _label_smoothed_cross_entropy, _entropy, _cross_entropy,
    _kl_divergence,
)}


@pytest.mark.parametrize("name", sorted(PLAUSIBLE_BUGS))
def test_plausible_bug_is_caught(name):
    _assert_caught(PLAUSIBLE_BUGS[name], name)


@pytest.mark.parametrize("reduction", los.REDUCTIONS)
def test_huber_with_a_delta_below_float32s_normal_range_matches_the_reference(backend, reduction):
    # found by the verify-soak profile: the NumPy form let the Python float δ = 6.6e-43 meet float32 arrays as a
    # float32 subnormal (NEP 50), off by 9 subnormal spacings in δ·(|d| − δ/2)
    args = (np.array([[0.0, 2.0]], dtype=np.float32), np.array([[43.0, 2.0]], dtype=np.float32))
    fn = functools.partial(los.LOSSES["huber"], backend=backend)
    verify_loss(fn, "huber", args, reduction=reduction, options={"delta": 6.597305574284204e-43})


@pytest.mark.parametrize(("z", "label", "epsilon"), [([0.0, 87.0], 1, 1.401298464324817e-45),
                                                     ([0.0, -90.0], 0, 2.2775636162268896e-40),
                                                     ([0.0, 0.0, 0.0], 1, 0.11194283281632925)])
def test_label_smoothing_at_soak_found_points_matches_the_reference(backend, z, label, epsilon):
    # found by the verify-soak profile: the NumPy form rounded a subnormal ε/K to float32 (NEP 50), and at
    # z = 0, ε = 0.1119… the gradient (1 − ε)/3 lies exactly on a float64 midpoint, where the reference's precisions
    # never agreed (resolved to the tie's even neighbour, verify.symbolic.highprec)
    args = (np.array([z], dtype=np.float32), np.array([label]))
    fn = functools.partial(los.LOSSES["label_smoothed_cross_entropy"], backend=backend)
    for reduction in los.REDUCTIONS:
        verify_loss(fn, "label_smoothed_cross_entropy", args, reduction=reduction, options={"label_smoothing": epsilon})


def test_a_reduced_float32_loss_beyond_float32s_range_is_its_float64_sum(backend):
    # A soak find (seed 1303): four float32 rows of loss 2^126 sum to 2^128, which float32 cannot hold; the total is
    # summed and returned in float64 (a Python float), and the reference, rounded to float32, read +inf.
    z, labels = np.full(4, -(2.0**126), dtype=np.float32), np.ones(4, dtype=np.int64)
    fn = functools.partial(los.LOSSES["logistic_from_logit"], backend=backend)
    verify_loss(fn, "logistic_from_logit", (z, labels), reduction="sum")
    assert fn(z, labels, reduction="sum")[0] == 2.0**128

    def rounded_to_float32(*args, **kwargs):  # wrong: the float64 total rounded to the rows' dtype
        value, grad = fn(*args, **kwargs)
        with np.errstate(over="ignore"):
            return float(np.float32(value)), grad

    with pytest.raises(CheckFailure, match="disagrees with the high-precision reference"):
        verify_loss(rounded_to_float32, "logistic_from_logit", (z, labels), reduction="sum")
