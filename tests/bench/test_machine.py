"""Machine limits: the triad and exp loops compute what they claim, and the bytes are counted as stated."""

import math

import numpy as np
import pytest

from verify.bench import machine


def test_triad_kernels_compute_b_plus_s_c():
    b, c = np.arange(5.0), np.full(5, 2.0)
    for kernel in (machine.triad_parallel, machine.triad_serial):
        a = np.zeros(5)
        kernel(a, b, c, 3.0)
        np.testing.assert_array_equal(a, b + 3.0 * c)


def test_triad_counts_three_arrays_of_eight_bytes_and_reports_write_allocate_separately():
    record = machine.triad_bandwidth(10_000, repeats=2, warmup=1)
    assert record["bytes_per_call"] == 3 * 8 * 10_000
    assert record["gbps"] == pytest.approx(record["bytes_per_call"] / (record["median_ms"] * 1e-3) / 1e9)
    assert record["gbps_with_write_allocate"] == pytest.approx(record["gbps"] * 4 / 3)
    assert record["threads"] == machine.thread_count()
    assert "write-allocate not counted" in record["counting"]


def test_a_wrong_triad_is_caught(monkeypatch):
    @machine.jit(cache=False)  # a test function: nothing written to any cache
    def wrong(a, b, c, s):  # forgets the scale factor
        for i in range(a.size):
            a[i] = b[i] + c[i]

    monkeypatch.setattr(machine, "triad_parallel", wrong)
    with pytest.raises(RuntimeError, match="wrong result"):
        machine.triad_bandwidth(1000, repeats=1, warmup=0)


def test_exp_loop_computes_exp_and_counts_every_evaluation():
    x = np.linspace(-2.0, 0.0, 7)  # exp_diff(a, b) is for a ≤ b
    out = np.empty((3, 7))
    for fill in (machine.exp_fill_parallel, machine.exp_diff_fill_parallel):
        fill(x, out, 2)
        np.testing.assert_allclose(out, np.broadcast_to(np.exp(x - 1e-12), (3, 7)), rtol=1e-15)
    blocks = 4 * machine.thread_count()
    for kernel in ("exp_diff", "libm"):
        record = machine.exp_throughput(50_000, repeats=1, warmup=1, kernel=kernel)
        assert record["exps_per_call"] == blocks * 1024 * max(1, 50_000 // (1024 * blocks))
        assert math.isfinite(record["exps_per_second"]) and record["exps_per_second"] > 0
    with pytest.raises(ValueError, match="kernel must be one of"):
        machine.exp_throughput(10, kernel="svml")


def test_exps_into_fresh_array_is_exp_of_every_entry_in_a_new_array():
    x = np.linspace(-30.0, 30.0, 3 * 2049).reshape(3, 2049)  # more than one chunk, the last one partial
    out = machine.exps_into_fresh_array(x)
    assert out.shape == x.shape and out.dtype == np.float64 and not np.shares_memory(out, x)
    np.testing.assert_allclose(out, np.exp(x), rtol=1e-15, atol=0.0)
    for bad, message in ((x.astype(np.float32), "x must have dtype float64; got float32"),
                         (x[:, ::2], r"x must be C-contiguous; got shape \(3, 1025\) with strides \(16392, 16\)"),
                         ([1.0, 2.0], "x must be a numpy array; got list")):
        with pytest.raises(TypeError, match=message):
            machine.exps_into_fresh_array(bad)


def test_the_softmax_ce_ceiling_is_a_timed_row_and_a_wrong_exp_pass_is_caught(monkeypatch):
    from verify.bench import workloads
    from verify.bench.harness import BenchConfig, compute_ratios

    config = BenchConfig(quick=True, repeats=1, warmup=0, exps_per_second=1e8)
    z = np.linspace(-3.0, 3.0, 5000).reshape(500, 10)
    row = workloads._exp_ceiling(config, z)
    assert (row.implementation, row.role) == (workloads.EXP_CEILING, "bound") and row.timing is not None
    result = compute_ratios(workloads.WorkloadResult("w", "t", "s", measurements=[row], exps_per_call=5000.0),
                            config)
    assert result.measurements[0].ratios["fraction_of_exp_bound"] == pytest.approx(
        5e-5 / row.timing.median)  # 5000 exps at 1e8 per second: the same column as the kernels' rows
    assert set(result.measurements[0].ratios) == {"exp_bound_ms", "fraction_of_exp_bound"}  # not an implementation
    monkeypatch.setattr(machine, "exps_into_fresh_array", lambda x: np.exp2(x))
    with pytest.raises(RuntimeError, match="the exp pass of the ceiling produced a wrong result"):
        workloads._exp_ceiling(config, z)


@pytest.mark.parametrize(("kernel", "fill"), [("exp_diff", "exp_diff_fill_parallel"), ("libm", "exp_fill_parallel")])
def test_a_wrong_exp_loop_is_caught(monkeypatch, kernel, fill):
    @machine.jit(cache=False)  # a test function: nothing written to any cache
    def wrong(x, out, repetitions):  # exp2 instead of exp
        for b in range(out.shape[0]):
            for j in range(x.size):
                out[b, j] = 2.0 ** x[j]

    monkeypatch.setattr(machine, fill, wrong)
    with pytest.raises(RuntimeError, match="wrong result"):
        machine.exp_throughput(10_000, repeats=1, warmup=0, kernel=kernel)


def test_machine_limits_record():
    limits = machine.machine_limits(quick=True, repeats=1, warmup=1)
    assert limits["threads"] == machine.thread_count()
    assert limits["triad_bytes_per_second"] == pytest.approx(limits["triad_gbps"] * 1e9)
    for key in ("triad_serial_gbps", "exps_per_second", "libm_exps_per_second", "numpy_exps_per_second_one_thread",
                "triad_inplace_gbps", "triad_inplace_cache_gbps", "last_level_cache_bytes"):
        assert limits[key] > 0
    first = limits["triad_inplace_first_sample"]
    assert limits["triad_inplace_gbps"] == first["memory"]["best"] == max(first["memory"]["parallel"],
                                                                           first["memory"]["serial"])


@pytest.mark.parametrize("parallel", [True, False])
def test_inplace_triad_adds_s_b_every_sweep_and_counts_its_true_traffic(parallel):
    b = np.arange(7.0)
    for kernel in (machine.triad_inplace_parallel, machine.triad_inplace_serial):
        a = np.ones(7)
        kernel(a, b, 3.0, 2, 4)  # 2 blocks, 4 sweeps: every element, every sweep, once
        np.testing.assert_array_equal(a, 1.0 + 4 * 3.0 * b)
    record = machine.inplace_triad_bandwidth(10_000, repeats=2, warmup=1, parallel=parallel)
    sweeps = record["sweeps_per_call"]
    assert sweeps == -(-machine.INPLACE_TRIAD_CALL_BYTES // (3 * 8 * 10_000))
    assert record["bytes_per_call"] == 3 * 8 * 10_000 * sweeps  # read a, read b, write a: no write-allocate
    assert record["gbps"] == pytest.approx(record["bytes_per_call"] / (record["median_ms"] * 1e-3) / 1e9)
    assert record["footprint_bytes"] == 2 * 8 * 10_000
    assert record["threads"] == (machine.thread_count() if parallel else 1)


def test_a_wrong_inplace_triad_is_caught(monkeypatch):
    @machine.jit(cache=False)  # a test function: nothing written to any cache
    def wrong(a, b, s, blocks, repetitions):  # one sweep, whatever was asked
        for i in range(a.size):
            a[i] = a[i] + s * b[i]

    monkeypatch.setattr(machine, "triad_inplace_parallel", wrong)
    with pytest.raises(RuntimeError, match="wrong result"):
        machine.inplace_triad_bandwidth(1000, repeats=1, warmup=0)


def test_regimes_split_at_the_last_level_cache():
    llc = 32 * 2**20
    assert machine.regime_of(llc / 2, llc) == "cache" and machine.regime_of(llc / 2 + 1, llc) == "between"
    assert machine.regime_of(4 * llc, llc) == "memory" and machine.regime_of(4 * llc - 1, llc) == "between"
    sizes = machine.limit_sizes(llc)
    assert machine.regime_of(16 * sizes["cache"], llc) == "cache"  # the triad's own footprint: 2 arrays
    assert machine.regime_of(16 * sizes["memory"], llc) == "memory"


def test_last_level_cache_is_read_from_sysfs_or_said_to_be_assumed(monkeypatch, tmp_path):
    cache = tmp_path / "cache"
    for index, size in (("index0", "32K"), ("index2", "512K"), ("index3", "32768K")):
        (cache / index).mkdir(parents=True)
        (cache / index / "size").write_text(size + "\n")
    real_path = machine.Path
    monkeypatch.setattr(machine, "Path", lambda p: cache if "cache" in str(p) else real_path(p))
    assert machine.last_level_cache_bytes() == (32 * 2**20, "sysfs")
    monkeypatch.setattr(machine, "Path", lambda p: tmp_path / "nothing")
    size, source = machine.last_level_cache_bytes()
    assert size == machine.DEFAULT_LAST_LEVEL_CACHE and source.startswith("assumed")
