"""Naming the likely mistake behind a wrong VJP, JVP or HVP, from the data at the failing point.

A mistake is named only when the judge itself accepts it: each hypothesis turns the map under test into
what the right map would be if the hypothesis held (its output negated, divided by a fitted factor,
transposed; or the direction replaced by ones or transposed), and ``accepts(direction, candidate)`` —
the same ``check_gradient`` verdict, with the same tolerances, as the check that failed — must pass for
*every* direction tried at the point, the ones that passed included. Hypotheses (in this order):

- the incoming direction ignored: the map equals the map of the all-ones direction (``1ᵀJ`` — what a
  backward that never multiplies by ``grad_output`` returns), or it returns the same array for every
  direction drawn (compared to 4 ULPs, the rounding of a reordered sum);
- a flipped sign: ``computed = −expected``;
- a constant factor ``c``: ``computed = c·expected``, with ``c = Σ⟨g, r⟩ / Σ⟨r, r⟩`` fitted by least squares
  over the failing directions (``g`` computed, ``r`` the reference the judge reported);
- transposed: ``computed = expectedᵀ`` (the last two axes swapped: a transposed weight gradient), or the
  direction used transposed (``jvp(v)`` computing with ``vᵀ``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Probe", "name_mistakes", "factor_text"]

Candidate = Callable[[np.ndarray], np.ndarray]
Accepts = Callable[[np.ndarray, Candidate, "np.ndarray | None"], bool]


@dataclass(frozen=True)
class Probe:
    """One direction tried at the failing point.

    ``computed`` maps a value of the differentiated argument to the derivative under test for this
    direction; ``at_point`` is its value at the point; ``expected`` the reference the judge reported
    (None where the check passed); ``fit`` other (computed, reference) pairs for fitting a factor, where
    the judge's reference is of a contraction (a JVP's ``⟨w, J v⟩``).
    """

    direction: np.ndarray
    computed: Candidate
    at_point: np.ndarray
    expected: np.ndarray | None
    failed: bool
    fit: tuple[np.ndarray, np.ndarray] | None = None  # (computed, reference) for the factor, if not the above
    noise: Callable[[], np.ndarray | None] | None = None  # the measured rounding of computed at the point

    def rounding(self) -> np.ndarray | None:
        if self.noise is None:
            return None
        cache = self.__dict__.setdefault("_rounding", [])
        if not cache:
            cache.append(self.noise())
        return cache[0]


def _swap(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


def _square(shape: tuple) -> bool:
    return len(shape) >= 2 and shape[-1] == shape[-2] and shape[-1] > 1


def _all_same(arrays: Sequence[np.ndarray]) -> bool:
    first = np.asarray(arrays[0], dtype=np.float64)
    for other in arrays[1:]:
        b = np.asarray(other, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            close = np.abs(first - b) <= 4.0 * np.spacing(np.maximum(np.abs(first), np.abs(b)))
        if not np.all(close | (first == b)):
            return False
    return True


def fitted_factor(probes: Sequence[Probe]) -> float | None:
    """Least-squares ``c`` in ``computed ≈ c·expected`` over the failing probes (None when undetermined)."""
    pairs = [p.fit if p.fit is not None else (p.at_point, p.expected) for p in probes]
    pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
    g = np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a, _ in pairs] or [np.zeros(0)])
    r = np.concatenate([np.asarray(b, dtype=np.float64).ravel() for _, b in pairs] or [np.zeros(0)])
    if g.shape != r.shape:
        return None
    ok = np.isfinite(g) & np.isfinite(r)
    rr = float(np.dot(r[ok], r[ok]))
    if rr == 0.0 or not np.isfinite(rr):
        return None
    c = float(np.dot(g[ok], r[ok])) / rr
    return c if np.isfinite(c) and c != 0.0 else None


def factor_text(c: float, sizes: Sequence[int] = ()) -> str:
    """``c`` as a person reads it: ``× 2``, ``÷ 8`` (with a hint when 8 is the length of an axis), or ``× 0.731``."""
    text, n = f"× {c:.6g}", None
    whole = round(c)
    if whole != 0 and abs(c - whole) <= 1e-6 * abs(c):
        text, n = f"× {whole}", abs(whole)
    elif abs(c) < 1:
        inverse = round(1.0 / c)
        if inverse != 0 and abs(1.0 / c - inverse) <= 1e-6 * abs(1.0 / c):
            text, n = f"÷ {abs(inverse)}" if inverse > 0 else f"× −1/{abs(inverse)}", abs(inverse)
    if n is not None and n > 1 and n in set(int(s) for s in sizes):
        text += f" (an axis has length {n}: a mean where a sum belongs, or the reverse?)"
    return text


def name_mistakes(probes: Sequence[Probe], accepts: Accepts, *, derivative: str, kind: str, direction: str,
                  incoming: str, sizes: Sequence[int] = ()) -> list[str]:
    """The hypotheses of the module docstring that the judge accepts for every probe, as sentences.

    ``derivative`` names the map (e.g. ``"vjp(u)"``), ``kind`` what it computes (``"VJP"``), ``direction``
    its argument (``"cotangent"``),
    ``incoming`` what ignoring it means (``"its incoming gradient (grad_output)"``); ``sizes`` are the
    axis lengths a factor is compared with.
    """
    probes = list(probes)
    if not any(p.failed for p in probes):
        return []

    def every(direction_of: Callable[[Probe], np.ndarray], candidate_of: Callable[[Probe], Candidate],
              noise_of: Callable[[np.ndarray], np.ndarray] = lambda n: n) -> bool:
        """The judge accepts the candidate for every probe; a candidate's rounding is its probe's, transformed."""
        def noise(p: Probe) -> np.ndarray | None:
            n = p.rounding()
            return None if n is None else noise_of(n)
        return all(accepts(direction_of(p), candidate_of(p), noise(p)) for p in probes)

    named: list[str] = []
    ones = np.ones_like(probes[0].direction)
    if every(lambda p: ones, lambda p: p.computed):
        named.append(f"{incoming} is ignored: {derivative} equals the {kind} of the all-ones "
                     f"{direction} for every {direction} tried, as a rule that never multiplies by it returns")
    elif len(probes) >= 2 and _all_same([p.at_point for p in probes]):
        named.append(f"{incoming} is ignored: {derivative} returns the same array for each of the {len(probes)} "
                     f"{direction}s tried")
    flipped = every(lambda p: p.direction, lambda p: (lambda value, g=p.computed: -np.asarray(g(value), dtype=np.float64)))
    if flipped:
        named.append(f"a flipped sign: {derivative} is the negative of the right one")
    c = fitted_factor(probes)
    if c is not None and abs(c - 1.0) > 1e-6 and not (flipped and abs(c + 1.0) <= 1e-6) and every(
            lambda p: p.direction, lambda p: (lambda value, g=p.computed: np.asarray(g(value), dtype=np.float64) / c),
            lambda n: n / abs(c)):
        named.append(f"a constant factor: {derivative} is the right one {factor_text(c, sizes)}")
    if _square(np.shape(probes[0].at_point)) and every(
            lambda p: p.direction, lambda p: (lambda value, g=p.computed: _swap(np.asarray(g(value)))),
            lambda n: _swap(n) if np.ndim(n) >= 2 else n):
        named.append(f"transposed: {derivative} is the transpose of the right one (a transposed weight gradient, "
                     "e.g. gᵀ·x where xᵀ·g belongs)")
    if _square(np.shape(probes[0].direction)) and every(lambda p: _swap(p.direction), lambda p: p.computed):
        named.append(f"the {direction} is used transposed: {derivative} is the right map of the transposed "
                     f"{direction}")
    return named
