"""The protocol of an ``as-written`` claim: a refuted formula carries its correction, checked by the same check
(the rule :func:`verify.claims.registry.claim` applies to a check that declares ``correction`` and ``corrected``)."""

from fractions import Fraction

import pytest

from verify.claims import Context
from verify.claims.registry import _REGISTRY, ClaimDefinitionError, Correction, Outcome, claim, run_claim
from verify.claims.step_size import FIRST_STEP_CORRECTED, check_first_step_as_written

CTX = Context(seed=3, quick=True)
FIX = Correction(r"f(x_1) < f(x_0)", "the comparison is backwards", checked_by="the same runs")


@pytest.fixture
def declared():
    """A toy as-written claim whose corrected form holds or fails as the test says; the runs it made."""
    calls: list[str] = []
    ids: list[str] = []

    def declare(corrected_verdict: str, correction=FIX):
        @claim(id=f"test.as_written_{len(ids)}", statement="$1 < 2$", source="a test", kind="as-written",
               correction=correction, corrected={"form": "corrected"})
        def check(ctx, *, form="as written", other=0):
            calls.append((form, other))
            if form == "corrected" and corrected_verdict == "holds":
                return Outcome("holds", {"runs": 3})
            return Outcome("refuted", {"runs": 3}, counterexample={"run": 1}, counterexample_explained="in words")

        ids.append(check.claim.id)
        return check

    yield declare, calls
    for claim_id in ids:
        _REGISTRY.pop(claim_id, None)


@pytest.mark.parametrize("verdict", ["holds", "refuted"])
def test_the_form_as_written_gets_its_correction_with_the_corrected_forms_own_verdict(declared, verdict):
    declare, calls = declared
    check = declare(verdict)
    out = check(CTX, other=7)
    assert out.verdict == "refuted" and out.counterexample_explained == "in words"
    assert calls == [("as written", 7), ("corrected", 7)]  # the same check, the other arguments kept
    assert out.correction.check.verdict == verdict and out.correction.verified == (verdict == "holds")
    assert out.correction.formula == FIX.formula and out.corrected == FIX.formula
    assert out.to_json()["correction"]["verified"] == (verdict == "holds")
    assert run_claim(check.claim, CTX).correction["verified"] == (verdict == "holds")


def test_the_corrected_form_refuted_is_not_run_again_and_gets_no_correction(declared):
    declare, calls = declared
    out = declare("refuted")(CTX, form="corrected")
    assert out.verdict == "refuted" and calls == [("corrected", 0)] and out.correction is None
    assert out.counterexample == {"run": 1} and out.counterexample_explained is None


def test_a_correction_may_depend_on_what_failed(declared):
    declare, _ = declared
    out = declare("holds", correction=lambda refuted: Correction(f"x = {refuted.counterexample['run']}", "words"))(CTX)
    assert out.correction.formula == "x = 1" and out.correction.verified


def _form_check(ctx, *, form="as written"):
    return Outcome("holds", {})


def test_a_correction_is_declared_with_its_corrected_form_on_an_as_written_claim_only():
    with pytest.raises(ClaimDefinitionError, match="corrected"):
        claim(id="test.half_declared", statement="$1$", source="a test", kind="as-written",
              correction=FIX)(_form_check)
    with pytest.raises(ClaimDefinitionError, match="as-written"):
        claim(id="test.not_as_written", statement="$1$", source="a test", kind="identity", correction=FIX,
              corrected={"form": "corrected"})(_form_check)
    with pytest.raises(ClaimDefinitionError, match="no argument 'formula'"):
        claim(id="test.no_such_argument", statement="$1$", source="a test", kind="as-written", correction=FIX,
              corrected={"formula": "corrected"})(_form_check)
    assert not {"test.half_declared", "test.not_as_written", "test.no_such_argument"} & set(_REGISTRY)


def test_a_claims_file_with_a_half_declared_correction_names_it_and_loads_its_other_claims(tmp_path):
    from verify.claims import load_claims

    path = tmp_path / "half_correction_claims.py"
    path.write_text(
        "from verify.claims import Correction, Outcome, claim\n"
        "@claim(id='notes.half', statement='$1$', source='notes', kind='as-written',\n"
        "       correction=Correction('x = 1', 'words'))\n"
        "def half(ctx, *, form='as written'):\n"
        "    return Outcome('holds', {})\n"
        "@claim(id='notes.whole', statement='$1$', source='notes', kind='identity')\n"
        "def whole(ctx):\n"
        "    return Outcome('holds', {})\n")
    before = set(_REGISTRY)
    try:
        got, failures = load_claims([str(path)])
        assert [c.id for c in got] == ["notes.whole"] and "notes.half" not in _REGISTRY
        assert [(f.claim_id, "corrected form together" in f.problem) for f in failures] == [("notes.half", True)]
    finally:
        for claim_id in set(_REGISTRY) - before:
            del _REGISTRY[claim_id]


def test_a_wrong_step_refutes_the_corrected_first_step_claim_without_recursing():
    ascent = lambda x, grad, eta: x + eta * grad  # noqa: E731 - a wrong GD step: f grows
    out = check_first_step_as_written(CTX, step=ascent, comparison=FIRST_STEP_CORRECTED)
    assert out.verdict == "refuted" and out.correction is None
    assert Fraction(out.counterexample["f(x₁)"]) > Fraction(out.counterexample["f(x₀)"])


def test_a_wrong_step_as_written_gets_its_correction_checked_with_the_same_wrong_step():
    stuck = lambda x, grad, eta: x  # noqa: E731 - a wrong GD step that never moves: f(x_0) = f(x_1) = f(x_2)
    out = check_first_step_as_written(CTX, step=stuck)
    assert out.verdict == "refuted" and out.correction is not None and not out.correction.verified
    assert out.correction.check.verdict == "refuted"


def test_the_first_step_as_written_is_refuted_with_a_verified_correction():
    out = check_first_step_as_written(CTX)
    assert out.verdict == "refuted" and out.correction.verified
    assert out.correction.check.evidence["statement tested"] == FIRST_STEP_CORRECTED[0]
