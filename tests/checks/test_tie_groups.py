"""Ties of three or more kink entries: grad's total over the tie is f's slope along the sum of the tied unit vectors
(moving them together keeps the tie). Pairs of tied entries alone let a strict ``>`` max backward (0 at every tie),
or a top-2 that counts a triple tie three times, pass."""

from __future__ import annotations

import numpy as np
import pytest

from verify import CheckFailure, check_gradient

W = np.array([0.1, 0.7, 1.3, 2.0, 3.1])


def top2(x):
    return np.sum(np.sort(x, axis=-1)[..., -2:], axis=-1)


def weighted_sort(x):
    return np.sum(W * np.sort(x, axis=-1), axis=-1)


def maximum(x):
    return np.max(x, axis=-1)


# (f, point, a correct subgradient, wrong gradients each of whose pairs of tied entries is within their slopes)
CASES = {
    "max, triple tie": (maximum, [1.0, 1.0, 1.0], [[1 / 3] * 3, [1.0, 0.0, 0.0]], [[0.0] * 3, [0.3] * 3]),
    "max, four tied above one": (maximum, [2.0, 2.0, 2.0, 2.0, 1.0], [[0.25] * 4 + [0.0], [0, 0, 1, 0, 0]],
                                 [[0.0] * 5, [0.5, 0.5, 0.5, 0.5, 0.0]]),
    "top-2 sum, triple tie": (top2, [1.0, 1.0, 1.0, 0.0], [[2 / 3] * 3 + [0.0], [1.0, 1.0, 0.0, 0.0]],
                              [[1.0, 1.0, 1.0, 0.0], [0.5, 0.5, 0.5, 0.0]]),
    "weighted sort, all tied": (weighted_sort, [0.0] * 5, [W.tolist(), [W.mean()] * 5], [[1.0] * 5, [2.0] * 5]),
}


@pytest.mark.parametrize("name", CASES)
def test_a_subgradient_at_a_tie_passes(name):
    f, x, rights, _ = CASES[name]
    for g in rights:
        check_gradient(f, lambda z, g=g: np.array(g), (np.array(x),))


@pytest.mark.parametrize("name", CASES)
def test_a_wrong_total_over_a_tie_fails(name):
    f, x, _, wrongs = CASES[name]
    for g in wrongs:
        with pytest.raises(CheckFailure, match="grad is no subgradient at the tie of"):
            check_gradient(f, lambda z, g=g: np.array(g), (np.array(x),))


# separable f with a kink at 0 in every entry: (f, its slopes left and right of 0, its derivative off 0)
SEPARABLE = {
    "relu": (lambda x: np.sum(np.maximum(x, 0.0)), (0.0, 1.0), lambda x: (x > 0).astype(float)),
    "abs": (lambda x: np.sum(np.abs(x)), (-1.0, 1.0), np.sign),
    "leaky relu": (lambda x: np.sum(np.maximum(x, 0.1 * x)), (0.1, 1.0), lambda x: np.where(x > 0, 1.0, 0.1)),
}


@pytest.mark.parametrize("name", SEPARABLE)
@pytest.mark.parametrize("pick", [0.0, 0.5, 1.0])
def test_independent_kinks_at_one_value_are_no_tie(name, pick):
    """Entries at 0 of Σ relu(x) share a value, not a kink: each may take any value between its own one-sided slopes,
    so their total along the sum of their unit vectors is anything between 4 times the left and the right slope."""
    f, (left, right), slope = SEPARABLE[name]
    x = np.array([0.0, 0.0, 0.0, 0.0, 1.3])
    picks = np.array([pick, 1.0 - pick, pick, pick, 0.0])
    report = check_gradient(f, lambda z: np.where(z == 0.0, left + picks * (right - left), slope(z)), (x,))
    assert report.kinks == 4


NOT_MONOTONE = np.array([-1.0, -3.0, 5.0])


def _weighted_sort(c):
    return lambda x: np.sum(c * np.sort(x, axis=-1), axis=-1)


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 0, 1), (1, 2, 0)])
@pytest.mark.parametrize("c", [NOT_MONOTONE, np.array([2.0, -1.0, 0.5]), np.array([0.0, 1.0, 0.0])],
                         ids=["-1,-3,5", "2,-1,0.5", "median"])
def test_the_weights_of_an_order_of_the_tie_are_a_subgradient(c, order):
    """At a tie of Σ c·sort(x) with c not increasing, sort's backward (the weights in the tie's order: c itself, or
    any order of it) lies outside the slopes along e_j at x, inside those next to x (Clarke's subdifferential)."""
    check_gradient(_weighted_sort(c), lambda x: c[list(order)], (np.ones(3),))


@pytest.mark.parametrize("wrong", [[5.0, 5.0, -9.0], [-3.0, -3.0, 5.0], [6.0, -3.0, -2.0]],
                         ids=["beyond every slope", "total -1 where it is 1", "beyond the largest weight"])
def test_weights_outside_the_hull_of_the_orders_fail(wrong):
    with pytest.raises(CheckFailure):
        check_gradient(_weighted_sort(NOT_MONOTONE), lambda x: np.array(wrong), (np.ones(3),))


SMALL = {  # ties a little way from another entry, at 1e-8: the points next to the tie must not reach that entry
    "max": (lambda x: np.max(x, axis=-1), [3e-8, 3e-8, 2e-8], [0.5, 0.5, 0.0], [0.0, 0.0, 0.0]),
    "h(max)": (lambda x: (lambda m: m * m / 1e-8 + m)(np.max(x, axis=-1)), [3e-8, 3e-8, 2e-8], [3.5, 3.5, 0.0],
               [0.0, 0.0, 0.0]),
    "top-2 of squares": (lambda x: np.sum(np.sort(x, axis=-1)[..., -2:] ** 2, axis=-1) / 1e-8,
                         [5e-8, 2e-8, 2e-8, -1e-8], [10.0, 2.0, 2.0, 0.0], [10.0, 0.0, 0.0, 0.0]),
}


@pytest.mark.parametrize("name", SMALL)
def test_a_tie_beside_a_near_entry_is_judged_within_its_own_neighbourhood(name):
    f, x, right, wrong = SMALL[name]
    check_gradient(f, lambda z: np.array(right), (np.array(x),))
    with pytest.raises(CheckFailure):
        check_gradient(f, lambda z: np.array(wrong), (np.array(x),))


def test_slopes_next_to_a_tie_excuse_no_error_they_cannot_resolve():
    """A Crammer–Singer hinge at its margin, float32 at 1e-8, the true class's −1 dropped: the slopes next to the
    tie of the two largest scores are read at steps of 3e-10, too coarse to excuse an error of 1 there (the gradient's
    own spread across the tie, 0.5, is no allowance for them)."""
    s = 1e-8
    x = (np.array([3.0, 3.0, 1.0, -2.0, 0.5, 2.0, 0.0, 4.0]) * s).astype(np.float32)

    def hinge(z):
        return np.maximum(0.0, s + np.max(z[..., :7], axis=-1) - z[..., 7])

    def dropped(z):
        g = np.zeros(z.shape, np.float32)
        g[0] = 1.0
        return g

    with pytest.raises(CheckFailure):
        check_gradient(hinge, dropped, (x,))


@pytest.mark.parametrize("s", [1e-8, 1e8])
def test_pairs_across_values_are_judged_beside_a_large_tie(s):
    """Six classes tied at the largest score of a Crammer–Singer hinge at its margin: the 15 pairs inside the tie
    filled every place of the pairs judged, and a backward that dropped the true class's −1 passed. Half the places
    go to pairs of different values (the tie with the true class) where there are such; the first-argmax backward
    with the −1 passes. (At s = 1 the tied entries are left UNVERIFIED: f(x) = 0 exactly, and its rounding, read from
    |f(x)|, is below that of its terms of size 4.)"""
    x = np.array([3.0] * 6 + [1.0, 4.0]) * s

    def hinge(z):
        return np.maximum(0.0, s + np.max(z[..., :7], axis=-1) - z[..., 7])

    def first(z, true_class=-1.0):
        g = np.zeros(z.shape)
        g[0], g[7] = 1.0, true_class
        return g

    check_gradient(hinge, first, (x,))
    with pytest.raises(CheckFailure, match=r"args\[0\]\[0\] and args\[0\]\[7\]"):
        check_gradient(hinge, lambda z: first(z, 0.0), (x,))


def _windows_weighted(x):
    """Max pooling over windows that all hold entry 3, weighted 1, −2, 1.5, −0.5: f is flat along e_3 on both sides of
    a plateau, while the entry's Clarke range there is wide."""
    windows = [[0, 3], [1, 3], [2, 3], [3, 4, 5]]
    return sum(c * np.max(x[..., w], axis=-1) for w, c in zip(windows, [1.0, -2.0, 1.5, -0.5], strict=True))


@pytest.mark.parametrize("g", [[1.0, -2.0, 1.5, -0.5, 0.0, 0.0], [0.0, 0.0, 0.0, 0.5, 0.0, -0.5]],
                         ids=["first", "last"])
def test_an_entry_flat_along_its_axis_at_a_plateau_is_judged_at_its_tie(g):
    """The complex step there is one branch's slope (NumPy's max of complex numbers takes the larger imaginary part):
    the first- and last-argmax backwards failed at 3e14 × the tolerance on an entry the table called UNVERIFIED."""
    check_gradient(_windows_weighted, lambda z: np.array(g), (np.full(6, 2.0),))


def min_one_plus_max(x):
    return np.minimum(x[..., 0], 1.0) + np.minimum(x[..., 1], 1.0) + np.maximum(x[..., 0], x[..., 1])


def clip_plus_max(x):
    return np.sum(np.clip(x, -1.0, 1.0), axis=-1) + np.max(x, axis=-1)


@pytest.mark.parametrize("f, x, rights, wrongs", [
    (min_one_plus_max, [1.0, 1.0], [[1.5, 1.5]], [[3.0, 1.0], [2.0, 2.0]]),
    (clip_plus_max, [1.0, 1.0, 1.0], [[4 / 3] * 3], [[2.0, 2.0, 2.0], [0.0, 0.0, 0.0]]),
], ids=["min(x, 1) + max", "clip + max"])
def test_kinks_of_each_entry_at_the_tie_value_are_read_wholly_below_it(f, x, rights, wrongs):
    """A kink of f at the tie's value in every entry: the gradients where every tied entry lies below it, and their
    mean over the tie — PyTorch's own backward of clamp(x, −1, 1).sum() + max(x) — were never among the slopes read
    next to x along pairs, the orders spread around the value. (A single entry is still judged with x_j at its value:
    (2, 1) at (1, 1) of min(x, 1) + max, the gradient at (1 − ε, 1 − 2ε), and (1, 0, 0) at (1, 1, 1) of clip + max, the
    gradient at (1 + 2ε, 1 + ε, 1 + ε), still fail — left open, see
    _ranks_around.)"""
    for g in rights:
        check_gradient(f, lambda z, g=g: np.array(g), (np.array(x),))
    for g in wrongs:
        with pytest.raises(CheckFailure):
            check_gradient(f, lambda z, g=g: np.array(g), (np.array(x),))
