"""Plotting primitives for the reports: pages, fan charts, cap lines and marks, histograms, answer boxes, bars of
variance shares and dot-and-whisker charts.

Every figure is a bare `matplotlib.figure.Figure` on an Agg canvas, never pyplot,
so building a report touches no global state and needs no display.
"""
from __future__ import annotations

import textwrap
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import TightLayoutEngine
from matplotlib.ticker import FuncFormatter, PercentFormatter

A4_LANDSCAPE = (11.69, 8.27)  # inches
BANDS = (0.95, 0.80, 0.50)  # widest first, so the narrower bands draw on top
# Okabe-Ito: tells apart for colour-blind readers and in greyscale print
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
CAP_COLOUR = "#C00000"
PLAN_COLOUR = "#404040"
BODY_SIZE = 11
LABEL_BOX = {"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.5}  # keeps a label readable over bands
FOOTER_HEIGHT = 0.05  # share of the page kept free for the footer
SUBTITLE_CHARACTERS = 130  # a line of body text across an A4 landscape page


def page(title: str, subtitle: str = "") -> Figure:
    """An empty A4 landscape page with its title and a subtitle that says how to read it.

    The layout engine keeps the charts below the subtitle, however many lines it wraps to, and above the footer."""
    figure = Figure(figsize=A4_LANDSCAPE)
    FigureCanvasAgg(figure)
    figure.text(0.02, 0.97, title, fontsize=17, weight="bold", va="top")
    lines = textwrap.wrap(subtitle, SUBTITLE_CHARACTERS)
    figure.text(0.02, 0.925, "\n".join(lines), fontsize=BODY_SIZE, va="top", color=PLAN_COLOUR)
    top = 0.915 - 0.026 * len(lines)
    # tight rather than constrained layout: the constrained solver's positions differ in the last digits from
    # one build to the next, which would break byte-identical reports
    figure.set_layout_engine(TightLayoutEngine(rect=(0.01, FOOTER_HEIGHT, 0.99, top), w_pad=2.5))
    return figure


def footer(figure: Figure, text: str) -> None:
    figure.text(0.02, 0.015, text, fontsize=8, color="grey", va="bottom")


def colours(count: int) -> list:
    """Distinct colours for `count` series; a sequential map when there are too many to tell apart by hue."""
    if count <= len(PALETTE):
        return list(PALETTE[:count])
    return [colormaps["viridis"](x) for x in np.linspace(0, 0.9, count)]


def fan(ax: Axes, table: pd.DataFrame, colour, label: str, bands: Sequence[float] = BANDS,
        label_bands: bool = True) -> None:
    """Median line and central bands of a replicate x year table (one column per year)."""
    years = np.asarray(table.columns, dtype=float)
    for i, width in enumerate(bands):
        low, high = table.quantile((1 - width) / 2), table.quantile((1 + width) / 2)
        alpha = 0.18 + 0.5 * i / max(len(bands), 2)
        ax.fill_between(years, low, high, color=colour, alpha=alpha, linewidth=0,
                        label=f"middle {width:.0%} of futures" if label_bands else None)
    ax.plot(years, table.median(), color=colour, linewidth=2.2, marker="o", markersize=4, label=label)
    ax.set_xticks(years, [f"{year:.0f}" for year in years])


def reference_line(ax: Axes, value: float, text: str, colour=CAP_COLOUR) -> None:
    """A level every year is compared with (red: a plan's cap) as a dashed line, named in the legend (where no
    band can hide it), always shown."""
    ax.axhline(value, color=colour, linestyle="--", linewidth=1.8, label=text)
    include(ax, value)


def cap_mark(ax: Axes, year: int, value: float, text: str) -> None:
    """A cap that applies in one year only: a short red bar across that year, named in the legend."""
    ax.hlines(value, year - 0.4, year + 0.4, color=CAP_COLOUR, linewidth=3.5, label=text, zorder=5)
    include(ax, value)


def include(ax: Axes, value: float, margin: float = 0.08) -> None:
    """Widen the y range so `value` (and room for a label above it) shows."""
    low, high = ax.get_ylim()
    span = max(high, value) - min(low, value)
    ax.set_ylim(min(low, value - margin * span), max(high, value + margin * span))


def people_scale(largest: float) -> tuple[float, str]:
    """Divisor and unit for counts of people: thousands at the district's size, people for small quick runs."""
    return (1000.0, "thousand people") if largest >= 100_000 else (1.0, "people")


def thousands_separated(ax: Axes, axis: str = "y", absolute: bool = False) -> None:
    formatter = FuncFormatter(lambda value, _: f"{abs(value) if absolute else value:,.{0 if value % 1 == 0 else 1}f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


def percent_axis(ax: Axes, axis: str = "y", decimals: int | None = 0) -> None:
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(PercentFormatter(1.0, decimals=decimals))


def text_column(figure: Figure, left: float, top: float, width: float, heading: str, lines: Sequence[str],
                warnings: Sequence[str] = ()) -> float:
    """A heading and paragraphs (then warnings, in red) wrapped to `width` (share of the page), one below the
    other; returns where the next text may start.

    Lines are wrapped and stacked here rather than by matplotlib so that nothing overlaps and
    the page looks the same in every build."""
    size = BODY_SIZE - 1
    characters = int(width * figure.get_figwidth() * 72 / (0.55 * size))
    line_height = 1.45 * size / 72 / figure.get_figheight()
    y = top
    if heading:
        figure.text(left, top, heading, fontsize=BODY_SIZE + 2, weight="bold", va="top")
        y -= 2 * line_height
    for text, colour in [*((line, "black") for line in lines), *((line, CAP_COLOUR) for line in warnings)]:
        indent = len(text) - len(text.lstrip())
        wrapped = textwrap.fill(text.strip(), characters - indent, subsequent_indent="  " if indent else "")
        figure.text(left + indent * 0.004, y, wrapped, fontsize=size, va="top", color=colour, linespacing=1.45)
        y -= (wrapped.count("\n") + 1) * line_height + 0.3 * line_height
    return y - line_height


def note(ax: Axes, text: str) -> None:
    """Say in words why a chart is missing, in the place it would have been."""
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=BODY_SIZE + 1, transform=ax.transAxes,
            color=PLAN_COLOUR)


def share_bars(ax: Axes, shares: pd.DataFrame, labels: Sequence[str], floor: float, largest: float) -> None:
    """Horizontal bars of variance shares (`sim.results.sensitivity.variance_shares`), the largest at the top,
    blue where a higher input gives a higher outcome and orange where it gives a lower one; grey shading up to
    `floor`, the shares the runs cannot tell from zero. The axis runs to `largest` (the same on every panel)."""
    positions = np.arange(len(shares))
    bar_colours = [PALETTE[0] if rising else PALETTE[1] for rising in shares["rising"]]
    ax.barh(positions, shares["share"].to_numpy(), color=bar_colours, height=0.65, zorder=2)
    ax.axvspan(-floor, floor, color="#DDDDDD", linewidth=0, zorder=1)
    ax.set_yticks(positions, labels)
    ax.set_ylim(len(shares) - 0.5, -0.5)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlim(-floor, largest)
    percent_axis(ax, "x")
    ax.grid(axis="x", alpha=0.3)


def dot_whisker(ax: Axes, labels: Sequence[str], value: pd.Series, low: pd.Series, high: pd.Series,
                colour, value_format) -> None:
    """One row per item: a dot at `value`, a whisker from `low` to `high`, the numbers written just above."""
    positions = np.arange(len(labels))
    ax.errorbar(value, positions, xerr=[value - low, high - value], fmt="o", color=colour, markersize=8,
                capsize=5, linewidth=2)
    ax.set_yticks(positions, labels)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    middle = sum(ax.get_xlim()) / 2
    for position, v, lo, hi in zip(positions, value, low, high):
        # written from the whisker's end that faces the middle, so the text stays inside the axes
        ax.annotate(f"{value_format(v)} ({value_format(lo)} to {value_format(hi)})",
                    xy=(lo if v <= middle else hi, position), xytext=(0, 9), textcoords="offset points",
                    ha="left" if v <= middle else "right", va="bottom", fontsize=BODY_SIZE - 1)
    ax.grid(axis="x", alpha=0.3)


def histogram_against(ax: Axes, values: pd.Series, limit: float) -> None:
    """One value per run: runs above the cap in red, at or below in grey; the cap is a bin edge so no bar
    straddles it."""
    width = max(np.ptp(values) / 12, 0.1)
    edges = limit + width * np.arange(np.floor((values.min() - limit) / width) - 1,
                                      np.ceil((values.max() - limit) / width) + 2)
    above = values > limit
    ax.hist(values[~above], bins=edges, color="#999999", label=f"at or below the cap: {_runs(~above)}")
    ax.hist(values[above], bins=edges, color=CAP_COLOUR, alpha=0.8, label=f"above the cap: {_runs(above)}")
    ax.axvline(limit, color=CAP_COLOUR, linestyle="--", linewidth=1.8)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.25)
    ax.text(limit, ax.get_ylim()[1] * 0.5, f" cap {limit:g} ", color=CAP_COLOUR, rotation=90, ha="right",
            va="center", fontsize=BODY_SIZE - 1, fontweight="bold")
    ax.legend(loc="upper left", fontsize=BODY_SIZE - 1)
    ax.yaxis.get_major_locator().set_params(integer=True)


def _runs(selected: pd.Series) -> str:
    return f"{selected.sum()} of {len(selected)} futures ({selected.mean():.0%})"


def answer_box(figure: Figure, left: float, heading: str, number: str, colour, beside: str, sentence: str,
               aside: str) -> None:
    """A framed answer in the page's upper half: its question, a large number (in `colour`, which says how it
    reads) with a note beside it, the sentence that says it, and a related figure in grey."""
    box = figure.add_axes((left, 0.60, 0.45, 0.30))
    box.set_xticks([])
    box.set_yticks([])
    for spine in box.spines.values():
        spine.set_color("#BBBBBB")
    box.text(0.04, 0.92, textwrap.fill(heading, 50), fontsize=BODY_SIZE + 2, weight="bold", va="top")
    box.text(0.04, 0.70, number, fontsize=40 if len(number) < 5 else 25, weight="bold", color=colour, va="top")
    box.text(0.52, 0.70, beside, fontsize=BODY_SIZE, va="top", linespacing=1.4)
    box.text(0.04, 0.36, textwrap.fill(sentence, 68), fontsize=BODY_SIZE - 1, va="top")
    box.text(0.04, 0.17, textwrap.fill(aside, 68), fontsize=BODY_SIZE - 1, va="top", color=PLAN_COLOUR)
