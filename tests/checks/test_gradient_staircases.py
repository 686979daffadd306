"""Staircases: formulas that cancel, so that f is computed on a grid much coarser than its own ULPs (issue 13).

gelu(x) = x·½(1 + erf(x/√2)) at x ≪ 0: ``1 + erf`` is ``2Φ(x)`` on float64's grid of 1.1e-16 near ``erf = −1``, so it
is constant across cells of ``x`` ``W = ulp(1)/(2φ(x))`` wide (3.7e-11 at −5, 6e-6 at −7, 2.3e-4 at −7.5, 1.1e-2 at
−8). Inside one cell f is ``x`` times a constant and its slope is ``Φ(x)`` — the product rule's ``x·φ(x)`` is gone, and
``Φ(x)`` alone is the classic wrong gelu backward. The judge must not take that plateau for the derivative (a false
alarm on the correct backward, and the wrong one passing): f's rounding is the level of the cells, measured where
its tables cross them (``verify.checks._measure.staircase_level``), or seen in the kink ladder's one-sided limits
and measured along ``e_j`` (``verify.checks.gradient._Checker._locate``).

Where no step the judge takes can resolve the derivative from f's values, the entry is unverified, never failed:
at ``x ≤ −7.5`` in float64 f's rounding (2e-16, 14σ bound 3e-15) over the central step (5.5e-3) is above the
derivative itself (1.8e-12 at −7.5, 4e-14 at −8) — the remedy named in the report (``sympy_expr=`` or a
complex-analytic f) gives a verdict there. Every other wrong backward fails.

The same holds for the other staircases of the kind: ``x·σ(x)`` with ``σ = ½(1 + tanh(x/2))`` (silu written through
tanh) far below 0, ``x·(1 − ½erfc(x/√2))`` (gelu through erfc) and ``log(1 + eˣ)`` (softplus without ``log1p``) at
``x ≪ 0``, each with its wrong twins (the last is constant across its cells: its plateau slope is 0, which the judge
already told from the derivative; it stays as a guard). Runtime: ~15 s on a quiet machine.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import erf, erfc

from verify.checks import CheckFailure, check_gradient, check_vjp

_SQRT2 = np.sqrt(2.0)
_SQRT2PI = np.sqrt(2.0 * np.pi)

# the grid over [−8, −3]; at −7.5 and below no central step resolves the derivative of the float64 gelu (above)
GRID = [-3.0, -4.0, -4.5, -5.0, -5.5, -6.0, -6.5, -7.0, -7.25, -7.5, -7.75, -8.0]
RESOLVED = [x for x in GRID if x > -7.5]


def _gelu_sum(x):
    x = np.real(x)  # no complex step: the central differences alone must keep x·φ(x)
    return np.sum(x * 0.5 * (1.0 + erf(x / _SQRT2)), axis=-1)


def _cdf(x):
    return 0.5 * (1.0 + erf(x / _SQRT2))


def _pdf(x):
    return np.exp(-0.5 * x * x) / _SQRT2PI


GELU_BACKWARDS = {
    "right": lambda x: _cdf(x) + x * _pdf(x),
    "cdf only (x·φ(x) dropped)": _cdf,
    "sign error in x·φ(x)": lambda x: _cdf(x) - x * _pdf(x),
}


def _outcome(f, grad, x) -> str:
    try:
        report = check_gradient(f, grad, (x,))
    except CheckFailure:
        return "failed"
    return "unverified" if report.unverified else "passed"


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_the_right_gelu_backward_passes_on_the_whole_grid(dtype):
    for x0 in GRID:
        x = np.array([x0], dtype=dtype)
        assert _outcome(_gelu_sum, GELU_BACKWARDS["right"], x) != "failed", x0
    # the points together, in one vector
    check_gradient(_gelu_sum, GELU_BACKWARDS["right"], (np.array(GRID, dtype=dtype),))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", ["cdf only (x·φ(x) dropped)", "sign error in x·φ(x)"])
def test_wrong_gelu_backwards_fail_wherever_f_resolves_the_derivative(name, dtype):
    for x0 in GRID:
        outcome = _outcome(_gelu_sum, GELU_BACKWARDS[name], np.array([x0], dtype=dtype))
        if x0 in RESOLVED:
            assert outcome == "failed", (x0, outcome)
        else:
            assert outcome in ("failed", "unverified"), (x0, outcome)  # never a silent pass


def test_the_deep_tail_is_unverified_not_guessed():
    # x = −8: the central step (5.9e-3) lies inside one cell (1.1e-2) of the cancelling 1 + erf; f's rounding there,
    # 2e-16 (its tables crossing the cells off the point), over that step is far above the derivative, −4e-14
    report = check_gradient(_gelu_sum, GELU_BACKWARDS["right"], (np.array([-8.0]),))
    assert report.unverified == 1
    report = check_gradient(_gelu_sum, GELU_BACKWARDS["cdf only (x·φ(x) dropped)"], (np.array([-8.0]),))
    assert report.unverified == 1


def _gelu_vector(x):
    x = np.real(x)
    return x * 0.5 * (1.0 + erf(x / _SQRT2))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_gelu_vjp_over_the_grid(dtype):
    x = np.array(RESOLVED, dtype=dtype)
    rule = lambda keep: (lambda u, x: u * (_cdf(x) + keep * x * _pdf(x)))  # noqa: E731
    check_vjp(_gelu_vector, rule(1.0), (x,))
    for keep in (0.0, -1.0):
        with pytest.raises(CheckFailure, match="vjp"):
            check_vjp(_gelu_vector, rule(keep), (x,))


# --- the other staircases of the kind -------------------------------------------------------------------------------


def _silu_tanh(x):  # x·σ(x) with σ(x) = ½(1 + tanh(x/2)): 1 + tanh cancels far below 0
    x = np.real(x)
    return np.sum(x * 0.5 * (1.0 + np.tanh(0.5 * x)), axis=-1)


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _gelu_erfc(x):  # Φ(x) = 1 − ½erfc(x/√2): cancels for x ≪ 0 (½erfc(−x/√2) would not)
    x = np.real(x)
    return np.sum(x * (1.0 - 0.5 * erfc(x / _SQRT2)), axis=-1)


def _softplus_log(x):  # log(1 + eˣ) without log1p: 1 + eˣ is on float64's grid near 1
    x = np.real(x)
    return np.sum(np.log(1.0 + np.exp(x)), axis=-1)


STAIRCASES = {
    "silu via tanh": (_silu_tanh, [-12.0, -15.0, -20.0, -25.0], {
        "right": lambda x: _sigmoid(x) * (1.0 + x * (1.0 - _sigmoid(x))),
        "x·σ'(x) dropped": _sigmoid,
        "sign error in x·σ'(x)": lambda x: _sigmoid(x) * (1.0 - x * (1.0 - _sigmoid(x))),
    }),
    "gelu via erfc": (_gelu_erfc, [-4.0, -5.0, -6.0, -7.0], {
        "right": lambda x: 0.5 * erfc(-x / _SQRT2) + x * _pdf(x),
        "x·φ(x) dropped": lambda x: 0.5 * erfc(-x / _SQRT2),
        "sign error in x·φ(x)": lambda x: 0.5 * erfc(-x / _SQRT2) - x * _pdf(x),
    }),
    "softplus via log(1 + eˣ)": (_softplus_log, [-20.0, -25.0, -30.0], {
        "right": lambda x: 1.0 / (1.0 + np.exp(-x)),
        "0 (the plateau's slope)": lambda x: np.zeros_like(x),
        "σ(x)/2": lambda x: 0.5 / (1.0 + np.exp(-x)),
    }),
}


def _staircase_cases():
    for family, (_, _, grads) in STAIRCASES.items():
        for name in grads:
            yield pytest.param(family, name, id=f"{family}-{name}")


@pytest.mark.parametrize(("family", "name"), list(_staircase_cases()))
def test_other_staircases_right_passes_and_wrong_twins_fail(family, name):
    f, points, grads = STAIRCASES[family]
    for x0 in points:
        outcome = _outcome(f, grads[name], np.array([x0]))
        if name == "right":
            assert outcome != "failed", (x0, outcome)
        else:
            assert outcome == "failed", (x0, outcome)
