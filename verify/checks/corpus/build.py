"""Assembling the corpus: every family at its points, in float64 and float32, its correct
implementations and its mutants — deterministic for a seed."""

from __future__ import annotations

import functools
import zlib
from collections import Counter

import numpy as np

from verify.checks.corpus.model import MUTATIONS, CorpusCase, Family, LeftOut
from verify.checks.corpus.mutations import Screen, generic_mutations, jump_is_real, screen, with_jump
from verify.checks.corpus.ops import NP

__all__ = ["SEED", "DTYPES", "families", "build", "build_with_exclusions", "point_screen", "MUTANTS_PER_POINT",
           "EXCLUDED_REASON"]

SEED = 1313
DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
MUTANTS_PER_POINT = 2
COMPOSITIONS = 14


@functools.cache
def families(seed: int = SEED) -> tuple[Family, ...]:
    from verify.checks.corpus import elementwise, layers, losses

    return (elementwise.FAMILIES + losses.FAMILIES + layers.FAMILIES
            + elementwise.compositions(np.random.default_rng([seed, 0]), COMPOSITIONS))


EXCLUDED_REASON = ("farther than the rounding bound from the truth at some entry: a formula whose terms cancel, "
                   "where f is too small for its resolution to hide the lost digits — neither correct nor a mutant")

_SCREENS: dict[tuple, Screen] = {}


def point_screen(family: Family, dtype: np.dtype, index: int, args: tuple) -> Screen:
    """The float64 stand-in for the truth at one point of the corpus (shared by its generated and framework
    cases; :class:`~.mutations.Screen`)."""
    key = (id(family), str(dtype), index)
    found = _SCREENS.get(key)
    if found is None:
        found = _SCREENS[key] = screen(family, args)
    return found


def _rng(seed: int, *parts: str) -> np.random.Generator:
    return np.random.default_rng([seed] + [zlib.crc32(p.encode()) for p in parts])


def _numpy_f(family: Family):
    """f in float64 whatever the dtype of the point (complex input stays complex, for the complex step)."""
    def f(*args):
        with np.errstate(all="ignore"):
            return family.math(NP, *(a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype == np.float32
                                     else a for a in args))
    f.__qualname__ = f"{family.name}.f"
    return f


def _float32_f(family: Family):
    def f(*args):
        with np.errstate(all="ignore"):
            a32 = tuple(a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
                        for a in args)
            return float(family.math(NP, *a32))
    f.__qualname__ = f"{family.name}.f_in_float32"
    return f


def _quiet(grad, name: str):
    """The gradient with NumPy's floating-point warnings silenced (overflow in a branch np.where discards)."""
    def g(*args):
        with np.errstate(all="ignore"):
            return grad(*args)
    g.__qualname__ = name
    return g


def _cases_at(family: Family, dtype: np.dtype, index: int, point, rng, counts: Counter,
              excluded: list[LeftOut]) -> list[CorpusCase]:
    base = f"{family.name}/{dtype}/{index:02d}"
    args, tags = point.args, point.tags
    common = dict(family=family, point=args, tags=tags)
    parent = CorpusCase(name=f"{base}/stable", kind="correct", implementation="stable", f=_numpy_f(family),
                        grad=_quiet(family.grad, f"{family.name}.grad"), **common)
    out = [parent]
    proxy = point_screen(family, dtype, index, args)
    for variant, grad in family.variants.items():
        name = f"{base}/{variant}"
        with np.errstate(all="ignore"):
            value = grad(*args)
        if not proxy.correct(value):
            excluded.append(LeftOut(name, family, grad, args, EXCLUDED_REASON))
            continue
        out.append(CorpusCase(name=name, kind="correct", implementation=variant, f=_numpy_f(family),
                              grad=_quiet(grad, f"{family.name}.{variant}"), **common))
    f32 = _float32_f(family)
    if dtype == np.float32 and index % 3 == 0 and np.isfinite(f32(*args)):
        out.append(CorpusCase(name=f"{base}/float32 f", kind="correct", implementation="float32 f",
                              f=f32, grad=parent.grad, **common))
    # mutants of the careful gradient: the first real one of each mutation, then the rarest so far
    candidates: dict[str, tuple] = {}
    for mutation, wrong in generic_mutations(family, args, rng) + [
            (name, fn) for name, fns in family.bugs.items() for fn in fns]:
        if mutation in candidates:
            continue
        try:
            with np.errstate(all="ignore"):
                value = wrong(*args)
        except Exception:  # noqa: BLE001 - a bug that crashes here is not a mutant of this point
            continue
        if np.shape(value) == np.shape(args[0]) and proxy.observable(value, parent.f):
            candidates[mutation] = (wrong, parent.f, MUTATIONS[mutation])
    jumped = with_jump(parent.f, args)
    if jumped is not None and jump_is_real(jumped[0], args, jumped[2], jumped[3]):
        candidates["jump"] = (family.grad, jumped[0], f"{MUTATIONS['jump']}: {jumped[1]}")
    order = sorted(candidates, key=lambda m: (counts[m], rng.random()))
    for mutation in order[:MUTANTS_PER_POINT]:
        wrong, f, bug = candidates[mutation]
        counts[mutation] += 1
        if mutation != "jump":
            f = _numpy_f(family)
        out.append(CorpusCase(name=f"{base}/stable~{mutation}", kind="mutant", implementation="stable",
                              f=f, grad=_quiet(wrong, f"{family.name}~{mutation}"), mutation=mutation,
                              parent=parent.name, bug=bug, **common))
    return out


@functools.cache
def build_with_exclusions(seed: int = SEED) -> tuple[tuple[CorpusCase, ...], tuple[LeftOut, ...]]:
    """Every case of the generated corpus (no framework cases), in a fixed order, and the implementations
    left out at a point (:class:`~.model.LeftOut`, reason :data:`EXCLUDED_REASON`)."""
    counts: Counter = Counter()
    out: list[CorpusCase] = []
    excluded: list[LeftOut] = []
    for family in families(seed):
        for dtype in DTYPES:
            rng = _rng(seed, family.name, str(dtype))
            for index, point in enumerate(family.points(rng, dtype)):
                out.extend(_cases_at(family, dtype, index, point, rng, counts, excluded))
    names = [c.name for c in out]
    if len(set(names)) != len(names):
        raise AssertionError("corpus case names are not unique")
    return tuple(out), tuple(excluded)


def build(seed: int = SEED) -> tuple[CorpusCase, ...]:
    """Every case of the generated corpus (no framework cases), in a fixed order."""
    return build_with_exclusions(seed)[0]
