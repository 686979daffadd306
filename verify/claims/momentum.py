"""Momentum: heavy-ball stability on quadratics, the wider step range, too much momentum, SGM = heavy ball.

*CS3485*, Lecture 4 (001_02deb113427fab16.txt), slide "Adding Momentum", writes heavy-ball momentum as
``g_t = beta g_{t-1} + grad f(x_t)``, ``x_{t+1} = x_t - eta g_t``;
*Diving Into Deep Learning, Part 1* (002_1388b78ad9a2d202.txt), "Popular Stochastic Gradient Variants",
writes SGM with the exponential moving average ``m_i = beta m_{i-1} + (1 - beta) g_i``. On a
quadratic with curvature ``lambda`` the heavy-ball iterates follow ``z^2 - (1 + beta - eta lambda) z + beta``,
whose roots lie inside the unit circle iff ``|beta| < 1`` and ``0 < eta lambda < 2 (1 + beta)``
(Polyak, 1964; Goh, "Why Momentum Really Works", Distill 2017).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from verify.claims._common import SEED_001, SEED_002, cite, label_axes, new_panel, rng_for
from verify.claims.registry import Context, Outcome, Pair, claim

__all__ = [
    "heavy_ball_step",
    "ema_momentum_step",
    "heavy_ball_radius",
    "check_heavy_ball_stability",
    "check_momentum_widens_range",
    "check_too_much_momentum",
    "check_sgm_is_heavy_ball",
]

MomentumStep = Callable[[Any, Any, Any, Any, Any], tuple[Any, Any]]


def heavy_ball_step(x: Any, g_prev: Any, grad: Any, eta: Any, beta: Any) -> tuple[Any, Any]:
    r"""$g_t = \beta g_{t-1} + \nabla f(x_t)$, $x_{t+1} = x_t - \eta g_t$ (*CS3485*, Lecture 4, "Adding Momentum")."""
    g = beta * g_prev + grad
    return x - eta * g, g


def ema_momentum_step(x: Any, m_prev: Any, grad: Any, alpha: Any, beta: Any) -> tuple[Any, Any]:
    r"""$m_i = \beta m_{i-1} + (1-\beta) g_i$, $\theta_{i+1} = \theta_i - \alpha m_i$ (*Diving Into Deep Learning, Part 1*, "Popular Stochastic Gradient Variants", SGM)."""
    m = beta * m_prev + (1 - beta) * grad
    return x - alpha * m, m


def heavy_ball_radius(eta: Any, beta: Any, lam: Any) -> Any:
    """Spectral radius of the heavy-ball iteration on one eigen-direction of curvature ``lam``: the
    largest root modulus of ``z^2 - (1 + beta - eta lam) z + beta`` (vectorised over arrays)."""
    a = 1.0 + np.asarray(beta, dtype=float) - np.asarray(eta, dtype=float) * np.asarray(lam, dtype=float)
    b = np.asarray(beta, dtype=float) + 0.0 * a
    disc = a * a - 4 * b
    real = np.maximum(np.abs(a + np.sqrt(np.maximum(disc, 0))), np.abs(a - np.sqrt(np.maximum(disc, 0)))) / 2
    radius = np.where(disc < 0, np.sqrt(np.abs(b)), real)
    return float(radius) if radius.ndim == 0 else radius


def _classify(xs: np.ndarray) -> str:
    a0 = abs(xs[0])
    last = abs(xs[-1])
    if not np.isfinite(last) or last > 1e6 * a0:
        return "diverges"
    if last < 1e-6 * a0:
        return "converges"
    # bounded, not decaying, alternating in sign with constant amplitude: a 2-cycle
    if xs[-1] * xs[-2] < 0 and abs(abs(xs[-1]) - abs(xs[-3])) <= 1e-9 * last:
        return "cycles"
    return "undecided"


def _run(step: MomentumStep, lam: float, eta: float, beta: float, steps: int) -> np.ndarray:
    x, g = 1.0, 0.0
    xs = np.empty(steps + 1)
    xs[0] = x
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            x, g = step(x, g, lam * x, eta, beta)
            xs[t + 1] = x
    return xs


def stability_map_figure(outcome: Outcome):
    fig, ax = new_panel(width=6.4, height=4.2)
    d = outcome.data or {}
    if "radius" in d:
        mesh = ax.pcolormesh(d["hs"], d["bs"], np.minimum(d["radius"], 1.5), shading="auto", cmap="viridis")
        fig.colorbar(mesh, ax=ax, label="spectral radius (>= 1: no convergence)")
        ax.contour(d["hs"], d["bs"], d["radius"], levels=[1.0], colors="w", linewidths=1.5)
        ax.plot(2 * (1 + d["bs"]), d["bs"], "r--", label=r"theory $\eta L = 2(1+\beta)$")
        ax.axvline(2, color="orange", ls=":", label=r"GD limit $\eta L = 2$")
    label_axes(ax, r"$\eta L$ (step size in units of $1/L$)", r"momentum $\beta$",
               "Heavy-ball stability map on a quadratic", fontsize=8, legend="below")
    return fig


@claim(id="momentum.heavy_ball_stability", kind="empirical", title="Heavy-ball momentum: the stable step range",
       statement=r"Heavy ball $g_t = \beta g_{t-1} + \nabla f(x_t)$, $x_{t+1} = x_t - \eta g_t$ on an $L$-smooth "
                 r"quadratic converges iff $0 < \eta < 2(1+\beta)/L$ ($0 \le \beta < 1$)",
       source=cite(SEED_001, "Adding Momentum", "Polyak (1964); Goh, 'Why Momentum Really Works', Distill (2017)"),
       figure=stability_map_figure)
def check_heavy_ball_stability(ctx: Context, *, step: MomentumStep = heavy_ball_step) -> Outcome:
    """Heavy ball on ``f = L x^2 / 2`` (the top eigen-direction of any quadratic) and on random SPD
    quadratics: converges at ``0.98 eta*``, cycles at ``eta* = 2(1+beta)/L``, diverges at ``1.02 eta*``."""
    steps = 1500
    L = 4.0
    betas = (0.0, 0.25, 0.5, 0.75, 0.9375)  # dyadic: eta* L = 2(1+beta) and 1+beta-eta* L are exact
    rows, mismatch = [], None
    for beta in betas:
        boundary = 2 * (1 + beta) / L
        for factor, want in ((0.5, "converges"), (0.98, "converges"), (1.0, "cycles"), (1.02, "diverges"),
                             (1.5, "diverges")):
            xs = _run(step, L, boundary * factor, beta, steps)
            got = _classify(xs)
            rows.append({"problem": "L x²/2", "β": beta, "η / (2(1+β)/L)": factor, "observed": got, "theory": want,
                         "spectral radius": heavy_ball_radius(boundary * factor, beta, L)})
            if got != want and mismatch is None:
                mismatch = {"f": "L x²/2", "L": L, "β": beta, "η": boundary * factor,
                            "boundary 2(1+β)/L": boundary, "observed": got, "theory": want}
    rng = rng_for(ctx, "momentum.heavy_ball")
    for _ in range(2 if ctx.quick else 5):
        d = int(rng.integers(2, 6))
        q, _ = np.linalg.qr(rng.normal(size=(d, d)))
        lam = np.sort(rng.uniform(0.05, 1.0, d)) * 3.0
        A = (q * lam) @ q.T
        Lr = float(lam[-1])
        beta = float(rng.uniform(0.0, 0.95))
        for factor, want in ((0.97, "converges"), (1.03, "diverges")):
            eta = 2 * (1 + beta) / Lr * factor
            x, g = rng.normal(size=d), np.zeros(d)
            n0 = float(np.linalg.norm(x))
            with np.errstate(over="ignore", invalid="ignore"):
                for _ in range(steps):
                    x, g = step(x, g, A @ x, eta, beta)
                n = float(np.sqrt(np.sum(x * x)))
            got = "converges" if n < 1e-6 * n0 else ("diverges" if not np.isfinite(n) or n > 1e6 * n0 else "undecided")
            rows.append({"problem": f"random quadratic in {d} dimensions", "β": beta, "η / (2(1+β)/L)": factor,
                         "observed": got, "theory": want})
            if got != want and mismatch is None:
                mismatch = {"eigenvalues": lam.tolist(), "β": beta, "η": eta, "observed": got, "theory": want}
    # stability map for the figure: spectral radius over (eta L, beta)
    hs = np.linspace(0.02, 4.0, 120)
    bs = np.linspace(0.0, 0.98, 60)
    radius = heavy_ball_radius(hs[None, :], bs[:, None], 1.0)
    evidence = {"iterations": steps, "runs": rows}
    data = {"hs": hs, "bs": bs, "radius": radius}
    edge = [r for r in rows if r["problem"] == "L x²/2" and r["η / (2(1+β)/L)"] == 1.0]
    cycling = sum(r["observed"] == "cycles" for r in edge)
    pair = Pair("runs at η = 2(1+β)/L that cycle (neither converge nor diverge)", cycling, len(edge), "=",
                note="β ∈ {0, 1/4, 1/2, 3/4, 15/16}; 0.98 of that step converges and 1.02 diverges in every run")
    if mismatch is not None:
        return Outcome("refuted", evidence, counterexample=mismatch, data=data, pair=pair)
    return Outcome("holds", evidence, data=data, pair=pair)


def _largest_stable_eta(beta: float, lam: float = 1.0) -> float:
    """Bisection on the spectral radius: the supremum of stable ``eta`` (to 1e-10 relative)."""
    lo, hi = 1e-6, 10.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if heavy_ball_radius(mid, beta, lam) < 1.0:
            lo = mid
        else:
            hi = mid
    return lo


@claim(id="momentum.widens_step_range", kind="inequality", title="Momentum widens the stable step range",
       statement=r"Momentum allows a larger range of step sizes: $\sup\{\eta : \text{stable}\} = 2(1+\beta)/L > 2/L$ for $\beta > 0$",
       source=cite(SEED_001, "Adding Momentum", "the quoted box: 'It allows a larger range of step-sizes to be used'"))
def check_momentum_widens_range(ctx: Context) -> Outcome:
    """Measured largest stable step (bisection on the iteration's spectral radius) against ``2/L``."""
    rows = []
    for beta in (-0.5, 0.0, 0.3, 0.6, 0.9):
        measured = _largest_stable_eta(beta)
        rows.append({"β": beta, "largest stable ηL (measured)": measured, "2(1+β) (theory)": 2 * (1 + beta)})
    gd = next(r for r in rows if r["β"] == 0.0)["largest stable ηL (measured)"]
    wider = all(r["largest stable ηL (measured)"] > gd for r in rows if r["β"] > 0)
    narrower = all(r["largest stable ηL (measured)"] < gd for r in rows if r["β"] < 0)
    matches = all(abs(r["largest stable ηL (measured)"] - r["2(1+β) (theory)"]) < 1e-6 for r in rows)
    evidence = {"largest stable step by β": rows, "GD's limit (β = 0)": gd, "wider for every β > 0": wider,
                "narrower for β < 0": narrower, "method": "bisection on the spectral radius of the iteration"}
    worst = max(abs(r["largest stable ηL (measured)"] - r["2(1+β) (theory)"]) for r in rows)
    at_09 = next(r for r in rows if r["β"] == 0.9)
    pair = Pair("largest stable ηL at β = 0.9", at_09["largest stable ηL (measured)"], at_09["2(1+β) (theory)"], "=",
                note=f"largest difference over the five β: {worst:.2g} (bisection to 1e-10)")
    if wider and matches:
        return Outcome("holds", evidence, pair=pair)
    bad = next((r for r in rows if r["β"] > 0 and r["largest stable ηL (measured)"] <= gd), rows[0])
    return Outcome("refuted", evidence, counterexample=bad, pair=pair)




def too_much_figure(outcome: Outcome):
    fig, ax = new_panel()
    d = outcome.data or {}
    if "betas" in d:
        ax.plot(d["betas"], d["rates"])
        ax.axhline(d["rates"][0], color="grey", ls="--", label=r"plain GD ($\beta = 0$)")
    label_axes(ax, r"momentum $\beta$", "worst-case contraction per iteration",
               r"Condition number 100, $\eta = 1/L$", fontsize=8)
    return fig


@claim(id="momentum.some_helps_too_much_hurts", kind="empirical", title="Some momentum helps, too much hurts",
       statement=r"Adding some momentum speeds up convergence; adding too much hurts it "
                 r"(worst-case rate on an ill-conditioned quadratic, fixed $\eta$)",
       source=cite(SEED_001, "Adding Momentum"),
       figure=too_much_figure)
def check_too_much_momentum(ctx: Context) -> Outcome:
    """On a quadratic with curvatures in [1, 100] and ``eta = 1/L``: the worst-case rate over ``beta``."""
    lams = np.geomspace(1.0, 100.0, 60)
    eta = 1.0 / 100.0
    betas = np.linspace(0.0, 0.995, 200)
    rates = heavy_ball_radius(eta, betas[:, None], lams[None, :]).max(axis=1)
    best = int(np.argmin(rates))
    some_helps = rates[best] < rates[0]
    too_much_hurts = rates[-1] > rates[0]
    table = [{"β": float(b), "worst-case rate per iteration": float(r),
              "iterations to shrink the error 10⁶ times": float(np.log(1e-6) / np.log(r))}
             for b, r in ((0.0, rates[0]), (betas[best], rates[best]), (betas[-1], rates[-1]))]
    evidence = {"problem": "quadratic with curvatures in [1, 100], η = 1/L", "no, best and too much momentum": table}
    # Polyak's optimal beta for this step: the rate is minimal where the slowest direction (curvature mu)
    # reaches the complex regime, (1 - sqrt(eta mu))^2 with eta mu = 1/100 (Goh 2017, "Momentum")
    theory_beta = (1 - np.sqrt(eta * lams[0])) ** 2
    pair = Pair("best β for η = 1/L, condition number 100", float(betas[best]), float(theory_beta), "≈",
                note="measured on a grid of 200 β; theory (1 − √(η μ))² with η μ = 1/100")
    data = {"betas": betas, "rates": rates}
    if some_helps and too_much_hurts:
        return Outcome("holds", evidence, data=data, pair=pair)
    return Outcome("refuted", evidence, counterexample={"some momentum helps": bool(some_helps),
                                                        "too much hurts": bool(too_much_hurts)}, pair=pair, data=data)




@claim(id="momentum.sgm_is_heavy_ball", kind="identity", title="SGM's moving average is heavy ball in disguise",
       statement=r"SGM $m_i = \beta m_{i-1} + (1-\beta) g_i$, $\theta_{i+1} = \theta_i - \alpha m_i$ is heavy ball with "
                 r"$\eta = \alpha(1-\beta)$; stable on quadratics iff $0 < \alpha(1-\beta) L < 2(1+\beta)$",
       source=cite(SEED_002, "Popular Stochastic Gradient Variants", "SG + Momentum (SGM)"))
def check_sgm_is_heavy_ball(ctx: Context, *, step: MomentumStep = ema_momentum_step) -> Outcome:
    """SGM with step ``alpha`` and EMA momentum equals heavy ball with ``eta = alpha (1 - beta)``, exactly
    (rationals), on random gradient sequences; so it is stable iff ``0 < alpha (1-beta) L < 2 (1+beta)``."""
    rng = rng_for(ctx, "momentum.sgm")
    for _ in range(20):
        beta = Fraction(int(rng.integers(0, 20)), 20)
        alpha = Fraction(int(rng.integers(1, 50)), 10)
        grads = [Fraction(int(v), int(rng.integers(1, 9))) for v in rng.integers(-9, 10, size=30)]
        x1, m = Fraction(1), Fraction(0)
        x2, g = Fraction(1), Fraction(0)
        for gr in grads:
            x1, m = step(x1, m, gr, alpha, beta)
            x2, g = heavy_ball_step(x2, g, gr, alpha * (1 - beta), beta)
            if x1 != x2:
                return Outcome("refuted", {"gradient sequences": 20},
                               counterexample={"α": str(alpha), "β": str(beta), "SGM iterate": str(x1),
                                               "heavy-ball iterate": str(x2)},
                               pair=Pair("SGM iterate − heavy-ball iterate", str(x1 - x2), 0, "="))
    beta = 0.5
    L = 1.0
    edge = 2 * (1 + beta) / ((1 - beta) * L)
    ok = [_classify(_run(step, L, edge * f, beta, 1500)) for f in (0.98, 1.02)]
    evidence = {"gradient sequences": 20, "steps each": 30, "arithmetic": "exact rationals",
                "SGM's stability edge αL at β = 1/2": edge, "at 0.98 and 1.02 times the edge": ok}
    pair = Pair("largest |SGM iterate − heavy-ball iterate| over 20 sequences of 30 steps", 0, 0, "=",
                note="exact rationals: the iterates are identical")
    if ok != ["converges", "diverges"]:
        return Outcome("refuted", evidence, counterexample={"β": beta, "edge": edge, "observed": ok}, pair=pair)
    return Outcome("holds", evidence, pair=pair)


