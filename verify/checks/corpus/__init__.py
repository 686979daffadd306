"""A corpus of right and wrong gradients that proves (or disproves) a gradient checker.

Generated, deterministic for a seed (:data:`SEED`), with no stored verdict:

* **Correct pairs** ``(f, grad)``: compositions of elementary functions and layers (dense, residual,
  conv1d, layer norm, softmax, log-softmax, logsumexp, cross-entropy, BCE with logits, hinge,
  multiclass hinge, ReLU / leaky ReLU / abs / hardtanh / max / max pooling with kinks), in float32 and
  float64, at points with zeros, ties, saturation (±20 … ±400), huge (1e8, 1e150) and tiny (1e-300,
  subnormal) magnitudes, masked −∞ logits, at kinks and next to them. Each gradient is written as a
  careful library author would (``stable``), and where frameworks use a formula whose terms cancel,
  that one too (``textbook``); some float32 cases compute ``f`` in float32 (``float32 f``).
  PyTorch's and JAX's autograd of their built-ins join them (:func:`framework_cases`).
* **Mutants**: wrong gradients made from the careful ones (:data:`MUTATIONS`), each kept only where it
  differs from the truth by more than 3 × the rounding bound.
* **Left out**: an implementation other than the careful one (a textbook formula, a framework's backward)
  that misses the rounding bound at a point is neither correct nor a mutant there: the bound's one rule
  for every implementation (:mod:`.truth`) excuses the digits a cancelling formula loses only where they
  are below ``f``'s resolution, and where ``f`` is small they are not (``1 − tanh²`` at saturation in
  ``Σ v tanh(x)`` whose terms nearly cancel). Such cases are listed by :func:`excluded` with the reason,
  not relabelled as mutants: at the default seed, 0 generated and 1 framework cases.

The truth is SymPy's derivative of the same function at 40 digits (:mod:`.truth`, where "rounding
level" is defined); ``tests/checks/test_corpus.py`` proves every correct case and every mutant
against it.

>>> from verify.checks.corpus import cases
>>> corpus = cases()
>>> sum(c.kind == "correct" for c in corpus) >= 1000 and sum(c.kind == "mutant" for c in corpus) >= 1000
True
"""

from __future__ import annotations

import functools

from verify.checks.corpus.build import SEED, build, build_with_exclusions, families
from verify.checks.corpus.model import MUTATIONS, CorpusCase, Family, LeftOut, Point

__all__ = ["SEED", "MUTATIONS", "CorpusCase", "Family", "Point", "cases", "families", "framework_cases",
           "all_cases", "excluded", "LeftOut"]


def cases(seed: int = SEED) -> tuple[CorpusCase, ...]:
    """The generated corpus (correct cases and mutants), without the framework cases."""
    return build(seed)


def framework_cases(seed: int = SEED, frameworks: tuple[str, ...] = ("torch", "jax")):
    """PyTorch's and JAX's autograd of their built-ins, as correct cases: ``(cases, skipped)`` where
    ``skipped`` maps a framework that is not installed to the reason."""
    extra, skipped, _ = _frameworks(seed, tuple(frameworks))
    return extra, skipped


@functools.cache
def _frameworks(seed: int, frameworks: tuple[str, ...]):
    from verify.checks.corpus.frameworks import build_framework_cases

    cases_, skipped, left_out = build_framework_cases(seed, frameworks)
    return tuple(cases_), dict(skipped), tuple(left_out)


def excluded(seed: int = SEED, frameworks: tuple[str, ...] = ("torch", "jax")) -> tuple[LeftOut, ...]:
    """The cases left out of the corpus at their point (neither correct nor a mutant there), generated and of
    every installed framework, each with its ``reason``."""
    return build_with_exclusions(seed)[1] + _frameworks(seed, tuple(frameworks))[2]


def all_cases(seed: int = SEED) -> tuple[CorpusCase, ...]:
    """The generated corpus plus the framework cases of every installed framework."""
    extra, _ = framework_cases(seed)
    return cases(seed) + tuple(extra)
