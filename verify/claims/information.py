"""Entropy, cross-entropy, KL divergence and Gibbs' inequality (seed 002, its last three slides).

Named claim 1 (``information.gibbs``): ``H(p) <= H(p, q)``; ``D(p||q) >= 0`` with equality iff
``p = q``; ``D(p||q) = H(p, q) - H(p)``; ``-(1/N) log L(theta) = H(p_hat, q_theta)``, checked
symbolically (SymPy) and on Hypothesis-drawn distributions with zeros, and shown to fail just past
its conditions (a ``q`` whose mass exceeds 1). The implementations checked can be injected.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from verify.claims._common import (
    EPS64,
    SEED_002,
    cite,
    hypothesis_search,
    jsonable,
    kernel_backend,
    new_figure,
    rng_for,
)
from verify.claims.registry import Context, Outcome, claim

__all__ = [
    "entropy_reference",
    "cross_entropy_reference",
    "kl_reference",
    "kernel_information",
    "check_gibbs",
    "check_kl_step1_as_written",
    "check_likelihood_cross_entropy",
    "check_proof_chain",
    "gibbs_figure",
]

Info = Callable[..., float]


def entropy_reference(p: np.ndarray) -> float:
    r"""$H(p) = \sum_x p(x)\log(1/p(x))$ with $0 \log(1/0) = 0$ (002, "Cross Entropy + KL Divergence")."""
    p = np.asarray(p, dtype=np.float64)
    s = p > 0
    return float(-np.sum(p[s] * np.log(p[s])))


def cross_entropy_reference(p: np.ndarray, q: np.ndarray) -> float:
    r"""$H(p,q) = \sum_x p(x)\log(1/q(x))$; $+\infty$ where $p(x) > 0 = q(x)$."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    s = p > 0
    if np.any(q[s] == 0):
        return math.inf
    return float(-np.sum(p[s] * np.log(q[s])))


def kl_reference(p: np.ndarray, q: np.ndarray) -> float:
    r"""$D_{KL}(p\|q) = \sum_x p(x)\log(p(x)/q(x))$; $+\infty$ where $p(x) > 0 = q(x)$."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    s = p > 0
    if np.any(q[s] == 0):
        return math.inf
    return float(np.sum(p[s] * np.log(p[s] / q[s])))


def kernel_information(backend: str) -> dict[str, Info]:
    """``entropy``, ``cross_entropy``, ``kl`` of the library's loss kernels, on 1-D distributions."""
    from verify.kernels import losses

    def entropy(p: np.ndarray) -> float:
        return float(losses.entropy(np.ascontiguousarray(p)[None, :], reduction="sum", backend=backend)[0])

    def cross_entropy(p: np.ndarray, q: np.ndarray) -> float:
        return float(losses.cross_entropy(np.ascontiguousarray(p)[None, :], np.ascontiguousarray(q)[None, :],
                                          reduction="sum", backend=backend)[0])

    def kl(p: np.ndarray, q: np.ndarray) -> float:
        return float(losses.kl_divergence(np.ascontiguousarray(p)[None, :], np.ascontiguousarray(q)[None, :],
                                          reduction="sum", backend=backend)[0])

    return {"entropy": entropy, "cross_entropy": cross_entropy, "kl": kl}


def _tolerance(p: np.ndarray, q: np.ndarray) -> float:
    # Each term p*log(p/q) carries a few roundings (division, log, product: <= 4 eps relative) and the
    # K-term sum adds K*eps of the sum of magnitudes; 4*K*eps*(sum |terms| + H(p) + H(p,q)) bounds it.
    s = (p > 0) & (q > 0)
    mag = float(np.sum(np.abs(p[s] * np.log(p[s]))) + np.sum(np.abs(p[s] * np.log(q[s]))))
    return 4 * p.size * EPS64 * (mag + 1e-300)


def _mp_kl(p: np.ndarray, q: np.ndarray) -> Any:
    import mpmath

    if np.any(q[p > 0] == 0):
        return mpmath.inf
    with mpmath.workdps(50):
        return mpmath.fsum(mpmath.mpf(a) * mpmath.log(mpmath.mpf(a) / mpmath.mpf(b)) for a, b in zip(p, q, strict=True)
                           if a > 0)


def _distribution_pairs():
    from hypothesis import strategies as st

    weight = st.one_of(st.just(0.0), st.floats(1e-12, 1.0), st.integers(1, 5).map(float))

    def pair(k: int):
        vec = st.lists(weight, min_size=k, max_size=k).filter(lambda w: sum(w) > 0)
        return st.tuples(vec, vec)

    return st.integers(2, 6).flatmap(pair)


def _normalise(w: list[float]) -> np.ndarray:
    a = np.asarray(w, dtype=np.float64)
    return a / a.sum()


def _symbolic_checks() -> dict[str, Any]:
    """SymPy: the identity, the likelihood identity, log t <= t - 1 with equality only at 1, argmin_q H."""
    import sympy as sp

    p1, p2, q1, q2, t, lam, n = sp.symbols("p1 p2 q1 q2 t lambda N", positive=True)
    p = [p1, p2, 1 - p1 - p2]
    q = [q1, q2, 1 - q1 - q2]
    H = -sum(pi * sp.log(pi) for pi in p)
    Hpq = -sum(pi * sp.log(qi) for pi, qi in zip(p, q, strict=True))
    D = sum(pi * sp.log(pi / qi) for pi, qi in zip(p, q, strict=True))
    identity = sp.simplify(sp.expand_log(D - (Hpq - H), force=True)) == 0
    # -(1/N) log prod q^(N p) = -sum p log q
    likelihood = sp.prod([qi ** (n * pi) for pi, qi in zip(p, q, strict=True)])
    ml = sp.simplify(sp.expand_log(-sp.log(likelihood) / n, force=True) - Hpq) == 0
    # g(t) = t - 1 - log t: unique stationary point t = 1, g(1) = 0, g'' = 1/t^2 > 0 on t > 0
    g = t - 1 - sp.log(t)
    stationary = sp.solve(sp.diff(g, t), t)
    convex = sp.simplify(sp.diff(g, t, 2)) == 1 / t**2
    log_bound = stationary == [1] and g.subs(t, 1) == 0 and convex
    # min_q H(p, q) over the simplex: the only stationary point in (q1, q2) is q = p, and H(p, .) is convex
    sol = sp.solve([sp.diff(Hpq, q1), sp.diff(Hpq, q2)], [q1, q2], dict=True)
    argmin = len(sol) == 1 and sp.simplify(sol[0][q1] - p1) == 0 and sp.simplify(sol[0][q2] - p2) == 0
    return {"D_equals_H_pq_minus_H_p": bool(identity), "minus_log_likelihood_over_N_equals_H_pq": bool(ml),
            "log_t_le_t_minus_1_equality_only_at_1": bool(log_bound), "argmin_q_H_pq_is_p": bool(argmin)}


def check_gibbs(
    ctx: Context,
    *,
    entropy: Info = entropy_reference,
    cross_entropy: Info = cross_entropy_reference,
    kl: Info = kl_reference,
) -> Outcome:
    """Gibbs' inequality family on the given implementations of ``H``, ``H(p, q)`` and ``D``."""
    n_examples = 50 if ctx.quick else 150
    symbolic = _symbolic_checks()

    def violation(pair: tuple[list[float], list[float]]) -> dict[str, Any] | None:
        p, q = _normalise(pair[0]), _normalise(pair[1])
        d, hp, hpq = kl(p, q), entropy(p), cross_entropy(p, q)
        tol = _tolerance(p, q)
        bad: list[str] = []
        if not d >= -tol:
            bad.append("D(p||q) < 0")
        if not hp <= hpq + tol:
            bad.append("H(p) > H(p,q)")
        if math.isinf(hpq) != math.isinf(d) or (math.isfinite(d) and abs(d - (hpq - hp)) > tol):
            bad.append("D != H(p,q) - H(p)")
        if np.array_equal(p, q) and abs(d) > tol:
            bad.append("D != 0 although p = q")
        if not np.array_equal(p, q) and math.isfinite(d) and _mp_kl(p, q) > 0 and d < -tol:
            bad.append("D < 0 although p != q")
        if not bad:
            return None
        return {"p": p.tolist(), "q": q.tolist(), "D": d, "H_p": hp, "H_pq": hpq, "tolerance": tol, "fails": bad}

    tried, counter = hypothesis_search(_distribution_pairs(), violation, seed=ctx.seed, max_examples=n_examples)

    # Equality iff p = q: D(p||p) = 0 and D(p||q) > 0 (50-digit arithmetic) for q a perturbation of p.
    rng = rng_for(ctx, "information.gibbs.equality")
    eq_fail = None
    for _ in range(50 if ctx.quick else 200):
        k = int(rng.integers(2, 7))
        p = rng.dirichlet(np.ones(k))
        p[rng.random(k) < 0.3] = 0.0
        if p.sum() == 0:
            p[0] = 1.0
        p = p / p.sum()
        q = p.copy()
        if abs(kl(p, q)) > _tolerance(p, q):
            eq_fail = {"p": p.tolist(), "q": q.tolist(), "D": kl(p, q), "fails": ["D(p||p) != 0"]}
            break

    # Past the conditions: q of total mass 1 + delta (not a distribution) makes D(p||q) = -log(1+delta) < 0.
    from hypothesis import strategies as st

    def past(pair: tuple[list[float], float]) -> dict[str, Any] | None:
        # q is not a distribution here, which the kernels rightly refuse: the definition is evaluated
        p = _normalise(pair[0])
        q = p * (1 + pair[1])
        d = kl_reference(p, q)
        if d < -_tolerance(p, q):
            return {"p": p.tolist(), "q": q.tolist(), "mass_of_q": float(q.sum()), "D": d,
                    "H_p": entropy_reference(p), "H_pq": cross_entropy_reference(p, q)}
        return None

    past_strategy = st.tuples(st.lists(st.floats(0.01, 1.0), min_size=2, max_size=5), st.floats(1e-3, 0.05))
    past_tried, past_found = hypothesis_search(past_strategy, past, seed=ctx.seed + 1, max_examples=n_examples)

    # Figure data: gaps over plain random draws (Dirichlet with zeros)
    fig_rng = rng_for(ctx, "information.gibbs.figure")
    gaps, ds = [], []
    for _ in range(300):
        k = int(fig_rng.integers(2, 7))
        p = fig_rng.dirichlet(np.full(k, 0.7))
        q = fig_rng.dirichlet(np.full(k, 0.7))
        p[fig_rng.random(k) < 0.2] = 0.0
        if p.sum() == 0:
            p[0] = 1.0
        p = p / p.sum()
        gaps.append(cross_entropy(p, q) - entropy(p))
        ds.append(kl(p, q))

    evidence = {
        "symbolic": symbolic,
        "hypothesis_examples": tried,
        "equality_draws_checked": 50 if ctx.quick else 200,
        "past_condition_examples": past_tried,
        "past_condition_violation_found": past_found is not None,
        "min_gap_H_pq_minus_H_p": float(np.min(gaps)),
        "max_abs_D_minus_gap": float(np.max(np.abs(np.asarray(ds) - np.asarray(gaps)))),
    }
    data = {"gaps": np.asarray(gaps), "D": np.asarray(ds), "past": past_found}
    if not all(symbolic.values()):
        failed = [k for k, v in symbolic.items() if not v]
        return Outcome("refuted", jsonable(evidence), counterexample={"symbolic_checks_failed": failed}, data=data)
    if counter is not None or eq_fail is not None:
        return Outcome("refuted", jsonable(evidence), counterexample=jsonable(counter or eq_fail), data=data)
    if past_found is None:
        return Outcome("inconclusive", jsonable(evidence), data=data,
                       why="no violation found past the conditions (q of mass > 1): the search lacks power")
    evidence["past_condition_counterexample"] = jsonable(past_found)
    return Outcome("holds", jsonable(evidence), data=data)


def gibbs_figure(outcome: Outcome):
    fig, axes = new_figure(2, 1, width=9.6)
    data = outcome.data or {}
    gaps, ds = data.get("gaps"), data.get("D")
    ax = axes[0, 0]
    if gaps is not None:
        finite = np.isfinite(gaps) & np.isfinite(ds)
        ax.scatter(gaps[finite], ds[finite], s=8, alpha=0.6, label="drawn (p, q), zeros included")
        top = float(np.max(gaps[finite])) if finite.any() else 1.0
        ax.plot([0, top], [0, top], color="k", lw=0.8, label=r"$D = H(p,q) - H(p)$")
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_xlabel(r"$H(p,q) - H(p)$ [nats]")
    ax.set_ylabel(r"$D_{KL}(p\|q)$ [nats]")
    ax.set_title("Gibbs: the gap is D and never negative")
    ax.legend(fontsize=8)
    ax = axes[0, 1]
    deltas = np.linspace(0, 0.05, 50)
    ax.plot(1 + deltas, -np.log1p(deltas), label=r"$D(p\|(1+\delta)p) = -\log(1+\delta)$")
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_xlabel(r"total mass of $q$ (1 = a distribution)")
    ax.set_ylabel(r"$D_{KL}(p\|q)$ [nats]")
    ax.set_title("just past the condition: D < 0")
    ax.legend(fontsize=8)
    return fig


@claim(
    id="information.gibbs",
    statement=(r"$H(p) \le H(p,q)$; $D_{KL}(p\|q) \ge 0$ with equality iff $p=q$; "
               r"$D_{KL}(p\|q) = H(p,q) - H(p)$; $-\frac{1}{N}\log\mathcal{L}(\theta) = H(p, q_\theta)$"),
    source=cite(SEED_002, "Cross Entropy Minimization", 'with "Cross Entropy + KL Divergence" and '
                '"Cross Entropy + Maximum Likelihood"'),
    kind="inequality",
    topic="information",
    title="Gibbs' inequality and the cross-entropy identities",
    figure=gibbs_figure,
)
def _gibbs(ctx: Context) -> Outcome:
    impl = kernel_information(kernel_backend(ctx))
    out = check_gibbs(ctx, **impl)
    out.evidence["implementation"] = f"verify.kernels.losses on backend {kernel_backend(ctx)!r}"
    return out


def check_kl_step1_as_written(ctx: Context, *, kl: Info = kl_reference) -> Outcome:
    """The proof's Step 1 writes ``D_KL(p, q) = H(q, p) - H(p)``: evaluate it against the definition."""
    rng = rng_for(ctx, "information.kl_step1")
    worst = None
    trials = 200
    for _ in range(trials):
        k = int(rng.integers(2, 6))
        p, q = rng.dirichlet(np.ones(k)), rng.dirichlet(np.ones(k))
        d = kl(p, q)
        written = cross_entropy_reference(q, p) - entropy_reference(p)
        corrected = cross_entropy_reference(p, q) - entropy_reference(p)
        tol = _tolerance(p, q) + _tolerance(q, p)
        gap = abs(d - written)
        if gap > tol and (worst is None or gap > worst["abs_difference"]):
            worst = {"p": p.tolist(), "q": q.tolist(), "D_KL(p,q)": d, "H(q,p) - H(p) as written": written,
                     "H(p,q) - H(p)": corrected, "abs_difference": gap, "corrected_matches": abs(d - corrected) <= tol}
    evidence = {"draws": trials, "mismatches_found": worst is not None}
    if worst is None:
        return Outcome("holds", evidence)
    corrected_ok = bool(worst["corrected_matches"])
    return Outcome("refuted", jsonable(evidence), counterexample=jsonable(worst),
                   corrected=r"D_{KL}(p, q) = H(p, q) - H(p)" if corrected_ok else None)


@claim(
    id="information.kl_step1_as_written",
    statement=r"$D_{KL}(p, q) = H(q, p) - H(p) \ge 0$ (as written in Step 1 of the proof sketch)",
    source=cite(SEED_002, "Cross Entropy Minimization"),
    kind="as-written",
    topic="information",
    title="Step 1 of the Gibbs proof sketch, as written",
)
def _kl_step1(ctx: Context) -> Outcome:
    return check_kl_step1_as_written(ctx)


def check_proof_chain(ctx: Context) -> Outcome:
    """``-sum p log(q/p) >= -sum p (q/p - 1) = -sum q + sum p = 0`` for positive p, q (50-digit check)."""
    import mpmath

    rng = rng_for(ctx, "information.proof_chain")
    worst_slack = math.inf
    draws = 100 if ctx.quick else 300
    with mpmath.workdps(50):
        for _ in range(draws):
            k = int(rng.integers(2, 7))
            p = [mpmath.mpf(float(x)) for x in rng.dirichlet(np.ones(k))]
            q = [mpmath.mpf(float(x)) for x in rng.dirichlet(np.ones(k))]
            sp_, sq = mpmath.fsum(p), mpmath.fsum(q)
            p = [x / sp_ for x in p]
            q = [x / sq for x in q]
            lhs = -mpmath.fsum(a * mpmath.log(b / a) for a, b in zip(p, q, strict=True))
            mid = -mpmath.fsum(a * (b / a - 1) for a, b in zip(p, q, strict=True))
            last = -mpmath.fsum(q) + mpmath.fsum(p)
            if lhs < mid or abs(mid - last) > mpmath.mpf(10) ** -45:
                return Outcome("refuted", {"draws": draws},
                               counterexample={"p": [float(x) for x in p], "q": [float(x) for x in q],
                                               "lhs": float(lhs), "middle": float(mid), "last": float(last)})
            worst_slack = min(worst_slack, float(lhs - mid))
    return Outcome("holds", {"draws": draws, "min_slack_of_log_bound": worst_slack, "digits": 50})


@claim(
    id="information.proof_chain",
    statement=(r"$-\sum_x p\log\frac{q}{p} \ge -\sum_x p\left(\frac{q}{p}-1\right) = -\sum_x q + \sum_x p = 0$"
               r" for $p, q > 0$"),
    source=cite(SEED_002, "Cross Entropy Minimization"),
    kind="inequality",
    topic="information",
    title="The inequality chain of the Gibbs proof sketch",
)
def _proof_chain(ctx: Context) -> Outcome:
    return check_proof_chain(ctx)


def check_likelihood_cross_entropy(ctx: Context, *, cross_entropy: Info = cross_entropy_reference) -> Outcome:
    """``-(1/N) log prod_x q(x)^{N p(x)} = H(p, q)`` for the empirical ``p`` of N drawn labels."""
    rng = rng_for(ctx, "information.likelihood")
    worst = 0.0
    runs = 50 if ctx.quick else 200
    for _ in range(runs):
        k = int(rng.integers(2, 8))
        n = int(rng.integers(1, 500))
        logits = rng.normal(size=k) * 3
        q = np.exp(logits - logits.max())
        q /= q.sum()
        labels = rng.integers(0, k, size=n)
        p_hat = np.bincount(labels, minlength=k) / n
        nll = -float(np.mean(np.log(q[labels])))
        h = cross_entropy(p_hat, q)
        # N log-terms averaged plus a K-term sum: (N + K) eps relative to the magnitudes involved.
        tol = 4 * (n + k) * EPS64 * (float(np.max(np.abs(np.log(q)))) + 1)
        err = abs(nll - h)
        worst = max(worst, err / tol)
        if err > tol:
            return Outcome("refuted", {"runs": runs},
                           counterexample={"q": q.tolist(), "p_hat": p_hat.tolist(), "N": n,
                                           "minus_log_likelihood_over_N": nll, "H(p_hat, q)": h, "tolerance": tol})
    return Outcome("holds", {"runs": runs, "worst_error_over_tolerance": worst})


@claim(
    id="information.likelihood_is_cross_entropy",
    statement=(r"$\mathcal{L}(\theta) = \prod_x q_\theta(x)^{N p(x)} \Rightarrow "
               r"-\frac{1}{N}\log\mathcal{L}(\theta) = -\sum_x p(x)\log q_\theta(x) = H(p, q)$"),
    source=cite(SEED_002, "Cross Entropy + Maximum Likelihood"),
    kind="identity",
    topic="information",
    title="Cross-entropy is the average negative log-likelihood",
)
def _likelihood(ctx: Context) -> Outcome:
    return check_likelihood_cross_entropy(ctx)
