"""The mutants of the gradient corpus that :func:`verify.check_gradient` may miss, each with why.

The test of the whole corpus (tests/checks/test_corpus.py) and the claim ``checkers.gradient_corpus`` accept a
miss only when it is named here; every other miss fails them. The list is at most 1 % of the corpus' mutants.
"""

from __future__ import annotations

__all__ = ["OUT_OF_REACH"]

_ELU_TINY = ("elu at inputs within 1e-38 (float32) or 1e-300 (float64) of its kink at 0: f's rounding level as "
             "measured there (~2.5e-9, the noise probe's table of f) ends the kink ladder near 1e-7, so the kink is "
             "located at the point and any value between the one-sided slopes (α and 1) is accepted — the other "
             "side's slope, or a wrong α inside that interval; the ladder's tail from |x_j|/2 starts only below the "
             "main ladder's finest step")
#: Case name (``family/dtype/point/implementation~mutation``) → why check_gradient does not resolve it.
OUT_OF_REACH: dict[str, str] = {
    **dict.fromkeys([
        "elu/float32/09/stable~slope next to a kink",
        "elu/float64/09/stable~slope next to a kink",
        "elu/float64/09/stable~wrong constant",
    ], _ELU_TINY),
    "sin/float32/06/stable~jump": (
        "f = Σ v·sin(x) + J·[x₀ ≥ 1e8] at x₀ = 1e8: the central step (eps^(1/5)·|x₀| ≈ 7e4) spans ~1e4 periods of sin "
        "and the entries at ±1e8 are reported UNVERIFIED (reference too coarse), the jump entry among them"),
}
