"""The command line: help, version, unknown commands, and ``python -m verify``."""

import subprocess
import sys
from pathlib import Path

import pytest

from verify import cli


def test_help_lists_every_subcommand(capsys):
    assert cli.main([]) == 2
    out = capsys.readouterr().out
    for name in cli.SUBCOMMANDS:
        assert name in out


def test_python_dash_m_runs_the_same_cli():
    result = subprocess.run([sys.executable, "-m", "verify", "--version"], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.startswith("verify ")


def test_public_api_is_explicit_and_importable():
    import verify

    assert "check_gradient" in verify.__all__
    for name in ("CheckFailure", "use_backend", "Claim", "Outcome", "run_claim"):
        assert getattr(verify, name) is not None
    assert issubclass(verify.CheckFailure, AssertionError)


# --- exit statuses, broken pipes and Ctrl-C, handled once for every subcommand --------------------------

FAKE_CLI = Path(__file__).parent / "report" / "fake_cli.py"


def _fake(mode: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(FAKE_CLI), mode, *args], capture_output=True, text=True,
                          timeout=120, **kwargs)


def test_help_documents_every_exit_status(capsys):
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["--help"])
    assert excinfo.value.code == 0
    text = capsys.readouterr().out
    for status in ("0 ", "1 ", "2 ", "3 ", "130", "141"):
        assert f"\n  {status}" in text, status
    assert len({cli.EXIT_OK, cli.EXIT_FAILED, cli.EXIT_USAGE, cli.EXIT_INTERNAL, cli.EXIT_INTERRUPTED,
                cli.EXIT_BROKEN_PIPE}) == 6
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for status in ("0", "1", "2", "3", "130", "141"):
        assert f"Exit status {status}" in readme, status


def test_a_bug_is_an_internal_error_with_its_traceback():
    result = _fake("crash", "crash")
    assert result.returncode == cli.EXIT_INTERNAL == 3
    assert "RuntimeError: deliberate bug" in result.stderr and "internal error" in result.stderr


def test_a_usage_error_found_late_is_status_2_without_traceback():
    result = _fake("usage", "usage")
    assert result.returncode == cli.EXIT_USAGE == 2
    assert result.stderr.strip() == "verify usage: --thing: not a thing"
    assert subprocess.run([sys.executable, "-m", "verify", "no-such-command"], capture_output=True).returncode == 2


def test_a_closed_pipe_ends_quietly_with_141():
    process = subprocess.Popen([sys.executable, str(FAKE_CLI), "spam", "spam"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert process.stdout.readline() == b"line 0\n"
    process.stdout.close()  # the reader goes away, as `| head -1` does
    err = process.stderr.read().decode()
    assert process.wait(timeout=60) == cli.EXIT_BROKEN_PIPE == 141
    assert err == ""  # no BrokenPipeError traceback, no "Exception ignored"


def test_a_closed_pipe_with_a_real_shell_pipeline():
    result = subprocess.run(f"{sys.executable} {FAKE_CLI} spam spam | head -n 2; echo \"status ${{PIPESTATUS[0]}}\"",
                            shell=True, executable="/bin/bash", capture_output=True, text=True, timeout=60)
    assert result.stdout.splitlines() == ["line 0", "line 1", "status 141"]
    assert result.stderr == ""


def test_ctrl_c_inside_a_gc_callback_is_not_lost():
    # Without the guard, the interrupt raised inside the collector's callback is swallowed ("Exception
    # ignored in: <function … callback>") and the command runs on as if nothing happened...
    unguarded = _fake("gc-interrupt-unguarded", "gc")
    assert unguarded.returncode == 0 and "Exception ignored" in unguarded.stderr
    assert "finished without noticing the interrupt" in unguarded.stderr
    # ...with it, the interrupt is delivered again once the callback is over
    guarded = _fake("gc-interrupt", "gc")
    assert guarded.returncode == cli.EXIT_INTERRUPTED == 130
    assert "finished without noticing" not in guarded.stderr and "Traceback" not in guarded.stderr
    assert guarded.stderr.strip() == "verify: interrupted"


def test_python_dash_m_verify_ends_with_130_even_after_an_interrupt_inside_exec():
    # Under `python -m`, CPython turns a handled KeyboardInterrupt raised inside exec() of a string into
    # death by SIGINT at exit (returncode -2); verify/__main__.py leaves with 130 before that happens.
    here = Path(__file__).parent / "report"
    plain = subprocess.run([sys.executable, "-m", "fake_main", "--plain", "exec-interrupt", "execint"], cwd=here,
                           capture_output=True, text=True, timeout=60)
    assert plain.returncode == -2 and "verify: interrupted" in plain.stderr  # the quirk itself
    fixed = subprocess.run([sys.executable, "-m", "fake_main", "exec-interrupt", "execint"], cwd=here,
                           capture_output=True, text=True, timeout=60)
    assert fixed.returncode == 130 and fixed.stderr.strip() == "verify: interrupted"
