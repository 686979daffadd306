"""Running the claims for a report: records, figures, environment, summary and exit status.

:func:`build_report` runs each claim once (``verify.claims.run_claim``), shows progress on a stream
(a bar with an ETA on a terminal, else one line per claim: ``[k/n] claim-id: verdict (s, ETA s)``, see
:mod:`verify._progress`), draws each claim's figure once, and returns a :class:`Report` that the HTML,
PDF and JSON writers only read.

Exit status (:func:`exit_status`), for CI (the statuses of :mod:`verify.cli`):

- ``0``: no claim is refuted except formulas of the source material as written (kind ``"as-written"``,
  whose refutation is a finding about the notes, not a failure of the library), and nothing raised;
- ``1``: some claim that is not an as-written formula is refuted, or a check or a figure raised.
"""

from __future__ import annotations

import dataclasses
import datetime
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any, TextIO

from verify._progress import Progress
from verify.claims.registry import VERDICTS, Claim, ClaimRecord, Context, run_claim
from verify.cli import EXIT_FAILED, EXIT_OK
from verify.report.environment import collect_environment
from verify.report.figures import RenderedFigure, render_claim_figure
from verify.report.format import format_seconds

__all__ = [
    "EXIT_OK",
    "EXIT_FAILED",
    "Report",
    "build_report",
    "exit_status",
    "failing_records",
    "source_errata",
]

@dataclasses.dataclass
class Report:
    """Everything a report shows, computed once: records, figures, environment and timings."""

    records: list[ClaimRecord]
    figures: dict[str, RenderedFigure]
    environment: dict[str, Any]
    started: str
    seconds: float

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(r.verdict for r in self.records)
        return {verdict: counted.get(verdict, 0) for verdict in VERDICTS}

    @property
    def errata(self) -> list[ClaimRecord]:
        return source_errata(self.records)

    @property
    def status(self) -> int:
        return exit_status(self.records, self.figures)

    @property
    def claims_seconds(self) -> float:
        return sum(r.seconds for r in self.records)

    def summary(self) -> dict[str, Any]:
        return {
            "claims": len(self.records),
            "verdicts": self.counts,
            "source_formulas_found_wrong": len(self.errata),
            "failing": [r.id for r in failing_records(self.records, self.figures)],
            "exit_status": self.status,
            "started": self.started,
            "seconds": round(self.seconds, 3),
            "claims_seconds": round(self.claims_seconds, 3),
        }


def source_errata(records: Sequence[ClaimRecord]) -> list[ClaimRecord]:
    """The formulas of the source material found wrong: kind ``"as-written"``, verdict ``"refuted"``."""
    return [r for r in records if r.kind == "as-written" and r.verdict == "refuted"]


def failing_records(
    records: Sequence[ClaimRecord], figures: dict[str, RenderedFigure] | None = None
) -> list[ClaimRecord]:
    """Records that make the exit status non-zero: refuted (not as-written), or a check/figure raised."""
    figures = figures or {}
    return [
        r for r in records
        if (r.verdict == "refuted" and r.kind != "as-written")
        or r.error is not None
        or (r.id in figures and figures[r.id].error is not None)
    ]


def exit_status(records: Sequence[ClaimRecord], figures: dict[str, RenderedFigure] | None = None) -> int:
    """``1`` if any record fails (see :func:`failing_records`), else ``0``."""
    return EXIT_FAILED if failing_records(records, figures) else EXIT_OK


def _outcome(record: ClaimRecord, figure: RenderedFigure, figure_seconds: float) -> str:
    notes = [record.verdict]
    if figure.present:
        notes.append(f"figure {figure_seconds:.2f} s")
    if record.error is not None:
        notes.append("the check raised")
    if figure.error is not None:
        notes.append("the figure raised")
    return ", ".join(notes)


def build_report(
    claims: Sequence[Claim], ctx: Context | None = None, *, progress: TextIO | None = sys.stderr
) -> Report:
    """Run ``claims`` under ``ctx`` and draw their figures; progress goes to ``progress`` (None: quiet)."""
    ctx = ctx or Context()
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    start = time.perf_counter()
    records: list[ClaimRecord] = []
    figures: dict[str, RenderedFigure] = {}
    with Progress(len(claims), "claims", stream=progress, enabled=progress is not None) as bar:
        for k, c in enumerate(claims, start=1):
            bar.start(c.id)
            record = run_claim(c, ctx)
            drawing = time.perf_counter()
            if record.error is None:
                figures[c.id] = render_claim_figure(c.figure, record.outcome, prefix=f"fig{k}")
            else:
                figures[c.id] = RenderedFigure()  # no outcome to draw: the check's error is shown instead
            records.append(record)
            bar.done(c.id, _outcome(record, figures[c.id], time.perf_counter() - drawing))
        environment = collect_environment(backend=ctx.backend, seed=ctx.seed, quick=ctx.quick)
        report = Report(records, figures, environment, started, time.perf_counter() - start)
        counts = ", ".join(f"{v} {k}" for k, v in report.counts.items())
        bar.note(f"{len(claims)} claims in {format_seconds(report.seconds)}: {counts}")
    return report
