r"""``check_optimizer``: is an optimizer implementation's trajectory the exact one, to rounding?

``run(theta0, grads, **hyper)`` must return the ``(T, n)`` iterates after each of the T steps when the
optimizer starts from ``theta0`` with fresh state and is fed the fixed gradient sequence ``grads`` (T, n).
It may also return ``(iterates, state)`` where ``state`` maps the rule's state names (``"b"``, ``"m"``,
``"v"``, ``"acc"``; see :data:`verify.kernels.optimizers.RULES`) to the stacked state after each step;
then the state is compared too. Any implementation can be wrapped this way: a Numba kernel, a NumPy loop,
``torch.optim`` with ``p.grad`` set each step.

**Reference.** The rule run on the exact values of the inputs (:func:`verify.symbolic.optimizers.reference_run`:
rationals, or mpmath at 60 digits where square roots appear), rounded once to float64.

**Tolerance** (the rounding error a correct float implementation can make, never tuned). With the
gradients fixed, no update depends on θ, so θ_t = θ₀ − Σ_{s≤t} Δ_s and errors only add up. Let u be the
unit roundoff of the dtype, Δ̄_s the update of the same rule run on ``|g|``
(:func:`~verify.symbolic.optimizers.magnitude_run`: every rule is monotone in ``|g|``, so Δ̄ bounds the
update and every partial sum forming it). Then (Higham 2002, §3, first-order bounds)

.. math::
    |\hat θ_t − \mathrm{fl}(θ_t)| ≤ 2u \Big(|θ_t| + \sum_{s ≤ t} \big(|θ_s| + ρ_s \bar Δ_s\big)\Big),\qquad
    ρ_s = K_{state}\, s + K_{update} + s\,\Big(\frac{1}{1 − β_1^s} + \frac{1}{1 − β_2^s}\Big)_{\text{Adam}}
          + s\,n_{\text{AdaGrad-Norm}}

- ``|θ_t|``: the rounding of the exact reference itself to the float it is compared in;
- ``|θ_s|``: the one rounding of θ − Δ at each step;
- ``K_state s`` (K_state = 8): after s steps a state recurrence (β·m, 1 − β, (1 − β)·g or g·g, the sum:
  at most 4 roundings a step, ≤ 2 recurrences, the second moment entering through a square root at half
  weight) is off by at most γ_{4s} + ½γ_{5s} < 8su relative to its magnitude (torch's ``lerp`` form too);
- ``K_update`` = 8: the roundings forming the update from the state (÷ bias corrections, √, + ε, ÷, × α);
- Adam's bias corrections: 1 − βˢ, however computed (``pow`` or a running product βˢ = β·βˢ⁻¹, up to s
  roundings), amplifies the error of βˢ by 1/(1 − βˢ) (≈ 1000 for β₂ = 0.999 at s = 1);
- AdaGrad-Norm sums n squares per step into its accumulator: γ_{sn} after s steps;
- the factor 2 covers γ_k = ku/(1 − ku) ≤ 2ku (ku ≤ ½) and second-order terms.

The state is compared (when returned) to ``2u (K_state t + t n_{AdaGrad-Norm}) S̄_t`` with S̄ the state of
the magnitude run. Errors are reported in ULPs of the correctly rounded reference.

**Search.** Inputs are drawn by Hypothesis (:mod:`verify._optimizer_strategies`: zeros, tiny, huge, sign
flips, one coordinate only; hyperparameters not fixed by the caller; T ≤ 50) and the failing one is shrunk;
or a single ``theta0``/``grads`` point is checked. On failure the message names the first step that
diverges, the expected and actual parameters and state, a table of the worst entries, and the known
alternative form (another library's convention or a common mistake) the implementation reproduces, if any.
"""

from __future__ import annotations

import random
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from hypothesis import HealthCheck, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from verify._optimizer_strategies import optimizer_hyperparameters, optimizer_problems
from verify._validate import as_float_array
from verify.checks.failure import CheckFailure, error_table, ulp_error
from verify.kernels.optimizers import RULES, bias_correction, rule_spec, validate_hyperparameters
from verify.symbolic.optimizers import (
    ReferenceRun,
    Variant,
    float_run,
    magnitude_run,
    reference_run,
    variants,
)

__all__ = ["check_optimizer", "OptimizerReport", "TOLERANCE_MODEL", "K_STATE", "K_UPDATE"]

K_STATE = 8
K_UPDATE = 8
_SAFETY = 2.0

TOLERANCE_MODEL = (
    "|θ̂_t − fl(θ_t)| ≤ 2u·(|θ_t| + Σ_{s≤t}(|θ_s| + ρ_s·Δ̄_s)), ρ_s = 8s + 8 [+ s/(1−β₁ˢ) + s/(1−β₂ˢ) for Adam] "
    "[+ s·n for AdaGrad-Norm]; u = unit roundoff, Δ̄_s = the update of the rule run on |g|"
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


@dataclass(frozen=True)
class OptimizerReport:
    """What ``check_optimizer`` checked, returned when the implementation passed.

    ``max_error_ratio`` is the largest |error| / tolerance seen (< 1 on success); ``max_ulps`` the largest
    error in ULPs of the correctly rounded reference (large values occur legitimately where an iterate
    is much smaller than the updates that cancelled to form it: the tolerance is absolute for that reason).
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
    tolerance_model: str = TOLERANCE_MODEL

    def __str__(self) -> str:
        state = "parameters and state" if self.compared_state else "parameters"
        return (
            f"check_optimizer({self.rule!r}) passed: {self.examples} input(s), {self.steps} steps, {state} "
            f"compared in {self.dtype} with {self.conventions or 'no options'} and hyper {self.hyper or 'drawn'}; "
            f"largest error {self.max_ulps:.3g} ULPs, {self.max_error_ratio:.3g} of the tolerance "
            f"(reference: {self.reference})."
        )


# --------------------------------------------------------------------------- tolerance


def _budget(rule: str, hyper: Mapping, steps: int, n: int) -> np.ndarray:
    """ρ_s for s = 1..T (see the module docstring)."""
    s = np.arange(1, steps + 1, dtype=np.float64)
    rho = K_STATE * s + K_UPDATE
    if rule == "adam":
        c1 = np.array([bias_correction(float(hyper["beta1"]), int(k)) for k in s])
        c2 = np.array([bias_correction(float(hyper["beta2"]), int(k)) for k in s])
        rho = rho + s / c1 + s / c2
    if rule == "adagrad_norm":
        rho = rho + s * n
    return rho


def _theta_tolerance(rule, hyper, ref: ReferenceRun, mag: ReferenceRun, u: float) -> np.ndarray:
    steps, n = ref.iterates.shape
    rho = _budget(rule, hyper, steps, n)
    with np.errstate(invalid="ignore", over="ignore"):
        per_step = np.abs(ref.iterates) + rho[:, None] * np.abs(mag.updates)  # |·|: α may be < 0 in a variant
        return _SAFETY * u * (np.cumsum(per_step, axis=0) + np.abs(ref.iterates))


def _state_tolerance(rule, mag: ReferenceRun, u: float) -> dict[str, np.ndarray]:
    out = {}
    for name, values in mag.states.items():
        steps, width = values.shape
        s = np.arange(1, steps + 1, dtype=np.float64)[:, None]
        extra = s * mag.iterates.shape[1] if name == "acc" else 0.0
        out[name] = _SAFETY * u * (K_STATE * s + extra) * np.abs(values)
    return out


def _within(actual: np.ndarray, expected: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """Entrywise agreement: non-finite references must be matched exactly, finite ones within ``tol``."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    finite = np.isfinite(e)
    with np.errstate(invalid="ignore", over="ignore"):
        close = np.abs(a - e) <= tol
    same_nonfinite = (a == e) | (np.isnan(a) & np.isnan(e))
    return np.where(finite, close & np.isfinite(tol), same_nonfinite)


# --------------------------------------------------------------------------- one evaluation


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
    state_tol: dict = field(default_factory=dict)
    problem: str | None = None  # run raised or returned the wrong thing
    first_step: int | None = None  # 1-based
    bad_state: list = field(default_factory=list)
    max_ulps: float = 0.0
    max_ratio: float = 0.0

    @property
    def ok(self) -> bool:
        return self.problem is None and self.first_step is None


def _call_run(run: Callable, theta0, grads, given, spec) -> tuple[np.ndarray, dict | None]:
    """Call ``run`` and normalise its result; raise ``ValueError`` describing any misbehaviour."""
    out = run(theta0.copy(), grads.copy(), **given)
    state = None
    if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], Mapping):
        out, state = out
    iterates = np.asarray(out)
    if iterates.dtype.kind not in "fc" or iterates.shape != grads.shape:
        raise ValueError(
            f"run must return the iterates as a float array of shape (T, n) = {grads.shape}; "
            f"got shape {iterates.shape}, dtype {iterates.dtype}"
        )
    if state is not None:
        unknown = sorted(set(state) - set(spec.state))
        if unknown:
            raise ValueError(f"run returned state {unknown} that {spec.name!r} does not have (its state: "
                             f"{list(spec.state)})")
        normalised = {}
        for name, value in state.items():
            arr = np.asarray(value, dtype=np.float64)
            want = (grads.shape[0], 1) if name in spec.scalar_state else grads.shape
            if arr.shape == (grads.shape[0],) and name in spec.scalar_state:
                arr = arr[:, None]
            if arr.shape != want:
                raise ValueError(f"run returned state {name!r} of shape {arr.shape}; expected {want}")
            normalised[name] = arr
        state = normalised
    return iterates.real.astype(np.float64) if iterates.dtype.kind == "c" else iterates, state


def _grossly_wrong(actual: np.ndarray, approx: ReferenceRun, tol: np.ndarray) -> bool:
    """``True`` if ``actual`` is farther than 2·tol from a float64 run of the rule somewhere.

    The float64 run is itself a correct implementation, so it lies within ``tol`` of the exact result
    (that is what the tolerance model asserts of every correct implementation); an ``actual`` more than
    2·tol from it is then more than tol from the exact result: it fails, and the exact run can be skipped.
    """
    a = np.asarray(actual, dtype=np.float64)
    e = approx.iterates
    with np.errstate(invalid="ignore", over="ignore"):
        far = np.isfinite(e) & np.isfinite(tol) & ~(np.abs(a - e) <= 2 * tol)
    return bool(far.any())


def _evaluate(rule: str, run: Callable, theta0, grads, given: dict, dtype: np.dtype, *,
              screen: bool = False) -> _Evaluation:
    """Run the implementation on one input and compare it with the exact reference.

    With ``screen=True`` (during the search) a result that is grossly wrong against a float64 run is
    declared failing without the exact run; the failing input that is finally reported is always
    re-evaluated exactly.
    """
    spec = RULES[rule]
    full = validate_hyperparameters(rule, given)
    ev = _Evaluation(theta0=theta0, grads=grads, given=dict(given), full=full)
    try:
        ev.actual, ev.actual_state = _call_run(run, theta0, grads, given, spec)
    except Exception as exc:  # any misbehaviour of the implementation is a failure to report
        ev.problem = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return ev
    mag = magnitude_run(rule, grads, **full)
    u = float(np.finfo(dtype).eps) / 2
    if screen:
        approx = float_run(rule, theta0, grads, **full)
        if _grossly_wrong(ev.actual, approx, _theta_tolerance(rule, full, approx, mag, u)):
            ev.first_step = -1  # failing; the exact step is found when the final input is re-evaluated
            return ev
    ev.reference = reference_run(rule, theta0, grads, **full)
    ev.theta_tol = _theta_tolerance(rule, full, ev.reference, mag, u)
    ev.state_tol = _state_tolerance(rule, mag, u)
    ok_theta = _within(ev.actual, ev.reference.iterates, ev.theta_tol).all(axis=1)
    bad_rows = [int(t) for t in np.flatnonzero(~ok_theta)]
    if ev.actual_state:
        for name, values in ev.actual_state.items():
            ok = _within(values, ev.reference.states[name], ev.state_tol[name]).all(axis=1)
            rows = [int(t) for t in np.flatnonzero(~ok)]
            bad_rows += rows
            if rows:
                ev.bad_state.append((rows[0] + 1, name))
    if bad_rows:
        ev.first_step = min(bad_rows) + 1
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        ulps = ulp_error(ev.actual, ev.reference.iterates, dtype)
        ratio = np.abs(ev.actual.astype(np.float64) - ev.reference.iterates) / ev.theta_tol
    ratio = np.where(ev.actual == ev.reference.iterates, 0.0, ratio)
    ev.max_ulps = float(np.max(ulps)) if ulps.size else 0.0
    finite = ratio[np.isfinite(ratio)]
    ev.max_ratio = float(finite.max()) if finite.size else 0.0
    return ev


# --------------------------------------------------------------------------- diagnosis


def _matches(variant: Variant, theta0, grads, full: dict, actual: np.ndarray, rule: str, u: float) -> bool:
    try:
        ref = variant.reference(theta0, grads, full)
        mag = variant.magnitudes(grads, full)
    except (ArithmeticError, ValueError, TypeError):
        return False
    with np.errstate(invalid="ignore", over="ignore"):
        tol = _theta_tolerance(rule, full, ref, mag, u)
    return bool(_within(actual, ref.iterates, tol).all())


def _diagnose(rule: str, run: Callable, ev: _Evaluation, dtype: np.dtype) -> tuple[list[Variant], bool]:
    """The alternative forms that reproduce the implementation's iterates; ``True`` if also confirmed on
    the diagnostic input."""
    u = float(np.finfo(dtype).eps) / 2
    candidates = [v for v in variants(rule, ev.full)
                  if _matches(v, ev.theta0, ev.grads, ev.full, ev.actual, rule, u)]
    if not candidates:
        return [], False
    theta0 = np.array(_DIAGNOSTIC_THETA0, dtype=dtype)
    grads = np.array(_DIAGNOSTIC_GRADS, dtype=dtype)
    try:
        actual, _ = _call_run(run, theta0, grads, ev.given, RULES[rule])
    except Exception:
        return candidates, False
    confirmed = [v for v in candidates if _matches(v, theta0, grads, ev.full, actual, rule, u)]
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
    lines = []
    steps, n = ev.grads.shape
    if ev.problem is not None:
        lines.append(f"check_optimizer({rule!r}): run failed on this input: {ev.problem}")
    else:
        t = ev.first_step
        lines.append(f"check_optimizer({rule!r}): the implementation leaves the exact reference at step {t} "
                     f"(t = {t} of T = {steps}).")
    lines += [
        "",
        f"Failing input ({searched}):",
        f"  theta0 = {_vector(ev.theta0)}",
        f"  grads  = {_matrix(ev.grads)}   (T = {steps} steps, n = {n} parameters, {np.dtype(dtype).name})",
        f"  hyper  = {ev.given}" + (f"   conventions: {options}" if options else ""),
        f"Reference: {spec.name}: {spec.formula}  [{spec.source}]"
        + (f"; run in {ev.reference.arithmetic}, rounded to float64." if ev.reference else "."),
    ]
    if ev.problem is not None:
        return "\n".join(lines)
    t = ev.first_step
    row = t - 1
    err = np.abs(ev.actual[row].astype(np.float64) - ev.reference.iterates[row])
    tol_ulps = ev.theta_tol[row] / np.spacing(np.abs(ev.reference.iterates[row]).astype(dtype)).astype(np.float64)
    lines += [
        "",
        f"After step {t}:",
        f"  expected theta = {_vector(ev.reference.iterates[row])}",
        f"  actual   theta = {_vector(ev.actual[row])}",
    ]
    for name in spec.state:
        lines.append(f"  expected {name:<5} = {_vector(ev.reference.states[name][row])}")
        if ev.actual_state and name in ev.actual_state:
            lines.append(f"  actual   {name:<5} = {_vector(ev.actual_state[name][row])}")
    if spec.state and not ev.actual_state:
        names = ", ".join(f"{s!r}: ..." for s in spec.state)
        lines.append(f"  actual state: not returned by run (return (iterates, {{{names}}}) to compare it)")
    if t > 1:
        lines.append(f"  before the step, theta_{t - 1} agreed within tolerance: expected "
                     f"{_vector(ev.reference.iterates[row - 1])}, actual {_vector(ev.actual[row - 1])}")
    lines.append(f"  tolerance at step {t}: |error| <= {_vector(ev.theta_tol[row])} "
                 f"(= {_vector(np.round(tol_ulps, 2))} ULPs); error = {_vector(err)}")
    for step, name in ev.bad_state:
        lines.append(f"  state {name!r} first leaves its reference at step {step}")
    lines += ["", f"Worst entries of theta at step {t}:",
              error_table(ev.actual[row:row + 1], ev.reference.iterates[row:row + 1], worst=10, dtype=dtype,
                          labels=_labels((1, n)))]
    if steps > 1:
        labels = _labels(ev.actual.shape)
        lines += ["", f"Worst entries of theta over all {steps} steps:",
                  error_table(ev.actual, ev.reference.iterates, worst=10, dtype=dtype, labels=labels)]
    if ev.actual_state:
        for name, values in ev.actual_state.items():
            if any(nm == name for _, nm in ev.bad_state):
                lines += ["", f"Worst entries of state {name!r}:",
                          error_table(values, ev.reference.states[name], worst=10, dtype=dtype,
                                      labels=_labels(values.shape))]
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
    return {k: (float(dtype.type(v)) if isinstance(v, (int, float)) and not isinstance(v, bool) else v)
            for k, v in hyper.items()}


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
            ``"nesterov"``, ``"adagrad"``, ``"adagrad_norm"``, ``"rmsprop"``, ``"adam"``).
        run: ``run(theta0, grads, **hyper)`` → ``(T, n)`` iterates, or ``(iterates, state_dict)``.
        theta0, grads: one fixed input (n,) and (T, n); then every numeric hyperparameter must be given.
            Without them, Hypothesis draws inputs (and the hyperparameters not given) and shrinks a failure.
        inputs: optionally, a Hypothesis strategy of ``(theta0, grads)`` pairs to search instead.
        dtype: float64 (default) or float32: the dtype of the inputs and of the tolerance; given
            hyperparameters are rounded to it first.
        max_examples: inputs to try (default: the active Hypothesis profile's ``max_examples``).
        seed: the search's random seed (the search is deterministic for a given seed).
        **hyper: hyperparameters and conventions (``eps_mode``) passed to ``run``; numeric ones not given
            are drawn. The convention is the rule's default when not given (it is not passed to ``run``).

    Returns:
        an :class:`OptimizerReport`.
    """
    spec = rule_spec(rule)
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be float32 or float64; got {dt}")
    if not callable(run):
        raise TypeError(f"run must be callable as run(theta0, grads, **hyper); got {run!r}")
    validate_hyperparameters(rule, hyper, partial=True)
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
        failing = _evaluate(rule, run, theta0, grads, given, dt)
        evaluations.append(failing)
        searched = "the fixed input given"
        if failing.ok:
            failing = None
    else:
        if inputs is None:
            strategy = optimizer_problems(rule, fixed=given, dtype=dt)
        else:
            strategy = st.tuples(inputs, optimizer_hyperparameters(rule, fixed=given, dtype=dt)).map(
                lambda p: (p[0][0], p[0][1], p[1]))

        def fails(problem) -> bool:
            ev = _evaluate(rule, run, problem[0], problem[1], problem[2], dt, screen=True)
            evaluations.append(ev)
            return not ev.ok

        try:
            example = find(strategy, fails, settings=_search_settings(max_examples), random=random.Random(seed))
        except NoSuchExample:
            failing = None
        else:
            failing = _evaluate(rule, run, example[0], example[1], example[2], dt)
            if failing.ok:  # pragma: no cover - a run that is not deterministic
                raise CheckFailure(f"check_optimizer({rule!r}): run failed once on an input and passed on it "
                                   "again: it is not deterministic", details={"input": example})
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
    reference = passed[0].reference.arithmetic if passed else ""
    return OptimizerReport(
        rule=rule,
        hyper={k: v for k, v in given.items() if k in spec.hyperparameters},
        conventions={k: validate_hyperparameters(rule, given, partial=True)[k] for k in spec.options},
        dtype=dt.name,
        examples=len(passed),
        steps=int(sum(e.grads.shape[0] for e in passed)),
        max_ulps=max((e.max_ulps for e in passed), default=0.0),
        max_error_ratio=max((e.max_ratio for e in passed), default=0.0),
        compared_state=any(e.actual_state for e in passed),
        reference=reference,
    )
