"""The run report's pages, one idea each, every one drawn from an `EnsembleResult`.

The answer first (the chance of breaking each cap, what was assumed, how the
run was made), then population, natural growth, births, the backlog a
relaxation releases, pyramids, age structure and which inputs matter.
`RUN_PAGES` is their order in the report.
"""
from __future__ import annotations

import textwrap
from typing import Callable

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.report.charts import (BODY_SIZE, PALETTE, PLAN_COLOUR, answer_box, fan, histogram_against, include, note, page,
                               people_scale, percent_axis, reference_line, text_column, thousands_separated, tornado)
from sim.report.wording import (AGE_TITLES, BIRTH_ORDERS, age_group_label, assumptions, backlog_lines, cap_text,
                                cap_words, caveats, chance, headline_outcome_words, headline_sentence, how_run,
                                input_label, interval, percent, population_noun, rescaling_note, start_words)
from sim.results.runs import EnsembleResult
from sim.results.sensitivity import prcc
from sim.scenario.schema import Scenario

NATURAL_SEX_RATIO = 105  # boys per 100 girls born where births are not selected by sex
TOP_INPUTS = 10
ANSWER_COLUMNS = (0.03, 0.52)  # left edges of the page's two columns


def answer_page(run: EnsembleResult) -> Figure:
    if run.caps:
        figure = page("Will the population plan's caps hold?", f"{run.scenario.name}: the chance of breaking each "
                                                                f"cap, from {run.count} simulated futures (runs).")
    else:
        figure = page("What the runs project", f"{run.scenario.name}: {run.count} simulated futures (runs). The "
                                               "scenario sets no caps, so there is no chance of breaking one to give.")
    figure.set_layout_engine("none")  # a page of placed text: no charts for the engine to arrange
    for left, cap in zip(ANSWER_COLUMNS, run.caps):
        found = run.summary.caps[cap.name]
        words, headline = cap_words(cap.name, found), found.probabilities[cap.headline.key]
        others = " ".join(f"{words[measure.key]}: {chance(found.probabilities[measure.key])}."
                          for measure in cap.measures if not measure.headline)
        answer_box(figure, left, words[cap.headline.key], percent(headline.p),
                   f"chance\n95% interval: {interval(headline)}", headline_sentence(cap.name, found, run.count),
                   others)
    text_column(figure, ANSWER_COLUMNS[0], 0.53, 0.45, "What was assumed", assumptions(run))
    text_column(figure, ANSWER_COLUMNS[1], 0.53, 0.45, "How this was run", how_run(run), warnings=caveats(run))
    return figure


def population_page(run: EnsembleResult) -> Figure:
    table = run.indicator("population_end")
    limit = run.summary.population.limit if "population" in run.summary.caps else 0
    scale, unit = people_scale(max(table.max().max(), limit))
    figure = page(f"The {population_noun(run.scenario)} at the end of each year, {run.base_year}-{run.final_year}",
                  f"{run.base_year}: the starting population. Line: the middle run (median) of {run.count}; "
                  "shading: where the middle 50%, 80% and 95% of runs fall." + rescaling_note(run))
    ax = figure.add_subplot()
    fan(ax, table / scale, PALETTE[0], f"median of {run.count} runs")
    if "population" in run.summary.caps:
        reference_line(ax, limit / scale, cap_text(run))
    ax.set_xlabel("end of year (31 December)")
    ax.set_ylabel(f"population ({unit})")
    thousands_separated(ax)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=BODY_SIZE)
    return figure


def growth_page(run: EnsembleResult) -> Figure:
    growth = run.summary.caps.get("natural_growth")
    right_words = (f"Right: the {growth.years[0]}-{growth.years[1]} average of each run, which the plan caps."
                   if growth else "The scenario sets no cap on natural growth.")
    figure = page("Natural growth: births minus deaths per 1,000 people",
                  f"Left: each year (line: median of {run.count} runs; shading: middle 50%, 80%, 95% of runs). "
                  + right_words)
    left, right = figure.subplots(1, 2, width_ratios=(3, 2))
    fan(left, run.indicator("natural_growth_permille"), PALETTE[0], f"median of {run.count} runs")
    left.set_title("Each year", fontsize=BODY_SIZE + 1)
    left.set_xlabel("year")
    left.set_ylabel("natural growth (per 1,000 people)")
    left.grid(alpha=0.3)
    if growth is None:
        left.legend(loc="best", fontsize=BODY_SIZE - 1)
        note(right, "No cap on natural growth in this scenario.")
        return figure
    first, last = growth.years
    limit = growth.limit_permille
    reference_line(left, limit, f"plan's cap: {limit:g} per mille on average")
    left.legend(loc="best", fontsize=BODY_SIZE - 1)
    histogram_against(right, run.outcomes["natural_growth_mean"], limit)
    right.set_title(f"Average over {first}-{last}, one value per run", fontsize=BODY_SIZE + 1)
    right.set_xlabel(f"average natural growth {first}-{last} (per 1,000 people)")
    right.set_ylabel("number of runs")
    return figure


def births_page(run: EnsembleResult) -> Figure:
    figure = page("Births each year, and boys born per 100 girls",
                  f"Lines: median of {run.count} runs; shading: where the middle 80% of runs fall.")
    left, right = figure.subplots(1, 2, width_ratios=(3, 2))
    for colour, (indicator, words) in zip(PALETTE, BIRTH_ORDERS.items()):
        fan(left, run.indicator(indicator), colour, words, bands=(0.8,), label_bands=False)
    left.set_title("Births by the child's birth order", fontsize=BODY_SIZE + 1)
    left.set_xlabel("year")
    left.set_ylabel("births in the year")
    left.set_ylim(bottom=0)
    thousands_separated(left)
    left.grid(alpha=0.3)
    left.legend(loc="best", fontsize=BODY_SIZE - 1)
    fan(right, run.indicator("srb"), PALETTE[3], f"median of {run.count} runs", bands=(0.8,))
    reference_line(right, NATURAL_SEX_RATIO, f"natural level, about {NATURAL_SEX_RATIO}", colour=PLAN_COLOUR)
    right.set_title("Sex ratio at birth", fontsize=BODY_SIZE + 1)
    right.set_xlabel("year")
    right.set_ylabel("boys born per 100 girls born")
    right.grid(alpha=0.3)
    right.legend(loc="best", fontsize=BODY_SIZE - 1)
    return figure


def backlog_page(run: EnsembleResult) -> Figure:
    """Who a relaxation of the rules in the run releases: the backlog's size and ages."""
    figure = page("The backlog: women the old rules held back from a child they want",
                  "At a relaxation, the women who want their next child, are allowed it now and would never have "
                  "been, and whose last child is old enough that they would have had it by now. Bars: median of "
                  f"{run.count} runs; lines: where the middle 80% fall.")
    if run.backlogs.empty:
        note(figure.add_subplot(), "No relaxation of the rules in this run, so no backlog is released.")
        return figure
    first = run.backlogs[run.backlogs["date"] == run.backlogs["date"].min()]
    figure.set_layout_engine("none")  # a chart and a column of text, placed
    ax = figure.add_axes((0.07, 0.12, 0.5, 0.68))
    groups = sorted(first["age_group"].unique())
    by_group = {what: first.groupby(["replicate", "age_group"])[what].sum().unstack("age_group")[groups]
                for what in ("released", "acting")}
    positions = np.arange(len(groups))
    for offset, (what, words, colour) in zip((-0.2, 0.2), (("released", "in the backlog", PALETTE[0]),
                                                           ("acting", "acting on the wish", PALETTE[2]))):
        table = by_group[what]
        ax.bar(positions + offset, table.median(), width=0.4, color=colour, label=words)
        ax.vlines(positions + offset, table.quantile(0.1), table.quantile(0.9), color="black", linewidth=1)
    ax.set_xticks(positions, [age_group_label(group, last=False) for group in groups])
    ax.set_xlabel("age of the woman (years)")
    ax.set_ylabel("women")
    thousands_separated(ax)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", fontsize=BODY_SIZE - 1)
    text_column(figure, 0.62, 0.80, 0.35, "In numbers", backlog_lines(run, first))
    return figure


def pyramid_page(run: EnsembleResult) -> Figure:
    start, end = run.pyramid(run.base_year), run.pyramid(run.final_year)
    widest = max(start.max().max(), end.max().max())
    scale, unit = people_scale(start.to_numpy().sum())  # the unit of the population page
    figure = page(f"Population by age and sex: {start_words(run)} against end of {run.final_year}",
                  f"Each bar is a five-year age group. {run.final_year}: the median of {run.count} runs.")
    ax = figure.add_subplot()
    positions = np.arange(len(start))
    for sign, sex, colour in ((-1, "male", PALETTE[0]), (1, "female", PALETTE[1])):
        ax.barh(positions, sign * start[sex] / scale, height=0.85, color=colour, alpha=0.45,
                label=f"{'men' if sign < 0 else 'women'}, {start_words(run)}")
        ax.barh(positions, sign * end[sex] / scale, height=0.85, fill=False, edgecolor="black", linewidth=1.4,
                label=f"end of {run.final_year} (median)" if sign > 0 else None)
    ax.set_yticks(positions, [age_group_label(group, last=group == start.index.max()) for group in start.index])
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlim(-1.1 * widest / scale, 1.1 * widest / scale)
    thousands_separated(ax, "x", absolute=True)
    ax.set_xlabel(f"{unit} in the age group (men to the left, women to the right)")
    ax.set_ylabel("age (years)")
    ax.text(0.25, 1.01, "men", transform=ax.transAxes, ha="center", fontsize=BODY_SIZE + 2, weight="bold")
    ax.text(0.75, 1.01, "women", transform=ax.transAxes, ha="center", fontsize=BODY_SIZE + 2, weight="bold")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper right", fontsize=BODY_SIZE - 1)
    return figure


def age_structure_page(run: EnsembleResult) -> Figure:
    expected = run.scenario.targets.expected_age_structure
    subtitle = (f"Share of the population in each age group at the end of each year. Line: median of {run.count} "
                "runs; shading: middle 50%, 80%, 95% of runs.")
    if expected is not None:
        subtitle += f" Black markers: what the plan itself expected for {expected.year}."
    figure = page("How old the population is", subtitle)
    axes = figure.subplots(1, len(AGE_TITLES))
    for ax, (indicator, title) in zip(axes, AGE_TITLES.items()):
        fan(ax, run.indicator(indicator), PALETTE[2], f"median of {run.count} runs", label_bands=ax is axes[0])
        ax.set_title(title, fontsize=BODY_SIZE + 1)
        ax.set_xlabel("end of year")
        percent_axis(ax, decimals=1)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("share of the population")
    if expected is not None:
        _expected_share(axes[2], expected.year, expected.share_65plus,
                        f"plan expected about {expected.share_65plus:.1%} in {expected.year}")
        _expected_share(axes[1], expected.year, expected.share_15_64_below,
                        f"plan expected below {expected.share_15_64_below:.0%} in {expected.year}", marker="v")
    for ax in axes:
        ax.legend(loc="best", fontsize=BODY_SIZE - 2)
    return figure


def _expected_share(ax: Axes, year: int, share: float, text: str, marker: str = "D") -> None:
    # named in the legend rather than beside the marker, where it would hide the bands
    ax.plot([year], [share], marker=marker, color="black", markersize=10, linestyle="none", zorder=5, label=text)
    include(ax, share, margin=0.15)


def drivers_page(run: EnsembleResult) -> Figure:
    drawn = run.inputs.set_index("replicate").nunique().gt(1).sum()
    figure = page("Which uncertain inputs move the results most",
                  f"Bars: partial rank correlation of each input with the outcome over {run.count} runs "
                  f"(the {TOP_INPUTS} strongest of {drawn} drawn inputs). Longer bar: the input matters more. "
                  "Blue: a higher value gives a higher outcome; orange: a lower one.")
    outcomes = run.outcomes
    panels = headline_outcome_words(run)
    if not panels:
        note(figure.add_subplot(), "The scenario sets no caps, so there are no headline outcomes to rank "
                                   "the inputs against.")
        return figure
    for ax, (outcome, words) in zip(figure.subplots(1, len(panels)), panels.items()):
        ax.set_title(words[0].upper() + words[1:], fontsize=BODY_SIZE + 1)
        _tornado_or_note(ax, run.inputs, outcomes[outcome], run.scenario)
    return figure


def _tornado_or_note(ax: Axes, inputs: pd.DataFrame, outcome: pd.Series, scenario: Scenario) -> None:
    try:
        coefficients = prcc(inputs, outcome).head(TOP_INPUTS)
    except ValueError as exc:
        note(ax, textwrap.fill(f"Cannot rank the inputs: {exc}.", 45))
        return
    if coefficients.empty:
        note(ax, textwrap.fill("No input was drawn in this run (all held at their central values), "
                               "so none can explain the spread.", 45))
        return
    tornado(ax, coefficients, [textwrap.fill(input_label(name, scenario), 34) for name in coefficients.index])
    ax.set_xlabel("partial rank correlation with the outcome (-1 to 1)")


RUN_PAGES: tuple[Callable[[EnsembleResult], Figure], ...] = (
    answer_page, population_page, growth_page, births_page, backlog_page, pyramid_page, age_structure_page,
    drivers_page)
