"""``verify selfcheck``: every (kernel, backend) pair on the CPU backends against its SymPy reference.

For each kernel of :mod:`verify.kernels.activations` and :mod:`verify.kernels.losses`, on each CPU
backend and dtype, Hypothesis draws inputs (:mod:`verify.strategies`, extreme logits included) and the
kernel's output is compared with the correctly rounded high-precision reference
(:mod:`verify.symbolic`) within the dtype- and conditioning-derived tolerance of
:func:`verify.checks.compare.compare`. A table with one line per pair is printed as it goes; the
exit status is 1 if any pair disagrees.

The comparison functions :func:`verify_activation`, :func:`verify_softmax` and :func:`verify_loss`
are the ones the test-suite uses, for the real kernels and for deliberately wrong ones.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from verify.checks.compare import compare
from verify.checks.failure import CheckFailure
from verify.kernels import activations as act
from verify.kernels import losses as los
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
    "KernelSpec",
    "KERNELS",
    "verify_activation",
    "verify_softmax",
    "verify_loss",
    "check_pair",
    "add_arguments",
    "run",
]

_SOFTMAX_REFERENCES = {
    "softmax": softmax_reference,
    "log_softmax": log_softmax_reference,
    "logsumexp": logsumexp_reference,
}


def verify_activation(kernel: Callable, name: str, x: np.ndarray, *, derivative: bool = False) -> float:
    """Compare ``kernel(name, x)`` (an activation or its derivative) with the reference; raise on failure."""
    out = kernel(name, x)
    if out.shape != x.shape or out.dtype != x.dtype:
        raise CheckFailure(f"{name}: output shape/dtype {out.shape}/{out.dtype}, expected {x.shape}/{x.dtype}")
    values, derivatives = SYMBOLIC_ACTIVATIONS[name].reference(x)
    reference = derivatives if derivative else values
    what = f"{name}{'′' if derivative else ''}"
    return compare(out, reference, reference, dtype=x.dtype, what=what, context=f" at x = {x.tolist()!r}")


def verify_softmax(kernel: Callable, which: str, z: np.ndarray) -> float:
    """Compare ``kernel(z)`` (softmax, log_softmax or logsumexp) with the reference; raise on failure."""
    out = kernel(z)
    reference = _SOFTMAX_REFERENCES[which](z)
    if out.dtype != z.dtype:
        raise CheckFailure(f"{which}: output dtype {out.dtype}, expected {z.dtype}")
    if which == "logsumexp":  # m + log S: the two terms added are the magnitude
        magnitude = np.abs(z.max(axis=1).astype(np.float64)) + np.abs(reference - z.max(axis=1))
    else:  # softmax: a positive quotient; log-softmax: (z_k − m) − log S, two terms of one sign
        magnitude = reference
    return compare(out, reference, magnitude, dtype=z.dtype, terms=row_terms(z.shape[1]), what=which,
                   context=f" at z = {z.tolist()!r}")


def verify_loss(kernel: Callable, name: str, args: tuple, *, reduction: str = "mean",
                options: dict | None = None) -> float:
    """Compare ``kernel(*args, reduction=reduction, **options)`` → ``(value, grad)`` with the reference of ``name``."""
    ref = SYMBOLIC_LOSSES[name]
    dtype = np.asarray(args[ref.wrt]).dtype
    options = options or {}
    with np.errstate(all="ignore"):
        value, grad = kernel(*args, reduction=reduction, **options)
        ref_value, ref_grad, value_mag, grad_mag = ref.reference_and_magnitudes(*args, reduction=reduction, **options)
    wrt = np.asarray(args[ref.wrt])
    if np.shape(grad) != wrt.shape or np.asarray(grad).dtype != dtype:
        raise CheckFailure(f"{name}: gradient shape/dtype {np.shape(grad)}/{np.asarray(grad).dtype}, "
                           f"expected {wrt.shape}/{dtype}")
    if reduction == "none" and np.shape(value) != (wrt.shape[0],):
        raise CheckFailure(f"{name}: per-row values of shape {np.shape(value)}, expected ({wrt.shape[0]},)")
    if reduction != "none" and not isinstance(value, float):
        raise CheckFailure(f"{name}: reduction {reduction!r} must give a Python float; got {type(value).__name__}")
    k = wrt.shape[1] if wrt.ndim == 2 else 1
    context = (f" (reduction={reduction!r}{''.join(f', {k}={v!r}' for k, v in options.items())}) at arguments "
               f"{[np.asarray(a).tolist() for a in args]!r}")
    worst = compare(value, ref_value, value_mag, dtype=dtype, terms=row_terms(k, wrt.shape[0], reduction),
                    what=f"{name} value", context=context)
    return max(worst, compare(grad, ref_grad, grad_mag, dtype=dtype, terms=row_terms(k), what=f"{name} gradient",
                              context=context))


# --------------------------------------------------------------------------- the catalogue of pairs

@dataclass(frozen=True)
class KernelSpec:
    """One kernel: ``name`` (as printed), a strategy factory ``inputs(dtype)`` and ``check(backend, drawn)``."""

    name: str
    inputs: Callable[[np.dtype], st.SearchStrategy]
    check: Callable[[str, object], float]


def _activation_spec(name: str, derivative: bool) -> KernelSpec:
    from verify.strategies import activation_inputs

    kernel = "activation_derivative" if derivative else "activation"

    def check(backend, x):  # looked up at call time, so a replaced kernel is the one checked
        fn = getattr(act, kernel)
        return verify_activation(lambda n, v: fn(n, v, backend=backend), name, x, derivative=derivative)

    return KernelSpec(f"{name}{'′' if derivative else ''}", activation_inputs, check)


def _softmax_spec(which: str) -> KernelSpec:
    from verify.strategies import batch_shapes, logits

    @st.composite
    def inputs(draw, dtype):
        from hypothesis.extra import numpy as hnp

        shape = draw(batch_shapes(max_rows=4, max_classes=5))
        return draw(hnp.arrays(np.dtype(dtype), shape, elements=logits(dtype)))

    def check(backend, z):
        fn = getattr(act, which)
        return verify_softmax(lambda v: fn(v, backend=backend), which, z)

    return KernelSpec(which, inputs, check)


def _loss_spec(name: str) -> KernelSpec:
    from verify.strategies import loss_arguments

    def inputs(dtype):
        return st.tuples(loss_arguments(name, dtype), st.sampled_from(los.REDUCTIONS))

    def check(backend, drawn):
        args, reduction = drawn
        fn = los.LOSSES[name]
        return verify_loss(lambda *a, **kw: fn(*a, backend=backend, **kw), name, args, reduction=reduction)

    return KernelSpec(name, inputs, check)


KERNELS: tuple[KernelSpec, ...] = (
    *(_activation_spec(n, d) for d in (False, True) for n in act.ACTIVATIONS),
    *(_softmax_spec(w) for w in ("softmax", "log_softmax", "logsumexp")),
    *(_loss_spec(n) for n in los.LOSSES),
)


def check_pair(spec: KernelSpec, backend: str, dtype: np.dtype, *, examples: int,
               shrink: bool = True) -> tuple[int, float]:
    """Run ``spec`` on ``backend`` for ``examples`` drawn inputs; ``(examples run, worst error ratio)``.
    Raises the (shrunk) :class:`CheckFailure` of the first disagreement."""
    seen = {"n": 0, "worst": 0.0}
    phases = (Phase.explicit, Phase.generate, Phase.shrink) if shrink else (Phase.explicit, Phase.generate)

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True, phases=phases,
              suppress_health_check=(HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much))
    @given(spec.inputs(np.dtype(dtype)))
    def search(drawn):
        seen["n"] += 1
        seen["worst"] = max(seen["worst"], spec.check(backend, drawn))

    search()
    return seen["n"], seen["worst"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--examples", type=int, default=200, help="drawn inputs per (kernel, backend, dtype)")
    parser.add_argument("--backends", default=",".join(CPU_BACKENDS), help="comma-separated CPU backends")
    parser.add_argument("--dtypes", default="float64,float32", help="comma-separated float dtypes")
    parser.add_argument("--only", default=None, help="comma-separated kernel names (default: all)")


def run(args: argparse.Namespace) -> int:
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    dtypes = [np.dtype(d.strip()) for d in args.dtypes.split(",") if d.strip()]
    wanted = None if not args.only else {n.strip() for n in args.only.split(",")}
    specs = [s for s in KERNELS if wanted is None or s.name in wanted]
    if wanted is not None and len(specs) != len(wanted):
        unknown = wanted - {s.name for s in specs}
        print(f"verify selfcheck: unknown kernel(s) {sorted(unknown)}; known: {[s.name for s in KERNELS]}",
              file=sys.stderr)
        return 2
    total = len(specs) * len(backends) * len(dtypes)
    print(f"verify selfcheck: {len(specs)} kernels × {len(backends)} backends × {len(dtypes)} dtypes "
          f"= {total} checks, {args.examples} drawn inputs each")
    header = f"{'#':>4}  {'kernel':28s} {'backend':9s} {'dtype':8s} {'inputs':>6s} {'worst/allowed':>13s} {'s':>6s}  verdict"
    print(header)
    print("-" * len(header))
    failures = []
    done = 0
    start = time.perf_counter()
    for spec in specs:
        for backend in backends:
            for dtype in dtypes:
                done += 1
                t0 = time.perf_counter()
                try:
                    n, worst = check_pair(spec, backend, dtype, examples=args.examples)
                    verdict, shown = "ok", f"{worst:.3f}"
                except CheckFailure as exc:
                    n, shown, verdict = "-", "-", "DISAGREES"
                    failures.append((spec.name, backend, dtype, exc))
                print(f"{done:>4}  {spec.name:28s} {backend:9s} {dtype.name:8s} {n!s:>6s} {shown:>13s} "
                      f"{time.perf_counter() - t0:6.1f}  {verdict}", flush=True)
    pairs = len(specs) * len(backends)
    print(f"\n{total - len(failures)}/{total} checks agree ({pairs} (kernel, backend) pairs) "
          f"in {time.perf_counter() - start:.1f} s")
    for name, backend, dtype, exc in failures:
        print(f"\n== {name} on {backend} ({dtype.name}) ==\n{exc}")
    return 1 if failures else 0
