"""Feed-forward networks: forward pass, backpropagation and a loss head, batched over examples.

A network is a composite function (``002_1388b78ad9a2d202.txt``, slide "Architectures 101")

    F(y, θ) = f_d(f_{d−1}(⋯ f_1(y, θ_1) ⋯), θ_d),     u_0 = y,  u_j = f_j(u_{j−1}, θ_j),

whose layers are (same seed, slide "Many Types of Layers")

- ``dense``:     u_j = σ(K_j u_{j−1} + b_j),                    K_j ∈ R^{n_j × n_{j−1}}, b_j ∈ R^{n_j};
- ``residual``:  u_j = u_{j−1} + σ(K_j u_{j−1} + b_j),          K_j square;
- ``conv1d``:    u_j = σ(K(θ_j) u_{j−1} + b_j),  K(θ) ∈ R^{(n−k+1) × n} the structured ("valid",
  cross-correlation) convolution matrix K(θ)_{i, i+l} = θ_l of a kernel θ ∈ R^k (:func:`conv_matrix`).

σ is one of :data:`verify.kernels.activations.ACTIVATIONS`. The loss head is least squares
½‖F − c‖² or softmax cross-entropy −cᵀ log softmax(F) (same seed, slide "Loss Functions"), averaged
(``reduction="mean"``) or summed over the batch, as in ``001_02deb113427fab16.txt``, slide "Chain rule
and Backpropagation": L(θ) = (1/n) Σ_i l(NN_θ(x⁽ⁱ⁾), y⁽ⁱ⁾).

Backpropagation (``002_1388b78ad9a2d202.txt``, slide "Backward Propagation: Chain Rule") with
δ_j = ∇_{u_j} L and row-major batches (one example per row, so ``U_j = σ(U_{j−1} K_jᵀ + b_j)``):

    Δ_j = δ_j ⊙ σ'(z_j),   ∇_{K_j} L = Δ_jᵀ U_{j−1},   ∇_{b_j} L = Σ_rows Δ_j,
    δ_{j−1} = Δ_j K_j  (+ δ_j for a residual layer),
    ∇_{θ_j} L = (Σ_i (∇_{K(θ_j)} L)_{i, i+l})_l for a convolution (the adjoint of θ ↦ K(θ)).

The forward pass keeps, per layer, its input U_{j−1} and the slope σ'(z_j) (a :class:`Tape`); the
backward pass needs nothing else. Backends: ``numpy`` (vectorised, the conv layer as the dense matrix
K(θ)), ``cpu`` (``@njit``) and ``parallel`` (``@njit(parallel=True)``, ``prange`` over examples); all
three keep the matrix products in BLAS (``np.dot``) and, on the Numba backends, fuse the elementwise
work (bias, activation, slope, residual add) into one pass over the product.

Example::

    net = Network.from_widths((784, 256, 256, 10), activation="tanh")
    params = init_parameters(net, np.random.default_rng(0))
    value, grads, grad_y = network_value_and_grad(net, params, y, labels)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import prange

from verify._jit import jit, parallel_jit
from verify._validate import as_float_array, describe, require_choice, require_finite
from verify.kernels import losses as _losses
from verify.kernels._backend import cuda_route, dispatch, resolve_backend
from verify.kernels.activations import (
    ACTIVATION_CODES,
    ACTIVATIONS,
    activation,
    activation_derivative,
)
from verify.kernels.elementary import exp_nonpositive

__all__ = [
    "LAYER_KINDS",
    "NETWORK_LOSSES",
    "REDUCTIONS",
    "Layer",
    "Network",
    "Tape",
    "dense_layer",
    "residual_layer",
    "conv1d_layer",
    "conv_matrix",
    "conv_matrix_adjoint",
    "init_parameters",
    "validate_parameters",
    "network_forward",
    "network_backward",
    "network_value_and_grad",
    "network_loss",
    "ErrorBound",
    "backward_error_bound",
]

LAYER_KINDS: tuple[str, ...] = ("dense", "residual", "conv1d")
NETWORK_LOSSES: tuple[str, ...] = ("least_squares", "softmax_cross_entropy")
REDUCTIONS: tuple[str, ...] = ("mean", "sum")


# --------------------------------------------------------------------------------------------------
# Architecture
# --------------------------------------------------------------------------------------------------


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive int; got {value!r} ({type(value).__name__})")
    if value < 1:
        raise ValueError(f"{name} must be >= 1; got {value!r}")
    return int(value)


@dataclass(frozen=True)
class Layer:
    """One layer u_out = [u_in +] σ(K u_in + b); see the module docstring for the three kinds.

    ``weight_shape`` is ``(n_out, n_in)`` for dense/residual layers and ``(k,)`` with
    ``k = n_in − n_out + 1`` (the kernel θ) for a convolution; the bias always has shape ``(n_out,)``.
    """

    kind: str
    n_in: int
    n_out: int
    activation: str = "tanh"

    def __post_init__(self) -> None:
        require_choice(self.kind, "kind", LAYER_KINDS)
        require_choice(self.activation, "activation", ACTIVATIONS)
        object.__setattr__(self, "n_in", _positive_int(self.n_in, "n_in"))
        object.__setattr__(self, "n_out", _positive_int(self.n_out, "n_out"))
        if self.kind == "residual" and self.n_in != self.n_out:
            raise ValueError(
                f"a residual layer u + σ(Ku + b) needs n_in == n_out; got n_in={self.n_in}, n_out={self.n_out}"
            )
        if self.kind == "conv1d" and self.n_out > self.n_in:
            raise ValueError(
                f"a valid 1-D convolution cannot widen its input: n_out={self.n_out} > n_in={self.n_in}"
            )

    @property
    def weight_shape(self) -> tuple[int, ...]:
        if self.kind == "conv1d":
            return (self.n_in - self.n_out + 1,)
        return (self.n_out, self.n_in)

    @property
    def bias_shape(self) -> tuple[int]:
        return (self.n_out,)

    def describe(self) -> str:
        if self.kind == "conv1d":
            return f"conv1d {self.n_in}→{self.n_out} (kernel {self.weight_shape[0]}), {self.activation}"
        return f"{self.kind} {self.n_in}→{self.n_out}, {self.activation}"


def dense_layer(n_in: int, n_out: int, activation: str = "tanh") -> Layer:
    """u_j = σ(K_j u_{j−1} + b_j) (``002_1388b78ad9a2d202.txt``, "Fully-Connected")."""
    return Layer("dense", n_in, n_out, activation)


def residual_layer(width: int, activation: str = "tanh") -> Layer:
    """u_j = u_{j−1} + σ(K_j u_{j−1} + b_j) (``002_1388b78ad9a2d202.txt``, "Residual Layer")."""
    return Layer("residual", width, width, activation)


def conv1d_layer(n_in: int, kernel_size: int, activation: str = "tanh") -> Layer:
    """u_j = σ(K(θ_j) u_{j−1} + b_j) with θ_j ∈ R^{kernel_size} (``002_1388b78ad9a2d202.txt``,
    "Convolutional Layers"); the output has ``n_in − kernel_size + 1`` entries."""
    n_in = _positive_int(n_in, "n_in")
    kernel_size = _positive_int(kernel_size, "kernel_size")
    if kernel_size > n_in:
        raise ValueError(f"kernel_size must be <= n_in={n_in}; got {kernel_size}")
    return Layer("conv1d", n_in, n_in - kernel_size + 1, activation)


@dataclass(frozen=True)
class Network:
    """A sequence of :class:`Layer` whose widths chain, and a loss head from :data:`NETWORK_LOSSES`."""

    layers: tuple[Layer, ...]
    loss: str = "softmax_cross_entropy"

    def __post_init__(self) -> None:
        layers = tuple(self.layers) if isinstance(self.layers, (list, tuple)) else self.layers
        if not isinstance(layers, tuple) or not layers:
            raise ValueError(f"layers must be a non-empty sequence of Layer; got {self.layers!r}")
        for j, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layers[{j}] must be a Layer; got {layer!r}")
        for j in range(1, len(layers)):
            if layers[j].n_in != layers[j - 1].n_out:
                raise ValueError(
                    f"layers do not chain: layers[{j}].n_in = {layers[j].n_in} but "
                    f"layers[{j - 1}].n_out = {layers[j - 1].n_out}"
                )
        require_choice(self.loss, "loss", NETWORK_LOSSES)
        object.__setattr__(self, "layers", layers)

    @classmethod
    def from_widths(
        cls,
        widths: Sequence[int],
        activation: str = "tanh",
        *,
        output_activation: str = "identity",
        loss: str = "softmax_cross_entropy",
    ) -> Network:
        """A dense network n_0 → n_1 → … → n_d: ``activation`` on hidden layers, ``output_activation`` last."""
        widths = tuple(widths)
        if len(widths) < 2:
            raise ValueError(f"widths must list at least an input and an output width; got {widths!r}")
        layers = tuple(
            dense_layer(a, b, activation if j < len(widths) - 2 else output_activation)
            for j, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True))
        )
        return cls(layers, loss)

    @property
    def depth(self) -> int:
        return len(self.layers)

    @property
    def input_width(self) -> int:
        return self.layers[0].n_in

    @property
    def output_width(self) -> int:
        return self.layers[-1].n_out


def conv_matrix(theta: np.ndarray, n_in: int) -> np.ndarray:
    """The structured matrix K(θ) ∈ R^{(n_in−k+1) × n_in}, K(θ)_{i, i+l} = θ_l (valid cross-correlation).

    ``002_1388b78ad9a2d202.txt``, slide "Many Types of Layers": u_j = σ(K(θ_j) u_{j−1} + b_j).
    """
    theta = np.asarray(theta)
    k = theta.shape[0]
    n_out = n_in - k + 1
    matrix = np.zeros((n_out, n_in), dtype=theta.dtype)
    for l in range(k):
        matrix[np.arange(n_out), np.arange(n_out) + l] = theta[l]
    return matrix


def conv_matrix_adjoint(grad_matrix: np.ndarray, kernel_size: int) -> np.ndarray:
    """The adjoint of θ ↦ K(θ): (Σ_i G_{i, i+l})_l, i.e. ∇_θ L from ∇_{K(θ)} L = G."""
    return np.array([np.trace(grad_matrix, offset=l) for l in range(kernel_size)], dtype=grad_matrix.dtype)


def init_parameters(
    network: Network, rng: np.random.Generator, *, dtype: type = np.float64, bias_scale: float = 0.1
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Random parameters ``[(K_1, b_1), …]``: K entries N(0, 1/fan_in) (θ: N(0, 1/k)), b entries N(0, bias_scale²)."""
    params = []
    for layer in network.layers:
        fan_in = layer.weight_shape[0] if layer.kind == "conv1d" else layer.n_in
        weight = rng.standard_normal(layer.weight_shape) / np.sqrt(fan_in)
        bias = bias_scale * rng.standard_normal(layer.bias_shape)
        params.append((weight.astype(dtype), bias.astype(dtype)))
    return params


def validate_parameters(
    network: Network, params: object, *, dtype: np.dtype | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``params`` as a list of ``(weight, bias)`` arrays of the shapes and one dtype ``network`` needs.

    Raises ``TypeError``/``ValueError`` naming the offending entry, e.g. ``params[1][0]``.
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be a Network; got {network!r}")
    if not isinstance(params, (list, tuple)):
        raise TypeError(f"params must be a list of (weight, bias) pairs; got {type(params).__name__}")
    if len(params) != network.depth:
        raise ValueError(f"params must hold {network.depth} (weight, bias) pairs, one per layer; got {len(params)}")
    out = []
    for j, (layer, pair) in enumerate(zip(network.layers, params, strict=True)):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise TypeError(f"params[{j}] must be a (weight, bias) pair; got {describe(pair)}")
        checked = []
        for slot, (value, shape) in enumerate(((pair[0], layer.weight_shape), (pair[1], layer.bias_shape))):
            name = f"params[{j}][{slot}]"
            array = as_float_array(value, name, dtype=dtype)
            dtype = array.dtype
            if array.shape != shape:
                what = ("θ" if layer.kind == "conv1d" else "K") if slot == 0 else "b"
                raise ValueError(
                    f"{name} ({what} of layer {j}: {layer.describe()}) must have shape {shape}; got {array.shape}"
                )
            require_finite(array, name)
            checked.append(np.ascontiguousarray(array))
        out.append((checked[0], checked[1]))
    return out


def _validate_input(network: Network, y: object, dtype: np.dtype) -> np.ndarray:
    y = as_float_array(y, "y", ndim=2)
    if y.dtype != dtype:
        raise TypeError(f"y must have the dtype of the parameters ({dtype}); got {y.dtype}")
    if y.shape[1] != network.input_width:
        raise ValueError(
            f"y must have shape (N, {network.input_width}) (one example per row, the network's input width); "
            f"got {y.shape}"
        )
    if y.shape[0] == 0:
        raise ValueError("y must hold at least one example (row); got shape " + str(y.shape))
    require_finite(y, "y")
    return np.ascontiguousarray(y)


@dataclass(frozen=True)
class Tape:
    """What the forward pass keeps for the backward pass.

    ``inputs[j]`` is U_{j−1} (the input of layer j, shape (N, n_in)), ``slopes[j]`` is σ'(z_j)
    (shape (N, n_out)), ``output`` is F(y, θ) = U_d.
    """

    inputs: tuple[np.ndarray, ...]
    slopes: tuple[np.ndarray, ...]
    output: np.ndarray


# --------------------------------------------------------------------------------------------------
# NumPy backend: the readable reference
# --------------------------------------------------------------------------------------------------


def _layer_matrix(layer: Layer, weight: np.ndarray) -> np.ndarray:
    return conv_matrix(weight, layer.n_in) if layer.kind == "conv1d" else weight


def _forward_numpy(network, params, y):
    inputs, slopes = [], []
    u = y
    for layer, (weight, bias) in zip(network.layers, params, strict=True):
        z = u @ _layer_matrix(layer, weight).T + bias
        inputs.append(u)
        slopes.append(activation_derivative(layer.activation, z, backend="numpy"))
        value = activation(layer.activation, z, backend="numpy")
        u = u + value if layer.kind == "residual" else value
    return Tape(tuple(inputs), tuple(slopes), u)


def _backward_numpy(network, params, tape, delta, input_grad):
    grads: list = [None] * network.depth
    for j in range(network.depth - 1, -1, -1):
        layer, (weight, _) = network.layers[j], params[j]
        dz = delta * tape.slopes[j]
        grad_matrix = dz.T @ tape.inputs[j]
        grad_weight = conv_matrix_adjoint(grad_matrix, weight.shape[0]) if layer.kind == "conv1d" else grad_matrix
        grads[j] = (grad_weight, dz.sum(axis=0))
        if j > 0 or input_grad:
            previous = dz @ _layer_matrix(layer, weight)
            delta = previous + delta if layer.kind == "residual" else previous
    return grads, (delta if input_grad else None)


# --------------------------------------------------------------------------------------------------
# Numba backends: BLAS products, one fused elementwise pass per layer and direction
# --------------------------------------------------------------------------------------------------


def _lambert_tanh_coefficients(depth: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Lambert's continued fraction tanh x = x / (1 + x²/(3 + x²/(5 + ⋯ + x²/(2·depth + 1)))), truncated,
    as x·P(x²)/Q(x²): the integer coefficients of P and Q (lowest power first), exact in float64."""
    q, p = [2 * depth + 1], [1]  # the tail 2·depth + 1 as q/p, polynomials in w = x²
    for k in range(depth - 1, -1, -1):  # tail_k = (2k + 1) + w / tail_{k+1}
        head = [(2 * k + 1) * c for c in q] + [0]
        for i, c in enumerate(p):
            head[i + 1] += c
        q, p = head, q
    while p[-1] == 0:
        p.pop()
    while q[-1] == 0:
        q.pop()
    return tuple(float(c) for c in p), tuple(float(c) for c in q)


# depth 7: the truncation error is below 2e-19·tanh x for |x| ≤ ½ (measured at 500 points in mpmath).
_TANH_P, _TANH_Q = _lambert_tanh_coefficients(7)


@jit(inline="always")
def _tanh_and_slope(x):
    """``(tanh x, tanh' x)`` for a float64 ``x``: for |x| < ½ from Lambert's continued fraction (:data:`_TANH_P`,
    :data:`_TANH_Q`; no exponential, no cancellation) with tanh' = 1 − tanh² ≥ 0.78 there; above, from
    e = e^{−2|x|}: tanh|x| = (1 − e)/(1 + e), tanh' = 4e/(1 + e)². Both branches are computed and one is
    selected, so that a loop over it vectorises (exp from :mod:`verify.kernels.elementary`)."""
    a = abs(x)
    w = a * a
    p = ((_TANH_P[3] * w + _TANH_P[2]) * w + _TANH_P[1]) * w + _TANH_P[0]
    q = (((_TANH_Q[4] * w + _TANH_Q[3]) * w + _TANH_Q[2]) * w + _TANH_Q[1]) * w + _TANH_Q[0]
    t_small = a * p / q
    e = exp_nonpositive(-2.0 * a, 0.0)
    r = 1.0 / (1.0 + e)
    small = a < 0.5
    t = t_small if small else (1.0 - e) * r
    slope = 1.0 - t_small * t_small if small else 4.0 * e * r * r
    return math.copysign(t, x), slope


@jit
def _value_and_slope(code, z):
    """(σ(z), σ'(z)) for the activation ``code``, from at most one exponential, both to a few ulps.

    The derivatives use the forms of :mod:`verify.kernels.activations` (σ' = e^{−|z|}/(1+e^{−|z|})²,
    tanh' = 4e^{−2|z|}/(1+e^{−2|z|})², never 1 − tanh² where it cancels) and share the exponential with
    the value; tanh is :func:`_tanh_and_slope`. ReLU'(0) = 0, as in ``activations.py``.
    """
    x = np.float64(z)
    if code == 0:
        return x, 1.0
    if code == 3:
        if x > 0.0:
            return x, 1.0
        return 0.0, 0.0
    if code == 1:
        e = math.exp(-abs(x))
        r = 1.0 / (1.0 + e)
        value = r if x >= 0.0 else e * r
        return value, e * r * r
    return _tanh_and_slope(x)


@jit(error_model="numpy")  # no ZeroDivisionError branch (1 + e and Q(w) are ≥ 1): the tanh loop vectorises
def _activate_row(pre, bias, u, code, residual, slope, i):
    if code == 2:
        for j in range(pre.shape[1]):
            value, slope[i, j] = _tanh_and_slope(np.float64(pre[i, j] + bias[j]))
            pre[i, j] = value + u[i, j] if residual else value
        return
    for j in range(pre.shape[1]):
        value, slope[i, j] = _value_and_slope(code, pre[i, j] + bias[j])
        pre[i, j] = value + u[i, j] if residual else value


@jit
def _conv_row(u, theta, out, i):
    for p in range(out.shape[1]):
        acc = 0.0
        for l in range(theta.shape[0]):
            acc += theta[l] * u[i, p + l]
        out[i, p] = acc


@jit
def _conv_adjoint_row(dz, theta, out, i):
    for p in range(out.shape[1]):
        out[i, p] = 0.0
    for q in range(dz.shape[1]):
        for l in range(theta.shape[0]):
            out[i, q + l] += dz[i, q] * theta[l]


@jit
def _scale_block(delta, slope, dz, partial, block, blocks):
    """Δ = δ ⊙ σ' on the rows of ``block`` (of ``blocks`` equal blocks) and their column sums."""
    n = delta.shape[0]
    for j in range(delta.shape[1]):
        partial[block, j] = 0.0
    for i in range(block * n // blocks, (block + 1) * n // blocks):
        for j in range(delta.shape[1]):
            value = delta[i, j] * slope[i, j]
            dz[i, j] = value
            partial[block, j] += value


@jit
def _add_row(out, delta, i):
    for j in range(out.shape[1]):
        out[i, j] += delta[i, j]


@jit
def _theta_grad_tap(dz, u, l):
    acc = 0.0
    for i in range(dz.shape[0]):
        for q in range(dz.shape[1]):
            acc += dz[i, q] * u[i, q + l]
    return acc


# The layer kernels of the two Numba backends. Each is a module-level function with no free variables:
# Numba keys an on-disk cache entry on the pickled contents of a closure's cells, and a captured
# dispatcher pickles with a fresh id in every process, so closures were recompiled by every process.
# The serial (``range``) and parallel (``prange``) copies differ only in their loop and decorator; the
# work of each iteration lives in the shared row-level ``@jit`` helpers above. A function without a loop
# of its own (a BLAS product around a call) is plain ``@jit`` in both backends, as ``parallel=True``
# would have nothing to parallelise there.


@jit
def _activate_cpu(pre, bias, u, code, residual):
    """U = [u +] σ(pre + b) in place of ``pre``, and the slopes σ'(pre + b), row by row."""
    slope = np.empty_like(pre)
    for i in range(pre.shape[0]):
        _activate_row(pre, bias, u, code, residual, slope, i)
    return pre, slope


@parallel_jit
def _activate_parallel(pre, bias, u, code, residual):
    slope = np.empty_like(pre)
    for i in prange(pre.shape[0]):
        _activate_row(pre, bias, u, code, residual, slope, i)
    return pre, slope


@jit
def _dense_forward_cpu(u, weight, bias, code, residual):
    return _activate_cpu(np.dot(u, weight.T), bias, u, code, residual)


@jit
def _conv_forward_cpu(u, theta, bias, code):
    pre = np.empty((u.shape[0], bias.shape[0]), dtype=u.dtype)
    for i in range(u.shape[0]):
        _conv_row(u, theta, pre, i)
    return _activate_cpu(pre, bias, u, code, False)


@parallel_jit
def _conv_forward_parallel(u, theta, bias, code):
    pre = np.empty((u.shape[0], bias.shape[0]), dtype=u.dtype)
    for i in prange(u.shape[0]):
        _conv_row(u, theta, pre, i)
    return _activate_parallel(pre, bias, u, code, False)


@jit
def _scale_and_sum_cpu(delta, slope):
    """(Δ, Σ_rows Δ) with Δ = δ ⊙ σ'. A fixed number of row blocks, so that the order of the bias sums
    does not depend on the threads and both backends give the same bits."""
    blocks = min(delta.shape[0], 64)
    dz = np.empty_like(delta)
    partial = np.empty((blocks, delta.shape[1]), dtype=delta.dtype)
    for block in range(blocks):
        _scale_block(delta, slope, dz, partial, block, blocks)
    return dz, partial.sum(axis=0)


@parallel_jit
def _scale_and_sum_parallel(delta, slope):
    blocks = min(delta.shape[0], 64)
    dz = np.empty_like(delta)
    partial = np.empty((blocks, delta.shape[1]), dtype=delta.dtype)
    for block in prange(blocks):
        _scale_block(delta, slope, dz, partial, block, blocks)
    return dz, partial.sum(axis=0)


@jit
def _dense_grads(u, weight, dz, need_previous):
    """(Δᵀ U, Δ K) by BLAS; Δ K is an empty (0, 0) array when the caller needs no input gradient."""
    grad_weight = np.dot(dz.T, u)
    if not need_previous:
        return grad_weight, np.empty((0, 0), dtype=dz.dtype)
    return grad_weight, np.dot(dz, weight)


@jit
def _dense_backward_cpu(u, weight, slope, delta, residual, need_previous):
    dz, grad_bias = _scale_and_sum_cpu(delta, slope)
    grad_weight, previous = _dense_grads(u, weight, dz, need_previous)
    if need_previous and residual:
        for i in range(delta.shape[0]):
            _add_row(previous, delta, i)
    return grad_weight, grad_bias, previous


@jit
def _conv_backward_cpu(u, theta, slope, delta, need_previous):
    dz, grad_bias = _scale_and_sum_cpu(delta, slope)
    grad_theta = np.empty_like(theta)
    for l in range(theta.shape[0]):
        grad_theta[l] = _theta_grad_tap(dz, u, l)
    if not need_previous:
        return grad_theta, grad_bias, np.empty((0, 0), dtype=delta.dtype)
    previous = np.empty_like(u)
    for i in range(u.shape[0]):
        _conv_adjoint_row(dz, theta, previous, i)
    return grad_theta, grad_bias, previous


@parallel_jit
def _conv_backward_parallel(u, theta, slope, delta, need_previous):
    dz, grad_bias = _scale_and_sum_parallel(delta, slope)
    grad_theta = np.empty_like(theta)
    for l in prange(theta.shape[0]):
        grad_theta[l] = _theta_grad_tap(dz, u, l)
    if not need_previous:
        return grad_theta, grad_bias, np.empty((0, 0), dtype=delta.dtype)
    previous = np.empty_like(u)
    for i in prange(u.shape[0]):
        _conv_adjoint_row(dz, theta, previous, i)
    return grad_theta, grad_bias, previous


_LAYER_KERNELS = {
    "cpu": {
        "dense_forward": _dense_forward_cpu,
        "conv_forward": _conv_forward_cpu,
        "dense_backward": _dense_backward_cpu,
        "conv_backward": _conv_backward_cpu,
    },
    # Dense layers are threaded by BLAS (the two products per layer are most of the time). A prange
    # pass between the products left Numba's OpenMP threads spinning against the BLAS threads:
    # measured by `verify bench --only network` on 2 cores, 74 ms with prange against 35 ms without.
    # So the parallel backend runs the dense layers' elementwise pass serially; the convolution,
    # which is all loops, keeps its prange.
    "parallel": {
        "dense_forward": _dense_forward_cpu,
        "conv_forward": _conv_forward_parallel,
        "dense_backward": _dense_backward_cpu,
        "conv_backward": _conv_backward_parallel,
    },
}


def _forward_numba(kernels, network, params, y):
    inputs, slopes = [], []
    u = y
    for layer, (weight, bias) in zip(network.layers, params, strict=True):
        inputs.append(u)
        code = ACTIVATION_CODES[layer.activation]
        if layer.kind == "conv1d":
            u, slope = kernels["conv_forward"](u, weight, bias, code)
        else:
            u, slope = kernels["dense_forward"](u, weight, bias, code, layer.kind == "residual")
        slopes.append(slope)
    return Tape(tuple(inputs), tuple(slopes), u)


def _backward_numba(kernels, network, params, tape, delta, input_grad):
    grads: list = [None] * network.depth
    for j in range(network.depth - 1, -1, -1):
        layer, (weight, _) = network.layers[j], params[j]
        need_previous = j > 0 or input_grad
        if layer.kind == "conv1d":
            outputs = kernels["conv_backward"](tape.inputs[j], weight, tape.slopes[j], delta, need_previous)
        else:
            outputs = kernels["dense_backward"](
                tape.inputs[j], weight, tape.slopes[j], delta, layer.kind == "residual", need_previous
            )
        grad_weight, grad_bias, delta = outputs
        grads[j] = (grad_weight, grad_bias)
    return grads, (delta if input_grad else None)


_FORWARD = {
    "numpy": _forward_numpy,
    "cpu": lambda *a: _forward_numba(_LAYER_KERNELS["cpu"], *a),
    "parallel": lambda *a: _forward_numba(_LAYER_KERNELS["parallel"], *a),
}
_BACKWARD = {
    "numpy": _backward_numpy,
    "cpu": lambda *a: _backward_numba(_LAYER_KERNELS["cpu"], *a),
    "parallel": lambda *a: _backward_numba(_LAYER_KERNELS["parallel"], *a),
}


# --------------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------------


@cuda_route("network")
def network_forward(network: Network, params: object, y: object, *, backend: str | None = None) -> Tape:
    """Forward pass U_j = [U_{j−1} +] σ(U_{j−1} K_jᵀ + b_j) over a batch ``y`` of shape (N, n_0).

    Returns the :class:`Tape` (``tape.output`` is F(y, θ), shape (N, n_d)). ``params`` is
    ``[(K_1 or θ_1, b_1), …]`` in one float dtype, which ``y`` must share.
    """
    impl = dispatch(_FORWARD, backend, "network_forward")
    checked = validate_parameters(network, params)
    y = _validate_input(network, y, checked[0][0].dtype)
    return impl(network, checked, y)


@cuda_route("network")
def network_backward(
    network: Network,
    params: object,
    tape: Tape,
    grad_output: object,
    *,
    input_grad: bool = True,
    backend: str | None = None,
) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray | None]:
    """Backpropagate ``grad_output`` = ∇_F L (shape of ``tape.output``) through the network.

    Returns ``(grads, grad_y)``: ``grads[j] = (∇_{K_j} L or ∇_{θ_j} L, ∇_{b_j} L)`` and
    ``grad_y = ∇_y L`` (``None`` when ``input_grad=False``, which skips the product Δ_1 K_1).
    """
    impl = dispatch(_BACKWARD, backend, "network_backward")
    checked = validate_parameters(network, params)
    if not isinstance(tape, Tape) or len(tape.inputs) != network.depth:
        raise TypeError(f"tape must be the Tape returned by network_forward for this network; got {tape!r}")
    dtype = checked[0][0].dtype
    delta = as_float_array(grad_output, "grad_output", ndim=2)
    if delta.dtype != dtype:
        raise TypeError(f"grad_output must have the dtype of the parameters ({dtype}); got {delta.dtype}")
    if delta.shape != tape.output.shape:
        raise ValueError(f"grad_output must have the shape of tape.output {tape.output.shape}; got {delta.shape}")
    require_finite(delta, "grad_output")
    return impl(network, checked, tape, np.ascontiguousarray(delta), bool(input_grad))


def _loss_head(network: Network, output: np.ndarray, target: object, reduction: str, backend: str):
    loss = getattr(_losses, network.loss)
    # The head is (N, n_d), tiny next to the products; a prange region here would leave OpenMP
    # threads spinning into the backward pass's BLAS calls (see _LAYER_KERNELS), so it runs serially.
    return loss(output, target, reduction=reduction, backend="cpu" if backend == "parallel" else backend)


@cuda_route("network")
def network_loss(
    network: Network, params: object, y: object, target: object, *, reduction: str = "mean",
    backend: str | None = None,
) -> float:
    """L(θ) = reduce_i loss(F(y_i, θ), c_i) with the network's loss head (``least_squares``: c of shape
    (N, n_d); ``softmax_cross_entropy``: integer labels (N,) or distributions (N, n_d))."""
    require_choice(reduction, "reduction", REDUCTIONS)
    name = resolve_backend(backend)
    tape = network_forward(network, params, y, backend=name)
    value, _ = _loss_head(network, tape.output, target, reduction, name)
    return float(value)


@cuda_route("network")
def network_value_and_grad(
    network: Network,
    params: object,
    y: object,
    target: object,
    *,
    reduction: str = "mean",
    input_grad: bool = True,
    backend: str | None = None,
) -> tuple[float, list[tuple[np.ndarray, np.ndarray]], np.ndarray | None]:
    """``(L, grads, grad_y)``: the loss of :func:`network_loss` and its gradient with respect to every
    K_j (θ_j), b_j and the input y, by one forward and one backward pass."""
    require_choice(reduction, "reduction", REDUCTIONS)
    name = resolve_backend(backend)
    forward = dispatch(_FORWARD, name, "network_forward")
    backward = dispatch(_BACKWARD, name, "network_backward")
    checked = validate_parameters(network, params)  # once: the arrays are not changed below
    tape = forward(network, checked, _validate_input(network, y, checked[0][0].dtype))
    value, grad_output = _loss_head(network, tape.output, target, reduction, name)
    grads, grad_y = backward(network, checked, tape, np.ascontiguousarray(grad_output), bool(input_grad))
    return float(value), grads, grad_y


# --------------------------------------------------------------------------------------------------
# Rounding-error bound (what a correct implementation may be off by)
# --------------------------------------------------------------------------------------------------

# sup |σ'| and sup |σ''| of each activation (sigmoid: σ'' = σ'(1 − 2σ), max 1/(6√3) at σ = ½ ± 1/(2√3);
# tanh: max |2 tanh sech²| = 4/(3√3) at tanh² = 1/3). ReLU'' is 0 away from the kink.
_LIPSCHITZ = {"identity": (1.0, 0.0), "sigmoid": (0.25, 1.0 / (6.0 * np.sqrt(3.0))),
              "tanh": (1.0, 4.0 / (3.0 * np.sqrt(3.0))), "relu": (1.0, 0.0)}
_ELEMENTWISE_ULPS = 8  # activation values and slopes: ≤ 6 roundings after a ≤ 1-ulp exp (measured ≤ 5 ulps)


@dataclass(frozen=True)
class ErrorBound:
    """First-order componentwise bounds on the rounding error of :func:`network_value_and_grad`.

    ``value``: bound for L; ``grads[j]``: bounds shaped like (∇θ_j L, ∇b_j L); ``input``: like ∇y L.
    ``near_kink``: some ReLU pre-activation lies within its own rounding error of 0, where the
    gradient is discontinuous and no rounding-error bound holds.
    """

    value: float
    grads: list
    input: np.ndarray
    near_kink: bool


def _gamma(n: int, u: float) -> float:
    return n * u / (1.0 - n * u)


def backward_error_bound(
    network: Network, params: object, y: object, target: object, *, reduction: str = "mean",
    dtype: np.dtype | None = None,
) -> ErrorBound:
    """A first-order bound on |computed − exact| for every output of :func:`network_value_and_grad`.

    Standard componentwise analysis (Higham, *Accuracy and Stability of Numerical Algorithms*, §3.5:
    a length-n dot product errs by at most γ_n = nu/(1 − nu) times the dot product of the absolute
    values, u the unit roundoff of ``dtype``), pushed through the network:

    - forward: pre-activation error E_z ≤ γ_{n+1}(|K||u| + |b|) + |K| E_u; the activation adds
      sup|σ'|·E_z plus a few ulps; the slope σ'(z) errs by a few ulps plus sup|σ''|·E_z;
    - loss head: ∇_F ℓ = F − c errs by E_F; softmax − c by ½ max E_F (the rows of the softmax
      Jacobian diag(p) − ppᵀ have absolute sums 2p_i(1 − p_i) ≤ ½) plus a few ulps;
    - backward: every product Δ = δ ⊙ σ' and every matrix product (Δᵀ U, Δ K, Σ_rows Δ) propagates the
      errors of its factors times the magnitudes of the others, plus its own γ_n.

    Second-order terms (products of two errors, O(u²)) are dropped, so callers allow a factor 2.
    """
    checked = validate_parameters(network, params)
    dtype = np.dtype(dtype if dtype is not None else checked[0][0].dtype)
    u = float(np.finfo(dtype).eps) / 2.0
    act_err = _ELEMENTWISE_ULPS * 2.0 * u
    params64 = [(w.astype(np.float64), b.astype(np.float64)) for w, b in checked]
    y64 = np.asarray(y, dtype=np.float64)
    n = y64.shape[0]
    scale = 1.0 / n if reduction == "mean" else 1.0
    tape = _forward_numpy(network, params64, y64)
    magnitudes, errors, pre_errors, near_kink = [np.abs(y64)], [np.zeros_like(y64)], [], False
    for j, (layer, (weight, bias)) in enumerate(zip(network.layers, params64, strict=True)):
        matrix = _layer_matrix(layer, weight)
        a_prev, e_prev = magnitudes[-1], errors[-1]
        p = a_prev @ np.abs(matrix).T + np.abs(bias)
        e_z = _gamma(layer.n_in + 1, u) * p + e_prev @ np.abs(matrix).T
        pre_errors.append(e_z)
        l1, _ = _LIPSCHITZ[layer.activation]
        value = tape.inputs[j + 1] if j + 1 < network.depth else tape.output
        if layer.kind == "residual":
            value = value - tape.inputs[j]
        e_u = l1 * e_z + act_err * np.abs(value)
        if layer.kind == "residual":
            e_u = e_u + e_prev + u * (np.abs(tape.inputs[j]) + np.abs(value))
        if layer.activation == "relu":
            z = tape.inputs[j] @ matrix.T + bias
            near_kink |= bool(np.any((np.abs(z) <= 2.0 * e_z) & (p > 0)))
        out = tape.inputs[j + 1] if j + 1 < network.depth else tape.output
        magnitudes.append(np.abs(out))
        errors.append(e_u)
    output, e_out = tape.output, errors[-1]
    if network.loss == "least_squares":
        c = np.asarray(target, dtype=np.float64)
        residual = output - c
        g = residual * scale
        e_g = (e_out + u * np.abs(residual)) * scale + u * np.abs(g)
        value_bound = scale * float(np.sum(np.abs(residual) * e_out)) + _gamma(output.size + 2, u) * scale * float(
            np.sum(residual**2)) / 2.0
    else:
        arr = np.asarray(target)
        c = np.eye(output.shape[1])[arr] if arr.dtype.kind in "iu" else arr.astype(np.float64)
        shifted = output - output.max(axis=1, keepdims=True)
        prob = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        lse = np.log(np.exp(shifted).sum(axis=1)) + output.max(axis=1)
        g = (prob - c) * scale
        e_g = (0.5 * e_out.max(axis=1, keepdims=True) + act_err * (prob + np.abs(c))) * scale + u * np.abs(g)
        m = output.shape[1]
        value_bound = scale * float(np.sum((prob + np.abs(c)) * e_out)) + _gamma(m + n + 4, u) * scale * float(
            np.sum(np.abs(c) * (np.abs(output) + np.abs(lse)[:, None])))
    delta, e_delta = np.abs(g), e_g
    bounds: list = [None] * network.depth
    for j in range(network.depth - 1, -1, -1):
        layer, (weight, _) = network.layers[j], params64[j]
        matrix = np.abs(_layer_matrix(layer, weight))
        slope = np.abs(tape.slopes[j])
        e_slope = act_err * slope + _LIPSCHITZ[layer.activation][1] * pre_errors[j]
        m_dz = delta * slope
        e_dz = e_delta * slope + delta * e_slope + u * m_dz
        a_prev, e_prev = magnitudes[j], errors[j]
        sums = n * layer.n_out if layer.kind == "conv1d" else n
        bound_matrix = _gamma(sums, u) * (m_dz.T @ a_prev) + e_dz.T @ a_prev + m_dz.T @ e_prev
        if layer.kind == "conv1d":
            bound_weight = conv_matrix_adjoint(bound_matrix, weight.shape[0])
        else:
            bound_weight = bound_matrix
        bound_bias = _gamma(n, u) * m_dz.sum(axis=0) + e_dz.sum(axis=0)
        bounds[j] = (bound_weight, bound_bias)
        previous = m_dz @ matrix
        e_previous = _gamma(layer.n_out, u) * previous + e_dz @ matrix
        if layer.kind == "residual":
            e_previous = e_previous + e_delta + u * (previous + delta)
            previous = previous + delta
        delta, e_delta = previous, e_previous
    return ErrorBound(value_bound, bounds, e_delta, near_kink)
