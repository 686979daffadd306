"""Timing, ratios and output of ``verify bench``.

How a figure is obtained (the method is the same for every workload and implementation):

- **Warm-up, then the median of repeats.** Each implementation is called ``warmup`` times untimed
  (JIT compilation, cache loading, first-touch page faults and thread-pool start-up happen there),
  then ``repeats`` times, each call timed alone with :func:`time.perf_counter`; the garbage collector
  is paused during a timed call, as :mod:`timeit` does. The median is the figure; the minimum and the
  spread are kept in the JSON record so that a noisy run shows.
- **Ratios in one run.** Every ratio compares implementations measured in the same process, one
  after another, on the same data: a speed-up is ``throughput(kernel) / throughput(reference)``
  with ``throughput = items per call / median seconds`` (items = 1 unless a workload says otherwise,
  e.g. examples verified per call).
- **Against the machine.** A bandwidth-bound workload declares the bytes one call must move; its
  achieved GB/s is divided by the triad's GB/s measured in the same run (see :mod:`verify.bench.machine`).
  A workload bound by ``exp`` declares its exps per call; its lower bound in time is
  ``exps / (exps per second)``.
- **Compile and cache-load time** are measured in child processes (:func:`measure_compile`): once with
  an empty ``VERIFY_CACHE_DIR`` (the first call compiles) and once more with that now-warm directory
  (the first call loads machine code from the cache). ``first call − second call`` is the figure.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "Timing",
    "Measurement",
    "Target",
    "WorkloadResult",
    "BenchConfig",
    "measure",
    "time_implementation",
    "skipped",
    "compute_ratios",
    "measure_compile",
    "CompileTiming",
    "format_table",
    "to_json",
]


@dataclasses.dataclass(frozen=True)
class Timing:
    """Seconds of each timed call (after warm-up); the median is the reported figure."""

    seconds: tuple[float, ...]
    warmup: int

    def __post_init__(self) -> None:
        if not self.seconds:
            raise ValueError("a Timing needs at least one timed call; got seconds=()")

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def worst(self) -> float:
        return max(self.seconds)

    def to_json(self) -> dict[str, Any]:
        return {
            "median_ms": self.median * 1e3,
            "min_ms": self.best * 1e3,
            "max_ms": self.worst * 1e3,
            "repeats": len(self.seconds),
            "warmup": self.warmup,
        }


def measure(
    call: Callable[[], object],
    *,
    repeats: int = 5,
    warmup: int = 1,
    setup: Callable[[], object] | None = None,
) -> Timing:
    """Time ``call()``: ``warmup`` untimed calls, then ``repeats`` timed ones; ``setup()`` runs untimed
    before every call (e.g. to clear torch's ``.grad``)."""
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be an integer >= 1; got {repeats!r}")
    if not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be an integer >= 0; got {warmup!r}")
    for _ in range(warmup):
        if setup is not None:
            setup()
        call()
    seconds = []
    gc_was_enabled = gc.isenabled()
    try:
        for _ in range(repeats):
            if setup is not None:
                setup()
            gc.disable()
            start = time.perf_counter()
            call()
            seconds.append(time.perf_counter() - start)
            if gc_was_enabled:
                gc.enable()
    finally:
        if gc_was_enabled:
            gc.enable()
    return Timing(tuple(seconds), warmup)


@dataclasses.dataclass
class Measurement:
    """One implementation of one workload: its timing, or why it was skipped.

    ``role`` is ``"kernel"`` (ours: a backend of ``verify``), ``"baseline"`` (NumPy) or ``"peer"``
    (torch, …). ``items`` is the work per call (e.g. examples verified), so throughputs compare fairly
    when two implementations do a different amount of work per call.
    """

    implementation: str
    role: str
    timing: Timing | None = None
    skipped: str | None = None
    items: float = 1.0
    ratios: dict[str, float] = dataclasses.field(default_factory=dict)
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def throughput(self) -> float | None:
        """Items per second (median), or ``None`` when skipped."""
        return None if self.timing is None else self.items / self.timing.median

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {"implementation": self.implementation, "role": self.role}
        if self.timing is not None:
            record.update(self.timing.to_json())
            record["items_per_call"] = self.items
            record["items_per_second"] = self.throughput
        if self.skipped is not None:
            record["skipped"] = self.skipped
        record.update(self.ratios)
        record.update(self.extra)
        return record


@dataclasses.dataclass(frozen=True)
class Target:
    """An acceptance figure of issue 9: ``ratio`` of ``implementation`` must be at least ``at_least``."""

    ratio: str
    implementation: str
    at_least: float

    def describe(self) -> str:
        return f"{self.implementation} {self.ratio} >= {self.at_least:g}"


@dataclasses.dataclass
class WorkloadResult:
    """Every implementation of one workload, measured in one run, with the ratios between them.

    ``bytes_per_call``: the bytes a call must move to and from memory (each array read or written
    once), for the fraction of triad bandwidth. ``exps_per_call``: the ``exp`` evaluations a call
    needs at least, for the exp-throughput bound.
    """

    name: str
    title: str
    size: str
    measurements: list[Measurement] = dataclasses.field(default_factory=list)
    bytes_per_call: float | None = None
    exps_per_call: float | None = None
    targets: tuple[Target, ...] = ()
    notes: list[str] = dataclasses.field(default_factory=list)
    skipped: str | None = None
    item_name: str = "call"
    profile: dict[str, Any] | None = None

    def get(self, implementation: str) -> Measurement | None:
        return next((m for m in self.measurements if m.implementation == implementation), None)

    def target_verdicts(self) -> list[dict[str, Any]]:
        """Each target with the measured ratio and ``met`` (``None`` when it could not be measured)."""
        out = []
        for t in self.targets:
            m = self.get(t.implementation)
            value = None if m is None else m.ratios.get(t.ratio)
            out.append({"target": t.describe(), "value": value, "met": None if value is None else value >= t.at_least})
        return out

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {"workload": self.name, "title": self.title, "size": self.size}
        if self.skipped is not None:
            record["skipped"] = self.skipped
        if self.bytes_per_call is not None:
            record["bytes_per_call"] = self.bytes_per_call
        if self.exps_per_call is not None:
            record["exps_per_call"] = self.exps_per_call
        record["item"] = self.item_name
        record["measurements"] = [m.to_json() for m in self.measurements]
        record["targets"] = self.target_verdicts()
        record["notes"] = list(self.notes)
        if self.profile is not None:
            record["profile"] = self.profile
        return record


@dataclasses.dataclass(frozen=True)
class BenchConfig:
    """What a workload function needs to know: sizes (``quick``), backends, repeats, machine limits."""

    quick: bool = False
    backends: tuple[str, ...] = ("cpu", "parallel")
    repeats: int = 7
    warmup: int = 2
    peers: bool = True
    triad_bytes_per_second: float | None = None
    exps_per_second: float | None = None
    seed: int = 20261123

    def __post_init__(self) -> None:
        if self.repeats < 1:
            raise ValueError(f"repeats must be >= 1; got {self.repeats!r}")
        if self.warmup < 0:
            raise ValueError(f"warmup must be >= 0; got {self.warmup!r}")


def skipped(implementation: str, role: str, why: str) -> Measurement:
    """A measurement that could not be taken, with the reason shown instead of a figure."""
    return Measurement(implementation, role, skipped=why)


def time_implementation(
    implementation: str,
    role: str,
    call: Callable[[], object],
    config: BenchConfig,
    *,
    setup: Callable[[], object] | None = None,
    items: float = 1.0,
    repeats: int | None = None,
    warmup: int | None = None,
) -> Measurement:
    """Time one implementation; an exception becomes a skipped measurement with its message."""
    try:
        timing = measure(
            call,
            repeats=config.repeats if repeats is None else repeats,
            warmup=config.warmup if warmup is None else warmup,
            setup=setup,
        )
    except Exception as exc:  # noqa: BLE001 - a failing implementation is reported, not fatal
        return skipped(implementation, role, f"raised {type(exc).__name__}: {exc}")
    return Measurement(implementation, role, timing=timing, items=items)


def _best_throughput(result: WorkloadResult, role: str) -> Measurement | None:
    """The fastest measured implementation of ``role`` (the strictest reference among peers)."""
    candidates = [m for m in result.measurements if m.role == role and m.timing is not None]
    return max(candidates, key=lambda m: m.throughput, default=None)


def compute_ratios(result: WorkloadResult, config: BenchConfig) -> WorkloadResult:
    """Fill each measured implementation's ratios, in place; returns ``result``.

    - ``speedup_over_numpy``: throughput / NumPy baseline's throughput;
    - ``speedup_over_torch``: throughput / the fastest peer variant's throughput (torch default, fused…);
    - ``gbps`` and ``fraction_of_triad``: ``bytes_per_call / median`` against the run's triad;
    - ``exp_bound_ms`` and ``fraction_of_exp_bound``: ``exps_per_call / exps_per_second`` over the median.
    """
    baseline = _best_throughput(result, "baseline")
    peer = _best_throughput(result, "peer")
    for m in result.measurements:
        if m.timing is None:
            continue
        if baseline is not None and m is not baseline:
            m.ratios["speedup_over_numpy"] = m.throughput / baseline.throughput
        if peer is not None and m.role != "peer":
            m.ratios["speedup_over_torch"] = m.throughput / peer.throughput
            m.extra.setdefault("torch_reference", peer.implementation)
        if result.bytes_per_call is not None:
            gbps = result.bytes_per_call / m.timing.median / 1e9
            m.ratios["gbps"] = gbps
            if config.triad_bytes_per_second:
                m.ratios["fraction_of_triad"] = gbps * 1e9 / config.triad_bytes_per_second
        if result.exps_per_call is not None and config.exps_per_second:
            bound = result.exps_per_call / config.exps_per_second
            m.ratios["exp_bound_ms"] = bound * 1e3
            m.ratios["fraction_of_exp_bound"] = bound / m.timing.median
    return result


# ---------------------------------------------------------------------------------------------------
# Compile time and cache-load time, in child processes.


@dataclasses.dataclass(frozen=True)
class CompileTiming:
    """One probe's first-call cost with a cold cache (compile) and with the warm cache (load).

    ``compile_s`` and ``cache_load_s`` are ``first call − second call`` in a fresh process; the second
    call runs the same tiny input with everything compiled, so the difference is the JIT's share.
    ``cache_files_cold``: cache files (``.nbi``/``.nbc``) the probe wrote with the empty cache;
    ``cache_files_added_warm`` > 0 means the warm process compiled something again instead of loading
    it (a kernel that cannot be reused from the cache); ``rewritten`` names those files.
    """

    probe: str
    compile_s: float | None
    cache_load_s: float | None
    import_s: float | None
    cache_files_cold: int
    cache_files_added_warm: int
    skipped: str | None = None
    rewritten: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_CHILD = """
import json, os, pathlib, sys, time
t0 = time.perf_counter()
import importlib
module = importlib.import_module(sys.argv[1])
t1 = time.perf_counter()
root = pathlib.Path(os.environ["VERIFY_CACHE_DIR"])
def files():
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.suffix in (".nbi", ".nbc")}
out = {"import_s": t1 - t0, "probes": {}}
for name in sys.argv[2:]:
    try:
        probe = module.COMPILE_PROBES[name]
        prepared = probe()
        before = files()
        a = time.perf_counter(); prepared(); b = time.perf_counter(); prepared(); c = time.perf_counter()
        out["probes"][name] = {"first_s": b - a, "second_s": c - b, "written": sorted(files() - before)}
    except Exception as exc:
        out["probes"][name] = {"error": f"{type(exc).__name__}: {exc}"}
print("VERIFY-BENCH-JSON " + json.dumps(out))
"""


def _run_child(module: str, probes: Sequence[str], cache_dir: Path, timeout: float) -> dict[str, Any]:
    env = {**os.environ, "VERIFY_CACHE_DIR": str(cache_dir), "VERIFY_NUMBA_CACHE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, module, *probes], capture_output=True, text=True, env=env, timeout=timeout
    )
    for line in done.stdout.splitlines():
        if line.startswith("VERIFY-BENCH-JSON "):
            return json.loads(line.removeprefix("VERIFY-BENCH-JSON "))
    tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
    raise RuntimeError(f"compile probe process exited with {done.returncode}: {tail[0]}")


def measure_compile(
    module: str, probes: Iterable[str], *, timeout: float = 600.0
) -> list[CompileTiming]:
    """JIT-compile time and cache-load time of each probe in ``module.COMPILE_PROBES``.

    A probe is a function of no arguments that prepares tiny inputs and returns a callable making the
    first call of the kernel(s) under test. Two child processes run the probes in order: the first with
    an empty ``VERIFY_CACHE_DIR`` (compiles and writes the cache), the second with that directory
    (loads it). Probes run in one process in order, so a helper compiled for an earlier probe is not
    counted again; the import of ``module`` is timed separately (``import_s``).
    """
    names = list(probes)
    for _attempt in range(3):
        with tempfile.TemporaryDirectory(prefix="verify-bench-cache-") as tmp:
            cache_dir = Path(tmp)
            try:
                cold = _run_child(module, names, cache_dir, timeout)
                stamps_cold = {p.name for p in cache_dir.iterdir()}
                warm = _run_child(module, names, cache_dir, timeout)
                stamps_warm = {p.name for p in cache_dir.iterdir()}
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                return [CompileTiming(n, None, None, None, 0, 0, skipped=str(exc)) for n in names]
        # The cache is keyed by a hash of the package's sources (verify._jit): a new key means a source
        # file changed between the two processes (someone editing the checkout) and the warm run could
        # not load anything. Measure again rather than report a compile as a cache load.
        if stamps_warm == stamps_cold:
            break
    out = []
    for n in names:
        c, w = cold["probes"].get(n, {}), warm["probes"].get(n, {})
        error = c.get("error") or w.get("error")
        if error:
            out.append(CompileTiming(n, None, None, None, 0, 0, skipped=error))
            continue
        out.append(
            CompileTiming(
                probe=n,
                compile_s=max(c["first_s"] - c["second_s"], 0.0),
                cache_load_s=max(w["first_s"] - w["second_s"], 0.0),
                import_s=cold["import_s"],
                cache_files_cold=len(c["written"]),
                cache_files_added_warm=len(w["written"]),
                rewritten=tuple(w["written"]),
            )
        )
    return out


# ---------------------------------------------------------------------------------------------------
# Output.


_COLUMNS = (  # (header, width, ratio key or None, format)
    ("median ms", 11, None, ".3f"),
    ("min ms", 10, None, ".3f"),
    ("items/s", 11, None, ".4g"),
    ("x numpy", 9, "speedup_over_numpy", ".2f"),
    ("x torch", 9, "speedup_over_torch", ".2f"),
    ("GB/s", 8, "gbps", ".2f"),
    ("triad", 7, "fraction_of_triad", ".0%"),
    ("exp bnd", 9, "fraction_of_exp_bound", ".0%"),
)


def _cell(value: float | None, width: int, spec: str) -> str:
    return ("-" if value is None else format(value, spec)).rjust(width)


def _row(m: Measurement) -> str:
    assert m.timing is not None
    values = (m.timing.median * 1e3, m.timing.best * 1e3, m.throughput)
    cells = [
        _cell(values[i] if key is None else m.ratios.get(key), width, spec)
        for i, (_, width, key, spec) in enumerate(_COLUMNS)
    ]
    return f"   {m.implementation:<26}" + "".join(cells)


def format_table(results: Sequence[WorkloadResult], *, machine: dict[str, Any] | None = None,
                 compile_timings: Sequence[CompileTiming] = ()) -> str:
    """A readable plain-text table: one line per implementation, ratios alongside absolute times.

    ``items/s`` is calls per second unless the workload counts other items (examples verified…);
    ``triad`` is the achieved fraction of the triad's GB/s; ``exp bnd`` is the exp-throughput lower
    bound divided by the time (100% = as fast as the exps alone allow).
    """
    lines: list[str] = []
    if machine:
        lines.append("machine limits (same run, same threads as the kernels)")
        for key, value in machine.items():
            lines.append(f"  {key}: {format(value, '.4g') if isinstance(value, float) else value}")
        lines.append("")
    header = f"{'implementation':<26}" + "".join(h.rjust(w) for h, w, _, _ in _COLUMNS)
    for r in results:
        lines.append(f"== {r.name}: {r.title} [{r.size}]")
        if r.skipped is not None:
            lines.append(f"   skipped: {r.skipped}")
            lines.append("")
            continue
        lines.append("   " + header)
        for m in r.measurements:
            if m.timing is None:
                lines.append(f"   {m.implementation:<26}skipped: {m.skipped}")
                continue
            lines.append(_row(m))
        for v in r.target_verdicts():
            state = {True: "met", False: "SHORT", None: "not measured"}[v["met"]]
            value = "-" if v["value"] is None else format(v["value"], ".3g")
            lines.append(f"   target {v['target']}: {value} -> {state}")
        for note in r.notes:
            lines.append(f"   note: {note}")
        if r.profile:
            lines.append("   where the time goes (phases timed alone):")
            for key, value in r.profile.items():
                shown = format(value, ".3f") if isinstance(value, float) else value
                lines.append(f"     {key}: {shown}")
        lines.append("")
    if compile_timings:
        lines.append("== JIT compile time and cache-load time (child processes, first call - second call)")
        lines.append(f"   {'probe':<34}{'compile s':>11}{'cache load s':>14}{'files written':>15}{'rewritten warm':>16}")
        for c in compile_timings:
            if c.skipped:
                lines.append(f"   {c.probe:<34}skipped: {c.skipped}")
                continue
            lines.append(f"   {c.probe:<34}{c.compile_s:>11.3f}{c.cache_load_s:>14.3f}{c.cache_files_cold:>15d}"
                         f"{c.cache_files_added_warm:>16d}")
        lines.append("")
    return "\n".join(lines)


def to_json(results: Sequence[WorkloadResult], *, environment: dict[str, Any], machine: dict[str, Any],
            compile_timings: Sequence[CompileTiming] = ()) -> str:
    """One JSON document: ``{"environment", "machine", "records", "compile"}``."""
    document = _finite({
        "environment": environment,
        "machine": machine,
        "records": [r.to_json() for r in results],
        "compile": [c.to_json() for c in compile_timings],
    })
    return json.dumps(document, indent=2, allow_nan=False)


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: such a float (a ratio over a zero time, say) becomes ``null``."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
