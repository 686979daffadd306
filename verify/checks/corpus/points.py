"""Seeded points in named regimes: typical, zeros, ties, saturation, huge, tiny, masked −∞, at and near kinks.

Every builder takes a ``numpy.random.Generator`` and a dtype and returns :class:`~.model.Point` s
whose tags name the regimes they exercise. The special magnitudes depend on the dtype (float32 has
no 1e150 nor 1e-300): see :data:`SPECIAL`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SPECIAL", "vector_points", "normal", "nonzero"]

SPECIAL = {
    np.dtype(np.float64): {
        "saturation": (20.0, -20.0, 37.0, -50.0, 400.0, -400.0, 25.0, -30.0),
        "huge": (1e8, -1e8, 1e150, -1e150, 3e7, -2.5e150),
        "tiny": (1e-300, -1e-300, 5e-324, -2.5e-310, 1e-310, -7e-322),
        "near offsets": (1e-3, -1e-6, 5e-8, -5e-8, 1e-10, -1e-12),
        "near zero": (1e-300, -1e-300, 5e-324, -1e-9),
    },
    np.dtype(np.float32): {
        "saturation": (20.0, -20.0, 37.0, -50.0, 400.0, -400.0, 12.0, -15.0),
        "huge": (1e8, -1e8, 1e30, -1e30, 3e7, -2.5e30),
        "tiny": (1e-38, -1e-38, 1.4e-45, -1e-42, 3e-40, -2e-39),
        "near offsets": (1e-3, -1e-4, 3e-6, -3e-6, 1e-5, -2e-6),
        "near zero": (1e-38, -1e-40, 1.4e-45, -1e-9),
    },
}


def normal(rng: np.random.Generator, shape, dtype, scale: float = 1.0) -> np.ndarray:
    return (scale * rng.standard_normal(shape)).astype(dtype)


def nonzero(rng: np.random.Generator, shape, dtype, scale: float = 1.0) -> np.ndarray:
    """Normal entries bounded away from 0 (cotangent weights: a zero weight hides an entry)."""
    magnitude = scale * (0.25 + rng.random(shape) * 1.75)
    return (magnitude * rng.choice([-1.0, 1.0], size=shape)).astype(dtype)


def _mix(rng, base: np.ndarray, values, fraction: float = 0.5) -> np.ndarray:
    x = base.copy()
    n = x.size
    k = max(1, int(round(fraction * n)))
    where = rng.choice(n, size=k, replace=False)
    x.flat[where] = rng.choice(np.asarray(values, dtype=np.float64), size=k).astype(x.dtype)
    return x


def vector_points(
    rng: np.random.Generator, dtype, n: int, regimes: tuple[str, ...], *, kinks: tuple[float, ...] = (),
    scale: float = 1.5,
) -> list[tuple[np.ndarray, tuple[str, ...]]]:
    """Vectors of length ``n`` in each regime: a list of ``(x, tags)``.

    Regimes: ``typical`` (normal, 3 points), ``zeros`` (2), ``ties`` (2), ``saturation`` (3: ±20 … ±400
    mixed with typical entries), ``huge`` (2: 1e8, 1e150 in float64; 1e8, 1e30 in float32), ``tiny``
    (2: 1e-300 and subnormals; float32: 1e-38 and its subnormals), ``masked`` (2: −∞ entries),
    ``at kink`` (3: entries exactly at ``kinks``), ``near kink`` (3: entries at ``kink + offset`` with
    offsets from 1e-3 down to 1e-12 relative, and 1e-300 or a subnormal next to a kink at 0).
    """
    dt = np.dtype(dtype)
    special = SPECIAL[dt]
    out: list[tuple[np.ndarray, tuple[str, ...]]] = []

    def base():
        return normal(rng, n, dt, scale)

    for regime in regimes:
        if regime == "typical":
            out += [(base(), ("typical",)) for _ in range(3)]
        elif regime == "zeros":
            x = base()
            x[[0, n // 2]] = 0
            out.append((x, ("zero",)))
            out.append((np.zeros(n, dt), ("zero", "tie")))
        elif regime == "ties":
            x = base()
            x[1] = x[0]
            out.append((x, ("tie",)))
            x = base()
            x[2:5] = x[2]
            out.append((x, ("tie",)))
        elif regime == "saturation":
            out += [(_mix(rng, base(), special["saturation"]), ("saturation",)) for _ in range(2)]
            out.append((_mix(rng, base(), special["saturation"], 1.0), ("saturation",)))
        elif regime == "huge":
            out.append((_mix(rng, base(), special["huge"][:2] + special["huge"][4:5]), ("huge",)))
            out.append((_mix(rng, base(), special["huge"]), ("huge",)))
        elif regime == "tiny":
            out.append((_mix(rng, base(), special["tiny"]), ("tiny",)))
            out.append((_mix(rng, base(), special["tiny"], 1.0), ("tiny",)))
        elif regime == "masked":
            x = base()
            x[1] = -np.inf
            out.append((x, ("masked",)))
            x = base()
            x[[0, n - 1]] = -np.inf
            out.append((x, ("masked",)))
        elif regime == "at kink":
            for _ in range(3):
                out.append((_mix(rng, base(), kinks, 0.5), ("at kink",)))
        elif regime == "near kink":
            for _ in range(3):
                x = base()
                k = max(1, n // 2)
                where = rng.choice(n, size=k, replace=False)
                for j in where:
                    c = float(rng.choice(kinks))
                    if c == 0.0 and rng.random() < 0.5:
                        x[j] = dt.type(rng.choice(special["near zero"]))
                    else:
                        x[j] = dt.type(c + float(rng.choice(special["near offsets"])) * max(1.0, abs(c)))
                if any(v == c for v in x for c in kinks):
                    continue
                out.append((x, ("near kink",)))
        else:
            raise ValueError(f"unknown regime {regime!r}")
    return out
