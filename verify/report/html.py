"""``index.html``: one self-contained page — inline CSS, inline SVG, no script, no network.

Sections: summary (verdict counts, run time, exit status), environment, the formulas of the source
material found wrong (as written beside the corrected form and the counterexample), then one section
per claim grouped by topic: statement (mathtext rendered to SVG, or its LaTeX source when mathtext
cannot parse it), source, kind, verdict, evidence, figure. The only links are to anchors in the page.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from html import escape

from verify.claims.registry import ClaimRecord
from verify.report.build import Report
from verify.report.figures import RenderedFigure
from verify.report.format import RecordTable, evidence_rows, flatten, format_seconds
from verify.report.latex import latex_html

__all__ = ["render_html", "write_html", "anchor"]

_CSS = """
:root { --holds: #1b7f3b; --refuted: #b3261e; --inconclusive: #8a6d00; --ink: #1d1d1f; --muted: #5f6368;
        --rule: #d9dce1; --panel: #f6f7f9; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif;
       color: var(--ink); margin: 0 auto; max-width: 1160px; padding: 24px 32px 64px; line-height: 1.45; }
h1 { font-size: 1.9rem; margin: 0 0 4px; }
h2 { font-size: 1.4rem; border-bottom: 2px solid var(--rule); padding-bottom: 4px; margin-top: 40px; }
h3 { font-size: 1.15rem; margin: 0 0 6px; }
code, pre, .mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.88em; }
pre { background: var(--panel); padding: 10px 12px; overflow-x: auto; white-space: pre-wrap;
      border-radius: 4px; }
.subtitle { color: var(--muted); margin: 0 0 16px; }
table { border-collapse: collapse; margin: 8px 0 12px; }
th, td { text-align: left; vertical-align: top; padding: 4px 12px 4px 0; border-bottom: 1px solid var(--rule); }
th { color: var(--muted); font-weight: 600; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 10px; color: #fff; font-size: 0.82rem;
         font-weight: 600; vertical-align: middle; }
.badge.holds { background: var(--holds); } .badge.refuted { background: var(--refuted); }
.badge.inconclusive { background: var(--inconclusive); } .badge.error { background: #444; }
.badge.finding { background: #fff; color: var(--refuted); border: 1px solid var(--refuted); }
.claim { border: 1px solid var(--rule); border-left: 6px solid var(--rule); border-radius: 6px;
         padding: 14px 18px; margin: 18px 0; break-inside: avoid; }
.claim.holds { border-left-color: var(--holds); } .claim.refuted { border-left-color: var(--refuted); }
.claim.inconclusive { border-left-color: var(--inconclusive); }
.claim .meta { color: var(--muted); font-size: 0.9rem; margin-bottom: 8px; }
.statement { margin: 8px 0 10px; overflow-x: auto; }
.math-line { display: block; margin: 2px 0; }
svg { max-width: 100%; height: auto; }
.math-inline svg { vertical-align: baseline; max-width: none; }
.math-line svg { max-width: none; }
.math { display: inline; }
.records { overflow-x: auto; max-width: 100%; }
.records table { font-size: 0.85rem; margin: 2px 0 6px; }
.records th { font-weight: 600; }
.records td, .records th { padding: 2px 10px 2px 0; white-space: nowrap; font-variant-numeric: tabular-nums; }
.records-key { color: var(--muted); font-weight: 600; margin-top: 8px; }
table.evidence { margin: 4px 0; }
.more { color: var(--muted); font-size: 0.85rem; margin: 0; }
.erratum { border: 1px solid var(--rule); border-radius: 6px; padding: 12px 16px; margin: 14px 0; }
.erratum .pair { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; margin: 8px 0; }
.erratum .as-written { background: #fbeceb; padding: 8px 10px; border-radius: 4px; overflow-x: auto; }
.erratum .corrected { background: #e9f5ec; padding: 8px 10px; border-radius: 4px; overflow-x: auto; }
.label { font-weight: 600; color: var(--muted); font-size: 0.85rem; text-transform: uppercase;
         letter-spacing: 0.03em; margin-bottom: 4px; }
.statement { font-size: 1.05rem; }
figure { margin: 12px 0 0; text-align: center; }
figure svg { max-width: 100%; height: auto; }
figure pre, figure.missing { text-align: left; }
h2.topic { font-size: 1.2rem; text-transform: capitalize; border-bottom: 1px solid var(--rule); margin-top: 28px; }
figcaption { color: var(--muted); font-size: 0.85rem; }
.error { border-left: 4px solid var(--refuted); }
.verdict-line { margin: 6px 0; }
nav ol { columns: 2; font-size: 0.92rem; padding-left: 20px; }
nav a, .errata a { color: inherit; }
.counts td { font-size: 1.05rem; }
@media print { body { max-width: none; padding: 0; } .claim { page-break-inside: avoid; }
               h2 { page-break-after: avoid; } }
"""

_SLUG = re.compile(r"[^A-Za-z0-9_.-]+")


def anchor(claim_id: str) -> str:
    """The element id of a claim's section (``#claim-<id>``)."""
    return "claim-" + _SLUG.sub("-", claim_id)


def _badge(verdict: str, extra: str = "") -> str:
    return f'<span class="badge {escape(verdict)}{extra}">{escape(verdict)}</span>'


def _math(latex: str | None, prefix: str = "") -> str:
    """Text stays text, formulas become SVG; what mathtext cannot parse is shown as LaTeX source."""
    if not latex:
        return ""
    return f'<span class="math" title="{escape(latex)}">{latex_html(latex)}</span>'


def _table(rows: Iterable[tuple[str, str]], cls: str = "") -> str:
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="{cls}">{body}</table>' if body else ""


def _record_table(table: RecordTable) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>" for row in table.rows)
    more = (f'<p class="more">… {table.more} more rows in results.json</p>' if table.more else "")
    return f'<div class="records"><table><tr>{head}</tr>{body}</table></div>{more}'


def _evidence(mapping) -> str:
    """Scalars as key/value rows; a list of records as its own table (scrolling sideways if wide)."""
    parts, rows = [], []

    def flush() -> None:
        if rows:
            parts.append(f'<table class="evidence">{"".join(rows)}</table>')
            rows.clear()

    for key, value in evidence_rows(mapping):
        if isinstance(value, RecordTable):
            flush()
            parts.append(f'<div class="records-key">{escape(key)}</div>{_record_table(value)}')
        else:
            rows.append(f"<tr><th>{escape(key)}</th><td>{escape(value)}</td></tr>")
    flush()
    return "".join(parts)


def _summary(report: Report) -> str:
    counts = "".join(
        f'<tr><th>{_badge(v)}</th><td class="num">{n}</td></tr>' for v, n in report.counts.items()
    )
    failing = report.summary()["failing"]
    status = (
        f"<p><strong>Exit status {report.status}</strong>: "
        + ("no claim of the library is refuted and nothing raised.</p>" if not failing else
           "failing: " + ", ".join(f'<a href="#{anchor(i)}">{escape(i)}</a>' for i in failing) + ".</p>")
    )
    return (
        '<section id="summary"><h2>Summary</h2>'
        f'<table class="counts">{counts}<tr><th>claims</th><td class="num">{len(report.records)}</td></tr>'
        f'<tr><th>source formulas found wrong</th><td class="num">{len(report.errata)}</td></tr></table>'
        f"<p>Run time {format_seconds(report.seconds)} "
        f"(checks {format_seconds(report.claims_seconds)}, the rest figures and environment); "
        f"started {escape(report.started)}.</p>{status}</section>"
    )


def _environment(report: Report) -> str:
    parts = ['<section id="environment"><h2>Environment</h2>']
    for group, values in report.environment.items():
        parts.append(f"<h3>{escape(group)}</h3>{_table(flatten(values))}")
    parts.append("</section>")
    return "".join(parts)


def _counterexample(record: ClaimRecord) -> str:
    return _evidence(record.counterexample) or "—"


def _errata(report: Report) -> str:
    records = report.errata
    head = '<section id="errata" class="errata"><h2>Formulas of the source material found wrong</h2>'
    if not records:
        return head + "<p>None: every formula of the source material that was checked as written holds.</p></section>"
    cards = []
    for k, r in enumerate(records):
        corrected = _math(r.corrected, f"ec{k}") if r.corrected else "<em>no corrected form given</em>"
        cards.append(
            f'<div class="erratum"><h3><a href="#{anchor(r.id)}">{escape(r.title or r.id)}</a></h3>'
            f'<div class="meta">{escape(r.source)}</div><div class="pair">'
            f'<div class="as-written"><div class="label">As written</div>{_math(r.statement, f"ea{k}")}</div>'
            f'<div class="corrected"><div class="label">Corrected</div>{corrected}</div></div>'
            f'<div class="label">Counterexample</div>{_counterexample(r)}</div>'
        )
    return (
        head + f"<p>{len(records)} formula(s) as written in the notes are refuted; each is shown beside the "
        "corrected form that holds and the counterexample that refutes it.</p>" + "".join(cards) + "</section>"
    )


def _figure(record: ClaimRecord, figure: RenderedFigure | None) -> str:
    if figure is None:
        return ""
    if figure.error is not None:
        return ('<figure class="missing"><p><strong>The figure raised</strong></p>'
                f'<pre class="error">{escape(figure.error)}</pre></figure>')
    if figure.svg is None:
        return ""
    return (f'<figure class="claim-figure">{figure.svg}'
            f"<figcaption>Figure for {escape(record.id)}</figcaption></figure>")


def _claim(record: ClaimRecord, figure: RenderedFigure | None, k: int) -> str:
    finding = record.kind == "as-written" and record.verdict == "refuted"
    badges = _badge(record.verdict)
    if finding:
        badges += ' <span class="badge finding">error in the source material</span>'
    if record.error is not None:
        badges += ' <span class="badge error">check raised</span>'
    parts = [
        f'<article class="claim {escape(record.verdict)}" id="{anchor(record.id)}">',
        f"<h3>{escape(record.title or record.id)} {badges}</h3>",
        f'<div class="meta"><span class="mono">{escape(record.id)}</span> · {escape(record.kind)} · '
        f"{escape(record.source)} · {format_seconds(record.seconds)}</div>",
        f'<div class="statement">{_math(record.statement, f"s{k}")}</div>',
    ]
    if record.why:
        parts.append(f'<p class="verdict-line"><strong>Why inconclusive:</strong> {escape(record.why)}</p>')
    if record.counterexample:
        parts.append(f"<p class='verdict-line'><strong>Counterexample</strong></p>{_counterexample(record)}")
    if record.corrected:
        parts.append(f"<p class='verdict-line'><strong>Corrected form</strong></p>"
                     f'<div class="statement">{_math(record.corrected, f"c{k}")}</div>')
    if record.evidence:
        parts.append(f"<p class='verdict-line'><strong>Evidence</strong></p>{_evidence(record.evidence)}")
    if record.error is not None:
        parts.append(f'<p><strong>The check raised</strong></p><pre class="error">{escape(record.error)}</pre>')
    parts.append(_figure(record, figure))
    parts.append("</article>")
    return "".join(parts)


def _contents(report: Report, topics: dict[str, list[ClaimRecord]]) -> str:
    items = "".join(
        f'<li><a href="#{anchor(r.id)}">{escape(r.title or r.id)}</a> {_badge(r.verdict)}</li>'
        for records in topics.values() for r in records
    )
    return (
        '<nav><h2>Contents</h2><p><a href="#summary">Summary</a> · <a href="#environment">Environment</a> · '
        f'<a href="#errata">Formulas of the source material found wrong</a> · <a href="#claims">Claims</a></p>'
        f"<ol>{items}</ol></nav>"
    )


def render_html(report: Report) -> str:
    """The whole page as a string (UTF-8, no external reference)."""
    topics: dict[str, list[ClaimRecord]] = {}
    for r in report.records:
        topics.setdefault(r.topic, []).append(r)
    claims = ['<section id="claims"><h2>Claims</h2>']
    k = 0
    for topic, records in topics.items():
        claims.append(f'<h2 class="topic">{escape(topic.replace("_", " "))}</h2>')
        for r in records:
            claims.append(_claim(r, report.figures.get(r.id), k))
            k += 1
    claims.append("</section>")
    run = report.environment.get("run", {})
    subtitle = (f"{len(report.records)} claims · seed {run.get('seed')} · backend {run.get('backend')}"
                f"{' · quick' if run.get('quick') else ''} · {escape(report.started)}")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>verify — report on the claims of the source material</title>"
        f"<style>{_CSS}</style></head><body>"
        "<header><h1>verify — report on the claims of the source material</h1>"
        f'<p class="subtitle">{escape(subtitle)}</p></header>'
        + _contents(report, topics) + _summary(report) + _environment(report) + _errata(report)
        + "".join(claims) + "</body></html>\n"
    )


def write_html(report: Report, path: str | os.PathLike[str]) -> str:
    """Write ``index.html`` to ``path``; returns the path written."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(render_html(report))
    return os.fspath(path)
