"""Claims about constants (formulas without symbols, where= left out): decided exactly — by SymPy's exact
arithmetic or by an interval enclosure whose sign is certain — never by floating point; no counterexample
search; ``inconclusive`` with why where neither settles it. Each wrong way of deciding is written out here and
shown to get a case wrong."""

import itertools
import json
import re
import textwrap

import pytest
import sympy as sp

from verify import claims
from verify.claims import ClaimDefinitionError, Context, run_claim
from verify.claims import builders as builders_module
from verify.claims.registry import _REGISTRY
from verify.cli import main

CTX = Context(seed=3, quick=True)
_IDS = itertools.count()
# A true identity SymPy cannot simplify (cos(pi/7) - cos(2pi/7) + cos(3pi/7) = 1/2): equal to every digit.
SEVENTHS = "cos(pi/7) - cos(2*pi/7) + cos(3*pi/7)"


@pytest.fixture
def define():
    """Define constant claims for one test and remove them afterwards (ids are global)."""
    made = []

    def make(lhs, op, rhs, **kwargs):
        kwargs.setdefault("source", "a test")
        cid = f"const.c{next(_IDS)}"
        c = (claims.identity(cid, lhs, rhs, **kwargs) if op == "=" else
             claims.inequality(cid, lhs, op, rhs, **kwargs))
        made.append(c.id)
        return c

    yield make
    for cid in made:
        _REGISTRY.pop(cid, None)


def verdict(c):
    rec = run_claim(c, CTX)
    assert rec.error is None, rec.error
    return rec


# ------------------------------------------------------------------------- wrong ways of deciding


def decided_by_floats(lhs, op, rhs):
    """Wrong: parse as SymPy does by default (decimals are binary floats) and compare Python floats."""
    a, b = float(sp.sympify(lhs)), float(sp.sympify(rhs))
    holds = {"=": a == b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    return "holds" if holds else "refuted"


def decided_by_digits(lhs, op, rhs, digits=100):
    """Wrong: evaluate at many digits and call anything below 10^-(digits - 10) equal (a guess, however precise)."""
    d = sp.N(sp.sympify(lhs) - sp.sympify(rhs), digits)
    zero = abs(d) < sp.Float(10) ** (-(digits - 10))
    holds = {"=": zero, "<": d < 0 and not zero, "<=": d < 0 or zero, ">": d > 0 and not zero, ">=": d > 0 or zero}
    return "holds" if holds[op] else "refuted"


# ------------------------------------------------------------------------- where= may be left out


@pytest.mark.parametrize("where", ["omitted", None, {}])
def test_a_formula_without_symbols_needs_no_where(define, where):
    kwargs = {} if where == "omitted" else {"where": where}
    rec = verdict(define("log(2)", "<", "1", **kwargs))
    assert rec.verdict == "holds"
    assert rec.statement == r"$\log{\left(2 \right)} < 1$"  # no dangling "for" without domains


# ------------------------------------------------------------------------- true claims and their false twins

TWINS = [  # (lhs, op, rhs) that holds, and its false twin
    (("sqrt(2)**2", "=", "2"), ("sqrt(2)**2", "=", "3")),
    (("Sum(1/2**k, (k, 1, 10))", "=", "1023/1024"), ("Sum(1/2**k, (k, 1, 10))", "=", "1")),
    (("log(6)", "=", "log(2) + log(3)"), ("log(6)", "=", "log(2) + log(4)")),
    (("log(2)", "<", "1"), ("log(2)", ">", "1")),
    (("exp(1)", ">", "2.718"), ("exp(1)", "<", "2.718")),
    (("log(2)", "<", "0.7"), ("log(2)", ">", "0.7")),
    (("pi", "<", "355/113"), ("pi", ">", "355/113")),
    (("2", "<=", "2"), ("2", "<", "2")),
    (("tanh(1)", "<", "0.7616"), ("tanh(1)", ">=", "0.7616")),
    (("exp(pi*sqrt(163))", "<", "262537412640768744"), ("exp(pi*sqrt(163))", ">", "262537412640768744")),
]


@pytest.mark.parametrize("true, false", TWINS, ids=[" ".join(t) for t, _ in TWINS])
def test_a_true_claim_about_constants_holds_and_its_false_twin_is_refuted_with_evidence(define, true, false):
    good = verdict(define(*true))
    assert good.verdict == "holds", good.why
    assert "the claim is about constants" in good.evidence["constants"]
    assert "search" not in good.evidence  # nothing was drawn
    slack = good.evidence["pair"]
    assert slack["theoretical"] == 0  # the slack, right − left for < and <=, is what must be 0, > 0 or >= 0
    assert slack["relation"] == {"=": "=", "<": ">", ">": ">", "<=": ">=", ">=": ">="}[true[1]]

    bad = verdict(define(*false))
    assert bad.verdict == "refuted"
    cx = bad.counterexample
    assert {"left side", "right side"} <= set(cx)
    assert ("left − right" in cx) == (false[1] == "=")
    assert bad.counterexample_explained and ("exactly" in bad.counterexample_explained
                                             or "interval arithmetic at" in bad.counterexample_explained)
    measured = bad.evidence["pair"]["measured"]
    if false[1] == "=":
        assert measured != 0
    else:
        assert measured <= 0  # the slack that had to be positive


def test_an_exact_refutation_shows_the_exact_difference(define):
    rec = verdict(define("Sum(1/2**k, (k, 1, 10))", "=", "1"))
    assert rec.counterexample == {"left side": "1023/1024 = 0.9990234375", "right side": "1", "left − right": "-1/1024"}
    assert rec.counterexample_explained == ("The two sides are different numbers: left − right = -1/1024 "
                                            "exactly (SymPy).")
    assert rec.evidence["SymPy"]["verdict"] == "decided exactly"


def test_the_users_false_claim_log2_above_0_7_is_refuted_with_the_digits_that_decide(define):
    rec = verdict(define("log(2)", ">", "0.7"))
    assert rec.verdict == "refuted"
    assert rec.counterexample == {"left side": "log(2) ≈ 0.69314718055994530942", "right side": "7/10 = 0.7"}
    assert "left side − right side = -0.00685281944005 < 0" in rec.counterexample_explained
    assert "interval arithmetic at 30 digits encloses it below 0" in rec.counterexample_explained


def test_a_strict_inequality_between_equal_constants_fails_exactly(define):
    rec = verdict(define("sqrt(8)", "<", "2*sqrt(2)"))
    assert rec.verdict == "refuted"
    assert "Both sides are exactly equal (SymPy, exact arithmetic)" in rec.counterexample_explained
    assert verdict(define("sqrt(8)", "<=", "2*sqrt(2)")).verdict == "holds"


# ------------------------------------------------------------------------- close calls, decided exactly


def test_pi_and_355_over_113_part_at_the_seventh_digit_and_are_decided_exactly(define):
    below, above, equal = (verdict(define("pi", op, "355/113")) for op in ("<", ">", "="))
    assert (below.verdict, above.verdict, equal.verdict) == ("holds", "refuted", "refuted")
    left, right = above.counterexample["left side"], above.counterexample["right side"]
    assert left == "pi ≈ 3.1415926535897932385" and right == "355/113 ≈ 3.1415929203539823009"
    digits_l, digits_r = left.split("≈ ")[1], right.split("≈ ")[1]
    parted = next(k for k, (a, b) in enumerate(zip(digits_l, digits_r, strict=True)) if a != b)
    assert digits_l[:parted] == "3.141592"  # the 7th significant digit is the last they share
    assert above.evidence["pair"]["measured"] == pytest.approx(float(sp.N(sp.pi - sp.Rational(355, 113), 30)))


CLOSE_CALLS = [  # (lhs, op, rhs, the truth): each is decided wrongly by comparing floats
    ("exp(pi*sqrt(163))", "<", "262537412640768744", "holds"),  # 7.5e-13 below an integer of 18 digits
    ("1 + 1e-20", ">", "1", "holds"),  # the decimal 1e-20 is exact, not lost in a float sum
    ("2**(1/3)", ">", "1.2599210498948731647672", "holds"),  # 1e-23 apart
    ("0.1 + 0.2", "=", "0.3", "holds"),  # decimals as written, not binary floats
    ("log(2)**2", "<", "0.48045301391820142467", "holds"),
]


@pytest.mark.parametrize("lhs, op, rhs, truth", CLOSE_CALLS, ids=[c[0] for c in CLOSE_CALLS])
def test_close_calls_that_floats_get_wrong_are_decided_exactly(define, lhs, op, rhs, truth):
    assert decided_by_floats(lhs, op, rhs) != truth  # the wrong implementation fails here
    rec = verdict(define(lhs, op, rhs))
    assert rec.verdict == truth, rec.why


def test_interval_arithmetic_raises_the_precision_until_the_sign_is_certain(define):
    rec = verdict(define("exp(pi*sqrt(163))", "<", "262537412640768744"))
    assert rec.evidence["interval arithmetic"]["digits"] == 60  # 30 digits could not separate them
    shown = rec.evidence["values"][r"left side $e^{\sqrt{163} \pi}$"]
    assert shown.endswith("≈ 262537412640768743.9999999999992500726")  # the 13th decimal is where it parts


def test_sides_that_agree_beyond_every_digit_are_decided_through_what_sympy_cancels(define):
    # The sides agree to 5212 digits, more than interval arithmetic computes; SymPy cancels 1 + e^-12000 - 1 as it
    # is written, and log(6) - log(2) - log(3) when it simplifies the difference: e^-12000 is plainly positive.
    for lhs, rhs in (("1 + exp(-12000)", "1"), ("log(6) + exp(-12000)", "log(2) + log(3)")):
        rec = verdict(define(lhs, ">", rhs))
        assert rec.verdict == "holds" and rec.evidence["interval arithmetic"]["digits"] == 30
        assert decided_by_digits(lhs, ">", rhs) == "refuted"  # the wrong implementation calls them equal


# ------------------------------------------------------------------------- never a guess


def test_sides_equal_to_every_digit_that_sympy_cannot_show_equal_are_inconclusive(define):
    assert decided_by_digits(SEVENTHS, "=", "1/2") == "holds"  # right by luck: a guess
    rec = verdict(define(SEVENTHS, "=", "1/2"))
    assert rec.verdict == "inconclusive"
    assert "the claim is about constants" in rec.why and "contains 0 at 3840 digits" in rec.why
    assert "only a proof can show" in rec.why
    assert verdict(define(SEVENTHS, ">=", "1/2")).verdict == "inconclusive"


def test_a_difference_beyond_every_digit_computed_is_not_guessed_equal(define):
    false_identity = (SEVENTHS, "=", "1/2 + 1/10**4000")  # they differ at the 4000th digit
    assert decided_by_digits(*false_identity) == "holds"  # the guess is wrong
    rec = verdict(define(*false_identity, sympy_seconds=0.5))
    assert rec.verdict == "inconclusive"
    assert "ran out of time (0.5 CPU s)" in rec.why


def test_a_function_interval_arithmetic_lacks_is_inconclusive_with_why(define):
    rec = verdict(define("erf(1)", "<", "1"))
    assert rec.verdict == "inconclusive"
    assert r"interval arithmetic has no rule for $\operatorname{erf}{\left(1 \right)}$" in rec.why


def spin(*_, **__):
    while True:
        pass


def test_running_out_of_sympy_time_is_said_not_guessed(define, monkeypatch):
    monkeypatch.setattr(builders_module, "_steps", lambda: [("simplify", spin)])
    monkeypatch.setattr(builders_module, "_enclose_until_settled", spin)
    rec = verdict(define("log(2)", "<", "1", sympy_seconds=0.2))
    assert rec.verdict == "inconclusive"
    assert "SymPy ran out of time (0.2 CPU s) on: simplify" in rec.why
    assert "interval arithmetic ran out of time (0.2 CPU s)" in rec.why


@pytest.mark.parametrize("lhs, why", [("1/0", "is not a finite number"), ("sqrt(-2)", "is not a real number")])
def test_an_undefined_or_non_real_side_is_inconclusive(define, lhs, why):
    rec = verdict(define(lhs, "<", "1"))
    assert rec.verdict == "inconclusive" and why in rec.why and "about constants" in rec.why


def test_the_counterexample_search_does_not_run(define, monkeypatch):
    def no_search(*args, **kwargs):
        raise AssertionError("the search ran")

    monkeypatch.setattr("verify.claims._common.hypothesis_search", no_search)
    symbolic = run_claim(claims.identity("const.symbolic", "x", "x", where={"x": "real"}, source="a test"), CTX)
    _REGISTRY.pop("const.symbolic")
    assert "the search ran" in symbolic.why  # the patch is seen: a claim with a symbol searches
    for where in (None, {"x": "real"}):  # constants, also with a domain the formula does not use
        rec = verdict(define("pi", "<", "355/113", where=where))
        assert rec.verdict == "holds"


def test_a_correction_of_a_constant_claim_is_checked_the_same_way(define):
    fixed = verdict(define("log(2)", ">", "0.7", kind="as-written", corrected="0.69", explanation="log 2 is 0.693…"))
    assert fixed.verdict == "refuted" and fixed.correction["verified"]
    assert fixed.correction["checked_by"] == "the same exact decision about constants"
    wrong_fix = verdict(define("log(2)", ">", "0.7", kind="as-written", corrected="0.694", explanation="no"))
    assert not wrong_fix.correction["verified"]


# ------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("kwargs, got", [({}, "None"), ({"where": None}, "None"), ({"where": {}}, "{}")])
def test_a_formula_with_a_symbol_and_no_where_still_fails_with_the_old_message(kwargs, got):
    old = "where= must map every symbol to its domain, e.g. where={'x': 'real'}; got " + got
    with pytest.raises(ClaimDefinitionError, match=re.escape(old)) as info:
        claims.inequality("const.bad", "log(x)", "<=", "x - 1", source="a test", **kwargs)
    assert "'const.bad'" in str(info.value) and "the symbol(s) 'x'" in str(info.value)
    assert "const.bad" not in _REGISTRY


def test_the_symbol_e_is_pointed_to_eulers_number():
    with pytest.raises(ClaimDefinitionError, match=r"Euler's number is E or exp\(1\)"):
        claims.inequality("const.bad_e", "e", "<", "3", source="a test")


@pytest.mark.parametrize("where", [["x"], "x", 3, [("x", "real")]])
def test_where_that_is_not_a_mapping_is_a_clear_value_error(where):
    with pytest.raises(ValueError, match=re.escape(f"where= must map every symbol to its domain, e.g. "
                                                   f"where={{'x': 'real'}}; got {where!r}")) as info:
        claims.identity("const.bad_where", "log(2)", "1", where=where, source="a test")
    assert "'const.bad_where'" in str(info.value) and "const.bad_where" not in _REGISTRY


def test_pythons_sum_with_bounds_points_to_sympys_sum():
    with pytest.raises(ClaimDefinitionError, match=re.escape("Sum(term, (k, 1, n))")):
        claims.identity("const.bad_sum", "sum(1/2**k, (k, 1, 10))", "1023/1024", source="a test")


# ------------------------------------------------------------------------- what the user sees

CLAIMS_FILE = '''
    from verify import claims
    claims.inequality("mine.log2", "log(2)", "<", "1", source="trial")
    claims.inequality("mine.pi_above", "pi", ">", "355/113", source="trial")
    claims.identity("mine.sevenths", "cos(pi/7) - cos(2*pi/7) + cos(3*pi/7)", "1/2", source="trial")
'''


@pytest.fixture
def claims_file(tmp_path):
    before = set(_REGISTRY)
    path = tmp_path / "constant_claims.py"
    path.write_text(textwrap.dedent(CLAIMS_FILE))
    yield str(path)
    for cid in set(_REGISTRY) - before:
        del _REGISTRY[cid]


def test_verify_claims_prints_the_verdicts_and_the_refutation(claims_file, capsys):
    assert main(["claims", "--claims", claims_file, "--quick"]) == 1  # pi > 355/113 is refuted
    out = capsys.readouterr().out
    assert re.search(r"mine\.log2\s+inequality\s+holds", out)
    assert re.search(r"mine\.sevenths\s+identity\s+inconclusive", out)
    assert "3 claims" in out and "mine.pi_above is refuted (pi > 355/113)." in out
    assert '"right side": "355/113 ≈ 3.1415929203539823009"' in out
    # the why of an inconclusive verdict is printed too (it was in --json only)
    assert re.search(r"mine\.sevenths is inconclusive \(.*\): .*contains 0 at 3840 digits", out)


def test_verify_claims_json_and_the_html_report_show_the_evidence(claims_file, capsys, tmp_path):
    main(["claims", "--claims", claims_file, "--quick", "--json"])
    records = {r["id"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert records["mine.pi_above"]["evidence"]["pair"]["relation"] == ">"
    assert "contains 0 at 3840 digits" in records["mine.sevenths"]["why"]
    out_dir = tmp_path / "report"
    main(["report", "--claims", claims_file, "--quick", "--format", "html", "--out", str(out_dir), "--quiet"])
    page = (out_dir / "index.html").read_text()
    assert "the counterexample search does not run (there is nothing to draw)" in page
    assert "355/113 ≈ 3.1415929203539823009" in page and "interval arithmetic at 30 digits" in page
