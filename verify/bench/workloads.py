"""The workloads of ``verify bench``: one function per workload, each ``(BenchConfig) -> WorkloadResult``.

Every workload times our kernels (the backends in ``config.backends``), the NumPy backend (the
baseline of every ratio) and, where installed, torch on the CPU (with as many threads as Numba's pool),
all on the same data. A workload whose module is not there yet, or whose peer is not installed, says
``skipped: <why>`` instead of failing. Sizes: issue 9 (full) or small ones under ``config.quick``.

Byte counts (for the fraction of the bandwidth limit) count each array that must be read or written
once, 8 bytes per float64 / int64 element (``bytes_per_call``), plus, as ``write_allocate_bytes``, the
arrays a call writes without reading them first (a fresh gradient), which a cache reads before writing:
together the true traffic, counted as the limit's (the in-place triad of :mod:`verify.bench.machine`) is.
"""

from __future__ import annotations

import importlib
import math
import statistics
from collections import Counter
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from verify.bench.harness import (
    BenchConfig,
    Measurement,
    Target,
    Timing,
    WorkloadResult,
    compute_ratios,
    measure,
    measure_paired,
    skipped,
    spread,
    time_implementation,
)

__all__ = [
    "WORKLOADS",
    "COMPILE_PROBES",
    "WORKLOAD_PROBES",
    "softmax_cross_entropy",
    "logistic",
    "hinge",
    "network",
    "adam",
    "adamw",
    "momentum",
    "adagrad",
    "rmsprop",
    "adamax",
    "nadam",
    "radam",
    "adadelta",
    "lion",
    "bias_variance",
    "check_gradient_throughput",
    "gradient_corpus",
    "layer_corpus",
    "claim_suite",
    "load_torch",
]


class _Missing(Exception):
    """A module a workload needs is not importable (yet): the workload is skipped, with this reason."""


def _module(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise _Missing(f"{name} is not available ({type(exc).__name__}: {exc})") from None


def _attribute(module: ModuleType, name: str) -> Any:
    try:
        return getattr(module, name)
    except AttributeError:
        raise _Missing(f"{module.__name__} has no {name!r} yet") from None


def load_torch() -> tuple[ModuleType | None, str | None]:
    """``(torch, None)`` with torch's intra-op threads set to Numba's pool size, or ``(None, why)``."""
    try:
        import torch
    except ImportError as exc:
        return None, f"torch is not installed ({exc}); pip install 'verify[peers]'"
    import numba

    torch.set_num_threads(int(numba.get_num_threads()))
    return torch, None


def _rng(config: BenchConfig, salt: int) -> np.random.Generator:
    return np.random.default_rng([config.seed, salt])


def _kernel_measurements(
    config: BenchConfig, call_for: Callable[[str], Callable[[], object]],
    setup_for: Callable[[str], Callable[[], object] | None] | None = None,
) -> list[Measurement]:
    """The NumPy baseline and every backend of ``config.backends``, timed one after another."""
    out = []
    for backend in ("numpy", *[b for b in config.backends if b != "numpy"]):
        role = "baseline" if backend == "numpy" else "kernel"
        setup = None if setup_for is None else setup_for(backend)
        out.append(time_implementation(backend, role, call_for(backend), config, setup=setup))
    return out


def _torch_or_skip(config: BenchConfig) -> tuple[ModuleType | None, Measurement | None]:
    if not config.peers:
        return None, skipped("torch", "peer", "peers disabled (--no-peers)")
    torch, why = load_torch()
    return torch, None if torch is not None else skipped("torch", "peer", why)


def _torch_backward_peer(
    config: BenchConfig, build: Callable[[ModuleType], tuple[list[Any], Callable[[], Any]]],
) -> Measurement:
    """PyTorch as the peer of a loss kernel: the loss's value and its gradient by ``backward()``.

    ``build(torch)`` returns the leaf tensors (``requires_grad``) and a function computing the loss from them;
    their gradients are cleared before each timed call, outside the timing, so every call computes them afresh.
    """
    torch, skip = _torch_or_skip(config)
    if torch is None:
        return skip
    leaves, loss = build(torch)

    def value_and_backward():
        loss().backward()

    def clear():
        for leaf in leaves:
            leaf.grad = None

    return time_implementation("torch", "peer", value_and_backward, config, setup=clear)


def _workload(fn: Callable[[BenchConfig], WorkloadResult]) -> Callable[[BenchConfig], WorkloadResult]:
    """Run ``fn``; a missing module becomes a skipped workload with its reason, ratios are filled in."""

    def wrapper(config: BenchConfig) -> WorkloadResult:
        try:
            result = fn(config)
        except _Missing as exc:
            return WorkloadResult(fn.__name__, _TITLES[fn.__name__], "-", skipped=str(exc))
        return compute_ratios(result, config)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    wrapper.__wrapped__ = fn
    return wrapper


_TITLES = {
    "softmax_cross_entropy": "softmax cross-entropy, loss + gradient, float64",
    "logistic": "binary logistic loss from logits, loss + gradient, float64",
    "hinge": "binary hinge loss, loss + gradient, float64",
    "network": "MLP forward + backward, tanh, softmax-CE head, float64",
    "adam": "one Adam step in place, float64",
    "adamw": "one AdamW step in place, float64",
    "momentum": "one heavy-ball momentum step in place, float64",
    "adagrad": "one AdaGrad step in place, float64",
    "rmsprop": "one RMSprop step in place, float64",
    "adamax": "one AdaMax step in place, float64",
    "nadam": "one NAdam step in place, float64",
    "radam": "one RAdam step in place, float64",
    "adadelta": "one Adadelta step in place, float64",
    "lion": "one Lion step in place, float64",
    "bias_variance": "bias-variance Monte Carlo",
    "check_gradient_throughput": "check_gradient: examples verified per second vs torch.autograd.gradcheck",
    "gradient_corpus": "the gradient corpus: caught, false alarms and time per check, check_gradient vs gradcheck "
                       "vs check_grads",
    "layer_corpus": "the layer corpus: caught, false alarms and time per check, verify vs gradcheck, gradgradcheck "
                    "and check_grads",
    "claim_suite": "the full claim suite, once",
}


# =========================================================================== losses


@_workload
def softmax_cross_entropy(config: BenchConfig) -> WorkloadResult:
    """Softmax cross-entropy of (N, 10) logits with integer labels (N = 1e6), value + gradient.

    Bytes: read z (8NK), read labels (8N), write grad (8NK, a fresh array: 8NK more of write-allocate).
    At least NK exps (one per logit).
    Peer: ``torch.nn.functional.cross_entropy`` + ``backward()`` on the same float64 data.
    """
    losses = _module("verify.kernels.losses")
    fn = _attribute(losses, "softmax_cross_entropy")
    n, k = (20_000, 10) if config.quick else (1_000_000, 10)
    rng = _rng(config, 1)
    z = 3.0 * rng.standard_normal((n, k))
    labels = rng.integers(0, k, n)
    result = WorkloadResult(
        "softmax_cross_entropy", _TITLES["softmax_cross_entropy"], f"{n} x {k}",
        bytes_per_call=8.0 * (2 * n * k + n), write_allocate_bytes=8.0 * n * k, exps_per_call=float(n * k),
        targets=(Target("speedup_over_numpy", "parallel", 3.0), Target("speedup_over_torch", "parallel", 2.5)),
    )
    result.measurements += _kernel_measurements(config, lambda b: lambda: fn(z, labels, backend=b))
    result.measurements.append(_exp_ceiling(config, z))
    result.notes.append(f"'{EXP_CEILING}' (role bound): the least work of any kernel returning a fresh gradient — "
                        "its exps, its memory traffic and the first touch of its fresh pages — timed on the same "
                        "threads: its % exp bound is the most this machine allows the loss")

    def torch_loss(torch):
        zt, yt = torch.from_numpy(z).requires_grad_(True), torch.from_numpy(labels)
        return [zt], lambda: torch.nn.functional.cross_entropy(zt, yt)

    result.measurements.append(_torch_backward_peer(config, torch_loss))
    return result


#: The name of the ceiling row of the softmax workload (role "bound").
EXP_CEILING = "exps alone, fresh array"


def _exp_ceiling(config: BenchConfig, z: np.ndarray) -> Measurement:
    """The machine's ceiling for a kernel that evaluates ``z.size`` exps and returns a fresh array of ``z``'s size:
    the exps alone written into a fresh array on the same threads (:func:`verify.bench.machine.exps_into_fresh_array`),
    checked against ``np.exp`` once, then timed as a row of role ``"bound"``."""
    from verify.bench.machine import exps_into_fresh_array

    if not np.allclose(exps_into_fresh_array(z), np.exp(z), rtol=1e-15, atol=0.0):  # exp_diff: within 2 ULPs
        raise RuntimeError("the exp pass of the ceiling produced a wrong result")
    return time_implementation(EXP_CEILING, "bound", lambda: exps_into_fresh_array(z), config)


def _binary_workload(config: BenchConfig, name: str, salt: int) -> WorkloadResult:
    losses = _module("verify.kernels.losses")
    n = 100_000 if config.quick else 10_000_000
    rng = _rng(config, salt)
    x = 2.0 * rng.standard_normal(n)
    if name == "logistic":
        fn = _attribute(losses, "logistic_from_logit")
        y = rng.integers(0, 2, n).astype(np.float64)  # labels 0/1 (the seed's convention)
        exps = float(n)
    else:
        fn = _attribute(losses, "hinge")
        y = 2.0 * rng.integers(0, 2, n) - 1.0  # labels ±1
        exps = None
    result = WorkloadResult(name, _TITLES[name], f"{n}", bytes_per_call=8.0 * 3 * n, write_allocate_bytes=8.0 * n,
                            exps_per_call=exps)
    result.measurements += _kernel_measurements(config, lambda b: lambda: fn(x, y, backend=b))

    def torch_loss(torch):
        xt, yt = torch.from_numpy(x).requires_grad_(True), torch.from_numpy(y)
        if name == "logistic":
            return [xt], lambda: torch.nn.functional.binary_cross_entropy_with_logits(xt, yt)
        return [xt], lambda: torch.clamp_min(1.0 - yt * xt, 0.0).mean()

    result.measurements.append(_torch_backward_peer(config, torch_loss))
    return result


@_workload
def logistic(config: BenchConfig) -> WorkloadResult:
    """Binary logistic loss from logits, N = 1e7: read x, read y, write grad (24 bytes per example).

    The gradient is a fresh array: 8 more bytes per example of write-allocate.

    Peer: ``binary_cross_entropy_with_logits`` + ``backward()``.
    """
    return _binary_workload(config, "logistic", 2)


@_workload
def hinge(config: BenchConfig) -> WorkloadResult:
    """Binary hinge loss, N = 1e7: read x, read y, write grad (24 bytes per example).

    The gradient is a fresh array: 8 more bytes per example of write-allocate.

    Peer: ``clamp_min(1 − y·x, 0).mean().backward()`` (torch has no fused binary hinge).
    """
    return _binary_workload(config, "hinge", 3)


# =========================================================================== network


def _network_sizes(config: BenchConfig) -> tuple[int, tuple[int, ...]]:
    return (64, (784, 256, 256, 10)) if config.quick else (1024, (784, 256, 256, 10))


@_workload
def network(config: BenchConfig) -> WorkloadResult:
    """Forward + backward of a 784-256-256-10 tanh MLP with a softmax cross-entropy head, batch 1024.

    Peer: the same network as ``torch.nn.Linear`` layers in float64, ``cross_entropy`` + ``backward()``.
    """
    net = _module("verify.kernels.network")
    value_and_grad = _attribute(net, "network_value_and_grad")
    network_spec = _attribute(net, "Network").from_widths(sizes := _network_sizes(config)[1], activation="tanh")
    batch = _network_sizes(config)[0]
    rng = _rng(config, 4)
    weights, biases = _network_parameters(rng, sizes)
    params = list(zip(weights, biases, strict=True))
    x = rng.standard_normal((batch, sizes[0]))
    labels = rng.integers(0, sizes[-1], batch)
    result = WorkloadResult("network", _TITLES["network"], f"batch {batch}, {'-'.join(map(str, sizes))}",
                            targets=(Target("speedup_over_torch", "parallel", 1.0),))

    def call_for(backend):  # input_grad=False: torch is not asked for the gradient w.r.t. x either
        return lambda: value_and_grad(network_spec, params, x, labels, input_grad=False, backend=backend)

    result.measurements += _kernel_measurements(config, call_for)

    def torch_loss(torch):
        tensors = []
        for w, b in zip(weights, biases, strict=True):
            tensors += [torch.from_numpy(w.copy()).requires_grad_(True),
                        torch.from_numpy(b.copy()).requires_grad_(True)]
        xt, yt = torch.from_numpy(x), torch.from_numpy(labels)

        def loss():
            h = xt
            for i in range(0, len(tensors), 2):
                h = torch.nn.functional.linear(h, tensors[i], tensors[i + 1])
                if i + 2 < len(tensors):
                    h = torch.tanh(h)
            return torch.nn.functional.cross_entropy(h, yt)

        return tensors, loss

    result.measurements.append(_torch_backward_peer(config, torch_loss))
    return result


def _network_parameters(rng: np.random.Generator, sizes: tuple[int, ...]) -> tuple[list, list]:
    """Glorot-uniform weights stored (fan_out, fan_in), as ``torch.nn.Linear`` does, and zero biases."""
    weights, biases = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        weights.append(rng.uniform(-limit, limit, (fan_out, fan_in)))
        biases.append(np.zeros(fan_out))
    return weights, biases


# =========================================================================== optimizers


#: Each benchmarked rule: its hyperparameters (PyTorch's defaults where it has them), the torch.optim class and
#: keyword arguments of the same step (None: no torch counterpart), and the torch forms that class has on the CPU.
_OPTIMIZER_BENCH: dict[str, tuple[dict, str | None, dict, tuple[str, ...]]] = {
    "adam": ({"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}, "Adam",
             {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8}, ("foreach", "fused")),
    "adamw": ({"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 1e-2}, "AdamW",
              {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2}, ("foreach", "fused")),
    "momentum": ({"lr": 1e-3, "momentum": 0.9}, "SGD", {"lr": 1e-3, "momentum": 0.9}, ("foreach", "fused")),
    "adagrad": ({"lr": 1e-2, "eps": 1e-10, "eps_mode": "outside"}, "Adagrad", {"lr": 1e-2, "eps": 1e-10},
                ("foreach", "fused")),
    "rmsprop": ({"lr": 1e-2, "rho": 0.99, "eps": 1e-8}, "RMSprop", {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8},
                ("foreach",)),
    "adamax": ({"lr": 2e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}, "Adamax",
               {"lr": 2e-3, "betas": (0.9, 0.999), "eps": 1e-8}, ("foreach",)),
    "nadam": ({"lr": 2e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "momentum_decay": 4e-3}, "NAdam",
              {"lr": 2e-3, "betas": (0.9, 0.999), "eps": 1e-8, "momentum_decay": 4e-3}, ("foreach",)),
    "radam": ({"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}, "RAdam",
              {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8}, ("foreach",)),
    "adadelta": ({"lr": 1.0, "rho": 0.9, "eps": 1e-6}, "Adadelta", {"lr": 1.0, "rho": 0.9, "eps": 1e-6},
                 ("foreach",)),
    "lion": ({"lr": 1e-4, "beta1": 0.9, "beta2": 0.99, "weight_decay": 1e-3}, None, {}, ()),
}


def _optimizer_workload(config: BenchConfig, rule: str) -> WorkloadResult:
    opt = _module("verify.kernels.optimizers")
    apply_step = _attribute(opt, "apply_step")
    hyper, torch_class, torch_kwargs, forms = _OPTIMIZER_BENCH[rule]
    n = 100_000 if config.quick else 10_000_000
    rng = _rng(config, 5)
    theta0 = rng.standard_normal(n)
    grad = rng.standard_normal(n)
    names = [s for s in opt.state_names(rule, hyper) if s not in opt.rule_spec(rule).scalar_state]
    arrays = 3 + 2 * len(names)  # read theta, grad and the state, write theta and the state
    # a step that is not the first (t = 2): the bias corrections and PyTorch's first momentum step are behind it
    state = {b: (theta0.copy(), opt.init_state(rule, n, **hyper)) for b in ("numpy", *config.backends)}

    def call_for(backend):
        theta, st = state[backend]
        return lambda: apply_step(rule, theta, grad, st, 2, backend=backend, **hyper)
    state_text = ", ".join(names)
    bytes_note = (f"{rule} reads theta, g, {state_text} and writes theta, {state_text}: {arrays} arrays x 8 bytes "
                  "per parameter; verify's step counts NaN/inf in g, theta and the state in the same pass (and "
                  "raises after it), torch's steps check nothing")
    targets = [Target("fraction_of_triad", "parallel", 0.70)]
    if rule in ("adam", "adamw"):
        targets.append(Target("paired_speedup_over_torch", "parallel", 1.0))
    result = WorkloadResult(rule, _TITLES[rule], f"{n} parameters", bytes_per_call=8.0 * arrays * n,
                            targets=tuple(targets), notes=[bytes_note])
    result.measurements += _kernel_measurements(config, call_for)
    if torch_class is None:
        result.measurements.append(skipped("torch", "peer", f"torch.optim has no {rule}"))
        return result
    torch, skip = _torch_or_skip(config)
    if torch is None:
        result.measurements.append(skip)
        return result
    import numba

    result.notes.append(f"threads: verify's parallel step on {numba.get_num_threads()} Numba threads, torch's steps "
                        f"on {torch.get_num_threads()} intra-op threads (set equal by load_torch)")
    variants = [("torch", {"foreach": False})] + [(f"torch-{form}", {form: True}) for form in forms]
    steps = {}
    for variant, options in variants:
        p = torch.from_numpy(theta0.copy()).requires_grad_(True)
        p.grad = torch.from_numpy(grad)
        try:
            optimizer = getattr(torch.optim, torch_class)([p], **torch_kwargs, **options)
            optimizer.step()  # creates the state; the timed steps are the same "not the first" step as ours
        except Exception as exc:  # noqa: BLE001 - an option this torch build lacks
            result.measurements.append(skipped(variant, "peer", f"{type(exc).__name__}: {exc}"))
            continue
        steps[variant] = optimizer.step
        result.measurements.append(time_implementation(variant, "peer", optimizer.step, config))
    ours = result.get("parallel")
    if rule in ("adam", "adamw") and "torch-fused" in steps and ours is not None and ours.timing is not None:
        rounds = config.repeats
        speedups = measure_paired(call_for("parallel"), steps["torch-fused"], rounds=rounds, calls=5,
                                  warmup=config.warmup)
        paired = spread(speedups)
        ours.extra.update(paired_speedups=paired, paired_with="torch-fused")
        low, _, high = statistics.quantiles(speedups, n=4) if len(speedups) > 1 else speedups * 3
        result.notes.append(f"the target is paired: parallel vs torch-fused in {rounds} pairs of blocks of 5 steps "
                            f"timed back to back (alternating which goes first), median speedup "
                            f"{paired['median']:.4g}x (quartiles {low:.3g}-{high:.3g}), so that a change "
                            "in the machine's load between two timings largely cancels; the x torch column is the "
                            "ratio of medians timed apart, against the fastest torch row")
    return result


def _optimizer(rule: str, doc: str) -> Callable[[BenchConfig], WorkloadResult]:
    def workload(config: BenchConfig) -> WorkloadResult:
        return _optimizer_workload(config, rule)

    workload.__name__ = workload.__qualname__ = rule
    workload.__doc__ = doc
    return _workload(workload)


adam = _optimizer("adam", """One Adam step over 1e7 parameters (Kingma & Ba, Algorithm 1), in place.

    Peers: ``torch.optim.Adam`` single-tensor, ``foreach`` and ``fused``. Target: the parallel step at least as
    fast as torch's fastest (the fused step).""")
adamw = _optimizer("adamw", """One AdamW step over 1e7 parameters (decoupled weight decay), in place.

    Peers: ``torch.optim.AdamW`` single-tensor, ``foreach`` and ``fused``; same target as Adam.""")
momentum = _optimizer("momentum", """One heavy-ball momentum step over 1e7 parameters, in place.

    Peers: ``torch.optim.SGD(momentum=0.9)``, single-tensor, ``foreach`` and ``fused``.""")
adagrad = _optimizer("adagrad", """One AdaGrad step over 1e7 parameters (ε outside the root, as torch), in place.

    Peers: ``torch.optim.Adagrad`` single-tensor, ``foreach`` and ``fused``.""")
rmsprop = _optimizer("rmsprop", """One RMSprop step over 1e7 parameters, in place.

    Peers: ``torch.optim.RMSprop`` single-tensor and ``foreach`` (torch has no fused RMSprop).""")
adamax = _optimizer("adamax", """One AdaMax step over 1e7 parameters, in place.

    Peers: ``torch.optim.Adamax`` single-tensor and ``foreach``.""")
nadam = _optimizer("nadam", """One NAdam step over 1e7 parameters (PyTorch's momentum_decay form), in place.

    Peers: ``torch.optim.NAdam`` single-tensor and ``foreach``.""")
radam = _optimizer("radam", """One RAdam step over 1e7 parameters, in place.

    Peers: ``torch.optim.RAdam`` single-tensor and ``foreach``.""")
adadelta = _optimizer("adadelta", """One Adadelta step over 1e7 parameters, in place.

    Peers: ``torch.optim.Adadelta`` single-tensor and ``foreach``.""")
lion = _optimizer("lion", """One Lion step over 1e7 parameters (Chen et al. 2023, as in optax), in place.

    No torch counterpart: the NumPy baseline and our backends only.""")


# =========================================================================== Monte Carlo, checkers, claims


@_workload
def bias_variance(config: BenchConfig) -> WorkloadResult:
    """The bias-variance Monte Carlo of ``verify.claims.bias_variance``: 10,000 training sets.

    Each set: 30 stratified inputs, ``y = sin(πx) + N(0, 0.3²)``, a degree-9 Legendre least-squares fit,
    predictions at the 7 test points, then the unbiased decomposition. The claims run it (NumPy only) in
    batches of ``BATCH`` = 100 sets (the baseline); one batch of all sets is timed alongside, to show
    what the per-batch overhead costs. Throughput: training sets per second.
    """
    bv = _module("verify.claims.bias_variance")
    draw, fit, decompose = (_attribute(bv, n) for n in ("draw_inputs", "fit_predict", "unbiased_decomposition"))
    f, test_points = _attribute(bv, "true_function"), _attribute(bv, "TEST_POINTS")
    sigma, n_train, batch = _attribute(bv, "SIGMA"), _attribute(bv, "N_TRAIN"), int(getattr(bv, "BATCH", 100))
    sets = 1_000 if config.quick else 10_000
    f_test = f(test_points)

    def monte_carlo(per_batch: int):
        rng = _rng(config, 7)
        for _ in range(sets // per_batch):
            x = draw(rng, (per_batch, n_train))
            y = f(x) + sigma * rng.normal(size=x.shape)
            preds = fit(x, y, test_points, 9, 0.0)
            decompose(preds, f_test, sigma**2)

    result = WorkloadResult("bias_variance", _TITLES["bias_variance"],
                            f"{sets} training sets, degree 9, n = {n_train}", item_name="training set")
    result.measurements.append(time_implementation(f"numpy, batches of {batch}", "baseline",
                                                   lambda: monte_carlo(batch), config, items=float(sets)))
    result.measurements.append(time_implementation(f"numpy, 1 batch of {sets}", "kernel",
                                                   lambda: monte_carlo(sets), config, items=float(sets)))
    result.notes.append("NumPy code of the claims (no Numba backend): x numpy compares the two batchings")
    return result


def _softmax_ce_numpy(z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean softmax cross-entropy in plain NumPy over the last two axes, for any leading (stack) axes.

    ``mean_i [m_i + log Σ_k exp(z_ik − m_i) − z_{i,t_i}]`` with ``m_i = max_k Re z_ik``; written with ufuncs
    and ``axis=-1`` so that ``check_gradient`` can use the complex step and evaluate a stack of points in
    one call (the shift ``m`` is constant under an imaginary perturbation, so the complex step stays exact).
    """
    m = z.real.max(axis=-1, keepdims=True)  # the methods: np.max & co. add a Python wrapper per call
    lse = m[..., 0] + np.log(np.exp(z - m).sum(axis=-1))
    picked = z[..., np.arange(z.shape[-2]), labels]
    return (lse - picked).mean(axis=-1)


def _stacked_loss(loss: Callable, z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The mean of ``loss``'s per-row values over the last two axes of ``z``, for one point (N, K) or a stack
    (S, N, K) of points: the stack is one call of the kernel on S·N rows (``reduction="none"``)."""
    rows = z.reshape(-1, z.shape[-1])
    per_row = loss(rows, np.tile(labels, rows.shape[0] // labels.shape[0]), reduction="none", backend="cpu")[0]
    return per_row.reshape(z.shape[:-1]).mean(axis=-1)


#: The least warm-up calls of every row of ``check_gradient_throughput`` (see its docstring).
STEADY_WARMUP = 12
#: The least timed calls of every row of ``check_gradient_throughput`` (see its docstring).
STEADY_REPEATS = 21


@_workload
def check_gradient_throughput(config: BenchConfig) -> WorkloadResult:
    """``check_gradient`` on softmax cross-entropy of (4, 10) logits vs ``torch.autograd.gradcheck``.

    The same function at the same point; the gradient checked is always ``losses.softmax_cross_entropy``'s
    (the ``cpu`` kernel: at this size ``parallel`` only adds thread start-up). Three ways to hand ``f`` over:
    the same loss in vectorised NumPy (complex step and central differences, one call each for all their
    points); the loss kernel on a stack of points (one kernel call on all their rows; it takes no complex
    input, so central differences decide); and the loss kernel one point per call (no target: ``6n + 2``
    calls of about 15 µs each, shown for what it costs). torch checks the autograd gradient of
    ``F.cross_entropy``. One example = one point verified; throughput = 1 / median.

    Every row, ours and torch's alike, is warmed up with at least ``STEADY_WARMUP`` calls (outside ``--quick``): a
    throughput is a steady state, and CPython (3.11+) specialises a function's bytecode only after it has run some
    eight times. ``check_gradient`` runs most of its Python once per example, so with the bench's default two
    warm-up calls five of the seven timed ones ran unspecialised, 12–20 % slower than the calls after them (measured
    on 2 shared cores, calls 3–9 vs 10–16 of a fresh process). gradcheck's rows get the same warm-up. Each row's median
    is taken over at least ``STEADY_REPEATS`` timed calls, theirs and ours alike (the bench's default is seven: three
    runs on a quiet machine read the numpy-f ratio as 9.6×, 10.0× and 10.6×).
    """
    checks = _module("verify.checks.gradient")
    check_gradient = _attribute(checks, "check_gradient")
    losses = _module("verify.kernels.losses")
    sce = _attribute(losses, "softmax_cross_entropy")
    rng = _rng(config, 6)
    z = rng.standard_normal((4, 10))
    labels = rng.integers(0, 10, 4)
    result = WorkloadResult("check_gradient_throughput", _TITLES["check_gradient_throughput"],
                            "softmax CE 4 x 10, one point per call", item_name="example",
                            targets=(Target("speedup_over_torch", "check_gradient, numpy f", 10.0),
                                     Target("speedup_over_torch", "check_gradient, stacked kernel f", 10.0)))

    def f_kernel(zz, yy):
        return sce(zz, yy, backend="cpu")[0]

    def f_stacked(zz, yy):
        return _stacked_loss(sce, zz, yy)

    def grad_kernel(zz, yy):
        return sce(zz, yy, backend="cpu")[1]

    warmup = config.warmup if config.quick else max(config.warmup, STEADY_WARMUP)
    repeats = config.repeats if config.quick else max(config.repeats, STEADY_REPEATS)
    for name, f in (("check_gradient, numpy f", _softmax_ce_numpy), ("check_gradient, stacked kernel f", f_stacked),
                    ("check_gradient, kernel f one point per call", f_kernel)):
        m = time_implementation(name, "kernel", lambda f=f: check_gradient(f, grad_kernel, (z, labels)), config,
                                warmup=warmup, repeats=repeats)
        if m.timing is not None:
            report = check_gradient(f, grad_kernel, (z, labels))
            m.extra["decided_by"] = {k: v for k, v in report.references.items() if v}
            m.extra["vectorized"] = report.vectorized
        result.measurements.append(m)
    torch, skip = _torch_or_skip(config)
    if torch is None:
        result.measurements.append(skipped("gradcheck", "peer", skip.skipped))
        return result
    zt = torch.from_numpy(z.copy()).requires_grad_(True)
    yt = torch.from_numpy(labels)

    def theirs():
        if not torch.autograd.gradcheck(lambda a: torch.nn.functional.cross_entropy(a, yt), (zt,)):
            raise RuntimeError("gradcheck rejected torch's own cross_entropy gradient")

    result.measurements.append(time_implementation("gradcheck", "peer", theirs, config, warmup=warmup, repeats=repeats))
    # A 4 x 10 problem gains nothing from a second thread and loses to its wake-ups on a busy machine:
    # time torch on one thread too; the ratio is taken against the faster of the two.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result.measurements.append(time_implementation("gradcheck, 1 thread", "peer", theirs, config, warmup=warmup,
                                                       repeats=repeats))
    finally:
        torch.set_num_threads(threads)
    return result


def _checker_measurement(tool: str, seconds: tuple[float, ...], outcomes: dict[str, Any]) -> Measurement:
    """One checker's row of a corpus workload: its per-check times and its outcome counts (``extra``)."""
    m = Measurement(tool, "kernel" if tool == "verify" else "peer",
                    timing=Timing(seconds, warmup=1) if seconds else None,
                    skipped=None if seconds else "every check raised")
    m.extra.update(outcomes)
    return m


@_workload
def gradient_corpus(config: BenchConfig) -> WorkloadResult:
    """A seeded sample of the gradient corpus (``verify.checks.corpus``: correct gradients, torch/jax
    built-ins and mutants) through ``check_gradient``, ``torch.autograd.gradcheck`` and
    ``jax.test_util.check_grads``, each check run once: one row per tool with its per-check times (the
    timing), caught / wrong, false alarms / right, unverified and errors (``extra``). Half the sample is
    correct, half mutants; 30 cases under ``--quick``, 600 otherwise (the whole corpus, ~5,000 cases,
    is ``verify.checks.corpus.run.peer_comparison(size=None)``).
    """
    corpus_run = _module("verify.checks.corpus.run")
    zoo = _module("verify.checks.zoo")
    size = 30 if config.quick else 600
    tools = zoo.TOOLS if config.peers else ("verify",)
    rows = corpus_run.run(None, tools=tools, size=size)  # the corpus of the test suite (its own seed)
    result = WorkloadResult("gradient_corpus", _TITLES["gradient_corpus"], f"{size} cases (seeded sample)",
                            item_name="check")
    for record in corpus_run.summary_rows(rows):
        tool = record.pop("tool")
        seconds = tuple(r["ms"] / 1e3 for r in rows if r["tool"] == tool and math.isfinite(r["ms"]))
        result.measurements.append(_checker_measurement(tool, seconds, record))
    for tool in zoo.TOOLS:
        if config.peers and result.get(tool) is None:
            result.measurements.append(skipped(tool, "peer", f"{tool.split('.')[0]} is not installed"))
    result.notes.append("outcomes per tool: " + "; ".join(
        f"{r['tool']}: caught {r['caught']}/{r['wrong']}, false alarms {r['false_alarms']}/{r['right']}, "
        f"unverified {r['unverified']}, errors {r['errors']}" for r in corpus_run.summary_rows(rows)))
    result.notes.append("each check timed once, after one untimed check per tool; jax's time includes re-tracing "
                        "its custom_vjp wrapper at every check")
    return result


@_workload
def layer_corpus(config: BenchConfig) -> WorkloadResult:
    """The layer corpus (:mod:`verify.checks.layer_corpus`: dense, conv1d, residual, layer norm, softmax and
    attention as torch Functions and JAX custom_vjp rules, right and with planted bugs, the built-ins, second-order
    cases) through verify's checkers, ``torch.autograd.gradcheck`` / ``gradgradcheck`` and
    ``jax.test_util.check_grads``: one row per tool with its per-check times, caught / planted bugs and false
    alarms / right implementations (``extra``). The dense layer's cases only under ``--quick``.
    """
    corpus = _module("verify.checks.layer_corpus")
    cases = tuple(c for c in corpus.LAYER_CASES if not config.quick or c.layer == "dense")
    tools = corpus.TOOLS if config.peers else ("verify",)
    rows = corpus.compare_layers(cases, tools=tools)
    result = WorkloadResult("layer_corpus", _TITLES["layer_corpus"], f"{len(cases)} cases", item_name="check")
    tallies = corpus.tally_layers(rows)
    for tool in tools:
        tally = tallies.get(tool)
        if tally is None or not tally["wrong"] + tally["right"]:
            result.measurements.append(skipped(tool, "peer", f"{tool.split('.')[0]} is not installed"))
            continue
        result.measurements.append(_checker_measurement(tool, tally["seconds"], {
            key: tally[key] for key in ("caught", "wrong", "false_alarms", "right", "errors")}))
    result.notes.append("outcomes per tool: " + "; ".join(
        f"{m.implementation}: caught {m.extra['caught']}/{m.extra['wrong']}, false alarms {m.extra['false_alarms']}/"
        f"{m.extra['right']}, errors {m.extra['errors']}" for m in result.measurements if m.extra))
    result.notes.append("each check timed once after one untimed run (tracing, compilation); a tool runs only the "
                        "cases of its framework")
    return result


@_workload
def claim_suite(config: BenchConfig) -> WorkloadResult:
    """Every registered claim run once (``Context(quick=config.quick)``): the cost of checking the notes."""
    registry = _module("verify.claims.registry")
    claims = registry.all_claims()
    if not claims:
        raise _Missing("no claims are registered yet")
    verdicts: Counter[str] = Counter()
    per_claim: dict[str, float] = {}

    def run_all():
        verdicts.clear()
        for c in claims:
            record = registry.run_claim(c, registry.Context(quick=config.quick))
            verdicts[record.verdict] += 1
            per_claim[c.id] = record.seconds

    timing = measure(run_all, repeats=1, warmup=0)
    result = WorkloadResult("claim_suite", _TITLES["claim_suite"], f"{len(claims)} claims, quick={config.quick}",
                            item_name="suite")
    m = Measurement("verify claims", "kernel", timing=timing)
    slowest = sorted(per_claim.items(), key=lambda kv: -kv[1])[:5]
    m.extra.update({"verdicts": dict(verdicts), "slowest_claims_s": dict(slowest)})
    result.measurements.append(m)
    result.notes.append("one run, no warm-up: includes JIT compile or cache load of the kernels the claims use")
    result.notes.append("verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items())))
    return result


#: Every workload, in the order ``verify bench`` runs them.
WORKLOADS: dict[str, Callable[[BenchConfig], WorkloadResult]] = {
    f.__name__: f
    for f in (softmax_cross_entropy, logistic, hinge, network, adam, adamw, momentum, adagrad, rmsprop, adamax,
              nadam, radam, adadelta, lion, bias_variance, check_gradient_throughput, gradient_corpus, layer_corpus,
              claim_suite)
}


# =========================================================================== compile probes


def _probe_triad():
    from verify.bench import machine

    a, b, c = np.zeros(8), np.ones(8), np.ones(8)
    return lambda: machine.triad_parallel(a, b, c, 2.0)


def _probe_loss(name: str, backend: str):
    def prepare():
        from verify.kernels import losses

        if name == "softmax_cross_entropy":
            args = (np.zeros((3, 4)), np.array([0, 1, 2]))
        elif name == "logistic_from_logit":
            args = (np.zeros(3), np.array([0.0, 1.0, 1.0]))
        else:
            args = (np.zeros(3), np.array([-1.0, 1.0, 1.0]))
        return lambda: getattr(losses, name)(*args, backend=backend)
    return prepare


def _probe_optimizer(rule: str, backend: str):
    def prepare():
        from verify.kernels import optimizers

        hyper = _OPTIMIZER_BENCH[rule][0]
        theta, g = np.zeros(8), np.ones(8)
        state = optimizers.init_state(rule, 8, **hyper)
        return lambda: optimizers.apply_step(rule, theta, g, state, 2, backend=backend, **hyper)
    return prepare


def _probe_network(backend: str):
    def prepare():
        from verify.kernels import network as net

        rng = np.random.default_rng(0)
        spec = net.Network.from_widths((5, 4, 4, 3), activation="tanh")
        params = list(zip(*_network_parameters(rng, (5, 4, 4, 3)), strict=True))
        x, labels = rng.standard_normal((2, 5)), np.array([0, 2])
        return lambda: net.network_value_and_grad(spec, params, x, labels, input_grad=False, backend=backend)
    return prepare


#: name → function preparing tiny inputs and returning the first call to time (see ``measure_compile``).
COMPILE_PROBES: dict[str, Callable[[], Callable[[], object]]] = {"machine.triad_parallel": _probe_triad}
#: workload → the probes of its kernels.
WORKLOAD_PROBES: dict[str, tuple[str, ...]] = {}
for _backend in ("cpu", "parallel"):
    for _workload_name, _loss in (("softmax_cross_entropy", "softmax_cross_entropy"),
                                  ("logistic", "logistic_from_logit"), ("hinge", "hinge")):
        COMPILE_PROBES[f"{_workload_name}.{_backend}"] = _probe_loss(_loss, _backend)
        WORKLOAD_PROBES[_workload_name] = (*WORKLOAD_PROBES.get(_workload_name, ()), f"{_workload_name}.{_backend}")
    for _rule in _OPTIMIZER_BENCH:
        COMPILE_PROBES[f"{_rule}.{_backend}"] = _probe_optimizer(_rule, _backend)
        WORKLOAD_PROBES[_rule] = (*WORKLOAD_PROBES.get(_rule, ()), f"{_rule}.{_backend}")
    COMPILE_PROBES[f"network.{_backend}"] = _probe_network(_backend)
    WORKLOAD_PROBES["network"] = (*WORKLOAD_PROBES.get("network", ()), f"network.{_backend}")
