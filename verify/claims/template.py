r"""A template for adding a claim: copy this module, rename it, and replace the two examples.

It is not part of the catalogue (``TOPIC_MODULES`` does not list it); ``verify claims --claims
verify.claims.template`` runs it, and so does a test. A topic module of the catalogue is written the same
way and added to ``TOPIC_MODULES``; a course's own claims file is written the same way and run with
``verify claims --claims my_notes.py``.

**A formula** is a builder call — no check to write. SymPy tries to prove it, Hypothesis searches the
domains for a counterexample (evaluated at 50 and 100 digits), and the verdict says which decided:

* :func:`verify.claims.identity` — ``lhs = rhs``;
* :func:`verify.claims.inequality` — ``lhs <= rhs`` (or ``<``, ``>=``, ``>``);
* :func:`verify.claims.derivative` — a derivative as written against ``sympy.diff``.

Each symbol gets a domain in ``where=`` (``"real"``, ``"positive"``, ``"(0, 1)"``, ``"integer >= 1"``,
``"simplex(3)"``, ``"ball(3, 1)"``: :mod:`verify.claims.domains`). A formula quoted from notes is
``kind="as-written"``; give its correction with ``corrected=`` and say what was wrong with
``explanation=`` — the correction is checked too, and shown only if it holds.

**Anything else** (a Monte-Carlo experiment, a kernel, a convergence run) is a check function with
:func:`verify.claims.claim` on it. The function takes the run's :class:`~verify.claims.Context` (seed,
backend, ``quick``) and returns an :class:`~verify.claims.Outcome` whose verdict it *computes*:

* ``evidence``: a mapping with words as keys (inline math between ``$``), tables as lists of mappings;
* ``pair``: the measured value beside the theoretical one (:class:`~verify.claims.Pair`);
* ``counterexample`` when refuted (with ``counterexample_explained`` when its numbers need words),
  ``why`` when inconclusive. :meth:`Outcome.from_findings <verify.claims.Outcome.from_findings>` derives the
  verdict from what the check found: refuted with the counterexample, else inconclusive with ``why`` where it
  could not decide (``decided=False``), else holds.

A check of a formula as the notes write it (``kind="as-written"``) declares its correction on the decorator:
``correction=Correction(formula, explanation, checked_by=...)`` and ``corrected={argument: value}``, the
arguments with which the same check tests the corrected form. A refuted run of the form as written then
carries the correction, checked by that run of the corrected form (shown as verified only if it holds).

Keep the implementation under test injectable (a keyword argument with the library's default), so a test
can hand the check a wrong implementation and see the verdict change. A statistical check declares its
false-fail rate on the decorator (``false_fail_rate=1e-6``) and spends exactly ``ctx.alpha``; the
calibration test then runs it over 200 seeds by itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from verify.claims._common import SEED_002, cite, rng_for
from verify.claims.builders import identity
from verify.claims.registry import Context, Outcome, Pair, claim

__all__ = ["check_softmax_of_two_is_sigmoid"]

# --- 1. a formula: one builder call ------------------------------------------------------------------

identity(
    "template.tanh_through_sigmoid",
    "tanh(x)",
    "2/(1 + exp(-2*x)) - 1",
    where={"x": "real"},
    source=cite(SEED_002, "A Biological Perspective on Layers"),
    title="tanh is a shifted, scaled logistic function",
)


# --- 2. anything else: the decorator on the check ----------------------------------------------------


def _softmax2(z1: float, z2: float) -> float:
    m = max(z1, z2)
    return math.exp(z1 - m) / (math.exp(z1 - m) + math.exp(z2 - m))


@claim(id="template.softmax_of_two_is_sigmoid", kind="identity",
       title="The softmax of two logits is the sigmoid of their difference",
       statement=r"$\mathrm{softmax}(z_1, z_2)_1 = \sigma(z_1 - z_2)$",
       source=cite(SEED_002, "Loss Functions"))
def check_softmax_of_two_is_sigmoid(ctx: Context, *,
                                    softmax2: Callable[[float, float], float] = _softmax2) -> Outcome:
    """Compare ``softmax2`` with $\\sigma(z_1 - z_2)$ on seeded draws; both are correctly rounded to a few
    ULPs, so 8 machine epsilons of the result bound their difference."""
    rng = rng_for(ctx, "template.softmax_of_two")
    draws = 50 if ctx.quick else 500
    worst, counterexample = 0.0, None
    for z1, z2 in rng.normal(scale=5.0, size=(draws, 2)):
        d = z1 - z2
        sigmoid = 1 / (1 + math.exp(-d)) if d >= 0 else math.exp(d) / (1 + math.exp(d))
        error = abs(softmax2(z1, z2) - sigmoid)
        worst = max(worst, error)
        if error > 8 * np.finfo(float).eps and counterexample is None:
            counterexample = {"z1": z1, "z2": z2, "softmax": softmax2(z1, z2), "sigmoid of the difference": sigmoid}
    evidence = {"draws": draws, "tolerance": "8 machine epsilons"}
    pair = Pair("largest |softmax − sigmoid| over the draws", worst, 0.0, "=", note="0 up to 8 machine epsilons")
    if counterexample is not None:
        return Outcome("refuted", evidence, counterexample=counterexample, pair=pair)
    return Outcome("holds", evidence, pair=pair)
