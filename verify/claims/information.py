"""Entropy, cross-entropy, KL divergence and Gibbs' inequality (*Diving Into Deep Learning, Part 1*, Emory
University, 002_1388b78ad9a2d202.txt: its last three slides).

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
    kernel_backend,
    label_axes,
    new_figure,
    rng_for,
)
from verify.claims.builders import identity
from verify.claims.registry import Context, Outcome, Pair, claim

__all__ = [
    "entropy_reference",
    "cross_entropy_reference",
    "kl_reference",
    "kernel_information",
    "check_gibbs",
    "check_likelihood_cross_entropy",
    "check_proof_chain",
    "gibbs_figure",
]

Info = Callable[..., float]


def entropy_reference(p: np.ndarray) -> float:
    r"""$H(p) = \sum_x p(x)\log(1/p(x))$ with $0 \log(1/0) = 0$ (*Diving Into Deep Learning, Part 1*, "Cross Entropy + KL Divergence")."""
    p = np.asarray(p, dtype=np.float64)
    s = p > 0
    return float(-np.sum(p[s] * np.log(p[s])))


def _sum_over_support(p: np.ndarray, q: np.ndarray, term: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> float:
    """``sum term(p(x), q(x))`` over the support of ``p``; ``+inf`` where ``p(x) > 0 = q(x)`` (a log of 0)."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    s = p > 0
    if np.any(q[s] == 0):
        return math.inf
    return float(np.sum(term(p[s], q[s])))


def cross_entropy_reference(p: np.ndarray, q: np.ndarray) -> float:
    r"""$H(p,q) = \sum_x p(x)\log(1/q(x))$; $+\infty$ where $p(x) > 0 = q(x)$."""
    return _sum_over_support(p, q, lambda p, q: -p * np.log(q))


def kl_reference(p: np.ndarray, q: np.ndarray) -> float:
    r"""$D_{KL}(p\|q) = \sum_x p(x)\log(p(x)/q(x))$; $+\infty$ where $p(x) > 0 = q(x)$."""
    return _sum_over_support(p, q, lambda p, q: p * np.log(p / q))


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
    return {"D(p‖q) = H(p, q) − H(p)": bool(identity), "−(1/N) log L(θ) = H(p, q_θ)": bool(ml),
            "log t ≤ t − 1, with equality only at t = 1": bool(log_bound),
            "H(p, q) is smallest at q = p": bool(argmin)}


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
        ax.set_xlim(0, top * 1.05)
        ax.set_ylim(0, top * 1.05)
    label_axes(ax, r"$H(p,q) - H(p)$ [nats]", r"$D_{KL}(p\|q)$ [nats]",
               "Gibbs: the gap is D and never negative", fontsize=8)
    ax = axes[0, 1]
    deltas = np.linspace(0, 0.05, 50)
    ax.plot(1 + deltas, -np.log1p(deltas), label=r"$D(p\|(1+\delta)p) = -\log(1+\delta)$")
    ax.axhline(0, color="grey", lw=0.6)
    label_axes(ax, r"total mass of $q$ (1 = a distribution)", r"$D_{KL}(p\|q)$ [nats]",
               "just past the condition: D < 0", fontsize=8)
    return fig


def check_gibbs_violation(p: np.ndarray, q: np.ndarray, *, entropy: Info, cross_entropy: Info, kl: Info) -> list[str]:
    """The parts of Gibbs' family that fail at ``(p, q)`` under the implementations given (empty: none)."""
    d, hp, hpq = kl(p, q), entropy(p), cross_entropy(p, q)
    tol = _tolerance(p, q)
    bad: list[str] = []
    if not d >= -tol:
        bad.append("D(p‖q) < 0")
    if not hp <= hpq + tol:
        bad.append("H(p) > H(p, q)")
    if math.isinf(hpq) != math.isinf(d) or (math.isfinite(d) and abs(d - (hpq - hp)) > tol):
        bad.append("D(p‖q) ≠ H(p, q) − H(p)")
    if np.array_equal(p, q) and abs(d) > tol:
        bad.append("D(p‖q) ≠ 0 although p = q")
    if not np.array_equal(p, q) and math.isfinite(d) and _mp_kl(p, q) > 0 and d < -tol:
        bad.append("D(p‖q) < 0 although p ≠ q")
    return bad


@claim(id="information.gibbs", kind="inequality", title="Gibbs' inequality and the cross-entropy identities",
       statement=r"$H(p) \le H(p,q)$; $D_{KL}(p\|q) \ge 0$ with equality iff $p=q$; "
                 r"$D_{KL}(p\|q) = H(p,q) - H(p)$; $-\frac{1}{N}\log\mathcal{L}(\theta) = H(p, q_\theta)$",
       source=cite(SEED_002, "Cross Entropy Minimization", 'with "Cross Entropy + KL Divergence" and '
                   '"Cross Entropy + Maximum Likelihood"'),
       figure=gibbs_figure)
def check_gibbs(
    ctx: Context,
    *,
    entropy: Info | None = None,
    cross_entropy: Info | None = None,
    kl: Info | None = None,
) -> Outcome:
    """Gibbs' inequality family on the given implementations of ``H``, ``H(p, q)`` and ``D`` (default: the
    library's loss kernels on the context's backend), with a symbolic proof of the identities and a search
    just past the conditions (a ``q`` of mass above 1), where the inequality must fail."""
    kernels = kernel_information(kernel_backend(ctx))
    entropy = entropy or kernels["entropy"]
    cross_entropy = cross_entropy or kernels["cross_entropy"]
    kl = kl or kernels["kl"]
    n_examples = 50 if ctx.quick else 150
    symbolic = _symbolic_checks()

    def violation(pair: tuple[list[float], list[float]]) -> dict[str, Any] | None:
        p, q = _normalise(pair[0]), _normalise(pair[1])
        bad = check_gibbs_violation(p, q, entropy=entropy, cross_entropy=cross_entropy, kl=kl)
        if not bad:
            return None
        return {"p": p.tolist(), "q": q.tolist(), "D(p‖q)": kl(p, q), "H(p)": entropy(p),
                "H(p, q)": cross_entropy(p, q), "rounding tolerance": _tolerance(p, q), "fails": bad}

    tried, counter = hypothesis_search(_distribution_pairs(), violation, seed=ctx.seed, max_examples=n_examples)

    # Equality iff p = q: D(p||p) = 0 on random distributions with zeros.
    rng = rng_for(ctx, "information.gibbs.equality")
    eq_fail = None
    equality_draws = 50 if ctx.quick else 200
    for _ in range(equality_draws):
        k = int(rng.integers(2, 7))
        p = rng.dirichlet(np.ones(k))
        p[rng.random(k) < 0.3] = 0.0
        if p.sum() == 0:
            p[0] = 1.0
        p = p / p.sum()
        if abs(kl(p, p)) > _tolerance(p, p):
            eq_fail = {"p": p.tolist(), "q": p.tolist(), "D(p‖q)": kl(p, p), "fails": ["D(p‖p) ≠ 0"]}
            break

    # Past the conditions: q of total mass 1 + delta (not a distribution) makes D(p||q) = -log(1+delta) < 0.
    from hypothesis import strategies as st

    def past(pair: tuple[list[float], float]) -> dict[str, Any] | None:
        # q is not a distribution here, which the kernels rightly refuse: the definition is evaluated
        p = _normalise(pair[0])
        q = p * (1 + pair[1])
        d = kl_reference(p, q)
        if d < -_tolerance(p, q):
            return {"p": p.tolist(), "q": q.tolist(), "total mass of q": float(q.sum()), "D(p‖q)": d}
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

    finite = np.isfinite(ds)
    evidence = {
        "implementation": f"the library's loss kernels, backend {kernel_backend(ctx)!r}",
        "proved by SymPy (3 outcomes)": symbolic,
        "pairs (p, q) searched by Hypothesis": tried,
        "draws checking D(p‖p) = 0": equality_draws,
        "past the condition (q of mass 1 + δ)": {"pairs searched": past_tried,
                                                  "D(p‖q) < 0 found": past_found is not None,
                                                  **({"example": past_found} if past_found else {})},
        "smallest H(p, q) − H(p) over 300 random pairs (nats)": float(np.min(gaps)),
        "largest |D(p‖q) − (H(p, q) − H(p))| over them (nats)": float(np.max(np.abs(np.asarray(ds)[finite]
                                                                                  - np.asarray(gaps)[finite]))),
    }
    pair = Pair("smallest D(p‖q) over 300 random pairs (p, q), zeros included (nats)", float(np.min(ds)), 0.0, ">=")
    data = {"gaps": np.asarray(gaps), "D": np.asarray(ds), "past": past_found}
    unproved = [k for k, v in symbolic.items() if not v]
    found = {"identities SymPy could not prove": unproved} if unproved else counter or eq_fail
    return Outcome.from_findings(evidence, data=data, pair=pair, counterexample=found, decided=past_found is not None,
                                 why="no violation found past the conditions (q of mass > 1): the search lacks power")


identity(
    "information.kl_step1_as_written",
    "Sum(p[i]*log(p[i]/q[i]), (i, 1, 3))",
    "Sum(q[i]*log(1/p[i]), (i, 1, 3)) - Sum(p[i]*log(1/p[i]), (i, 1, 3))",
    where={"p": "simplex(3)", "q": "simplex(3)"},
    statement=r"$D_{KL}(p, q) = H(q, p) - H(p) \ge 0$ (as written in Step 1 of the proof sketch)",
    source=cite(SEED_002, "Cross Entropy Minimization"),
    kind="as-written",
    title="Step 1 of the Gibbs proof sketch, as written",
    corrected="Sum(p[i]*log(1/q[i]), (i, 1, 3)) - Sum(p[i]*log(1/p[i]), (i, 1, 3))",
    corrected_tex=r"D_{KL}(p\|q) = H(p, q) - H(p)",
    sides=("D(p‖q)", "H(q, p) − H(p) as written"),
    explanation=(r"The arguments of the cross-entropy are swapped: $D_{KL}(p\|q) = H(p, q) - H(p)$, with "
                 r"$H(p, q) = \sum_x p(x)\log(1/q(x))$; $H(q, p) - H(p)$ is not a divergence and can be "
                 r"negative. Checked here on distributions of three outcomes."),
)


@claim(id="information.proof_chain", kind="inequality", title="The inequality chain of the Gibbs proof sketch",
       statement=r"$-\sum_x p\log\frac{q}{p} \ge -\sum_x p\left(\frac{q}{p}-1\right) = -\sum_x q + \sum_x p = 0$"
                 r" for $p, q > 0$",
       source=cite(SEED_002, "Cross Entropy Minimization"))
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
                                               "left side": float(lhs), "middle": float(mid), "last": float(last)},
                               pair=Pair("left side − middle at the counterexample", float(lhs - mid), 0.0, ">="))
            worst_slack = min(worst_slack, float(lhs - mid))
    evidence = {"pairs (p, q) drawn": draws, "digits": 50,
                "middle = last to 45 digits at every draw": True}
    return Outcome("holds", evidence,
                   pair=Pair("smallest slack −Σ p log(q/p) − (−Σ p (q/p − 1)) over the draws", worst_slack, 0.0, ">=",
                             note="50-digit arithmetic"))


@claim(id="information.likelihood_is_cross_entropy", kind="identity",
       title="Cross-entropy is the average negative log-likelihood",
       statement=r"$\mathcal{L}(\theta) = \prod_x q_\theta(x)^{N p(x)} \Rightarrow "
                 r"-\frac{1}{N}\log\mathcal{L}(\theta) = -\sum_x p(x)\log q_\theta(x) = H(p, q)$",
       source=cite(SEED_002, "Cross Entropy + Maximum Likelihood"))
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
                           counterexample={"q": q.tolist(), "empirical p": p_hat.tolist(), "N": n,
                                           "−(1/N) log L": nll, "H(p, q)": h, "rounding tolerance": tol},
                           pair=Pair("|−(1/N) log L − H(p, q)| / rounding tolerance", err / tol, 1.0, "<="))
    return Outcome("holds", {"label samples drawn": runs, "rounding tolerance": "4 (N + K) ε (1 + max |log q|)"},
                   pair=Pair("largest |−(1/N) log L − H(p, q)| / rounding tolerance over the samples", worst, 1.0,
                             "<="))
