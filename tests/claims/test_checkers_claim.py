"""The claim that verify's layer checkers catch every planted bug with no false alarm: computed, able to fail."""

from __future__ import annotations

import pytest

from verify.checks import layer_corpus
from verify.claims import Context, get_claim, run_claim
from verify.claims import checkers as topic

pytest.importorskip("torch")
pytest.importorskip("jax")


def test_the_claim_holds_with_the_peers_rows_beside_it():
    record = run_claim(get_claim("checkers.layer_corpus"), Context(quick=True))
    assert record.verdict == "holds", record.counterexample or record.error
    tools = {row["tool"]: row for row in record.evidence["tools"]}
    assert set(tools) == set(layer_corpus.TOOLS)
    assert tools["verify"]["false alarms"].startswith("0/") and tools["verify"]["errors"] == 0
    assert record.evidence["pair"]["measured"] == 0
    figure = get_claim("checkers.layer_corpus").figure(record.outcome)
    assert len(figure.axes) == 2


def test_a_checker_that_accepts_everything_refutes_it(monkeypatch):
    module, _ = layer_corpus._RUNNERS["verify"]
    monkeypatch.setitem(layer_corpus._RUNNERS, "verify", (module, lambda case: True))
    record = run_claim(get_claim("checkers.layer_corpus"), Context(quick=True))
    assert record.verdict == "refuted"
    missed = record.counterexample["cases verify got wrong"]
    assert missed and all(row["outcome"] == "missed" for row in missed)


def test_a_checker_that_rejects_everything_refutes_it(monkeypatch):
    module, _ = layer_corpus._RUNNERS["verify"]
    monkeypatch.setitem(layer_corpus._RUNNERS, "verify", (module, lambda case: False))
    record = run_claim(get_claim("checkers.layer_corpus"), Context(quick=True))
    assert record.verdict == "refuted"
    assert {row["outcome"] for row in record.counterexample["cases verify got wrong"]} == {"false alarm"}


def test_without_the_frameworks_it_says_why(monkeypatch):
    monkeypatch.setattr(topic, "_missing_frameworks", lambda: ["jax"])
    record = run_claim(get_claim("checkers.layer_corpus"), Context(quick=True))
    assert record.verdict == "inconclusive" and "verify[torch,jax]" in record.why
    figure = get_claim("checkers.layer_corpus").figure(record.outcome)
    texts = [t.get_text() for ax in figure.axes for t in ax.texts]
    assert texts and all("not installed" in t for t in texts)  # said in words, not two empty bar charts


def test_the_gradient_corpus_claim_holds_with_the_peers_rows_beside_it():
    from verify.checks.zoo import TOOLS

    record = run_claim(get_claim("checkers.gradient_corpus"), Context(quick=True))
    assert record.verdict == "holds", record.counterexample or record.error
    tools = {row["tool"]: row for row in record.evidence["tools"]}
    assert set(tools) == set(TOOLS)
    assert tools["verify"]["false alarms"].startswith("0/") and tools["verify"]["errors"] == 0
    assert len(get_claim("checkers.gradient_corpus").figure(record.outcome).axes) == 2


@pytest.mark.parametrize("verdict, outcome", [("passed", "missed"), ("failed", "false alarm")])
def test_a_gradient_checker_that_says_the_same_of_everything_refutes_it(monkeypatch, verdict, outcome):
    from verify.checks import zoo

    module, _ = zoo._TOOLS["verify"]
    monkeypatch.setitem(zoo._TOOLS, "verify", (module, lambda case: (verdict, "")))
    record = run_claim(get_claim("checkers.gradient_corpus"), Context(quick=True))
    assert record.verdict == "refuted"
    assert outcome in {row["outcome"] for row in record.counterexample["cases check_gradient got wrong"]}
