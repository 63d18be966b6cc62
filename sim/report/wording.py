"""The report's words: how probabilities, inputs, policies and caps are said to a planner.

Everything here turns a run's results into text and draws nothing, so the
pages (`sim.report.pages`, `sim.report.comparison`) and the command line say
the same things in the same words.
"""
from __future__ import annotations

import datetime as dt
import math
import os

import pandas as pd

from sim.results.runs import EnsembleResult, people_per_agent
from sim.results.summary import CapSummary, Probability, Summary
from sim.scenario.distributions import BaseDistribution, Beta, Fixed, LogNormal, Normal, Triangular, Uniform, central
from sim.scenario.inputs import taken_from_posterior
from sim.scenario.loading import shown_path
from sim.scenario.schema import Regime, Scenario

AGE_TITLES = {"share_0_14": "Children (aged 0-14)", "share_15_64": "Working age (15-64)",
              "share_65plus": "Older people (65 and over)"}
CHANCE_COLOURS = ("#009E73", "#E69F00", "#C00000")  # under 10%, 10% to 50%, 50% or more (Okabe-Ito and the cap's red)
SHORT_OUTCOME_WORDS = {"population": "population {year}", "natural_growth": "growth {years[0]}-{years[1]}"}
MOVER_SHARE = 0.05  # an input that explains this share of a headline outcome's spread is named on page one
MOVERS_SHOWN = 5  # as many as page one has room for; every input is on the inputs page
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


def chance_number(probability: Probability) -> str:
    """A chance as a share of the simulated futures, in whole percent; where that would read 0% or 100%, the
    bound one future in so many can resolve ("under 1%" of 200 futures, "under 5%" of 20)."""
    p, runs = probability.p, probability.runs
    resolution = math.ceil(100 / runs)
    if probability.runs_exceeding == 0:
        return f"under {resolution}%"
    if probability.runs_exceeding == runs:
        return f"over {100 - resolution}%"
    return f"{p:.1%}" if p < 0.005 or p > 0.995 else percent(p)


def futures(probability: Probability) -> str:
    """The runs behind a chance, as a planner counts them: '16 of 200 simulated futures'."""
    return f"{probability.runs_exceeding} of {probability.runs} simulated futures"


def interval(probability: Probability) -> str:
    low, high = probability.ci95
    return f"{percent(low)} to {percent(high)}"


def chance(probability: Probability) -> str:
    """A chance with its 95% interval, e.g. '12% (5% to 26%)', 'under 1% (0% to 2%)'."""
    return f"{chance_number(probability)} ({interval(probability)})"


def points(difference: float) -> str:
    """A difference of two chances in percentage points, signed; one decimal where whole points would read 0
    (a bound just off zero is what makes a difference clear); "0" for none."""
    value = difference * 100
    if value == 0:
        return "0"
    return f"{value:+.1f}" if abs(value) < 0.5 else f"{value:+.0f}"


def _number(value: float, form: str = "g") -> str:
    """A number as a planner reads it: thousands whole, with separators; smaller ones in `form` (a drawn value,
    "2g": to two significant figures)."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:{form}}"


def age_group_label(low: int, last: bool) -> str:
    """A five-year age group by its lower bound; the last one is open."""
    return f"{low}+" if last else f"{low}-{low + 4}"


# ---------------------------------------------------------------- the caps


def _in_futures(probability: Probability) -> str:
    return (f"{chance_number(probability)} ({futures(probability)}; 95% interval {interval(probability)}, "
            "simulation error only)")


def _population_sentence(cap: CapSummary) -> str:
    return (f"Chance that the population exceeds {cap.limit:,} at the end of {cap.year}, the plan's cap: "
            f"{_in_futures(cap.p_exceed_final)}.")


def _growth_sentence(cap: CapSummary) -> str:
    first, last = cap.years
    return (f"Chance that natural growth averages above {cap.limit_permille:g} per mille a year over {first}-{last}, "
            f"the plan's cap: {_in_futures(cap.p_exceed_mean)}.")


def _population_words(cap: CapSummary) -> dict[str, str]:
    return {"p_exceed_final": f"Population above {cap.limit:,} at the end of {cap.year}",
            "p_exceed_any_year": f"Above the cap in any year up to {cap.year}",
            "population_final": f"the population at the end of {cap.year}",
            "capped": f"The plan caps the population at the end of {cap.year}; the years before are context."}


def _growth_words(cap: CapSummary) -> dict[str, str]:
    first, last = cap.years
    return {"p_exceed_mean": f"Natural growth averaging above {cap.limit_permille:g} per mille a year over "
                             f"{first}-{last}",
            "p_exceed_any_year": f"Above {cap.limit_permille:g} per mille in any single year",
            "natural_growth_mean": f"average natural growth {first}-{last}",
            "capped": f"The plan caps the {first}-{last} average: a single year above {cap.limit_permille:g} does "
                      "not break it."}


# by the cap's name in the scenario's targets (`sim.results.caps.CAP_KINDS`)
HEADLINE_SENTENCES = {"population": _population_sentence, "natural_growth": _growth_sentence}
CAP_WORDS = {"population": _population_words, "natural_growth": _growth_words}


def headline_sentence(name: str, cap: CapSummary) -> str:
    """The chance of breaking the cap `name` the way a planner asks first: in the futures, with its interval."""
    return HEADLINE_SENTENCES[name](cap)


def headline_sentences(summary: Summary) -> list[str]:
    """The sentences a planner reads first: the chance of breaking each cap."""
    return [headline_sentence(name, cap) for name, cap in summary.caps.items()]


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


def chance_colour(p: float) -> str:
    """How a chance of breaking a cap reads at a glance: green under 10%, orange to 50%, red from 50%."""
    return CHANCE_COLOURS[0] if p < 0.1 else CHANCE_COLOURS[1] if p < 0.5 else CHANCE_COLOURS[2]


def base_year_words(run: EnsembleResult) -> str:
    """What a series' first point is: the base year, as the base population the run starts from tells it."""
    return (f"{run.base_year}: the base population's year (its histories' births at the scenario's level, deaths "
            "expected from the life table)")


def size_spread_note(run: EnsembleResult) -> str:
    """Why the base year's population has a spread, when it has one."""
    size = run.scenario.population.size
    if not isinstance(size, BaseDistribution) or run.settings.central_inputs:
        return ""
    return (f"; it has a spread because the base population is itself uncertain: each future draws it, "
            f"{describe(size)}")


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


# what each input a shipped scenario draws is, in the scenario's terms; `*` stands for a row of a cohort table,
# `{cohort}` for its birth years
INPUT_WORDS = {
    "population.size": "people at the start",
    "population.births_per_year": "births in the year before the start",
    "population.urban_share": "share with urban hukou",
    "population.only_child_share.*.urban": "urban people born {cohort} who are only children",
    "population.only_child_share.*.rural": "rural people born {cohort} who are only children",
    "population.family_formation_delay_years": "marriage and births later than the 2010 census pattern (years)",
    "fertility.trend_per_year.first": "yearly change in first-birth rates",
    "fertility.trend_per_year.second": "yearly change in second-birth rates",
    "fertility.trend_per_year.third_plus": "yearly change in third-birth rates",
    "mortality.e0_gain_years_per_year": "yearly gain in life expectancy (years)",
    "mortality.e0_offset_years": "life expectancy above the national table (years)",
    "migration.net_migrants_per_year": "net migrants a year (in minus out)",
    "sex_ratio_at_birth.first": "boys per 100 girls at first births",
    "sex_ratio_at_birth.second": "boys per 100 girls at second births",
    "sex_ratio_at_birth.third_plus": "boys per 100 girls at third births",
    "policy.penalty_deterrence": "out-of-policy births a fully collected fee deters",
    "policy.penalty_collection_rate": "share of out-of-policy fees collected",
    "behaviour.second_child_intention.urban": "urban mothers who want a second child",
    "behaviour.second_child_intention.rural": "rural mothers who want a second child",
    "behaviour.third_child_intention.urban": "urban mothers wanting a second who want a third",
    "behaviour.third_child_intention.rural": "rural mothers wanting a second who want a third",
    "behaviour.catch_up.hazard_multiplier": "how much faster the held-back conceive once allowed",
    "behaviour.catch_up.window_months": "how long that catch-up lasts (months)",
    "behaviour.catch_up.min_months_since_birth": "months since the last birth to count as held back",
    "behaviour.catch_up.acting_share": "share of the held-back who act once allowed",
    "behaviour.compliance": "couples who keep to the rules",
}


def plain_input_words(dotted: str, scenario: Scenario) -> str:
    """What a drawn input is, in plain words (`INPUT_WORDS`); an input without them, by `input_label`."""
    parts = dotted.split(".")
    rows = [int(part) for part in parts if part.isdigit()]
    words = INPUT_WORDS.get(".".join("*" if part.isdigit() else part for part in parts))
    if words is None:
        return input_label(dotted, scenario)
    return words.format(cohort=_cohort(scenario, parts[:parts.index(str(rows[0]))], rows[0]) if rows else "")


def _cohort(scenario: Scenario, table_path: list[str], row: int) -> str:
    """The birth years of row `row` of a cohort table: after the previous row's `born_until`, up to its own."""
    table = scenario
    for part in table_path:
        table = getattr(table, part)
    until = table[row].born_until
    return f"{table[row - 1].born_until + 1}-{until}" if row else f"by {until}"


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


def population_noun(scenario: Scenario) -> str:
    return "registered (hukou) population" if scenario.population.concept == "registered" else "resident population"


# ---------------------------------------------------------------- how the run was made


def assumptions(run: EnsembleResult) -> list[str]:
    """What was assumed that moves the answer: the rules in force from the base year, the population counted
    and its size, migration, and where the behaviour comes from."""
    scenario = run.scenario
    lines = [f"Policy: {_timeline(scenario)}.",
             f"Population counted: the {population_noun(scenario)}; at the start ({start_words(run)}) "
             f"{describe(scenario.population.size)} people.", *_derived_from_caps(run),
             f"Net migration: {describe(scenario.migration.net_migrants_per_year)} people a year."]
    fitted = taken_from_posterior(scenario) if scenario.inputs_from else []
    if fitted:
        lines.append(f"Behaviour fitted to what was known by 2015: {len(fitted)} inputs drawn jointly from "
                     f"{shown_path(scenario.inputs_from.posterior_file)}.")
    return lines


def _timeline(scenario: Scenario) -> str:
    base = scenario.period.start - dt.timedelta(days=1)
    in_force = max(day for day in scenario.policy.timeline if day <= base)  # the earlier rules are history
    return "; ".join(f"from {day.isoformat()} {REGIME_WORDS[regime]}"
                     for day, regime in sorted(scenario.policy.timeline.items()) if day >= in_force)


def _derived_from_caps(run: EnsembleResult) -> list[str]:
    """A warning where the base size's most likely value is the population cap brought back at the growth cap:
    a figure derived from the plan's targets, not a count, which a planner who knows the count should replace."""
    caps, size = run.summary.caps, run.scenario.population.size
    if not {"population", "natural_growth"} <= set(caps):
        return []
    years = caps["population"].year - run.base_year
    growth = 1 + caps["natural_growth"].limit_permille / 1000
    derived = caps["population"].limit / growth ** years
    likely = size.mode if isinstance(size, Triangular) else central(size)
    if abs(likely - derived) > 0.001 * derived:
        return []
    return [f"  {_number(likely)} is not a count but the cap brought back {years} years at the growth cap "
            f"({caps['population'].limit:,} / {growth:g}^{years}); the plan gives no {run.base_year} figure. "
            "Enter the real one as population.size."]


def movers(run: EnsembleResult, drivers: dict[str, pd.DataFrame]) -> list[str]:
    """The inputs that explain at least `MOVER_SHARE` of a headline outcome's spread, largest first, with their
    range (`drivers`: each headline outcome's `variance_shares`, where the runs can tell them)."""
    if not drivers:
        return ["Too few futures, or no drawn inputs, to tell which inputs move the answer."]
    words = short_outcome_words(run)
    found: dict[str, list[str]] = {}
    for outcome, shares in drivers.items():
        for name, share in shares["share"].items():
            if share >= MOVER_SHARE:
                found.setdefault(name, []).append(f"{percent(share)} of {words[outcome]}")
    ordered = sorted(found, key=lambda name: -max(shares["share"].get(name, 0) for shares in drivers.values()))
    return ["Share of the spread across the futures each input explains alone:",
            *(f"  - {plain_input_words(name, run.scenario)}, {input_range(run, name)}: "
              f"{', '.join(found[name])}" for name in ordered[:MOVERS_SHOWN])]


def short_outcome_words(run: EnsembleResult) -> dict[str, str]:
    """Each cap's headline outcome in a few words, by its column of `EnsembleResult.outcomes`."""
    return {cap.headline.outcome: SHORT_OUTCOME_WORDS[cap.name].format(**run.summary.caps[cap.name].section)
            for cap in run.caps}


def input_range(run: EnsembleResult, name: str) -> str:
    """The range a drawn input took: the scenario's distribution, or for an input fitted to the record
    (`inputs_from`) the posterior's, as the futures drew it."""
    scenario = run.scenario
    if scenario.inputs_from is None or name not in taken_from_posterior(scenario):
        return describe(value_at(scenario, name))
    drawn = run.inputs[name]
    low, middle, high = (_number(drawn.quantile(q), ".2g") for q in (0.05, 0.5, 0.95))
    return f"fitted, {middle} (90% of futures {low} to {high})"


def value_at(scenario: Scenario, dotted: str) -> float | BaseDistribution:
    """The number or distribution at a dotted path of the scenario (a row of a list by its index)."""
    node = scenario
    for part in dotted.split("."):
        node = node[int(part)] if part.isdigit() else getattr(node, part)
    return node


def how_run(run: EnsembleResult) -> list[str]:
    """How the run was made, enough to make it again, and what its design says about the spread."""
    provenance = run.manifest["provenance"]
    # SOURCE_DATE_EPOCH asks for the same bytes from the same results: the moment it names, not the run's own
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc) if epoch
            else dt.datetime.fromisoformat(run.manifest["finished"]))
    finished = when.strftime("%Y-%m-%d %H:%M %Z").strip()
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
        quick = (f"A quick run of {settings.population_size:,} simulated people at the central size"
                 if settings.population_size else "Scaled agents (the scenario's population scale)")
        lines.append(f"{quick}: each stands for about {scale:,.0f} people and counts are scaled back, so chance "
                     f"spreads the futures about {math.sqrt(scale):,.1f} times as widely as in the district, and the "
                     "chances of breaking a cap are less sure than a full-size run's."
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
    return f"{values.median():,.0f} (80% of futures {values.quantile(0.1):,.0f}-{values.quantile(0.9):,.0f})"


CATCH_UP = "behaviour.catch_up."


def backlog_lines(run: EnsembleResult, backlog: pd.DataFrame) -> list[str]:
    """The backlog one relaxation releases (`backlog`: its rows of `run.backlogs`) in numbers, and what follows."""
    totals = backlog.groupby("replicate")[["released", "acting"]].sum()
    by_residence = backlog.groupby(["replicate", "residence"])["released"].sum().unstack("residence")
    older = backlog[backlog["age_group"] >= 35].groupby("replicate")["released"].sum() / totals["released"]
    regime = Regime(backlog["regime"].iloc[0])
    return [
        f"From {backlog['date'].iloc[0]} ({REGIME_WORDS[regime]}): {_spread(totals['released'])} women.",
        *(f"  - {residence}: {by_residence[residence].median():,.0f}" for residence in ("urban", "rural")
          if residence in by_residence),
        f"Of them {older.median():.0%} are 35 or older, where fecundity falls fast.",
        f"Acting on the wish: {_spread(totals['acting'])}; the others give it up "
        f"(the acting share: {input_range(run, CATCH_UP + 'acting_share')}).",
        f"Those acting conceive at their usual rate within the rules times a catch-up multiplier "
        f"({input_range(run, CATCH_UP + 'hazard_multiplier')}) while a window is open "
        f"({input_range(run, CATCH_UP + 'window_months')} months), then at the usual rate: the backlog is finite.",
    ]
