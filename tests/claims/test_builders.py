"""Declarative claims: right and wrong formulas of each kind, domains, rounding, time limits, bad input."""

import pytest

from verify import claims
from verify.claims import ClaimDefinitionError, Context, Domain, run_claim
from verify.claims.registry import _REGISTRY

CTX = Context(seed=3, quick=True)


@pytest.fixture
def define():
    """Define claims for one test and remove them afterwards (ids are global)."""
    made = []

    def make(builder, *args, **kwargs):
        kwargs.setdefault("source", "a test")
        c = builder(*args, **kwargs)
        made.append(c.id)
        return c

    yield make
    for cid in made:
        _REGISTRY.pop(cid, None)


def verdict(c, ctx=CTX):
    return run_claim(c, ctx)


# ----------------------------------------------------------------------------------- identities


def test_a_true_identity_is_proved_by_sympy(define):
    rec = verdict(define(claims.identity, "t.tanh", "tanh(x)", "2/(1 + exp(-2*x)) - 1", where={"x": "real"}))
    assert rec.verdict == "holds" and rec.evidence["SymPy"]["verdict"] == "proved"
    assert rec.evidence["pair"]["measured"] <= 1e-40 and rec.evidence["search"]["points evaluated"] > 0


@pytest.mark.parametrize("lhs, rhs, where", [
    ("tanh(x)", "2/(1 + exp(-2*x)) + 1", {"x": "real"}),  # a wrong sign
    ("log(x**2)", "2*log(x)", {"x": "real"}),  # true only for x > 0: the search finds a negative x
    ("sqrt(x**2)", "x", {"x": "[-1, 1]"}),
    ("Sum(i**2, (i, 1, t))", "t*(t + 1)*(2*t + 1)/3", {"t": "integer >= 1"}),  # a symbolic bound
])
def test_a_wrong_identity_is_refuted_with_both_sides_at_the_counterexample(define, lhs, rhs, where):
    rec = verdict(define(claims.identity, "t.wrong", lhs, rhs, where=where))
    assert rec.verdict == "refuted"
    cx = rec.counterexample
    assert set(where) <= set(cx) and {"left side", "right side", "left − right"} <= set(cx)
    assert cx["left side"] != cx["right side"] and rec.counterexample_explained


def test_a_sum_with_a_symbolic_bound_holds(define):
    rec = verdict(define(claims.identity, "t.squares", "Sum(i**2, (i, 1, t))", "t*(t + 1)*(2*t + 1)/6",
                         where={"t": "integer >= 1"}))
    assert rec.verdict == "holds"


def test_rounding_cannot_fake_a_refutation(define):
    # (1 + x)² − 1 = x(2 + x): in float64 the left side cancels catastrophically for tiny x (a relative error
    # of 1e-7 at x = 1e-10, which a float64 comparison would call a counterexample); at 50/100 digits it holds
    x = 1e-10
    assert abs(((1 + x) ** 2 - 1) - x * (2 + x)) / (x * (2 + x)) > 1e-9
    rec = verdict(define(claims.identity, "t.cancel", "(1 + x)**2 - 1", "x*(2 + x)", where={"x": "(-1e-10, 1e-10)"}))
    assert rec.verdict == "holds" and rec.evidence["search"]["points too ill-conditioned to decide"] == 0


def test_rounding_cannot_hide_a_refutation(define):
    # the sides differ by 1e-25 relative: invisible in float64, far above the 1e-40 rounding bound
    assert 1.0 + 1e-25 == 1.0
    rec = verdict(define(claims.identity, "t.tiny", "x*(1 + 10**-25)", "x", where={"x": "[1, 2]"}))
    assert rec.verdict == "refuted"
    assert abs(rec.counterexample["left − right"]) > 0


def test_an_identity_sympy_cannot_prove_in_time_and_the_search_cannot_refute_is_inconclusive(define, monkeypatch):
    import time

    from verify.claims import builders

    def hangs(expr):  # a simplification that would never return, busy (the limit counts CPU time)
        while True:
            pass

    monkeypatch.setattr(builders, "_steps", lambda: [("simplify", hangs)])
    start = time.perf_counter()
    rec = verdict(define(claims.identity, "t.hard", "gamma(x + 1)", "x*gamma(x)", where={"x": "(0, 5)"},
                         sympy_seconds=0.2))
    assert time.perf_counter() - start < 20  # abandoned after its time limit, not after 30 s
    assert rec.verdict == "inconclusive"
    assert "SymPy could not prove it" in rec.why and "ran out of time" in rec.why and "does not prove" in rec.why
    assert "ran out of time" in rec.evidence["SymPy"]


def test_sympy_finds_the_tie_that_breaks_a_strict_inequality_at_a_critical_point(define):
    rec = verdict(define(claims.inequality, "t.tie", "log(x)", "<", "x - 1", where={"x": "(0, 10)"}))
    assert rec.verdict == "refuted" and rec.counterexample["x"] == 1.0


def test_points_where_a_side_is_undefined_are_counted_not_counterexamples(define):
    rec = verdict(define(claims.identity, "t.pole", "x/x", "1", where={"x": "[-1, 1]"}))
    assert rec.verdict == "holds"


def test_vectors_on_the_simplex_and_the_ball(define):
    kl = "Sum(p[i]*log(p[i]/q[i]), (i, 1, 3))"
    good = verdict(define(claims.identity, "t.kl", kl, "Sum(p[i]*log(1/q[i]), (i, 1, 3)) - Sum(p[i]*log(1/p[i]), (i, 1, 3))",
                          where={"p": "simplex(3)", "q": "simplex(3)"}))
    assert good.verdict == "holds"
    bad = verdict(define(claims.inequality, "t.gibbs_wrong", kl, "<=", "0", where={"p": "simplex(3)", "q": "simplex(3)"}))
    assert bad.verdict == "refuted" and len(bad.counterexample["p"]) == 3
    total = verdict(define(claims.identity, "t.mass", "p[1] + p[2] + p[3]", "1", where={"p": "simplex(3)"}))
    assert total.verdict == "holds"  # needs the simplex's constraint, which SymPy is given
    inside = verdict(define(claims.inequality, "t.ball", "x[1]**2 + x[2]**2", "<=", "4", where={"x": "ball(2, 2)"}))
    assert inside.verdict != "refuted"
    outside = verdict(define(claims.inequality, "t.ball_wrong", "x[1]**2 + x[2]**2", "<=", "3", where={"x": "ball(2, 2)"}))
    assert outside.verdict == "refuted"


# ----------------------------------------------------------------------------------- inequalities


def test_inequalities_right_and_wrong(define):
    assert verdict(define(claims.inequality, "t.log", "log(x)", "<=", "x - 1", where={"x": "positive"})).verdict == "holds"
    assert verdict(define(claims.inequality, "t.sq", "x**2 + 1", ">", "0", where={"x": "real"})).verdict == "holds"
    wrong = verdict(define(claims.inequality, "t.log_wrong", "log(x)", ">=", "x - 1", where={"x": "positive"}))
    assert wrong.verdict == "refuted" and wrong.counterexample["left side"] < wrong.counterexample["right side"]


def test_a_strict_inequality_fails_where_both_sides_are_exactly_equal(define):
    rec = verdict(define(claims.inequality, "t.strict", "log(x)", "<", "x - 1", where={"x": "positive"}))
    assert rec.verdict == "refuted" and rec.counterexample["x"] == 1.0
    assert "exactly equal" in rec.counterexample_explained


def test_a_domain_boundary_matters_for_a_strict_inequality(define):
    assert verdict(define(claims.inequality, "t.pos", "x**2", ">", "0", where={"x": "positive"})).verdict == "holds"
    assert verdict(define(claims.inequality, "t.nonneg", "x**2", ">", "0",
                          where={"x": "nonnegative"})).verdict == "refuted"


# ----------------------------------------------------------------------------------- derivatives


def test_a_right_derivative_holds_and_a_wrong_one_shows_the_right_one(define):
    where = {"w": "real", "x": "real", "y": "real"}
    right = verdict(define(claims.derivative, "t.lsq", as_written="(w*x - y)*x", of="(w*x - y)**2/2", wrt="w",
                           where=where))
    assert right.verdict == "holds"
    wrong = verdict(define(claims.derivative, "t.lsq_wrong", as_written="w*x - y", of="(w*x - y)**2/2", wrt="w",
                           where=where))
    assert wrong.verdict == "refuted" and wrong.kind == "as-written"
    assert wrong.evidence["right derivative"] == r"$x \left(w x - y\right)$"
    assert wrong.correction["verified"] and wrong.correction["formula"].endswith(r"= x \left(w x - y\right)")
    cx = wrong.counterexample
    assert cx["as written there"] != cx["right derivative there"]


def test_a_correction_is_shown_only_when_it_holds(define):
    bad_fix = verdict(define(claims.identity, "t.badfix", "cos(x)**2", "1 + sin(x)**2", where={"x": "real"},
                             kind="as-written", corrected="1 - 2*sin(x)**2", explanation="a wrong correction"))
    assert bad_fix.verdict == "refuted" and bad_fix.correction["verified"] is False
    good_fix = verdict(define(claims.identity, "t.goodfix", "cos(x)**2", "1 + sin(x)**2", where={"x": "real"},
                              kind="as-written", corrected="1 - sin(x)**2", explanation="the sign of sin² is wrong"))
    assert good_fix.correction["verified"] is True


def test_the_search_is_seeded_and_the_seed_is_recorded(define):
    c = define(claims.identity, "t.seeded", "sin(x)", "x", where={"x": "[-3, 3]"})
    a, b = run_claim(c, Context(seed=5, quick=True)), run_claim(c, Context(seed=5, quick=True))
    assert a.counterexample == b.counterexample and a.evidence["search"]["seed"] == b.evidence["search"]["seed"]
    other = run_claim(c, Context(seed=6, quick=True))
    assert other.evidence["search"]["seed"] != a.evidence["search"]["seed"]


# ----------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("kwargs, message", [
    ({"lhs": "tanh(x", "rhs": "1", "where": {"x": "real"}}, "does not parse"),
    ({"lhs": "x + y", "rhs": "1", "where": {"x": "real"}}, "'y'"),
    ({"lhs": "x", "rhs": "1", "where": {"x": "reals-ish"}}, "unknown domain"),
    ({"lhs": "x", "rhs": "1", "where": {"x": "(1, 0)"}}, "empty"),
    ({"lhs": "p[4]", "rhs": "1", "where": {"p": "simplex(3)"}}, "outside 1"),
    ({"lhs": "p", "rhs": "1", "where": {"p": "simplex(3)"}}, "without an index"),
    ({"lhs": "x", "rhs": "1", "where": {}}, "where="),
    ({"lhs": "x", "rhs": "1", "where": {"x": "real"}, "source": ""}, "source="),
])
def test_bad_input_names_the_claim_and_the_problem(kwargs, message):
    kwargs = {"source": "a test", **kwargs}
    with pytest.raises(ClaimDefinitionError, match=message) as info:
        claims.identity("t.bad", kwargs.pop("lhs"), kwargs.pop("rhs"), **kwargs)
    assert "'t.bad'" in str(info.value)
    assert "t.bad" not in _REGISTRY


def test_two_claims_with_one_id_are_refused(define):
    define(claims.identity, "t.twice", "x", "x", where={"x": "real"})
    with pytest.raises(ClaimDefinitionError, match="duplicate claim id: 't.twice' is already registered"):
        claims.identity("t.twice", "x", "x", where={"x": "real"}, source="a test")


def test_bad_operator_and_derivative_variable():
    with pytest.raises(ClaimDefinitionError, match="op must be one of"):
        claims.inequality("t.op", "x", "=<", "1", where={"x": "real"}, source="s")
    with pytest.raises(ClaimDefinitionError, match="wrt='z'"):
        claims.derivative("t.wrt", as_written="1", of="x", wrt="z", where={"x": "real"}, source="s")
    with pytest.raises(ClaimDefinitionError, match="real scalar"):
        claims.derivative("t.wrt_int", as_written="1", of="n", wrt="n", where={"n": "integer"}, source="s")


# ----------------------------------------------------------------------------------- domains


@pytest.mark.parametrize("text, point, inside", [
    ("positive", 0, False), ("nonnegative", 0, True), ("(0, 1)", 1, False), ("(0, 1]", 1, True),
    ("[-pi, pi]", 3, True), ("[-pi, pi]", 4, False), ("integer >= 1", 1, True), ("integer >= 1", 0, False),
    ("integer in [2, 5]", 5, True), ("integer in [2, 5)", 5, False), ("positive integer", 1, True),
    ("simplex(2)", (0.25, 0.75), True), ("simplex(2)", (0.5, 0.75), False),
    ("ball(2, 1)", (0.6, 0.8), True), ("ball(2, 1)", (0.7, 0.8), False),
])
def test_domains_contain_exactly_what_they_say(text, point, inside):
    from fractions import Fraction

    value = tuple(Fraction(str(v)) for v in point) if isinstance(point, tuple) else Fraction(point)
    assert Domain.parse(text).contains(value) is inside


def test_the_strategies_draw_only_points_of_their_domain():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    domains = [Domain.parse(t) for t in ("(0, 1)", "[-pi, pi]", "integer in [2, 5]", "simplex(3)", "ball(3, 1)",
                                         "negative", "integer >= 1")]

    @settings(max_examples=60, deadline=None, database=None)
    @given(st.data())
    def run(data):
        for d in domains:
            assert d.contains(data.draw(d.strategy())), d.text

    run()


def test_outside_the_main_thread_sympy_runs_in_a_process_with_the_same_time_limit(define):
    from concurrent.futures import ThreadPoolExecutor

    from verify.claims.builders import _OutOfTime, _time_limited

    c = define(claims.identity, "t.thread", "tanh(x)", "2/(1 + exp(-2*x)) - 1", where={"x": "real"})
    with ThreadPoolExecutor(1) as pool:
        rec = pool.submit(run_claim, c, CTX).result()
        assert rec.verdict == "holds" and rec.evidence["SymPy"]["verdict"] == "proved"

        def slow():
            while True:
                pass

        with pytest.raises(_OutOfTime):
            pool.submit(_time_limited, slow, 0.2).result()


def test_the_sympy_limit_counts_cpu_time_so_the_machine_load_cannot_change_a_verdict():
    # A wait that uses no CPU (as a process starved by other work on the machine) is not cut off; the same
    # limit stops a busy one. A wall-clock limit let the README's worked example turn inconclusive under load.
    import time

    from verify.claims.builders import _OutOfTime, _time_limited

    def waits():
        time.sleep(0.5)
        return "done"

    def busy():
        while True:
            pass

    assert _time_limited(waits, 0.2) == "done"
    with pytest.raises(_OutOfTime):
        _time_limited(busy, 0.2)


def test_a_profilers_cpu_timer_is_put_back_after_a_sympy_attempt():
    import signal

    from verify.claims.builders import _time_limited

    previous = signal.signal(signal.SIGPROF, lambda signum, frame: None)
    signal.setitimer(signal.ITIMER_PROF, 100.0, 0.01)  # as a sampling profiler sets it
    try:
        assert _time_limited(lambda: "done", 1.0) == "done"
        remaining, interval = signal.getitimer(signal.ITIMER_PROF)
        assert 90.0 < remaining <= 100.1 and interval == pytest.approx(0.01, abs=0.005)  # to the kernel's tick
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
