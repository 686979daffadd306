"""The exact reference for :mod:`verify.kernels.network`: networks built from SymPy symbols.

Two references, both evaluated in mpmath at increasing precision until two precisions round to the
same float64 (Ziv's strategy, :data:`verify.symbolic.highprec.PRECISIONS`):

- :func:`composite_value_and_grad` — the whole composite L(θ) = ℓ(f_d(⋯ f_1(y, θ_1) ⋯, θ_d), c)
  (``002_1388b78ad9a2d202.txt``, slide "Architectures 101") written out with matrices of symbols and
  differentiated by ``sympy.diff`` with respect to every entry of every K_j (θ_j), b_j and y. Exact
  and literal, but the expression grows like the product of the widths: depth 4 × width 6 (174
  symbols) takes minutes (measured: 14 s to build, 257 s for the ``diff`` calls, 159 s to lambdify),
  so it is meant for small networks.
- :func:`reference_value_and_grad` — every *layer* f_j(v, θ_j) and the loss ℓ(F, c) written with
  symbols and differentiated by ``sympy.diff`` (their Jacobians ∂f_j/∂v, ∂f_j/∂θ_j, ∂f_j/∂b_j and
  ∇_F ℓ: activation derivatives, the residual identity, the convolution structure and every index all
  come from SymPy, none is hand-written), combined by the chain rule exactly as the slide "Backward
  Propagation: Chain Rule" writes it, ∇_{θ_j} L = ∇_{θ_j} u_j ∇_{u_j} u_{j+1} ⋯ ∇_{u_d} L, as products of
  the full Jacobian matrices in high precision. The per-layer expressions are tiny, so this reference
  is cached per layer (not per network) and covers every architecture of the strategy quickly; a test
  shows it equals :func:`composite_value_and_grad` where both run.

:func:`worked_example` reproduces the worked example of ``002_1388b78ad9a2d202.txt`` (slide
"Example: Backward Propagation"), F(y) = W a(Ky + b) with cross-entropy, with a generic activation a:
every gradient by ``sympy.diff``, its matrix formula (LaTeX) proved equal to it, and the formulas as
written on the slide with the verdict on each.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy as sp

from verify.kernels.network import Layer, Network, validate_parameters
from verify.symbolic.activations import SYMBOLIC_ACTIVATIONS, X
from verify.symbolic.highprec import PRECISIONS, HighPrecisionError, mp_to_float64

__all__ = [
    "layer_expression",
    "loss_expression",
    "network_expression",
    "reference_value_and_grad",
    "composite_value_and_grad",
    "WorkedExample",
    "worked_example",
]


# --------------------------------------------------------------------------------------------------
# Symbolic layers and losses
# --------------------------------------------------------------------------------------------------


def _activate(name: str, z: sp.Expr) -> sp.Expr:
    return SYMBOLIC_ACTIVATIONS[name].stable_definition.subs(X, z)


def _symbolic_conv_matrix(theta: Sequence[sp.Symbol], n_in: int) -> sp.Matrix:
    k = len(theta)
    return sp.Matrix(n_in - k + 1, n_in, lambda i, p: theta[p - i] if 0 <= p - i < k else 0)


def layer_expression(
    layer: Layer, v: sp.Matrix, weight: sp.Matrix, bias: sp.Matrix
) -> sp.Matrix:
    """f(v) = [v +] σ(K v + b), K = ``weight`` or K(θ) for a convolution (θ = ``weight`` as a column)."""
    matrix = _symbolic_conv_matrix(list(weight), layer.n_in) if layer.kind == "conv1d" else weight
    z = matrix * v + bias
    out = z.applyfunc(lambda e: _activate(layer.activation, e))
    return v + out if layer.kind == "residual" else out


def loss_expression(loss: str, output: Sequence[sp.Expr], target: Sequence[sp.Expr]) -> sp.Expr:
    """½‖F − c‖² or −cᵀ log σ(F), σ the softmax (``002_1388b78ad9a2d202.txt``, "Loss Functions")."""
    if loss == "least_squares":
        return sp.Rational(1, 2) * sum((f - c) ** 2 for f, c in zip(output, target, strict=True))
    log_total = sp.log(sum(sp.exp(f) for f in output))
    return -sum(c * (f - log_total) for f, c in zip(output, target, strict=True))


def _layer_symbols(layer: Layer, j: int) -> tuple[sp.Matrix, sp.Matrix]:
    if layer.kind == "conv1d":
        weight = sp.Matrix(sp.symbols(f"theta{j}_0:{layer.weight_shape[0]}", real=True))
    else:
        weight = sp.Matrix(layer.n_out, layer.n_in, lambda r, s: sp.Symbol(f"K{j}_{r}_{s}", real=True))
    bias = sp.Matrix(sp.symbols(f"b{j}_0:{layer.n_out}", real=True))
    return weight, bias


def _column(symbols: Sequence[sp.Symbol]) -> sp.Matrix:
    return sp.Matrix(list(symbols))


@dataclass(frozen=True)
class _CompiledLayer:
    """A layer's output and Jacobians as one mpmath function of (v, weight entries, bias)."""

    n_weights: int
    function: object  # lambdified: (*v, *w, *b) -> [out, J_v, J_w, J_b] as nested lists


@functools.cache
def _compiled_layer(layer: Layer) -> _CompiledLayer:
    v = _column(sp.symbols(f"v0:{layer.n_in}", real=True))
    weight, bias = _layer_symbols(layer, 0)
    out = layer_expression(layer, v, weight, bias)
    w_list, b_list, v_list = list(weight), list(bias), list(v)
    jacobians = [
        [[sp.diff(f, s) for s in variables] for f in out] for variables in (v_list, w_list, b_list)
    ]
    function = sp.lambdify(v_list + w_list + b_list, [list(out), *jacobians], modules="mpmath", cse=True)
    return _CompiledLayer(len(w_list), function)


@functools.cache
def _compiled_loss(loss: str, width: int):
    output = sp.symbols(f"F0:{width}", real=True)
    target = sp.symbols(f"c0:{width}", real=True)
    value = loss_expression(loss, output, target)
    grad = [sp.diff(value, f) for f in output]
    return sp.lambdify(list(output) + list(target), [value, grad], modules="mpmath", cse=True)


def _target_rows(network: Network, target: object, n: int) -> np.ndarray:
    """The target as a float (N, m) array c; integer labels become one-hot rows."""
    arr = np.asarray(target)
    m = network.output_width
    if network.loss == "softmax_cross_entropy" and arr.dtype.kind in "iu":
        if arr.shape != (n,) or (arr < 0).any() or (arr >= m).any():
            raise ValueError(f"target labels must have shape ({n},) with entries in [0, {m}); got {arr!r}")
        return np.eye(m)[arr]
    if arr.shape != (n, m) or arr.dtype.kind != "f":
        raise ValueError(f"target must be a float array of shape ({n}, {m}); got {arr!r}")
    return arr.astype(np.float64)


def _check_reduction(reduction: str) -> None:
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum'; got {reduction!r}")


# --------------------------------------------------------------------------------------------------
# Chain-rule reference (per-layer sympy.diff Jacobians)
# --------------------------------------------------------------------------------------------------


def _chain_example(network: Network, params, y_row, c_row):
    """(ℓ, [(∇θ_j, ∇b_j)], ∇y) for one example, in the current mpmath precision."""
    u = [mpmath.mpf(float(x)) for x in y_row]
    jacobians = []
    for layer, (weight, bias) in zip(network.layers, params, strict=True):
        compiled = _compiled_layer(layer)
        args = u + [mpmath.mpf(float(x)) for x in weight.ravel()] + [mpmath.mpf(float(x)) for x in bias]
        out, j_v, j_w, j_b = compiled.function(*args)
        jacobians.append((j_v, j_w, j_b))
        u = [mpmath.mpf(x) for x in out]
    loss = _compiled_loss(network.loss, network.output_width)
    value, g = loss(*u, *[mpmath.mpf(float(x)) for x in c_row])
    g = [mpmath.mpf(x) for x in g]
    grads = [None] * network.depth
    for j in range(network.depth - 1, -1, -1):
        j_v, j_w, j_b = jacobians[j]
        grads[j] = tuple(
            [mpmath.fsum(g[i] * jac[i][s] for i in range(len(g))) for s in range(len(jac[0]) if jac else 0)]
            for jac in (j_w, j_b)
        )
        g = [mpmath.fsum(g[i] * j_v[i][s] for i in range(len(g))) for s in range(len(j_v[0]))]
    return mpmath.mpf(value), grads, g


def _ziv(evaluate):
    """Run ``evaluate()`` (returns a flat list of mpf) at rising precision until two round alike."""
    previous = None
    for prec in PRECISIONS:
        with mpmath.workprec(prec):
            rounded = [mp_to_float64(x) for x in evaluate()]
        if previous is not None and all(a == b or (math.isnan(a) and math.isnan(b))
                                        for a, b in zip(rounded, previous, strict=True)):
            return rounded
        previous = rounded
    raise HighPrecisionError("network reference: no two consecutive precisions agreed")


def _unflatten(network: Network, flat: list[float], n0: int):
    value, position = flat[0], 1
    grads = []
    for layer in network.layers:
        sizes = (int(np.prod(layer.weight_shape)), layer.n_out)
        weight = np.array(flat[position:position + sizes[0]]).reshape(layer.weight_shape)
        position += sizes[0]
        bias = np.array(flat[position:position + sizes[1]])
        position += sizes[1]
        grads.append((weight, bias))
    return value, grads, np.array(flat[position:]).reshape(-1, n0)


def reference_value_and_grad(
    network: Network, params: object, y: object, target: object, *, reduction: str = "mean"
) -> tuple[float, list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """``(L, grads, grad_y)`` correctly rounded to float64, shaped like :func:`network_value_and_grad`'s.

    Per-layer Jacobians by ``sympy.diff``, chained in high precision (see the module docstring).
    ``params`` and ``y`` may be float32 or float64: the reference is taken at their exact values.
    """
    _check_reduction(reduction)
    params = validate_parameters(network, params)
    y = np.asarray(y, dtype=np.float64)
    c = _target_rows(network, target, y.shape[0])

    def evaluate():
        scale = mpmath.mpf(1) / y.shape[0] if reduction == "mean" else mpmath.mpf(1)
        total = mpmath.mpf(0)
        sums = None
        grad_rows = []
        for row in range(y.shape[0]):
            value, grads, g_y = _chain_example(network, params, y[row], c[row])
            total += value
            flat = [x for gw, gb in grads for x in (*gw, *gb)]
            sums = flat if sums is None else [a + b for a, b in zip(sums, flat, strict=True)]
            grad_rows.extend(x * scale for x in g_y)
        return [total * scale, *(x * scale for x in sums), *grad_rows]

    return _unflatten(network, _ziv(evaluate), network.input_width)


# --------------------------------------------------------------------------------------------------
# Composite reference (one expression, sympy.diff with respect to everything)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Composite:
    loss: sp.Expr
    parameter_symbols: tuple[sp.Symbol, ...]
    input_symbols: tuple[sp.Symbol, ...]
    target_symbols: tuple[sp.Symbol, ...]
    function: object


def network_expression(network: Network) -> tuple[sp.Expr, tuple, tuple, tuple]:
    """(ℓ(F(y, θ), c), θ symbols in parameter order, y symbols, c symbols) for one example."""
    y = _column(sp.symbols(f"y0:{network.input_width}", real=True))
    u, parameters = y, []
    for j, layer in enumerate(network.layers):
        weight, bias = _layer_symbols(layer, j)
        parameters += list(weight) + list(bias)
        u = layer_expression(layer, u, weight, bias)
    c = sp.symbols(f"c0:{network.output_width}", real=True)
    return loss_expression(network.loss, list(u), c), tuple(parameters), tuple(y), tuple(c)


@functools.cache
def _composite(network: Network) -> _Composite:
    loss, parameters, y, c = network_expression(network)
    gradients = [sp.diff(loss, s) for s in parameters + y]
    function = sp.lambdify(list(parameters + y + c), [loss, *gradients], modules="mpmath", cse=True)
    return _Composite(loss, parameters, y, c, function)


def composite_value_and_grad(
    network: Network, params: object, y: object, target: object, *, reduction: str = "mean"
) -> tuple[float, list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """Like :func:`reference_value_and_grad`, from ``sympy.diff`` of the whole composite (small networks)."""
    _check_reduction(reduction)
    params = validate_parameters(network, params)
    y = np.asarray(y, dtype=np.float64)
    c = _target_rows(network, target, y.shape[0])
    composite = _composite(network)
    theta = [float(x) for weight, bias in params for x in (*weight.ravel(), *bias)]
    n_theta = len(theta)

    def evaluate():
        scale = mpmath.mpf(1) / y.shape[0] if reduction == "mean" else mpmath.mpf(1)
        total, sums, grad_rows = mpmath.mpf(0), [mpmath.mpf(0)] * n_theta, []
        for row in range(y.shape[0]):
            args = [mpmath.mpf(x) for x in (*theta, *map(float, y[row]), *map(float, c[row]))]
            value, *grads = composite.function(*args)
            total += value
            sums = [a + b for a, b in zip(sums, grads[:n_theta], strict=True)]
            grad_rows.extend(mpmath.mpf(x) * scale for x in grads[n_theta:])
        return [total * scale, *(x * scale for x in sums), *grad_rows]

    return _unflatten(network, _ziv(evaluate), network.input_width)


# --------------------------------------------------------------------------------------------------
# The worked example of 002_1388b78ad9a2d202.txt
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkedExample:
    """F(y) = W a(Ky + b), L = −cᵀ log σ(F) with c ∈ Δ² (``002_1388b78ad9a2d202.txt``,
    "Example: Backward Propagation").

    ``symbols``: name → SymPy matrix (``W``, ``K``, ``b``, ``y``, ``c``; ``c₂ = 1 − c₁`` imposed);
    ``loss``: L; ``gradients``: name (``u2``, ``W``, ``u1``, ``K``, ``b``, ``y``) → the gradient by
    ``sympy.diff``, entry by entry; ``formulas`` / ``formulas_latex``: the matrix formulas, each proved
    equal to the ``sympy.diff`` gradient (``verified[name]``); ``as_written`` / ``as_written_latex``: the
    slide's formulas; ``as_written_holds[name]``: whether the slide's formula equals the gradient;
    ``counterexample``: a point (a = tanh, small rationals) and, per wrong formula, the slide's value
    next to the true gradient there.
    """

    symbols: dict
    loss: sp.Expr
    gradients: dict
    formulas: dict
    formulas_latex: dict
    verified: dict
    as_written: dict
    as_written_latex: dict
    as_written_holds: dict
    counterexample: dict


_WORKED_LATEX = {
    "u2": r"\nabla_{\mathbf{u}_2} L = \sigma(\mathbf{u}_2) - \mathbf{c}",
    "W": r"\nabla_{\mathbf{W}} L = (\sigma(\mathbf{u}_2) - \mathbf{c})\,\mathbf{u}_1^\top",
    "u1": r"\nabla_{\mathbf{u}_1} L = \mathbf{W}^\top (\sigma(\mathbf{u}_2) - \mathbf{c})",
    "K": r"\nabla_{\mathbf{K}} L = \operatorname{diag}(a'(\mathbf{K}\mathbf{y} + \mathbf{b}))\,\mathbf{W}^\top"
         r"(\sigma(\mathbf{u}_2) - \mathbf{c})\,\mathbf{y}^\top",
    "b": r"\nabla_{\mathbf{b}} L = \operatorname{diag}(a'(\mathbf{K}\mathbf{y} + \mathbf{b}))\,\mathbf{W}^\top"
         r"(\sigma(\mathbf{u}_2) - \mathbf{c})",
    "y": r"\nabla_{\mathbf{y}} L = \mathbf{K}^\top \operatorname{diag}(a'(\mathbf{K}\mathbf{y} + \mathbf{b}))\,"
         r"\mathbf{W}^\top (\sigma(\mathbf{u}_2) - \mathbf{c})",
}

# Transcribed from the slide (its σ(z) in ∇_{u_1} L read as σ(u_2), the only z in sight).
_AS_WRITTEN_LATEX = {
    "u2": r"\nabla_{\mathbf{u}_2} L(\mathbf{u}_2, \mathbf{c}) = \mathbf{c} - \sigma(\mathbf{u}_2)",
    "W": r"\nabla_{\mathbf{W}} L(\mathbf{u}_2, \mathbf{c}) = (\mathbf{c} - \sigma(\mathbf{u}_2))\mathbf{u}_1^\top",
    "u1": r"\nabla_{\mathbf{u}_1} L(\mathbf{u}_2, \mathbf{c}) = \mathbf{W}^\top (\mathbf{c} - \sigma(\mathbf{z}))",
    "K": r"\nabla_{\mathbf{K}} L(\mathbf{u}_2, \mathbf{c}) = \text{diag}(a'(\mathbf{K}\mathbf{y} + \mathbf{b}))"
         r"(\mathbf{c} - \sigma(\mathbf{u}_2))\mathbf{y}^\top",
    "b": r"\nabla_{\mathbf{b}} L(\mathbf{u}_2, \mathbf{c}) = \text{diag}(a'(\mathbf{K}\mathbf{y} + \mathbf{b}))"
         r"(\mathbf{c} - \sigma(\mathbf{u}_2))",
    "y": r"\nabla_{\mathbf{y}} L(\mathbf{u}_2, \mathbf{c}) = \mathbf{K}^\top \text{diag}(a'(\mathbf{K}\mathbf{y} + "
         r"\mathbf{b}))(\mathbf{c} - \sigma(\mathbf{u}_2))",
}


def _is_zero(expr: sp.Expr) -> bool:
    """A proof that ``expr`` ≡ 0: the numerator over a common denominator expands to 0 (else simplify)."""
    numerator, _ = sp.fraction(sp.together(expr))
    return sp.expand(numerator) == 0 or sp.simplify(expr) == 0


@functools.lru_cache(maxsize=1)
def worked_example() -> WorkedExample:
    """The worked example of ``002_1388b78ad9a2d202.txt`` derived by SymPy (see :class:`WorkedExample`)."""
    a = sp.Function("a")
    W = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"W_{i + 1}{j + 1}", real=True))
    K = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"K_{i + 1}{j + 1}", real=True))
    b = sp.Matrix(sp.symbols("b_1:3", real=True))
    y = sp.Matrix(sp.symbols("y_1:3", real=True))
    c1 = sp.Symbol("c_1", real=True)
    c = sp.Matrix([c1, 1 - c1])  # c ∈ Δ²: c₁ + c₂ = 1
    z = K * y + b
    u1 = z.applyfunc(a)
    u2 = W * u1
    loss = loss_expression("softmax_cross_entropy", list(u2), list(c))

    def grad(m: sp.Matrix) -> sp.Matrix:
        return m.applyfunc(lambda s: sp.diff(loss, s))

    # ∇_{u_2} L and ∇_{u_1} L: differentiate with u_2, u_1 as free variables, then put them back.
    v2 = sp.Matrix(sp.symbols("v_1:3", real=True))
    v1 = sp.Matrix(sp.symbols("w_1:3", real=True))
    loss_u2 = loss_expression("softmax_cross_entropy", list(v2), list(c))
    loss_u1 = loss_expression("softmax_cross_entropy", list(W * v1), list(c))
    gradients = {
        "u2": v2.applyfunc(lambda s: sp.diff(loss_u2, s)).subs(dict(zip(v2, u2, strict=True))),
        "W": grad(W),
        "u1": v1.applyfunc(lambda s: sp.diff(loss_u1, s)).subs(dict(zip(v1, u1, strict=True))),
        "K": grad(K),
        "b": grad(b),
        "y": grad(y),
    }
    total = sum(sp.exp(e) for e in u2)
    softmax = u2.applyfunc(lambda e: sp.exp(e) / total)
    r = softmax - c
    slope = sp.diag(*[sp.diff(a(X), X).subs(X, e) for e in z])
    formulas = {
        "u2": r, "W": r * u1.T, "u1": W.T * r, "K": slope * W.T * r * y.T, "b": slope * W.T * r,
        "y": K.T * slope * W.T * r,
    }
    as_written = {
        "u2": -r, "W": -r * u1.T, "u1": -W.T * r, "K": slope * (-r) * y.T, "b": slope * (-r),
        "y": K.T * slope * (-r),
    }
    point = {s: sp.Rational(p, 7) for s, p in zip([*W, *K, *b, *y, c1], [3, -2, 1, 5, 2, -1, 4, 3, 1, -2, 6, -3, 2],
                                                  strict=True)}

    def at_point(m: sp.Matrix) -> list[float]:
        concrete = m.replace(a, sp.tanh).doit().subs(point)
        return [float(sp.N(e, 30)) for e in concrete]

    verified = {k: all(_is_zero(e) for e in gradients[k] - formulas[k]) for k in formulas}
    # A slide formula that differs from the gradient at one point is refuted there; one that agrees
    # at the point must still be proved equal.
    holds = {
        k: at_point(as_written[k]) == at_point(gradients[k]) and all(_is_zero(e) for e in gradients[k] - as_written[k])
        for k in as_written
    }
    counterexample = {
        "point": {str(s): str(v) for s, v in point.items()} | {"a": "tanh"},
        "values": {k: {"as_written": at_point(as_written[k]), "gradient": at_point(gradients[k])}
                   for k in as_written if not holds[k]},
    }
    return WorkedExample(
        symbols={"W": W, "K": K, "b": b, "y": y, "c": c},
        loss=loss,
        gradients=gradients,
        formulas=formulas,
        formulas_latex=dict(_WORKED_LATEX),
        verified=verified,
        as_written=as_written,
        as_written_latex=dict(_AS_WRITTEN_LATEX),
        as_written_holds=holds,
        counterexample=counterexample,
    )
