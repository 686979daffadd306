"""Hypothesis strategies for optimizers: gradient sequences, parameter vectors and hyperparameters.

Re-exported from :mod:`verify.strategies`. Used by :func:`verify.check_optimizer` to search for an input on
which an implementation leaves the exact reference.

Gradient sequences (``(T, n)`` arrays, T ≤ 50 by default) come in kinds, chosen first so that shrinking
goes to the plainest kind:

- ``"general"``: entries of magnitude 10⁻⁶ … 10³ (log-uniform) with random signs, some exactly 0;
- ``"zeros"``: every gradient 0 (the state must stay 0 and θ must not move; 0/0 must not appear for ε > 0);
- ``"tiny"`` and ``"huge"``: magnitudes near the ends of the range the dtype can square without underflow
  or overflow (float64: 10⁻⁶⁰ … 10⁻³⁰ and 10³⁰ … 10⁶⁰; float32: 10⁻¹² … 10⁻⁶ and 10⁶ … 10¹²);
- ``"sign_flips"``: g_t = (−1)ᵗ c, the case momentum exists to damp;
- ``"one_coordinate"``: only one coordinate ever non-zero (coordinates must not leak into each other,
  except through AdaGrad-Norm's shared ‖g‖²).

The range bounds are deliberate: below ~10⁻¹⁵⁴ (float64) g² underflows and adaptive rules divide by a
flushed 0; above ~10¹⁵⁴ it overflows. That is the floating-point range, not a convention, so it is kept
out of the search. Hyperparameters favour the values practitioners use (α = 0.1, β = 0.9, β₂ = 0.999,
ε = 1e-8) first, then any value in range; drawn values are exactly representable in the dtype.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from verify.kernels.optimizers import HYPERPARAMETERS, RULES, rule_spec, validate_hyperparameters

__all__ = [
    "GRADIENT_KINDS",
    "gradient_range",
    "gradient_sequences",
    "parameter_vectors",
    "optimizer_hyperparameters",
    "optimizer_problems",
]

GRADIENT_KINDS: tuple[str, ...] = ("general", "zeros", "tiny", "huge", "sign_flips", "one_coordinate")

# Decimal exponents (low, high) of each magnitude band, by dtype; see the module docstring.
_BANDS = {
    np.dtype(np.float64): {"general": (-6, 3), "tiny": (-60, -30), "huge": (30, 60), "theta": (-3, 3)},
    np.dtype(np.float32): {"general": (-6, 3), "tiny": (-12, -6), "huge": (6, 12), "theta": (-3, 3)},
}


def _dtype(dtype) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in _BANDS:
        raise ValueError(f"dtype must be float32 or float64; got {dt}")
    return dt


def gradient_range(dtype=np.float64) -> tuple[float, float]:
    """The smallest and largest non-zero gradient magnitude the strategies draw for ``dtype``."""
    bands = _BANDS[_dtype(dtype)]
    return 10.0 ** bands["tiny"][0], 10.0 ** bands["huge"][1]


def _in_dtype(x: float, dt: np.dtype) -> float:
    return float(dt.type(x))


@st.composite
def _signed(draw, band: tuple[int, int], dt: np.dtype, shape, *, zeros: bool) -> np.ndarray:
    """Entries ±10^e with e spread over ``band``; with ``zeros``, about one in (span + 1) exactly 0.

    One float x per entry encodes everything: sign(x) is the sign and |x| the decimal exponent above the
    band's floor (|x| < 1 means 0 when ``zeros``). One array draw per input keeps the search cheap, gives
    log-uniform magnitudes, and shrinking x towards 0 shrinks entries towards 0 (or the smallest magnitude).
    """
    low, high = band
    span = float(high - low + (1 if zeros else 0))
    x = draw(arrays(np.float64, shape, elements=st.floats(-span, span)))
    exponent = low + np.abs(x) - (1.0 if zeros else 0.0)
    values = np.where(x < 0, -1.0, 1.0) * 10.0 ** np.clip(exponent, low, high)
    if zeros:
        values = np.where(np.abs(x) < 1.0, 0.0, values)
    return values.astype(dt)


@st.composite
def gradient_sequences(
    draw,
    n: int | None = None,
    steps: int | None = None,
    *,
    dtype=np.float64,
    max_steps: int = 50,
    max_size: int = 5,
    kinds: tuple[str, ...] = GRADIENT_KINDS,
) -> np.ndarray:
    """A ``(T, n)`` gradient sequence of one of ``kinds`` (T and n drawn unless given)."""
    dt = _dtype(dtype)
    bad = [k for k in kinds if k not in GRADIENT_KINDS]
    if bad or not kinds:
        raise ValueError(f"kinds must be a non-empty subset of {GRADIENT_KINDS}; got {kinds!r}")
    T = steps if steps is not None else draw(st.integers(1, max_steps))
    n = n if n is not None else draw(st.integers(1, max_size))
    kind = draw(st.sampled_from(kinds))
    bands = _BANDS[dt]
    if kind == "zeros":
        return np.zeros((T, n), dtype=dt)
    if kind in ("general", "tiny", "huge"):
        return draw(_signed(bands[kind], dt, (T, n), zeros=kind == "general"))
    if kind == "sign_flips":
        c = draw(_signed(bands["general"], dt, (n,), zeros=False))
        signs = np.where(np.arange(T) % 2 == 0, 1.0, -1.0).astype(dt)
        return (signs[:, None] * c[None, :]).astype(dt)
    k = draw(st.integers(0, n - 1))  # one_coordinate
    column = draw(_signed(bands["general"], dt, (T,), zeros=True))
    out = np.zeros((T, n), dtype=dt)
    out[:, k] = column
    return out


@st.composite
def parameter_vectors(draw, n: int, *, dtype=np.float64) -> np.ndarray:
    """A starting point θ₀ of length ``n``: magnitudes 10⁻³ … 10³, random signs, some exactly 0."""
    dt = _dtype(dtype)
    return draw(_signed(_BANDS[dt]["theta"], dt, (n,), zeros=True))


def _hyperparameter(name: str, dt: np.dtype) -> st.SearchStrategy[float]:
    """The values practitioners use first (:data:`~verify.kernels.optimizers.HYPERPARAMETERS`), then any in range."""
    spec = HYPERPARAMETERS[name]
    width = 32 if dt == np.float32 else 64
    lo, hi = spec.draw
    common = [_in_dtype(x, dt) for x in spec.typical]
    return st.one_of(st.sampled_from(common), st.floats(_in_dtype(lo, dt), _in_dtype(hi, dt), width=width))


@st.composite
def optimizer_hyperparameters(draw, rule: str, *, fixed: dict | None = None, dtype=np.float64) -> dict:
    """The required numeric hyperparameters of ``rule`` not in ``fixed``, drawn; ``fixed`` ones kept as given.

    Options (``eps_mode``) and optional hyperparameters (``weight_decay``…) are never drawn: a convention is part of
    what is being checked, and an optional feature is checked when the caller names it. Combinations the rule does
    not define are avoided (Nesterov momentum is drawn > 0).
    """
    spec = rule_spec(rule)
    dt = _dtype(dtype)
    fixed = dict(fixed or {})
    validate_hyperparameters(rule, fixed, partial=True)
    out = dict(fixed)
    for name in spec.hyperparameters:
        if name not in fixed:
            value = draw(_hyperparameter(name, dt))
            if rule == "nesterov" and name == "momentum" and value == 0.0:
                value = _in_dtype(0.5, dt)
            out[name] = value
    return out


@st.composite
def optimizer_problems(
    draw,
    rule: str,
    *,
    fixed: dict | None = None,
    dtype=np.float64,
    max_steps: int = 50,
    max_size: int = 5,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """``(theta0, grads, hyper)`` for ``rule``: a starting point, a gradient sequence, hyperparameters."""
    if rule not in RULES:
        rule_spec(rule)  # raises, naming the rules
    hyper = draw(optimizer_hyperparameters(rule, fixed=fixed, dtype=dtype))
    grads = draw(gradient_sequences(dtype=dtype, max_steps=max_steps, max_size=max_size))
    theta0 = draw(parameter_vectors(grads.shape[1], dtype=dtype))
    return theta0, grads, hyper
