"""Argument validation shared by every public function.

Bad input gets a ``TypeError`` (wrong kind of thing) or ``ValueError`` (right kind, wrong value)
whose message names the argument and shows the offending value. Nothing is silently normalised,
clipped, cast or dropped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "FLOAT_DTYPES",
    "as_float_array",
    "require_finite",
    "refuse_non_finite",
    "non_finite_entry",
    "require_shape",
    "require_same_shape",
    "require_simplex_rows",
    "simplex_tolerance",
    "require_labels",
    "require_sign_labels",
    "require_scalar",
    "require_positive_int",
    "require_choice",
    "describe",
    "float_dtype",
]

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def float_dtype(dtype: object) -> np.dtype:
    """``dtype`` as a NumPy dtype, float32 or float64, else ``ValueError`` naming it."""
    dt = np.dtype(dtype)
    if dt not in FLOAT_DTYPES:
        raise ValueError(f"dtype must be float32 or float64; got {dt}")
    return dt


def describe(value: object, limit: int = 6) -> str:
    """A short, exact description of ``value`` for an error message."""
    if isinstance(value, np.ndarray):
        flat = value.ravel()
        # object arrays hold Python objects (None, str, …), which have no .item()
        shown = ", ".join(repr(x.item() if isinstance(x, np.generic) else x) for x in flat[:limit])
        more = f", … ({flat.size - limit} more)" if flat.size > limit else ""
        return f"array(shape={value.shape}, dtype={value.dtype}, values=[{shown}{more}])"
    return repr(value)


def as_float_array(
    value: object,
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    dtype: np.dtype | None = None,
) -> np.ndarray:
    """``value`` as a float32/float64 ndarray (no copy when already one), else a clear error.

    Integer or object input is refused rather than cast: a kernel's accuracy contract depends on
    the dtype the caller chose. ``dtype`` demands one float dtype exactly.
    """
    if not isinstance(value, np.ndarray):
        if isinstance(value, (bool, np.bool_)) or value is None:
            raise TypeError(f"{name} must be a float array; got {value!r}")
        try:
            value = np.asarray(value)
        except (TypeError, ValueError) as exc:  # ragged nested lists, objects without an array form
            raise TypeError(f"{name} must be a float array; got {type(value).__name__} ({exc})") from None
        if value.dtype.kind in "iub":
            raise TypeError(f"{name} must hold floats, got integer/bool data {describe(value)}; pass floats")
    if value.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64; got dtype {value.dtype}: {describe(value)}")
    if dtype is not None and value.dtype != np.dtype(dtype):
        raise TypeError(f"{name} must have dtype {np.dtype(dtype)}; got {value.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if value.ndim not in allowed:
            raise ValueError(f"{name} must have ndim in {allowed}; got shape {value.shape}")
    return value


def require_finite(array: np.ndarray, name: str) -> np.ndarray:
    """Raise ``ValueError`` naming the first NaN/inf entry of ``array``."""
    bad = ~np.isfinite(array)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} must be finite; {name}[{', '.join(map(str, index))}] = {array[index].item()!r} "
            f"({int(bad.sum())} non-finite entr{'y' if bad.sum() == 1 else 'ies'})"
        )
    return array


def refuse_non_finite(checker: str, name: str, value: object, *, allowed_infinities: tuple[float, ...] = (),
                      checked: str = "derivative", inf_note: str = "") -> None:
    """The checkers' one rule for a point the user gives: ``ValueError`` at the first NaN of a floating ``value``
    (always), else at its first infinity that is not in ``allowed_infinities``.

    ``value`` is floating when it is a float/complex ndarray or a float/complex number; anything else (integer
    labels, strings, callables) holds nothing to refuse. The message, alike in every checker::

        check_vjp: args[0] has a NaN at index (2,): a NaN input has no derivative to check
        check_loss('hinge'): target has -inf at index (1,): an infinite input has no derivative to check (…)

    (the index is the entry's index in ``value``; a 0-d ``value`` "is a NaN"). ``checked`` names what the checker
    checks ("derivative", "update"); ``inf_note``, when given, follows an infinity's message in parentheses (where
    an infinity is allowed).

    >>> refuse_non_finite("check_vjp", "args[0]", np.array([1.0, np.inf]), allowed_infinities=(np.inf,))
    >>> refuse_non_finite("check_vjp", "args[0]", np.array([[1.0, 2.0], [3.0, np.nan]]))
    Traceback (most recent call last):
    ValueError: check_vjp: args[0] has a NaN at index (1, 1): a NaN input has no derivative to check
    """
    found = non_finite_entry(name, value, allowed_infinities)
    if found is None:
        return
    where, is_nan = found
    what, note = ("a NaN", "") if is_nan else ("an infinite", inf_note)
    raise ValueError(f"{checker}: {where}: {what} input has no {checked} to check" + (f" ({note})" if note else ""))


def non_finite_entry(name: str, value: object, allowed_infinities: tuple[float, ...] = ()) -> tuple[str, bool] | None:
    """Where the first NaN of a floating ``value`` is, ``("x has a NaN at index (1, 0)", True)``, else its first
    infinity not in ``allowed_infinities``, ``("x has -inf at index (2,)", False)``; None when there is neither."""
    array = _floating_array(value)
    if array is None:
        return None
    nan = np.isnan(array)
    is_nan = bool(nan.any())
    bad = nan if is_nan else np.isinf(array) & ~np.isin(array, allowed_infinities)
    if not bad.any():
        return None
    if array.ndim == 0:
        return f"{name} is {_entry_text(array[()])}", is_nan
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return f"{name} has {_entry_text(array[index])} at index {index}", is_nan


def _floating_array(value: object) -> np.ndarray | None:
    """``value`` as an array when it holds floating-point (real or complex) numbers, else None."""
    if isinstance(value, np.ndarray):
        array = value
    elif isinstance(value, (float, complex, np.floating, np.complexfloating)):
        array = np.asarray(value)
    else:
        return None
    return array if array.dtype.kind in "fc" else None


def _entry_text(entry: object) -> str:
    """A non-finite entry as the message shows it: "a NaN", "+inf", "-inf" (a complex one as its repr)."""
    if np.isnan(entry):
        return "a NaN"
    if np.iscomplexobj(entry):
        return repr(complex(entry))
    return "+inf" if entry > 0 else "-inf"


def require_shape(array: np.ndarray, name: str, shape: tuple[int | None, ...]) -> np.ndarray:
    """Check ``array.shape`` against ``shape`` (``None`` matches any length)."""
    ok = array.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, array.shape, strict=True))
    if not ok:
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {want}; got {array.shape}")
    return array


def require_same_shape(a: np.ndarray, a_name: str, b: np.ndarray, b_name: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{a_name} and {b_name} must have the same shape; got {a.shape} and {b.shape}")


def require_simplex_rows(p: np.ndarray, name: str, *, rtol: float | None = None) -> np.ndarray:
    """Each row of ``p`` must be a probability vector: entries in [0, 1] and summing to 1.

    The sum is compared with 1 to within ``rtol`` (default ``K·eps`` of the dtype, the worst-case
    rounding error of a K-term sum of numbers in [0, 1]). Rows are never renormalised.
    """
    require_finite(p, name)
    if (p < 0).any():
        index = tuple(int(i) for i in np.argwhere(p < 0)[0])
        raise ValueError(f"{name} must be non-negative; {name}[{', '.join(map(str, index))}] = {p[index].item()!r}")
    tol = rtol if rtol is not None else simplex_tolerance(p.shape[-1], p.dtype)
    sums = p.sum(axis=-1)
    off = np.abs(sums - 1.0) > tol
    if np.any(off):
        row = tuple(int(i) for i in np.argwhere(np.atleast_1d(off))[0])
        total = np.atleast_1d(sums)[row]
        raise ValueError(
            f"{name} rows must sum to 1 (within {tol:.3g}); row {list(row)} sums to {float(total)!r}. "
            "verify never renormalises: pass a distribution."
        )
    return p


def simplex_tolerance(n_classes: int, dtype: np.dtype) -> float:
    """``K·eps(dtype)``: the worst-case rounding error of a K-term sum of numbers in [0, 1]."""
    return max(n_classes, 1) * float(np.finfo(dtype).eps)


def require_labels(labels: object, name: str, n_rows: int, n_classes: int) -> np.ndarray:
    """Integer class indices, shape (n_rows,), each in ``range(n_classes)``."""
    arr = np.asarray(labels)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integer class indices; got dtype {arr.dtype} {describe(arr)}")
    require_shape(arr, name, (n_rows,))
    if arr.size and (arr.min() < 0 or arr.max() >= n_classes):
        i = int(np.argmax((arr < 0) | (arr >= n_classes)))
        raise ValueError(f"{name} must lie in [0, {n_classes}); {name}[{i}] = {int(arr[i])}")
    return arr.astype(np.int64, copy=False)


def require_sign_labels(y: np.ndarray, name: str) -> np.ndarray:
    """Labels in {−1, +1} (as floats or integers)."""
    arr = np.asarray(y)
    bad = (arr != 1) & (arr != -1)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} must contain only -1 and +1; {name}[{', '.join(map(str, index))}] = {arr[index].item()!r}")
    return arr


def require_scalar(
    value: object,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """A finite real number inside the stated interval."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number; got {value!r} ({type(value).__name__})")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite; got {x!r}")
    if low is not None and (x < low or (x == low and not low_inclusive)):
        bracket = "[" if low_inclusive else "("
        raise ValueError(f"{name} must be {'>=' if low_inclusive else '>'} {low} (interval {bracket}{low}, …); got {x!r}")
    if high is not None and (x > high or (x == high and not high_inclusive)):
        raise ValueError(f"{name} must be {'<=' if high_inclusive else '<'} {high}; got {x!r}")
    return x


def require_positive_int(value: object, name: str) -> int:
    """An integer ≥ 1 (not a bool, not a float that happens to be whole)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive int; got {value!r} ({type(value).__name__})")
    if value < 1:
        raise ValueError(f"{name} must be >= 1; got {int(value)}")
    return int(value)


def require_choice(value: object, name: str, choices: Iterable[str]) -> str:
    options = tuple(choices)
    if value not in options:
        raise ValueError(f"{name} must be one of {options}; got {value!r}")
    return value  # type: ignore[return-value]
