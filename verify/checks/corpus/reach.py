"""The mutants of the gradient corpus that :func:`verify.check_gradient` may miss, each with why.

The test of the whole corpus (tests/checks/test_corpus.py) and the claim ``checkers.gradient_corpus`` accept a
miss only when it is named here; every other miss fails them. The list is at most 1 % of the corpus' mutants.
"""

from __future__ import annotations

__all__ = ["OUT_OF_REACH"]

#: Case name (``family/dtype/point/implementation~mutation``) → why check_gradient does not resolve it.
OUT_OF_REACH: dict[str, str] = {
    "sin/float32/06/stable~jump": (
        "f = Σ v·sin(x) + J·[x₀ ≥ 1e8] at x₀ = 1e8: the central step (eps^(1/5)·|x₀| ≈ 7e4) spans ~1e4 periods of sin, "
        "so the central differences resolve nothing there (their values' rounding level is as large as f) and cannot "
        "overrule the complex step, which is blind to the indicator: missed, a limit of the stencil at inputs far "
        "larger than the scale f varies on (the same stencil made correct gradients of sin fail there before)"),
    "layer_norm_tanh/float32/05/stable~jump": (
        "f + 3.36·[x₀ ≥ x₀⁰] at inputs near 1e4 whose spread is 1: the central step (eps64^(1/5)·1e4 = 7.4) spans the "
        "whole scale on which the layer norm varies, so the rounding level the stack measures from its own differences "
        "(0.86) swallows the jump's one-sided slopes (1.4 at h/4), no entry is a kink candidate, and the complex step "
        "(blind to the indicator) decides: missed, a limit of the stencil at inputs far larger than their spread"),
    "x_tanh/float64/09/stable~one entry": (
        "one entry off by 2.1e-6 (1e-6 relative) beside entries of ±1e8, which make f ≈ 3e8: check_gradient measures "
        "f's rounding there (η_f = 3.75e-7, six ULPs of 3e8) and its term (d) excuses 32·(eps·F + η_f)/|x_j| = 8.6e-6; "
        "the corpus' bound counts only 64u·F/|x_j| = 6.5e-7 (a sum of large terms rounds at more than one ULP), so "
        "the error is a mutant by the bound and below f's resolution by the judge's measurement"),
    "atan∘gauss/float64/08/stable~one entry": (
        "the wrong entry is at x = −2.5e-310 (a subnormal), far below the steps f can resolve: its one-sided slopes "
        "do not settle and the judge reports the entry UNVERIFIED — for the correct parent as for the mutant"),
}
