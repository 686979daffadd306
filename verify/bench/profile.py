"""Where the time goes: phase timings of the kernels that ``verify bench`` measures (``--profile``).

A public kernel call is validation + allocation + the compiled loop + a reduction. Each phase is timed
alone on the workload's data by calling the pieces the public function is built from: for a loss, its record's
argument checks and compiled kernels (:mod:`verify.kernels.catalogue`); for an optimizer, the finiteness scan
and the generated update loop (whose internal names belong to :mod:`verify.kernels.optimizers`: a phase whose
internal name is gone is reported as missing, never guessed). Alongside, whether the compiled serial loop is vectorised (packed AVX instructions in its
machine code), which decides whether a bandwidth-bound kernel can reach the triad.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from verify.bench.harness import BenchConfig, measure

__all__ = ["PROFILES", "profile_softmax_cross_entropy", "profile_optimizer", "packed_instructions"]


def _ms(call: Callable[[], object], config: BenchConfig) -> float:
    return measure(call, repeats=config.repeats, warmup=config.warmup).median * 1e3


def packed_instructions(dispatcher: Any) -> dict[str, int]:
    """Counts of packed (``…pd`` on ``ymm``) vs scalar (``…sd``) double arithmetic in compiled code.

    A kernel loaded from Numba's on-disk cache has no assembly text, so the function is compiled once
    more, in memory, with the same options and signatures.
    """
    import numba

    options = {k: v for k, v in dispatcher.targetoptions.items() if k not in ("cache", "nopython")}
    fresh = numba.njit(**options)(dispatcher.py_func)
    for signature in dispatcher.signatures:
        fresh.compile(signature)
    text = "\n".join(fresh.inspect_asm().values())
    packed = len(re.findall(r"\bv(?:add|sub|mul|div|sqrt|fmadd\w*)pd\b[^\n]*ymm", text))
    scalar = len(re.findall(r"\bv(?:add|sub|mul|div|sqrt|fmadd\w*)sd\b", text))
    return {"packed_ymm": packed, "scalar": scalar}


def profile_softmax_cross_entropy(config: BenchConfig) -> dict[str, Any]:
    """Validation, the row loop (cpu, parallel) and the final sum of ``softmax_cross_entropy``.

    The phases are the pieces the public function is built from (:func:`verify.kernels.catalogue.evaluate_loss`):
    the argument checks of the loss's record, its compiled kernel for integer labels (which checks the logits'
    finiteness as it reads them, on one thread and on all) and the sum of the per-row values."""
    from verify.kernels.catalogue import array_backend, validate_arguments
    from verify.kernels.losses import RECORDS

    n, k = (20_000, 10) if config.quick else (1_000_000, 10)
    rng = np.random.default_rng([config.seed, 1])
    z, labels = 3.0 * rng.standard_normal((n, k)), rng.integers(0, k, n)
    record = RECORDS["softmax_cross_entropy"]
    arrays = array_backend("cpu")
    options = record.check_options({})

    def validate():
        return validate_arguments(arrays, record, (z, labels), options, prediction_finite=not record.checks_finite)

    checked, kind = validate()
    kernel = record.kernels[kind]
    out: dict[str, Any] = {"size": f"{n} x {k}"}
    out["validate arguments ms"] = _ms(validate, config)
    vals, grad = np.empty(n), np.empty_like(z)
    args = (*checked, vals, grad, float(n))
    out["row loop cpu ms"] = _ms(lambda: kernel.cpu(*args), config)
    out["row loop parallel ms"] = _ms(lambda: kernel.parallel(*args), config)
    out["sum of row losses ms"] = _ms(lambda: arrays.total(vals), config)
    if config.exps_per_second:
        # every logit but the row maximum needs one exp (the maximum's is 1 exactly)
        out["exp bound ms (n(k-1) exps)"] = n * (k - 1) / config.exps_per_second * 1e3
    out["row loop cpu instructions"] = packed_instructions(kernel.serial)
    return out


def profile_optimizer(config: BenchConfig, rule: str) -> dict[str, Any]:
    """The finiteness check of ``grad`` (on one thread, as the step runs it for every backend, and on all threads for
    comparison) and the generated update loop (cpu, parallel) of an optimizer rule."""
    from verify.kernels import optimizers as opt
    from verify.kernels._finite import count_nonfinite, count_nonfinite_parallel

    n = 100_000 if config.quick else 10_000_000
    rng = np.random.default_rng([config.seed, 5])
    theta, grad = rng.standard_normal(n), rng.standard_normal(n)
    hyper = {"adam": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
             "momentum": {"lr": 1e-3, "momentum": 0.9}}.get(rule)
    out: dict[str, Any] = {"size": f"{n} parameters"}
    if hyper is None:
        return {**out, "missing": f"no profile for {rule!r}"}
    try:
        finite = {"one thread": count_nonfinite, "all threads": count_nonfinite_parallel}
        spec = opt.rule_spec(rule)
        h = opt.validate_hyperparameters(rule, hyper)
        state = opt.init_state(rule, n, **hyper)
        scalars = opt._scalars(spec, h, 2, state)
        layout = opt._layout_for(rule, tuple(state), scalars)
        args = (theta, grad, *state.values(), *(np.float64(scalars[s]) for s in layout.scalars))
        loops = {"cpu": layout.compiled.cpu, "parallel": layout.compiled.parallel}
        arrays = 3 + 2 * len(state)
    except AttributeError as exc:
        return {**out, "missing": str(exc)}
    for name, check in finite.items():
        out[f"finite check {name} ms"] = _ms(lambda check=check: check(grad), config)
    for name in ("cpu", "parallel"):
        loop_ms = _ms(lambda name=name: loops[name](*args), config)
        out[f"update loop {name} ms"] = loop_ms
        out[f"update loop {name} GB/s"] = arrays * 8 * n / loop_ms / 1e6
    out["update loop cpu instructions"] = packed_instructions(layout.compiled.serial)
    return out


#: workload name → its phase profile.
PROFILES: dict[str, Callable[[BenchConfig], dict[str, Any]]] = {
    "softmax_cross_entropy": profile_softmax_cross_entropy,
    "adam": lambda config: profile_optimizer(config, "adam"),
    "momentum": lambda config: profile_optimizer(config, "momentum"),
}
