"""``verify selfcheck``: every kernel of the catalogues, on every CPU backend, against its exact reference.

================ ================================================ ============================================
family           kernels (each generic over its catalogue)        reference and tolerance
================ ================================================ ============================================
``activations``  ``activation`` and ``activation_derivative`` of  SymPy definition and ``sympy.diff``, mpmath
                 every name in ``ACTIVATIONS``                    (:mod:`verify.symbolic.activations`)
``softmax``      ``softmax``, ``log_softmax``, ``logsumexp``      mpmath, correctly rounded
``losses``       every loss of ``LOSSES``, every reduction        ``SYMBOLIC_LOSSES`` (``sympy.diff`` gradients)
``networks``     forward + backward through every layer kind ×    :func:`verify.symbolic.network.reference_\
                 activation, under every loss head                value_and_grad`, within 2 × the rounding bound
                                                                  of :func:`~verify.kernels.network.backward_\
                                                                  error_bound`
``optimizers``   every rule of ``RULES``, each option choice      :func:`verify.check_optimizer` (the rule run
                                                                  in rationals / 60-digit mpmath)
``training``     ``minibatch_sgd`` and ``full_batch_gd``          the documented loop (seeded partition, step
                                                                  numbers, losses) and the trajectory against
                                                                  the exact run of the rule on the gradients the
                                                                  loop was fed (``check_optimizer``)
================ ================================================ ============================================

Activations, softmax and losses are compared within the dtype- and conditioning-derived tolerance of
:func:`verify.checks.compare.compare`. A new loss, activation, layer kind or rule added to its catalogue
(with its reference and strategy) is checked here without editing this module.

**Inputs: edge cases plus a seeded sample, not a long search.** The edge cases come from the catalogues and
the dtype (the special reals of :func:`edge_values` for activations and logits; one problem per gradient kind
of ``GRADIENT_KINDS`` for the optimizers; a network holding every layer kind × activation pair for each loss
head); the sample is drawn from the library's Hypothesis strategies (:mod:`verify.strategies`) with a
recorded seed and no shrinking (``--seed``, ``--examples``). **Each input's reference is computed once** and
every backend is judged on it. Inputs are **batched**: the rows of every draw go into one call (grouped by
shape), and a tiled copy of the batch of at least :data:`TILE_ELEMENTS` entries drives the parallel kernels
through several chunks. On a disagreement the smallest failing input is found and shown.

**Time.** ``--jobs`` processes (default: the CPUs this process may use) divide the (kernel, dtype) tasks; items
whose kernels overlap (every activation, every network head, rules stepping with another rule's kernels) run
one after the other in one process, so a kernel is compiled once, and the training loops run last, when their
rules' kernels are in Numba's on-disk cache. A first run is mostly compilation (every kernel × dtype; the ``cpu`` and
``parallel`` backends run one compiled kernel, :mod:`verify.kernels._threads`); the table's last column and the summary line say how much (Numba's compile events).

The comparison functions :func:`verify_activation`, :func:`verify_softmax`, :func:`verify_loss` and
:func:`verify_network` are the ones the test-suite uses, for the real kernels and for deliberately wrong ones.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import itertools
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from verify._progress import Progress
from verify._seeded import without_local_constants
from verify.checks.compare import compare
from verify.checks.failure import CheckFailure, error_table
from verify.kernels import activations as act
from verify.kernels import losses as los
from verify.kernels import network as net
from verify.kernels import optimizers as opt
from verify.kernels import training
from verify.kernels._backend import CPU_BACKENDS
from verify.symbolic.activations import (
    SYMBOLIC_ACTIVATIONS,
    log_softmax_reference,
    logsumexp_reference,
    softmax_reference,
)
from verify.symbolic.losses import SYMBOLIC_LOSSES
from verify.symbolic.tolerance import row_terms

__all__ = [
    "SEED",
    "DEFAULT_EXAMPLES",
    "TILE_ELEMENTS",
    "FAMILIES",
    "Sample",
    "Item",
    "Outcome",
    "catalogue",
    "edge_values",
    "seeded_draws",
    "verify_activation",
    "verify_softmax",
    "verify_loss",
    "verify_network",
    "judge_item",
    "add_arguments",
    "run",
]

SEED = 20261130
DEFAULT_EXAMPLES = 8
#: Entries of the tiled batch: 2^17 (1 MiB per float64 array), more than one task of every parallel kernel
#: (the loss kernels hand 16 blocks of 4096 entries to a task).
TILE_ELEMENTS = 1 << 17
FAMILIES = ("activations", "softmax", "losses", "networks", "optimizers", "training")

_SOFTMAX_REFERENCES = {
    "softmax": softmax_reference,
    "log_softmax": log_softmax_reference,
    "logsumexp": logsumexp_reference,
}


# =========================================================================== the comparisons


def _show(array: np.ndarray) -> str:
    """An input for a failure message: every entry when small (the narrowed failing input always is)."""
    a = np.asarray(array)
    if a.size <= 256:
        return repr(a.tolist())
    return f"<array of shape {a.shape}, dtype {a.dtype}>"


def verify_activation(kernel: Callable, name: str, x: np.ndarray, *, derivative: bool = False,
                      reference: np.ndarray | None = None) -> float:
    """Compare ``kernel(name, x)`` (an activation or its derivative) with the reference; raise on failure.

    ``reference``: the correctly rounded values at ``x`` if already computed (else computed here).
    Returns the worst error as a fraction of the allowed one.
    """
    out = kernel(name, x)
    if out.shape != x.shape or out.dtype != x.dtype:
        raise CheckFailure(f"{name}: output shape/dtype {out.shape}/{out.dtype}, expected {x.shape}/{x.dtype}")
    if reference is None:
        values, derivatives = SYMBOLIC_ACTIVATIONS[name].reference(x)
        reference = derivatives if derivative else values
    what = f"{name}{'′' if derivative else ''}"
    return compare(out, reference, reference, dtype=x.dtype, what=what, context=f" at x = {_show(x)}")


def verify_softmax(kernel: Callable, which: str, z: np.ndarray, *, reference: np.ndarray | None = None) -> float:
    """Compare ``kernel(z)`` (softmax, log_softmax or logsumexp) with the reference; raise on failure."""
    out = kernel(z)
    if reference is None:
        reference = _SOFTMAX_REFERENCES[which](z)
    if out.dtype != z.dtype:
        raise CheckFailure(f"{which}: output dtype {out.dtype}, expected {z.dtype}")
    if which == "logsumexp":  # m + log S: the two terms added are the magnitude
        magnitude = np.abs(z.max(axis=1).astype(np.float64)) + np.abs(reference - z.max(axis=1))
    else:  # softmax: a positive quotient; log-softmax: (z_k − m) − log S, two terms of one sign
        magnitude = reference
    return compare(out, reference, magnitude, dtype=z.dtype, terms=row_terms(z.shape[1]), what=which,
                   context=f" at z = {_show(z)}")


def verify_loss(kernel: Callable, name: str, args: tuple, *, reduction: str = "mean",
                reference: tuple | None = None, options: dict | None = None) -> float:
    """Compare ``kernel(*args, reduction=reduction, **options)`` → ``(value, grad)`` with the reference of ``name``.

    ``reference``: ``SYMBOLIC_LOSSES[name].reference_and_magnitudes(*args, reduction=reduction, **options)`` if
    already computed; ``options``: the loss's keyword options (Huber's ``delta``, ``label_smoothing``).
    """
    ref = SYMBOLIC_LOSSES[name]
    dtype = np.asarray(args[ref.wrt]).dtype
    options = options or {}
    with np.errstate(all="ignore"):
        value, grad = kernel(*args, reduction=reduction, **options)
        if reference is None:
            reference = ref.reference_and_magnitudes(*args, reduction=reduction, **options)
    ref_value, ref_grad, value_mag, grad_mag = reference
    wrt = np.asarray(args[ref.wrt])
    if np.shape(grad) != wrt.shape or np.asarray(grad).dtype != dtype:
        raise CheckFailure(f"{name}: gradient shape/dtype {np.shape(grad)}/{np.asarray(grad).dtype}, "
                           f"expected {wrt.shape}/{dtype}")
    if reduction == "none" and np.shape(value) != (wrt.shape[0],):
        raise CheckFailure(f"{name}: per-row values of shape {np.shape(value)}, expected ({wrt.shape[0]},)")
    if reduction != "none" and not isinstance(value, float):
        raise CheckFailure(f"{name}: reduction {reduction!r} must give a Python float; got {type(value).__name__}")
    k = wrt.shape[1] if wrt.ndim == 2 else 1
    shown = "".join(f", {option}={setting!r}" for option, setting in options.items())
    context = f" (reduction={reduction!r}{shown}) at arguments [{', '.join(_show(a) for a in args)}]"
    # a reduced value is a Python float: the rows' values summed in float64, whatever the dtype of the rows
    worst = compare(value, ref_value, value_mag, dtype=dtype, terms=row_terms(k, wrt.shape[0], reduction),
                    what=f"{name} value", context=context,
                    delivered=np.dtype(np.float64) if reduction != "none" else None)
    return max(worst, compare(grad, ref_grad, grad_mag, dtype=dtype, terms=row_terms(k), what=f"{name} gradient",
                              context=context))


def _within_bound(computed, reference, bound, dtype: np.dtype, what: str) -> float:
    """Worst ``|computed − reference| / (2·bound + 8 smallest subnormals)``; ``CheckFailure`` above 1.

    The factor 2 covers the second-order terms the first-order bound drops (see ``backward_error_bound``).
    """
    c = np.asarray(computed, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    if c.shape != r.shape:
        raise CheckFailure(f"{what}: shape {c.shape}, the reference has shape {r.shape}")
    allowed = 2.0 * np.asarray(bound, dtype=np.float64) + 8 * float(np.finfo(dtype).smallest_subnormal)
    with np.errstate(invalid="ignore"):
        ratio = np.where(np.isfinite(c), np.abs(c - r) / allowed, np.inf)
    worst = float(np.max(ratio, initial=0.0))
    if not worst <= 1.0:
        raise CheckFailure(
            f"{what}: error {worst:.3g}× the allowed 2·(first-order rounding bound)\n"
            + error_table(c.reshape(r.shape) if r.ndim else c.reshape(1), r if r.ndim else r.reshape(1), dtype=dtype),
            details={"what": what, "worst_ratio": worst, "computed": c, "reference": r},
        )
    return worst


def verify_network(value_and_grad: Callable, problem: tuple, *, reduction: str = "mean",
                   reference: tuple | None = None, bound: net.ErrorBound | None = None) -> float:
    """Compare ``value_and_grad(network, params, y, target, reduction)`` → ``(L, grads, grad_y)`` with
    :func:`verify.symbolic.network.reference_value_and_grad`, entry by entry within twice
    :func:`verify.kernels.network.backward_error_bound`. A problem whose ReLU pre-activations lie within
    their rounding error of the kink (``bound.near_kink``) has no rounding bound: ``ValueError``."""
    from verify.symbolic.network import reference_value_and_grad

    network, params, y, target = problem
    dtype = np.asarray(y).dtype
    if bound is None:
        bound = net.backward_error_bound(network, params, y, target, reduction=reduction)
    if bound.near_kink:
        raise ValueError("a ReLU pre-activation lies within its rounding error of the kink: no bound applies")
    if reference is None:
        reference = reference_value_and_grad(network, params, y, target, reduction=reduction)
    value, grads, grad_y = value_and_grad(network, params, y, target, reduction)
    ref_value, ref_grads, ref_y = reference
    where = (f" of {' → '.join(layer.describe() for layer in network.layers)} with a {network.loss} head "
             f"(reduction={reduction!r}) at y = {_show(y)}, target = {_show(target)}")
    worst = _within_bound(value, ref_value, bound.value, dtype, "loss value" + where)
    if len(grads) != len(ref_grads):
        raise CheckFailure(f"{len(grads)} layer gradients for {len(ref_grads)} layers" + where)
    for j, ((gw, gb), (rw, rb), (bw, bb)) in enumerate(zip(grads, ref_grads, bound.grads, strict=True)):
        worst = max(worst, _within_bound(gw, rw, bw, dtype, f"∇ weight of layer {j}" + where),
                    _within_bound(gb, rb, bb, dtype, f"∇ bias of layer {j}" + where))
    return max(worst, _within_bound(grad_y, ref_y, bound.input, dtype, "∇y" + where))


# =========================================================================== inputs


@dataclasses.dataclass(frozen=True)
class Sample:
    """How many inputs: ``examples`` seeded draws per kernel and dtype (plus the edge cases), ``seed``."""

    examples: int = DEFAULT_EXAMPLES
    seed: int = SEED
    tile_elements: int = TILE_ELEMENTS


_SUPPRESS = (HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
             HealthCheck.large_base_example)


def seeded_draws(strategy: st.SearchStrategy, n: int, seed: int) -> list:
    """``n`` examples of ``strategy`` generated by Hypothesis with ``seed`` (no shrinking, no database):
    the first is the strategy's simplest example, the others random. The same seed gives the same list."""
    out: list = []
    if n <= 0:
        return out

    @hypothesis_seed(seed)
    @settings(max_examples=n, phases=(Phase.generate,), database=None, deadline=None, derandomize=False,
              suppress_health_check=_SUPPRESS)
    @given(strategy)
    def collect(example):
        out.append(example)

    with without_local_constants():  # the same draws in any process, whatever it imported before
        collect()
    return out[:n]


def edge_values(dtype) -> np.ndarray:
    """The reals where elementwise formulas break, in ``dtype``, each with both signs: 0, the smallest
    subnormal and normal, eps, 0.5, 1, 2, 20 and 37.5 (where σ and tanh saturate), log(max) and its
    neighbours (where exp overflows), −log(smallest subnormal) (where it underflows to 0), √max and max."""
    dt = np.dtype(dtype)
    info = np.finfo(dt)
    overflow = dt.type(np.log(info.max))
    magnitudes = [0.0, info.smallest_subnormal, info.tiny, info.eps, 0.5, 1.0, 2.0, 20.0, 37.5, 100.0,
                  overflow, np.nextafter(overflow, dt.type(np.inf)), np.nextafter(overflow, dt.type(0)),
                  -np.log(info.smallest_subnormal), np.sqrt(info.max), info.max]
    values = np.array([float(m) for m in magnitudes], dtype=np.float64)
    return np.unique(np.concatenate([values, -values]).astype(dt))


def _rows_of(values: np.ndarray, k: int) -> np.ndarray:
    """Rows of ``k`` logits made of ``values``: each value beside its mirror (−max next to max, where a
    shifted exponential overflows if the shift is computed carelessly), cut into rows, and three rows
    of ties (every entry equal: the largest negative, zero and the largest positive value)."""
    if k == 1:
        return values[:, None].copy()
    mirrored = np.ravel(np.column_stack([values, values[::-1]]))
    n = -(-values.size // k)
    ties = np.repeat(values[[0, values.size // 2, -1]][:, None], k, axis=1)
    return np.concatenate([mirrored[: n * k].reshape(n, k), ties]).astype(values.dtype)


#: Row widths of the edge rows of the softmax family: one logit, two, and a wider row.
_EDGE_WIDTHS = (1, 2, 5)


def _concatenate_by_shape(examples: Sequence[tuple]) -> list[tuple[tuple, list[tuple[int, int]]]]:
    """Argument tuples whose arrays agree in dtype and trailing shape, concatenated along the rows:
    ``[(args, [(start, stop) of each example's rows])]``. Tuples whose arrays do not share one row count
    are kept alone."""
    groups: dict[tuple, list[tuple]] = {}
    for args in examples:
        arrays = [np.asarray(a) for a in args]
        rows = {a.shape[0] if a.ndim else None for a in arrays}
        key = (tuple((a.dtype.str, a.shape[1:]) for a in arrays) if len(rows) == 1 and None not in rows
               else ("alone", id(args)))
        groups.setdefault(key, []).append(tuple(arrays))
    out = []
    for members in groups.values():
        spans, start = [], 0
        for args in members:
            spans.append((start, start + args[0].shape[0]))
            start += args[0].shape[0]
        out.append((tuple(np.concatenate(parts) for parts in zip(*members, strict=True)), spans))
    return out


def _tiled(arrays: tuple, elements: int) -> tuple[tuple, int]:
    """Each array repeated along its rows until the largest has at least ``elements`` entries; the repeats."""
    largest = max(np.asarray(a).size for a in arrays)
    repeats = max(2, -(-elements // max(largest, 1)))
    return tuple(_repeat_rows(a, repeats) for a in arrays), repeats


def _repeat_rows(a, repeats: int) -> np.ndarray:
    a = np.asarray(a)
    return np.tile(a, (repeats,) + (1,) * (a.ndim - 1)) if a.ndim else a


# =========================================================================== outcomes and items


@dataclasses.dataclass
class Outcome:
    """One (kernel, backend, dtype): ``inputs`` judged, the ``worst`` error as a fraction of the allowed
    one (≤ 1), the ``failure`` (the smallest failing input's message) or ``None``, and ``unverified``
    inputs no reference could judge, with the ``reason``."""

    inputs: int = 0
    worst: float = 0.0
    failure: CheckFailure | None = None
    unverified: int = 0
    reason: str = ""

    @property
    def agrees(self) -> bool:
        return self.failure is None


@dataclasses.dataclass(frozen=True)
class Item:
    """One kernel of a family: ``prepare(dtype, sample)`` draws the inputs and their references once and
    returns ``judge(backend) -> Outcome``. ``names`` are what ``--only`` accepts for it."""

    family: str
    name: str
    unit: str
    prepare: Callable[[np.dtype, Sample], Callable[[str], Outcome]]
    names: frozenset[str] = frozenset()

    def matches(self, wanted: set[str]) -> bool:
        return bool(wanted & ({self.name, self.family} | self.names))


def _first_failure(checks: Iterable[Callable[[], object]]) -> CheckFailure | None:
    for check in checks:
        try:
            check()
        except CheckFailure as exc:
            return exc
    return None


def _judging(run: Callable[[], tuple[int, float]], narrow: Callable[[], CheckFailure | None]) -> Outcome:
    """Run the batched check; on a disagreement, the message of the smallest failing input (``narrow``),
    or of the batch if no smaller input fails (a fault that only shows in a large batch)."""
    try:
        inputs, worst = run()
    except CheckFailure as batch_failure:
        smaller = narrow()
        return Outcome(failure=smaller if smaller is not None else batch_failure)
    return Outcome(inputs=inputs, worst=worst)


# --------------------------------------------------------------------------- activations


@functools.lru_cache(maxsize=8)
def _activation_inputs(dtype: np.dtype, sample: Sample) -> np.ndarray:
    from verify.strategies import activation_inputs

    drawn = seeded_draws(activation_inputs(dtype), sample.examples, sample.seed)
    return np.unique(np.concatenate([edge_values(dtype), *(a.ravel() for a in drawn)]).astype(dtype))


@functools.lru_cache(maxsize=64)
def _activation_reference(name: str, dtype: np.dtype, sample: Sample) -> tuple[np.ndarray, np.ndarray]:
    return SYMBOLIC_ACTIVATIONS[name].reference(_activation_inputs(dtype, sample))


def _activation_item(name: str, derivative: bool) -> Item:
    kernel_name = "activation_derivative" if derivative else "activation"

    def prepare(dtype: np.dtype, sample: Sample):
        x = _activation_inputs(dtype, sample)
        reference = _activation_reference(name, dtype, sample)[1 if derivative else 0]

        def judge(backend: str) -> Outcome:
            fn = getattr(act, kernel_name)  # looked up at call time: a replaced kernel is the one checked

            def kernel(n, v):
                return fn(n, v, backend=backend)

            def check(values, ref):
                return verify_activation(kernel, name, values, derivative=derivative, reference=ref)

            def run():
                worst = check(x, reference)
                cut = x.size - x.size % 3
                worst = max(worst, check(x[:cut].reshape(-1, 3), reference[:cut].reshape(-1, 3)))
                (tiled,), repeats = _tiled((x,), sample.tile_elements)
                return x.size, max(worst, check(tiled, np.tile(reference, repeats)))

            chunks = range(0, x.size, 4)
            return _judging(run, lambda: _first_failure(
                functools.partial(check, x[i:i + 4], reference[i:i + 4]) for i in chunks))

        return judge

    printed = f"{name}′" if derivative else name
    aliases = {f"{name}'", f"{name}_derivative"} if derivative else set()
    return Item("activations", printed, "values", prepare, frozenset(aliases))


# --------------------------------------------------------------------------- softmax family


@functools.lru_cache(maxsize=8)
def _logit_rows(dtype: np.dtype, sample: Sample) -> dict[int, np.ndarray]:
    from hypothesis.extra import numpy as hnp

    from verify.strategies import batch_shapes, logits

    strategy = batch_shapes(max_rows=4, max_classes=5).flatmap(
        lambda shape: hnp.arrays(dtype, shape, elements=logits(dtype)))
    by_width: dict[int, list[np.ndarray]] = {}
    for k in _EDGE_WIDTHS:
        by_width.setdefault(k, []).append(_rows_of(edge_values(dtype), k))
    for z in seeded_draws(strategy, sample.examples, sample.seed):
        by_width.setdefault(z.shape[1], []).append(z)
    return {k: np.concatenate(parts).astype(dtype) for k, parts in sorted(by_width.items())}


def _softmax_item(which: str) -> Item:
    def prepare(dtype: np.dtype, sample: Sample):
        groups = _logit_rows(dtype, sample)
        references = {k: _SOFTMAX_REFERENCES[which](z) for k, z in groups.items()}

        def judge(backend: str) -> Outcome:
            fn = getattr(act, which)

            def check(z, ref):
                return verify_softmax(lambda v: fn(v, backend=backend), which, z, reference=ref)

            def run():
                worst = 0.0
                for k, z in groups.items():
                    worst = max(worst, check(z, references[k]))
                    (tiled,), repeats = _tiled((z,), sample.tile_elements)
                    worst = max(worst, check(tiled, _repeat_rows(references[k], repeats)))
                return sum(z.shape[0] for z in groups.values()), worst

            return _judging(run, lambda: _first_failure(
                functools.partial(check, z[i:i + 1], references[k][i:i + 1])
                for k, z in groups.items() for i in range(z.shape[0])))

        return judge

    return Item("softmax", which, "rows", prepare)


# --------------------------------------------------------------------------- losses

_REDUCED_ROWS = 3  # rows of each group on which "mean" and "sum" are judged (N ≥ 2 tells mean from sum)


def _loss_item(name: str) -> Item:
    def prepare(dtype: np.dtype, sample: Sample):
        from verify.strategies import loss_arguments

        reference = SYMBOLIC_LOSSES[name]
        drawn = seeded_draws(loss_arguments(name, dtype), sample.examples, sample.seed)
        groups = _concatenate_by_shape(drawn)
        reductions = tuple(r for r in los.REDUCTIONS if r != "none")
        prepared = []
        for args, spans in groups:
            prefix = tuple(a[:_REDUCED_ROWS] for a in args)
            refs = {"none": reference.reference_and_magnitudes(*args, reduction="none")}
            refs.update({r: reference.reference_and_magnitudes(*prefix, reduction=r) for r in reductions})
            prepared.append((args, spans, prefix, refs))

        def judge(backend: str) -> Outcome:
            fn = los.LOSSES[name]  # looked up at call time: a replaced kernel is the one checked

            def kernel(*a, **kw):
                return fn(*a, backend=backend, **kw)

            def run():
                worst, rows = 0.0, 0
                for args, _, prefix, refs in prepared:
                    rows += args[0].shape[0]
                    worst = max(worst, verify_loss(kernel, name, args, reduction="none", reference=refs["none"]))
                    tiled, repeats = _tiled(args, sample.tile_elements)
                    tiled_ref = tuple(_repeat_rows(r, repeats) for r in refs["none"])
                    worst = max(worst, verify_loss(kernel, name, tiled, reduction="none", reference=tiled_ref))
                    for r in reductions:
                        worst = max(worst, verify_loss(kernel, name, prefix, reduction=r, reference=refs[r]))
                return rows, worst

            def narrow():
                return _first_failure(
                    functools.partial(verify_loss, kernel, name, tuple(a[lo:hi] for a in args), reduction=r)
                    for r in los.REDUCTIONS for args, spans, _, _ in prepared for lo, hi in spans)

            return _judging(run, narrow)

        return judge

    return Item("losses", name, "rows", prepare)


# --------------------------------------------------------------------------- networks

_NETWORK_BATCH = 4


def catalogue_network(loss: str) -> net.Network:
    """A chain holding every (layer kind, activation) pair of the catalogues once, with the ``loss`` head.

    Widths stay in [2, 4]; each layer narrows or widens by one where its kind allows (a convolution then
    has a kernel of size 2), else keeps its width (a residual layer must)."""
    layers, width = [], 4
    for activation, kind in itertools.product(act.ACTIVATIONS, net.LAYER_KINDS):
        for n_out in ((width - 1, width + 1, width) if width > 2 else (width + 1, width)):
            try:
                layers.append(net.Layer(kind, width, n_out, activation))
            except ValueError:
                continue
            width = n_out
            break
        else:  # pragma: no cover - a kind that fits no width in [1, 5] would need a rule here
            raise ValueError(f"no width fits a {kind} layer after width {width}")
    return net.Network(tuple(layers), loss)


def _catalogue_problems(loss: str, dtype: np.dtype, seed: int) -> list[tuple]:
    network = catalogue_network(loss)
    rng = np.random.default_rng([seed, 7])
    params = [(w.astype(dtype), b.astype(dtype)) for w, b in net.init_parameters(network, rng)]
    y = rng.standard_normal((_NETWORK_BATCH, network.input_width)).astype(dtype)
    m = network.output_width
    if loss == "least_squares":
        targets = [rng.standard_normal((_NETWORK_BATCH, m)).astype(dtype)]
    else:  # integer labels and rows of the simplex
        weights = rng.uniform(0.1, 1.0, (_NETWORK_BATCH, m))
        targets = [rng.integers(0, m, _NETWORK_BATCH), (weights / weights.sum(axis=1, keepdims=True)).astype(dtype)]
    return [(network, params, y, target) for target in targets]


def _network_item(loss: str) -> Item:
    def prepare(dtype: np.dtype, sample: Sample):
        from verify._network_strategies import network_architectures, network_problems
        from verify.symbolic.network import reference_value_and_grad

        # Drawn architectures are kept small: every new layer shape costs a sympy.diff and lambdify (~0.5 s).
        small = network_architectures(max_depth=2, max_width=3, losses=(loss,))
        drawn = seeded_draws(network_problems(dtype=dtype, architectures=small), max(1, sample.examples // 6),
                             sample.seed)
        problems = [*_catalogue_problems(loss, dtype, sample.seed), *drawn]
        cases = []  # (problem, reduction, bound, reference or None at a kink)
        for problem, reduction in itertools.product(problems, net.REDUCTIONS):
            bound = net.backward_error_bound(*problem, reduction=reduction)
            reference = None if bound.near_kink else reference_value_and_grad(*problem, reduction=reduction)
            cases.append((problem, reduction, bound, reference))

        def judge(backend: str) -> Outcome:
            def value_and_grad(network, params, y, target, reduction):
                return net.network_value_and_grad(network, params, y, target, reduction=reduction, backend=backend)

            outcome = Outcome()
            for problem, reduction, bound, reference in cases:
                if reference is None:
                    outcome.unverified += 1
                    outcome.reason = "a ReLU pre-activation within its rounding error of the kink"
                    continue
                try:
                    ratio = verify_network(value_and_grad, problem, reduction=reduction, reference=reference,
                                           bound=bound)
                except CheckFailure as exc:
                    return Outcome(failure=exc)
                outcome.inputs += 1
                outcome.worst = max(outcome.worst, ratio)
            return outcome

        return judge

    return Item("networks", f"network[{loss}]", "problems", prepare, frozenset({"network", loss}))


# --------------------------------------------------------------------------- optimizers


@st.composite
def _optimizer_problem(draw, rule: str, dtype: np.dtype, kinds: tuple[str, ...], max_steps: int,
                       n: int | None = None, steps: int | None = None):
    from verify._optimizer_strategies import gradient_sequences, optimizer_hyperparameters, parameter_vectors

    hyper = draw(optimizer_hyperparameters(rule, dtype=dtype))
    grads = draw(gradient_sequences(n, steps, dtype=dtype, kinds=kinds, max_steps=max_steps))
    return draw(parameter_vectors(grads.shape[1], dtype=dtype)), grads, hyper


#: A run with the hyperparameters practitioners use first is this long: RAdam's variance rectification (ρ_t > 5,
#: Liu et al. 2020) starts at t = 6 for β₂ = 0.9 and no drawn run need reach it.
_TYPICAL_STEPS = 12


@functools.lru_cache(maxsize=256)
def _optimizer_problems(rule: str, dtype: np.dtype, sample: Sample) -> list[tuple]:
    """A random problem (T ≤ 6) of each gradient kind of ``GRADIENT_KINDS``; the simplest problem (one step,
    one parameter); a long vector (n = 8·threads + 3: every thread gets a share, unevenly; T = 3);
    ``max(1, examples // 6)`` long runs (T ≤ 50, any kind); and a run of :data:`_TYPICAL_STEPS` steps with each
    required hyperparameter at its most used value."""
    import numba

    from verify._optimizer_strategies import GRADIENT_KINDS

    one_per_kind = st.tuples(*(_optimizer_problem(rule, dtype, (kind,), 6) for kind in GRADIENT_KINDS))
    draws = seeded_draws(one_per_kind, 2, sample.seed)  # the simplest tuple first, then a random one
    problems = [draws[0][0], *draws[-1]]
    n_long = 8 * int(numba.get_num_threads()) + 3
    problems += seeded_draws(_optimizer_problem(rule, dtype, ("general",), 3, n=n_long, steps=3), 2,
                             sample.seed)[-1:]
    problems += seeded_draws(_optimizer_problem(rule, dtype, GRADIENT_KINDS, 50), 1 + max(1, sample.examples // 6),
                             sample.seed)[1:]
    theta0, grads, _ = seeded_draws(_optimizer_problem(rule, dtype, ("general",), _TYPICAL_STEPS, n=3,
                                                       steps=_TYPICAL_STEPS), 2, sample.seed)[-1]
    return [*problems, (theta0, grads, _typical_hyperparameters(rule, np.dtype(dtype)))]


def _typical_hyperparameters(rule: str, dtype: np.dtype) -> dict[str, float]:
    """Each required hyperparameter at the first nonzero value practitioners use (:func:`_typical`), rounded to
    ``dtype``."""
    return {name: float(dtype.type(_typical(name))) for name in opt.rule_spec(rule).hyperparameters}


def _typical(name: str) -> float:
    """The first nonzero value practitioners use for hyperparameter ``name`` (``HYPERPARAMETERS[name].typical``)."""
    return next(x for x in opt.HYPERPARAMETERS[name].typical if x != 0.0)


def _optional_features(spec) -> dict[str, float]:
    """Every optional hyperparameter of the rule that it accepts switched on at once, each at its first typical
    nonzero value (Nesterov defines no dampening: the rule's own validation leaves that one out)."""
    features: dict[str, float] = {}
    for name in spec.optional:
        trial = features | {name: _typical(name)}
        try:
            opt.validate_hyperparameters(spec.name, trial, partial=True)
        except ValueError:
            continue
        features = trial
    return features


def _option_choices(spec) -> list[dict[str, object]]:
    """The rule's defaults (``{}``), then every other choice of each option, one at a time (with the choices it
    applies only together with, :data:`verify.kernels.optimizers.OPTION_PREREQUISITES`, where the rule has them),
    then every optional hyperparameter switched on (:func:`_optional_features`). Without a ``weight_decay`` an
    option about weight decay changes nothing, so those choices get one."""
    choices: list[dict[str, object]] = [{}]
    for option, values in spec.options.items():
        for v in values:
            if v == spec.defaults.get(option):
                continue
            needed = opt.OPTION_PREREQUISITES.get((option, v), {})
            choice: dict[str, object] = {k: c for k, c in needed.items() if k in spec.options} | {option: v}
            if ("decoupled_weight_decay" in choice or option == "decay_scale") and "weight_decay" in spec.optional:
                choice["weight_decay"] = _typical("weight_decay")
            choices.append(choice)
    features = _optional_features(spec)
    if features:
        choices.append(features)
    return choices


def _optimizer_item(rule: str, options: dict[str, str]) -> Item:
    name = rule + ("[" + ", ".join(f"{k}={v}" for k, v in options.items()) + "]" if options else "")

    def prepare(dtype: np.dtype, sample: Sample):
        from verify.checks.optimizer import check_optimizer

        problems = _optimizer_problems(rule, dtype, sample)

        def judge(backend: str) -> Outcome:
            run = functools.partial(opt.run_optimizer, rule, backend=backend, return_state=True)
            outcome = Outcome()
            for theta0, grads, hyper in problems:
                try:
                    report = check_optimizer(rule, run, theta0=theta0, grads=grads, dtype=dtype, **hyper, **options)
                except CheckFailure as exc:
                    return Outcome(failure=exc)
                outcome.inputs += 1
                outcome.worst = max(outcome.worst, report.max_error_ratio)
            return outcome

        return judge

    return Item("optimizers", name, "problems", prepare, frozenset({rule}))


# --------------------------------------------------------------------------- training loops

_TRAINING_SAMPLES, _TRAINING_FEATURES, _TRAINING_BATCH = 10, 3, 4


def _schedule(t: int) -> float:
    """A step-size schedule of powers of two (exact in every dtype): 1/4, 1/8, 1/2, 1/4, …"""
    return 2.0 ** -(1 + t % 3)


def _training_rules() -> list[str]:
    """The drivers' default rule, the first rule with a step number and the first other stateful rule."""
    rules = [next(iter(opt.RULES))]
    rules += [next((r for r, s in opt.RULES.items() if s.takes_step_number), rules[0])]
    rules += [next((r for r, s in opt.RULES.items() if s.state and not s.takes_step_number), rules[0])]
    return list(dict.fromkeys(rules))


def _documented_batches(driver: str, n: int, seed: int, epochs: int) -> list[np.ndarray]:
    """The sample indices of each step as the module docstring of ``verify.kernels.training`` states them:
    minibatch — a fresh ``default_rng(seed).permutation(n)`` per epoch cut into consecutive batches;
    full batch — every sample, in order, every step."""
    if driver == "full_batch_gd":
        return [np.arange(n)] * epochs
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(epochs):
        perm = rng.permutation(n)
        out += [perm[i:i + _TRAINING_BATCH] for i in range(0, n, _TRAINING_BATCH)]
    return out


def verify_training(driver: str, rule: str, backend: str, dtype: np.dtype, hyper: dict, *, scheduled: bool,
                    seed: int = SEED) -> float:
    """Run ``verify.kernels.training.<driver>`` on a least-squares problem, recording what the loop feeds
    ``loss_and_grad``; check the batches against the documented partition, the recorded losses and epochs,
    and the trajectory against the exact run of ``rule`` on the recorded gradients (``check_optimizer``).
    With ``scheduled`` (rule ``sgd`` only) the step size is :func:`_schedule`; the exact run then takes
    ``lr = 1`` and the gradients scaled by ``lr(t)`` (exact: powers of two)."""
    from verify.checks.optimizer import check_optimizer

    rng = np.random.default_rng([seed, 11])
    x = rng.standard_normal((_TRAINING_SAMPLES, _TRAINING_FEATURES)).astype(dtype)
    y = (x @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(_TRAINING_SAMPLES)).astype(dtype)
    theta0 = rng.standard_normal(_TRAINING_FEATURES).astype(dtype)
    calls: list[tuple[np.ndarray, np.ndarray, np.ndarray, float, np.ndarray]] = []

    def loss_and_grad(theta, xb, yb):
        residual = xb @ theta - yb
        value = float(np.mean(residual.astype(np.float64) ** 2) / 2)
        grad = (xb.T @ residual / xb.shape[0]).astype(dtype)
        calls.append((theta.copy(), xb.copy(), yb.copy(), value, grad))
        return value, grad

    epochs = 2
    lr = _schedule if scheduled else hyper["lr"]
    other = {k: v for k, v in hyper.items() if k != "lr"}
    fn = getattr(training, driver)
    start = theta0.copy()
    if driver == "full_batch_gd":
        result = fn(loss_and_grad, theta0, x, y, lr=lr, steps=epochs, rule=rule, backend=backend, **other)
    else:
        result = fn(loss_and_grad, theta0, x, y, lr=lr, batch_size=_TRAINING_BATCH, epochs=epochs, seed=seed,
                    rule=rule, backend=backend, **other)
    where = f"{driver}(rule={rule!r}, backend={backend!r}, {dtype.name}{', lr=schedule' if scheduled else ''})"
    if not np.array_equal(theta0, start):
        raise CheckFailure(f"{where} modified theta0 in place")
    batches = _documented_batches(driver, _TRAINING_SAMPLES, seed, epochs)
    if len(calls) != len(batches) or result.steps != len(batches):
        raise CheckFailure(f"{where} took {len(calls)} gradients and reported {result.steps} steps; the documented "
                           f"loop takes {len(batches)}")
    for t, ((_, xb, yb, _, _), batch) in enumerate(zip(calls, batches, strict=True), start=1):
        if not (np.array_equal(xb, x[batch]) and np.array_equal(yb, y[batch])):
            raise CheckFailure(f"{where}: step {t} was given other samples than rows {batch.tolist()} of the "
                               "documented partition (a fresh default_rng(seed).permutation per epoch, cut "
                               "into consecutive batches)")
    if not np.array_equal(result.losses, [c[3] for c in calls]):
        raise CheckFailure(f"{where}: losses {result.losses.tolist()} are not the values returned at each step "
                           f"{[c[3] for c in calls]}")
    expected_epochs = (np.ones(len(batches)) if driver == "full_batch_gd"
                       else np.repeat(np.arange(1, epochs + 1), len(batches) // epochs))
    if not np.array_equal(result.epoch_of_step, expected_epochs):
        raise CheckFailure(f"{where}: epoch_of_step {result.epoch_of_step.tolist()}, expected "
                           f"{expected_epochs.astype(int).tolist()}")
    if not np.array_equal(calls[0][0], theta0):
        raise CheckFailure(f"{where}: the first gradient was taken at {calls[0][0].tolist()}, not at theta0")
    iterates = np.array([c[0] for c in calls[1:]] + [result.theta], dtype=dtype)
    grads = np.array([c[4] for c in calls], dtype=dtype)
    if scheduled:
        grads = (grads * np.array([_schedule(t) for t in range(1, len(calls) + 1)])[:, None]).astype(dtype)
        hyper = {**hyper, "lr": 1.0}

    def replay(theta0_, grads_, **_):
        if not (np.array_equal(theta0_, theta0) and np.array_equal(grads_, grads)):
            raise ValueError("this recorded trajectory answers only the inputs it was recorded on")
        return iterates

    try:
        report = check_optimizer(rule, replay, theta0=theta0, grads=grads, dtype=dtype, **hyper)
    except CheckFailure as exc:
        raise CheckFailure(f"{where}: the trajectory is not the exact run of {rule!r} on the gradients the loop "
                           f"was fed:\n{exc}") from None
    return report.max_error_ratio


@functools.lru_cache(maxsize=64)
def _training_hyperparameters(rule: str, dtype: np.dtype, sample: Sample) -> dict:
    from verify._optimizer_strategies import optimizer_hyperparameters

    return seeded_draws(optimizer_hyperparameters(rule, dtype=dtype), 2, sample.seed)[-1]


def _training_item(driver: str, rule: str, scheduled: bool) -> Item:
    name = f"{driver}[{rule}{', lr(t)' if scheduled else ''}]"

    def prepare(dtype: np.dtype, sample: Sample):
        hyper = _training_hyperparameters(rule, dtype, sample)

        def judge(backend: str) -> Outcome:
            try:
                worst = verify_training(driver, rule, backend, dtype, hyper, scheduled=scheduled, seed=sample.seed)
            except CheckFailure as exc:
                return Outcome(failure=exc)
            return Outcome(inputs=1, worst=worst)

        return judge

    return Item("training", name, "runs", prepare, frozenset({driver}))


# =========================================================================== the catalogue and the run


def catalogue() -> list[Item]:
    """Every kernel of every family, built from the catalogues at call time."""
    items = [_activation_item(n, d) for d in (False, True) for n in act.ACTIVATIONS]
    items += [_softmax_item(w) for w in _SOFTMAX_REFERENCES]
    items += [_loss_item(n) for n in los.LOSSES]
    items += [_network_item(loss) for loss in net.NETWORK_LOSSES]
    items += [_optimizer_item(rule, choice) for rule, spec in opt.RULES.items() for choice in _option_choices(spec)]
    drivers = [d for d in ("minibatch_sgd", "full_batch_gd") if d in training.__all__]
    rules = _training_rules()
    items += [_training_item(d, r, False) for d in drivers for r in rules]
    items += [_training_item(d, rules[0], True) for d in drivers]
    return items


def judge_item(item: Item, backends: Sequence[str], dtype, sample: Sample = Sample()) -> dict[str, Outcome]:
    """Prepare ``item``'s inputs and references once for ``dtype`` and judge every backend on them."""
    judge = item.prepare(np.dtype(dtype), sample)
    return {backend: judge(backend) for backend in backends}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES,
                        help=f"seeded draws per kernel and dtype, besides the edge cases (default {DEFAULT_EXAMPLES})")
    parser.add_argument("--seed", type=int, default=SEED, help=f"seed of the drawn inputs (default {SEED})")
    parser.add_argument("--backends", default=",".join(CPU_BACKENDS), help="comma-separated CPU backends")
    parser.add_argument("--dtypes", default="float64,float32", help="comma-separated float dtypes")
    parser.add_argument("--only", default=None,
                        help="comma-separated kernel names or families (" + ", ".join(FAMILIES) + "); default: all")
    parser.add_argument("--jobs", type=int, default=None,
                        help="processes checking kernels side by side (default: the CPUs this process may use); "
                             "each kernel is compiled and checked once, in one of them")
    parser.add_argument("--list", action="store_true", help="list the kernels and exit")


# =========================================================================== running: in this process or in several


class _CompileClock:
    """Seconds spent compiling (outermost ``numba:compile`` events: a kernel's compilation, its callees included)
    and the number of specialisations compiled, in this process. Loading a kernel from the on-disk cache is not
    compiling and is not counted."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.count = 0
        self._depth = 0
        self._began = 0.0

    def on_start(self, event) -> None:
        if self._depth == 0:
            self._began = time.perf_counter()
        self._depth += 1

    def on_end(self, event) -> None:
        self._depth -= 1
        if self._depth == 0:
            self.seconds += time.perf_counter() - self._began
            self.count += 1


def _compile_clock() -> _CompileClock:
    """The process's clock, listening to Numba's compile events from the first call on."""
    global _CLOCK
    if _CLOCK is None:
        from numba.core import event

        class Listener(event.Listener):
            def on_start(self, ev) -> None:
                clock.on_start(ev)

            def on_end(self, ev) -> None:
                clock.on_end(ev)

        clock = _CompileClock()
        event.register("numba:compile", Listener())
        _CLOCK = clock
    return _CLOCK


_CLOCK: _CompileClock | None = None


@dataclasses.dataclass
class _Result:
    """One (kernel, dtype) judged on every backend, as it travels back from a worker process: the outcomes
    (a failure as its message), the seconds it took and the part of them spent compiling."""

    name: str
    dtype: str
    outcomes: dict[str, Outcome]
    seconds: float
    compile_seconds: float
    compiled: int


def _judge_task(item: Item, dtype: np.dtype, backends: Sequence[str], sample: Sample) -> _Result:
    clock = _compile_clock()
    seconds, count = clock.seconds, clock.count
    t0 = time.perf_counter()
    outcomes = judge_item(item, backends, dtype, sample)
    return _Result(item.name, dtype.name, outcomes, time.perf_counter() - t0, clock.seconds - seconds,
                   clock.count - count)


def _chain_key(item: Item) -> str:
    """Items whose kernels overlap run one after the other in one process, so that a kernel is compiled once:
    every activation (one kernel switches over the catalogue), every network head (one set of layer passes),
    the training loops (run last: their rules' kernels are then in the on-disk cache), optimizer rules sharing
    a rule's kernels (``adamw`` runs Adam's: the rule of the kernel that ``run_optimizer`` would pick)."""
    if item.family in ("activations", "networks", "training"):
        return item.family
    if item.family == "optimizers":
        rule = next(iter(item.names))
        return "optimizers:" + _KERNEL_RULE.get(rule, rule)
    return f"{item.family}:{item.name}"


#: Rules stepping with another rule's compiled kernels (``verify.kernels.optimizers``: the same element function
#: with other scalars or state names). Only the order of the work depends on it, never a result.
_KERNEL_RULE = {"nesterov": "momentum", "ema_momentum": "momentum", "adamw": "adam", "adagrad_norm": "sgd"}


def _chains(items: Sequence[Item], dtypes: Sequence[np.dtype]) -> list[list[tuple[str, str]]]:
    """The (kernel, dtype) tasks grouped by :func:`_chain_key` (in the catalogue's order, training last)."""
    chains: dict[str, list[tuple[str, str]]] = {}
    for item in items:
        chains.setdefault(_chain_key(item), []).extend((item.name, d.name) for d in dtypes)
    return sorted(chains.values(), key=lambda chain: chain is chains.get("training"))


_WORKER: dict = {}


def _worker_start(queue, backends: tuple[str, ...], sample: Sample) -> None:
    _WORKER.update(queue=queue, backends=backends, sample=sample, items={i.name: i for i in catalogue()})
    _compile_clock()


def _worker_chain(chain: list[tuple[str, str]]) -> int:
    for name, dtype in chain:
        result = _judge_task(_WORKER["items"][name], np.dtype(dtype), _WORKER["backends"], _WORKER["sample"])
        for outcome in result.outcomes.values():  # a message travels; the exception's details may not pickle
            if outcome.failure is not None:
                outcome.failure = CheckFailure(str(outcome.failure))
        _WORKER["queue"].put(result)
    return len(chain)


def _results(items: Sequence[Item], dtypes: Sequence[np.dtype], backends: Sequence[str], sample: Sample,
             jobs: int, on_start: Callable[[str], None] = lambda label: None) -> Iterable[_Result]:
    """Every (kernel, dtype) judged, in the order they finish: here (``jobs == 1``) or in ``jobs`` processes.

    Several processes divide the compilation (most of a cold run) and the checks between the CPUs; each task is
    judged exactly as in one process, on the same seeded inputs. Kernels compiled by one process reach the others
    through the on-disk cache."""
    if jobs == 1:
        for item, dtype in itertools.product(items, dtypes):
            on_start(f"{item.name} {dtype.name}")
            yield _judge_task(item, dtype, backends, sample)
        return
    import concurrent.futures
    import multiprocessing
    import queue as queues

    context = multiprocessing.get_context("spawn")  # a forked child would inherit Numba's thread pool
    results = context.Queue()
    chains = _chains(items, dtypes)
    pending = sum(len(c) for c in chains)
    with concurrent.futures.ProcessPoolExecutor(max_workers=min(jobs, len(chains)), mp_context=context,
                                                initializer=_worker_start,
                                                initargs=(results, tuple(backends), sample)) as pool:
        futures = [pool.submit(_worker_chain, chain) for chain in chains]
        try:
            while pending:
                try:
                    result = results.get(timeout=0.5)
                except queues.Empty:
                    result = None
                if result is None:  # a worker that died or raised says so here
                    failed = [f.exception() for f in futures if f.done() and f.exception() is not None]
                    if failed:
                        raise failed[0]
                    continue
                pending -= 1
                yield result
        except BaseException:  # an error in a worker, Ctrl-C: the chains not started are dropped
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _cell(outcome: Outcome) -> str:
    if not outcome.agrees:
        return "DISAGREES"
    text = f"{outcome.worst:.3f}"
    return text + (f" ({outcome.unverified} unverified)" if outcome.unverified else "")


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) if i < 3 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True)))]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))))
    return "\n".join(lines)


def _idle_threads_sleep() -> None:
    """Unless the user chose otherwise, let idle OpenMP workers sleep (``OMP_WAIT_POLICY=PASSIVE``).

    The check starts thousands of tiny parallel regions; between them, workers that spin (the default)
    take the CPU from the thread doing the work on a shared machine (measured: the optimizer family in
    7.7 s instead of 13.7 s at a load of 6 on 2 cores). The results do not depend on it. It takes effect
    only if Numba's OpenMP layer has not started yet in this process (it reads the variable then)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def run(args: argparse.Namespace) -> int:
    _idle_threads_sleep()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    bad = [b for b in backends if b not in CPU_BACKENDS]
    if bad or not backends:
        print(f"verify selfcheck: --backends must be among {CPU_BACKENDS}; got {args.backends!r}", file=sys.stderr)
        return 2
    try:
        dtypes = [np.dtype(d.strip()) for d in args.dtypes.split(",") if d.strip()]
    except TypeError as exc:
        print(f"verify selfcheck: --dtypes: {exc}", file=sys.stderr)
        return 2
    if not dtypes or any(d not in (np.dtype(np.float32), np.dtype(np.float64)) for d in dtypes):
        print(f"verify selfcheck: --dtypes must be float32 and/or float64; got {args.dtypes!r}", file=sys.stderr)
        return 2
    if args.examples < 1:
        print(f"verify selfcheck: --examples must be >= 1; got {args.examples}", file=sys.stderr)
        return 2
    items = catalogue()
    if getattr(args, "list", False):
        for item in items:
            print(f"{item.family:12s} {item.name}")
        return 0
    if args.only:
        wanted = {n.strip() for n in args.only.split(",") if n.strip()}
        known = set().union(*({i.name, i.family} | i.names for i in items))
        unknown = sorted(wanted - known)
        if unknown:
            print(f"verify selfcheck: unknown kernel(s) {unknown}; known: {[i.name for i in items]} and the "
                  f"families {list(FAMILIES)}", file=sys.stderr)
            return 2
        items = [i for i in items if i.matches(wanted)]
    jobs = _default_jobs() if getattr(args, "jobs", None) is None else args.jobs
    if jobs < 1:
        print(f"verify selfcheck: --jobs must be >= 1; got {jobs}", file=sys.stderr)
        return 2
    sample = Sample(examples=args.examples, seed=args.seed)
    total = len(items) * len(backends) * len(dtypes)
    print(f"verify selfcheck: {len(items)} kernels × {len(backends)} backends × {len(dtypes)} dtypes = {total} "
          f"checks; edge cases + {sample.examples} seeded draws per kernel and dtype (seed {sample.seed})"
          + (f"; {jobs} processes" if jobs > 1 else ""), flush=True)
    by_task: dict[tuple[str, str], _Result] = {}
    start = time.perf_counter()
    with Progress(len(items) * len(dtypes), "selfcheck") as progress:
        for result in _results(items, dtypes, backends, sample, jobs, progress.start):
            label = f"{result.name} {result.dtype}"
            bad_backends = [b for b, o in result.outcomes.items() if not o.agrees]
            progress.done(label, "DISAGREES on " + ", ".join(bad_backends) if bad_backends else "agrees",
                          seconds=result.seconds)
            by_task[result.name, result.dtype] = result
    wall = time.perf_counter() - start
    rows, failures = [], []
    for item, dtype in itertools.product(items, dtypes):
        result = by_task[item.name, dtype.name]
        outcomes = result.outcomes
        failures += [(item.name, b, dtype, outcomes[b].failure) for b in backends if not outcomes[b].agrees]
        inputs = max(o.inputs for o in outcomes.values())
        rows.append([item.family, item.name, dtype.name, f"{inputs} {item.unit}" if inputs else "-",
                     *(_cell(outcomes[b]) for b in backends), f"{result.seconds:.2f}", f"{result.compile_seconds:.2f}"])
    compile_seconds = sum(r.compile_seconds for r in by_task.values())
    busy = sum(r.seconds for r in by_task.values())
    compiled = sum(r.compiled for r in by_task.values())
    print(_table(rows, ["family", "kernel", "dtype", "inputs", *backends, "s", "compiling"]))
    print("(each backend column: worst error as a fraction of the allowed one; agreeing means ≤ 1; s: seconds "
          "for the kernel and dtype, of which compiling: Numba compiling kernels not found in its on-disk cache)")
    unverified = sum("unverified" in c for r in rows for c in r)
    print(f"\n{total - len(failures)}/{total} checks agree ({len(items)} kernels × {len(backends)} backends × "
          f"{len(dtypes)} dtypes) in {wall:.1f} s"
          + (f"; {unverified} with inputs no reference could judge (a ReLU kink)" if unverified else ""))
    print(f"time: {busy:.1f} s of work{f' in {jobs} processes' if jobs > 1 else ''}: compiling {compile_seconds:.1f} s "
          f"({compiled} specialisations not in the on-disk cache), checking {busy - compile_seconds:.1f} s")
    for name, backend, dtype, exc in failures:
        print(f"\n== {name} on {backend} ({dtype.name}) ==\n{exc}")
    return 1 if failures else 0
