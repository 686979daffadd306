"""Bad input gets a ValueError/TypeError naming the argument and showing the offending value;
nothing is renormalised, clipped or cast."""

import numpy as np
import pytest

from verify.kernels import activations as act
from verify.kernels import losses as los

F = np.array([[0.2, 0.8], [0.5, 0.5]])
Z = np.array([[1.0, -2.0], [0.5, 3.0]])
T = np.array([0, 1])

CASES = [
    # (call, exception, fragments the message must contain)
    (lambda: act.activation("sigmoid", np.array([1.0, np.nan])), ValueError, ["x", "nan"]),
    (lambda: act.activation("sigmoid", np.array([np.inf])), ValueError, ["x", "inf"]),
    (lambda: act.activation("swish", np.zeros(2)), ValueError, ["name", "'swish'"]),
    (lambda: act.activation("relu", np.array([1, 2])), TypeError, ["x", "int"]),
    (lambda: act.activation_derivative("tanh", np.zeros(2, np.float16)), TypeError, ["x", "float16"]),
    (lambda: act.softmax(np.zeros(3)), ValueError, ["z", "(3,)"]),
    (lambda: act.logsumexp(np.array([[1.0, -np.inf]])), ValueError, ["z", "-inf"]),
    (lambda: act.softmax(Z, backend="tpu"), ValueError, ["backend", "'tpu'"]),
    (lambda: los.least_squares(Z, np.zeros((2, 3))), ValueError, ["target", "(2, 3)"]),
    (lambda: los.least_squares(Z, Z.astype(np.float32)), TypeError, ["target", "float32"]),
    (lambda: los.least_squares(np.array([[1, 2]]), np.array([[1, 2]])), TypeError, ["prediction", "int"]),
    (lambda: los.least_squares(Z, Z, reduction="avg"), ValueError, ["reduction", "'avg'"]),
    (lambda: los.hinge(np.array([0.5, 1.0]), np.array([1, 0])), ValueError, ["target", "0"]),
    (lambda: los.hinge(np.array([0.5, 1.0]), np.array([1, -1, 1])), ValueError, ["target", "(3,)"]),
    (lambda: los.hinge(np.array([0.5, np.nan]), np.array([1, -1])), ValueError, ["prediction", "nan"]),
    (lambda: los.multiclass_hinge(Z, np.array([0, 2])), ValueError, ["target", "2"]),
    (lambda: los.multiclass_hinge(Z, np.array([0.0, 1.0])), TypeError, ["target", "float64"]),
    (lambda: los.multiclass_hinge(np.zeros((2, 1)), np.array([0, 0])), ValueError, ["prediction", "2 classes"]),
    (lambda: los.logistic_from_probability(np.array([0.5, 1.5]), np.array([1, 0])), ValueError,
     ["prediction", "1.5"]),
    (lambda: los.logistic_from_probability(np.array([0.5, 0.5]), np.array([1, -1])), ValueError,
     ["target", "-1", "plus_minus_one"]),
    (lambda: los.logistic_from_logit(np.array([0.5]), np.array([2]), labels="plus_minus_one"), ValueError,
     ["target", "2"]),
    (lambda: los.logistic_from_logit(np.array([0.5]), np.array([1]), labels="pm1"), ValueError, ["labels", "'pm1'"]),
    (lambda: los.categorical_cross_entropy(np.array([[0.2, 0.7]]), np.array([0])), ValueError,
     ["prediction", "sum to 1", "0.89999"]),
    (lambda: los.categorical_cross_entropy(np.array([[1.2, -0.2]]), np.array([0])), ValueError,
     ["prediction", "-0.2"]),
    (lambda: los.categorical_cross_entropy(F, np.array([[0.5, 0.6], [0.5, 0.5]])), ValueError,
     ["target", "sum to 1", "1.1"]),
    (lambda: los.softmax_cross_entropy(Z, np.array([0, 5])), ValueError, ["target", "5"]),
    (lambda: los.softmax_cross_entropy(Z, np.array([0.0, 1.0])), TypeError, ["target", "integer class indices"]),
    (lambda: los.softmax_cross_entropy(Z, np.array([[1.0, 0.0]])), ValueError, ["target", "(1, 2)"]),
    (lambda: los.softmax_cross_entropy(Z.astype(np.float32), F), TypeError, ["target", "float32"]),
    (lambda: los.softmax_cross_entropy(np.array([[np.inf, 0.0]]), np.array([0])), ValueError,
     ["prediction", "inf"]),
    (lambda: los.entropy(np.array([0.5, 0.5])), ValueError, ["p", "(2,)"]),
    (lambda: los.entropy(np.array([[0.5, 0.25]])), ValueError, ["p", "sum to 1", "0.75"]),
    (lambda: los.cross_entropy(F, np.array([[0.2, 0.8]])), ValueError, ["q", "(1, 2)"]),
    (lambda: los.kl_divergence(F, np.array([[0.5, 0.5], [0.5, np.nan]])), ValueError, ["q", "nan"]),
    (lambda: los.kl_divergence(F, [[1, 0], [0, 1]]), TypeError, ["q", "integer"]),
    (lambda: los.kl_divergence(F.astype(np.float32), F), TypeError, ["q", "float32"]),
]


@pytest.mark.parametrize(("call", "exception", "fragments"), CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_bad_input_is_refused_with_a_clear_message(call, exception, fragments):
    with pytest.raises(exception) as info:
        call()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_probabilities_are_never_renormalised():
    almost = np.array([[0.5, 0.5 - 1e-9]])
    with pytest.raises(ValueError, match="never renormalises"):
        los.entropy(almost)
    assert almost.tolist() == [[0.5, 0.5 - 1e-9]]  # the caller's array is untouched
