"""Helpers shared by the topic modules: seeded generators, Hypothesis searches, figures, sources
(a statistical claim's calibrated sub-checks: :mod:`verify.claims._calibrated`).

Nothing here knows which formula of the source material is right or wrong: the helpers run what a
check asks and report what they find.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from verify._seeded import without_local_constants as _without_local_constants
from verify.claims.registry import Context, jsonable
from verify.stats import claim_rng

__all__ = [
    "Notes",
    "SEED_000",
    "SEED_001",
    "SEED_002",
    "NOTES",
    "cite",
    "latex",
    "rng_for",
    "hypothesis_search",
    "new_figure",
    "new_panel",
    "jsonable",
    "EPS64",
    "kernel_backend",
]


class Notes(str):
    """One set of lecture notes: its file name (the string itself, so ``SEED_000 in source`` works) and
    the title a reader can look up."""

    title: str

    def __new__(cls, file: str, title: str) -> Notes:
        self = super().__new__(cls, file)
        self.title = title
        return self


SEED_000 = Notes("000_42086e2af0f76780.txt",
                 "Deep Learning, course slides, University of Milano-Bicocca (2022)")
SEED_001 = Notes("001_02deb113427fab16.txt",
                 "CS3485 Deep Learning for Computer Vision, Lecture 4: Optimization in Deep Learning")
SEED_002 = Notes("002_1388b78ad9a2d202.txt",
                 "Diving Into Deep Learning, Part 1: A Deep Learning Crash Course, Emory University")
NOTES: tuple[Notes, ...] = (SEED_000, SEED_001, SEED_002)
EPS64 = float(np.finfo(np.float64).eps)


def cite(notes: Notes, slide: str, extra: str = "") -> str:
    """The notes by their title with the file name beside it, and the slide:
    ``<title> (<file>), slide "<slide>"``, then ``; <extra>`` (another slide, a paper) when given.

    >>> cite(SEED_001, "Gradient Descent in 1D")
    'CS3485 Deep Learning for Computer Vision, Lecture 4: Optimization in Deep Learning (001_02deb113427fab16.txt), slide "Gradient Descent in 1D"'
    """
    if not isinstance(notes, Notes):
        raise TypeError(f"notes must be one of SEED_000, SEED_001, SEED_002; got {notes!r}")
    text = f'{notes.title} ({notes}), slide "{slide}"'
    return f"{text}; {extra}" if extra else text


def latex(expr: Any) -> str:
    """A SymPy expression as inline math for evidence: ``$...$`` (never its Python spelling)."""
    import sympy as sp

    return f"${sp.latex(expr)}$"


def kernel_backend(ctx: Context) -> str:
    """The backend a claim runs the library's kernels on: the context's, except that ``"parallel"`` becomes
    ``"cpu"`` (the same compiled kernels on one thread): claims call kernels on a handful of rows,
    where handing work to other threads costs more than the arithmetic."""
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
    violation to a minimal one, and returns ``(examples tried, counterexample or None)``; ``examples tried``
    counts the shrinking attempts too.
    """
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as hseed

    tried = [0]
    found: list[dict[str, Any]] = []

    # generate and shrink only: the explain phase (which lines ran) costs seconds and tells a claim nothing
    @settings(max_examples=max_examples, database=None, deadline=None, verbosity=Verbosity.quiet,
              suppress_health_check=list(HealthCheck), derandomize=False, print_blob=False,
              report_multiple_bugs=False, phases=(Phase.generate, Phase.shrink))
    @hseed(int(seed))
    @given(strategy)
    def run(x: Any) -> None:
        tried[0] += 1
        info = violation(x)
        if info is not None:
            found.append(info)
            raise _Violation

    try:
        with _without_local_constants():
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


def new_panel(width: float = 6.4, height: float = 3.6):
    """A figure of one panel (:func:`new_figure` with one axes): ``(fig, ax)``."""
    fig, axes = new_figure(1, 1, width=width, height=height)
    return fig, axes[0, 0]


def label_axes(ax: Any, xlabel: str, ylabel: str, title: str = "", *, legend: str | None = "outside",
               fontsize: float = 7, ncol: int = 1) -> None:
    """Label an axes (every figure names both axes with their units) and place its legend: ``"outside"``
    (right of the axes, never over the data; the default), ``"below"`` (under the axes, for a figure whose
    right side holds a colorbar), a matplotlib ``loc`` string, or ``None``."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    if not ax.get_legend_handles_labels()[0]:
        legend = None  # nothing labelled was drawn (an empty panel): no legend, and no matplotlib warning
    if legend == "outside":
        ax.legend(fontsize=fontsize, ncol=ncol, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    elif legend == "below":
        ax.legend(fontsize=fontsize, ncol=max(ncol, 2), loc="upper center", bbox_to_anchor=(0.5, -0.18))
    elif legend is not None:
        ax.legend(fontsize=fontsize, ncol=ncol, loc=legend)
