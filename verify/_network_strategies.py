"""Hypothesis strategies for networks: architectures, parameters, inputs and targets.

Architectures follow ``002_1388b78ad9a2d202.txt`` (slides "Architectures 101", "Many Types of
Layers"): a chain of dense, residual and 1-D convolutional layers, each with one of the activations
of :data:`verify.kernels.activations.ACTIVATIONS`, and a least-squares or softmax cross-entropy head.
A residual layer keeps its width (u + σ(Ku + b) needs a square K), so it is drawn only as a
width-preserving layer; a convolution of kernel size k maps width n to n − k + 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from verify.kernels.activations import ACTIVATIONS
from verify.kernels.network import (
    LAYER_KINDS,
    NETWORK_LOSSES,
    Network,
    conv1d_layer,
    dense_layer,
    residual_layer,
)

__all__ = ["network_architectures", "network_parameters", "network_inputs", "network_targets", "network_problems"]


@st.composite
def network_architectures(
    draw,
    *,
    min_depth: int = 1,
    max_depth: int = 4,
    max_width: int = 6,
    kinds: Sequence[str] = LAYER_KINDS,
    activations: Sequence[str] = ACTIVATIONS,
    losses: Sequence[str] = NETWORK_LOSSES,
) -> Network:
    """A :class:`Network` of depth in [min_depth, max_depth] and widths in [1, max_width]."""
    width = draw(st.integers(1, max_width))
    layers = []
    for _ in range(draw(st.integers(min_depth, max_depth))):
        kind = draw(st.sampled_from(tuple(kinds)))
        act = draw(st.sampled_from(tuple(activations)))
        if kind == "dense":
            layer = dense_layer(width, draw(st.integers(1, max_width)), act)
        elif kind == "residual":
            layer = residual_layer(width, act)
        else:
            layer = conv1d_layer(width, draw(st.integers(1, width)), act)
        layers.append(layer)
        width = layer.n_out
    return Network(tuple(layers), draw(st.sampled_from(tuple(losses))))


def _floats(dtype: np.dtype, bound: float) -> st.SearchStrategy[float]:
    return st.floats(-bound, bound, allow_nan=False, allow_infinity=False, width=np.dtype(dtype).itemsize * 8)


@st.composite
def network_parameters(draw, network: Network, *, dtype: type = np.float64, bound: float = 2.0):
    """``[(K_j or θ_j, b_j)]`` with entries in [−bound, bound] in ``dtype``."""
    return [
        tuple(draw(hnp.arrays(dtype, shape, elements=_floats(dtype, bound)))
              for shape in (layer.weight_shape, layer.bias_shape))
        for layer in network.layers
    ]


def network_inputs(network: Network, *, batch: int, dtype: type = np.float64, bound: float = 3.0):
    """Inputs y of shape (batch, n_0) with entries in [−bound, bound]."""
    return hnp.arrays(dtype, (batch, network.input_width), elements=_floats(dtype, bound))


@st.composite
def network_targets(draw, network: Network, *, batch: int, dtype: type = np.float64):
    """A target for the network's loss head: c ∈ [−2, 2]^{N×m} for least squares; integer labels or
    rows of the simplex (normalised positive draws, summing to 1 within m·eps) for cross-entropy."""
    m = network.output_width
    if network.loss == "least_squares":
        return draw(hnp.arrays(dtype, (batch, m), elements=_floats(dtype, 2.0)))
    if draw(st.booleans()):
        return draw(hnp.arrays(np.int64, (batch,), elements=st.integers(0, m - 1)))
    weights = draw(hnp.arrays(np.float64, (batch, m), elements=st.floats(0.0, 1.0)))
    weights[:, 0] += 1.0  # keep every row's total positive
    return (weights / weights.sum(axis=1, keepdims=True)).astype(dtype)


@st.composite
def network_problems(
    draw,
    *,
    dtype: type = np.float64,
    max_batch: int = 3,
    architectures: st.SearchStrategy[Network] | None = None,
):
    """``(network, params, y, target)``: an architecture, its parameters, a batch and a target."""
    network = draw(architectures if architectures is not None else network_architectures())
    batch = draw(st.integers(1, max_batch))
    params = draw(network_parameters(network, dtype=dtype))
    y = draw(network_inputs(network, batch=batch, dtype=dtype))
    target = draw(network_targets(network, batch=batch, dtype=dtype))
    return network, params, y, target
