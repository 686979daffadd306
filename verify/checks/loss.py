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
kink any subgradient is accepted (the reference's 0 or the one-sided slope ``−y``).

``value(*args)`` must return the reduced loss (a float, or the ``(N,)`` per-row losses for
``reduction="none"``) and ``grad(*args)`` the gradient of that reduced value, shaped like the
differentiated argument. ``value_and_grad(*args) -> (value, grad)`` takes both at once (the shape of
every kernel in ``verify.kernels.losses``, e.g. ``functools.partial(LOSSES[name], backend="cpu")``).
Every call gets copies of the arguments.

**Inputs.** The library draws them: a fixed set of edge cases first (logits of ±1000 and, in float32 and
float64, of 1e7–1e8 with ties, where ``logsumexp(z) − z_t`` loses everything; masked ``−∞`` logits; zeros
on the simplex; points exactly on a hinge's margin; probabilities 1e-300 from 0 or 1), then a Hypothesis
search (extreme and ordinary values mixed), or ``inputs=`` gives one point or a strategy of points. A
point the user gives is validated as the kernels validate theirs (:mod:`verify._validate`): a value
outside the loss's domain (a row of ``q`` off the simplex, a NaN) is a ``ValueError`` naming the argument,
never run through the user's function. ``−∞`` logits of ``softmax_cross_entropy`` are masked entries (the
softmax over the others; their gradient is 0); a target may not put mass on one. An implementation that
refuses a masked case of the library's own with a ``ValueError`` (as the kernels do) is reported as such in
:class:`LossReport`, not failed. Integer class labels and one-hot targets are judged by one rule: the
reference and its magnitudes are computed from the one-hot rows in both cases.

**Tolerance** (:mod:`verify.symbolic.tolerance`)::

    |c − r| ≤ (ulps + terms)·eps(dtype)·magnitude + ulps·smallest_subnormal(dtype) + atol + N

``magnitude`` is the sum of the absolute values of what the result is added up from (from the reference,
:meth:`SymbolicLoss.reference_and_magnitudes`; for the softmax family also ``σ·|log σ|``, the rounding of σ
formed in log space as PyTorch forms it, ``exp(log_softmax(z))``), ``terms`` the additions behind it (``K − 1`` per row, plus
``⌈log₂ N⌉`` for a reduction over rows), ``ulps`` (default 8) the roundings of one output, and ``N`` the
measured rounding noise of the implementation at the point, measured only where the other terms do not
suffice (:mod:`verify.checks._measure`, as in :func:`verify.check_gradient`): ``−log σ(ỹ)`` written naively
at ``ỹ = 3`` is judged by its real rounding. The logistic loss of a logit is softmax cross-entropy of the logits
``(0, ỹ)`` and is judged by the same rule: its gradient ``σ(ỹ) − y`` has the magnitudes ``σ(ỹ)`` and ``y``, so
PyTorch's ``binary_cross_entropy_with_logits`` backward passes at ``ỹ = 40`` (``σ(40) − 1 = 0``, truth −4.2e-18,
as ``softmax − onehot`` does), while an underflow to 0 where nothing cancels (``σ(−40)`` as ``1 − σ(40)``) fails.
The softmax family's values have the terms of log-softmax, ``c·(log S − (z − max z))`` with ``S = Σ exp(z − max z)``
and an absolute ``eps`` for the log of a rounded ``S ≥ 1`` (PyTorch's and JAX's log-sum-exp: ``log(1 + e⁻⁷)`` is
550 ULPs of its 9.1e-4 value there), but not ``|max z|``: ``logsumexp(z) − z_t`` at ``[1e8, 1e8]`` in float32 fails.
``kl_divergence`` has the magnitudes of ``Σ p log p − Σ p log q`` (PyTorch's ``kl_div``), which cancel where ``q ≈ p``.

**Diagnosis.** A failure names the common mistake the implementation reproduces, when one does (as
:func:`verify.check_optimizer` names conventions): the sum where the mean is asked (or the mean where the
sum is), a missing or extra ``1/N``, a mean over all ``N·K`` entries, a flipped sign, a factor 2 (the ½ of
½‖F − c‖² forgotten), the gradient with respect to the other argument (``p`` for ``q``), the arguments swapped.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from verify._validate import refuse_non_finite
from verify.checks._evaluate import fresh
from verify.checks._measure import gradient_noise
from verify.checks.failure import CheckFailure, error_table, format_arguments

__all__ = ["check_loss", "LossReport", "edge_cases", "loss_inputs"]

_REDUCTIONS = ("mean", "sum", "none")
_MASKABLE = ("softmax_cross_entropy",)
_TARGETS = ("both", "labels", "distributions")
_TWO_KINDS = ("softmax_cross_entropy", "categorical_cross_entropy")


def _kind_of_target(point: tuple) -> str | None:
    """``"labels"`` or ``"distributions"`` for a (prediction, target) point of a K-class loss, else None."""
    if len(point) != 2 or np.ndim(point[0]) != 2:
        return None
    return "labels" if np.asarray(point[1]).dtype.kind in "iu" else "distributions"


@dataclass(frozen=True)
class LossReport:
    """What ``check_loss`` verified: examples tried (the search's and, on top, ``edge_cases`` of the library's own),
    the worst error as a fraction of the allowed one for the value and the gradient, the entries judged with their
    measured rounding noise, and the library's masked cases the implementation refused."""

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
    refused: tuple[str, ...] = ()
    noise_measured: int = 0
    ulps: float = 8.0
    atol: float = 0.0

    def __str__(self) -> str:
        lines = [
            f"check_loss({self.name!r}, reduction={self.reduction!r}, {self.dtype}): {self.examples} example(s) "
            f"passed in {self.seconds:.3g} s: " + (f"{self.examples - self.edge_cases} drawn by the search and "
                                                   f"{self.edge_cases} of the library's edge cases, run before it "
                                                   "(max_examples counts only the search's)" if self.edge_cases
                                                   else "all given or drawn by the search"),
            f"  checked: {', '.join(self.checked)}; reference: {self.reference}",
            f"  worst error / allowed: value {self.worst_value_ratio:.3g}, grad {self.worst_grad_ratio:.3g} "
            f"(ulps {self.ulps:g}, atol {self.atol:g})",
        ]
        if self.noise_measured:
            lines.append(f"  entries judged with their measured rounding noise: {self.noise_measured}")
        lines.extend(f"  REFUSED (not checked): {text}" for text in self.refused)
        return "\n".join(lines)


# ------------------------------------------------------------------------------ the inputs


def _simplex(weights, dtype) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    return (w / w.sum(axis=-1, keepdims=True)).astype(dtype)


def edge_cases(name: str, dtype=np.float64) -> list[tuple]:
    """Fixed inputs at the edges of ``name``'s domain: the record's (extreme logits, ties, zeros on the simplex,
    kinks; :data:`verify.kernels.losses.RECORDS`) and check_loss's own, which the kernels' tests do not take:
    magnitudes of 1e7–1e8 (with ties), where ``logsumexp(z) − z_t`` cancels to nothing in float32, and masked
    ``−∞`` logits."""
    from verify.kernels.losses import RECORDS

    dt = np.dtype(dtype)
    return RECORDS[name].edge_cases(dt) + _beyond_the_kernels(name, dt)


def _beyond_the_kernels(name: str, dt: np.dtype) -> list[tuple]:
    huge = np.array([[1e8, 1e8, 0.0], [-1e8, 1e8, -1e8], [1e7, 1e7 + 1.0, 1e7], [1e8, -1e8, 1e8]], dtype=dt)
    masked = np.array([[-np.inf, 0.5, 1.0], [2.0, -np.inf, -np.inf], [0.0, 0.0, -np.inf], [3.0, 3.0, -2.0]],
                      dtype=dt)
    labels = np.array([0, 1, 2, 2])
    simplex_with_zeros = _simplex([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [1.0, 1.0, 1.0], [1e-300, 1.0, 2.0]], dt)
    masked_targets = _simplex([[0.0, 1.0, 3.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 1.0, 1.0]], dt)
    huge_scores = np.array([1e8, -1e8, 1e7, -1e7, 3.0, -3.0], dtype=dt)
    signs = np.array([1.0, -1.0, 1.0, 1.0, 1.0, -1.0], dtype=dt)
    binary = np.array([1, 0, 1, 0, 1, 0])
    cases = {
        "least_squares": [(huge, huge[::-1].copy())],
        "hinge": [(huge_scores, signs)],
        "multiclass_hinge": [(huge, labels)],
        "logistic_from_logit": [(huge_scores, binary)],
        "softmax_cross_entropy": [(huge, labels), (huge, simplex_with_zeros), (masked, np.array([2, 0, 1, 1])),
                                  (masked, masked_targets)],
    }
    return cases.get(name, [])


def loss_inputs(name: str, dtype=np.float64, *, rows: int = 3, classes: int = 4) -> Any:
    """A Hypothesis strategy of argument tuples for ``name``, mixing extreme (up to ±1e8) and ordinary values
    (:func:`verify.strategies.loss_inputs`, generated from the loss's record)."""
    from verify.strategies import loss_inputs as record_inputs

    return record_inputs(name, dtype, rows=rows, classes=classes)


# ------------------------------------------------------------------------------ validation


def _validate(name: str, symbolic: Any, args: tuple, labels: str) -> tuple:
    """``args`` checked as the kernels check theirs: a ``ValueError``/``TypeError`` naming the argument.

    NaN is never allowed; ``−∞`` only in the logits of ``softmax_cross_entropy`` (masked entries), with a finite
    entry in every row and no target mass on a masked entry (the message of every checker,
    :func:`verify._validate.refuse_non_finite`). The rest is checked by the kernel's own validation
    (:mod:`verify.kernels.losses`, NumPy backend), on a copy where masked entries are replaced by a finite value.
    """
    from verify.kernels.losses import LOSSES

    names = symbolic.arguments
    if len(args) != len(names):
        raise TypeError(f"{name} takes {len(names)} argument(s) {names}; the point has {len(args)}")
    checked = list(args)
    for i, (arg, arg_name) in enumerate(zip(args, names, strict=True)):
        arr = np.asarray(arg)
        maskable = name in _MASKABLE and i == symbolic.wrt
        refuse_non_finite(f"check_loss({name!r})", arg_name, arr, allowed_infinities=(-np.inf,) if maskable else (),
                          inf_note="−∞ marks a masked logit only for softmax_cross_entropy's prediction")
        if maskable and np.isinf(arr).any():
            checked[i] = _unmasked(arr, args[1], arg_name)
    kernel = functools.partial(LOSSES[name], backend="numpy")
    extra = {"labels": labels} if name.startswith("logistic") else {}
    with np.errstate(all="ignore"):
        kernel(*fresh(tuple(checked)), **extra)
    return args


def _unmasked(z: np.ndarray, target: object, arg_name: str) -> np.ndarray:
    """Masked (``−∞``) logits replaced by a finite value, after checking that every row keeps a finite entry
    and that the target puts no mass on a masked one."""
    masked = np.isneginf(z)
    if z.ndim != 2:
        raise ValueError(f"{arg_name} must have shape (N, K); got {z.shape}")
    empty = masked.all(axis=1)
    if empty.any():
        raise ValueError(f"{arg_name} row {int(np.argmax(empty))} is entirely masked (−∞): its softmax is undefined")
    t = np.asarray(target)
    if t.dtype.kind in "iu" and t.shape == (z.shape[0],):
        hit = masked[np.arange(z.shape[0]), np.clip(t, 0, z.shape[1] - 1)]
    elif t.shape == z.shape:
        hit = (masked & (t != 0)).any(axis=1)
    else:
        hit = np.zeros(z.shape[0], dtype=bool)
    if hit.any():
        raise ValueError(f"target puts mass on a masked (−∞) logit in row {int(np.argmax(hit))}: the loss is +∞ "
                         "there; mask only entries the target does not use")
    finite_min = np.where(masked, np.inf, z).min(axis=1, keepdims=True)
    return np.where(masked, finite_min - 1.0, z).astype(z.dtype)


# ------------------------------------------------------------------------------ the reference


def _reference(symbolic: Any, args: tuple, reduction: str, labels: str):
    """``(value, grad, value_mag, grad_mag)`` from SymPy: integer class labels as one-hot rows (one rule for both),
    rows with masked (−∞) logits as the loss of their unmasked entries (gradient 0 at the masked ones)."""
    args = _one_hot(symbolic, args)
    wrt = symbolic.wrt
    x = np.asarray(args[wrt])
    if not (x.dtype.kind == "f" and np.isneginf(x).any()):
        return symbolic.reference_and_magnitudes(*args, reduction=reduction, labels=labels)
    rows = []
    for i in range(x.shape[0]):
        keep = ~np.isneginf(x[i])
        row_args = tuple(np.asarray(a)[i:i + 1][:, keep] if np.asarray(a).ndim == 2 else np.asarray(a)[i:i + 1]
                         for a in args)
        rows.append((keep, symbolic.reference_and_magnitudes(*row_args, reduction="none", labels=labels)))
    grad = np.zeros(x.shape)
    grad_mag = np.zeros(x.shape)
    values = np.array([float(out[0][0]) for _, out in rows])
    value_mags = np.array([float(out[2][0]) for _, out in rows])
    for i, (keep, out) in enumerate(rows):
        grad[i, keep] = out[1][0]
        grad_mag[i, keep] = out[3][0]
    if reduction == "none":
        return values, grad, value_mags, grad_mag
    divisor = x.shape[0] if reduction == "mean" else 1
    return math.fsum(values) / divisor, grad / divisor, float(np.sum(value_mags)) / divisor, grad_mag / divisor


def _one_hot(symbolic: Any, args: tuple) -> tuple:
    """Integer class labels of a K-class loss replaced by one-hot rows in the prediction's dtype."""
    if symbolic.name not in ("softmax_cross_entropy", "categorical_cross_entropy"):
        return args
    pred, target = (np.asarray(a) for a in args)
    if target.dtype.kind not in "iu":
        return args
    onehot = np.zeros(pred.shape, dtype=pred.dtype)
    onehot[np.arange(pred.shape[0]), target] = 1
    return pred, onehot


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


# ------------------------------------------------------------------------------ common mistakes


def _mistakes(name: str, symbolic: Any, args: tuple, what: str, reference: np.ndarray, reduction: str,
              labels: str) -> list[tuple[str, np.ndarray]]:
    """The values a common mistake would give, for the diagnosis of a failure: ``(description, value)``."""
    x = np.asarray(args[symbolic.wrt])
    n = x.shape[0]
    k = x.shape[1] if x.ndim == 2 else 1
    out = [("a flipped sign", -reference),
           ("twice the reference (a factor 2: the ½ of a square forgotten)" if name == "least_squares"
            else "twice the reference (a factor 2)", 2.0 * reference)]
    if reduction == "mean" and n > 1:
        out += [("the sum over rows where the mean is asked (a missing 1/N)", reference * n),
                ("an extra 1/N (the mean taken twice)", reference / n)]
    if reduction == "sum" and n > 1:
        out.append(("the mean over rows where the sum is asked (an extra 1/N)", reference / n))
    if reduction == "mean" and k > 1:
        out.append(("the mean over all N·K entries instead of over the N rows", reference / k))
    if what == "grad" and name in ("cross_entropy", "kl_divergence"):
        p, q = (np.asarray(a, dtype=np.float64) for a in args)
        with np.errstate(divide="ignore", invalid="ignore"):
            wrt_p = -np.log(q) if name == "cross_entropy" else np.where(p > 0, np.log(p / q) + 1.0, -np.inf)
        out.append(("the gradient with respect to p instead of q", _reduced(wrt_p, reduction, n)))
    if what == "value" and len(args) == 2 and np.shape(args[0]) == np.shape(args[1]) \
            and np.asarray(args[1]).dtype.kind == "f" and name in ("cross_entropy", "kl_divergence",
                                                                     "least_squares"):
        try:
            swapped = symbolic.reference(args[1], args[0], reduction=reduction, labels=labels)[0]
            out.append(("the arguments swapped (p and q exchanged)", np.asarray(swapped, dtype=np.float64)))
        except (ValueError, ArithmeticError, TypeError):
            pass
    return out


def _reduced(per_entry: np.ndarray, reduction: str, n: int) -> np.ndarray:
    return per_entry / n if reduction == "mean" else per_entry


def _diagnose(computed: np.ndarray, allowed: np.ndarray, candidates: list[tuple[str, np.ndarray]]) -> list[str]:
    found = []
    for text, value in candidates:
        v = np.broadcast_to(np.asarray(value, dtype=np.float64), computed.shape)
        with np.errstate(invalid="ignore", over="ignore"):
            same = (v == computed) | (np.abs(v - computed) <= 4.0 * allowed)
        if bool(np.all(same)):
            found.append(text)
    return found


# ------------------------------------------------------------------------------ the comparison


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
    ulps: float
    atol: float
    examples: int = 0
    edge: int = 0
    worst_value: float = 0.0
    worst_grad: float = 0.0
    noise_measured: int = 0
    checked: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def check_point(self, args: tuple, *, validate: bool = True) -> float:
        __tracebackhide__ = True
        args = tuple(args)
        if validate:
            _validate(self.name, self.symbolic, args, self.labels)
        ref_value, ref_grad, value_mag, grad_mag = _reference(self.symbolic, args, self.reduction, self.labels)
        x = np.asarray(args[self.symbolic.wrt])
        dtype = x.dtype
        n = x.shape[0]
        k = x.shape[1] if x.ndim == 2 else 1
        got_value, got_grad = self._evaluate(args)
        worst = 0.0
        if got_value is not None:
            terms = _row_terms(k, n, self.reduction)
            ratio = self._compare("value", got_value, ref_value, value_mag, dtype, terms, args, x)
            self.worst_value = max(self.worst_value, ratio)
            worst = max(worst, ratio)
        if got_grad is not None:
            low, high = _subdifferential(self.name, args, np.asarray(ref_grad, dtype=np.float64),
                                         n if self.reduction == "mean" else 1)
            got = np.asarray(got_grad)
            if got.shape == low.shape and got.dtype.kind in "fiu":
                # At a kink, the point of [low, high] nearest to the computed gradient is the reference (a NaN
                # computed there stays wrong: the clip of NaN is NaN, and NaN against a number is an error).
                kink = low < high
                ref_grad = np.where(kink, np.clip(got.astype(np.float64), low, high), ref_grad)
                ref_grad = np.where(kink & np.isnan(ref_grad), low, ref_grad)
            ratio = self._compare("grad", got_grad, ref_grad, grad_mag, dtype, _row_terms(k), args, x)
            self.worst_grad = max(self.worst_grad, ratio)
            worst = max(worst, ratio)
        self.examples += 1
        return worst

    def check_edge(self, args: tuple) -> None:
        """An edge case of the library's own: a masked case the implementation refuses is reported."""
        __tracebackhide__ = True
        masked = any(np.asarray(a).dtype.kind == "f" and np.isneginf(np.asarray(a)).any() for a in args)
        if not masked:
            self.check_point(args, validate=False)
            return
        try:
            self._evaluate(args)
        except (ValueError, FloatingPointError) as exc:
            self.refused.append(f"masked (−∞) logits: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            return
        self.check_point(args, validate=False)

    def _evaluate(self, args: tuple) -> tuple[Any, Any]:
        if self.value_and_grad is not None:
            out = self.value_and_grad(*fresh(args))
            if not (isinstance(out, tuple) and len(out) == 2):
                raise TypeError(f"value_and_grad must return (value, grad); got {type(out).__name__}")
            return out
        v = self.value(*fresh(args)) if self.value is not None else None
        g = self.grad(*fresh(args)) if self.grad is not None else None
        return v, g

    def _output_at(self, what: str, args: tuple) -> Callable[[list[np.ndarray]], np.ndarray]:
        """The implementation's value or gradient as a function of the differentiated argument (for its noise;
        targets and labels are not moved: a perturbed label or distribution would leave the loss's domain)."""
        wrt = self.symbolic.wrt

        def at(points: list[np.ndarray]) -> np.ndarray:
            moved = args[:wrt] + (points[0],) + args[wrt + 1:]
            v, g = self._evaluate(moved)
            return np.asarray(v if what == "value" else g, dtype=np.float64).ravel()
        return at

    def _compare(self, what, computed, reference, magnitude, dtype, terms, args, x) -> float:
        __tracebackhide__ = True
        r = np.asarray(reference, dtype=np.float64)
        c = np.asarray(computed)
        if c.dtype.kind not in "fiu":
            raise TypeError(f"{what} of {self.name} must be real numbers; got dtype {c.dtype}")
        if c.shape != r.shape:
            expected = "a scalar" if r.ndim == 0 else f"shape {r.shape}"
            raise ValueError(f"{what} of {self.name} (reduction={self.reduction!r}) must be {expected}; "
                             f"got shape {c.shape}")
        c = c.astype(np.float64)
        allowed = _allowed(np.broadcast_to(magnitude, r.shape), dtype, terms, self.ulps, self.atol)
        ratio = _ratio(c, r, allowed)
        noise = np.zeros(r.shape)
        if float(np.max(ratio, initial=0.0)) > 1.0 and np.isfinite(r).all():
            failing = np.flatnonzero((ratio > 1.0).ravel() & np.isfinite(c).ravel())
            if failing.size:
                with np.errstate(all="ignore"):
                    measured = gradient_noise(self._output_at(what, args), [np.asarray(x)], c.ravel(), failing,
                                              every_input=False)  # zeros stay: q = 0, p = 0 are edges of the domain
                noise = measured.bound.reshape(r.shape)
                allowed = allowed + noise
                ratio = _ratio(c, r, allowed)
                self.noise_measured += int(np.count_nonzero(noise))
        worst = float(np.max(ratio, initial=0.0))
        if worst > 1.0:
            candidates = _mistakes(self.name, self.symbolic, args, what, r, self.reduction, self.labels)
            diagnosis = _diagnose(c, allowed, candidates)
            raise CheckFailure(self._message(what, c, r, ratio, allowed, noise, dtype, terms, args, diagnosis),
                               details={"what": what, "args": args, "computed": c, "expected": r,
                                        "ratio": ratio, "tolerance": allowed, "diagnosis": diagnosis})
        return worst

    def _message(self, what, c, r, ratio, allowed, noise, dtype, terms, args, diagnosis) -> str:
        shaped = (lambda a: a.reshape(1)) if r.ndim == 0 else (lambda a: a)
        note = np.where((np.asarray(noise) > 0) & (np.abs(c - r) <= np.asarray(noise)), "at rounding level", "")
        table = error_table(shaped(c), shaped(r), worst=self.worst, dtype=dtype, order_by=shaped(ratio),
                            extra={"allowed": shaped(allowed), "error/allowed": shaped(ratio),
                                   "note": shaped(note)})
        names = [f"{a} ({_described(d, v)})" for a, d, v in zip(self.symbolic.arguments,
                                                               self.symbolic.argument_descriptions, args, strict=True)]
        failing = int((ratio > 1.0).sum())
        lines = [
            f"check_loss({self.name!r}): the {what} is wrong at {failing} of {ratio.size} entr"
            f"{'y' if ratio.size == 1 else 'ies'} (reduction={self.reduction!r}, {np.dtype(dtype)}); worst error "
            f"is {float(np.max(ratio)):.3g} × the allowed.",
        ]
        if diagnosis:
            lines.append("Diagnosis: the implementation computes " + "; or ".join(diagnosis) + ".")
        if np.isnan(c).any() and np.isfinite(r).all() and any(_masked_count(a) for a in args):
            lines.append("The implementation returned NaN where the logits hold masked (−∞) entries: a term 0·(−∞) — a "
                         "target of 0 times log σ = −∞ at a masked entry — is NaN in floating point, while the loss "
                         "and its gradient are finite there (a masked entry with no target mass contributes 0: the "
                         "limit 0·log 0 = 0); leave such terms out (e.g. torch.where / jnp.where on the target).")
        lines += [
            f"reference: {self.symbolic.formula} — SymPy, gradient by sympy.diff, evaluated with mpmath and "
            f"correctly rounded to float64 (source: {self.symbolic.source})",
            f"allowed per entry: ({self.ulps:g} + {terms}) · eps({np.dtype(dtype)}) · magnitude + {self.ulps:g} · "
            f"smallest subnormal + atol {self.atol:g} + the measured rounding noise of the implementation "
            "(where needed)",
            "failing input:",
            format_arguments(args, names=names),
            f"worst entries (by error / allowed; {min(self.worst, ratio.size)} of {ratio.size} shown):",
            table,
        ]
        return "\n".join(lines)


def _masked_count(value: object) -> int:
    """How many masked (``−∞``) entries a floating argument holds (0 for anything else)."""
    if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
        return 0
    return int(np.count_nonzero(np.isneginf(value)))


def _described(description: str, value: object) -> str:
    """An argument's description for a failing input: its kinds as the catalogue states them, except that logits
    holding masked (``−∞``) entries are not called finite."""
    masked = _masked_count(value)
    if not masked:
        return description
    return (description.replace("finite logits", "logits")
            + f"; here with {masked} masked entr{'y' if masked == 1 else 'ies'} (−∞)")


def _row_terms(k: int, n: int = 1, reduction: str = "none") -> int:
    from verify.symbolic import row_terms

    return row_terms(k, n, reduction)


def _allowed(magnitude: np.ndarray, dtype: np.dtype, terms: int, ulps: float, atol: float) -> np.ndarray:
    """``(ulps + terms)·eps·magnitude + ulps·smallest_subnormal + atol`` (the module docstring)."""
    info = np.finfo(np.dtype(dtype))
    mag = np.abs(np.asarray(magnitude, dtype=np.float64))
    return (ulps + terms) * float(info.eps) * mag + ulps * float(info.smallest_subnormal) + atol


def _ratio(c: np.ndarray, r: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        same = (c == r) | (np.isnan(c) & np.isnan(r))
        error = np.where(same, 0.0, np.abs(c - r))
        error = np.where(np.isnan(error) | (~np.isfinite(r) & ~same), np.inf, error)
        return np.where(error == 0.0, 0.0, error / allowed)


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
    ulps: float = 8.0,
    atol: float = 0.0,
    targets: str = "both",
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
        arguments, validated as the kernels validate theirs) or a Hypothesis strategy of points.
      max_examples: overrides the active Hypothesis profile for the search; the library's edge cases (when
        ``inputs`` is None) run before it and are counted on top (``LossReport.edge_cases``).
      worst: rows of the worst-entries table in a failure message.
      ulps: roundings allowed per output (default 8; see the module docstring).
      atol: absolute allowance per entry, default 0.
      targets: for ``softmax_cross_entropy`` and ``categorical_cross_entropy``, the kinds of target the library
        draws: ``"both"`` (default), ``"labels"`` (integer classes only) or ``"distributions"`` (rows only), for
        an implementation that takes one kind.

    Returns:
      A :class:`LossReport`.

    Raises:
      CheckFailure: an entry of the value or gradient is outside its allowed error; the message
        shows the input, the reference formula, the worst entries and the common mistake reproduced.
      TypeError / ValueError: unknown loss, nothing to check, a result of the wrong shape, a point outside
        the loss's domain (naming the argument).

    >>> import numpy as np
    >>> def value(x, y):
    ...     z = np.where(y == 1, -x, x)
    ...     return float(np.mean(np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))))
    >>> check_loss("logistic_from_logit", value=value, inputs=(np.array([3.0, -1.0]), np.array([1, 0]))).examples
    1
    """
    __tracebackhide__ = True
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
    if targets not in _TARGETS:
        raise ValueError(f"targets must be one of {_TARGETS}; got {targets!r}")
    from verify.checks.gradient import _judge_options

    ulps, atol, worst, max_examples = _judge_options(ulps, atol, worst, max_examples)
    checker = _LossChecker(name, SYMBOLIC_LOSSES[name], value, grad, value_and_grad, reduction, labels, worst,
                           ulps, atol)
    checker.checked = [w for w, fn in (("value", value), ("grad", grad)) if fn is not None] or ["value", "grad"]
    start = time.perf_counter()
    from verify.checks.gradient import _is_strategy

    if inputs is None:
        for point in edge_cases(name, dt):
            if _kind_of_target(point) in (targets, None) or targets == "both":
                checker.check_edge(point)
                checker.edge += 1
        strategy = loss_inputs(name, dt)
        if targets != "both" and name in _TWO_KINDS:
            strategy = strategy.filter(lambda point: _kind_of_target(point) == targets)
        _search(checker, strategy, max_examples, validate=False)
    elif _is_strategy(inputs):
        _search(checker, inputs, max_examples, validate=True)
    else:
        if not isinstance(inputs, (tuple, list)):
            raise TypeError(f"inputs must be a tuple of arguments {SYMBOLIC_LOSSES[name].arguments} or a Hypothesis "
                            f"strategy of such tuples; got {type(inputs).__name__}")
        checker.check_point(tuple(inputs))
    return LossReport(
        name=name, reduction=reduction, dtype=str(dt), examples=checker.examples, edge_cases=checker.edge,
        worst_value_ratio=checker.worst_value, worst_grad_ratio=checker.worst_grad, checked=tuple(checker.checked),
        reference=f"SymPy {checker.symbolic.formula}, mpmath, correctly rounded",
        seconds=time.perf_counter() - start, refused=tuple(dict.fromkeys(checker.refused)),
        noise_measured=checker.noise_measured, ulps=ulps, atol=atol,
    )


def _search(checker: _LossChecker, strategy: Any, max_examples: int | None, *, validate: bool) -> None:
    __tracebackhide__ = True
    from hypothesis import given, target

    from verify.checks.gradient import _search_settings, _without_search_frames

    @_search_settings(max_examples)
    @given(strategy)
    def search(point: tuple) -> None:
        __tracebackhide__ = True
        target(float(min(checker.check_point(point, validate=validate), 1e300)), label="error / allowed")

    try:
        search()
    except CheckFailure as failure:
        raise _without_search_frames(failure) from None
