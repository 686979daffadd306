r"""verify's own checkers, measured beside their peers on corpora of right and planted-wrong derivatives.

The claim of this module is about the library, not the notes: on the layer corpus
(:mod:`verify.checks.layer_corpus`: dense, conv1d, residual, layer norm, softmax and attention written as
PyTorch ``autograd.Function``\ s and JAX ``custom_vjp`` rules, right and with planted bugs, the frameworks'
built-ins, and second-order cases), :func:`verify.check_vjp` / :func:`verify.check_hessian` catch every planted
bug and raise no false alarm. The same cases go through ``torch.autograd.gradcheck``, ``gradgradcheck`` and
``jax.test_util.check_grads``; their rows (caught, false alarms, seconds per check) stand beside verify's, as
PEPit puts the measured value beside the theoretical one.
"""

from __future__ import annotations

import importlib.util
import math

import numpy as np

from verify.claims._common import SEED_002, cite, jsonable, new_figure
from verify.claims.registry import Context, Outcome, Pair, claim

__all__ = ["check_layer_corpus", "layer_corpus_figure"]

#: The quick run (tests, ``--quick``): the dense layer's cases in both frameworks, right and with each bug.
_QUICK_LAYERS = ("dense",)


def _missing_frameworks() -> list[str]:
    return [name for name in ("torch", "jax") if importlib.util.find_spec(name) is None]


def _tool_rows(rows: list[dict]) -> list[dict]:
    """One row per tool: planted bugs caught, false alarms, errors and the median seconds per check."""
    out = []
    for tool in dict.fromkeys(row["tool"] for row in rows):
        mine = [row for row in rows if row["tool"] == tool and row["outcome"] != "n/a"]
        wrong = [row for row in mine if row["bug"]]
        right = [row for row in mine if not row["bug"]]
        seconds = [row["seconds"] for row in mine if not math.isnan(row["seconds"])]
        out.append({
            "tool": tool,
            "planted bugs caught": f"{sum(row['outcome'] == 'caught' for row in wrong)}/{len(wrong)}",
            "false alarms": f"{sum(row['outcome'] == 'false alarm' for row in right)}/{len(right)}",
            "errors": sum(row["outcome"].startswith("error") for row in mine),
            "median seconds per check": float(np.median(seconds)) if seconds else "n/a",
        })
    return out


def check_layer_corpus(ctx: Context) -> Outcome:
    """Run the layer corpus through verify and its peers (``ctx.quick``: the dense layer's cases only)."""
    from verify.checks.layer_corpus import LAYER_CASES, compare_layers

    missing = _missing_frameworks()
    if missing:
        return Outcome("inconclusive", {"frameworks missing": ", ".join(missing)},
                       why=f"the layer corpus is written in PyTorch and JAX; {', '.join(missing)} not installed "
                           "(pip install 'verify[torch,jax]')")
    cases = tuple(c for c in LAYER_CASES if not ctx.quick or c.layer in _QUICK_LAYERS)
    rows = compare_layers(cases)
    mine = [row for row in rows if row["tool"] == "verify"]
    failures = [row for row in mine if row["outcome"] not in ("caught", "ok")]
    tools = _tool_rows(rows)
    evidence = {
        "cases": len(cases), "right implementations": sum(not c.wrong for c in cases),
        "planted bugs": sum(c.wrong for c in cases),
        "layers": ", ".join(dict.fromkeys(c.layer for c in cases)),
        "tools": tools,
    }
    pair = Pair("planted bugs missed, false alarms and errors of verify on the layer corpus", len(failures), 0, "=",
                note="every right case must pass and every planted bug fail")
    data = {"tools": tools}
    if failures:
        return Outcome("refuted", jsonable(evidence), data=data, pair=pair, counterexample=jsonable({
            "cases verify got wrong": [{"case": row["case"], "bug": row["bug"] or "none", "outcome": row["outcome"]}
                                       for row in failures]}))
    return Outcome("holds", jsonable(evidence), data=data, pair=pair)


def _fraction(text: str) -> float:
    num, den = (int(part) for part in text.split("/"))
    return num / den if den else float("nan")


def layer_corpus_figure(outcome: Outcome):
    fig, axes = new_figure(2, 1, width=9.6, height=3.4)
    caught, alarms = axes[0, 0], axes[0, 1]
    tools = (outcome.data or {}).get("tools", [])
    names = [row["tool"].replace("torch.autograd.", "").replace("jax.test_util.", "") for row in tools]
    y = np.arange(len(tools))
    caught.barh(y, [100 * _fraction(row["planted bugs caught"]) for row in tools], color="C0")
    alarms.barh(y, [100 * _fraction(row["false alarms"]) for row in tools], color="C3")
    for ax, label in ((caught, "planted bugs caught (%)"), (alarms, "right implementations flagged (%)")):
        ax.set_yticks(y, names, fontsize=8)
        ax.set_xlim(0, 100)
        ax.set_xlabel(label)
        ax.set_ylabel("checker")
        ax.invert_yaxis()
    caught.set_title("Planted bugs caught")
    alarms.set_title("False alarms")
    return fig


@claim(
    id="checkers.layer_corpus",
    statement=(r"check\_vjp and check\_hessian catch every planted bug of the layer corpus and flag no right "
               r"implementation; gradcheck, gradgradcheck and check\_grads run on the same cases"),
    source=cite(SEED_002, "Backward Propagation: Chain Rule",
                "the layer corpus of verify.checks.layer_corpus; peers: torch.autograd.gradcheck and gradgradcheck "
                "(PyTorch 2.13), jax.test_util.check_grads (JAX 0.10)"),
    kind="empirical",
    topic="checkers",
    title="Layer backward passes: verify and its peers on the layer corpus",
    figure=layer_corpus_figure,
)
def _layer_corpus(ctx: Context) -> Outcome:
    return check_layer_corpus(ctx)
