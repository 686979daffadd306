"""Sweeps give the same numbers on every executor; every task has its own recorded seed."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from verify.sweep import SerialExecutor, make_tasks, run_sweep


def draw_mean(param, rng):
    return float(rng.normal(param, 1.0, size=1000).mean())


def test_serial_processes_and_threads_agree():
    params = [0.0, 1.0, 2.0, 3.0]
    serial = run_sweep(draw_mean, params, seed=5)
    procs = run_sweep(draw_mean, params, seed=5, executor="processes")
    with ThreadPoolExecutor(2) as pool:
        threads = run_sweep(draw_mean, params, seed=5, executor=pool)
    values = [r.value for r in serial]
    assert values == [r.value for r in procs] == [r.value for r in threads]
    assert [r.param for r in serial] == params
    assert len({tuple(r.seed["spawn_key"]) for r in serial}) == len(params)


def test_seed_changes_results_and_tasks_are_independent():
    a = run_sweep(draw_mean, [0.0, 0.0], seed=1)
    b = run_sweep(draw_mean, [0.0, 0.0], seed=2)
    assert a[0].value != a[1].value and a[0].value != b[0].value


def test_a_sweep_ignoring_the_task_seed_is_detected():
    # a wrong implementation that shares one global stream gives executor-dependent results
    state = np.random.default_rng(0)

    def shared(param, rng):
        return float(state.normal())

    first = [r.value for r in run_sweep(shared, [0, 1], seed=1)]
    second = [r.value for r in run_sweep(shared, [0, 1], seed=1)]
    assert first != second


def test_serial_executor_delivers_exceptions_through_futures():
    fut = SerialExecutor().submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        fut.result()
    with pytest.raises(ValueError, match="executor"):
        run_sweep(draw_mean, [0.0], seed=0, executor="gpu-cluster")


def test_tasks_record_their_seeds():
    tasks = make_tasks(["a", "b"], seed=9, name="x")
    assert tasks[0].seed["entropy"] == 9 and tasks[0].spawn_key != tasks[1].spawn_key
    assert tasks[0].rng().random() == tasks[0].rng().random()


@pytest.mark.peers
def test_dask_local_cluster_runs_the_sweep_unchanged():
    distributed = pytest.importorskip("dask.distributed")
    params = [0.0, 1.0, 2.0]
    expected = [r.value for r in run_sweep(draw_mean, params, seed=5)]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            got = run_sweep(draw_mean, params, seed=5, executor=client.get_executor())
    assert [r.value for r in got] == expected
