"""The run report's pages, one idea each, every one drawn from an `EnsembleResult`.

The answer first (the chance of breaking each cap, what was assumed that moves
it, how the run was made), then population, natural growth, births, fertility
by birth order, the backlog a relaxation releases, pyramids, age structure,
which inputs explain the spread, and every uncertain input. Every series starts
in the base year, from the base population the run starts with.
`RUN_PAGES` is their order in the report.
"""
from __future__ import annotations

import math
import textwrap
from typing import Callable

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MultipleLocator, PercentFormatter

from sim.report.charts import (BODY_SIZE, PALETTE, PLAN_COLOUR, answer_box, cap_mark, fan, histogram_against,
                               note, page, people_scale, reference_line, share_bars, text_column,
                               thousands_separated)
from sim.report.wording import (AGE_TITLES, BIRTH_ORDERS, age_group_label, assumptions, backlog_lines, base_year_words,
                                cap_text, cap_words, caveats, chance, chance_colour, chance_number, futures,
                                headline_outcome_words, how_run, input_range, interval, movers, plain_input_words,
                                population_noun, rescaling_note, short_outcome_words, size_spread_note, start_words)
from sim.results.runs import EnsembleResult
from sim.results.sensitivity import HARMONICS, noise_floor

NATURAL_SEX_RATIO = 105  # boys per 100 girls born where births are not selected by sex
TOP_INPUTS = 10
ANSWER_COLUMNS = (0.03, 0.52)  # left edges of the page's two columns
HOW_TO_READ_A_CHANCE = (
    "A chance is the share of the {runs} simulated futures, under these assumptions, that break the cap. Each "
    "future draws its own uncertain inputs, so what is unknown about them is already inside the chance; the 95% "
    "interval is simulation error only. Green: under 10%; orange: 10% to 50%; red: 50% or more.")
MEDIAN_AND_BANDS = "line: the median of {runs} futures; shading: where the middle 50%, 80% and 95% of them fall"


def _bands(run: EnsembleResult) -> str:
    return MEDIAN_AND_BANDS.format(runs=run.count)


def drivers(run: EnsembleResult) -> dict[str, pd.DataFrame | str]:
    """Each headline outcome's `variance_shares`, or why the runs cannot give them (in words)."""
    return {outcome: shares if isinstance(shares, pd.DataFrame) else f"Cannot rank the inputs: {shares}."
            for outcome, shares in run.input_shares.items()}


def answer_page(run: EnsembleResult) -> Figure:
    if run.caps:
        figure = page("Will the population plan's caps hold?", f"{run.scenario.name}: the chance of breaking each "
                                                                f"cap, from {run.count} simulated futures.")
    else:
        figure = page("What the runs project", f"{run.scenario.name}: {run.count} simulated futures (runs). The "
                                               "scenario sets no caps, so there is no chance of breaking one to give.")
    figure.set_layout_engine("none")  # a page of placed text: no charts for the engine to arrange
    for left, cap in zip(ANSWER_COLUMNS, run.caps):
        found = run.summary.caps[cap.name]
        words, headline = cap_words(cap.name, found), found.probabilities[cap.headline.key]
        context = " ".join(f"{words[measure.key][0].lower()}{words[measure.key][1:]}: "
                           f"{chance(found.probabilities[measure.key])}."
                           for measure in cap.measures if not measure.headline)
        answer_box(figure, left, words[cap.headline.key], chance_number(headline), chance_colour(headline.p),
                   f"{futures(headline)}\n95% interval: {interval(headline)}\n(simulation error only)",
                   words["capped"], f"For context, not capped: {context}")
    top = 0.58
    if run.caps:
        top = text_column(figure, ANSWER_COLUMNS[0], top, 0.94, "", [HOW_TO_READ_A_CHANCE.format(runs=run.count)],
                          warnings=caveats(run))
    shares = {outcome: found for outcome, found in drivers(run).items() if isinstance(found, pd.DataFrame)}
    where = (f"Which inputs explain the spread: page {_page_of(drivers_page)}; every uncertain input and its "
             f"range: page {_page_of(inputs_page)}; how the run was made: page {_page_of(provenance_page)}.")
    text_column(figure, ANSWER_COLUMNS[0], top, 0.45, "What moves the answer most", [*movers(run, shares), where])
    text_column(figure, ANSWER_COLUMNS[1], top, 0.45, "What was assumed", assumptions(run))
    return figure


def _page_of(build: Callable[[EnsembleResult], Figure]) -> int:
    return RUN_PAGES.index(build) + 1


def population_page(run: EnsembleResult) -> Figure:
    table = run.indicator("population_end")
    limit = run.summary.population.limit if "population" in run.summary.caps else 0
    scale, unit = people_scale(max(table.max().max(), limit))
    figure = page(f"The {population_noun(run.scenario)} at the end of each year, {run.base_year}-{run.final_year}",
                  f"{run.base_year}: the population the run starts from{size_spread_note(run)}. "
                  f"{_bands(run).capitalize()}." + rescaling_note(run))
    ax = figure.add_subplot()
    fan(ax, table / scale, PALETTE[0], f"median of {run.count} futures")
    if "population" in run.summary.caps:
        cap_mark(ax, run.summary.population.year, limit / scale, cap_text(run))
    ax.set_xlabel("end of year (31 December)")
    ax.set_ylabel(f"population ({unit})")
    thousands_separated(ax)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=BODY_SIZE)
    return figure


def growth_page(run: EnsembleResult) -> Figure:
    growth = run.summary.caps.get("natural_growth")
    right_words = (f"Right: the {growth.years[0]}-{growth.years[1]} average of each future, which the plan caps; "
                   "single years are not capped." if growth else "The scenario sets no cap on natural growth.")
    figure = page("Natural growth: births minus deaths per 1,000 people",
                  f"Left: each year ({_bands(run)}); {base_year_words(run)}. " + right_words)
    left, right = figure.subplots(1, 2, width_ratios=(3, 2))
    fan(left, run.indicator("natural_growth_permille"), PALETTE[0], f"median of {run.count} futures")
    left.set_title("Each year", fontsize=BODY_SIZE + 1)
    left.set_xlabel("year")
    left.set_ylabel("natural growth (per 1,000 people)")
    left.grid(alpha=0.3)
    left.legend(loc="best", fontsize=BODY_SIZE - 1)
    if growth is None:
        note(right, "No cap on natural growth in this scenario.")
        return figure
    first, last = growth.years
    histogram_against(right, run.outcomes["natural_growth_mean"], growth.limit_permille)
    right.set_title(f"Average over {first}-{last}, one value per future", fontsize=BODY_SIZE + 1)
    right.set_xlabel(f"average natural growth {first}-{last} (per 1,000 people)")
    right.set_ylabel("number of futures")
    return figure


ALL_BIRTHS = {"births": "all births", **BIRTH_ORDERS}


def births_page(run: EnsembleResult) -> Figure:
    figure = page("Births each year, in all and by the child's birth order",
                  f"Top: births in the year; bottom: against the same future's {run.base_year} births (1 = as many "
                  f"as in {run.base_year}; one scale for every order). {_bands(run).capitalize()}; "
                  f"{base_year_words(run)}.")
    axes = figure.subplots(2, len(ALL_BIRTHS), sharex=True)
    for ax in axes[1, 1:]:
        ax.sharey(axes[1, 0])  # ratios on one scale, so the orders' rises compare
    for column, ((indicator, words), colour) in enumerate(zip(ALL_BIRTHS.items(), (PLAN_COLOUR, *PALETTE))):
        births = run.indicator(indicator)
        top, bottom = axes[0, column], axes[1, column]
        fan(top, births, colour, "median", label_bands=column == 0)
        top.set_title(words[0].upper() + words[1:], fontsize=BODY_SIZE + 1)
        top.set_ylim(bottom=0)
        thousands_separated(top)
        base = births[run.base_year]
        fan(bottom, births.div(base.where(base > 0), axis=0), colour, "median", label_bands=False)
        bottom.axhline(1, color="black", linewidth=0.8)
        bottom.set_xlabel("year")
        for ax in (top, bottom):
            ax.grid(alpha=0.3)
            ax.tick_params(axis="x", labelrotation=90)
    axes[0, 0].set_ylabel("births in the year")
    axes[1, 0].set_ylabel(f"against {run.base_year} (times)")
    axes[0, 0].legend(loc="lower left", fontsize=BODY_SIZE - 3)
    return figure


TFR_ORDERS = {"tfr": "All births", "tfr_order1": "First children", "tfr_order2": "Second children",
              "tfr_order3plus": "Third or later"}


def fertility_page(run: EnsembleResult) -> Figure:
    figure = page("Children per woman (total fertility rate) by birth order, and boys born per 100 girls",
                  "The children a woman would have at the year's rates by age; by order, the first, second and "
                  f"later children among them (they add up to the total). {_bands(run).capitalize()}; "
                  f"{base_year_words(run)}. The base population's births have no sex, so the sex ratio starts "
                  f"in {run.base_year + 1}.")
    axes = figure.subplots(1, len(TFR_ORDERS) + 1, width_ratios=(1,) * len(TFR_ORDERS) + (1.3,))
    for ax, ((indicator, title), colour) in zip(axes, zip(TFR_ORDERS.items(), (PLAN_COLOUR, *PALETTE))):
        fan(ax, run.indicator(indicator), colour, "median", label_bands=ax is axes[0])
        ax.set_title(title, fontsize=BODY_SIZE + 1)
        ax.set_ylim(bottom=0)
    axes[0].set_ylabel("children per woman")
    axes[0].legend(loc="lower left", fontsize=BODY_SIZE - 3)
    ratio = axes[-1]
    fan(ratio, run.indicator("srb"), PALETTE[3], f"median of {run.count} futures", label_bands=False)
    reference_line(ratio, NATURAL_SEX_RATIO, f"natural level, about {NATURAL_SEX_RATIO}", colour=PLAN_COLOUR)
    ratio.set_title("Sex ratio at birth", fontsize=BODY_SIZE + 1)
    ratio.set_ylabel("boys born per 100 girls born")
    ratio.set_ylim(bottom=min(ratio.get_ylim()[0], NATURAL_SEX_RATIO - 5))  # room under the natural level
    ratio.legend(loc="lower right", fontsize=BODY_SIZE - 2)
    for ax in axes:
        ax.set_xlabel("year")
        ax.grid(alpha=0.3)
        ax.tick_params(axis="x", labelrotation=90)
    return figure


def backlog_page(run: EnsembleResult) -> Figure:
    """Who a relaxation of the rules in the run releases: the backlog's size and ages."""
    figure = page("The backlog: women the old rules held back from a child they want",
                  "At a relaxation, the women who want their next child, are allowed it now and would never have "
                  "been, and whose last child is old enough that they would have had it by now. Bars: median of "
                  f"{run.count} futures; lines: where the middle 80% fall.")
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
    tables = {indicator: run.indicator(indicator) for indicator in AGE_TITLES}
    subtitle = (f"Share of the population in each age group at the end of each year; {_bands(run)}. Every panel "
                "spans the same number of percentage points, so slopes compare.")
    if expected is not None:
        subtitle += (f" Black markers: what the plan itself expected for {expected.year}. "
                     + " ".join(_against_plan(tables, expected)))
    figure = page("How old the population is", subtitle)
    axes = figure.subplots(1, len(AGE_TITLES))
    marks = {}
    if expected is not None:
        marks = {"share_65plus": (expected.share_65plus, f"plan expected about {expected.share_65plus:.1%} in "
                                                         f"{expected.year}", "D"),
                 "share_15_64": (expected.share_15_64_below, f"plan expected below {expected.share_15_64_below:.0%} "
                                                             f"in {expected.year}", "v")}
    for ax, (indicator, title) in zip(axes, AGE_TITLES.items()):
        fan(ax, tables[indicator], PALETTE[2], f"median of {run.count} futures", label_bands=ax is axes[0])
        ax.set_title(title, fontsize=BODY_SIZE + 1)
        ax.set_xlabel("end of year")
        ax.grid(alpha=0.3)
        if indicator in marks:
            share, text, marker = marks[indicator]
            ax.plot([expected.year], [share], marker=marker, color="black", markersize=10, linestyle="none",
                    zorder=5, label=text)
    _same_span(axes, [[tables[name].quantile(0.025).min(), tables[name].quantile(0.975).max(),
                       *([marks[name][0]] if name in marks else [])] for name in AGE_TITLES])
    axes[0].set_ylabel("share of the population")
    for ax in axes:
        ax.legend(loc="best", fontsize=BODY_SIZE - 2)
    return figure


def _same_span(axes: list[Axes], values: list[list[float]]) -> None:
    """Give every panel the y span of the widest (with a margin), centred on its own values, and ticks at a
    step whose labels are exact."""
    span = 1.15 * max(max(v) - min(v) for v in values)
    step = _tick_step(span)
    for ax, v in zip(axes, values):
        middle = (max(v) + min(v)) / 2
        ax.set_ylim(middle - span / 2, middle + span / 2)
        ax.yaxis.set_major_locator(MultipleLocator(step))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=max(0, -math.floor(math.log10(step * 100)))))


def _tick_step(span: float) -> float:
    """A step of 1, 2 or 5 times a power of ten giving four to ten ticks over `span`."""
    power = 10.0 ** math.floor(math.log10(span / 4))
    return next(power * m for m in (1, 2, 5, 10) if span / (power * m) <= 10)


def _against_plan(tables: dict[str, pd.DataFrame], expected) -> list[str]:
    """A sentence for each of the plan's expectations that the runs' 95% band contradicts: the share aged 65 and
    over (a level), the share aged 15-64 (an upper bound)."""
    sentences = []
    for name, value, words, bound in (("share_65plus", expected.share_65plus, "aged 65 and over", False),
                                      ("share_15_64", expected.share_15_64_below, "aged 15-64", True)):
        shares = tables[name][expected.year]
        low, high = shares.quantile(0.025), shares.quantile(0.975)
        if low <= value <= high or (bound and high < value):
            continue
        side = "above" if low > value else "below"
        sentences.append(f"The runs put the share {words} at the end of {expected.year} at {shares.median():.1%} "
                         f"(95% of futures {low:.1%} to {high:.1%}), {side} the plan's "
                         f"{'bound of' if bound else 'expected'} {value:.1%}: the population ages "
                         f"{'faster' if (side == 'above') == (name == 'share_65plus') else 'more slowly'} here "
                         "than the plan expected.")
    return sentences


def drivers_page(run: EnsembleResult) -> Figure:
    floor = noise_floor(run.count) if run.count > 2 * HARMONICS else 0.0
    figure = page("Which uncertain inputs explain the spread across the futures",
                  f"Bars: the share of the spread in the outcome across the {run.count} futures that each input "
                  "explains alone (first-order sensitivity index, estimated from the futures' own draws by "
                  "RBD-FAST). Blue: a higher value gives a higher outcome; orange: a lower one. Grey: shares "
                  f"{run.count} futures cannot tell from zero. The rest of the spread is chance (who is born, "
                  "dies, moves) and inputs acting together." + _joint_note(run))
    found = drivers(run)
    if not found:
        note(figure.add_subplot(), "The scenario sets no caps, so there are no headline outcomes to rank "
                                   "the inputs against.")
        return figure
    tables = [shares for shares in found.values() if isinstance(shares, pd.DataFrame) and not shares.empty]
    largest = max([0.2, *(1.1 * shares["share"].max() for shares in tables)])
    words = headline_outcome_words(run)
    for ax, (outcome, shares) in zip(figure.subplots(1, len(found)), found.items()):
        ax.set_title(words[outcome][0].upper() + words[outcome][1:], fontsize=BODY_SIZE + 1)
        _shares_or_note(ax, shares, run, floor, largest)
    return figure


def _joint_note(run: EnsembleResult) -> str:
    if run.scenario.inputs_from is None:
        return ""
    return (" Inputs drawn jointly from the fitted posterior move together, so what they explain overlaps.")


def _shares_or_note(ax: Axes, shares: pd.DataFrame | str, run: EnsembleResult, floor: float, largest: float) -> None:
    if isinstance(shares, str):
        note(ax, textwrap.fill(shares, 45))
        return
    if shares.empty:
        note(ax, textwrap.fill("No input was drawn in this run (all held at their central values), "
                               "so none can explain the spread.", 45))
        return
    top = shares.head(TOP_INPUTS)
    share_bars(ax, top, [textwrap.fill(plain_input_words(name, run.scenario), 30) for name in top.index],
               floor, largest)
    ax.set_xlabel("share of the spread explained alone")


def inputs_page(run: EnsembleResult) -> Figure:
    """Every uncertain input the run drew: what it is, its range, what it explains of each outcome."""
    figure = page("Every uncertain input and its range",
                  "Each future draws every input below from its range. Where the futures can tell it from zero, the "
                  "share of each headline outcome's spread the input explains alone (the previous page).")
    figure.set_layout_engine("none")  # placed text
    drawn = run.inputs.set_index("replicate")
    names = list(drawn.columns[drawn.nunique() > 1])
    found = drivers(run)
    lines = [_input_line(run, name, found) for name in names] or ["No input was drawn in this run (all held at "
                                                                  "their central values)."]
    half = math.ceil(len(lines) / 2)
    for left, column in zip(ANSWER_COLUMNS, (lines[:half], lines[half:])):
        text_column(figure, left, 0.86, 0.45, "", column)
    return figure


def provenance_page(run: EnsembleResult) -> Figure:
    """How the run was made, enough to make it again, and what its design says about the spread."""
    figure = page("How this run was made")
    figure.set_layout_engine("none")  # placed text
    text_column(figure, ANSWER_COLUMNS[0], 0.86, 0.94, "", how_run(run), warnings=caveats(run))
    return figure


def _input_line(run: EnsembleResult, name: str, found: dict[str, pd.DataFrame | str]) -> str:
    floor = noise_floor(run.count) if run.count > 2 * HARMONICS else math.inf
    explained = [f"{shares.loc[name, 'share']:.0%} of {words}" for outcome, words in short_outcome_words(run).items()
                 if isinstance(shares := found.get(outcome), pd.DataFrame) and name in shares.index
                 and shares.loc[name, "share"] > floor]
    return (f"{plain_input_words(name, run.scenario)}: {input_range(run, name)}"
            + (f"; explains {', '.join(explained)}" if explained else ""))


RUN_PAGES: tuple[Callable[[EnsembleResult], Figure], ...] = (
    answer_page, population_page, growth_page, births_page, fertility_page, backlog_page, pyramid_page,
    age_structure_page, drivers_page, inputs_page, provenance_page)
