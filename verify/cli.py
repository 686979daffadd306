"""The ``verify`` command line (also ``python -m verify``).

Subcommands live in their own modules; each module provides ``add_arguments(parser)`` and
``run(args) -> int`` (the exit status). They are imported only when used, so ``verify --help`` is fast.

- ``verify selfcheck``: every kernel on every CPU backend against its SymPy reference;
- ``verify claims``: run the claim catalogue (``--only ID``, ``--json``);
- ``verify report``: run the claims and write ``reports/index.html`` and ``reports/report.pdf``;
- ``verify bench``: performance as ratios against NumPy, torch and the machine's limits.

Exit statuses, the same for every subcommand (:func:`main` handles the last four once, for all):

====  ===========================================================================================
0     nothing failed
1     a claim refuted (other than a formula of the notes as written, which is a reported finding),
      a check or figure that raised, a kernel that failed its self-check
2     usage error: a bad option or argument (an unknown claim id, an unusable ``--out``)
3     internal error: an unexpected exception, a bug in verify (the traceback is printed)
130   interrupted (Ctrl-C, SIGINT); files being written are left as they were
141   the reader of the output went away (a broken pipe: ``verify claims --json | head``)
====  ===========================================================================================
"""

from __future__ import annotations

import _thread
import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_FAILED",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "SUBCOMMANDS",
    "UsageError",
    "interrupt_guard",
    "main",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130
EXIT_BROKEN_PIPE = 128 + 13  # 141, SIGPIPE (signal.SIGPIPE does not exist on Windows)

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "selfcheck": ("verify.checks.selfcheck", "check every kernel on every CPU backend against SymPy"),
    "claims": ("verify.claims.command", "run the claim catalogue of the source material"),
    "report": ("verify.report.command", "run the claims and write the HTML and PDF report"),
    "bench": ("verify.bench.command", "benchmark the kernels against NumPy, torch and the machine"),
}

_EPILOG = """\
exit status (every command):
  0    nothing failed
  1    a claim is refuted (other than a formula of the notes as written: that is a
       reported finding), a check or a figure raised, or a kernel failed its self-check
  2    usage error (bad option, unknown claim id, unusable --out directory)
  3    internal error: a bug in verify (the traceback is printed)
  130  interrupted (Ctrl-C); files being written are left as they were
  141  broken pipe: the reader of the output went away (verify claims --json | head)
"""


class UsageError(Exception):
    """A bad argument found after parsing (an unknown claim id, an unusable directory): exit status 2."""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("verify")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def build_parser(argv: Sequence[str]) -> tuple[argparse.ArgumentParser, dict[str, object]]:
    parser = argparse.ArgumentParser(
        prog="verify", description="Prove deep-learning math right or wrong: kernels, checkers, claims, reports.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"verify {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules: dict[str, object] = {}
    wanted = next((a for a in argv if not a.startswith("-")), None)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        if name != wanted:
            continue  # only the chosen subcommand's module is imported
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.add_arguments(sp)
        if not sp.epilog:
            sp.formatter_class = argparse.RawDescriptionHelpFormatter
            sp.epilog = _EPILOG
        modules[name] = module
    return parser, modules


# --- Ctrl-C that is never lost ------------------------------------------------------------------------
#
# Python raises KeyboardInterrupt in whatever Python code runs when the signal is handled. If that is a
# garbage-collector callback (Hypothesis registers one to time its own GC), a __del__ method or a weakref
# callback, the exception cannot propagate: CPython reports it as "Exception ignored in: <function
# gc_callback …>" and carries on, and the Ctrl-C is lost. The guard below notices such a swallowed
# KeyboardInterrupt and delivers the interrupt again, from a helper thread, once that callback is over.


#: How long after a swallowed interrupt it is delivered again: enough for the callback to be over.
REDELIVERY_DELAY = 0.05


@contextlib.contextmanager
def interrupt_guard() -> Iterator[None]:
    """Within the block, a KeyboardInterrupt swallowed as "unraisable" is raised again in the main thread."""
    previous = sys.unraisablehook
    timers: list[threading.Timer] = []

    def hook(unraisable) -> None:
        if not (isinstance(unraisable.exc_type, type) and issubclass(unraisable.exc_type, KeyboardInterrupt)):
            previous(unraisable)
            return
        if not any(t.is_alive() for t in timers):  # one redelivery at a time
            timer = threading.Timer(REDELIVERY_DELAY, _thread.interrupt_main, args=(signal.SIGINT,))
            timer.daemon = True
            timer.name = "verify-redeliver-sigint"
            timers.append(timer)
            timer.start()

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous
        for timer in timers:
            timer.cancel()


def _silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _say(message: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(message, file=sys.stderr, flush=True)


def _dispatch(argv: list[str]) -> int:
    parser, modules = build_parser(argv)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    module = modules.get(args.command)
    if module is None:
        _say(f"verify {args.command}: not available in this build")
        return EXIT_USAGE
    try:
        return int(module.run(args) or 0)
    except UsageError as exc:
        _say(f"verify {args.command}: {exc}")
        return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status (module docstring)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        with interrupt_guard():
            status = _dispatch(argv)
            sys.stdout.flush()  # here, not at exit, so that a reader gone away is seen as a broken pipe
        return status
    except KeyboardInterrupt:
        previous = None
        with contextlib.suppress(ValueError):  # a second Ctrl-C must not interrupt the goodbye
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        _say("verify: interrupted")
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except Exception:  # noqa: BLE001 - the last resort: a bug, reported as one
        _say("".join(traceback.format_exc()).rstrip())
        _say("verify: internal error (a bug in verify; please report it with the traceback above)")
        return EXIT_INTERNAL
