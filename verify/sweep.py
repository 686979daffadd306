"""Monte-Carlo sweeps through any :class:`concurrent.futures.Executor`.

A sweep evaluates ``fn(param, rng)`` for every ``param`` of a grid. Every task carries its own seed,
``SeedSequence(seed, spawn_key=(crc32(name), index))``, so the results do not depend on which
executor ran them, in which order, or on how many workers: serial in-process (the default), local
processes (``executor="processes"``), or a ``dask.distributed`` cluster through
``client.get_executor()`` (the ``dask`` extra), all give the same numbers.

``fn`` must be importable by the workers (a module-level function) when the executor runs
in other processes.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any

import numpy as np

__all__ = ["SerialExecutor", "Task", "TaskResult", "make_tasks", "run_sweep"]


class SerialExecutor(Executor):
    """An :class:`~concurrent.futures.Executor` that runs each task at once, in the calling thread."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - delivered through the future, like any executor
            future.set_exception(exc)
        return future


@dataclasses.dataclass(frozen=True)
class Task:
    """One point of a sweep: its index, its parameter and its own seed."""

    index: int
    param: Any
    entropy: int
    spawn_key: tuple[int, ...]

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(self.entropy, spawn_key=self.spawn_key))

    @property
    def seed(self) -> dict[str, Any]:
        return {"entropy": self.entropy, "spawn_key": list(self.spawn_key)}


@dataclasses.dataclass(frozen=True)
class TaskResult:
    index: int
    param: Any
    seed: dict[str, Any]
    value: Any


def make_tasks(params: Iterable[Any], *, seed: int, name: str = "sweep") -> list[Task]:
    """The tasks of a sweep, each with its own reproducible seed."""
    tag = zlib.crc32(name.encode())
    return [Task(i, p, int(seed), (tag, i)) for i, p in enumerate(params)]


def _run(fn: Callable[[Any, np.random.Generator], Any], task: Task) -> TaskResult:
    return TaskResult(task.index, task.param, task.seed, fn(task.param, task.rng()))


def run_sweep(
    fn: Callable[[Any, np.random.Generator], Any],
    params: Sequence[Any],
    *,
    seed: int,
    executor: Executor | str | None = None,
    name: str = "sweep",
) -> list[TaskResult]:
    """``[fn(p, rng_p) for p in params]`` through ``executor``, in the order of ``params``.

    ``executor``: ``None`` or ``"serial"`` (in-process), ``"processes"`` (a local
    :class:`~concurrent.futures.ProcessPoolExecutor`, shut down afterwards), or any ``Executor``
    instance (left running: its owner shuts it down), e.g. ``dask.distributed.Client.get_executor()``.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable; got {fn!r}")
    tasks = make_tasks(params, seed=seed, name=name)
    owned: Executor | None = None
    if executor is None or executor == "serial":
        pool: Executor = SerialExecutor()
    elif executor == "processes":
        # "spawn", not fork: forking a process whose Numba/OpenMP/BLAS (or JAX) threads are running
        # can deadlock the child.
        owned = pool = ProcessPoolExecutor(max_workers=max(1, min(len(tasks), os.cpu_count() or 1)),
                                           mp_context=multiprocessing.get_context("spawn"))
    elif isinstance(executor, Executor) or hasattr(executor, "submit"):
        pool = executor  # type: ignore[assignment]
    else:
        raise ValueError(f"executor must be None, 'serial', 'processes' or an Executor; got {executor!r}")
    try:
        futures = [pool.submit(_run, fn, t) for t in tasks]
        results = [f.result() for f in futures]
    finally:
        if owned is not None:
            owned.shutdown()
    return sorted(results, key=lambda r: r.index)
