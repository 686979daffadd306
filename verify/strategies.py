"""Hypothesis strategies for the inputs of deep-learning math.

Every strategy draws NumPy arrays of an explicit float dtype (float32 or float64) and shrinks towards
small, ordinary values. Magnitudes reach the extremes of the dtype on purpose: logits up to ±1e300
(±1e38 in float32), probabilities down to the subnormal range, exact zeros and exact ties.

- shapes: :func:`batch_shapes`;
- real inputs: :func:`finite_floats`, :func:`logits`, :func:`activation_inputs`;
- distributions: :func:`simplex_rows` (with or without zeros; rows sum to 1 within ``K·eps``, the
  tolerance of :func:`verify._validate.require_simplex_rows`), :func:`one_hot_rows`, :func:`probabilities`;
- labels: :func:`class_labels` (integers), :func:`sign_labels` (±1), :func:`binary_labels` (0/1);
- everything a loss kernel takes: :func:`loss_arguments` (one tuple of positional arguments for
  ``verify.kernels.losses.LOSSES[name]``).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from verify._network_strategies import (
    network_architectures,
    network_inputs,
    network_parameters,
    network_problems,
    network_targets,
)
from verify._optimizer_strategies import (
    GRADIENT_KINDS,
    gradient_range,
    gradient_sequences,
    optimizer_hyperparameters,
    optimizer_problems,
    parameter_vectors,
)

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
    # networks (defined in verify._network_strategies)
    "network_architectures",
    "network_parameters",
    "network_inputs",
    "network_targets",
    "network_problems",
    # optimizers (defined in verify._optimizer_strategies)
    "GRADIENT_KINDS",
    "gradient_range",
    "gradient_sequences",
    "parameter_vectors",
    "optimizer_hyperparameters",
    "optimizer_problems",
]

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
LOGIT_LIMITS = {np.dtype(np.float32): 1e38, np.dtype(np.float64): 1e300}

# Values where naive formulas break: exp over/underflow, log1p vs log, cancellation in 1 − tanh².
_SPECIAL = (0.0, 1.0, -1.0, 0.5, 20.0, -20.0, 37.5, -37.5, 88.7, -88.7, -103.9, 300.0, -300.0, 700.3, -700.3,
            709.8, -709.8, -745.0, 1e-300, -1e-300, 5e-324)


def _dtype(dtype: object) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in FLOAT_DTYPES:
        raise ValueError(f"dtype must be float32 or float64; got {dt}")
    return dt


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
    # weights m·2^−e: entries from ~1 down to the subnormal range, so rows mix 1 − tiny with tiny
    max_exponent = 140 if dt == np.float32 else 1060
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


@st.composite
def loss_arguments(draw, name: str, dtype=np.float64, *, extreme: bool = True, max_rows: int = 4,
                   max_classes: int = 5, zeros: bool = True):
    """The positional arguments of ``LOSSES[name]`` (and of ``SYMBOLIC_LOSSES[name].reference``)."""
    dt = _dtype(dtype)
    min_classes = 2 if name == "multiclass_hinge" else 1
    n, k = draw(batch_shapes(max_rows=max_rows, min_classes=min_classes, max_classes=max_classes))
    real = logits(dt, extreme=extreme)
    if name == "least_squares":
        bounded = finite_floats(dt, limit=1e150 if dt == np.float64 else 1e18)  # ½‖F − c‖² stays finite
        return draw(hnp.arrays(dt, (n, k), elements=bounded)), draw(hnp.arrays(dt, (n, k), elements=bounded))
    if name in ("hinge", "logistic_from_logit"):
        labels = sign_labels(n) if name == "hinge" else binary_labels(n)
        return draw(hnp.arrays(dt, (n,), elements=real)), draw(labels)
    if name == "logistic_from_probability":
        return draw(probabilities(n, dt)), draw(binary_labels(n))
    if name == "multiclass_hinge":
        return draw(hnp.arrays(dt, (n, k), elements=real)), draw(class_labels(n, k))
    if name in ("categorical_cross_entropy", "softmax_cross_entropy"):
        prediction = (draw(simplex_rows(n, k, dt, zeros=zeros)) if name.startswith("categorical")
                      else draw(hnp.arrays(dt, (n, k), elements=real)))
        target = draw(st.one_of(class_labels(n, k), one_hot_rows(n, k, dt), simplex_rows(n, k, dt, zeros=zeros)))
        return prediction, target
    if name == "entropy":
        return (draw(simplex_rows(n, k, dt, zeros=zeros)),)
    if name in ("cross_entropy", "kl_divergence"):
        p = draw(simplex_rows(n, k, dt, zeros=zeros))
        q = draw(st.one_of(simplex_rows(n, k, dt, zeros=zeros), st.just(p.copy())))
        return p, q
    raise ValueError(f"unknown loss {name!r}")
