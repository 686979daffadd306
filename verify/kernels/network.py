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
K(θ): the readable reference), and ``cpu``, ``parallel`` and ``cuda``, which run one driver: the matrix
products by BLAS (on CUDA by a tiled kernel), and every elementwise pass — bias, activation and slope,
residual add fused into one; δ ⊙ σ' with the bias gradient's partial column sums; the convolution, its
adjoint and its θ-gradient — as one row function each, compiled into the serial, parallel and CUDA kernels
by :mod:`verify.kernels._compile`. Column sums are taken over a fixed partition of the rows (at most 64
parts), so the three compiled backends add the same numbers in the same order: the same bits.

Example::

    net = Network.from_widths((784, 256, 256, 10), activation="tanh")
    params = init_parameters(net, np.random.default_rng(0))
    value, grads, grad_y = network_value_and_grad(net, params, y, labels)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from verify._jit import jit
from verify._validate import describe, require_choice, require_positive_int
from verify.kernels import losses as _losses
from verify.kernels._compile import blockwise, reduction
from verify.kernels._finite import NONFINITE
from verify.kernels.activations import ACTIVATION_CODES, ACTIVATIONS, activate
from verify.kernels.activations import RECORDS as _ACTIVATIONS
from verify.kernels.catalogue import HostArrays, array_backend, require_rule, validate_arguments

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
        object.__setattr__(self, "n_in", require_positive_int(self.n_in, "n_in"))
        object.__setattr__(self, "n_out", require_positive_int(self.n_out, "n_out"))
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
    n_in = require_positive_int(n_in, "n_in")
    kernel_size = require_positive_int(kernel_size, "kernel_size")
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
    return _check_parameters(HostArrays("cpu"), network, params, dtype)


def _check_parameters(arrays, network: Network, params: object, dtype=None) -> list:
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
            array = arrays.floats(value, name, dtype=dtype)
            dtype = array.dtype
            if tuple(array.shape) != shape:
                what = ("θ" if layer.kind == "conv1d" else "K") if slot == 0 else "b"
                raise ValueError(
                    f"{name} ({what} of layer {j}: {layer.describe()}) must have shape {shape}; "
                    f"got {tuple(array.shape)}"
                )
            require_rule(arrays, array, name, NONFINITE, "must be finite")
            checked.append(array)
        out.append((checked[0], checked[1]))
    return out


def _check_input(arrays, network: Network, y: object, dtype: np.dtype):
    y = arrays.floats(y, "y", ndim=2)
    if y.dtype != dtype:
        raise TypeError(f"y must have the dtype of the parameters ({np.dtype(dtype)}); got {y.dtype}")
    if y.shape[1] != network.input_width:
        raise ValueError(
            f"y must have shape (N, {network.input_width}) (one example per row, the network's input width); "
            f"got {tuple(y.shape)}"
        )
    if y.shape[0] == 0:
        raise ValueError(f"y must hold at least one example (row); got shape {tuple(y.shape)}")
    require_rule(arrays, y, "y", NONFINITE, "must be finite")
    return y


@dataclass(frozen=True)
class Tape:
    """What the forward pass keeps for the backward pass.

    ``inputs[j]`` is U_{j−1} (the input of layer j, shape (N, n_in)), ``slopes[j]`` is σ'(z_j)
    (shape (N, n_out)), ``output`` is F(y, θ) = U_d.
    """

    inputs: tuple[np.ndarray, ...]
    slopes: tuple[np.ndarray, ...]
    output: np.ndarray


def _check_tape(arrays, network: Network, tape: object, dtype: np.dtype) -> Tape:
    """``tape`` checked against ``network``: one input and one slope per layer, each of its layer's width, all
    with one number of rows and the parameters' dtype, finite. A tape of another network is refused, never
    read with the wrong widths."""
    if not isinstance(tape, Tape):
        raise TypeError(f"tape must be the Tape returned by network_forward for this network; got {describe(tape)}")
    for what, arrays_ in (("inputs", tape.inputs), ("slopes", tape.slopes)):
        if not isinstance(arrays_, (tuple, list)) or len(arrays_) != network.depth:
            got = len(arrays_) if isinstance(arrays_, (tuple, list)) else describe(arrays_)
            raise ValueError(f"tape.{what} must hold one array per layer ({network.depth}); got {got}")
    output = arrays.floats(tape.output, "tape.output", ndim=2, dtype=dtype)
    n = output.shape[0]
    checked: dict[str, list] = {"inputs": [], "slopes": []}
    for j, layer in enumerate(network.layers):
        for what, width in (("inputs", layer.n_in), ("slopes", layer.n_out)):
            name = f"tape.{what}[{j}]"
            arr = arrays.floats(getattr(tape, what)[j], name, ndim=2, dtype=dtype)
            if tuple(arr.shape) != (n, width):
                raise ValueError(f"{name} must have shape ({n}, {width}) (layer {j}: {layer.describe()}, the rows of "
                                 f"tape.output); got {tuple(arr.shape)}: is the tape from another network?")
            require_rule(arrays, arr, name, NONFINITE, "must be finite")
            checked[what].append(arr)
    if output.shape[1] != network.output_width:
        raise ValueError(f"tape.output must have shape ({n}, {network.output_width}); got {tuple(output.shape)}")
    return Tape(tuple(checked["inputs"]), tuple(checked["slopes"]), output)



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
        with np.errstate(over="ignore", under="ignore"):
            value, slope = _ACTIVATIONS[layer.activation].numpy(z)
        slopes.append(slope)
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
# Compiled backends (cpu, parallel, cuda): one row function per elementwise pass
# --------------------------------------------------------------------------------------------------

_pass = jit(forceinline=True, error_model="numpy")  # 1 + e and Q(w) are ≥ 1: no ZeroDivisionError branch needed
_FLOATS = ("float32", "float64")
_PARTS = 64  # the fixed partition of the rows for column sums (see the module docstring)


def _signatures(template: str) -> tuple[str, ...]:
    return tuple(template.format(f=f) for f in _FLOATS)


@_pass
def _activate_rows(pre, u, slope, bias, code, residual):
    """pre ← [u +] σ(pre + b) in place, slope ← σ'(pre + b), in float64 rounded once (one exponential each)."""
    for r in range(pre.shape[0]):
        for j in range(pre.shape[1]):
            value, slope[r, j] = activate(code, np.float64(pre[r, j]) + bias[j])
            pre[r, j] = value + u[r, j] if residual else value


@_pass
def _correlate_rows(src, out, theta, step):
    """out[r, p] = Σ_l θ_l src[r, p + step·l] over the taps inside ``src``: with ``step = 1`` the valid
    cross-correlation K(θ)u, with ``step = −1`` its adjoint K(θ)ᵀΔ (out[r, c] = Σ_l Δ[r, c − l] θ_l)."""
    for r in range(src.shape[0]):
        for p in range(out.shape[1]):
            acc = 0.0
            for l in range(theta.shape[0]):
                q = p + step * l
                if 0 <= q < src.shape[1]:
                    acc += np.float64(theta[l]) * src[r, q]
            out[r, p] = acc


@_pass
def _scale_and_sum(delta, slope, dz, partial, first):
    """Δ = δ ⊙ σ' on a part's rows, and the part's column sums of Δ (float64) into ``partial``."""
    for j in range(partial.shape[0]):
        partial[j] = 0.0
    for r in range(delta.shape[0]):
        for j in range(delta.shape[1]):
            value = delta[r, j] * slope[r, j]
            dz[r, j] = value
            partial[j] += value


@_pass
def _theta_taps(dz, u, partial, first):
    """partial[l] = Σ_{rows of the part} Σ_q Δ[r, q] u[r, q + l]: a part of ∇_θ L = adjoint of θ ↦ K(θ)."""
    for l in range(partial.shape[0]):
        acc = 0.0
        for r in range(dz.shape[0]):
            for q in range(dz.shape[1]):
                acc += np.float64(dz[r, q]) * u[r, q + l]
        partial[l] = acc


@_pass
def _sum_rows(x, out, first):
    """out[j] = Σ_r x[r, j] (the partial sums of the parts, added in their order)."""
    for j in range(out.shape[0]):
        out[j] = 0.0
    for r in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[j] += x[r, j]


_ACTIVATE = blockwise(_activate_rows, name="network_activate", arrays=("pre", "u", "slope", "bias"), whole=("bias",),
                      scalars=("code", "residual"), rows_per_block=32,
                      signatures=_signatures("void({f}[:, ::1], {f}[:, ::1], {f}[:, ::1], {f}[::1], int64, boolean)"),
                      error_model="numpy")
_CORRELATE = blockwise(_correlate_rows, name="network_correlate", arrays=("src", "out", "theta"), whole=("theta",),
                       scalars=("step",), rows_per_block=32, error_model="numpy",
                       signatures=_signatures("void({f}[:, ::1], {f}[:, ::1], {f}[::1], int64)"))
_SCALE_AND_SUM = reduction(_scale_and_sum, name="network_scale_and_sum", arrays=("delta", "slope", "dz", "partial"),
                           out="partial", error_model="numpy",
                           signatures=_signatures("void({f}[:, ::1], {f}[:, ::1], {f}[:, ::1], float64[:, ::1])"))
_THETA_TAPS = reduction(_theta_taps, name="network_theta_taps", arrays=("dz", "u", "partial"), out="partial",
                        signatures=_signatures("void({f}[:, ::1], {f}[:, ::1], float64[:, ::1])"), error_model="numpy")
_SUM_ROWS = reduction(_sum_rows, name="network_sum_rows", arrays=("x", "out"), out="out", error_model="numpy",
                      signatures=("void(float64[:, ::1], float64[:, ::1])",))


def _column_sums(arrays, partial, dtype):
    """Σ over the rows of ``partial`` (float64), as a 1-D array of ``dtype``."""
    total = arrays.empty((1, partial.shape[1]), np.float64)
    arrays.run(_SUM_ROWS, 1, partial, total)
    return arrays.cast(total.reshape(partial.shape[1]), dtype)


def _forward_compiled(arrays, network: Network, params, y) -> Tape:
    inputs, slopes = [], []
    u = y
    n = y.shape[0]
    for layer, (weight, bias) in zip(network.layers, params, strict=True):
        conv = layer.kind == "conv1d"
        if conv:
            pre = arrays.empty((n, layer.n_out), y.dtype)
            arrays.run(_CORRELATE, n, u, pre, weight, 1)
        else:
            pre = arrays.matmul(u, weight, tb=True)
        slope = arrays.empty((n, layer.n_out), y.dtype)
        # Dense layers are threaded by BLAS (the two products per layer are most of the time). A threaded
        # pass between the products (then a Numba prange loop) left its threads spinning against the BLAS
        # threads: measured by `verify bench --only network` on 2 cores, 74 ms threaded against 35 ms without.
        # So the parallel backend runs the dense layers' elementwise passes serially; the convolution,
        # which is all loops, keeps its threads.
        arrays.run(_ACTIVATE, n, pre, u, slope, bias, ACTIVATION_CODES[layer.activation], layer.kind == "residual",
                   threaded=conv)
        inputs.append(u)
        slopes.append(slope)
        u = pre
    return Tape(tuple(inputs), tuple(slopes), u)


def _backward_compiled(arrays, network: Network, params, tape: Tape, delta, input_grad: bool):
    grads: list = [None] * network.depth
    n = delta.shape[0]
    parts = max(1, min(n, _PARTS))
    for j in range(network.depth - 1, -1, -1):
        layer, (weight, _) = network.layers[j], params[j]
        conv = layer.kind == "conv1d"
        u = tape.inputs[j]
        dz = arrays.empty((n, layer.n_out), delta.dtype)
        partial = arrays.empty((parts, layer.n_out), np.float64)
        arrays.run(_SCALE_AND_SUM, parts, delta, tape.slopes[j], dz, partial, threaded=conv)
        grad_bias = _column_sums(arrays, partial, delta.dtype)
        need_previous = j > 0 or input_grad
        previous = None
        if conv:
            taps = arrays.empty((parts, weight.shape[0]), np.float64)
            arrays.run(_THETA_TAPS, parts, dz, u, taps)
            grad_weight = _column_sums(arrays, taps, delta.dtype)
            if need_previous:
                previous = arrays.empty((n, layer.n_in), delta.dtype)
                arrays.run(_CORRELATE, n, dz, previous, weight, -1)
        else:
            grad_weight = arrays.matmul(dz, u, ta=True)
            if need_previous:
                previous = arrays.matmul(dz, weight, add=delta if layer.kind == "residual" else None)
        grads[j] = (grad_weight, grad_bias)
        delta = previous
    return grads, (delta if input_grad else None)


def _forward(arrays, network, params, y) -> Tape:
    if arrays.backend == "numpy":
        return _forward_numpy(network, params, y)
    return _forward_compiled(arrays, network, params, y)


def _backward(arrays, network, params, tape, delta, input_grad):
    if arrays.backend == "numpy":
        return _backward_numpy(network, params, tape, delta, input_grad)
    return _backward_compiled(arrays, network, params, tape, delta, input_grad)


def _results(arrays, grads, grad_y):
    return ([(arrays.result(w), arrays.result(b)) for w, b in grads],
            None if grad_y is None else arrays.result(grad_y))


# --------------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------------


def network_forward(network: Network, params: object, y: object, *, backend: str | None = None) -> Tape:
    """Forward pass U_j = [U_{j−1} +] σ(U_{j−1} K_jᵀ + b_j) over a batch ``y`` of shape (N, n_0).

    Returns the :class:`Tape` (``tape.output`` is F(y, θ), shape (N, n_d)). ``params`` is
    ``[(K_1 or θ_1, b_1), …]`` in one float dtype, which ``y`` must share.
    """
    arrays = array_backend(backend)
    checked = _check_parameters(arrays, network, params)
    y = _check_input(arrays, network, y, checked[0][0].dtype)
    tape = _forward(arrays, network, checked, y)
    return Tape(tuple(map(arrays.result, tape.inputs)), tuple(map(arrays.result, tape.slopes)),
                arrays.result(tape.output))


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
    ``grad_y = ∇_y L`` (``None`` when ``input_grad=False``, which skips the product Δ_1 K_1). ``tape`` must be
    this network's (checked: one input and slope per layer, of the layer's widths, the parameters' dtype).
    """
    arrays = array_backend(backend)
    checked = _check_parameters(arrays, network, params)
    dtype = checked[0][0].dtype
    tape = _check_tape(arrays, network, tape, dtype)
    delta = arrays.floats(grad_output, "grad_output", ndim=2)
    if delta.dtype != dtype:
        raise TypeError(f"grad_output must have the dtype of the parameters ({dtype}); got {delta.dtype}")
    if tuple(delta.shape) != tuple(tape.output.shape):
        raise ValueError(f"grad_output must have the shape of tape.output {tuple(tape.output.shape)}; "
                         f"got {tuple(delta.shape)}")
    require_rule(arrays, delta, "grad_output", NONFINITE, "must be finite")
    return _results(arrays, *_backward(arrays, network, checked, tape, delta, bool(input_grad)))


def _loss_head(arrays, network: Network, output, target, reduction: str):
    # The head is (N, n_d), tiny next to the products: the parallel backend runs it serially (threads
    # woken here would compete with the backward pass's BLAS threads).
    backend = "cpu" if arrays.backend == "parallel" else arrays.backend
    return getattr(_losses, network.loss)(output, target, reduction=reduction, backend=backend)


def network_loss(
    network: Network, params: object, y: object, target: object, *, reduction: str = "mean",
    backend: str | None = None,
) -> float:
    """L(θ) = reduce_i loss(F(y_i, θ), c_i) with the network's loss head (``least_squares``: c of shape
    (N, n_d); ``softmax_cross_entropy``: integer labels (N,) or distributions (N, n_d))."""
    require_choice(reduction, "reduction", REDUCTIONS)
    arrays = array_backend(backend)
    checked = _check_parameters(arrays, network, params)
    tape = _forward(arrays, network, checked, _check_input(arrays, network, y, checked[0][0].dtype))
    value, _ = _loss_head(arrays, network, tape.output, target, reduction)
    return float(value)


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
    arrays = array_backend(backend)
    checked = _check_parameters(arrays, network, params)  # once: the arrays are not changed below
    tape = _forward(arrays, network, checked, _check_input(arrays, network, y, checked[0][0].dtype))
    value, grad_output = _loss_head(arrays, network, tape.output, target, reduction)
    grads, grad_y = _backward(arrays, network, checked, tape, grad_output, bool(input_grad))
    return (float(value), *_results(arrays, grads, grad_y))


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
      errors of its factors times the magnitudes of the others, plus its own γ_n;
    - underflow (Higham §2.1, the model fl(x·y) = x·y(1 + δ) + η with |η| ≤ ½ the smallest subnormal; sums
      of subnormals are exact): a length-n dot product adds n·η, so a pre-activation whose products all
      underflow to 0 is flagged ``near_kink`` like any other within its rounding error of the ReLU's kink.

    Second-order terms (products of two errors, O(u²)) are dropped, so callers allow a factor 2.

    Arguments are checked as :func:`network_value_and_grad` checks them (``reduction`` one of
    :data:`REDUCTIONS`, ``target`` valid for the loss head: class indices in ``[0, n_d)``).
    """
    require_choice(reduction, "reduction", REDUCTIONS)
    arrays = HostArrays("numpy")
    checked = _check_parameters(arrays, network, params)
    y = _check_input(arrays, network, y, checked[0][0].dtype)
    head = _losses.RECORDS[network.loss]
    validate_arguments(arrays, head, (np.zeros((y.shape[0], network.output_width), y.dtype), target), {})
    dtype = np.dtype(dtype if dtype is not None else checked[0][0].dtype)
    u = float(np.finfo(dtype).eps) / 2.0
    # |η| ≤ ½ the smallest subnormal, bounded here by the whole of it: half of float64's is not a float64 number
    # (4.9e-324 / 2 rounds to 0, which silently dropped every underflow term of a float64 bound)
    eta = float(np.finfo(dtype).smallest_subnormal)
    act_err = _ELEMENTWISE_ULPS * 2.0 * u
    params64 = [(w.astype(np.float64), b.astype(np.float64)) for w, b in checked]
    y64 = y.astype(np.float64)
    n = y64.shape[0]
    scale = 1.0 / n if reduction == "mean" else 1.0
    tape = _forward_numpy(network, params64, y64)
    magnitudes, errors, pre_errors, near_kink = [np.abs(y64)], [np.zeros_like(y64)], [], False
    for j, (layer, (weight, bias)) in enumerate(zip(network.layers, params64, strict=True)):
        matrix = _layer_matrix(layer, weight)
        a_prev, e_prev = magnitudes[-1], errors[-1]
        p = a_prev @ np.abs(matrix).T + np.abs(bias)
        e_z = _gamma(layer.n_in + 1, u) * p + e_prev @ np.abs(matrix).T + (layer.n_in + 1) * eta
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
            # Some product is nonzero in exact arithmetic, even where every one of them underflows (p == 0).
            nonzero_terms = ((a_prev != 0) @ (matrix != 0).T.astype(np.float64) > 0) | (bias != 0)
            near_kink |= bool(np.any((np.abs(z) <= 2.0 * e_z) & nonzero_terms))
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
        e_dz = e_dz + eta
        bound_matrix = _gamma(sums, u) * (m_dz.T @ a_prev) + e_dz.T @ a_prev + m_dz.T @ e_prev + sums * eta
        if layer.kind == "conv1d":
            bound_weight = conv_matrix_adjoint(bound_matrix, weight.shape[0])
        else:
            bound_weight = bound_matrix
        bound_bias = _gamma(n, u) * m_dz.sum(axis=0) + e_dz.sum(axis=0)
        bounds[j] = (bound_weight, bound_bias)
        previous = m_dz @ matrix
        e_previous = _gamma(layer.n_out, u) * previous + e_dz @ matrix + layer.n_out * eta
        if layer.kind == "residual":
            e_previous = e_previous + e_delta + u * (previous + delta)
            previous = previous + delta
        delta, e_delta = previous, e_previous
    return ErrorBound(value_bound, bounds, e_delta, near_kink)
