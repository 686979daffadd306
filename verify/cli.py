"""The ``verify`` command line (also ``python -m verify``).

Subcommands live in their own modules; each module provides ``add_arguments(parser)`` and
``run(args) -> int`` (the exit status). They are imported only when used, so ``verify --help`` is fast.

- ``verify selfcheck``: every kernel on every CPU backend against its SymPy reference;
- ``verify claims``: run the claim catalogue (``--only ID``, ``--json``);
- ``verify report``: run the claims and write ``reports/index.html`` and ``reports/report.pdf``;
- ``verify bench``: performance as ratios against NumPy, torch and the machine's limits.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["main", "SUBCOMMANDS"]

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "selfcheck": ("verify.checks.selfcheck", "check every kernel on every CPU backend against SymPy"),
    "claims": ("verify.claims.command", "run the claim catalogue of the source material"),
    "report": ("verify.report.command", "run the claims and write the HTML and PDF report"),
    "bench": ("verify.bench.command", "benchmark the kernels against NumPy, torch and the machine"),
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("verify")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def build_parser(argv: Sequence[str]) -> tuple[argparse.ArgumentParser, dict[str, object]]:
    parser = argparse.ArgumentParser(
        prog="verify", description="Prove deep-learning math right or wrong: kernels, checkers, claims, reports."
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
        modules[name] = module
    return parser, modules


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, modules = build_parser(argv)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    module = modules.get(args.command)
    if module is None:
        print(f"verify {args.command}: not available in this build", file=sys.stderr)
        return 2
    return int(module.run(args) or 0)
