"""Claims from outside the package: files, modules, entry points, and every way a claims file can be wrong."""

import json
import sys
import textwrap

import pytest

from verify.claims import Context, load_claims, run_claim
from verify.claims.loading import entry_point_claims
from verify.claims.registry import _REGISTRY
from verify.cli import main

GOOD_AND_BAD = '''
from verify import claims

claims.identity("notes.tanh", "tanh(x)", "2/(1 + exp(-2*x)) - 1", where={"x": "real"}, source="my notes, p. 1")
claims.identity("notes.unparsable", "tanh(x", "1", where={"x": "real"}, source="my notes, p. 2")
claims.identity("notes.no_domain", "x + y", "y + x", where={"x": "real"}, source="my notes, p. 3")
claims.inequality("notes.bad_domain", "x", "<=", "x**2", where={"x": "realish"}, source="my notes, p. 4")
claims.derivative("notes.lsq", as_written="(w*x - y)", of="(w*x - y)**2/2", wrt="w",
                  where={"w": "real", "x": "real", "y": "real"}, source="my notes, p. 5")
claims.identity("notes.tanh", "tanh(x)", "tanh(x)", where={"x": "real"}, source="my notes, p. 6")
claims.inequality("notes.log", "log(x)", "<=", "x - 1", where={"x": "positive"}, source="my notes, p. 7")
'''


@pytest.fixture
def clean_registry():
    before = set(_REGISTRY)
    yield
    for cid in set(_REGISTRY) - before:
        del _REGISTRY[cid]


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_the_good_claims_of_a_file_load_and_each_bad_one_is_named(tmp_path, clean_registry):
    path = _write(tmp_path, "notes_claims.py", GOOD_AND_BAD)
    got, failures = load_claims([path])
    assert [c.id for c in got] == ["notes.tanh", "notes.lsq", "notes.log"]
    assert all(c.origin == path for c in got)
    problems = {f.claim_id: f.problem for f in failures}
    assert set(problems) == {"notes.unparsable", "notes.no_domain", "notes.bad_domain", "notes.tanh"}
    assert "does not parse" in problems["notes.unparsable"]
    assert "'y'" in problems["notes.no_domain"] and "no domain" in problems["notes.no_domain"]
    assert "unknown domain 'realish'" in problems["notes.bad_domain"]
    assert "duplicate claim id" in problems["notes.tanh"]
    assert all(f.source == path and path in str(f) for f in failures)
    # the claims that loaded run, with correct verdicts
    verdicts = {c.id: run_claim(c, Context(quick=True)).verdict for c in got}
    assert verdicts == {"notes.tanh": "holds", "notes.lsq": "refuted", "notes.log": "holds"}
    # loading the file again does not define its claims twice
    again, again_failures = load_claims([path])
    assert [c.id for c in again] == [c.id for c in got] and len(again_failures) == len(failures)


def test_a_file_that_raises_on_import_is_reported_with_its_line(tmp_path, clean_registry):
    path = _write(tmp_path, "raises.py", '''
        from verify import claims
        claims.identity("raises.first", "x", "x", where={"x": "real"}, source="s")
        1 / 0
        claims.identity("raises.never", "x", "x", where={"x": "real"}, source="s")
    ''')
    got, failures = load_claims([path])
    assert [c.id for c in got] == ["raises.first"]
    (failure,) = failures
    assert failure.claim_id is None and "ZeroDivisionError at line 4" in failure.problem and path in str(failure)


def test_a_missing_file_and_a_missing_module_are_failures_not_crashes(tmp_path):
    got, failures = load_claims([str(tmp_path / "nope.py"), "no_such_module_for_verify_claims"])
    assert got == [] and [f.problem for f in failures] == ["no such claims file", "no such claims file or module"]


def test_a_module_on_the_path_loads_by_name(tmp_path, monkeypatch, clean_registry):
    _write(tmp_path, "course_claims_mod.py", '''
        from verify import claims
        claims.inequality("course.exp", "exp(x)", ">=", "1 + x", where={"x": "real"}, source="course notes")
    ''')
    monkeypatch.syspath_prepend(str(tmp_path))
    got, failures = load_claims(["course_claims_mod"])
    assert [c.id for c in got] == ["course.exp"] and failures == []
    assert load_claims(["course_claims_mod"])[0] == got  # imported once, found again by origin
    sys.modules.pop("course_claims_mod", None)


def test_the_template_module_loads_and_its_claims_hold_and_catch_a_wrong_implementation():
    from verify.claims.template import check_softmax_of_two_is_sigmoid

    got, failures = load_claims(["verify.claims.template"])
    assert {c.id for c in got} == {"template.tanh_through_sigmoid", "template.softmax_of_two_is_sigmoid"}
    assert failures == []
    for c in got:
        rec = run_claim(c, Context(quick=True))
        assert rec.verdict == "holds" and rec.evidence["pair"], c.id
    wrong = check_softmax_of_two_is_sigmoid(Context(quick=True), softmax2=lambda a, b: 1 / (1 + 2.718281828 ** (b - a)))
    assert wrong.verdict == "refuted"


def test_installed_packages_expose_claims_through_the_entry_point_group(tmp_path, monkeypatch, clean_registry):
    import importlib.metadata

    _write(tmp_path, "installed_course.py", '''
        from verify import claims
        claims.identity("installed.sq", "(a + b)**2", "a**2 + 2*a*b + b**2", where={"a": "real", "b": "real"},
                        source="an installed course")
    ''')
    _write(tmp_path, "broken_course.py", "raise RuntimeError('this package is broken')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    eps = [importlib.metadata.EntryPoint("course", "installed_course", "verify.claims"),
           importlib.metadata.EntryPoint("broken", "broken_course", "verify.claims")]

    def entry_points(*, group=None, **kw):
        assert group == "verify.claims"
        return eps

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    got, failures = entry_point_claims()
    assert [c.id for c in got] == ["installed.sq"]
    assert got[0].origin == "entry point course (installed_course)"
    (failure,) = failures
    assert "broken" in failure.source and "RuntimeError" in failure.problem
    for name in ("installed_course", "broken_course"):
        sys.modules.pop(name, None)


def test_cli_runs_a_claims_file_and_says_which_file_failed(tmp_path, capsys, clean_registry):
    path = _write(tmp_path, "cli_claims.py", GOOD_AND_BAD.replace("notes.", "cli."))
    status = main(["claims", "--claims", path, "--json", "--quick"])
    out = capsys.readouterr()
    records = [json.loads(line) for line in out.out.splitlines()]
    by_id = {r["id"]: r for r in records}
    assert {"cli.tanh", "cli.lsq", "cli.log"} <= set(by_id)
    assert by_id["cli.lsq"]["verdict"] == "refuted" and by_id["cli.lsq"]["correction"]["verified"]
    stand_ins = [r for r in records if r["topic"] == "load errors"]
    assert len(stand_ins) == 4 and all(path in r["why"] and r["verdict"] == "inconclusive" for r in stand_ins)
    assert any("cli.no_domain" in r["why"] for r in stand_ins)
    assert status == 1  # a claims file that failed is an error, like a check that raised
    assert "could not load" in out.err and path in out.err


def test_cli_with_a_clean_file_exits_0_and_prints_only_its_claims(tmp_path, capsys, clean_registry):
    path = _write(tmp_path, "clean_claims.py", '''
        from verify import claims
        claims.inequality("clean.log", "log(x)", "<=", "x - 1", where={"x": "positive"}, source="notes")
        claims.derivative("clean.sq", as_written="3*x", of="x**2", wrt="x", where={"x": "real"}, source="notes")
    ''')
    assert main(["claims", "--claims", path, "--quick"]) == 0  # a refuted as-written formula is a finding
    out = capsys.readouterr().out
    assert "clean.log" in out and "clean.sq" in out and "information.gibbs" not in out
    assert "2 claims" in out and "corrected (checked: holds)" in out


def test_report_takes_claims_files_too(tmp_path, capsys, clean_registry):
    path = _write(tmp_path, "report_claims.py", '''
        from verify import claims
        claims.identity("report.ok", "sin(x)**2 + cos(x)**2", "1", where={"x": "real"}, source="notes")
        claims.identity("report.bad", "x", where={"x": "real"}, source="notes")
    ''')
    out_dir = tmp_path / "out"
    status = main(["report", "--claims", path, "--quick", "--format", "html", "--out", str(out_dir), "--quiet"])
    results = json.loads((out_dir / "results.json").read_text())
    ids = [c["id"] for c in results["claims"]]
    assert "report.ok" in ids and any(i.startswith("load_error.report_claims") for i in ids)
    failed = next(c for c in results["claims"] if c["id"].startswith("load_error"))
    assert path in failed["why"]
    assert status == 1 and "report.ok" in (out_dir / "index.html").read_text()
