"""The reader's view of a record: titles and topics as written, the summary in words, the newer keys of
the claims' schema (checked corrections, explained counterexamples, the measured/theoretical pair)."""

from __future__ import annotations

from verify.claims.registry import ClaimRecord
from verify.report.build import Report
from verify.report.figures import RenderedFigure
from verify.report.html import render_html
from verify.report.view import topic_title, view


def _record(**extra) -> ClaimRecord:
    record = ClaimRecord(id="t.adam_as_written", statement=r"$\hat m_i = m_i/(1+\beta^i)$", source="notes, slide 3",
                         kind="as-written", verdict="refuted", title="Adam's bias correction, as written",
                         topic="adaptive", evidence={"pair": {"quantity": r"$E[\hat m_1]$", "measured": 0.0526,
                                                              "theoretical": "1", "relation": "="}, "n": 3},
                         seconds=0.25, counterexample={"beta": 0.9}, corrected=r"\hat m_i = m_i/(1-\beta^i)")
    for key, value in extra.items():  # the keys of the claims' second schema, where the record has them
        setattr(record, key, value)
    return record


def _report(record: ClaimRecord) -> Report:
    env = {"run": {"seed": 1, "backend": "cpu", "quick": True}, "machine": {"cpu": "a CPU"}, "packages": {}}
    return Report([record], {record.id: RenderedFigure()}, env, "2026-01-01T00:00:00+00:00", 1.0)


def test_a_verified_correction_with_its_explanation_and_the_pair_line():
    record = _record(correction={"formula": r"\hat m_i = m_i/(1-\beta_1^i)", "verified": True,
                                 "explanation": r"dividing by $1-\beta^i$ removes the bias",
                                 "checked_by": "the same SymPy proof",
                                 "evidence": {"pair": {"quantity": "difference", "measured": 0.0, "theoretical": 0,
                                                       "relation": "<="}}},
                     counterexample_explained="At this point the sides differ by 0.95.", false_fail_rate=1e-6,
                     origin="my_claims.py")
    (c,) = view(_report(record)).claims()
    assert c.corrected == r"\hat m_i = m_i/(1-\beta_1^i)" and c.correction_verified
    assert c.pair.line == r"measured 0.0526 = theoretical 1 — $E[\hat m_1]$"
    assert c.correction_pair.line == "measured 0 ≤ theoretical 0 — difference"
    assert [b.caption for b in c.evidence] == [None] and len(c.evidence[0].rows) == 1  # the pair is not a table
    assert "declared false-fail rate 10⁻⁶" in c.details and "defined in my_claims.py" in c.details
    html = render_html(_report(record))
    assert "Corrected</div>" in html and "(not checked)" not in html
    assert "dividing by" in html and "At this point the sides differ by 0.95." in html
    assert "The correction holds: checked by the same SymPy proof." in html
    # words without $ stay words, not one long italic formula
    assert '<p class="pair-line">measured 0 ≤ theoretical 0 — difference</p>' in html


def test_a_correction_that_was_not_checked_says_so():
    (c,) = view(_report(_record())).claims()  # only the first schema's bare `corrected`
    assert c.corrected == r"\hat m_i = m_i/(1-\beta^i)" and not c.correction_verified
    assert "Corrected (not checked)" in render_html(_report(_record()))
    unverified = _record(correction={"formula": "x = 1", "verified": False, "checked_by": "a search"})
    html = render_html(_report(unverified))
    assert "Corrected (not checked)" in html and "The correction was not confirmed: checked by a search." in html


def test_topic_headings_are_written_not_capitalised():
    assert topic_title("sgd") == "Stochastic gradient descent"
    assert topic_title("bias_variance") == "The bias–variance decomposition"
    assert topic_title("lecture3_extras") == "lecture3_extras"  # a user's topic, exactly as given


def test_the_summary_speaks_to_readers():
    summary = view(_report(_record())).summary
    assert summary.sentence.startswith("1 claim checked: 0 hold, 1 refuted, 0 inconclusive. 1 formula of the notes")
    assert "exit" not in summary.sentence.lower() and "exit" not in summary.run.lower()
