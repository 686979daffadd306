"""Network forward/backward kernels against the SymPy reference, central differences and wrong twins.

Tolerance: every output of :func:`network_value_and_grad` must lie within twice the first-order
rounding-error bound of :func:`backward_error_bound` (dot products err by γ_n times the dot product of
absolute values; activations by a few ulps plus their Lipschitz constants times the error of their
argument; the factor 2 covers the dropped O(u²) terms). The bound is derived from the dtype and the
magnitudes of the problem, never fitted; a wrong backward errs by O(|∇L|), orders of magnitude above it.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from verify._network_strategies import network_architectures, network_problems
from verify.checks.failure import CheckFailure, error_table
from verify.checks.gradient import check_gradient
from verify.kernels.network import (
    ErrorBound,
    Layer,
    Network,
    backward_error_bound,
    conv1d_layer,
    conv_matrix,
    conv_matrix_adjoint,
    dense_layer,
    init_parameters,
    network_backward,
    network_forward,
    network_loss,
    network_value_and_grad,
    residual_layer,
)
from verify.symbolic.network import reference_value_and_grad

# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


def assert_within(computed, reference, bound, dtype, what):
    """|computed − reference| ≤ 2·bound + 8 smallest subnormals, entry by entry, else CheckFailure."""
    c = np.asarray(computed, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    if c.shape != r.shape:
        raise CheckFailure(f"{what}: shape {c.shape}, the reference has shape {r.shape}")
    allowed = 2.0 * np.asarray(bound, dtype=np.float64) + 8 * float(np.finfo(dtype).smallest_subnormal)
    error = np.abs(c - r)
    if not np.all(error <= allowed):
        worst = float(np.max(error / allowed))
        raise CheckFailure(
            f"{what}: error {worst:.3g}× the allowed 2·(first-order rounding bound)\n"
            + error_table(c.reshape(r.shape) if r.ndim else c.reshape(1), r if r.ndim else r.reshape(1), dtype=dtype)
        )


def assert_matches(result, reference, bound: ErrorBound, dtype):
    value, grads, grad_y = result
    ref_value, ref_grads, ref_y = reference
    assert_within(value, ref_value, bound.value, dtype, "loss value")
    if len(grads) != len(ref_grads):
        raise CheckFailure(f"{len(grads)} layer gradients for {len(ref_grads)} layers")
    for j, ((gw, gb), (rw, rb), (bw, bb)) in enumerate(zip(grads, ref_grads, bound.grads, strict=True)):
        assert_within(gw, rw, bw, dtype, f"∇ weight of layer {j}")
        assert_within(gb, rb, bb, dtype, f"∇ bias of layer {j}")
    assert_within(grad_y, ref_y, bound.input, dtype, "∇y")


def check_against_symbolic(problem, reduction, value_and_grad, *, drawn=True):
    network, params, y, target = problem
    dtype = y.dtype
    bound = backward_error_bound(network, params, y, target, reduction=reduction)
    # At a ReLU kink (a pre-activation within its rounding error of 0) the gradient is discontinuous.
    if drawn:
        assume(not bound.near_kink)
    else:
        assert not bound.near_kink
    reference = reference_value_and_grad(network, params, y, target, reduction=reduction)
    assert_matches(value_and_grad(network, params, y, target, reduction), reference, bound, dtype)


def kernel(backend):
    def value_and_grad(network, params, y, target, reduction):
        return network_value_and_grad(network, params, y, target, reduction=reduction, backend=backend)

    return value_and_grad


# --------------------------------------------------------------------------------------------------
# every backend equals the symbolic gradient
# --------------------------------------------------------------------------------------------------


@given(problem=network_problems(), reduction=st.sampled_from(("mean", "sum")))
def test_value_and_gradient_match_symbolic_float64(backend, problem, reduction):
    check_against_symbolic(problem, reduction, kernel(backend))


@settings(max_examples=15)
@given(problem=network_problems(dtype=np.float32))
def test_value_and_gradient_match_symbolic_float32(backend, problem):
    check_against_symbolic(problem, "mean", kernel(backend))


def test_every_layer_kind_and_activation_fixed_example(backend):
    # A deterministic example that holds every kind and activation at once (the drawn ones mix them).
    network = Network((dense_layer(5, 4, "tanh"), residual_layer(4, "sigmoid"), conv1d_layer(4, 2, "relu"),
                       dense_layer(3, 3, "identity")), "softmax_cross_entropy")
    rng = np.random.default_rng(4)
    params = init_parameters(network, rng)
    y = rng.standard_normal((4, 5))
    check_against_symbolic((network, params, y, np.array([0, 2, 1, 2])), "mean", kernel(backend),
                           drawn=False)


def test_forward_output_and_tape(backend):
    network = Network((dense_layer(3, 2, "sigmoid"), residual_layer(2, "tanh")), "least_squares")
    params = [(np.array([[1.0, -2.0, 0.5], [0.0, 1.0, 1.0]]), np.array([0.1, -0.1])),
              (np.array([[0.5, 0.0], [1.0, -1.0]]), np.array([0.0, 0.2]))]
    y = np.array([[1.0, 0.5, -1.0]])
    tape = network_forward(network, params, y, backend=backend)
    z1 = params[0][0] @ y[0] + params[0][1]
    u1 = 1.0 / (1.0 + np.exp(-z1))
    z2 = params[1][0] @ u1 + params[1][1]
    np.testing.assert_allclose(tape.output[0], u1 + np.tanh(z2), rtol=4e-16)
    np.testing.assert_allclose(tape.slopes[0][0], u1 * (1 - u1), rtol=1e-15)
    np.testing.assert_allclose(tape.slopes[1][0], 1 - np.tanh(z2) ** 2, rtol=1e-15)
    np.testing.assert_array_equal(tape.inputs[0], y)
    np.testing.assert_allclose(tape.inputs[1][0], u1, rtol=4e-16)


def test_input_grad_false_skips_the_input_gradient(backend):
    network = Network.from_widths((4, 3, 2))
    params = init_parameters(network, np.random.default_rng(0))
    y = np.random.default_rng(1).standard_normal((3, 4))
    _, grads, grad_y = network_value_and_grad(network, params, y, np.array([0, 1, 1]), input_grad=False,
                                              backend=backend)
    _, full, _ = network_value_and_grad(network, params, y, np.array([0, 1, 1]), backend=backend)
    assert grad_y is None
    for (a, b), (c, d) in zip(grads, full, strict=True):
        assert np.array_equal(a, c) and np.array_equal(b, d)


def test_saturated_tanh_slope_keeps_relative_accuracy(backend):
    # At z = 25, tanh'(z) = sech²(25) ≈ 7.7e-22; 1 − tanh² would give exactly 0.
    network = Network((dense_layer(1, 1, "tanh"),), "least_squares")
    params = [(np.array([[1.0]]), np.array([0.0]))]
    tape = network_forward(network, params, np.array([[25.0]]), backend=backend)
    assert tape.slopes[0][0, 0] == pytest.approx(1.0 / np.cosh(25.0) ** 2, rel=4e-16)


@pytest.mark.parametrize("weight, flagged", [(1.3843430370615815e-233, True), (1e-100, False)])
def test_a_pre_activation_that_underflows_to_zero_is_next_to_the_kink(weight, flagged):
    # Found by the soak: w·y = 1.9e-466 > 0 in exact arithmetic underflows to 0, where the kernel takes
    # ReLU's slope 0 and the exact reference 1. No rounding bound holds there, so the bound must flag it;
    # at 1e-100 (w·y = 1e-200, a normal number) the slope is 1 on both sides and nothing is flagged.
    network = Network((dense_layer(2, 1, "relu"),), "least_squares")
    params = [(np.array([[weight, 0.0]]), np.array([0.0]))]
    y, target = np.array([[weight, 0.0]]), np.array([[1.0]])
    bound = backward_error_bound(network, params, y, target)
    assert bound.near_kink is flagged
    if not flagged:
        check_against_symbolic((network, params, y, target), "mean", kernel("numpy"), drawn=False)


def test_conv_matrix_and_adjoint():
    theta = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(conv_matrix(theta, 4), [[1, 2, 3, 0], [0, 1, 2, 3]])
    g = np.arange(8.0).reshape(2, 4)
    # ⟨G, K(θ)⟩ = ⟨adjoint(G), θ⟩ for every θ: the adjoint is the gradient map
    for t in np.eye(3):
        assert np.sum(g * conv_matrix(t, 4)) == conv_matrix_adjoint(g, 3) @ t


# --------------------------------------------------------------------------------------------------
# larger networks: check_gradient along random directions
# --------------------------------------------------------------------------------------------------

LARGE = Network((dense_layer(120, 200, "tanh"), residual_layer(200, "sigmoid"), conv1d_layer(200, 7, "tanh"),
                 dense_layer(194, 10, "identity")), "softmax_cross_entropy")
# The same chain of layer kinds at widths Numba's CUDA simulator runs in seconds rather than a quarter of
# an hour (it runs every GPU thread as a Python thread).
LARGE_ON_SIMULATOR = Network((dense_layer(12, 20, "tanh"), residual_layer(20, "sigmoid"), conv1d_layer(20, 7, "tanh"),
                              dense_layer(14, 10, "identity")), "softmax_cross_entropy")
N_DIRECTIONS = 3


def _large_network(backend: str) -> Network:
    if backend != "cuda":
        return LARGE
    from verify.kernels.cuda._device import simulator_enabled

    return LARGE_ON_SIMULATOR if simulator_enabled() else LARGE


def _large_problem(network=LARGE):
    rng = np.random.default_rng(11)
    params = init_parameters(network, rng)
    y = rng.standard_normal((6, network.input_width))
    labels = rng.integers(0, 10, 6)
    flat = [a for pair in params for a in pair] + [y]
    directions = [[rng.standard_normal(a.shape) for a in flat] for _ in range(N_DIRECTIONS)]
    for d in directions:  # unit vectors in the space of all parameters and inputs
        norm = np.sqrt(sum(float(np.sum(x * x)) for x in d))
        for x in d:
            x /= norm
    return params, y, labels, directions


def _moved(params, y, directions, t):
    flat = [a for pair in params for a in pair] + [y]
    moved = [a + sum(ti * d[k] for ti, d in zip(t, directions, strict=True)) for k, a in enumerate(flat)]
    return [(moved[2 * j], moved[2 * j + 1]) for j in range(len(params))], moved[-1]


def directional_check(value_and_grad, network=LARGE):
    """check_gradient on g(t) = L(θ + Σ t_i v_i, y + Σ t_i v_i^y) at t = 0: its gradient is (⟨∇L, v_i⟩)_i."""
    params, y, labels, directions = _large_problem(network)

    def f(t):
        p, yy = _moved(params, y, directions, t)
        return network_loss(network, p, yy, labels, backend="numpy")

    def grad(t):
        p, yy = _moved(params, y, directions, t)
        _, grads, grad_y = value_and_grad(network, p, yy, labels, "mean")
        flat = [a for pair in grads for a in pair] + [grad_y]
        return np.array([sum(float(np.sum(g * v)) for g, v in zip(flat, d, strict=True)) for d in directions])

    return check_gradient(f, grad, (np.zeros(N_DIRECTIONS),), reference="central differences", vectorized=False)


def test_large_network_directional_derivatives(backend):
    report = directional_check(kernel(backend), _large_network(backend))
    assert report is not None


# --------------------------------------------------------------------------------------------------
# wrong backward passes are caught
# --------------------------------------------------------------------------------------------------


def buggy_value_and_grad(bug):
    """A NumPy backward written out here, correct for ``bug=None``, with one classic mistake otherwise."""

    def value_and_grad(network, params, y, target, reduction):
        tape = network_forward(network, params, y, backend="numpy")
        value, _, _ = network_value_and_grad(network, params, y, target, reduction=reduction, backend="numpy")
        n = y.shape[0]
        if network.loss == "least_squares":
            delta = (tape.output - target) / n
        else:
            e = np.exp(tape.output - tape.output.max(axis=1, keepdims=True))
            c = np.eye(network.output_width)[target] if np.asarray(target).dtype.kind in "iu" else target
            delta = (e / e.sum(axis=1, keepdims=True) - c) / n
        grads = [None] * network.depth
        for j in range(network.depth - 1, -1, -1):
            layer, (weight, _) = network.layers[j], params[j]
            matrix = conv_matrix(weight, layer.n_in) if layer.kind == "conv1d" else weight
            slope = tape.slopes[j - 1] if bug == "off_by_one" and j > 0 else tape.slopes[j]
            dz = delta if bug == "no_activation_derivative" else delta * slope
            if bug == "reshaped_transpose":
                grad_matrix = (tape.inputs[j].T @ dz).reshape(matrix.shape)
            else:
                grad_matrix = dz.T @ tape.inputs[j]
            grad_weight = conv_matrix_adjoint(grad_matrix, weight.shape[0]) if layer.kind == "conv1d" else grad_matrix
            grads[j] = (grad_weight, dz.sum(axis=0))
            square = matrix.shape[0] == matrix.shape[1]  # Kᵀ fits only there (LARGE: the residual layer)
            previous = dz @ (matrix.T if bug == "transposed_weight" and square else matrix)
            if layer.kind == "residual" and bug != "residual_dropped":
                previous = previous + delta
            delta = previous
        return value, grads, delta

    return value_and_grad


_BUG_NETWORKS = {
    # square layers: a transposed K still has the right shape, only its values are wrong
    "transposed_weight": Network((dense_layer(3, 3, "tanh"), dense_layer(3, 3, "sigmoid"), dense_layer(3, 2)),
                                 "softmax_cross_entropy"),
    # non-square layers: (Uᵀ Δ) reshaped instead of transposed has K's shape and wrong values
    "reshaped_transpose": Network((dense_layer(4, 3, "tanh"), dense_layer(3, 2, "identity")), "least_squares"),
    "no_activation_derivative": Network((dense_layer(3, 4, "tanh"), conv1d_layer(4, 2, "sigmoid"),
                                         dense_layer(3, 2, "identity")), "softmax_cross_entropy"),
    "residual_dropped": Network((dense_layer(3, 3, "tanh"), residual_layer(3, "tanh"), dense_layer(3, 2, "identity")),
                                "least_squares"),
    # equal widths, so the previous layer's slopes have the right shape
    "off_by_one": Network((dense_layer(3, 3, "tanh"), dense_layer(3, 3, "sigmoid"), dense_layer(3, 3, "tanh")),
                          "least_squares"),
}


def _bug_problem(network):
    rng = np.random.default_rng(7)
    params = init_parameters(network, rng)
    y = rng.standard_normal((3, network.input_width))
    if network.loss == "least_squares":
        target = rng.standard_normal((3, network.output_width))
    else:
        target = rng.integers(0, network.output_width, 3)
    return network, params, y, target


@pytest.mark.parametrize("bug", sorted(_BUG_NETWORKS))
def test_wrong_backward_caught_by_symbolic_reference(bug):
    problem = _bug_problem(_BUG_NETWORKS[bug])
    check_against_symbolic(problem, "mean", buggy_value_and_grad(None), drawn=False)  # right without the bug
    with pytest.raises(CheckFailure):
        check_against_symbolic(problem, "mean", buggy_value_and_grad(bug), drawn=False)


@pytest.mark.parametrize("bug", ["no_activation_derivative", "residual_dropped", "transposed_weight"])
def test_wrong_backward_caught_on_large_network(bug):
    directional_check(buggy_value_and_grad(None))
    with pytest.raises(CheckFailure):
        directional_check(buggy_value_and_grad(bug))


# --------------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------------


def test_layers_that_do_not_chain():
    with pytest.raises(ValueError, match=r"layers\[1\].n_in = 4 but layers\[0\].n_out = 3"):
        Network((dense_layer(2, 3), dense_layer(4, 2)))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Layer("residual", 3, 4), "residual"),
        (lambda: conv1d_layer(3, 4), "kernel_size"),
        (lambda: dense_layer(3, 2, "softplus"), "activation"),
        (lambda: Layer("pooling", 3, 2), "kind"),
        (lambda: dense_layer(0, 2), "n_in"),
        (lambda: Network((dense_layer(2, 2),), "hinge"), "loss"),
        (lambda: Network(()), "layers"),
    ],
)
def test_bad_architecture(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def _small():
    network = Network((dense_layer(3, 4), conv1d_layer(4, 2), dense_layer(3, 2)), "least_squares")
    return network, init_parameters(network, np.random.default_rng(0)), np.ones((2, 3))


def test_bad_parameters_named(backend):
    network, params, y = _small()
    wrong = list(params)
    wrong[2] = (params[2][0].T, params[2][1])
    with pytest.raises(ValueError, match=r"params\[2\]\[0\].*shape \(2, 3\); got \(3, 2\)"):
        network_forward(network, wrong, y, backend=backend)
    wrong = list(params)
    wrong[1] = (np.ones(3), params[1][1])
    with pytest.raises(ValueError, match=r"params\[1\]\[0\] \(θ of layer 1"):
        network_forward(network, wrong, y, backend=backend)
    with pytest.raises(ValueError, match="3 \\(weight, bias\\) pairs"):
        network_forward(network, params[:2], y, backend=backend)
    wrong = list(params)
    wrong[0] = (params[0][0].astype(np.float32), params[0][1])
    with pytest.raises(TypeError, match=r"params\[0\]\[1\] must have dtype float32"):
        network_forward(network, wrong, y, backend=backend)
    wrong[0] = (params[0][0].astype(np.int64), params[0][1])
    with pytest.raises(TypeError, match=r"params\[0\]\[0\]"):
        network_forward(network, wrong, y, backend=backend)
    wrong[0] = (np.full((4, 3), np.nan), params[0][1])
    with pytest.raises(ValueError, match=r"params\[0\]\[0\] must be finite"):
        network_forward(network, wrong, y, backend=backend)


def test_bad_input_named(backend):
    network, params, y = _small()
    with pytest.raises(ValueError, match=r"y must have shape \(N, 3\).*got \(2, 4\)"):
        network_forward(network, params, np.ones((2, 4)), backend=backend)
    with pytest.raises(ValueError, match="y must have ndim"):
        network_forward(network, params, np.ones(3), backend=backend)
    with pytest.raises(TypeError, match="y must have the dtype of the parameters"):
        network_forward(network, params, np.ones((2, 3), dtype=np.float32), backend=backend)
    with pytest.raises(ValueError, match="y must be finite"):
        network_forward(network, params, np.array([[1.0, np.inf, 0.0]]), backend=backend)
    tape = network_forward(network, params, y, backend=backend)
    with pytest.raises(ValueError, match="grad_output must have the shape"):
        network_backward(network, params, tape, np.ones((2, 3)), backend=backend)
    with pytest.raises(ValueError, match="target"):
        network_value_and_grad(network, params, y, np.ones((2, 3)), backend=backend)
    with pytest.raises(ValueError, match="reduction"):
        network_value_and_grad(network, params, y, np.ones((2, 2)), reduction="none", backend=backend)


@settings(max_examples=20)
@given(network=network_architectures())
def test_strategy_draws_valid_architectures(network):
    assert 1 <= network.depth <= 4
    assert all(1 <= layer.n_out <= 6 and 1 <= layer.n_in <= 6 for layer in network.layers)
    assert all(layer.n_in == layer.n_out for layer in network.layers if layer.kind == "residual")


def test_a_float64_bound_counts_underflow_in_a_subnormal_weights_gradient():
    """A soak find (seed 1301): a conv1d weight of 1.1e-308 makes the previous conv layer's weight gradient a sum of
    subnormal products (1.2e-309, 9 subnormals off the reference); the bound's underflow term, ½ the smallest
    subnormal per product, was 4.9e-324 / 2 — 0 in float64 — so the allowed error was 8 subnormals."""
    layers = (Layer(kind="residual", n_in=3, n_out=3, activation="identity"),
              Layer(kind="residual", n_in=3, n_out=3, activation="identity"),
              Layer(kind="conv1d", n_in=3, n_out=3, activation="identity"),
              Layer(kind="conv1d", n_in=3, n_out=3, activation="sigmoid"))
    params = [(np.zeros((3, 3)), np.zeros(3)), (np.zeros((3, 3)), np.full(3, 2.0)), (np.array([0.0]), np.zeros(3)),
              (np.array([1.11253693e-308]), np.full(3, -1.75))]
    problem = (Network(layers=layers, loss="least_squares"), params, np.zeros((3, 3)), np.zeros((3, 3)))
    bound = backward_error_bound(*problem, reduction="mean")
    assert bound.grads[2][0][0] > 0.0
    for backend in ("numpy", "cpu"):
        check_against_symbolic(problem, "mean", kernel(backend), drawn=False)
