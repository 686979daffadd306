"""The chain rule and backpropagation: the worked examples of *CS3485*, Lecture 4 (001_02deb113427fab16.txt)
and *Diving Into Deep Learning, Part 1* (002_1388b78ad9a2d202.txt), exactly (SymPy).

Every formula "as written" is evaluated as the slide writes it and compared with SymPy's derivative
of the whole composition at a drawn point; where they differ, the corrected formula is checked too.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from verify.claims._common import EPS64, SEED_001, SEED_002, cite, kernel_backend, rng_for
from verify.claims.registry import Context, Correction, Outcome, Pair, claim

__all__ = [
    "check_chain_rule_example",
    "check_worked_example_as_written",
    "check_chain_as_written",
    "check_u6_as_written",
    "check_gradient_of_average",
]


@claim(id="backprop.chain_rule_example", kind="identity", title="The chain-rule example",
       statement=r"$y = f(g(x))$, $f(x)=x^2$, $g(x)=3x^3+2$: $\frac{dy}{dx} = (2u)(9x^2) = 54x^5 + 36x^2$; "
                 r"$\frac{dy}{dx} = \frac{dy}{du_1}\frac{du_1}{du_2}\cdots\frac{du_n}{dx}$",
       source=cite(SEED_001, "Chain rule and Backpropagation"))
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
    evidence = {"SymPy: d/dx (3x³ + 2)²": f"${sp.latex(sp.expand(dy_dx))}$",
                "the chain rule's (2u)(9x²) at u = g(x)": f"${sp.latex(sp.expand(via_chain))}$",
                "54x⁵ + 36x² as written matches": bool(ok_written),
                "the n-fold chain rule on sin ∘ exp ∘ (t³ + t) ∘ cos": bool(n_fold)}
    pair = Pair("d/dx (3x³ + 2)² − (54x⁵ + 36x²), expanded by SymPy", f"${sp.latex(sp.expand(dy_dx - written))}$",
                0, "=")
    if ok_chain and ok_written and n_fold:
        return Outcome("holds", evidence, pair=pair)
    return Outcome("refuted", evidence, pair=pair,
                   counterexample={"derivative": f"${sp.latex(sp.expand(dy_dx))}$", "as written": f"${sp.latex(written)}$"})


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


@functools.lru_cache(maxsize=4)
def _worked_example_at(seed: int):
    """The example's gradients at the point drawn for ``seed`` (the formulas as written and the corrected ones
    are checked at the same point; SymPy's gradients take a second, so they are computed once)."""
    return _worked_example(rng_for(Context(seed=seed), "backprop.worked_example"))


def _softmax_col(u: np.ndarray) -> np.ndarray:
    e = np.exp(u - u.max())
    return e / e.sum()


#: The corrected gradients of the worked example, by the name the evidence gives each.
_WORKED_EXAMPLE_CORRECTED = {
    "∇_W L": r"\nabla_{W} L = (\sigma(u_2) - c)u_1^\top",
    "∇_u₁ L": r"\nabla_{u_1} L = W^\top(\sigma(u_2) - c)",
    "∇_K L": r"\nabla_{K} L = \mathrm{diag}(a'(Ky+b))W^\top(\sigma(u_2) - c)y^\top",
    "∇_b L": r"\nabla_{b} L = \mathrm{diag}(a'(Ky+b))W^\top(\sigma(u_2) - c)",
    "∇_y L": r"\nabla_{y} L = K^\top\mathrm{diag}(a'(Ky+b))W^\top(\sigma(u_2) - c)",
}


def _worked_example_correction(refuted: Outcome) -> Correction:
    """The correction of the gradients that failed (the counterexample names them)."""
    return Correction(
        ";\\ ".join(_WORKED_EXAMPLE_CORRECTED[name] for name in refuted.counterexample["formulas that fail"]),
        r"Two errors run through the slide's gradients: the residual has the wrong sign (the gradient of "
        r"$-c^\top\log\sigma(u_2)$ with respect to $u_2$ is $\sigma(u_2) - c$, not $c - \sigma(u_2)$), and the "
        r"gradients with respect to $K$, $b$ and $y$ drop the factor $W^\top$ that carries the gradient back "
        r"through $u_2 = W u_1$; $\nabla_{u_1} L$ also writes $\sigma(z)$ for $\sigma(u_2)$.",
        checked_by="the same comparison with SymPy's gradients at the same point")


@claim(id="backprop.worked_example_as_written", kind="as-written",
       title="The worked backpropagation example, as written",
       statement=r"For $F = W a(Ky+b)$, $L = -c^\top\log\sigma(u_2)$: $\nabla_W L = (c-\sigma(u_2))u_1^\top$, "
                 r"$\nabla_{u_1}L = W^\top(c - \sigma(z))$, $\nabla_K L = \mathrm{diag}(a'(Ky+b))(c-\sigma(u_2))y^\top$, "
                 r"$\nabla_b L = \mathrm{diag}(a')(c-\sigma(u_2))$, $\nabla_y L = K^\top\mathrm{diag}(a')(c-\sigma(u_2))$",
       source=cite(SEED_002, "Example: Backward Propagation"),
       correction=_worked_example_correction, corrected={"formulas": "corrected"})
def check_worked_example_as_written(ctx: Context, *, formulas: str = "as written") -> Outcome:
    """The five gradients of the worked example against SymPy's at a drawn point (30 digits), with the slide's
    formulas (``formulas="as written"``) or the corrected ones (``"corrected"``)."""
    if formulas not in ("as written", "corrected"):
        raise ValueError(f"formulas must be 'as written' or 'corrected'; got {formulas!r}")
    grads, v = _worked_example_at(ctx.seed)
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
    tested = written if formulas == "as written" else corrected
    names = {"W": "∇_W L", "u1": "∇_u₁ L", "K": "∇_K L", "b": "∇_b L", "y": "∇_y L"}
    rows, wrong, worst = [], [], 0.0
    for key, g in grads.items():
        tol = 64 * EPS64 * (1 + float(np.max(np.abs(g))))
        err = float(np.max(np.abs(tested[key] - g)))
        worst = max(worst, err)
        rows.append({"gradient": names[key], "SymPy (30 digits)": g.ravel().tolist(),
                     f"formula {formulas}": tested[key].ravel().tolist(), "matches": err <= tol})
        if err > tol:
            wrong.append(key)
    evidence = {"network": "F = W tanh(K y + b), L = −cᵀ log σ(F), 2 × 2, at a random point", "formulas": formulas,
                "gradients": rows}
    pair = Pair(f"largest |formula {formulas} − SymPy's gradient| over the five gradients", worst, 0.0, "=",
                note="0 up to rounding (64 ε)")
    if not wrong:
        return Outcome("holds", evidence, pair=pair)
    key = wrong[0]
    counter = {"point": {k: v[k].ravel().tolist() for k in ("K", "W", "b", "y", "c")}, "gradient": names[key],
               f"{formulas} there": tested[key].ravel().tolist(), "SymPy there": grads[key].ravel().tolist(),
               "formulas that fail": [names[k] for k in wrong]}
    return Outcome("refuted", evidence, counterexample=counter, pair=pair)


#: The corrected second and third backward lines: (LaTeX, the variable, the local derivatives whose product it is).
CHAIN_CORRECTED: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (r"\nabla_{\theta_2} L = \nabla_{\theta_2} u_2\, \nabla_{u_2} u_3\, \nabla_{u_3} L", "theta2",
     ("th2_u2", "u2_u3", "u3_L")),
    (r"\nabla_{\theta_1} L = \nabla_{\theta_1} u_1\, \nabla_{u_1} u_2\, \nabla_{u_2} u_3\, \nabla_{u_3} L", "theta1",
     ("th1_u1", "u1_u2", "u2_u3", "u3_L")),
)


@claim(id="backprop.chain_as_written", kind="as-written", title="The backward-propagation chain, as written",
       statement=r"$\nabla_{\theta_3}L = \nabla_{\theta_3}u_3\nabla_{u_3}L$; $\nabla_{\theta_2}L = \nabla_{\theta_2}u_2"
                 r"\nabla_{\theta_3}u_3\nabla_{u_3}L$; $\nabla_{\theta_2}L = \nabla_{\theta_1}u_1\nabla_{u_1}u_2"
                 r"\nabla_{u_2}u_3\nabla_{u_3}L$",
       source=cite(SEED_002, "Backward Propagation: Chain Rule"),
       correction=Correction(
           ";\\ ".join(text for text, _, _ in CHAIN_CORRECTED),
           r"The second line multiplies by $\nabla_{\theta_3} u_3$ where the chain needs $\nabla_{u_2} u_3$: "
           r"$\theta_2$ reaches $L$ through $u_2$, then $u_3$. The third line is the chain for $\theta_1$ but is "
           r"labelled $\nabla_{\theta_2} L$.",
           checked_by="the same 30-digit comparison with SymPy's gradients"),
       corrected={"lines": "corrected"})
def check_chain_as_written(ctx: Context, *, lines: str = "as written") -> Outcome:
    """The three backward lines of the notes on scalar layers ``u_k = tanh(theta_k u_{k-1})``, ``L = u_3^2/2``,
    each product of local derivatives evaluated at a drawn point (30 digits) against SymPy's gradient;
    ``lines="corrected"`` checks the corrected lines the same way."""
    import sympy as sp

    if lines not in ("as written", "corrected"):
        raise ValueError(f"lines must be 'as written' or 'corrected'; got {lines!r}")
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
    first = (r"\nabla_{\theta_3} L = \nabla_{\theta_3} u_3\, \nabla_{u_3} L", "theta3", d["th3_u3"] * d["u3_L"])
    if lines == "as written":
        tested = [first,
                  (r"\nabla_{\theta_2} L = \nabla_{\theta_2} u_2\, \nabla_{\theta_3} u_3\, \nabla_{u_3} L", "theta2",
                   d["th2_u2"] * d["th3_u3"] * d["u3_L"]),
                  (r"\nabla_{\theta_2} L = \nabla_{\theta_1} u_1\, \nabla_{u_1} u_2\, \nabla_{u_2} u_3\, \nabla_{u_3} L",
                   "theta2", d["th1_u1"] * d["u1_u2"] * d["u2_u3"] * d["u3_L"])]
    else:
        tested = [first] + [(text, wrt, sp.Mul(*(d[k] for k in factors))) for text, wrt, factors in CHAIN_CORRECTED]
    rows, wrong, worst = [], [], 0.0
    for text, wrt, expr in tested:
        val = ev(expr)
        err = abs(val - truth[wrt])
        worst = max(worst, err / (1 + abs(truth[wrt])))
        ok = err <= 1e-12 * (1 + abs(truth[wrt]))
        rows.append({"line": f"${text}$", "value of the product": val, "SymPy's gradient": truth[wrt], "matches": ok})
        if not ok:
            wrong.append(text)
    names = {t1: "θ₁", t2: "θ₂", t3: "θ₃", u0: "u₀"}
    evidence = {"layers": r"$u_k = \tanh(\theta_k u_{k-1})$, $L = u_3^2/2$",
                "point": {names[k]: v for k, v in point.items()}, "lines": rows}
    pair = Pair(f"largest relative difference between a line ({lines}) and SymPy's gradient", worst, 0.0, "=",
                note="0 up to 1e-12 (30-digit evaluation)")
    if not wrong:
        return Outcome("holds", evidence, pair=pair)
    counter = {"point": evidence["point"], "lines that fail": [f"${w}$" for w in wrong],
               "their values": [r["value of the product"] for r in rows if not r["matches"]],
               "SymPy's gradients": [r["SymPy's gradient"] for r in rows if not r["matches"]]}
    return Outcome("refuted", evidence, counterexample=counter, pair=pair)


@claim(id="backprop.u6_as_written", kind="as-written",
       title="The decomposition of the one-hidden-layer loss, as written",
       statement=r"$u_0 = u_1(u_2(u_3(u_4(u_5(u_6(W_0))))))$ with $u_1(z) = -y^\top z$, $u_2 = \log$, $u_3 = \mathrm{softmax}$, "
                 r"$u_4(z) = W_1 z$, $u_5 = a$, $u_6(z) = z^\top x$",
       source=cite(SEED_001, "Chain rule and Backpropagation", "the third slide of that title"),
       correction=Correction(
           r"u_6(W_0) = W_0\,x",
           r"$u_6$ must map the weight matrix $W_0$ to the hidden pre-activation $W_0 x$ (a matrix–vector "
           r"product). As written, $u_6(z) = z^\top x$ gives $W_0^\top x$, the transposed weights, so the "
           r"composition is not the loss $u_0(W_0) = -y^\top\log\mathrm{softmax}(W_1 a(W_0 x))$ it decomposes.",
           checked_by="the same composition at the same point"),
       corrected={"u6": "corrected"})
def check_u6_as_written(ctx: Context, *, u6: str = "as written") -> Outcome:
    """The lecture decomposes ``u_0(W_0) = -y^T log softmax(W_1 a(W_0 x))`` into ``u_1 ∘ … ∘ u_6``; compose it with
    ``u_6(z) = z^T x`` (``u6="as written"``) or ``u_6(W_0) = W_0 x`` (``"corrected"``) at a drawn point and compare
    with the loss itself."""
    rng = rng_for(ctx, "backprop.u6")
    d = 3
    W0, W1 = rng.normal(size=(d, d)), rng.normal(size=(d, d))
    x = rng.normal(size=d)
    y = np.eye(d)[1]
    a = np.tanh

    def loss(h: np.ndarray) -> float:
        s = W1 @ a(h)
        return float(-(y @ (s - s.max() - np.log(np.sum(np.exp(s - s.max()))))))

    inner = {"as written": lambda z: z.T @ x, "corrected": lambda z: z @ x}
    inner_formula = {"as written": "u₆(z) = zᵀx", "corrected": "u₆(W₀) = W₀x"}
    if u6 not in inner:
        raise ValueError(f"u6 must be 'as written' or 'corrected'; got {u6!r}")
    direct = loss(W0 @ x)
    composed = loss(inner[u6](W0))
    tol = 64 * EPS64 * (1 + abs(direct))
    evidence = {"network": "one hidden layer, 3 units, a = tanh, y one-hot", "u₆ tested": u6,
                "the loss u₀(W₀) = −yᵀ log softmax(W₁ a(W₀ x))": direct, "the composition u₁ ∘ … ∘ u₆ (W₀)": composed}
    pair = Pair(f"composition with u₆ {u6} − the loss itself, at a random point", composed - direct, 0.0, "=",
                note=f"0 up to rounding ({tol:.2g})")
    if abs(composed - direct) <= tol:
        return Outcome("holds", evidence, pair=pair)
    return Outcome("refuted", evidence, pair=pair,
                   counterexample={"W₀": W0.tolist(), "x": x.tolist(), "the loss": direct,
                                   f"the composition with {inner_formula[u6]}": composed},
                   counterexample_explained="With u₆(z) = zᵀx the composition evaluates the network at W₀ᵀx instead "
                                            "of W₀x, and the two losses differ at this random point.")


@claim(id="backprop.gradient_of_average", kind="identity", title="The gradient of the average loss",
       statement=r"$\nabla_\theta L(\theta) = \frac1n\sum_{i=1}^n \nabla_\theta l(NN_\theta(x^{(i)}), y^{(i)})$",
       source=cite(SEED_001, "Going back to Neural Networks"))
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
    evidence = {"rows": 40, "classes": 5, "implementation": f"the library's softmax cross-entropy, backend "
                f"{kernel_backend(ctx)!r}", "largest difference": err, "rounding tolerance": tol}
    pair = Pair("largest |gradient of the mean − mean of the per-row gradients|", err, 0.0, "=",
                note=f"0 up to rounding ({tol:.2g})")
    if err <= tol:
        return Outcome("holds", evidence, pair=pair)
    return Outcome("refuted", evidence, counterexample={"largest difference": err}, pair=pair)


