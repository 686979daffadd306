"""Adaptive learning rates: AdaGrad's step never grows, where epsilon sits, Adam's bias correction.

The library's optimizer kernels (:mod:`verify.kernels.optimizers`) run the rules; the claims read
their state (``return_state=True``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from verify.claims._calibrated import calibrated_outcome, declared_alpha, stat_pair, stat_row
from verify.claims._common import SEED_001, SEED_002, cite, hypothesis_search, label_axes, new_panel, rng_for
from verify.claims.builders import identity
from verify.claims.registry import Context, Correction, Outcome, Pair, claim
from verify.stats import DEFAULT_ALPHA, ErrorBudget, StatResult, decide, mean_interval, sample_size

__all__ = [
    "adagrad_norm_steps",
    "rmsprop_steps",
    "check_adagrad_step_never_grows",
    "check_epsilon_placement_as_written",
    "check_adam_unbiased",
    "FALSE_FAIL_RATE",
]

#: The false-fail rate of the statistical claim of this module.
FALSE_FAIL_RATE = DEFAULT_ALPHA

Steps = Callable[[np.ndarray, float, float], np.ndarray]


def adagrad_norm_steps(grads: np.ndarray, lr: float, eps: float) -> np.ndarray:
    r"""Effective steps $\eta/\sqrt{\epsilon + \sum_{j\le t}\|\nabla f(x_j)\|^2}$ of AdaGrad-Norm (*CS3485*,
    Lecture 4, "Adding adaptive learning rates"), from
    the accumulator of the library's ``adagrad_norm`` kernel."""
    from verify.kernels.optimizers import run_optimizer

    _, states = run_optimizer("adagrad_norm", np.zeros(grads.shape[1]), grads, backend="numpy", return_state=True,
                              lr=lr, eps=eps)
    return lr / np.sqrt(eps + states["acc"][:, 0])


def rmsprop_steps(grads: np.ndarray, lr: float, eps: float, rho: float = 0.9) -> np.ndarray:
    """Effective steps ``lr / sqrt(eps + v_t)`` when the sum is replaced by RMSprop's moving average."""
    v, out = 0.0, []
    for g in grads:
        v = rho * v + (1 - rho) * float(g @ g)
        out.append(lr / math.sqrt(eps + v))
    return np.asarray(out)


@claim(id="adaptive.adagrad_step_never_grows", kind="inequality", title="AdaGrad's effective step never grows",
       statement=r"$\eta_t = \eta / \sqrt{\epsilon + \sum_{j=1}^t \|\nabla f(x_j)\|^2}$ never grows: "
                 r"the larger the previous gradients, the smaller the next steps",
       source=cite(SEED_001, "Adding adaptive learning rates", "and " + cite(SEED_002, "Popular Stochastic Gradient "
                   "Variants", "AdaGrad")))
def check_adagrad_step_never_grows(ctx: Context, *, steps: Steps = adagrad_norm_steps) -> Outcome:
    """Hypothesis searches gradient sequences for a step that grows; past the condition (RMSprop's moving
    average instead of the sum) one must be found."""
    from hypothesis import strategies as st

    grads_strategy = st.integers(1, 4).flatmap(
        lambda d: st.lists(st.lists(st.floats(-1e3, 1e3), min_size=d, max_size=d), min_size=1, max_size=30))
    largest = [0.0]

    def grows(step_fn: Steps, track: bool):
        def violation(rows: list[list[float]]) -> dict[str, Any] | None:
            g = np.asarray(rows, dtype=np.float64)
            s = step_fn(g, 0.1, 1e-8)
            if track and s.size > 1:
                largest[0] = max(largest[0], float(np.max(s[1:] / s[:-1])))
            up = np.nonzero(s[1:] > s[:-1])[0]
            if up.size:
                k = int(up[0])
                return {"gradients": g.tolist(), "step at t": float(s[k]), "step at t + 1": float(s[k + 1]), "t": k + 1}
            return None
        return violation

    n = 40 if ctx.quick else 100
    tried, counter = hypothesis_search(grads_strategy, grows(steps, True), seed=ctx.seed, max_examples=n)
    past_tried, past = hypothesis_search(grads_strategy, grows(rmsprop_steps, False), seed=ctx.seed, max_examples=n)
    evidence = {"gradient sequences searched": tried, "implementation": "the library's adagrad_norm kernel (NumPy)",
                "past the condition: RMSprop's moving average instead of the sum": {
                    "sequences searched": past_tried, "a step that grows": past}}
    pair = Pair(r"largest ratio of consecutive steps $\eta_{t+1}/\eta_t$ over the sequences searched", largest[0], 1.0, "<=")
    return Outcome.from_findings(evidence, pair=pair, counterexample=counter, decided=past is not None,
                                 why="the moving-average variant never grew either")


@claim(id="adaptive.epsilon_placement_as_written", kind="as-written", title="Where AdaGrad's epsilon sits, as written",
       statement=r"$\epsilon$ is a small number added to the numerator to avoid division by zero",
       source=cite(SEED_001, "Adding adaptive learning rates"),
       correction=Correction(
           r"\eta_t = \eta \,/\, \sqrt{\epsilon + \sum_{j=1}^t \|\nabla f(x_j)\|^2}",
           r"$\epsilon$ belongs in the denominator, as the slide's own formula writes it: added to the numerator "
           r"it leaves $0/0$ at a zero gradient, which is what it was meant to prevent.",
           checked_by="the same first step at a zero gradient"),
       corrected={"placement": "denominator"})
def check_epsilon_placement_as_written(ctx: Context, *, placement: str = "numerator") -> Outcome:
    """The lecture says epsilon is "added to the numerator to avoid division by zero". Evaluate AdaGrad-Norm's
    first step at a zero gradient with epsilon where ``placement`` says (``"numerator"``: the text,
    ``"denominator"``: the displayed formula): is it finite?"""
    eta, eps = 0.1, 1e-8
    g = np.zeros(3)
    with np.errstate(divide="ignore", invalid="ignore"):
        if placement == "numerator":
            step = (eta + eps) / np.sqrt(np.sum(g * g)) * g
        elif placement == "denominator":
            step = eta / np.sqrt(eps + np.sum(g * g)) * g
        else:
            raise ValueError(f"placement must be 'numerator' or 'denominator'; got {placement!r}")
    finite = bool(np.all(np.isfinite(step)))
    evidence = {"ε placed in the": placement, "gradient": g.tolist(), "η": eta, "ε": eps,
                "first step": [float(v) if np.isfinite(v) else repr(float(v)) for v in step], "finite": finite}
    pair = Pair("entries of the first step that are finite at a zero gradient", int(np.sum(np.isfinite(step))), 3, "=")
    if finite:
        return Outcome("holds", evidence, pair=pair)
    return Outcome("refuted", evidence, pair=pair,
                   counterexample={"gradient at x₁": "0 (all three entries)",
                                   f"first step with ε in the {placement}": "0/0 = nan in every entry"},
                   counterexample_explained="At a zero gradient the accumulated sum is 0, so with ε only in the "
                                            "numerator the step divides 0 by 0.")


identity(
    "adaptive.adam_correction_as_written",
    "mu",
    "Sum((1 - beta)*beta**(i - k)*mu, (k, 1, i))/(1 + beta**i)",
    where={"mu": "real", "beta": "(0, 1)", "i": "integer >= 1"},
    statement=(r"Adam: $\hat m_i = m_i/(1+\hat\beta_1^i)$, $\hat v_i = v_i/(1+\hat\beta_2^i)$ "
               r"(bias-corrected moments, as written): $E[\hat m_i] = E[g]$ for stationary gradients, where "
               r"$E[m_i] = \sum_{k=1}^{i}(1-\beta_1)\beta_1^{i-k} E[g]$ ($m_0 = 0$)"),
    source=cite(SEED_002, "Popular Stochastic Gradient Variants", "Adaptive Momentum (Adam)"),
    kind="as-written",
    title="Adam's bias correction, as written",
    sides=("E[g] = μ", "E[m̂_i] with the correction as written"),
    corrected="Sum((1 - beta)*beta**(i - k)*mu, (k, 1, i))/(1 - beta**i)",
    corrected_tex=r"\hat m_i = m_i/(1-\beta_1^i),\ \hat v_i = v_i/(1-\beta_2^i)",
    explanation=(r"The moving averages start at 0, so $E[m_i] = (1-\beta_1^i)E[g]$: dividing by $1-\beta_1^i$ "
                 r"removes that bias (Kingma & Ba, §3); dividing by $1+\beta_1^i$ shrinks it further. The same holds "
                 r"for $v_i$ with $\beta_2$. Checked for every $i \ge 1$ and $\beta_1 \in (0, 1)$."),
)


def adam_figure(outcome: Outcome):
    fig, ax = new_panel()
    res = (outcome.data or {}).get("results") or []
    for k, r in enumerate(res):
        ax.errorbar([k], [r.estimate / r.theoretical], yerr=[[(r.estimate - r.ci[0]) / r.theoretical],
                                                              [(r.ci[1] - r.estimate) / r.theoretical]], fmt="o")
    ax.axhline(1.0, color="k", lw=0.8)
    labels = [("$\\hat m_{%s}$" if r.name.startswith("m_hat") else "$\\hat v_{%s}$") % r.name.split("_t")[1]
              for r in res]
    ax.set_xticks(range(len(res)), labels)
    label_axes(ax, "moment and step t", "estimate / theoretical value",
               "Adam's bias-corrected moments (1 - alpha intervals)", legend=None)
    return fig


@claim(id="adaptive.adam_moments_unbiased", kind="empirical", title="Adam's bias-corrected moments are unbiased",
       statement=r"For stationary gradients, $\hat m_t = m_t/(1-\beta_1^t)$ and $\hat v_t = v_t/(1-\beta_2^t)$ are "
                 r"unbiased: $E[\hat m_t] = E[g]$, $E[\hat v_t] = E[g^2]$",
       source="Kingma & Ba, 'Adam: A Method for Stochastic Optimization' (2015), §3; cited in " +
              cite(SEED_002, "Popular Stochastic Gradient Variants"),
       figure=adam_figure, false_fail_rate=FALSE_FAIL_RATE)
def check_adam_unbiased(ctx: Context) -> Outcome:
    """Calibrated Monte Carlo with the library's Adam kernel: for iid gradients ``N(mu, s^2)``,
    ``E[m_hat_t] = mu`` and ``E[v_hat_t] = mu^2 + s^2`` at every t (coordinates are independent runs)."""
    from verify.kernels.optimizers import bias_correction, run_optimizer

    mu, s, b1, b2 = 0.7, 1.3, 0.9, 0.999
    ts = (1, 5, 50)
    budget = ErrorBudget(declared_alpha(ctx), checks=2 * len(ts))
    effect_m, effect_v = 0.1 * s, 0.1 * (mu**2 + s**2)
    # the widest sample is at t = 1 (m_hat_1 = g, v_hat_1 = g^2): sd(g) = s, sd(g^2)^2 = 2 s^4 + 4 mu^2 s^2
    sd_v = math.sqrt(2 * s**4 + 4 * mu**2 * s**2)
    R = max(sample_size(effect_m, s, budget.per_check), sample_size(effect_v, sd_v, budget.per_check))
    rng = rng_for(ctx, "adaptive.adam")
    grads = mu + s * rng.normal(size=(max(ts), R))
    _, states = run_optimizer("adam", np.zeros(R), grads, backend="numpy", return_state=True, lr=1e-3, beta1=b1,
                              beta2=b2, eps=1e-8)
    results: list[StatResult] = []
    for t in ts:
        m_hat = states["m"][t - 1] / bias_correction(b1, t)
        v_hat = states["v"][t - 1] / bias_correction(b2, t)
        for name, x, theory, effect in (("m_hat", m_hat, mu, effect_m), ("v_hat", v_hat, mu**2 + s**2, effect_v)):
            a = budget.take()
            mean, lo, hi, sd = mean_interval(x, a)
            results.append(StatResult(f"{name}_t{t}", mean, (lo, hi), theory, a, x.size, decide(mean, lo, hi, theory, effect),
                                      effect, sd))
    raw = states["m"][0]
    mean, lo, hi, _ = mean_interval(raw, budget.alpha)
    names = {"m_hat": ("E[m̂_t]", "E[g] = μ"), "v_hat": ("E[v̂_t]", "E[g²] = μ² + s²")}
    quantities = [f"{names[r.name.split('_t')[0]][0]} at t = {r.name.split('_t')[1]} (theory "
                  f"{names[r.name.split('_t')[0]][1]})" for r in results]
    rows = [stat_row(r, q) for r, q in zip(results, quantities, strict=True)]
    evidence = {"gradients": "i.i.d. N(μ, s²), μ = 0.7, s = 1.3", "β₁": b1, "β₂": b2, "independent runs": R,
                "false-fail rate": budget.alpha, "bias-corrected moments": rows,
                "without the correction, E[m₁]": {"estimate": mean, "interval": [lo, hi], "E[g]": mu,
                                                   "(1 − β₁) E[g]": (1 - b1) * mu}}
    return calibrated_outcome(results, rows, evidence, pair=stat_pair(results, quantities), data={"results": results})


