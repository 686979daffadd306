"""Phase profiles: each phase present, and the vectorisation detector tells packed from scalar code."""

import math

import numpy as np
import pytest

from verify._jit import jit
from verify.bench import profile
from verify.bench.harness import BenchConfig

QUICK = BenchConfig(quick=True, repeats=1, warmup=1, exps_per_second=1e8)


@jit(cache=False)
def _axpy(a, x, y):  # vectorisable: packed AVX
    for i in range(x.size):
        y[i] += a * x[i]


@jit(cache=False)
def _recurrence(x):  # a loop-carried dependency through a division: cannot be vectorised
    acc = 1.0
    for i in range(x.size):
        acc = 1.0 + x[i] / acc
    return acc


def test_packed_instruction_counter_tells_vectorised_from_scalar_loops():
    x = np.linspace(0.5, 1.0, 64)
    _axpy(2.0, x, np.zeros(64))
    _recurrence(x)
    vectorised, scalar = profile.packed_instructions(_axpy), profile.packed_instructions(_recurrence)
    assert vectorised["packed_ymm"] > 0
    assert scalar["packed_ymm"] == 0 and scalar["scalar"] > 0


def test_softmax_ce_profile_has_every_phase():
    out = profile.profile_softmax_cross_entropy(QUICK)
    for key in ("validate arguments ms", "row loop cpu ms", "row loop parallel ms",
                "sum of row losses ms"):
        assert math.isfinite(out[key]) and out[key] >= 0
    assert out["exp bound ms (n(k-1) exps)"] == pytest.approx(20_000 * 9 / 1e8 * 1e3)


@pytest.mark.parametrize("rule", ["adam", "momentum"])
def test_optimizer_profile_has_every_phase(rule):
    out = profile.PROFILES[rule](QUICK)
    if "missing" in out:
        pytest.skip(out["missing"])
    arrays = 7 if rule == "adam" else 5
    for name in ("cpu", "parallel"):
        assert out[f"update loop {name} GB/s"] == pytest.approx(arrays * 8 * 100_000 / out[f"update loop {name} ms"] / 1e6)
    for name in ("one thread", "all threads"):
        assert out[f"finite check {name} ms"] >= 0
    assert set(out["update loop cpu instructions"]) == {"packed_ymm", "scalar"}
