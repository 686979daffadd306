"""A NaN or an infinity in a point the user gives: one rule and one message in every checker.

A NaN in any floating argument is a ``ValueError``, also where ``f`` stays finite (a NaN that ``f`` masks or never
reads: check_vjp, check_jvp and check_hessian passed such a point, check_gradient refused only a NaN in args[wrt]).
±inf is allowed where the checker supports it (every derivative checker, in any argument, where ``f`` is finite: a
masked ``−∞`` logit) and a ``ValueError`` otherwise (check_loss outside softmax_cross_entropy's prediction,
check_optimizer anywhere: it passed a NaN or an infinity in theta0 or grads). The message names the checker, the
argument, the index of the first bad entry and its value (:func:`verify._validate.refuse_non_finite`).
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pytest
from hypothesis import strategies as st

from verify._validate import refuse_non_finite
from verify.checks import check_gradient, check_hessian, check_jvp, check_loss, check_optimizer, check_vjp
from verify.checks.failure import CheckFailure
from verify.kernels.losses import LOSSES

GOOD = np.array([0.5, -1.0, 0.25, 2.0])


def _with(value: float, at: int = 2) -> np.ndarray:
    x = GOOD.copy()
    x[at] = value
    return x


def _message(checker: str, where: str, what: str, checked: str = "derivative") -> str:
    return "^" + re.escape(f"{checker}: {where}: {what} input has no {checked} to check")


def _masked_sin(x):
    """sin where x is a number and 0 at a NaN: f is finite at a NaN input."""
    return np.where(np.isnan(x), 0.0, np.sin(np.nan_to_num(x)))


def _masked_cos(x):
    return np.where(np.isnan(x), 0.0, np.cos(np.nan_to_num(x)))


# each checker with a correct derivative of its own kind of f(x, w) = sin(x) (summed where f is a scalar): f is finite
# at a NaN in x (masked) and at any w (never read), so nothing but the rule can refuse the point
DERIVATIVE_CHECKERS = {
    "check_gradient": lambda point: check_gradient(
        lambda x, w: float(np.sum(_masked_sin(x))), lambda x, w: _masked_cos(x), point),
    "check_vjp": lambda point: check_vjp(lambda x, w: _masked_sin(x), lambda u, x, w: u * _masked_cos(x), point),
    "check_jvp": lambda point: check_jvp(lambda x, w: _masked_sin(x), lambda v, x, w: v * _masked_cos(x), point),
    "check_hessian": lambda point: check_hessian(
        lambda x, w: float(np.sum(_masked_sin(x))), lambda v, x, w: -_masked_sin(x) * v, point),
}


@pytest.mark.parametrize("checker", list(DERIVATIVE_CHECKERS))
@pytest.mark.parametrize("bad", [0, 1], ids=["wrt", "other argument"])
def test_a_nan_is_refused_alike_by_every_derivative_checker_even_where_f_is_finite(checker, bad):
    point = (_with(np.nan), GOOD) if bad == 0 else (GOOD, _with(np.nan))
    with pytest.raises(ValueError, match=_message(checker, f"args[{bad}] has a NaN at index (2,)", "a NaN")):
        DERIVATIVE_CHECKERS[checker](point)


@pytest.mark.parametrize("checker", list(DERIVATIVE_CHECKERS))
def test_a_nan_number_and_the_first_nan_of_a_matrix_are_located(checker):
    with pytest.raises(ValueError, match=_message(checker, "args[1] is a NaN", "a NaN")):
        DERIVATIVE_CHECKERS[checker]((GOOD, float("nan")))
    w = np.array([[1.0, 2.0], [np.nan, np.nan]])
    with pytest.raises(ValueError, match=_message(checker, "args[1] has a NaN at index (1, 0)", "a NaN")):
        DERIVATIVE_CHECKERS[checker]((GOOD, w))


@pytest.mark.parametrize("checker", list(DERIVATIVE_CHECKERS))
def test_integer_arguments_and_the_good_point_pass(checker):
    DERIVATIVE_CHECKERS[checker]((GOOD, np.array([0, 3])))


# ------------------------------------------------------------------ ±inf: allowed where f is finite (masked logits)


def _lse(y):
    m = np.max(y)
    return float(m + np.log(np.sum(np.exp(y - m))))


def _softmax(y):
    e = np.exp(y - y.max())
    return e / e.sum()


def _leak(y, v):
    """A wrong derivative's error: 1e-3 of the direction at the masked entries, where the truth is 0."""
    return 1e-3 * np.where(np.isinf(y), v, 0.0)


def _softmax_jvp(v, y):
    s = _softmax(y)
    return s * (v - np.sum(s * v))


def _lse_hvp(v, y):
    s = _softmax(y)
    return s * v - s * np.sum(s * v)


# f(z, m) of the masked logits z + m; `wrong` adds 1e-3 of the direction at the masked entries (the truth there is 0)
MASKED = {
    "check_gradient": lambda point, wrong: check_gradient(
        lambda z, m: _lse(z + m), lambda z, m: _softmax(z + m) + _leak(z + m, np.full(z.shape, wrong)), point),
    "check_vjp": lambda point, wrong: check_vjp(
        lambda z, m: _softmax(z + m), lambda u, z, m: _softmax_jvp(u, z + m) + wrong * _leak(z + m, u.sum()), point),
    "check_jvp": lambda point, wrong: check_jvp(
        lambda z, m: _softmax(z + m), lambda v, z, m: _softmax_jvp(v, z + m) + wrong * _leak(z + m, v).sum(), point),
    "check_hessian": lambda point, wrong: check_hessian(
        lambda z, m: _lse(z + m), lambda v, z, m: _lse_hvp(v, z + m) + wrong * _leak(z + m, v), point),
}
LOGITS = np.array([0.2, 0.5, 1.0, -0.3])
MASK = np.array([0.0, 0.0, 0.0, -np.inf])


@pytest.mark.parametrize("checker", list(MASKED))
@pytest.mark.parametrize("masked", [0, 1], ids=["wrt", "other argument"])
def test_a_masked_minus_inf_logit_is_judged_where_f_is_finite(checker, masked):
    point = (LOGITS + MASK, np.zeros(4)) if masked == 0 else (LOGITS, MASK)
    report = MASKED[checker](point, 0.0)
    assert report.worst_ratio <= 1.0 and report.unverified == 0
    with pytest.raises(CheckFailure):  # the masked entry's derivative is 0, not 1e-3
        MASKED[checker](point, 1.0)


def test_check_gradient_keeps_judging_a_masked_logit_of_logsumexp():
    x = np.array([-np.inf, 0.5, 1.0])
    report = check_gradient(_lse, _softmax, (x,))
    assert report.worst_ratio <= 1.0 and report.unverified == 0
    with pytest.raises(CheckFailure, match="grad is wrong at 1 of 3"):
        check_gradient(_lse, lambda x: np.where(np.isinf(x), 1e-3, _softmax(x)), (x,))


@pytest.mark.parametrize("checker", ["check_vjp", "check_jvp", "check_hessian"])
@pytest.mark.parametrize("bad", [0, 1], ids=["wrt", "other argument"])
def test_an_infinity_where_f_is_not_finite_is_refused_and_located(checker, bad):
    point = (_with(np.inf), GOOD) if bad == 0 else (GOOD, _with(-np.inf))
    f = {"check_hessian": lambda x, w: float(np.sum(np.sin(x) * w))}.get(checker, lambda x, w: np.sin(x) * w)
    derivative = {"check_hessian": lambda v, x, w: -np.sin(x) * w * v}.get(checker, lambda d, x, w: d * np.cos(x) * w)
    call = {"check_vjp": check_vjp, "check_jvp": check_jvp, "check_hessian": check_hessian}[checker]
    where = f"args[{bad}] has {'+inf' if bad == 0 else '-inf'} at index (2,)"
    with pytest.raises(ValueError, match=rf"^{checker}: f is not finite at the input: .*; {re.escape(where)}, and an "
                                         "infinite input is allowed only where f is finite"), \
            np.errstate(invalid="ignore"):
        call(f, derivative, point)


def test_check_gradient_locates_an_infinity_where_f_is_not_finite():
    with pytest.raises(ValueError, match=r"^check_gradient: f is not finite at the input.*args\[0\] has \+inf at "
                                         r"index \(2,\)"), np.errstate(invalid="ignore"):
        check_gradient(lambda x: float(np.sum(np.sin(x))), np.cos, (_with(np.inf),))


# ------------------------------------------------------------------------------------------------------ check_loss


def _never_called(*args, **kwargs):
    raise AssertionError("the loss must not be run on a refused point")


LOSS_POINTS = [
    ("softmax_cross_entropy", (np.array([[0.5, np.nan, 1.0]]), np.array([0])), "prediction has a NaN at index (0, 1)"),
    ("softmax_cross_entropy", (np.zeros((1, 3)), np.array([[0.5, np.nan, 0.5]])), "target has a NaN at index (0, 1)"),
    ("logistic_from_logit", (np.array([1.0, 2.0]), np.array([1.0, np.nan])), "target has a NaN at index (1,)"),
    ("kl_divergence", (np.array([[0.5, np.nan]]), np.array([[0.5, 0.5]])), "p has a NaN at index (0, 1)"),
    ("kl_divergence", (np.array([[0.5, 0.5]]), np.array([[np.nan, 0.5]])), "q has a NaN at index (0, 0)"),
    # only −∞ marks a masked logit: the +∞ after it is named, not the −∞ before it
    ("softmax_cross_entropy", (np.array([[-np.inf, np.inf, 1.0]]), np.array([2])), "prediction has +inf at index (0, 1)"),
    ("softmax_cross_entropy", (np.zeros((1, 3)), np.array([[0.5, -np.inf, 0.5]])), "target has -inf at index (0, 1)"),
    ("hinge", (np.array([-np.inf, 1.0]), np.array([1, -1])), "prediction has -inf at index (0,)"),
    ("logistic_from_logit", (np.array([1.0, 2.0]), np.array([np.inf, 0.0])), "target has +inf at index (0,)"),
    ("kl_divergence", (np.array([[0.5, 0.5]]), np.array([[0.5, np.inf]])), "q has +inf at index (0, 1)"),
]


@pytest.mark.parametrize(("name", "point", "where"), LOSS_POINTS)
def test_check_loss_refuses_a_nan_or_an_infinity_with_the_same_message(name, point, where):
    what = "a NaN" if "NaN" in where else "an infinite"
    with pytest.raises(ValueError, match=_message(f"check_loss({name!r})", where, what)):
        check_loss(name, value_and_grad=_never_called, inputs=point)
    with pytest.raises(ValueError, match=_message(f"check_loss({name!r})", where, what)):  # a user's strategy alike
        check_loss(name, value_and_grad=_never_called, inputs=st.just(point), max_examples=1)


def test_check_loss_says_where_an_infinity_is_allowed():
    with pytest.raises(ValueError, match=r"\(−∞ marks a masked logit only for softmax_cross_entropy's prediction\)$"):
        check_loss("hinge", value_and_grad=_never_called, inputs=(np.array([-np.inf, 1.0]), np.array([1, -1])))


def test_check_loss_keeps_judging_masked_logits():
    kernel = functools.partial(LOSSES["softmax_cross_entropy"], backend="numpy")

    def masked(z, t):
        value, grad = kernel(np.where(np.isinf(z), -1e4, z), t)
        return value, np.where(np.isinf(z), 0.0, grad)

    z, t = np.array([[-np.inf, 0.5, 1.0]]), np.array([2])
    assert check_loss("softmax_cross_entropy", value_and_grad=masked, inputs=(z, t)).worst_grad_ratio <= 1.0
    leaky = lambda z, t: (masked(z, t)[0], masked(z, t)[1] + np.where(np.isinf(z), 1e-3, 0.0))  # noqa: E731
    with pytest.raises(CheckFailure):
        check_loss("softmax_cross_entropy", value_and_grad=leaky, inputs=(z, t))


# ------------------------------------------------------------------------------------------------- check_optimizer


def _sgd(theta0, grads, lr):
    return theta0 - lr * np.cumsum(grads, axis=0)


OPTIMIZER_POINTS = [
    (np.array([1.0, np.nan]), np.ones((2, 2)), "theta0 has a NaN at index (1,)"),
    (np.array([1.0, 2.0]), np.array([[1.0, 1.0], [np.nan, 1.0]]), "grads has a NaN at index (1, 0)"),
    (np.array([np.inf, 2.0]), np.ones((2, 2)), "theta0 has +inf at index (0,)"),
    (np.array([1.0, 2.0]), np.array([[1.0, -np.inf], [1.0, 1.0]]), "grads has -inf at index (0, 1)"),
]


@pytest.mark.parametrize(("theta0", "grads", "where"), OPTIMIZER_POINTS)
def test_check_optimizer_refuses_a_nan_or_an_infinity_it_used_to_pass(theta0, grads, where):
    what = "a NaN" if "NaN" in where else "an infinite"
    message = _message("check_optimizer('sgd')", where, what, checked="update")
    with pytest.raises(ValueError, match=message):
        check_optimizer("sgd", _never_called, theta0=theta0, grads=grads, lr=0.1)
    with pytest.raises(ValueError, match=message):
        check_optimizer("sgd", _never_called, inputs=st.just((theta0, grads)), lr=0.1, max_examples=1)
    assert check_optimizer("sgd", _sgd, theta0=np.array([1.0, 2.0]), grads=np.ones((2, 2)), lr=0.1).examples == 1


# ------------------------------------------------------------------------------------------- the rule in one place


def test_the_rule_refuses_nan_always_and_infinities_not_allowed():
    refuse_non_finite("c", "x", np.array([1.0, np.inf, -np.inf]), allowed_infinities=(-np.inf, np.inf))
    refuse_non_finite("c", "x", np.array([1.0, -np.inf]), allowed_infinities=(-np.inf,))
    for value in (np.array([1, 2]), "nan", None, [float("nan")], 3):  # nothing floating to refuse
        refuse_non_finite("c", "x", value)
    with pytest.raises(ValueError, match=_message("c", "x has a NaN at index (1,)", "a NaN")):
        refuse_non_finite("c", "x", np.array([np.inf, np.nan]), allowed_infinities=(np.inf,))
    with pytest.raises(ValueError, match=_message("c", "x has +inf at index (0, 1)", "an infinite") + r" \(why\)$"):
        refuse_non_finite("c", "x", np.array([[-np.inf, np.inf]], dtype=np.float32), allowed_infinities=(-np.inf,),
                          inf_note="why")
    with pytest.raises(ValueError, match=_message("c", "x is -inf", "an infinite", checked="update")):
        refuse_non_finite("c", "x", np.float32(-np.inf), checked="update")
    with pytest.raises(ValueError, match=_message("c", "x has a NaN at index (0,)", "a NaN")):
        refuse_non_finite("c", "x", np.array([complex(1.0, np.nan)]))
