"""Stochastic gradient: Robbins-Monro step sizes, minibatch gradients, SG vs GD, saddles, the SG
convergence argument of seed 002, and the seeds' minibatch code.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from verify.claims._common import SEED_000, SEED_001, SEED_002, cite, jsonable, new_figure, rng_for
from verify.claims.registry import Context, Outcome, claim
from verify.stats import (
    ErrorBudget,
    assert_mean,
    assert_proportion,
    combine,
    mean_interval,
)

__all__ = [
    "robbins_monro_admissible",
    "sgd_mse_exact",
    "check_robbins_monro",
    "check_minibatch_gradient",
    "check_sgd_progress_per_epoch",
    "check_saddle_escape",
    "check_expected_decrease",
    "check_no_guaranteed_decrease",
    "check_pytorch_loop_as_written",
    "PYTORCH_LOOP_AS_WRITTEN",
]


def _sgd_update(theta: np.ndarray, grad: np.ndarray, lr: float, backend: str) -> None:
    """The library's SGD kernel (in place) when present, else ``theta -= lr * grad``."""
    try:
        from verify.kernels.optimizers import sgd_step
    except ImportError:  # pragma: no cover - kernels not built
        theta -= lr * grad
        return
    sgd_step(theta, grad, lr=lr, backend=backend)


# --------------------------------------------------------------------------------------------------
# Robbins-Monro


def robbins_monro_admissible(p: Fraction) -> dict[str, Any]:
    r"""Decide with SymPy whether $\sum_i i^{-p} = \infty$ and $\sum_i i^{-2p} < \infty$ ($c > 0$ is irrelevant)."""
    import sympy as sp

    i = sp.symbols("i", integer=True, positive=True)
    pe = sp.Rational(p.numerator, p.denominator)
    sum_diverges = not bool(sp.Sum(1 / i**pe, (i, 1, sp.oo)).is_convergent())
    squares_converge = bool(sp.Sum(1 / i ** (2 * pe), (i, 1, sp.oo)).is_convergent())
    return {"p": str(p), "sum_alpha_infinite": sum_diverges, "sum_alpha2_finite": squares_converge,
            "admissible": sum_diverges and squares_converge}


def sgd_mse_exact(alphas: np.ndarray, mu: float, sigma: float, theta0: float) -> np.ndarray:
    """``E[theta_k^2]`` for SGD on ``mu theta^2 / 2`` with gradient noise ``N(0, sigma^2)``, exactly:
    mean ``m_{k+1} = (1 - a_k mu) m_k``, variance ``v_{k+1} = (1 - a_k mu)^2 v_k + a_k^2 sigma^2``."""
    m, v = theta0, 0.0
    out = np.empty(alphas.size + 1)
    out[0] = theta0**2
    for k, a in enumerate(alphas):
        r = 1.0 - a * mu
        m, v = r * m, r * r * v + a * a * sigma**2
        out[k + 1] = m * m + v
    return out


def check_robbins_monro(ctx: Context) -> Outcome:
    mu, sigma, theta0, c = 1.0, 1.0, 5.0, 0.5
    T = 20_000
    ks = np.arange(1, T + 1, dtype=float)
    exponents = [Fraction(1, 4), Fraction(1, 2), Fraction(3, 4), Fraction(1), Fraction(3, 2), Fraction(2)]
    rows, curves = [], {}
    for p in exponents:
        info = robbins_monro_admissible(p)
        alphas = c / ks ** float(p)
        e = sgd_mse_exact(alphas, mu, sigma, theta0)
        curves[f"c/i^{p}"] = e
        still_falling = e[-1] < 0.5 * e[T // 10]
        rows.append({**info, "E_theta_T^2": float(e[-1]), "E_theta_T/10^2": float(e[T // 10]),
                     "converging": bool(e[-1] < 0.05 and still_falling)})
    floors = []
    for a in (0.1, 0.05):
        e = sgd_mse_exact(np.full(T, a), mu, sigma, theta0)
        curves[f"constant {a}"] = e
        floors.append({"alpha": a, "E_theta_T^2": float(e[-1]), "floor_theory": a * sigma**2 / (mu * (2 - a * mu))})
    admissible_ok = all(r["converging"] for r in rows if r["admissible"])
    stalls = all(not r["converging"] and r["E_theta_T^2"] > 0.1 for r in rows if not r["sum_alpha_infinite"])
    floor_ok = all(abs(f["E_theta_T^2"] - f["floor_theory"]) <= 1e-9 * f["floor_theory"] for f in floors)
    floor_ratio = floors[0]["E_theta_T^2"] / floors[1]["E_theta_T^2"]

    # Calibrated Monte Carlo: simulated SGD paths against the exact second moment (plain NumPy here: a
    # kernel call per step on 10^4 paths costs more in dispatch and validation than the arithmetic).
    budget = ErrorBudget(1e-6, checks=2)
    steps = 400 if ctx.quick else 1000
    stat_rows = []
    for label, sched in (("c/i", c / np.arange(1, steps + 1)), ("constant 0.1", np.full(steps, 0.1))):
        target = float(sgd_mse_exact(sched, mu, sigma, theta0)[-1])

        def draw(n: int, rng: np.random.Generator, sched: np.ndarray = sched) -> np.ndarray:
            theta = np.full(n, theta0)
            for a in sched:
                theta -= a * (mu * theta + sigma * rng.normal(size=n))
            return theta**2

        res = assert_mean(f"sgd.robbins_monro.{label}", draw, target, effect=0.15 * target, alpha=budget.take(),
                          seed=ctx.seed, pilot=500, max_n=40_000)
        stat_rows.append(res.to_json())
    mc_verdict = combine([s["verdict"] for s in stat_rows])
    evidence = {"problem": "f = mu theta^2 / 2, gradient + N(0, sigma^2)", "mu": mu, "sigma": sigma, "theta0": theta0,
                "c": c, "T": T, "schedules": rows, "constant_step_floors": floors,
                "floor_ratio_alpha_0.1_over_0.05": floor_ratio, "monte_carlo": stat_rows,
                "note": ("Robbins-Monro conditions are sufficient, not necessary: p <= 1/2 (sum alpha^2 infinite) "
                         "still converges here, only more slowly")}
    data = {"curves": curves}
    if not (admissible_ok and stalls and floor_ok) or mc_verdict == "refuted":
        bad = next((r for r in rows if r["admissible"] and not r["converging"]), None) or \
            next((r for r in rows if not r["sum_alpha_infinite"] and r["converging"]), None) or \
            next((s for s in stat_rows if s["verdict"] == "refuted"), None) or {"floors": floors}
        return Outcome("refuted", jsonable(evidence), counterexample=jsonable(bad), data=data)
    if mc_verdict == "inconclusive":
        return Outcome("inconclusive", jsonable(evidence), why="Monte-Carlo interval wider than the effect", data=data)
    return Outcome("holds", jsonable(evidence), data=data)


def robbins_monro_figure(outcome: Outcome):
    fig, axes = new_figure(1, 1, height=4.0)
    ax = axes[0, 0]
    for label, e in ((outcome.data or {}).get("curves") or {}).items():
        ax.loglog(np.arange(1, e.size), e[1:], label=label, ls="--" if "constant" in label else "-")
    ax.set_xlabel("iteration k")
    ax.set_ylabel(r"$E[(\theta_k - \theta^*)^2]$ (exact)")
    ax.set_title(r"SGD on a noisy strongly convex problem: step $\alpha_k = c/k^p$ or constant")
    ax.legend(fontsize=7, ncol=2)
    return fig


@claim(
    id="sgd.robbins_monro",
    statement=(r"With $\sum_i\alpha_i = \infty$, $\sum_i\alpha_i^2 < \infty$ ($\alpha_i = c/i^p$: $\frac12 < p \le 1$) "
               r"SGD on a noisy strongly convex problem converges; with $\sum_i\alpha_i<\infty$ it stalls; a constant "
               r"step leaves a noise floor $\alpha\sigma^2/(\mu(2-\alpha\mu)) \propto \alpha$"),
    source=cite(SEED_002, "Stochastic Gradient Convergence", "Robbins & Monro (1951)"),
    kind="empirical",
    topic="sgd",
    title="Robbins-Monro step sizes",
    figure=robbins_monro_figure,
)
def _robbins_monro(ctx: Context) -> Outcome:
    return check_robbins_monro(ctx)


# --------------------------------------------------------------------------------------------------
# Minibatch gradients


def _regression(rng: np.random.Generator, n: int = 64, d: int = 3):
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + 0.5 * rng.normal(size=n)
    return X, y


def per_example_gradients(X: np.ndarray, y: np.ndarray, theta: np.ndarray) -> np.ndarray:
    r"""$\nabla_\theta \tfrac12(x_i^\top\theta - y_i)^2 = (x_i^\top\theta - y_i) x_i$, one row per example."""
    return (X @ theta - y)[:, None] * X


def check_minibatch_gradient(ctx: Context, *, minibatch_mean: Callable[[np.ndarray], np.ndarray] | None = None) -> Outcome:
    """Unbiased, with ``E||g_m - g||^2 = tr(Sigma)/m`` (with replacement) and ``tr(Sigma)/m (n-m)/(n-1)``
    (without); the naive ``tr(Sigma)/m`` must fail for sampling without replacement at ``m = 48`` of 64."""
    average = minibatch_mean or (lambda G: G.mean(axis=1))
    rng = rng_for(ctx, "sgd.minibatch.problem")
    X, y = _regression(rng)
    theta = rng.normal(size=X.shape[1])
    G = per_example_gradients(X, y, theta)
    n = G.shape[0]
    g = G.mean(axis=0)
    trace = float(np.sum((G - g) ** 2) / n)
    u = rng.normal(size=g.size)
    u /= np.linalg.norm(u)
    sizes = (1, 8) if ctx.quick else (1, 8, 32)
    budget = ErrorBudget(1e-6, checks=2 * len(sizes) + 2)
    results = []

    def draws(m: int, replace: bool):
        def draw(k: int, r: np.random.Generator) -> np.ndarray:
            if replace:
                idx = r.integers(0, n, size=(k, m))
            else:
                idx = np.argsort(r.random((k, n)), axis=1)[:, :m]
            return average(G[idx]) - g
        return draw

    for m in sizes:
        d = draws(m, True)
        sd = math.sqrt(trace / m)
        results.append(assert_mean(f"sgd.minibatch.mean.m{m}", lambda k, r, d=d: d(k, r) @ u, 0.0, effect=0.1 * sd,
                                   alpha=budget.take(), seed=ctx.seed, max_n=100_000))
        results.append(assert_mean(f"sgd.minibatch.var.m{m}", lambda k, r, d=d: np.sum(d(k, r) ** 2, axis=1),
                                   trace / m, effect=0.1 * trace / m, alpha=budget.take(), seed=ctx.seed,
                                   max_n=100_000))
    m = 48
    d = draws(m, False)
    fpc = trace / m * (n - m) / (n - 1)
    results.append(assert_mean(f"sgd.minibatch.var_without_replacement.m{m}",
                               lambda k, r: np.sum(d(k, r) ** 2, axis=1), fpc, effect=0.1 * fpc,
                               alpha=budget.take(), seed=ctx.seed, max_n=100_000))
    naive = assert_mean(f"sgd.minibatch.naive.m{m}", lambda k, r: np.sum(d(k, r) ** 2, axis=1), trace / m,
                        effect=0.1 * fpc, alpha=budget.take(), seed=ctx.seed, max_n=100_000)
    evidence = {"n": n, "trace_Sigma": trace, "subchecks": [r.to_json() for r in results],
                "past_condition_naive_1_over_m_without_replacement": naive.to_json(), "budget": budget.to_json()}
    verdict = combine([r.verdict for r in results])
    scaling = {"m": list(sizes), "E||g_m - g||^2": [r.estimate for r in results[1::2][:len(sizes)]],
               "theory": [trace / s for s in sizes]}
    data = {"scaling": scaling}
    if verdict == "refuted":
        bad = next(r for r in results if r.verdict == "refuted")
        return Outcome("refuted", jsonable(evidence), counterexample=jsonable(bad.to_json()), data=data)
    if verdict == "inconclusive":
        return Outcome("inconclusive", jsonable(evidence), why="an interval is wider than its effect", data=data)
    if naive.verdict != "refuted":
        return Outcome("inconclusive", jsonable(evidence), data=data,
                       why="the naive 1/m variance was not rejected without replacement: the check lacks power")
    return Outcome("holds", jsonable(evidence), data=data)


def minibatch_figure(outcome: Outcome):
    fig, axes = new_figure(1, 1)
    ax = axes[0, 0]
    s = (outcome.data or {}).get("scaling")
    if s:
        ax.loglog(s["m"], s["theory"], "k--", label=r"theory tr$(\Sigma)/m$")
        ax.loglog(s["m"], s["E||g_m - g||^2"], "o", label="measured")
    ax.set_xlabel("minibatch size m")
    ax.set_ylabel(r"$E\|\hat g_m - \nabla L\|^2$")
    ax.set_title("Minibatch gradient variance falls as 1/m")
    ax.legend(fontsize=8)
    return fig


@claim(
    id="sgd.minibatch_gradient",
    statement=(r"$\hat g = \sum_{i=1}^m \frac1m\nabla L_i$ is unbiased, $E[\hat g] = \nabla L$, with "
               r"$E\|\hat g - \nabla L\|^2 = \mathrm{tr}\,\Sigma / m$ (larger $m$: better estimates)"),
    source=cite(SEED_000, "STOCHASTIC GRADIENT DESCENT", "Algorithm 2.2 and 'High values of m provide better "
                f"estimates'; {SEED_002}, Assumption 3 of \"Stochastic Gradient Convergence\""),
    kind="empirical",
    topic="sgd",
    title="Minibatch gradients: unbiased, variance 1/m",
    figure=minibatch_figure,
)
def _minibatch(ctx: Context) -> Outcome:
    return check_minibatch_gradient(ctx)


def check_sgd_progress_per_epoch(ctx: Context) -> Outcome:
    """One epoch each from ``theta = 0`` on a fixed least-squares problem (n = 256, d = 10, noise 0.1):
    GD (one step, ``eta = 1/L``) vs SGD (n steps, ``eta = 1/max ||x_i||^2``). The problem is fixed, not
    drawn from the seed: the claim is about this problem, the randomness is in SGD's shuffles only."""
    prob = np.random.default_rng(20240611)
    n, d = 256, 10
    X = prob.normal(size=(n, d))
    y = X @ prob.normal(size=d) + 0.1 * prob.normal(size=n)
    loss = lambda th: 0.5 * float(np.mean((X @ th - y) ** 2))
    L = float(np.linalg.eigvalsh(X.T @ X / n)[-1])
    theta = np.zeros(d)
    _sgd_update(theta, per_example_gradients(X, y, theta).mean(axis=0), 1.0 / L, "numpy")
    gd_loss = loss(theta)
    eta = 1.0 / float(np.max(np.sum(X * X, axis=1)))

    def draw(k: int, r: np.random.Generator) -> np.ndarray:
        out = np.empty(k)
        for j in range(k):
            th = np.zeros(d)
            for i in r.permutation(n):
                th -= eta * (X[i] @ th - y[i]) * X[i]
            out[j] = loss(th) - gd_loss
        return out

    alpha = 1e-6
    r = rng_for(ctx, "sgd.progress.draws")
    samples = draw(30 if ctx.quick else 100, r)
    mean, lo, hi, sd = mean_interval(samples, alpha)
    verdict = "holds" if hi < 0 else ("refuted" if lo > 0 else "inconclusive")
    evidence = {"loss_at_start": loss(np.zeros(d)), "gd_loss_after_epoch": gd_loss,
                "sgd_minus_gd_mean": mean, "ci": [lo, hi], "alpha": alpha, "epochs_sampled": int(samples.size),
                "sgd_steps_per_epoch": n, "eta_sgd": eta, "eta_gd": 1.0 / L}
    if verdict == "refuted":
        return Outcome("refuted", jsonable(evidence), counterexample={"mean_loss_difference": mean, "ci": [lo, hi]})
    if verdict == "inconclusive":
        return Outcome("inconclusive", jsonable(evidence), why="interval contains 0")
    return Outcome("holds", jsonable(evidence))


@claim(
    id="sgd.more_progress_per_epoch",
    statement=r"Using each data point once, SGD makes more progress than GD (lower loss after one epoch)",
    source=cite(SEED_001, "GD vs SGD", f"and {SEED_000}, slide \"STOCHASTIC GRADIENT DESCENT\": 'Small values of m "
                "allow more updates and faster convergence'"),
    kind="empirical",
    topic="sgd",
    title="SGD vs GD per epoch",
)
def _progress(ctx: Context) -> Outcome:
    return check_sgd_progress_per_epoch(ctx)


def check_saddle_escape(ctx: Context) -> Outcome:
    """``f(x, y) = x^2/2 - y^2/2 + y^4/4``: saddle at 0, minima at ``(0, +-1)``. GD from ``(1, 0)`` (on the
    saddle's stable manifold) converges to the saddle; SGD (gradient noise 0.1) escapes."""
    eta, T = 0.1, 400
    grad = lambda p: np.stack([p[0], -p[1] + p[1] ** 3])
    p = np.array([1.0, 0.0])
    for _ in range(T):
        p = p - eta * grad(p)
    gd_end = p.copy()
    runs = 200 if ctx.quick else 400
    rng, record = rng_for(ctx, "sgd.saddle"), None
    P = np.tile(np.array([[1.0], [0.0]]), (1, runs))
    for _ in range(T):
        P = P - eta * (grad(P) + 0.1 * rng.normal(size=P.shape))
    escaped = int(np.sum(np.abs(P[1]) > 0.5))
    res = assert_proportion("sgd.saddle.escape", escaped, runs, 1.0, alpha=1e-6, effect=0.1, seed=record)
    gd_stuck = abs(gd_end[1]) == 0.0 and np.linalg.norm(gd_end) < 1e-6
    evidence = {"gd_end": gd_end.tolist(), "gd_stays_at_saddle": bool(gd_stuck), "sgd_escape": res.to_json(),
                "sgd_mean_|y_T|": float(np.mean(np.abs(P[1])))}
    if not gd_stuck:
        return Outcome("refuted", jsonable(evidence), counterexample={"gd_end": gd_end.tolist()})
    if res.verdict == "refuted":
        return Outcome("refuted", jsonable(evidence), counterexample=jsonable(res.to_json()))
    if res.verdict == "inconclusive":
        return Outcome("inconclusive", jsonable(evidence), why="escape probability interval too wide")
    return Outcome("holds", jsonable(evidence))


@claim(
    id="sgd.escapes_saddle",
    statement=(r"GD started on a saddle's stable manifold converges to the saddle; SGD's noise makes it escape "
               r"(probability 1 up to the calibrated interval)"),
    source=cite(SEED_001, "Analysing SGD", "Jin et al., 'Stochastic Gradient Descent Escapes Saddle Points "
                "Efficiently' (2019)"),
    kind="empirical",
    topic="sgd",
    title="SGD escapes a saddle that traps GD",
)
def _saddle(ctx: Context) -> Outcome:
    return check_saddle_escape(ctx)


def check_expected_decrease(ctx: Context, *, smoothness_factor: float = 1.0) -> Outcome:
    """Assumptions 1-3 and the expected-decrease inequality on a least-squares finite sum, with the
    expectation over ``i`` computed exactly (every example enumerated)."""
    rng = rng_for(ctx, "sgd.expected_decrease")
    X, y = _regression(rng, n=32, d=3)
    n = X.shape[0]
    H = X.T @ X / n
    L = float(np.linalg.eigvalsh(H)[-1]) * smoothness_factor
    phi = lambda th: 0.5 * float(np.mean((X @ th - y) ** 2))
    worst_lipschitz, worst_line1, worst_line2, unbiased_err = 0.0, -math.inf, 0.0, 0.0
    draws = 100 if ctx.quick else 400
    for _ in range(draws):
        th, th2 = rng.normal(size=3) * 2, rng.normal(size=3) * 2
        alpha = float(rng.uniform(0.01, 2.0)) / L
        G = per_example_gradients(X, y, th)
        g = G.mean(axis=0)
        unbiased_err = max(unbiased_err, float(np.max(np.abs(G.mean(axis=0) - H @ th + X.T @ y / n))))
        g2 = per_example_gradients(X, y, th2).mean(axis=0)
        worst_lipschitz = max(worst_lipschitz, float(np.linalg.norm(g - g2) / (L * np.linalg.norm(th - th2))))
        nxt = np.array([phi(th - alpha * Gi) for Gi in G])
        line1 = phi(th) - alpha * (G @ g) + 0.5 * alpha**2 * L * np.sum(G * G, axis=1)
        scale = abs(phi(th)) + float(np.max(np.abs(line1))) + 1.0
        worst_line1 = max(worst_line1, float(np.max(nxt - line1)) / scale)
        expected = phi(th) - alpha * float(g @ g) + 0.5 * alpha**2 * L * float(np.mean(np.sum(G * G, axis=1)))
        worst_line2 = max(worst_line2, abs(float(np.mean(line1)) - expected) / scale)
    tol = 64 * 2.2e-16  # relative: sums of 32 terms of a few roundings each
    # Past Assumption 3: non-uniform sampling of i makes E_w[grad Phi^T grad Phi_i] != ||grad Phi||^2
    w = np.linspace(1, 3, n)
    w /= w.sum()
    th = rng.normal(size=3)
    G = per_example_gradients(X, y, th)
    g = G.mean(axis=0)
    biased_gap = float(w @ (G @ g) - g @ g)
    evidence = {"L": L, "draws": draws, "assumption_1_bounded_below": "Phi >= 0 (a sum of squares)",
                "assumption_2_max_ratio_||dgrad||/(L||dtheta||)": worst_lipschitz,
                "assumption_3_max_abs_mean_grad_i_minus_grad": unbiased_err,
                "line1_max_relative_excess": worst_line1, "line2_max_relative_gap": worst_line2,
                "past_assumption_3_nonuniform_sampling_gap": biased_gap}
    if worst_lipschitz > 1 + 1e-12 or worst_line1 > tol or worst_line2 > tol or unbiased_err > 1e-12 * (1 + L):
        return Outcome("refuted", jsonable(evidence), counterexample=jsonable({
            "lipschitz_ratio": worst_lipschitz, "line1_excess": worst_line1, "line2_gap": worst_line2}))
    if abs(biased_gap) < 1e-8:
        return Outcome("inconclusive", jsonable(evidence), why="non-uniform sampling did not break unbiasedness")
    return Outcome("holds", jsonable(evidence))


@claim(
    id="sgd.expected_decrease",
    statement=(r"Under Assumptions 1-3: $\mathbb{E}_i[\Phi(\theta_{i+1})] \le \Phi(\theta_i) - \alpha_i\|\nabla\Phi(\theta_i)\|^2"
               r" + \tfrac12\alpha_i^2 L\,\mathbb{E}_i\|\nabla\Phi_i(\theta_i)\|^2$"),
    source=cite(SEED_002, "Stochastic Gradient Convergence"),
    kind="inequality",
    topic="sgd",
    title="SG convergence: assumptions and the expected decrease",
)
def _expected_decrease(ctx: Context) -> Outcome:
    return check_expected_decrease(ctx)


def check_no_guaranteed_decrease(ctx: Context) -> Outcome:
    """GD with ``alpha < 2/L`` always decreases Phi; an SG step can increase it (found, not assumed)."""
    rng = rng_for(ctx, "sgd.no_decrease")
    X, y = _regression(rng, n=32, d=3)
    n = X.shape[0]
    L = float(np.linalg.eigvalsh(X.T @ X / n)[-1])
    phi = lambda th: 0.5 * float(np.mean((X @ th - y) ** 2))
    gd_increase, sg_increase = None, None
    for _ in range(200):
        th = np.linalg.lstsq(X, y, rcond=None)[0] + rng.normal(size=3) * float(rng.choice([1e-2, 1.0]))
        alpha = float(rng.uniform(0.05, 1.95)) / L
        G = per_example_gradients(X, y, th)
        g = G.mean(axis=0)
        if np.linalg.norm(g) > 1e-6 and phi(th - alpha * g) > phi(th) and gd_increase is None:
            gd_increase = {"theta": th.tolist(), "alpha_L": alpha * L}
        i = int(rng.integers(0, n))
        if phi(th - alpha * G[i]) > phi(th) and sg_increase is None:
            sg_increase = {"theta": th.tolist(), "alpha_L": alpha * L, "i": i, "Phi_before": phi(th),
                           "Phi_after": phi(th - alpha * G[i])}
    evidence = {"gd_increase_found": gd_increase is not None, "sg_increase_found": sg_increase is not None,
                "sg_increase_example": sg_increase}
    if gd_increase is not None:
        return Outcome("refuted", jsonable(evidence), counterexample=jsonable(gd_increase))
    if sg_increase is None:
        return Outcome("inconclusive", jsonable(evidence), why="no increasing SG step found in 200 draws")
    return Outcome("holds", jsonable(evidence))


@claim(
    id="sgd.no_guaranteed_decrease",
    statement=(r"GD descends with well-chosen steps ($0<\alpha<2/L$); SG has no guaranteed decrease: "
               r"$\Phi(\theta - \alpha\nabla\Phi_i(\theta)) > \Phi(\theta)$ happens"),
    source=cite(SEED_002, "GD vs. SG"),
    kind="empirical",
    topic="sgd",
    title="Descent for GD, none guaranteed for SG",
)
def _no_decrease(ctx: Context) -> Outcome:
    return check_no_guaranteed_decrease(ctx)


#: The "PyTorch Code" of 002, slide "Mini-Batch Stochastic Gradient", character for character (minus
#: the slide's line numbers, which are not Python).
PYTORCH_LOOP_AS_WRITTEN = """\
for epoch in range(max_epochs):
  # shuffle data
    shuffle_idx = randperm(n_samples)
  for epoch in range(nb):
    # select batch
      idx = shuffle_idx[i*nb:(i+1)*nb]
      yb, cb = y_train[idx], c_train[idx]
    # zero out gradients
      optimizer.zero_grad()
    # forward propagate
      cb_hat = net(yb)
    # evaluate
      phi = loss(cb_hat, cb)
    # backward propagate
      phi.backward()
    # update
      optimizer.step()
"""


def _visits(code: str, n_samples: int, nb: int, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    seen: list[int] = []

    class _Stub:
        def __call__(self, *a: Any, **k: Any) -> _Stub:
            return self

        def __getattr__(self, name: str) -> _Stub:
            return self

    y_train = np.arange(n_samples)
    env: dict[str, Any] = {"max_epochs": 1, "n_samples": n_samples, "nb": nb, "y_train": y_train,
                           "c_train": y_train, "randperm": lambda n: np.random.default_rng(0).permutation(n),
                           "optimizer": _Stub(), "loss": _Stub(), "net": lambda yb: seen.extend(int(v) for v in yb) or _Stub(),
                           **(extra or {})}
    try:
        exec(compile(code, "<slide>", "exec"), env)  # noqa: S102 - the slide's own code, on stubs
    except Exception as exc:  # noqa: BLE001 - the error is the finding
        return {"error": f"{type(exc).__name__}: {exc}", "visited": seen}
    return {"error": None, "visited": seen}


def check_pytorch_loop_as_written(ctx: Context) -> Outcome:
    """Run the slide's loop on stubs: does one epoch visit every sample exactly once?"""
    n, nb = 10, 2
    literal = _visits(PYTORCH_LOOP_AS_WRITTEN, n, nb)
    # The evident intent: consistent indentation, inner loop variable i.
    lines = [ln.strip() for ln in PYTORCH_LOOP_AS_WRITTEN.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    intent = "\n".join([lines[0], "    " + lines[1], "    for i in range(nb):"] + ["        " + ln for ln in lines[3:]])
    intended = _visits(intent, n, nb)
    counts = np.bincount(np.asarray(intended["visited"], dtype=int), minlength=n) if intended["error"] is None else None
    corrected_code = intent.replace("for i in range(nb):", "bs = -(-n_samples // nb)\n    for i in range(nb):") \
        .replace("shuffle_idx[i*nb:(i+1)*nb]", "shuffle_idx[i*bs:(i+1)*bs]")
    fixed = _visits(corrected_code, n, nb)
    fixed_ok = fixed["error"] is None and sorted(fixed["visited"]) == list(range(n))
    evidence = {"n_samples": n, "nb": nb, "literal_error": literal["error"], "intended_reading_error": intended["error"],
                "intended_reading_visits_per_sample": None if counts is None else counts.tolist(),
                "corrected_visits_each_once": fixed_ok}
    ok = literal["error"] is None and sorted(literal["visited"]) == list(range(n))
    if ok:
        return Outcome("holds", jsonable(evidence))
    return Outcome("refuted", jsonable(evidence),
                   counterexample={"n_samples": n, "nb": nb, "as_written": literal["error"] or "wrong coverage",
                                   "with_indentation_fixed": intended["error"]
                                   or f"visits per sample {None if counts is None else counts.tolist()}"},
                   corrected=("for i in range(nb): idx = shuffle_idx[i*bs:(i+1)*bs] with bs = ceil(n_samples/nb)"
                              if fixed_ok else None))


@claim(
    id="sgd.pytorch_loop_as_written",
    statement=r"The slide's PyTorch loop visits every training sample exactly once per epoch",
    source=cite(SEED_002, "Mini-Batch Stochastic Gradient", "PyTorch Code"),
    kind="as-written",
    topic="sgd",
    title="The minibatch PyTorch loop, as written",
)
def _pytorch_loop(ctx: Context) -> Outcome:
    return check_pytorch_loop_as_written(ctx)
