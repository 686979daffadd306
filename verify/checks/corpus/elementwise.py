"""Elementwise families: ``f(x, v) = Σ v ⊙ φ(x)`` (a VJP with the cotangent ``v``), and max / logsumexp.

Each gives the careful derivative ``v ⊙ φ′(x)`` and the bugs people write for ``φ′``: cut-offs and
thresholds (wrong only for large |x|), cancellations that underflow to 0, overflows, branches
shifted next to a kink, a wrong slope constant, a dropped term of the product rule.
"""

from __future__ import annotations

import math

import numpy as np

from verify.checks.corpus import stable as S
from verify.checks.corpus.model import Family, Point
from verify.checks.corpus.points import nonzero, normal, vector_points

__all__ = ["FAMILIES", "UNARY"]

N = 6


def _vector_family(name, phi, dphi, regimes, *, kinks=(), variants=None, bugs=None, kink=False,
                   what="", scale=1.5):
    def math_(M, x, v):
        return M.sum(v * phi(M, x), axis=-1)

    def grad(x, v):
        with S.errstate():
            return (v.astype(x.dtype) * dphi(x)).astype(x.dtype)

    def points(rng, dtype):
        return [Point((x, nonzero(rng, N, dtype)), tags)
                for x, tags in vector_points(rng, dtype, N, regimes, kinks=kinks, scale=scale)]

    def wrap(fn):
        def g(x, v):
            with S.errstate():
                return (v.astype(x.dtype) * fn(x)).astype(x.dtype)
        return g

    return Family(
        name=name, math=math_, grad=grad, points=points,
        variants={k: wrap(fn) for k, fn in (variants or {}).items()},
        bugs={k: tuple(wrap(fn) for fn in (fns if isinstance(fns, tuple) else (fns,))) for k, fns in (bugs or {}).items()},
        kink=kink, what=what,
    )


SMOOTH = ("typical", "zeros", "saturation", "huge", "tiny")
_ALPHA_ELU = 1.5
_ALPHA_LEAKY = 0.01


def _gelu_tanh_derivative(x):
    k = math.sqrt(2.0 / math.pi)
    u = k * (x + 0.044715 * x * x * x)
    return 0.5 * (1 + np.tanh(u)) + 0.5 * x * S.sech2(u) * k * (1 + 3 * 0.044715 * x * x)


FAMILIES = (
    _vector_family(
        "tanh", lambda M, x: M.tanh(x), S.sech2, SMOOTH,
        variants={"textbook": lambda x: 1 - np.tanh(x) ** 2},
        bugs={"tail: large |x|": lambda x: np.where(np.abs(x) > 12, 0, S.sech2(x)),
              "wrong constant": lambda x: 1 - (2 * S.sigmoid(x) - 1) ** 2},  # tanh(x) = 2σ(2x) − 1, the 2 lost
        what="Σ v tanh(x); careful tanh′ = 4e/(1+e)², e = exp(−2|x|); textbook 1 − tanh²",
    ),
    _vector_family(
        "sigmoid", lambda M, x: M.sigmoid(x), S.dsigmoid, SMOOTH,
        variants={"textbook": lambda x: S.sigmoid(x) * (1 - S.sigmoid(x))},
        bugs={"tail: large |x|": lambda x: np.exp(x) / (1 + np.exp(x)) ** 2},  # inf/inf once e^x overflows
        what="Σ v σ(x); careful σ′ = e/(1+e)², e = exp(−|x|); textbook σ(1 − σ)",
    ),
    _vector_family(
        "softplus", lambda M, x: M.softplus(x), S.sigmoid, SMOOTH,
        bugs={"tail: large |x|": (lambda x: np.where(x > 20, 1, S.sigmoid(x)),  # a threshold, as torch's beta=1
                                  lambda x: np.exp(x) / (1 + np.exp(x))),  # nan once e^x overflows
              "underflow to 0": lambda x: 1 - 1 / (1 + np.exp(x))},  # 0 where σ(x) < 1e-17
        what="Σ v softplus(x); softplus′ = σ",
    ),
    _vector_family(
        "log_sigmoid", lambda M, x: M.log_sigmoid(x), lambda x: S.sigmoid(-x), SMOOTH,
        bugs={"underflow to 0": lambda x: 1 - S.sigmoid(x),
              "tail: large |x|": lambda x: np.where(x < -20, 1, S.sigmoid(-x))},
        what="Σ v log σ(x); (log σ)′ = σ(−x)",
    ),
    _vector_family(
        "gelu", lambda M, x: M.gelu(x), lambda x: S.Phi(x) + x * S.phi(x), SMOOTH,
        bugs={"missing term": lambda x: S.Phi(x),
              "wrong constant": _gelu_tanh_derivative,  # the tanh approximation's derivative for the exact GELU
              "tail: large |x|": lambda x: np.where(np.abs(x) > 5, (x > 0).astype(x.dtype), S.Phi(x) + x * S.phi(x))},
        what="Σ v x Φ(x) (exact GELU); derivative Φ(x) + x φ(x)",
    ),
    _vector_family(
        "elu", lambda M, x: M.elu(x, _ALPHA_ELU), lambda x: np.where(x > 0, 1, _ALPHA_ELU * np.exp(np.minimum(x, 0))),
        ("typical", "saturation", "huge", "tiny", "at kink", "near kink"), kinks=(0.0,), kink=True,
        bugs={"slope next to a kink": lambda x: np.where(x > -1e-5, 1, _ALPHA_ELU * np.exp(np.minimum(x, 0))),
              "wrong constant": lambda x: np.where(x > 0, 1, np.exp(np.minimum(x, 0)))},  # α = 1 in the backward
        what=f"Σ v elu(x), α = {_ALPHA_ELU} (a kink at 0: slopes α and 1)",
    ),
    _vector_family(
        "relu", lambda M, x: M.relu(x), lambda x: (x > 0).astype(x.dtype),
        ("typical", "huge", "tiny", "at kink", "near kink"), kinks=(0.0,), kink=True,
        variants={"x >= 0": lambda x: (x >= 0).astype(x.dtype)},
        bugs={"slope next to a kink": (lambda x: np.where(np.abs(x) < 1e-5, 0, x > 0).astype(x.dtype),
                                       lambda x: (x > -1e-5).astype(x.dtype))},
        what="Σ v relu(x); at 0 any slope in [0, 1]",
    ),
    _vector_family(
        "leaky_relu", lambda M, x: M.leaky_relu(x, _ALPHA_LEAKY), lambda x: np.where(x > 0, 1, _ALPHA_LEAKY),
        ("typical", "huge", "tiny", "at kink", "near kink"), kinks=(0.0,), kink=True,
        bugs={"wrong constant": lambda x: np.where(x > 0, 1, 0.1),
              "slope next to a kink": lambda x: np.where(x > -1e-5, 1, _ALPHA_LEAKY)},
        what=f"Σ v leaky_relu(x), slope {_ALPHA_LEAKY} below 0",
    ),
    _vector_family(
        "abs", lambda M, x: M.abs(x), np.sign, ("typical", "huge", "tiny", "at kink", "near kink"), kinks=(0.0,),
        kink=True, bugs={"slope next to a kink": lambda x: np.where(x >= -1e-5, 1, -1)},
        what="Σ v |x|; at 0 any slope in [−1, 1]",
    ),
    _vector_family(
        "hardtanh", lambda M, x: M.clip(x, -1.0, 1.0), lambda x: ((x > -1) & (x < 1)).astype(x.dtype),
        ("typical", "zeros", "huge", "tiny", "at kink", "near kink"), kinks=(-1.0, 1.0), kink=True,
        bugs={"slope next to a kink": lambda x: (np.abs(x) <= 1 + 1e-5).astype(x.dtype)},
        what="Σ v clip(x, −1, 1); kinks at ±1",
    ),
    _vector_family(
        "quadratic", lambda M, x: M.square(x) * 0.5, lambda x: x, ("typical", "zeros", "huge", "tiny"),
        what="½ Σ v x²",
    ),
    _vector_family(
        "x_tanh", lambda M, x: x * M.tanh(x), lambda x: np.tanh(x) + x * S.sech2(x), SMOOTH,
        bugs={"missing term": lambda x: np.tanh(x)}, what="Σ v x tanh(x) (a product rule)",
    ),
    _vector_family(
        "gauss", lambda M, x: M.exp(M.square(x) * -0.5), lambda x: -x * np.exp(-0.5 * (x * x)),
        ("typical", "zeros", "saturation", "huge", "tiny"),
        bugs={"tail: large |x|": lambda x: np.where(np.abs(x) > 8, 0, -x * np.exp(-0.5 * (x * x)))},
        what="Σ v exp(−x²/2)",
    ),
    _vector_family(
        "atan", lambda M, x: M.atan(x), lambda x: 1 / (1 + x * x), SMOOTH, what="Σ v atan(x)",
    ),
    _vector_family(
        "log1p_sq", lambda M, x: M.log1p(M.square(x)),
        lambda x: np.where(np.abs(x) > 1, 2 / (x + 1 / np.where(x == 0, 1, x)), 2 * x / (1 + x * x)), SMOOTH,
        bugs={"tail: large |x|": lambda x: 2 * x / (1 + x * x)},  # x² overflows: 0 where the truth is 2/x
        what="Σ v log(1 + x²); careful derivative 2/(x + 1/x) for |x| > 1",
    ),
    _vector_family(
        "hypot1", lambda M, x: M.hypot1(x), lambda x: x / np.hypot(1, x), SMOOTH,
        bugs={"tail: large |x|": lambda x: x / np.sqrt(1 + x * x)},  # x² overflows: 0 where the truth is ±1
        what="Σ v sqrt(1 + x²)",
    ),
    _vector_family(
        "sin", lambda M, x: M.sin(x), np.cos, ("typical", "zeros", "huge", "tiny"), scale=3.0, what="Σ v sin(x)",
    ),
)


def _max_points(rng, dtype):
    out = []
    for x, tags in vector_points(rng, dtype, N, ("typical", "ties", "huge", "tiny", "masked", "near kink"),
                                 kinks=(0.0,)):
        out.append(Point((x,), tags))
    # near ties: two entries at the maximum, one of them nudged down by a relative 1e-12 .. 1e-3
    dt = np.dtype(dtype)
    for offset in ((1e-12, 5e-8, 1e-3) if dt == np.float64 else (3e-6, 1e-4, 1e-3)):
        x = normal(rng, N, dt)
        j, k = rng.choice(N, 2, replace=False)
        x[j] = np.max(x) + 1
        x[k] = dt.type(float(x[j]) * (1 - offset))
        out.append(Point((x,), ("near kink", "near tie")))
    return out


def _argmax_onehot(x):
    g = np.zeros_like(x)
    g[np.argmax(x)] = 1
    return g


def _tie_average(x):
    top = x == np.max(x)
    return (top / np.count_nonzero(top)).astype(x.dtype)


def _near_tie_average(x):
    m = np.max(x)
    top = x >= m - 1e-5 * max(1.0, abs(float(m)))
    return (top / np.count_nonzero(top)).astype(x.dtype)


def _lse_points(rng, dtype):
    return [Point((x,), tags) for x, tags in
            vector_points(rng, dtype, N, ("typical", "ties", "saturation", "huge", "tiny", "masked"), scale=3.0)]


def _softmax_no_shift(x):
    with S.errstate():
        e = np.exp(x)
        return e / np.sum(e)


FAMILIES += (
    Family(
        name="max", math=lambda M, x: M.amax(x), grad=_argmax_onehot, points=_max_points,
        variants={"ties averaged": _tie_average}, kink=True,
        bugs={"slope next to a kink": (_near_tie_average,)},
        what="max(x); at a tie any point of the simplex over the tied entries",
    ),
    Family(
        name="logsumexp", math=lambda M, x: M.logsumexp(x), grad=lambda x: S.softmax(x).astype(x.dtype),
        points=_lse_points, bugs={"tail: large |x|": (_softmax_no_shift,)},
        what="log Σ exp(x), −∞ entries allowed; gradient softmax(x)",
    ),
)


# --------------------------------------------------------------------------------------------- compositions

# Unary primitives for compositions outer(inner(x)): (math, careful derivative).
UNARY = {
    "tanh": (lambda M, a: M.tanh(a), S.sech2),
    "sigmoid": (lambda M, a: M.sigmoid(a), S.dsigmoid),
    "softplus": (lambda M, a: M.softplus(a), S.sigmoid),
    "atan": (lambda M, a: M.atan(a), lambda a: 1 / (1 + a * a)),
    "sin": (lambda M, a: M.sin(a), np.cos),
    "gelu": (lambda M, a: M.gelu(a), lambda a: S.Phi(a) + a * S.phi(a)),
    "hypot1": (lambda M, a: M.hypot1(a), lambda a: a / np.hypot(1, a)),
    "gauss": (lambda M, a: M.exp(M.square(a) * -0.5), lambda a: -a * np.exp(-0.5 * (a * a))),
    "square": (lambda M, a: M.square(a), lambda a: 2 * a),
}


def _composition(outer: str, inner: str) -> Family:
    fo, do = UNARY[outer]
    fi, di = UNARY[inner]

    def math_(M, x, v):
        return M.sum(v * fo(M, fi(M, x)), axis=-1)

    def grad(x, v):
        with S.errstate():
            a = fi(_NPX, x)
            return (v.astype(x.dtype) * do(a) * di(x)).astype(x.dtype)

    def missing(x, v):  # the chain rule's inner factor forgotten
        with S.errstate():
            return (v.astype(x.dtype) * do(fi(_NPX, x))).astype(x.dtype)

    def points(rng, dtype):
        return [Point((x, nonzero(rng, N, dtype)), tags)
                for x, tags in vector_points(rng, dtype, N, ("typical", "zeros", "saturation", "tiny"), scale=1.5)]

    return Family(name=f"{outer}∘{inner}", math=math_, grad=grad, points=points, bugs={"missing term": (missing,)},
                  what=f"Σ v {outer}({inner}(x)); chain rule {outer}′({inner}(x))·{inner}′(x)")


class _NumpyInDtype:
    """The NumPy namespace for evaluating an inner function inside a gradient (keeps the dtype)."""

    def __getattr__(self, name):
        from verify.checks.corpus.ops import NP

        fn = getattr(NP, name)

        def call(*args, **kwargs):
            with S.errstate():
                out = fn(*args, **kwargs)
            dtype = np.result_type(*[a for a in args if isinstance(a, np.ndarray)])
            return np.asarray(out).astype(dtype)
        return call


_NPX = _NumpyInDtype()


def compositions(rng: np.random.Generator, count: int) -> tuple[Family, ...]:
    """``count`` distinct seeded pairs (outer, inner) of :data:`UNARY`, outer ≠ inner, square never outer of
    an unbounded inner (no overflow at the saturation points)."""
    names = sorted(UNARY)
    pairs = [(o, i) for o in names for i in names if o != i and not (o in ("square", "gauss", "hypot1") and
                                                                      i in ("softplus", "hypot1", "square", "gelu"))]
    chosen = rng.choice(len(pairs), size=count, replace=False)
    return tuple(_composition(*pairs[k]) for k in sorted(chosen))
