"""The corpus through the peers: ``torch.autograd.gradcheck`` and ``jax.test_util.check_grads`` beside
``verify.check_gradient``, on a seeded sample (the whole corpus runs in ``verify bench``, through
``verify.checks.corpus.run.peer_comparison``). Marked ``peers``; each peer is importorskip-ped."""

from __future__ import annotations

import pytest

from verify.checks.corpus import all_cases
from verify.checks.corpus.run import peer_comparison, sample, summary_rows
from verify.checks.zoo import OUTCOMES, compare_with_peers, format_table, tally

pytestmark = pytest.mark.peers


@pytest.fixture(scope="module")
def by_name():
    return {c.name: c for c in all_cases()}


def _outcome(case, tool: str) -> str:
    (row,) = compare_with_peers((case,), repeats=0, tools=(tool,))
    return row["outcome"]


def _first(by_name, family: str, dtype: str, kind: str, mutation: str = "", tag: str | None = None):
    return next(c for c in by_name.values() if c.family.name == family and c.dtype == dtype and c.kind == kind
                and c.mutation == mutation and c.implementation == "stable" and (tag is None or tag in c.tags))


@pytest.mark.parametrize("tool", ["torch.autograd.gradcheck", "jax.test_util.check_grads"])
def test_peers_miss_a_float32_gradient_and_false_alarm_at_a_kink(by_name, tool):
    pytest.importorskip(tool.split(".")[0])
    # their tolerances (atol 1e-5 / rtol 1e-3; 1e-5 on one direction) cannot see a 6e-8 relative error
    assert _outcome(_first(by_name, "sigmoid", "float64", "mutant", "float32 gradient", "typical"), tool) == "missed"
    assert _outcome(_first(by_name, "dense_tanh", "float64", "mutant", "sign"), tool) == "caught"
    # central differences straddle the kink of relu at 0 and see the slope 1/2
    assert _outcome(_first(by_name, "relu", "float64", "correct", tag="at kink"), tool) == "false alarm"


def test_the_sample_through_all_three_tools(by_name):
    pytest.importorskip("torch")
    pytest.importorskip("jax")
    cases = sample(tuple(by_name.values()), 24)
    assert sum(c.wrong for c in cases) == 12
    rows = compare_with_peers(cases, repeats=0)
    assert len(rows) == 3 * len(cases)
    assert {r["outcome"] for r in rows} <= set(OUTCOMES)
    totals = tally(rows)
    assert set(totals) == {"verify", "torch.autograd.gradcheck", "jax.test_util.check_grads"}
    for t in totals.values():
        assert t["wrong"] == 12 and t["right"] == 12
        assert sum(t[o] for o in OUTCOMES) == 24
    table = format_table(rows, per_case=False, by="mutation")
    for tool, t in totals.items():
        assert f"{tool}: caught {t['caught']}/12 wrong gradients, {t['false alarm']}/12 false alarms" in table
    assert [r["tool"] for r in summary_rows(rows)] == list(totals)


def test_peer_comparison_is_what_bench_and_the_report_call():
    rows, table = peer_comparison(size=6, tools=("verify",))
    assert len(rows) == 6 and table.splitlines()[-1].startswith("verify: caught ")


def test_bench_workload_has_one_row_per_tool_with_the_outcomes():
    from verify.bench import workloads
    from verify.bench.harness import BenchConfig

    result = workloads.gradient_corpus(BenchConfig(quick=True, repeats=1, warmup=1))
    assert result.skipped is None and result.item_name == "check"
    mine = result.get("verify")
    assert mine.role == "kernel" and mine.timing is not None
    assert len(mine.timing.seconds) + mine.extra["errors"] == 30
    assert mine.extra["wrong"] == 15 and mine.extra["right"] == 15
    for m in result.measurements:
        assert m.timing is not None or m.skipped
        if m.role == "peer" and m.timing is not None:
            assert m.extra["caught"] + m.extra["missed"] + m.extra["unverified"] + m.extra["errors"] >= 15
    assert "speedup_over_torch" in mine.ratios
