"""The corpus proves check_gradient: 0 false alarms on thousands of correct gradients, ≥ 99 % of
thousands of mutants caught (issue 13, item 6).

The corpus (``verify.checks.corpus``) is generated and seeded; nothing in it is a stored verdict.
First the corpus itself is proven against the truth — SymPy's derivative at 40 digits — so that a
"correct" case is the derivative to rounding and a "mutant" is not (the bound is defined and
justified in ``verify/checks/corpus/truth.py``). Then every case goes through ``check_gradient``
with its default options.

A mutant that check_gradient may miss is named in ``OUT_OF_REACH`` with why it does not resolve it
there (a miss or an unverified verdict); every other miss fails the test. Measured at the default seed
(``compare_with_peers(cases() + framework_cases()[0], repeats=0, tools=("verify",))``, 2 shared cores): 2,763
correct cases, 0 false alarms (337 with an unverified entry; one more than before term (d) took a tiny entry's own
scale: torch.mul at tiny float32 entries, whose central reference is too coarse for it); 2,242 mutants, 2,238 caught (99.8 %), 2 missed and 2
unverified, all four in ``OUT_OF_REACH``. The whole file took 148 s wall, 83 s CPU at an earlier stop — the ~5,000
checks 75 s, the truth of ~1,100 points 37 s, building the corpus 19 s — so CI runs the whole corpus, no sample.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

import verify.checks.corpus as corpus_module
from verify.checks.corpus import MUTATIONS, SEED, cases, excluded, framework_cases
from verify.checks.corpus.build import build, build_with_exclusions
from verify.checks.corpus.mutations import jump_is_real, with_jump
from verify.checks.corpus.reach import OUT_OF_REACH
from verify.checks.corpus.run import finding_lines
from verify.checks.corpus.truth import MUTANT_MARGIN, K, bound, correct_error_ratio, rounding_unit, truth
from verify.checks.zoo import OUTCOMES, compare_with_peers

REQUIRED_FAMILIES = {"dense_tanh", "dense_relu", "residual", "conv1d_kernel", "conv1d_input", "layer_norm",
                     "softmax_vjp", "log_softmax_vjp", "logsumexp", "cross_entropy", "bce_hard", "hinge",
                     "relu", "leaky_relu", "abs", "max", "tanh", "sigmoid"}
REGIMES = {"typical", "zero", "tie", "saturation", "huge", "tiny", "masked", "at kink", "near kink"}

# Mutants check_gradient does not resolve at their point: name -> why. Every other miss is a failure.


@pytest.fixture(scope="module")
def own():
    return cases()


@pytest.fixture(scope="module")
def frameworks():
    extra, skipped = framework_cases()
    return tuple(extra), skipped


@pytest.fixture(scope="module")
def corpus(own, frameworks):
    return own + frameworks[0]


@pytest.fixture(scope="module")
def judged(corpus):
    """Every case is judged and proven against the truth, in CI too (the whole file takes ~2.5 min on 2 shared
    cores, so no sample is drawn)."""
    return corpus


def _point_key(case) -> tuple:
    return tuple(case.name.split("/")[:3])


@pytest.fixture(scope="module")
def truths(judged):
    """The truth at every point of the judged cases (the framework cases share the points of their family)."""
    out, points = {}, {}
    for case in judged:
        key = _point_key(case)
        if key not in out:
            out[key] = truth(case.family, case.point)
            points[key] = case.point
        else:
            for a, b in zip(points[key], case.point, strict=True):
                assert np.array_equal(np.asarray(a), np.asarray(b)), case.name
    return out


# ----------------------------------------------------------------------------------------- the corpus itself


def test_the_corpus_is_large_and_covers_every_layer_regime_and_mutation(own, frameworks):
    kinds = Counter(c.kind for c in own)
    assert kinds["correct"] >= 1000 and kinds["mutant"] >= 1000, kinds
    assert REQUIRED_FAMILIES <= {c.family.name for c in own}
    assert {c.dtype for c in own} == {"float32", "float64"}
    tags = Counter(t for c in own if not c.wrong for t in c.tags)
    assert REGIMES <= set(tags), tags
    mutations = Counter(c.mutation for c in own if c.wrong)
    assert set(mutations) == set(MUTATIONS), mutations
    assert min(mutations.values()) >= 30, mutations
    assert len({c.name for c in own}) == len(own)
    for c in own:
        assert c.kind == "correct" or (c.parent and c.bug.startswith(MUTATIONS[c.mutation])), c.name
    implementations = Counter(c.implementation for c in own if not c.wrong)
    assert {"stable", "textbook", "float32 f"} <= set(implementations)


def test_the_framework_cases_are_there(frameworks):
    extra, skipped = frameworks
    for name, why in skipped.items():
        pytest.skip(f"{name}: {why}")
    found = Counter(c.implementation for c in extra)
    assert found["torch"] >= 300 and found["jax"] >= 300, found


def test_the_corpus_is_deterministic():
    again = build_with_exclusions.__wrapped__(SEED)[0]
    first = build(SEED)
    assert [c.name for c in again] == [c.name for c in first]
    for a, b in zip(again, first, strict=True):
        for u, v in zip(a.point, b.point, strict=True):
            assert np.array_equal(np.asarray(u), np.asarray(v), equal_nan=True), a.name


def test_f_is_finite_at_every_point(corpus):
    bad = [c.name for c in corpus if not math.isfinite(float(c.f(*c.point)))]
    assert not bad, bad[:20]


# ----------------------------------------------------------------------------------------- the truth


def test_the_truth_is_the_derivative_at_40_digits():
    import mpmath

    from verify.checks.corpus.build import families

    fam = {f.name: f for f in families()}
    x = np.array([20.0, -400.0, 1e-300, 0.0, 3.0, -1.0])
    v = np.array([1.0, 2.0, -1.0, 0.5, 1.5, -2.0])
    t = truth(fam["tanh"], (x, v))
    with mpmath.workdps(50):
        exact = [float(vi * mpmath.sech(mpmath.mpf(xi)) ** 2) for xi, vi in zip(x, v, strict=True)]
    assert np.array_equal(t.low, np.array(exact)) and np.array_equal(t.low, t.high)
    assert t.low[0] == pytest.approx(4 * math.exp(-40), rel=1e-15) and t.low[1] == 0.0
    # a kink: relu at 0 is the interval [0, v]; next to it, the ordinary derivative
    r = truth(fam["relu"], (np.array([0.0, 1e-300, -5e-324, 2.0]), np.array([3.0, 1.0, 1.0, 1.0])))
    assert r.kinks == 1 and (r.low[0], r.high[0]) == (0.0, 3.0)
    assert list(r.low[1:]) == [1.0, 0.0, 1.0] and list(r.high[1:]) == [1.0, 0.0, 1.0]
    # a masked logit: f does not depend on it; the softmax of the others
    z = np.array([-np.inf, 0.5, 1.0])
    s = truth(fam["logsumexp"], (z,))
    with mpmath.workdps(50):
        e = [mpmath.exp(mpmath.mpf(0.5)), mpmath.exp(mpmath.mpf(1.0))]
        assert list(s.low) == [0.0, float(e[0] / sum(e)), float(e[1] / sum(e))]


def test_the_bound_is_rounding_level():
    from verify.checks.corpus.build import families

    fam = {f.name: f for f in families()}
    x = np.array([0.3, -1.2, 2.5, 0.0, 7.0, -0.7])
    v = np.array([1.0, -2.0, 0.5, 1.5, 1.0, 3.0])
    t = truth(fam["sigmoid"], (x, v))
    b = bound(t, np.float64)
    u = rounding_unit(np.float64)
    # 64 u (|t| + cond): a few hundred ULPs of the truth, not a loose tolerance
    rounding = K * u * (t.magnitude + t.cond)
    assert np.all(rounding <= 1e3 * np.spacing(np.abs(t.low)) + 1e-300)
    # below f's resolution: 64 u F_j / max(1, |x_j|), F_j the largest |f| at x and x ± eps^(1/5)·max(1,|x_j|) e_j
    f = lambda y: float(np.sum(v / (1 + np.exp(-y))))  # noqa: E731 - Σ v σ(x), written independently
    h = np.finfo(np.float64).eps ** 0.2 * np.maximum(1.0, np.abs(x))
    big_f = [max(abs(f(x)), abs(f(x + h[j] * np.eye(6)[j])), abs(f(x - h[j] * np.eye(6)[j]))) for j in range(6)]
    assert np.allclose(t.resolution, np.array(big_f) / np.maximum(1.0, np.abs(x)), rtol=1e-12)
    assert np.allclose(b, rounding + K * u * t.resolution + K * 2.0**-1074, rtol=1e-15)
    g = fam["sigmoid"].grad(x, v)
    assert correct_error_ratio(g, t, np.float64) <= 0.1
    nudged = g.copy()
    nudged[2] += 3 * b[2]
    assert correct_error_ratio(nudged, t, np.float64) > 1
    assert rounding_unit(np.float32) == 2.0 ** -24


def test_every_correct_gradient_is_the_derivative_to_rounding(judged, truths):
    worst, bad = 0.0, []
    for c in judged:
        if c.wrong:
            continue
        r = correct_error_ratio(c.grad(*c.point), truths[_point_key(c)], c.point[0].dtype)
        worst = max(worst, r)
        if not r <= 1.0:
            bad.append(f"{c.name}: {r:.3g} × the rounding bound")
    assert not bad, "\n".join(bad[:30])
    assert worst > 0  # the bound is not vacuous: the corpus' rounding is visible in it


def test_every_mutant_differs_from_the_truth_by_more_than_rounding(judged, truths):
    bad = []
    for c in judged:
        if not c.wrong:
            continue
        if c.mutation == "jump":  # no derivative at all: see the next test
            continue
        r = correct_error_ratio(c.grad(*c.point), truths[_point_key(c)], c.point[0].dtype)
        if not r > MUTANT_MARGIN:
            bad.append(f"{c.name}: only {r:.3g} × the rounding bound away from the truth")
    assert not bad, "\n".join(bad[:30])


def test_the_cases_left_out_are_not_correct_and_their_count_is_the_documented_one(frameworks):
    """Left out: an implementation that misses the rounding bound at a point (neither correct nor a mutant).
    Each is proven against the truth, and the count stated in the corpus' docstring is the real one."""
    extra, skipped = frameworks
    left = excluded()
    generated = len(build_with_exclusions(SEED)[1])
    documented = f"at the default seed, {generated} generated and {len(left) - generated} framework cases"
    if not skipped:
        assert documented in " ".join(corpus_module.__doc__.split()), documented
    names = {c.name for c in cases() + extra}
    for case in left:
        assert case.name not in names and case.reason.strip(), case.name
        r = correct_error_ratio(case.grad(*case.point), truth(case.family, case.point), case.point[0].dtype)
        assert r > 1.0, f"{case.name} is within the bound ({r:.3g}): it should be a correct case"


def test_every_jump_mutant_makes_f_discontinuous_at_its_point(own):
    parents = {c.name: c for c in own if not c.wrong}
    jumps = [c for c in own if c.mutation == "jump"]
    assert len(jumps) >= 30
    for c in jumps:
        _, description, k, jump = with_jump(parents[c.parent].f, c.point)
        assert description in c.bug
        # the mutant's own f changes by more than J/2 between the float64 neighbours of x_k, where a
        # continuous f changes by |∂f/∂x_k|·2 ULPs
        assert jump_is_real(c.f, c.point, k, jump), c.name
        assert jump >= 1 + abs(float(parents[c.parent].f(*c.point)))


# ----------------------------------------------------------------------------------------- check_gradient


@pytest.fixture(scope="module")
def verdicts(judged):
    return compare_with_peers(judged, repeats=0, tools=("verify",))


def test_check_gradient_raises_no_false_alarm_on_the_corpus(verdicts, corpus):
    assert {r["outcome"] for r in verdicts} <= set(OUTCOMES)
    alarms = [r for r in verdicts if r["kind"] == "correct" and r["outcome"] in ("false alarm", "error")]
    right = sum(r["kind"] == "correct" for r in verdicts)
    assert not alarms, f"{len(alarms)} of {right} correct gradients rejected:\n" + "\n".join(
        finding_lines(alarms[:60], corpus))


def test_the_out_of_reach_list_names_mutants_of_the_corpus(own):
    mutants = {c.name for c in own if c.wrong}
    assert set(OUT_OF_REACH) <= mutants, sorted(set(OUT_OF_REACH) - mutants)
    assert all(reason.strip() for reason in OUT_OF_REACH.values())


def test_check_gradient_catches_99_percent_of_the_mutants(verdicts, corpus, own):
    mutants = [r for r in verdicts if r["kind"] == "mutant"]
    caught = sum(r["outcome"] == "caught" for r in mutants)
    unexpected = [r for r in mutants if r["outcome"] != "caught" and r["case"] not in OUT_OF_REACH]
    by_mutation = Counter(r["mutation"] for r in unexpected)
    assert not unexpected, (f"caught {caught} of {len(mutants)}; {len(unexpected)} misses not in OUT_OF_REACH "
                            f"({dict(by_mutation)}):\n" + "\n".join(finding_lines(unexpected[:60], corpus)))
    assert caught >= 0.99 * len(mutants), f"caught {caught} of {len(mutants)}"
    assert len(OUT_OF_REACH) <= 0.01 * sum(c.wrong for c in own)  # of the whole corpus
