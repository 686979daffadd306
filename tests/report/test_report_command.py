"""``verify report``: files written, progress, exit status, determinism, results.json."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from verify.claims.registry import Claim, ClaimRecord, Context
from verify.cli import main as verify_main
from verify.report import build_report, exit_status

GOOD = ["fake.mean_zero", "fake.sigmoid_derivative_as_written", "fake.inconclusive", "fake.unparseable_holds"]
HERE = Path(__file__).parent


def _run(tmp_path, *args: str) -> int:
    return verify_main(["report", "--out", str(tmp_path), "--quick", *args])


def test_writes_the_three_files_and_shows_progress(tmp_path, fake_registry, capsys):
    status = _run(tmp_path, "--only", *GOOD)
    captured = capsys.readouterr()
    assert status == 0  # the only refuted claim is a formula of the notes, as written: a finding
    for name in ("index.html", "report.pdf", "results.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    lines = [line for line in captured.err.splitlines() if line.startswith("[")]
    assert len(lines) == len(GOOD)
    for k, (line, claim_id) in enumerate(zip(lines, GOOD, strict=True), start=1):
        assert re.fullmatch(rf"\[{k}/{len(GOOD)}\] {re.escape(claim_id)}: (holds|refuted|inconclusive)"
                            r"(, figure \d+\.\d\d s)? \(\d+\.\d\d s, ETA \d+ s\)", line), line
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


@pytest.mark.parametrize("bad", ["fake.library_refuted", "fake.check_raises", "fake.figure_raises"])
def test_exit_status_is_nonzero_for_a_failure_of_the_library(tmp_path, fake_registry, bad):
    assert _run(tmp_path, "--format", "html", "--only", *GOOD, bad) == 1
    summary = json.loads((tmp_path / "results.json").read_text())["summary"]
    assert summary["failing"] == [bad] and summary["exit_status"] == 1


def test_exit_status_rule():
    # The rule itself, on records: refuted as written → 0; refuted otherwise → 1; a check error → 1.
    def record(kind, verdict, error=None):
        return ClaimRecord(id="x", statement="", source="", kind=kind, verdict=verdict, evidence={},
                           seconds=0.0, error=error)

    assert exit_status([record("as-written", "refuted"), record("identity", "holds")]) == 0
    assert exit_status([record("identity", "inconclusive")]) == 0
    for kind in ("identity", "inequality", "empirical"):
        assert exit_status([record(kind, "refuted")]) == 1
    assert exit_status([record("identity", "inconclusive", error="Traceback …")]) == 1


def test_unknown_claim_and_format_are_usage_errors(tmp_path, fake_registry, capsys):
    assert _run(tmp_path, "--only", "no.such.claim") == 2
    assert "no.such.claim" in capsys.readouterr().err
    with pytest.raises(SystemExit) as excinfo:
        _run(tmp_path, "--format", "docx")
    assert excinfo.value.code == 2


def test_only_accepts_commas_and_format_selects_documents(tmp_path, fake_registry):
    assert _run(tmp_path, "--format", "pdf", "--only", "fake.mean_zero,fake.inconclusive") == 0
    claims = json.loads((tmp_path / "results.json").read_text())["claims"]
    assert [c["id"] for c in claims] == ["fake.mean_zero", "fake.inconclusive"]
    assert (tmp_path / "report.pdf").exists() and not (tmp_path / "index.html").exists()


def test_help_documents_the_exit_status(fake_registry, capsys):
    with pytest.raises(SystemExit):
        verify_main(["report", "--help"])
    text = capsys.readouterr().out
    assert "exit status" in text and "as-written" in text
    for option in ("--out", "--format", "--only", "--backend", "--seed", "--quick"):
        assert option in text


def test_default_output_directory_is_reports_in_the_current_directory(tmp_path, fake_registry, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert verify_main(["report", "--quick", "--quiet", "--format", "html", "--only", "fake.inconclusive"]) == 0
    assert (tmp_path / "reports" / "index.html").exists()
    assert (tmp_path / "reports" / "results.json").exists()


def _verdicts_and_evidence(claims: list[Claim], seed: int):
    report = build_report(claims, Context(seed=seed, quick=True), progress=None)
    return [(r.id, r.verdict, json.dumps(r.evidence, sort_keys=True)) for r in report.records]


def test_same_seed_same_verdicts(fake_claims):
    first = _verdicts_and_evidence(fake_claims, 11)
    assert first == _verdicts_and_evidence(fake_claims, 11)
    # and the seed is really used: another seed changes the Monte-Carlo evidence
    assert first != _verdicts_and_evidence(fake_claims, 12)


def test_results_json_follows_the_design_schema(built):
    report, out, _ = built
    text = (out / "results.json").read_text()

    def reject(constant):
        raise AssertionError(f"non-standard JSON constant {constant}")

    data = json.loads(text, parse_constant=reject)
    assert data["summary"]["verdicts"] == report.counts
    assert set(data["environment"]) == {"run", "machine", "packages"}
    assert len(data["claims"]) == len(report.records)
    for claim in data["claims"]:
        assert {"id", "statement", "source", "kind", "verdict", "evidence", "seconds"} <= set(claim)
    by_id = {c["id"]: c for c in data["claims"]}
    assert by_id["fake.unparseable_holds"]["evidence"]["worst_input"] == [1.0, "inf"]
    assert by_id["fake.sigmoid_derivative_as_written"]["corrected"].startswith(r"\sigma'")
    assert "figure_error" in by_id["fake.figure_raises"]
    assert "RuntimeError" in by_id["fake.check_raises"]["error"]


# --- --out is checked before any work ------------------------------------------------------------------


@pytest.fixture
def ran(fake_registry, monkeypatch):
    """The ids of the claims whose check ran."""
    from verify.claims import registry

    calls: list[str] = []
    real = registry.run_claim

    def counting(c, ctx=None):
        calls.append(c.id)
        return real(c, ctx)

    monkeypatch.setattr("verify.report.build.run_claim", counting)
    return calls


def test_an_output_path_that_is_a_file_is_a_usage_error_before_any_claim(tmp_path, ran, capsys):
    target = tmp_path / "report.txt"
    target.write_text("not a directory")
    assert verify_main(["report", "--out", str(target), "--quick"]) == 2
    assert ran == [] and "is a file, not a directory" in capsys.readouterr().err
    assert target.read_text() == "not a directory"
    # a directory below a file cannot be made either
    assert verify_main(["report", "--out", str(target / "sub"), "--quick"]) == 2
    assert ran == []


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs a read-only file system (/proc)")
def test_an_unwritable_output_directory_is_a_usage_error_before_any_claim(ran, capsys):
    # /proc refuses new entries even to root, so this holds where permission bits would not
    assert verify_main(["report", "--out", "/proc/self/verify-report", "--quick"]) == 2
    assert ran == [] and "not a writable directory" in capsys.readouterr().err


def test_an_unwritable_directory_found_by_permissions(tmp_path, ran, capsys):
    if os.geteuid() == 0:
        pytest.skip("root writes through permission bits")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert verify_main(["report", "--out", str(locked), "--quick"]) == 2
    assert ran == []


def test_an_unknown_claim_is_a_usage_error_before_any_claim(tmp_path, ran):
    assert verify_main(["report", "--out", str(tmp_path), "--only", "fake.mean_zero,no.such"]) == 2
    assert ran == []


# --- the previous report survives an interrupted or failed run ---------------------------------------


def _fake_cli(mode: str, *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HERE / "fake_cli.py"), mode, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=HERE, **kwargs)


def _fake_report(mode: str, out: Path, *, timeout: float) -> tuple[int, str]:
    """``report`` of the two quick fake claims into ``out``, the fake CLI in ``mode``: (exit status, stderr)."""
    process = _fake_cli(mode, "report", "--out", str(out), "--quick", "--only", "fake.mean_zero,fake.inconclusive")
    _, err = process.communicate(timeout=timeout)
    return process.returncode, err


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.fixture(scope="module")
def previous_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("previous")
    status, err = _fake_report("plain", out, timeout=300)
    assert status == 0, err
    snapshot = _snapshot(out)
    assert set(snapshot) == {"index.html", "report.pdf", "results.json"}
    return out, snapshot


def test_ctrl_c_during_a_report_ends_quietly_and_keeps_the_previous_report(previous_report):
    out, before = previous_report
    process = _fake_cli("slow", "report", "--out", str(out), "--quick", "--only", "fake.mean_zero,fake.slow")
    lines = []
    for line in process.stderr:  # wait until the slow claim runs
        lines.append(line)
        if "slow claim started" in line:
            break
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    start = time.monotonic()
    _, err = process.communicate(timeout=30)
    assert time.monotonic() - start < 10
    assert process.returncode == 130, err
    assert "Traceback" not in err and "Exception ignored" not in err
    assert "verify: interrupted" in err
    assert _snapshot(out) == before  # nothing half written, nothing left behind


def test_ctrl_c_while_writing_keeps_the_previous_report(previous_report):
    out, before = previous_report
    status, err = _fake_report("interrupt-while-writing", out, timeout=120)
    assert status == 130, err
    assert "Traceback" not in err
    assert _snapshot(out) == before


def test_a_crash_while_writing_is_an_internal_error_and_keeps_the_previous_report(previous_report):
    out, before = previous_report
    status, err = _fake_report("crash-while-writing", out, timeout=120)
    assert status == 3, err
    assert "deliberate bug while writing" in err and "internal error" in err
    assert _snapshot(out) == before
