"""Overlapping max (and min) pooling at ties, weighted by numbers of both signs: ``f(x) = Σ_w c_w · max(x[w])``.

At a plateau (ReLU's zeros, equal activations) every window is a tie, and a backward that routes each window's weight
to its first (or last) tied entry — NumPy's ``argmax``, PyTorch's and JAX's max-pooling backward — returns the gradient
of f at the points next to x where the tie is ordered by index: a Clarke subgradient. Judged against random orders of
a tie of eight (16 of 40,320) and with the two ties of a pair from different levels left tied, those backwards failed
as "no subgradient"; routing to every tied entry, to none, or half the weight must still fail.
"""

from __future__ import annotations

import numpy as np
import pytest

from verify import CheckFailure, check_gradient, check_jvp, check_vjp

C = np.array([1.0, -0.7, 0.3, -1.2, 0.9, 0.4])
POINTS = {
    "plateau": [1.0] * 8,
    "two levels": [1.0, 1.0, 1.0, 0.0, 5.0, 5.0, 5.0, 0.0],
    "pairs": [1.0, 1.0, 0.0, 2.0, 2.0, -1.0, 3.0, 3.0],
    "six tied": [2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 0.0, -1.0],
}
WINDOWS = [(3, 1), (4, 2)]


def _windows(n: int, k: int, stride: int) -> np.ndarray:
    return np.arange(0, n - k + 1, stride)[:, None] + np.arange(k)[None, :]


def pooled(x, op, k, stride):
    return op(x[..., _windows(x.shape[-1], k, stride)], axis=-1)


def backward(x, c, op, k, stride, route):
    """The gradient of Σ c·pool(x) with each window's weight routed to its extreme entries as ``route`` says."""
    idx = _windows(x.shape[-1], k, stride)
    w = x[idx]
    hit = w == (w.max(-1, keepdims=True) if op is np.max else w.min(-1, keepdims=True))
    g = np.zeros(x.shape)
    for r in range(idx.shape[0]):
        h = hit[r]
        if route == "first":
            share = np.eye(k)[np.argmax(h)]
        elif route == "last":
            share = np.eye(k)[k - 1 - np.argmax(h[::-1])]
        elif route == "every tied entry":
            share = h * 1.0
        elif route == "no tied entry":
            share = h * (h.sum() == 1)
        else:  # "half"
            share = 0.5 * h / h.sum()
        g[idx[r]] += c[r] * share
    return g.astype(x.dtype)


def _case(op, point, window, dtype, scale):
    k, stride = window
    c = C[:(8 - k) // stride + 1]
    x = (np.array(POINTS[point]) * scale).astype(dtype)
    return x, c, (lambda z: np.sum(c * pooled(z, op, k, stride), axis=-1)), k, stride


@pytest.mark.parametrize("scale", [1.0, 1e-8])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("op", [np.max, np.min], ids=["max", "min"])
def test_first_or_last_tied_entry_is_a_subgradient(op, point, window, dtype, scale):
    x, c, f, k, stride = _case(op, point, window, dtype, scale)
    for route in ("first", "last"):
        check_gradient(f, lambda z, route=route: backward(z, c, op, k, stride, route), (x,))


@pytest.mark.parametrize("scale", [1.0, 1e-8])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("point", POINTS)
def test_a_tie_counted_every_time_or_never_fails(point, window, dtype, scale):
    x, c, f, k, stride = _case(np.max, point, window, dtype, scale)
    first = backward(x.astype(np.float64), c, np.max, k, stride, "first")
    for route in ("every tied entry", "no tied entry", "half"):
        if np.array_equal(backward(x.astype(np.float64), c, np.max, k, stride, route), first):
            continue  # no window of this point holds a tie that the route treats otherwise
        with pytest.raises(CheckFailure, match="grad is"):
            check_gradient(f, lambda z, route=route: backward(z, c, np.max, k, stride, route), (x,))


def test_a_plateau_dropped_from_the_backward_fails_along_the_whole_tie():
    """Eight tied entries, one of whose own slopes do not settle: the tie still moves as one along Σ e_i (f rises by
    Σ c = 0.7 there), and a backward of 0 is no subgradient."""
    x, c, f, k, stride = _case(np.max, "plateau", (3, 1), np.float64, 1e-8)
    with pytest.raises(CheckFailure, match="the tie of 8 entries"):
        check_gradient(f, lambda z: backward(z, c, np.max, k, stride, "no tied entry"), (x,))


STAIRS = np.array([0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0])


def _pool2(z):
    return pooled(z, np.max, 2, 1)


def _vjp(route):
    def vjp(u, z):
        idx = _windows(z.shape[-1], 2, 1)
        w = z[idx]
        first = w[:, 0] >= w[:, 1]
        take = first if route == "first" else ~(w[:, 1] >= w[:, 0])
        g = np.zeros(z.shape)
        np.add.at(g, np.where(take, idx[:, 0], idx[:, 1]), u)
        return g.astype(z.dtype)
    return vjp


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("route", ["first", "last"])
def test_the_vjp_of_a_pooling_over_stairs_passes(route, dtype):
    """The cotangents drawn weigh the windows with both signs: the pair of entries from two ties (0 and 1) moves
    along a direction whose slopes depend on how both ties are ordered at once."""
    check_vjp(_pool2, _vjp(route), (STAIRS.astype(dtype),))


def test_the_jvp_of_a_pooling_over_stairs_passes_and_a_sum_over_ties_fails():
    def jvp_first(v, z):
        w = z[_windows(z.shape[-1], 2, 1)]
        vw = v[_windows(z.shape[-1], 2, 1)]
        return np.where(w[:, 0] >= w[:, 1], vw[:, 0], vw[:, 1])

    def jvp_both(v, z):
        w = z[_windows(z.shape[-1], 2, 1)]
        vw = v[_windows(z.shape[-1], 2, 1)]
        return np.sum((w == w.max(-1, keepdims=True)) * vw, axis=-1)

    check_jvp(_pool2, jvp_first, (STAIRS,))
    with pytest.raises(CheckFailure):
        check_jvp(_pool2, jvp_both, (STAIRS,))
