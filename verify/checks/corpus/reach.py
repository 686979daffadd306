"""The mutants of the gradient corpus that :func:`verify.check_gradient` may miss, each with why.

The test of the whole corpus (tests/checks/test_corpus.py) and the claim ``checkers.gradient_corpus`` accept a
miss only when it is named here; every other miss fails them. The list is at most 1 % of the corpus' mutants.
"""

from __future__ import annotations

__all__ = ["OUT_OF_REACH"]

#: Case name (``family/dtype/point/implementation~mutation``) → why check_gradient does not resolve it.
OUT_OF_REACH: dict[str, str] = {
    "sin/float32/06/stable~jump": (
        "f = Σ v·sin(x) + J·[x₀ ≥ 1e8] at x₀ = 1e8: the central step (eps^(1/5)·|x₀| ≈ 7e4) spans ~1e4 periods of sin "
        "and the entries at ±1e8 are reported UNVERIFIED (reference too coarse), the jump entry among them"),
}
