"""Step-size conditions of gradient descent (named claim 2, deterministic parts).

Sources: *CS3485 Deep Learning for Computer Vision*, Lecture 4 (001_02deb113427fab16.txt), slides
"Gradient Descent in 1D" and "Exercise (In pairs)"; Drori & Teboulle (2014) for the tight bound.

- ``step_size.gd_quadratic``: GD on an L-smooth quadratic converges iff ``0 < eta < 2/L``: it converges
  just below, diverges just above and cycles at equality (exact rationals in 1-D, float64 in D-D);
- ``step_size.exercise_x2``: the lecture's exercise, ``f(x) = x^2`` with ``eta in {0.01, 0.1, 1, 100, 1000}``;
- ``step_size.descent_lemma``: ``f(y) <= f(x) + grad f(x)^T (y - x) + L/2 ||y - x||^2``;
- ``step_size.drori_teboulle``: ``f(x_N) - f* <= L ||x_0 - x*||^2 / (4 N L eta + 2)`` for ``0 < eta <= 1/L``,
  never exceeded, attained on the Huber-type worst case, exceeded past its conditions;
- ``step_size.first_step_as_written``: the lecture's "finds x_1 such that f(x_1) is lower than f(x_2)".

The GD step is injectable (``step=``) so the tests can break it and see the verdict change.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from verify.claims._common import (
    SEED_001,
    SEED_002,
    cite,
    hypothesis_search,
    label_axes,
    new_figure,
    new_panel,
    rng_for,
)
from verify.claims.registry import Context, Correction, Outcome, Pair, claim

__all__ = [
    "gd_step",
    "classify_run",
    "check_gd_quadratic",
    "check_exercise_x2",
    "check_descent_lemma",
    "check_drori_teboulle",
    "check_first_step_as_written",
    "huber_worst_case",
    "EXERCISE_STEPS",
]

Step = Callable[[Any, Any, Any], Any]

#: The learning rates of the lecture's exercise (*CS3485*, Lecture 4, slide "Exercise (In pairs)").
EXERCISE_STEPS = (Fraction(1, 100), Fraction(1, 10), Fraction(1), Fraction(100), Fraction(1000))


def gd_step(x: Any, grad: Any, eta: Any) -> Any:
    r"""One gradient-descent step $x_{t+1} = x_t - \eta \nabla f(x_t)$ (*CS3485*, Lecture 4, "Gradient Descent in 1D")."""
    return x - eta * grad


def classify_run(norms: list[Any] | np.ndarray, *, small: float = 1e-6, large: float = 1e6) -> str:
    """``converges`` / ``diverges`` / ``cycles`` / ``undecided`` from ``|x_t - x*|`` along a run.

    Works on floats and on exact rationals (compared exactly, never converted to float).
    """
    first, last = norms[0], norms[-1]
    if first == 0:
        return "converges"
    if isinstance(last, float) and not math.isfinite(last):
        return "diverges"
    if last < first * Fraction(small) if isinstance(first, Fraction) else last < first * small:
        return "converges"
    if last > first * Fraction(large) if isinstance(first, Fraction) else last > first * large:
        return "diverges"
    tail = norms[len(norms) // 2:]
    if isinstance(first, Fraction) and all(v == first for v in tail):
        return "cycles"
    if not isinstance(first, Fraction):
        t = [float(v) / float(first) for v in tail]
        if max(t) - min(t) <= 1e-12 * max(1.0, max(t)) and min(t) > small:
            return "cycles"
    return "undecided"


def _monotone_label(norms: list[Fraction]) -> str:
    pairs = list(zip(norms, norms[1:], strict=False))
    if all(b < a for a, b in pairs):
        return "converges"
    if all(b == a for a, b in pairs):
        return "cycles"
    if all(b > a for a, b in pairs):
        return "diverges"
    return "undecided"


def _predicted(h: Fraction | float) -> str:
    """The theory for a step ``eta = h / L`` on the top eigen-direction: |1 - h| < 1, = 1 or > 1."""
    r = abs(1 - h)
    if h == 2:
        return "cycles"
    return "converges" if r < 1 else ("diverges" if r > 1 else "undecided")


def _run_1d_exact(L: Fraction, h: Fraction, steps: int, step: Step) -> list[Fraction]:
    eta = h / L
    x = Fraction(1)
    norms = [abs(x)]
    for _ in range(steps):
        x = step(x, L * x, eta)
        norms.append(abs(x))
    return norms


def _spd(rng: np.random.Generator, d: int, L: float) -> tuple[np.ndarray, np.ndarray]:
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    lam = np.sort(rng.uniform(0.05, 1.0, size=d) * L)
    lam[-1] = L
    return (q * lam) @ q.T, lam


def gd_quadratic_figure(outcome: Outcome):
    fig, axes = new_figure(2, 1, width=10)
    data = outcome.data or {}
    ax = axes[0, 0]
    for key, curve in (data.get("curves") or {}).items():
        c = np.asarray(curve, dtype=float)
        c[c == 0] = np.nan
        ax.semilogy(c, label=rf"$\eta L$ = {float(Fraction(key)):.3g}")
    label_axes(ax, "iteration t", r"$|x_t - x^*|$ (log scale)", r"GD on $f = Lx^2/2$ across step sizes", ncol=2)
    ax = axes[0, 1]
    h = np.linspace(0.01, 3, 300)
    ax.plot(h, np.abs(1 - h), label=r"contraction factor $|1-\eta L|$")
    ax.axvline(2, color="r", ls="--", label=r"$\eta = 2/L$")
    ax.axhline(1, color="grey", lw=0.6)
    ax.set_ylim(0, 2.05)
    label_axes(ax, r"$\eta L$ (step size in units of $1/L$)", "factor per iteration",
               "converges iff factor < 1", fontsize=8)
    return fig


@claim(id="step_size.gd_quadratic", kind="empirical", title="GD step-size condition on quadratics",
       statement=r"GD $x_{t+1} = x_t - \eta\nabla f(x_t)$ on an $L$-smooth quadratic converges iff $0<\eta<2/L$ "
                 r"(converges below, cycles at $\eta = 2/L$, diverges above)",
       source=cite(SEED_001, "Gradient Descent in 1D", 'with "How about more dimensions?" and '
                   "Nesterov, Introductory Lectures on Convex Optimization (2004), §1.2.3"),
       figure=gd_quadratic_figure)
def check_gd_quadratic(ctx: Context, *, step: Step = gd_step) -> Outcome:
    """Below, at and above ``2/L``: exact 1-D runs and float64 D-D runs, each compared with the theory."""
    steps = 1000
    # just below / at / just above 2/L: |1 - h|^1000 = 0.98^1000 ~ 2e-9 and 1.02^1000 ~ 4e8
    factors = [Fraction(1, 2), Fraction(1), Fraction(19, 10), Fraction(49, 25), Fraction(2),
               Fraction(51, 25), Fraction(21, 10), Fraction(3)]
    L = Fraction(4)
    rows: list[dict[str, Any]] = []
    curves: dict[str, list[float]] = {}
    mismatch = None
    for h in factors:
        norms = _run_1d_exact(L, h, steps, step)
        got, want = classify_run(norms), _predicted(h)
        rows.append({"problem": "1-D, exact rationals", "ηL": str(h), "observed": got, "theory": want})
        curves[str(h)] = [float(v) for v in norms[:200]]
        if got != want and mismatch is None:
            mismatch = {"problem": "f(x) = L x²/2, L = 4, x₀ = 1 (exact rationals)", "η": str(h / L),
                        "ηL": str(h), "observed": got, "theory": want, "|x_T|": float(norms[-1])}
    rng = rng_for(ctx, "step_size.gd_quadratic")
    for trial in range(2 if ctx.quick else 4):
        d = int(rng.integers(2, 7))
        Lf = float(rng.uniform(0.5, 10.0))
        A, lam = _spd(rng, d, Lf)
        x0 = rng.normal(size=d)
        for h in (0.5, 1.9, 1.98, 2.02, 2.1):
            eta = h / Lf
            x = x0.copy()
            with np.errstate(over="ignore", invalid="ignore"):
                norms = [float(np.linalg.norm(x))]
                for _ in range(steps):
                    x = step(x, A @ x, eta)
                    norms.append(float(np.linalg.norm(x)))
            got, want = classify_run(norms), _predicted(h)
            rows.append({"problem": f"random quadratic in {d} dimensions (#{trial + 1}), float64", "ηL": h,
                         "observed": got, "theory": want})
            if got != want and mismatch is None:
                mismatch = {"problem": f"f = xᵀAx/2, eigenvalues {lam.tolist()}", "L": Lf, "η": eta,
                            "ηL": h, "observed": got, "theory": want, "x₀": x0.tolist()}
    cycling = [r["ηL"] for r in rows if r["problem"].startswith("1-D") and r["observed"] == "cycles"]
    pair = Pair("step size ηL at which GD on L x²/2 neither converges nor diverges (it cycles)",
                cycling[0] if len(cycling) == 1 else (cycling or None), 2, "=",
                note="exact rationals, 1000 iterations; 1.96 converges, 2.04 diverges")
    evidence = {"iterations": steps, "runs": rows}
    data = {"curves": curves, "rows": rows}
    if mismatch is not None:
        return Outcome("refuted", evidence, counterexample=mismatch, data=data, pair=pair)
    return Outcome("holds", evidence, data=data, pair=pair)


def exercise_figure(outcome: Outcome):
    """Two panels, because the runs span 130 orders of magnitude: the runs that stay bounded (left, the
    slow, the fast and the cycling one) and the two that diverge (right)."""
    fig, axes = new_figure(2, 1, width=10)
    traces = {Fraction(k): np.asarray(v, dtype=float) for k, v in (outcome.data or {}).items()}
    bounded = {eta: t for eta, t in traces.items() if abs(1 - 2 * eta) <= 1}
    diverging = {eta: t for eta, t in traces.items() if abs(1 - 2 * eta) > 1}
    ax = axes[0, 0]
    for eta, t in bounded.items():
        ax.semilogy(t, marker="o", ms=3, label=rf"$\eta$ = {float(eta):g}: factor $|1-2\eta|^2$ = {float((1 - 2 * eta) ** 2):g}")
    if bounded:
        values = np.concatenate(list(bounded.values()))
        ax.set_ylim(values[values > 0].min() / 3, values.max() * 3)
    label_axes(ax, "iteration t", r"$f(x_t) = x_t^2$ (log scale)", r"$\eta \leq 2/L = 1$: slow, fast, or cycling")
    ax = axes[0, 1]
    for eta, t in diverging.items():
        finite = np.isfinite(t) & (t > 0)
        ax.plot(np.nonzero(finite)[0], np.log10(t[finite]), marker="o", ms=3, label=rf"$\eta$ = {float(eta):g}")
    label_axes(ax, "iteration t", r"$\log_{10} f(x_t)$", r"$\eta > 2/L$: diverges")
    return fig


@claim(id="step_size.exercise_x2", kind="empirical", title="The learning-rate exercise on f(x) = x²",
       statement=r"GD on $f(x)=x^2$ with $\eta \in \{0.01, 0.1, 1, 100, 1000\}$: each run converges, cycles or "
                 r"diverges as $|1 - 2\eta| <, =, > 1$ predicts (very small $\eta$: slow; very large: divergence)",
       source=cite(SEED_001, "Exercise (In pairs)"),
       figure=exercise_figure)
def check_exercise_x2(ctx: Context, *, step: Step = gd_step, iterations: int = 20) -> Outcome:
    """The exercise: GD on ``f(x) = x^2`` (``df = 2x``) from ``x0 = 1``, each ``eta``, exact rationals."""
    rows = []
    traces: dict[str, list[float]] = {}
    mismatch = None
    worst_factor_error = 0.0
    for eta in EXERCISE_STEPS:
        x = Fraction(1)
        xs = [x]
        for _ in range(iterations):
            x = step(x, 2 * x, eta)
            xs.append(x)
        values = [v * v for v in xs]
        norms = [abs(x) for x in xs]
        got = _monotone_label(norms)
        want = _predicted(eta * 2)  # L = 2
        fx = float(values[-1]) if values[-1] < 10**300 else math.inf
        # the exact factor per step, from the exact iterates: |x_20 / x_0|^(1/20)
        factor = float(Fraction(abs(xs[-1]) / abs(xs[0]))) ** (1 / iterations) if abs(xs[-1]) < 10**300 \
            else math.inf
        theory = float(abs(1 - 2 * eta))
        worst_factor_error = max(worst_factor_error, abs(factor - theory) / max(theory, 1.0))
        rows.append({"η": str(eta), "f(x₁)": float(values[1]), "f(x₂₀)": fx, "observed": got, "theory": want,
                     "factor per step (measured)": factor, "factor per step |1 − 2η| (theory)": theory})
        traces[str(eta)] = [float(v) if v < 10**300 else math.inf for v in values]
        if got != want and mismatch is None:
            mismatch = {"η": str(eta), "observed": got, "theory": want, "f(x₂₀)": fx}
    evidence = {"x₀": 1, "iterations": iterations, "L": 2, "2/L": 1, "arithmetic": "exact rationals",
                "outcomes": rows}
    pair = Pair("largest relative error of the measured factor per step against |1 − 2η|, over the five η",
                worst_factor_error, 0.0, "=", note="exact iterates, the 20th root taken in float64")
    if mismatch is not None:
        return Outcome("refuted", evidence, counterexample=mismatch, data=traces, pair=pair)
    return Outcome("holds", evidence, data=traces, pair=pair)


def _logistic_problem(rng: np.random.Generator, n: int, d: int):
    X = rng.normal(size=(n, d))
    y = rng.integers(0, 2, size=n).astype(float)

    def f(w: np.ndarray) -> float:
        z = X @ w
        return float(np.mean(np.logaddexp(0.0, z) - y * z))

    def g(w: np.ndarray) -> np.ndarray:
        z = X @ w
        return X.T @ (1.0 / (1.0 + np.exp(-z)) - y) / n

    L = float(np.linalg.norm(X, 2) ** 2 / (4 * n))  # sigma'' <= 1/4
    return f, g, L


@claim(id="step_size.descent_lemma", kind="inequality", title="The descent lemma",
       statement=r"$\Phi(\theta') \le \Phi(\theta) + \nabla\Phi(\theta)^\top(\theta'-\theta) + "
                 r"\tfrac{L}{2}\|\theta'-\theta\|_2^2$ when $\nabla\Phi$ is $L$-Lipschitz",
       source=cite(SEED_002, "Stochastic Gradient Convergence", "the first line of the bound, 'by Lipschitz continuity'"))
def check_descent_lemma(ctx: Context, *, smoothness_factor: float = 1.0) -> Outcome:
    """The descent lemma on drawn quadratics and logistic losses; with ``L`` shrunk it must fail."""
    from hypothesis import strategies as st

    rng = rng_for(ctx, "step_size.descent_lemma")
    problems = []
    for i in range(3):
        d = 3 + i
        A, lam = _spd(rng, d, float(rng.uniform(0.5, 5)))
        problems.append(("quadratic", lambda w, A=A: 0.5 * float(w @ A @ w), lambda w, A=A: A @ w, float(lam[-1]), d))
    for i in range(2):
        f, g, L = _logistic_problem(rng, 40, 3 + i)
        problems.append(("logistic", f, g, L, 3 + i))
    worst = [-math.inf]

    def violation_for(shrink: float):
        def violation(args: tuple[int, list[float], list[float]]) -> dict[str, Any] | None:
            k, a, b = args
            name, f, g, L, dim = problems[k % len(problems)]
            x, y = np.asarray(a[:dim]), np.asarray(b[:dim])
            Lc = shrink * L
            rhs = f(x) + float(g(x) @ (y - x)) + 0.5 * Lc * float((y - x) @ (y - x))
            lhs = f(y)
            # float64 rounding of both sides: a few eps times the magnitudes summed
            scale = abs(lhs) + abs(f(x)) + abs(float(g(x) @ (y - x))) + Lc * float((y - x) @ (y - x))
            tol = 16 * 2.2e-16 * scale
            worst[0] = max(worst[0], (lhs - rhs) / (scale + 1e-300))
            if lhs > rhs + tol:
                return {"problem": name, "L used": Lc, "x": x.tolist(), "y": y.tolist(), "f(y)": lhs, "bound": rhs}
            return None

        return violation

    vec = st.lists(st.floats(-5, 5), min_size=6, max_size=6)
    strategy = st.tuples(st.integers(0, len(problems) - 1), vec, vec)
    n = 60 if ctx.quick else 200
    tried, counter = hypothesis_search(strategy, violation_for(smoothness_factor), seed=ctx.seed, max_examples=n)
    # Past the condition: L shrunk by 1%, along the top eigenvector of a quadratic (where it is tight).
    name, f, g, L, dim = problems[0]
    A = np.column_stack([g(e) for e in np.eye(dim)])
    lam, vecs = np.linalg.eigh(A)
    x = np.zeros(dim)
    y = vecs[:, -1]
    shrunk = 0.99 * L
    past = {"problem": "quadratic, y − x along its top eigenvector", "true L": L, "L used": shrunk, "f(y)": f(y),
            "bound": f(x) + float(g(x) @ (y - x)) + 0.5 * shrunk}
    past_violated = past["f(y)"] > past["bound"]
    evidence = {"points (x, y) searched": tried, "problems": "3 random quadratics, 2 logistic regressions",
                "L used / true L": smoothness_factor, "past the condition (L shrunk by 1%)": past,
                "violated past the condition": bool(past_violated)}
    pair = Pair("largest (f(y) − bound) / (sum of the magnitudes) over the searched points", worst[0], 0.0, "<=",
                note="0 up to float64 rounding (16 ε)")
    return Outcome.from_findings(evidence, pair=pair, counterexample=counter, decided=bool(past_violated),
                                 why="the bound with L shrunk by 1% was not violated")


def huber_worst_case(L: Fraction, R: Fraction, N: int, h: Fraction):
    """Drori & Teboulle's worst case for GD with ``eta = h/L``: a 1-D Huber function with kink at
    ``tau = R / (2 N h + 1)``; returns ``(f, df)`` on exact rationals (f* = 0 at 0)."""
    tau = R / (2 * N * h + 1)

    def f(x: Fraction) -> Fraction:
        if abs(x) >= tau:
            return L * tau * abs(x) - L * tau * tau / 2
        return L * x * x / 2

    def df(x: Fraction) -> Fraction:
        if abs(x) >= tau:
            return L * tau * (1 if x > 0 else -1)
        return L * x

    return f, df


def _dt_bound(L: Any, R2: Any, N: int, eta: Any) -> Any:
    return L * R2 / (4 * N * L * eta + 2)


def drori_figure(outcome: Outcome):
    """The bound and the worst case over ηL in (0, 2): tight (the Huber case attains it) up to ηL = 1, and
    crossed by the quadratic past the theorem's range; the y-axis spans the values plotted, no more."""
    fig, ax = new_panel(width=8.5, height=4.0)
    d = outcome.data or {}
    if "hs" in d:
        hs, bound, quad = d["hs"], d["dt"], d["quad"]
        ax.semilogy(hs, bound, color="C0", label=r"bound $LR^2/(4NL\eta+2)$, $N = 10$")
        # below the axis (near eta L = 1 it is exactly 0): not drawn, so the line breaks there
        ax.semilogy(hs, np.where(quad > bound.min() / 30, quad, np.nan), color="C1",
                    label=r"$f = Lx^2/2$: $(1-\eta L)^{2N} L R^2/2$")
        huber = d.get("huber") or []
        if huber:
            ax.semilogy([p[0] for p in huber], [p[1] for p in huber], "k^", ms=6,
                        label="Huber worst case (exact): equals the bound")
        ax.axvspan(hs.min(), 1.0, color="C2", alpha=0.08, label=r"theorem's range $\eta L \leq 1$")
        if d.get("crossing") is not None:
            ax.axvline(d["crossing"], color="C3", ls="--", label=rf"crossing at $\eta L \approx {d['crossing']:.3f}$")
        ax.set_ylim(bound.min() / 30, max(bound.max(), 0.5) * 2)
        ax.set_xlim(0, 2)
    label_axes(ax, r"$\eta L$", r"$f(x_N) - f^*$ in units of $L R^2$",
               r"Drori-Teboulle: attained up to $\eta = 1/L$, exceeded past it")
    return fig


@claim(id="step_size.drori_teboulle", kind="inequality", title="Tight worst-case bound of gradient descent",
       statement=r"For convex $L$-smooth $f$ and $0<\eta\le 1/L$: $f(x_N)-f^* \le \frac{L\|x_0-x^*\|^2}{4NL\eta+2}$, "
                 r"attained by a Huber function",
       source="Drori & Teboulle, 'Performance of first-order methods for smooth convex minimization: a novel "
              "approach', Math. Program. 145 (2014), Thm 3.1; the step-size discussion of " +
              cite(SEED_001, "Exercise (In pairs)"),
       figure=drori_figure)
def check_drori_teboulle(ctx: Context, *, step: Step = gd_step) -> Outcome:
    """Never exceeded on drawn convex L-smooth functions, attained exactly on the Huber case, and
    exceeded by ``f = L x^2/2`` for ``eta L`` past the crossing where ``(1 - h)^{2N}/2 > 1/(4Nh + 2)``."""
    rng = rng_for(ctx, "step_size.drori_teboulle")
    N = 10
    worst_ratio = 0.0
    violation = None
    runs = 0
    for trial in range(10 if ctx.quick else 40):
        kind = trial % 3
        h = float(rng.uniform(0.05, 1.0)) if trial % 4 else 1.0
        if kind == 0:
            A, lam = _spd(rng, int(rng.integers(2, 6)), float(rng.uniform(0.5, 5)))
            L = float(lam[-1])
            f = lambda w, A=A: 0.5 * float(w @ A @ w)
            g = lambda w, A=A: A @ w
            fstar, xstar = 0.0, np.zeros(A.shape[0])
            x0 = rng.normal(size=A.shape[0]) * 3
        elif kind == 1:
            L = float(rng.uniform(0.5, 5))
            tau = float(rng.uniform(0.01, 2))
            f = lambda w, L=L, tau=tau: float(np.sum(np.where(np.abs(w) >= tau, L * tau * np.abs(w) - L * tau**2 / 2,
                                                              L * w * w / 2)))
            g = lambda w, L=L, tau=tau: np.where(np.abs(w) >= tau, L * tau * np.sign(w), L * w)
            fstar, xstar = 0.0, np.zeros(2)
            x0 = rng.normal(size=2) * 5
        else:
            # least squares with a rank-deficient design: convex, not strongly convex
            X = rng.normal(size=(8, 4)) @ np.diag([1, 1, 0.5, 0.0])
            b = rng.normal(size=8)
            L = float(np.linalg.norm(X, 2) ** 2)
            f = lambda w, X=X, b=b: 0.5 * float(np.sum((X @ w - b) ** 2))
            g = lambda w, X=X, b=b: X.T @ (X @ w - b)
            xstar = np.linalg.lstsq(X, b, rcond=None)[0]
            fstar = f(xstar)
            x0 = rng.normal(size=4) * 3
        eta = h / L
        x = x0.copy()
        for _ in range(N):
            x = step(x, g(x), eta)
        gap = f(x) - fstar
        R2 = float(np.sum((x0 - xstar) ** 2))
        bound = _dt_bound(L, R2, N, eta)
        runs += 1
        # gap and bound are O(L R^2) quantities computed with a few dozen roundings
        slack = 1e-12 * max(1.0, L * R2)
        worst_ratio = max(worst_ratio, gap / bound if bound > 0 else 0.0)
        if gap > bound + slack and violation is None:
            violation = {"function": ["quadratic", "separable Huber", "rank-deficient least squares"][kind],
                         "ηL": h, "N": N, "f(x_N) − f*": gap, "bound": bound}
    # Attained: exact rationals on the Huber worst case, several (N, h)
    attained = []
    for Nn, h in ((1, Fraction(1)), (5, Fraction(1, 2)), (10, Fraction(1)), (20, Fraction(3, 10))):
        L, R = Fraction(3), Fraction(2)
        f, df = huber_worst_case(L, R, Nn, h)
        x = R
        for _ in range(Nn):
            x = step(x, df(x), h / L)
        attained.append({"N": Nn, "ηL": str(h), "f(x_N) − f*": str(f(x)), "bound": str(_dt_bound(L, R * R, Nn, h / L)),
                         "equal": f(x) == _dt_bound(L, R * R, Nn, h / L)})
    # For the figure, N = 10, L = R = 1: the Huber case at several h, exactly
    huber_points = []
    for h in (Fraction(1, 8), Fraction(1, 4), Fraction(1, 2), Fraction(3, 4), Fraction(1)):
        f, df = huber_worst_case(Fraction(1), Fraction(1), N, h)
        x = Fraction(1)
        for _ in range(N):
            x = step(x, df(x), h)
        huber_points.append((float(h), float(f(x))))
    # Past the condition eta <= 1/L: smallest h in (1, 2) where L x^2/2 exceeds the bound (N = 10)
    hs = np.linspace(0.02, 1.999, 2000)
    quad_gap = 0.5 * (1 - hs) ** (2 * N)
    dt = 1.0 / (4 * N * hs + 2)
    beyond = (hs > 1) & (quad_gap > dt)
    crossing = float(hs[np.argmax(beyond)]) if np.any(beyond) else None
    past = None
    if crossing is not None:
        hp = Fraction(crossing).limit_denominator(1000) + Fraction(1, 1000)
        x = Fraction(1)
        for _ in range(N):
            x = step(x, x, hp)  # L = 1, R = 1
        past = {"ηL": float(hp), "f(x_N) − f*": float(x * x / 2), "bound": float(_dt_bound(1, 1, N, hp)),
                "exceeded": x * x / 2 > _dt_bound(Fraction(1), Fraction(1), N, hp)}
    evidence = {"convex L-smooth functions run": runs, "N": N,
                "largest (f(x_N) − f*) / bound over them": worst_ratio,
                "attained on the Huber worst case (exact rationals)": attained,
                "past the condition: first ηL > 1 where L x²/2 exceeds the bound": crossing,
                "past the condition": past}
    huber_ratio = max(Fraction(a["f(x_N) − f*"]) / Fraction(a["bound"]) for a in attained)
    pair = Pair("(f(x_N) − f*) / bound on the Huber worst case (exact)", str(huber_ratio), 1, "=",
                note=f"largest ratio over {runs} other convex L-smooth runs: {worst_ratio:.4g} (≤ 1)")
    data = {"attained": attained, "hs": hs, "quad": quad_gap, "dt": dt, "huber": huber_points, "crossing": crossing}
    not_attained = next((a for a in attained if not a["equal"]), None)
    if violation is None and not_attained is not None:
        violation = {"bound not attained": not_attained}
    return Outcome.from_findings(evidence, data=data, pair=pair, counterexample=violation,
                                 decided=past is not None and bool(past["exceeded"]),
                                 why="no function exceeding the bound past eta = 1/L was found")


FIRST_STEP_AS_WRITTEN = ("f(x_1) < f(x_2)", 1, 2)
FIRST_STEP_CORRECTED = ("f(x_1) < f(x_0)", 1, 0)


@claim(id="step_size.first_step_as_written", kind="as-written", title="What one GD step achieves, as written",
       statement=r"GD, starting from some $x_0$, finds $x_1$ such that $f(x_1)$ is lower than $f(x_2)$",
       source=cite(SEED_001, "Minimization Techniques"),
       correction=Correction(
           r"f(x_1) < f(x_0)", r"Each GD step with $0 < \eta < 2/L$ lowers $f$, so $x_1$ improves on the start "
           r"$x_0$; $f(x_2)$ is lower still, so $f(x_1) < f(x_2)$ is backwards (a typo for $x_0$).",
           checked_by="the same exact GD runs"),
       corrected={"comparison": FIRST_STEP_CORRECTED})
def check_first_step_as_written(ctx: Context, *, step: Step = gd_step,
                                comparison: tuple[str, int, int] = FIRST_STEP_AS_WRITTEN) -> Outcome:
    """The lecture writes: GD "starting from some x_0, finds x_1 such that f(x_1) is lower than f(x_2)".
    ``comparison`` is the statement tested, ``(words, i, j)`` for ``f(x_i) < f(x_j)``; GD on ``x^2`` from
    ``x_0 = 3`` with three step sizes below ``2/L``, exact rationals."""
    words, i, j = comparison
    rows = []
    counter = None
    for eta in (Fraction(1, 10), Fraction(1, 4), Fraction(2, 5)):
        xs = [Fraction(3)]
        for _ in range(2):
            xs.append(step(xs[-1], 2 * xs[-1], eta))
        fs = [x * x for x in xs]
        rows.append({"η": str(eta), "f(x₀)": str(fs[0]), "f(x₁)": str(fs[1]), "f(x₂)": str(fs[2]),
                     words: fs[i] < fs[j]})
        if not fs[i] < fs[j] and counter is None:
            counter = {"f": "x²", "x₀": 3, "η": str(eta), "f(x₀)": str(fs[0]), "f(x₁)": str(fs[1]),
                       "f(x₂)": str(fs[2])}
    evidence = {"statement tested": words, "runs (exact rationals)": rows}
    holding = sum(bool(r[words]) for r in rows)
    pair = Pair(f"runs in which {words}", holding, len(rows), "=")
    if counter is None:
        return Outcome("holds", evidence, pair=pair)
    return Outcome("refuted", evidence, counterexample=counter, pair=pair,
                   counterexample_explained="GD on $x^2$ lowers $f$ at every step: $f(x_2) < f(x_1)$, never the other "
                                            "way round.")
