"""``verify report``: run the claims and write ``index.html``, ``report.pdf`` and ``results.json``.

Usage::

    verify report [--out DIR] [--format html,pdf] [--only ID ...] [--backend NAME] [--seed N] [--quick]
                  [--claims FILE_OR_MODULE ...] [--builtin]

Writes into ``DIR`` (default ``reports/`` in the current directory): ``index.html`` (self-contained:
inline SVG, no network), ``report.pdf`` and always ``results.json`` (the claim records). Progress goes
to stderr, one line per claim: ``[k/n] claim-id … verdict (seconds)``.

Exit status:
  0  every claim holds or is inconclusive, except formulas of the source material as written
     (kind "as-written"), whose refutation is a reported finding about the notes, not a failure;
  1  a claim that is not an as-written formula is refuted, or a claim's check or figure raised;
  2  bad usage (an unknown claim id or format).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from verify.claims.registry import Context

__all__ = ["FORMATS", "add_arguments", "run", "main"]

FORMATS: tuple[str, ...] = ("html", "pdf")

_EPILOG = """\
exit status:
  0  no claim is refuted except formulas of the source material as written (kind "as-written":
     their refutation is a finding about the notes, shown in the report, not a failure)
  1  a claim that is not an as-written formula is refuted, or a check or a figure raised
  2  bad usage (unknown claim id or format)
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


def run(args: argparse.Namespace) -> int:
    """Run the claims, write the report, print where it is; returns the exit status (see module docstring)."""
    import matplotlib

    matplotlib.use("Agg")  # a report never opens a window, with or without a display
    from verify.claims.command import select_claims
    from verify.report.build import build_report
    from verify.report.html import write_html
    from verify.report.pdf import write_pdf
    from verify.report.results import write_json

    try:
        claims = select_claims(_selected_ids(args.only), args.claims, args.builtin)
    except ValueError as exc:
        print(f"verify report: {exc}", file=sys.stderr)
        return 2
    if not claims:
        print("verify report: no claims are registered", file=sys.stderr)
    progress = None if args.quiet else sys.stderr
    ctx = Context(seed=args.seed, backend=args.backend, quick=args.quick)
    report = build_report(claims, ctx, progress=progress)
    os.makedirs(args.out, exist_ok=True)
    writers = [("results.json", write_json)]
    writers += [(name, writer) for fmt, name, writer in (("html", "index.html", write_html),
                                                         ("pdf", "report.pdf", write_pdf)) if fmt in args.format]
    for name, writer in writers:
        path = os.path.join(args.out, name)
        start = time.perf_counter()
        writer(report, path)
        if progress is not None:
            print(f"wrote {path} ({time.perf_counter() - start:.1f} s)", file=progress, flush=True)
        print(path)
    failing = report.summary()["failing"]
    if failing and progress is not None:
        print(f"exit status {report.status}: failing claims: {', '.join(failing)}", file=sys.stderr)
    return report.status


def main(argv: list[str] | None = None) -> int:
    """``python -m verify.report.command`` — the same as ``verify report``."""
    parser = argparse.ArgumentParser(prog="verify report", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
