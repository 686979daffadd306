"""``verify bench``: every workload timed in one run against NumPy, torch and the machine's own limits.

::

    verify bench [--backend cpu,parallel] [--json] [--quick] [--only NAME ...] [--repeats N]
                 [--no-compile] [--no-peers] [--profile] [--list]

The machine limits (triad bandwidth, exp throughput) are measured first, in the same process and on
the same threads as the kernels; then each workload, with a sample of the in-place triad (both regimes,
cache-resident and main memory) after each, so that every bandwidth-bound workload is judged against the
samples taken just before and just after it (:func:`verify.bench.harness.apply_limit`), and the spread of
all samples is reported; then JIT compile and cache-load times of the selected workloads' kernels in child
processes. The report goes to stdout — rich tables on a terminal, an aligned plain table otherwise
(``--json``: one JSON document instead); progress, with an ETA on a terminal, goes to stderr. The exit
status is 0 whatever the figures: targets that fall short are reported (``SHORT``), not failed — the
benchmark is not a test.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
from typing import Any

__all__ = ["add_arguments", "run", "parse_backends", "environment", "run_bench"]

_BACKEND_CHOICES = ("numpy", "cpu", "parallel", "cuda")


def parse_backends(text: str) -> tuple[str, ...]:
    """``"cpu,parallel"`` → ``("cpu", "parallel")``; an unknown name is an ``argparse`` error."""
    names = tuple(b.strip() for b in text.split(",") if b.strip())
    unknown = [b for b in names if b not in _BACKEND_CHOICES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"backends must be among {_BACKEND_CHOICES}; got {text!r}")
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend", action="append", type=parse_backends, metavar="B[,B…]",
        help="backends of verify to time (repeatable or comma-separated; default: cpu,parallel); "
             "the numpy backend is always timed as the baseline",
    )
    parser.add_argument("--json", action="store_true", help="print one machine-readable JSON document")
    parser.add_argument("--json-file", metavar="PATH", default=None,
                        help="also write the JSON document to PATH (with the table on stdout)")
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats (tests, tox -e bench)")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only this workload (repeatable); see --list")
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    parser.add_argument("--repeats", type=int, default=None, help="timed calls per implementation (median)")
    parser.add_argument("--no-compile", action="store_true",
                        help="skip the JIT compile / cache-load measurement (child processes)")
    parser.add_argument("--no-peers", action="store_true", help="do not time torch even if installed")
    parser.add_argument("--profile", action="store_true",
                        help="also time the phases of the kernels (validation, loop, …) to show where the time goes")


def environment(command: str = "verify bench") -> dict[str, Any]:
    """Versions, threads and load: what a reader needs to judge the figures."""
    import numba
    import numpy

    env: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": command,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "numba_threads": int(numba.get_num_threads()),
        "numpy": numpy.__version__,
        "numba": numba.__version__,
    }
    try:
        env["load_average"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on this platform
        env["load_average"] = None
    try:
        import torch

        env["torch"] = torch.__version__
        env["torch_threads"] = int(torch.get_num_threads())
    except ImportError:
        env["torch"] = None
    return env


def _summary(result) -> str:
    """A few words for the progress line: the fastest of our kernels and its fraction of the limit."""
    if result.skipped is not None:
        return "skipped"
    ours = [m for m in result.measurements if m.role == "kernel" and m.timing is not None]
    if not ours:
        return "no kernel timed"
    best = max(ours, key=lambda m: m.throughput)
    text = f"{best.implementation} {best.timing.median * 1e3:.3g} ms"
    if "fraction_of_triad" in best.ratios:
        text += f", {best.ratios['fraction_of_triad']:.0%} of its limit"
    return text


def run_bench(
    *, backends: tuple[str, ...] = ("cpu", "parallel"), quick: bool = False, only: list[str] | None = None,
    repeats: int | None = None, compile_times: bool = True, peers: bool = True, progress: bool = True,
    profile: bool = False, command: str = "verify bench",
) -> dict[str, Any]:
    """Run the benchmark; returns ``{"environment", "machine", "results", "compile"}`` (objects)."""
    from verify._progress import Progress
    from verify.bench import harness, machine, workloads
    from verify.bench import profile as profiles

    names = list(workloads.WORKLOADS) if not only else list(dict.fromkeys(only))
    unknown = [n for n in names if n not in workloads.WORKLOADS]
    if unknown:
        raise ValueError(f"unknown workload(s) {unknown}; choose from {list(workloads.WORKLOADS)}")
    reps = repeats if repeats is not None else (3 if quick else 7)
    warmup = 1 if quick else 2
    steps = len(names) + 1 + (1 if compile_times else 0)
    with Progress(steps, "verify bench", enabled=progress) as bar:
        bar.start("machine limits")
        limits = machine.machine_limits(quick=quick, repeats=reps, warmup=warmup)
        bar.done("machine limits", f"in-place triad {limits['triad_inplace_gbps']:.3g} GB/s (main memory), "
                                   f"{limits['triad_inplace_cache_gbps']:.3g} GB/s (cache-resident)")
        llc = limits["last_level_cache_bytes"]
        sizes = machine.limit_sizes(llc)
        previous = {"cache": limits["triad_inplace_cache_gbps"], "memory": limits["triad_inplace_gbps"]}
        samples = [{"after": "machine limits", **previous, "detail": limits["triad_inplace_first_sample"]}]
        config = harness.BenchConfig(
            quick=quick, backends=backends, repeats=reps, warmup=warmup, peers=peers,
            triad_bytes_per_second=limits["triad_inplace_gbps"] * 1e9, exps_per_second=limits["exps_per_second"],
        )
        results = []
        for name in names:
            bar.start(name)
            result = workloads.WORKLOADS[name](config)
            sample = machine.limit_sample(sizes, call_bytes=machine.limit_call_bytes(quick))
            after = {regime: figures["best"] for regime, figures in sample.items()}
            samples.append({"after": name, **after, "detail": sample})
            harness.apply_limit(result, config, previous, after, llc)
            harness.explain_fractions(result)
            previous = after
            if profile and name in profiles.PROFILES and result.skipped is None:
                bar.note(f"verify bench: profiling the phases of {name}")
                try:
                    result.profile = profiles.PROFILES[name](config)
                except Exception as exc:  # noqa: BLE001 - a profile is diagnostic; it never stops the bench
                    result.profile = {"failed": f"{type(exc).__name__}: {exc}"}
            results.append(result)
            bar.done(name, _summary(result))
        limits["limit_samples"] = samples
        limits["limit_spread"] = {regime: harness.spread([s[regime] for s in samples]) for regime in sizes}
        compile_timings = []
        if compile_times:
            probes = ["machine.triad_parallel"] + [
                p for n in names for p in workloads.WORKLOAD_PROBES.get(n, ()) if p.rsplit(".", 1)[1] in backends
            ]
            bar.start(f"compile time of {len(probes)} probe(s)")
            compile_timings = harness.measure_compile("verify.bench.workloads", probes)
            bar.done(f"compile time of {len(probes)} probe(s)", "child processes done")
    return {"environment": environment(command), "machine": limits, "results": results, "compile": compile_timings}


def run(args: argparse.Namespace) -> int:
    from verify.bench import harness, workloads

    if args.list:
        for name, fn in workloads.WORKLOADS.items():
            print(f"{name:<28}{(fn.__doc__ or '').strip().splitlines()[0]}")
        return 0
    if args.repeats is not None and args.repeats < 1:
        print(f"verify bench: --repeats must be >= 1; got {args.repeats}", file=sys.stderr)
        return 2
    backends = tuple(dict.fromkeys(b for group in (args.backend or [("cpu", "parallel")]) for b in group))
    command = " ".join(
        ["verify bench", "--backend " + ",".join(backends)]
        + [f"--{flag.replace('_', '-')}" for flag in ("quick", "json", "no_compile", "no_peers", "profile")
           if getattr(args, flag)]
        + [f"--only {name}" for name in args.only or []]
        + ([f"--repeats {args.repeats}"] if args.repeats is not None else [])
    )
    try:
        outcome = run_bench(
            backends=backends, quick=args.quick, only=args.only, repeats=args.repeats,
            compile_times=not args.no_compile, peers=not args.no_peers, profile=args.profile,
            command=command,
        )
    except ValueError as exc:
        print(f"verify bench: {exc}", file=sys.stderr)
        return 2
    document = harness.to_json(outcome["results"], environment=outcome["environment"], machine=outcome["machine"],
                               compile_timings=outcome["compile"])
    if args.json_file:
        with open(args.json_file, "w", encoding="utf-8") as handle:
            handle.write(document + "\n")
    if args.json:
        print(document)
    else:
        env = outcome["environment"]
        print(f"verify bench  ({env['date']}; numba {env['numba']}, numpy {env['numpy']}, torch {env['torch']}; "
              f"{env['numba_threads']} threads; load average {env['load_average']})")
        print()
        if sys.stdout.isatty():
            harness.print_rich(outcome["results"], machine=outcome["machine"], compile_timings=outcome["compile"])
        else:
            print(harness.format_table(outcome["results"], machine=outcome["machine"],
                                       compile_timings=outcome["compile"]))
    return 0
