"""A statistical claim's calibrated sub-checks (:class:`verify.stats.StatResult`) as evidence and verdict: the
false-fail rate the claim may spend, a sub-check as a table row, the headline pair, and the outcome.

Nothing here knows which claim is right: it reports what the sub-checks found.
"""

from __future__ import annotations

from typing import Any

from verify.claims.registry import Context
from verify.stats import DEFAULT_ALPHA

__all__ = ["declared_alpha", "stat_row", "stat_pair", "calibrated_outcome"]


def declared_alpha(ctx: Context) -> float:
    """The false-fail rate a statistical check may spend: the one its claim declared (``ctx.alpha``, set by
    :func:`~verify.claims.registry.run_claim`), or the library's default when the check is called directly."""
    return ctx.alpha if ctx.alpha is not None else DEFAULT_ALPHA


def stat_row(result: Any, quantity: str) -> dict[str, Any]:
    """One calibrated sub-check (:class:`verify.stats.StatResult`) as a table row in words."""
    row: dict[str, Any] = {"quantity": quantity, "estimate": float(result.estimate),
                           "confidence interval": [float(result.ci[0]), float(result.ci[1])],
                           "theoretical": float(result.theoretical), "false-fail rate": float(result.alpha),
                           "samples": int(result.n), "verdict": result.verdict}
    if result.effect is not None:
        row["smallest deviation detected"] = float(result.effect)
    if result.note:
        row["note"] = result.note
    return row


def stat_pair(results: list[Any], quantities: list[str], note: str = "") -> Any:
    """The headline measured/theoretical pair of a set of sub-checks: the one farthest from its theory,
    relative to its allowed deviation (or the first refuted one)."""
    from verify.claims.registry import Pair

    def distance(r: Any) -> float:
        scale = r.effect if r.effect else (abs(r.theoretical) or 1.0)
        return abs(r.estimate - r.theoretical) / scale

    refuted = [k for k, r in enumerate(results) if r.verdict == "refuted"]
    k = max(refuted or range(len(results)), key=lambda j: distance(results[j]))
    r = results[k]
    ci = f"interval [{r.ci[0]:.4g}, {r.ci[1]:.4g}] at false-fail rate {r.alpha:.2g}"
    return Pair(quantities[k], float(r.estimate), float(r.theoretical), "≈", note=f"{ci}" + (f"; {note}" if note else ""))


def calibrated_outcome(results: list[Any], rows: list[dict[str, Any]], evidence: dict[str, Any], *, pair: Any,
                       data: Any = None, why: str = "an interval is wider than the effect it must detect, within "
                                                    "the sample cap") -> Any:
    """The outcome of a statistical claim from its calibrated sub-checks (:class:`verify.stats.StatResult`):
    refuted if one is (the row of the farthest refuted one is the counterexample), inconclusive if one is
    (with ``why``), else holds."""
    from verify.claims.registry import Outcome
    from verify.stats import combine

    refuted = [k for k, r in enumerate(results) if r.verdict == "refuted"]
    counterexample = rows[max(refuted, key=lambda k: abs(results[k].estimate - results[k].theoretical))] \
        if refuted else None
    return Outcome.from_findings(evidence, counterexample=counterexample,
                                 decided=combine([r.verdict for r in results]) != "inconclusive", why=why,
                                 pair=pair, data=data)
