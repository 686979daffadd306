"""The claim that L2 and decoupled weight decay coincide for SGD and differ for Adam: computed, and able to fail."""

from __future__ import annotations

import pytest

from verify.claims import Context, get_claim, run_claim
from verify.symbolic import optimizers as references


def test_the_claim_holds_and_draws_its_figure():
    record = run_claim(get_claim("weight_decay.l2_vs_decoupled"), Context(quick=True))
    assert record.verdict == "holds", record.error or record.evidence
    evidence = record.evidence
    assert evidence["SGD trajectories equal in exact arithmetic"]
    assert evidence["L2 step equals the decoupled step with λ' = αλ (SymPy)"]
    pair = record.evidence["pair"]
    assert pair["relation"] == ">" and pair["measured"] > 1e6 * pair["theoretical"]
    figure = get_claim("weight_decay.l2_vs_decoupled").figure(record.outcome)
    assert len(figure.axes) == 2


def test_a_library_whose_adam_decay_were_decoupled_would_refute_it(monkeypatch):
    genuine = references.reference_run

    def adam_l2_done_as_decoupled(rule, *args, **hyper):
        if rule == "adam" and hyper.get("weight_decay"):
            hyper = dict(hyper, weight_decay=hyper["lr"] * hyper["weight_decay"], decay_scale="schedule")
            return genuine("adamw", *args, **hyper)
        return genuine(rule, *args, **hyper)

    monkeypatch.setattr(references, "reference_run", adam_l2_done_as_decoupled)
    record = run_claim(get_claim("weight_decay.l2_vs_decoupled"), Context(quick=True))
    assert record.verdict == "refuted" and record.counterexample["rule"] == "Adam"


@pytest.mark.parametrize("quick", [True])
def test_the_evidence_is_json(quick):
    import json

    record = run_claim(get_claim("weight_decay.l2_vs_decoupled"), Context(quick=quick))
    json.dumps(record.to_json())
