r"""verify's own checkers, measured beside their peers on corpora of right and planted-wrong derivatives.

The claims of this module are about the library, not the notes. On a seeded sample of the gradient corpus
(:mod:`verify.checks.corpus`: compositions of elementary functions and layers, their correct gradients and
mutants), :func:`verify.check_gradient` raises no false alarm and catches every mutant except those the corpus
names out of reach, each with why (:data:`verify.checks.corpus.reach.OUT_OF_REACH`). On the layer corpus
(:mod:`verify.checks.layer_corpus`: dense, conv1d, residual, layer norm, softmax and attention written as
PyTorch ``autograd.Function``\ s and JAX ``custom_vjp`` rules, right and with planted bugs, the frameworks'
built-ins, and second-order cases), :func:`verify.check_vjp` / :func:`verify.check_hessian` catch every planted
bug and raise no false alarm. The same cases go through ``torch.autograd.gradcheck``, ``gradgradcheck`` and
``jax.test_util.check_grads``; their rows (caught, false alarms, seconds per check) stand beside verify's, as
PEPit puts the measured value beside the theoretical one.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

from verify.claims._common import SEED_002, cite, jsonable, new_figure
from verify.claims.registry import Context, Outcome, Pair, claim

__all__ = ["check_layer_corpus", "check_gradient_corpus", "layer_corpus_figure", "gradient_corpus_figure"]

#: The quick run (tests, ``--quick``): the dense layer's cases in both frameworks, right and with each bug.
_QUICK_LAYERS = ("dense",)


def _missing_frameworks() -> list[str]:
    return [name for name in ("torch", "jax") if importlib.util.find_spec(name) is None]


def _tool_rows(tallies: dict[str, dict]) -> list[dict]:
    """One evidence row per tool of :func:`verify.checks.layer_corpus.tally_layers`."""
    return [{"tool": tool, "planted bugs caught": f"{t['caught']}/{t['wrong']}",
             "false alarms": f"{t['false_alarms']}/{t['right']}", "errors": t["errors"],
             "median seconds per check": float(np.median(t["seconds"])) if t["seconds"] else "n/a"}
            for tool, t in tallies.items()]


def _counts(tool: str, caught: int, wrong: int, false_alarms: int, right: int) -> dict:
    """A tool's counts as the figure reads them."""
    return {"tool": tool, "caught": caught, "wrong": wrong, "false_alarms": false_alarms, "right": right}


def _percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else float("nan")


def _corpus_panels(outcome: Outcome, corpus: str):
    """Two panels over the tools of a corpus claim: the planted bugs each catches, the right ones each flags."""
    fig, axes = new_figure(2, 1, width=9.6, height=2.2)
    caught, alarms = axes[0, 0], axes[0, 1]
    tools = (outcome.data or {}).get("tools", [])
    if not tools:  # the frameworks are not installed: say so instead of drawing empty axes
        for ax in (caught, alarms):
            ax.text(0.5, 0.5, "not run: torch and jax are not installed", ha="center", va="center",
                    transform=ax.transAxes)
            ax.set_xlabel("planted bugs caught (%)" if ax is caught else "right implementations flagged (%)")
            ax.set_ylabel("checker")
        return fig
    names = [row["tool"].replace("torch.autograd.", "").replace("jax.test_util.", "") for row in tools]
    y = np.arange(len(tools))
    caught.barh(y, [_percent(row["caught"], row["wrong"]) for row in tools], color="C0")
    alarms.barh(y, [_percent(row["false_alarms"], row["right"]) for row in tools], color="C3")
    for ax, label in ((caught, "planted bugs caught (%)"), (alarms, "right implementations flagged (%)")):
        ax.set_yticks(y, names, fontsize=8)
        ax.set_xlim(0, 100)
        ax.set_xlabel(label)
        ax.set_ylabel("checker")
        ax.invert_yaxis()
    caught.set_title(f"Planted bugs caught ({corpus})")
    alarms.set_title(f"False alarms ({corpus})")
    return fig


def layer_corpus_figure(outcome: Outcome):
    return _corpus_panels(outcome, "layer corpus")


def gradient_corpus_figure(outcome: Outcome):
    return _corpus_panels(outcome, "gradient corpus sample")


def _corpus_claim(*, id: str, statement: str, title: str, corpus: str, module: str, gradcheck: str, figure: Any):
    """A claim of this module, declared alike: verify's checkers beside their peers on ``corpus`` (built by
    ``module``; ``gradcheck``: the PyTorch peers that run on it), with the figure of the tools' two rates."""
    return claim(id=id, statement=statement, title=title, kind="empirical", topic="checkers", figure=figure,
                 source=cite(SEED_002, "Backward Propagation: Chain Rule",
                             f"the {corpus} of {module}; peers: {gradcheck} "
                             "(PyTorch 2.13), jax.test_util.check_grads (JAX 0.10)"))


def _outcome(evidence: dict, data: dict, pair: Pair, wrong_cases: str, wrong: list[dict]) -> Outcome:
    """Refuted with the cases the checker got wrong (named ``wrong_cases``), if any; else holds."""
    return Outcome.from_findings(jsonable(evidence), data=data, pair=pair,
                                 counterexample=jsonable({wrong_cases: wrong}) if wrong else None)


@_corpus_claim(
    id="checkers.layer_corpus",
    statement=(r"check_vjp and check_hessian catch every planted bug of the layer corpus and flag no right "
               r"implementation; gradcheck, gradgradcheck and check_grads run on the same cases"),
    title="Layer backward passes: verify and its peers on the layer corpus",
    corpus="layer corpus", module="verify.checks.layer_corpus", gradcheck="torch.autograd.gradcheck and gradgradcheck",
    figure=layer_corpus_figure,
)
def check_layer_corpus(ctx: Context) -> Outcome:
    """Run the layer corpus through verify and its peers (``ctx.quick``: the dense layer's cases only)."""
    from verify.checks.layer_corpus import LAYER_CASES, compare_layers, tally_layers

    missing = _missing_frameworks()
    if missing:
        return Outcome("inconclusive", {"frameworks missing": ", ".join(missing)},
                       why=f"the layer corpus is written in PyTorch and JAX; {', '.join(missing)} not installed "
                           "(pip install 'verify[torch,jax]')")
    cases = tuple(c for c in LAYER_CASES if not ctx.quick or c.layer in _QUICK_LAYERS)
    rows = compare_layers(cases)
    mine = [row for row in rows if row["tool"] == "verify"]
    failures = [row for row in mine if row["outcome"] not in ("caught", "ok")]
    tallies = tally_layers(rows)
    tools = _tool_rows(tallies)
    evidence = {
        "cases": len(cases), "right implementations": sum(not c.wrong for c in cases),
        "planted bugs": sum(c.wrong for c in cases),
        "layers": ", ".join(dict.fromkeys(c.layer for c in cases)),
        "tools": tools,
    }
    pair = Pair("planted bugs missed, false alarms and errors of verify on the layer corpus", len(failures), 0, "=",
                note="every right case must pass and every planted bug fail")
    data = {"tools": [_counts(tool, t["caught"], t["wrong"], t["false_alarms"], t["right"])
                      for tool, t in tallies.items()]}
    return _outcome(evidence, data, pair, "cases verify got wrong",
                    [{"case": row["case"], "bug": row["bug"] or "none", "outcome": row["outcome"]} for row in failures])


#: Cases drawn from the gradient corpus for the claim: a seeded sample, half right and half mutants (the whole
#: corpus, about 5,000 cases, runs in tests/checks/test_corpus.py and in ``verify bench``'s gradient_corpus).
_GRADIENT_SAMPLE = {True: 30, False: 120}


@_corpus_claim(
    id="checkers.gradient_corpus",
    statement=(r"check_gradient raises no false alarm on right gradients and catches every wrong one it can "
               r"resolve (the corpus names the few it cannot), on a sample of the gradient corpus; gradcheck and "
               r"check_grads run on the same cases"),
    title="Gradients: check_gradient and its peers on the gradient corpus",
    corpus="gradient corpus", module="verify.checks.corpus", gradcheck="torch.autograd.gradcheck",
    figure=gradient_corpus_figure,
)
def check_gradient_corpus(ctx: Context) -> Outcome:
    """A sample of the gradient corpus (seeded by ``ctx.seed``) through check_gradient and its installed peers."""
    from verify.checks.corpus import cases
    from verify.checks.corpus.reach import OUT_OF_REACH
    from verify.checks.corpus.run import run, sample, summary_rows
    from verify.checks.zoo import TOOLS

    installed = tuple(t for t in TOOLS if t == "verify" or importlib.util.find_spec(t.split(".")[0]) is not None)
    size = _GRADIENT_SAMPLE[ctx.quick]
    chosen = sample(cases(), size, seed=ctx.seed)  # the generated corpus; its framework cases need torch and jax
    rows = run(chosen, tools=installed)
    summary = summary_rows(rows)
    table = [{"tool": r["tool"], "mutants caught": f"{r['caught']}/{r['wrong']}",
              "false alarms": f"{r['false_alarms']}/{r['right']}", "unverified": r["unverified"],
              "errors": r["errors"], "median seconds per check": r["median_ms"] / 1e3} for r in summary]
    mine = next(r for r in summary if r["tool"] == "verify")
    verify_rows = [r for r in rows if r["tool"] == "verify"]
    known = [r for r in verify_rows if r["case"] in OUT_OF_REACH and r["outcome"] != "caught"]
    wrong = [r for r in verify_rows if r["outcome"] in ("false alarm", "error")
             or (r["outcome"] in ("missed", "unverified") and r["mutation"] and r["case"] not in OUT_OF_REACH)]
    evidence = {"cases": size, "peers not installed": ", ".join(t for t in TOOLS if t not in installed) or "none",
                "tools": table,
                "misses named out of reach": [{"case": r["case"], "why": OUT_OF_REACH[r["case"]]} for r in known]
                or "none in this sample"}
    pair = Pair("false alarms, errors and misses of check_gradient on the sample, less the misses named out of reach",
                len(wrong), 0, "=",
                note=f"{mine['caught']}/{mine['wrong']} mutants caught; the corpus names {len(OUT_OF_REACH)} mutants "
                     "out of reach, each with why (verify.checks.corpus.reach)")
    data = {"tools": [_counts(r["tool"], r["caught"], r["wrong"], r["false_alarms"], r["right"]) for r in summary]}
    return _outcome(evidence, data, pair, "cases check_gradient got wrong",
                    [{"case": r["case"], "outcome": r["outcome"]} for r in wrong])
