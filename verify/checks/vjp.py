"""``check_vjp`` and ``check_jvp``: is a hand-written backward (forward-mode) rule the derivative of ``f``?

``f(*args)`` returns an array of any shape ``S`` (a layer's output); ``args[wrt]`` is the argument
differentiated, of shape ``X``. With ``J = ∂f/∂args[wrt]`` (``S × X``):

- ``vjp(u, *args) = uᵀJ``, shaped like ``args[wrt]``, for a cotangent ``u`` shaped like ``f``'s output
  (reverse mode: what a ``backward`` returns for ``grad_output = u``);
- ``jvp(v, *args) = J v``, shaped like ``f``'s output, for a tangent ``v`` shaped like ``args[wrt]``
  (forward mode).

There is no second judge: every verdict is :func:`verify.check_gradient`'s (its references, measured
tolerances, kinks, *unverified* entries), on scalar views of ``f``:

- ``vjp(u)`` is checked as the gradient of ``φ_u(args) = ⟨u, f(args)⟩`` (the identity
  ``∇⟨u, f⟩ = uᵀJ``; Griewank & Walther, *Evaluating Derivatives*, 2nd ed., SIAM 2008, ch. 3), for
  ``directions`` cotangents drawn at random at every point (seeded; entries of magnitude in [0.5, 2),
  the first of both signs, the second positive; never all ones, so a backward that ignores
  ``grad_output`` — which then returns the VJP of the all-ones cotangent — is caught);
- ``jvp(v)`` is checked, for ``directions`` tangents ``v`` drawn at random (entries ``±[0.5, 1)·max(1, |x_j|)``,
  so the line ``x + t·v`` moves every entry by a like relative amount) and two cotangents ``w`` each, as
  the derivative at ``t = 0`` of ``t ↦ ⟨w, f(x + t·v)⟩`` against ``⟨w, jvp(v)⟩``. ``w`` takes the signs of
  ``jvp(v)`` (magnitudes drawn), so the contraction of the JVP under test adds terms of one sign and
  loses none of its accuracy to cancellation, while a wrong sign in any entry still changes the sum;
- at small sizes the whole Jacobian: when ``f``'s output has at most ``jacobian_max`` entries,
  ``vjp(e_k)`` for every unit cotangent (row ``k`` of ``J``, the gradient of ``f_k``); when ``args[wrt]``
  has at most ``jacobian_max`` entries, ``jvp(e_j)`` for every unit tangent, the columns assembled into
  ``J`` and each row judged as the gradient of ``f_k``.

On a failure the message shows the direction, the failing input (shrunk by Hypothesis when ``inputs`` is
a strategy), the judge's table of the worst entries in the argument's own shape and index (for a JVP:
in the shape of ``f``'s output, entry by entry), and the likely mistake when the judge accepts one
(:mod:`verify.checks._mistakes`: the incoming gradient ignored, a flipped sign, a constant factor, a
transposed weight gradient).

``f`` is evaluated on the float64 promotion of ``args[wrt]`` for the references (the judge's rule), so a
float32 rule is judged as float32 against a float64 reference; ``f`` is memoised for one point, so the
many scalar views cost one evaluation of ``f`` per distinct point.

**Kinks along a tangent's line.** The line ``t ↦ ⟨w, f(x + t·v)⟩`` moves every entry at once; where it meets the kinks
of several entries at ``t = 0`` its one-sided slopes combine theirs (hardtanh at ``[1, −1]``: a concave and a convex
kink give the line slopes ``w₀v₀`` and ``w₁v₁``) and no longer bound what a correct choice per entry gives (PyTorch's
0 at both ends, JAX's 1). Such a tangent — the judge finds the line at a kink at ``t = 0``, at one it cannot locate,
or next to one — is judged entry by entry, as the reverse mode is: ``jvp(v)`` must be ``J·v`` for the Jacobian ``J``
of the unit tangents ``jvp(e_j)``, to rounding (``ulps·eps·(Σ_j |J_kj v_j| + |jvp(v)_k|)``, then the rounding of
``J`` and of ``jvp(v)`` measured), and ``wᵀJ`` must pass as the gradient of ``⟨w, f⟩`` (each entry at a kink anywhere
within its one-sided slopes). A rule that ignores its tangent is not ``J·v``; a wrong slope or sign on a smooth
entry, or a slope outside a kink's, fails ``wᵀJ``. The Jacobian is assembled only up to ``2²²`` entries; beyond,
the failure says that a kink may be the cause.

Where a view fails, what its values cannot show the judge is measured and given to it
(:mod:`verify.checks._views`): the rounding of the terms of ``⟨u, f⟩`` (a sum that cancels keeps the rounding of
its terms), the float32 function's own rounding (its float64 promotion has none of it), and, for an output that
is bitwise constant along ``e_j`` in the code under test, an error below the computation's rounding scale is
*unverified* — a value that lost every digit looks the same as an exact constant.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from verify.checks._mistakes import Probe, name_mistakes
from verify.checks._probes import (
    Computed,
    DirectionalChecker,
    JudgeOptions,
    Line,
    LineDerivative,
    Memo,
    Projected,
    checker_failure,
    draw_cotangents,
    draw_tangents,
    flat_to_index,
    indent,
    judge,
    judged_probe,
    linear_noise,
    mistake_lines,
    output_at_point,
    point_rng,
    references_text,
    report_text,
    run_check,
    unit,
    validate_point,
    worst_ratio_of,
)
from verify.checks._views import judge_view
from verify.checks.failure import CheckFailure, error_table, format_arguments
from verify.checks.gradient import JudgeSummary

__all__ = ["check_vjp", "check_jvp", "VJPReport", "JVPReport"]


@dataclass(frozen=True, kw_only=True)
class _ViewsReport(JudgeSummary):
    """What ``check_vjp`` and ``check_jvp`` report alike: ``examples`` points; the judge's summary
    (:class:`~verify.checks.gradient.JudgeSummary`) summed over every scalar view judged by ``check_gradient``
    (:meth:`verify.checks._probes.Tally.summary`); ``f``'s ``output_shape``, the ``dtype`` judged, the ``seed``
    of the directions, the ``seconds`` taken and the ``entries`` judged over every view (each view's gradient has
    ``args[wrt]``'s size; a contraction along a line, one).
    """

    examples: int
    output_shape: tuple
    dtype: str
    seed: int
    seconds: float
    entries: int = 0

    @property
    def verified(self) -> int:
        """Entries judged right (at a kink: within its one-sided slopes), over every scalar view: ``entries`` less the
        ``unverified`` ones and those where ``f`` jumps (``jumps="allow"``: not judged)."""
        return max(self.entries - self.unverified - self.jumps, 0)

    def _text(self, headline: str) -> str:
        """This report as text under ``headline``: the share of entries verified, the judge's worst error, references
        and kinks."""
        share = (f"entries judged over every view: {self.entries}, {self.verified} verified"
                 + (f", {self.unverified} UNVERIFIED (reasons in the notes)" if self.unverified else "")
                 + (f", {self.jumps} not differentiable (jumps of f, allowed)" if self.jumps else ""))
        return report_text(headline, [share,
                                      f"worst error: {self.worst_ratio:.3g} of the tolerance, {self.worst_ulps:.3g} ULPs",
                                      f"decided by: {references_text(self.references)}",
                                      f"kinks met: {self.kinks}"], self.unverified, self.notes)


@dataclass(frozen=True)
class VJPReport(_ViewsReport):
    """What ``check_vjp`` verified: ``cotangents`` drawn-cotangent checks and ``jacobian_rows`` unit-cotangent
    checks (rows of the Jacobian), and what every checker of scalar views reports (:class:`_ViewsReport`)."""

    cotangents: int
    jacobian_rows: int

    def __str__(self) -> str:
        return self._text(
            f"check_vjp: {self.examples} example(s) passed in {self.seconds:.3g} s ({self.dtype}, output shape "
            f"{self.output_shape}): {self.cotangents} drawn cotangent(s), {self.jacobian_rows} Jacobian row(s), "
            f"seed {self.seed}")


@dataclass(frozen=True)
class JVPReport(_ViewsReport):
    """What ``check_jvp`` verified: ``tangents`` drawn tangents, each judged through ``cotangent_checks``
    contractions in all, and ``jacobian_columns`` unit tangents (the whole Jacobian, row by row); and what every
    checker of scalar views reports (:class:`_ViewsReport`)."""

    tangents: int
    cotangent_checks: int
    jacobian_columns: int

    def __str__(self) -> str:
        return self._text(
            f"check_jvp: {self.examples} example(s) passed in {self.seconds:.3g} s ({self.dtype}, output shape "
            f"{self.output_shape}): {self.tangents} drawn tangent(s) ({self.cotangent_checks} contractions), "
            f"{self.jacobian_columns} Jacobian column(s), seed {self.seed}")


# ---------------------------------------------------------------------------------------------
# VJP


@dataclass
class _VJPChecker(DirectionalChecker):
    cotangents: int = 0
    rows: int = 0
    output_shape: tuple = ()
    entries: int = 0

    def check_point(self, point: Sequence, diagnose: bool) -> float:
        __tracebackhide__ = True
        args, x = validate_point(point, self.wrt, "check_vjp")
        y0 = output_at_point(self.f, args, checker="check_vjp")
        memo = Memo(self.f, args, self.wrt, y0.shape)
        us = draw_cotangents(point_rng(self.seed, x), y0.shape, y0.dtype, self.directions)

        def computed(u: np.ndarray) -> Computed:
            return Computed(self.rule, "vjp(u, *args)", u, args, self.wrt, x.shape, "check_vjp", f"args[{self.wrt}]")

        def view(u: np.ndarray | None = None, index: int | None = None) -> Projected:
            return Projected(memo, x.ndim, weights=u, index=index)

        probes: list[Probe] = []
        failures: list[tuple[str, np.ndarray, CheckFailure]] = []
        reports = []
        for i, u in enumerate(us):
            comp = computed(u)
            at_point = comp(x)
            report, failure = judge_view(view(u), comp.as_grad(), args, self.wrt, self.options, y0, weights=u,
                                         noise=comp.noise(x))
            if failure is not None:
                failures.append((f"cotangent #{i + 1} of {len(us)} drawn", u, failure))
            else:
                reports.append(report)
            probes.append(judged_probe(comp, x, at_point, failure))
        rows = 0
        if not failures and y0.size <= self.jacobian_max:
            for k in range(y0.size):
                e = unit(y0.shape, y0.dtype, k)
                row = computed(e)
                report, failure = judge_view(view(index=k), row.as_grad(), args, self.wrt, self.options, y0,
                                             noise=row.noise(x))
                rows += 1
                if failure is not None:
                    failures.append((f"row {flat_to_index(y0.shape, k)} of the Jacobian (the unit cotangent at output "
                                     f"index {flat_to_index(y0.shape, k)})", e, failure))
                else:
                    reports.append(report)
        if failures:
            raise self._failure(args, x, y0, failures, probes, memo, diagnose, point)
        self.cotangents += len(us)
        self.rows += rows
        self.output_shape = y0.shape
        self.entries += len(reports) * x.size
        return self.passed(reports, x)

    def _failure(self, args, x, y0, failures, probes, memo, diagnose, point) -> CheckFailure:
        jumped = [item for item in failures if _jumps(item[2], self.options)]
        worst_label, worst_u, worst = jumped[0] if jumped else max(failures, key=lambda item: worst_ratio_of(item[2]))
        named: list[str] = []
        if diagnose:
            def accepts(u: np.ndarray, candidate: Callable[[np.ndarray], np.ndarray], noise: np.ndarray | None) -> bool:
                view = Projected(memo, x.ndim, weights=u)
                return judge(view, lambda *a: candidate(np.asarray(a[self.wrt])), args, self.wrt, self.options,
                             noise=None if noise is None else (lambda: noise))[1] is None

            def row_probe(u: np.ndarray, f: CheckFailure) -> Probe:
                comp = Computed(self.rule, "vjp(u, *args)", u, args, self.wrt, x.shape, "check_vjp", f"args[{self.wrt}]")
                return judged_probe(comp, x, f.details.get("computed"), f)

            diagnosis_probes = probes if any(p.failed for p in probes) else [row_probe(u, f) for _, u, f in failures]
            named = name_mistakes(diagnosis_probes, accepts, derivative="vjp(u)", kind="VJP", direction="cotangent",
                                  incoming="the incoming gradient (the cotangent u, grad_output)",
                                  sizes=(*x.shape, *y0.shape))
        where = (f"{len(failures)} of the {len(probes)} cotangents drawn at this point" if any(p.failed for p in probes)
                 else f"{len(failures)} of the {y0.size} rows of the Jacobian (unit cotangents), though the "
                      f"{len(probes)} drawn cotangents passed")
        headline = (f"check_vjp: vjp(u, *args) is wrong for {where}; the worst is {worst_label}, at "
                    f"{worst_ratio_of(worst):.3g} × the tolerance.")
        if jumped:
            headline = (f"check_vjp: f is not continuous at this point: it jumps along "
                        f"{_jump_text(worst, x.shape, f'args[{self.wrt}]')} (below: the jump, which does not shrink "
                        f"with the step), so no vjp can be its derivative there; seen for {where}, first for "
                        f"{worst_label}.")
        lines = [
            headline,
            *(mistake_lines(named, "ignored cotangent, flipped sign, constant factor, transpose")
              if diagnose and not jumped else []),
            f"cotangent u (shaped like f's output {y0.shape}, {y0.dtype}):",
            format_arguments((worst_u,), names=("u",)),
            f"how it was judged: vjp(u, *args) against the gradient of φ_u(args) = ⟨u, f(args)⟩ w.r.t. "
            f"args[{self.wrt}]; check_gradient said:",
            indent(str(worst)),
        ]
        return checker_failure(lines, "check_vjp", worst, worst_u, named, point, failures=len(failures))

    def report(self, seconds: float) -> VJPReport:
        return VJPReport(examples=self.examples, cotangents=self.cotangents, jacobian_rows=self.rows,
                         output_shape=self.output_shape, dtype=self.dtype, seed=self.seed, seconds=seconds,
                         entries=self.entries, **self.tally.summary())


def check_vjp(
    f: Callable[..., np.ndarray],
    vjp: Callable[..., np.ndarray],
    inputs: object,
    *,
    wrt: int = 0,
    directions: int = 3,
    seed: int = 0,
    jacobian_max: int = 32,
    ulps: float = 32.0,
    atol: float = 0.0,
    max_examples: int | None = None,
    worst: int = 10,
    jumps: str = "fail",
) -> VJPReport:
    """Check that ``vjp(u, *args) = uᵀ ∂f/∂args[wrt]`` for cotangents ``u`` drawn at random.

    Args:
      f: ``f(*args) -> array`` of any shape ``S`` (float32 or float64). Written with NumPy ufuncs it
        usually also takes complex input (the judge's complex-step reference) and a stack of points.
      vjp: ``vjp(u, *args) -> array`` shaped like ``args[wrt]``: the backward rule under test, with ``u``
        (shape ``S``, the dtype of ``f``'s output) the incoming gradient. Judged in ``args[wrt]``'s dtype.
      inputs: one point, a tuple ``(arg0, arg1, …)``, or a Hypothesis strategy of such tuples.
      wrt: index of the argument differentiated; the others are held fixed (any type ``f`` takes).
      directions: cotangents drawn per point (see the module docstring; never all ones).
      seed: with the point's bytes, seeds the cotangents (recorded in the report).
      jacobian_max: also check every row of the Jacobian (unit cotangents) when ``f``'s output has at
        most this many entries; 0 never does.
      ulps, atol, worst: passed to ``check_gradient`` for every check.
      jumps: passed to ``check_gradient`` for every check: ``"fail"`` (default) fails a point where ``f`` is not
        continuous ("f is not continuous at this point"); ``"allow"`` declares such points (a ``floor``, a step
        function): the entries where ``f`` jumps are not judged (no derivative exists there) and are counted in the
        report's ``jumps``, every other entry is judged as usual.
      max_examples: for a strategy, overrides the active Hypothesis profile's ``max_examples``.

    Returns:
      A :class:`VJPReport`.

    Raises:
      CheckFailure: ``vjp`` is wrong at some point; the message names the cotangent, the failing input,
        the worst entries (index in ``args[wrt]``) and the likely mistake.
      TypeError / ValueError: bad input — ``f`` returns something other than a real float array, ``vjp``
        returns another shape than ``args[wrt]``'s (a transpose is named), ``wrt`` out of range, ``f``
        not finite or not deterministic at the point.

    Example — a dense layer ``f(x, W) = x W``, whose weight gradient is ``xᵀ u``:

    >>> import numpy as np, verify
    >>> x, W = np.array([[1.0, -2.0]]), np.array([[0.5, 1.0, -1.0], [2.0, 0.0, 3.0]])
    >>> report = verify.check_vjp(lambda x, W: x @ W, lambda u, x, W: x.T @ u, (x, W), wrt=1)
    >>> report.cotangents, report.jacobian_rows
    (3, 3)
    """
    __tracebackhide__ = True
    return run_check(_VJPChecker, "check_vjp", f, vjp, "vjp", inputs, wrt=wrt, directions=directions, seed=seed,
                     jacobian_max=jacobian_max, ulps=ulps, atol=atol, max_examples=max_examples, worst=worst,
                     jumps=jumps)


# ---------------------------------------------------------------------------------------------
# JVP


def _aligned_cotangents(rng: np.random.Generator, jv: np.ndarray, count: int) -> list[np.ndarray]:
    """Cotangents with the signs of ``jv`` (+ where it is 0 or NaN) and magnitudes drawn in [0.5, 2)."""
    sign = np.where(np.asarray(jv, dtype=np.float64) < 0, -1.0, 1.0)
    return [sign * rng.uniform(0.5, 2.0, sign.shape) for _ in range(count)]


_PER_ENTRY_MAX = 2**22  # entries of the Jacobian a judgement entry by entry assembles (32 MiB of float64)
_PER_ENTRY_NOTE = ("a tangent's line met kinks of several entries (or a jump declared with jumps='allow') at the point: it "
                   "was judged entry by entry, as the reverse mode is (jvp(v) = J·v for the Jacobian J of the unit "
                   "tangents, and wᵀJ a gradient of ⟨w, f⟩ with each entry at a kink anywhere within its one-sided "
                   "slopes)")


def _jumps(failure: CheckFailure, options: JudgeOptions) -> bool:
    """The judge found ``f`` not continuous at the point along some entry of the view it judged, and that is why it
    failed: with ``jumps="allow"`` such entries are declared and not judged, so the failure has another cause."""
    return options.jumps == "fail" and bool(np.any(failure.details.get("jumps", False)))


def _jump_text(failure: CheckFailure, shape: tuple, name: str) -> str:
    """The entries along which the judge found ``f`` jumping, as ``args[0][1]`` (at most 4 named)."""
    where = np.flatnonzero(np.ravel(failure.details.get("jumps", False)))
    named = [f"{name}{list(flat_to_index(shape, int(j)))}" for j in where[:4]]
    return ", ".join(named) + (f" and {where.size - 4} more" if where.size > 4 else "")


def _at_kink(failure: CheckFailure) -> bool:
    """The judge found the line not smooth at ``t = 0``: a kink there, a kink it could not locate (unverified, the
    error beyond even the tolerance), or one it placed next to the point. A line through the kinks of several
    entries of a float32 function, whose rounding (measured, ~1e-6) sets the finest step the kink ladder may take,
    is seen each of these ways; all three are judged entry by entry."""
    d = failure.details
    return bool(np.any(d.get("kinks", False)) or np.any(d.get("unverified", False))
                or np.any(d.get("near_kink", False)))


class _Columns:
    """The Jacobian of the JVP under test assembled from its unit tangents, ``J[:, j] = jvp(e_j)`` (float64 of the
    values returned), memoised per point, and its rounding measured once at the point ``x``."""

    def __init__(self, units: list[Computed], x: np.ndarray, ulps: float) -> None:
        self.units = units
        self.x = x
        self.ulps = ulps
        self.measured: list[np.ndarray | None] = []

    def at(self, value: np.ndarray) -> np.ndarray:
        """``J`` at ``value``, shape (size of f's output, size of x)."""
        return np.stack([np.asarray(c(value), dtype=np.float64).ravel() for c in self.units], axis=1)

    def noise(self) -> np.ndarray | None:
        """A bound on the rounding of every entry of ``J`` at ``x``, (m, n): :func:`linear_noise` over scalings of
        all unit tangents at once, plus the float32 columns' difference to their float64 twins where they have one
        (:meth:`Computed.precision_error`). None where it cannot be measured."""
        if not self.measured:
            linear = linear_noise(
                lambda c: np.stack([np.asarray(col.scaled(c, self.x), dtype=np.float64).ravel() for col in self.units],
                                   axis=1), self.x.dtype)
            twins = [col.precision_error(self.x) for col in self.units]
            if all(t is not None for t in twins):
                twin = np.stack([t.ravel() for t in twins], axis=1)
                linear = twin if linear is None else linear + twin
            self.measured.append(linear)
        return self.measured[0]

    def linear(self, v: np.ndarray, jv: np.ndarray, noise: Callable[[], np.ndarray | None] | None = None) -> bool:
        """Whether ``jv = jvp(v)`` is ``J·v`` at ``x`` to rounding, entry by entry: within
        ``ulps·eps_d·(Σ_j |J_kj v_j| + |jv_k|)`` (the rounding of a sum of the products and of its result, ``d`` the
        output's dtype, in ULPs as the judge counts them), and where that does not suffice, within the measured rounding
        of ``J`` times ``|v|`` plus that of ``jv`` (``noise``). A rule that ignores its tangent, or is not linear in it,
        is not."""
        J = self.at(self.x)
        flat_v = np.asarray(v, dtype=np.float64).ravel()
        value = np.asarray(jv, dtype=np.float64).ravel()
        eps = float(np.finfo(np.asarray(jv).dtype if np.asarray(jv).dtype == np.float32 else np.float64).eps)
        with np.errstate(all="ignore"):
            gap = np.abs(value - J @ flat_v)
            bound = self.ulps * eps * (np.abs(J) @ np.abs(flat_v) + np.abs(value))
            if not np.all(np.isfinite(gap)):
                return False
            if np.all(gap <= bound):
                return True
            measured = self.noise()
            own = noise() if noise is not None else None
            if measured is None or own is None:
                return False
            return bool(np.all(gap <= bound + measured @ np.abs(flat_v) + np.ravel(own)))


@dataclass
class _JVPChecker(DirectionalChecker):
    tangents: int = 0
    contractions: int = 0
    columns: int = 0
    output_shape: tuple = ()
    unjudged: str = ""
    entries: int = 0

    def _computed(self, v: np.ndarray, args: tuple, shape: tuple) -> Computed:
        return Computed(self.rule, "jvp(v, *args)", v, args, self.wrt, shape, "check_jvp", "f(*args)")

    def _contractions(self, memo: Memo, x: np.ndarray, v: np.ndarray, candidate: Callable, dtype: np.dtype,
                      rng: np.random.Generator, noise: np.ndarray | None = None,
                      cotangents: list | None = None) -> tuple[list, list[CheckFailure]]:
        """The two contractions of tangent ``v`` judged along the line; the cotangents drawn are appended to
        ``cotangents`` (when given) in the order of the judgements."""
        t0 = np.zeros(1, dtype=dtype)
        y0 = memo.one(x)
        reports, failures = [], []
        for w in _aligned_cotangents(rng, candidate(x), 2):
            if cotangents is not None:
                cotangents.append(w)
            derivative = LineDerivative(candidate, x, v, dtype, weights=w)
            if noise is None:
                measured = derivative.noise()
            else:
                measured = (lambda w=w: np.array([float(np.sum(np.abs(np.ravel(w)) * np.ravel(noise)))]))
            report, failure = judge_view(Line(memo, x, v, weights=w), derivative, (t0,), 0, self.options, y0, weights=w,
                                         noise=measured, inputs=memo.args)
            if failure is None:
                reports.append(report)
            else:
                failures.append(failure)
        return reports, failures

    def _per_entry(self, memo: Memo, x: np.ndarray, y0: np.ndarray, v: np.ndarray, comp: Computed,
                   cotangents: list[np.ndarray], columns: _Columns, args: tuple) -> tuple[list | None, CheckFailure | None]:
        """A tangent whose line meets kinks (or, with ``jumps="allow"``, a jump) at ``t = 0`` judged entry by entry, as
        the reverse mode is (module docstring, "Kinks"): ``jvp(v)`` must be ``J·v`` for the Jacobian ``J`` assembled
        from the unit tangents (to rounding), and ``wᵀJ`` must pass as the gradient of ``⟨w, f⟩`` for each cotangent
        ``w`` of the tangent (each entry at a kink anywhere within its one-sided slopes). ``(the judge's reports,
        None)``, or ``(None, the failure)``: a view's, or one saying that ``jvp(v)`` is not ``J·v``."""
        jv = comp(x)
        if not columns.linear(v, jv, comp.noise(x)):
            computed = np.asarray(jv, dtype=np.float64).ravel()
            expected = columns.at(x) @ np.asarray(v, dtype=np.float64).ravel()
            return None, CheckFailure(
                "jvp(v) is not J·v for the Jacobian J of the unit tangents jvp(e_j), beyond rounding (the tangent's "
                "line is not smooth at t = 0, so it is judged entry by entry)",
                details={"computed": computed, "expected": expected})
        reports = []
        for w in cotangents:
            flat_w = np.asarray(w, dtype=np.float64).ravel()

            def contracted(*a: Any, w: np.ndarray = flat_w) -> np.ndarray:
                return (w @ columns.at(np.asarray(a[self.wrt]))).reshape(x.shape)

            def noise(w: np.ndarray = flat_w) -> np.ndarray | None:
                measured = columns.noise()
                return None if measured is None else (np.abs(w) @ measured).reshape(x.shape)

            report, failure = judge_view(Projected(memo, x.ndim, weights=w), contracted, args, self.wrt, self.options,
                                         y0, weights=w, noise=noise)
            if failure is not None:
                return None, failure
            reports.append(report)
        return reports, None

    def check_point(self, point: Sequence, diagnose: bool) -> float:
        __tracebackhide__ = True
        args, x = validate_point(point, self.wrt, "check_jvp")
        y0 = output_at_point(self.f, args, checker="check_jvp")
        memo = Memo(self.f, args, self.wrt, y0.shape)
        rng = point_rng(self.seed, x)
        vs = draw_tangents(rng, x, self.directions)
        self.unjudged = ""
        reports, probes = [], []
        judged = 0  # entries judged at this point: 1 per line view, x.size per view of args[wrt]
        failing: list[tuple[int, np.ndarray, Computed, CheckFailure]] = []
        columns = _Columns([self._computed(unit(x.shape, x.dtype, j), args, y0.shape) for j in range(x.size)], x,
                           self.options.ulps)
        for i, v in enumerate(vs):
            comp = self._computed(v, args, y0.shape)
            at_point = comp(x)
            drawn: list[np.ndarray] = []
            ok, bad = self._contractions(memo, x, v, comp, y0.dtype, rng, cotangents=drawn)
            judged += len(ok)
            # with jumps="allow", a line through a jump of f at t = 0 is declared, not judged: it is judged entry by entry
            jumped = self.options.jumps == "allow" and any(r.jumps for r in ok)
            if (bad and all(_at_kink(b) for b in bad)) or jumped:
                if x.size * y0.size > _PER_ENTRY_MAX:
                    self.unjudged = (f"the line of a tangent met kinks or jumps at the point, where only a judgement "
                                     f"entry by entry can tell (not run: its Jacobian would have {x.size} × {y0.size} "
                                     f"entries, more than {_PER_ENTRY_MAX}); check a smaller input to tell a wrong rule "
                                     f"from a kink")
                    if jumped and not bad:
                        raise ValueError(f"check_jvp: {self.unjudged}")
                else:
                    entrywise, why = self._per_entry(memo, x, y0, v, comp, drawn, columns, args)
                    if entrywise is not None:
                        judged += len(entrywise) * x.size
                        ok, bad = ok + entrywise, []
                        if _PER_ENTRY_NOTE not in self.tally.notes:
                            self.tally.notes.append(_PER_ENTRY_NOTE)
                    elif not bad:
                        bad = [why]
            reports.extend(ok)
            if bad:
                failing.append((i, v, comp, bad[0]))
            fit = (np.concatenate([np.ravel(b.details.get("computed", np.nan)) for b in bad]),
                   np.concatenate([np.ravel(b.details.get("expected", np.nan)) for b in bad])) if bad else None
            probes.append(Probe(v, comp, at_point, None, bool(bad), fit, noise=comp.noise(x)))
        column_failures: list[tuple[int, CheckFailure]] = []
        n_columns = 0
        if not failing and x.size <= self.jacobian_max:
            def row(k: int) -> Callable[..., np.ndarray]:
                def grad(*a: Any) -> np.ndarray:
                    return columns.at(np.asarray(a[self.wrt]))[k].reshape(x.shape)
                return grad

            def column_noise(k: int) -> np.ndarray | None:
                measured = columns.noise()
                return None if measured is None else measured[k].reshape(x.shape)

            n_columns = x.size
            for k in range(y0.size):
                report, failure = judge_view(Projected(memo, x.ndim, index=k), row(k), args, self.wrt, self.options,
                                             y0, noise=lambda k=k: column_noise(k))
                if failure is None:
                    reports.append(report)
                    judged += x.size
                else:
                    column_failures.append((k, failure))
        if failing or column_failures:
            raise self._failure(args, x, y0, memo, rng, failing, column_failures, probes, diagnose, point)
        self.tangents += len(vs)
        self.contractions += 2 * len(vs)
        self.columns += n_columns
        self.entries += judged
        self.output_shape = y0.shape
        return self.passed(reports, x)

    def _entry_table(self, memo: Memo, x: np.ndarray, y0: np.ndarray, v: np.ndarray, comp: Computed) -> tuple[str, str]:
        """The JVP judged entry by entry (the derivative of ``t ↦ f(x + t·v)[k]``): a table of the failing
        entries, index in ``f``'s output, and the references used."""
        t0 = np.zeros(1, dtype=y0.dtype)
        at_point = np.asarray(comp(x), dtype=np.float64).ravel()
        rows, refs = [], set()
        for k in range(y0.size):
            derivative = LineDerivative(comp, x, v, y0.dtype, index=k)
            _, failure = judge(Line(memo, x, v, index=k), derivative, (t0,), 0, self.options, noise=derivative.noise())
            if failure is not None:
                expected = np.asarray(failure.details.get("expected", [np.nan]), dtype=np.float64).ravel()[0]
                rows.append((k, at_point[k], expected, worst_ratio_of(failure)))
                refs.add(str(failure.details.get("reference", "?")))
        if not rows:
            return "", ""
        rows.sort(key=lambda r: -r[3])
        labels = [str(flat_to_index(y0.shape, k)) for k, *_ in rows]
        table = error_table(np.array([r[1] for r in rows]), np.array([r[2] for r in rows]), worst=self.options.worst,
                            dtype=y0.dtype, order_by=np.array([r[3] for r in rows]), labels=labels,
                            extra={"error/tol": np.array([r[3] for r in rows])})
        return (f"{len(rows)} of {y0.size} entries of jvp(v) are wrong (index in f's output, shape {y0.shape}; "
                f"worst {min(self.options.worst, len(rows))} shown):\n{table}"), ", ".join(sorted(refs))

    def _failure(self, args, x, y0, memo, rng, failing, column_failures, probes, diagnose, point) -> CheckFailure:
        named: list[str] = []
        if failing:
            jumped = [item for item in failing if _jumps(item[3], self.options)]
            i, v, comp, worst = jumped[0] if jumped else max(failing, key=lambda item: worst_ratio_of(item[3]))
            if diagnose:
                def accepts(direction: np.ndarray, candidate: Callable[[np.ndarray], np.ndarray],
                            noise: np.ndarray | None) -> bool:
                    reports, failures = self._contractions(memo, x, direction, candidate, y0.dtype, rng, noise)
                    # a line through a declared jump (jumps="allow") is not judged: it accepts no candidate
                    return not failures and not any(r.jumps for r in reports)

                named = name_mistakes(probes, accepts, derivative="jvp(v)", kind="JVP", direction="tangent",
                                      incoming="the tangent v", sizes=(*x.shape, *y0.shape))
            table, refs = self._entry_table(memo, x, y0, v, comp) if diagnose else ("", "")
            headline = (f"check_jvp: jvp(v, *args) is wrong for {len(failing)} of the {len(probes)} tangents drawn at "
                        f"this point; the worst is tangent #{i + 1}, at {worst_ratio_of(worst):.3g} × the tolerance.")
            if jumped:
                headline = (f"check_jvp: f is not continuous at this point: it jumps along the line x + t·v of tangent "
                            f"#{i + 1} at t = 0 (below: the jump, which does not shrink with the step), so no jvp can "
                            f"be its derivative there; seen for {len(failing)} of the {len(probes)} tangents drawn.")
            lines = [
                headline,
                *(mistake_lines(named, "ignored tangent, flipped sign, constant factor, transpose")
                  if diagnose and not jumped else []),
                *([f"note: {self.unjudged}"] if self.unjudged else []),
                f"tangent v (shaped like args[{self.wrt}] {x.shape}, {x.dtype}):",
                format_arguments((v,), names=("v",)),
                "failing input:",
                format_arguments(args),
            ]
            if table:
                lines += [f"how it was judged: jvp(v)[k] against the derivative of t ↦ f(x + t·v)[k] at t = 0, for "
                          f"every entry k, by check_gradient (reference: {refs}):", table]
            else:
                lines += ["how it was judged: ⟨w, jvp(v)⟩ against the derivative of t ↦ ⟨w, f(x + t·v)⟩ at t = 0 "
                          "(w with the signs of jvp(v)); check_gradient said:", indent(str(worst))]
            direction, judged = v, worst
        else:
            jumped = [item for item in column_failures if _jumps(item[1], self.options)]
            k, worst = jumped[0] if jumped else max(column_failures, key=lambda item: worst_ratio_of(item[1]))
            headline = (f"check_jvp: the Jacobian assembled from jvp(e_j, *args) (every unit tangent e_j) is wrong in "
                        f"{len(column_failures)} of its {y0.size} rows, though the drawn tangents passed; the worst is "
                        f"row {flat_to_index(y0.shape, k)} (output index), at {worst_ratio_of(worst):.3g} × the "
                        "tolerance.")
            if jumped:
                headline = (f"check_jvp: f is not continuous at this point: output {flat_to_index(y0.shape, k)} jumps "
                            f"along {_jump_text(worst, x.shape, f'args[{self.wrt}]')} (below: the jump, which does not "
                            "shrink with the step), so no jvp can be its derivative there.")
            lines = [
                headline,
                f"how it was judged: [jvp(e_j)[k] for every j] against the gradient of f_k w.r.t. args[{self.wrt}] "
                "(entry j of the table is jvp(e_j)[k]); check_gradient said:",
                indent(str(worst)),
            ]
            direction, judged = unit(y0.shape, y0.dtype, k), worst
        return checker_failure(lines, "check_jvp", judged, direction, named, point, args=args)

    def report(self, seconds: float) -> JVPReport:
        return JVPReport(examples=self.examples, tangents=self.tangents, cotangent_checks=self.contractions,
                         jacobian_columns=self.columns, output_shape=self.output_shape, dtype=self.dtype,
                         seed=self.seed, seconds=seconds, entries=self.entries, **self.tally.summary())


def check_jvp(
    f: Callable[..., np.ndarray],
    jvp: Callable[..., np.ndarray],
    inputs: object,
    *,
    wrt: int = 0,
    directions: int = 3,
    seed: int = 0,
    jacobian_max: int = 32,
    ulps: float = 32.0,
    atol: float = 0.0,
    max_examples: int | None = None,
    worst: int = 10,
    jumps: str = "fail",
) -> JVPReport:
    """Check that ``jvp(v, *args) = ∂f/∂args[wrt] · v`` for tangents ``v`` drawn at random.

    Args:
      f: ``f(*args) -> array`` of any shape ``S`` (float32 or float64).
      jvp: ``jvp(v, *args) -> array`` shaped like ``f``'s output: the forward-mode rule under test, with
        ``v`` shaped like ``args[wrt]`` (its dtype). Judged in the dtype of ``f``'s output.
      inputs: one point (a tuple of arguments) or a Hypothesis strategy of such tuples.
      wrt: index of the argument differentiated.
      directions: tangents drawn per point (each judged through two contractions; module docstring).
      seed: with the point's bytes, seeds the tangents and cotangents.
      jacobian_max: also check the whole Jacobian, from the JVPs of every unit tangent, when ``args[wrt]``
        has at most this many entries; 0 never does.
      ulps, atol, worst: passed to ``check_gradient`` for every check.
      jumps: passed to ``check_gradient`` for every check: ``"fail"`` (default) fails a point where ``f`` is not
        continuous ("f is not continuous at this point"); ``"allow"`` declares such points (a ``floor``, a step
        function): the entries where ``f`` jumps are not judged (no derivative exists there) and are counted in the
        report's ``jumps``, every other entry is judged as usual.
      max_examples: for a strategy, overrides the active Hypothesis profile's ``max_examples``.

    Returns:
      A :class:`JVPReport`.

    Raises:
      CheckFailure: ``jvp`` is wrong; the message names the tangent, the failing input, the wrong entries
        (index in ``f``'s output) and the likely mistake.
      TypeError / ValueError: bad input, as for :func:`check_vjp` (``jvp`` must return ``f``'s shape).

    Example — softmax, whose JVP is ``p ⊙ (v − ⟨p, v⟩)``:

    >>> import numpy as np, verify
    >>> softmax = lambda z: np.exp(z - z.max(-1, keepdims=True)) / np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True)
    >>> def softmax_jvp(v, z):
    ...     p = softmax(z)
    ...     return p * (v - np.sum(p * v, axis=-1, keepdims=True))
    >>> verify.check_jvp(softmax, softmax_jvp, (np.array([0.5, -1.0, 2.0]),)).jacobian_columns
    3
    """
    __tracebackhide__ = True
    return run_check(_JVPChecker, "check_jvp", f, jvp, "jvp", inputs, wrt=wrt, directions=directions, seed=seed,
                     jacobian_max=jacobian_max, ulps=ulps, atol=atol, max_examples=max_examples, worst=worst,
                     jumps=jumps)
