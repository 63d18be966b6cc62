"""The comparison report's pages, every one drawn from a `ComparisonResult` (`sim.comparison`).

First the answer in words: each variant's chance of breaking each cap and its
paired difference from the first variant, with how sure that is. Then the
chances and the differences as charts, each variant's population and births
(one panel per variant), and for a sweep the chances as the swept input
changes. `pages_of` gives them in order; `summary_lines` is the answer as the
command line prints it.
"""
from __future__ import annotations

import math
import textwrap
from functools import partial
from typing import Callable

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.comparison import ComparisonResult, difference_of, interval_of
from sim.report.charts import (BODY_SIZE, CAP_COLOUR, FOOTER_HEIGHT, LABEL_BOX, PALETTE, PLAN_COLOUR,
                               SUBTITLE_CHARACTERS, colours, dot_whisker, fan, include, page, people_scale,
                               percent_axis, text_column, thousands_separated)
from sim.report.wording import chance, headline_titles, input_label, percent, points, population_noun, rescaling_note

VARIANTS_PER_SUMMARY_PAGE = 7  # the first variant and six others: as many sentences as half a page holds


def _labels(comparison: ComparisonResult) -> list[str]:
    return list(comparison.table["label"])


def _subtitle(comparison: ComparisonResult, text: str) -> str:
    """A page's subtitle, with what a quick run's rescaled counts mean for the caps when it is one."""
    return text + rescaling_note(comparison.reference)


# ---------------------------------------------------------------- the answer in words


def verdict(difference: float, low: float, high: float, runs: int) -> str:
    """Whether a paired difference is clear: its 95% interval leaves out zero."""
    if low > 0:
        return "clearly higher"
    if high < 0:
        return "clearly lower"
    return f"no clear difference with {runs} runs"


def _change(row: pd.Series, column: str, runs: int) -> str:
    difference = difference_of(column)
    d, low, high = (row[name] for name in (difference, *interval_of(difference)))
    return f"{verdict(d, low, high, runs)}: {points(d)} points ({points(low)} to {points(high)})"


def variant_sentences(comparison: ComparisonResult, rows: pd.DataFrame, column: str, key: str) -> list[str]:
    """One sentence per variant in `rows` for the headline chance `column` (`key` in summary.json): its chance
    and, but for the first variant, its paired difference from the first and whether it is clear."""
    runs = comparison.description["replicates"]
    cap = column.split(".")[0]
    sentences = []
    for number, row in rows.iterrows():
        probability = comparison.variants[row["variant"]].summary.caps[cap].probabilities[key]
        label = _sentence_case(row["label"])
        if number == 0:  # the table's first row
            sentences.append(f"{label}, the first variant: {chance(probability)}.")
        else:
            sentences.append(f"{label}: {chance(probability)}; {_change(row, column, runs)}.")
    return sentences


def _crossing_sentence(comparison: ComparisonResult, column: str) -> list[str]:
    sweep = comparison.description["sweep"]
    if not sweep or sweep["crossing_50"].get(column) is None:
        return []
    return [f"Even odds (50%) at a {_swept_names(comparison)[sweep['inputs'][0]]} of "
            f"{sweep['crossing_50'][column]:.3g}."]


def _headlines(comparison: ComparisonResult) -> list[tuple[str, str, str]]:
    """Each cap's headline chance: its comparison.csv column, its key in summary.json and its title."""
    reference = comparison.reference
    titles = headline_titles(reference)
    return [(cap.headline.column, cap.headline.key, titles[cap.headline.column]) for cap in reference.caps]


def summary_lines(comparison: ComparisonResult) -> list[str]:
    """The answer as the command line prints it: the settings, then each cap's chances variant by variant."""
    description = comparison.description
    size = description.get("population_size")
    lines = [f"{description['name']}: {len(comparison.variants)} variants, {description['replicates']} paired runs "
             f"each, seed {description['seed']}"
             + (f", quick runs of {size:,} simulated people" if size else ""),
             "Each against the first variant, run by run, in percentage points; in brackets 95% intervals "
             "(simulation error only)."]
    for column, key, title in _headlines(comparison):
        lines += [f"{title}:", *(f"  {sentence}" for sentence in cap_answer(comparison, comparison.table, column, key))]
    return lines


def summary_page(comparison: ComparisonResult, first: int = 1) -> Figure:
    """The first variant and the others from number `first` on: each cap's chances and differences in words, one
    cap below the other."""
    table = comparison.table
    rows = pd.concat([table.iloc[:1], table.iloc[first:first + VARIANTS_PER_SUMMARY_PAGE - 1]])
    runs = comparison.description["replicates"]
    subtitle = _subtitle(comparison, (
        f"Paired runs: every variant ran the same {runs} simulated futures (the same uncertain inputs, base "
        "population and chance events where the rules agree), so each difference from the first variant is "
        "measured run by run. Chance: the share of runs that break the cap. Points: percentage points, the variant "
        "minus the first. In brackets: 95% intervals; they show simulation error only (how far the numbers could "
        "move with more runs), not what the scenarios may get wrong. Clearly higher or lower: the interval of the "
        "difference leaves out zero."))
    figure = page("Do the variants change the chance of breaking the caps?", subtitle)
    figure.set_layout_engine("none")  # a page of placed text: no charts for the engine to arrange
    top = 0.9 - 0.026 * len(textwrap.wrap(subtitle, SUBTITLE_CHARACTERS))
    headlines = _headlines(comparison)
    if not headlines:
        figure.text(0.03, top, "The scenarios set no caps, so there is no chance of breaking one to compare.",
                    fontsize=BODY_SIZE + 1, va="top")
    # each cap in its share of the page below the subtitle
    height = (top - FOOTER_HEIGHT) / max(len(headlines), 1)
    for number, (column, key, title) in enumerate(headlines):
        text_column(figure, 0.03, top - number * height, 0.94, title, cap_answer(comparison, rows, column, key))
    return figure


def cap_answer(comparison: ComparisonResult, rows: pd.DataFrame, column: str, key: str) -> list[str]:
    """What the variants in `rows` say of one cap's headline chance: which differ clearly from the first, then a
    sentence per variant, and for a sweep where the chance crosses even odds."""
    return [_verdicts(comparison, rows, column), *variant_sentences(comparison, rows, column, key),
            *_crossing_sentence(comparison, column)]


def _verdicts(comparison: ComparisonResult, rows: pd.DataFrame, column: str) -> str:
    """Which variants differ clearly from the first, in one sentence."""
    runs = comparison.description["replicates"]
    difference = difference_of(column)
    groups: dict[str, list[str]] = {}
    for _, row in rows.iloc[1:].iterrows():
        groups.setdefault(verdict(*(row[name] for name in (difference, *interval_of(difference))), runs),
                          []).append(row["label"])
    if not groups:
        return "There is only the first variant to compare."
    if list(groups) == [verdict(0, 0, 0, runs)]:
        return f"With {runs} runs, no variant differs clearly from the first."
    return "; ".join(f"{_sentence_case(said)}: {', '.join(names)}" for said, names in groups.items()) + "."


def _sentence_case(text: str) -> str:
    """`text` to open a sentence: its first letter a capital, the rest as written (a label's own capitals)."""
    return text[:1].upper() + text[1:]


def summary_pages(comparison: ComparisonResult) -> list[Callable[[ComparisonResult], Figure]]:
    """As many summary pages as the variants need, each with the first variant to read the others against."""
    others = max(len(comparison.variants) - 1, 1)
    return [partial(summary_page, first=first) for first in range(1, others + 1, VARIANTS_PER_SUMMARY_PAGE - 1)]


# ---------------------------------------------------------------- the chances and differences as charts


def probabilities_page(comparison: ComparisonResult) -> Figure:
    table = comparison.table
    figure = page("The chance of breaking each cap, variant by variant", _subtitle(
        comparison, "Dot: share of runs that break the cap. Whisker: its 95% interval (how sure we are "
                    f"with {comparison.description['replicates']} runs per variant)."))
    axes = figure.subplots(1, 2, sharey=True)
    for ax, (column, _, title), colour in zip(axes, _headlines(comparison), PALETTE):
        ax.set_xlim(-0.02, 1.02)
        low, high = interval_of(column)
        dot_whisker(ax, _labels(comparison), table[column], table[low], table[high], colour, percent)
        ax.set_title(textwrap.fill(title, 45), fontsize=BODY_SIZE + 1)
        percent_axis(ax, "x")
        ax.set_xlabel("chance of breaking the cap")
    return figure


def differences_page(comparison: ComparisonResult) -> Figure:
    table = comparison.table.iloc[1:]
    reference = _labels(comparison)[0]
    headlines = _headlines(comparison)
    differences = [difference_of(column) for column, _, _ in headlines]
    figure = page("How much each variant changes the chance of breaking each cap", _subtitle(
        comparison, f"Against the first variant, \"{reference}\". Dot: the difference in the chance, from the same "
                    "simulated futures run under both variants. Whisker: its 95% interval. Right of zero: more "
                    "likely to break the cap. Both charts share one scale."))
    # one scale for both caps, as wide as the widest interval: a planner compares the dots across the charts
    reach = max([table[list(interval_of(name))].abs().max().max() for name in differences] + [0.05])
    reach = min(1.15 * reach, 1.02)
    axes = figure.subplots(1, 2, sharey=True)
    for ax, diff, (_, _, title), colour in zip(axes, differences, headlines, PALETTE):
        ax.set_xlim(-reach, reach)
        low, high = interval_of(diff)
        dot_whisker(ax, list(table["label"]), table[diff], table[low], table[high], colour, points)
        ax.axvline(0, color="black", linewidth=1)
        ax.set_title(textwrap.fill(title, 45), fontsize=BODY_SIZE + 1)
        ax.xaxis.set_major_formatter(lambda value, _: points(value))
        ax.set_xlabel("change in the chance (percentage points)")
    return figure


# ---------------------------------------------------------------- each variant's population and births


def _panels(figure: Figure, count: int, xlabel: str, ylabel: str) -> tuple[list[Axes], Axes | None]:
    """One panel per variant on a shared scale, each axis labelled once (the years under the lowest panel of
    each column), and a spare panel (for the legend) if the grid has one."""
    columns = min(count, 3) if count <= 6 else 4
    axes = list(figure.subplots(math.ceil(count / columns), columns, sharex=True, sharey=True, squeeze=False).flat)
    for number, ax in enumerate(axes[:count]):
        if number % columns == 0:
            ax.set_ylabel(ylabel)
        if number + columns >= count:
            ax.xaxis.set_tick_params(labelbottom=True)
            ax.set_xlabel(xlabel)
    for ax in axes[count:]:
        ax.set_axis_off()
    return axes[:count], axes[count] if len(axes) > count else None


def _small_multiples(comparison: ComparisonResult, figure: Figure, indicator: str, scale: float, xlabel: str,
                     ylabel: str) -> list[Axes]:
    """Each variant's fan of `indicator` in its own panel, with the first variant's median as a thin grey line."""
    reference = comparison.reference
    axes, spare = _panels(figure, len(comparison.variants), xlabel, ylabel)
    first = reference.indicator(indicator).median() / scale
    for number, (ax, run, label) in enumerate(zip(axes, comparison.variants.values(), _labels(comparison))):
        fan(ax, run.indicator(indicator) / scale, PALETTE[0], f"median of {run.count} runs")
        if number:
            ax.plot(np.asarray(first.index, float), first, color=PLAN_COLOUR, linewidth=1.2,
                    label="first variant's median")
        ax.set_title(textwrap.fill(label, 38), fontsize=BODY_SIZE)
        thousands_separated(ax)
        ax.grid(alpha=0.3)
    # the last panel's legend has every entry (the first variant's has no grey line)
    handles, labels = axes[-1].get_legend_handles_labels()
    if spare is not None:
        spare.legend(handles, labels, loc="center", fontsize=BODY_SIZE - 1)
    else:
        axes[0].legend(handles, labels, loc="best", fontsize=BODY_SIZE - 2)
    return axes


def _cap_at(ax: Axes, year: int, value: float, text: str) -> None:
    """The population cap where it applies: a mark at its one year, not a line across every year."""
    ax.plot([year - 0.25, year + 0.25], [value, value], color=CAP_COLOUR, linewidth=2.5, solid_capstyle="butt")
    ax.plot([year], [value], marker="v", color=CAP_COLOUR, markersize=7)
    ax.annotate(text, xy=(year - 0.3, value), ha="right", va="center", color=CAP_COLOUR, fontsize=BODY_SIZE - 2,
                weight="bold", bbox=LABEL_BOX)
    ax.set_xlim(right=year + 0.3)
    include(ax, value)


def population_page(comparison: ComparisonResult) -> Figure:
    reference = comparison.reference
    capped = "population" in reference.summary.caps
    largest = max(run.indicator("population_end").max().max() for run in comparison.variants.values())
    scale, unit = people_scale(largest)
    cap_words = ""
    if capped:
        cap = reference.summary.population
        cap_words = f" Red mark: the plan's cap of {cap.limit:,} people, which applies at the end of {cap.year} only."
    figure = page(f"The {population_noun(reference.scenario)} at the end of each year, variant by variant",
                  _subtitle(comparison, "One panel per variant, on one scale. Line: the median run; shading: where "
                                        "the middle 50%, 80% and 95% of runs fall; grey line: the first variant's "
                                        "median, to compare with." + cap_words))
    axes = _small_multiples(comparison, figure, "population_end", scale, "end of year (31 December)",
                            f"population ({unit})")
    if capped:
        for ax in axes:
            _cap_at(ax, cap.year, cap.limit / scale, f"cap {cap.limit:,}")
    return figure


def births_page(comparison: ComparisonResult) -> Figure:
    figure = page("Births each year, variant by variant", _subtitle(
        comparison, "One panel per variant, on one scale. Line: the median run; shading: where the middle 50%, 80% "
                    "and 95% of runs fall; grey line: the first variant's median, to compare with."))
    _small_multiples(comparison, figure, "births", 1.0, "year", "births in the year")
    return figure


# ---------------------------------------------------------------- a sweep


def _swept_names(comparison: ComparisonResult) -> dict[str, str]:
    """The experiment file's own words for its swept inputs, else words made from the scenario's names."""
    sweep = comparison.description["sweep"]
    return dict(zip(sweep["inputs"], sweep.get("labels") or [input_label(name, comparison.reference.scenario)
                                                             for name in sweep["inputs"]]))


def sweep_page(comparison: ComparisonResult) -> Figure:
    """The chances along the first swept input, one curve per value of the second if there is one."""
    sweep = comparison.description["sweep"]
    swept, *others = sweep["inputs"]
    names = _swept_names(comparison)
    figure = page(f"The chance of breaking each cap as the {names[swept]} changes", _subtitle(
        comparison, "Line: share of runs that break the cap at each value; shading: its 95% interval. "
                    "Dotted line: even odds (50%)."))
    table = comparison.table.sort_values(swept)
    groups = table.groupby(others[0], sort=True) if others else [(None, table)]
    for ax, (column, _, title) in zip(figure.subplots(1, 2, sharey=True), _headlines(comparison)):
        low, high = interval_of(column)
        for (value, rows), colour in zip(groups, colours(len(groups))):
            label = f"{names[others[0]]} = {value:g}" if others else None
            ax.plot(rows[swept], rows[column], color=colour, marker="o", linewidth=2, label=label)
            ax.fill_between(rows[swept], rows[low], rows[high], color=colour, alpha=0.2)
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


CHART_PAGES: tuple[Callable[[ComparisonResult], Figure], ...] = (
    probabilities_page, differences_page, population_page, births_page)


def pages_of(comparison: ComparisonResult) -> list[Callable[[ComparisonResult], Figure]]:
    """The comparison report's pages in order: the answer in words, the charts, and a sweep's curves."""
    return [*summary_pages(comparison), *CHART_PAGES, *((sweep_page,) if comparison.description["kind"] == "sweep"
                                                        else ())]
