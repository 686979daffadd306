"""Kinks a little way from the point, closer together than the spacings f's rounding is read at.

``clip(x, −1, 1)`` at ``±1 ± 1e-6`` along a tangent ``v``: the line ``t ↦ ⟨w, f(x + t·v)⟩`` crosses four kinks within
``2e-6`` of ``t = 0``, a bump of a fixed size. Every difference table through x sees it at one place, at every coarser
spacing alike — as a staircase (f rounded to cells) shows its cells' level at every spacing beyond them — and f's
rounding was read as ``9.3e-6`` where its values are exact to ``1e-16``: the correct jvp failed (JAX's
``hard_tanh`` through ``verify.jax`` in float64, found by a new-user trial). A staircase is rounding everywhere, so
its level is now also read off the point, on either side; the bump is not there.
"""

from __future__ import annotations

import numpy as np
import pytest

from verify import CheckFailure, check_jvp
from verify.checks._evaluate import Evaluator
from verify.checks._measure import f_noise


def clip(z):
    return np.clip(z, -1.0, 1.0)


def clip_jvp(v, z):
    return v * (np.abs(z) < 1.0)


def clip_jvp_wide(v, z):
    """Wrong: the entries just outside the corners counted as inside."""
    return v * (np.abs(z) <= 1.0 + 4e-6)


@pytest.mark.parametrize("offset", [3e-7, 1e-6])
def test_a_jvp_beside_four_corners_passes_and_a_wrong_one_fails(offset):
    x = np.array([-1 + offset, 1 + offset, -1 - offset, 1 - offset])
    check_jvp(clip, clip_jvp, (x,), seed=0)
    with pytest.raises(CheckFailure):
        check_jvp(clip, clip_jvp_wide, (x,), seed=0)


def test_the_rounding_of_a_line_through_a_kink_cluster_is_read_off_it():
    """f_noise along the tangent line through the cluster: the level stays at f's rounding (its values are sums of
    four terms of size 1), far below the bump's 1e-6."""
    x = np.array([-1 + 1e-6, 1 + 1e-6, -1 - 1e-6, 1 - 1e-6])
    v = np.array([-0.83, -0.56, -0.55, -0.78])

    def line(t):
        return np.sum(clip(x + t * v), axis=-1)

    ev = Evaluator(line, 0, None)
    point = np.zeros(1)
    f0 = float(line(point))
    eta, kind = f_noise(ev, (point,), point, f0, reach=np.finfo(np.float64).eps ** 0.2 / 4.0)
    assert kind == "measured" and eta < 1e-13
