r"""Universal approximation (*Diving Into Deep Learning, Part 1*, 002_1388b78ad9a2d202.txt; Cybenko 1989): the error of $w^\top\sigma(Kx + b)$ falls with width.

A constructive demonstration: random hidden weights ``K, b`` and the output weights ``w`` fitted by least
squares, for widths ``m = 2 ... 128``, target ``f(x) = sin(2 pi x)`` on [0, 1]; the sup error on a fine
grid falls below ``epsilon = 0.01``. With a polynomial activation (the identity) it cannot: the theorem
needs a sigmoidal (non-polynomial) ``sigma``, and the check shows the difference.
"""

from __future__ import annotations

import numpy as np

from verify.claims._common import SEED_002, cite, kernel_backend, label_axes, new_panel, rng_for
from verify.claims.registry import Context, Outcome, Pair, claim

__all__ = ["WIDTHS", "EPSILON", "sup_error", "check_universal_approximation"]

WIDTHS = (2, 4, 8, 16, 32, 64, 128)
EPSILON = 0.01


def _target(x: np.ndarray) -> np.ndarray:
    return np.sin(2 * np.pi * x)


def sup_error(width: int, activation: str, rng: np.random.Generator, backend: str) -> float:
    """Sup error on 2001 points of the least-squares ``w`` (fitted on 400 points) for random ``K ~ N(0, 20^2)``, ``b`` centring the
    units' transitions uniformly on [0, 1]."""
    from verify.kernels.activations import activation as act

    K = rng.normal(0.0, 20.0, size=width)
    centres = rng.uniform(0.0, 1.0, size=width)
    b = -K * centres
    fit_x = np.linspace(0, 1, 400)
    test_x = np.linspace(0, 1, 2001)
    H = act(activation, np.ascontiguousarray(np.outer(fit_x, K) + b), backend=backend)
    w, *_ = np.linalg.lstsq(H, _target(fit_x), rcond=None)
    Ht = act(activation, np.ascontiguousarray(np.outer(test_x, K) + b), backend=backend)
    return float(np.max(np.abs(Ht @ w - _target(test_x))))


def approximation_figure(outcome: Outcome):
    fig, ax = new_panel()
    errors = (outcome.data or {}).get("errors") or {}
    for name, errs in errors.items():
        ax.loglog(WIDTHS, errs, marker="o", label=rf"$\sigma$ = {name}")
    ax.axhline(EPSILON, color="grey", ls=":", label=rf"$\varepsilon$ = {EPSILON}")
    label_axes(ax, "width m (hidden units)", r"$\sup_x |w^\top\sigma(Kx+b) - \sin 2\pi x|$",
               "Universal approximation: error against width", fontsize=8)
    return fig


@claim(id="approximation.error_falls_with_width", kind="empirical",
       title="Universal approximation: error falls with width",
       statement=r"For sigmoidal $\sigma$ and $\varepsilon > 0$ there is a width $m$ with "
                 r"$|w^\top\sigma(Kx+b) - f(x)| < \varepsilon$ on $[0,1]$: the sup error falls with width",
       source=cite(SEED_002, "Universal Approximation", "Cybenko, Math. Control Signals Systems 2 (1989)"),
       figure=approximation_figure)
def check_universal_approximation(ctx: Context) -> Outcome:
    rng = rng_for(ctx, "approximation.width")
    backend = kernel_backend(ctx)
    repeats = 1 if ctx.quick else 3
    errors = {a: [float(np.median([sup_error(m, a, rng, backend) for _ in range(repeats)])) for m in WIDTHS]
              for a in ("sigmoid", "identity")}
    sig = np.asarray(errors["sigmoid"])
    falls = bool(np.all(np.diff(np.minimum.accumulate(sig)) <= 0) and sig[-1] < sig[0] / 100)
    reached = bool(sig[-1] < EPSILON)
    width_needed = next((m for m, e in zip(WIDTHS, sig, strict=True) if e < EPSILON), None)
    identity_floor = float(np.min(errors["identity"]))
    table = [{"width m": m, "sup error, σ = sigmoid": e1, "sup error, σ = identity (a polynomial)": e2}
             for m, e1, e2 in zip(WIDTHS, errors["sigmoid"], errors["identity"], strict=True)]
    evidence = {"target": "f(x) = sin(2πx) on [0, 1]", "hidden weights": "random, K ~ N(0, 20²); w by least squares",
                "ε": EPSILON, "sup error by width": table, "first width with sup error below ε": width_needed,
                "past the condition: the identity's smallest sup error (must stay above ε)": identity_floor}
    pair = Pair(f"sup error at width {WIDTHS[-1]} (sigmoid)", errors["sigmoid"][-1], EPSILON, "<",
                note="the theorem: below any ε > 0 for some width; here ε = 0.01")
    data = {"errors": errors}
    counter = None if falls and reached else {"widths": list(WIDTHS), "sup error": errors["sigmoid"]}
    return Outcome.from_findings(evidence, data=data, pair=pair, counterexample=counter,
                                 decided=identity_floor > EPSILON, why="the polynomial activation also reached epsilon")


