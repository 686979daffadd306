"""The layout in which a stack of points reaches a vectorised ``f`` (``Evaluator._batch_innermost``).

A stack goes to ``f`` with its points innermost (``points_innermost``): NumPy then reduces each point's entries
across all points at once, 3.5× faster for the bench's softmax cross-entropy. Where ``f`` fails on such a stack
(it raises, returns another shape, or disagrees with its single call at the point beyond the vectorisation check), the
stack as built (C order) decides, as before. The central differences of an innermost stack take ``f(x)`` from that
stack (``Evaluator.centre``); those of a stack as built, ``f``'s single call, as before.
"""

from __future__ import annotations

import numpy as np
import pytest

from verify.checks import gradient as gradient_module
from verify.checks._evaluate import _LEARNED, points_innermost
from verify.checks.failure import CheckFailure
from verify.checks.gradient import check_gradient


def _recording(f, ndim=1):
    """``f`` that records the layout of every stack it is given (its ``strides`` and whether it is C-contiguous), for
    points of ``ndim`` dimensions."""
    seen = []

    def recorded(x, *rest):
        if x.ndim > ndim:
            seen.append((x.dtype.kind, x.strides, x.flags.c_contiguous))
        return f(x, *rest)
    return recorded, seen


def test_points_innermost_keeps_every_entry_and_puts_the_points_at_stride_one():
    stack = np.arange(2 * 3 * 4, dtype=np.float64).reshape(2, 3, 4)
    laid = points_innermost(stack)
    assert np.array_equal(laid, stack) and laid.dtype == stack.dtype
    assert laid.strides == (8, 8 * 2 * 4, 8 * 2)
    assert not np.shares_memory(laid, stack)
    single = points_innermost(np.arange(5.0))  # a stack of scalars: already innermost
    assert np.array_equal(single, np.arange(5.0)) and single.strides == (8,)


def test_a_stack_reaches_f_with_its_points_innermost():
    f, seen = _recording(lambda v: np.sum(np.sin(v), axis=(-2, -1)), ndim=2)
    x = np.array([[0.5, 2.0, -1.0], [0.25, 1.5, 3.0]])
    report = check_gradient(f, np.cos, (x,))
    assert report.vectorized and report.references["complex step"] == 1
    real = [s for s in seen if s[0] == "f"]
    complex_ = [s for s in seen if s[0] == "c"]
    assert real and complex_
    assert all(strides[0] == 8 for _, strides, _ in real)  # the points axis at stride one element
    assert all(strides[0] == 16 for _, strides, _ in complex_)
    assert all(strides[1] > strides[2] for _, strides, _ in seen)  # each point's own axes in C order around it
    with pytest.raises(CheckFailure):
        check_gradient(f, lambda x: 1.001 * np.cos(x), (x,))


def test_f_that_takes_only_c_ordered_stacks_is_evaluated_on_the_stacks_as_built():
    def c_only(x):  # as a C extension that reads the buffer: it refuses other layouts
        if not x.flags.c_contiguous:
            raise ValueError("x must be C-contiguous")
        return np.sum(np.sin(x), axis=-1)

    f, seen = _recording(c_only)
    x = np.array([0.5, 2.0, -1.0, 0.75])
    report = check_gradient(f, np.cos, (x,))
    assert report.vectorized and report.references["complex step"] == 1
    assert any(not contiguous for _, _, contiguous in seen)  # tried once, then learned: f takes no such stack
    assert _LEARNED[f]["innermost"] is False
    seen.clear()
    check_gradient(f, np.cos, (x,))
    assert seen and all(contiguous for _, _, contiguous in seen)
    with pytest.raises(CheckFailure):
        check_gradient(f, lambda x: 1.001 * np.cos(x), (x,))


def test_a_point_where_the_innermost_stack_disagrees_with_the_single_call_takes_the_stacks_as_built():
    # 16 entries: NumPy sums a contiguous row pairwise (entry 8 is added to entry 0 first: 1 − 1 = 0, then 1e-17
    # stays), a strided one in sequence (1 + 1e-17 = 1, then − 1 = 0): f(x) is 1e-17 on the single call and 0 on an
    # innermost stack's row 0, beyond the vectorisation check's 64 ULPs of |f|. Forced vectorized=True, that was a
    # ValueError ("f on a stack disagrees") without the fall back to the stack as built.
    x = np.zeros(16)
    x[0], x[1], x[8] = 1.0, 1e-17, -1.0

    def total(v):
        return np.sum(v, axis=-1)

    assert total(x) == 1e-17 and total(points_innermost(np.stack([x, x])))[0] == 0.0
    f, seen = _recording(total)
    report = check_gradient(f, np.ones_like, (x,), vectorized=True)
    assert report.vectorized
    assert seen[0][2] is False and all(contiguous for _, _, contiguous in seen[1:])  # innermost once, then as built
    with pytest.raises(CheckFailure):
        check_gradient(total, lambda v: np.full_like(v, 1.001), (x,), vectorized=True)


def test_the_central_differences_take_f_at_x_from_the_stack_they_difference():
    # a weighted sum over 24 entries of widely different sizes: the innermost stack adds in another order than the
    # single call, and f(x) comes out an ULP apart; the one-sided slopes and the test "the six values all equal f(x)"
    # must compare values rounded alike, so central_point gets the stack's own f(x)
    rng = np.random.default_rng(5)
    w = np.exp(rng.uniform(-8.0, 8.0, 24))

    def weighted(v):
        return np.sum(v * w, axis=-1)

    x = next(x for x in (rng.standard_normal(24) for _ in range(1000))
             if weighted(points_innermost(np.stack([x, x])))[0] != weighted(x))
    rows, centres = [], []

    def f(v):
        out = weighted(v)
        if v.ndim == 2 and v.dtype.kind == "f":
            rows.append(float(out[0]))
        return out

    original = gradient_module.central_point

    def spy(values, work, f0, *rest):
        centres.append(f0)
        return original(values, work, f0, *rest)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gradient_module, "central_point", spy)
        check_gradient(f, lambda v: w.copy(), (x,))
    assert centres == [rows[0]] and rows[0] != weighted(x)


def _cancelling_point():
    """16 entries where f's single call and its innermost stack's row 0 add in another order (see the test above)."""
    x = np.zeros(16)
    x[0], x[1], x[8] = 1.0, 1e-17, -1.0
    return x


def test_a_stack_that_f_wrote_into_is_built_again_before_f_gets_it_as_built():
    # f known to take stacks gets the straight path's stack as it was built, without a copy; where f then fails on it
    # (here: it disagrees with the single call at the cancelling point), the stack as built is built afresh: this f
    # has overwritten its input with NaN after computing its value
    def total_then_overwrite(v):
        out = np.sum(v, axis=-1)
        v[...] = np.nan
        return out

    x = _cancelling_point()
    report = check_gradient(total_then_overwrite, np.ones_like, (x,), vectorized=True)
    assert report.vectorized and report.unverified == 0
    with pytest.raises(CheckFailure):
        check_gradient(total_then_overwrite, lambda v: np.full_like(v, 1.001), (x,), vectorized=True)


def test_a_complex_stack_that_f_refuses_in_that_layout_is_built_again_as_built():
    def complex_c_only(v):  # takes real stacks in any layout, complex ones only in C order
        if v.dtype.kind == "c" and not v.flags.c_contiguous:
            raise ValueError("a complex x must be C-contiguous")
        return np.sum(np.sin(v), axis=-1)

    f, seen = _recording(complex_c_only)
    x = np.array([0.5, 2.0, -1.0, 0.75])
    check_gradient(f, np.cos, (x,))  # f learned: it takes stacks (the next check hands its stacks over without a copy)
    seen.clear()
    report = check_gradient(f, np.cos, (x,))
    assert report.vectorized and report.references["complex step"] == 1
    assert [(kind, contiguous) for kind, _, contiguous in seen] == [("f", False), ("c", False), ("c", True)]
    with pytest.raises(CheckFailure):
        check_gradient(f, lambda x: 1.001 * np.cos(x), (x,))


def test_a_callable_that_copies_its_stacks_into_c_order_gets_them_as_built():
    # the checkers' scalar views (verify.checks._probes.Projected, Line) copy every stack into C order for the Memo:
    # they say so (stacks_as_built), and the judge hands them its stacks as built, sparing the transposing copy
    class View:
        stacks_as_built = True

        def __init__(self):
            self.seen = []

        def __call__(self, v):
            if v.ndim > 1:
                self.seen.append(v.flags.c_contiguous)
            return np.sum(np.sin(v), axis=-1)

    view = View()
    x = np.array([0.5, 2.0, -1.0, 0.75])
    for _ in range(2):  # the second check: f known to take stacks
        report = check_gradient(view, np.cos, (x,))
        assert report.vectorized and report.references["complex step"] == 1
    assert view.seen and all(view.seen)
