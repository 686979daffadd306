"""What a reader sees, once for both documents: titles, topics, the summary in words, and each claim's
evidence as tables. :mod:`verify.report.html` and :mod:`verify.report.pdf` only lay this out.

Topic headings come from ``verify.claims.TOPIC_TITLES`` where the claims define one, else from
:data:`TOPIC_TITLES`, else the topic id exactly as written: nothing is re-capitalised.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

from verify.claims.registry import ClaimRecord
from verify.report.build import Report, failing_records
from verify.report.evidence import Block, Fields, evidence_blocks, label
from verify.report.figures import RenderedFigure
from verify.report.format import format_seconds

__all__ = ["KIND_LABELS", "TITLE", "TOPIC_TITLES", "ClaimView", "View", "anchor", "topic_title", "view"]

TITLE = "verify — the claims of the lecture notes, checked"

#: Headings of the claims' topics, as a person writes them.
TOPIC_TITLES: dict[str, str] = {
    "information": "Entropy, cross-entropy and the KL divergence",
    "step_size": "Step sizes of gradient descent",
    "momentum": "Momentum",
    "bias_variance": "The bias–variance decomposition",
    "sgd": "Stochastic gradient descent",
    "adaptive": "Adaptive step sizes: AdaGrad, RMSProp and Adam",
    "softmax": "Softmax and the sigmoid",
    "losses": "Loss functions",
    "linear": "Linear models",
    "backprop": "The chain rule and backpropagation",
    "approximation": "Universal approximation",
    "general": "Other claims",
}

KIND_LABELS: dict[str, str] = {
    "identity": "identity",
    "inequality": "inequality",
    "empirical": "empirical claim",
    "as-written": "formula as written in the notes",
}

_SLUG = re.compile(r"[^A-Za-z0-9_.-]+")


def anchor(claim_id: str, prefix: str = "claim") -> str:
    """The element id of a claim's section (``claim-<id>``), or of its erratum (``prefix="erratum"``)."""
    return f"{prefix}-" + _SLUG.sub("-", claim_id)


def topic_title(topic: str) -> str:
    """The heading of ``topic``: the claims' own (``verify.claims.topic_title``) where it knows one."""
    try:
        from verify.claims import TOPIC_TITLES as from_claims  # the claims' own headings, where given
    except ImportError:
        from_claims = {}
    return from_claims.get(topic) or TOPIC_TITLES.get(topic) or topic


_RELATIONS = {"=": "=", "<=": "≤", ">=": "≥", "<": "<", ">": ">", "≈": "≈"}


def _value_text(value) -> str:
    if isinstance(value, str):
        return {"inf": "∞", "-inf": "−∞"}.get(value, value)
    if value is None:
        return "—"
    from verify.report.format import format_number

    return format_number(value)


@dataclasses.dataclass(frozen=True)
class Pair:
    """The measured value beside the theoretical one (PEPit's convention), as one line of text."""

    quantity: str
    measured: str
    relation: str
    theoretical: str
    note: str = ""

    @property
    def line(self) -> str:
        """``measured 0.998 ≤ theoretical 1 — quantity`` (``$…$`` in the quantity stays math)."""
        text = f"measured {self.measured} {self.relation} theoretical {self.theoretical}"
        if self.quantity:
            text += f" — {self.quantity}"
        if self.note:
            text += f" ({self.note})"
        return text


def _split_pair(evidence) -> tuple[Pair | None, dict]:
    """The evidence's measured/theoretical pair (shown as one line) and the rest of the evidence."""
    pair = _pair(evidence)
    rest = {k: v for k, v in (evidence or {}).items() if not (k == "pair" and pair is not None)}
    return pair, rest


def _pair(evidence) -> Pair | None:
    pair = (evidence or {}).get("pair")
    if not isinstance(pair, dict) or "measured" not in pair or "theoretical" not in pair:
        return None
    return Pair(str(pair.get("quantity") or ""), _value_text(pair.get("measured")),
                _RELATIONS.get(str(pair.get("relation")), str(pair.get("relation") or "vs")),
                _value_text(pair.get("theoretical")), str(pair.get("note") or ""))


def is_erratum(record: ClaimRecord) -> bool:
    return record.kind == "as-written" and record.verdict == "refuted"


@dataclasses.dataclass
class ClaimView:
    """One claim as shown. The record's newer keys (``correction``, ``counterexample_explained``,
    ``false_fail_rate``, ``origin``, the evidence's ``pair``) are read where present."""

    record: ClaimRecord
    figure: RenderedFigure | None
    figure_number: int | None
    anchor: str
    erratum_anchor: str
    counterexample: list[Block]
    evidence: list[Block]
    pair: Pair | None = None
    correction_evidence: list[Block] = dataclasses.field(default_factory=list)
    correction_pair: Pair | None = None

    # the record's fields, as the templates read them
    def __getattr__(self, name: str):
        return getattr(self.record, name)

    @property
    def title(self) -> str:
        return self.record.title or self.record.id

    @property
    def kind(self) -> str:
        return KIND_LABELS.get(self.record.kind, self.record.kind)

    @property
    def erratum(self) -> bool:
        return is_erratum(self.record)

    @property
    def seconds(self) -> str:
        return format_seconds(self.record.seconds)

    @property
    def correction(self) -> dict:
        return getattr(self.record, "correction", None) or {}

    @property
    def corrected(self) -> str | None:
        """The corrected formula (LaTeX math), from ``correction`` or the older ``corrected`` key."""
        return self.correction.get("formula") or self.record.corrected

    @property
    def correction_verified(self) -> bool:
        """Whether the corrected formula was itself run through the same check, and held."""
        return bool(self.correction.get("verified"))

    @property
    def correction_explanation(self) -> str:
        return self.correction.get("explanation") or ""

    @property
    def correction_checked_by(self) -> str:
        return self.correction.get("checked_by") or ""

    @property
    def counterexample_explained(self) -> str:
        return getattr(self.record, "counterexample_explained", None) or ""

    @property
    def details(self) -> list[str]:
        """The meta line: kind, source, declared false-fail rate, origin of a user's claim, run time."""
        from verify.report.format import format_number

        out = [self.kind, self.record.source]
        rate = getattr(self.record, "false_fail_rate", None)
        if rate:
            out.append(f"declared false-fail rate {format_number(rate)}")
        origin = getattr(self.record, "origin", "") or ""
        if origin and not origin.startswith("verify.claims"):
            out.append(f"defined in {origin}")
        out.append(f"checked in {self.seconds}")
        return [part for part in out if part]

    @property
    def figure_svg(self) -> str | None:
        return self.figure.svg if self.figure is not None else None

    @property
    def figure_error(self) -> str | None:
        return self.figure.error if self.figure is not None else None


@dataclasses.dataclass
class Topic:
    id: str
    title: str
    anchor: str
    claims: list[ClaimView]


@dataclasses.dataclass
class FailingItem:
    title: str
    anchor: str
    reason: str


@dataclasses.dataclass
class Summary:
    counts: list[tuple[str, int]]
    total: int
    sentence: str
    failing: list[FailingItem]
    run: str


@dataclasses.dataclass
class View:
    title: str
    subtitle: str
    summary: Summary
    topics: list[Topic]
    errata: list[ClaimView]
    environment: list[tuple[str, list[Block]]]

    def claims(self) -> Iterator[ClaimView]:
        for topic in self.topics:
            yield from topic.claims


def _reason(record: ClaimRecord, figure: RenderedFigure | None) -> str:
    if record.error is not None:
        return "its check raised an error"
    if figure is not None and figure.error is not None and record.verdict != "refuted":
        return "its figure raised an error"
    return "refuted"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _summary(report: Report, claims: dict[str, ClaimView]) -> Summary:
    counts = report.counts
    errata = len(report.errata)
    hold = counts.get("holds", 0)
    sentence = (f"{_plural(len(report.records), 'claim', 'claims')} checked: "
                f"{hold} {'holds' if hold == 1 else 'hold'}, {counts.get('refuted', 0)} refuted, "
                f"{counts.get('inconclusive', 0)} inconclusive. ")
    if errata:
        sentence += (f"{_plural(errata, 'formula', 'formulas')} of the notes {'is' if errata == 1 else 'are'} "
                     "wrong as written; each is listed with its corrected form and a counterexample.")
    else:
        sentence += "No formula of the notes that was checked as written is wrong."
    failing = [FailingItem(claims[r.id].title, claims[r.id].anchor, _reason(r, report.figures.get(r.id)))
               for r in failing_records(report.records, report.figures)]
    run = report.environment.get("run", {})
    machine = report.environment.get("machine", {})
    text = (f"Checked in {format_seconds(report.seconds)} ({format_seconds(report.claims_seconds)} running the "
            f"checks, the rest drawing the figures) on {machine.get('cpu', 'an unknown CPU')}; seed {run.get('seed')}, "
            f"backend {run.get('backend')}{', quick sample sizes' if run.get('quick') else ''}.")
    return Summary(list(counts.items()), len(report.records), sentence, failing, text)


def _environment(report: Report) -> list[tuple[str, list[Block]]]:
    names = {"run": "Run", "machine": "Machine", "packages": "Packages"}
    out = []
    for group, values in report.environment.items():
        blocks = evidence_blocks(values) if isinstance(values, dict) else [Fields(None, ((label(group), label(values)),))]
        out.append((names.get(group, group), blocks))
    return out


def view(report: Report) -> View:
    """The reader's view of ``report``."""
    topics: dict[str, Topic] = {}
    claims: dict[str, ClaimView] = {}
    for r in report.records:
        pair, evidence = _split_pair(r.evidence)
        correction = getattr(r, "correction", None)
        correction_pair, correction_evidence = _split_pair(
            correction.get("evidence") if isinstance(correction, dict) else None)
        c = ClaimView(r, report.figures.get(r.id), None, anchor(r.id), anchor(r.id, "erratum"),
                      evidence_blocks(r.counterexample), evidence_blocks(evidence), pair,
                      evidence_blocks(correction_evidence), correction_pair)
        claims[r.id] = c
        if r.topic not in topics:
            topics[r.topic] = Topic(r.topic, topic_title(r.topic), anchor(r.topic, "topic"), [])
        topics[r.topic].claims.append(c)
    number = 0
    for topic in topics.values():  # figures are numbered in the order they are shown
        for c in topic.claims:
            if c.figure is not None and c.figure.present:
                number += 1
                c.figure_number = number
    run = report.environment.get("run", {})
    subtitle = (f"{_plural(len(report.records), 'claim', 'claims')} · {report.started} · seed {run.get('seed')} · "
                f"backend {run.get('backend')}{' · quick' if run.get('quick') else ''}")
    errata = [claims[r.id] for r in report.errata]
    return View(TITLE, subtitle, _summary(report, claims), list(topics.values()), errata, _environment(report))
