"""``check_loss``: a user's implementation of a named loss against its SymPy-derived reference.

The catalogue (the names, argument order and conventions are those of :mod:`verify.kernels.losses`
and :data:`verify.symbolic.SYMBOLIC_LOSSES`; ``ℓ_i`` is the loss of row ``i``, ``N`` rows of ``K``)::

    name                       arguments (in order)        ℓ_i                                   grad w.r.t.
    least_squares              F (N,K), c (N,K)            ½‖F_i − c_i‖²                           F
    hinge                      ỹ (N,), y (N,) in {−1,+1}   max(0, 1 − y_i ỹ_i)                     ỹ
    multiclass_hinge           ŷ (N,K), t (N,) classes     max(0, 1 − (ŷ_it − max_{j≠t} ŷ_ij))     ŷ
    logistic_from_probability  ŷ (N,) in (0,1), y (N,)     −y log ŷ − (1−y) log(1−ŷ)               ŷ
    logistic_from_logit        ỹ (N,) logits, y (N,)       −y log σ(ỹ) − (1−y) log(1−σ(ỹ))         ỹ
    categorical_cross_entropy  q (N,K) rows of the simplex, c: classes (N,) or rows (N,K)
                                                           −Σ_k c_ik log q_ik                      q
    softmax_cross_entropy      z (N,K) logits, c: classes (N,) or rows (N,K)
                                                           −Σ_k c_ik log softmax(z_i)_k            z
    entropy                    p (N,K)                     −Σ_k p_ik log p_ik                      p
    cross_entropy              p (N,K), q (N,K)            −Σ_k p_ik log q_ik                      q
    kl_divergence              p (N,K), q (N,K)            Σ_k p_ik log(p_ik / q_ik)               q

Sources: ``000_42086e2af0f76780.txt`` ("LOSS FUNCTIONS — …", "NEGATIVE LOG LIKELIHOOD") and
``002_1388b78ad9a2d202.txt`` ("Loss Functions", "Entropy", "Cross Entropy + KL Divergence").
Conventions (as the kernels): ``reduction="mean"`` averages over the N rows (``"sum"``, ``"none"``
also); logistic labels are 0/1 (``labels="plus_minus_one"`` for ±1); ``0·log 0 = 0``; at the hinge's
kink any subgradient is accepted (checked by :func:`check_gradient` semantics: the reference's 0 or
the one-sided slope ``−y``).

``value(*args)`` must return the reduced loss (a float, or the ``(N,)`` per-row losses for
``reduction="none"``) and ``grad(*args)`` the gradient of that reduced value, shaped like the
differentiated argument. ``value_and_grad(*args) -> (value, grad)`` takes both at once (the shape of
every kernel in ``verify.kernels.losses``, e.g. ``functools.partial(LOSSES[name], backend="cpu")``).

The inputs are drawn by the library: a fixed set of edge cases first (logits of ±1000, ties, zeros on
the simplex, points exactly on a hinge's margin, probabilities 1e-300 from 0 or 1), then a Hypothesis
search (extreme and ordinary values mixed), or ``inputs=`` gives one point or a strategy of points.

Tolerance (:func:`verify.symbolic.allowed_error`): ``|c − r| ≤ (8 + terms)·eps(dtype)·magnitude +
8·smallest_subnormal(dtype)``, where ``magnitude`` is the sum of the absolute values of what the
result is added up from (supplied by the reference, :meth:`SymbolicLoss.reference_and_magnitudes`)
and ``terms`` the additions behind it: ``K − 1`` per row, plus ``⌈log₂ N⌉`` for a reduction over rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from verify.checks.failure import CheckFailure, error_table, format_arguments

__all__ = ["check_loss", "LossReport", "edge_cases", "loss_inputs"]

_REDUCTIONS = ("mean", "sum", "none")


@dataclass(frozen=True)
class LossReport:
    """What ``check_loss`` verified: examples tried (edge cases included), the worst error as a
    fraction of the allowed one for the value and the gradient, and the edge cases met."""

    name: str
    reduction: str
    dtype: str
    examples: int
    edge_cases: int
    worst_value_ratio: float
    worst_grad_ratio: float
    checked: tuple[str, ...]
    reference: str
    seconds: float

    def __str__(self) -> str:
        return (
            f"check_loss({self.name!r}, reduction={self.reduction!r}, {self.dtype}): {self.examples} example(s) "
            f"passed ({self.edge_cases} edge cases) in {self.seconds:.3g} s\n"
            f"  checked: {', '.join(self.checked)}; reference: {self.reference}\n"
            f"  worst error / allowed: value {self.worst_value_ratio:.3g}, grad {self.worst_grad_ratio:.3g}"
        )


# ------------------------------------------------------------------------------ the inputs


def edge_cases(name: str, dtype=np.float64) -> list[tuple]:
    """Fixed inputs at the edges of ``name``'s domain: extreme logits, ties, zeros, kinks (the record's
    ``edge_cases``, :data:`verify.kernels.losses.RECORDS`)."""
    from verify.kernels.losses import RECORDS

    return RECORDS[name].edge_cases(np.dtype(dtype))


def loss_inputs(name: str, dtype=np.float64, *, rows: int = 3, classes: int = 4) -> Any:
    """A Hypothesis strategy of argument tuples for ``name``, mixing extreme and ordinary values
    (:func:`verify.strategies.loss_inputs`, generated from the loss's record)."""
    from verify.strategies import loss_inputs as record_inputs

    return record_inputs(name, dtype, rows=rows, classes=classes)


# ------------------------------------------------------------------------------ the comparison


def _subdifferential(name: str, args: tuple, reference: np.ndarray, denom: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-entry bounds of the subdifferential: the reference itself except at a hinge's kink.

    hinge: at ``y·ỹ = 1`` any value between 0 and ``−y/denom``. multiclass_hinge: at margin 0 the
    true class may take any value in ``[−1/denom, 0]`` and each highest-scoring wrong class any value
    in ``[0, 1/denom]``.
    """
    low, high = reference.copy(), reference.copy()
    if name == "hinge":
        s, y = (np.asarray(a, dtype=np.float64) for a in args)
        kink = (1.0 - y * s) == 0.0
        low = np.where(kink, np.minimum(0.0, -y / denom), low)
        high = np.where(kink, np.maximum(0.0, -y / denom), high)
    elif name == "multiclass_hinge":
        scores = np.asarray(args[0], dtype=np.float64)
        t = np.asarray(args[1])
        for i, (row, ti) in enumerate(zip(scores, t, strict=True)):
            wrong = np.delete(row, ti)
            if wrong.size and 1.0 - (row[ti] - wrong.max()) == 0.0:
                low[i, ti], high[i, ti] = -1.0 / denom, 0.0
                tied = (row == wrong.max()) & (np.arange(row.size) != ti)
                low[i, tied], high[i, tied] = 0.0, 1.0 / denom
    return low, high


@dataclass
class _LossChecker:
    name: str
    symbolic: Any
    value: Callable | None
    grad: Callable | None
    value_and_grad: Callable | None
    reduction: str
    labels: str
    worst: int
    examples: int = 0
    edge: int = 0
    worst_value: float = 0.0
    worst_grad: float = 0.0
    checked: list[str] = field(default_factory=list)

    def check_point(self, args: tuple) -> float:
        from verify.symbolic import row_terms

        args = tuple(args)
        ref_value, ref_grad, value_mag, grad_mag = self.symbolic.reference_and_magnitudes(
            *args, reduction=self.reduction, labels=self.labels)
        x = np.asarray(args[self.symbolic.wrt])
        dtype = x.dtype
        n = x.shape[0]
        k = x.shape[1] if x.ndim == 2 else 1
        got_value, got_grad = self._evaluate(args)
        worst = 0.0
        if got_value is not None:
            terms = row_terms(k, n, self.reduction)
            ratio = self._compare("value", got_value, ref_value, value_mag, dtype, terms, args, x)
            self.worst_value = max(self.worst_value, ratio)
            worst = max(worst, ratio)
        if got_grad is not None:
            low, high = _subdifferential(self.name, args, np.asarray(ref_grad, dtype=np.float64),
                                         n if self.reduction == "mean" else 1)
            got = np.asarray(got_grad)
            if got.shape == low.shape and got.dtype.kind in "fiu":
                # At a kink, the point of [low, high] nearest to the computed gradient is the reference.
                ref_grad = np.clip(got.astype(np.float64), low, high)
            ratio = self._compare("grad", got_grad, ref_grad, grad_mag, dtype, row_terms(k), args, x)
            self.worst_grad = max(self.worst_grad, ratio)
            worst = max(worst, ratio)
        self.examples += 1
        return worst

    def _evaluate(self, args: tuple) -> tuple[Any, Any]:
        if self.value_and_grad is not None:
            out = self.value_and_grad(*args)
            if not (isinstance(out, tuple) and len(out) == 2):
                raise TypeError(f"value_and_grad must return (value, grad); got {type(out).__name__}")
            return out
        v = self.value(*args) if self.value is not None else None
        g = self.grad(*args) if self.grad is not None else None
        return v, g

    def _compare(self, what, computed, reference, magnitude, dtype, terms, args, x) -> float:
        from verify.symbolic import allowed_error

        r = np.asarray(reference, dtype=np.float64)
        c = np.asarray(computed)
        if c.dtype.kind not in "fiu":
            raise TypeError(f"{what} of {self.name} must be real numbers; got dtype {c.dtype}")
        if c.shape != r.shape:
            expected = "a scalar" if r.ndim == 0 else f"shape {r.shape}"
            raise ValueError(f"{what} of {self.name} (reduction={self.reduction!r}) must be {expected}; "
                             f"got shape {c.shape}")
        c = c.astype(np.float64)
        allowed = allowed_error(np.broadcast_to(magnitude, r.shape), dtype, terms)
        with np.errstate(invalid="ignore"):
            same = (c == r) | (np.isnan(c) & np.isnan(r))
            error = np.where(same, 0.0, np.abs(c - r))
            error = np.where(np.isnan(error) | (~np.isfinite(r) & ~same), np.inf, error)
            ratio = np.where(error == 0.0, 0.0, error / allowed)
        worst = float(np.max(ratio, initial=0.0))
        if worst > 1.0:
            raise CheckFailure(self._message(what, c, r, ratio, allowed, dtype, terms, args),
                               details={"what": what, "args": args, "computed": c, "expected": r,
                                        "ratio": ratio})
        return worst

    def _message(self, what, c, r, ratio, allowed, dtype, terms, args) -> str:
        shaped = (lambda a: a.reshape(1)) if r.ndim == 0 else (lambda a: a)
        table = error_table(shaped(c), shaped(r), worst=self.worst, dtype=dtype, order_by=shaped(ratio),
                            extra={"allowed": shaped(allowed), "error/allowed": shaped(ratio)})
        names = [f"{a} ({d})" for a, d in zip(self.symbolic.arguments, self.symbolic.argument_descriptions,
                                              strict=True)]
        failing = int((ratio > 1.0).sum())
        return "\n".join([
            f"check_loss({self.name!r}): the {what} is wrong at {failing} of {ratio.size} entr"
            f"{'y' if ratio.size == 1 else 'ies'} (reduction={self.reduction!r}, {np.dtype(dtype)}); worst error "
            f"is {float(np.max(ratio)):.3g} × the allowed.",
            f"reference: {self.symbolic.formula} — SymPy, gradient by sympy.diff, evaluated with mpmath and "
            f"correctly rounded to float64 (source: {self.symbolic.source})",
            f"allowed per entry: (8 + {terms}) · eps({np.dtype(dtype)}) · magnitude + 8 · smallest subnormal",
            "failing input:",
            format_arguments(args, names=names),
            f"worst entries (by error / allowed; {min(self.worst, ratio.size)} of {ratio.size} shown):",
            table,
        ])


def check_loss(
    name: str,
    *,
    value: Callable[..., Any] | None = None,
    grad: Callable[..., np.ndarray] | None = None,
    value_and_grad: Callable[..., tuple] | None = None,
    reduction: str = "mean",
    labels: str = "zero_one",
    dtype: Any = np.float64,
    inputs: Any = None,
    max_examples: int | None = None,
    worst: int = 10,
) -> LossReport:
    """Check an implementation of the catalogue loss ``name`` against its exact reference.

    Args:
      name: one of :data:`verify.kernels.losses.LOSSES` (see the module docstring for the formulas).
      value: ``value(*args)`` → the reduced loss (``(N,)`` array for ``reduction="none"``).
      grad: ``grad(*args)`` → the gradient of the reduced loss w.r.t. the loss's differentiated
        argument (``args[0]``; ``q`` = ``args[1]`` for ``cross_entropy``/``kl_divergence``).
      value_and_grad: ``(*args) → (value, grad)``, instead of ``value``/``grad``.
      reduction: ``"mean"`` (over rows, the default), ``"sum"`` or ``"none"``.
      labels: logistic-loss label convention, ``"zero_one"`` or ``"plus_minus_one"``.
      dtype: float64 or float32: the dtype of the drawn inputs and of the accuracy demanded.
      inputs: None (the library's edge cases, then a Hypothesis search), one point (a tuple of
        arguments) or a Hypothesis strategy of points.
      max_examples: overrides the active Hypothesis profile for the search.
      worst: rows of the worst-entries table in a failure message.

    Returns:
      A :class:`LossReport`.

    Raises:
      CheckFailure: an entry of the value or gradient is outside its allowed error; the message
        shows the input, the reference formula and the worst entries.
      TypeError / ValueError: unknown loss, nothing to check, a result of the wrong shape.
    """
    from verify.symbolic import SYMBOLIC_LOSSES

    if name not in SYMBOLIC_LOSSES:
        raise ValueError(f"name must be a loss of the catalogue {tuple(SYMBOLIC_LOSSES)}; got {name!r}")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}; got {reduction!r}")
    if value_and_grad is not None and (value is not None or grad is not None):
        raise TypeError("pass value_and_grad, or value and/or grad, not both")
    if value is None and grad is None and value_and_grad is None:
        raise TypeError("nothing to check: pass value=, grad= or value_and_grad=")
    for label, fn in (("value", value), ("grad", grad), ("value_and_grad", value_and_grad)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{label} must be callable; got {type(fn).__name__}")
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be float32 or float64; got {dt}")
    checker = _LossChecker(name, SYMBOLIC_LOSSES[name], value, grad, value_and_grad, reduction, labels, worst)
    checker.checked = [w for w, fn in (("value", value), ("grad", grad)) if fn is not None] or ["value", "grad"]
    start = time.perf_counter()
    from verify.checks.gradient import _is_strategy

    if inputs is None:
        for point in edge_cases(name, dt):
            checker.check_point(point)
            checker.edge += 1
        _search(checker, loss_inputs(name, dt), max_examples)
    elif _is_strategy(inputs):
        _search(checker, inputs, max_examples)
    else:
        checker.check_point(tuple(inputs))
    return LossReport(
        name=name, reduction=reduction, dtype=str(dt), examples=checker.examples, edge_cases=checker.edge,
        worst_value_ratio=checker.worst_value, worst_grad_ratio=checker.worst_grad, checked=tuple(checker.checked),
        reference=f"SymPy {checker.symbolic.formula}, mpmath, correctly rounded",
        seconds=time.perf_counter() - start,
    )


def _search(checker: _LossChecker, strategy: Any, max_examples: int | None) -> None:
    from hypothesis import given, settings, target

    chosen = settings() if max_examples is None else settings(max_examples=max_examples)

    @chosen
    @given(strategy)
    def search(point: tuple) -> None:
        target(float(min(checker.check_point(point), 1e300)), label="error / allowed")

    search()
