r"""L2 regularisation and decoupled weight decay: one thing for SGD, two things for Adam.

The notes add λR(Θ) with R = ½‖Θ‖² to the loss (``000_42086e2af0f76780.txt``, "Training as optimization"):
the gradient gains λθ ("L2"). Libraries also offer *decoupled* weight decay, θ ← θ(1 − λ') next to the step
(Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019). Their Proposition 1: for plain SGD
the two are the same map with λ' = αλ (the decay rescaled by the step); their Proposition 2: for an adaptive
method such as Adam no λ' does it, because L2's decay is divided by √v̂ coordinate by coordinate.

The check computes both directions: the SGD identity symbolically (SymPy) and on the library's exact
references (rationals); Adam's difference on the exact references, for the λ' of the SGD identity and for the
best λ' a search finds.
"""

from __future__ import annotations

import numpy as np

from verify.claims._common import SEED_000, cite, jsonable, new_figure
from verify.claims.registry import Context, Outcome, Pair, claim

__all__ = ["check_l2_and_decoupled_decay", "weight_decay_figure"]

_PAPER = "Loshchilov & Hutter, 'Decoupled Weight Decay Regularization', ICLR 2019, Propositions 1 and 2"


def _sgd_identity_symbolic() -> tuple[bool, bool, str]:
    """One SGD step with L2 (λ) and with decoupled decay (λ' = αλ) differ by 0, and conversely λ = λ'/α."""
    import sympy as sp

    theta, g, alpha, lam, lam2 = sp.symbols("theta g alpha lambda lambda_prime", real=True)
    l2 = theta - alpha * (g + lam * theta)
    decoupled = theta * (1 - lam2) - alpha * g
    forward = sp.simplify(l2 - decoupled.subs(lam2, alpha * lam)) == 0
    backward = sp.simplify(l2.subs(lam, lam2 / alpha) - decoupled) == 0
    return forward, backward, f"${sp.latex(sp.expand(l2))} = {sp.latex(sp.expand(decoupled.subs(lam2, alpha * lam)))}$"


def _inputs(ctx: Context):
    """A fixed, seeded problem: two coordinates whose gradients differ by three orders of magnitude."""
    rng = np.random.default_rng([ctx.seed, 15])
    steps = 12 if ctx.quick else 30
    theta0 = np.array([1.5, -2.0])
    grads = rng.normal(size=(steps, 2)) * np.array([1.0, 1e-3])
    return theta0, grads


def weight_decay_figure(outcome: Outcome):
    data = outcome.data
    fig, axes = new_figure(2, 1, width=9.6, height=3.6)
    left, right = axes[0, 0], axes[0, 1]
    if not data:
        return fig
    steps = data["steps"]
    for k, style in ((0, "-"), (1, "--")):
        left.plot(steps, data["sgd_l2"][:, k], style, color="C0", lw=2.5, alpha=0.5, label=f"L2, θ[{k}]")
        left.plot(steps, data["sgd_decoupled"][:, k], style, color="C1", lw=1, label=f"decoupled αλ, θ[{k}]")
    left.set_title("SGD: L2 λ and decoupled λ' = αλ coincide")
    left.set_xlabel("step t")
    left.set_ylabel("θ_t")
    left.legend(fontsize=7)
    for name, label, color in (("adam_rescaled", "AdamW, λ' = αλ", "C1"),
                               ("adam_best", f"AdamW, best λ' = {data['best_decay']:.2g}", "C2")):
        right.semilogy(steps, np.maximum(np.abs(data[name] - data["adam_l2"]).max(axis=1), 1e-300), color=color,
                       label=label)
    right.set_title("Adam: no decoupled λ' reproduces L2")
    right.set_xlabel("step t")
    right.set_ylabel("max |θ_decoupled − θ_L2|")
    right.legend(fontsize=7)
    return fig


@claim(
    id="weight_decay.l2_vs_decoupled",
    statement=(r"L2 regularisation $\lambda\|\theta\|^2/2$ and decoupled weight decay "
               r"$\theta \leftarrow (1-\lambda')\theta$ coincide for SGD with $\lambda' = \alpha\lambda$, "
               r"and differ for Adam whatever $\lambda'$"),
    source=cite(SEED_000, "Training as optimization", _PAPER),
    kind="identity",
    topic="weight_decay",
    title="L2 regularisation vs decoupled weight decay",
    figure=weight_decay_figure,
)
def check_l2_and_decoupled_decay(ctx: Context) -> Outcome:
    from scipy.optimize import minimize_scalar

    from verify.kernels.optimizers import run_optimizer
    from verify.symbolic.optimizers import reference_run

    forward, backward, identity = _sgd_identity_symbolic()
    theta0, grads = _inputs(ctx)
    lr, lam = 0.125, 0.25  # dyadic: αλ = 1/32 exactly, so the rescaled decay is the same number in floats
    sgd_l2 = reference_run("sgd", theta0, grads, lr=lr, weight_decay=lam)
    sgd_decoupled = reference_run("sgd", theta0, grads, lr=lr, weight_decay=lr * lam, decoupled_weight_decay=True,
                                  decay_scale="schedule")
    sgd_exact = sgd_l2.exact_iterates == sgd_decoupled.exact_iterates

    adam = {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    adam_l2 = reference_run("adam", theta0, grads, weight_decay=lam, **adam)
    rescaled = reference_run("adamw", theta0, grads, weight_decay=adam["lr"] * lam, decay_scale="schedule", **adam)
    pytorch_form = reference_run("adamw", theta0, grads, weight_decay=lam, **adam)
    tolerance = adam_l2.theta_tolerance() + rescaled.theta_tolerance()
    gap_rescaled = float(np.max(np.abs(adam_l2.iterates - rescaled.iterates)))
    gap_pytorch = float(np.max(np.abs(adam_l2.iterates - pytorch_form.iterates)))

    def gap(log_decay: float) -> float:  # the best single λ' (float kernels: a search, then an exact confirmation)
        other = run_optimizer("adamw", theta0, grads, backend="numpy", weight_decay=float(10.0**log_decay),
                              decay_scale="schedule", **adam)
        return float(np.max(np.abs(other - adam_l2.iterates)))

    best = minimize_scalar(gap, bounds=(-8.0, 0.0), method="bounded", options={"xatol": 1e-6})
    best_decay = float(10.0**best.x)
    best_exact = reference_run("adamw", theta0, grads, weight_decay=best_decay, decay_scale="schedule", **adam)
    gap_best = float(np.max(np.abs(adam_l2.iterates - best_exact.iterates)))
    adam_differs = bool(gap_best > float(np.max(tolerance)) and gap_rescaled > float(np.max(tolerance)))

    evidence = {
        "SGD step, L2 and decoupled with λ' = αλ (SymPy)": identity,
        "L2 step equals the decoupled step with λ' = αλ (SymPy)": forward,
        "decoupled step equals the L2 step with λ = λ'/α (SymPy)": backward,
        "SGD trajectories equal in exact arithmetic": sgd_exact,
        "SGD": {"learning rate": lr, "L2 λ": lam, "decoupled λ'": lr * lam},
        "Adam": {"learning rate": adam["lr"], "β1": adam["beta1"], "β2": adam["beta2"], "ε": adam["eps"],
                 "L2 λ": lam},
        "steps": int(grads.shape[0]),
        "Adam gap to AdamW with λ' = αλ": gap_rescaled,
        "Adam gap to AdamW in PyTorch's form (λ' = λ, scaled by α)": gap_pytorch,
        "best decoupled λ' found": best_decay, "Adam gap to AdamW with the best λ'": gap_best,
        "rounding tolerance of the exact references": float(np.max(tolerance)), "reference": adam_l2.arithmetic,
    }
    pair = Pair("smallest max |θ_AdamW(λ') − θ_Adam+L2(λ)| over λ'", gap_best, float(np.max(tolerance)), ">",
                note="the theoretical side is the references' rounding bound: a gap above it is a real difference "
                     "(for SGD the same gap is exactly 0)")
    data = {"steps": np.arange(1, grads.shape[0] + 1), "sgd_l2": sgd_l2.iterates, "sgd_decoupled": sgd_decoupled.iterates,
            "adam_l2": adam_l2.iterates, "adam_rescaled": rescaled.iterates, "adam_best": best_exact.iterates,
            "best_decay": best_decay}
    if not (forward and backward and sgd_exact):
        return Outcome("refuted", jsonable(evidence), data=data, pair=pair, counterexample=jsonable(
            {"rule": "SGD", "last L2 iterate": sgd_l2.iterates[-1],
             "last decoupled iterate": sgd_decoupled.iterates[-1]}))
    if not adam_differs:
        return Outcome("refuted", jsonable(evidence), data=data, pair=pair, counterexample=jsonable(
            {"rule": "Adam", "best decoupled λ'": best_decay, "gap": gap_best,
             "tolerance": float(np.max(tolerance))}))
    return Outcome("holds", jsonable(evidence), data=data, pair=pair)
