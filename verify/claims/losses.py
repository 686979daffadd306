"""Softmax, sigmoid, the loss functions and the linear decision rules of *Deep Learning* (Milano-Bicocca,
000_42086e2af0f76780.txt) and *Diving Into Deep Learning, Part 1* (Emory, 002_1388b78ad9a2d202.txt).

Checked on the library's kernels (:mod:`verify.kernels.activations`, :mod:`verify.kernels.losses`) against
SymPy/mpmath, on Hypothesis-drawn inputs including extreme logits.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from verify.claims._common import (
    EPS64,
    SEED_000,
    SEED_002,
    cite,
    hypothesis_search,
    kernel_backend,
    label_axes,
    new_panel,
    rng_for,
)
from verify.claims.builders import derivative
from verify.claims.registry import Context, Correction, Outcome, Pair, claim

__all__ = [
    "check_softmax_distribution",
    "check_sigmoid_range",
    "check_logistic_as_written_float64",
    "check_hinge_bounds",
    "check_ce_convexity",
    "check_simplex_as_written",
    "check_nll_one_hot",
    "check_decision_rule_as_written",
    "check_logistic_rule",
]


def _logits():
    from hypothesis import strategies as st
    from hypothesis.extra.numpy import arrays

    value = st.one_of(st.floats(-50, 50), st.floats(-1e3, 1e3), st.sampled_from([0.0, 700.0, -700.0, 1e3, -1e3]))
    return st.tuples(st.integers(1, 4), st.integers(2, 6)).flatmap(
        lambda s: st.tuples(arrays(np.float64, s, elements=value), st.floats(-1e3, 1e3)))


@claim(id="softmax.distribution_shift_invariant", kind="identity", title="Softmax is a shift-invariant distribution",
       statement=r"$\mathrm{softmax}(z)_k = e^{z_k}/\sum_j e^{z_j}$ is positive, sums to 1, and "
                 r"$\mathrm{softmax}(z + c\mathbf 1) = \mathrm{softmax}(z)$",
       source=cite(SEED_000, "LINEAR MODELS", "log-linear multi-class; " + cite(SEED_002, "Loss Functions", "softmax")))
def check_softmax_distribution(ctx: Context) -> Outcome:
    """Kernel softmax rows are distributions and shift invariant; SymPy proves the shift invariance."""
    import sympy as sp

    from verify.kernels.activations import softmax

    z = sp.symbols("z1:4")
    c = sp.symbols("c")
    sm = [sp.exp(v) / sum(sp.exp(w) for w in z) for v in z]
    shifted = [sp.exp(v + c) / sum(sp.exp(w + c) for w in z) for v in z]
    symbolic = all(sp.simplify(a - b) == 0 for a, b in zip(sm, shifted, strict=True))
    symbolic_sum = sp.simplify(sum(sm) - 1) == 0
    underflows = [0]
    worst_sum = [0.0]

    def violation(args: tuple[np.ndarray, float]) -> dict[str, Any] | None:
        logits, shift = args
        s = softmax(logits, backend=kernel_backend(ctx))
        s2 = softmax(logits + shift, backend=kernel_backend(ctx))
        k = logits.shape[1]
        underflows[0] += int(np.sum(s == 0))
        # the sum of K correctly rounded entries in [0, 1]: K eps; the shift perturbs each logit by
        # |z + shift| eps / 2, hence exp by that much relative (plus the kernel's few-ULP error)
        tol_sum = 2 * k * EPS64
        tol_shift = 4 * EPS64 * (k + np.max(np.abs(logits)) + abs(shift))
        worst_sum[0] = max(worst_sum[0], float(np.max(np.abs(s.sum(axis=1) - 1)) / (k * EPS64)))
        if np.any(s < 0) or np.any(np.abs(s.sum(axis=1) - 1) > tol_sum):
            return {"logits": logits.tolist(), "softmax": s.tolist(), "fails": "not a distribution"}
        # below ~1e-290 the entries are subnormal or nearly so and carry only absolute accuracy
        if np.any(np.abs(s - s2) > tol_shift * np.maximum(s, s2) + 1e-290):
            return {"logits": logits.tolist(), "shift": shift, "softmax": s.tolist(), "shifted": s2.tolist(),
                    "fails": "not shift invariant"}
        return None

    tried, counter = hypothesis_search(_logits(), violation, seed=ctx.seed, max_examples=40 if ctx.quick else 120)
    evidence = {"SymPy: softmax(z + c) = softmax(z)": bool(symbolic), "SymPy: the entries sum to 1": bool(symbolic_sum),
                "implementation": f"the library's softmax kernel, backend {kernel_backend(ctx)!r}",
                "batches of logits searched (with extremes ±700, ±1000)": tried,
                "entries that underflow to 0 in float64": underflows[0],
                "note": "mathematically every entry is > 0; in float64 exp underflows to 0 below a gap of about 745"}
    pair = Pair("largest |Σ softmax(z) − 1| in units of K machine epsilons, over the logits searched", worst_sum[0],
                0.0, "=", note="0 up to rounding (at most 2 units)")
    if not (symbolic and symbolic_sum):
        return Outcome("refuted", evidence, counterexample={"SymPy": "an identity failed"}, pair=pair)
    if counter is not None:
        return Outcome("refuted", evidence, counterexample=counter, pair=pair)
    return Outcome("holds", evidence, pair=pair)


def sigmoid_figure(outcome: Outcome):
    from verify.kernels.activations import activation

    fig, ax = new_panel()
    x = np.linspace(30, 45, 400)
    ax.semilogy(x, 1 - activation("sigmoid", x, backend="numpy") + 1e-18, label=r"$1 - \sigma(x)$ in float64 (+1e-18)")
    ax.semilogy(x, np.exp(-x), "--", label=r"exact $\approx e^{-x}$")
    one_at = (outcome.data or {}).get("one_at")
    if one_at:
        ax.axvline(one_at, color="r", ls=":", label=rf"$\sigma(x) = 1.0$ from $x \approx {one_at:.2f}$")
    label_axes(ax, "x", r"distance of $\sigma(x)$ from 1", "Sigmoid saturation in float64", fontsize=8)
    return fig


@claim(id="sigmoid.range", kind="identity", title="The range of the sigmoid, exact and in float64",
       statement=r"$\sigma(x) = 1/(1+e^{-x})$ maps to $[0, 1]$: exactly into $(0,1)$; in float64 it reaches 0 and 1 "
                 r"(saturation)",
       source=cite(SEED_000, "LOSS FUNCTIONS", 'logistic loss, and "LINEAR MODELS"; ' +
                   cite(SEED_002, "A Biological Perspective on Layers")),
       topic="softmax", figure=sigmoid_figure)
def check_sigmoid_range(ctx: Context) -> Outcome:
    """Exact: ``0 < sigma(x) < 1``. Float64 (kernel): values in [0, 1], saturating at thresholds found here."""
    import mpmath

    from verify.kernels.activations import activation

    def sig(x: float) -> float:
        return float(activation("sigmoid", np.array([x]), backend=kernel_backend(ctx))[0])

    xs = np.concatenate([np.linspace(-800, 800, 4001), [-1e308, 1e308, 0.0]])
    vals = activation("sigmoid", xs, backend=kernel_backend(ctx))
    in_closed = bool(np.all((vals >= 0) & (vals <= 1)))
    with mpmath.workdps(40):
        # sigma(x) < 1 iff 1 - sigma(x) = sigma(-x) > 0, so both sides are positivity checks
        exact_open = all(1 / (1 + mpmath.exp(-mpmath.mpf(x))) > 0 and 1 / (1 + mpmath.exp(mpmath.mpf(x))) > 0
                         for x in (-800, -40, 0, 40, 800, 1e6))

    def first(pred, lo: float, hi: float) -> float:
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if pred(mid):
                hi = mid
            else:
                lo = mid
        return hi

    one_at = first(lambda x: sig(x) == 1.0, 0.0, 100.0)
    zero_below = -first(lambda x: sig(-x) == 0.0, 0.0, 2000.0)
    evidence = {"float64 values in [0, 1] (4004 points)": in_closed, "exact values in (0, 1) (40 digits)": exact_open,
                "float64 σ(x) = 1 from x": one_at, "float64 σ(x) = 0 below x": zero_below,
                "consequence": "log(1 − σ(x)) = −∞ from the first threshold on: use the logit form"}
    # 1 + e^{-x} rounds to 1 once e^{-x} < 2^-53 (half an ULP of 1): x > 53 ln 2
    pair = Pair("x from which float64 σ(x) = 1", one_at, 53 * math.log(2), "≈",
                note=r"theory: $1 + e^{-x}$ rounds to 1 once $e^{-x} < 2^{-53}$, that is $x > 53 \ln 2 \approx 36.74$")
    data = {"one_at": one_at, "zero_below": zero_below}
    if in_closed and exact_open:
        return Outcome("holds", evidence, data=data, pair=pair)
    return Outcome("refuted", evidence, counterexample={"values outside [0, 1]": True}, data=data, pair=pair)


@claim(id="loss.logistic_as_written_float64", kind="as-written",
       title="The logistic loss through the sigmoid, in float64",
       statement=r"$L_{\text{logistic}}(\hat y, y) = -y\log\hat y - (1-y)\log(1-\hat y)$ with $\hat y = \sigma(\tilde y)$, "
                 r"evaluated in float64 as written, is accurate for every logit $\tilde y$",
       source=cite(SEED_000, "LOSS FUNCTIONS", "LOGISTIC LOSS (BINARY CROSS ENTROPY)"),
       topic="losses",
       correction=Correction(
           r"L = \log(1 + e^{\tilde y}) - y\,\tilde y",
           r"Composed through $\hat y = \sigma(\tilde y)$, float64 rounds $\sigma(\tilde y)$ to 1 (or to 0) once "
           r"$|\tilde y| \gtrsim 37$, and $\log(1 - \hat y)$ becomes $\log 0 = -\infty$ while the true loss is "
           r"about $|\tilde y|$; written from the logit (softplus), the loss is accurate for every $\tilde y$.",
           checked_by="the same float64 evaluation against 50-digit values"),
       corrected={"form": "from the logit"})
def check_logistic_as_written_float64(ctx: Context, *, form: str = "through the sigmoid") -> Outcome:
    """Evaluate the logistic loss in float64 against the exact value (mpmath, 50 digits) at logits from -60 to 60:
    ``form="through the sigmoid"``: ``-y log y_hat - (1-y) log(1 - y_hat)`` with ``y_hat = sigma(y_tilde)``, as
    the slide composes it; ``form="from the logit"``: the library's logit-form kernel."""
    import mpmath

    from verify.kernels.activations import activation
    from verify.kernels.losses import logistic_from_logit

    logits = np.array([-60.0, -40.0, -20.0, -5.0, 0.0, 5.0, 20.0, 37.0, 40.0, 60.0])
    worst, worst_logit = None, 0.0
    rows = []
    for y in (0.0, 1.0):
        yhat = activation("sigmoid", logits, backend=kernel_backend(ctx))
        if form == "through the sigmoid":
            with np.errstate(divide="ignore", invalid="ignore"):
                values = -y * np.log(yhat) - (1 - y) * np.log(1 - yhat)
        elif form == "from the logit":
            values, _ = logistic_from_logit(logits, np.full(logits.size, int(y)), reduction="none",
                                            backend=kernel_backend(ctx))
        else:
            raise ValueError(f"form must be 'through the sigmoid' or 'from the logit'; got {form!r}")
        for z, w in zip(logits, values, strict=True):
            with mpmath.workdps(50):
                zz = mpmath.mpf(float(z))
                exact = float(mpmath.log(1 + mpmath.exp(zz)) - y * zz)
            rel = abs(w - exact) / exact if math.isfinite(w) else math.inf
            rows.append({"label y": y, "logit ỹ": float(z), "float64": float(w), "exact": exact,
                         "relative error": rel})
            if rel > 1e-6 and (worst is None or rel > worst["relative error"]):
                worst = rows[-1]
            worst_logit = max(worst_logit, rel)
    evidence = {"loss computed": form, "values": rows, "largest relative error": worst_logit}
    pair = Pair(f"largest relative error of the loss computed {form}, over the logits", worst_logit, 0.0, "=",
                note="accurate means within 1e-6 here")
    if worst is None:
        return Outcome("holds", evidence, pair=pair)
    return Outcome("refuted", evidence, counterexample=worst, pair=pair,
                   counterexample_explained=(f"At ỹ = {worst['logit ỹ']:g} with y = {worst['label y']:g}, float64 "
                                             f"gives {worst['float64']:g} while the loss is {worst['exact']:.6g}."))


@claim(id="loss.hinge_bounds_zero_one", kind="inequality", title="Hinge losses bound the 0-1 loss",
       statement=r"$\max(0, 1 - y\tilde y) \ge \mathbf 1[y\tilde y < 0]$ (zero iff $y\tilde y \ge 1$, convex); "
                 r"$\max(0, 1-(\hat y_{[t]} - \hat y_{[j]})) \ge \mathbf 1[\arg\max_i \hat y_{[i]} \ne t]$ for "
                 r"$j = \arg\max_{i\ne t}\hat y_{[i]}$",
       source=cite(SEED_000, "LOSS FUNCTIONS", "HINGE (binary) and HINGE (multi-class) LOSS"),
       topic="losses")
def check_hinge_bounds(ctx: Context) -> Outcome:
    """Binary and multi-class hinge (kernels): upper bounds of the 0-1 loss, zero iff margin >= 1, convex."""
    from hypothesis import strategies as st
    from hypothesis.extra.numpy import arrays

    from verify.kernels.losses import hinge, multiclass_hinge

    slack = [math.inf]

    def binary(args: tuple[np.ndarray, np.ndarray, np.ndarray]) -> dict[str, Any] | None:
        a, b, ysign = args
        y = np.where(ysign, 1, -1)
        la, _ = hinge(a, y, reduction="none", backend=kernel_backend(ctx))
        lb, _ = hinge(b, y, reduction="none", backend=kernel_backend(ctx))
        lm, _ = hinge((a + b) / 2, y, reduction="none", backend=kernel_backend(ctx))
        zero_one = (y * a < 0).astype(float)
        slack[0] = min(slack[0], float(np.min(la - zero_one)))
        if np.any(la < zero_one) or np.any((la == 0) != (y * a >= 1)) or np.any(lm > (la + lb) / 2 + 1e-12 * (1 + np.abs(a) + np.abs(b))):
            return {"scores": a.tolist(), "labels": y.tolist(), "hinge loss": la.tolist()}
        return None

    def multi(args: tuple[np.ndarray, int]) -> dict[str, Any] | None:
        scores, seed = args
        n, k = scores.shape
        t = np.random.default_rng(seed).integers(0, k, size=n)
        loss, _ = multiclass_hinge(scores, t, reduction="none", backend=kernel_backend(ctx))
        wrong = (np.argmax(scores, axis=1) != t).astype(float)
        slack[0] = min(slack[0], float(np.min(loss - wrong)))
        if np.any(loss < wrong):
            return {"scores": scores.tolist(), "target classes": t.tolist(), "multi-class hinge": loss.tolist()}
        return None

    n = 30 if ctx.quick else 80
    vec = st.integers(1, 6).flatmap(lambda m: st.tuples(arrays(np.float64, m, elements=st.floats(-5, 5)),
                                                         arrays(np.float64, m, elements=st.floats(-5, 5)),
                                                         arrays(np.bool_, m)))
    tried_b, cb = hypothesis_search(vec, binary, seed=ctx.seed, max_examples=n)
    mat = st.tuples(st.integers(1, 4), st.integers(2, 5)).flatmap(
        lambda s: st.tuples(arrays(np.float64, s, elements=st.floats(-5, 5)), st.integers(0, 2**31)))
    tried_m, cm = hypothesis_search(mat, multi, seed=ctx.seed, max_examples=n)
    # j left free, as the slide writes it: any wrong class other than the best one breaks the bound
    scores, t = np.array([[1.0, 3.0, -5.0]]), 0
    free_j = [max(0.0, 1 - (scores[0, t] - scores[0, j])) for j in (1, 2)]
    evidence = {"implementation": f"the library's hinge kernels, backend {kernel_backend(ctx)!r}",
                "binary score batches searched": tried_b, "multi-class score batches searched": tried_m,
                "past the condition: j left free instead of the best wrong class": {
                    "scores": scores.tolist(), "target class": t, "loss with j = 1 (the best wrong class)": free_j[0],
                    "loss with j = 2": free_j[1], "0-1 loss": 1.0, "bound fails for j = 2": bool(free_j[1] < 1.0)}}
    pair = Pair("smallest hinge − 0-1 loss over the scores searched", slack[0], 0.0, ">=")
    counter = cb or cm
    if counter is not None:
        return Outcome("refuted", evidence, counterexample=counter, pair=pair)
    return Outcome("holds", evidence, pair=pair)


def _ce_ref(z: np.ndarray, c: np.ndarray) -> float:
    m = float(np.max(z))
    return float(-(c @ (z - m - math.log(np.sum(np.exp(z - m))))))


@claim(id="loss.convex_in_first_argument", kind="inequality",
       title="Least squares and cross-entropy are convex in the prediction",
       statement=r"$L_{LS}(F, c) = \frac12\|F - c\|_2^2$ and $L_{CE}(F, c) = -c^\top\log\sigma(F)$ are convex in $F$ "
                 r"and map to $\mathbb{R}_+$ ($c \in \Delta^m$)",
       source=cite(SEED_002, "Loss Functions"),
       topic="losses")
def check_ce_convexity(ctx: Context) -> Outcome:
    """L_LS and L_CE are convex in the first argument and >= 0 (SymPy Hessians, and midpoint checks of the
    kernel on drawn logits); with a target outside the simplex L_CE stops being convex (found, not assumed)."""
    import sympy as sp

    from verify.kernels.losses import least_squares, softmax_cross_entropy

    z = sp.symbols("z1:4")
    c = sp.symbols("c1:4", nonnegative=True)
    v = sp.symbols("v1:4")
    lse = sp.log(sum(sp.exp(w) for w in z))
    L = -sum(ci * (zi - lse) for ci, zi in zip(c, z, strict=True))
    H = sp.hessian(L, z)
    s = [sp.exp(w) / sum(sp.exp(u) for u in z) for w in z]
    # v^T H v = (sum c) * (sum s v^2 - (sum s v)^2), a variance: >= 0 iff sum c >= 0
    quad = (sp.Matrix(v).T * H * sp.Matrix(v))[0]
    variance = sum(c) * (sum(si * vi**2 for si, vi in zip(s, v, strict=True)) - sum(si * vi for si, vi in zip(s, v, strict=True)) ** 2)
    symbolic_ce = sp.simplify(quad - variance) == 0
    F = sp.symbols("F1:4")
    symbolic_ls = sp.hessian(sum((Fi - ci) ** 2 for Fi, ci in zip(F, c, strict=True)) / 2, F) == sp.eye(3)
    rng = rng_for(ctx, "loss.convexity")
    worst = None
    excess = -math.inf
    for _ in range(50 if ctx.quick else 150):
        k = int(rng.integers(2, 6))
        a, b = rng.normal(size=(1, k)) * 5, rng.normal(size=(1, k)) * 5
        cc = rng.dirichlet(np.ones(k))[None, :]
        la, _ = softmax_cross_entropy(a, cc, reduction="sum", backend=kernel_backend(ctx))
        lb, _ = softmax_cross_entropy(b, cc, reduction="sum", backend=kernel_backend(ctx))
        lm, _ = softmax_cross_entropy((a + b) / 2, cc, reduction="sum", backend=kernel_backend(ctx))
        qa, _ = least_squares(a, cc, reduction="sum", backend=kernel_backend(ctx))
        qb, _ = least_squares(b, cc, reduction="sum", backend=kernel_backend(ctx))
        qm, _ = least_squares((a + b) / 2, cc, reduction="sum", backend=kernel_backend(ctx))
        tol = 8 * k * EPS64 * (abs(la) + abs(lb) + 1)
        excess = max(excess, (lm - (la + lb) / 2) / (abs(la) + abs(lb) + 1))
        if lm > (la + lb) / 2 + tol or la < -tol or qm > (qa + qb) / 2 + 8 * k * EPS64 * (qa + qb + 1):
            worst = {"a": a.tolist(), "b": b.tolist(), "c": cc.tolist(), "L(a)": la, "L(b)": lb,
                     "L((a + b)/2)": lm}
            break
    # past the condition c in the simplex: a target with negative total mass
    past = None
    for _ in range(200):
        k = 3
        cc = np.array([-2.0, 0.5, 0.5])
        a, b = rng.normal(size=k) * 3, rng.normal(size=k) * 3
        if _ce_ref((a + b) / 2, cc) > (_ce_ref(a, cc) + _ce_ref(b, cc)) / 2 + 1e-9:
            past = {"c": cc.tolist(), "a": a.tolist(), "b": b.tolist()}
            break
    evidence = {"SymPy: vᵀ∇²L_CE v = (1ᵀc) · (a variance under softmax(F)) ≥ 0": bool(symbolic_ce),
                "SymPy: ∇²L_LS = I": bool(symbolic_ls),
                "midpoint checks on the library's kernels": 50 if ctx.quick else 150,
                "past the condition: a target outside the simplex where L_CE is not convex": past}
    pair = Pair("largest (L((a+b)/2) − (L(a) + L(b))/2) / (|L(a)| + |L(b)| + 1) over the midpoint checks", excess, 0.0,
                "<=", note="0 up to rounding")
    counter = worst if symbolic_ce and symbolic_ls else {"SymPy": "a Hessian identity failed"}
    return Outcome.from_findings(evidence, pair=pair, counterexample=counter, decided=past is not None,
                                 why="no non-convex case found outside the simplex")


@claim(id="loss.simplex_as_written", kind="as-written", title="The definition of the unit simplex, as written",
       statement=r"$\Delta^m = \{x \in \mathbb{R}^n \mid \mathbf 1^\top x = 0,\ x_i \ge 0\}$ is the unit simplex",
       source=cite(SEED_002, "Loss Functions"),
       topic="losses",
       correction=Correction(
           r"\Delta^m = \{x\in\mathbb{R}^m : \mathbf{1}^\top x = 1,\ x_i \ge 0\}",
           r"The entries of a point of the simplex sum to 1, not to 0: nonnegative entries summing to 0 are all 0, so "
           r"the set as written holds only the zero vector and none of the distributions the slides put in it (the "
           r"same slide also writes $\mathbb{R}^n$ for $\mathbb{R}^m$).",
           checked_by="the same membership test on the slides' own distributions"),
       corrected={"total": 1})
def check_simplex_as_written(ctx: Context, *, total: int = 0) -> Outcome:
    r"""The notes define $\Delta^m = \{x : 1^\top x = 0, x_i \ge 0\}$ (``total=0``); test the slides' own members
    against the set $\{x : 1^\top x = \text{total}, x_i \ge 0\}$."""
    members = {"c in Delta^2 of the backprop example (c1 + c2 = 1)": [Fraction(1, 2), Fraction(1, 2)],
               "one-hot label": [Fraction(0), Fraction(1), Fraction(0)]}

    def member(x: list[Fraction]) -> bool:
        return sum(x) == total and all(v >= 0 for v in x)

    rejected = {k: v for k, v in members.items() if not member(v)}
    # what the set does contain: x >= 0 with sum 0 forces x = 0
    only_zero = all(not member([Fraction(a), Fraction(b)]) or (a == 0 and b == 0)
                    for a in range(0, 3) for b in range(0, 3))
    evidence = {"definition tested": f"1ᵀx = {total}, x_i ≥ 0",
                "the slides' own members it rejects": {k: [str(v) for v in x] for k, x in rejected.items()},
                "the set is {0}": only_zero}
    pair = Pair("the slides' distributions the definition accepts", len(members) - len(rejected), len(members), "=")
    if not rejected:
        return Outcome("holds", evidence, pair=pair)
    return Outcome("refuted", evidence, counterexample={"c": "(1/2, 1/2)", "1ᵀc": f"1, not {total}"}, pair=pair)


derivative(
    "loss.ce_gradient_as_written",
    as_written="c[1] - exp(u1)/(exp(u1) + exp(u2))",
    of="-(c[1]*log(exp(u1)/(exp(u1) + exp(u2))) + c[2]*log(exp(u2)/(exp(u1) + exp(u2))))",
    wrt="u1",
    where={"u1": "real", "u2": "real", "c": "simplex(2)"},
    statement=(r"$\nabla_{\mathbf u_2} L(\mathbf u_2, \mathbf c) = \mathbf c - \sigma(\mathbf u_2)$ for "
               r"$L = -\mathbf c^\top\log\sigma(\mathbf u_2)$ (checked on its first component, "
               r"$\mathbf u_2 = (u_1, u_2)$, $\mathbf c \in \Delta^2$)"),
    source=cite(SEED_002, "Example: Backward Propagation"),
    kind="as-written",
    topic="losses",
    title="The cross-entropy gradient of the worked example, as written",
    corrected="exp(u1)/(exp(u1) + exp(u2)) - c[1]",
    corrected_tex=r"\nabla_{\mathbf u_2} L = \sigma(\mathbf u_2) - \mathbf c",
    explanation=(r"The sign is flipped: the gradient of $-\mathbf c^\top\log\sigma(\mathbf u_2)$ is "
                 r"$\sigma(\mathbf u_2) - \mathbf c$ (it uses $\mathbf 1^\top\mathbf c = 1$); $\mathbf c - "
                 r"\sigma(\mathbf u_2)$ points uphill."),
)


@claim(id="loss.nll_one_hot", kind="identity", title="Negative log-likelihood with hard labels",
       statement=r"$-\sum_i y_{[i]}\log\hat y_{[i]} = -\log\hat y_{[t]}$ for a one-hot $\mathbf y$ of class $t$",
       source=cite(SEED_000, "LOSS FUNCTIONS", "NEGATIVE LOG LIKELIHOOD (CATEGORICAL CROSS-ENTROPY LOSS)"),
       topic="losses")
def check_nll_one_hot(ctx: Context) -> Outcome:
    """``-sum_i y_i log y_hat_i`` with one-hot ``y`` equals ``-log y_hat_t`` (kernel, labels vs one-hot rows)."""
    from verify.kernels.losses import categorical_cross_entropy

    rng = rng_for(ctx, "loss.nll")
    q = rng.dirichlet(np.ones(5), size=50)
    t = rng.integers(0, 5, size=50)
    onehot = np.eye(5)[t]
    v_labels, _ = categorical_cross_entropy(q, t, reduction="none", backend=kernel_backend(ctx))
    v_dist, _ = categorical_cross_entropy(q, onehot, reduction="none", backend=kernel_backend(ctx))
    direct = -np.log(q[np.arange(50), t])
    err = float(np.max(np.abs(v_labels - v_dist)) + np.max(np.abs(v_labels - direct)))
    tol = 16 * EPS64 * float(np.max(np.abs(direct)) + 1)
    evidence = {"rows": 50, "classes": 5, "implementation": f"the library's kernel, backend {kernel_backend(ctx)!r}",
                "largest difference": err, "rounding tolerance 16 ε (1 + max |log ŷ|)": tol}
    pair = Pair("largest |loss with labels − loss with one-hot rows| + |loss − (−log ŷ_t)|", err, 0.0, "=",
                note=f"0 up to the rounding tolerance {tol:.2g}")
    if err <= tol:
        return Outcome("holds", evidence, pair=pair)
    return Outcome("refuted", evidence, counterexample={"largest difference": err}, pair=pair)


@claim(id="linear.decision_rule_as_written", kind="as-written", title="The binary decision rule, as written",
       statement=r"The prediction is Fairfax if $\hat y \ge 0$ and Dupont Circle if $\hat y \le 0$ (one class per point)",
       source=cite(SEED_000, "LINEAR MODELS"),
       correction=Correction(
           r"\text{Fairfax if }\hat y \ge 0,\ \text{Dupont Circle if }\hat y < 0",
           r"The two conditions overlap at $\hat y = 0$ (a point on the decision boundary), which the rule as "
           r"written puts in both classes; one of the inequalities must be strict.",
           checked_by="the same exact points"),
       corrected={"dupont_if_zero": False})
def check_decision_rule_as_written(ctx: Context, *, dupont_if_zero: bool = True) -> Outcome:
    """The notes: "Fairfax if y_hat >= 0 and Dupont Circle if y_hat <= 0" (``dupont_if_zero=True``; ``False``
    reads the second condition as y_hat < 0): does the rule assign exactly one class to every point? Exact
    rational points on both sides of the boundary of ``2 size - 3 price + 1`` and on it."""
    w1, w2, b = Fraction(2), Fraction(-3), Fraction(1)
    rows, counter = [], None
    for size, price in ((Fraction(1), Fraction(1)), (Fraction(2), Fraction(1)), (Fraction(0), Fraction(1)),
                        (Fraction(1, 2), Fraction(2, 3))):
        score = size * w1 + price * w2 + b
        yhat = (score > 0) - (score < 0)  # sign
        dupont = yhat <= 0 if dupont_if_zero else yhat < 0
        classes = [name for name, cond in (("Fairfax", yhat >= 0), ("Dupont Circle", dupont)) if cond]
        rows.append({"size": str(size), "price": str(price), "score": str(score), "ŷ = sign": yhat,
                     "classes assigned": classes})
        if len(classes) != 1 and counter is None:
            counter = {"size": str(size), "price": str(price), "w": [2, -3], "b": 1, "ŷ": yhat, "classes": classes}
    evidence = {"rule": "Fairfax if ŷ ≥ 0, Dupont Circle if ŷ " + ("≤ 0" if dupont_if_zero else "< 0"),
                "points (exact, one on the boundary)": rows}
    pair = Pair("points given exactly one class", sum(len(r["classes assigned"]) == 1 for r in rows), len(rows), "=")
    return Outcome.from_findings(evidence, counterexample=counter, pair=pair)


@claim(id="linear.logistic_rule_is_sign_rule", kind="identity", title="The logistic prediction rule is the sign rule",
       statement=r"prediction $= 1$ iff $\hat y = \sigma(\tilde y) \ge 0.5$ iff $\tilde y \ge 0$ (the sign rule)",
       source=cite(SEED_000, "LOSS FUNCTIONS", "LOGISTIC LOSS prediction rule"))
def check_logistic_rule(ctx: Context) -> Outcome:
    """``sigma(y_tilde) >= 1/2  <=>  y_tilde >= 0`` exactly; float64 (kernel) disagrees only for |y_tilde| < ~1e-16."""
    import mpmath

    from verify.kernels.activations import activation

    with mpmath.workdps(60):
        exact_ok = all((1 / (1 + mpmath.exp(-mpmath.mpf(x))) >= mpmath.mpf(1) / 2) == (x >= 0)
                       for x in (-1e-30, -1e-17, -1.0, 0.0, 1e-30, 3.0))
    xs = -np.geomspace(1e-20, 1e-10, 200)
    sig = activation("sigmoid", xs, backend=kernel_backend(ctx))
    wrong = xs[sig >= 0.5]
    largest = float(np.max(np.abs(wrong))) if wrong.size else 0.0
    evidence = {"exact equivalence (60 digits)": exact_ok,
                "negative logits float64 predicts as 1 (of 200 in [−1e-10, −1e-20])": int(wrong.size),
                "largest such |logit|": largest,
                "note": r"in float64, $1 + e^{-x}$ rounds to 2 for $|x|$ below about $2^{-53}$, so $\sigma(x) = 0.5$ "
                        "for tiny negative x"}
    pair = Pair("largest |negative logit| that float64 σ maps to ≥ 0.5", largest, 2.0**-53, "≈",
                note=r"theory: $2 + |x|$ rounds to 2 below half an ULP of 2, $|x| \lesssim 2^{-53}$; exactly, no "
                     "negative logit")
    if exact_ok:
        return Outcome("holds", evidence, pair=pair)
    return Outcome("refuted", evidence, counterexample={"exact equivalence": "failed"}, pair=pair)


