"""Stability: every loss from logits (and the softmax family) stays finite and within the few-ULP
tolerance of the high-precision value for logits up to ±1e300, wherever the true value is finite."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from verify.checks.selfcheck import verify_loss, verify_softmax
from verify.kernels import activations as act
from verify.kernels import losses as los
from verify.strategies import batch_shapes, class_labels, simplex_rows
from verify.symbolic import SYMBOLIC_LOSSES, ULPS_BASE, row_terms

# Only huge logits (|z| ≥ 1e200) mixed with ordinary ones: every exponential over/underflows unless shifted.
HUGE = st.floats(1e200, 1e300) | st.floats(-1e300, -1e200) | st.floats(-50, 50)


@st.composite
def extreme_logits_and_targets(draw):
    n, k = draw(batch_shapes(max_rows=3, max_classes=4))
    z = draw(hnp.arrays(np.float64, (n, k), elements=HUGE))
    target = draw(class_labels(n, k) | simplex_rows(n, k, zeros=True))
    return z, target


def test_softmax_cross_entropy_is_finite_and_accurate_at_1e300(backend):
    @given(extreme_logits_and_targets(), st.sampled_from(["none", "mean"]))
    def check(args, reduction):
        value, grad = los.softmax_cross_entropy(*args, reduction=reduction, backend=backend)
        reference, _ = SYMBOLIC_LOSSES["softmax_cross_entropy"].reference(*args, reduction=reduction)
        assert np.all(np.isfinite(value) == np.isfinite(reference))
        assert np.all(np.isfinite(grad))
        verify_loss(lambda *a, **kw: los.softmax_cross_entropy(*a, backend=backend, **kw),
                    "softmax_cross_entropy", args, reduction=reduction)

    check()


def test_logistic_from_logit_is_finite_and_accurate_at_1e300(backend):
    @given(hnp.arrays(np.float64, st.integers(1, 4).map(lambda n: (n,)), elements=HUGE), st.data())
    def check(x, data):
        y = data.draw(hnp.arrays(np.int64, x.shape, elements=st.sampled_from([0, 1])))
        value, grad = los.logistic_from_logit(x, y, reduction="none", backend=backend)
        assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
        verify_loss(lambda *a, **kw: los.logistic_from_logit(*a, backend=backend, **kw),
                    "logistic_from_logit", (x, y), reduction="none")

    check()


@pytest.mark.parametrize("which", ["softmax", "log_softmax", "logsumexp"])
def test_softmax_family_at_1e300(which, backend):
    fn = getattr(act, which)

    @given(batch_shapes(max_rows=3, max_classes=4).flatmap(lambda s: hnp.arrays(np.float64, s, elements=HUGE)))
    def check(z):
        assert np.all(np.isfinite(fn(z, backend=backend)))
        verify_softmax(lambda v: fn(v, backend=backend), which, z)

    check()


CASES = [
    # (logits, label): the true loss, and why a naive formula fails there
    ([1e300, -1e300], 1),  # 2e300: exp overflows
    ([1e300, -1e300], 0),  # e^(−2e300) → 0 exactly
    ([-1e300, -1e300 * (1 - 2**-52)], 0),  # two huge equal-sign logits one ulp-fraction apart
    ([0.1, -700.3, -30.3], 0),  # tiny loss: log1p and the exactly-carried z_k − m
    ([0.0, -745.0], 0),  # the subnormal range of the gradient
    ([5.0, 5.0, 5.0], 2),  # ties: log 3
    ([2.0**55, 4.0], 0),  # z_k − m = −2^55 exactly representable only with its TwoSum error term 4: e^(−2^55) = 0
]


@pytest.mark.parametrize(("z", "label"), CASES)
def test_named_extreme_cases_within_a_few_ulps(z, label, backend):
    z = np.array([z])
    t = np.array([label])
    value, grad = los.softmax_cross_entropy(z, t, reduction="none", backend=backend)
    ref_value, ref_grad, vmag, gmag = SYMBOLIC_LOSSES["softmax_cross_entropy"].reference_and_magnitudes(z, t)
    assert np.isfinite(value).all() and np.isfinite(grad).all()
    eps = np.finfo(np.float64).eps
    tol = (ULPS_BASE + row_terms(z.shape[1])) * eps
    assert np.all(np.abs(value - ref_value) <= tol * vmag + 1e-323)
    assert np.all(np.abs(grad - ref_grad) <= tol * gmag + 1e-323)


BIG = float(np.finfo(np.float64).max)


@pytest.mark.parametrize("which", ["softmax", "log_softmax", "logsumexp"])
@pytest.mark.parametrize("row", [[-BIG, BIG], [BIG, -BIG, 0.0], [BIG, BIG], [-BIG, -BIG], [BIG, BIG * 0.5, -BIG]])
def test_softmax_family_at_the_largest_floats(which, row, backend):
    """Issue 18 item 7: a row holding both −max and +max gave NaN on the NumPy backend (z − m overflowing
    made TwoSum's error term NaN); every backend now gives the correctly rounded value (±inf where it is)."""
    z = np.array([row])
    out = getattr(act, which)(z, backend=backend)
    assert not np.isnan(out).any()
    verify_softmax(lambda v: getattr(act, which)(v, backend=backend), which, z)
