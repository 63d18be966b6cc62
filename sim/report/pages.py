"""PDF reports for planners, built only from the files a run (or an experiment) left on disk.

`write_run_report(run_dir)` writes run_dir/report.pdf: the answer, then one idea
per page (population, natural growth, births, the backlog a relaxation
releases, pyramids, age structure, which inputs matter). `write_comparison_report(experiment_dir)` writes
experiment_dir/comparison.pdf for the variants of an `erhai compare` experiment.

Both write under a temporary name and rename, like every run file, and give the
same bytes for the same inputs when SOURCE_DATE_EPOCH fixes the creation date.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from pydantic import BaseModel

from sim import __version__
from sim.report.charts import (BODY_SIZE, CAP_COLOUR, PALETTE, PLAN_COLOUR, colours, dot_whisker, fan, footer, include,
                        note, page, people_scale, percent_axis, reference_line, text_column, thousands_separated,
                        tornado)
from sim.scenario.distributions import BaseDistribution, Beta, Fixed, LogNormal, Normal, Triangular, Uniform
from sim.errors import UserError
from sim.results.storage import COMPLETE, RunDirectory
from sim.scenario.schema import Regime, Scenario
from sim.results.sensitivity import headline_outcomes, prcc
from sim.results.summary import headline_sentences

REPORT, COMPARISON = "report.pdf", "comparison.pdf"
RUN_FILES = ("summary.json", "replicates.csv", "inputs.csv", "pyramids.csv", "backlogs.csv")
AGE_GROUPS = {"share_0_14": (0, 15), "share_15_64": (15, 65), "share_65plus": (65, np.inf)}
AGE_TITLES = {"share_0_14": "Children (aged 0-14)", "share_15_64": "Working age (15-64)",
              "share_65plus": "Older people (65 and over)"}
BIRTH_ORDERS = {"births_order1": "first child", "births_order2": "second child",
                "births_order3plus": "third or later child"}
REGIME_WORDS = {
    Regime.one_child: "one-child rules",
    Regime.selective_two_child: "selective two-child (a second child if either spouse is an only child)",
    Regime.universal_two_child: "universal two-child (every couple may have two)",
    Regime.three_child: "three-child rules",
    Regime.none: "no limit on births",
}
NATURAL_SEX_RATIO = 105  # boys per 100 girls born where births are not selected by sex
TOP_INPUTS = 10


@dataclass(frozen=True)
class Run:
    """A complete run directory, read once."""

    path: Path
    manifest: dict
    scenario: Scenario
    summary: dict
    replicates: pd.DataFrame  # replicate, year, indicators: the simulated years only
    inputs: pd.DataFrame
    pyramids: pd.DataFrame
    backlogs: pd.DataFrame  # each relaxation's backlog by replicate (`sim.model.Backlog.rows`)

    @property
    def seed(self) -> int:
        return self.manifest["settings"]["seed"]

    @property
    def count(self) -> int:
        return self.summary["replicates"]

    @property
    def base_year(self) -> int:
        return int(self.replicates["year"].min()) - 1

    @property
    def final_year(self) -> int:
        return int(self.replicates["year"].max())

    def yearly(self, indicator: str) -> pd.DataFrame:
        """replicate x year; the base year too for what the base population's pyramid tells."""
        table = self.replicates.pivot(index="replicate", columns="year", values=indicator)
        base = base_indicators(self.pyramids, self.base_year)
        if indicator in base.columns:
            table.insert(0, self.base_year, base[indicator])
        return table

    def pyramid(self, year: int) -> pd.DataFrame:
        """Median people over the replicates, age_group x sex."""
        rows = self.pyramids[self.pyramids["year"] == year]
        return rows.groupby(["age_group", "sex"])["people"].median().unstack("sex")


def read_run(path: Path) -> Run:
    """A run directory as written by `erhai run`; a clear UserError for anything else."""
    path = Path(path)
    directory = RunDirectory(path)
    manifest = directory.manifest()
    if manifest["status"] != COMPLETE:
        raise UserError(f"{path}: the run is not complete (status {manifest['status']!r}); "
                        f"finish it with erhai run --resume {path}, then report it")
    missing = [name for name in RUN_FILES if not (path / name).exists()]
    if missing:
        raise UserError(f"{path}: missing {', '.join(missing)}; was it written by an older erhai run?")
    return Run(path, manifest, directory.scenario(), json.loads((path / "summary.json").read_text()),
               pd.read_csv(path / "replicates.csv"), pd.read_csv(path / "inputs.csv"),
               pd.read_csv(path / "pyramids.csv"), pd.read_csv(path / "backlogs.csv"))


def base_indicators(pyramids: pd.DataFrame, year: int) -> pd.DataFrame:
    """Population and age shares of each replicate in `year`, from its pyramid (indexed by replicate)."""
    rows = pyramids[pyramids["year"] == year]
    by_age = rows.groupby(["replicate", "age_group"])["people"].sum().unstack("age_group")
    total = by_age.sum(axis=1)
    shares = {name: by_age.loc[:, (by_age.columns >= low) & (by_age.columns < high)].sum(axis=1) / total
              for name, (low, high) in AGE_GROUPS.items()}
    return pd.DataFrame({"population_end": total, **shares})


# ---------------------------------------------------------------- words


def input_label(dotted: str, scenario: Scenario) -> str:
    """A drawn input's dotted path in words, e.g. 'behaviour: second child intention, rural'.

    The section stays in front because a field alone can be ambiguous (the sex ratio's 'third plus');
    a row of a list is named by its first field, e.g. 'only child share (born until 1985)'."""
    section, *rest = dotted.split(".")
    node, words = getattr(scenario, section), []
    for part in rest:
        if part.isdigit():
            node = node[int(part)]
            first = next(iter(type(node).model_fields))
            words[-1] += f" ({_words(first)} {getattr(node, first)})"
        else:
            node = getattr(node, part)
            words.append(_words(part))
    return f"{_words(section)}: {', '.join(words)}"


def _words(name: str) -> str:
    return name.replace("_", " ")


def describe(value: float | BaseDistribution) -> str:
    """An input as a planner would say it: a number, or the range its distribution allows."""
    if isinstance(value, (Beta, Normal, LogNormal)):
        return f"around {_number(value.mean)} (± {_number(value.sd)})"
    if isinstance(value, Triangular):
        return f"{_number(value.low)} to {_number(value.high)}, most likely {_number(value.mode)}"
    if isinstance(value, Uniform):
        return f"anywhere from {_number(value.low)} to {_number(value.high)}"
    if isinstance(value, Fixed):
        return _number(value.value)
    return _number(value)


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}"


def _percent(p: float) -> str:
    return f"{p:.0%}"


def _interval(probability: dict) -> str:
    low, high = probability["ci95"]
    return f"{_percent(low)} to {_percent(high)}"


def _leaves(model, prefix: str = "") -> list[tuple[str, float | BaseDistribution]]:
    """Every number or distribution in a scenario section, by dotted path."""
    leaves = []
    for name in type(model).model_fields:
        value, path = getattr(model, name), f"{prefix}{name}"
        if isinstance(value, (int, float, BaseDistribution)) and not isinstance(value, bool):
            leaves.append((path, value))
        elif isinstance(value, BaseModel):
            leaves.extend(_leaves(value, f"{path}."))
    return leaves


def _grouped(leaves: list[tuple[str, float | BaseDistribution]]) -> list[str]:
    """One line per group of inputs that share a parent (urban and rural side by side)."""
    groups: dict[str, list[str]] = {}
    for path, value in leaves:
        parent, _, name = path.rpartition(".")
        groups.setdefault(parent or name, []).append(f"{_words(name)} {describe(value)}" if parent
                                                     else describe(value))
    return [f"{_words(parent)}: {'; '.join(values)}" for parent, values in groups.items()]


def population_noun(scenario: Scenario) -> str:
    return "registered (hukou) population" if scenario.population.concept == "registered" else "resident population"


def cap_text(run: Run) -> str:
    cap = run.summary["caps"]["population"]
    return f"plan's cap: {cap['limit']:,} people, end of {cap['year']}"


def rescaling_note(run: Run) -> str:
    """Why the cap on a chart is not the plan's number, when it is not."""
    size = run.manifest["settings"].get("population_size")
    if not size:
        return ""
    return (f" This quick run starts from {size:,} people, so the cap is the plan's "
            f"{run.scenario.targets.population.limit:,} rescaled alike.")


def caveats(run: Run) -> list[str]:
    settings = run.manifest["settings"]
    lines = []
    if settings.get("population_size"):
        full, limit = run.scenario.targets.population.limit, run.summary["caps"]["population"]["limit"]
        lines.append(f"Quick run: the base population was rescaled to {settings['population_size']:,} people at the "
                     "scenario's central size (in proportion to each replicate's drawn size), so the "
                     f"population cap is rescaled alike, from {full:,} to {limit:,}. "
                     "Use a full-size run for decisions.")
    if settings.get("central_inputs"):
        lines.append("Every uncertain input was held at its central value: the spread shows chance alone, "
                     "not what is unknown about behaviour or the base population.")
    return lines


def variance_sentences(run: Run) -> list[str]:
    decomposition = run.summary.get("variance_decomposition")
    if not decomposition:
        return []
    first, last = run.summary["caps"]["natural_growth"]["years"]
    outcomes = {"population_final": f"the {run.summary['caps']['population']['year']} population",
                "natural_growth_mean": f"average natural growth {first}-{last}"}
    return [f"{_percent(decomposition['outcomes'][name]['inputs_share'])} of the spread in {words} comes from "
            f"uncertain inputs, the rest from chance ({decomposition['draws']} input draws, "
            f"{decomposition['replicates_per_draw']} runs each)."
            for name, words in outcomes.items()
            if decomposition["outcomes"].get(name, {}).get("inputs_share") is not None]


# ---------------------------------------------------------------- run pages


def answer_page(run: Run) -> Figure:
    caps = run.summary["caps"]
    population, growth = caps["population"], caps["natural_growth"]
    first, last = growth["years"]
    figure = page("Will the population plan's caps hold?",
                  f"{run.scenario.name}: the chance of breaking each cap, from {run.count} simulated futures (runs).")
    figure.set_layout_engine("none")  # a page of placed text: no charts for the engine to arrange
    sentences = headline_sentences(run.summary)
    boxes = (
        (f"Population above {population['limit']:,} at the end of {population['year']}", population["p_exceed_final"],
         sentences[0], f"Above the cap in any year up to {population['year']}", population["p_exceed_any_year"]),
        (f"Natural growth averaging above {growth['limit_permille']:g} per mille a year over {first}-{last}",
         growth["p_exceed_mean"], sentences[1], f"Above {growth['limit_permille']:g} per mille in any single year",
         growth["p_exceed_any_year"]),
    )
    for left, (heading, probability, sentence, other, other_probability) in zip((0.03, 0.52), boxes):
        _answer_box(figure, left, heading, probability, sentence,
                    f"{other}: {_percent(other_probability['p'])} ({_interval(other_probability)}).")
    text_column(figure, 0.03, 0.53, 0.45, "What was assumed", _assumptions(run))
    text_column(figure, 0.52, 0.53, 0.45, "How this was run", _how_run(run), warnings=caveats(run))
    return figure


def _answer_box(figure: Figure, left: float, heading: str, probability: dict, sentence: str, other: str) -> None:
    box = figure.add_axes((left, 0.58, 0.45, 0.32))
    box.set_xticks([])
    box.set_yticks([])
    for spine in box.spines.values():
        spine.set_color("#BBBBBB")
    box.text(0.04, 0.93, textwrap.fill(heading, 50), fontsize=BODY_SIZE + 2, weight="bold", va="top")
    box.text(0.04, 0.70, _percent(probability["p"]), fontsize=44, weight="bold", color=CAP_COLOUR, va="top")
    box.text(0.42, 0.62, f"chance\n95% interval: {_interval(probability)}", fontsize=BODY_SIZE + 1, va="top")
    box.text(0.04, 0.31, textwrap.fill(sentence, 68), fontsize=BODY_SIZE - 1, va="top")
    box.text(0.04, 0.11, textwrap.fill(other, 68), fontsize=BODY_SIZE - 1, va="top", color=PLAN_COLOUR)


def _assumptions(run: Run) -> list[str]:
    scenario = run.scenario
    base = scenario.period.start - dt.timedelta(days=1)
    in_force = max(day for day in scenario.policy.timeline if day <= base)  # the earlier rules are history
    timeline = "; ".join(f"from {day.isoformat()} {REGIME_WORDS[regime]}"
                         for day, regime in sorted(scenario.policy.timeline.items()) if day >= in_force)
    return [
        f"Policy: {timeline}.",
        f"Population counted: the {population_noun(scenario)}; at the start (end of {run.base_year}) "
        f"{describe(scenario.population.size)} people.",
        "Behaviour (shares of women or couples, unless a unit is named; a range or ± means the value is "
        + ("uncertain, held at its central value in this run):" if run.manifest["settings"].get("central_inputs")
           else "uncertain and drawn anew for each run):"),
        *(f"  - {line}" for line in _grouped(_leaves(scenario.behaviour))),
    ]


def _how_run(run: Run) -> list[str]:
    settings, provenance = run.manifest["settings"], run.manifest["provenance"]
    finished = dt.datetime.fromisoformat(run.manifest["finished"]).strftime("%Y-%m-%d %H:%M %Z").strip()
    source = f", source {provenance['git_commit'][:12]}" if provenance.get("git_commit") else ""
    return [
        f"{run.count} runs (replicates) with seed {run.seed}; the same seed gives the same results.",
        f"Scenario file: {run.manifest['scenario_file']}.",
        f"Simulation engine: {settings['engine']}; Erhai {provenance['erhai']}{source}; finished {finished}.",
        *_redraw_sentences(run),
        *variance_sentences(run),
    ]


def _redraw_sentences(run: Run) -> list[str]:
    redraws = run.summary.get("input_redraws", 0)
    if not redraws:
        return []
    return [f"{redraws} draws of the uncertain inputs were set aside and drawn again: with them the base year could "
            "not be reproduced at plausible birth rates (see the scenario's sources), so the inputs are the "
            "scenario's ranges less those draws."]


def population_page(run: Run) -> Figure:
    table = run.yearly("population_end")
    limit = run.summary["caps"]["population"]["limit"]
    scale, unit = people_scale(max(table.max().max(), limit))
    figure = page(f"The {population_noun(run.scenario)} at the end of each year, {run.base_year}-{run.final_year}",
                  f"{run.base_year}: the starting population. Line: the middle run (median) of {run.count}; "
                  "shading: where the middle 50%, 80% and 95% of runs fall." + rescaling_note(run))
    ax = figure.add_subplot()
    fan(ax, table / scale, PALETTE[0], f"median of {run.count} runs")
    reference_line(ax, limit / scale, cap_text(run))
    ax.set_xlabel("end of year (31 December)")
    ax.set_ylabel(f"population ({unit})")
    thousands_separated(ax)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=BODY_SIZE)
    return figure


def growth_page(run: Run) -> Figure:
    growth = run.summary["caps"]["natural_growth"]
    first, last = growth["years"]
    limit = growth["limit_permille"]
    figure = page("Natural growth: births minus deaths per 1,000 people",
                  f"Left: each year (line: median of {run.count} runs; shading: middle 50%, 80%, 95% of runs). "
                  f"Right: the {first}-{last} average of each run, which the plan caps.")
    left, right = figure.subplots(1, 2, width_ratios=(3, 2))
    fan(left, run.yearly("natural_growth_permille"), PALETTE[0], f"median of {run.count} runs")
    reference_line(left, limit, f"plan's cap: {limit:g} per mille on average")
    left.set_title("Each year", fontsize=BODY_SIZE + 1)
    left.set_xlabel("year")
    left.set_ylabel("natural growth (per 1,000 people)")
    left.grid(alpha=0.3)
    left.legend(loc="best", fontsize=BODY_SIZE - 1)
    means = _outcomes(run)["natural_growth_mean"]
    _histogram_against(right, means, limit)
    right.set_title(f"Average over {first}-{last}, one value per run", fontsize=BODY_SIZE + 1)
    right.set_xlabel(f"average natural growth {first}-{last} (per 1,000 people)")
    right.set_ylabel("number of runs")
    return figure


def _outcomes(run: Run) -> pd.DataFrame:
    caps = run.summary["caps"]
    return headline_outcomes(run.replicates, caps["population"]["year"], tuple(caps["natural_growth"]["years"]))


def _histogram_against(ax, values: pd.Series, limit: float) -> None:
    """Runs above the cap in red, at or below in grey; the cap is a bin edge so no bar straddles it."""
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
    return f"{selected.sum()} of {len(selected)} runs ({selected.mean():.0%})"


def births_page(run: Run) -> Figure:
    figure = page("Births each year, and boys born per 100 girls",
                  f"Lines: median of {run.count} runs; shading: where the middle 80% of runs fall.")
    left, right = figure.subplots(1, 2, width_ratios=(3, 2))
    for colour, (indicator, words) in zip(PALETTE, BIRTH_ORDERS.items()):
        fan(left, run.yearly(indicator), colour, words, bands=(0.8,), label_bands=False)
    left.set_title("Births by the child's birth order", fontsize=BODY_SIZE + 1)
    left.set_xlabel("year")
    left.set_ylabel("births in the year")
    left.set_ylim(bottom=0)
    thousands_separated(left)
    left.grid(alpha=0.3)
    left.legend(loc="best", fontsize=BODY_SIZE - 1)
    fan(right, run.yearly("srb"), PALETTE[3], f"median of {run.count} runs", bands=(0.8,))
    reference_line(right, NATURAL_SEX_RATIO, f"natural level, about {NATURAL_SEX_RATIO}", colour=PLAN_COLOUR)
    right.set_title("Sex ratio at birth", fontsize=BODY_SIZE + 1)
    right.set_xlabel("year")
    right.set_ylabel("boys born per 100 girls born")
    right.grid(alpha=0.3)
    right.legend(loc="best", fontsize=BODY_SIZE - 1)
    return figure


def backlog_page(run: Run) -> Figure:
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
    ax.set_xticks(positions, [_age_group_label(group, last=False) for group in groups])
    ax.set_xlabel("age of the woman (years)")
    ax.set_ylabel("women")
    thousands_separated(ax)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", fontsize=BODY_SIZE - 1)
    text_column(figure, 0.62, 0.80, 0.35, "In numbers", _backlog_lines(run, first))
    return figure


def _backlog_lines(run: Run, first: pd.DataFrame) -> list[str]:
    totals = first.groupby("replicate")[["released", "acting"]].sum()
    by_residence = first.groupby(["replicate", "residence"])["released"].sum().unstack("residence")
    older = first[first["age_group"] >= 35].groupby("replicate")["released"].sum() / totals["released"]
    catch_up = run.scenario.behaviour.catch_up

    def spread(values: pd.Series) -> str:
        return f"{values.median():,.0f} (80% of runs {values.quantile(0.1):,.0f}-{values.quantile(0.9):,.0f})"

    regime = Regime(first["regime"].iloc[0])
    return [
        f"From {first['date'].iloc[0]} ({REGIME_WORDS[regime]}): {spread(totals['released'])} women.",
        *(f"  - {residence}: {by_residence[residence].median():,.0f}" for residence in ("urban", "rural")
          if residence in by_residence),
        f"Of them {older.median():.0%} are 35 or older, where fecundity falls fast.",
        f"Acting on the wish: {spread(totals['acting'])}; the others give it up "
        f"(the acting share: {describe(catch_up.acting_share)}).",
        f"Those acting conceive at their usual rate within the rules times a catch-up multiplier "
        f"({describe(catch_up.hazard_multiplier)}) while a window is open ({describe(catch_up.window_months)} "
        "months), then at the usual rate: the backlog is finite.",
    ]


def pyramid_page(run: Run) -> Figure:
    start, end = run.pyramid(run.base_year), run.pyramid(run.final_year)
    widest = max(start.max().max(), end.max().max())
    scale, unit = people_scale(start.to_numpy().sum())  # the unit of the population page
    figure = page(f"Population by age and sex: end of {run.base_year} against end of {run.final_year}",
                  f"Each bar is a five-year age group. {run.final_year}: the median of {run.count} runs.")
    ax = figure.add_subplot()
    positions = np.arange(len(start))
    for sign, sex, colour in ((-1, "male", PALETTE[0]), (1, "female", PALETTE[1])):
        ax.barh(positions, sign * start[sex] / scale, height=0.85, color=colour, alpha=0.45,
                label=f"{'men' if sign < 0 else 'women'}, end of {run.base_year}")
        ax.barh(positions, sign * end[sex] / scale, height=0.85, fill=False, edgecolor="black", linewidth=1.4,
                label=f"end of {run.final_year} (median)" if sign > 0 else None)
    ax.set_yticks(positions, [_age_group_label(group, last=group == start.index.max()) for group in start.index])
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


def _age_group_label(low: int, last: bool) -> str:
    return f"{low}+" if last else f"{low}-{low + 4}"


def age_structure_page(run: Run) -> Figure:
    expected = run.scenario.targets.expected_age_structure
    subtitle = (f"Share of the population in each age group at the end of each year. Line: median of {run.count} "
                "runs; shading: middle 50%, 80%, 95% of runs.")
    if expected is not None:
        subtitle += f" Black markers: what the plan itself expected for {expected.year}."
    figure = page("How old the population is", subtitle)
    axes = figure.subplots(1, len(AGE_GROUPS))
    for ax, (indicator, title) in zip(axes, AGE_TITLES.items()):
        fan(ax, run.yearly(indicator), PALETTE[2], f"median of {run.count} runs", label_bands=ax is axes[0])
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


def _expected_share(ax, year: int, share: float, text: str, marker: str = "D") -> None:
    # named in the legend rather than beside the marker, where it would hide the bands
    ax.plot([year], [share], marker=marker, color="black", markersize=10, linestyle="none", zorder=5, label=text)
    include(ax, share, margin=0.15)


def drivers_page(run: Run) -> Figure:
    caps = run.summary["caps"]
    first, last = caps["natural_growth"]["years"]
    drawn = run.inputs.set_index("replicate").nunique().gt(1).sum()
    figure = page("Which uncertain inputs move the results most",
                  f"Bars: partial rank correlation of each input with the outcome over {run.count} runs "
                  f"(the {TOP_INPUTS} strongest of {drawn} drawn inputs). Longer bar: the input matters more. "
                  "Blue: a higher value gives a higher outcome; orange: a lower one.")
    outcomes = _outcomes(run)
    panels = {"population_final": f"Population at the end of {caps['population']['year']}",
              "natural_growth_mean": f"Average natural growth {first}-{last}"}
    for ax, (outcome, title) in zip(figure.subplots(1, 2), panels.items()):
        ax.set_title(title, fontsize=BODY_SIZE + 1)
        _tornado_or_note(ax, run.inputs, outcomes[outcome], run.scenario)
    return figure


def _tornado_or_note(ax, inputs: pd.DataFrame, outcome: pd.Series, scenario: Scenario) -> None:
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


RUN_PAGES: tuple[Callable[[Run], Figure], ...] = (answer_page, population_page, growth_page, births_page,
                                                  backlog_page, pyramid_page, age_structure_page, drivers_page)


def run_report_figures(run_dir: Path) -> list[Figure]:
    """The run report's pages, in order (what `write_run_report` saves)."""
    return _run_figures(read_run(run_dir))


def _run_figures(run: Run) -> list[Figure]:
    figures = [build(run) for build in RUN_PAGES]
    _number_pages(figures, f"Erhai {__version__} · {run.scenario.name} · seed {run.seed} · {run.count} runs")
    return figures


def write_run_report(run_dir: Path) -> Path:
    """Write run_dir/report.pdf from the complete run in `run_dir`; returns its path."""
    run = read_run(run_dir)
    size = run.manifest["settings"].get("population_size") or "full"
    metadata = _metadata(f"Erhai run report: {run.scenario.name}", run.scenario.name,
                         f"seed {run.seed}; {run.count} replicates; population size {size}; "
                         f"run by erhai {run.manifest['provenance']['erhai']}; "
                         f"scenario sha256 {run.manifest['scenario_hash']}")
    return _write_pdf(_run_figures(run), run.path / REPORT, metadata)


# ---------------------------------------------------------------- comparison


@dataclass(frozen=True)
class Experiment:
    path: Path
    spec: dict  # experiment.json
    table: pd.DataFrame  # comparison.csv, one row per variant
    runs: list[Run]  # in the order of the variants

    @property
    def labels(self) -> list[str]:
        return list(self.table["label"])


def read_experiment(path: Path) -> Experiment:
    path = Path(path)
    try:
        spec = json.loads((path / "experiment.json").read_text())
        table = pd.read_csv(path / "comparison.csv")
    except FileNotFoundError as exc:
        raise UserError(f"{path}: no {Path(exc.filename).name}; not a folder written by erhai compare") from None
    return Experiment(path, spec, table, [read_run(path / variant["directory"]) for variant in spec["variants"]])


def _probability_titles(experiment: Experiment) -> dict[str, str]:
    caps = experiment.runs[0].summary["caps"]
    first, last = caps["natural_growth"]["years"]
    return {"p_population_final": f"Population above {caps['population']['limit']:,} "
                                  f"at the end of {caps['population']['year']}",
            "p_growth_mean": f"Natural growth averaging above {caps['natural_growth']['limit_permille']:g} "
                             f"per mille, {first}-{last}"}


def probabilities_page(experiment: Experiment) -> Figure:
    table = experiment.table
    figure = page("The chance of breaking each cap, variant by variant",
                  "Dot: share of runs that break the cap. Whisker: its 95% interval (how sure we are "
                  f"with {experiment.spec['replicates']} runs per variant).")
    axes = figure.subplots(1, 2, sharey=True)
    for ax, (column, title), colour in zip(axes, _probability_titles(experiment).items(), PALETTE):
        ax.set_xlim(-0.02, 1.02)
        dot_whisker(ax, experiment.labels, table[column], table[f"{column}_low"], table[f"{column}_high"],
                    colour, _percent)
        ax.set_title(textwrap.fill(title, 45), fontsize=BODY_SIZE + 1)
        percent_axis(ax, "x")
        ax.set_xlabel("chance of breaking the cap")
    return figure


def differences_page(experiment: Experiment) -> Figure:
    table = experiment.table.iloc[1:]
    reference = experiment.labels[0]
    figure = page("How much each variant changes the chance of breaking each cap",
                  f"Against the first variant, \"{reference}\". Dot: the difference in the chance, from the same "
                  "random futures run under both variants. Whisker: its 95% interval. Right of zero: more likely "
                  "to break the cap.")
    axes = figure.subplots(1, 2, sharey=True)
    for ax, (column, title), colour in zip(axes, _probability_titles(experiment).items(), PALETTE):
        diff = f"diff_{column}"
        ax.set_xlim(-1.02, 1.02)
        dot_whisker(ax, list(table["label"]), table[diff], table[f"{diff}_low"], table[f"{diff}_high"], colour,
                    _points)
        ax.axvline(0, color="black", linewidth=1)
        ax.set_title(textwrap.fill(title, 45), fontsize=BODY_SIZE + 1)
        ax.xaxis.set_major_formatter(lambda value, _: _points(value))
        ax.set_xlabel("change in the chance (percentage points)")
    return figure


def _points(difference: float) -> str:
    return f"{difference * 100:+.0f}" if round(difference * 100) else "0"


def trajectories_page(experiment: Experiment) -> Figure:
    runs = experiment.runs
    limit = runs[0].summary["caps"]["population"]["limit"]
    figure = page("Population and births under each variant",
                  "Lines: median of the runs of each variant; shading: where the middle 80% of runs fall."
                  + rescaling_note(runs[0]))
    left, right = figure.subplots(1, 2)
    scale, unit = people_scale(limit)
    for run, label, colour in zip(runs, experiment.labels, colours(len(runs))):
        fan(left, run.yearly("population_end") / scale, colour, label, bands=(0.8,), label_bands=False)
        fan(right, run.yearly("births"), colour, label, bands=(0.8,), label_bands=False)
    reference_line(left, limit / scale, cap_text(runs[0]))
    left.set_title(f"The {population_noun(runs[0].scenario)} at the end of each year", fontsize=BODY_SIZE + 1)
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


def sweep_page(experiment: Experiment) -> Figure:
    sweep = experiment.spec["sweep"]
    swept, *others = sweep["inputs"]
    scenario = experiment.runs[0].scenario
    # the experiment file's own words for its inputs, else words made from the scenario's names
    names = dict(zip(sweep["inputs"], sweep.get("labels") or [input_label(name, scenario) for name in sweep["inputs"]]))
    figure = page(f"The chance of breaking each cap as the {names[swept]} changes",
                  "Line: share of runs that break the cap at each value; shading: its 95% interval. "
                  "Dotted line: even odds (50%).")
    table = experiment.table.sort_values(swept)
    groups = table.groupby(others[0], sort=True) if others else [(None, table)]
    for ax, (column, title) in zip(figure.subplots(1, 2, sharey=True), _probability_titles(experiment).items()):
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


def _mark_crossing(ax, value: float | None) -> None:
    if value is None:
        return
    ax.axvline(value, color=CAP_COLOUR, linestyle="--", linewidth=1.5)
    ax.annotate(f"50% at {value:.3g}", xy=(value, 0.5), xytext=(6, 8), textcoords="offset points",
                color=CAP_COLOUR, fontsize=BODY_SIZE, weight="bold")


COMPARISON_PAGES = (probabilities_page, differences_page, trajectories_page)


def comparison_report_figures(experiment_dir: Path) -> list[Figure]:
    """The comparison report's pages, in order (what `write_comparison_report` saves)."""
    return _comparison_figures(read_experiment(experiment_dir))


def _comparison_figures(experiment: Experiment) -> list[Figure]:
    pages = COMPARISON_PAGES + ((sweep_page,) if experiment.spec["kind"] == "sweep" else ())
    figures = [build(experiment) for build in pages]
    _number_pages(figures, f"Erhai {__version__} · experiment {experiment.spec['name']} · seed "
                           f"{experiment.spec['seed']} · {experiment.spec['replicates']} runs per variant")
    return figures


def write_comparison_report(experiment_dir: Path) -> Path:
    """Write experiment_dir/comparison.pdf from the experiment in `experiment_dir`; returns its path."""
    experiment = read_experiment(experiment_dir)
    spec = experiment.spec
    metadata = _metadata(f"Erhai comparison: {spec['name']}", spec["name"],
                         f"seed {spec['seed']}; {spec['replicates']} replicates per variant; "
                         f"variants {', '.join(v['name'] for v in spec['variants'])}")
    return _write_pdf(_comparison_figures(experiment), experiment.path / COMPARISON, metadata)


# ---------------------------------------------------------------- the file


def _number_pages(figures: list[Figure], text: str) -> None:
    for number, figure in enumerate(figures, start=1):
        footer(figure, f"{text} · page {number} of {len(figures)}")


def _metadata(title: str, subject: str, keywords: str) -> dict:
    # no CreationDate: matplotlib then takes SOURCE_DATE_EPOCH when it is set, which makes builds byte-identical
    return {"Title": title, "Subject": subject, "Keywords": keywords, "Author": f"Erhai {__version__}"}


def _write_pdf(figures: list[Figure], path: Path, metadata: dict) -> Path:
    partial = path.with_name(path.name + ".partial")
    with PdfPages(partial, metadata=metadata) as pdf:
        for figure in figures:
            pdf.savefig(figure)
    os.replace(partial, path)
    return path
