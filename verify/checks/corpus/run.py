"""Running the corpus through the checkers: ``verify.check_gradient``, ``torch.autograd.gradcheck`` and
``jax.test_util.check_grads`` (the runner is :func:`verify.checks.zoo.compare_with_peers`), with
summaries by mutation, implementation, family, dtype and regime, and one line per finding."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from verify.checks.corpus.build import SEED
from verify.checks.corpus.model import CorpusCase

__all__ = ["sample", "run", "peer_comparison", "finding_lines", "summary_rows"]


def sample(cases: Sequence[CorpusCase], size: int, seed: int = SEED) -> tuple[CorpusCase, ...]:
    """``size`` cases drawn without replacement, seeded, half correct and half mutants where possible,
    in corpus order."""
    rng = np.random.default_rng([seed, 7])
    right = [i for i, c in enumerate(cases) if not c.wrong]
    wrong = [i for i, c in enumerate(cases) if c.wrong]
    k_wrong = min(len(wrong), size // 2)
    k_right = min(len(right), size - k_wrong)
    chosen = sorted(list(rng.choice(right, k_right, replace=False)) + list(rng.choice(wrong, k_wrong, replace=False)))
    return tuple(cases[i] for i in chosen)


def run(cases: Sequence[CorpusCase] | None = None, *, tools: tuple[str, ...] | None = ("verify",),
        size: int | None = None, seed: int = SEED, progress: Callable[[int, int], None] | None = None,
        ) -> list[dict[str, Any]]:
    """One row per (case, tool) (see :func:`verify.checks.zoo.compare_with_peers`), each check run and
    timed once. ``cases`` defaults to the whole corpus with the framework cases; ``size`` draws a
    seeded sample of it."""
    from verify.checks.corpus import all_cases
    from verify.checks.zoo import compare_with_peers

    chosen = tuple(all_cases(seed) if cases is None else cases)
    if size is not None:
        chosen = sample(chosen, size, seed)
    return compare_with_peers(chosen, repeats=0, tools=tools, progress=progress)


def peer_comparison(size: int | None = 300, seed: int = SEED, tools: tuple[str, ...] | None = None,
                    progress: Callable[[int, int], None] | None = None) -> tuple[list[dict[str, Any]], str]:
    """The three rows (caught, false alarms, time per check) for ``verify bench`` and the report: a seeded
    sample of ``size`` cases (None: the whole corpus) through every installed tool. Returns the rows and
    a Markdown table grouped by mutation, ending with one summary line per tool."""
    from verify.checks.zoo import format_table

    rows = run(None, tools=tools, size=size, seed=seed, progress=progress)
    return rows, format_table(rows, per_case=False, by="mutation")


def summary_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per tool: caught / wrong, false alarms / right, unverified, errors, median and total
    seconds — the figures for a report or a bench table."""
    from verify.checks.zoo import tally

    out = []
    for tool, t in tally(rows).items():
        out.append({"tool": tool, "caught": t["caught"], "wrong": t["wrong"], "missed": t["missed"],
                    "false_alarms": t["false alarm"], "right": t["right"], "unverified": t["unverified"],
                    "errors": t["error"], "median_ms": t["median_ms"], "total_s": t["total_s"]})
    return out


def _point_text(case: CorpusCase, width: int = 160) -> str:
    x = np.asarray(case.point[0])
    text = np.array2string(x.ravel(), precision=17, max_line_width=10**6, separator=", ", threshold=10**6)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def finding_lines(rows: list[dict[str, Any]], cases: Sequence[CorpusCase], tool: str = "verify") -> list[str]:
    """One line per false alarm, error, unverified entry and miss of ``tool``: outcome, case, point
    (``args[0]``, flattened), what the tool said."""
    by_name = {c.name: c for c in cases}
    order = {"false alarm": 0, "error": 1, "unverified": 2, "missed": 3}
    bad = sorted((r for r in rows if r["tool"] == tool and r["outcome"] in order),
                 key=lambda r: (order[r["outcome"]], r["case"]))
    lines = []
    for r in bad:
        case = by_name[r["case"]]
        said = r["detail"] or ("passed" if r["outcome"] == "missed" else r["outcome"])
        lines.append(f"- {r['outcome'].upper()} `{r['case']}` [{', '.join(case.tags)}] "
                     f"{('(' + case.bug + ') ') if case.bug else ''}x = {_point_text(case)} — {said}")
    return lines
