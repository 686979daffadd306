"""check_vjp(jumps=) and check_jvp(jumps=): a declared jump is not judged, everything else still is."""

from __future__ import annotations

import numpy as np
import pytest

from verify import CheckFailure, check_jvp, check_vjp

X = (np.array([2.0, 0.5, -1.25]),)  # floor jumps along entry 0 (x = 2); entries 1 and 2 are smooth


def staircase(x):
    return np.floor(x) + x  # derivative 1 off the integers


def right_vjp(u, x):
    return u


def right_jvp(v, x):
    return v


WRONG_VJPS = {"doubled": lambda u, x: 2.0 * u, "sign": lambda u, x: -u, "one entry": lambda u, x: u * [1.0, 1.0, 3.0]}
WRONG_JVPS = {"doubled": lambda v, x: 2.0 * v, "sign": lambda v, x: -v, "one entry": lambda v, x: v * [1.0, 1.0, 3.0]}


@pytest.mark.parametrize(("check", "rule"), [(check_vjp, right_vjp), (check_jvp, right_jvp)])
def test_a_jump_fails_by_default(check, rule):
    with pytest.raises(CheckFailure, match="f is not continuous at this point"):
        check(staircase, rule, X)


@pytest.mark.parametrize(("check", "rule"), [(check_vjp, right_vjp), (check_jvp, right_jvp)])
def test_a_declared_jump_is_counted_not_judged(check, rule):
    report = check(staircase, rule, X, jumps="allow")
    assert report.jumps > 0
    assert report.verified == report.entries - report.unverified - report.jumps
    assert report.verified > 0  # the smooth entries were judged
    assert "not differentiable (jumps of f, allowed)" in str(report)


@pytest.mark.parametrize("mistake", WRONG_VJPS)
def test_a_wrong_vjp_still_fails_and_is_not_blamed_on_the_jump(mistake):
    with pytest.raises(CheckFailure) as info:
        check_vjp(staircase, WRONG_VJPS[mistake], X, jumps="allow")
    assert "not continuous" not in str(info.value).splitlines()[0]


@pytest.mark.parametrize("mistake", WRONG_JVPS)
def test_a_wrong_jvp_still_fails_and_is_not_blamed_on_the_jump(mistake):
    with pytest.raises(CheckFailure) as info:
        check_jvp(staircase, WRONG_JVPS[mistake], X, jumps="allow")
    assert "not continuous" not in str(info.value).splitlines()[0]


@pytest.mark.parametrize(("check", "rule"), [(check_vjp, right_vjp), (check_jvp, right_jvp)])
def test_without_jumps_allowing_them_changes_nothing(check, rule):
    x = (np.array([0.3, -1.7, 2.5]),)

    def smooth(x):
        return np.sin(x) * 2.0

    def derivative(d, x):
        return 2.0 * np.cos(x) * d

    plain, allowing = check(smooth, derivative, x), check(smooth, derivative, x, jumps="allow")
    assert plain.jumps == allowing.jumps == 0
    assert plain.entries == allowing.entries and plain.verified == allowing.verified


@pytest.mark.parametrize("check", [check_vjp, check_jvp])
@pytest.mark.parametrize("bad", ["ignore", True, None])
def test_a_bad_jumps_value_is_refused(check, bad):
    with pytest.raises(ValueError, match="jumps must be one of \\('fail', 'allow'\\); got"):
        check(staircase, right_vjp, X, jumps=bad)


@pytest.mark.parametrize("mistake", [*WRONG_JVPS, "ignores its tangent"])
def test_a_tangent_line_through_a_jump_is_judged_entry_by_entry(mistake):
    # Every drawn tangent moves entry 0 too, so every line jumps at t = 0: declared and not judged along the line.
    # Without the Jacobian's columns (jacobian_max=0) a wrong JVP then passed unseen; entry by entry it fails.
    rule = WRONG_JVPS.get(mistake, lambda v, x: np.ones_like(v))
    with pytest.raises(CheckFailure) as info:
        check_jvp(staircase, rule, X, jumps="allow", jacobian_max=0)
    assert "not continuous" not in str(info.value).splitlines()[0]
    report = check_jvp(staircase, right_jvp, X, jumps="allow", jacobian_max=0)
    assert report.jumps > 0 and report.verified > 0


@pytest.mark.parametrize("mistake", ["sign", "doubled"])
def test_the_likely_mistake_of_a_jvp_is_not_read_off_lines_that_were_not_judged(mistake):
    # From the new-user trial: lines through a declared jump accepted every candidate mistake, so a rule that
    # multiplies by its tangent was said to ignore it ("the tangent v is ignored").
    x = (np.array([1.0, 2.5, -0.5, 0.3, -2.0, 0.0]),)
    rule = {"sign": lambda v, z: -v * 2.0 * z, "doubled": lambda v, z: 4.0 * v * z}[mistake]
    with pytest.raises(CheckFailure) as info:
        check_jvp(lambda z: np.floor(z) + z**2, rule, x, jumps="allow")
    assert "tangent v is ignored" not in str(info.value)
