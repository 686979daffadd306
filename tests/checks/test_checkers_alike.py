"""What every checker shares is written once: the point's validation and the judge's summary fields."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from verify.checks import (
    GradientReport,
    HessianReport,
    JVPReport,
    VJPReport,
    check_gradient,
    check_hessian,
    check_jvp,
    check_vjp,
)
from verify.checks._probes import Tally
from verify.checks._views import Settled
from verify.checks.gradient import JudgeSummary


def _square(x):
    return float(np.sum(x * x))


# each checker with a correct derivative of its own kind, so that only the point can be at fault
CHECKERS = {
    "check_gradient": lambda point, **kw: check_gradient(_square, lambda x: 2 * x, point, **kw),
    "check_vjp": lambda point, **kw: check_vjp(lambda x: 2 * x, lambda u, x: 2 * u, point, **kw),
    "check_jvp": lambda point, **kw: check_jvp(lambda x: 2 * x, lambda v, x: 2 * v, point, **kw),
    "check_hessian": lambda point, **kw: check_hessian(_square, lambda v, x: 2 * v, point, **kw),
}

BAD_POINTS = [
    (np.array([1.0, 2.0]), {}, TypeError, r"inputs must be a tuple of arguments for f"),
    ((np.array([1.0, 2.0]),), {"wrt": 1}, ValueError, r"wrt=1 is out of range for 1 argument"),
    ((np.array([1, 2]),), {}, TypeError, r"args\[0\] \(the argument differentiated\) must be a float32 or float64"),
    ((np.zeros((0, 2)),), {}, ValueError, r"args\[0\] is empty \(shape \(0, 2\)\): there is nothing to differentiate"),
]


@pytest.mark.parametrize("name", list(CHECKERS))
@pytest.mark.parametrize(("point", "options", "error", "message"), BAD_POINTS)
def test_every_checker_refuses_a_bad_point_alike_and_names_itself(name, point, options, error, message):
    with pytest.raises(error, match=rf"^{name}: {message}"):
        CHECKERS[name](point, **options)


def test_check_gradient_refuses_a_nan_at_the_point_with_its_index():
    x = np.array([[1.0, 2.0], [np.nan, np.inf]])
    with pytest.raises(ValueError, match=r"^check_gradient: args\[0\] has a NaN at index \(1, 0\): a NaN input has "
                                         r"no derivative to check$"):
        check_gradient(_square, lambda x: 2 * x, (x,))


def test_every_report_is_a_judge_summary_and_the_tally_fills_every_field():
    for report in (GradientReport, HessianReport, VJPReport, JVPReport, Settled):
        assert issubclass(report, JudgeSummary), report
    assert set(Tally().summary()) == {f.name for f in dataclasses.fields(JudgeSummary)}

