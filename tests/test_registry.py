"""The claim registry: verdicts are computed by the check, records follow the DESIGN.md schema."""

import json

import pytest

from verify.claims.registry import Claim, Context, Outcome, run_claim


def _claim(check, kind="identity"):
    return Claim(id="t.example", statement=r"$1 + 1 = 2$", source="test", kind=kind, check=check)


def test_record_schema_and_computed_verdict():
    calls = []

    def check(ctx):
        calls.append(ctx.seed)
        value = 1 + 1
        return Outcome("holds" if value == 2 else "refuted", {"value": value}, counterexample={"v": value})

    record = run_claim(_claim(check), Context(seed=7))
    data = record.to_json()
    assert calls == [7]
    assert {"id", "statement", "source", "kind", "verdict", "evidence", "seconds"} <= set(data)
    assert data["verdict"] == "holds" and data["evidence"] == {"value": 2}
    json.dumps(data)


def test_a_check_that_raises_is_inconclusive_with_the_error():
    def check(ctx):
        raise ZeroDivisionError("boom")

    record = run_claim(_claim(check))
    assert record.verdict == "inconclusive"
    assert "ZeroDivisionError" in record.why and "boom" in record.error


def test_refuted_needs_a_counterexample_and_inconclusive_a_reason():
    with pytest.raises(ValueError, match="counterexample"):
        Outcome("refuted", {})
    with pytest.raises(ValueError, match="reason"):
        Outcome("inconclusive", {})
    with pytest.raises(ValueError, match="verdict must be one of"):
        Outcome("true", {})


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind must be one of"):
        _claim(lambda ctx: None, kind="theorem")
