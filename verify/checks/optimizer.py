r"""``check_optimizer``: is an optimizer implementation's trajectory the exact one, to rounding?

``run(theta0, grads, **hyper)`` must return the ``(T, n)`` iterates after each of the T steps when the optimizer
starts from ``theta0`` with fresh state and is fed the fixed gradient sequence ``grads`` (T, n). It may also
return ``(iterates, state)`` where ``state`` maps the rule's state names (``"b"``, ``"m"``, ``"v"``, ``"acc"``…;
see :data:`verify.kernels.optimizers.RULES`) to the stacked state after each step; then the state is compared
too. Any implementation can be wrapped this way: a Numba kernel, a NumPy loop — and ``run`` may also be a
``torch.optim.Optimizer`` subclass (``torch.optim.AdamW``, or a ``functools.partial`` of one) or an optax
``GradientTransformation`` or a factory of one (``optax.adamw``), translated automatically
(:mod:`verify.checks._optimizer_adapters`: ``beta1``/``beta2`` ↔ ``betas`` or ``b1``/``b2``, ``rho`` ↔ ``alpha``
or ``decay``, schedules ↔ ``torch.optim.lr_scheduler`` or optax schedules).

**Reference.** The rule run on the exact values of the inputs (:func:`verify.symbolic.optimizers.reference_run`:
rationals, or mpmath at 60 digits where square roots appear), *teacher-forced*: step t starts from the
implementation's own θ_{t−1}, so rules whose update depends on θ (weight decay) are judged step by step.

**Tolerance** (never tuned): the running error bound of the reference's own formula
(:class:`verify.symbolic.optimizers.Tracked`: each operation's rounding against the magnitudes of its terms;
cancellations, bias corrections 1 − βᵗ, denominators near 0 and schedules included), times 2
(:data:`~verify.symbolic.optimizers.SAFETY`), plus the float64 rounding of the reference. An entry no bound can
decide — the sign of a Lion interpolation within rounding of 0, the square root of RMSprop's centered
v − ḡ² within rounding of 0 — is *unverified*: counted and named with its reason in the report, never a
failure and never a silent pass.

**Search.** Inputs are drawn by Hypothesis (:mod:`verify._optimizer_strategies`: zeros, tiny, huge, sign flips,
one coordinate only; hyperparameters not fixed by the caller; T ≤ 50) and the failing one is shrunk; or a single
``theta0``/``grads`` point is checked. On failure the message names the first step that diverges, the expected
and actual parameters and state, a table of the worst entries, and the known alternative form (another
library's convention or a common mistake) the implementation reproduces, if any. A ``run`` that returns complex
numbers, or different results for the same input, fails with a message saying so.

>>> import numpy as np
>>> def my_sgd(theta0, grads, lr):
...     return theta0 - lr * np.cumsum(grads, axis=0)
>>> check_optimizer("sgd", my_sgd, max_examples=5).examples
5
"""

from __future__ import annotations

import random
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from hypothesis import HealthCheck, find, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky, NoSuchExample

from verify._optimizer_strategies import optimizer_hyperparameters, optimizer_problems
from verify._validate import as_float_array, refuse_non_finite
from verify.checks._optimizer_adapters import as_run
from verify.checks.failure import CheckFailure, error_table, ulp_error
from verify.kernels.optimizers import RULES, rule_spec, state_names, validate_hyperparameters
from verify.symbolic.optimizers import SAFETY, ReferenceRun, Variant, float_run, reference_run, variants

__all__ = ["check_optimizer", "OptimizerReport", "TOLERANCE_MODEL"]

TOLERANCE_MODEL = (
    f"|θ̂_t − θ_t| ≤ {SAFETY:g}·e_t + 2⁻⁵³|θ_t|, θ_t the exact step from the implementation's θ̂_{{t−1}}, e_t the running "
    "error bound of the rule's formula in the dtype's unit roundoff (each operation's rounding against the "
    "magnitudes of its terms, θ_{t−1}'s being |θ₀| + Σ|Δ|; error propagated through every operation)"
)

# A fixed, generic input on which the known alternative forms all differ from each other: used to
# confirm a diagnosis made on a shrunk (and so possibly degenerate) failing input.
_DIAGNOSTIC_THETA0 = (0.5, -1.25, 2.0)
_DIAGNOSTIC_GRADS = (
    (0.3, -1.2, 0.05),
    (-0.7, 0.4, 0.0),
    (1.5, -0.2, 0.9),
    (0.1, 2.5, -0.6),
    (-0.9, -0.3, 0.02),
    (0.6, 0.8, -1.1),
)
_SCREEN = 2.0  # a float64 run is within one tolerance of the truth: 2 more mean a certain failure


@dataclass(frozen=True)
class OptimizerReport:
    """What ``check_optimizer`` checked, returned when the implementation passed.

    ``max_error_ratio`` is the largest |error| / tolerance seen (< 1 on success); ``max_ulps`` the largest error in
    ULPs of the correctly rounded reference (large values occur legitimately where an iterate is much smaller than
    the numbers that cancelled to form it: the tolerance is absolute for that reason). ``unverified`` counts the
    entries no bound could decide and ``unverified_reasons`` says why.
    """

    rule: str
    hyper: dict
    conventions: dict
    dtype: str
    examples: int
    steps: int
    max_ulps: float
    max_error_ratio: float
    compared_state: bool
    reference: str
    unverified: int = 0
    unverified_reasons: tuple[str, ...] = ()
    tolerance_model: str = TOLERANCE_MODEL

    def __str__(self) -> str:
        state = "parameters and state" if self.compared_state else "parameters"
        unverified = (f"; {self.unverified} entr{'y' if self.unverified == 1 else 'ies'} unverified: "
                      + "; ".join(self.unverified_reasons)) if self.unverified else ""
        return (
            f"check_optimizer({self.rule!r}) passed: {self.examples} input(s), {self.steps} steps, {state} "
            f"compared in {self.dtype} with {self.conventions or 'no options'} and hyper {self.hyper or 'drawn'}; "
            f"largest error {self.max_ulps:.3g} ULPs, {self.max_error_ratio:.3g} of the tolerance "
            f"(reference: {self.reference}){unverified}."
        )


# --------------------------------------------------------------------------- comparing


def _within(actual: np.ndarray, expected: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """Entrywise agreement: non-finite references must be matched exactly, finite ones within ``tol``."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    finite = np.isfinite(e)
    with np.errstate(invalid="ignore", over="ignore"):
        close = (np.abs(a - e) <= tol) | (np.isinf(tol) & (tol > 0))
    same_nonfinite = (a == e) | (np.isnan(a) & np.isnan(e))
    return np.where(finite, close, same_nonfinite)


@dataclass
class _Evaluation:
    theta0: np.ndarray
    grads: np.ndarray
    given: dict  # what run received
    full: dict  # with options filled in
    reference: ReferenceRun | None = None
    actual: np.ndarray | None = None
    actual_state: dict | None = None
    theta_tol: np.ndarray | None = None
    problem: str | None = None  # run raised or returned the wrong thing
    first_step: int | None = None  # 1-based
    bad_state: list = field(default_factory=list)
    max_ulps: float = 0.0
    max_ratio: float = 0.0
    unverified: int = 0
    reasons: tuple[str, ...] = ()
    shrink_pass: bool = False  # taken as passing while shrinking, without the exact run (never reported)

    @property
    def ok(self) -> bool:
        return self.problem is None and self.first_step is None


def _call_run(run: Callable, theta0, grads, given, rule: str, full: dict) -> tuple[np.ndarray, dict | None]:
    """Call ``run`` and normalise its result; raise ``ValueError`` describing any misbehaviour."""
    spec = RULES[rule]
    out = run(theta0.copy(), grads.copy(), **given)
    state = None
    if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], Mapping):
        out, state = out
    iterates = np.asarray(out)
    if iterates.dtype.kind == "c":
        raise ValueError(f"run returned complex iterates (dtype {iterates.dtype}); an optimizer of real parameters "
                         "returns real ones (their real part is not taken silently)")
    if iterates.dtype.kind != "f" or iterates.shape != grads.shape:
        raise ValueError(
            f"run must return the iterates as a float array of shape (T, n) = {grads.shape}; "
            f"got shape {iterates.shape}, dtype {iterates.dtype}"
        )
    if state is not None:
        names = state_names(rule, full)
        unknown = sorted(set(state) - set(names))
        if unknown:
            raise ValueError(f"run returned state {unknown} that {rule!r} with these options does not have (its "
                             f"state: {list(names)})")
        normalised = {}
        for name, value in state.items():
            arr = np.asarray(value)
            if arr.dtype.kind == "c":
                raise ValueError(f"run returned complex state {name!r} (dtype {arr.dtype})")
            arr = arr.astype(np.float64)
            want = (grads.shape[0], 1) if name in spec.scalar_state else grads.shape
            if arr.shape == (grads.shape[0],) and name in spec.scalar_state:
                arr = arr[:, None]
            if arr.shape != want:
                raise ValueError(f"run returned state {name!r} of shape {arr.shape}; expected {want}")
            normalised[name] = arr
        state = normalised
    return iterates, state


def _grossly_wrong(actual: np.ndarray, approx: ReferenceRun) -> bool:
    """``True`` if ``actual`` is farther than (1 + _SCREEN)·tol from a float64 run of the rule somewhere.

    The float64 run is itself a correct implementation, so it lies within tol of the exact result; an ``actual``
    farther than that from it by _SCREEN·tol fails, and the exact run can be skipped.
    """
    a = np.asarray(actual, dtype=np.float64)
    e = approx.iterates
    tol = approx.theta_tolerance()
    with np.errstate(invalid="ignore", over="ignore"):
        far = np.isfinite(e) & np.isfinite(tol) & ~(np.abs(a - e) <= (1 + _SCREEN) * tol)
    return bool(far.any())


_RECENT_RUNS: dict[tuple, ReferenceRun] = {}
_RECENT_LIMIT = 16


def _exact_run(rule: str, theta0, grads, forced: np.ndarray, dtype: np.dtype, full: Mapping) -> ReferenceRun:
    """``reference_run(rule, theta0, grads, forced=forced, dtype=dtype, **full)``, kept for the last few inputs.

    The exact run is a pure function of these inputs; the backends of one kernel, which agree bit for bit, feed it
    the same teacher-forced iterates, so one run judges them all (``verify selfcheck`` spent two thirds of its
    optimizer time recomputing it). Kept only when every hyperparameter is a plain number, string or boolean (a
    schedule's identity would not be a safe key); the kept arrays are read-only."""
    plain = all(isinstance(v, (bool, int, float, str, np.generic)) or v is None for v in full.values())
    if not plain:
        return reference_run(rule, theta0, grads, forced=forced, dtype=dtype, **full)
    t, g = np.asarray(theta0), np.asarray(grads)
    key = (rule, np.dtype(dtype).str, t.dtype.str, t.shape, t.tobytes(), g.dtype.str, g.shape, g.tobytes(),
           forced.shape, forced.tobytes(), repr(sorted((k, v, type(v).__name__) for k, v in full.items())))
    ref = _RECENT_RUNS.pop(key, None)
    if ref is None:
        ref = reference_run(rule, theta0, grads, forced=forced, dtype=dtype, **full)
        for array in (ref.iterates, ref.updates, ref.theta_error, ref.unverified, *ref.states.values(),
                      *ref.state_errors.values()):
            if isinstance(array, np.ndarray):
                array.flags.writeable = False
    _RECENT_RUNS[key] = ref  # most recent last
    while len(_RECENT_RUNS) > _RECENT_LIMIT:
        del _RECENT_RUNS[next(iter(_RECENT_RUNS))]
    return ref


def _evaluate(rule: str, run: Callable, theta0, grads, given: dict, dtype: np.dtype, *,
              screen: bool = False, shrinking: bool = False) -> _Evaluation:
    """Run the implementation on one input and compare it with the exact reference, step by step.

    With ``screen=True`` (during the search) a result that is grossly wrong against a float64 run is declared
    failing without the exact run; the failing input that is finally reported is always re-evaluated exactly.
    With ``shrinking=True`` (Hypothesis shrinking a failure already found) a result within one tolerance of the
    float64 run is taken as passing without the exact run: such a candidate is only not shrunk to, and no pass is
    reported from it.
    """
    full = validate_hyperparameters(rule, given)
    ev = _Evaluation(theta0=theta0, grads=grads, given=dict(given), full=full)
    try:
        ev.actual, ev.actual_state = _call_run(run, theta0, grads, given, rule, full)
    except Exception as exc:  # any misbehaviour of the implementation is a failure to report
        ev.problem = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return ev
    forced = ev.actual.astype(np.float64)
    if screen or shrinking:
        approx = float_run(rule, theta0, grads, forced=forced, dtype=dtype, **full)
        if _grossly_wrong(ev.actual, approx):
            ev.first_step = -1  # failing; the exact step is found when the final input is re-evaluated
            return ev
        if shrinking and _within(ev.actual, approx.iterates, approx.theta_tolerance()).all() and not ev.actual_state:
            ev.problem = None
            ev.shrink_pass = True
            return ev
    ref = ev.reference = _exact_run(rule, theta0, grads, forced, dtype, full)
    ev.theta_tol = ref.theta_tolerance()
    ok_theta = _within(ev.actual, ref.iterates, ev.theta_tol).all(axis=1)
    bad_rows = [int(t) for t in np.flatnonzero(~ok_theta)]
    if ev.actual_state:
        for name, values in ev.actual_state.items():
            ok = _within(values, ref.states[name], ref.state_tolerance(name)).all(axis=1)
            rows = [int(t) for t in np.flatnonzero(~ok)]
            bad_rows += rows
            if rows:
                ev.bad_state.append((rows[0] + 1, name))
    if bad_rows:
        ev.first_step = min(bad_rows) + 1
    unverified = ref.unverified & np.isfinite(ref.iterates)
    ev.unverified = int(unverified.sum())
    ev.reasons = ref.reasons if ev.unverified else ()
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        ulps = ulp_error(ev.actual, ref.iterates, dtype)
        ratio = np.abs(ev.actual.astype(np.float64) - ref.iterates) / ev.theta_tol
    ratio = np.where((ev.actual == ref.iterates) | unverified, 0.0, ratio)
    verified_ulps = ulps[~unverified]
    ev.max_ulps = float(np.max(verified_ulps)) if verified_ulps.size else 0.0
    finite = ratio[np.isfinite(ratio)]
    ev.max_ratio = float(finite.max()) if finite.size else 0.0
    return ev


# --------------------------------------------------------------------------- diagnosis


def _matches(variant: Variant, theta0, grads, full: dict, actual: np.ndarray, dtype) -> bool:
    """Whether ``actual`` follows ``variant`` step by step (teacher-forced, within the variant's own tolerance),
    on at least one entry the bound can decide."""
    forced = actual.astype(np.float64)
    try:
        approx = variant.approximate(theta0, grads, full, forced=forced, dtype=dtype)
        if _grossly_wrong(actual, approx):
            return False
        ref = variant.reference(theta0, grads, full, forced=forced, dtype=dtype)
    except (ArithmeticError, ValueError, TypeError):
        return False
    decided = ~(ref.unverified & np.isfinite(ref.iterates))
    return bool(decided.any() and _within(actual, ref.iterates, ref.theta_tolerance()).all())


def _diagnose(rule: str, run: Callable, ev: _Evaluation, dtype: np.dtype) -> tuple[list[Variant], bool]:
    """The alternative forms that reproduce the implementation's iterates; ``True`` if also confirmed on the
    diagnostic input."""
    candidates = [v for v in variants(rule, ev.full) if _matches(v, ev.theta0, ev.grads, ev.full, ev.actual, dtype)]
    if not candidates:
        return [], False
    theta0 = np.array(_DIAGNOSTIC_THETA0, dtype=dtype)
    grads = np.array(_DIAGNOSTIC_GRADS, dtype=dtype)
    try:
        actual, _ = _call_run(run, theta0, grads, ev.given, rule, ev.full)
    except Exception:  # noqa: BLE001 - the diagnosis is a courtesy; the failure stands
        return candidates, False
    confirmed = [v for v in candidates if _matches(v, theta0, grads, ev.full, actual, dtype)]
    return (confirmed, True) if confirmed else (candidates, False)


# --------------------------------------------------------------------------- the message


def _vector(x: np.ndarray) -> str:
    x = np.asarray(x)
    if x.size > 12:
        return f"(n = {x.size}; see the table)"
    return "[" + ", ".join(repr(float(v)) for v in x.ravel()) + "]"


def _matrix(x: np.ndarray) -> str:
    if x.size > 60:
        return f"array of shape {x.shape} (too long to print; min {x.min()!r}, max {x.max()!r})"
    return "[" + ", ".join(_vector(row) for row in x) + "]"


def _labels(shape: tuple[int, int]) -> list[str]:
    return [f"(t={t + 1}, i={i})" for t in range(shape[0]) for i in range(shape[1])]


def _failure_message(rule: str, ev: _Evaluation, dtype: np.dtype, diagnosis, searched: str) -> str:
    spec = RULES[rule]
    options = {k: ev.full[k] for k in spec.options}
    steps, n = ev.grads.shape
    if ev.problem is not None:
        head = f"check_optimizer({rule!r}): run failed on this input: {ev.problem}"
    else:
        head = (f"check_optimizer({rule!r}): the implementation leaves the exact reference at step {ev.first_step} "
                f"(t = {ev.first_step} of T = {steps}).")
    lines = [
        head,
        "",
        f"Failing input ({searched}):",
        f"  theta0 = {_vector(ev.theta0)}",
        f"  grads  = {_matrix(ev.grads)}   (T = {steps} steps, n = {n} parameters, {np.dtype(dtype).name})",
        f"  hyper  = {ev.given}" + (f"   conventions: {options}" if options else ""),
        f"Reference: {spec.name}: {spec.formula}  [{spec.source}]"
        + (f"; run in {ev.reference.arithmetic} from the implementation's own previous iterate, rounded to float64."
           if ev.reference else "."),
    ]
    if ev.problem is not None:
        return "\n".join(lines)
    t = ev.first_step
    row = t - 1
    ref = ev.reference
    err = np.abs(ev.actual[row].astype(np.float64) - ref.iterates[row])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        tol_ulps = ev.theta_tol[row] / np.spacing(np.abs(ref.iterates[row]).astype(dtype)).astype(np.float64)
    lines += ["", f"Step {t}:"]
    if t > 1:
        lines.append(f"  from the implementation's theta_{t - 1} = {_vector(ev.actual[row - 1])} (theta_{t - 1} agreed "
                     f"within tolerance with the step before)")
    lines += [f"  expected theta = {_vector(ref.iterates[row])}", f"  actual   theta = {_vector(ev.actual[row])}"]
    for name in ref.states:
        lines.append(f"  expected {name:<5} = {_vector(ref.states[name][row])}")
        if ev.actual_state and name in ev.actual_state:
            lines.append(f"  actual   {name:<5} = {_vector(ev.actual_state[name][row])}")
    if ref.states and not ev.actual_state:
        names = ", ".join(f"{s!r}: ..." for s in ref.states)
        lines.append(f"  actual state: not returned by run (return (iterates, {{{names}}}) to compare it)")
    lines.append(f"  tolerance at step {t}: |error| <= {_vector(ev.theta_tol[row])} "
                 f"(= {_vector(np.round(tol_ulps, 2))} ULPs); error = {_vector(err)}")
    for step, name in ev.bad_state:
        lines.append(f"  state {name!r} first leaves its reference at step {step}")
    lines += ["", f"Worst entries of theta at step {t}:",
              error_table(ev.actual[row:row + 1], ref.iterates[row:row + 1], worst=10, dtype=dtype,
                          labels=_labels((1, n)))]
    if steps > 1:
        lines += ["", f"Worst entries of theta over all {steps} steps (each from the implementation's previous "
                  "iterate):", error_table(ev.actual, ref.iterates, worst=10, dtype=dtype,
                                           labels=_labels(ev.actual.shape))]
    if ev.actual_state:
        for name, values in ev.actual_state.items():
            if any(nm == name for _, nm in ev.bad_state):
                lines += ["", f"Worst entries of state {name!r}:",
                          error_table(values, ref.states[name], worst=10, dtype=dtype, labels=_labels(values.shape))]
    lines.append("")
    found, confirmed = diagnosis
    if found:
        where = ("on this input and on a generic diagnostic input (T = 6, n = 3)" if confirmed
                 else "on this input (a generic diagnostic input did not confirm it)")
        lines.append(f"Diagnosis: the implementation seems to follow instead ({where}):")
        lines += [f"  - {v.description} [{v.kind}: {v.name}]" for v in found]
    else:
        names = ", ".join(v.name for v in variants(rule, ev.full))
        lines.append(f"Diagnosis: it matches none of the known alternative forms of {rule!r} ({names}).")
    lines.append(f"Tolerance model: {TOLERANCE_MODEL}.")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the checker


def _search_settings(max_examples: int | None) -> settings:
    return settings(
        max_examples=max_examples if max_examples is not None else settings.default.max_examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


def _round_to(dtype: np.dtype, hyper: Mapping) -> dict:
    return {k: (float(dtype.type(v)) if isinstance(v, (int, float, np.floating)) and not isinstance(v, (bool, np.bool_))
                else v) for k, v in hyper.items()}


def _not_deterministic(rule: str, detail: str) -> CheckFailure:
    return CheckFailure(f"check_optimizer({rule!r}): run is not deterministic: {detail}. The check needs the same "
                        "iterates for the same input (seed any randomness inside run).", details={"rule": rule})


def _refuse_non_finite(rule: str, theta0: np.ndarray, grads: np.ndarray) -> None:
    """A NaN or an infinity in a point the user gives is a ``ValueError`` (every checker's rule and message)."""
    for name, value in (("theta0", theta0), ("grads", grads)):
        refuse_non_finite(f"check_optimizer({rule!r})", name, value, checked="update")


def _key(theta0: np.ndarray, grads: np.ndarray, hyper: Mapping) -> tuple:
    return theta0.tobytes(), grads.shape, grads.tobytes(), repr(sorted(hyper.items(), key=lambda kv: kv[0]))


def check_optimizer(
    rule: str,
    run: Callable,
    *,
    theta0=None,
    grads=None,
    inputs: st.SearchStrategy | None = None,
    dtype=np.float64,
    max_examples: int | None = None,
    seed: int = 0,
    **hyper,
) -> OptimizerReport:
    """Check that ``run`` implements ``rule`` exactly, to rounding; raise :class:`CheckFailure` if not.

    Args:
        rule: one of :data:`verify.kernels.optimizers.RULES` (``"sgd"``, ``"momentum"``, ``"ema_momentum"``,
            ``"nesterov"``, ``"adagrad"``, ``"adagrad_norm"``, ``"rmsprop"``, ``"adam"``, ``"adamw"``, ``"adamax"``,
            ``"nadam"``, ``"radam"``, ``"adadelta"``, ``"lion"``).
        run: ``run(theta0, grads, **hyper)`` → ``(T, n)`` iterates, or ``(iterates, state_dict)``; or a
            ``torch.optim.Optimizer`` subclass, or an optax ``GradientTransformation`` or factory (see the module
            docstring).
        theta0, grads: one fixed input (n,) and (T, n); then every required hyperparameter must be given.
            Without them, Hypothesis draws inputs (and the required hyperparameters not given) and shrinks a failure.
        inputs: optionally, a Hypothesis strategy of ``(theta0, grads)`` pairs to search instead.
        dtype: float64 (default) or float32: the dtype of the inputs and of the tolerance; given hyperparameters
            are rounded to it first.
        max_examples: inputs to try (default: the active Hypothesis profile's ``max_examples``).
        seed: the search's random seed (the search is deterministic for a given seed).
        **hyper: hyperparameters (``lr`` may be a :mod:`schedule <verify.kernels.schedules>`) and conventions
            (``eps_mode``, ``amsgrad``, ``decoupled_weight_decay``, ``decay_scale``…) passed to ``run``. Required
            numeric ones not given are drawn; optional ones (``weight_decay``…) and conventions not given take the
            rule's defaults and are not passed to ``run``.

    Returns:
        an :class:`OptimizerReport`.

    Raises:
        CheckFailure: ``run`` leaves the exact trajectory by more than rounding, raises, returns the wrong shape or
            complex numbers, or is not deterministic.
        ValueError, TypeError: bad arguments to the checker itself (an unknown rule, a hyperparameter out of range).
    """
    spec = rule_spec(rule)
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be float32 or float64; got {dt}")
    validate_hyperparameters(rule, hyper, partial=True)
    run = as_run(rule, run, dt)
    given = _round_to(dt, hyper)
    evaluations: list[_Evaluation] = []

    if theta0 is not None or grads is not None:
        if theta0 is None or grads is None:
            raise TypeError("give both theta0 and grads for a fixed input, or neither for a search")
        missing = [h for h in spec.hyperparameters if h not in given]
        if missing:
            raise TypeError(f"with a fixed input every hyperparameter must be given; missing {missing}")
        theta0 = as_float_array(theta0, "theta0", ndim=1, dtype=dt)
        grads = as_float_array(grads, "grads", ndim=2, dtype=dt)
        if grads.shape[1] != theta0.shape[0]:
            raise ValueError(f"grads must have shape (T, {theta0.shape[0]}); got {grads.shape}")
        _refuse_non_finite(rule, theta0, grads)
        failing = _evaluate(rule, run, theta0, grads, given, dt)
        evaluations.append(failing)
        searched = "the fixed input given"
        if failing.ok:
            failing = None
        elif failing.problem is None:
            again = _evaluate(rule, run, theta0, grads, given, dt)
            if not np.array_equal(again.actual, failing.actual, equal_nan=True):
                raise _not_deterministic(rule, "two calls on the fixed input returned different iterates")
    else:
        if inputs is None:
            strategy = optimizer_problems(rule, fixed=given, dtype=dt)
        else:
            strategy = st.tuples(inputs, optimizer_hyperparameters(rule, fixed=given, dtype=dt)).map(
                lambda p: (p[0][0], p[0][1], p[1]))
        seen: dict[tuple, np.ndarray | None] = {}
        found = []

        def fails(problem) -> bool:
            _refuse_non_finite(rule, problem[0], problem[1])
            ev = _evaluate(rule, run, problem[0], problem[1], problem[2], dt, screen=True, shrinking=bool(found))
            if not ev.shrink_pass:
                evaluations.append(ev)
            seen[_key(*problem)] = ev.actual
            if not ev.ok:
                found.append(True)
            return not ev.ok

        try:
            example = find(strategy, fails, settings=_search_settings(max_examples), random=random.Random(seed))
        except NoSuchExample:
            failing = None
        except Flaky as exc:
            raise _not_deterministic(rule, f"Hypothesis saw an input fail and then pass ({type(exc).__name__})") \
                from None
        else:
            failing = _evaluate(rule, run, example[0], example[1], example[2], dt)
            before = seen.get(_key(*example))
            if failing.ok or (before is not None and failing.actual is not None
                              and not np.array_equal(before, failing.actual, equal_nan=True)):
                raise _not_deterministic(rule, "the same input gave different iterates in two calls")
        searched = f"found and shrunk by Hypothesis, seed {seed}, {len(evaluations)} evaluations"

    if failing is not None:
        diagnosis = ([], False) if failing.problem else _diagnose(rule, run, failing, dt)
        message = _failure_message(rule, failing, dt, diagnosis, searched)
        raise CheckFailure(message, details={
            "rule": rule, "step": failing.first_step, "theta0": failing.theta0, "grads": failing.grads,
            "hyper": failing.given, "expected": failing.reference.iterates if failing.reference else None,
            "actual": failing.actual, "diagnosis": [v.name for v in diagnosis[0]], "problem": failing.problem,
        })
    passed = [e for e in evaluations if e.ok]
    full = validate_hyperparameters(rule, given, partial=True)
    return OptimizerReport(
        rule=rule,
        hyper={k: v for k, v in given.items() if k in spec.all_hyperparameters},
        conventions={k: full[k] for k in spec.options},
        dtype=dt.name,
        examples=len(passed),
        steps=int(sum(e.grads.shape[0] for e in passed)),
        max_ulps=max((e.max_ulps for e in passed), default=0.0),
        max_error_ratio=max((e.max_ratio for e in passed), default=0.0),
        compared_state=any(e.actual_state for e in passed),
        reference=passed[0].reference.arithmetic if passed else "",
        unverified=sum(e.unverified for e in passed),
        unverified_reasons=tuple(sorted({r for e in passed for r in e.reasons})),
    )
