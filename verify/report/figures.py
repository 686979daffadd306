"""Figures: each claim's own ``figure(outcome)`` drawn once, plus shared plotting helpers.

:func:`render_claim_figure` calls a claim's figure function once under the report's style
(:data:`REPORT_STYLE`: sizes readable in print) and keeps two renderings of it: inline SVG for the HTML
and a PNG for the PDF page. A figure function that raises gives the error text instead, never a crash.

Helpers for claim authors (all return a matplotlib ``Figure`` built without pyplot, so nothing is
left open):

- :func:`ulp_error_figure`: gradient error in ULPs per kernel and backend;
- :func:`band_figure`: curves against a parameter with confidence bands (bias², variance, σ² and
  their sum against model complexity or λ; Monte-Carlo estimates with their intervals);
- :func:`log_error_figure`: errors against iteration on log–log axes (Robbins–Monro schedules).
"""

from __future__ import annotations

import dataclasses
import io
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from verify.report.svg import figure_svg, tight_bbox

__all__ = [
    "REPORT_STYLE",
    "PNG_DPI",
    "RenderedFigure",
    "render_claim_figure",
    "new_figure",
    "ulp_error_figure",
    "band_figure",
    "log_error_figure",
]

#: rcParams every claim figure is drawn and saved under: fonts large enough to read on paper.
REPORT_STYLE: dict[str, Any] = {
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 9,
    "legend.framealpha": 0.9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 1.8,
    "figure.dpi": 100,
    "svg.fonttype": "path",
    "svg.hashsalt": "verify-report",
}

#: Resolution of the figure images in the PDF: 200 dots per inch prints sharp at the page's width.
PNG_DPI = 200


@dataclasses.dataclass
class RenderedFigure:
    """A claim's figure, rendered: ``svg`` markup and ``png`` bytes, or the ``error`` that stopped it.

    All three are ``None`` when the claim has no figure (or its figure function returned ``None``).
    """

    svg: str | None = None
    png: bytes | None = None
    error: str | None = None

    @property
    def present(self) -> bool:
        return self.svg is not None


def _as_figure(result: Any):
    from matplotlib.figure import Figure

    if result is None or isinstance(result, Figure):
        return result
    figure = getattr(result, "figure", None)  # an Axes, or anything that knows its figure
    if isinstance(figure, Figure):
        return figure
    raise TypeError(f"figure() must return a matplotlib Figure (or Axes); got {type(result).__name__}")


def _close(figure) -> None:
    import matplotlib.pyplot as plt

    plt.close(figure)  # a figure made with pyplot stays registered until closed


def render_claim_figure(
    figure_fn: Callable[[Any], Any] | None, outcome: Any, *, prefix: str, png_dpi: int = PNG_DPI
) -> RenderedFigure:
    """Draw ``figure_fn(outcome)`` once, save it as SVG and PNG, close it. Never raises."""
    if figure_fn is None:
        return RenderedFigure()
    import matplotlib

    figure = None
    try:
        with matplotlib.rc_context(REPORT_STYLE):
            figure = _as_figure(figure_fn(outcome))
            if figure is None:
                return RenderedFigure()
            bbox = tight_bbox(figure)
            svg = figure_svg(figure, prefix)
            # The layout is solved: keep it for the PNG instead of solving it again (a constrained
            # layout costs as much as the drawing itself).
            if figure.get_layout_engine() is not None:
                figure.set_layout_engine("none")
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=png_dpi, bbox_inches=bbox, facecolor="white")
        return RenderedFigure(svg=svg, png=buffer.getvalue())
    except Exception as exc:  # noqa: BLE001 - a broken figure is shown as its error, never hidden
        detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-3))
        return RenderedFigure(error=f"the figure raised {type(exc).__name__}: {exc}\n\n{detail}")
    finally:
        if figure is not None:
            _close(figure)


def new_figure(width: float = 6.4, height: float = 4.0, **subplots: Any):
    """``(figure, axes)`` without pyplot (nothing to close), in the report's style."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(REPORT_STYLE):
        figure = Figure(figsize=(width, height), layout="constrained")
        axes = figure.subplots(**subplots)
    return figure, axes


def ulp_error_figure(
    errors: Mapping[str, Mapping[str, Sequence[float] | np.ndarray]],
    *,
    tolerance: float | None = None,
    dtype: str = "float64",
    title: str = "Gradient error against the exact reference",
):
    """Per kernel (x axis) and backend (colour): the largest error in ULPs as a bar, the median as a dot.

    ``errors[kernel][backend]`` holds the per-entry errors in ULPs (see ``verify.checks.ulp_error``).
    The y axis is symmetric-log with a linear part below 1 ULP, so an exact result (0 ULP) is drawn
    rather than dropped. ``tolerance`` (in ULPs) is drawn as a dashed line.
    """
    kernels = list(errors)
    backends = sorted({b for per_kernel in errors.values() for b in per_kernel})
    if not kernels or not backends:
        raise ValueError("errors must name at least one kernel and one backend")
    figure, ax = new_figure(max(6.4, 0.9 * len(kernels) + 2.0), 4.0)
    width = 0.8 / len(backends)
    x = np.arange(len(kernels))
    for j, backend in enumerate(backends):
        offset = (j - (len(backends) - 1) / 2) * width
        worst, median = [], []
        for kernel in kernels:
            values = np.asarray(errors[kernel].get(backend, []), dtype=np.float64).ravel()
            worst.append(values.max() if values.size else np.nan)
            median.append(np.median(values) if values.size else np.nan)
        ax.bar(x + offset, worst, width, label=f"{backend} (bar: max)", alpha=0.75)
        ax.plot(x + offset, median, "o", color="black", markersize=4,
                label="median" if j == len(backends) - 1 else None)
    if tolerance is not None:
        ax.axhline(tolerance, color="crimson", linestyle="--", linewidth=1.2, label=f"tolerance {tolerance:g} ULP")
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_ylim(bottom=0)
    ax.set_xticks(x, kernels, rotation=30 if len(kernels) > 4 else 0, ha="right" if len(kernels) > 4 else "center")
    ax.set_xlabel("kernel")
    ax.set_ylabel(f"error in ULPs of {dtype}")
    ax.set_title(title)
    ax.legend(ncols=min(len(backends) + 1, 4), loc="upper left")
    return figure


def _finish_axes(ax, *, xlabel: str, ylabel: str, title: str, logx: bool, logy: bool) -> None:
    """Scales, labels, the title (when given) and the legend of a curves-against-x plot."""
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()


def band_figure(
    x: Sequence[float] | np.ndarray,
    curves: Mapping[str, tuple[Any, Any, Any] | Any],
    *,
    xlabel: str,
    ylabel: str,
    title: str = "",
    logx: bool = False,
    logy: bool = False,
    marks: Mapping[str, float] | None = None,
):
    """Curves against ``x``; a curve given as ``(mean, low, high)`` gets its confidence band shaded.

    ``marks`` draws labelled vertical lines (a theoretical boundary such as ``2/L``, an optimum).
    """
    figure, ax = new_figure()
    xs = np.asarray(x, dtype=np.float64)
    for label, curve in curves.items():
        if isinstance(curve, tuple) and len(curve) == 3:
            mean, low, high = (np.asarray(c, dtype=np.float64) for c in curve)
            (line,) = ax.plot(xs, mean, label=label)
            ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
        else:
            ax.plot(xs, np.asarray(curve, dtype=np.float64), label=label)
    for label, value in (marks or {}).items():
        ax.axvline(value, color="black", linestyle="--", linewidth=1.0)
        ax.annotate(label, (value, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -12),
                    textcoords="offset points", fontsize=9)
    _finish_axes(ax, xlabel=xlabel, ylabel=ylabel, title=title, logx=logx, logy=logy)
    return figure


def log_error_figure(
    errors: Mapping[str, Sequence[float] | np.ndarray],
    *,
    ylabel: str = "error |θ_t − θ*|",
    xlabel: str = "iteration t",
    title: str = "",
    references: Mapping[str, float] | None = None,
):
    """Error against iteration (1-based) on log–log axes, one curve per schedule.

    ``references`` maps a label to a slope ``p``: the line ``t^p`` through each curve's first point is
    drawn dotted, to compare the observed rate with a theoretical one.
    """
    if not errors:
        raise ValueError("errors must hold at least one curve")
    figure, ax = new_figure()
    curves = {label: np.asarray(values, dtype=np.float64).ravel() for label, values in errors.items()}
    for label, y in curves.items():
        ax.plot(np.arange(1, y.size + 1), y, label=label)
    first = next(iter(curves.values()))
    t = np.arange(1, first.size + 1)
    for label, slope in (references or {}).items():
        ax.plot(t, first[0] * t**slope, ":", color="gray", label=label)
    _finish_axes(ax, xlabel=xlabel, ylabel=ylabel, title=title, logx=True, logy=True)
    return figure
