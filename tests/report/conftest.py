"""Fake claims for the report tests, one of each case the report must handle.

They are built as ``Claim`` objects and never registered globally, so these tests depend neither on
the real catalogue nor on its run time. ``fake_registry`` swaps them into the registry for the tests
of the command (restored afterwards by ``monkeypatch``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest

from verify.claims import registry
from verify.claims.registry import Claim, Context, Outcome
from verify.report.figures import new_figure


def _mean_check(ctx: Context) -> Outcome:
    # A Monte-Carlo claim whose numbers depend on the seed: E[X] = 0 for X ~ N(0, 1).
    rng = np.random.default_rng(ctx.seed)
    n = 2_000 if ctx.quick else 20_000
    x = rng.standard_normal(n)
    mean, se = float(x.mean()), float(x.std(ddof=1) / np.sqrt(n))
    verdict = "holds" if abs(mean) <= 4 * se else "refuted"
    ce = None if verdict == "holds" else {"mean": mean}
    return Outcome(verdict, {"n": n, "mean": mean, "standard_error": se, "ci95": [mean - 1.96 * se, mean + 1.96 * se]},
                   counterexample=ce, data={"running": np.cumsum(x) / np.arange(1, n + 1)})


def _mean_figure(outcome: Outcome):
    figure, ax = new_figure()
    running = outcome.data["running"]
    ax.plot(np.arange(1, running.size + 1), running, label="running mean")
    ax.axhline(0.0, color="black", linestyle="--", label="E[X] = 0")
    ax.set_xscale("log")
    ax.set_xlabel("number of draws n")
    ax.set_ylabel("sample mean")
    ax.legend()
    return figure


def _as_written_check(ctx: Context) -> Outcome:
    # "the derivative of sigma is sigma(1 + sigma)" as written; the truth is sigma(1 - sigma).
    x = 0.5
    s = 1 / (1 + np.exp(-x))
    exact, written = s * (1 - s), s * (1 + s)
    return Outcome("refuted", {"x": x, "as_written": written, "exact": exact},
                   counterexample={"x": x, "as_written": written, "exact": exact},
                   corrected=r"\sigma'(x) = \sigma(x)\,(1 - \sigma(x))",
                   data={"x": x})


def _as_written_figure(outcome: Outcome):
    figure, ax = new_figure()
    x = np.linspace(-6, 6, 200)
    s = 1 / (1 + np.exp(-x))
    ax.plot(x, s * (1 - s), label=r"$\sigma(1-\sigma)$ (exact)")
    ax.plot(x, s * (1 + s), "--", label=r"$\sigma(1+\sigma)$ (as written)")
    ax.set_xlabel("x")
    ax.set_ylabel(r"$\sigma'(x)$")
    ax.legend()
    return figure


def _inconclusive_check(ctx: Context) -> Outcome:
    return Outcome("inconclusive", {"samples": 10}, why="too few samples to reach the declared false-fail rate")


def _raising_check(ctx: Context) -> Outcome:
    raise RuntimeError("deliberate failure inside the check")


def _library_refuted_check(ctx: Context) -> Outcome:
    return Outcome("refuted", {"max_ulp": 1.5e6}, counterexample={"input": [0.0, 1e300], "ulps": 1.5e6})


def _holds_check(ctx: Context) -> Outcome:
    return Outcome("holds", {"max_ulp": 0.5, "cases": 30, "worst_input": [1.0, float("inf")]})


def _evidence_shapes_check(ctx: Context) -> Outcome:
    # Every shape of evidence the report lays out as tables, with the values a careless renderer garbles:
    # −0, huge and tiny numbers, formulas in values and keys, a table too wide for the page.
    evidence = {
        "n": 30,
        "signed_zero": -0.0,
        "tiny": 3.8e-32,
        "formula": r"$\mu(1-\beta^i)$",
        r"$\hat m_i$ as written": 0.0526,
        "curve": {"0.0001": {"Bias2": -5.6e-06, "Variance": 0.031}, "100.0": {"Bias2": 0.41, "Variance": 2e-4}},
        "runs": [{"eta": "1/10", "observed": "converges", "radius": 0.8},
                 {"eta": "1", "observed": "cycles", "radius": 1.0},
                 {"eta": "3/2", "observed": "diverges", "radius": 2.0}],
        "wide": [{f"column_number_{j}": 1.0 / (j + 1) for j in range(14)} for _ in range(3)],
        "widths": [2, 4, 8, 16],
        "sup_error": [1.0, 0.82, 0.18, 1.6e-4],
        "gradient": [-0.0, -1.0, -0.0],
        "W0": [[1.0, 0.5], [-0.25, 2.0]],
    }
    return Outcome("holds", evidence)


def _raising_figure(outcome: Outcome):
    raise ValueError("deliberate failure inside the figure")


def make_fake_claims() -> list[Claim]:
    return [
        Claim(id="fake.mean_zero", title="The sample mean of N(0,1) draws tends to 0", topic="statistics",
              statement=r"\mathbb{E}[X] = 0,\quad X \sim \mathcal{N}(0, 1)", source="000_42086e2af0f76780.txt, slide 'Noise'",
              kind="empirical", check=_mean_check, figure=_mean_figure),
        Claim(id="fake.sigmoid_derivative_as_written", title="Derivative of the sigmoid, as written",
              topic="activations", statement=r"\sigma'(x) = \sigma(x)\,(1 + \sigma(x))",
              source="002_1388b78ad9a2d202.txt, slide 'Activations'", kind="as-written",
              check=_as_written_check, figure=_as_written_figure),
        Claim(id="fake.inconclusive", title="An inconclusive claim", topic="statistics",
              statement=r"\mathrm{Var}[\hat\theta] \le \frac{\sigma^2}{n}", source="a paper",
              kind="inequality", check=_inconclusive_check),
        Claim(id="fake.check_raises", title="A claim whose check raises", topic="general",
              statement=r"a = b", source="nowhere", kind="identity", check=_raising_check, figure=_mean_figure),
        Claim(id="fake.evidence_shapes", title="Evidence of every shape", topic="statistics",
              statement=r"$x$ holds for every shape of evidence", source="the report's own tests",
              kind="identity", check=_evidence_shapes_check),
        Claim(id="fake.unparseable_holds", title="A claim mathtext cannot render", topic="general",
              statement=r"f(x) = \begin{cases} x & x > 0 \\ 0 & \text{otherwise} \end{cases}",
              source="002_1388b78ad9a2d202.txt, slide 'ReLU'", kind="identity", check=_holds_check),
    ]


def make_failing_claims() -> list[Claim]:
    """A library claim refuted (not as written) and a claim whose figure raises."""
    return [
        Claim(id="fake.library_refuted", title="A kernel claim that is refuted", topic="kernels",
              statement=r"|\mathrm{softmax}(z)_i - p_i| \le 4\,\mathrm{ulp}", source="verify kernels",
              kind="identity", check=_library_refuted_check),
        Claim(id="fake.figure_raises", title="A claim whose figure raises", topic="kernels",
              statement=r"\nabla_z \log\sum_j e^{z_j} = \mathrm{softmax}(z)", source="verify kernels",
              kind="identity", check=_holds_check, figure=_raising_figure),
    ]


@pytest.fixture
def fake_claims() -> list[Claim]:
    return make_fake_claims()


@pytest.fixture
def failing_claims() -> list[Claim]:
    return make_failing_claims()


@pytest.fixture
def fake_registry(monkeypatch: pytest.MonkeyPatch):
    """The registry holding only the fake claims (all of them), for tests of ``verify report``."""
    claims = make_fake_claims() + make_failing_claims()
    monkeypatch.setattr(registry, "_REGISTRY", {c.id: c for c in claims})
    monkeypatch.setattr(registry, "_load_topics", lambda: None)
    return claims


# --- what the tests inspect -------------------------------------------------------------------------

_URL_ATTRIBUTES = {"src", "href", "xlink:href", "srcset", "action", "poster", "data", "background", "formaction"}


class _ReferenceCollector(HTMLParser):
    """Every reference an HTML page makes: URL attributes, CSS ``url(...)``/``@import``, ``<link>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.references: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "link":
            self.references.append(f"<link {dict(attrs)}>")
        if tag == "style":
            self._in_style = True
        for name, value in attrs:
            if name in _URL_ATTRIBUTES and value is not None:
                self.references.append(value)
            if name == "style" and value:
                self._css(value)

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._css(data)

    def _css(self, css: str) -> None:
        self.references.extend(re.findall(r"url\(\s*['\"]?([^'\")]*)", css))
        self.references.extend(f"@import {m}" for m in re.findall(r"@import\s+([^;]+)", css))


def external_references(html: str) -> list[str]:
    """References that leave the page: anything but an in-page anchor (``#…``) or a ``data:`` URI."""
    collector = _ReferenceCollector()
    collector.feed(html)
    collector.close()
    return [r for r in collector.references if not (r.startswith("#") or r.startswith("data:"))]


def pdf_page_count(data: bytes) -> int:
    """Pages of a PDF, counted as its ``/Type /Page`` objects (not ``/Pages``), without a PDF library."""
    return len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", data))


def pdf_text(path) -> str | None:
    """The text of a PDF by poppler's ``pdftotext``, or ``None`` when it is not installed."""
    exe = shutil.which("pdftotext")
    if exe is None:
        return None
    return subprocess.run([exe, "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory):
    """The fake claims (all of them) built once, with the HTML and PDF written: ``(report, dir, PdfLayout)``."""
    import matplotlib

    matplotlib.use("Agg")
    from verify.report import build_report, write_html, write_json, write_pdf

    out = tmp_path_factory.mktemp("report")
    report = build_report(make_fake_claims() + make_failing_claims(), Context(seed=5, quick=True), progress=None)
    write_html(report, out / "index.html")
    layout = write_pdf(report, out / "report.pdf")
    write_json(report, out / "results.json")
    return report, out, layout
