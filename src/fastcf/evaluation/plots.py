"""OTB-style success / precision plots and per-sequence bar plots (matplotlib, Agg; PNG, SVG).

Each tracker is one curve; the legend is sorted by the tracker's score (AUC for success
plots, the value at the reference threshold for precision plots), best first, and shows
that score as ``name [0.123]``, as the OTB toolkit draws them. Figures are drawn on an
Agg canvas directly (no ``pyplot``): the global backend is left alone, no display needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import numpy.typing as npt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

_STYLES = ("-", "--", "-.", ":")
FORMATS = ("png", "svg")


@dataclass(frozen=True)
class CurveEntry:
    label: str
    thresholds: npt.NDArray[np.float64]
    values: npt.NDArray[np.float64]
    score: float


def sorted_entries(entries: Sequence[CurveEntry]) -> list[CurveEntry]:
    """Best score first; NaN scores last; ties broken by label for a stable order."""
    return sorted(
        entries, key=lambda e: (np.isnan(e.score), -np.nan_to_num(e.score, nan=0.0), e.label)
    )


def legend_label(entry: CurveEntry) -> str:
    return f"{entry.label} [{entry.score:.3f}]"


def plot_curves(
    entries: Sequence[CurveEntry],
    path_stem: str | Path,
    title: str,
    xlabel: str,
    ylabel: str,
    formats: Sequence[str] = FORMATS,
) -> list[Path]:
    """Draw the curves and save ``<path_stem>.png`` / ``.svg``; returns the written paths."""
    if not entries:
        raise ValueError(f"no curves to plot for {title!r}")
    ordered = sorted_entries(entries)
    fig = Figure(figsize=(6.4, 4.8))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    cmap = matplotlib.colormaps["tab10"]
    for i, e in enumerate(ordered):
        ax.plot(
            e.thresholds,
            e.values,
            linestyle=_STYLES[(i // 10) % len(_STYLES)],
            color=cmap(i % 10),
            linewidth=2.0,
            label=legend_label(e),
        )
    xmax = float(max(np.max(e.thresholds) for e in ordered))
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title, xlim=(0.0, xmax), ylim=(0.0, 1.0))
    ax.grid(True, linestyle=":")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    fig.tight_layout()
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        out = stem.with_name(f"{stem.name}.{fmt}")
        fig.savefig(out, format=fmt, dpi=150, bbox_inches="tight")
        written.append(out)
    return written


def plot_bars(
    groups: Sequence[str],
    values: Mapping[str, Sequence[float]],
    path_stem: str | Path,
    title: str,
    ylabel: str,
    formats: Sequence[str] = FORMATS,
) -> list[Path]:
    """Grouped bar plot: one group per entry of ``groups`` (e.g. sequences), one bar per
    series of ``values`` (e.g. trackers, in the legend's order); ``.png`` / ``.svg``."""
    if not groups or not values:
        raise ValueError(f"nothing to plot for {title!r}")
    for label, v in values.items():
        if len(v) != len(groups):
            raise ValueError(f"{label}: {len(v)} values for {len(groups)} groups")
    n = len(values)
    width = 0.8 / n
    fig = Figure(figsize=(max(6.4, 0.35 * len(groups) * max(n, 2) + 2.0), 4.8))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    cmap = matplotlib.colormaps["tab10"]
    x = np.arange(len(groups), dtype=np.float64)
    for i, (label, v) in enumerate(values.items()):
        heights = np.nan_to_num(np.asarray(v, dtype=np.float64), nan=0.0)
        ax.bar(x + (i - (n - 1) / 2) * width, heights, width, label=label, color=cmap(i % 10))
    ax.set_xticks(x)
    ax.set_xticklabels(groups, rotation=60, ha="right", fontsize=8)
    ax.set(ylabel=ylabel, title=title, ylim=(0.0, 1.0), xlim=(-0.6, len(groups) - 0.4))
    ax.grid(True, axis="y", linestyle=":")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    fig.tight_layout()
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        out = stem.with_name(f"{stem.name}.{fmt}")
        fig.savefig(out, format=fmt, dpi=150, bbox_inches="tight")
        written.append(out)
    return written
