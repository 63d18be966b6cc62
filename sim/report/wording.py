"""The report's words: how probabilities, inputs, policies and caps are said to a planner.

Everything here turns a run's results into text and draws nothing, so the
pages (`sim.report.pages`, `sim.report.comparison`) and the command line say
the same things in the same words.
"""
from __future__ import annotations

import datetime as dt
import math

import pandas as pd
from pydantic import BaseModel

from sim.results.runs import EnsembleResult, people_per_agent
from sim.results.summary import CapSummary, Probability, Summary
from sim.scenario.distributions import BaseDistribution, Beta, Fixed, LogNormal, Normal, Triangular, Uniform
from sim.scenario.schema import Regime, Scenario

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


# ---------------------------------------------------------------- numbers


def percent(p: float) -> str:
    return f"{p:.0%}"


def interval(probability: Probability) -> str:
    low, high = probability.ci95
    return f"{percent(low)} to {percent(high)}"


def chance(probability: Probability) -> str:
    """A chance with its 95% interval, e.g. '12% (5% to 26%)'."""
    return f"{percent(probability.p)} ({interval(probability)})"


def points(difference: float) -> str:
    """A difference of two chances in percentage points, signed; "0" rather than "+0" or "-0"."""
    return f"{difference * 100:+.0f}" if round(difference * 100) else "0"


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}"


def age_group_label(low: int, last: bool) -> str:
    """A five-year age group by its lower bound; the last one is open."""
    return f"{low}+" if last else f"{low}-{low + 4}"


# ---------------------------------------------------------------- the caps


def _percent_with_interval(probability: Probability, replicates: int) -> str:
    low, high = probability.ci95
    return f"{probability.p:.0%} (95% CI {low:.0%}-{high:.0%}, {replicates} replicates)"


def _population_sentence(cap: CapSummary, replicates: int) -> str:
    return (f"Chance that the population exceeds {cap.limit:,} at the end of {cap.year}: "
            f"{_percent_with_interval(cap.p_exceed_final, replicates)}.")


def _growth_sentence(cap: CapSummary, replicates: int) -> str:
    first, last = cap.years
    return (f"Chance that natural growth averages above {cap.limit_permille:g} per mille over {first}-{last}: "
            f"{_percent_with_interval(cap.p_exceed_mean, replicates)}.")


def _population_words(cap: CapSummary) -> dict[str, str]:
    return {"p_exceed_final": f"Population above {cap.limit:,} at the end of {cap.year}",
            "p_exceed_any_year": f"Above the cap in any year up to {cap.year}",
            "population_final": f"the population at the end of {cap.year}"}


def _growth_words(cap: CapSummary) -> dict[str, str]:
    first, last = cap.years
    return {"p_exceed_mean": f"Natural growth averaging above {cap.limit_permille:g} per mille a year over "
                             f"{first}-{last}",
            "p_exceed_any_year": f"Above {cap.limit_permille:g} per mille in any single year",
            "natural_growth_mean": f"average natural growth {first}-{last}"}


# by the cap's name in the scenario's targets (`sim.results.caps.CAP_KINDS`)
HEADLINE_SENTENCES = {"population": _population_sentence, "natural_growth": _growth_sentence}
CAP_WORDS = {"population": _population_words, "natural_growth": _growth_words}


def headline_sentence(name: str, cap: CapSummary, replicates: int) -> str:
    """The chance of breaking the cap `name` the way a planner asks first, with its interval."""
    return HEADLINE_SENTENCES[name](cap, replicates)


def headline_sentences(summary: Summary) -> list[str]:
    """The sentences a planner reads first: the chance of breaking each cap."""
    return [headline_sentence(name, cap, summary.replicates) for name, cap in summary.caps.items()]


def cap_words(name: str, cap: CapSummary) -> dict[str, str]:
    """The cap `name` in words: each way of breaking it by its measure's key (a title, e.g. for p_exceed_final),
    and its headline outcome by the outcome's name (inside a sentence, e.g. for population_final)."""
    return CAP_WORDS[name](cap)


def headline_titles(run: EnsembleResult) -> dict[str, str]:
    """The title of each cap's headline chance, by its column of the comparison table (`Measure.column`)."""
    return {cap.headline.column: cap_words(cap.name, run.summary.caps[cap.name])[cap.headline.key]
            for cap in run.caps}


def headline_outcome_words(run: EnsembleResult) -> dict[str, str]:
    """Each cap's headline outcome in words, by its column of `EnsembleResult.outcomes` (`Measure.outcome`)."""
    return {cap.headline.outcome: cap_words(cap.name, run.summary.caps[cap.name])[cap.headline.outcome]
            for cap in run.caps}


def start_words(run: EnsembleResult) -> str:
    """When the base population stands: "end of 2015", or the day itself for a run that starts within a year."""
    base = run.scenario.period.start - dt.timedelta(days=1)
    return f"end of {base.year}" if (base.month, base.day) == (12, 31) else base.strftime("%-d %B %Y")


def cap_text(run: EnsembleResult) -> str:
    """The label of the population cap's line on a chart."""
    cap = run.summary.population
    return f"plan's cap: {cap.limit:,} people, end of {cap.year}"


def rescaling_note(run: EnsembleResult) -> str:
    """What a chart of counts shows when each agent stands for several people."""
    scale = people_per_agent(run.scenario, run.settings.population_size)
    if scale == 1:
        return ""
    return (f" Each simulated person stands for about {scale:,.0f} people; counts are scaled back to people, "
            f"so chance spreads the runs about {math.sqrt(scale):,.0f} times as widely as in the district itself.")


# ---------------------------------------------------------------- the scenario's inputs


def _words(name: str) -> str:
    return name.replace("_", " ")


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


def _leaves(model: BaseModel, prefix: str = "") -> list[tuple[str, float | BaseDistribution]]:
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


# ---------------------------------------------------------------- how the run was made


def assumptions(run: EnsembleResult) -> list[str]:
    """What was assumed: the rules in force from the base year, the population counted, the behaviour."""
    scenario = run.scenario
    base = scenario.period.start - dt.timedelta(days=1)
    in_force = max(day for day in scenario.policy.timeline if day <= base)  # the earlier rules are history
    timeline = "; ".join(f"from {day.isoformat()} {REGIME_WORDS[regime]}"
                         for day, regime in sorted(scenario.policy.timeline.items()) if day >= in_force)
    return [
        f"Policy: {timeline}.",
        f"Population counted: the {population_noun(scenario)}; at the start ({start_words(run)}) "
        f"{describe(scenario.population.size)} people.",
        "Behaviour (shares of women or couples, unless a unit is named; a range or ± means the value is "
        + ("uncertain, held at its central value in this run):" if run.settings.central_inputs
           else "uncertain and drawn anew for each run):"),
        *(f"  - {line}" for line in _grouped(_leaves(scenario.behaviour))),
    ]


def how_run(run: EnsembleResult) -> list[str]:
    """How the run was made, enough to make it again, and what its design says about the spread."""
    provenance = run.manifest["provenance"]
    finished = dt.datetime.fromisoformat(run.manifest["finished"]).strftime("%Y-%m-%d %H:%M %Z").strip()
    source = f", source {provenance['git_commit'][:12]}" if provenance.get("git_commit") else ""
    return [
        f"{run.count} runs (replicates) with seed {run.seed}; the same seed gives the same results.",
        f"Scenario file: {run.manifest['scenario_file']}.",
        f"Simulation engine: {run.settings.engine}; Erhai {provenance['erhai']}{source}; finished {finished}.",
        *redraw_sentences(run),
        *variance_sentences(run),
    ]


def caveats(run: EnsembleResult) -> list[str]:
    """What makes this run weaker evidence than a full one."""
    settings, lines = run.settings, []
    scale = people_per_agent(run.scenario, settings.population_size)
    if scale > 1:
        quick = (f"a quick run of {settings.population_size:,} simulated people at the scenario's central size "
                 "(in proportion to each replicate's drawn size)" if settings.population_size
                 else "the scenario's population scale")
        lines.append(f"Scaled agents ({quick}): each stands for about {scale:,.0f} people, and counts are scaled "
                     f"back. Chance variation is overstated by about the square root of that, {math.sqrt(scale):,.1f} "
                     "times, so the chances of breaking a cap are less sure than a full-size run's."
                     + (" Use a full-size run for decisions." if settings.population_size else ""))
    if settings.central_inputs:
        lines.append("Every uncertain input was held at its central value: the spread shows chance alone, "
                     "not what is unknown about behaviour or the base population.")
    return lines


def variance_sentences(run: EnsembleResult) -> list[str]:
    """For a nested design, how much of each headline outcome's spread the uncertain inputs make."""
    decomposition = run.summary.variance_decomposition
    if not decomposition:
        return []
    return [f"{percent(decomposition['outcomes'][name]['inputs_share'])} of the spread in {words} comes from "
            f"uncertain inputs, the rest from chance ({decomposition['draws']} input draws, "
            f"{decomposition['replicates_per_draw']} runs each)."
            for name, words in headline_outcome_words(run).items()
            if decomposition["outcomes"].get(name, {}).get("inputs_share") is not None]


def redraw_sentences(run: EnsembleResult) -> list[str]:
    redraws = run.summary.input_redraws
    if not redraws:
        return []
    return [f"{redraws} draws of the uncertain inputs were set aside and drawn again: with them the base year could "
            "not be reproduced at plausible birth rates (see the scenario's sources), so the inputs are the "
            "scenario's ranges less those draws."]


# ---------------------------------------------------------------- the backlog


def _spread(values: pd.Series) -> str:
    return f"{values.median():,.0f} (80% of runs {values.quantile(0.1):,.0f}-{values.quantile(0.9):,.0f})"


def backlog_lines(run: EnsembleResult, backlog: pd.DataFrame) -> list[str]:
    """The backlog one relaxation releases (`backlog`: its rows of `run.backlogs`) in numbers, and what follows."""
    totals = backlog.groupby("replicate")[["released", "acting"]].sum()
    by_residence = backlog.groupby(["replicate", "residence"])["released"].sum().unstack("residence")
    older = backlog[backlog["age_group"] >= 35].groupby("replicate")["released"].sum() / totals["released"]
    catch_up = run.scenario.behaviour.catch_up
    regime = Regime(backlog["regime"].iloc[0])
    return [
        f"From {backlog['date'].iloc[0]} ({REGIME_WORDS[regime]}): {_spread(totals['released'])} women.",
        *(f"  - {residence}: {by_residence[residence].median():,.0f}" for residence in ("urban", "rural")
          if residence in by_residence),
        f"Of them {older.median():.0%} are 35 or older, where fecundity falls fast.",
        f"Acting on the wish: {_spread(totals['acting'])}; the others give it up "
        f"(the acting share: {describe(catch_up.acting_share)}).",
        f"Those acting conceive at their usual rate within the rules times a catch-up multiplier "
        f"({describe(catch_up.hazard_multiplier)}) while a window is open ({describe(catch_up.window_months)} "
        "months), then at the usual rate: the backlog is finite.",
    ]
