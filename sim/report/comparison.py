"""The comparison report's pages, every one drawn from a `ComparisonResult` (`sim.comparison`).

Each cap's headline chance variant by variant, its paired difference from the
first variant, the variants' population and births, and for a sweep the
chances as the swept input changes. `pages_of` gives them in order.
"""
from __future__ import annotations

import textwrap
from typing import Callable

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.comparison import ComparisonResult
from sim.report.charts import (BODY_SIZE, CAP_COLOUR, PALETTE, PLAN_COLOUR, colours, dot_whisker, fan, page,
                               people_scale, percent_axis, reference_line, thousands_separated)
from sim.report.wording import cap_text, headline_titles, input_label, percent, points, population_noun, rescaling_note
from sim.results.runs import EnsembleResult


def _reference(comparison: ComparisonResult) -> EnsembleResult:
    """The first variant: the others are measured against it, and its caps are theirs."""
    return next(iter(comparison.variants.values()))


def _labels(comparison: ComparisonResult) -> list[str]:
    return list(comparison.table["label"])


def probabilities_page(comparison: ComparisonResult) -> Figure:
    table = comparison.table
    figure = page("The chance of breaking each cap, variant by variant",
                  "Dot: share of runs that break the cap. Whisker: its 95% interval (how sure we are "
                  f"with {comparison.description['replicates']} runs per variant).")
    axes = figure.subplots(1, 2, sharey=True)
    for ax, (column, title), colour in zip(axes, headline_titles(_reference(comparison)).items(), PALETTE):
        ax.set_xlim(-0.02, 1.02)
        dot_whisker(ax, _labels(comparison), table[column], table[f"{column}_low"], table[f"{column}_high"],
                    colour, percent)
        ax.set_title(textwrap.fill(title, 45), fontsize=BODY_SIZE + 1)
        percent_axis(ax, "x")
        ax.set_xlabel("chance of breaking the cap")
    return figure


def differences_page(comparison: ComparisonResult) -> Figure:
    table = comparison.table.iloc[1:]
    reference = _labels(comparison)[0]
    figure = page("How much each variant changes the chance of breaking each cap",
                  f"Against the first variant, \"{reference}\". Dot: the difference in the chance, from the same "
                  "random futures run under both variants. Whisker: its 95% interval. Right of zero: more likely "
                  "to break the cap.")
    axes = figure.subplots(1, 2, sharey=True)
    for ax, (column, title), colour in zip(axes, headline_titles(_reference(comparison)).items(), PALETTE):
        diff = f"diff_{column}"
        ax.set_xlim(-1.02, 1.02)
        dot_whisker(ax, list(table["label"]), table[diff], table[f"{diff}_low"], table[f"{diff}_high"], colour,
                    points)
        ax.axvline(0, color="black", linewidth=1)
        ax.set_title(textwrap.fill(title, 45), fontsize=BODY_SIZE + 1)
        ax.xaxis.set_major_formatter(lambda value, _: points(value))
        ax.set_xlabel("change in the chance (percentage points)")
    return figure


def trajectories_page(comparison: ComparisonResult) -> Figure:
    reference = _reference(comparison)
    capped = "population" in reference.summary.caps
    limit = reference.summary.population.limit if capped else reference.indicator("population_end").max().max()
    figure = page("Population and births under each variant",
                  "Lines: median of the runs of each variant; shading: where the middle 80% of runs fall."
                  + rescaling_note(reference))
    left, right = figure.subplots(1, 2)
    scale, unit = people_scale(limit)
    runs = comparison.variants.values()
    for run, label, colour in zip(runs, _labels(comparison), colours(len(runs))):
        fan(left, run.indicator("population_end") / scale, colour, label, bands=(0.8,), label_bands=False)
        fan(right, run.indicator("births"), colour, label, bands=(0.8,), label_bands=False)
    if capped:
        reference_line(left, limit / scale, cap_text(reference))
    left.set_title(f"The {population_noun(reference.scenario)} at the end of each year", fontsize=BODY_SIZE + 1)
    left.set_xlabel("end of year (31 December)")
    left.set_ylabel(f"population ({unit})")
    right.set_title("Births each year", fontsize=BODY_SIZE + 1)
    right.set_xlabel("year")
    right.set_ylabel("births in the year")
    for ax in (left, right):
        thousands_separated(ax)
        ax.grid(alpha=0.3)
    right.legend(loc="best", fontsize=BODY_SIZE - 1)
    return figure


def sweep_page(comparison: ComparisonResult) -> Figure:
    """The chances along the first swept input, one curve per value of the second if there is one."""
    sweep = comparison.description["sweep"]
    swept, *others = sweep["inputs"]
    reference = _reference(comparison)
    # the experiment file's own words for its inputs, else words made from the scenario's names
    names = dict(zip(sweep["inputs"],
                     sweep.get("labels") or [input_label(name, reference.scenario) for name in sweep["inputs"]]))
    figure = page(f"The chance of breaking each cap as the {names[swept]} changes",
                  "Line: share of runs that break the cap at each value; shading: its 95% interval. "
                  "Dotted line: even odds (50%).")
    table = comparison.table.sort_values(swept)
    groups = table.groupby(others[0], sort=True) if others else [(None, table)]
    for ax, (column, title) in zip(figure.subplots(1, 2, sharey=True), headline_titles(reference).items()):
        for (value, rows), colour in zip(groups, colours(len(groups))):
            label = f"{names[others[0]]} = {value:g}" if others else None
            ax.plot(rows[swept], rows[column], color=colour, marker="o", linewidth=2, label=label)
            ax.fill_between(rows[swept], rows[f"{column}_low"], rows[f"{column}_high"], color=colour, alpha=0.2)
        ax.axhline(0.5, color=PLAN_COLOUR, linestyle=":", linewidth=1.5)
        _mark_crossing(ax, sweep["crossing_50"].get(column))
        ax.set_title(textwrap.fill(title, 45), fontsize=BODY_SIZE + 1)
        ax.set_ylim(-0.02, 1.02)
        percent_axis(ax)
        ax.set_xlabel(names[swept])
        ax.set_ylabel("chance of breaking the cap")
        ax.grid(alpha=0.3)
        if others:
            ax.legend(loc="best", fontsize=BODY_SIZE - 1)
    return figure


def _mark_crossing(ax: Axes, value: float | None) -> None:
    if value is None:
        return
    ax.axvline(value, color=CAP_COLOUR, linestyle="--", linewidth=1.5)
    ax.annotate(f"50% at {value:.3g}", xy=(value, 0.5), xytext=(6, 8), textcoords="offset points",
                color=CAP_COLOUR, fontsize=BODY_SIZE, weight="bold")


COMPARISON_PAGES: tuple[Callable[[ComparisonResult], Figure], ...] = (
    probabilities_page, differences_page, trajectories_page)


def pages_of(comparison: ComparisonResult) -> tuple[Callable[[ComparisonResult], Figure], ...]:
    """The comparison report's pages in order: a sweep adds its curves."""
    return COMPARISON_PAGES + ((sweep_page,) if comparison.description["kind"] == "sweep" else ())
