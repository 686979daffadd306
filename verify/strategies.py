"""Hypothesis strategies for the inputs of deep-learning math.

Every strategy draws NumPy arrays of an explicit float dtype (float32 or float64) and shrinks towards
small, ordinary values. Magnitudes reach the extremes of the dtype on purpose: logits up to ±1e300
(±1e38 in float32), probabilities down to the subnormal range, exact zeros and exact ties.

- shapes: :func:`batch_shapes`;
- real inputs: :func:`finite_floats`, :func:`logits`, :func:`activation_inputs`;
- distributions: :func:`simplex_rows` (with or without zeros; rows sum to 1 within ``K·eps``, the
  tolerance of :func:`verify._validate.require_simplex_rows`), :func:`one_hot_rows`, :func:`probabilities`;
- labels: :func:`class_labels` (integers), :func:`sign_labels` (±1), :func:`binary_labels` (0/1);
- everything a loss takes, generated from its record (:data:`verify.kernels.losses.RECORDS`: the kinds of its
  arguments, its options, its kinks): :func:`loss_arguments` (the positional arguments, extremes up to the
  dtype's limits, for the kernels), :func:`loss_calls` (arguments and drawn options) and :func:`loss_inputs`
  (ordinary values and the extremes a careful implementation must survive, for ``check_loss``).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from verify import _network_strategies, _optimizer_strategies
from verify._network_strategies import *  # noqa: F403 - re-exported, listed in __all__ below
from verify._optimizer_strategies import *  # noqa: F403 - re-exported, listed in __all__ below
from verify._validate import float_dtype
from verify.kernels.catalogue import LossRecord, Option
from verify.kernels.losses import RECORDS

__all__ = [
    "FLOAT_DTYPES",
    "LOGIT_LIMITS",
    "batch_shapes",
    "finite_floats",
    "logits",
    "activation_inputs",
    "simplex_rows",
    "one_hot_rows",
    "probabilities",
    "class_labels",
    "sign_labels",
    "binary_labels",
    "loss_arguments",
    "loss_calls",
    "loss_options",
    "loss_inputs",
    # networks and optimizers, defined in verify._network_strategies and verify._optimizer_strategies
    *_network_strategies.__all__,
    *_optimizer_strategies.__all__,
]

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
LOGIT_LIMITS = {np.dtype(np.float32): 1e38, np.dtype(np.float64): 1e300}

# Values where naive formulas break: exp over/underflow, log1p vs log, cancellation in 1 − tanh².
_SPECIAL = (0.0, 1.0, -1.0, 0.5, 20.0, -20.0, 37.5, -37.5, 88.7, -88.7, -103.9, 300.0, -300.0, 700.3, -700.3,
            709.8, -709.8, -745.0, 1e-300, -1e-300, 5e-324)


_dtype = float_dtype


def batch_shapes(*, min_rows: int = 1, max_rows: int = 6, min_classes: int = 1, max_classes: int = 6):
    """``(N, K)`` with ``N`` rows (examples) and ``K`` columns (classes / outputs)."""
    return st.tuples(st.integers(min_rows, max_rows), st.integers(min_classes, max_classes))


def finite_floats(dtype=np.float64, *, limit: float | None = None):
    """Finite floats of ``dtype`` in ``[−limit, limit]`` (default: the dtype's largest float)."""
    dt = _dtype(dtype)
    bound = dt.type(np.finfo(dt).max if limit is None else limit)
    if float(bound) > float(np.finfo(dt).max if limit is None else limit):  # rounded up: step back inside
        bound = np.nextafter(bound, dt.type(0))
    bound = float(bound)
    return st.floats(-bound, bound, allow_nan=False, allow_infinity=False, width=dt.itemsize * 8)


def logits(dtype=np.float64, *, extreme: bool = True):
    """Logit values: ordinary (|z| ≤ 40), moderate (|z| ≤ 800, where exp under/overflows) and, with
    ``extreme``, anything up to ±1e300 (±1e38 in float32), plus the special points of naive formulas."""
    dt = _dtype(dtype)
    fits = [v for v in _SPECIAL if float(dt.type(v)) == v or abs(v) < 1e-30]
    parts = [
        finite_floats(dt, limit=40.0),
        finite_floats(dt, limit=800.0),
        st.sampled_from([float(dt.type(v)) for v in fits]),
    ]
    if extreme:
        parts.append(finite_floats(dt, limit=LOGIT_LIMITS[dt]))
    return st.one_of(*parts)


def activation_inputs(dtype=np.float64, *, max_side: int = 5):
    """1-D or 2-D arrays of logits (the input of an elementwise activation)."""
    dt = _dtype(dtype)
    shapes = hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=max_side)
    return hnp.arrays(dt, shapes, elements=logits(dt))


@st.composite
def _simplex_row(draw, k: int, dt: np.dtype, zeros: bool):
    # weights m·2^−e: entries from ~1 down to the subnormal range, so rows mix 1 − tiny with tiny; the exponent stops
    # where m·2^−e over the sum (at most k·2^20) is still at least twice the smallest subnormal, so no entry rounds to
    # 0 (the soak drew 2^−1060 over a sum of 2^20 and got an exact 0 with zeros=False)
    tiny_exponent = -int(np.log2(float(np.finfo(dt).smallest_subnormal)))  # 149 or 1074
    max_exponent = tiny_exponent - 21 - int(np.ceil(np.log2(max(k, 1))))
    exponents = draw(st.lists(st.integers(0, max_exponent) | st.integers(0, 8), min_size=k, max_size=k))
    mantissas = draw(st.lists(st.integers(1, 2**20), min_size=k, max_size=k))
    weights = np.array([np.ldexp(float(m), -e) for m, e in zip(mantissas, exponents, strict=True)])
    if zeros and k > 1:
        keep = np.array(draw(st.lists(st.booleans(), min_size=k, max_size=k)))
        keep[draw(st.integers(0, k - 1))] = True
        weights = np.where(keep, weights, 0.0)
    row = (weights / weights.sum()).astype(dt)
    if abs(float(row.sum(dtype=dt)) - 1.0) > k * float(np.finfo(dt).eps):  # pragma: no cover - never seen
        row = np.zeros(k, dtype=dt)
        row[int(np.argmax(weights))] = 1
    return row


def simplex_rows(n: int, k: int, dtype=np.float64, *, zeros: bool = True):
    """``(n, k)`` probability rows summing to 1 (within ``k·eps``), entries down to the subnormal range;
    with ``zeros`` some entries are exactly 0 (never a whole row)."""
    dt = _dtype(dtype)
    return st.lists(_simplex_row(k, dt, zeros), min_size=n, max_size=n).map(
        lambda rows: np.stack(rows).astype(dt, copy=False)
    )


def one_hot_rows(n: int, k: int, dtype=np.float64):
    """``(n, k)`` one-hot rows (hard labels written as distributions)."""
    dt = _dtype(dtype)
    return class_labels(n, k).map(lambda t: np.eye(k, dtype=dt)[t])


def probabilities(n: int, dtype=np.float64):
    """``(n,)`` probabilities in [0, 1], including 0, 1, tiny values and 1 − tiny."""
    dt = _dtype(dtype)
    tiny = float(np.finfo(dt).smallest_subnormal)
    edges = [0.0, 1.0, 0.5, tiny, 1e-30, float(np.nextafter(dt.type(1), dt.type(0)))]
    element = st.one_of(st.floats(0.0, 1.0, width=dt.itemsize * 8), st.sampled_from(edges))
    return hnp.arrays(dt, (n,), elements=element)


def class_labels(n: int, k: int):
    """``(n,)`` integer class indices in ``range(k)`` (int64)."""
    return hnp.arrays(np.int64, (n,), elements=st.integers(0, k - 1))


def sign_labels(n: int):
    """``(n,)`` labels in {−1, +1} (int64)."""
    return hnp.arrays(np.int64, (n,), elements=st.sampled_from([-1, 1]))


def binary_labels(n: int):
    """``(n,)`` labels in {0, 1} (int64)."""
    return hnp.arrays(np.int64, (n,), elements=st.sampled_from([0, 1]))


# --------------------------------------------------------------------------- losses, from their records


def _record(name: str) -> LossRecord:
    if name not in RECORDS:
        raise ValueError(f"unknown loss {name!r}; the catalogue has {tuple(RECORDS)}")
    return RECORDS[name]


def _argument(draw, kind: str, first: bool, n: int, k: int, dt: np.dtype, row: str, real, zeros: bool,
              options: dict):
    """One argument of ``kind`` for the kernels: extremes up to the dtype's limits."""
    shape = (n,) if row == "scalar" else (n, k)
    if kind == "reals":  # bounded so that ½‖F − c‖² (and δ(|d| − δ/2)) stays finite
        return draw(hnp.arrays(dt, shape, elements=finite_floats(dt, limit=1e150 if dt == np.float64 else 1e18)))
    if kind == "logits":
        return draw(hnp.arrays(dt, shape, elements=real))
    if kind == "probabilities":
        return draw(probabilities(n, dt))
    if kind == "simplex":
        rows = simplex_rows(n, k, dt, zeros=zeros)
        return draw(rows if first else st.one_of(rows, one_hot_rows(n, k, dt)))
    if kind == "labels":
        return draw(class_labels(n, k))
    if kind == "signs" or options.get("labels") == "plus_minus_one":
        return draw(sign_labels(n))
    return draw(binary_labels(n))


def _draw_arguments(draw, record: LossRecord, options: dict, strategy, *, alike: bool = True) -> tuple:
    drawn: dict[str, np.ndarray] = {}
    for index, argument in enumerate(record.arguments):
        if alike and argument.like in drawn and draw(st.booleans()):
            drawn[argument.name] = drawn[argument.like].copy()  # q = p: a divergence of 0, kept accurate
            continue
        kind = draw(st.sampled_from(argument.kinds))
        drawn[argument.name] = strategy(draw, kind, index == 0, argument, options)
    args = tuple(drawn.values())
    if record.kink is not None and draw(st.integers(0, 3)) == 0:  # a quarter of the draws sit on a kink
        args = record.kink(args)
    return args


def _option_values(option: Option):
    if option.choices:
        return st.sampled_from(option.choices)
    low, high, low_inclusive, high_inclusive = option.interval
    high = min(high, max(1e3, 2 * float(option.default)))
    ordinary = st.floats(low, high, exclude_min=not low_inclusive, exclude_max=not high_inclusive)
    edges = [v for v in (low, high) if (v == low and low_inclusive) or (v == high and high_inclusive)]
    return st.one_of(st.just(option.default), ordinary, *([st.sampled_from(edges)] if edges else []))


def loss_options(name: str):
    """The options of loss ``name`` (a dict, possibly empty): defaults, ordinary values and the edges of their
    intervals (``label_smoothing`` 0 and 1), every named convention."""
    record = _record(name)
    return st.fixed_dictionaries({o.name: _option_values(o) for o in record.options})


@st.composite
def loss_calls(draw, name: str, dtype=np.float64, *, extreme: bool = True, max_rows: int = 4, max_classes: int = 5,
               zeros: bool = True):
    """``(args, options)``: the positional arguments of ``LOSSES[name]`` and its keyword options (see
    :func:`loss_arguments` and :func:`loss_options`); binary labels follow the drawn ``labels`` convention."""
    options = draw(loss_options(name))
    return draw(loss_arguments(name, dtype, extreme=extreme, max_rows=max_rows, max_classes=max_classes,
                               zeros=zeros, options=options)), options


@st.composite
def loss_arguments(draw, name: str, dtype=np.float64, *, extreme: bool = True, max_rows: int = 4,
                   max_classes: int = 5, zeros: bool = True, options: dict | None = None):
    """The positional arguments of ``LOSSES[name]`` (and of ``SYMBOLIC_LOSSES[name].reference``), from the kinds
    of its record's arguments: logits up to ±1e300 (``extreme``), probability rows down to the subnormal range
    with exact zeros (``zeros``), every kind of target the loss takes, points on its kinks; ``q`` sometimes
    equal to ``p``. ``options``: the call's options (the ``labels`` convention decides 0/1 or ±1 labels)."""
    dt = _dtype(dtype)
    record = _record(name)
    n, k = draw(batch_shapes(max_rows=max_rows, min_classes=record.min_classes, max_classes=max_classes))
    real = logits(dt, extreme=extreme)

    def strategy(draw_, kind, first, argument, opts):
        return _argument(draw_, kind, first, n, k, dt, record.row, real, zeros, opts)

    return _draw_arguments(draw, record, options or {}, strategy)


# The values of check_loss's search: ordinary ones and the extremes a careful float implementation must survive,
# up to logits of 1e7–1e8, where logsumexp(z) − z_t loses everything in float32.
_EXTREME = (1000.0, -1000.0, 745.0, -745.0, 40.0, -40.0, 0.0)
_HUGE = (1e8, -1e8, 1e7, -1e7)


@st.composite
def loss_inputs(draw, name: str, dtype=np.float64, *, rows: int = 3, classes: int = 4):
    """Argument tuples for ``check_loss``'s search of loss ``name``, ``rows`` × ``classes``: ordinary values
    (|x| ≤ 20) mixed with ±40, ±745 and ±1000 (±80 in float32) and ±1e7, ±1e8, probability rows with exact zeros where the
    loss stays finite (never in an argument that the loss divides by: ``q``, ``ŷ``, the entropy's ``p``),
    every kind of target, and points on the kinks."""
    dt = _dtype(dtype)
    record = _record(name)
    width = 32 if dt == np.float32 else 64
    big = 1000.0 if dt == np.float64 else 80.0
    real = st.one_of(st.floats(-20.0, 20.0, width=width),
                     st.sampled_from([v for v in _EXTREME if abs(v) <= big] + [big, -big, *_HUGE]))
    shape = (rows,) if record.row == "scalar" else (rows, classes)
    weight = st.one_of(st.just(0.0), st.floats(1e-30, 1.0), st.just(1.0))
    positive_weight = st.one_of(st.floats(1e-30, 1.0), st.just(1.0))

    def simplex(elements):
        def build(w):
            w = np.where(w.sum(axis=-1, keepdims=True) > 0, w, 1.0)
            return (w / w.sum(axis=-1, keepdims=True)).astype(dt)
        return hnp.arrays(np.float64, (rows, classes), elements=elements).map(build)

    def strategy(draw_, kind, first, argument, opts):
        if kind in ("reals", "logits"):
            return draw_(hnp.arrays(dt, shape, elements=real))
        if kind == "probabilities":
            return draw_(hnp.arrays(dt, rows, elements=st.floats(0.0, 1.0, exclude_min=True, exclude_max=True,
                                                                 width=width)))
        if kind == "simplex":
            return draw_(simplex(positive_weight if argument.positive else weight))
        if kind == "labels":
            return draw_(hnp.arrays(np.int64, rows, elements=st.integers(0, classes - 1)))
        if kind == "signs":
            return draw_(hnp.arrays(dt, rows, elements=st.sampled_from([-1.0, 1.0])))
        return draw_(hnp.arrays(np.int64, rows, elements=st.integers(0, 1)))

    return _draw_arguments(draw, record, {}, strategy, alike=False)
