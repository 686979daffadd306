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
- **Against the machine.** A bandwidth-bound workload declares the bytes one call must move (each array
  read or written once) and the write-allocate bytes (arrays written without being read first, which a
  cache reads before writing); their sum is the call's true traffic, counted as the limit's is. The limit
  is the in-place triad of :mod:`verify.bench.machine`, **sampled before and after the workload** (the
  samples between workloads), in the workload's own regime: a footprint inside the last-level cache is
  compared with the cache-resident triad, one far outside with the main-memory triad, one in between with
  neither (no fraction). The limit is the better of the two samples; the spread of all samples is reported.
  A fraction above 100 % is never printed bare: the table marks it and a note says that the limit was
  mismeasured and why (:func:`apply_limit`). A workload bound by ``exp`` declares its exps per call; its
  lower bound in time is ``exps / (exps per second)``.
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
    "measure_paired",
    "time_implementation",
    "skipped",
    "compute_ratios",
    "apply_limit",
    "explain_fractions",
    "spread",
    "measure_compile",
    "CompileTiming",
    "format_table",
    "print_rich",
    "workload_rows",
    "aligned",
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


def measure_paired(ours: Callable[[], object], peer: Callable[[], object], *, rounds: int, calls: int = 5,
                   warmup: int = 1) -> tuple[float, ...]:
    """Speedups ``t_peer / t_ours`` of ``rounds`` pairs of blocks of ``calls`` calls each, the two blocks of a pair
    back to back (ours first in even rounds, the peer first in odd ones); each block's time is the median of its
    calls. Both blocks of a pair see nearly the same load, so their ratio survives a machine whose speed changes
    from second to second (a shared machine), which a ratio of two medians taken seconds apart does not: on 2
    cores shared with other work, Adam's and AdamW's ratios of medians read 0.36× to 2.1× in three runs. Blocks,
    not single calls: a call right after the other library's is slowed by what that one leaves behind (its
    threads still spinning, its data in the cache) — alternating single calls read Adam 5 % faster than blocks
    did, quiet. A block's median is not moved by its first call alone, the one that pays for the switch."""
    if not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"rounds must be an integer >= 1; got {rounds!r}")
    if not isinstance(calls, int) or calls < 1:
        raise ValueError(f"calls must be an integer >= 1; got {calls!r}")
    for _ in range(warmup):
        ours()
        peer()

    speedups = []
    for r in range(rounds):
        if r % 2 == 0:
            mine = measure(ours, repeats=calls, warmup=0).median
            theirs = measure(peer, repeats=calls, warmup=0).median
        else:
            theirs = measure(peer, repeats=calls, warmup=0).median
            mine = measure(ours, repeats=calls, warmup=0).median
        speedups.append(theirs / mine)
    return tuple(speedups)


@dataclasses.dataclass
class Measurement:
    """One implementation of one workload: its timing, or why it was skipped.

    ``role`` is ``"kernel"`` (ours: a backend of ``verify``), ``"baseline"`` (NumPy), ``"peer"`` (torch, …)
    or ``"bound"`` (a ceiling the machine puts on the workload, not an implementation). ``items`` is the work per
    call (e.g. examples verified), so throughputs compare fairly when two implementations do a different amount
    of work per call.
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
    once); ``write_allocate_bytes``: of those, the bytes of arrays written without being read first, which
    a cache reads before writing (so the call's true traffic is their sum, counted as the limit's is);
    ``limit``: the limit it was judged against (see :func:`apply_limit`). ``exps_per_call``: the ``exp``
    evaluations a call needs at least, for the exp-throughput bound.
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
    write_allocate_bytes: float | None = None
    limit: dict[str, Any] | None = None

    @property
    def traffic_bytes_per_call(self) -> float | None:
        """True traffic of one call: ``bytes_per_call`` plus the write-allocate reads."""
        if self.bytes_per_call is None:
            return None
        return self.bytes_per_call + (self.write_allocate_bytes or 0.0)

    @property
    def rate_unit(self) -> str:
        """The unit of the throughput column: ``calls/s``, ``training sets/s``, ``examples/s``…"""
        return f"{self.item_name}s/s"

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
            record["write_allocate_bytes"] = self.write_allocate_bytes or 0.0
            record["traffic_bytes_per_call"] = self.traffic_bytes_per_call
        if self.limit is not None:
            record["limit"] = self.limit
        if self.exps_per_call is not None:
            record["exps_per_call"] = self.exps_per_call
        record["item"] = self.item_name
        record["rate_unit"] = self.rate_unit
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
    - ``paired_speedup_over_torch``: where the workload also timed the two in pairs (``extra["paired_speedups"]``,
      see :func:`measure_paired`), the median of the pairs' speedups over the peer named in
      ``extra["paired_with"]`` (a target may use it; the table's column stays the ratio of medians);
    - ``gbps``: ``bytes_per_call / median``; ``traffic_gbps``: the true traffic (with write-allocate) per
      second; ``fraction_of_triad``: ``traffic_gbps`` over the limit ``config.triad_bytes_per_second``;
    - ``exp_bound_ms`` and ``fraction_of_exp_bound``: ``exps_per_call / exps_per_second`` over the median.

    A row of role ``"bound"`` (a ceiling the machine puts on the workload, e.g. its exps alone) gets the exp-bound
    figures only: it is not an implementation to compare, and it moves other bytes than the workload's.
    """
    baseline = _best_throughput(result, "baseline")
    peer = _best_throughput(result, "peer")
    for m in result.measurements:
        if m.timing is None:
            continue
        if m.role == "bound":
            _exp_bound_ratios(m, result, config)
            continue
        if baseline is not None and m is not baseline:
            m.ratios["speedup_over_numpy"] = m.throughput / baseline.throughput
        if "paired_speedups" in m.extra:
            m.ratios["paired_speedup_over_torch"] = m.extra["paired_speedups"]["median"]
        if peer is not None and m.role != "peer":
            m.ratios["speedup_over_torch"] = m.throughput / peer.throughput
            m.extra.setdefault("torch_reference", peer.implementation)
        if result.bytes_per_call is not None:
            m.ratios["gbps"] = result.bytes_per_call / m.timing.median / 1e9
            traffic = result.traffic_bytes_per_call / m.timing.median
            m.ratios["traffic_gbps"] = traffic / 1e9
            if config.triad_bytes_per_second:
                m.ratios["fraction_of_triad"] = traffic / config.triad_bytes_per_second
        _exp_bound_ratios(m, result, config)
    return result


def _exp_bound_ratios(m: Measurement, result: WorkloadResult, config: BenchConfig) -> None:
    if result.exps_per_call is not None and config.exps_per_second:
        bound = result.exps_per_call / config.exps_per_second
        m.ratios["exp_bound_ms"] = bound * 1e3
        m.ratios["fraction_of_exp_bound"] = bound / m.timing.median


def spread(values: Sequence[float]) -> dict[str, float] | None:
    """``{"n", "min", "median", "max"}`` of ``values`` (``None`` when there are none)."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"n": len(values), "min": min(values), "median": statistics.median(values), "max": max(values)}


def _above_limit_why(samples: Sequence[float]) -> str:
    low, high = min(samples), max(samples)
    if high > 1.2 * low:
        return (f"the triad samples around it vary from {low:.3g} to {high:.3g} GB/s: the machine's bandwidth "
                "changed while it ran (a shared or busy machine), so the limit was mismeasured")
    return ("the triad samples around it agree, so the kernel streamed faster than the in-place triad: its "
            "bytes may be overcounted (data reused from cache) or the triad is not this machine's best "
            "streaming loop; the limit was mismeasured")


def apply_limit(result: WorkloadResult, config: BenchConfig, before: dict[str, float], after: dict[str, float],
                llc_bytes: int) -> WorkloadResult:
    """Judge a bandwidth-bound workload against the in-place triad of its regime, sampled ``before`` and
    ``after`` it (``{"cache": GB/s, "memory": GB/s}``), and recompute its ratios; returns ``result``.

    The limit is the better sample of the regime. In the ``"between"`` regime (partly cached) no fraction
    is given. A fraction above 1 is kept, marked in ``extra["above_limit"]`` and explained in a note.
    """
    from verify.bench.machine import regime_of

    if result.bytes_per_call is None or result.skipped is not None:
        return result
    regime = regime_of(result.bytes_per_call, llc_bytes)
    record: dict[str, Any] = {"regime": regime, "footprint_bytes": result.bytes_per_call,
                              "last_level_cache_bytes": llc_bytes}
    if regime == "between":
        record["why"] = ("the footprint is neither well inside nor well outside the last-level cache: partly "
                         "cached, so neither the cache-resident nor the main-memory triad is its limit")
        result.limit = record
        compute_ratios(result, dataclasses.replace(config, triad_bytes_per_second=None))
        for m in result.measurements:
            m.ratios.pop("fraction_of_triad", None)
        result.notes.append(f"no fraction of the limit: {record['why']}")
        return result
    samples = [before.get(regime), after.get(regime)]
    record["samples_gbps"] = samples
    known = [v for v in samples if v is not None]
    if not known:
        result.limit = {**record, "why": "no triad sample of this regime"}
        return result
    limit = max(known)
    record["limit_gbps"] = limit
    result.limit = record
    compute_ratios(result, dataclasses.replace(config, triad_bytes_per_second=limit * 1e9))
    for m in result.measurements:
        fraction = m.ratios.get("fraction_of_triad")
        if fraction is not None and fraction > 1.0:
            m.extra["above_limit"] = _above_limit_why(known)
    return explain_fractions(result)


def explain_fractions(result: WorkloadResult) -> WorkloadResult:
    """A note for every fraction above 100 %: which implementation, by how much, and why the limit or the
    bound must have been mismeasured (each note once); returns ``result``."""
    for m in result.measurements:
        triad = m.ratios.get("fraction_of_triad")
        if triad is not None and triad > 1.0:
            why = m.extra.get("above_limit") or ("the limit was measured once, at another time than the workload: "
                                                 "it was mismeasured for this workload")
            note = (f"{m.implementation} moved {m.ratios['traffic_gbps']:.3g} GB/s of true traffic, {triad:.0%} "
                    f"of the limit: {why}")
            if note not in result.notes:
                result.notes.append(note)
        exp = m.ratios.get("fraction_of_exp_bound")
        if exp is not None and exp > 1.0:
            note = (f"{m.implementation} ran at {exp:.0%} of the exp-throughput bound: the bound was mismeasured "
                    "(exp throughput is measured once, before the workloads; a busier machine then, or a call "
                    "needing fewer exps than counted, puts it below the truth)")
            if note not in result.notes:
                result.notes.append(note)
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


_REGIME_WORDS = {"cache": "cache-resident", "memory": "main memory", "between": "partly cached"}


def _format(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _percent(m: Measurement, key: str) -> str:
    value = m.ratios.get(key)
    if value is None:
        return "-"
    marked = "!" if (key == "fraction_of_triad" and "above_limit" in m.extra) or value > 1.0 else ""
    return f"{value:.0%}{marked}"


def workload_rows(result: WorkloadResult) -> tuple[list[str], list[list[str]]]:
    """The header and one row per implementation of a workload, as strings; every rate names its unit.
    A fraction above 100 % carries a ``!`` and the workload a note saying why."""
    header = ["implementation", "median ms", "min ms", result.rate_unit, "x numpy", "x torch", "GB/s",
              "% limit", "% exp bound"]
    rows = []
    for m in result.measurements:
        if m.timing is None:
            rows.append([m.implementation, f"skipped: {m.skipped}"])
            continue
        rows.append([
            m.implementation, _format(m.timing.median * 1e3, ".3f"), _format(m.timing.best * 1e3, ".3f"),
            _format(m.throughput, ".4g"), _format(m.ratios.get("speedup_over_numpy"), ".2f"),
            _format(m.ratios.get("speedup_over_torch"), ".2f"), _format(m.ratios.get("traffic_gbps"), ".2f"),
            _percent(m, "fraction_of_triad"), _percent(m, "fraction_of_exp_bound"),
        ])
    return header, rows


def aligned(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "   ") -> list[str]:
    """A plain table whose columns are as wide as their longest cell: the first left-aligned, the others
    right-aligned. A row shorter than the header (a skipped implementation) spans the rest of the line."""
    widths = [len(h) for h in header]
    for row in rows:
        if len(row) == len(header):
            widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        if len(cells) < len(header):
            return (indent + cells[0].ljust(widths[0]) + "  " + "  ".join(cells[1:])).rstrip()
        return indent + "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                  for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    return [line(header), *(line(r) for r in rows)]


def limit_line(result: WorkloadResult) -> str | None:
    """What the workload was judged against, in words."""
    limit = result.limit
    if limit is None:
        return None
    where = f"{_REGIME_WORDS[limit['regime']]} (footprint {limit['footprint_bytes'] / 1e6:.3g} MB)"
    if "limit_gbps" not in limit:
        return f"limit: none, {where}: {limit.get('why', '')}"
    shown = " / ".join("-" if v is None else f"{v:.3g}" for v in limit["samples_gbps"])
    return (f"limit: in-place triad, {where}; samples before / after: {shown} GB/s -> {limit['limit_gbps']:.3g} "
            "GB/s (true traffic: bytes moved + write-allocate)")


_UNITS = (("bytes_per_second", None), ("gbps", "GB/s"), ("exps_per_second", "exps/s"), ("_bytes", "bytes"),
          ("_n", "elements"), ("threads", "threads"))


def machine_rows(machine: dict[str, Any]) -> list[list[str]]:
    """The machine's figures with their units: ``[quantity, value, unit]`` (texts go to :func:`machine_notes`)."""
    rows = []
    for key, value in machine.items():
        if isinstance(value, dict | list | str):
            continue
        unit = next((u for part, u in _UNITS if part in key), "")
        if unit is None:
            continue  # the same figure as its *_gbps twin
        rows.append([key, format(value, ".4g") if isinstance(value, float) else str(value), unit])
    for regime, figures in (machine.get("limit_spread") or {}).items():
        if figures:
            rows.append([f"in-place triad, {_REGIME_WORDS.get(regime, regime)}: min / median / max of "
                         f"{figures['n']} samples",
                         f"{figures['min']:.3g} / {figures['median']:.3g} / {figures['max']:.3g}", "GB/s"])
    return rows


def machine_notes(machine: dict[str, Any]) -> list[str]:
    """The machine record's texts (how bytes are counted, where the cache size comes from)."""
    return [f"{key}: {value}" for key, value in machine.items() if isinstance(value, str)]


def compile_rows(compile_timings: Sequence[CompileTiming]) -> tuple[list[str], list[list[str]]]:
    header = ["probe", "compile s", "cache load s", "files written", "rewritten warm"]
    rows = []
    for c in compile_timings:
        if c.skipped:
            rows.append([c.probe, f"skipped: {c.skipped}"])
        else:
            rows.append([c.probe, f"{c.compile_s:.3f}", f"{c.cache_load_s:.3f}", str(c.cache_files_cold),
                         str(c.cache_files_added_warm)])
    return header, rows


def _workload_extras(r: WorkloadResult) -> list[str]:
    lines = []
    for v in r.target_verdicts():
        state = {True: "met", False: "SHORT", None: "not measured"}[v["met"]]
        value = "-" if v["value"] is None else format(v["value"], ".4g")
        lines.append(f"target {v['target']}: {value} -> {state}")
    lines += [f"note: {note}" for note in r.notes]
    if r.profile:
        lines.append("where the time goes (phases timed alone):")
        lines += [f"  {k}: {format(v, '.3f') if isinstance(v, float) else v}" for k, v in r.profile.items()]
    return lines


def format_table(results: Sequence[WorkloadResult], *, machine: dict[str, Any] | None = None,
                 compile_timings: Sequence[CompileTiming] = ()) -> str:
    """A readable plain-text report: the machine's limits with units, then per workload its limit and one
    aligned line per implementation (ratios beside absolute times), targets and notes.

    The rate column is named by its unit (``calls/s``, ``training sets/s``…); ``GB/s`` is true traffic;
    ``% limit`` the fraction of the workload's triad limit; ``% exp bound`` the exp-throughput lower bound
    divided by the time (100 % = as fast as the exps alone allow). A fraction above 100 % is marked ``!``
    and explained in a note.
    """
    lines: list[str] = []
    if machine:
        lines.append("machine limits (same run, same threads as the kernels)")
        lines += aligned(["quantity", "value", "unit"], machine_rows(machine), indent="  ")
        lines += ["  " + note for note in machine_notes(machine)]
        lines.append("")
    for r in results:
        lines.append(f"== {r.name}: {r.title} [{r.size}]")
        if r.skipped is not None:
            lines += [f"   skipped: {r.skipped}", ""]
            continue
        if (text := limit_line(r)) is not None:
            lines.append("   " + text)
        lines += aligned(*workload_rows(r))
        lines += ["   " + extra for extra in _workload_extras(r)]
        lines.append("")
    if compile_timings:
        lines.append("== JIT compile time and cache-load time (child processes, first call - second call)")
        lines += aligned(*compile_rows(compile_timings))
        lines.append("")
    return "\n".join(lines)


def print_rich(results: Sequence[WorkloadResult], *, machine: dict[str, Any] | None = None,
               compile_timings: Sequence[CompileTiming] = (), console=None) -> None:
    """The same report as :func:`format_table`, as ``rich`` tables (for a terminal)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()

    def table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
        t = Table(title=title, title_justify="left", show_lines=False)
        for i, h in enumerate(header):
            t.add_column(h, justify="left" if i == 0 else "right", overflow="fold")
        for row in rows:
            t.add_row(*row, *([""] * (len(header) - len(row))))
        return t

    if machine:
        console.print(table("machine limits (same run, same threads as the kernels)", ["quantity", "value", "unit"],
                            machine_rows(machine)))
        for note in machine_notes(machine):
            console.print("  " + note, highlight=False, markup=False)
    for r in results:
        title = f"{r.name}: {r.title} [{r.size}]"
        if r.skipped is not None:
            console.print(f"[bold]{title}[/bold]\n   skipped: {r.skipped}", highlight=False)
            continue
        console.print(table(title, *workload_rows(r)))
        for extra in ([limit_line(r)] if r.limit else []) + _workload_extras(r):
            console.print("   " + extra, highlight=False, markup=False)
    if compile_timings:
        console.print(table("JIT compile time and cache-load time (child processes, first call - second call)",
                            *compile_rows(compile_timings)))


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
