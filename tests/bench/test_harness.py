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
