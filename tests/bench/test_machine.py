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
    for key in ("triad_serial_gbps", "exps_per_second", "libm_exps_per_second", "numpy_exps_per_second_one_thread"):
        assert limits[key] > 0
