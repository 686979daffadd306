"""SymPy definitions of every loss, their gradients by ``sympy.diff``, and high-precision references.

``SYMBOLIC_LOSSES[name]`` is a :class:`SymbolicLoss` for each kernel of
:mod:`verify.kernels.losses`, called with the kernel's arguments in the kernel's order:

- ``definition(k, key)``: the loss of one row as written in the source (``k`` entries per row;
  ``key`` fixes discrete labels, see :meth:`SymbolicLoss.forms`);
- ``forms(k, key)``: the symbols, the definition, the *evaluation form* of the value (the same
  function written so that mpmath never absorbs a tiny term: ``log1p``, exponentials of differences)
  and its gradient by ``sympy.diff``;
- ``reference(*args, reduction="none")``: ``(value, grad)`` exactly as the kernel returns them, in
  correctly rounded float64 (mpmath, see :mod:`verify.symbolic.highprec`);
- ``reference_and_magnitudes(*args, reduction=...)``: the same plus the *magnitudes* that set the
  tolerance: the sum of the absolute values of what is added up (the condition number of the final
  sums), see :mod:`verify.symbolic.tolerance`.

Conventions match the kernels: 0·log 0 = 0; at a hinge's kink the gradient is 0; the wrong class of
the multi-class hinge is the first highest-scoring one; at ``q_k = 0 < p_k`` values are ``+∞`` and
gradients the one-sided limits (``−∞``); the entropy's gradient at ``p_k = 0`` is its limit ``+∞``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import log1p

from verify.symbolic.highprec import PRECISIONS, Compiled, mp_to_float64

__all__ = ["Forms", "SymbolicLoss", "SYMBOLIC_LOSSES", "REDUCTIONS"]

REDUCTIONS: tuple[str, ...] = ("mean", "sum", "none")


@dataclass(frozen=True)
class Forms:
    """The symbolic pieces of one row: ``symbols[a]`` are the entries of argument ``a``."""

    symbols: tuple[tuple[sp.Symbol, ...], ...]
    definition: sp.Expr
    value: sp.Expr
    grads: tuple[sp.Expr, ...]

    @property
    def flat_symbols(self) -> tuple[sp.Symbol, ...]:
        return tuple(s for group in self.symbols for s in group)


def _vec(name: str, k: int, **assumptions) -> tuple[sp.Symbol, ...]:
    return tuple(sp.symbols(f"{name}0:{k}", real=True, **assumptions))


def _xlogy_zero(a: sp.Symbol, expr: sp.Expr) -> sp.Expr:
    """``a·expr`` with the convention ``0·(anything) = 0`` (so 0·log 0 = 0)."""
    return sp.Piecewise((0, sp.Eq(a, 0)), (a * expr, True))


def _others(z: tuple[sp.Symbol, ...], i: int) -> sp.Expr:
    return sum((sp.exp(zj - z[i]) for j, zj in enumerate(z) if j != i), sp.Integer(0))


def _sigmoid(x: sp.Expr) -> sp.Expr:
    return 1 / (1 + sp.exp(-x))


# --------------------------------------------------------------------------- the forms of each loss
# Each builder: (k, key) -> (symbols per argument, definition, evaluation form[, explicit gradient]).


def _least_squares(k, key):
    f, c = _vec("F", k), _vec("c", k)
    value = sum((fi - ci) ** 2 for fi, ci in zip(f, c, strict=True)) / 2
    return (f, c), value, value


def _hinge(k, s):
    (x,) = _vec("x", 1)
    margin = 1 - s * x
    return ((x,),), sp.Max(0, margin), sp.Piecewise((margin, margin > 0), (0, True))


def _multiclass_hinge(k, key):
    t, j = key
    y = _vec("y", k)
    wrong = sp.Max(*[y[i] for i in range(k) if i != t])
    margin = 1 - (y[t] - y[j])
    return (y,), sp.Max(0, 1 - (y[t] - wrong)), sp.Piecewise((margin, margin > 0), (0, True))


def _logistic_probability(k, y):
    (p,) = _vec("yhat", 1, nonnegative=True)
    definition = (-y * sp.log(p) - (1 - y) * sp.log(1 - p))
    value = -sp.log(p) if y == 1 else -log1p(-p)
    return ((p,),), definition, value


def _logistic_logit(k, y):
    (x,) = _vec("x", 1)
    definition = -y * sp.log(_sigmoid(x)) - (1 - y) * sp.log(1 - _sigmoid(x))
    value = log1p(sp.exp(-x)) if y == 1 else log1p(sp.exp(x))
    return ((x,),), definition, value


def _categorical_cross_entropy(k, key):
    q, c = _vec("q", k, nonnegative=True), _vec("c", k, nonnegative=True)
    value = sum((_xlogy_zero(ci, -sp.log(qi)) for qi, ci in zip(q, c, strict=True)), sp.Integer(0))
    return (q, c), value, value


def _softmax_cross_entropy(k, key):
    z, c = _vec("z", k), _vec("c", k, nonnegative=True)
    total = sum(sp.exp(zj) for zj in z)
    definition = -sum(ci * sp.log(sp.exp(zi) / total) for zi, ci in zip(z, c, strict=True))
    value = sum(c[i] * log1p(_others(z, i)) for i in range(k))  # −log σ(z)_i = log1p(Σ_{j≠i} e^{z_j − z_i})
    return (z, c), definition, value


def _entropy(k, key):
    p = _vec("p", k, nonnegative=True)
    value = sum((_xlogy_zero(pi, -sp.log(pi)) for pi in p), sp.Integer(0))
    # d/dp(−p log p) = −(log p + 1), extended to p = 0 by its limit +∞ (not by the 0 of the Piecewise)
    grads = tuple(sp.diff(-pi * sp.log(pi), pi) for pi in p)
    return (p,), value, value, grads


def _cross_entropy(k, key):
    p, q = _vec("p", k, nonnegative=True), _vec("q", k, nonnegative=True)
    value = sum((_xlogy_zero(pi, -sp.log(qi)) for pi, qi in zip(p, q, strict=True)), sp.Integer(0))
    return (p, q), value, value


def _kl_divergence(k, key):
    p, q = _vec("p", k, nonnegative=True), _vec("q", k, nonnegative=True)
    definition = sum((_xlogy_zero(pi, sp.log(pi / qi)) for pi, qi in zip(p, q, strict=True)), sp.Integer(0))
    # log p − log q: +∞ at q = 0 < p without a division by zero
    value = sum((_xlogy_zero(pi, sp.log(pi) - sp.log(qi)) for pi, qi in zip(p, q, strict=True)), sp.Integer(0))
    return (p, q), definition, value


# --------------------------------------------------------------------------- the catalogue entry


@dataclass(frozen=True)
class SymbolicLoss:
    """One loss of the catalogue. ``arguments`` are the kernel's positional arguments, ``wrt`` the
    index of the one the gradient is taken with respect to; ``target_kinds`` the accepted kinds of
    targets: ``values`` (floats like the prediction), ``sign`` (±1), ``binary`` (0/1, or ±1 with
    ``labels="plus_minus_one"``), ``labels`` (integer classes), ``distribution`` (rows of the simplex)."""

    name: str
    formula: str
    source: str
    arguments: tuple[str, ...]
    argument_descriptions: tuple[str, ...]
    wrt: int
    target_kinds: tuple[str, ...]
    builder: Callable
    row_shape: str  # "vector": (N, K) rows; "scalar": (N,) entries

    def forms(self, k: int, key: object = None) -> Forms:
        """Symbols, definition, evaluation form and gradient (``sympy.diff``) of one row of ``k`` entries.
        ``key``: the label of a binary loss (±1 for ``hinge``, 0/1 for the logistic losses) or
        ``(t, j)`` (true class, first highest-scoring wrong class) for ``multiclass_hinge``."""
        return _forms(self.name, k, key)

    def definition(self, k: int, key: object = None) -> sp.Expr:
        return self.forms(k, key).definition

    def reference(self, *args, reduction: str = "none", labels: str = "zero_one"):
        """``(value, grad)`` as the kernel returns them, correctly rounded float64."""
        value, grad, _, _ = self.reference_and_magnitudes(*args, reduction=reduction, labels=labels)
        return value, grad

    def reference_and_magnitudes(self, *args, reduction: str = "none", labels: str = "zero_one"):
        """``(value, grad, value_magnitude, grad_magnitude)``; magnitudes are float64 arrays/floats."""
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}; got {reduction!r}")
        rows, keys, shape = _prepare(self, args, labels)
        mp_values, mp_grads = [], []
        for row, key in zip(rows, keys, strict=True):
            _, mp_out = _compiled(self.name, len(row[0]), key).evaluate([v for part in row for v in part])
            mp_values.append(mp_out[0])
            mp_grads.append(mp_out[1:])
        values = np.array([mp_to_float64(v) for v in mp_values])
        grads = np.array([[mp_to_float64(g) for g in gs] for gs in mp_grads]).reshape(shape)
        value_mag, grad_mag = _magnitudes(self.name, args, rows, values, grads, labels)
        n = len(rows)
        if reduction == "none":
            return values, grads, value_mag, grad_mag
        divisor = n if reduction == "mean" else 1
        with mpmath.workprec(PRECISIONS[-1]):
            total = mpmath.fsum(mp_values) / divisor
            grads = np.array([[mp_to_float64(g / divisor) for g in gs] for gs in mp_grads]).reshape(shape)
        return mp_to_float64(total), grads, float(np.sum(value_mag)) / divisor, grad_mag / divisor


@functools.cache
def _forms(name: str, k: int, key: object) -> Forms:
    built = _BUILDERS[name](k, key)
    symbols, definition, value = built[0], built[1], built[2]
    wrt = SYMBOLIC_LOSSES[name].wrt
    grads = built[3] if len(built) > 3 else tuple(sp.diff(value, s) for s in symbols[wrt])
    return Forms(tuple(symbols), definition, value, tuple(grads))


@functools.cache
def _compiled(name: str, k: int, key: object) -> Compiled:
    forms = _forms(name, k, key)
    wrt = SYMBOLIC_LOSSES[name].wrt
    return Compiled(forms.flat_symbols, [forms.value, *forms.grads], limit_symbols=forms.symbols[wrt])


def _prepare(loss: SymbolicLoss, args, labels: str):
    """Per-row argument tuples, per-row keys and the gradient's shape."""
    if len(args) != len(loss.arguments):
        raise TypeError(f"{loss.name} reference takes {loss.arguments}; got {len(args)} arguments")
    arrays = [np.asarray(a) for a in args]
    if loss.row_shape == "scalar":
        x = arrays[0].astype(np.float64)
        y = arrays[1]
        if loss.name == "hinge":
            keys = [int(v) for v in y]
        else:
            keys = [int(v) if labels == "zero_one" else (int(v) + 1) // 2 for v in y]
        return [((float(v),),) for v in x], keys, x.shape
    wrt_shape = arrays[loss.wrt].shape
    if loss.name == "multiclass_hinge":
        y, t = arrays[0].astype(np.float64), arrays[1]
        keys = []
        for row, ti in zip(y, t, strict=True):
            others = [(v, i) for i, v in enumerate(row) if i != int(ti)]
            best = max(v for v, _ in others)
            keys.append((int(ti), next(i for v, i in others if v == best)))
        return [(tuple(map(float, row)),) for row in y], keys, wrt_shape
    floats = []
    for a in arrays:
        if a.dtype.kind in "iu":  # class indices → one-hot distributions
            one_hot = np.zeros(wrt_shape)
            one_hot[np.arange(wrt_shape[0]), a] = 1.0
            a = one_hot
        floats.append(a.astype(np.float64))
    rows = [tuple(tuple(map(float, arr[i])) for arr in floats) for i in range(wrt_shape[0])]
    return rows, [None] * len(rows), wrt_shape


def _magnitudes(name: str, args, rows, values: np.ndarray, grads: np.ndarray, labels: str):
    """Per-row value magnitudes and per-entry gradient magnitudes (see the module docstring)."""
    value_mag, grad_mag = np.abs(values), np.abs(grads)
    with np.errstate(all="ignore"):
        if name == "kl_divergence":
            p, q = (np.asarray(a, dtype=np.float64) for a in args)
            terms = np.where(p == 0, 0.0, np.abs(p * (np.log(p) - np.log(q))))
            value_mag = terms.sum(axis=1)
        elif name == "entropy":
            p = np.asarray(args[0], dtype=np.float64)
            grad_mag = np.abs(np.log(p)) + 1.0
        elif name == "softmax_cross_entropy" and np.asarray(args[1]).dtype.kind == "f":
            z = np.asarray(args[0], dtype=np.float64)
            c = np.asarray(args[1], dtype=np.float64)
            shifted = np.exp(z - z.max(axis=1, keepdims=True))
            s = shifted / shifted.sum(axis=1, keepdims=True)
            grad_mag = c.sum(axis=1, keepdims=True) * s + np.abs(c)
    return value_mag, grad_mag


_BUILDERS: dict[str, Callable] = {
    "least_squares": _least_squares,
    "hinge": _hinge,
    "multiclass_hinge": _multiclass_hinge,
    "logistic_from_probability": _logistic_probability,
    "logistic_from_logit": _logistic_logit,
    "categorical_cross_entropy": _categorical_cross_entropy,
    "softmax_cross_entropy": _softmax_cross_entropy,
    "entropy": _entropy,
    "cross_entropy": _cross_entropy,
    "kl_divergence": _kl_divergence,
}

_S000 = "000_42086e2af0f76780.txt"
_S002 = "002_1388b78ad9a2d202.txt"
_PRED_TARGET = ("prediction", "target")


def _entry(name, formula, source, descriptions, target_kinds, *, arguments=_PRED_TARGET, wrt=0, row="vector"):
    return SymbolicLoss(name, formula, source, arguments, descriptions, wrt, target_kinds, _BUILDERS[name], row)


SYMBOLIC_LOSSES: dict[str, SymbolicLoss] = {
    e.name: e
    for e in (
        _entry("least_squares", "½‖F − c‖²₂", f"{_S002}, 'Loss Functions — Least Squares'",
               ("F: (N, K) floats", "c: (N, K) floats"), ("values",)),
        _entry("hinge", "max(0, 1 − y·ỹ)", f"{_S000}, 'LOSS FUNCTIONS — HINGE (binary) LOSS'",
               ("ỹ: (N,) scores", "y: (N,) labels in {−1, +1}"), ("sign",), row="scalar"),
        _entry("multiclass_hinge", "max(0, 1 − (ŷ_[t] − ŷ_[j])), j = argmax_{j≠t} ŷ_[j]",
               f"{_S000}, 'LOSS FUNCTIONS — HINGE (multi-class) LOSS'",
               ("ŷ: (N, K) scores, K ≥ 2", "t: (N,) integer classes"), ("labels",)),
        _entry("logistic_from_probability", "−y log ŷ − (1 − y) log(1 − ŷ)",
               f"{_S000}, 'LOSS FUNCTIONS — LOGISTIC LOSS (BINARY CROSS ENTROPY)'",
               ("ŷ: (N,) probabilities in [0, 1]", "y: (N,) labels in {0, 1}"), ("binary",), row="scalar"),
        _entry("logistic_from_logit", "−y log σ(ỹ) − (1 − y) log(1 − σ(ỹ)), σ(x) = 1/(1 + e^{−x})",
               f"{_S000}, 'LOSS FUNCTIONS — LOGISTIC LOSS (BINARY CROSS ENTROPY)'",
               ("ỹ: (N,) logits", "y: (N,) labels in {0, 1}"), ("binary",), row="scalar"),
        _entry("categorical_cross_entropy", "−Σ_i y_[i] log ŷ_[i]  (−log ŷ_[t] for a class t)",
               f"{_S000}, 'NEGATIVE LOG LIKELIHOOD (CATEGORICAL CROSS-ENTROPY LOSS)'",
               ("ŷ: (N, K) probability rows", "y: (N,) integer classes or (N, K) probability rows"),
               ("labels", "distribution")),
        _entry("softmax_cross_entropy", "−cᵀ log σ(z), σ(z) = exp(z)/1ᵀexp(z)",
               f"{_S002}, 'Loss Functions — Cross Entropy'; 001_02deb113427fab16.txt, 'Chain rule and Backpropagation'",
               ("z: (N, K) logits", "c: (N,) integer classes or (N, K) probability rows"),
               ("labels", "distribution")),
        _entry("entropy", "H(p) = Σ_x p(x) log(1/p(x))", f"{_S002}, 'Entropy (Expected Surprise!)'",
               ("p: (N, K) probability rows",), (), arguments=("p",)),
        _entry("cross_entropy", "H(p, q) = Σ_x p(x) log(1/q(x))", f"{_S002}, 'Cross Entropy + KL Divergence'",
               ("p: (N, K) probability rows", "q: (N, K) probability rows (gradient w.r.t. q)"),
               ("distribution",), arguments=("p", "q"), wrt=1),
        _entry("kl_divergence", "D_KL(p‖q) = Σ_x p(x) log(p(x)/q(x))",
               f"{_S002}, 'Kullback-Leibler Divergence (Expected Relative Entropy)'",
               ("p: (N, K) probability rows", "q: (N, K) probability rows (gradient w.r.t. q)"),
               ("distribution",), arguments=("p", "q"), wrt=1),
    )
}


