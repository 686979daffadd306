"""``verify report``: run the claims and write ``index.html``, ``report.pdf`` and ``results.json``.

Usage::

    verify report [--out DIR] [--format html,pdf] [--only ID ...] [--backend NAME] [--seed N] [--quick]
                  [--claims FILE_OR_MODULE ...] [--builtin]

Writes into ``DIR`` (default ``reports/`` in the current directory): ``index.html`` (self-contained:
inline SVG, no network), ``report.pdf`` and always ``results.json`` (the claim records). ``DIR`` and the
claim ids are checked before any claim runs. Each file is written beside its final name and moved into
place only when all of them are complete, so an interrupted or failed run leaves the previous report
as it was. Progress goes to stderr: a bar with an ETA on a terminal, one line per claim elsewhere.

Exit status (those of :mod:`verify.cli`):
  0  every claim holds or is inconclusive, except formulas of the source material as written
     (kind "as-written"), whose refutation is a reported finding about the notes, not a failure;
  1  a claim that is not an as-written formula is refuted, or a claim's check or figure raised;
  2  bad usage: an unknown claim id or format, an --out that is not a writable directory;
  3  internal error; 130 interrupted (the previous report is left intact).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator

from verify.claims.registry import Context
from verify.cli import UsageError

__all__ = ["FORMATS", "add_arguments", "main", "publish", "run"]

FORMATS: tuple[str, ...] = ("html", "pdf")

_EPILOG = """\
exit status:
  0    no claim is refuted except formulas of the source material as written (kind "as-written":
       their refutation is a finding about the notes, shown in the report, not a failure)
  1    a claim that is not an as-written formula is refuted, or a check or a figure raised
  2    usage error: unknown claim id or format, --out not a writable directory (checked first)
  3    internal error (a bug in verify)
  130  interrupted: the previous report in --out is left as it was
results.json is always written; --format chooses the documents beside it.
"""


def _formats(text: str) -> list[str]:
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"--format: choose from {','.join(FORMATS)}; got {text!r}")
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from verify.kernels._backend import BACKENDS

    default = Context()
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _EPILOG
    parser.add_argument("--out", default="reports", metavar="DIR",
                        help="output directory, created if missing (default: reports/ in the current directory)")
    parser.add_argument("--format", type=_formats, default=list(FORMATS), metavar="html,pdf",
                        help="documents to write besides results.json (default: html,pdf)")
    parser.add_argument("--only", nargs="+", action="extend", metavar="ID",
                        help="run only these claims (ids; may be repeated or comma-separated)")
    parser.add_argument("--backend", choices=BACKENDS, default=default.backend,
                        help=f"kernel backend the claims run on (default: {default.backend})")
    parser.add_argument("--seed", type=int, default=default.seed,
                        help=f"seed of every random draw; the same seed gives the same verdicts (default: {default.seed})")
    parser.add_argument("--quick", action="store_true",
                        help="smallest sample sizes that still give calibrated verdicts (CI, smoke tests)")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    from verify.claims.command import add_claims_argument

    add_claims_argument(parser)


def _selected_ids(only: list[str] | None) -> list[str] | None:
    if not only:
        return None
    return [i.strip() for item in only for i in item.split(",") if i.strip()]


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Ctrl-C inside the block takes effect at its end (the few renames that publish a report)."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) in (
            signal.SIG_IGN, None):
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


def publish(directory: str, writers: list[tuple[str, Callable[[str], object]]],
            progress=None) -> list[str]:
    """Write every ``(name, write(path))`` beside its final name, then move them all into ``directory``.

    Until every file is complete, the previous files in ``directory`` are untouched; the moves happen
    with Ctrl-C deferred. On any error the partial files are removed. Returns the final paths.
    """
    staged: list[tuple[str, str]] = []
    try:
        for name, write in writers:
            final = os.path.join(directory, name)
            partial = os.path.join(directory, f".{name}.partial-{os.getpid()}")
            start = time.perf_counter()
            staged.append((partial, final))  # removed below if anything fails, even while half written
            write(partial)
            if progress is not None:
                progress(f"wrote {name} ({time.perf_counter() - start:.1f} s)")
        with _sigint_deferred():
            for partial, final in staged:
                os.replace(partial, final)
            staged.clear()
    finally:
        for partial, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(partial)
    return [os.path.join(directory, name) for name, _ in writers]


def run(args: argparse.Namespace) -> int:
    """Check the arguments, run the claims, write the report, print its paths; returns the exit status."""
    from verify.claims.command import select_claims
    from verify.report.files import OutputDirError, check_output_dir

    try:
        out = check_output_dir(args.out)
    except OutputDirError as exc:
        raise UsageError(str(exc)) from None
    try:
        claims = select_claims(_selected_ids(args.only), args.claims, args.builtin)
    except ValueError as exc:
        raise UsageError(str(exc)) from None

    import matplotlib

    matplotlib.use("Agg")  # a report never opens a window, with or without a display
    from verify.report.build import build_report
    from verify.report.html import write_html
    from verify.report.pdf import write_pdf
    from verify.report.results import write_json

    if not claims:
        print("verify report: no claims are registered", file=sys.stderr)
    quiet = args.quiet
    ctx = Context(seed=args.seed, backend=args.backend, quick=args.quick)
    report = build_report(claims, ctx, progress=None if quiet else sys.stderr)
    documents = {"html": ("index.html", write_html), "pdf": ("report.pdf", write_pdf)}
    writers = [("results.json", lambda path: write_json(report, path))]
    writers += [(documents[fmt][0], lambda path, w=documents[fmt][1]: w(report, path))
                for fmt in FORMATS if fmt in args.format]
    say = None if quiet else (lambda message: print(message, file=sys.stderr, flush=True))
    if say is not None:
        say(f"writing {', '.join(name for name, _ in writers)} into {out} …")
    for path in publish(out, writers, say):
        print(path)
    failing = report.summary()["failing"]
    if failing and not quiet:
        print(f"exit status {report.status}: failing claims: {', '.join(failing)}", file=sys.stderr)
    return report.status


def main(argv: list[str] | None = None) -> int:
    """``python -m verify.report.command`` — the same as ``verify report``."""
    from verify.cli import main as cli_main

    return cli_main(["report", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
