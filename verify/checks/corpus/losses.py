"""Families of the softmax and the losses: softmax / log-softmax VJPs, cross-entropy (labels, masked −∞
logits), binary cross-entropy with logits (hard and soft labels), the hinge and the multiclass hinge."""

from __future__ import annotations

import numpy as np

from verify.checks.corpus import stable as S
from verify.checks.corpus.model import Family, Point
from verify.checks.corpus.points import SPECIAL, nonzero, normal, vector_points

__all__ = ["FAMILIES"]

N = 6
ROWS, CLASSES = 3, 5


# --------------------------------------------------------------------------------------------- softmax VJPs


def _softmax_vjp(z, v):
    p = S.softmax(z)
    v = v.astype(z.dtype)
    d = v[:, None] - v[None, :]
    return (p * np.sum(p[None, :] * d, axis=-1)).astype(z.dtype)


def _softmax_vjp_textbook(z, v):
    p = S.softmax(z)
    v = v.astype(z.dtype)
    return p * (v - np.sum(p * v))


def _softmax_vjp_missing(z, v):
    return S.softmax(z) * v.astype(z.dtype)


def _softmax_vjp_no_shift(z, v):
    with S.errstate():
        e = np.exp(z)
        p = e / np.sum(e)
        v = v.astype(z.dtype)
        return p * (v - np.sum(p * v))


def _log_softmax_vjp(z, v):
    p = S.softmax(z)
    v = v.astype(z.dtype)
    others_v = np.sum(v) - v if v.size < 2 else np.array([np.sum(np.delete(v, j)) for j in range(v.size)], z.dtype)
    return (v * S.one_minus_softmax(p) - p * others_v).astype(z.dtype)


def _log_softmax_vjp_textbook(z, v):
    p = S.softmax(z)
    v = v.astype(z.dtype)
    return v - p * np.sum(v)


def _vector_points(regimes, scale=3.0):
    def points(rng, dtype):
        return [Point((z, nonzero(rng, N, dtype)), tags)
                for z, tags in vector_points(rng, dtype, N, regimes, scale=scale)]
    return points


FAMILIES = (
    Family(
        name="softmax_vjp", math=lambda M, z, v: M.sum(v * M.softmax(z)), grad=_softmax_vjp,
        points=_vector_points(("typical", "zeros", "ties", "saturation", "huge", "tiny", "masked")),
        variants={"textbook": _softmax_vjp_textbook},
        bugs={"missing term": (_softmax_vjp_missing,), "tail: large |x|": (_softmax_vjp_no_shift,)},
        what="Σ v ⊙ softmax(z); careful p_j Σ_k p_k (v_j − v_k); textbook p ⊙ (v − pᵀv)",
    ),
    Family(
        name="log_softmax_vjp", math=lambda M, z, v: M.sum(v * M.log_softmax(z)), grad=_log_softmax_vjp,
        points=_vector_points(("typical", "zeros", "ties", "saturation", "huge", "tiny")),
        variants={"textbook": _log_softmax_vjp_textbook},
        bugs={"missing term": (lambda z, v: v.astype(z.dtype),),
              "wrong constant": (lambda z, v: v.astype(z.dtype) - S.softmax(z),)},  # Σv taken as 1 (the CE case)
        what="Σ v ⊙ log_softmax(z); careful v_j Σ_{k≠j} p_k − p_j Σ_{k≠j} v_k; textbook v − p Σv",
    ),
)


# --------------------------------------------------------------------------------------------- cross-entropy


def _ce_math(M, z, labels):
    return -M.mean(M.log_softmax(z, axis=-1)[np.arange(z.shape[0]), labels])


def _onehot(labels, k, dtype):
    return (labels[:, None] == np.arange(k)[None, :]).astype(dtype)


def _ce_grad(z, labels):
    p = S.softmax(z)
    y = _onehot(labels, z.shape[-1], bool)
    true = -np.sum(np.where(y, 0, p), axis=-1, keepdims=True)
    return (np.where(y, true, p) / z.shape[0]).astype(z.dtype)


def _ce_textbook(z, labels):
    return ((S.softmax(z) - _onehot(labels, z.shape[-1], z.dtype)) / z.shape[0]).astype(z.dtype)


def _ce_missing(z, labels):
    return (S.softmax(z) / z.shape[0]).astype(z.dtype)


def _ce_no_shift(z, labels):
    with S.errstate():
        e = np.exp(z)
        p = e / np.sum(e, axis=-1, keepdims=True)
    return ((p - _onehot(labels, z.shape[-1], z.dtype)) / z.shape[0]).astype(z.dtype)


def _ce_smoothed(z, labels):
    """(p − target)/N with label smoothing 0.1 in the backward only: a wrong constant in p − onehot."""
    k = z.shape[-1]
    target = 0.9 * _onehot(labels, k, np.float64) + 0.1 / k
    return ((S.softmax(z) - target.astype(z.dtype)) / z.shape[0]).astype(z.dtype)


def _ce_points(rng, dtype):
    dt = np.dtype(dtype)
    out = []
    for regime in ("typical", "zeros", "ties", "saturation", "huge", "masked"):
        for flat, tags in vector_points(rng, dt, ROWS * CLASSES, (regime,), scale=3.0):
            z = flat.reshape(ROWS, CLASSES)
            if regime == "masked":
                z[:, 1] = -np.inf
                z[0, 3] = -np.inf
            labels = np.array([rng.choice(np.flatnonzero(np.isfinite(row))) for row in z])
            out.append(Point((z, labels), tags))
    z = normal(rng, (ROWS, CLASSES), dt, 3.0)  # the row: two logits of 1e8, tied
    z[0, :2] = 1e8
    z[1] = dt.type(SPECIAL[dt]["huge"][2])
    out.append(Point((z, np.array([0, 2, 4])), ("huge", "tie")))
    return out


FAMILIES += (
    Family(
        name="cross_entropy", math=_ce_math, grad=_ce_grad, points=_ce_points, count=ROWS,
        variants={"textbook": _ce_textbook},
        bugs={"missing term": (_ce_missing,), "tail: large |x|": (_ce_no_shift,),
              "wrong constant": (_ce_smoothed,)},
        what=f"mean over {ROWS} rows of logsumexp(z) − z_y, integer labels; careful (p − onehot)/N with the "
             "true class as −Σ_{k≠y} p_k",
    ),
)


# --------------------------------------------------------------------------------------------- binary losses


def _bce_math(M, x, y):
    return M.mean(M.softplus(x) - y * x)


def _bce_hard_grad(x, y):
    y = y.astype(x.dtype)
    return (np.where(y > 0.5, -S.sigmoid(-x), S.sigmoid(x)) / x.size).astype(x.dtype)


def _bce_textbook(x, y):
    return ((S.sigmoid(x) - y.astype(x.dtype)) / x.size).astype(x.dtype)


def _bce_points(hard: bool):
    def points(rng, dtype):
        out = []
        for x, tags in vector_points(rng, dtype, N, ("typical", "zeros", "saturation", "huge", "tiny")):
            y = rng.integers(0, 2, N).astype(dtype) if hard else rng.random(N).astype(dtype)
            out.append(Point((x, y), tags))
        return out
    return points


def _bce_cancelling_sigmoid(x, y):
    with S.errstate():
        return ((1 - 1 / (1 + np.exp(x)) - y.astype(x.dtype)) / x.size).astype(x.dtype)


FAMILIES += (
    Family(
        name="bce_hard", math=_bce_math, grad=_bce_hard_grad, points=_bce_points(True), exact=(1,), count=N,
        variants={"textbook": _bce_textbook},
        bugs={"wrong constant": (lambda x, y: ((S.sigmoid(x) - (0.9 * y + 0.05).astype(x.dtype)) / x.size)
                                 .astype(x.dtype),),  # label smoothing in the backward only
              "missing term": (lambda x, y: (S.sigmoid(x) / x.size).astype(x.dtype),),
              "underflow to 0": (_bce_cancelling_sigmoid,)},
        what=f"mean over {N} of softplus(x) − y x (BCE with logits), labels y ∈ {{0, 1}}",
    ),
    Family(
        name="bce_soft", math=_bce_math, grad=_bce_textbook, points=_bce_points(False), count=N,
        bugs={"missing term": (lambda x, y: (S.sigmoid(x) / x.size).astype(x.dtype),)},
        what=f"mean over {N} of softplus(x) − y x, soft labels y ∈ (0, 1) (data: σ(x) − y is well conditioned "
             "relative to y)",
    ),
)


# --------------------------------------------------------------------------------------------- hinges


def _hinge_math(M, s, y):
    return M.mean(M.relu(1.0 - y * s))


def _hinge_grad(s, y, *, margin=1.0, closed=False, shift=0.0):
    y = y.astype(s.dtype)
    active = (y * s <= margin + shift) if closed else (y * s < margin + shift)
    return (-y * active / s.size).astype(s.dtype)


def _hinge_points(rng, dtype):
    dt = np.dtype(dtype)
    out = []
    for s, tags in vector_points(rng, dt, N, ("typical", "zeros", "huge")):
        out.append(Point((s, rng.choice([-1.0, 1.0], N).astype(dt)), tags))
    offsets = SPECIAL[dt]["near offsets"]
    for near in (False, True, False, True, True):
        y = rng.choice([-1.0, 1.0], N).astype(dt)
        s = normal(rng, N, dt, 1.5)
        where = rng.choice(N, 3, replace=False)
        for j in where:
            s[j] = y[j] * (1 + float(rng.choice(offsets))) if near else y[j]
        out.append(Point((s.astype(dt), y), ("near kink",) if near else ("at kink",)))
    return out


def _mc_math(M, z, labels):
    delta = 1.0 - (labels[:, None] == np.arange(z.shape[-1])[None, :])
    picked = z[np.arange(z.shape[0]), labels]
    return M.mean(M.amax(z + delta, axis=-1) - picked)


def _mc_grad(z, labels, *, margin=1.0, decimals=None):
    k = z.shape[-1]
    y = _onehot(labels, k, z.dtype)
    scores = z + (margin * (1 - y)).astype(z.dtype)
    if decimals is not None:
        scores = np.round(scores, decimals)
    best = _onehot(np.argmax(scores, axis=-1), k, z.dtype)
    return ((best - y) / z.shape[0]).astype(z.dtype)


def _mc_points(rng, dtype):
    dt = np.dtype(dtype)
    out = []
    for flat, tags in vector_points(rng, dt, ROWS * 4, ("typical", "ties", "huge", "zeros"), scale=1.5):
        out.append(Point((flat.reshape(ROWS, 4), rng.integers(0, 4, ROWS)), tags))
    offsets = SPECIAL[dt]["near offsets"]
    for near in (False, True, False, True):
        z = (np.round(normal(rng, (ROWS, 4), dt, 1.5) * 4) / 4).astype(dt)
        labels = rng.integers(0, 4, ROWS)
        for n in range(ROWS):  # a rival exactly (or nearly) one margin below the true class
            k = (labels[n] + 1) % 4
            z[n, k] = z[n, labels[n]] - 1
            if near:
                z[n, k] = dt.type(float(z[n, k]) + float(rng.choice(offsets)) * max(1.0, abs(float(z[n, k]))))
        out.append(Point((z, labels), ("near kink",) if near else ("at kink",)))
    return out


FAMILIES += (
    Family(
        name="hinge", math=_hinge_math, grad=_hinge_grad, points=_hinge_points, exact=(1,), count=N, kink=True,
        variants={"margin included": lambda s, y: _hinge_grad(s, y, closed=True)},
        bugs={"slope next to a kink": (lambda s, y: _hinge_grad(s, y, shift=1e-5),),
              "wrong constant": (lambda s, y: _hinge_grad(s, y, margin=0.0),)},
        what=f"mean over {N} of max(0, 1 − y s), y = ±1; at the margin any slope between −y/N and 0",
    ),
    Family(
        name="multiclass_hinge", math=_mc_math, grad=_mc_grad, points=_mc_points, count=ROWS, kink=True,
        bugs={"wrong constant": (lambda z, labels: _mc_grad(z, labels, margin=0.0),),
              "slope next to a kink": (lambda z, labels: _mc_grad(z, labels, decimals=4),)},
        what=f"mean over {ROWS} rows of max_k (z_k + [k ≠ y]) − z_y (Crammer–Singer); kinks at ties of the max",
    ),
)
