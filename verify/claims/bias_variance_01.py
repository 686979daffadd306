r"""Bias and variance for 0-1 loss (Domingos, "A Unified Bias-Variance Decomposition", ICML 2000).

For a classifier trained on a random training set $D$, at a test point $x$ with label distribution
$p_t(\cdot \mid x)$:

- the *optimal prediction* $y_* = \arg\max_c p_t(c)$ and the *noise* $N(x) = P_t(t \ne y_*)$;
- the *main prediction* $y_m$, the most frequent prediction over training sets;
- the *bias* $B(x) = \mathbf 1[y_m \ne y_*]$ and the *variance* $V(x) = P_D(y \ne y_m)$;

and then, exactly (Domingos' Theorems 2 and 3),

$$E_{D,t}[L(t, y)] = c_1 N(x) + B(x) + c_2 V(x),$$

with $c_1 = P_D(y = y_*) - P_D(y \ne y_*)\,P_t(y = t \mid y_* \ne t)$ and $c_2 = 1$ where $y_m = y_*$
(the point is *unbiased*: variance adds to the loss) but $c_2 = -P_D(y = y_* \mid y \ne y_m)$ where
$y_m \ne y_*$ (the point is *biased*: variance takes loss away; $c_2 = -1$ with two classes). So, unlike
squared loss, bias and variance do not simply add: on biased points, variance helps.

``bias_variance.zero_one_domingos`` checks the decomposition in exact rational arithmetic on $k$-nearest-
neighbour classifiers trained on fresh training sets from a known generator (two and three classes), and
shows that the unsigned sum $N + B + V$ misses the loss. ``bias_variance.mlxtend_zero_one`` measures
mlxtend's ``bias_variance_decomp(..., loss="0-1_loss")`` against it: mlxtend's numbers are Domingos's
terms with the observed test labels as targets (noise counted in the bias), and its loss is
$\bar B + \overline{c_2 V}$, not $\bar B + \bar V$. mlxtend is an optional extra (``pip install
'verify[mlxtend]'``, pinned); without it that claim is ``inconclusive`` and says so.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from verify.claims._common import SEED_000, cite, label_axes, new_panel, rng_for
from verify.claims.bias_variance import bootstrap_terms, fit_predict
from verify.claims.registry import Context, Outcome, Pair, claim

__all__ = ["domingos_terms", "knn_predict", "label_distribution", "check_zero_one_decomposition",
           "check_mlxtend_zero_one", "KS", "MLXTEND_VERSION"]

#: Neighbourhood sizes of the k-NN classifiers (k = 1: low bias, high variance; k = n - 1: the reverse).
KS = (1, 3, 9, 25, 49)
N_TRAIN = 50
#: Test points: 40 rationals in (-1, 1), none where two classes tie.
TEST_POINTS = tuple(Fraction(2 * g + 1, 40) - 1 for g in range(40))
#: The mlxtend release the comparison was written against (the ``mlxtend`` extra pins it).
MLXTEND_VERSION = "0.25.0"

_SOURCE = ("Domingos, 'A Unified Bias-Variance Decomposition and its Applications', ICML 2000, Theorems 2-3; "
           "the squared-loss decomposition of " + cite(SEED_000, "BIAS-VARIANCE TRADE-OFF: MATHEMATICALLY"))


def label_distribution(x: Fraction | float, classes: int) -> list[Any]:
    """$p_t(\\cdot \\mid x)$ of the generator, exact for a rational ``x`` (floats for a float ``x``).

    Two classes: $P(t = 1 \\mid x) = \\tfrac12 + \\tfrac78 x(1 - x^2)$ on $[-1, 1]$ (between 0.16 and 0.84,
    the optimal prediction changes sign at 0). Three classes: proportional to $((1+x)^2, (1-x)^2, \\tfrac12)$.
    """
    if classes == 2:
        p1 = Fraction(1, 2) + Fraction(7, 8) * x * (1 - x * x) if isinstance(x, Fraction) else \
            0.5 + 0.875 * x * (1 - x * x)
        return [1 - p1, p1]
    if classes == 3:
        half = Fraction(1, 2) if isinstance(x, Fraction) else 0.5
        w = [(1 + x) ** 2, (1 - x) ** 2, half]
        total = sum(w)
        return [v / total for v in w]
    raise ValueError(f"classes must be 2 or 3; got {classes!r}")


def knn_predict(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, k: int, classes: int) -> np.ndarray:
    """Majority vote of the ``k`` nearest training points (1-D), batched: ``x_train, y_train`` (R, n),
    ``x_test`` (G,) -> predictions (R, G); a tied vote goes to the smallest label."""
    d = np.abs(x_train[:, None, :] - x_test[None, :, None])  # (R, G, n)
    nearest = np.argpartition(d, k - 1, axis=2)[:, :, :k] if k < x_train.shape[1] else \
        np.broadcast_to(np.arange(x_train.shape[1]), d.shape)
    votes = np.take_along_axis(np.broadcast_to(y_train[:, None, :], d.shape), nearest, axis=2)
    counts = np.stack([(votes == c).sum(axis=2) for c in range(classes)], axis=-1)
    return np.argmax(counts, axis=-1)


def domingos_terms(predictions: np.ndarray, p_t: list[Any]) -> dict[str, Any]:
    """Domingos's terms at one test point from the predictions over training sets (ints) and the label
    distribution ``p_t`` (exact Fractions give exact terms). Returns the loss $E_{D,t}[L]$, ``y_star``,
    ``y_main`` (ties: the smallest label), ``noise``, ``bias``, ``variance``, ``c1``, ``c2``."""
    classes = len(p_t)
    counts = np.bincount(np.asarray(predictions, dtype=int), minlength=classes)
    R = int(counts.sum())
    exact = isinstance(p_t[0], Fraction)
    P = [Fraction(int(c), R) for c in counts] if exact else [c / R for c in counts]
    y_star = max(range(classes), key=lambda c: p_t[c])
    y_main = int(np.argmax(counts))
    noise = 1 - p_t[y_star]
    loss = sum(P[y] * (1 - p_t[y]) for y in range(classes))
    bias = int(y_main != y_star)
    variance = 1 - P[y_main]
    # c1: P_D(y = y*) - sum over y != y* of P_D(y) P_t(t = y | t != y*)
    c1 = P[y_star] - sum(P[y] * (p_t[y] / noise) for y in range(classes) if y != y_star) if noise else P[y_star]
    if bias == 0:
        c2 = 1
    else:
        c2 = -(P[y_star] / variance) if variance else 0
    return {"loss": loss, "y_star": y_star, "y_main": y_main, "noise": noise, "bias": bias, "variance": variance,
            "c1": c1, "c2": c2}


def _training_sets(rng: np.random.Generator, R: int, classes: int) -> tuple[np.ndarray, np.ndarray]:
    x = -1 + 2 * (np.arange(N_TRAIN) + rng.uniform(size=(R, N_TRAIN))) / N_TRAIN  # stratified on [-1, 1]
    p = np.stack(label_distribution(x, classes), axis=-1)  # (R, n, classes)
    y = (rng.uniform(size=(R, N_TRAIN, 1)) > np.cumsum(p, axis=-1)).sum(axis=-1)
    return x, y


def _mean(terms: list[dict[str, Any]], value: Any) -> Any:
    return sum(value(t) for t in terms) / len(terms)


def _sweep(ctx: Context, classes: int, R: int, terms_of: Any = None) -> list[dict[str, Any]]:
    """For each k: the exact terms at every test point, and their averages over the test points."""
    rng = rng_for(ctx, "bias_variance.zero_one", classes)
    x, y = _training_sets(rng, R, classes)
    x_test = np.array([float(v) for v in TEST_POINTS])
    p_test = [label_distribution(v, classes) for v in TEST_POINTS]
    rows = []
    for k in KS:
        preds = knn_predict(x, y, x_test, k, classes)
        terms = [(terms_of or domingos_terms)(preds[:, g], p_test[g]) for g in range(len(TEST_POINTS))]
        residual = max(abs(t["loss"] - (t["c1"] * t["noise"] + t["bias"] + t["c2"] * t["variance"])) for t in terms)
        unsigned = max(abs(t["loss"] - (t["noise"] + t["bias"] + t["variance"])) for t in terms)
        rows.append({
            "k": k,
            "loss": _mean(terms, lambda t: t["loss"]),
            "noise term": _mean(terms, lambda t: t["c1"] * t["noise"]),
            "bias": _mean(terms, lambda t: t["bias"]),
            "unbiased variance": _mean(terms, lambda t: (1 - t["bias"]) * t["variance"]),
            "biased variance": _mean(terms, lambda t: t["bias"] * t["variance"]),
            "net variance": _mean(terms, lambda t: t["c2"] * t["variance"]),
            "residual": residual,
            "unsigned residual": unsigned,
        })
    return rows


def zero_one_figure(outcome: Outcome):
    fig, ax = new_panel(width=8.0, height=4.0)
    rows = (outcome.data or {}).get("two classes") or []
    if rows:
        ks = [r["k"] for r in rows]
        f = lambda key: [float(r[key]) for r in rows]  # noqa: E731
        ax.plot(ks, f("loss"), "k-o", label=r"$E_{D,t}[L]$ (exact)")
        ax.plot(ks, f("bias"), "-o", color="C0", label=r"bias $\bar B$")
        ax.plot(ks, f("unbiased variance"), "--", color="C2", label="variance on unbiased points (adds)")
        ax.plot(ks, [-v for v in f("biased variance")], "--", color="C3",
                label="variance on biased points (subtracts)")
        ax.plot(ks, f("noise term"), ":", color="grey", label=r"noise term $\overline{c_1 N}$")
        total = [a + b + c for a, b, c in zip(f("noise term"), f("bias"), f("net variance"), strict=True)]
        ax.plot(ks, total, "x", color="C1", ms=9, label=r"$\overline{c_1N} + \bar B + \overline{c_2V}$")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_xscale("log")
        ax.set_xticks(ks, [str(k) for k in ks])
    label_axes(ax, "k of the k-NN classifier (larger k: smoother, more biased)", "0-1 loss, averaged over 40 test points",
               "0-1 loss: variance adds where unbiased, subtracts where biased")
    return fig


@claim(id="bias_variance.zero_one_domingos", kind="identity", title="Bias and variance for 0-1 loss (Domingos)",
       statement=r"For 0-1 loss: $E_{D,t}[L(t,y)] = c_1 N(x) + B(x) + c_2 V(x)$, with $c_2 = 1$ where $y_m = y_*$ "
                 r"and $c_2 = -P_D(y = y_* \mid y \ne y_m)$ where $y_m \ne y_*$ ($-1$ for two classes): "
                 r"variance adds to the loss on unbiased points and subtracts on biased ones",
       source=_SOURCE,
       figure=zero_one_figure)
def check_zero_one_decomposition(ctx: Context, *, terms: Any = None) -> Outcome:
    """Domingos's decomposition, exactly (rationals), for k-NN classifiers over fresh training sets, with two
    and three classes; the unsigned sum N + B + V must miss the loss somewhere (else the check lacks power).
    ``terms`` replaces :func:`domingos_terms` (tests)."""
    R = 101 if ctx.quick else 301  # odd: no tied majority with two classes
    two, three = _sweep(ctx, 2, R, terms), _sweep(ctx, 3, R, terms)
    residual = max(r["residual"] for r in two + three)
    unsigned = max(r["unsigned residual"] for r in two + three)
    table = [{"k": r["k"], "E[L] (exact)": float(r["loss"]), "noise term E[c₁N]": float(r["noise term"]),
              "bias E[B]": float(r["bias"]), "variance on unbiased points (+)": float(r["unbiased variance"]),
              "variance on biased points (−)": float(r["biased variance"]),
              "net variance E[c₂V]": float(r["net variance"]),
              "largest |E[L] − (c₁N + B + c₂V)|": str(r["residual"])} for r in two]
    evidence = {"generator": "P(t = 1 | x) = 1/2 + (7/8) x (1 − x²) on [−1, 1]; three classes ∝ ((1+x)², (1−x)², 1/2)",
                "training sets per k": R, "training points per set": N_TRAIN, "test points": len(TEST_POINTS),
                "arithmetic": "exact rationals (Fractions)", "two classes, by k": table,
                "three classes: largest |E[L] − (c₁N + B + c₂V)|": str(max(r["residual"] for r in three)),
                "without the signs: largest |E[L] − (N + B + V)|": float(unsigned)}
    pair = Pair("largest |E[L] − (c₁N + B + c₂V)| over test points, k and both class counts", str(residual), 0, "=",
                note="exact rational arithmetic")
    data = {"two classes": two}
    bad = next((r for r in two + three if r["residual"] != 0), None)
    return Outcome.from_findings(
        evidence, data=data, pair=pair,
        counterexample=None if bad is None else {"k": bad["k"], "largest |E[L] − (c₁N + B + c₂V)|": str(bad["residual"])},
        decided=unsigned != 0,
        why="the unsigned sum N + B + V matched the loss too: no biased point had variance, so the signs were not tested")


class _Recorder:
    """A scikit-learn-style estimator for mlxtend: ``fit`` stores the training set, ``predict`` returns a
    model's predictions at ``X`` and records them (mlxtend calls predict once per bootstrap round)."""

    def __init__(self, predict_fn: Any) -> None:
        self.predict_fn = predict_fn
        self.recorded: list[np.ndarray] = []

    def fit(self, X: np.ndarray, y: np.ndarray) -> _Recorder:
        self.X, self.y = np.asarray(X, dtype=float)[:, 0], np.asarray(y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        out = self.predict_fn(self.X, self.y, np.asarray(X, dtype=float)[:, 0])
        self.recorded.append(np.asarray(out))
        return out


def mlxtend_zero_one_figure(outcome: Outcome):
    fig, ax = new_panel(width=8.0, height=3.8)
    rows = (outcome.data or {}).get("rows") or []
    if rows:
        xs = np.arange(len(rows))
        w = 0.2
        ax.bar(xs - 1.5 * w, [r["loss"] for r in rows], w, label="mlxtend avg_expected_loss")
        ax.bar(xs - 0.5 * w, [r["B + c2 V"] for r in rows], w, label=r"Domingos $\bar B + \overline{c_2 V}$")
        ax.bar(xs + 0.5 * w, [r["bias + var"] for r in rows], w, label="mlxtend avg_bias + avg_var")
        ax.bar(xs + 1.5 * w, [r["var"] for r in rows], w, label="mlxtend avg_var")
        ax.set_xticks(xs, [f"k = {r['k']}" for r in rows])
        ax.set_ylim(bottom=0)
    label_axes(ax, "k-nearest-neighbour classifier", "0-1 loss, averaged over the test points",
               "mlxtend's 0-1 decomposition: loss = bias + signed variance")
    return fig


def _mlxtend() -> tuple[Any, str | None]:
    """mlxtend's ``bias_variance_decomp`` and mlxtend's version, or ``(None, None)`` when it is not installed.

    The function's module needs only NumPy, while importing ``mlxtend.evaluate`` imports scikit-learn and pandas
    (2-7 s); so mlxtend's own module file is loaded by itself, and the package import is the fallback.
    """
    import importlib.util
    import os
    import sys
    from importlib import metadata

    try:
        version = metadata.version("mlxtend")
    except metadata.PackageNotFoundError:
        return None, None
    if "mlxtend.evaluate" in sys.modules:
        return sys.modules["mlxtend.evaluate"].bias_variance_decomp, version
    try:
        spec = importlib.util.find_spec("mlxtend")
        path = os.path.join(list(spec.submodule_search_locations)[0], "evaluate", "bias_variance_decomp.py")
        module_spec = importlib.util.spec_from_file_location("verify_mlxtend_bias_variance_decomp", path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        return module.bias_variance_decomp, version
    except Exception:  # noqa: BLE001 - a different layout: import the package the ordinary way
        from mlxtend.evaluate import bias_variance_decomp

        return bias_variance_decomp, version


@claim(id="bias_variance.mlxtend_zero_one", kind="empirical",
       title="mlxtend's 0-1 decomposition measured against Domingos's",
       statement=r"mlxtend's bias_variance_decomp with 0-1 loss returns Domingos's terms with the observed test "
                 r"labels as targets: its average loss is $\bar B + \overline{c_2 V}$ ($c_2 = -1$ on biased points), "
                 r"not avg_bias + avg_var",
       source="mlxtend.evaluate.bias_variance_decomp (Raschka), loss='0-1_loss', against " + _SOURCE,
       figure=mlxtend_zero_one_figure)
def check_mlxtend_zero_one(ctx: Context, *, decomp: Any = None) -> Outcome:
    """mlxtend's three numbers recomputed from the predictions it made (a recording estimator), with
    Domingos's terms: ``avg_expected_loss == mean(B + c2 V)``, ``avg_bias == mean(B)``, ``avg_var ==
    mean(V)`` up to the rounding of averaging (1e-12); plus its squared-loss numbers against
    :func:`verify.claims.bias_variance.bootstrap_terms` (the re-implementation the squared-loss claim uses)
    on the same predictions. ``decomp`` replaces mlxtend's function (tests)."""
    version = "injected"
    if decomp is None:
        decomp, version = _mlxtend()
    if decomp is None:
        return Outcome("inconclusive", {"mlxtend": "not installed"},
                       why=f"mlxtend is not installed: pip install 'verify[mlxtend]' (mlxtend=={MLXTEND_VERSION})",
                       pair=Pair("mlxtend's average loss − Domingos's B̄ + mean(c₂V)", None, 0, "="))
    rng = rng_for(ctx, "bias_variance.mlxtend_zero_one")
    x, y = _training_sets(rng, 1, 2)
    x_test = np.array([float(v) for v in TEST_POINTS])
    p_test = [label_distribution(v, 2) for v in TEST_POINTS]
    y_test = (rng.uniform(size=x_test.size) < np.array([float(p[1]) for p in p_test])).astype(np.int64)
    y_star = np.array([int(p[1] > p[0]) for p in p_test])
    rounds = 51 if ctx.quick else 201
    seed = int(rng.integers(0, 2**31 - 1))
    rows, worst = [], 0.0
    for k in (1, 9, 49):
        est = _Recorder(lambda X, Y, T, k=k: knn_predict(X[None, :], Y[None, :], T, min(k, X.size), 2)[0])
        loss, bias, var = decomp(est, x[0][:, None], y[0], x_test[:, None], y_test, loss="0-1_loss",
                                 num_rounds=rounds, random_seed=seed)
        preds = np.stack(est.recorded)  # (rounds, G)
        main = (2 * preds.sum(axis=0) > rounds).astype(int)  # majority (rounds odd: no tie)
        B = (main != y_test).astype(float)
        V = (preds != main).mean(axis=0)
        c2V = np.where(B == 0, V, -V)
        diffs = [abs(loss - float(np.mean(B + c2V))), abs(bias - float(B.mean())), abs(var - float(V.mean()))]
        worst = max(worst, *diffs)
        rows.append({"k": k, "loss": float(loss), "bias": float(bias), "var": float(var),
                     "B + c2 V": float(np.mean(B + c2V)), "bias + var": float(bias + var),
                     "bias against the optimal prediction": float(np.mean(main != y_star)),
                     "largest difference": max(diffs)})
    # squared loss: mlxtend's numbers from its own predictions, by the formulas of bootstrap_bias_variance
    f_train = np.sin(np.pi * x[0])
    y_reg = f_train + 0.3 * rng.normal(size=f_train.size)
    y_reg_test = np.sin(np.pi * x_test) + 0.3 * rng.normal(size=x_test.size)
    est = _Recorder(lambda X, Y, T: fit_predict(X[None, :], Y[None, :], T, 3)[0])
    mse = decomp(est, x[0][:, None], y_reg, x_test[:, None], y_reg_test, loss="mse", num_rounds=rounds,
                 random_seed=seed)
    ours = bootstrap_terms(np.stack(est.recorded), y_reg_test)
    mse_diff = max(abs(float(a) - b) for a, b in zip(mse, ours, strict=True))
    worst = max(worst, mse_diff)
    table = [{"k": r["k"], "mlxtend avg_expected_loss": r["loss"], "Domingos B̄ + mean(c₂V)": r["B + c2 V"],
              "mlxtend avg_bias": r["bias"], "mlxtend avg_var": r["var"], "avg_bias + avg_var": r["bias + var"],
              "bias against the optimal prediction y*": r["bias against the optimal prediction"],
              "largest |mlxtend − Domingos|": r["largest difference"]} for r in rows]
    evidence = {"mlxtend version": version, "bootstrap rounds": rounds, "training points": N_TRAIN,
                "test points (noisy labels drawn once)": len(TEST_POINTS), "0-1 loss, by k": table,
                "squared loss (degree-3 fit): largest |mlxtend − bootstrap_terms|": mse_diff,
                "what differs": ("mlxtend's bias is measured against the observed (noisy) test labels, so it "
                                 "counts the noise; its loss is avg_bias + mean(c₂V), which is below "
                                 "avg_bias + avg_var wherever a biased point has variance")}
    pair = Pair("largest |mlxtend's number − Domingos's term| (loss, bias, variance; over k) and for squared loss",
                worst, 0.0, "=", note="0 up to the rounding of averages (1e-12)")
    data = {"rows": rows}
    if worst > 1e-12:
        bad = max(rows, key=lambda r: r["largest difference"])
        return Outcome("refuted", evidence, data=data, pair=pair,
                       counterexample={"k": bad["k"], "mlxtend avg_expected_loss": bad["loss"],
                                       "Domingos B̄ + mean(c₂V)": bad["B + c2 V"], "mlxtend avg_bias": bad["bias"],
                                       "mlxtend avg_var": bad["var"], "squared-loss difference": mse_diff})
    return Outcome("holds", evidence, data=data, pair=pair)
