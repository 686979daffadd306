"""Loading claims from outside the package: a user's claims file or module, and installed packages.

A claims file is a Python file (or an importable module) that defines claims with the builders
(:func:`verify.claims.identity`, :func:`~verify.claims.inequality`, :func:`~verify.claims.derivative`) or
the :func:`~verify.claims.claim` decorator; importing it registers them. An installed package exposes
its claims through the ``verify.claims`` entry-point group (the entry point names a module, or a
callable that defines claims when called)::

    [project.entry-points."verify.claims"]
    my_course = "my_course.claims"

Nothing a claims file does wrong stops the others: an expression that does not parse, a symbol without
a domain, an unknown domain word, two claims with one id, a file that raises on import or does not
exist — each becomes a :class:`LoadFailure` naming the file, the claim id (where there is one) and the
problem, and the claims that could be defined still run. :meth:`LoadFailure.as_claim` is a stand-in
claim whose check reports the failure, so ``verify claims`` and ``verify report`` show which file
failed, with the exit status of a check that raised.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import os
import re
import sys
import traceback
import zlib
from collections.abc import Iterable
from typing import Any

from verify.claims import registry
from verify.claims.registry import Claim, ClaimLoadError, Context, Outcome

__all__ = ["ENTRY_POINT_GROUP", "LoadFailure", "load_claims", "entry_point_claims"]

#: The entry-point group through which installed packages expose claims.
ENTRY_POINT_GROUP = "verify.claims"

_LOADED_FILES: dict[str, tuple[str, list[str], list[LoadFailure]]] = {}


@dataclasses.dataclass(frozen=True)
class LoadFailure:
    """A claims file (or one claim in it) that could not be loaded: where, which claim, what is wrong."""

    source: str
    claim_id: str | None
    problem: str
    details: str = ""

    def __str__(self) -> str:
        claim = f"claim {self.claim_id!r}: " if self.claim_id else ""
        return f"{self.source}: {claim}{self.problem}"

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "claim": self.claim_id, "problem": self.problem}

    def as_claim(self) -> Claim:
        """A stand-in claim whose check raises :class:`ClaimLoadError` with this failure (never registered)."""
        slug = re.sub(r"[^A-Za-z0-9_]+", "_", os.path.basename(self.source)).strip("_") or "source"
        cid = f"load_error.{slug}" + (f".{re.sub(r'[^A-Za-z0-9_.-]+', '_', self.claim_id)}" if self.claim_id else "")
        message = str(self)

        def check(ctx: Context) -> Outcome:
            raise ClaimLoadError(message, self.details or message)

        what = f"claim {self.claim_id} of {self.source}" if self.claim_id else self.source
        return Claim(id=cid, statement=f"({what} could not be loaded)", source=self.source, kind="identity",
                     check=check, topic="load errors", title=f"Could not load {what}", origin=self.source)


def _line_in(path: str, exc: BaseException) -> str:
    if isinstance(exc, SyntaxError) and exc.lineno:
        return f" at line {exc.lineno}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if os.path.abspath(f.filename) == path]
    return f" at line {frames[-1].lineno}" if frames else ""


def _session_result(session: registry._Loading) -> tuple[list[Claim], list[LoadFailure]]:
    claims = [registry._REGISTRY[i] for i in session.ids if i in registry._REGISTRY]
    failures = [LoadFailure(session.origin, cid, problem) for cid, problem in session.failures]
    return claims, failures


def _load_file(source: str) -> tuple[list[Claim], list[LoadFailure]]:
    path = os.path.abspath(source)
    if path in _LOADED_FILES:  # executing a file twice would define each of its claims twice
        origin, ids, failures = _LOADED_FILES[path]
        return [registry._REGISTRY[i] for i in ids if i in registry._REGISTRY], list(failures)
    if not os.path.isfile(path):
        return [], [LoadFailure(source, None, "no such claims file")]
    name = f"verify_user_claims.{re.sub(r'[^A-Za-z0-9_]', '_', os.path.splitext(os.path.basename(path))[0])}" \
           f"_{zlib.crc32(path.encode()):08x}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        return [], [LoadFailure(source, None, "not a Python file")]
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    with registry._loading(source) as session:
        try:
            spec.loader.exec_module(module)
            raised = None
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a user's file that raises is reported, never fatal
            raised = LoadFailure(source, None, f"raised {type(exc).__name__}{_line_in(path, exc)} on import: {exc}",
                                 traceback.format_exc())
    claims, failures = _session_result(session)
    if raised is not None:
        failures.append(raised)
    _LOADED_FILES[path] = (source, [c.id for c in claims], failures)
    return claims, failures


def _load_module(source: str) -> tuple[list[Claim], list[LoadFailure]]:
    if source in sys.modules:  # imported before: its claims are registered with it as their origin
        return [c for c in registry._REGISTRY.values() if c.origin == source], []
    with registry._loading(source) as session:
        try:
            importlib.import_module(source)
            raised = None
        except ModuleNotFoundError as exc:
            if exc.name and source.startswith(exc.name):
                return [], [LoadFailure(source, None, "no such claims file or module")]
            raised = LoadFailure(source, None, f"raised {type(exc).__name__} on import: {exc}", traceback.format_exc())
        except Exception as exc:  # noqa: BLE001 - reported, never fatal
            raised = LoadFailure(source, None, f"raised {type(exc).__name__} on import: {exc}", traceback.format_exc())
    claims, failures = _session_result(session)
    return claims, failures + ([raised] if raised else [])


def load_claims(sources: Iterable[str]) -> tuple[list[Claim], list[LoadFailure]]:
    """Load each claims file (a path, ``.py``) or module (a dotted name) in ``sources``; return the claims
    they define and the failures, in order. Loading a source again returns the same claims.

    >>> claims, failures = load_claims(["verify.claims.template"])
    >>> [c.id for c in claims][:1], failures
    (['template.tanh_through_sigmoid'], [])
    """
    if isinstance(sources, str):
        raise TypeError(f"sources must be a list of files or modules; got the string {sources!r}")
    claims: list[Claim] = []
    failures: list[LoadFailure] = []
    for source in sources:
        if not isinstance(source, str) or not source.strip():
            raise TypeError(f"a claims source is a file path or a module name; got {source!r}")
        is_file = source.endswith(".py") or os.sep in source or os.path.exists(source)
        got, bad = (_load_file if is_file else _load_module)(source)
        claims.extend(c for c in got if c not in claims)
        failures.extend(bad)
    return claims, failures


def entry_point_claims() -> tuple[list[Claim], list[LoadFailure]]:
    """The claims of installed packages (entry-point group ``verify.claims``) and their load failures."""
    from importlib.metadata import entry_points

    claims: list[Claim] = []
    failures: list[LoadFailure] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        origin = f"entry point {ep.name} ({ep.value})"
        already = [c for c in registry._REGISTRY.values() if c.origin == origin]
        if already:
            claims.extend(already)
            continue
        with registry._loading(origin) as session:
            try:
                target = ep.load()
                if callable(target):
                    target()
                raised = None
            except Exception as exc:  # noqa: BLE001 - reported, never fatal
                raised = LoadFailure(origin, None, f"raised {type(exc).__name__} on load: {exc}", traceback.format_exc())
        got, bad = _session_result(session)
        claims.extend(got)
        failures.extend(bad + ([raised] if raised else []))
    return claims, failures
