"""The symbolic network reference: the layer-wise chain rule equals sympy.diff of the whole composite,
and the worked example of 002_1388b78ad9a2d202.txt ("Example: Backward Propagation") is derived."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings

from verify.kernels.network import Network, conv1d_layer, dense_layer, init_parameters, residual_layer
from verify.strategies import network_architectures, network_problems
from verify.symbolic.network import (
    composite_value_and_grad,
    layer_expression,
    network_expression,
    reference_value_and_grad,
    worked_example,
)

SMALL = network_architectures(max_depth=3, max_width=3)


def _same(a, b):
    value_a, grads_a, y_a = a
    value_b, grads_b, y_b = b
    assert value_a == value_b
    for (wa, ba), (wb, bb) in zip(grads_a, grads_b, strict=True):
        np.testing.assert_array_equal(wa, wb)
        np.testing.assert_array_equal(ba, bb)
    np.testing.assert_array_equal(y_a, y_b)


@settings(max_examples=8)
@given(problem=network_problems(architectures=SMALL, max_batch=2))
def test_chain_reference_equals_composite_diff(problem):
    # Both are correctly rounded values of the same real numbers, so they agree bit for bit.
    network, params, y, target = problem
    _same(reference_value_and_grad(network, params, y, target),
          composite_value_and_grad(network, params, y, target))


def test_chain_reference_equals_composite_diff_every_kind():
    network = Network((dense_layer(2, 3, "tanh"), conv1d_layer(3, 2, "sigmoid"), residual_layer(2, "relu")),
                      "least_squares")
    rng = np.random.default_rng(3)
    params = init_parameters(network, rng)
    y, c = rng.standard_normal((2, 2)), rng.standard_normal((2, 2))
    _same(reference_value_and_grad(network, params, y, c, reduction="sum"),
          composite_value_and_grad(network, params, y, c, reduction="sum"))


def test_layer_expressions_are_the_slides_layers():
    v = sp.Matrix(sp.symbols("v0:3"))
    K = sp.Matrix(3, 3, lambda i, j: sp.Symbol(f"k{i}{j}"))
    b = sp.Matrix(sp.symbols("b0:3"))
    residual = layer_expression(residual_layer(3, "identity"), v, K, b)
    assert sp.simplify(residual - (v + K * v + b)) == sp.zeros(3, 1)
    theta = sp.Matrix(sp.symbols("t0:2"))
    conv = layer_expression(conv1d_layer(3, 2, "identity"), v, theta, b[:2, :])
    t0, t1 = theta
    assert sp.expand(conv[0] - (t0 * v[0] + t1 * v[1] + b[0])) == 0
    assert sp.expand(conv[1] - (t0 * v[1] + t1 * v[2] + b[1])) == 0


def test_network_expression_symbols():
    network = Network((dense_layer(2, 2, "tanh"), dense_layer(2, 2, "identity")), "softmax_cross_entropy")
    loss, theta, y, c = network_expression(network)
    assert len(theta) == 2 * (4 + 2) and len(y) == 2 and len(c) == 2
    assert loss.free_symbols == set(theta) | set(y) | set(c)


def test_reference_rejects_bad_target():
    network = Network((dense_layer(2, 2),), "softmax_cross_entropy")
    params = init_parameters(network, np.random.default_rng(0))
    with pytest.raises(ValueError, match="labels"):
        reference_value_and_grad(network, params, np.ones((1, 2)), np.array([2]))
    with pytest.raises(ValueError, match="reduction"):
        reference_value_and_grad(network, params, np.ones((1, 2)), np.array([1]), reduction="none")


# --------------------------------------------------------------------------------------------------
# 002_1388b78ad9a2d202.txt, "Example: Backward Propagation"
# --------------------------------------------------------------------------------------------------


def test_worked_example_formulas_equal_sympy_diff():
    example = worked_example()
    assert example.verified == dict.fromkeys(("u2", "W", "u1", "K", "b", "y"), True)
    assert set(example.formulas_latex) == set(example.gradients)
    assert r"\mathbf{W}^\top" in example.formulas_latex["K"]


def test_worked_example_as_written_is_the_negative_gradient_and_drops_W_transpose():
    example = worked_example()
    # Every formula on the slide is refuted: each has c − σ(u₂) where the gradient has σ(u₂) − c, and
    # those for K, b and y also lack the factor Wᵀ.
    assert example.as_written_holds == dict.fromkeys(("u2", "W", "u1", "K", "b", "y"), False)
    values = example.counterexample["values"]
    for name in ("u2", "W", "u1"):
        np.testing.assert_allclose(values[name]["as_written"], -np.array(values[name]["gradient"]), rtol=1e-14)
    for name in ("K", "b", "y"):
        assert not np.allclose(values[name]["as_written"], -np.array(values[name]["gradient"]))
    # With the sign fixed, the slide's K, b, y formulas are still wrong: Wᵀ is missing (unless W = I).
    W = example.symbols["W"]
    fixed = {k: -example.as_written[k] for k in ("K", "b", "y")}
    identity = {w: int(i == j) for (i, j), w in np.ndenumerate(np.array(W.tolist(), dtype=object))}
    for name, formula in fixed.items():
        assert any(sp.simplify(e) != 0 for e in formula - example.formulas[name])
        assert all(sp.simplify(e) == 0 for e in (formula - example.formulas[name]).subs(identity))


def test_worked_example_reproduces_on_the_kernel():
    # The same network on the kernel: F(y) = W a(Ky + b) is dense(tanh) then dense(identity) with a zero bias.
    example = worked_example()
    point = {k: float(sp.Rational(v)) for k, v in example.counterexample["point"].items() if k != "a"}
    from verify.kernels.network import network_value_and_grad

    K = np.array([[point["K_11"], point["K_12"]], [point["K_21"], point["K_22"]]])
    W = np.array([[point["W_11"], point["W_12"]], [point["W_21"], point["W_22"]]])
    b = np.array([point["b_1"], point["b_2"]])
    y = np.array([[point["y_1"], point["y_2"]]])
    c = np.array([[point["c_1"], 1.0 - point["c_1"]]])
    network = Network((dense_layer(2, 2, "tanh"), dense_layer(2, 2, "identity")), "softmax_cross_entropy")
    _, grads, grad_y = network_value_and_grad(network, [(K, b), (W, np.zeros(2))], y, c, backend="numpy")
    gradient = example.counterexample["values"]
    np.testing.assert_allclose(grads[1][0].ravel(), gradient["W"]["gradient"], rtol=1e-13)
    np.testing.assert_allclose(grads[0][0].ravel(), gradient["K"]["gradient"], rtol=1e-13)
    np.testing.assert_allclose(grads[0][1], gradient["b"]["gradient"], rtol=1e-13)
    np.testing.assert_allclose(grad_y[0], gradient["y"]["gradient"], rtol=1e-13)
