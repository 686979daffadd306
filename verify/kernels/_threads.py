"""The ``parallel`` backend's threads: a kernel's serial machine code run on chunks of its loop, on all threads.

Every CPU kernel of the package is compiled once, serially and without the GIL (``nogil=True``), with the bounds
of its outer loop as its two last parameters (``kernel(*args, first, last)`` runs iterations ``first ≤ i <
min(last, count)``). The ``cpu`` backend calls it on the whole loop; the ``parallel`` backend
(:func:`run_chunks`) cuts the loop into chunks and runs them on ``numba.get_num_threads()`` threads — the calling
thread and the workers of one process-wide pool — each thread claiming the next chunk when it is done with one
(dynamic scheduling: on a machine shared with other work a descheduled thread holds up only its chunk).

Why not a second, ``prange``, variant of every kernel: compiling it costs about 2.2 times its serial twin (the
parfor passes and the outlined loop body, measured by ``verify selfcheck --backends numpy,cpu`` against
``--backends numpy,parallel`` from an empty cache: 36 s and 80 s of compiling), and that was most of a cold
``verify selfcheck``; here one machine code serves both backends, so they compute the same bits by
construction. A chunk is a whole number of the loop's iterations — elements, blocks of rows, parts of a
reduction — so chunking changes no arithmetic.

>>> import numpy as np
>>> from verify._jit import jit
>>> @jit(nogil=True, cache=False)
... def _double(a, first, last):
...     for i in range(first, min(last, a.shape[0])):
...         a[i] *= 2.0
>>> a = np.ones(10_000)
>>> _ = run_chunks(_double, (a,), a.shape[0], 1000)
>>> float(a.sum())
20000.0
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numba

__all__ = ["CHUNKS_PER_THREAD", "run_chunks", "threads"]

#: Chunks per thread at least, when the loop is long enough (each at least the kernel's ``chunk`` iterations):
#: enough that a thread delayed by other work leaves its share to the others, few enough that the Python cost
#: of claiming a chunk (a few µs) is negligible next to running it.
CHUNKS_PER_THREAD = 8

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def threads() -> int:
    """The threads a ``parallel`` kernel runs on: Numba's setting (``NUMBA_NUM_THREADS``,
    ``numba.set_num_threads``), so that the benchmarks' peers can be given the same number."""
    return int(numba.get_num_threads())


def _workers() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max(1, numba.config.NUMBA_NUM_THREADS - 1), thread_name_prefix="verify-parallel")
        return _pool


def _forget_pool_after_fork() -> None:
    # A forked child has none of its parent's threads: the pool it inherited would never run what it is given (the
    # caller would take every chunk itself). The child starts a pool of its own.
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_after_fork)


def run_chunks(kernel: Callable, args: Sequence, count: int, chunk: int) -> list:
    """Run ``kernel(*args, first, last)`` over ``range(count)`` in chunks of at least ``chunk`` iterations, on
    :func:`threads` threads; return the chunks' results, in the order of the chunks.

    One chunk, one thread, or a loop of at most ``chunk`` iterations runs in the calling thread, without the pool.

    Raises:
      ValueError: ``count`` < 0 or ``chunk`` < 1.
      Exception: the first exception a chunk raised (the other chunks are still run to the end).
    """
    if count < 0 or chunk < 1:
        raise ValueError(f"count must be >= 0 and chunk >= 1; got count={count!r}, chunk={chunk!r}")
    n_threads = threads()
    size = max(chunk, -(-count // (CHUNKS_PER_THREAD * n_threads)))
    n_chunks = -(-count // size)
    if n_threads == 1 or n_chunks <= 1:
        return [kernel(*args, 0, count)]
    results: list = [None] * n_chunks
    errors: list[BaseException] = []
    claims = itertools.count()  # next() on it is atomic under the GIL: each chunk is claimed once

    def work() -> None:
        while (c := next(claims)) < n_chunks:
            try:
                results[c] = kernel(*args, c * size, (c + 1) * size)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller below
                errors.append(exc)

    pool = _workers()
    helpers = [pool.submit(work) for _ in range(min(n_threads, n_chunks) - 1)]
    work()  # the calling thread takes chunks too: the loop finishes even if every worker is busy elsewhere
    for helper in helpers:
        if not helper.cancel():  # a worker that had not started would find nothing left to claim
            helper.result()
    if errors:
        raise errors[0]
    return results
