"""The claim registry: claims are data, verdicts are computed.

A :class:`Claim` carries its statement (LaTeX), its source (the notes' title and slide, or a paper),
its kind, a ``check`` that *computes* an :class:`Outcome` at run time, and optionally a ``figure``
that draws that outcome. :func:`run_claim` times the check and produces a :class:`ClaimRecord`.

``ClaimRecord.to_json()`` is the schema of DESIGN.md,
``{"id", "statement", "source", "kind", "verdict", "evidence", "seconds"}``, plus these optional keys
(each present only when it has a value):

``title``
    the claim's name as a person writes it (the report's headings and contents).
``topic``
    the group it belongs to (``"information"``, ``"step_size"``, ``"user"``…).
``counterexample``
    a mapping (words as keys) that refutes the claim; required when the verdict is ``refuted``.
``counterexample_explained``
    one or two sentences saying what the counterexample's numbers mean.
``why``
    why the verdict is ``inconclusive``.
``corrected``
    the corrected formula (LaTeX math, no ``$``) of a refuted formula; kept for readers of the
    first schema. Prefer ``correction``.
``correction``
    ``{"formula": LaTeX math, "explanation": words (inline math between ``$``), "verified": bool,
    "checked_by": words, "evidence": mapping}``: the corrected formula, what was wrong in words, and
    whether the correction was itself checked (and held) by the same machinery. A report prints a
    correction as such only when ``verified`` is true.
``false_fail_rate``
    the declared probability that this (statistical) claim is refuted although it is true.
``seed``
    the seed of every random stream of the run.
``origin``
    where the claim was defined: a module (``verify.claims.information``), a user's claims file, or
    an entry point of an installed package.
``error``
    the traceback when the check raised (the verdict is then ``inconclusive``).

``evidence`` is a mapping whose keys are words (no code), whose strings may hold inline math between
``$`` signs, in which a list of mappings with the same keys is a table and a nested mapping a
sub-section. Every built-in claim's evidence has ``"pair"``: the measured value beside the theoretical
one (PEPit's convention), ``{"quantity": words, "measured": value, "theoretical": value,
"relation": "=", "<=", ">=", "<", ">" or "≈" (how the measured value must compare for the claim to
hold), "note": optional words}``. The full description, kept current, is ``claims_schema.md`` in the
coordination notes and the docstring of :class:`Outcome`.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import inspect
import math
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Executor
from typing import Any, Literal

__all__ = [
    "VERDICTS",
    "KINDS",
    "RELATIONS",
    "Claim",
    "Context",
    "Correction",
    "Pair",
    "Outcome",
    "ClaimRecord",
    "ClaimDefinitionError",
    "register",
    "unregister",
    "claim",
    "all_claims",
    "get_claim",
    "run_claim",
    "jsonable",
]

Verdict = Literal["holds", "refuted", "inconclusive"]
Kind = Literal["identity", "inequality", "empirical", "as-written"]
VERDICTS: tuple[str, ...] = ("holds", "refuted", "inconclusive")
KINDS: tuple[str, ...] = ("identity", "inequality", "empirical", "as-written")
#: How a claim's measured value must compare with its theoretical one for the claim to hold.
RELATIONS: tuple[str, ...] = ("=", "<=", ">=", "<", ">", "≈")


class ClaimDefinitionError(ValueError):
    """A claim that cannot be defined: bad expression, unknown domain, duplicate id… (names the claim)."""


def jsonable(x: Any) -> Any:
    """Numbers, arrays and nested containers as strict-JSON values: NumPy scalars and arrays become
    Python numbers and lists, ``-0.0`` becomes ``0.0`` (a sign no reader needs), inf/nan become the
    strings ``"inf"``, ``"-inf"``, ``"nan"``, and :class:`fractions.Fraction` its ``"p/q"`` string."""
    from fractions import Fraction

    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if hasattr(x, "tolist") and not isinstance(x, (str, bytes)):
        return jsonable(x.tolist())
    if isinstance(x, bool):
        return x
    if isinstance(x, int):
        return x
    if isinstance(x, Fraction):
        return str(x)
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x + 0.0  # -0.0 + 0.0 == 0.0
    if isinstance(x, (Pair, Correction)):
        return x.to_json()
    return x


@dataclasses.dataclass(frozen=True)
class Context:
    """What a check may depend on: its seed, the backend, an executor for sweeps, and the budget.

    ``quick`` asks for the smallest sample sizes that still give a calibrated verdict (tests, CI).
    ``alpha`` is the false-fail rate the claim declared (:attr:`Claim.false_fail_rate`); :func:`run_claim`
    sets it, so a statistical check spends exactly what its claim declares.
    """

    seed: int = 20261123
    backend: str = "parallel"
    executor: Executor | None = None
    quick: bool = False
    alpha: float | None = None


@dataclasses.dataclass(frozen=True)
class Pair:
    """The measured value beside the theoretical one (PEPit's convention), for one named quantity.

    ``relation`` says how ``measured`` must compare with ``theoretical`` for the claim to hold: ``"="``
    (equal within the stated rounding or interval), ``"<="``, ``">="``, ``"<"``, ``">"``, or ``"≈"``
    (within a calibrated interval). ``note`` may say how the measured value was obtained.
    """

    quantity: str
    measured: Any
    theoretical: Any
    relation: str = "="
    note: str = ""

    def __post_init__(self) -> None:
        if not self.quantity:
            raise ValueError("a Pair needs its quantity (words)")
        if self.relation not in RELATIONS:
            raise ValueError(f"relation must be one of {RELATIONS}; got {self.relation!r}")

    def to_json(self) -> dict[str, Any]:
        out = {"quantity": self.quantity, "measured": jsonable(self.measured),
               "theoretical": jsonable(self.theoretical), "relation": self.relation}
        if self.note:
            out["note"] = self.note
        return out


@dataclasses.dataclass(frozen=True)
class Correction:
    """The corrected form of a refuted formula, what was wrong in words, and its own check.

    ``formula`` is LaTeX math (no ``$``); ``explanation`` is one or two sentences (inline math between
    ``$``); ``check`` is the :class:`Outcome` of the corrected form run through the same check as the
    formula as written; the correction counts as verified only when that outcome ``holds``.
    """

    formula: str
    explanation: str
    check: Outcome | None = None
    checked_by: str = ""

    def __post_init__(self) -> None:
        if not self.formula or "$" in self.formula:
            raise ValueError(f"formula must be LaTeX math without '$'; got {self.formula!r}")
        if not self.explanation:
            raise ValueError("a correction needs its explanation in words")

    @property
    def verified(self) -> bool:
        return self.check is not None and self.check.verdict == "holds"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"formula": self.formula, "explanation": self.explanation, "verified": self.verified}
        if self.checked_by:
            out["checked_by"] = self.checked_by
        if self.check is not None:
            out["evidence"] = self.check.to_json()["evidence"]
        return out


@dataclasses.dataclass
class Outcome:
    """The computed result of one check.

    ``evidence`` is a mapping of JSON-friendly values (NumPy values are converted by :meth:`to_json`);
    its keys are words, its strings may hold inline math between ``$``. ``counterexample`` is required
    when the verdict is ``refuted`` (``counterexample_explained`` says in words what its numbers mean,
    where they need it); ``why`` when it is ``inconclusive``. ``pair`` is the measured value beside the
    theoretical one (:class:`Pair`). ``correction`` is the corrected form of a refuted formula
    (:class:`Correction`, itself checked); ``corrected`` (a bare LaTeX string) is the older, unchecked
    form of the same. ``data`` is anything the figure needs (arrays); it is not serialised.
    """

    verdict: Verdict
    evidence: dict[str, Any]
    counterexample: dict[str, Any] | None = None
    why: str | None = None
    corrected: str | None = None
    data: Any = None
    pair: Pair | None = None
    correction: Correction | None = None
    counterexample_explained: str | None = None

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}; got {self.verdict!r}")
        if not isinstance(self.evidence, dict):
            raise TypeError(f"evidence must be a dict; got {type(self.evidence).__name__}")
        if self.verdict == "refuted" and self.counterexample is None:
            raise ValueError("a refuted verdict needs its counterexample")
        if self.verdict == "inconclusive" and not self.why:
            raise ValueError("an inconclusive verdict needs its reason (why=...)")
        if self.pair is not None and not isinstance(self.pair, Pair):
            raise TypeError(f"pair must be a Pair; got {type(self.pair).__name__}")
        if self.correction is not None:
            if not isinstance(self.correction, Correction):
                raise TypeError(f"correction must be a Correction; got {type(self.correction).__name__}")
            if self.corrected is None:
                self.corrected = self.correction.formula
            elif self.corrected != self.correction.formula:
                raise ValueError("corrected and correction.formula differ; give one of them")

    @classmethod
    def from_findings(cls, evidence: dict[str, Any], *, counterexample: dict[str, Any] | None = None,
                      decided: bool = True, why: str | None = None, **rest: Any) -> Outcome:
        """The verdict derived from what the check found, in the order every check decides it: ``refuted`` where
        it found a ``counterexample``; else ``inconclusive`` with ``why`` where it could not decide (``decided``
        false: a search past the claim's conditions that found nothing, so it lacked power; an interval too
        wide); else ``holds``. ``rest`` (``pair``, ``data``) goes to the outcome whatever its verdict.

        >>> Outcome.from_findings({}, counterexample=None, decided=False, why="the search found nothing").verdict
        'inconclusive'
        >>> Outcome.from_findings({}, counterexample={"x": 1}, decided=False, why="unused").verdict
        'refuted'
        """
        if counterexample is not None:
            return cls("refuted", evidence, counterexample=counterexample, **rest)
        if not decided:
            return cls("inconclusive", evidence, why=why, **rest)
        return cls("holds", evidence, **rest)

    def to_json(self) -> dict[str, Any]:
        """The serialisable part: ``verdict``, ``evidence`` (with ``pair``) and the optional keys."""
        evidence = jsonable(self.evidence)
        if self.pair is not None:
            evidence["pair"] = self.pair.to_json()
        out: dict[str, Any] = {"verdict": self.verdict, "evidence": evidence}
        if self.counterexample is not None:
            out["counterexample"] = jsonable(self.counterexample)
        for key in ("counterexample_explained", "why", "corrected"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.correction is not None:
            out["correction"] = self.correction.to_json()
        elif self.corrected:
            out["correction"] = {"formula": self.corrected, "explanation": "", "verified": False}
        return out


@dataclasses.dataclass(frozen=True)
class Claim:
    """A checkable statement of the source material (or of a user's notes).

    ``check(ctx) -> Outcome`` computes the verdict; ``figure(outcome) -> matplotlib Figure`` draws it.
    ``topic`` groups claims in reports; ``title`` names the claim for a reader. A statistical claim
    declares ``false_fail_rate``: the probability that its check refutes it although it is true
    (:func:`run_claim` hands it to the check as ``ctx.alpha``). ``origin`` is where it was defined.
    """

    id: str
    statement: str
    source: str
    kind: Kind
    check: Callable[[Context], Outcome]
    figure: Callable[[Outcome], Any] | None = None
    topic: str = "general"
    title: str = ""
    false_fail_rate: float | None = None
    origin: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}; got {self.kind!r}")
        if not isinstance(self.id, str) or not self.id or \
                not self.id.replace("_", "").replace("-", "").replace(".", "").isalnum():
            raise ValueError(f"claim id must be a non-empty identifier (letters, digits, '_', '-', '.'); got {self.id!r}")
        if self.false_fail_rate is not None and not (0.0 < self.false_fail_rate < 1.0):
            raise ValueError(f"false_fail_rate must lie in (0, 1); got {self.false_fail_rate!r}")


@dataclasses.dataclass
class ClaimRecord:
    """One claim's computed verdict with its evidence and run time (see the module docstring)."""

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
    correction: dict[str, Any] | None = None
    counterexample_explained: str | None = None
    false_fail_rate: float | None = None
    seed: int | None = None
    origin: str = ""

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
        for key in ("title", "topic", "counterexample", "counterexample_explained", "why", "corrected",
                    "correction", "false_fail_rate", "seed", "origin", "error"):
            value = getattr(self, key)
            if value not in (None, ""):
                record[key] = value
        return record


_REGISTRY: dict[str, Claim] = {}


@dataclasses.dataclass
class _Loading:
    """While a user's claims file loads: where it is, and the problems found so far (nothing raised)."""

    origin: str
    failures: list[tuple[str | None, str]] = dataclasses.field(default_factory=list)
    ids: list[str] = dataclasses.field(default_factory=list)


_LOADING: contextvars.ContextVar[_Loading | None] = contextvars.ContextVar("verify_claims_loading", default=None)


@contextlib.contextmanager
def _loading(origin: str) -> Iterator[_Loading]:
    """Collect definition errors of the claims defined inside the block instead of raising them."""
    session = _Loading(origin)
    token = _LOADING.set(session)
    try:
        yield session
    finally:
        _LOADING.reset(token)


def definition_failed(claim_id: str | None, problem: str) -> None:
    """A claim could not be defined: raise :class:`ClaimDefinitionError`, or, while a claims file loads,
    record the problem (the file's other claims still load) — the loader reports it with the file."""
    session = _LOADING.get()
    if session is None:
        where = f"claim {claim_id!r}: " if claim_id else ""
        raise ClaimDefinitionError(where + problem)
    session.failures.append((claim_id, problem))


def _caller_module(depth: int) -> str:
    try:
        return str(sys._getframe(depth + 1).f_globals.get("__name__", ""))
    except ValueError:  # pragma: no cover - a shallower stack than expected
        return ""


def register(c: Claim) -> Claim | None:
    """Add ``c`` to the registry; a second claim with the same id is an error naming both origins.

    While a claims file loads (:func:`verify.claims.load_claims`) the error is recorded instead and
    ``None`` returned, so the file's other claims still load.
    """
    session = _LOADING.get()
    if session is not None and not c.origin:
        c = dataclasses.replace(c, origin=session.origin)
    previous = _REGISTRY.get(c.id)
    if previous is not None and previous is not c:
        where = f" (defined in {previous.origin})" if previous.origin else ""
        definition_failed(c.id, f"duplicate claim id: {c.id!r} is already registered{where}")
        return None
    _REGISTRY[c.id] = c
    if session is not None:
        session.ids.append(c.id)
    return c


def unregister(claim_id: str) -> None:
    """Remove a claim from the registry (tests, and a claims file loaded again); unknown ids are an error."""
    if claim_id not in _REGISTRY:
        raise ValueError(f"unknown claim id {claim_id!r}")
    del _REGISTRY[claim_id]


def claim(
    *,
    id: str,
    statement: str,
    source: str,
    kind: Kind,
    topic: str = "",
    title: str = "",
    figure: Callable[[Outcome], Any] | None = None,
    false_fail_rate: float | None = None,
    correction: Correction | Callable[[Outcome], Correction] | None = None,
    corrected: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Outcome]], Callable[..., Outcome]]:
    """Decorator on a check: registers the claim it decides and returns the check (unchanged, but for an
    ``as-written`` claim that declares its correction).

    ``topic`` defaults to the id's first part (``"sgd"`` for ``"sgd.robbins_monro"``).

    An ``as-written`` claim (a formula as the source writes it) may declare its ``correction`` (a
    :class:`Correction` without its ``check``, or a function of the refuted outcome that returns one, where
    the corrected formula depends on what failed) and ``corrected``, the keyword arguments with which its
    check tests the corrected form instead. The returned check then applies the as-written rule
    (:func:`_with_correction`): a refuted form as written carries the correction, checked by the same check
    run on the corrected form.

    The check is called as ``check(ctx)``; keyword arguments with defaults (an implementation to
    test, a formula to evaluate) stay available to tests. ``check.claim`` is the registered
    :class:`Claim`.

    >>> @claim(id="doc.one_plus_one", statement=r"$1 + 1 = 2$", source="arithmetic", kind="identity",
    ...        title="One plus one")
    ... def check_one_plus_one(ctx, *, add=lambda a, b: a + b):
    ...     value = add(1, 1)
    ...     pair = Pair("1 + 1", value, 2)
    ...     if value == 2:
    ...         return Outcome("holds", {}, pair=pair)
    ...     return Outcome("refuted", {}, counterexample={"1 + 1": value}, pair=pair)
    >>> run_claim(check_one_plus_one.claim).verdict
    'holds'
    >>> check_one_plus_one(Context(), add=lambda a, b: a - b).verdict
    'refuted'
    >>> _ = _REGISTRY.pop("doc.one_plus_one")
    """
    origin = _caller_module(1)

    def wrap(check: Callable[..., Outcome]) -> Callable[..., Outcome]:
        problem = _correction_problem(check, kind, correction, corrected)
        if problem:  # raised; or, while a claims file loads, recorded and the claim left out
            definition_failed(id, problem)
            check.claim = None  # type: ignore[attr-defined]
            return check
        if correction is not None and corrected is not None:
            check = _with_correction(check, correction, dict(corrected))
        c = Claim(id=id, statement=statement, source=source, kind=kind, check=check, figure=figure,
                  topic=topic or id.split(".")[0],
                  title=title or id, false_fail_rate=false_fail_rate,
                  origin=origin if _LOADING.get() is None else "")
        registered = register(c)
        check.claim = registered  # type: ignore[attr-defined]
        return check

    return wrap


def _correction_problem(check: Callable[..., Outcome], kind: str, correction: Any,
                        corrected: Mapping[str, Any] | None) -> str | None:
    """What is wrong with a claim's declared correction, if anything (words for :func:`definition_failed`)."""
    if correction is None and corrected is None:
        return None
    if correction is None or corrected is None or kind != "as-written":
        return ("an as-written claim declares its correction and the arguments of its corrected form together "
                "(correction=..., corrected=...); other kinds declare neither")
    unknown = sorted(set(corrected) - set(inspect.signature(check).parameters))
    if unknown:
        return f"{getattr(check, '__name__', 'the check')} has no argument {unknown[0]!r} to test its corrected form with"
    return None


def _with_correction(check: Callable[..., Outcome], correction: Correction | Callable[[Outcome], Correction],
                     corrected: dict[str, Any]) -> Callable[..., Outcome]:
    """``check`` with the as-written rule: a refuted run of the form as written gets ``correction`` with, as its
    ``check``, the outcome of the same check run with the same arguments but ``corrected`` (the corrected form),
    so the correction counts as verified only where it holds there. A refuted run of the corrected form itself
    keeps its counterexample alone: no correction, no second run, and no words (``counterexample_explained``)
    written about the form as written."""
    signature = inspect.signature(check)

    @functools.wraps(check)
    def checked(ctx: Context, **options: Any) -> Outcome:
        outcome = check(ctx, **options)
        if outcome.verdict != "refuted":
            return outcome
        bound = signature.bind(ctx, **options)
        bound.apply_defaults()
        if all(bound.arguments[name] == value for name, value in corrected.items()):
            return dataclasses.replace(outcome, counterexample_explained=None)
        fix = correction if isinstance(correction, Correction) else correction(outcome)
        return dataclasses.replace(outcome, correction=dataclasses.replace(
            fix, check=checked(ctx, **{**options, **corrected})))

    return checked


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
    """Run one claim's check, timing it. An exception becomes an ``inconclusive`` record with the error.

    The check sees ``ctx`` with ``alpha`` set to the claim's declared false-fail rate.
    """
    ctx = ctx or Context()
    ctx = dataclasses.replace(ctx, alpha=c.false_fail_rate)
    start = time.perf_counter()
    try:
        outcome = c.check(ctx)
        if not isinstance(outcome, Outcome):
            raise TypeError(f"check of {c.id!r} returned {type(outcome).__name__}, not Outcome")
        error = None
    except ClaimLoadError as exc:
        outcome = Outcome("inconclusive", {}, why=str(exc))
        error = exc.details or str(exc)
    except Exception as exc:  # noqa: BLE001 - a broken check is reported, never hidden
        outcome = Outcome("inconclusive", {}, why=f"the check raised {type(exc).__name__}: {exc}")
        error = traceback.format_exc()
    seconds = time.perf_counter() - start
    data = outcome.to_json()
    return ClaimRecord(
        id=c.id, statement=c.statement, source=c.source, kind=c.kind, verdict=outcome.verdict,
        evidence=data["evidence"], seconds=seconds, title=c.title, topic=c.topic,
        counterexample=data.get("counterexample"), why=outcome.why, corrected=outcome.corrected,
        error=error, outcome=outcome, correction=data.get("correction"),
        counterexample_explained=outcome.counterexample_explained, false_fail_rate=c.false_fail_rate,
        seed=ctx.seed, origin=c.origin,
    )


class ClaimLoadError(RuntimeError):
    """Raised by the stand-in check of a claims file (or claim) that failed to load: the run reports it
    as that claim's error, so the output and the report say which file failed and why."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details
