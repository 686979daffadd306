"""The machine's own limits, measured in the same run and with the same threads as the kernels.

- **Memory bandwidth: a STREAM-style triad** ``a[i] = b[i] + s·c[i]`` over float64 arrays far larger
  than the last-level cache, as a Numba ``prange`` loop (the same thread pool, hence the same number of
  threads, as the ``parallel`` kernels). Bytes are counted the STREAM way: **3 arrays × 8 bytes per
  element** (read ``b``, read ``c``, write ``a``). The write-allocate read of ``a`` that a cache
  without streaming stores performs is **not** counted, so the true traffic is up to 4/3 of the
  figure; ``gbps_with_write_allocate`` reports that variant too. A kernel that updates its arrays in
  place (an optimizer step) reads every line it writes, so it pays no write-allocate and its
  counted bytes are its true traffic: it can exceed 100% of the STREAM-counted triad.
- **exp throughput**: exps per second of the exponential the kernels use,
  :func:`verify.kernels.elementary.exp_diff` (vectorised straight-line code), on operands resident in L1
  so that memory is not the bound, in parallel over the same threads. For context: Numba's ``math.exp``
  (a scalar libm call per element; this build has no SVML) over the same threads, and NumPy's own
  single-threaded ``np.exp``.

Reference: J. D. McCalpin, "Memory Bandwidth and Machine Balance in Current High Performance
Computers", IEEE TCCA Newsletter, 1995 (the STREAM benchmark and its byte counting).
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from verify._jit import jit, parallel_jit
from verify.bench.harness import measure
from verify.kernels.elementary import exp_diff

__all__ = [
    "TRIAD_ARRAYS",
    "triad_parallel",
    "triad_serial",
    "exp_fill_parallel",
    "triad_bandwidth",
    "exp_throughput",
    "numpy_exp_throughput",
    "machine_limits",
    "thread_count",
]

#: Arrays counted per triad element (read b, read c, write a), 8 bytes each for float64.
TRIAD_ARRAYS = 3


@parallel_jit
def triad_parallel(a, b, c, s):
    """``a[i] = b[i] + s·c[i]`` over all threads (STREAM triad)."""
    for i in numba.prange(a.size):
        a[i] = b[i] + s * c[i]


@jit
def triad_serial(a, b, c, s):
    """``a[i] = b[i] + s·c[i]`` on one thread."""
    for i in range(a.size):
        a[i] = b[i] + s * c[i]


@parallel_jit
def exp_fill_parallel(x, out, repetitions):
    """``out[b, j] = exp(x[j] − r·1e-12)`` (libm) for every block ``b`` and repetition ``r``.

    ``x`` and each row of ``out`` fit in L1, so the loop is bound by ``exp`` and not by memory; the
    shift by ``r·1e-12`` keeps the compiler from hoisting the exps out of the repetition loop.
    """
    for b in numba.prange(out.shape[0]):
        for r in range(repetitions):
            shift = r * 1e-12
            for j in range(x.size):
                out[b, j] = math.exp(x[j] - shift)


@parallel_jit
def exp_diff_fill_parallel(x, out, repetitions):
    """``out[b, j] = exp_diff(x[j], r·1e-12)``, the kernels' exponential, in the loop of :func:`exp_fill_parallel`."""
    for b in numba.prange(out.shape[0]):
        for r in range(repetitions):
            shift = r * 1e-12
            for j in range(x.size):
                out[b, j] = exp_diff(x[j], shift)


def thread_count() -> int:
    """Threads of Numba's pool: what the ``parallel`` kernels and the triad run on."""
    return int(numba.get_num_threads())


def triad_bandwidth(n: int, *, repeats: int = 7, warmup: int = 2, parallel: bool = True) -> dict[str, Any]:
    """STREAM triad over ``n`` float64 elements: GB/s counting 3 arrays × 8 bytes per element."""
    if n < 1:
        raise ValueError(f"n must be >= 1; got {n!r}")
    b = np.full(n, 1.0)
    c = np.full(n, 2.0)
    a = np.zeros(n)
    kernel = triad_parallel if parallel else triad_serial
    timing = measure(lambda: kernel(a, b, c, 3.0), repeats=repeats, warmup=warmup)
    if not np.all(a[:: max(1, n // 1000)] == 7.0):  # the loop really ran: 1 + 3·2
        raise RuntimeError("triad produced a wrong result")
    counted = TRIAD_ARRAYS * 8 * n
    return {
        "n": n,
        "threads": thread_count() if parallel else 1,
        "median_ms": timing.median * 1e3,
        "min_ms": timing.best * 1e3,
        "bytes_per_call": counted,
        "bytes_per_second": counted / timing.median,
        "gbps": counted / timing.median / 1e9,
        "gbps_with_write_allocate": (TRIAD_ARRAYS + 1) * 8 * n / timing.median / 1e9,
        "counting": "3 arrays x 8 bytes per element (STREAM); write-allocate not counted",
    }


def exp_throughput(total_exps: int, *, repeats: int = 7, warmup: int = 2, kernel: str = "exp_diff") -> dict[str, Any]:
    """Exps per second over all threads, operands in L1: ``kernel="exp_diff"`` (the kernels' exponential)
    or ``"libm"`` (Numba's ``math.exp``)."""
    fills = {"exp_diff": exp_diff_fill_parallel, "libm": exp_fill_parallel}
    if kernel not in fills:
        raise ValueError(f"kernel must be one of {tuple(fills)}; got {kernel!r}")
    fill = fills[kernel]
    width = 1024  # 8 KiB per operand row: L1-resident
    blocks = 4 * thread_count()
    repetitions = max(1, total_exps // (width * blocks))
    x = np.linspace(-10.0, 0.0, width)
    out = np.empty((blocks, width))
    timing = measure(lambda: fill(x, out, repetitions), repeats=repeats, warmup=warmup)
    expected = np.exp(x - (repetitions - 1) * 1e-12)
    if not np.allclose(out[0], expected, rtol=1e-12, atol=0.0):
        raise RuntimeError("exp throughput loop produced a wrong result")
    exps = blocks * repetitions * width
    return {
        "exps_per_call": exps,
        "threads": thread_count(),
        "median_ms": timing.median * 1e3,
        "exps_per_second": exps / timing.median,
    }


def numpy_exp_throughput(n: int, *, repeats: int = 7, warmup: int = 2) -> dict[str, Any]:
    """Exps per second of ``np.exp(x, out=y)`` (one thread), ``x`` of ``n`` elements."""
    x = np.linspace(-5.0, 5.0, n)
    y = np.empty_like(x)
    timing = measure(lambda: np.exp(x, out=y), repeats=repeats, warmup=warmup)
    return {"n": n, "threads": 1, "median_ms": timing.median * 1e3, "exps_per_second": n / timing.median}


def machine_limits(*, quick: bool = False, repeats: int = 7, warmup: int = 2) -> dict[str, Any]:
    """Triad (parallel and one thread) and exp throughput (the kernels' exp_diff and libm over the threads,
    NumPy on one), one record."""
    n = 2_000_000 if quick else 10_000_000  # full: 3 × 80 MB, 15× the 16 MiB L3
    exps = 2_000_000 if quick else 40_000_000
    triad = triad_bandwidth(n, repeats=repeats, warmup=warmup, parallel=True)
    serial = triad_bandwidth(n, repeats=repeats, warmup=warmup, parallel=False)
    exp = exp_throughput(exps, repeats=repeats, warmup=warmup)
    libm_exp = exp_throughput(exps, repeats=repeats, warmup=warmup, kernel="libm")
    np_exp = numpy_exp_throughput(min(n, 1_000_000), repeats=repeats, warmup=warmup)
    return {
        "threads": thread_count(),
        "triad_gbps": triad["gbps"],
        "triad_bytes_per_second": triad["bytes_per_second"],
        "triad_gbps_with_write_allocate": triad["gbps_with_write_allocate"],
        "triad_counting": triad["counting"],
        "triad_n": n,
        "triad_serial_gbps": serial["gbps"],
        "exps_per_second": exp["exps_per_second"],
        "libm_exps_per_second": libm_exp["exps_per_second"],
        "numpy_exps_per_second_one_thread": np_exp["exps_per_second"],
    }
