"""``verify claims``: list and run the claim catalogue.

``verify claims`` runs every claim and prints a verdict table; ``--only ID`` (repeatable) picks claims;
``--list`` lists them without running; ``--json`` prints one JSON record per claim and line (the schema of
DESIGN.md: ``{"id","statement","source","kind","verdict","evidence","seconds"}`` plus ``title``, ``topic``,
``counterexample``, ``why``, ``corrected`` where present); ``--seed N`` fixes every random stream;
``--quick`` uses the smallest calibrated samples; ``--backend`` chooses the kernels' backend;
``--processes`` runs the Monte-Carlo sweeps on local processes. Progress goes to stderr.

Exit status: 0 when every claim is ``holds`` or an ``as-written`` formula is ``refuted`` (the source is
wrong, the library says so); 1 when any other claim is refuted or a check raised; 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import Executor
from typing import Any

__all__ = ["add_arguments", "run", "run_catalogue", "exit_status"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--only", action="append", metavar="ID", default=None,
                        help="run only this claim (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the claims without running them")
    parser.add_argument("--json", action="store_true", help="print one JSON record per claim and line")
    parser.add_argument("--seed", type=int, default=None, help="seed of every random stream (default: fixed)")
    parser.add_argument("--quick", action="store_true", help="smallest calibrated samples (tests, CI)")
    parser.add_argument("--backend", default="parallel", choices=("numpy", "cpu", "parallel", "cuda"),
                        help="backend of the library's kernels (default: parallel)")
    parser.add_argument("--processes", action="store_true", help="run Monte-Carlo sweeps on local processes")


def run_catalogue(ids: list[str] | None = None, *, seed: int | None = None, quick: bool = False,
                  backend: str = "parallel", executor: Executor | None = None, progress: Any = None) -> list:
    """Run the claims (all, or ``ids``) and return their :class:`~verify.claims.registry.ClaimRecord` s."""
    from verify.claims.registry import Context, all_claims, run_claim

    ctx = Context(**({"seed": seed} if seed is not None else {}), backend=backend, executor=executor, quick=quick)
    claims = all_claims(ids)
    records = []
    for k, c in enumerate(claims, 1):
        if progress:
            progress(f"[{k}/{len(claims)}] {c.id} ...")
        rec = run_claim(c, ctx)
        if progress:
            progress(f"[{k}/{len(claims)}] {c.id}: {rec.verdict} ({rec.seconds:.2f} s)\n")
        records.append(rec)
    return records


def exit_status(records: list) -> int:
    bad = [r for r in records if r.error or (r.verdict == "refuted" and r.kind != "as-written")]
    return 1 if bad else 0


def run(args: argparse.Namespace) -> int:
    from verify.claims.registry import all_claims

    try:
        claims = all_claims(args.only)
    except ValueError as exc:
        print(f"verify claims: {exc}", file=sys.stderr)
        return 2
    if args.list:
        for c in claims:
            print(f"{c.id:45s} {c.kind:12s} {c.source}")
        return 0
    tty = sys.stderr.isatty()

    def progress(msg: str) -> None:
        if msg.endswith("\n"):
            sys.stderr.write(("\r\033[K" if tty else "") + msg)
        elif tty:
            sys.stderr.write("\r\033[K" + msg)
        sys.stderr.flush()

    executor = None
    if args.processes:
        from concurrent.futures import ProcessPoolExecutor

        executor = ProcessPoolExecutor()
    start = time.perf_counter()
    try:
        records = run_catalogue([c.id for c in claims], seed=args.seed, quick=args.quick, backend=args.backend,
                                executor=executor, progress=progress)
    finally:
        if executor is not None:
            executor.shutdown()
    total = time.perf_counter() - start
    if args.json:
        for r in records:
            print(json.dumps(r.to_json(), sort_keys=False))
    else:
        width = max(len(r.id) for r in records)
        print(f"{'claim':{width}s}  {'kind':11s}  {'verdict':12s}  seconds")
        for r in records:
            print(f"{r.id:{width}s}  {r.kind:11s}  {r.verdict:12s}  {r.seconds:7.2f}")
        counts = {v: sum(r.verdict == v for r in records) for v in ("holds", "refuted", "inconclusive")}
        print(f"{len(records)} claims in {total:.1f} s: " + ", ".join(f"{n} {v}" for v, n in counts.items()))
    sys.stderr.write(f"verify claims: {len(records)} claims in {total:.1f} s\n")
    return exit_status(records)
