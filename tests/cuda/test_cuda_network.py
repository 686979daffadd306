"""The CUDA network kernels against the SymPy reference (:mod:`verify.symbolic.network`)."""

from __future__ import annotations

import numpy as np
import pytest
from numba import cuda

from verify.checks.failure import CheckFailure
from verify.kernels import losses as cpu_losses
from verify.kernels import network as cpu
from verify.kernels.cuda import network as cn
from verify.symbolic.network import reference_value_and_grad

pytestmark = pytest.mark.cuda

MIXED = cpu.Network((cpu.dense_layer(5, 4, "tanh"), cpu.residual_layer(4, "sigmoid"),
                     cpu.conv1d_layer(4, 2, "relu"), cpu.dense_layer(3, 3, "identity")), loss="softmax_cross_entropy")
SQUARES = cpu.Network.from_widths((3, 4, 2), activation="tanh", loss="least_squares")


def _problem(network, seed=0, n=4):
    rng = np.random.default_rng(seed)
    params = cpu.init_parameters(network, rng)
    y = rng.normal(size=(n, network.input_width))
    if network.loss == "least_squares":
        return params, y, rng.normal(size=(n, network.output_width))
    return params, y, rng.integers(0, network.output_width, n)


def _check(assert_close, network, grads, grad_y, ref_grads, ref_grad_y, what):
    # Normwise bound: every entry is a sum of at most (width·depth·N) rounded products along the chain,
    # so its error is ≲ that count · eps · (the largest entry of the gradient); 16 roundings each (conftest).
    count = max(max(layer.n_in, layer.n_out) for layer in network.layers) * network.depth * 4
    for j, ((w, b), (rw, rb)) in enumerate(zip(grads, ref_grads, strict=True)):
        for name, got, ref in ((f"K/θ of layer {j}", w, rw), (f"b of layer {j}", b, rb)):
            assert_close(got, ref, np.full(np.shape(ref), count * np.abs(ref).max()), np.float64, f"{what}: {name}")
    assert_close(grad_y, ref_grad_y, np.full(ref_grad_y.shape, count * np.abs(ref_grad_y).max()), np.float64,
                 f"{what}: ∇y")


@pytest.mark.parametrize("network", [MIXED, SQUARES], ids=["dense-residual-conv-dense", "least-squares"])
def test_value_and_grad_match_symbolic(assert_close, network):
    params, y, target = _problem(network)
    value, grads, grad_y = cn.network_value_and_grad(network, params, y, target)
    ref_value, ref_grads, ref_grad_y = reference_value_and_grad(network, params, y, target)
    assert_close(value, ref_value, abs(ref_value) * 8, np.float64, "loss")
    _check(assert_close, network, grads, grad_y, ref_grads, ref_grad_y, "cuda backward")


@pytest.mark.parametrize(("ta", "tb"), [(False, False), (True, False), (False, True), (True, True)])
def test_tiled_matmul_matches_exact_products(ta, tb):
    rng = np.random.default_rng(3)
    m, k, n = 9, 6, 7  # none a multiple of the tile: every edge tile is padded
    # Small integers: every product and partial sum is exact, so the result must be bit-exact.
    a = rng.integers(-8, 8, size=(k, m) if ta else (m, k)).astype(np.float64)
    b = rng.integers(-8, 8, size=(n, k) if tb else (k, n)).astype(np.float64)
    expected = (a.T if ta else a) @ (b.T if tb else b)
    np.testing.assert_array_equal(cn.matmul(a, b, transpose_a=ta, transpose_b=tb), expected)


def test_device_inputs_give_device_gradients_equal_to_host_ones():
    params, y, target = _problem(SQUARES, seed=1)
    d_params = [(cuda.to_device(w), cuda.to_device(b)) for w, b in params]
    value, grads, grad_y = cn.network_value_and_grad(SQUARES, d_params, cuda.to_device(y), cuda.to_device(target))
    host_value, host_grads, host_grad_y = cn.network_value_and_grad(SQUARES, params, y, target)
    assert value == host_value and not isinstance(grad_y, np.ndarray)
    np.testing.assert_array_equal(grad_y.copy_to_host(), host_grad_y)
    np.testing.assert_array_equal(grads[0][0].copy_to_host(), host_grads[0][0])


# ------------------------------------------------------------------------------ wrong backward passes


def test_missing_activation_derivative_is_caught(assert_close):
    params, y, target = _problem(MIXED, seed=2)
    tape = cn.network_forward(MIXED, params, y)
    ref_value, ref_grads, ref_grad_y = reference_value_and_grad(MIXED, params, y, target, reduction="sum")
    _, grad_output = cpu_losses.softmax_cross_entropy(tape.output, target, reduction="sum", backend="numpy")
    flat = cpu.Tape(tape.inputs, tuple(np.ones_like(s) for s in tape.slopes), tape.output)  # σ' forgotten
    grads, grad_y = cn.network_backward(MIXED, params, flat, grad_output)
    with pytest.raises(CheckFailure):
        _check(assert_close, MIXED, grads, grad_y, ref_grads, ref_grad_y, "σ' missing")
    grads, grad_y = cn.network_backward(MIXED, params, tape, grad_output)
    _check(assert_close, MIXED, grads, grad_y, ref_grads, ref_grad_y, "right backward")


def test_dropped_residual_path_is_caught(assert_close):
    params, y, target = _problem(MIXED, seed=4)
    tape = cn.network_forward(MIXED, params, y)
    _, ref_grads, ref_grad_y = reference_value_and_grad(MIXED, params, y, target, reduction="sum")
    _, grad_output = cpu_losses.softmax_cross_entropy(tape.output, target, reduction="sum", backend="numpy")
    as_dense = cpu.Network((MIXED.layers[0], cpu.dense_layer(4, 4, "sigmoid"), *MIXED.layers[2:]), MIXED.loss)
    grads, grad_y = cn.network_backward(as_dense, params, tape, grad_output)  # δ_{j−1} = Δ_j K_j only
    with pytest.raises(CheckFailure):
        _check(assert_close, MIXED, grads, grad_y, ref_grads, ref_grad_y, "residual dropped")


# ------------------------------------------------------------------------------ bad input


def test_bad_input_gets_clear_errors():
    params, y, target = _problem(SQUARES)
    with pytest.raises(ValueError, match=r"params\[1\]\[0\] \(K of layer 1: dense 4→2, identity\) must have shape"):
        cn.network_forward(SQUARES, [params[0], (params[1][0].T.copy(), params[1][1])], y)
    with pytest.raises(ValueError, match=r"y must have shape \(N, 3\)"):
        cn.network_forward(SQUARES, params, np.ones((2, 4)))
    with pytest.raises(TypeError, match="y must have the dtype of the parameters"):
        cn.network_forward(SQUARES, params, y.astype(np.float32))
    with pytest.raises(ValueError, match=r"params must hold 2 \(weight, bias\) pairs"):
        cn.network_forward(SQUARES, params[:1], y)
    with pytest.raises(ValueError, match="C-contiguous"):  # a device array is used in place, never copied
        cn.network_forward(SQUARES, [(cuda.to_device(params[0][0].T.copy()).T, params[0][1]), params[1]], y)
    with pytest.raises(ValueError, match=r"tape.inputs\[0\] must have shape"):
        tape = cn.network_forward(SQUARES, params, y)
        cn.network_backward(SQUARES, params, cpu.Tape((tape.inputs[0][:, :2], tape.inputs[1]), tape.slopes,
                                                      tape.output), np.ones(tape.output.shape))
