"""Jumps of f at the point itself, at many entries at once (``floor(z)`` at integers ``z``, a quantiser on its grid).

Where most entries sit on a jump, their stencils set the pooled rounding level the kink test compares with: the
jumps were read as rounding, then as f computing in float32, and every entry — the smooth ones too — was left
UNVERIFIED, or a wrong gradient passed (``ceil(z) − z³/3`` with six of eight entries at integers). Where every entry
sits on a jump of an f that takes complex input, the complex step (one-sided there) decided, and the jump went
unseen. The stencil now suggests such jumps and f confirms them 16 ULPs away (``jumps_at_point``).
"""

from __future__ import annotations

import numpy as np
import pytest

from verify import CheckFailure, check_gradient, check_jvp, check_vjp
from verify.checks._evaluate import Evaluator
from verify.checks._gradient_kernels import stencil_jumps
from verify.checks._measure import jumps_at_point
from verify.checks._references import central

# f elementwise, its derivative off the jumps, and where its k-th jump lies
FAMILY = {
    "floor(z) + z²": (lambda z: np.floor(z) + z**2, lambda z: 2.0 * z, lambda k: float(k)),
    "ceil(z) − z³/3": (lambda z: np.ceil(z) - z**3 / 3.0, lambda z: -(z**2), lambda k: float(k)),
    "quantiser + sin": (lambda z: np.floor(4.0 * z + 0.5) / 4.0 + np.sin(z), np.cos, lambda k: (k + 0.5) / 4.0),
    "sign(z)·(1 + z²)": (lambda z: np.sign(z) * (1.0 + z**2), lambda z: 2.0 * np.abs(z), lambda k: 0.0),
    "step + exp": (lambda z: np.where(z >= 1.0, 2.0, 0.0) + np.exp(z), np.exp, lambda k: 1.0),
    "1e3·floor(z) + z²": (lambda z: 1e3 * np.floor(z) + z**2, lambda z: 2.0 * z, lambda k: float(k)),
}
SMOOTH = (0.3, -1.7, 2.45, 0.61, -0.37, 1.13)  # no jump of any member here
# (entries, how many of them at a jump): the jumps first
LAYOUTS = [(1, 1), (4, 4), (6, 6), (6, 5), (6, 3), (3, 2), (8, 6)]


def _point(at, n: int, jumps: int) -> np.ndarray:
    ks = (1, 2, -1, 3, -2, 4)
    return np.array([at(ks[i % 6]) if i < jumps else SMOOTH[i % 6] for i in range(n)])


CASES = [pytest.param(name, n, jumps, id=f"{name}-{n}-{jumps}") for name in FAMILY for n, jumps in LAYOUTS]


def _total(f):
    return lambda z: float(np.sum(f(z)))


@pytest.mark.parametrize(("name", "n", "jumps"), CASES)
def test_jumps_fail_by_default(name, n, jumps):
    f, d, at = FAMILY[name]
    with pytest.raises(CheckFailure) as info:
        check_gradient(_total(f), d, (_point(at, n, jumps),))
    assert f"f is not continuous at {jumps} entr" in str(info.value).splitlines()[0]


@pytest.mark.parametrize(("name", "n", "jumps"), CASES)
def test_allowed_jumps_are_counted_and_the_rest_verified(name, n, jumps):
    f, d, at = FAMILY[name]
    report = check_gradient(_total(f), d, (_point(at, n, jumps),), jumps="allow")
    assert report.jumps == jumps and report.unverified == 0
    assert "float32" not in str(report)


@pytest.mark.parametrize(("name", "n", "jumps"), [c for c in CASES if c.values[2] < c.values[1]])
def test_a_wrong_slope_beside_the_jumps_fails(name, n, jumps):
    f, d, at = FAMILY[name]
    doubled = np.r_[np.ones(jumps), np.full(n - jumps, 2.0)]  # wrong on the smooth entries only
    with pytest.raises(CheckFailure) as info:
        check_gradient(_total(f), lambda z: d(z) * doubled, (_point(at, n, jumps),), jumps="allow")
    assert "not continuous" not in str(info.value).splitlines()[0]


@pytest.mark.parametrize(("name", "n", "jumps"), [c for c in CASES if c.values[1] > 1])
@pytest.mark.parametrize("check", [check_jvp, check_vjp])
def test_views_through_many_jumps_are_not_taken_for_float32(check, name, n, jumps):
    f, d, at = FAMILY[name]
    rule = (lambda v, z: d(z) * v) if check is check_jvp else (lambda u, z: d(z) * u)
    report = check(f, rule, (_point(at, n, jumps),), jumps="allow")
    assert report.jumps > 0
    assert "float32" not in str(report)


def test_the_reported_jvp_case():
    """check_jvp(floor(z) + z², jumps="allow") at five integers and 0.5: was "f computes in float32" and 10
    UNVERIFIED entries."""
    z = np.array([1.0, 2.0, 3.0, -1.0, 0.5, 4.0])
    report = check_jvp(lambda z: np.floor(z) + z**2, lambda v, z: 2.0 * z * v, (z,), jumps="allow")
    assert report.unverified == 0 and report.jumps > 0 and report.verified > 0
    assert "float32" not in str(report)


@pytest.mark.parametrize("z", [[1.0], [1.0, 1.0]])
@pytest.mark.parametrize("check", ["gradient", "jvp", "vjp"])
def test_a_jump_under_every_entry_of_a_complex_analytic_f_is_seen(check, z):
    """``where(z ≥ 1, 2, 0) + exp(z)`` takes complex input: its complex step at ``z = 1`` is the right-hand slope,
    which the derivative off the jump matches; it passed while no entry was off the jump."""
    f = lambda z: np.where(z >= 1.0, 2.0, 0.0) + np.exp(z)  # noqa: E731
    point = (np.array(z),)
    with pytest.raises(CheckFailure, match="not continuous"):
        if check == "gradient":
            check_gradient(lambda z: np.sum(f(z)), np.exp, point)
        elif check == "jvp":
            check_jvp(f, lambda v, z: np.exp(z) * v, point)
        else:
            check_vjp(f, lambda u, z: np.exp(z) * u, point)


def _suggested_and_confirmed(f, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ev = Evaluator(f, 0, False)
    ev.new_point()
    cen = central(ev, (x,), x, float(f(x)), float(np.finfo(np.float64).eps))
    sizes = stencil_jumps(cen.values, cen.f0, cen.eps_f, np.zeros(x.size, dtype=bool), cen.finite)  # kinks or not
    return sizes, jumps_at_point(ev, (x,), x, cen.f0, sizes)


def test_a_function_steeper_than_the_step_is_suggested_but_not_confirmed():
    """A layer norm of inputs 1e8 ± 1 varies on a scale of 1 under steps of 7e4: its stencil looks like jumps on every
    entry, and f, 16 ULPs away, shows none."""
    x = np.array([1e8 - 1.0, 1e8 - 3.0, 1e8 - 4.0, 1e8 + 1.0])
    w = np.array([1.77, -0.78, -1.21, 1.17])

    def f(x):
        c = x - np.mean(x)
        return float(np.dot(w, c / np.sqrt(np.mean(c * c) + 1e-5)))

    sizes, confirmed = _suggested_and_confirmed(f, x)
    assert np.count_nonzero(sizes) > 0
    assert not confirmed.any()


def test_a_jump_is_suggested_and_confirmed_a_kink_is_not():
    x = np.array([1.0, 0.0, 0.3])
    sizes, confirmed = _suggested_and_confirmed(lambda z: float(np.floor(z[0]) + abs(z[1]) + z[2] ** 2), x)
    # on its − side, f(x − h) − f(x) = −1: floor drops by 1 below the integer (offsets counted away from x)
    assert sizes[1, 0] == pytest.approx(1.0) and sizes[0, 0] == 0.0
    assert not sizes[:, 1:].any()  # |z| at 0 is a kink, z² smooth
    assert confirmed.tolist() == [True, False, False]
