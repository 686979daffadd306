"""Reports: the claims run once, rendered as self-contained HTML, a PDF and ``results.json``.

>>> from verify.claims import all_claims, Context
>>> report = build_report(all_claims(), Context(seed=1))      # doctest: +SKIP
>>> write_html(report, "reports/index.html"); write_pdf(report, "reports/report.pdf")  # doctest: +SKIP

The command ``verify report`` does exactly this (see :mod:`verify.report.command` for its exit status).
Claim authors can draw their figures with the helpers :func:`ulp_error_figure`, :func:`band_figure`
and :func:`log_error_figure`, which use the report's print-readable style.
"""

from verify.report.build import EXIT_FAILED, EXIT_OK, Report, build_report, exit_status, source_errata
from verify.report.environment import collect_environment
from verify.report.evidence import evidence_blocks
from verify.report.figures import (
    REPORT_STYLE,
    RenderedFigure,
    band_figure,
    log_error_figure,
    new_figure,
    render_claim_figure,
    ulp_error_figure,
)
from verify.report.html import render_html, write_html
from verify.report.latex import latex_html, mathtext_lines
from verify.report.pdf import PdfLayout, write_pdf
from verify.report.results import report_json, write_json

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "REPORT_STYLE",
    "RenderedFigure",
    "PdfLayout",
    "Report",
    "band_figure",
    "build_report",
    "collect_environment",
    "evidence_blocks",
    "exit_status",
    "latex_html",
    "log_error_figure",
    "mathtext_lines",
    "new_figure",
    "render_claim_figure",
    "render_html",
    "report_json",
    "source_errata",
    "ulp_error_figure",
    "write_html",
    "write_json",
    "write_pdf",
]
