"""The README's example of using verify from another project's pytest suite, run as that project would."""

from __future__ import annotations

pytest_plugins = ["pytester"]

# The README snippet, verbatim: keep the two in sync.
README_EXAMPLE = '''\
# tests/test_my_gradients.py -- in your project. Installing verify registers its pytest plugin.
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import verify


def softplus(x):  # f: sum of log(1 + e^x); NumPy ufuncs, so complex input and batching work
    return np.sum(np.log1p(np.exp(x)), axis=-1)


def softplus_grad(x):  # the code under test: a sigmoid that stays accurate for x << 0
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


points = hnp.arrays(np.float64, 5, elements=st.floats(-60, 30)).map(lambda x: (x,))


def test_softplus_gradient(check_gradient):  # the fixture records the report (--verify-summary)
    report = check_gradient(softplus, softplus_grad, points)  # a Hypothesis search
    assert report.references["complex step"] == report.examples


def test_relu_subgradient_at_zero():  # or call verify directly, on one point
    relu = lambda x: np.sum(np.maximum(x, 0.0), axis=-1)
    report = verify.check_gradient(relu, lambda x: (x > 0) * 1.0, (np.array([-1.0, 0.0, 2.0]),))
    assert report.kinks == 1


def test_my_logistic_loss(check_loss):  # a named loss against its SymPy reference
    def value(x, y):  # mean of log(1 + e^(-x)) for y = 1, log(1 + e^x) for y = 0
        z = np.where(y == 1, -x, x)
        return float(np.mean(np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))))

    def grad(x, y):  # sigmoid(x) - y, without the cancellation of sigmoid(x) - 1 (check_loss flags it)
        with np.errstate(over="ignore"):
            return np.where(y == 1, -1.0 / (1.0 + np.exp(x)), 1.0 / (1.0 + np.exp(-x))) / x.shape[0]

    check_loss("logistic_from_logit", value=value, grad=grad)
'''

WRONG_EXAMPLE = '''\
import numpy as np


def test_underflowing_gradient(check_gradient):
    f = lambda x: np.sum(np.log1p(np.exp(x)), axis=-1)
    check_gradient(f, lambda x: np.where(x < -40.0, 0.0, 1.0 / (1.0 + np.exp(-x))), (np.array([-41.0, -38.0]),))
'''


def test_readme_example_passes_with_the_plugin_and_summary(pytester):
    pytester.makepyfile(test_my_gradients=README_EXAMPLE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--verify-summary")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines([
        "*verify checks*",
        "*test_softplus_gradient — check_gradient",
        "*example(s) passed*",
        "*decided by: complex step*",
        "*test_my_logistic_loss — check_loss",
    ])


def test_a_wrong_gradient_fails_the_test_with_the_table(pytester):
    pytester.makepyfile(test_wrong=WRONG_EXAMPLE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*CheckFailure: check_gradient: grad is wrong at 1 of 2 entries*",
        "*reference: complex step*",
        "*worst entries*",
        "*(0,)*1.5628821893349888e-18*0.0*",
    ])


def junit_xml(pytester, selected: str, **outcomes: int) -> str:
    """The JUnit XML of the tests of ``pytester``'s files selected by ``-k selected``, whose outcomes must be
    ``outcomes`` (also used by test_plugin_fixtures)."""
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--junitxml=out.xml", "-k", selected)
    result.assert_outcomes(**outcomes)
    return (pytester.path / "out.xml").read_text()


def test_reports_reach_user_properties(pytester):
    pytester.makepyfile(test_my_gradients=README_EXAMPLE)
    xml = junit_xml(pytester, "softplus", passed=1)
    assert 'name="verify.check_gradient"' in xml and "example(s) passed" in xml
