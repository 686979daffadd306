"""The claim registry: claims are data, verdicts are computed.

A :class:`Claim` carries its statement (LaTeX), its source (seed file and slide title, or a paper),
its kind, a ``check`` that *computes* an :class:`Outcome` at run time, and optionally a ``figure``
that draws that outcome. :func:`run_claim` times the check and produces a :class:`ClaimRecord`,
whose :meth:`ClaimRecord.to_json` is the schema of DESIGN.md
(``{"id","statement","source","kind","verdict","evidence","seconds"}``) plus a few optional keys.
"""

from __future__ import annotations

import dataclasses
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from typing import Any, Literal

__all__ = [
    "VERDICTS",
    "KINDS",
    "Claim",
    "Context",
    "Outcome",
    "ClaimRecord",
    "register",
    "claim",
    "all_claims",
    "get_claim",
    "run_claim",
]

Verdict = Literal["holds", "refuted", "inconclusive"]
Kind = Literal["identity", "inequality", "empirical", "as-written"]
VERDICTS: tuple[str, ...] = ("holds", "refuted", "inconclusive")
KINDS: tuple[str, ...] = ("identity", "inequality", "empirical", "as-written")


@dataclasses.dataclass(frozen=True)
class Context:
    """What a check may depend on: its seed, the backend, an executor for sweeps, and the budget.

    ``quick`` asks for the smallest sample sizes that still give a calibrated verdict (tests, CI).
    """

    seed: int = 20261123
    backend: str = "parallel"
    executor: Executor | None = None
    quick: bool = False


@dataclasses.dataclass
class Outcome:
    """The computed result of one check.

    ``evidence`` must be JSON-serialisable (numbers, strings, lists, dicts). ``counterexample`` is
    required when the verdict is ``refuted``; ``why`` when it is ``inconclusive``. ``corrected`` is
    the corrected formula (LaTeX) when an as-written formula is refuted. ``data`` is anything the
    figure needs (arrays); it is not serialised.
    """

    verdict: Verdict
    evidence: dict[str, Any]
    counterexample: dict[str, Any] | None = None
    why: str | None = None
    corrected: str | None = None
    data: Any = None

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}; got {self.verdict!r}")
        if not isinstance(self.evidence, dict):
            raise TypeError(f"evidence must be a dict; got {type(self.evidence).__name__}")
        if self.verdict == "refuted" and self.counterexample is None:
            raise ValueError("a refuted verdict needs its counterexample")
        if self.verdict == "inconclusive" and not self.why:
            raise ValueError("an inconclusive verdict needs its reason (why=...)")


@dataclasses.dataclass(frozen=True)
class Claim:
    """A checkable statement of the source material.

    ``check(ctx) -> Outcome`` computes the verdict; ``figure(outcome) -> matplotlib Figure`` draws it.
    ``topic`` groups claims in reports (``"information"``, ``"step_size"``, ``"bias_variance"``…).
    """

    id: str
    statement: str
    source: str
    kind: Kind
    check: Callable[[Context], Outcome]
    figure: Callable[[Outcome], Any] | None = None
    topic: str = "general"
    title: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}; got {self.kind!r}")
        if not self.id or not self.id.replace("_", "").replace("-", "").replace(".", "").isalnum():
            raise ValueError(f"claim id must be a non-empty identifier; got {self.id!r}")


@dataclasses.dataclass
class ClaimRecord:
    """One claim's computed verdict with its evidence and run time."""

    id: str
    statement: str
    source: str
    kind: str
    verdict: str
    evidence: dict[str, Any]
    seconds: float
    title: str = ""
    topic: str = "general"
    counterexample: dict[str, Any] | None = None
    why: str | None = None
    corrected: str | None = None
    error: str | None = None
    outcome: Outcome | None = dataclasses.field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        record = {
            "id": self.id,
            "statement": self.statement,
            "source": self.source,
            "kind": self.kind,
            "verdict": self.verdict,
            "evidence": self.evidence,
            "seconds": round(self.seconds, 6),
        }
        for key in ("title", "topic", "counterexample", "why", "corrected", "error"):
            value = getattr(self, key)
            if value not in (None, ""):
                record[key] = value
        return record


_REGISTRY: dict[str, Claim] = {}


def register(c: Claim) -> Claim:
    """Add ``c`` to the registry; a second claim with the same id is an error."""
    if c.id in _REGISTRY and _REGISTRY[c.id] is not c:
        raise ValueError(f"duplicate claim id {c.id!r}")
    _REGISTRY[c.id] = c
    return c


def claim(
    *,
    id: str,
    statement: str,
    source: str,
    kind: Kind,
    topic: str = "general",
    title: str = "",
    figure: Callable[[Outcome], Any] | None = None,
) -> Callable[[Callable[[Context], Outcome]], Claim]:
    """Decorator form of :func:`register`: the decorated function is the claim's check."""

    def wrap(check: Callable[[Context], Outcome]) -> Claim:
        return register(
            Claim(id=id, statement=statement, source=source, kind=kind, check=check, figure=figure,
                  topic=topic, title=title or id)
        )

    return wrap


def _load_topics() -> None:
    from verify import claims as package

    package.load_all()


def all_claims(ids: Iterable[str] | None = None) -> list[Claim]:
    """Every registered claim (topic modules are imported first), or those named in ``ids``."""
    _load_topics()
    if ids is None:
        return list(_REGISTRY.values())
    return [get_claim(i) for i in ids]


def get_claim(claim_id: str) -> Claim:
    _load_topics()
    try:
        return _REGISTRY[claim_id]
    except KeyError:
        raise ValueError(f"unknown claim id {claim_id!r}; known: {sorted(_REGISTRY)}") from None


def run_claim(c: Claim, ctx: Context | None = None) -> ClaimRecord:
    """Run one claim's check, timing it. An exception becomes an ``inconclusive`` record with the error."""
    ctx = ctx or Context()
    start = time.perf_counter()
    try:
        outcome = c.check(ctx)
        if not isinstance(outcome, Outcome):
            raise TypeError(f"check of {c.id!r} returned {type(outcome).__name__}, not Outcome")
        error = None
    except Exception as exc:  # noqa: BLE001 - a broken check is reported, never hidden
        outcome = Outcome("inconclusive", {}, why=f"the check raised {type(exc).__name__}: {exc}")
        error = traceback.format_exc()
    seconds = time.perf_counter() - start
    return ClaimRecord(
        id=c.id, statement=c.statement, source=c.source, kind=c.kind, verdict=outcome.verdict,
        evidence=outcome.evidence, seconds=seconds, title=c.title, topic=c.topic,
        counterexample=outcome.counterexample, why=outcome.why, corrected=outcome.corrected,
        error=error, outcome=outcome,
    )
