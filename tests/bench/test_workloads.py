"""Workloads on tiny (--quick) sizes: every implementation is timed on the same data or skipped with why.

Nothing here asserts a speed; the figures are only checked to be present and consistent.
"""

import sys

import numpy as np
import pytest

from verify.bench import workloads
from verify.bench.harness import BenchConfig

QUICK = BenchConfig(quick=True, repeats=1, warmup=1, triad_bytes_per_second=1e10, exps_per_second=1e8)


def _names(result):
    return [m.implementation for m in result.measurements]


@pytest.mark.parametrize("name", ["softmax_cross_entropy", "logistic", "hinge", "adam", "adamw", "momentum", "nadam",
                                  "lion"])
def test_kernel_workloads_time_numpy_baseline_and_each_backend(name):
    result = workloads.WORKLOADS[name](QUICK)
    assert result.skipped is None
    assert _names(result)[:3] == ["numpy", "cpu", "parallel"]
    for m in result.measurements[:3]:
        assert m.timing is not None, m.skipped
    for m in result.measurements[1:3]:
        assert m.ratios["speedup_over_numpy"] > 0
        assert m.ratios["fraction_of_triad"] == pytest.approx(m.ratios["traffic_gbps"] * 1e9 / 1e10)
    peers = [m for m in result.measurements if m.role == "peer"]
    assert peers, "a peer row (timed or skipped with why) is always present"
    assert all(m.timing is not None or m.skipped for m in peers)


def test_network_workload_times_every_backend_against_torch_on_the_same_parameters():
    result = workloads.network(QUICK)
    if result.skipped:
        pytest.skip(result.skipped)
    assert result.size == "batch 64, 784-256-256-10"
    assert _names(result)[:3] == ["numpy", "cpu", "parallel"]
    assert all(m.timing is not None for m in result.measurements[:3]), [m.skipped for m in result.measurements]
    assert [v["target"] for v in result.target_verdicts()] == ["parallel speedup_over_torch >= 1"]


def test_bias_variance_counts_training_sets_per_second():
    result = workloads.bias_variance(QUICK)
    if result.skipped:
        pytest.skip(result.skipped)
    assert result.item_name == "training set"
    for m in result.measurements:
        assert m.timing is not None, m.skipped
        assert m.items == 1_000.0 and m.throughput == pytest.approx(1_000.0 / m.timing.median)
    assert "speedup_over_numpy" in result.measurements[1].ratios


def test_softmax_ce_counts_bytes_and_exps_and_carries_the_issue_targets():
    result = workloads.softmax_cross_entropy(QUICK)
    n, k = 20_000, 10
    assert result.bytes_per_call == 8 * (2 * n * k + n) and result.exps_per_call == n * k
    assert result.write_allocate_bytes == 8 * n * k  # the gradient is a fresh array
    assert [v["target"] for v in result.target_verdicts()] == [
        "parallel speedup_over_numpy >= 3", "parallel speedup_over_torch >= 2.5"]


def test_optimizer_byte_counts_follow_the_arrays_each_step_moves():
    for rule, arrays in (("adam", 7), ("momentum", 5), ("adadelta", 7)):  # adadelta: theta, g, v, u read; theta, v, u written
        result = workloads.WORKLOADS[rule](QUICK)
        assert result.bytes_per_call == arrays * 8 * 100_000
        assert not result.write_allocate_bytes  # in place: every array written was read first


def test_adam_and_adamw_carry_the_target_against_torchs_fused_step_and_every_torch_form_is_timed():
    result = workloads.adamw(QUICK)
    assert "parallel paired_speedup_over_torch >= 1" in [v["target"] for v in result.target_verdicts()]
    peers = [m.implementation for m in result.measurements if m.role == "peer"]
    assert peers == ["torch", "torch-foreach", "torch-fused"] or peers == ["torch"]  # "torch" alone: skipped
    if "torch-fused" in peers:  # timed in pairs with ours, beside the ratio of medians of the table's column
        parallel = result.get("parallel")
        assert parallel.extra["paired_with"] == "torch-fused" and parallel.extra["paired_speedups"]["n"] == QUICK.repeats
        assert {"speedup_over_torch", "paired_speedup_over_torch"} <= set(parallel.ratios)
    assert [m.implementation for m in workloads.rmsprop(QUICK).measurements if m.role == "peer"] in (
        ["torch", "torch-foreach"], ["torch"])
    assert workloads.lion(QUICK).get("torch").skipped == "torch.optim has no lion"


def test_backends_are_chosen_by_the_config_and_numpy_is_always_the_baseline():
    config = BenchConfig(quick=True, repeats=1, warmup=0, backends=("parallel",), peers=False)
    result = workloads.hinge(config)
    assert _names(result) == ["numpy", "parallel", "torch"]
    assert result.get("torch").skipped == "peers disabled (--no-peers)"


def test_a_missing_module_skips_the_workload_with_the_reason(monkeypatch):
    monkeypatch.setitem(sys.modules, "verify.kernels.network", None)  # import now fails
    result = workloads.network(QUICK)
    assert result.measurements == []
    assert result.skipped.startswith("verify.kernels.network is not available")


def test_a_kernel_that_raises_is_skipped_alone_and_the_others_still_run(monkeypatch):
    from verify.kernels import losses

    real = losses.hinge

    def wrong(prediction, target, *, backend=None, **kw):
        if backend == "cpu":
            raise NotImplementedError("hinge has no 'cpu' backend")
        return real(prediction, target, backend=backend, **kw)

    monkeypatch.setattr(losses, "hinge", wrong)
    result = workloads.hinge(QUICK)
    assert result.get("cpu").skipped == "raised NotImplementedError: hinge has no 'cpu' backend"
    assert result.get("parallel").timing is not None and result.get("numpy").timing is not None


def test_missing_torch_is_a_skipped_peer(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    result = workloads.logistic(QUICK)
    assert result.get("torch").skipped.startswith("torch is not installed")
    assert "speedup_over_torch" not in result.get("parallel").ratios


def test_torch_peer_uses_the_same_data_and_numba_thread_count():
    torch = pytest.importorskip("torch")
    result = workloads.softmax_cross_entropy(QUICK)
    assert result.get("torch").timing is not None
    assert "speedup_over_torch" in result.get("parallel").ratios
    import numba

    assert torch.get_num_threads() == numba.get_num_threads()


def test_check_gradient_throughput_counts_examples(monkeypatch):
    result = workloads.check_gradient_throughput(QUICK)
    if result.skipped:
        pytest.skip(result.skipped)
    for name in ("check_gradient, numpy f", "check_gradient, stacked kernel f",
                 "check_gradient, kernel f one point per call"):
        ours = result.get(name)
        assert ours.timing is not None, ours.skipped
        assert ours.items == 1.0 and ours.throughput == pytest.approx(1.0 / ours.timing.median)
    assert result.get("check_gradient, numpy f").extra["vectorized"] is True
    assert result.get("check_gradient, stacked kernel f").extra["vectorized"] is True
    assert result.get("check_gradient, kernel f one point per call").extra["vectorized"] is False


def test_stacked_kernel_loss_is_the_mean_loss_of_each_point():
    from verify.kernels import losses

    rng = np.random.default_rng(2)
    z, y = 3.0 * rng.standard_normal((4, 10)), rng.integers(0, 10, 4)
    stack = np.stack([z, z - 2.0, 0.5 * z])
    expected = [losses.softmax_cross_entropy(p, y, backend="cpu")[0] for p in stack]
    np.testing.assert_allclose(workloads._stacked_loss(losses.softmax_cross_entropy, stack, y), expected, rtol=1e-14)
    assert workloads._stacked_loss(losses.softmax_cross_entropy, z, y) == pytest.approx(expected[0], rel=1e-14)
    # a stack whose labels were not repeated per point would pair rows with the wrong classes: caught here
    shuffled = np.stack([z[::-1], z, z])
    assert not np.allclose(workloads._stacked_loss(losses.softmax_cross_entropy, shuffled, y)[0], expected[0],
                           rtol=1e-14)


def test_numpy_softmax_ce_of_the_check_gradient_workload_matches_the_kernel_and_stacks():
    from verify.kernels import losses

    rng = np.random.default_rng(1)
    z, y = 5.0 * rng.standard_normal((4, 10)), rng.integers(0, 10, 4)
    value = workloads._softmax_ce_numpy(z, y)
    assert value == pytest.approx(losses.softmax_cross_entropy(z, y, backend="numpy")[0], rel=1e-14)
    stack = np.stack([z, z + 1.0, 2.0 * z])
    expected = [losses.softmax_cross_entropy(p, y, backend="numpy")[0] for p in stack]
    np.testing.assert_allclose(workloads._softmax_ce_numpy(stack, y), expected, rtol=1e-14)
    # large logits: the max shift keeps it finite and exact, where the unshifted formula overflows
    big = 800.0 * rng.standard_normal((4, 10))
    reference = losses.softmax_cross_entropy(big, y, backend="numpy")[0]
    assert workloads._softmax_ce_numpy(big, y) == pytest.approx(reference, rel=1e-14)
    with np.errstate(over="ignore"):
        unshifted = np.mean(np.log(np.sum(np.exp(big), axis=-1)) - big[np.arange(4), y])
    assert not unshifted == pytest.approx(reference, rel=1e-14)  # the comparison does catch a wrong one


def test_claim_suite_runs_every_claim_once_and_counts_verdicts(monkeypatch):
    from verify.claims import registry

    calls = []

    def check(ctx):
        calls.append(ctx.quick)
        return registry.Outcome("holds", {})

    fake = [registry.Claim(id=f"t.{i}", statement="s", source="test", kind="identity", check=check) for i in range(3)]
    monkeypatch.setattr(registry, "all_claims", lambda: fake)
    result = workloads.claim_suite(QUICK)
    assert calls == [True, True, True]
    m = result.measurements[0]
    assert m.extra["verdicts"] == {"holds": 3} and len(m.timing.seconds) == 1


def test_every_compile_probe_names_a_workload_or_the_machine():
    for name in workloads.COMPILE_PROBES:
        prefix = name.rsplit(".", 1)[0]
        assert prefix == "machine" or prefix in workloads.WORKLOADS
    for probes in workloads.WORKLOAD_PROBES.values():
        assert set(probes) <= set(workloads.COMPILE_PROBES)


def test_network_parameters_are_stored_like_torch_linear():
    weights, biases = workloads._network_parameters(np.random.default_rng(0), (784, 256, 10))
    assert [w.shape for w in weights] == [(256, 784), (10, 256)]
    assert [b.shape for b in biases] == [(256,), (10,)]


def test_layer_corpus_rows_count_caught_and_false_alarms_per_tool(monkeypatch):
    pytest.importorskip("torch")
    from verify.checks import layer_corpus

    dense = tuple(c for c in layer_corpus.LAYER_CASES if c.layer == "dense" and c.framework == "torch")
    monkeypatch.setattr(layer_corpus, "LAYER_CASES", dense)
    result = workloads.WORKLOADS["layer_corpus"](QUICK)
    rows = {m.implementation: m for m in result.measurements}
    mine = rows["verify"].extra
    assert mine["wrong"] == sum(c.wrong for c in dense) and mine["caught"] == mine["wrong"]
    assert mine["right"] == sum(not c.wrong for c in dense) and mine["false_alarms"] == 0
    assert rows["torch.autograd.gradcheck"].extra["wrong"] == mine["wrong"]


def test_the_torch_peer_computes_the_gradient_afresh_on_every_timed_call():
    torch = pytest.importorskip("torch")
    x = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64, requires_grad=True)
    calls = []

    def loss():
        calls.append(1)
        return (x * x).sum()

    measured = workloads._torch_backward_peer(QUICK, lambda t: ([x], loss))
    assert measured.timing is not None and len(calls) >= 2
    # cleared before each call: one call's gradient 2x, not the sum over every call (accumulated: len(calls)·2x)
    assert torch.equal(x.grad, 2 * x.detach())
