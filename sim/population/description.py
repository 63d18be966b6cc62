"""What a scenario's base population is: the summary `erhai population` prints.

Beyond its size and structure (`sim.population.structure.population_summary`): the
base year's crude rates, how the histories of later births were drawn and
whether they meet the census, the one-child mothers' wish for a second child
by the years they were free to act on it, and the backlog the scenario's next
relaxation of the rules releases.
"""
from __future__ import annotations

import numpy as np

from sim.engines.columnar import ColumnarModel
from sim.engines.district import base_year_indicators
from sim.indicators import CHILDBEARING_AGE_GROUPS
from sim.population.histories import census_order_ratios
from sim.population.structure import population_summary
from sim.population.synthesis import Synthesis
from sim.scenario.schema import Scenario
from sim.streams import replicate_seed, streams

RESIDENCES = ("urban", "rural")


def base_summary(scenario: Scenario, synthesis: Synthesis, seed: int) -> dict:
    """Everything `erhai population` reports, as plain JSON-ready values; `seed` seeds the engine that finds the
    backlog (and judges the calibration)."""
    summary = population_summary(synthesis.population)
    births = synthesis.births_last_year.sum(axis=0)
    summary["births_last_12_months"] = {"total": int(births.sum()), "order1": int(births[0]),
                                        "order2": int(births[1]), "order3plus": int(births[2])}
    summary["age_factors"] = {f"{low}-{low + 4}": round(float(synthesis.age_factors[low: low + 5].mean()), 3)
                              for low in range(15, 65, 5)}
    summary["base_date"] = synthesis.base_date.isoformat()
    summary["base_year_rates_permille"] = base_year_rates(scenario, synthesis)
    summary["later_births"] = later_births(scenario, synthesis)
    summary["second_child_wishes"] = synthesis.history.second_child_wishes().to_dict(orient="records")
    model = ColumnarModel(scenario, synthesis, streams(replicate_seed(seed, 0)))
    summary["problems"] = model.problems
    summary["backlog"] = first_backlog(scenario, model)
    return summary


def base_year_rates(scenario: Scenario, synthesis: Synthesis) -> dict[str, float]:
    """Crude rates of the year before the base date, per mille (`sim.engines.district.base_year_indicators`)."""
    row = base_year_indicators(scenario, synthesis)
    return {name: round(row[f"{name}_permille"], 2) for name in ("birth_rate", "death_rate", "natural_growth")}


def later_births(scenario: Scenario, synthesis: Synthesis) -> dict:
    """How the histories drew the later births: the levels solved, the census year they meet, the base year."""
    census = synthesis.births_census_year
    return {
        "monthly_rates_within_the_rules": {
            residence: {"second": round(float(synthesis.history_levels[res, 0]), 4),
                        "third": round(float(synthesis.history_levels[res, 1]), 4)}
            for res, residence in enumerate(RESIDENCES)},
        "census_year_per_first_birth": {
            residence: {"second": round(float(census[res, 1] / census[res, 0]), 3),
                        "third": round(float(census[res, 2] / census[res, 0]), 3),
                        "census_second": round(float(ratios[1]), 3), "census_third": round(float(ratios[2]), 3)}
            for (res, residence), ratios in zip(enumerate(RESIDENCES), census_order_ratios(scenario))},
        "base_year_births_of_the_histories": int(synthesis.births_last_year.sum()),
        "scenario_births_against_histories": round(synthesis.births_against_history, 3),
    }


def first_backlog(scenario: Scenario, model: ColumnarModel) -> dict | None:
    """The backlog of the first change of rules in the period (`Scenario.rule_changes`), found by running the
    engine up to it."""
    if not scenario.rule_changes:
        return None
    while not model.backlogs and not model.finished:
        model.step()
    if not model.backlogs:  # a change in the last step's month is seen only after the period
        return None
    backlog = model.backlogs[0]
    groups = [f"{low}-{low + 4}" for low in CHILDBEARING_AGE_GROUPS]
    return {
        "date": backlog.date.isoformat(), "regime": backlog.regime.value,
        "released": int(round(backlog.released.sum())), "acting": int(round(backlog.acting.sum())),
        "by_residence_and_age": {residence: dict(zip(groups, np.round(backlog.released[res].sum(axis=0)).astype(int)
                                                     .tolist()))
                                 for res, residence in enumerate(RESIDENCES)},
        "wanting_a_third": int(round(backlog.released[:, 1].sum())),
    }
