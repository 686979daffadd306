"""``check_hessian``: is ``hvp(v, *args)`` the Hessian of ``f`` times ``v``?

``f(*args)`` is a scalar; ``hvp(v, *args) = ∇²f · v`` (``H v``, the Hessian of ``f`` w.r.t.
``args[wrt]`` applied to a direction ``v`` shaped like ``args[wrt]``), shaped like ``args[wrt]``.

The reference (Pearlmutter, "Fast exact multiplication by the Hessian", Neural Computation 6(1), 1994:
``H v = ∇ₓ(∇f(x)·v)``): ``H v`` is the gradient of the directional derivative ``d_v(x) = ∇f(x)·v``, and
it is judged by :func:`verify.check_gradient` as exactly that — ``check_gradient(d_v, hvp(v, ·))`` —
so the judge's references, tolerances, kinks (here: kinks of the *gradient* of ``f``, e.g. ReLU² at 0,
counted in the report) and *unverified* entries are those of every other check. ``d_v`` is computed
from ``f`` alone:

- by the complex step ``d_v(x) = Im f(x + i·h·v) / h`` (Squire & Trapp 1998), ``h = 1e-20·c``, where ``f``
  takes complex input, returns complex output and agrees at the point with the central differences
  below to within their error estimate (else ``f`` is not analytic there and the report says so);
- else by central differences along ``v`` with Richardson extrapolation, the scheme ``check_gradient``
  uses per coordinate: ``D(h) = (f(x + h v) − f(x − h v)) / 2h`` on steps ``h, h/2, h/4`` with
  ``h = eps_f^(1/5)·c``, value ``R = (4 D(h/4) − D(h/2)) / 3``, error estimate
  ``|R(h/2..h) − R(h/4..h/2)| + 6 η / h`` with ``η`` the larger of ``8·eps_f·max|f|`` and the measured
  ``|D(h) − 5 D(h/2) + 4 D(h/4)|·h / 27``.

``c = min_j max(1, |x_j|) / |v_j|`` makes every entry move by at most its own scale. The error estimate
of ``d_v`` at the point is carried into the judge (``check_gradient(..., f_error=)``), which widens its
reference's error by what the differences of an approximate ``d_v`` can amplify.

Directions: ``directions`` drawn per point (entries ``±[0.5, 1)·max(1, |x_j|)``, both signs in the first,
never all ones) and, when ``args[wrt]`` has at most ``jacobian_max`` entries, every unit vector (the
whole Hessian, column by column).

**Symmetry.** For consecutive drawn directions ``v, w``, ``⟨w, H v⟩ = ⟨v, H w⟩`` (Schwarz) must hold:
``|⟨w, hvp(v)⟩ − ⟨v, hvp(w)⟩| ≤ 2·(e_wv + e_vw) + 4·(δ_v + δ_w) + ulps·Σ_j (|w_j| ulp(hvp(v)_j) + |v_j|
ulp(hvp(w)_j)) + 2n·eps·Σ_j (|w_j||hvp(v)_j| + |v_j||hvp(w)_j|)``. ``e_wv`` is the error estimate of the
mixed partial ``∂_w(∇f·v)`` by the Richardson central differences above applied to ``d_v`` along ``w``
(what differences can resolve of the two products); ``δ_v`` the rounding of ``hvp`` measured as a
linearity defect, ``max |⟨w, hvp(a) + hvp(v − a) − hvp(v)⟩|`` over two splits ``v = a + (v − a)``
(``a = v·r``, ``r`` drawn in [0.5, 0.9], so ``v − a`` is exact); then the rounding of the output in its
dtype and of the float64 dot products. Rounding alone cannot be the allowance: a correct ``hvp`` that
cancels (log-sum-exp's ``p ⊙ v − p⟨p, v⟩`` at a saturated softmax) returns exact zeros where the truth is
1e-30, an error no measurement of its rounding sees. The test matters where the judge accepts a range
(kinks of the gradient) or cannot resolve an entry.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from verify.checks._mistakes import Probe, name_mistakes
from verify.checks._probes import (
    Computed,
    DirectionalChecker,
    Memo,
    checker_failure,
    draw_tangents,
    indent,
    judge,
    judged_probe,
    mistake_lines,
    output_at_point,
    point_rng,
    references_text,
    report_text,
    run_check,
    tangent_scale,
    unit,
    validate_point,
    worst_ratio_of,
)
from verify.checks.failure import CheckFailure, format_arguments
from verify.checks.gradient import JudgeSummary

__all__ = ["check_hessian", "HessianReport"]

_EPS = {np.dtype(np.float32): float(np.finfo(np.float32).eps), np.dtype(np.float64): float(np.finfo(np.float64).eps)}
_CS_STEP = 1e-20


@dataclass(frozen=True, kw_only=True)
class HessianReport(JudgeSummary):
    """What ``check_hessian`` verified.

    ``directions`` drawn-direction checks and ``columns`` unit-vector checks (the whole Hessian), each a
    ``check_gradient`` of a directional derivative, whose judge's summary (:class:`~verify.checks.gradient.JudgeSummary`)
    is summed over them — its ``kinks`` are kinks of the gradient (any value between the one-sided limits accepted
    there; also read as ``gradient_kinks``); ``directional`` how often each method computed those directional
    derivatives; ``symmetry_pairs`` pairs tested for ``⟨w, Hv⟩ = ⟨v, Hw⟩`` and ``worst_symmetry`` the largest
    asymmetry / its tolerance; the ``dtype`` judged, the ``seed`` of the directions and the ``seconds`` taken.
    """

    examples: int
    directions: int
    columns: int
    symmetry_pairs: int
    worst_symmetry: float
    directional: dict[str, int]
    dtype: str
    seed: int
    seconds: float

    @property
    def gradient_kinks(self) -> int:
        """Entries where the judge met a kink of the gradient (the judge's ``kinks``)."""
        return self.kinks

    def __str__(self) -> str:
        return report_text(
            f"check_hessian: {self.examples} example(s) passed in {self.seconds:.3g} s ({self.dtype}): "
            f"{self.directions} drawn direction(s), {self.columns} Hessian column(s), {self.symmetry_pairs} "
            f"symmetry pair(s), seed {self.seed}",
            [f"worst error: {self.worst_ratio:.3g} of the tolerance, {self.worst_ulps:.3g} ULPs; worst asymmetry "
             f"{self.worst_symmetry:.3g} of its tolerance",
             f"directional derivatives by: {references_text(self.directional)}; H·v decided by: "
             f"{references_text(self.references)}",
             f"kinks of the gradient met: {self.kinks}"],
            self.unverified, self.notes)


class _Directional:
    """``a ↦ ∇f(a)·v`` from ``f`` alone (module docstring), with the method chosen and the error estimated at
    the point ``x``. Real input only: its own derivative is taken by central differences."""

    def __init__(self, memo: Memo, x: np.ndarray, v: np.ndarray, eps_f: float, complex_ok: bool,
                 f_error: float = 0.0) -> None:
        self.memo = memo
        self.f_error = f_error
        self.v = v.astype(np.float64)
        with np.errstate(divide="ignore"):
            c = float(np.min(np.where(self.v != 0, tangent_scale(x) / np.abs(self.v), np.inf)))
        self.c = c if np.isfinite(c) else 1.0
        self.eps_f = eps_f
        self.h = eps_f ** 0.2 * self.c
        x64 = x.astype(np.float64)
        central, self.error = self._central(x64[None], with_error=True)
        self.method, self.note = "central differences", ""
        if complex_ok:
            cs = self._complex(x64[None])
            if cs is not None:
                agrees = abs(cs[0] - central[0]) <= 4.0 * self.error + 64.0 * _EPS[np.dtype(np.float64)] * abs(central[0])
                if agrees:
                    self.method, self.error = "complex step", 4.0 * _EPS[np.dtype(np.float64)] * abs(float(cs[0]))
                else:
                    self.note = (f"complex step rejected for a directional derivative: {float(cs[0])!r} where central "
                                 f"differences give {float(central[0])!r} ± {self.error:.2g} (f is not analytic there)")

    def _complex(self, points: np.ndarray) -> np.ndarray | None:
        step = _CS_STEP * self.c
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", np.exceptions.ComplexWarning)
                warnings.simplefilter("ignore", RuntimeWarning)
                ys = self.memo.many(points + 1j * step * self.v[None])
        except Exception:  # noqa: BLE001 - f does not take complex input
            return None
        if ys.dtype.kind != "c":
            return None
        return ys.imag.astype(np.float64) / step

    def _central(self, points: np.ndarray, with_error: bool = False) -> tuple[np.ndarray, float]:
        k = points.shape[0]
        hs = self.h / np.array([1.0, 2.0, 4.0])
        offsets = np.array([s * h for h in hs for s in (1.0, -1.0)])  # (6,): +h, −h, +h/2, −h/2, +h/4, −h/4
        stack = points.reshape(k, 1, -1) + offsets[None, :, None] * self.v.reshape(1, 1, -1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ys = self.memo.many(stack.reshape((k * 6,) + points.shape[1:])).astype(np.float64).reshape(k, 3, 2)
        d = (ys[:, :, 0] - ys[:, :, 1]) / (2.0 * hs[None, :])
        r_coarse = (4.0 * d[:, 1] - d[:, 0]) / 3.0
        r_fine = (4.0 * d[:, 2] - d[:, 1]) / 3.0
        if not with_error:
            return r_fine, 0.0
        f0 = float(self.memo.one(points[0]))
        eta = 8.0 * self.eps_f * max(abs(f0), float(np.max(np.abs(ys[0]))))
        measured = abs(d[0, 0] - 5.0 * d[0, 1] + 4.0 * d[0, 2]) * self.h / 27.0
        error = abs(r_coarse[0] - r_fine[0]) + 6.0 * max(eta, measured, self.f_error) / self.h
        return r_fine, float(error)

    def __call__(self, *a: Any) -> Any:
        value = np.asarray(a[self.memo.wrt])
        if value.dtype.kind == "c":
            raise TypeError("a directional derivative computed from f takes real input only")
        single = value.shape == self.v.shape
        points = value.astype(np.float64)[None] if single else value.astype(np.float64)
        if self.method == "complex step":
            out = self._complex(points)
            if out is None:
                raise TypeError("f stopped accepting complex input")
        else:
            out, _ = self._central(points)
        return float(out[0]) if single else out


@dataclass
class _HessianChecker(DirectionalChecker):
    drawn: int = 0
    columns: int = 0
    pairs: int = 0
    worst_symmetry: float = 0.0
    directional: dict[str, int] = field(default_factory=lambda: {"complex step": 0, "central differences": 0})
    complex_ok: bool = True

    def _computed(self, v: np.ndarray, args: tuple, x: np.ndarray) -> Computed:
        return Computed(self.rule, "hvp(v, *args)", v, args, self.wrt, x.shape, "check_hessian", f"args[{self.wrt}]")

    def _directional(self, memo: Memo, x: np.ndarray, v: np.ndarray, eps_f: float) -> _Directional:
        d = _Directional(memo, x, v, eps_f, self.complex_ok)
        if d.method == "central differences" and self.complex_ok:
            self.complex_ok = False  # f takes no complex input, or is not analytic: do not try again
            if d.note:
                self.tally.notes.append(d.note + "; central differences compute the directional derivatives from here on")
        return d

    def check_point(self, point: Sequence, diagnose: bool) -> float:
        __tracebackhide__ = True
        args, x = validate_point(point, self.wrt, "check_hessian")
        output_at_point(self.f, args, checker="check_hessian", scalar=True)
        memo = Memo(self.f, args, self.wrt, ())
        x64 = x.astype(np.float64)
        f64 = np.asarray(self.f(*(args[: self.wrt] + (x64,) + args[self.wrt + 1:])))
        eps_f = _EPS.get(f64.dtype, _EPS[np.dtype(np.float64)])
        rng = point_rng(self.seed, x)
        vs = draw_tangents(rng, x, self.directions)
        units = [unit(x.shape, x.dtype, j) for j in range(x.size)] if x.size <= self.jacobian_max else []
        reports, probes, failures = [], [], []
        methods: list[str] = []
        drawn_directionals: list[_Directional] = []
        for i, v in enumerate([*vs, *units]):
            comp = self._computed(v, args, x)
            at_point = comp(x)
            d = self._directional(memo, x, v, eps_f)
            methods.append(d.method)
            if i < len(vs):
                drawn_directionals.append(d)
            report, failure = judge(d, comp.as_grad(), args, self.wrt, self.options, f_error=max(d.error, 1e-300),
                                    noise=comp.noise(x))
            label = f"direction #{i + 1} of {len(vs)} drawn" if i < len(vs) else \
                f"the unit vector at index {tuple(int(k) for k in np.unravel_index(i - len(vs), x.shape))} (a column)"
            if failure is None:
                reports.append(report)
            else:
                failures.append((label, v, d, failure))
            if i < len(vs):
                probes.append(judged_probe(comp, x, at_point, failure))
            elif failures:
                break
        if failures:
            raise self._failure(args, x, memo, eps_f, failures, probes, diagnose, point)
        symmetry = self._symmetry(args, x, vs, drawn_directionals, rng, point)
        for method in methods:
            self.directional[method] += 1
        self.drawn += len(vs)
        self.columns += len(units)
        self.pairs += max(len(vs) - 1, 0)
        self.worst_symmetry = max(self.worst_symmetry, symmetry)
        return max(self.passed(reports, x), symmetry)

    def _symmetry(self, args: tuple, x: np.ndarray, vs: list[np.ndarray], directionals: list[_Directional],
                  rng: np.random.Generator, point) -> float:
        """The worst ``|⟨w, Hv⟩ − ⟨v, Hw⟩| / tolerance`` over consecutive drawn pairs (module docstring)."""
        if len(vs) < 2:
            return 0.0

        def resolution(d: _Directional, w: np.ndarray) -> float:
            """The error estimate of the mixed partial ``∂_w d_v`` by central differences of ``d_v`` along ``w``."""
            nested = _Directional(Memo(d, args, self.wrt, ()), x, w, _EPS[np.dtype(np.float64)], False, d.error)
            return nested.error

        eps64 = _EPS[np.dtype(np.float64)]
        n = x.size

        def hvp(v: np.ndarray) -> np.ndarray:
            return np.asarray(self._computed(v, args, x)(x), dtype=np.float64)

        products = [hvp(v) for v in vs]
        defects = []
        for v, hv in zip(vs, products, strict=True):
            worst = np.zeros(v.shape)
            for _ in range(2):
                part = (v * rng.uniform(0.5, 0.9, v.shape)).astype(v.dtype)
                defect = np.abs(hvp(part) + hvp((v - part).astype(v.dtype)) - hv)
                worst = np.maximum(worst, np.where(np.isfinite(defect), defect, 0.0))
            defects.append(worst)
        worst_ratio = 0.0
        dtype = x.dtype
        for i in range(len(vs) - 1):
            v, w = vs[i].astype(np.float64), vs[i + 1].astype(np.float64)
            hv, hw = products[i], products[i + 1]
            a, b = float(np.sum(w * hv)), float(np.sum(v * hw))
            if not (np.isfinite(a) and np.isfinite(b)):
                continue
            ulp_hv = np.spacing(np.abs(hv).astype(dtype)).astype(np.float64)
            ulp_hw = np.spacing(np.abs(hw).astype(dtype)).astype(np.float64)
            tol = (2.0 * (resolution(directionals[i], vs[i + 1]) + resolution(directionals[i + 1], vs[i]))
                   + 4.0 * (float(np.sum(np.abs(w) * defects[i])) + float(np.sum(np.abs(v) * defects[i + 1])))
                   + self.options.ulps * float(np.sum(np.abs(w) * ulp_hv) + np.sum(np.abs(v) * ulp_hw))
                   + 2.0 * n * eps64 * float(np.sum(np.abs(w * hv)) + np.sum(np.abs(v * hw))))
            gap = abs(a - b)
            ratio = 0.0 if gap == 0.0 else gap / tol
            if ratio > 1.0:
                raise CheckFailure(
                    "\n".join([
                        f"check_hessian: hvp is not symmetric: ⟨w, hvp(v)⟩ = {a!r} but ⟨v, hvp(w)⟩ = {b!r} for the "
                        f"drawn directions #{i + 1} (v) and #{i + 2} (w); they differ by {gap:.3g}, {ratio:.3g} × "
                        f"what is allowed ({tol:.3g}: the resolution of the mixed partials ∂_w(∇f·v), ∂_v(∇f·w) by "
                        f"differences, and the measured rounding of hvp, of its {dtype} output and of the dot "
                        "products). A Hessian is symmetric, so hvp(v) must be too.",
                        "directions:",
                        format_arguments((vs[i], vs[i + 1]), names=("v", "w")),
                        "failing input:",
                        format_arguments(args),
                    ]),
                    details={"checker": "check_hessian", "symmetry": (a, b), "ratio": np.array([ratio]),
                             "tolerance": tol, "args": args, "point": tuple(point),
                             "direction": (vs[i], vs[i + 1]), "mistakes": []},
                )
            worst_ratio = max(worst_ratio, ratio)
        return worst_ratio

    def _failure(self, args, x, memo, eps_f, failures, probes, diagnose, point) -> CheckFailure:
        label, v, d, worst = max(failures, key=lambda item: worst_ratio_of(item[3]))
        named: list[str] = []
        if diagnose:
            def accepts(direction: np.ndarray, candidate: Callable[[np.ndarray], np.ndarray],
                        noise: np.ndarray | None) -> bool:
                dd = _Directional(memo, x, direction, eps_f, self.complex_ok)
                return judge(dd, lambda *a: candidate(np.asarray(a[self.wrt])), args, self.wrt, self.options,
                             f_error=max(dd.error, 1e-300), noise=None if noise is None else (lambda: noise))[1] is None

            def probe(v_: np.ndarray, f: CheckFailure) -> Probe:
                return judged_probe(self._computed(v_, args, x), x, f.details.get("computed"), f)

            use = probes if any(p.failed for p in probes) else [probe(v_, f) for _, v_, _, f in failures]
            named = name_mistakes(use, accepts, derivative="hvp(v)", kind="HVP", direction="direction",
                                  incoming="the direction v", sizes=x.shape)
        lines = [
            f"check_hessian: hvp(v, *args) is wrong for {len(failures)} direction(s) at this point; the worst is "
            f"{label}, at {worst_ratio_of(worst):.3g} × the tolerance.",
            *(mistake_lines(named, "ignored direction, flipped sign, constant factor, transpose") if diagnose else []),
            f"direction v (shaped like args[{self.wrt}] {x.shape}, {x.dtype}):",
            format_arguments((v,), names=("v",)),
            f"how it was judged: hvp(v, *args) against the gradient w.r.t. args[{self.wrt}] of the directional "
            f"derivative ∇f·v (computed from f by the {d.method}, error {d.error:.3g} carried); check_gradient said:",
            indent(str(worst)),
        ]
        return checker_failure(lines, "check_hessian", worst, v, named, point, directional=d.method)

    def report(self, seconds: float) -> HessianReport:
        return HessianReport(
            examples=self.examples, directions=self.drawn, columns=self.columns, symmetry_pairs=self.pairs,
            worst_symmetry=self.worst_symmetry, directional=dict(self.directional), dtype=self.dtype, seed=self.seed,
            seconds=seconds, **self.tally.summary(),
        )


def check_hessian(
    f: Callable[..., float],
    hvp: Callable[..., np.ndarray],
    inputs: object,
    *,
    wrt: int = 0,
    directions: int = 3,
    seed: int = 0,
    jacobian_max: int = 16,
    ulps: float = 32.0,
    atol: float = 0.0,
    max_examples: int | None = None,
    worst: int = 10,
) -> HessianReport:
    """Check that ``hvp(v, *args) = ∇²f · v`` (w.r.t. ``args[wrt]``) for directions drawn at random, and that
    it is symmetric.

    Args:
      f: ``f(*args) -> float`` (a scalar; float32 or float64).
      hvp: ``hvp(v, *args) -> array`` shaped like ``args[wrt]``: the Hessian-vector product under test,
        ``v`` shaped like ``args[wrt]`` (its dtype). Judged in ``args[wrt]``'s dtype.
      inputs: one point (a tuple of arguments) or a Hypothesis strategy of such tuples.
      wrt: index of the argument differentiated (twice).
      directions: directions drawn per point (never all ones; consecutive pairs tested for symmetry).
      seed: with the point's bytes, seeds the directions.
      jacobian_max: also check every column of the Hessian (``hvp`` of each unit vector) when ``args[wrt]``
        has at most this many entries; 0 never does.
      ulps, atol, worst: passed to ``check_gradient`` (and ``ulps`` to the symmetry test).
      max_examples: for a strategy, overrides the active Hypothesis profile's ``max_examples``.

    Returns:
      A :class:`HessianReport`.

    Raises:
      CheckFailure: ``hvp`` is wrong or not symmetric; the message names the direction, the failing input,
        the worst entries (index in ``args[wrt]``) and the likely mistake.
      TypeError / ValueError: bad input (``f`` not scalar, ``hvp`` of another shape, ``f`` not finite or not
        deterministic at the point).

    Example — ``f(x) = Σ log(1 + eˣ)``, whose Hessian is ``diag(σ(x)(1 − σ(x)))``:

    >>> import numpy as np, verify
    >>> f = lambda x: np.sum(np.log1p(np.exp(x)), axis=-1)
    >>> def hvp(v, x):
    ...     s = 1.0 / (1.0 + np.exp(-x))
    ...     return s * (1.0 - s) * v
    >>> verify.check_hessian(f, hvp, (np.array([-2.0, 0.5, 3.0]),)).columns
    3
    """
    __tracebackhide__ = True
    return run_check(_HessianChecker, "check_hessian", f, hvp, "hvp", inputs, wrt=wrt, directions=directions, seed=seed,
                     jacobian_max=jacobian_max, ulps=ulps, atol=atol, max_examples=max_examples, worst=worst)
