"""Failure messages of check_vjp / check_jvp / check_loss that say what happened (issue 13, messages).

- A jump of ``f`` is headlined as such (softplus's jump at its threshold was headlined "wrong … at 0.0208 × the
  tolerance", the jump six lines below), and no mistake is guessed for it.
- check_loss's masked (−∞) logits are not labelled "finite logits", and a NaN from ``0·(−∞)`` at a masked entry is
  explained.
- check_loss's report says how many of its examples are the library's edge cases (run on top of ``max_examples``).

Runtime: about 10 s.
"""

from __future__ import annotations

import numpy as np
import pytest

from verify import check_loss
from verify.checks import CheckFailure, check_jvp, check_vjp


def softplus_with_threshold(x):  # PyTorch's softplus: x itself above the threshold 20 — a jump of 2e-9 there
    return np.where(x > 20.0, x, np.log1p(np.exp(np.minimum(x, 20.0))))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


X = np.array([-1.0, 20.0, 0.5])


def test_a_jump_is_the_headline_of_a_vjp_failure():
    with pytest.raises(CheckFailure) as info:
        check_vjp(softplus_with_threshold, lambda u, x: u * sigmoid(x), (X,))
    first = str(info.value).splitlines()[0]
    assert first.startswith("check_vjp: f is not continuous at this point: it jumps along args[0][1]")
    assert "likely mistake" not in str(info.value)


def test_a_jump_is_the_headline_of_a_jvp_failure():
    with pytest.raises(CheckFailure) as info:
        check_jvp(softplus_with_threshold, lambda v, x: v * sigmoid(x), (X,))
    assert str(info.value).splitlines()[0].startswith("check_jvp: f is not continuous at this point")


def test_a_wrong_vjp_without_a_jump_keeps_its_headline():
    with pytest.raises(CheckFailure) as info:
        check_vjp(np.tanh, lambda u, x: u * (1 - np.tanh(x)), (X,))
    assert str(info.value).splitlines()[0].startswith("check_vjp: vjp(u, *args) is wrong for")


def _nan_at_masked(z, c):
    """Softmax cross-entropy (mean over rows) with probability targets, as −Σ c·log σ: 0·(−∞) = NaN at a masked logit
    (the value a framework's cross_entropy returns there)."""
    m = np.max(z, axis=-1, keepdims=True)
    log_p = z - m - np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True))
    with np.errstate(invalid="ignore"):
        value = -np.mean(np.sum(c * log_p, axis=-1))
    return value


def test_masked_logits_are_not_called_finite_and_the_nan_is_explained():
    z = np.array([[-np.inf, 0.5, 1.0], [2.0, 0.0, -1.0]])
    c = np.array([[0.0, 0.25, 0.75], [1.0, 0.0, 0.0]])
    with pytest.raises(CheckFailure) as info:
        check_loss("softmax_cross_entropy", value=_nan_at_masked, inputs=(z, c))
    text = str(info.value)
    assert "finite logits" not in text and "here with 1 masked entry (−∞)" in text
    assert "a term 0·(−∞)" in text


def test_the_report_counts_the_edge_cases_apart_from_the_search():
    def value(z, c):
        m = np.max(z, axis=-1, keepdims=True)
        log_p = np.where(np.isneginf(z), 0.0, z - m - np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True)))
        c = np.eye(z.shape[-1], dtype=z.dtype)[c] if c.ndim == 1 else c
        return -np.mean(np.sum(np.where(c == 0, 0.0, c * log_p), axis=-1))

    report = check_loss("softmax_cross_entropy", value=value, max_examples=5)
    assert report.edge_cases > 0
    assert f"{report.examples - report.edge_cases} drawn by the search and {report.edge_cases} of the library's " \
           "edge cases" in str(report)
