"""Adaptive learning rates: AdaGrad's step never grows, where epsilon sits, Adam's bias correction.

The library's optimizer kernels (:mod:`verify.kernels.optimizers`) run the rules; the claims read
their state (``return_state=True``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from verify.claims._common import SEED_001, SEED_002, cite, hypothesis_search, jsonable, new_figure, rng_for
from verify.claims.registry import Context, Outcome, claim
from verify.stats import ErrorBudget, StatResult, combine, decide, mean_interval, sample_size

__all__ = [
    "adagrad_norm_steps",
    "rmsprop_steps",
    "check_adagrad_step_never_grows",
    "check_epsilon_placement_as_written",
    "check_adam_correction_as_written",
    "check_adam_unbiased",
]

Steps = Callable[[np.ndarray, float, float], np.ndarray]


def adagrad_norm_steps(grads: np.ndarray, lr: float, eps: float) -> np.ndarray:
    r"""Effective steps $\eta/\sqrt{\epsilon + \sum_{j\le t}\|\nabla f(x_j)\|^2}$ of AdaGrad-Norm (001), from
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


def check_adagrad_step_never_grows(ctx: Context, *, steps: Steps = adagrad_norm_steps) -> Outcome:
    from hypothesis import strategies as st

    grads_strategy = st.integers(1, 4).flatmap(
        lambda d: st.lists(st.lists(st.floats(-1e3, 1e3), min_size=d, max_size=d), min_size=1, max_size=30))

    def grows(step_fn: Steps):
        def violation(rows: list[list[float]]) -> dict[str, Any] | None:
            g = np.asarray(rows, dtype=np.float64)
            s = step_fn(g, 0.1, 1e-8)
            up = np.nonzero(s[1:] > s[:-1])[0]
            if up.size:
                k = int(up[0])
                return {"gradients": g.tolist(), "step_t": float(s[k]), "step_t+1": float(s[k + 1]), "t": k + 1}
            return None
        return violation

    n = 40 if ctx.quick else 100
    tried, counter = hypothesis_search(grads_strategy, grows(steps), seed=ctx.seed, max_examples=n)
    past_tried, past = hypothesis_search(grads_strategy, grows(rmsprop_steps), seed=ctx.seed, max_examples=n)
    evidence = {"examples": tried, "past_condition_rmsprop_examples": past_tried,
                "past_condition_rmsprop_step_grows": past}
    if counter is not None:
        return Outcome("refuted", jsonable(evidence), counterexample=jsonable(counter))
    if past is None:
        return Outcome("inconclusive", jsonable(evidence), why="the moving-average variant never grew either")
    return Outcome("holds", jsonable(evidence))


@claim(
    id="adaptive.adagrad_step_never_grows",
    statement=(r"$\eta_t = \eta / \sqrt{\epsilon + \sum_{j=1}^t \|\nabla f(x_j)\|^2}$ never grows: "
               r"the larger the previous gradients, the smaller the next steps"),
    source=cite(SEED_001, "Adding adaptive learning rates", f"and {SEED_002}, AdaGrad of \"Popular Stochastic "
                "Gradient Variants\""),
    kind="inequality",
    topic="adaptive",
    title="AdaGrad's effective step never grows",
)
def _adagrad(ctx: Context) -> Outcome:
    return check_adagrad_step_never_grows(ctx)


def check_epsilon_placement_as_written(ctx: Context) -> Outcome:
    """001 says epsilon is "added to the numerator to avoid division by zero". Evaluate the first step at a
    zero gradient with epsilon where the text puts it and where the formula puts it."""
    eta, eps = 0.1, 1e-8
    g = np.zeros(3)
    with np.errstate(divide="ignore", invalid="ignore"):
        numerator = (eta + eps) / np.sqrt(np.sum(g * g)) * g  # epsilon in the numerator, as the text says
        denominator = eta / np.sqrt(eps + np.sum(g * g)) * g  # epsilon as in the displayed formula
    text_ok = bool(np.all(np.isfinite(numerator)))
    formula_ok = bool(np.all(np.isfinite(denominator)))
    evidence = {"gradient": g.tolist(), "step_with_eps_in_numerator": [repr(float(v)) for v in numerator],
                "step_with_eps_in_denominator": denominator.tolist(), "formula_avoids_division_by_zero": formula_ok}
    if text_ok:
        return Outcome("holds", jsonable(evidence))
    return Outcome("refuted", jsonable(evidence),
                   counterexample={"x_1 step at grad f(x_1) = 0, eps in the numerator": "0/0 = nan"},
                   corrected=(r"\epsilon\text{ is added to the denominator: } \eta/\sqrt{\epsilon + \sum_j\|\nabla f\|^2}"
                              if formula_ok else None))


@claim(
    id="adaptive.epsilon_placement_as_written",
    statement=r"$\epsilon$ is a small number added to the numerator to avoid division by zero",
    source=cite(SEED_001, "Adding adaptive learning rates"),
    kind="as-written",
    topic="adaptive",
    title="Where AdaGrad's epsilon sits, as written",
)
def _eps(ctx: Context) -> Outcome:
    return check_epsilon_placement_as_written(ctx)


def _expected_moment(correction: Callable[[Any, Any], Any]) -> tuple[Any, Any, tuple]:
    """SymPy: ``E[m_i]`` for iid gradients of mean ``mu`` (``m_0 = 0``), and ``E[correction(m_i)]``.

    ``E[m_i] = beta E[m_{i-1}] + (1 - beta) mu`` with ``E[m_0] = 0`` is solved by ``mu (1 - beta^i)``: the
    candidate is verified against the recursion and the start, by induction (no summation needed).
    """
    import sympy as sp

    beta, mu = sp.symbols("beta mu", positive=True)
    i = sp.symbols("i", integer=True, positive=True)
    em = mu * (1 - beta**i)
    step = sp.simplify(beta * em.subs(i, i - 1) + (1 - beta) * mu - em) == 0
    start = em.subs(i, 0) == 0
    if not (step and start):  # pragma: no cover - would mean SymPy disagrees with the algebra
        raise AssertionError("the closed form of E[m_i] failed its induction")
    return em, sp.simplify(correction(em, beta**i)), (beta, mu, i)


def check_adam_correction_as_written(ctx: Context) -> Outcome:
    r"""002 writes ``m_hat = m / (1 + beta_1^i)``: is ``E[m_hat] = E[g]`` for stationary gradients?"""
    import sympy as sp

    em, written, (beta, mu, i) = _expected_moment(lambda m, bi: m / (1 + bi))
    _, kingma, _ = _expected_moment(lambda m, bi: m / (1 - bi))
    written_unbiased = sp.simplify(written - mu) == 0
    kingma_unbiased = sp.simplify(kingma - mu) == 0
    evidence = {"E[m_i]": str(em), "E[m_i / (1 + beta^i)]": str(written), "E[m_i / (1 - beta^i)]": str(kingma)}
    if written_unbiased:
        return Outcome("holds", evidence)
    val = float(written.subs({beta: sp.Rational(9, 10), mu: 1, i: 1}))
    return Outcome("refuted", evidence,
                   counterexample={"beta_1": 0.9, "i": 1, "E[g]": 1.0, "E[m_hat] as written": val},
                   corrected=r"\hat m_i = m_i/(1-\beta_1^i),\ \hat v_i = v_i/(1-\beta_2^i)" if kingma_unbiased else None)


@claim(
    id="adaptive.adam_correction_as_written",
    statement=(r"Adam: $\hat m_i = m_i/(1+\hat\beta_1^i)$, $\hat v_i = v_i/(1+\hat\beta_2^i)$ "
               r"(bias-corrected moments, as written)"),
    source=cite(SEED_002, "Popular Stochastic Gradient Variants", "Adaptive Momentum (Adam)"),
    kind="as-written",
    topic="adaptive",
    title="Adam's bias correction, as written",
)
def _adam_written(ctx: Context) -> Outcome:
    return check_adam_correction_as_written(ctx)


def check_adam_unbiased(ctx: Context) -> Outcome:
    """Calibrated Monte Carlo with the library's Adam kernel: for iid gradients ``N(mu, s^2)``,
    ``E[m_hat_t] = mu`` and ``E[v_hat_t] = mu^2 + s^2`` at every t (coordinates are independent runs)."""
    from verify.kernels.optimizers import bias_correction, run_optimizer

    mu, s, b1, b2 = 0.7, 1.3, 0.9, 0.999
    ts = (1, 5, 50)
    budget = ErrorBudget(1e-6, checks=2 * len(ts))
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
    mean, lo, hi, _ = mean_interval(raw, 1e-6)
    evidence = {"mu": mu, "s": s, "beta1": b1, "beta2": b2, "runs": R, "budget": budget.to_json(),
                "subchecks": [r.to_json() for r in results],
                "uncorrected_m_1": {"estimate": mean, "ci": [lo, hi], "would_be": mu, "equals": (1 - b1) * mu}}
    verdict = combine([r.verdict for r in results])
    if verdict == "refuted":
        return Outcome("refuted", jsonable(evidence),
                       counterexample=jsonable(next(r for r in results if r.verdict == "refuted").to_json()))
    if verdict == "inconclusive":
        return Outcome("inconclusive", jsonable(evidence), why="an interval is wider than its effect")
    return Outcome("holds", jsonable(evidence), data={"results": results})


def adam_figure(outcome: Outcome):
    fig, axes = new_figure(1, 1)
    ax = axes[0, 0]
    res = (outcome.data or {}).get("results") or []
    for k, r in enumerate(res):
        ax.errorbar([k], [r.estimate / r.theoretical], yerr=[[(r.estimate - r.ci[0]) / r.theoretical],
                                                              [(r.ci[1] - r.estimate) / r.theoretical]], fmt="o")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks(range(len(res)), [r.name for r in res], rotation=30)
    ax.set_xlabel("moment and step t")
    ax.set_ylabel("estimate / theoretical value")
    ax.set_title("Adam's bias-corrected moments (1 - alpha intervals)")
    return fig


@claim(
    id="adaptive.adam_moments_unbiased",
    statement=(r"For stationary gradients, $\hat m_t = m_t/(1-\beta_1^t)$ and $\hat v_t = v_t/(1-\beta_2^t)$ are "
               r"unbiased: $E[\hat m_t] = E[g]$, $E[\hat v_t] = E[g^2]$"),
    source=("Kingma & Ba, 'Adam: A Method for Stochastic Optimization' (2015), §3; cited in " +
            cite(SEED_002, "Popular Stochastic Gradient Variants")),
    kind="empirical",
    topic="adaptive",
    title="Adam's bias-corrected moments are unbiased",
    figure=adam_figure,
)
def _adam_unbiased(ctx: Context) -> Outcome:
    return check_adam_unbiased(ctx)
