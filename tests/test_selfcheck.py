"""``verify selfcheck``: every kernel of the catalogues on every CPU backend; each check fails on a wrong kernel.

The catalogue is built from the kernel modules' own catalogues, so these tests count what it must hold
rather than list it. Every check is shown to fail on a wrong kernel: each kernel is replaced, on one
backend only, by one whose outputs are off by a relative 1e-3 (far above any rounding), and selfcheck
must flag exactly that backend; realistic mistakes follow (an unshifted logsumexp, σ(1 − σ), a mean
divided by the wrong count, Adam without bias correction, a fault that shows only in large batches,
training loops that do not reshuffle, restart the step count or reset the state).
"""

import argparse
import functools

import numpy as np
import pytest

from verify.checks import selfcheck
from verify.kernels import activations as act
from verify.kernels import losses as los
from verify.kernels import network as net
from verify.kernels import optimizers as opt
from verify.kernels import training

TINY = selfcheck.Sample(examples=1, seed=selfcheck.SEED, tile_elements=1 << 10)


def _args(*argv):
    parser = argparse.ArgumentParser()
    selfcheck.add_arguments(parser)
    return parser.parse_args(list(argv))


def _item(name):
    return next(i for i in selfcheck.catalogue() if i.name == name)


def test_the_catalogue_is_built_from_the_kernel_catalogues():
    items = selfcheck.catalogue()
    names = [i.name for i in items]
    assert len(names) == len(set(names))
    expected = [*act.ACTIVATIONS, *(f"{a}′" for a in act.ACTIVATIONS), "softmax", "log_softmax", "logsumexp",
                *los.LOSSES, *(f"network[{h}]" for h in net.NETWORK_LOSSES)]
    for rule, spec in opt.RULES.items():
        expected.append(rule)
        for option, values in spec.options.items():
            for v in values:
                if v != spec.defaults.get(option):
                    needed = {k: c for k, c in opt.OPTION_PREREQUISITES.get((option, v), {}).items()
                              if k in spec.options}
                    choice = needed | {option: v}
                    if {"decoupled_weight_decay", "decay_scale"} & set(choice) and "weight_decay" in spec.optional:
                        choice["weight_decay"] = 0.01  # a decay option means nothing with no decay
                    expected.append(f"{rule}[" + ", ".join(f"{k}={c}" for k, c in choice.items()) + "]")
    assert set(expected) <= set(names)
    assert "sgd[decoupled_weight_decay=True, decay_scale=schedule, weight_decay=0.01]" in names
    # every optional hyperparameter switched on, once per rule that has them (Nesterov defines no dampening)
    assert "rmsprop[weight_decay=0.01, momentum=0.9]" in names
    assert "adagrad[weight_decay=0.01, lr_decay=0.01, initial_accumulator_value=0.1]" in names
    assert "momentum[weight_decay=0.01, dampening=0.1]" in names and "nesterov[weight_decay=0.01]" in names
    assert "adamw[amsgrad=True, amsgrad_max=v_hat]" in names
    families = {i.family for i in items}
    assert families == set(selfcheck.FAMILIES)
    assert {n.split("[")[0] for n in names if n.startswith(("minibatch_sgd", "full_batch_gd"))} == {
        "minibatch_sgd", "full_batch_gd"}


def test_the_optimizer_problems_reach_radams_rectified_step():
    # RAdam switches to its rectified step once rho_t > 5 (Liu et al. 2020); no drawn run reached it.
    for dtype in (np.float64, np.float32):
        problems = selfcheck._optimizer_problems("radam", np.dtype(dtype), selfcheck.Sample())
        rho = []
        for _, grads, hyper in problems:
            b2 = float(hyper["beta2"])
            rho_inf = 2.0 / (1.0 - b2) - 1.0
            rho += [rho_inf - 2.0 * t * b2**t / (1.0 - b2**t) for t in range(1, grads.shape[0] + 1)]
        assert max(rho) > 5.0


def test_the_network_of_the_catalogue_holds_every_layer_kind_with_every_activation():
    network = selfcheck.catalogue_network("least_squares")
    pairs = {(layer.kind, layer.activation) for layer in network.layers}
    assert pairs == {(k, a) for k in net.LAYER_KINDS for a in act.ACTIVATIONS}
    assert all(layer.weight_shape[0] >= 2 for layer in network.layers if layer.kind == "conv1d")


def test_edge_values_and_seeded_draws_are_reproducible():
    for dtype in (np.float32, np.float64):
        values = selfcheck.edge_values(dtype)
        info = np.finfo(dtype)
        assert values.dtype == dtype and np.all(np.isfinite(values))
        assert {float(info.max), -float(info.max), float(info.smallest_subnormal), 0.0} <= set(values.tolist())
        assert np.array_equal(values, -values[::-1])  # symmetric
    from hypothesis import strategies as st

    first = selfcheck.seeded_draws(st.integers(0, 10**9), 5, seed=3)
    assert first == selfcheck.seeded_draws(st.integers(0, 10**9), 5, seed=3)
    assert first != selfcheck.seeded_draws(st.integers(0, 10**9), 5, seed=4)
    assert len(first) == 5 and first[0] == 0  # the simplest example first


def test_selfcheck_passes_and_prints_an_aligned_table(capsys):
    status = selfcheck.run(_args("--examples=2", "--only=tanh,relu',hinge,sgd,minibatch_sgd[sgd]",
                                 "--dtypes=float64", "--jobs=1"))
    out = capsys.readouterr().out
    assert status == 0, out
    sgd_items = 1 + sum(v != opt.RULES["sgd"].defaults[o] for o, vs in opt.RULES["sgd"].options.items() for v in vs)
    sgd_items += bool(opt.RULES["sgd"].optional)  # and with its optional hyperparameters (weight decay) on
    kernels = 4 + sgd_items  # tanh, relu′, hinge, minibatch_sgd[sgd] and sgd with each option choice
    assert f"{3 * kernels}/{3 * kernels} checks agree ({kernels} kernels × 3 backends × 1 dtypes)" in out
    table = [line for line in out.splitlines() if line.startswith(("activations", "losses", "optim", "training"))]
    assert len(table) == kernels and len({len(line) for line in table}) == 1  # columns aligned
    assert "relu′" in out


def test_the_numpy_softmax_family_is_right_at_the_largest_logits():
    """Issue 18 item 7: a row holding both −max and +max gave NaN on the NumPy backend."""
    for which in ("softmax", "log_softmax", "logsumexp"):
        outcomes = selfcheck.judge_item(_item(which), ("numpy",), np.float64, TINY)
        assert outcomes["numpy"].agrees, outcomes["numpy"].failure


def test_unknown_names_and_bad_options_are_errors(capsys):
    assert selfcheck.run(_args("--only=swish")) == 2
    assert "unknown kernel(s) ['swish']" in capsys.readouterr().err
    assert selfcheck.run(_args("--backends=cuda")) == 2
    assert selfcheck.run(_args("--dtypes=float16")) == 2
    assert selfcheck.run(_args("--examples=0")) == 2
    assert selfcheck.run(_args("--jobs=0")) == 2


def _judged_rows(out: str) -> list[list[str]]:
    """The table's rows without the two time columns (which differ from run to run)."""
    rows = [line.split() for line in out.splitlines() if line.startswith(("activations", "losses", "optim"))]
    return sorted(row[:-2] for row in rows)


def test_several_processes_judge_the_same_inputs_as_one(capsys):
    """--jobs divides the work between processes: the same kernels, inputs and verdicts (to the last digit of
    each worst error) as in one process, and the time split into compiling and checking."""
    argv = ("--only=tanh,hinge,sgd[maximize=True]",)  # 8 draws: enough for Hypothesis to mine the source's constants
    assert selfcheck.run(_args(*argv, "--jobs=1")) == 0
    alone = capsys.readouterr().out
    assert selfcheck.run(_args(*argv, "--jobs=2")) == 0
    shared = capsys.readouterr().out
    assert _judged_rows(shared) == _judged_rows(alone) and len(_judged_rows(alone)) == 6
    assert "; 2 processes" in shared and "in 2 processes: compiling" in shared
    assert "s of work: compiling" in alone


def test_a_disagreement_found_in_a_worker_process_is_reported(monkeypatch):
    """What a worker sends back keeps the failure's message (its details, which may not pickle, stay behind)."""
    import queue

    real = act.activation

    def wrong(name, x, backend=None):
        out = real(name, x, backend=backend)
        return out * 1.001 if backend == "cpu" else out

    monkeypatch.setattr(act, "activation", wrong)
    sent = queue.Queue()
    monkeypatch.setattr(selfcheck, "_WORKER", {})
    selfcheck._worker_start(sent, ("numpy", "cpu"), TINY)
    assert selfcheck._worker_chain([("tanh", "float64")]) == 1
    result = sent.get_nowait()
    assert result.outcomes["numpy"].agrees and not result.outcomes["cpu"].agrees
    assert "tanh" in str(result.outcomes["cpu"].failure)
    assert result.outcomes["cpu"].failure.details == {}


def test_an_error_inside_a_worker_process_reaches_the_caller():
    """Not a disagreement but a bug (here: a kernel the worker's catalogue does not have): raised, not hung on."""
    ghost = selfcheck.Item("losses", "no_such_loss", "rows", lambda dtype, sample: None)
    with pytest.raises(KeyError, match="no_such_loss"):
        list(selfcheck._results([ghost, _item("hinge")], [np.dtype(np.float64)], ("numpy",), TINY, jobs=2))


def test_kernels_sharing_compiled_code_are_chained_in_one_process():
    items = selfcheck.catalogue()
    keys = {i.name: selfcheck._chain_key(i) for i in items}
    assert keys["adamw"] == keys["adam"] and keys["nesterov"] == keys["momentum"]
    assert len({k for n, k in keys.items() if n.startswith(("tanh", "relu"))}) == 1  # one activation kernel
    chains = selfcheck._chains(items, [np.dtype(np.float64)])
    assert sum(len(c) for c in chains) == len(items)
    assert all(name.startswith(("minibatch_sgd", "full_batch_gd")) for name, _ in chains[-1])  # training last


def test_list_names_every_kernel(capsys):
    assert selfcheck.run(_args("--list")) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == len(selfcheck.catalogue())


# --------------------------------------------------------------------------- every check fails on a wrong kernel

VICTIM, CONTROL = "cpu", "parallel"


def _off(array):
    """Off by a relative 1e-3 (and 1e-3 absolute where 0): wrong in every entry, in every dtype."""
    a = np.asarray(array)
    with np.errstate(over="ignore"):
        return (a * (1 + 1e-3) + np.where(a >= 0, 1e-3, -1e-3)).astype(a.dtype)


def _wrong_on_victim(real):
    @functools.wraps(real)
    def wrong(*args, backend=None, **kwargs):
        out = real(*args, backend=backend, **kwargs)
        if backend != VICTIM:
            return out
        return _off(out)

    return wrong


def _wrong_loss(real):
    def wrong(*args, backend=None, **kwargs):
        value, grad = real(*args, backend=backend, **kwargs)
        return (value, _off(grad)) if backend == VICTIM else (value, grad)

    return wrong


def _wrong_network(real):
    def wrong(*args, backend=None, **kwargs):
        value, grads, grad_y = real(*args, backend=backend, **kwargs)
        if backend == VICTIM:
            grads = [(_off(w), b) for w, b in grads]
        return value, grads, grad_y

    return wrong


def _wrong_step(real):
    def wrong(rule, theta, *args, backend=None, **kwargs):
        real(rule, theta, *args, backend=backend, **kwargs)
        if backend == VICTIM:
            theta[:] = _off(theta)

    return wrong


@pytest.fixture
def every_kernel_wrong_on_the_victim(monkeypatch):
    for name in ("activation", "activation_derivative", "softmax", "log_softmax", "logsumexp"):
        monkeypatch.setattr(act, name, _wrong_on_victim(getattr(act, name)))
    for name, fn in list(los.LOSSES.items()):
        monkeypatch.setitem(los.LOSSES, name, _wrong_loss(fn))
    monkeypatch.setattr(net, "network_value_and_grad", _wrong_network(net.network_value_and_grad))
    wrong_step = _wrong_step(opt.apply_step)  # what run_optimizer and the training loops step with
    monkeypatch.setattr(opt, "apply_step", wrong_step)
    monkeypatch.setattr(training, "apply_step", wrong_step)


def test_every_check_fails_on_a_wrong_kernel_and_only_on_its_backend(every_kernel_wrong_on_the_victim):
    missed = []
    for item in selfcheck.catalogue():
        outcomes = selfcheck.judge_item(item, (CONTROL, VICTIM), np.float64, TINY)
        if outcomes[VICTIM].agrees or not outcomes[CONTROL].agrees:
            missed.append((item.name, outcomes))
    assert not missed


# --------------------------------------------------------------------------- realistic mistakes


def _failure(item, backend, dtype=np.float64, sample=TINY, control="numpy"):
    outcomes = selfcheck.judge_item(_item(item), (control, backend), dtype, sample)
    assert outcomes[control].agrees, outcomes[control].failure
    assert not outcomes[backend].agrees, f"{item}: the wrong kernel on {backend} was not caught"
    return str(outcomes[backend].failure)


def test_unshifted_logsumexp_is_caught_and_the_failing_row_shown(monkeypatch):
    real = act.logsumexp

    def wrong(z, *, backend=None):
        if backend != "cpu":
            return real(z, backend=backend)
        with np.errstate(over="ignore"):
            return np.log(np.exp(z).sum(axis=1))

    monkeypatch.setattr(act, "logsumexp", wrong)
    message = _failure("logsumexp", "cpu", control="parallel")
    assert message.startswith("logsumexp at z = [[") and len(message) < 2000  # one small row, not the batch


def test_sigmoid_derivative_written_as_sigma_times_one_minus_sigma_is_caught(monkeypatch):
    real = act.activation_derivative

    def wrong(name, x, *, backend=None):
        if name != "sigmoid" or backend != "cpu":
            return real(name, x, backend=backend)
        s = act.activation("sigmoid", x, backend="numpy")
        return s * (1 - s)  # cancels to 0 for x ≳ 37 although σ' is a normal float down to x ≈ 745

    monkeypatch.setattr(act, "activation_derivative", wrong)
    assert "sigmoid′" in _failure("sigmoid′", "cpu")


def test_a_mean_divided_by_the_classes_instead_of_the_rows_is_caught(monkeypatch):
    real = los.LOSSES["softmax_cross_entropy"]

    def wrong(z, target, *, reduction="mean", backend=None):
        if reduction != "mean" or backend != "parallel":
            return real(z, target, reduction=reduction, backend=backend)
        value, grad = real(z, target, reduction="sum", backend=backend)
        return value / z.shape[1], grad / z.shape[1]

    monkeypatch.setitem(los.LOSSES, "softmax_cross_entropy", wrong)
    sample = selfcheck.Sample(examples=4, tile_elements=1 << 10)
    assert "reduction='mean'" in _failure("softmax_cross_entropy", "parallel", sample=sample)


def test_a_fault_that_shows_only_in_large_batches_is_caught(monkeypatch):
    real = los.LOSSES["hinge"]

    def wrong(x, y, *, reduction="mean", backend=None):
        value, grad = real(x, y, reduction=reduction, backend=backend)
        if backend == "parallel" and np.size(x) > 65536:  # a block-boundary bug of a parallel kernel
            grad = grad.copy()
            grad[65536] += 1.0
        return value, grad

    monkeypatch.setitem(los.LOSSES, "hinge", wrong)
    sample = selfcheck.Sample(examples=2)  # the tiled batch reaches TILE_ELEMENTS entries
    assert "hinge gradient" in _failure("hinge", "parallel", sample=sample)


def test_adam_without_bias_correction_is_caught(monkeypatch):
    real = opt.apply_step

    def wrong(rule, theta, grad, state, t=None, *, backend=None, **hyper):
        if rule != "adam" or backend != "parallel":
            return real(rule, theta, grad, state, t, backend=backend, **hyper)
        # m̂ = m and v̂ = v: Adam's bias correction forgotten
        m, v = state["m"], state["v"]
        m[:] = hyper["beta1"] * m + (1 - hyper["beta1"]) * grad
        v[:] = hyper["beta2"] * v + (1 - hyper["beta2"]) * grad**2
        theta -= hyper["lr"] * m / (np.sqrt(v) + hyper["eps"])

    monkeypatch.setattr(opt, "apply_step", wrong)
    assert "adam" in _failure("adam", "parallel")


def test_a_minibatch_loop_that_does_not_reshuffle_each_epoch_is_caught(monkeypatch):
    real = training.minibatch_partition
    first = {}

    def once(n_samples, batch_size, rng):
        first.setdefault((n_samples, batch_size), real(n_samples, batch_size, rng))
        return first[(n_samples, batch_size)]

    monkeypatch.setattr(training, "minibatch_partition", once)
    outcomes = selfcheck.judge_item(_item("minibatch_sgd[sgd]"), ("cpu",), np.float64, TINY)
    assert "documented partition" in str(outcomes["cpu"].failure)


def test_a_loop_that_restarts_the_step_count_or_resets_the_state_is_caught(monkeypatch):
    real = training.apply_step
    rules = {r: s for r, s in opt.RULES.items()}
    step_rule = next(r for r, s in rules.items() if s.takes_step_number)
    state_rule = next(r for r, s in rules.items() if s.state and not s.takes_step_number)

    def restarted(rule, theta, grad, state, t, **kw):
        return real(rule, theta, grad, state, 1, **kw)  # t = 1 every step

    monkeypatch.setattr(training, "apply_step", restarted)
    outcomes = selfcheck.judge_item(_item(f"full_batch_gd[{step_rule}]"), ("numpy",), np.float64, TINY)
    assert "is not the exact run" in str(outcomes["numpy"].failure)

    def reset(rule, theta, grad, state, t, **kw):
        for v in state.values():
            v[:] = 0
        return real(rule, theta, grad, state, t, **kw)

    monkeypatch.setattr(training, "apply_step", reset)
    outcomes = selfcheck.judge_item(_item(f"minibatch_sgd[{state_rule}]"), ("numpy",), np.float64, TINY)
    assert "is not the exact run" in str(outcomes["numpy"].failure)


def test_a_schedule_read_at_the_wrong_step_is_caught(monkeypatch):
    real = training._step_size
    monkeypatch.setattr(training, "_step_size", lambda lr, t: real(lr, t + 1))
    outcomes = selfcheck.judge_item(_item("full_batch_gd[sgd, lr(t)]"), ("cpu",), np.float64, TINY)
    assert not outcomes["cpu"].agrees
