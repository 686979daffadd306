"""``verify claims``: list and run the claim catalogue, or the claims of your own notes.

``verify claims`` runs the built-in catalogue (and the claims of installed packages, entry-point group
``verify.claims``) and prints a verdict table. ``--claims FILE_OR_MODULE`` (repeatable) runs the claims
that file or module defines instead (``--builtin`` adds the catalogue); a file, or a claim in it, that
cannot be loaded is reported with the file, the claim id and the problem, and the other claims still run.
``--only ID`` (repeatable) picks claims; ``--list`` lists them without running; ``--json`` prints one JSON
record per claim and line (the schema of DESIGN.md, ``{"id","statement","source","kind","verdict",
"evidence","seconds"}``, plus the optional keys of :mod:`verify.claims.registry`); ``--seed N`` fixes every
random stream; ``--quick`` uses the smallest calibrated samples; ``--backend`` chooses the kernels'
backend; ``--processes`` runs the Monte-Carlo sweeps on local processes. Progress goes to stderr.

Exit status: 0 when every claim holds (or is inconclusive), an ``as-written`` formula being refuted
included (the source is wrong, and the output says so); 1 when any other claim is refuted, a check raised,
or a claims file failed to load; 2 on usage errors (an unknown claim id).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any

__all__ = ["add_arguments", "run", "run_catalogue", "exit_status", "select_claims"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_claims_argument(parser)
    parser.add_argument("--only", action="append", metavar="ID", default=None,
                        help="run only this claim (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the claims without running them")
    parser.add_argument("--json", action="store_true", help="print one JSON record per claim and line")
    parser.add_argument("--seed", type=int, default=None, help="seed of every random stream (default: fixed)")
    parser.add_argument("--quick", action="store_true", help="smallest calibrated samples (tests, CI)")
    parser.add_argument("--backend", default="parallel", choices=("numpy", "cpu", "parallel", "cuda"),
                        help="backend of the library's kernels (default: parallel)")
    parser.add_argument("--processes", action="store_true", help="run Monte-Carlo sweeps on local processes")


def add_claims_argument(parser: argparse.ArgumentParser) -> None:
    """``--claims FILE_OR_MODULE`` (repeatable) and ``--builtin``: shared by ``verify claims`` and ``verify report``."""
    parser.add_argument("--claims", action="append", metavar="FILE_OR_MODULE", default=None,
                        help="run the claims this Python file or module defines (repeatable) instead of the "
                             "built-in catalogue")
    parser.add_argument("--builtin", action="store_true",
                        help="with --claims: run the built-in catalogue too")


def select_claims(only: Sequence[str] | None = None, sources: Sequence[str] | None = None,
                  builtin: bool = False) -> list:
    """The claims a command runs: those of ``sources`` (files or modules; with ``builtin`` the catalogue
    too), else the catalogue and the installed packages' claims; ``only`` picks ids among them.

    A source (or a claim in it) that fails to load becomes a stand-in claim reporting the failure
    (:meth:`verify.claims.loading.LoadFailure.as_claim`). Raises ``ValueError`` for an id in ``only`` that
    none of them has.
    """
    from verify.claims.loading import entry_point_claims, load_claims
    from verify.claims.registry import all_claims

    chosen: list = []
    failures: list = []
    if sources:
        got, failures = load_claims(list(sources))
        chosen.extend(got)
    if builtin or not sources:
        builtins = all_claims()
        installed, bad = entry_point_claims()
        failures.extend(bad)
        chosen = builtins + [c for c in installed if c not in builtins] + [c for c in chosen if c not in builtins]
    stand_ins = [f.as_claim() for f in failures]
    pool = chosen + stand_ins
    if not only:
        return pool
    by_id = {c.id: c for c in pool}
    unknown = [i for i in only if i not in by_id]
    if unknown:
        raise ValueError(f"unknown claim id {unknown[0]!r}; known: {sorted(by_id)}")
    return [by_id[i] for i in only]


def run_catalogue(ids: list[str] | None = None, *, seed: int | None = None, quick: bool = False,
                  backend: str = "parallel", executor: Executor | None = None, progress: Any = None,
                  claims: list | None = None) -> list:
    """Run ``claims`` (default: the catalogue, or the ``ids`` among it) and return their
    :class:`~verify.claims.registry.ClaimRecord` s. ``progress`` is a :class:`verify._progress.Progress`."""
    from verify.claims.registry import Context, all_claims, run_claim

    ctx = Context(**({"seed": seed} if seed is not None else {}), backend=backend, executor=executor, quick=quick)
    claims = claims if claims is not None else all_claims(ids)
    records = []
    for c in claims:
        if progress is not None:
            progress.start(c.id)
        rec = run_claim(c, ctx)
        if progress is not None:
            progress.done(c.id, rec.verdict + (" (check raised)" if rec.error else ""))
        records.append(rec)
    return records


def exit_status(records: list) -> int:
    bad = [r for r in records if r.error or (r.verdict == "refuted" and r.kind != "as-written")]
    return 1 if bad else 0


def _table(records: list) -> str:
    width = max([len("claim")] + [len(r.id) for r in records])
    lines = [f"{'claim':{width}s}  {'kind':11s}  {'verdict':12s}  seconds"]
    lines += [f"{r.id:{width}s}  {r.kind:11s}  {r.verdict:12s}  {r.seconds:7.2f}" for r in records]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from verify._progress import Progress

    try:
        claims = select_claims(args.only, args.claims, args.builtin)
    except ValueError as exc:
        print(f"verify claims: {exc}", file=sys.stderr)
        return 2
    if args.list:
        for c in claims:
            print(f"{c.id:45s} {c.kind:12s} {c.source}")
        return 0
    executor = None
    if args.processes:
        from concurrent.futures import ProcessPoolExecutor

        executor = ProcessPoolExecutor()
    start = time.perf_counter()
    try:
        with Progress(len(claims), "verify claims") as progress:
            records = run_catalogue(seed=args.seed, quick=args.quick, backend=args.backend, executor=executor,
                                    progress=progress, claims=claims)
    finally:
        if executor is not None:
            executor.shutdown()
    total = time.perf_counter() - start
    if args.json:
        for r in records:
            print(json.dumps(r.to_json(), sort_keys=False, ensure_ascii=False))
    else:
        print(_table(records))
        counts = {v: sum(r.verdict == v for r in records) for v in ("holds", "refuted", "inconclusive")}
        print(f"{len(records)} claims in {total:.1f} s: " + ", ".join(f"{n} {v}" for v, n in counts.items()))
        for r in records:
            if r.verdict == "refuted":
                fix = r.correction or {}
                print(f"\n{r.id} is refuted ({r.title or r.kind}).")
                if r.counterexample_explained:
                    print(f"  {r.counterexample_explained}")
                print("  counterexample: " + json.dumps(r.counterexample, ensure_ascii=False))
                if fix.get("verified"):
                    print(f"  corrected (checked: holds): {fix['formula']}")
                    print(f"  {fix['explanation']}")
            elif r.verdict == "inconclusive" and r.why and r.topic != "load errors":
                print(f"\n{r.id} is inconclusive ({r.title or r.kind}): {r.why}")
    for r in records:
        if r.error and r.topic == "load errors":
            print(f"verify claims: could not load {r.why}", file=sys.stderr)
    sys.stderr.write(f"verify claims: {len(records)} claims in {total:.1f} s\n")
    return exit_status(records)
