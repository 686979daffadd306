"""The machine's own limits, measured in the same run and with the same threads as the kernels.

- **Memory bandwidth, the limit the kernels are judged against: an in-place triad** ``a[i] += s·b[i]``
  (:func:`inplace_triad_bandwidth`), run on the same threads, handed out the same way, as the ``parallel``
  kernels (:mod:`verify.kernels._threads`). It reads ``a`` and ``b`` and writes ``a``: **3 arrays
  × 8 bytes per element, and that is its true traffic** — every line of ``a`` is read before it is
  written, so no write-allocate read is hidden in it. The kernels' bytes are counted the same way, as
  true traffic: each array read or written once, plus the write-allocate read of every array a kernel
  writes without reading it first (a fresh gradient array); an in-place optimizer step pays none.
  The limit is sampled in two **regimes**, at a footprint well inside the last-level cache and well
  outside it (:func:`limit_sizes`), so that a workload is compared with the limit of its own regime
  (cache-resident arrays are not judged against main-memory bandwidth).
- **The STREAM triad** ``a[i] = b[i] + s·c[i]`` over arrays far larger than the last-level cache, bytes
  counted the STREAM way: 3 arrays × 8 bytes per element (read ``b``, read ``c``, write ``a``), the
  write-allocate read of ``a`` **not** counted, so the true traffic is up to 4/3 of the figure
  (``gbps_with_write_allocate``). Reported for comparison with published STREAM figures; a kernel that
  updates its arrays in place can exceed 100 % of it, which is why it is not the limit used.
- **exp throughput**: exps per second of the exponential the kernels use,
  :func:`verify.kernels.elementary.exp_diff` (vectorised straight-line code), on operands resident in L1
  so that memory is not the bound, in parallel over the same threads. For context: Numba's ``math.exp``
  (a scalar libm call per element; this build has no SVML) over the same threads, and NumPy's own
  single-threaded ``np.exp``.

Reference: J. D. McCalpin, "Memory Bandwidth and Machine Balance in Current High Performance
Computers", IEEE TCCA Newsletter, 1995 (the STREAM benchmark and its byte counting).
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import numpy as np

from verify._jit import jit
from verify.bench.harness import measure
from verify.kernels._threads import run_chunks, threads
from verify.kernels.elementary import exp_diff

__all__ = [
    "TRIAD_ARRAYS",
    "INPLACE_TRIAD_ARRAYS",
    "triad_parallel",
    "triad_serial",
    "triad_inplace_parallel",
    "inplace_triad_bandwidth",
    "last_level_cache_bytes",
    "limit_sizes",
    "limit_sample",
    "regime_of",
    "exp_fill_parallel",
    "exps_into_fresh_array",
    "triad_bandwidth",
    "exp_throughput",
    "numpy_exp_throughput",
    "machine_limits",
    "thread_count",
]

#: Arrays counted per triad element (read b, read c, write a), 8 bytes each for float64.
TRIAD_ARRAYS = 3
#: Arrays moved per in-place triad element (read a, read b, write a): its true traffic.
INPLACE_TRIAD_ARRAYS = 3
#: Assumed when the operating system does not say (the figure of the machines this was written on).
DEFAULT_LAST_LEVEL_CACHE = 32 * 2**20


@jit(nogil=True)
def _triad_chunk(a, b, c, s, first, last):
    for i in range(np.uint64(first), np.uint64(min(last, a.size))):  # unsigned: no wrap-around test (_compile)
        a[i] = b[i] + s * c[i]


def triad_parallel(a, b, c, s):
    """``a[i] = b[i] + s·c[i]`` over all threads (STREAM triad), in chunks as the ``parallel`` kernels run."""
    run_chunks(_triad_chunk, (a, b, c, s), a.size, 4096)


@jit
def triad_serial(a, b, c, s):
    """``a[i] = b[i] + s·c[i]`` on one thread."""
    for i in range(a.size):
        a[i] = b[i] + s * c[i]


@jit(nogil=True)
def _triad_inplace_blocks(a, b, s, blocks, repetitions, first, last):
    n = a.size
    for t in range(first, min(last, blocks)):
        lo = t * n // blocks
        hi = (t + 1) * n // blocks
        for _ in range(repetitions):
            for i in range(lo, hi):
                a[i] = a[i] + s * b[i]


def triad_inplace_parallel(a, b, s, blocks, repetitions):
    """``a[i] = a[i] + s·b[i]``, ``repetitions`` times, over all threads: ``blocks`` contiguous blocks (one
    per thread), each swept ``repetitions`` times by the thread that claimed it, so that one hand-out of the
    work is shared by all the sweeps (a cache-resident sweep is shorter than waking a thread on a busy
    machine). Reads every line it writes: no write-allocate."""
    run_chunks(_triad_inplace_blocks, (a, b, s, blocks, repetitions), blocks, 1)


@jit
def triad_inplace_serial(a, b, s, blocks, repetitions):
    """:func:`triad_inplace_parallel` on one thread (``blocks`` is ignored): a lower bound of the machine's
    bandwidth that a busy machine cannot spoil by starving one of the threads."""
    for _ in range(repetitions):
        for i in range(a.size):
            a[i] = a[i] + s * b[i]


@jit(nogil=True)
def _exp_fill_rows(x, out, repetitions, first, last):
    for b in range(first, min(last, out.shape[0])):
        for r in range(repetitions):
            shift = r * 1e-12
            for j in range(x.size):
                out[b, j] = math.exp(x[j] - shift)


@jit(nogil=True)
def _exp_diff_fill_rows(x, out, repetitions, first, last):
    for b in range(first, min(last, out.shape[0])):
        for r in range(repetitions):
            shift = r * 1e-12
            for j in range(x.size):
                out[b, j] = exp_diff(x[j], shift)


def exp_fill_parallel(x, out, repetitions):
    """``out[b, j] = exp(x[j] − r·1e-12)`` (libm) for every block ``b`` and repetition ``r``, over all threads.

    ``x`` and each row of ``out`` fit in L1, so the loop is bound by ``exp`` and not by memory; the
    shift by ``r·1e-12`` keeps the compiler from hoisting the exps out of the repetition loop.
    """
    run_chunks(_exp_fill_rows, (x, out, repetitions), out.shape[0], 1)


def exp_diff_fill_parallel(x, out, repetitions):
    """``out[b, j] = exp_diff(x[j], r·1e-12)``, the kernels' exponential, in the loop of :func:`exp_fill_parallel`."""
    run_chunks(_exp_diff_fill_rows, (x, out, repetitions), out.shape[0], 1)


#: Elements per chunk of :func:`exps_into_fresh_array` (16 KiB of float64 in and out: L1-sized pieces).
_EXP_PASS_BLOCK = 2048


@jit(nogil=True)
def _exp_diff_blocks(x, out, first, last):
    for b in range(first, min(last, (x.size + _EXP_PASS_BLOCK - 1) // _EXP_PASS_BLOCK)):
        # unsigned: a signed index gets a wrap-around test per access and stops vectorising
        for j in range(np.uint64(b * _EXP_PASS_BLOCK), np.uint64(min((b + 1) * _EXP_PASS_BLOCK, x.size))):
            out[j] = exp_diff(x[j], 0.0)


def exps_into_fresh_array(x: np.ndarray) -> np.ndarray:
    """``exp_diff(x, 0)`` of every entry of ``x`` (float64, C-contiguous), returned as a freshly allocated array of
    ``x``'s shape, over all threads in the kernels' chunks.

    The least work of any kernel that evaluates ``x.size`` exps and returns a new array of ``x``'s size (a loss's
    gradient): its exps, reading ``x``, writing the output, and the operating system's first touch of the fresh
    pages. Timed beside such a kernel, it is the ceiling the machine puts on it, in the same run.

    Raises:
      TypeError: ``x`` not a NumPy array, not float64, or not C-contiguous (each said).
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a numpy array; got {type(x).__name__}")
    if x.dtype != np.float64:
        raise TypeError(f"x must have dtype float64; got {x.dtype}")
    if not x.flags.c_contiguous:
        raise TypeError(f"x must be C-contiguous; got shape {x.shape} with strides {x.strides}")
    out = np.empty_like(x)
    flat = x.reshape(-1)
    run_chunks(_exp_diff_blocks, (flat, out.reshape(-1)), -(-flat.size // _EXP_PASS_BLOCK), 1)
    return out


def thread_count() -> int:
    """Threads the ``parallel`` kernels and the triad run on (:func:`verify.kernels._threads.threads`)."""
    return threads()


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


#: Bytes one timed call of the in-place triad moves at least (repeated sweeps): 0.5 GB, tens of milliseconds,
#: so that starting the thread pool (milliseconds on a busy machine) is a small part of a call.
INPLACE_TRIAD_CALL_BYTES = 5 * 10**8


def inplace_triad_bandwidth(n: int, *, repeats: int = 5, warmup: int = 1, parallel: bool = True,
                            call_bytes: int = INPLACE_TRIAD_CALL_BYTES) -> dict[str, Any]:
    """In-place triad ``a += s·b`` over ``n`` float64 elements, on all threads (or one): GB/s of true traffic
    (3 arrays × 8 bytes per element and sweep, no write-allocate), median and best of ``repeats`` timed
    calls, each sweeping the arrays enough times to move ``call_bytes``."""
    if n < 1:
        raise ValueError(f"n must be >= 1; got {n!r}")
    a, b = _inplace_buffers(n)
    a.fill(1.0)
    sweep = INPLACE_TRIAD_ARRAYS * 8 * n
    sweeps = max(1, -(-call_bytes // sweep))
    blocks = thread_count()
    kernel = triad_inplace_parallel if parallel else triad_inplace_serial
    timing = measure(lambda: kernel(a, b, 2.0, blocks, sweeps), repeats=repeats, warmup=warmup)
    if not np.all(a[:: max(1, n // 1000)] == 1.0 + (warmup + repeats) * sweeps):  # each sweep added 2·0.5
        raise RuntimeError("in-place triad produced a wrong result")
    traffic = sweep * sweeps
    return {
        "n": n,
        "sweeps_per_call": sweeps,
        "footprint_bytes": 2 * 8 * n,
        "threads": thread_count() if parallel else 1,
        "median_ms": timing.median * 1e3,
        "min_ms": timing.best * 1e3,
        "bytes_per_call": traffic,
        "gbps": traffic / timing.median / 1e9,
        "best_gbps": traffic / timing.best / 1e9,
        "counting": "in place a += s*b: read a, read b, write a = 3 arrays x 8 bytes per element and sweep, the "
                    "true traffic (a is read before it is written: no write-allocate)",
    }


@functools.lru_cache(maxsize=2)
def _inplace_buffers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The in-place triad's arrays, kept between samples: a sample then pays no page faults."""
    return np.ones(n), np.full(n, 0.5)


def last_level_cache_bytes() -> tuple[int, str]:
    """The size of the largest CPU cache and where the figure comes from (sysfs, or an assumption)."""
    sizes = []
    for index in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*"):
        try:
            text = (index / "size").read_text().strip().upper()
        except OSError:
            continue
        scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:], 1)
        digits = text.rstrip("KMG")
        if digits.isdigit():
            sizes.append(int(digits) * scale)
    if sizes:
        return max(sizes), "sysfs"
    return DEFAULT_LAST_LEVEL_CACHE, "assumed (the operating system did not say)"


def limit_sizes(llc_bytes: int) -> dict[str, int]:
    """Elements of the in-place triad in each regime: ``cache`` a footprint of a quarter of the last-level
    cache, ``memory`` at least 8 times it (and 10⁷ elements: 160 MB)."""
    return {"cache": max(1024, llc_bytes // 4 // 16), "memory": max(10_000_000, 8 * llc_bytes // 16)}


def limit_sample(sizes: dict[str, int], *, repeats: int = 3,
                 call_bytes: int = INPLACE_TRIAD_CALL_BYTES) -> dict[str, dict[str, float]]:
    """One sample of the limit in each regime: the in-place triad on all threads and on one, and the better
    of the two (``"best"``), in GB/s. The machine can stream at least as fast as either; on a busy machine
    the one-thread loop is often the faster (one thread is scheduled more readily than all)."""
    out = {}
    for regime, n in sizes.items():
        parallel = inplace_triad_bandwidth(n, repeats=repeats, call_bytes=call_bytes)["gbps"]
        serial = inplace_triad_bandwidth(n, repeats=repeats, parallel=False, call_bytes=call_bytes)["gbps"]
        out[regime] = {"parallel": parallel, "serial": serial, "best": max(parallel, serial)}
    return out


def limit_call_bytes(quick: bool) -> int:
    """Bytes per timed call of the limit's triad: :data:`INPLACE_TRIAD_CALL_BYTES`, a fifth of it for
    ``--quick`` (one sweep of the main-memory arrays)."""
    return INPLACE_TRIAD_CALL_BYTES // 5 if quick else INPLACE_TRIAD_CALL_BYTES


def regime_of(footprint_bytes: float, llc_bytes: int) -> str:
    """``"cache"`` for a footprint of at most half the last-level cache, ``"memory"`` for at least 4 times
    it, ``"between"`` otherwise (partly cached: neither limit applies, no fraction is given)."""
    if footprint_bytes <= llc_bytes / 2:
        return "cache"
    if footprint_bytes >= 4 * llc_bytes:
        return "memory"
    return "between"


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
    """STREAM triad (parallel and one thread), the in-place triad in both regimes, and exp throughput (the
    kernels' exp_diff and libm over the threads, NumPy on one), one record. The in-place triad is sampled
    again between the workloads by ``verify bench``; these are the first samples."""
    n = 2_000_000 if quick else 10_000_000  # full: 3 × 80 MB, 7.5× a 32 MiB L3
    exps = 2_000_000 if quick else 40_000_000
    llc, llc_source = last_level_cache_bytes()
    sizes = limit_sizes(llc)
    inplace = limit_sample(sizes, repeats=max(repeats, 3), call_bytes=limit_call_bytes(quick))
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
        "last_level_cache_bytes": llc,
        "last_level_cache_source": llc_source,
        "triad_inplace_gbps": inplace["memory"]["best"],
        "triad_inplace_cache_gbps": inplace["cache"]["best"],
        "triad_inplace_first_sample": inplace,
        "triad_inplace_footprint_bytes": {regime: 16 * m for regime, m in sizes.items()},
        "triad_inplace_counting": "in place a += s*b: read a, read b, write a = 3 arrays x 8 bytes per element "
                                  "and sweep, the true traffic (a is read before it is written: no "
                                  "write-allocate); the better of all threads and one thread",
    }
