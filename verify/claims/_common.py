"""Helpers shared by the topic modules: seeded generators, Hypothesis searches, figures, sources.

Nothing here knows which formula of the source material is right or wrong: the helpers run what a
check asks and report what they find.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from verify.claims.registry import Context
from verify.stats import claim_rng

__all__ = [
    "SEED_000",
    "SEED_001",
    "SEED_002",
    "cite",
    "rng_for",
    "hypothesis_search",
    "new_figure",
    "jsonable",
    "EPS64",
    "kernel_backend",
]

SEED_000 = "000_42086e2af0f76780.txt"
SEED_001 = "001_02deb113427fab16.txt"
SEED_002 = "002_1388b78ad9a2d202.txt"
EPS64 = float(np.finfo(np.float64).eps)


def cite(seed_file: str, slide: str, extra: str = "") -> str:
    """``<seed file>, slide "<title>"`` (+ a paper, where the statement comes from one)."""
    text = f'{seed_file}, slide "{slide}"'
    return f"{text}; {extra}" if extra else text


def kernel_backend(ctx: Context) -> str:
    """The backend a claim runs the library's kernels on: the context's, except that ``"parallel"`` becomes
    ``"cpu"`` (the same kernels compiled without ``prange``): claims call kernels on a handful of rows,
    where launching the thread pool costs 10-100 times the arithmetic."""
    return "cpu" if ctx.backend == "parallel" else ctx.backend


def rng_for(ctx: Context, name: str, *extra: int) -> np.random.Generator:
    return claim_rng(ctx.seed, name, *extra)[0]


class _Violation(Exception):
    pass


def hypothesis_search(
    strategy: Any,
    violation: Callable[[Any], dict[str, Any] | None],
    *,
    seed: int,
    max_examples: int,
) -> tuple[int, dict[str, Any] | None]:
    """Search ``strategy`` for an input where ``violation(x)`` returns a dict (the counterexample).

    Runs Hypothesis with a fixed seed (deterministic), no example database and quiet output, shrinks a
    violation to a minimal one, and returns ``(examples tried, counterexample or None)``.
    """
    from hypothesis import HealthCheck, Verbosity, given, settings
    from hypothesis import seed as hseed

    tried = [0]
    found: list[dict[str, Any]] = []

    @settings(max_examples=max_examples, database=None, deadline=None, verbosity=Verbosity.quiet,
              suppress_health_check=list(HealthCheck), derandomize=False, print_blob=False,
              report_multiple_bugs=False)
    @hseed(int(seed))
    @given(strategy)
    def run(x: Any) -> None:
        tried[0] += 1
        info = violation(x)
        if info is not None:
            found.append(info)
            raise _Violation

    try:
        run()
    except _Violation:
        return tried[0], found[-1]
    except ExceptionGroup as group:  # several distinct violations: any one of them is a counterexample
        if group.subgroup(_Violation) is None:
            raise
        return tried[0], found[-1]
    return tried[0], None


def new_figure(ncols: int = 1, nrows: int = 1, width: float = 6.4, height: float = 3.6):
    """A matplotlib Figure from the object API (never pyplot's global state), with its axes array."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def jsonable(x: Any) -> Any:
    """Numbers, arrays and nested containers as JSON-friendly values (inf/nan as strings)."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return v if math.isfinite(v) else repr(v)
    return x
