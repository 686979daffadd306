"""The timing harness: warm-up and repeats, ratios, compile/cache-load probes, output formats.

No assertion here is about speed: timings are replaced by fixed numbers wherever a ratio is checked.
"""

import json
import math

import pytest

from verify.bench import harness
from verify.bench.harness import BenchConfig, Measurement, Target, Timing, WorkloadResult


def test_measure_warms_up_then_times_each_repeat_with_setup_before_every_call():
    events = []
    timing = harness.measure(lambda: events.append("call"), repeats=4, warmup=2, setup=lambda: events.append("setup"))
    assert events == ["setup", "call"] * 6
    assert len(timing.seconds) == 4 and timing.warmup == 2
    assert all(s >= 0.0 for s in timing.seconds)


@pytest.mark.parametrize("kwargs", [{"repeats": 0}, {"repeats": 2.5}, {"warmup": -1}])
def test_measure_rejects_bad_counts(kwargs):
    with pytest.raises(ValueError, match="repeats|warmup"):
        harness.measure(lambda: None, **kwargs)


def test_median_is_the_reported_figure_not_the_mean_or_the_first():
    t = Timing((0.005, 0.001, 0.100), warmup=1)  # one outlier
    assert t.median == 0.005 and t.best == 0.001 and t.worst == 0.100
    assert t.to_json()["median_ms"] == pytest.approx(5.0)


def test_empty_timing_is_refused():
    with pytest.raises(ValueError, match="at least one"):
        Timing((), warmup=0)


def _result(*measurements, bytes_per_call=None, exps_per_call=None, targets=()):
    return WorkloadResult("w", "title", "size", list(measurements), bytes_per_call=bytes_per_call,
                          exps_per_call=exps_per_call, targets=targets)


def _m(name, role, seconds, items=1.0):
    return Measurement(name, role, timing=Timing((seconds,), 0), items=items)


def test_ratios_against_numpy_the_fastest_torch_variant_triad_and_exp_bound():
    config = BenchConfig(triad_bytes_per_second=20e9, exps_per_second=1e8)
    result = _result(
        _m("numpy", "baseline", 0.100), _m("parallel", "kernel", 0.020),
        _m("torch", "peer", 0.080), _m("torch-fused", "peer", 0.040),
        bytes_per_call=200e6, exps_per_call=1e6,
        targets=(Target("speedup_over_numpy", "parallel", 3.0), Target("speedup_over_torch", "parallel", 2.5)),
    )
    harness.compute_ratios(result, config)
    par = result.get("parallel").ratios
    assert par["speedup_over_numpy"] == pytest.approx(5.0)
    # against the fastest peer variant (40 ms), not the first listed (80 ms): a wrong choice gives 4.0
    assert par["speedup_over_torch"] == pytest.approx(2.0)
    assert result.get("parallel").extra["torch_reference"] == "torch-fused"
    assert par["gbps"] == pytest.approx(10.0) and par["fraction_of_triad"] == pytest.approx(0.5)
    assert par["exp_bound_ms"] == pytest.approx(10.0) and par["fraction_of_exp_bound"] == pytest.approx(0.5)
    assert "speedup_over_numpy" not in result.get("numpy").ratios
    assert "speedup_over_torch" not in result.get("torch").ratios
    verdicts = result.target_verdicts()
    assert [v["met"] for v in verdicts] == [True, False]
    assert verdicts[1]["value"] == pytest.approx(2.0)


def test_paired_timing_alternates_which_block_goes_first_and_gives_peer_over_ours(monkeypatch):
    clock = iter(range(1000))
    order = []

    def call(name, cost):
        def run():
            order.append(name)
            for _ in range(cost - 1):  # each perf_counter read advances the fake clock by one tick
                next(clock)
        return run
    monkeypatch.setattr(harness.time, "perf_counter", lambda: float(next(clock)))
    speedups = harness.measure_paired(call("ours", 2), call("peer", 3), rounds=3, calls=2, warmup=0)
    assert order == ["ours"] * 2 + ["peer"] * 4 + ["ours"] * 4 + ["peer"] * 2  # blocks of 2, alternating
    assert speedups == pytest.approx((1.5,) * 3)  # the peer's call takes 3 ticks, ours 2
    with pytest.raises(ValueError, match="rounds must be"):
        harness.measure_paired(lambda: None, lambda: None, rounds=0)
    with pytest.raises(ValueError, match="calls must be"):
        harness.measure_paired(lambda: None, lambda: None, rounds=1, calls=0)


def test_a_paired_speedup_is_its_own_ratio_beside_the_ratio_of_medians():
    # timed apart, the medians say 0.5x (the machine slowed down while ours ran); timed in pairs, 1.2x: the table's
    # column keeps the ratio of medians, a target on the paired ratio reads the pairs
    ours = _m("parallel", "kernel", 0.020)
    ours.extra.update(paired_speedups=harness.spread([1.1, 1.2, 1.3]), paired_with="torch-fused")
    result = _result(ours, _m("torch-fused", "peer", 0.010),
                     targets=(Target("paired_speedup_over_torch", "parallel", 1.0),))
    harness.compute_ratios(result, BenchConfig())
    assert ours.ratios["speedup_over_torch"] == pytest.approx(0.5)
    assert ours.ratios["paired_speedup_over_torch"] == pytest.approx(1.2)
    assert result.target_verdicts()[0]["met"] is True


def test_throughput_ratios_count_items_per_call():
    # ours verifies 10 examples in 20 ms, theirs 1 in 10 ms: 500/s vs 100/s, a 5x throughput
    result = _result(_m("check_gradient", "kernel", 0.020, items=10), _m("gradcheck", "peer", 0.010))
    harness.compute_ratios(result, BenchConfig())
    assert result.get("check_gradient").ratios["speedup_over_torch"] == pytest.approx(5.0)


def test_skipped_measurements_get_no_ratios_and_targets_say_not_measured():
    result = _result(_m("numpy", "baseline", 0.1), harness.skipped("parallel", "kernel", "no kernel"),
                     targets=(Target("speedup_over_numpy", "parallel", 3.0),))
    harness.compute_ratios(result, BenchConfig(triad_bytes_per_second=1e10))
    assert result.get("parallel").ratios == {}
    assert result.target_verdicts()[0]["met"] is None
    assert "skipped: no kernel" in harness.format_table([result])


def test_an_implementation_that_raises_is_reported_not_fatal():
    def broken():
        raise ZeroDivisionError("boom")

    m = harness.time_implementation("cpu", "kernel", broken, BenchConfig(repeats=1, warmup=0))
    assert m.timing is None and m.skipped == "raised ZeroDivisionError: boom"


def test_json_document_is_strict_json_with_non_finite_values_as_null():
    result = _result(_m("numpy", "baseline", 0.1), _m("cpu", "kernel", 0.05))
    harness.compute_ratios(result, BenchConfig())
    result.get("cpu").ratios["weird"] = math.inf
    text = harness.to_json([result], environment={"x": 1}, machine={"triad_gbps": 1.0})
    doc = json.loads(text)  # strict: would fail on Infinity/NaN tokens
    record = doc["records"][0]
    assert set(doc) == {"environment", "machine", "records", "compile"}
    assert {"workload", "title", "size", "measurements", "targets", "notes"} <= set(record)
    cpu = record["measurements"][1]
    assert cpu["implementation"] == "cpu" and cpu["speedup_over_numpy"] == pytest.approx(2.0)
    assert cpu["weird"] is None and cpu["median_ms"] == pytest.approx(50.0)


def test_table_has_one_aligned_line_per_implementation():
    result = _result(_m("numpy", "baseline", 0.1), _m("parallel", "kernel", 0.05), bytes_per_call=1e6)
    harness.compute_ratios(result, BenchConfig(triad_bytes_per_second=1e9))
    lines = harness.format_table([result]).splitlines()
    header = next(line for line in lines if "median ms" in line)
    rows = [line for line in lines if line.strip().startswith(("numpy", "parallel"))]
    assert len(rows) == 2
    assert all(len(r) == len(header) for r in rows)  # missing ratios are padded "-", columns stay put
    assert "2.00" in rows[1] and "2%" in rows[1]


def test_compile_and_cache_load_are_measured_in_fresh_processes():
    (timing,) = harness.measure_compile("verify.bench.workloads", ["machine.triad_parallel"])
    assert timing.skipped is None
    assert timing.compile_s >= 0.0 and timing.cache_load_s >= 0.0 and timing.import_s > 0.0
    assert timing.cache_files_cold > 0  # the cold process wrote the compiled triad to the empty cache
    assert timing.cache_files_added_warm == 0  # and the warm process loaded it instead of compiling again


def test_a_probe_that_fails_is_skipped_with_its_error():
    (timing,) = harness.measure_compile("verify.bench.workloads", ["no.such.probe"])
    assert timing.compile_s is None and "KeyError" in timing.skipped


def test_a_module_that_cannot_be_imported_skips_every_probe():
    timings = harness.measure_compile("verify.bench.no_such_module", ["a", "b"])
    assert [t.probe for t in timings] == ["a", "b"]
    assert all(t.skipped and "ModuleNotFoundError" in t.skipped for t in timings)


# --------------------------------------------------------------------------- the limit, interleaved and per regime

LLC = 32 * 2**20
CACHED, IN_MEMORY = 4e6, 400e6  # footprints (bytes per call) well inside and well outside the LLC


def test_traffic_counts_write_allocate_the_way_the_limit_counts_its_bytes():
    result = _result(_m("parallel", "kernel", 0.010), bytes_per_call=300e6)
    result.write_allocate_bytes = 100e6  # a fresh output array: read by the cache before it is written
    harness.compute_ratios(result, BenchConfig(triad_bytes_per_second=50e9))
    ratios = result.get("parallel").ratios
    assert ratios["gbps"] == pytest.approx(30.0)  # bytes moved, each array once (as before)
    assert ratios["traffic_gbps"] == pytest.approx(40.0)  # the true traffic
    assert ratios["fraction_of_triad"] == pytest.approx(0.8)  # the true traffic over the limit
    record = result.to_json()
    assert record["traffic_bytes_per_call"] == 400e6 and record["write_allocate_bytes"] == 100e6


def test_the_limit_is_the_better_sample_of_the_workloads_own_regime():
    before, after = {"cache": 80.0, "memory": 20.0}, {"cache": 90.0, "memory": 25.0}
    for footprint, regime, limit in ((CACHED, "cache", 90.0), (IN_MEMORY, "memory", 25.0)):
        result = _result(_m("parallel", "kernel", footprint / 10e9), bytes_per_call=footprint)  # 10 GB/s
        harness.apply_limit(result, BenchConfig(), before, after, LLC)
        assert result.limit["regime"] == regime and result.limit["limit_gbps"] == limit
        assert result.limit["samples_gbps"] == [before[regime], after[regime]]
        assert result.get("parallel").ratios["fraction_of_triad"] == pytest.approx(10.0 / limit)
        assert not result.notes
        assert regime.replace("memory", "main memory").replace("cache", "cache-resident") in harness.limit_line(result)


def test_a_partly_cached_footprint_gets_no_fraction_and_says_why():
    result = _result(_m("parallel", "kernel", 0.01), bytes_per_call=LLC)  # between LLC/2 and 4 LLC
    harness.apply_limit(result, BenchConfig(triad_bytes_per_second=1e9), {"cache": 1.0, "memory": 1.0},
                        {"cache": 1.0, "memory": 1.0}, LLC)
    assert result.limit["regime"] == "between"
    assert "fraction_of_triad" not in result.get("parallel").ratios
    assert any("no fraction of the limit" in n for n in result.notes)
    header, rows = harness.workload_rows(result)
    assert rows[0][header.index("% limit")] == "-"


@pytest.mark.parametrize(("samples", "why"), [((20.0, 30.0), "bandwidth changed while it ran"),
                                              ((29.0, 30.0), "streamed faster than the in-place triad")])
def test_a_fraction_above_the_limit_is_marked_and_explained(samples, why):
    result = _result(_m("cpu", "kernel", IN_MEMORY / 33e9), _m("parallel", "kernel", IN_MEMORY / 15e9),
                     bytes_per_call=IN_MEMORY)
    harness.apply_limit(result, BenchConfig(), {"memory": samples[0]}, {"memory": samples[1]}, LLC)
    cpu, parallel = result.get("cpu"), result.get("parallel")
    assert cpu.ratios["fraction_of_triad"] == pytest.approx(1.1) and why in cpu.extra["above_limit"]
    assert "above_limit" not in parallel.extra
    (note,) = result.notes
    assert note.startswith("cpu moved 33 GB/s of true traffic, 110% of the limit") and "mismeasured" in note
    header, rows = harness.workload_rows(result)
    assert rows[0][header.index("% limit")] == "110%!" and rows[1][header.index("% limit")] == "50%"
    harness.explain_fractions(result)
    assert len(result.notes) == 1  # each note once


def test_an_exp_bound_above_100_percent_is_explained_too():
    result = _result(_m("parallel", "kernel", 0.005), exps_per_call=1e6)
    harness.compute_ratios(result, BenchConfig(exps_per_second=1e8))  # bound 10 ms, ran in 5
    harness.explain_fractions(result)
    assert result.get("parallel").ratios["fraction_of_exp_bound"] == pytest.approx(2.0)
    assert any("200% of the exp-throughput bound: the bound was mismeasured" in n for n in result.notes)
    header, rows = harness.workload_rows(result)
    assert rows[0][header.index("% exp bound")] == "200%!"


def test_spread_of_the_samples():
    assert harness.spread([3.0, 1.0, 2.0, None]) == {"n": 3, "min": 1.0, "median": 2.0, "max": 3.0}
    assert harness.spread([]) is None


def test_rates_name_their_unit_and_long_names_stay_aligned():
    long_name = "check_gradient, kernel f one point per call"
    result = WorkloadResult("w", "title", "size", [_m(long_name, "kernel", 0.02, items=1.0), _m("gradcheck", "peer", 0.1),
                                                   harness.skipped("other", "peer", "not installed")],
                            item_name="example")
    harness.compute_ratios(result, BenchConfig())
    assert result.rate_unit == "examples/s" and _result().rate_unit == "calls/s"
    lines = harness.format_table([result]).splitlines()
    header = next(line for line in lines if "median ms" in line)
    assert "examples/s" in header
    rows = [line for line in lines if line.strip().startswith((long_name, "gradcheck"))]
    assert len(rows) == 2 and len({len(header), *map(len, rows)}) == 1
    assert header.index("median ms") > len("   " + long_name)
    assert any(line.split() == ["other", "skipped:", "not", "installed"] for line in lines)


def test_machine_figures_carry_units_and_texts_go_below():
    machine = {"threads": 2, "triad_gbps": 31.0, "triad_bytes_per_second": 31e9, "exps_per_second": 4e8,
               "last_level_cache_bytes": 33554432, "triad_counting": "3 arrays x 8 bytes",
               "limit_spread": {"memory": {"n": 3, "min": 20.0, "median": 25.0, "max": 30.0}, "cache": None}}
    text = harness.format_table([], machine=machine)
    rows = {r[0]: r for r in harness.machine_rows(machine)}
    assert rows["triad_gbps"][2] == "GB/s" and rows["exps_per_second"][2] == "exps/s"
    assert rows["last_level_cache_bytes"][2] == "bytes" and "triad_bytes_per_second" not in rows
    assert "in-place triad, main memory: min / median / max of 3 samples" in text and "20 / 25 / 30" in text
    assert "  triad_counting: 3 arrays x 8 bytes" in text.splitlines()


def test_rich_tables_render_the_same_report():
    import io

    from rich.console import Console

    result = _result(_m("numpy", "baseline", 0.1), _m("parallel", "kernel", 0.05), bytes_per_call=IN_MEMORY)
    harness.apply_limit(result, BenchConfig(), {"memory": 5.0}, {"memory": 6.0}, LLC)
    out = io.StringIO()
    harness.print_rich([result], machine={"threads": 2}, console=Console(file=out, width=200, force_terminal=False))
    text = out.getvalue()
    assert "calls/s" in text and "% limit" in text and "parallel" in text and "limit: in-place triad" in text
