"""Assembling the corpus: every family at its points, in float64 and float32, its correct
implementations and its mutants — deterministic for a seed."""

from __future__ import annotations

import functools
import zlib
from collections import Counter

import numpy as np

from verify.checks.corpus.model import MUTATIONS, CorpusCase, Family
from verify.checks.corpus.mutations import generic_mutations, jump_is_real, screen, with_jump
from verify.checks.corpus.ops import NP

__all__ = ["SEED", "DTYPES", "families", "build", "MUTANTS_PER_POINT"]

SEED = 1313
DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
MUTANTS_PER_POINT = 2
COMPOSITIONS = 14


@functools.cache
def families(seed: int = SEED) -> tuple[Family, ...]:
    from verify.checks.corpus import elementwise, layers, losses

    return (elementwise.FAMILIES + losses.FAMILIES + layers.FAMILIES
            + elementwise.compositions(np.random.default_rng([seed, 0]), COMPOSITIONS))


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


def _cases_at(family: Family, dtype: np.dtype, index: int, point, rng, counts: Counter) -> list[CorpusCase]:
    base = f"{family.name}/{dtype}/{index:02d}"
    args, tags = point.args, point.tags
    common = dict(family=family, point=args, tags=tags)
    parent = CorpusCase(name=f"{base}/stable", kind="correct", implementation="stable", f=_numpy_f(family),
                        grad=_quiet(family.grad, f"{family.name}.grad"), **common)
    out = [parent]
    for variant, (grad, cancels) in family.variants.items():
        out.append(CorpusCase(name=f"{base}/{variant}", kind="correct", implementation=variant, f=_numpy_f(family),
                              grad=_quiet(grad, f"{family.name}.{variant}"), cancel=family.cancel if cancels else None,
                              **common))
    f32 = _float32_f(family)
    if dtype == np.float32 and index % 3 == 0 and np.isfinite(f32(*args)):
        out.append(CorpusCase(name=f"{base}/float32 f", kind="correct", implementation="float32 f",
                              f=f32, grad=parent.grad, **common))
    # mutants of the careful gradient: the first real one of each mutation, then the rarest so far
    candidates: dict[str, tuple] = {}
    proxy = None
    for mutation, wrong in generic_mutations(family, args, rng) + [
            (name, fn) for name, fns in family.bugs.items() for fn in fns]:
        if mutation in candidates:
            continue
        if proxy is None:
            proxy = screen(family, args)
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
                              parent=parent.name, bug=bug,
                              cancel=family.cancel, **common))
    return out


@functools.cache
def build(seed: int = SEED) -> tuple[CorpusCase, ...]:
    """Every case of the generated corpus (no framework cases), in a fixed order."""
    counts: Counter = Counter()
    out: list[CorpusCase] = []
    for family in families(seed):
        for dtype in DTYPES:
            rng = _rng(seed, family.name, str(dtype))
            for index, point in enumerate(family.points(rng, dtype)):
                out.extend(_cases_at(family, dtype, index, point, rng, counts))
    names = [c.name for c in out]
    if len(set(names)) != len(names):
        raise AssertionError("corpus case names are not unique")
    return tuple(out)
