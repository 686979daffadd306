"""The data of the corpus: a family of functions, a point, and a case (a correct gradient or a mutant)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Family", "Point", "CorpusCase", "LeftOut", "KINDS", "MUTATIONS"]

KINDS = ("correct", "mutant")

# Every mutation the corpus makes, with what it is (the `bug` of a mutant starts with this).
MUTATIONS: dict[str, str] = {
    "sign": "sign flipped",
    "factor 2": "a factor 2 too large",
    "dropped 1/N": "the 1/N of a mean dropped (the gradient of the sum)",
    "one entry": "one entry wrong (relative error 1e-3 in float32, 1e-6 in float64)",
    "transposed": "the transpose of the gradient (or Wᵀ written as W)",
    "tail: large |x|": "wrong only where |x| is large (a cut-off, a threshold or an overflow)",
    "tail: last entries": "wrong only in the last entries (a loop or slice that stops one short)",
    "underflow to 0": "0 where the truth is small but far above the rounding",
    "slope next to a kink": "the slope of the other side of a kink, next to (not at) the kink",
    "jump": "f is not continuous at the point (a floor or a step); grad is the derivative of the smooth part",
    "float32 gradient": "the gradient computed in float32 and returned for a float64 input",
    "missing term": "a term of the derivative missing",
    "wrong constant": "a wrong constant (in a formula whose terms cancel, or in a slope)",
}


@dataclass(frozen=True)
class Point:
    """Arguments of ``f`` (``args[0]`` is differentiated) and the regimes it exercises."""

    args: tuple
    tags: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Family:
    """A function written once (``math(M, *args)`` over :mod:`verify.checks.corpus.ops`) and its derivative.

    ``grad`` is the careful gradient (relative accuracy: no term that cancels). ``variants`` maps a name
    to another implementation of the gradient (the textbook formula frameworks use, a tie-averaging
    subgradient): a correct case at each point where it meets the rounding bound of
    :mod:`verify.checks.corpus.truth` (a formula that cancels may not, where ``f`` is small: the point is
    then left out for it, see :func:`verify.checks.corpus.excluded`). ``exact`` lists the argument indices
    that are exact data (labels, one-hot rows): they are not perturbed when the conditioning is
    measured. ``count`` is the N of a mean over rows (1 when there is none). ``bugs`` maps a mutation
    name (a key of :data:`MUTATIONS`) to wrong gradients of the same signature as ``grad``; one that
    equals the truth to rounding at a point is not a mutant there and is dropped. ``kink`` is True when ``f`` has kinks (its truth then takes one-sided limits).
    """

    name: str
    math: Callable[..., Any]
    grad: Callable[..., np.ndarray]
    points: Callable[[np.random.Generator, type], list[Point]]
    variants: dict[str, Callable[..., np.ndarray]] = field(default_factory=dict)
    exact: tuple[int, ...] = ()
    count: int = 1
    bugs: dict[str, tuple[Callable[..., np.ndarray], ...]] = field(default_factory=dict)
    kink: bool = False
    matrix: bool = False  # args[0] is a square matrix (the transposed mutation applies)
    what: str = ""


@dataclass(frozen=True, eq=False)
class CorpusCase:
    """One (f, grad) pair at one point: ``kind`` "correct" or "mutant".

    ``implementation`` says where the gradient comes from: "stable" (the careful formula),
    "textbook" (a formula whose terms cancel: a correct case where its lost digits are below ``f``'s
    resolution, see :mod:`verify.checks.corpus.truth`), "float32 f" (the careful
    gradient, with ``f`` computed in float32 and returned as a Python float), "torch" or "jax" (the
    framework's autograd of its built-in). A mutant records its ``mutation`` (a key of
    :data:`MUTATIONS`), its ``parent`` (the correct case it was made from) and ``bug`` (what is wrong).
    """

    name: str
    family: Family
    kind: str
    implementation: str
    f: Callable[..., Any]
    grad: Callable[..., np.ndarray]
    point: tuple
    tags: tuple[str, ...]
    mutation: str = ""
    parent: str = ""
    bug: str = ""

    @property
    def wrong(self) -> bool:
        return self.kind == "mutant"

    @property
    def dtype(self) -> str:
        return str(np.asarray(self.point[0]).dtype)

    def __repr__(self) -> str:
        return f"CorpusCase({self.name!r})"


@dataclass(frozen=True, eq=False)
class LeftOut:
    """An implementation left out of the corpus at one point: neither correct nor a mutant there (``reason``)."""

    name: str
    family: Family
    grad: Callable[..., np.ndarray]
    point: tuple
    reason: str
