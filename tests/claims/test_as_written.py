"""The protocol of an ``as-written`` claim: a refuted formula carries its correction, checked by the same check."""

from fractions import Fraction

import pytest

from verify.claims import Context
from verify.claims._common import refuted_as_written
from verify.claims.registry import Correction, Outcome
from verify.claims.step_size import FIRST_STEP_CORRECTED, check_first_step_as_written

CTX = Context(seed=3, quick=True)
FIX = Correction(r"f(x_1) < f(x_0)", "the comparison is backwards", checked_by="the same runs")


def _checked(verdict: str):
    calls = []

    def check_corrected() -> Outcome:
        calls.append(1)
        if verdict == "holds":
            return Outcome("holds", {"runs": 3})
        return Outcome("refuted", {"runs": 3}, counterexample={"run": 1})

    return calls, check_corrected


@pytest.mark.parametrize("verdict", ["holds", "refuted"])
def test_the_form_as_written_gets_its_correction_with_the_corrected_forms_own_verdict(verdict):
    calls, check_corrected = _checked(verdict)
    out = refuted_as_written({"runs": 3}, None, {"run": 1}, corrected_form=False, correction=FIX,
                             check_corrected=check_corrected, explained="in words")
    assert out.verdict == "refuted" and calls == [1] and out.counterexample_explained == "in words"
    assert out.correction.check.verdict == verdict and out.correction.verified == (verdict == "holds")
    assert out.to_json()["correction"]["verified"] == (verdict == "holds")


def test_the_corrected_form_refuted_is_not_run_again_and_gets_no_correction():
    calls, check_corrected = _checked("holds")
    out = refuted_as_written({"runs": 3}, None, {"run": 1}, corrected_form=True, correction=FIX,
                             check_corrected=check_corrected, explained="words about the form as written")
    assert out.verdict == "refuted" and calls == [] and out.correction is None
    assert out.counterexample == {"run": 1} and out.counterexample_explained is None


def test_a_wrong_step_refutes_the_corrected_first_step_claim_without_recursing():
    ascent = lambda x, grad, eta: x + eta * grad  # noqa: E731 - a wrong GD step: f grows
    out = check_first_step_as_written(CTX, step=ascent, comparison=FIRST_STEP_CORRECTED)
    assert out.verdict == "refuted" and out.correction is None
    assert Fraction(out.counterexample["f(x₁)"]) > Fraction(out.counterexample["f(x₀)"])


def test_the_first_step_as_written_is_refuted_with_a_verified_correction():
    out = check_first_step_as_written(CTX)
    assert out.verdict == "refuted" and out.correction.verified
    assert out.correction.check.evidence["statement tested"] == FIRST_STEP_CORRECTED[0]
