"""SymPy definitions of every loss, their gradients by ``sympy.diff``, and high-precision references.

``SYMBOLIC_LOSSES[name]`` is a :class:`SymbolicLoss` for each record of :data:`verify.kernels.losses.RECORDS`
(the same names, arguments, options and conventions: everything but the SymPy builder comes from the record),
called with the kernel's arguments in the kernel's order:

- ``definition(k, key)``: the loss of one row as written in the source (``k`` entries per row;
  ``key`` fixes discrete labels, see :meth:`SymbolicLoss.forms`);
- ``forms(k, key, **options)``: the symbols, the definition, the *evaluation form* of the value (the same
  function written so that mpmath never absorbs a tiny term: ``log1p``, exponentials of differences)
  and its gradient by ``sympy.diff``;
- ``reference(*args, reduction="none", **options)``: ``(value, grad)`` exactly as the kernel returns them, in
  correctly rounded float64 (mpmath, see :mod:`verify.symbolic.highprec`);
- ``reference_and_magnitudes(*args, reduction=..., **options)``: the same plus the *magnitudes* that set the
  tolerance: the sum of the absolute values of what is added up (the condition number of the final
  sums), see :mod:`verify.symbolic.tolerance`.

Adding a loss: its record and row function in :mod:`verify.kernels.losses`, and its builder here (a
:class:`Builder` in :data:`BUILDERS`); importing this module checks that every record has a builder.

Conventions match the kernels: 0·log 0 = 0; at a hinge's kink the gradient is 0; the wrong class of
the multi-class hinge is the first highest-scoring one; at ``q_k = 0 < p_k`` values are ``+∞`` and
gradients the one-sided limits (``−∞``); the entropy's gradient at ``p_k = 0`` is its limit ``+∞``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import log1p

from verify.kernels.catalogue import KINDS, LossRecord, check_agreement
from verify.kernels.losses import RECORDS
from verify.symbolic.highprec import PRECISIONS, Compiled, mp_to_float64

__all__ = ["Forms", "Builder", "BUILDERS", "SymbolicLoss", "SYMBOLIC_LOSSES", "REDUCTIONS"]

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


def _exact(x: float) -> sp.Rational:
    """The float ``x`` as the exact rational it is (an option such as δ or ε enters the reference exactly)."""
    return sp.Rational(*float(x).as_integer_ratio())


def _xlogy_zero(a: sp.Symbol, expr: sp.Expr) -> sp.Expr:
    """``a·expr`` with the convention ``0·(anything) = 0`` (so 0·log 0 = 0)."""
    return sp.Piecewise((0, sp.Eq(a, 0)), (a * expr, True))


def _others(z: tuple[sp.Symbol, ...], i: int) -> sp.Expr:
    return sum((sp.exp(zj - z[i]) for j, zj in enumerate(z) if j != i), sp.Integer(0))


def _sigmoid(x: sp.Expr) -> sp.Expr:
    return 1 / (1 + sp.exp(-x))


# --------------------------------------------------------------------------- the forms of each loss
# Each builder: (k, key, **options) -> (symbols per argument, definition, evaluation form[, explicit gradient]).


def _least_squares(k, key):
    f, c = _vec("F", k), _vec("c", k)
    value = sum((fi - ci) ** 2 for fi, ci in zip(f, c, strict=True)) / 2
    return (f, c), value, value


def _huber(k, key, delta):
    f, c = _vec("F", k), _vec("c", k)
    d = _exact(delta)
    value = sum((sp.Piecewise(((fi - ci) ** 2 / 2, sp.Abs(fi - ci) <= d), (d * (sp.Abs(fi - ci) - d / 2), True))
                 for fi, ci in zip(f, c, strict=True)), sp.Integer(0))
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


def _cross_entropy_of_logits(z, weights):
    """−Σ_i w_i log σ(z)_i as written, and as Σ_i w_i log1p(Σ_{j≠i} e^{z_j − z_i}) (every term ≥ 0)."""
    total = sum(sp.exp(zj) for zj in z)
    definition = -sum(wi * sp.log(sp.exp(zi) / total) for zi, wi in zip(z, weights, strict=True))
    value = sum(weights[i] * log1p(_others(z, i)) for i in range(len(z)))
    return definition, value


def _softmax_cross_entropy(k, key):
    z, c = _vec("z", k), _vec("c", k, nonnegative=True)
    return (z, c), *_cross_entropy_of_logits(z, c)


def _label_smoothed_cross_entropy(k, key, label_smoothing):
    z, c = _vec("z", k), _vec("c", k, nonnegative=True)
    epsilon = _exact(label_smoothing)
    smoothed = [(1 - epsilon) * ci + epsilon / k for ci in c]  # PyTorch's label_smoothing
    return (z, c), *_cross_entropy_of_logits(z, smoothed)


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


# --------------------------------------------------------------------------- discrete keys and magnitudes


def _multiclass_keys(arrays, labels):
    """(t, j) per row: the true class and the first highest-scoring wrong class."""
    keys = []
    for row, ti in zip(arrays[0].astype(np.float64), arrays[1], strict=True):
        others = [(v, i) for i, v in enumerate(row) if i != int(ti)]
        best = max(v for v, _ in others)
        keys.append((int(ti), next(i for v, i in others if v == best)))
    return keys


def _kl_magnitudes(args, values, grads):
    """``Σ p·(|log p| + |log q|)``: the terms of ``Σ p log p − Σ p log q``, the form PyTorch's ``kl_div`` (and
    ``−H(p) + CE(p, q)``) computes, which cancel where ``q ≈ p``; ``p·log(p/q)`` is the same sum with the
    cancellation inside the logarithm, whose rounding is smaller."""
    p, q = (np.asarray(a, dtype=np.float64) for a in args)
    with np.errstate(divide="ignore"):
        terms = np.where(p == 0, 0.0, p * (np.abs(np.log(p)) + np.abs(np.log(q))))
    return terms.sum(axis=1), np.abs(grads)


def _entropy_magnitudes(args, values, grads):
    return np.abs(values), np.abs(np.log(np.asarray(args[0], dtype=np.float64))) + 1.0


def _softmax_magnitudes(z, c):
    """(Σc)·σ(z)·(1 + |log σ(z)|) + |c|: the two terms of the gradient (Σc)σ − c, which cancel where σ ≈ c, and
    the rounding of σ formed in log space, σ = exp(z − logsumexp z) (PyTorch's log_softmax then exp): the
    exponent carries eps·|log σ| of rounding, which exp turns into that much relative error of σ."""
    shifted = np.exp(z - z.max(axis=1, keepdims=True))
    s = shifted / shifted.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_space = np.where(s > 0, s * np.abs(np.log(s)), 0.0)
    return c.sum(axis=1, keepdims=True) * (s + log_space) + np.abs(c)


def _softmax_value_magnitudes(z, c):
    """``Σ_k c_k·(|z_k − m| + log S + 1)`` per row, ``m = max z``, ``S = Σ exp(z − m) ≥ 1``: the terms of the value as
    log-softmax forms it (PyTorch, JAX), ``c·(log S − (z − m))``; ``log S`` of a rounded ``S`` carries an absolute
    ``eps`` however small ``log S`` is (``log(1 + e⁻⁷)``). ``logsumexp(z) − z_t`` has the far larger terms ``|m|``
    and ``|z_t|`` and is not covered: it loses ``log 2`` at ``[1e8, 1e8]`` in float32 and fails."""
    m = z.max(axis=1, keepdims=True)
    log_s = np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    with np.errstate(invalid="ignore"):
        terms = np.where(c > 0, c * (np.abs(z - m) + log_s + 1.0), 0.0)
    return terms.sum(axis=1)


def _logistic_logit_magnitudes(args, values, grads):
    """The logistic loss of a logit ``ỹ`` is softmax cross-entropy of the logits ``(0, ỹ)`` with the one-hot target
    of ``y``; its gradient ``σ(ỹ) − y`` gets the same magnitudes (one rule for both): the terms ``σ(ỹ)`` and ``y``,
    which cancel where ``σ(ỹ) ≈ y`` (``σ(40) − 1``, PyTorch's ``binary_cross_entropy_with_logits`` backward),
    and σ's rounding in log space. ``y == 1`` is the positive class under both label conventions."""
    x = np.asarray(args[0], dtype=np.float64).reshape(-1)
    positive = (np.asarray(args[1]).reshape(-1) == 1).astype(np.float64)
    z = np.stack([np.zeros_like(x), x], axis=1)
    c = np.stack([1.0 - positive, positive], axis=1)
    return _softmax_value_magnitudes(z, c), _softmax_magnitudes(z, c)[:, 1].reshape(np.shape(grads))


def _sce_magnitudes(args, values, grads):
    z = np.asarray(args[0], dtype=np.float64)
    c = _distribution(np.asarray(args[1]), z.shape)
    return _softmax_value_magnitudes(z, c), _softmax_magnitudes(z, c)


def _smoothed_magnitudes(args, values, grads, label_smoothing):
    z = np.asarray(args[0], dtype=np.float64)
    c = _distribution(np.asarray(args[1]), z.shape)
    smoothed = (1 - label_smoothing) * c + label_smoothing / z.shape[1]
    return _softmax_value_magnitudes(z, smoothed), _softmax_magnitudes(z, smoothed)


# --------------------------------------------------------------------------- the catalogue entry


@dataclass(frozen=True)
class Builder:
    """The SymPy side of one loss: ``forms(k, key, **options)`` (symbols, definition, evaluation form[,
    gradients]); ``keys(arrays, labels)`` the per-row discrete key when the form depends on more than the
    labels (default: the label of a binary loss, nothing otherwise); ``magnitudes(args, values, grads,
    **options)`` where the magnitudes are not ``|value|`` and ``|grad|``."""

    forms: Callable
    keys: Callable | None = None
    magnitudes: Callable | None = None


BUILDERS: dict[str, Builder] = {
    "least_squares": Builder(_least_squares),
    "huber": Builder(_huber),
    "hinge": Builder(_hinge),
    "multiclass_hinge": Builder(_multiclass_hinge, keys=_multiclass_keys),
    "logistic_from_probability": Builder(_logistic_probability),
    "logistic_from_logit": Builder(_logistic_logit, magnitudes=_logistic_logit_magnitudes),
    "categorical_cross_entropy": Builder(_categorical_cross_entropy),
    "softmax_cross_entropy": Builder(_softmax_cross_entropy, magnitudes=_sce_magnitudes),
    "label_smoothed_cross_entropy": Builder(_label_smoothed_cross_entropy, magnitudes=_smoothed_magnitudes),
    "entropy": Builder(_entropy, magnitudes=_entropy_magnitudes),
    "cross_entropy": Builder(_cross_entropy),
    "kl_divergence": Builder(_kl_divergence, magnitudes=_kl_magnitudes),
}


@dataclass(frozen=True)
class SymbolicLoss:
    """One loss of the catalogue: its record (``name``, ``formula``, ``source``, ``arguments``,
    ``argument_descriptions``, ``wrt``, ``target_kinds``, ``row_shape`` and the options come from it) and its
    :class:`Builder`."""

    record: LossRecord
    builder: Builder

    name = property(lambda self: self.record.name)
    formula = property(lambda self: self.record.formula)
    source = property(lambda self: self.record.source)
    wrt = property(lambda self: self.record.wrt)
    target_kinds = property(lambda self: self.record.target_kinds)
    row_shape = property(lambda self: self.record.row)

    @property
    def arguments(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.record.arguments)

    @property
    def argument_descriptions(self) -> tuple[str, ...]:
        return self.record.describe_arguments()

    def forms(self, k: int, key: object = None, **options) -> Forms:
        """Symbols, definition, evaluation form and gradient (``sympy.diff``) of one row of ``k`` entries.
        ``key``: the label of a binary loss (±1 for ``hinge``, 0/1 for the logistic losses) or
        ``(t, j)`` (true class, first highest-scoring wrong class) for ``multiclass_hinge``; ``options``: the
        record's numeric options (default: their defaults)."""
        return _forms(self.name, k, key, tuple(sorted(self._options(options).items())))

    def definition(self, k: int, key: object = None, **options) -> sp.Expr:
        return self.forms(k, key, **options).definition

    def reference(self, *args, reduction: str = "none", labels: str = "zero_one", **options):
        """``(value, grad)`` as the kernel returns them, correctly rounded float64."""
        value, grad, _, _ = self.reference_and_magnitudes(*args, reduction=reduction, labels=labels, **options)
        return value, grad

    def reference_and_magnitudes(self, *args, reduction: str = "none", labels: str = "zero_one", **options):
        """``(value, grad, value_magnitude, grad_magnitude)``; magnitudes are float64 arrays/floats.

        ``labels``: the label convention of the logistic losses (ignored by losses without that option);
        ``options``: the record's numeric options (those passed to its kernels), their defaults if omitted.
        """
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}; got {reduction!r}")
        numeric = tuple(sorted(self._options(options).items()))
        rows, keys, shape = _prepare(self, args, labels)
        mp_values, mp_grads = [], []
        for row, key in zip(rows, keys, strict=True):
            _, mp_out = _compiled(self.name, len(row[0]), key, numeric).evaluate([v for part in row for v in part])
            mp_values.append(mp_out[0])
            mp_grads.append(mp_out[1:])
        values = np.array([mp_to_float64(v) for v in mp_values])
        grads = np.array([[mp_to_float64(g) for g in gs] for gs in mp_grads]).reshape(shape)
        with np.errstate(all="ignore"):
            if self.builder.magnitudes is None:
                value_mag, grad_mag = np.abs(values), np.abs(grads)
            else:
                value_mag, grad_mag = self.builder.magnitudes(args, values, grads, **dict(numeric))
        n = len(rows)
        if reduction == "none":
            return values, grads, value_mag, grad_mag
        divisor = n if reduction == "mean" else 1
        with mpmath.workprec(PRECISIONS[-1]):
            total = mpmath.fsum(mp_values) / divisor
            grads = np.array([[mp_to_float64(g / divisor) for g in gs] for gs in mp_grads]).reshape(shape)
        return mp_to_float64(total), grads, float(np.sum(value_mag)) / divisor, grad_mag / divisor

    def _options(self, options: Mapping[str, object]) -> dict[str, float]:
        """The record's numeric options (checked as the kernels check them); ``labels`` is not one of them."""
        known = {o.name for o in self.record.options if o.kernel}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(f"{self.name} reference: unknown option(s) {unknown}; it takes {sorted(known)}")
        checked = self.record.check_options(options)
        return {name: float(checked[name]) for name in known}


@functools.cache
def _forms(name: str, k: int, key: object, options: tuple) -> Forms:
    built = BUILDERS[name].forms(k, key, **dict(options))
    symbols, definition, value = built[0], built[1], built[2]
    wrt = RECORDS[name].wrt
    grads = built[3] if len(built) > 3 else tuple(sp.diff(value, s) for s in symbols[wrt])
    return Forms(tuple(symbols), definition, value, tuple(grads))


@functools.cache
def _compiled(name: str, k: int, key: object, options: tuple) -> Compiled:
    forms = _forms(name, k, key, options)
    wrt = RECORDS[name].wrt
    return Compiled(forms.flat_symbols, [forms.value, *forms.grads], limit_symbols=forms.symbols[wrt])


def _distribution(arr: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Class indices as one-hot rows of ``shape``; distributions as they are (float64)."""
    if arr.dtype.kind in "iu":
        one_hot = np.zeros(shape)
        one_hot[np.arange(shape[0]), arr] = 1.0
        return one_hot
    return arr.astype(np.float64)


def _prepare(loss: SymbolicLoss, args, labels: str):
    """Per-row argument tuples, per-row keys and the gradient's shape."""
    record = loss.record
    if len(args) != len(record.arguments):
        raise TypeError(f"{loss.name} reference takes {loss.arguments}; got {len(args)} arguments")
    arrays = [np.asarray(a) for a in args]
    if loss.builder.keys is not None:
        keys = loss.builder.keys(arrays, labels)
    elif record.row == "scalar":
        target = record.arguments[-1].kinds[0]
        zero_one = target == "binary" and labels == "zero_one"
        keys = [int(v) if target == "signs" or zero_one else (int(v) + 1) // 2 for v in arrays[-1]]
    else:
        keys = [None] * arrays[0].shape[0]
    if record.row == "scalar":
        return [((float(v),),) for v in arrays[0].astype(np.float64)], keys, arrays[0].shape
    wrt_shape = arrays[record.wrt].shape
    floats = [a.astype(np.float64) if a.dtype.kind == "f" else None for a in arrays]
    if loss.builder.keys is None:
        floats = [_distribution(a, wrt_shape) if KINDS["labels"].name in arg.kinds else a.astype(np.float64)
                  for a, arg in zip(arrays, record.arguments, strict=True)]
    rows = [tuple(tuple(map(float, arr[i])) for arr in floats if arr is not None) for i in range(wrt_shape[0])]
    return rows, keys, wrt_shape


SYMBOLIC_LOSSES: dict[str, SymbolicLoss] = {name: SymbolicLoss(record, BUILDERS[name])
                                             for name, record in RECORDS.items() if name in BUILDERS}

check_agreement(RECORDS, symbolic=BUILDERS)
