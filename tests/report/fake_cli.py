"""``python fake_cli.py MODE verify-args…``: the real ``verify`` entry point over the fake claims, for the
tests that need a process of their own (signals, exit statuses, broken pipes).

MODE:
- ``plain``: the fake claims that do not fail;
- ``slow``: plus a claim that runs for up to a minute, printing ``slow claim started`` to stderr first;
- ``interrupt-while-writing``: the PDF writer writes half a file, then the process gets SIGINT;
- ``crash-while-writing``: the PDF writer writes half a file, then raises (a bug in verify);
- ``gc-interrupt``: a subcommand that makes garbage for 3 s while a GC callback receives SIGINT once —
  the way Ctrl-C gets lost ("Exception ignored in: <function gc_callback …>");
  ``gc-interrupt-unguarded`` runs the same without :func:`verify.cli.interrupt_guard`.
- ``exec-interrupt``: a subcommand that gets SIGINT while running ``exec`` of a string (as dataclasses,
  namedtuple and SciPy do at import), which CPython remembers at exit under ``python -m``;
- ``spam``: a subcommand that prints 100 000 lines to stdout (for broken pipes);
- ``crash``: a subcommand that raises ``RuntimeError``; ``usage``: one that raises ``UsageError``.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import time
import types

sys.path.insert(0, os.path.dirname(__file__))

from conftest import make_fake_claims  # noqa: E402

from verify import cli  # noqa: E402
from verify.claims import registry  # noqa: E402
from verify.claims.registry import Claim, Outcome  # noqa: E402


def _slow_check(ctx):
    print("slow claim started", file=sys.stderr, flush=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        _ = [object() for _ in range(1000)]  # garbage, so that GC callbacks run now and then
        time.sleep(0.001)
    return Outcome("holds", {"seconds": 60})


def _install_registry(slow: bool) -> None:
    claims = [c for c in make_fake_claims() if c.id not in ("fake.check_raises",)]
    if slow:
        claims.append(Claim(id="fake.slow", title="A slow claim", statement="x = x", source="test",
                            kind="identity", check=_slow_check))
    registry._REGISTRY = {c.id: c for c in claims}
    registry._load_topics = lambda: None


def _half_then(action) -> None:
    from verify.report import pdf

    def write_pdf(report, path):  # replaces the real writer, which `verify report` imports when it runs
        with open(path, "wb") as handle:
            handle.write(b"%PDF-1.4 half a file")
        action()
        raise AssertionError("unreachable")

    pdf.write_pdf = write_pdf


def _interrupt() -> None:
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(5)


def _crash() -> None:
    raise RuntimeError("deliberate bug while writing")


def _subcommand(name: str, run) -> None:
    module = types.ModuleType(f"fake_{name}")
    module.add_arguments = lambda parser: None
    module.run = run
    sys.modules[module.__name__] = module
    cli.SUBCOMMANDS[name] = (module.__name__, "a subcommand of the tests")


def _gc_interrupt(args) -> int:
    fired = []

    def callback(phase, info):
        if phase == "start" and not fired:
            fired.append(True)
            signal.raise_signal(signal.SIGINT)  # Ctrl-C arrives while the collector runs this callback
            for _ in range(1000):  # Python code, so the interrupt is raised here, inside the callback
                pass

    gc.callbacks.append(callback)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        cycle = [[]]
        cycle[0].append(cycle)  # cyclic garbage: the collector runs
        del cycle
    print("finished without noticing the interrupt", file=sys.stderr)
    return 0


def _exec_interrupt(args) -> int:
    exec("import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(5)")
    return 0


def _spam(args) -> int:
    for k in range(100_000):
        print(f"line {k}")
    return 0


def _raise(exc):
    def run(args):
        raise exc

    return run


def setup(mode: str) -> None:
    """Install what ``mode`` needs (fake claims, patched writers, extra subcommands)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in an interactive shell
    if mode in ("plain", "slow", "interrupt-while-writing", "crash-while-writing"):
        _install_registry(slow=mode == "slow")
        if mode == "interrupt-while-writing":
            _half_then(_interrupt)
        elif mode == "crash-while-writing":
            _half_then(_crash)
    elif mode.startswith("gc-interrupt"):
        _subcommand("gc", _gc_interrupt)
        if mode.endswith("unguarded"):
            cli.interrupt_guard = contextlib.nullcontext
    elif mode == "exec-interrupt":
        _subcommand("execint", _exec_interrupt)
    elif mode == "spam":
        _subcommand("spam", _spam)
    elif mode == "crash":
        _subcommand("crash", _raise(RuntimeError("deliberate bug")))
    elif mode == "usage":
        _subcommand("usage", _raise(cli.UsageError("--thing: not a thing")))


def main() -> int:
    mode, argv = sys.argv[1], sys.argv[2:]
    setup(mode)
    return cli.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
