"""Softmax, sigmoid, the loss functions of seeds 000 and 002, and the linear decision rules.

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
    jsonable,
    kernel_backend,
    new_figure,
    rng_for,
)
from verify.claims.registry import Context, Outcome, claim

__all__ = [
    "check_softmax_distribution",
    "check_sigmoid_range",
    "check_logistic_as_written_float64",
    "check_hinge_bounds",
    "check_ce_convexity",
    "check_simplex_as_written",
    "check_ce_gradient_as_written",
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
        if np.any(s < 0) or np.any(np.abs(s.sum(axis=1) - 1) > tol_sum):
            return {"logits": logits.tolist(), "softmax": s.tolist(), "fails": "not a distribution"}
        # below ~1e-290 the entries are subnormal or nearly so and carry only absolute accuracy
        if np.any(np.abs(s - s2) > tol_shift * np.maximum(s, s2) + 1e-290):
            return {"logits": logits.tolist(), "shift": shift, "softmax": s.tolist(), "shifted": s2.tolist(),
                    "fails": "not shift invariant"}
        return None

    tried, counter = hypothesis_search(_logits(), violation, seed=ctx.seed, max_examples=40 if ctx.quick else 120)
    evidence = {"symbolic_shift_invariance": bool(symbolic), "symbolic_sums_to_one": bool(symbolic_sum),
                "examples": tried, "entries_underflowing_to_0_in_float64": underflows[0],
                "note": "mathematically every entry is > 0; in float64 exp underflows to 0 below a gap of ~745"}
    if not (symbolic and symbolic_sum):
        return Outcome("refuted", evidence, counterexample={"symbolic": "failed"})
    if counter is not None:
        return Outcome("refuted", jsonable(evidence), counterexample=jsonable(counter))
    return Outcome("holds", jsonable(evidence))


@claim(
    id="softmax.distribution_shift_invariant",
    statement=(r"$\mathrm{softmax}(z)_k = e^{z_k}/\sum_j e^{z_j}$ is positive, sums to 1, and "
               r"$\mathrm{softmax}(z + c\mathbf 1) = \mathrm{softmax}(z)$"),
    source=cite(SEED_000, "LINEAR MODELS", f"log-linear multi-class; {SEED_002}, \"Loss Functions\" (softmax)"),
    kind="identity",
    topic="softmax",
    title="Softmax is a shift-invariant distribution",
)
def _softmax(ctx: Context) -> Outcome:
    return check_softmax_distribution(ctx)


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
    evidence = {"float64_values_in_[0,1]": in_closed, "exact_values_in_(0,1)": exact_open,
                "float64_sigmoid_equals_1_from_x": one_at, "float64_sigmoid_equals_0_below_x": zero_below,
                "consequence": "log(1 - sigma(x)) = -inf for x >= the first threshold: use the logit form"}
    if in_closed and exact_open:
        return Outcome("holds", jsonable(evidence), data={"one_at": one_at, "zero_below": zero_below})
    return Outcome("refuted", jsonable(evidence), counterexample={"values_outside": True})


def sigmoid_figure(outcome: Outcome):
    from verify.kernels.activations import activation

    fig, axes = new_figure(1, 1)
    ax = axes[0, 0]
    x = np.linspace(30, 45, 400)
    ax.semilogy(x, 1 - activation("sigmoid", x, backend="numpy") + 1e-18, label=r"$1 - \sigma(x)$ in float64 (+1e-18)")
    ax.semilogy(x, np.exp(-x), "--", label=r"exact $\approx e^{-x}$")
    one_at = (outcome.data or {}).get("one_at")
    if one_at:
        ax.axvline(one_at, color="r", ls=":", label=rf"$\sigma(x) = 1.0$ from $x \approx {one_at:.2f}$")
    ax.set_xlabel("x")
    ax.set_ylabel(r"distance of $\sigma(x)$ from 1")
    ax.set_title("Sigmoid saturation in float64")
    ax.legend(fontsize=8)
    return fig


@claim(
    id="sigmoid.range",
    statement=(r"$\sigma(x) = 1/(1+e^{-x})$ maps to $[0, 1]$: exactly into $(0,1)$; in float64 it reaches 0 and 1 "
               r"(saturation)"),
    source=cite(SEED_000, "LOSS FUNCTIONS", f"logistic loss, and \"LINEAR MODELS\"; {SEED_002}, \"A Biological "
                "Perspective on Layers\""),
    kind="identity",
    topic="softmax",
    title="The range of the sigmoid, exact and in float64",
    figure=sigmoid_figure,
)
def _sigmoid(ctx: Context) -> Outcome:
    return check_sigmoid_range(ctx)


def check_logistic_as_written_float64(ctx: Context) -> Outcome:
    """Evaluate ``-y log y_hat - (1-y) log(1 - y_hat)`` with ``y_hat = sigma(y_tilde)`` in float64, as the
    slide composes it, against the exact value (mpmath); then the logit form (library kernel)."""
    import mpmath

    from verify.kernels.activations import activation
    from verify.kernels.losses import logistic_from_logit

    logits = np.array([-60.0, -40.0, -20.0, -5.0, 0.0, 5.0, 20.0, 37.0, 40.0, 60.0])
    worst, worst_logit = None, 0.0
    rows = []
    for y in (0.0, 1.0):
        yhat = activation("sigmoid", logits, backend=kernel_backend(ctx))
        with np.errstate(divide="ignore", invalid="ignore"):
            written = -y * np.log(yhat) - (1 - y) * np.log(1 - yhat)
        logit_form, _ = logistic_from_logit(logits, np.full(logits.size, int(y)), reduction="none", backend=kernel_backend(ctx))
        for z, w, lf in zip(logits, written, logit_form, strict=True):
            with mpmath.workdps(50):
                zz = mpmath.mpf(float(z))
                exact = float(mpmath.log(1 + mpmath.exp(zz)) - y * zz)
            rel = abs(w - exact) / exact if math.isfinite(w) else math.inf
            rel_logit = abs(lf - exact) / exact
            rows.append({"y": y, "logit": float(z), "as_written": float(w), "exact": exact, "rel_err_as_written": rel,
                         "rel_err_logit_form": rel_logit})
            if rel > 1e-6 and (worst is None or rel > worst["rel_err_as_written"]):
                worst = rows[-1]
            worst_logit = max(worst_logit, rel_logit)
    evidence = {"rows": rows, "max_rel_err_logit_form": worst_logit}
    if worst is None:
        return Outcome("holds", jsonable(evidence))
    return Outcome("refuted", jsonable(evidence), counterexample=jsonable(worst),
                   corrected=(r"L = \log(1 + e^{\tilde y}) - y\tilde y\ \text{(softplus of the logit)}"
                              if worst_logit < 1e-13 else None))


@claim(
    id="loss.logistic_as_written_float64",
    statement=(r"$L_{\text{logistic}}(\hat y, y) = -y\log\hat y - (1-y)\log(1-\hat y)$ with $\hat y = \sigma(\tilde y)$, "
               r"evaluated in float64 as written, is accurate for every logit $\tilde y$"),
    source=cite(SEED_000, "LOSS FUNCTIONS", "LOGISTIC LOSS (BINARY CROSS ENTROPY)"),
    kind="as-written",
    topic="losses",
    title="The logistic loss through the sigmoid, in float64",
)
def _logistic(ctx: Context) -> Outcome:
    return check_logistic_as_written_float64(ctx)


def check_hinge_bounds(ctx: Context) -> Outcome:
    """Binary and multi-class hinge (kernels): upper bounds of the 0-1 loss, zero iff margin >= 1, convex."""
    from hypothesis import strategies as st
    from hypothesis.extra.numpy import arrays

    from verify.kernels.losses import hinge, multiclass_hinge

    def binary(args: tuple[np.ndarray, np.ndarray, np.ndarray]) -> dict[str, Any] | None:
        a, b, ysign = args
        y = np.where(ysign, 1, -1)
        la, _ = hinge(a, y, reduction="none", backend=kernel_backend(ctx))
        lb, _ = hinge(b, y, reduction="none", backend=kernel_backend(ctx))
        lm, _ = hinge((a + b) / 2, y, reduction="none", backend=kernel_backend(ctx))
        zero_one = (y * a < 0).astype(float)
        if np.any(la < zero_one) or np.any((la == 0) != (y * a >= 1)) or np.any(lm > (la + lb) / 2 + 1e-12 * (1 + np.abs(a) + np.abs(b))):
            return {"scores": a.tolist(), "labels": y.tolist(), "hinge": la.tolist()}
        return None

    def multi(args: tuple[np.ndarray, int]) -> dict[str, Any] | None:
        scores, seed = args
        n, k = scores.shape
        t = np.random.default_rng(seed).integers(0, k, size=n)
        loss, _ = multiclass_hinge(scores, t, reduction="none", backend=kernel_backend(ctx))
        wrong = (np.argmax(scores, axis=1) != t).astype(float)
        if np.any(loss < wrong):
            return {"scores": scores.tolist(), "target": t.tolist(), "loss": loss.tolist()}
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
    evidence = {"binary_examples": tried_b, "multiclass_examples": tried_m,
                "j_free_reading": {"scores": scores.tolist(), "t": t, "loss_with_j=1": free_j[0],
                                   "loss_with_j=2": free_j[1], "zero_one": 1.0,
                                   "bound_fails_for_j=2": bool(free_j[1] < 1.0)}}
    counter = cb or cm
    if counter is not None:
        return Outcome("refuted", jsonable(evidence), counterexample=jsonable(counter))
    return Outcome("holds", jsonable(evidence))


@claim(
    id="loss.hinge_bounds_zero_one",
    statement=(r"$\max(0, 1 - y\tilde y) \ge \mathbf 1[y\tilde y < 0]$ (zero iff $y\tilde y \ge 1$, convex); "
               r"$\max(0, 1-(\hat y_{[t]} - \hat y_{[j]})) \ge \mathbf 1[\arg\max_i \hat y_{[i]} \ne t]$ for "
               r"$j = \arg\max_{i\ne t}\hat y_{[i]}$"),
    source=cite(SEED_000, "LOSS FUNCTIONS", "HINGE (binary) and HINGE (multi-class) LOSS"),
    kind="inequality",
    topic="losses",
    title="Hinge losses bound the 0-1 loss",
)
def _hinge(ctx: Context) -> Outcome:
    return check_hinge_bounds(ctx)


def _ce_ref(z: np.ndarray, c: np.ndarray) -> float:
    m = float(np.max(z))
    return float(-(c @ (z - m - math.log(np.sum(np.exp(z - m))))))


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
        if lm > (la + lb) / 2 + tol or la < -tol or qm > (qa + qb) / 2 + 8 * k * EPS64 * (qa + qb + 1):
            worst = {"a": a.tolist(), "b": b.tolist(), "c": cc.tolist(), "L(a)": la, "L(b)": lb, "L(mid)": lm}
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
    evidence = {"symbolic_hessian_ce_is_(1^T c)_times_a_variance": bool(symbolic_ce),
                "symbolic_hessian_ls_is_identity": bool(symbolic_ls), "past_condition_nonconvex_example": past}
    if not (symbolic_ce and symbolic_ls):
        return Outcome("refuted", evidence, counterexample={"symbolic": "failed"})
    if worst is not None:
        return Outcome("refuted", jsonable(evidence), counterexample=jsonable(worst))
    if past is None:
        return Outcome("inconclusive", jsonable(evidence), why="no non-convex case found outside the simplex")
    return Outcome("holds", jsonable(evidence))


@claim(
    id="loss.convex_in_first_argument",
    statement=(r"$L_{LS}(F, c) = \frac12\|F - c\|_2^2$ and $L_{CE}(F, c) = -c^\top\log\sigma(F)$ are convex in $F$ "
               r"and map to $\mathbb{R}_+$ ($c \in \Delta^m$)"),
    source=cite(SEED_002, "Loss Functions"),
    kind="inequality",
    topic="losses",
    title="Least squares and cross-entropy are convex in the prediction",
)
def _convex(ctx: Context) -> Outcome:
    return check_ce_convexity(ctx)


def check_simplex_as_written(ctx: Context) -> Outcome:
    r"""002 defines $\Delta^m = \{x : 1^\top x = 0, x_i \ge 0\}$; test the slides' own members against it."""
    members = {"c in Delta^2 of the backprop example (c1 + c2 = 1)": [Fraction(1, 2), Fraction(1, 2)],
               "one-hot label": [Fraction(0), Fraction(1), Fraction(0)]}

    def as_written(x: list[Fraction]) -> bool:
        return sum(x) == 0 and all(v >= 0 for v in x)

    def corrected(x: list[Fraction]) -> bool:
        return sum(x) == 1 and all(v >= 0 for v in x)

    rejected = {k: v for k, v in members.items() if not as_written(v)}
    # what the written set does contain: x >= 0 with sum 0 forces x = 0
    only_zero = all(not as_written([Fraction(a), Fraction(b)]) or (a == 0 and b == 0)
                    for a in range(0, 3) for b in range(0, 3))
    evidence = {"members_rejected_by_written_definition": {k: [str(v) for v in x] for k, x in rejected.items()},
                "written_set_is_{0}": only_zero, "corrected_accepts_all": all(corrected(v) for v in members.values())}
    if not rejected:
        return Outcome("holds", evidence)
    return Outcome("refuted", evidence, counterexample={"c": "(1/2, 1/2)", "1^T c": "1 != 0"},
                   corrected=(r"\Delta^m = \{x\in\mathbb{R}^m : \mathbf 1^\top x = 1,\ x_i \ge 0\}"
                              if evidence["corrected_accepts_all"] else None))


@claim(
    id="loss.simplex_as_written",
    statement=r"$\Delta^m = \{x \in \mathbb{R}^n \mid \mathbf 1^\top x = 0,\ x_i \ge 0\}$ is the unit simplex",
    source=cite(SEED_002, "Loss Functions"),
    kind="as-written",
    topic="losses",
    title="The definition of the unit simplex, as written",
)
def _simplex(ctx: Context) -> Outcome:
    return check_simplex_as_written(ctx)


def check_ce_gradient_as_written(ctx: Context) -> Outcome:
    r"""002 writes $\nabla_{u_2} L = c - \sigma(u_2)$; compare with the kernel's gradient and SymPy."""
    import sympy as sp

    from verify.kernels.activations import softmax
    from verify.kernels.losses import softmax_cross_entropy

    u = sp.symbols("u1:3")
    cs = sp.symbols("c1:3", nonnegative=True)
    L = -sum(ci * sp.log(sp.exp(ui) / (sp.exp(u[0]) + sp.exp(u[1]))) for ci, ui in zip(cs, u, strict=True))
    grad_sym = [sp.diff(L, ui) for ui in u]
    rng = rng_for(ctx, "loss.ce_gradient")
    u2 = rng.normal(size=(1, 2)) * 2
    c = rng.dirichlet(np.ones(2))[None, :]
    _, g = softmax_cross_entropy(u2, c, reduction="sum", backend=kernel_backend(ctx))
    exact = np.array([float(gs.subs({u[0]: u2[0, 0], u[1]: u2[0, 1], cs[0]: c[0, 0], cs[1]: c[0, 1]})) for gs in grad_sym])
    s = softmax(u2, backend=kernel_backend(ctx))
    written = c - s
    fixed = s - c
    tol = 8 * EPS64 * (1 + np.max(np.abs(exact)))
    ok_kernel = bool(np.all(np.abs(g[0] - exact) <= tol))
    ok_written = bool(np.all(np.abs(written[0] - exact) <= tol))
    ok_fixed = bool(np.all(np.abs(fixed[0] - exact) <= tol))
    evidence = {"u2": u2[0].tolist(), "c": c[0].tolist(), "sympy_gradient": exact.tolist(), "kernel_gradient": g[0].tolist(),
                "as_written": written[0].tolist(), "kernel_matches_sympy": ok_kernel}
    if ok_written:
        return Outcome("holds", jsonable(evidence))
    return Outcome("refuted", jsonable(evidence), counterexample=jsonable({"u2": u2[0], "c": c[0], "as_written": written[0],
                                                                          "true_gradient": exact}),
                   corrected=r"\nabla_{u_2} L = \sigma(u_2) - c" if ok_fixed else None)


@claim(
    id="loss.ce_gradient_as_written",
    statement=r"$\nabla_{\mathbf u_2} L(\mathbf u_2, \mathbf c) = \mathbf c - \sigma(\mathbf u_2)$ for $L = -\mathbf c^\top\log\sigma(\mathbf u_2)$",
    source=cite(SEED_002, "Example: Backward Propagation"),
    kind="as-written",
    topic="losses",
    title="The cross-entropy gradient of the worked example, as written",
)
def _ce_grad(ctx: Context) -> Outcome:
    return check_ce_gradient_as_written(ctx)


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
    evidence = {"rows": 50, "max_abs_difference": err, "tolerance": tol}
    if err <= tol:
        return Outcome("holds", evidence)
    return Outcome("refuted", evidence, counterexample={"max_abs_difference": err})


@claim(
    id="loss.nll_one_hot",
    statement=r"$-\sum_i y_{[i]}\log\hat y_{[i]} = -\log\hat y_{[t]}$ for a one-hot $\mathbf y$ of class $t$",
    source=cite(SEED_000, "LOSS FUNCTIONS", "NEGATIVE LOG LIKELIHOOD (CATEGORICAL CROSS-ENTROPY LOSS)"),
    kind="identity",
    topic="losses",
    title="Negative log-likelihood with hard labels",
)
def _nll(ctx: Context) -> Outcome:
    return check_nll_one_hot(ctx)


def check_decision_rule_as_written(ctx: Context) -> Outcome:
    """000: "Fairfax if y_hat >= 0 and Dupont Circle if y_hat <= 0": does it assign one class to every point?"""
    w1, w2, b = Fraction(2), Fraction(-3), Fraction(1)
    # a point on the decision boundary, exactly: 2 size - 3 price + 1 = 0
    size, price = Fraction(1), Fraction(1)
    score = size * w1 + price * w2 + b
    yhat = (score > 0) - (score < 0)  # sign
    classes = [name for name, cond in (("Fairfax", yhat >= 0), ("Dupont Circle", yhat <= 0)) if cond]
    evidence = {"w": [str(w1), str(w2)], "b": str(b), "point": [str(size), str(price)], "score": str(score),
                "sign": yhat, "classes_assigned": classes}
    if len(classes) == 1:
        return Outcome("holds", evidence)
    return Outcome("refuted", evidence, counterexample={"size": 1, "price": 1, "w": [2, -3], "b": 1,
                                                        "classes": classes},
                   corrected=r"\text{Fairfax if }\hat y \ge 0,\ \text{Dupont Circle if }\hat y < 0")


@claim(
    id="linear.decision_rule_as_written",
    statement=r"The prediction is Fairfax if $\hat y \ge 0$ and Dupont Circle if $\hat y \le 0$ (one class per point)",
    source=cite(SEED_000, "LINEAR MODELS"),
    kind="as-written",
    topic="linear",
    title="The binary decision rule, as written",
)
def _rule(ctx: Context) -> Outcome:
    return check_decision_rule_as_written(ctx)


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
    evidence = {"exact_equivalence": exact_ok,
                "float64_negative_logits_predicted_1": int(wrong.size),
                "float64_largest_such_|logit|": float(np.max(np.abs(wrong))) if wrong.size else 0.0,
                "note": "in float64 1 + e^{-x} rounds to 1 for |x| < eps/2, so sigma(x) = 0.5 for tiny negative x"}
    if exact_ok:
        return Outcome("holds", jsonable(evidence))
    return Outcome("refuted", jsonable(evidence), counterexample={"exact": "failed"})


@claim(
    id="linear.logistic_rule_is_sign_rule",
    statement=r"prediction $= 1$ iff $\hat y = \sigma(\tilde y) \ge 0.5$ iff $\tilde y \ge 0$ (the sign rule)",
    source=cite(SEED_000, "LOSS FUNCTIONS", "LOGISTIC LOSS prediction rule"),
    kind="identity",
    topic="linear",
    title="The logistic prediction rule is the sign rule",
)
def _logrule(ctx: Context) -> Outcome:
    return check_logistic_rule(ctx)
