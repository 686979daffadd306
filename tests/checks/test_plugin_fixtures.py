"""The pytest plugin: a fixture for every checker, and --verify-summary lists failures as well as passes."""

from __future__ import annotations

import importlib.util

import pytest
from test_plugin_example import junit_xml

pytest_plugins = ["pytester"]

SUITE = '''
import numpy as np
import pytest

X, W = np.array([[1.0, -2.0, 0.5], [0.3, 0.7, -1.1]]), np.array([[0.5, 1.0], [2.0, -3.0], [-0.25, 0.75]])


def test_vjp(check_vjp):
    check_vjp(lambda x, W: x @ W, lambda u, x, W: x.T @ u, (X, W), wrt=1)


def test_jvp(check_jvp):
    check_jvp(lambda x, W: x @ W, lambda V, x, W: x @ V, (X, W), wrt=1)


def test_hessian(check_hessian):
    f = lambda x: np.sum(np.log1p(np.exp(x)), axis=-1)
    s = lambda x: 1.0 / (1.0 + np.exp(-x))
    check_hessian(f, lambda v, x: s(x) * (1 - s(x)) * v, (np.array([-2.0, 0.5, 3.0]),))


def test_gradient(check_gradient):
    check_gradient(lambda x: np.sum(x**3, axis=-1), lambda x: 3 * x**2, (np.array([0.5, -1.0]),))


def test_optimizer(check_optimizer):
    def run(theta0, grads, *, lr):
        return theta0 - lr * np.cumsum(grads, axis=0)

    check_optimizer("sgd", run, lr=0.1)


def test_a_dropped_grad_output(check_vjp):
    check_vjp(lambda x, W: x @ W, lambda u, x, W: x.T @ np.ones_like(u), (X, W), wrt=1)


def test_torch(check_torch_function, check_torch_module):
    torch = pytest.importorskip("torch")
    check_torch_function(torch.sin, (torch.tensor([0.5, -1.0], dtype=torch.float64),))
    layer = torch.nn.Linear(2, 1).double()
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.5, -1.5]]))
    check_torch_module(layer, torch.tensor([[1.0, 2.0]], dtype=torch.float64))


def test_jax(check_jax_function):
    jnp = pytest.importorskip("jax.numpy")
    check_jax_function(jnp.sin, (jnp.array([0.5, -1.0]),))
'''


def test_every_fixture_records_its_report_and_the_summary_lists_failures(pytester):
    # torch and jax are optional extras: where one is missing its test is skipped and records nothing.
    torch, jax = (importlib.util.find_spec(name) is not None for name in ("torch", "jax"))
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--verify-summary")
    result.assert_outcomes(passed=5 + torch + jax, failed=1, skipped=2 - torch - jax)
    framework_lines = (["*test_torch — check_torch_function", "*test_torch — check_torch_module"] if torch else []) + (
        ["*test_jax — check_jax_function"] if jax else [])
    result.stdout.fnmatch_lines([
        "*verify checks*",
        f"{5 + 2 * torch + jax} passed, 1 failed",
        "*test_vjp — check_vjp",
        "*check_vjp: 1 example(s) passed*",
        "*test_jvp — check_jvp",
        "*test_hessian — check_hessian",
        "*test_gradient — check_gradient",
        "*test_optimizer — check_optimizer",
        "*test_a_dropped_grad_output — check_vjp FAILED",
        "*FAILED: check_vjp: vjp(u, [*]args) is wrong for 3 of the 3 cotangents*",
        "*likely mistake: the incoming gradient (the cotangent u, grad_output) is ignored*",
        *framework_lines,
    ])


def test_a_failure_reaches_user_properties(pytester):
    pytester.makepyfile(test_suite=SUITE)
    xml = junit_xml(pytester, "dropped", failed=1)
    assert 'name="verify.check_vjp"' in xml and "FAILED: check_vjp" in xml


def test_the_fixtures_are_the_checkers(request):
    for name in ("check_vjp", "check_jvp", "check_hessian", "check_gradient", "check_loss", "check_optimizer"):
        fixture = request.getfixturevalue(name)
        assert fixture.__name__ == name and fixture.__doc__


@pytest.mark.peers
def test_the_framework_fixtures_import_their_framework_only_when_used(pytester):
    pytester.makepyfile(test_light='''
import sys


def test_light(check_vjp):
    assert "torch" not in sys.modules and "jax" not in sys.modules
''')
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
