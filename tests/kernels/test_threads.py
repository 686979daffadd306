"""The parallel backend's threads: every iteration run once, on several threads, errors handed back, fork-safe."""

from __future__ import annotations

import multiprocessing
import threading

import numba
import numpy as np
import pytest

from verify.kernels import _threads
from verify.kernels._threads import CHUNKS_PER_THREAD, run_chunks

TWO = min(2, numba.config.NUMBA_NUM_THREADS)


@pytest.fixture
def two_threads():
    previous = numba.get_num_threads()
    numba.set_num_threads(TWO)
    yield TWO
    numba.set_num_threads(previous)


def _recorder():
    seen: list[tuple[int, int]] = []

    def kernel(tag, first, last):
        seen.append((first, last))
        return (tag, first)

    return seen, kernel


@pytest.mark.parametrize("count", [0, 1, 7, 1000, 12345])
@pytest.mark.parametrize("chunk", [1, 3, 64])
def test_every_iteration_is_run_exactly_once(two_threads, count, chunk):
    seen, kernel = _recorder()
    results = run_chunks(kernel, ("t",), count, chunk)
    covered = np.zeros(count, dtype=int)
    for first, last in seen:
        covered[first:min(last, count)] += 1
    assert np.all(covered == 1), (count, chunk, sorted(seen))
    assert [first for _, first in results] == sorted(first for first, _ in seen)  # results in the chunks' order
    sizes = {min(last, count) - first for first, last in seen}
    assert count == 0 or min(sizes) >= 1 and max(sizes) >= min(chunk, count)


def test_a_long_loop_is_cut_into_several_chunks_per_thread(two_threads):
    seen, kernel = _recorder()
    run_chunks(kernel, ("t",), 1_000_000, 10)
    assert len(seen) == CHUNKS_PER_THREAD * two_threads


@pytest.mark.skipif(TWO < 2, reason="Numba allows one thread here (NUMBA_NUM_THREADS=1)")
def test_the_chunks_run_on_two_threads_at_once(two_threads):
    # Both threads must be inside the kernel at the same time to pass the barrier: a loop run on one thread
    # (or on two taking turns) breaks it after the timeout.
    barrier = threading.Barrier(2, timeout=30)
    arrived: set[int] = set()

    def kernel(first, last):
        ident = threading.get_ident()
        if ident not in arrived:
            arrived.add(ident)
            barrier.wait()

    run_chunks(kernel, (), 64, 1)
    assert len(arrived) == 2


def test_one_thread_runs_the_whole_loop_in_one_call():
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        seen, kernel = _recorder()
        run_chunks(kernel, ("t",), 10_000, 1)
    finally:
        numba.set_num_threads(previous)
    assert seen == [(0, 10_000)]


def test_an_error_in_a_chunk_reaches_the_caller(two_threads):
    def kernel(first, last):
        if first <= 500 < last:
            raise ZeroDivisionError(f"chunk at {first}")

    with pytest.raises(ZeroDivisionError, match="chunk at"):
        run_chunks(kernel, (), 1000, 1)


@pytest.mark.parametrize(("count", "chunk"), [(-1, 1), (10, 0)])
def test_bad_bounds_are_refused(count, chunk):
    with pytest.raises(ValueError, match=f"count={count}, chunk={chunk}"):
        run_chunks(lambda first, last: None, (), count, chunk)


def _child_runs_a_parallel_loop(queue) -> None:
    seen, kernel = _recorder()
    run_chunks(kernel, ("t",), 10_000, 1)
    queue.put(sum(min(last, 10_000) - first for first, last in seen))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform")
def test_a_forked_child_gets_its_own_pool(two_threads):
    run_chunks(_recorder()[1], ("t",), 10_000, 1)  # the parent's pool exists and has threads
    assert TWO < 2 or _threads._pool is not None
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_runs_a_parallel_loop, args=(queue,))
    child.start()
    child.join(60)
    assert child.exitcode == 0, "the child hung or failed on the pool it inherited"
    assert queue.get(timeout=10) == 10_000
