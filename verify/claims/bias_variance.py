r"""The bias-variance decomposition for squared loss (named claim 3) and its trade-offs.

Source: *Deep Learning*, course slides, University of Milano-Bicocca (000_42086e2af0f76780.txt), slides
"BIAS-VARIANCE TRADE-OFF" and "BIAS-VARIANCE TRADE-OFF: MATHEMATICALLY". The decomposition for 0-1 loss
(Domingos, 2000) is in :mod:`verify.claims.bias_variance_01`.

A known generator: ``Y = f(x) + e`` with ``f(x) = sin(pi x)``, ``e ~ N(0, sigma^2)``, ``sigma = 0.3``, and
``n = 30`` inputs drawn stratified on [-1, 1] (one uniform draw in each of n equal cells); models: least
squares on Legendre polynomials of degree ``d`` (complexity sweep) and ridge regression of degree 9 with
penalty ``lambda`` (regularisation sweep). (With i.i.d. uniform inputs a high-degree least-squares fit
meets nearly singular designs, its variance has heavy tails and no interval is calibrated there; the
stratified design keeps every moment bounded.) Predictions at 7 fixed test points over fresh training sets give, per batch of ``R`` sets,

    Err_b - [Bias^2_b + Var_b + sigma^2],

whose expectation is exactly 0 when the decomposition is right (``Var_b`` with ``ddof=1``, ``Bias^2_b``
corrected by ``Var_b / R``, both unbiased). A calibrated interval (:mod:`verify.stats`) decides.
The decomposition checked is injectable: a literal reading of the first slide's formula
(``E[f_hat - E f_hat]^2``), or one that drops a term, is refuted by the same check.

mlxtend's ``bias_variance_decomp`` estimates differently: bootstrap resamples of *one* training set,
and a "bias" measured against the noisy test targets, so the noise ``sigma^2`` sits inside its bias.
:func:`bootstrap_bias_variance` re-implements that estimator (from its documented definitions; mlxtend
is not a dependency) and ``bias_variance.mlxtend_noise_in_bias`` shows the difference in numbers.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.polynomial import legendre

from verify.claims._calibrated import calibrated_outcome, declared_alpha, stat_pair, stat_row
from verify.claims._common import SEED_000, cite, label_axes, new_panel, rng_for
from verify.claims.registry import Context, Correction, Outcome, Pair, claim
from verify.stats import DEFAULT_ALPHA, ErrorBudget, StatResult, combine, decide, mean_interval, sample_size
from verify.sweep import run_sweep

__all__ = [
    "SIGMA",
    "N_TRAIN",
    "TEST_POINTS",
    "true_function",
    "draw_inputs",
    "fit_predict",
    "unbiased_decomposition",
    "literal_decomposition",
    "bootstrap_bias_variance",
    "bootstrap_terms",
    "check_decomposition",
    "check_complexity_tradeoff",
    "check_ridge_tradeoff",
    "check_mlxtend_comparison",
    "check_first_slide_as_written",
    "FALSE_FAIL_RATE",
]

SIGMA = 0.3
N_TRAIN = 30
TEST_POINTS = np.linspace(-0.9, 0.9, 7)
BATCH = 100  # training sets per batch
DEGREES = (1, 3, 5, 9)
LAMBDAS = (1e-4, 1e-2, 1.0, 100.0)
RIDGE_DEGREE = 9
EFFECT = 0.1 * SIGMA**2  # the smallest violation of the identity to detect: 10% of the noise variance
#: The false-fail rate every statistical claim of this module declares.
FALSE_FAIL_RATE = DEFAULT_ALPHA

Decomposition = Callable[[np.ndarray, np.ndarray, float], tuple[np.ndarray, np.ndarray, float]]


def true_function(x: np.ndarray) -> np.ndarray:
    return np.sin(np.pi * x)


def draw_inputs(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Stratified inputs on [-1, 1]: the last axis holds one uniform draw in each of its equal cells."""
    n = shape[-1]
    return -1 + 2 * (np.arange(n) + rng.uniform(size=shape)) / n


def _design(x: np.ndarray, degree: int) -> np.ndarray:
    return legendre.legvander(x, degree)


def fit_predict(x: np.ndarray, y: np.ndarray, x_test: np.ndarray, degree: int, lam: float = 0.0) -> np.ndarray:
    """Batched ridge/least squares: ``x, y`` of shape (B, n); predictions at ``x_test``, shape (B, G)."""
    X = _design(x, degree)  # (B, n, p)
    gram = np.einsum("bni,bnj->bij", X, X)
    if lam:
        gram = gram + lam * np.eye(degree + 1)
    rhs = np.einsum("bni,bn->bi", X, y)
    w = np.linalg.solve(gram, rhs[..., None])[..., 0]
    return w @ _design(x_test, degree).T


def unbiased_decomposition(preds: np.ndarray, f_test: np.ndarray, sigma2: float):
    r"""Per test point: $\widehat{\mathrm{Bias}^2} = (\bar f - f)^2 - s^2/R$, $\widehat{\mathrm{Var}} = s^2$
    (``ddof=1``), noise $\sigma^2$: each unbiased (*Deep Learning*, Milano-Bicocca, "BIAS-VARIANCE TRADE-OFF:
    MATHEMATICALLY")."""
    R = preds.shape[0]
    var = preds.var(axis=0, ddof=1)
    bias2 = (preds.mean(axis=0) - f_test) ** 2 - var / R
    return bias2, var, sigma2


def literal_decomposition(preds: np.ndarray, f_test: np.ndarray, sigma2: float):
    r"""The first slide's formula read literally: $E[\hat f - E\hat f]^2 = (E[\hat f - E\hat f])^2$
    (*Deep Learning*, Milano-Bicocca, "BIAS-VARIANCE TRADE-OFF")."""
    bias2, _, noise = unbiased_decomposition(preds, f_test, sigma2)
    literal_var = (preds - preds.mean(axis=0)).mean(axis=0) ** 2
    return bias2, literal_var, noise


def _batch_stats(rng: np.random.Generator, degree: int, lam: float, batches: int,
                 decomposition: Decomposition) -> dict[str, np.ndarray]:
    f_test = true_function(TEST_POINTS)
    out = {k: np.empty(batches) for k in ("d", "err", "bias2", "var")}
    for b in range(batches):
        x = draw_inputs(rng, (BATCH, N_TRAIN))
        y = true_function(x) + SIGMA * rng.normal(size=x.shape)
        preds = fit_predict(x, y, TEST_POINTS, degree, lam)
        y_test = f_test + SIGMA * rng.normal(size=preds.shape)  # fresh targets, one per training set
        err = float(np.mean((y_test - preds) ** 2))
        bias2, var, noise = decomposition(preds, f_test, SIGMA**2)
        out["err"][b] = err
        out["bias2"][b] = float(np.mean(bias2))
        out["var"][b] = float(np.mean(var))
        out["d"][b] = err - float(np.mean(bias2) + np.mean(var) + noise)
    return out


def _setting_task(param: tuple, rng: np.random.Generator) -> dict[str, Any]:
    """One point of the sweep (module level, so process and dask executors can run it)."""
    kind, value, alpha, max_batches, decomposition = param
    degree, lam = (value, 0.0) if kind == "degree" else (RIDGE_DEGREE, value)
    pilot = _batch_stats(rng, degree, lam, 24, decomposition)
    sd = float(np.std(pilot["d"], ddof=1)) * 1.2
    n = min(max_batches, max(24, sample_size(EFFECT, sd, alpha))) if sd > 0 else 24
    if n > 24:
        more = _batch_stats(rng, degree, lam, n - 24, decomposition)
        pilot = {k: np.concatenate([pilot[k], more[k]]) for k in pilot}
    return {"kind": kind, "value": value, **pilot}


def _settings(quick: bool) -> list[tuple[str, float]]:
    if quick:
        return [("degree", 1), ("degree", 3), ("degree", 9), ("lambda", 1e-4), ("lambda", 100.0)]
    return [("degree", d) for d in DEGREES] + [("lambda", v) for v in LAMBDAS]


def run_bias_variance_sweep(ctx: Context, decomposition: Decomposition = unbiased_decomposition,
                            alpha: float = 1e-6) -> tuple[list[dict[str, Any]], ErrorBudget]:
    settings = _settings(ctx.quick)
    budget = ErrorBudget(alpha, checks=len(settings))
    max_batches = 250 if ctx.quick else 400
    params = [(k, v, budget.per_check, max_batches, decomposition) for k, v in settings]
    results = run_sweep(_setting_task, params, seed=ctx.seed, executor=ctx.executor, name="bias_variance")
    rows = []
    for r in results:
        rows.append({**r.value, "seed": r.seed})
    return rows, budget


@functools.lru_cache(maxsize=8)
def _cached_sweep(seed: int, quick: bool, alpha: float) -> tuple[list[dict[str, Any]], ErrorBudget]:
    return run_bias_variance_sweep(Context(seed=seed, quick=quick), alpha=alpha)


def _sweep_for(ctx: Context) -> tuple[list[dict[str, Any]], ErrorBudget]:
    if ctx.executor is None:
        return _cached_sweep(ctx.seed, ctx.quick, declared_alpha(ctx))
    return run_bias_variance_sweep(ctx, alpha=declared_alpha(ctx))


def _setting_words(kind: str, value: float) -> str:
    return f"polynomial degree {value}" if kind == "degree" else f"ridge λ = {value:g} (degree {RIDGE_DEGREE})"


def _identity_outcome(rows: list[dict[str, Any]], budget: ErrorBudget, label: str) -> Outcome:
    results: list[StatResult] = []
    for row in rows:
        a = budget.take()
        mean, lo, hi, sd = mean_interval(row["d"], a)
        verdict = decide(mean, lo, hi, 0.0, EFFECT)
        results.append(StatResult(_setting_words(row["kind"], row["value"]), mean, (lo, hi), 0.0, a,
                                  int(row["d"].size), verdict, EFFECT, sd, row["seed"]))
    table = []
    for row, res in zip(rows, results, strict=True):
        table.append({"setting": res.name, "Err (measured)": float(row["err"].mean()),
                      "Bias²": float(row["bias2"].mean()), "Variance": float(row["var"].mean()), "σ²": SIGMA**2,
                      "Err − (Bias² + Variance + σ²)": res.estimate,
                      "interval": list(res.ci), "training sets": int(row["d"].size * BATCH),
                      "verdict": res.verdict})
    evidence = {"decomposition checked": label, "false-fail rate (all settings together)": budget.alpha,
                "false-fail rate of each setting's interval": budget.per_check,
                "smallest violation detected": f"{EFFECT:g} (10% of σ²)",
                "training sets per batch": BATCH, "training points per set": N_TRAIN, "noise σ": SIGMA,
                "settings": table}
    pair = stat_pair(results, [f"Err − (Bias² + Variance + σ²) at {r.name}" for r in results])
    return calibrated_outcome(results, table, evidence, pair=pair, data={"rows": rows, "results": results})


def decomposition_figure(outcome: Outcome):
    """The identity's residual Err − (Bias² + Variance + σ²) at each setting, with its interval, against
    the band of violations the check is built to detect."""
    fig, ax = new_panel(width=7.5, height=3.8)
    results = (outcome.data or {}).get("results") or []
    xs = np.arange(len(results))
    for x, r in zip(xs, results, strict=True):
        ax.errorbar([x], [r.estimate], yerr=[[r.estimate - r.ci[0]], [r.ci[1] - r.estimate]], fmt="o", color="C0",
                    capsize=3)
    ax.axhline(0.0, color="k", lw=0.8)
    ax.axhspan(-EFFECT, EFFECT, color="C2", alpha=0.15, label=rf"$\pm${EFFECT:g} (10% of $\sigma^2$): violations detected")
    ax.set_xticks(xs, [r.name.replace("polynomial ", "").replace(f" (degree {RIDGE_DEGREE})", "") for r in results],
                  rotation=20)
    label_axes(ax, "setting", r"Err $-$ (Bias$^2$ + Var + $\sigma^2$)",
               r"The decomposition's residual, with $1-\alpha$ intervals ($\alpha$ per setting)")
    return fig


@claim(id="bias_variance.decomposition", kind="identity", title="Bias-variance decomposition by Monte Carlo",
       statement=r"$Err(x) = E[(Y-\hat f(x))^2] = (E[\hat f(x)] - f(x))^2 + E[(\hat f(x) - E[\hat f(x)])^2] + "
                 r"\sigma_e^2$",
       source=cite(SEED_000, "BIAS-VARIANCE TRADE-OFF: MATHEMATICALLY"),
       figure=decomposition_figure, false_fail_rate=FALSE_FAIL_RATE)
def check_decomposition(ctx: Context, *, decomposition: Decomposition | None = None) -> Outcome:
    """``Err(x) = Bias^2 + Var + sigma^2`` within its interval at every setting of both sweeps."""
    if decomposition is None:
        rows, budget = _sweep_for(ctx)
        label = "unbiased estimators (Bias² corrected by Var/R, Var with ddof = 1)"
    else:
        rows, budget = run_bias_variance_sweep(ctx, decomposition, declared_alpha(ctx))
        label = getattr(decomposition, "__name__", "injected")
    return _identity_outcome(rows, ErrorBudget(budget.alpha, budget.checks), label)


@claim(id="bias_variance.first_slide_as_written", kind="as-written",
       title="The first bias-variance slide, read literally",
       statement=r"$\text{Error}(x) = (E[\hat f(x)] - f(x))^2 + E[\hat f(x) - E[\hat f(x)]]^2 + \sigma_e^2$ "
                 r"(read literally: $E[\cdot]^2 = (E[\cdot])^2$)",
       source=cite(SEED_000, "BIAS-VARIANCE TRADE-OFF"),
       false_fail_rate=FALSE_FAIL_RATE)
def check_first_slide_as_written(ctx: Context) -> Outcome:
    """The first slide's middle term read literally, $(E[\\hat f - E\\hat f])^2$, in the same calibrated
    Monte Carlo as the decomposition; the correction (the second slide's variance) is checked by it too."""
    out = check_decomposition(ctx, decomposition=literal_decomposition)
    if out.verdict != "refuted":
        return out
    rows = out.data["rows"]
    worst = out.counterexample
    row = next(r for r in rows if _setting_words(r["kind"], r["value"]) == worst["setting"])
    b_mean, b_lo, b_hi, b_sd = mean_interval(row["bias2"], declared_alpha(ctx))
    gap_ci = worst["interval"]
    out.counterexample = {
        "setting": worst["setting"],
        "Err (measured)": worst["Err (measured)"],
        "Bias² (unbiased estimate)": b_mean,
        "Bias² interval": [b_lo, b_hi],
        "middle term read literally, (E[f̂ − E f̂])²": worst["Variance"],
        "σ²": SIGMA**2,
        "Err − (Bias² + literal term + σ²)": worst["Err − (Bias² + Variance + σ²)"],
        "its interval": gap_ci,
    }
    bias_words = (f" The Bias² estimate {b_mean:.2g} is the unbiased Monte-Carlo estimator (squared error of the mean "
                  "prediction minus Variance/R), which can fall slightly below 0 where the true Bias² is about 0: "
                  + (f"its interval [{b_lo:.2g}, {b_hi:.2g}] contains 0." if b_lo <= 0 <= b_hi else
                     f"its interval is [{b_lo:.2g}, {b_hi:.2g}].")) if b_mean < 0 else ""
    out.counterexample_explained = (
        "Read literally, the middle term squares the mean deviation, (E[f̂ − E f̂])², which is 0 by definition: "
        f"the {worst['Variance']:.2g} measured is double-precision rounding of a mean of deviations that is "
        "exactly 0. The formula then drops the variance, and the measured error exceeds Bias² + σ² by "
        f"{worst['Err − (Bias² + Variance + σ²)']:.3g} (interval [{gap_ci[0]:.3g}, {gap_ci[1]:.3g}]), the "
        "variance of the fit." + bias_words)
    fixed = check_decomposition(ctx)
    out.correction = Correction(
        r"\text{Error}(x) = (E[\hat f(x)] - f(x))^2 + E\left[(\hat f(x) - E[\hat f(x)])^2\right] + \sigma_e^2",
        r"The square belongs inside the expectation: the variance is $E[(\hat f - E\hat f)^2]$, the mean squared "
        r"deviation, as the next slide writes it; $(E[\hat f - E\hat f])^2$ is always 0.",
        check=fixed, checked_by="the same calibrated Monte Carlo (bias_variance.decomposition)")
    out.corrected = out.correction.formula
    return out


def _curve(rows: list[dict[str, Any]], kind: str, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sel = sorted([r for r in rows if r["kind"] == kind], key=lambda r: r["value"])
    xs = np.array([r["value"] for r in sel], dtype=float)
    means = np.array([r[key].mean() for r in sel])
    ses = np.array([r[key].std(ddof=1) / np.sqrt(r[key].size) for r in sel])
    return xs, means, ses


def _sweep_figure(outcome: Outcome, kind: str, xlabel: str, title: str):
    """Bias², Variance and the measured error along one sweep (bands: ±5 standard errors); the axis starts
    at 0 (all three are nonnegative; an unbiased Bias² estimate a hair below 0 is drawn at its value)."""
    fig, ax = new_panel(width=7.5, height=3.8)
    rows = (outcome.data or {}).get("rows") or []
    if any(r["kind"] == kind for r in rows):
        for key, label in (("bias2", r"Bias$^2$"), ("var", "Variance"), ("err", "Err (measured)")):
            xs, m, se = _curve(rows, kind, key)
            ax.plot(xs, m, marker="o", label=label)
            ax.fill_between(xs, m - 5 * se, m + 5 * se, alpha=0.25)
        xs, b, _ = _curve(rows, kind, "bias2")
        _, v, _ = _curve(rows, kind, "var")
        ax.plot(xs, b + v + SIGMA**2, "k--", label=r"Bias$^2$ + Var + $\sigma^2$")
        ax.axhline(SIGMA**2, color="grey", ls=":", label=r"$\sigma^2$ (irreducible)")
        if kind == "lambda":
            ax.set_xscale("log")
        ax.set_ylim(bottom=0)
    label_axes(ax, xlabel, "squared error (units of $y^2$)", title)
    return fig


def complexity_figure(outcome: Outcome):
    return _sweep_figure(outcome, "degree", "polynomial degree (model complexity)",
                         "Complexity: Bias² falls, Variance rises")


def ridge_figure(outcome: Outcome):
    return _sweep_figure(outcome, "lambda", rf"ridge penalty $\lambda$ (degree {RIDGE_DEGREE})",
                         r"Regularisation: Variance falls, Bias² rises with $\lambda$")


def _tradeoff(ctx: Context, kind: str, falling: str, rising: str) -> Outcome:
    rows, _ = _sweep_for(ctx)
    sel = sorted([r for r in rows if r["kind"] == kind], key=lambda r: r["value"])
    budget = ErrorBudget(declared_alpha(ctx), checks=2)
    lo_row, hi_row = sel[0], sel[-1]
    names = {"bias2": "Bias²", "var": "Variance"}
    axis = "degree" if kind == "degree" else "λ"
    results = []
    for key, direction in ((falling, -1), (rising, +1)):
        a = budget.take()
        # difference of two independent means: each side's interval at a/2 (Bonferroni)
        m0, l0, h0, _ = mean_interval(lo_row[key], a / 2)
        m1, l1, h1, _ = mean_interval(hi_row[key], a / 2)
        separated = (l1 > h0) if direction > 0 else (h1 < l0)
        reversed_ = (h1 < l0) if direction > 0 else (l1 > h0)
        verdict = "holds" if separated else ("refuted" if reversed_ else "inconclusive")
        results.append({"quantity": names[key], "expected": "rises" if direction > 0 else "falls",
                        f"at {axis} = {lo_row['value']:g}": m0, f"interval at {axis} = {lo_row['value']:g}": [l0, h0],
                        f"at {axis} = {hi_row['value']:g}": m1, f"interval at {axis} = {hi_row['value']:g}": [l1, h1],
                        "verdict": verdict})
    curve = [{axis: r["value"], "Bias²": float(r["bias2"].mean()), "Variance": float(r["var"].mean()),
              "Err (measured)": float(r["err"].mean())} for r in sel]
    evidence = {"false-fail rate": budget.alpha, "the two ends of the sweep": results, "the whole sweep": curve}
    d_rise = float(hi_row[rising].mean() - lo_row[rising].mean())
    pair = Pair(f"{names[rising]} at {axis} = {hi_row['value']:g} minus at {axis} = {lo_row['value']:g}", d_rise, 0.0,
                ">", note=f"and {names[falling]} changes by {float(hi_row[falling].mean() - lo_row[falling].mean()):.3g} "
                          "(must be < 0)")
    verdict = combine([r["verdict"] for r in results])
    data = {"rows": rows}
    return Outcome.from_findings(evidence, data=data, pair=pair,
                                 counterexample=next((r for r in results if r["verdict"] == "refuted"), None),
                                 decided=verdict != "inconclusive", why="the endpoint intervals overlap")


@claim(id="bias_variance.complexity_tradeoff", kind="empirical", title="The complexity trade-off",
       statement=r"Growing model complexity lowers Bias$^2$ and raises the Variance (polynomial degree 1 $\to$ 9)",
       source=cite(SEED_000, "WHY IS BIAS VARIANCE TRADEOFF?"),
       figure=complexity_figure, false_fail_rate=FALSE_FAIL_RATE)
def check_complexity_tradeoff(ctx: Context) -> Outcome:
    return _tradeoff(ctx, "degree", "bias2", "var")


@claim(id="bias_variance.ridge_tradeoff", kind="empirical", title="The regularisation trade-off",
       statement=r"$\lambda$ controls the trade-off: growing $\lambda$ raises Bias$^2$ and lowers the Variance",
       source=cite(SEED_000, "TRAINING AS OPTIMIZATION", "the regularised objective; 'λ ... trade-off between bias and "
                   "variance'"),
       figure=ridge_figure, false_fail_rate=FALSE_FAIL_RATE)
def check_ridge_tradeoff(ctx: Context) -> Outcome:
    return _tradeoff(ctx, "lambda", "var", "bias2")


def bootstrap_terms(preds: np.ndarray, y_test: np.ndarray) -> tuple[float, float, float]:
    """mlxtend's squared-loss numbers from the predictions of its bootstrap rounds ``preds`` (rounds, G)
    and the test targets ``y_test`` (G,): ``main = mean prediction``; ``loss = mean (pred - y_test)^2``,
    ``bias = mean (main - y_test)^2``, ``var = mean (pred - main)^2``; ``loss = bias + var`` exactly."""
    main = preds.mean(axis=0)
    loss = float(np.mean((preds - y_test) ** 2))
    bias = float(np.mean((main - y_test) ** 2))
    var = float(np.mean((preds - main) ** 2))
    return loss, bias, var


def bootstrap_bias_variance(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, *, degree: int,
    rounds: int, rng: np.random.Generator, lam: float = 0.0,
) -> tuple[float, float, float]:
    """The estimator of mlxtend's ``bias_variance_decomp`` for squared loss, written from its definitions:
    ``rounds`` bootstrap resamples of one training set, then :func:`bootstrap_terms`.
    Returns ``(avg_expected_loss, avg_bias, avg_var)``; ``loss = bias + var`` exactly."""
    n = x_train.size
    idx = rng.integers(0, n, size=(rounds, n))
    preds = fit_predict(x_train[idx], y_train[idx], x_test, degree, lam)  # (rounds, G)
    return bootstrap_terms(preds, y_test)


def mlxtend_figure(outcome: Outcome):
    fig, ax = new_panel(width=8.0, height=3.8)
    table = [r for r in ((outcome.data or {}).get("table") or []) if "true Bias²" in r]
    if table:
        labels = [str(r["degree"]) for r in table]
        xs = np.arange(len(table))
        w = 0.2
        ax.bar(xs - 1.5 * w, [r["true Bias²"] for r in table], w, label="Bias$^2$ (fresh training sets)")
        ax.bar(xs - 0.5 * w, [r["mlxtend bias"] for r in table], w, label="mlxtend bias (bootstrap)")
        ax.bar(xs + 0.5 * w, [r["true Variance"] for r in table], w, label="Variance (fresh training sets)")
        ax.bar(xs + 1.5 * w, [r["mlxtend variance"] for r in table], w, label="mlxtend variance (bootstrap)")
        ax.axhline(SIGMA**2, color="grey", ls=":", label=r"$\sigma^2$ (the noise mlxtend counts as bias)")
        ax.set_xticks(xs, labels)
        ax.set_yscale("log")
    label_axes(ax, "polynomial degree", "squared error (units of $y^2$, log scale)",
               "Two estimators of the decomposition")
    return fig


@claim(id="bias_variance.mlxtend_noise_in_bias", kind="empirical",
       title="mlxtend's squared-loss estimator against the fresh-training-set truth",
       statement=r"mlxtend's bootstrap estimator counts the noise inside its bias: "
                 r"$E[\text{bias}_{\text{mlx}}] = E[(\bar f_{\text{boot}} - f)^2] + \sigma^2$, so it differs from Bias$^2$",
       source="mlxtend.evaluate.bias_variance_decomp (Raschka), compared with " +
              cite(SEED_000, "BIAS-VARIANCE TRADE-OFF: MATHEMATICALLY"),
       figure=mlxtend_figure, false_fail_rate=FALSE_FAIL_RATE)
def check_mlxtend_comparison(ctx: Context) -> Outcome:
    """mlxtend's bias holds the noise: ``E[bias_mlx] - E[(main - f)^2] = sigma^2`` (calibrated), and
    the numbers of both estimators side by side (degrees 1, 3, 5). The estimator is mlxtend's, re-implemented
    from its definitions (:func:`bootstrap_bias_variance`; checked against mlxtend itself where it is installed,
    in ``bias_variance.mlxtend_zero_one``)."""
    rng = rng_for(ctx, "bias_variance.mlxtend")
    rounds = 30
    f_test = true_function(TEST_POINTS)
    # degree <= 5: bootstrap resamples repeat points, and a degree-9 fit on a resample with few distinct
    # inputs is nearly singular (heavy tails, no calibrated interval)
    degrees = (1, 3) if ctx.quick else (1, 3, 5)
    budget = ErrorBudget(declared_alpha(ctx), checks=len(degrees))
    effect = 0.25 * SIGMA**2
    rows: list[dict[str, Any]] = []
    results: list[StatResult] = []
    for degree in degrees:
        a = budget.take()

        def draw(m: int, degree: int = degree) -> dict[str, np.ndarray]:
            x = draw_inputs(rng, (m, N_TRAIN))
            y = true_function(x) + SIGMA * rng.normal(size=x.shape)
            y_test = f_test + SIGMA * rng.normal(size=(m, 1, f_test.size))
            idx = rng.integers(0, N_TRAIN, size=(m, rounds, N_TRAIN))
            rows_ = np.arange(m)[:, None, None]
            preds = fit_predict(x[rows_, idx].reshape(m * rounds, N_TRAIN), y[rows_, idx].reshape(m * rounds, N_TRAIN),
                                TEST_POINTS, degree).reshape(m, rounds, -1)
            main = preds.mean(axis=1, keepdims=True)
            loss_mlx = np.mean((preds - y_test) ** 2, axis=(1, 2))
            bias_mlx = np.mean((main - y_test) ** 2, axis=(1, 2))
            var_mlx = np.mean((preds - main) ** 2, axis=(1, 2))
            s = bias_mlx - np.mean((main - f_test) ** 2, axis=(1, 2)) - SIGMA**2
            return {"s": s, "bias": bias_mlx, "var": var_mlx, "loss": loss_mlx}

        first = draw(60)
        sd = float(np.std(first["s"], ddof=1)) * 1.2
        n = min(2500 if ctx.quick else 3000, max(60, sample_size(effect, sd, a)))
        more = draw(n - 60) if n > 60 else {k: v[:0] for k, v in first.items()}
        allv = {k: np.concatenate([first[k], more[k]]) for k in first}
        mean, lo, hi, sdv = mean_interval(allv["s"], a)
        verdict = decide(mean, lo, hi, 0.0, effect)
        results.append(StatResult(f"degree {degree}", mean, (lo, hi), 0.0, a, int(allv["s"].size), verdict, effect,
                                  sdv))
        exact = float(np.max(np.abs(allv["loss"] - allv["bias"] - allv["var"])))
        rows.append({"degree": degree, "mlxtend bias": float(allv["bias"].mean()),
                     "mlxtend variance": float(allv["var"].mean()), "mlxtend loss": float(allv["loss"].mean()),
                     "largest |loss − bias − variance|": exact})
    # the fresh-training-set truth for the same degrees (the named claim's sweep, when it has them)
    truth_rows, _ = _cached_sweep(ctx.seed, ctx.quick, declared_alpha(ctx))
    for row in rows:
        t = next((r for r in truth_rows if r["kind"] == "degree" and r["value"] == row["degree"]), None)
        if t is not None:
            row.update({"true Bias²": float(t["bias2"].mean()), "true Variance": float(t["var"].mean()),
                        "σ²": SIGMA**2, "mlxtend bias − true Bias²": float(row["mlxtend bias"] - t["bias2"].mean())})
    evidence = {"false-fail rate": budget.alpha, "bootstrap rounds": rounds,
                "smallest deviation detected": f"{effect:g} (a quarter of σ²)", "estimators side by side": rows,
                "E[mlxtend bias] − E[(mean bootstrap prediction − f)²] − σ²": [
                    stat_row(r, f"at {r.name}") for r in results]}
    pair = stat_pair([dataclasses.replace(r, estimate=r.estimate + SIGMA**2, theoretical=SIGMA**2,
                                          ci=(r.ci[0] + SIGMA**2, r.ci[1] + SIGMA**2)) for r in results],
                     [f"E[mlxtend bias] − E[(mean bootstrap prediction − f)²] at {r.name}" for r in results],
                     note="the theoretical value is the noise variance σ²")
    return calibrated_outcome(results, evidence["E[mlxtend bias] − E[(mean bootstrap prediction − f)²] − σ²"], evidence,
                              pair=pair, data={"table": rows})
