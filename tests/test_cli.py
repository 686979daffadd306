"""The command line: help, version, unknown commands, and ``python -m verify``."""

import subprocess
import sys

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
