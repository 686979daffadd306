"""Claim figures are drawn once and never crash a report; the shared helpers label their axes."""

from __future__ import annotations

import numpy as np
import pytest

from verify.report.figures import (
    band_figure,
    log_error_figure,
    new_figure,
    render_claim_figure,
    ulp_error_figure,
)


def _labels(figure):
    ax = figure.axes[0]
    return ax.get_xlabel(), ax.get_ylabel()


def test_figure_is_drawn_once_and_closed():
    import matplotlib.pyplot as plt

    calls = []

    def figure_fn(outcome):
        calls.append(outcome)
        fig, ax = plt.subplots()  # pyplot figures must be closed by the renderer
        ax.plot([1, 2, 3])
        ax.set_xlabel("t")
        return fig

    before = len(plt.get_fignums())
    rendered = render_claim_figure(figure_fn, "outcome", prefix="z")
    assert calls == ["outcome"]
    assert rendered.svg.startswith("<svg") and rendered.png.startswith(b"\x89PNG") and rendered.error is None
    assert len(plt.get_fignums()) == before


def test_figure_errors_become_text():
    def broken(outcome):
        raise KeyError("missing data")

    rendered = render_claim_figure(broken, None, prefix="z")
    assert rendered.svg is None and not rendered.present
    assert "KeyError" in rendered.error and "missing data" in rendered.error
    wrong_type = render_claim_figure(lambda o: "not a figure", None, prefix="z")
    assert "must return a matplotlib Figure" in wrong_type.error


def test_no_figure_function_or_none_returned_means_no_figure():
    assert render_claim_figure(None, None, prefix="z") == render_claim_figure(lambda o: None, None, prefix="z")
    assert not render_claim_figure(None, None, prefix="z").present


def test_axes_are_accepted_for_their_figure():
    fig, ax = new_figure()
    ax.plot([0, 1])
    assert render_claim_figure(lambda o: ax, None, prefix="z").present


def test_ulp_error_figure():
    rng = np.random.default_rng(0)
    errors = {"softmax": {"numpy": rng.uniform(0, 2, 50), "cpu": rng.uniform(0, 2, 50), "parallel": [0.0] * 50},
              "logsumexp": {"numpy": [0.0, 0.5], "cpu": [3.0], "parallel": [1.0]}}
    figure = ulp_error_figure(errors, tolerance=4)
    ax = figure.axes[0]
    assert _labels(figure) == ("kernel", "error in ULPs of float64")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["softmax", "logsumexp"]
    assert len(ax.patches) == 6  # one bar per kernel and backend
    heights = sorted(round(p.get_height(), 12) for p in ax.patches)
    assert heights[0] == 0.0 and heights[-1] == 3.0  # exact (0 ULP) results are drawn, the max is the max
    with pytest.raises(ValueError, match="at least one kernel"):
        ulp_error_figure({})


def test_band_and_log_error_figures():
    x = np.arange(1, 6)
    figure = band_figure(x, {"bias²": (x**-1.0, x**-1.0 - 0.1, x**-1.0 + 0.1), "σ²": np.full(5, 0.2)},
                         xlabel="model complexity (degree)", ylabel="squared error", marks={"2/L": 3.0})
    assert _labels(figure) == ("model complexity (degree)", "squared error")
    assert len(figure.axes[0].collections) == 1  # the one band
    figure = log_error_figure({"η_t = 1/t": 1.0 / np.arange(1, 101)}, references={"t^-1": -1.0})
    ax = figure.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert len(ax.lines) == 2
