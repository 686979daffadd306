"""The chain rule and backpropagation: the worked examples of seeds 001 and 002, exactly (SymPy).

Every formula "as written" is evaluated as the slide writes it and compared with SymPy's derivative
of the whole composition at a drawn point; where they differ, the corrected formula is checked too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from verify.claims._common import EPS64, SEED_001, SEED_002, cite, jsonable, kernel_backend, rng_for
from verify.claims.registry import Context, Outcome, claim

__all__ = [
    "check_chain_rule_example",
    "check_worked_example_as_written",
    "check_chain_as_written",
    "check_u6_as_written",
    "check_gradient_of_average",
]


def check_chain_rule_example(ctx: Context) -> Outcome:
    import sympy as sp

    x, u = sp.symbols("x u")
    g = 3 * x**3 + 2
    dy_dx = sp.diff(g**2, x)
    via_chain = (2 * u * sp.diff(g, x)).subs(u, g)
    written = 54 * x**5 + 36 * x**2
    ok_chain = sp.expand(via_chain - dy_dx) == 0
    ok_written = sp.expand(written - dy_dx) == 0
    # the n-fold rule on a 4-fold composition
    fs = [sp.sin, sp.exp, lambda t: t**3 + t, sp.cos]
    inner = x
    chain = 1
    for f in reversed(fs):
        t = sp.Symbol("t")
        chain *= sp.diff(f(t), t).subs(t, inner)
        inner = f(inner)
    n_fold = sp.expand(chain - sp.diff(inner, x)) == 0
    evidence = {"d/dx (3x^3+2)^2": str(sp.expand(dy_dx)), "chain_rule_form": str(sp.expand(via_chain)),
                "written_54x^5+36x^2_matches": bool(ok_written), "n_fold_chain_rule_on_4_functions": bool(n_fold)}
    if ok_chain and ok_written and n_fold:
        return Outcome("holds", evidence)
    return Outcome("refuted", evidence, counterexample={"derivative": str(sp.expand(dy_dx)), "written": str(written)})


@claim(
    id="backprop.chain_rule_example",
    statement=(r"$y = f(g(x))$, $f(x)=x^2$, $g(x)=3x^3+2$: $\frac{dy}{dx} = (2u)(9x^2) = 54x^5 + 36x^2$; "
               r"$\frac{dy}{dx} = \frac{dy}{du_1}\frac{du_1}{du_2}\cdots\frac{du_n}{dx}$"),
    source=cite(SEED_001, "Chain rule and Backpropagation"),
    kind="identity",
    topic="backprop",
    title="The chain-rule example",
)
def _chain_example(ctx: Context) -> Outcome:
    return check_chain_rule_example(ctx)


def _worked_example(rng: np.random.Generator):
    """SymPy model of 002's example: F(y) = W a(K y + b), L = -c^T log softmax(F), a = tanh, 2 x 2."""
    import sympy as sp

    K = sp.Matrix(2, 2, sp.symbols("k1:5"))
    W = sp.Matrix(2, 2, sp.symbols("w1:5"))
    b = sp.Matrix(sp.symbols("b1:3"))
    y = sp.Matrix(sp.symbols("y1:3"))
    c = sp.Matrix(sp.symbols("c1:3"))
    z = K * y + b
    u1 = z.applyfunc(sp.tanh)
    u2 = W * u1
    lse = sp.log(sp.exp(u2[0]) + sp.exp(u2[1]))
    L = -sum(c[i] * (u2[i] - lse) for i in range(2))
    point: dict[Any, float] = {}
    for sym in [*K, *W, *b, *y]:
        point[sym] = float(rng.normal())
    cval = rng.dirichlet(np.ones(2))
    point[c[0]], point[c[1]] = float(cval[0]), float(cval[1])

    symbols = list(point)
    values = [point[k] for k in symbols]

    def num(expr: Any) -> np.ndarray:
        """Evaluate at the point with 30-digit mpmath arithmetic (lambdified once: subs on these
        expressions is slow), rounded to float64."""
        import mpmath

        m = sp.Matrix(expr)
        f = sp.lambdify(symbols, m, modules="mpmath")
        with mpmath.workdps(30):
            out = f(*[mpmath.mpf(v) for v in values])
        return np.array([[float(out[i, j]) for j in range(m.shape[1])] for i in range(m.shape[0])])

    grads = {
        "W": num(sp.Matrix(2, 2, lambda i, j: sp.diff(L, W[i, j]))),
        "u1": None,
        "K": num(sp.Matrix(2, 2, lambda i, j: sp.diff(L, K[i, j]))),
        "b": num(sp.Matrix([sp.diff(L, bi) for bi in b])),
        "y": num(sp.Matrix([sp.diff(L, yi) for yi in y])),
    }
    # dL/du1 with u1 as a free variable
    v = sp.Matrix(sp.symbols("v1:3"))
    u2v = W * v
    Lv = -sum(c[i] * (u2v[i] - sp.log(sp.exp(u2v[0]) + sp.exp(u2v[1]))) for i in range(2))
    grads["u1"] = num(sp.Matrix([sp.diff(Lv, vi) for vi in v]).subs({v[0]: u1[0], v[1]: u1[1]}))
    vals = {"K": num(K), "W": num(W), "b": num(b), "y": num(y), "c": num(c), "u1": num(u1), "u2": num(u2),
            "z": num(z)}
    return grads, vals


def _softmax_col(u: np.ndarray) -> np.ndarray:
    e = np.exp(u - u.max())
    return e / e.sum()


def check_worked_example_as_written(ctx: Context) -> Outcome:
    rng = rng_for(ctx, "backprop.worked_example")
    grads, v = _worked_example(rng)
    s = _softmax_col(v["u2"])
    r = v["c"] - s  # the slide's residual c - sigma(u2)
    da = np.diagflat(1 - np.tanh(v["z"]) ** 2)
    written = {
        "W": r @ v["u1"].T,
        "u1": v["W"].T @ r,  # the slide writes sigma(z): z is not defined there; read as u2
        "K": da @ r @ v["y"].T,
        "b": da @ r,
        "y": v["K"].T @ da @ r,
    }
    corrected = {
        "W": -r @ v["u1"].T,
        "u1": -v["W"].T @ r,
        "K": da @ v["W"].T @ (-r) @ v["y"].T,
        "b": da @ v["W"].T @ (-r),
        "y": v["K"].T @ da @ v["W"].T @ (-r),
    }
    corrected_tex = {
        "W": r"(\sigma(u_2) - c)u_1^\top",
        "u1": r"W^\top(\sigma(u_2) - c)",
        "K": r"\mathrm{diag}(a'(Ky+b))W^\top(\sigma(u_2) - c)y^\top",
        "b": r"\mathrm{diag}(a'(Ky+b))W^\top(\sigma(u_2) - c)",
        "y": r"K^\top\mathrm{diag}(a'(Ky+b))W^\top(\sigma(u_2) - c)",
    }
    rows, wrong = {}, {}
    for key, g in grads.items():
        tol = 64 * EPS64 * (1 + float(np.max(np.abs(g))))
        ok_w = bool(np.max(np.abs(written[key] - g)) <= tol)
        ok_c = bool(np.max(np.abs(corrected[key] - g)) <= tol)
        rows[key] = {"sympy": g.ravel().tolist(), "as_written": written[key].ravel().tolist(), "written_ok": ok_w,
                     "corrected_ok": ok_c}
        if not ok_w:
            wrong[key] = (ok_c, corrected_tex[key])
    evidence = {"activation": "tanh", "gradients": rows}
    if not wrong:
        return Outcome("holds", jsonable(evidence))
    fixes = [rf"\nabla_{{{k}}} L = {tex}" for k, (ok, tex) in wrong.items() if ok]
    key = next(iter(wrong))
    return Outcome("refuted", jsonable(evidence),
                   counterexample=jsonable({"point": {k: v[k].ravel() for k in ("K", "W", "b", "y", "c")},
                                            "gradient": f"nabla_{key} L", "as_written": rows[key]["as_written"],
                                            "true": rows[key]["sympy"], "wrong_formulas": list(wrong)}),
                   corrected="; ".join(fixes) if len(fixes) == len(wrong) else None)


@claim(
    id="backprop.worked_example_as_written",
    statement=(r"For $F = W a(Ky+b)$, $L = -c^\top\log\sigma(u_2)$: $\nabla_W L = (c-\sigma(u_2))u_1^\top$, "
               r"$\nabla_{u_1}L = W^\top(c - \sigma(z))$, $\nabla_K L = \mathrm{diag}(a'(Ky+b))(c-\sigma(u_2))y^\top$, "
               r"$\nabla_b L = \mathrm{diag}(a')(c-\sigma(u_2))$, $\nabla_y L = K^\top\mathrm{diag}(a')(c-\sigma(u_2))$"),
    source=cite(SEED_002, "Example: Backward Propagation"),
    kind="as-written",
    topic="backprop",
    title="The worked backpropagation example, as written",
)
def _worked(ctx: Context) -> Outcome:
    return check_worked_example_as_written(ctx)


def check_chain_as_written(ctx: Context) -> Outcome:
    """The three backward lines of 002 on scalar layers ``u_k = tanh(theta_k u_{k-1})``, ``L = u_3^2/2``."""
    import sympy as sp

    t1, t2, t3, u0 = sp.symbols("theta1 theta2 theta3 u0")
    a, b_, c_ = sp.symbols("a b c")
    f = lambda th, u: sp.tanh(th * u)
    u1 = f(t1, u0)
    u2 = f(t2, u1)
    u3 = f(t3, u2)
    L = u3**2 / 2
    rng = rng_for(ctx, "backprop.chain")
    point = {t1: float(rng.normal()), t2: float(rng.normal()), t3: float(rng.normal()), u0: float(rng.normal())}
    # the local derivatives, each evaluated at the forward values
    d = {
        "th3_u3": sp.diff(f(t3, c_), t3).subs(c_, u2), "u3_L": u3,
        "th2_u2": sp.diff(f(t2, b_), t2).subs(b_, u1), "u2_u3": sp.diff(f(t3, b_), b_).subs(b_, u2),
        "th1_u1": sp.diff(f(t1, a), t1).subs(a, u0), "u1_u2": sp.diff(f(t2, a), a).subs(a, u1),
    }
    ev = lambda e: float(sp.N(e.subs(point), 30))
    truth = {"theta3": ev(sp.diff(L, t3)), "theta2": ev(sp.diff(L, t2)), "theta1": ev(sp.diff(L, t1))}
    lines = [
        ("grad_theta3 L = grad_theta3 u3 grad_u3 L", "theta3", d["th3_u3"] * d["u3_L"]),
        ("grad_theta2 L = grad_theta2 u2 grad_theta3 u3 grad_u3 L", "theta2", d["th2_u2"] * d["th3_u3"] * d["u3_L"]),
        ("grad_theta2 L = grad_theta1 u1 grad_u1 u2 grad_u2 u3 grad_u3 L", "theta2",
         d["th1_u1"] * d["u1_u2"] * d["u2_u3"] * d["u3_L"]),
    ]
    corrected = {
        1: ("grad_theta2 L = grad_theta2 u2 grad_u2 u3 grad_u3 L", "theta2", d["th2_u2"] * d["u2_u3"] * d["u3_L"]),
        2: ("grad_theta1 L = grad_theta1 u1 grad_u1 u2 grad_u2 u3 grad_u3 L", "theta1",
            d["th1_u1"] * d["u1_u2"] * d["u2_u3"] * d["u3_L"]),
    }
    rows, wrong = [], []
    for k, (text, wrt, expr) in enumerate(lines):
        val = ev(expr)
        ok = abs(val - truth[wrt]) <= 1e-12 * (1 + abs(truth[wrt]))
        rows.append({"line": text, "value": val, "true": truth[wrt], "ok": ok})
        if not ok:
            fix = corrected.get(k)
            fixed_ok = fix is not None and abs(ev(fix[2]) - truth[fix[1]]) <= 1e-12 * (1 + abs(truth[fix[1]]))
            wrong.append((text, fix[0] if fixed_ok else None))
    evidence = {"layers": "u_k = tanh(theta_k u_{k-1}), L = u_3^2 / 2", "point": {str(k): v for k, v in point.items()},
                "lines": rows}
    if not wrong:
        return Outcome("holds", jsonable(evidence))
    fixes = [f for _, f in wrong if f]
    return Outcome("refuted", jsonable(evidence), counterexample=jsonable({"wrong_lines": [w for w, _ in wrong],
                                                                          "point": evidence["point"]}),
                   corrected="; ".join(fixes) if len(fixes) == len(wrong) else None)


@claim(
    id="backprop.chain_as_written",
    statement=(r"$\nabla_{\theta_3}L = \nabla_{\theta_3}u_3\nabla_{u_3}L$; $\nabla_{\theta_2}L = \nabla_{\theta_2}u_2"
               r"\nabla_{\theta_3}u_3\nabla_{u_3}L$; $\nabla_{\theta_2}L = \nabla_{\theta_1}u_1\nabla_{u_1}u_2"
               r"\nabla_{u_2}u_3\nabla_{u_3}L$"),
    source=cite(SEED_002, "Backward Propagation: Chain Rule"),
    kind="as-written",
    topic="backprop",
    title="The backward-propagation chain, as written",
)
def _chain_written(ctx: Context) -> Outcome:
    return check_chain_as_written(ctx)


def check_u6_as_written(ctx: Context) -> Outcome:
    """001 decomposes ``u_0(W_0) = -y^T log softmax(W_1 a(W_0 x))`` with ``u_6(z) = z^T x``; compose it."""
    rng = rng_for(ctx, "backprop.u6")
    d = 3
    W0, W1 = rng.normal(size=(d, d)), rng.normal(size=(d, d))
    x = rng.normal(size=d)
    y = np.eye(d)[1]
    a = np.tanh

    def loss(h: np.ndarray) -> float:
        s = W1 @ a(h)
        return float(-(y @ (s - s.max() - np.log(np.sum(np.exp(s - s.max()))))))

    direct = loss(W0 @ x)
    as_written = loss(W0.T @ x)
    fixed = loss(W0 @ x)
    jac_u1 = -y  # d(-y^T z)/dz
    jac_u4 = W1  # d(W1 z)/dz
    eps = 1e-6
    zt = rng.normal(size=d)
    num_u4 = np.column_stack([(W1 @ (zt + eps * e) - W1 @ (zt - eps * e)) / (2 * eps) for e in np.eye(d)])
    evidence = {"loss": direct, "composition_with_u6(z)=z^T x": as_written, "composition_with_u6(z)=z x": fixed,
                "du1/dz=-y": jac_u1.tolist(), "du4/dz=W1_max_error": float(np.max(np.abs(num_u4 - jac_u4)))}
    tol = 64 * EPS64 * (1 + abs(direct))
    if abs(as_written - direct) <= tol:
        return Outcome("holds", jsonable(evidence))
    return Outcome("refuted", jsonable(evidence),
                   counterexample=jsonable({"W0": W0, "x": x, "loss": direct, "as_written": as_written}),
                   corrected=r"u_6(z) = z\,x" if abs(fixed - direct) <= tol else None)


@claim(
    id="backprop.u6_as_written",
    statement=(r"$u_0 = u_1(u_2(u_3(u_4(u_5(u_6(W_0))))))$ with $u_1(z) = -y^\top z$, $u_2 = \log$, $u_3 = \mathrm{softmax}$, "
               r"$u_4(z) = W_1 z$, $u_5 = a$, $u_6(z) = z^\top x$"),
    source=cite(SEED_001, "Chain rule and Backpropagation", "the third slide of that title"),
    kind="as-written",
    topic="backprop",
    title="The decomposition of the one-hidden-layer loss, as written",
)
def _u6(ctx: Context) -> Outcome:
    return check_u6_as_written(ctx)


def check_gradient_of_average(ctx: Context) -> Outcome:
    """``grad (1/n) sum_i l_i = (1/n) sum_i grad l_i``: the kernel's "mean" gradient against its per-row ones."""
    from verify.kernels.losses import softmax_cross_entropy

    rng = rng_for(ctx, "backprop.average")
    z = rng.normal(size=(40, 5)) * 3
    t = rng.integers(0, 5, size=40)
    _, g_mean = softmax_cross_entropy(z, t, reduction="mean", backend=kernel_backend(ctx))
    _, g_rows = softmax_cross_entropy(z, t, reduction="none", backend=kernel_backend(ctx))
    err = float(np.max(np.abs(g_mean - g_rows / z.shape[0])))
    tol = 4 * EPS64 * float(np.max(np.abs(g_rows)) / z.shape[0])
    evidence = {"rows": 40, "max_abs_difference": err, "tolerance": tol}
    if err <= tol:
        return Outcome("holds", evidence)
    return Outcome("refuted", evidence, counterexample={"max_abs_difference": err})


@claim(
    id="backprop.gradient_of_average",
    statement=r"$\nabla_\theta L(\theta) = \frac1n\sum_{i=1}^n \nabla_\theta l(NN_\theta(x^{(i)}), y^{(i)})$",
    source=cite(SEED_001, "Going back to Neural Networks"),
    kind="identity",
    topic="backprop",
    title="The gradient of the average loss",
)
def _average(ctx: Context) -> Outcome:
    return check_gradient_of_average(ctx)
