"""Calling the user's ``f`` and ``grad``: always on copies, one vectorised call per stack of points when ``f`` allows.

Every call gets fresh copies of the array arguments, so a callable that writes into its inputs can neither
change the caller's arrays nor the points the judge evaluates next (and so can neither blame a correct
gradient nor make a wrong one pass).
"""

from __future__ import annotations

import functools
import math
import sys
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["BUILD_AGAIN", "Evaluator", "as_scalar", "fresh", "points_innermost", "replaced"]

_EPS64 = float(np.finfo(np.float64).eps)
_TINY64 = float(np.finfo(np.float64).tiny)

# What was learned about a function object (vectorised? complex-capable?), so that repeated checks of
# the same f skip the detection; the vectorised result is still verified at every point.
_LEARNED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


# warnings.simplefilter("ignore", RuntimeWarning)'s entry in the filter list
_IGNORE_RUNTIME_WARNINGS = ("ignore", None, RuntimeWarning, None, 0)


class _IgnoringRuntimeWarnings:
    """``warnings.catch_warnings(action="ignore", category=RuntimeWarning)`` as CPython 3.11 and 3.12 run it: the same
    attributes of :mod:`warnings` saved, replaced and restored, the filter first in a fresh copy of the list — without
    its search of the list for a duplicate of that filter (one further down can never match first), which raises and
    catches a ValueError on every call: a third of the cost of the standard context manager, and that cost is a
    measurable part of a check at a small point. Used where those attributes are what ``catch_warnings`` itself
    uses (see ``_runtime_warnings_ignored``)."""

    __slots__ = ("_filters", "_showwarning", "_showwarnmsg_impl")

    def __enter__(self) -> None:
        self._filters = warnings.filters
        self._showwarning = warnings.showwarning
        self._showwarnmsg_impl = warnings._showwarnmsg_impl
        warnings.filters = [_IGNORE_RUNTIME_WARNINGS, *self._filters]
        warnings._filters_mutated()

    def __exit__(self, *exc_info: object) -> None:
        warnings.filters = self._filters
        warnings._filters_mutated()
        warnings.showwarning = self._showwarning
        warnings._showwarnmsg_impl = self._showwarnmsg_impl


def _runtime_warnings_ignored():
    """A context in which RuntimeWarnings (overflow at a perturbed point, ComplexWarning) are ignored."""
    if _LEAN_WARNINGS:
        return _IgnoringRuntimeWarnings()
    return warnings.catch_warnings(action="ignore", category=RuntimeWarning)


_LEAN_WARNINGS = sys.version_info[:2] in ((3, 11), (3, 12)) and hasattr(warnings, "_filters_mutated")


def _ignoring_runtime_warnings(call: Callable) -> Callable:
    """``call`` inside :func:`_runtime_warnings_ignored`, in one frame: the warnings' state saved, replaced and restored
    as ``_IgnoringRuntimeWarnings`` does, without building and entering a context manager object per call (half its
    cost, 0.6 µs, once per complex stack)."""
    if not _LEAN_WARNINGS:
        @functools.wraps(call)
        def ignoring_standard(*args: Any, **kwargs: Any) -> Any:
            with warnings.catch_warnings(action="ignore", category=RuntimeWarning):
                return call(*args, **kwargs)

        return ignoring_standard

    @functools.wraps(call)
    def ignoring(*args: Any, **kwargs: Any) -> Any:
        filters, showwarning, showwarnmsg_impl = warnings.filters, warnings.showwarning, warnings._showwarnmsg_impl
        warnings.filters = [_IGNORE_RUNTIME_WARNINGS, *filters]
        warnings._filters_mutated()
        try:
            return call(*args, **kwargs)
        finally:
            warnings.filters = filters
            warnings._filters_mutated()
            warnings.showwarning = showwarning
            warnings._showwarnmsg_impl = showwarnmsg_impl

    return ignoring


def _ignoring_errors(call: Callable) -> Callable:
    """``call`` with NumPy's floating-point errors ignored. On NumPy 2, ``np.errstate`` as a decorator: it sets and resets
    the error state around each call as ``with np.errstate(...)`` does (a context variable, thread-safe), without
    building and entering a context manager object per call — half its cost, a microsecond, once per stack of points.
    NumPy 1's decorator would share one instance's saved state between threads and nested calls: the ``with`` there."""
    if _NUMPY2:
        return np.errstate(all="ignore")(call)

    @functools.wraps(call)
    def ignoring(*args: Any, **kwargs: Any) -> Any:
        with np.errstate(all="ignore"):
            return call(*args, **kwargs)

    return ignoring


_NUMPY2 = int(np.__version__.split(".")[0]) >= 2


#: What :meth:`Evaluator.many_complex` returns where ``f`` failed on a stack laid out with its points innermost that
#: it was handed without a copy: build the stack again, as built, and ask again.
BUILD_AGAIN = object()


def points_innermost(stack: np.ndarray) -> np.ndarray:
    """A copy of ``stack`` (points along axis 0) laid out with that axis innermost: ``stack[k]`` at stride one element,
    each point's own axes in C order around it (a C-ordered array of shape ``stack.shape[1:] + (P,)``, its axes moved
    back). Equal to ``stack`` entry by entry."""
    count = stack.shape[0]
    out = np.empty((stack[0].size, count), dtype=stack.dtype)
    out[...] = stack.reshape(count, -1).T
    return out.T.reshape(stack.shape)


def fresh(args: tuple) -> tuple:
    """``args`` with every ndarray copied (other values are passed as they are)."""
    return tuple([a.copy() if isinstance(a, np.ndarray) else a for a in args])


def replaced(args: tuple, wrt: int, value: Any) -> tuple:
    """Fresh copies of ``args`` with ``args[wrt]`` replaced by (a copy of) ``value``."""
    out = fresh(args)
    return out[:wrt] + (value.copy() if isinstance(value, np.ndarray) else value,) + out[wrt + 1:]


def as_scalar(value: object, what: str) -> float:
    """A real scalar from ``f``, or a TypeError that says what came back."""
    if type(value) is float or type(value) is np.float64:
        return float(value)  # the common case, without the checks below (a real scalar)
    arr = np.asarray(value)
    if arr.ndim != 0:
        raise TypeError(
            f"{what} must return a scalar (a float or a 0-d array); got an array of shape {arr.shape}: "
            "reduce it (e.g. .sum() or .mean()) inside f"
        )
    if arr.dtype.kind == "c":
        raise TypeError(f"{what} returned a complex value {arr.item()!r} for real input")
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{what} must return a real number; got {type(value).__name__} {value!r}")
    return float(arr)


class Evaluator:
    """Evaluates ``f`` on a stack of values of ``args[wrt]``: one vectorised call when ``f`` supports it."""

    def __init__(self, f: Callable, wrt: int, vectorized: bool | None) -> None:
        self.f = f
        self.wrt = wrt
        self.forced = vectorized is True
        try:
            learned = _LEARNED.get(f)  # (no new weak reference with a callback, as setdefault makes, once f is known)
            if learned is None:
                learned = _LEARNED.setdefault(f, {})
        except TypeError:  # not weak-referenceable (e.g. a builtin): learn afresh each call
            learned = {}
        self.learned = learned
        self._args: tuple | None = None  # the last arguments called with, and the positions of their arrays
        self._arrays: list[int] = []
        # None: not decided yet
        self.vectorized = vectorized if vectorized is not None else learned.get("vectorized")
        # None: untried; "ok"; else the reason it is unusable
        self.complex_status: str | None = learned.get("complex")
        # f's stacks always as built: f copies each one into C order before it calls what it wraps (the checkers'
        # scalar views, verify.checks._probes.Memo): the innermost layout would only cost it a transposing copy
        self.always_as_built = bool(getattr(f, "stacks_as_built", False))
        # f takes this point's stacks as the judge built them (C order), not laid out with the points innermost: the
        # innermost layout failed at this point (see _batch); reset by new_point
        self.as_built = self.always_as_built or not learned.get("innermost", True)
        self.complex_as_built = self.as_built  # the same for the complex stacks (see _many_complex)
        self.innermost = False  # the values many() last returned are f's on the stack laid out with its points innermost

    def new_point(self) -> None:
        """Forget the layout the last point's stacks took (:meth:`_batch`): each point starts with the innermost one."""
        self.as_built = self.complex_as_built = self.always_as_built or not self.learned.get("innermost", True)

    def centre(self, values: np.ndarray, known: float) -> float:
        """``f(x)`` for the differences of the stack whose values :meth:`many` (or :meth:`many_innermost`) just returned,
        ``values[0]`` at ``x``: that value where ``f`` got the stack laid out with its points innermost (a reduction may
        add in another order there than in its single call: the differences compare values rounded alike), else
        ``known``, ``f``'s single call at ``x``."""
        return float(values[0]) if self.innermost else known

    def call(self, args: tuple, value: np.ndarray, *, owned: bool = False) -> Any:
        """``f`` with ``args[wrt]`` replaced by ``value``, on copies; ``owned``: ``value`` is the judge's own array,
        not looked at again after the call, so it is passed without a copy."""
        if args is not self._args:  # the arrays among the other arguments, found once per point (its tuple is kept)
            self._args = args
            self._arrays = [i for i, a in enumerate(args) if i != self.wrt and isinstance(a, np.ndarray)]
        out = list(args)
        for i in self._arrays:
            out[i] = out[i].copy()
        out[self.wrt] = value if owned else value.copy()  # args[wrt] itself is replaced: not copied
        return self.f(*out)

    # ``call`` with NumPy's floating-point errors ignored (a perturbed point may overflow where x does not)
    call_ignoring_errors = _ignoring_errors(call)
    # ``call`` with RuntimeWarnings ignored (overflow at a perturbed point, ComplexWarning: see _many_complex)
    call_ignoring_warnings = _ignoring_runtime_warnings(call)

    def scalar(self, args: tuple, value: np.ndarray) -> float:
        return as_scalar(self.call(args, value), "f")

    def many(self, args: tuple, stack: np.ndarray, known: float) -> np.ndarray:
        """``f`` at every ``stack[k]``; ``stack[0]`` is a point where ``f`` is already ``known``."""
        self.innermost = False
        if self.vectorized is not False:
            out = self._batch(args, stack, known)
            self.learned["vectorized"] = self.vectorized
            if out is not None:
                return out
        return np.array([known] + [self.scalar(args, point) for point in stack[1:]], dtype=np.float64)

    def _batch(self, args: tuple, stack: np.ndarray, known: float) -> np.ndarray | None:
        if not self.as_built:
            out = self._batch_innermost(args, stack, known)
            if out is not None:
                return out
            self.as_built = True  # the rest of this point's stacks as built, as the first one now
        forced = self.forced
        try:
            # once f is known to take stacks, the stack is not looked at again: no copy needed
            out = np.asarray(self.call_ignoring_errors(args, stack, owned=self.vectorized is True))
        except Exception:
            if forced:
                raise
            self.vectorized = False
            return None
        if out.shape != (stack.shape[0],) or out.dtype.kind not in "fiu":
            if forced:
                raise TypeError(
                    f"vectorized=True but f returned shape {out.shape} for a stack of {stack.shape[0]} points; "
                    f"expected ({stack.shape[0]},)"
                )
            self.vectorized = False
            return None
        out = out.astype(np.float64, copy=False)
        k, single = self._disagreement(args, stack, out, known)
        if k >= 0:
            if forced:
                raise ValueError(f"vectorized=True but f on a stack disagrees with f on point {k}: "
                                 f"{out[k]!r} vs {single!r}")
            self.vectorized = False
            return None
        self.vectorized = True
        return out

    @property
    def takes_innermost(self) -> bool:
        """Whether a real stack of this point built with its points innermost goes to ``f`` as it is
        (:meth:`many_innermost`): ``f`` is known to take stacks and no stack of this point has failed in that layout."""
        return self.vectorized is True and not self.as_built

    @property
    def takes_complex_innermost(self) -> bool:
        """:attr:`takes_innermost` for a complex stack (:meth:`many_complex`)."""
        return self.vectorized is True and not (self.as_built or self.complex_as_built)

    def many_innermost(self, args: tuple, stack: np.ndarray, known: float) -> np.ndarray | None:
        """:meth:`many` where ``stack`` is already laid out with its points innermost (:func:`points_innermost`) and is
        the judge's own, built for this call (only where :attr:`takes_innermost`): ``f`` gets it without a copy. None
        where ``f`` fails on it (see :meth:`_batch_innermost`): ``f`` may have written into it, so the caller builds the
        stack again, as built, for :meth:`many` (which this point's stacks then take)."""
        self.innermost = False
        out = self._batch_innermost(args, stack, known, owned=True)
        if out is None:
            self.as_built = True
        return out

    def _batch_innermost(self, args: tuple, stack: np.ndarray, known: float, owned: bool = False) -> np.ndarray | None:
        """``f`` on a copy of ``stack`` laid out with the points innermost (:func:`points_innermost`), verified as
        :meth:`_batch` verifies a stack as built; None where that fails in any way (``f`` raises, returns another shape
        or disagrees with its single calls): then the stack as built decides, as if this had not been tried. ``f`` on
        a stack reduces the entries of each point across all points at once there (NumPy's inner loop runs along the
        points), where on the stack as built it reduces each point's few entries in turn: 3.5× faster for softmax
        cross-entropy of (4, 10) logits over its 241 points. A reduction may add in another order (NumPy sums a
        contiguous run of 8 or more pairwise, a strided one in sequence): f's values then round otherwise than its
        single call's, which is why the judge's differences take ``f(x)`` from the stack itself (``out[0]``). ``owned``:
        ``stack`` is already so laid out and the judge's own (:meth:`many_innermost`)."""
        try:
            out = np.asarray(self.call_ignoring_errors(args, stack if owned else points_innermost(stack), owned=True))
        except Exception:
            self.learned["innermost"] = False  # f takes no such stack: none is tried again for this f
            return None
        if out.shape != (stack.shape[0],) or out.dtype.kind not in "fiu":
            self.learned["innermost"] = False
            return None
        out = out.astype(np.float64, copy=False)
        if self._disagreement(args, stack, out, known)[0] >= 0:
            return None
        self.vectorized = self.innermost = True
        return out

    def _disagreement(self, args: tuple, stack: np.ndarray, out: np.ndarray, known: float) -> tuple[int, float]:
        """``(k, f(stack[k]))`` at the first point checked where the batched value ``out[k]`` disagrees with the single
        call's, else ``(-1, 0.0)``. Checked at every stack's first point (``known``), and at its last when whether ``f``
        takes stacks is first decided."""
        checks = ((0, known),) if self.vectorized is not None else (
            (0, known), (stack.shape[0] - 1, self.scalar(args, stack[-1])))
        for k, single in checks:
            batched = float(out[k])  # a Python float: the same IEEE comparisons, without NumPy scalar arithmetic
            # Batched and single calls may sum in another order: allow a few ULPs of |f| per term.
            if not (abs(single - batched) <= 64 * _EPS64 * max(abs(single), abs(batched), _TINY64)
                    or (math.isnan(single) and math.isnan(batched))):
                return k, single
        return -1, 0.0

    def many_complex(self, args: tuple, stack: np.ndarray, laid_out: bool = False) -> np.ndarray | None | object:
        """``Im f`` at every complex ``stack[k]``, or None when ``f`` cannot take complex input. ``laid_out``: ``stack``
        is already laid out with its points innermost and the judge's own (only where :attr:`takes_complex_innermost`), passed
        without a copy; :data:`BUILD_AGAIN` where ``f`` fails on it (it may have written into it): the caller asks again
        with the stack as built."""
        out = self._many_complex(args, stack, laid_out)
        self.learned["complex"] = self.complex_status
        return out

    def _complex_innermost(self, args: tuple, stack: np.ndarray, owned: bool) -> np.ndarray | None:
        """``f`` on the complex stack laid out with its points innermost, as the real stacks of the point
        (:meth:`_batch_innermost`); None where it raises or returns another shape (the stack as built decides)."""
        try:
            out = np.asarray(self.call_ignoring_warnings(args, stack if owned else points_innermost(stack), owned=True))
        except Exception:  # noqa: BLE001 - the stack as built decides
            return None
        return out if out.shape == (stack.shape[0],) else None

    def _many_complex(self, args: tuple, stack: np.ndarray, laid_out: bool) -> np.ndarray | None | object:
        if self.complex_status not in (None, "ok"):
            return None
        try:
            # RuntimeWarnings (overflow at a perturbed point) are ignored. So is ComplexWarning, a RuntimeWarning:
            # an "error" filter for it, inserted before this one as this code had it, is shadowed by it (a
            # dropped imaginary part is caught by the dtype test below and by the cross-check with the central
            # differences, not by the warning)
            if self.vectorized:
                out = None
                if not (self.as_built or self.complex_as_built):
                    out = self._complex_innermost(args, stack, laid_out)
                    # where f fails on it, this point's complex stacks go to f as built (the real ones keep their
                    # layout: their differences take f(x) from the first)
                    self.complex_as_built = out is None
                if out is None and laid_out:
                    return BUILD_AGAIN
                if out is None:
                    out = np.asarray(self.call_ignoring_warnings(args, stack, owned=True))
                if out.shape != (stack.shape[0],):
                    raise TypeError(f"returned shape {out.shape} for a complex stack")
            else:
                with _runtime_warnings_ignored():
                    out = np.array([np.asarray(self.call(args, p)) for p in stack])
                if out.shape != (stack.shape[0],):
                    raise TypeError(f"returned shape {out.shape[1:]} for complex input")
        except Exception as exc:  # noqa: BLE001 - any failure means "not usable with complex input"
            self.complex_status = f"f does not accept complex input ({type(exc).__name__}: {exc})"
            return None
        if out.dtype.kind != "c":
            self.complex_status = f"f returns {out.dtype} for complex input (it drops the imaginary part)"
            return None
        self.complex_status = "ok"
        return out.imag.astype(np.float64)
