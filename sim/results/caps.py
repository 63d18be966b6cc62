"""The caps a run is judged by, defined once: which exist is the scenario's `targets`, each with its measures.

A cap is a limit and the headline outcomes of a replicate it is compared
with; "exceeds" means strictly above the limit. A new kind of cap is an
entry in the scenario's `targets` and one function here that turns it into a
`Cap` (added to `CAP_KINDS`): the summary, the comparison table, the reports
and the sensitivity analysis then all take it up.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pandas as pd

from sim.scenario.schema import NaturalGrowthCap, PopulationCap, Targets


@dataclass(frozen=True)
class Measure:
    """One way a replicate can break a cap."""

    cap: str  # the cap's name in the scenario's targets and in summary.json, e.g. "population"
    key: str  # its probability's key in the cap's section of summary.json, e.g. "p_exceed_final"
    outcome: str  # the headline outcome of each replicate compared with the limit, e.g. "population_final"
    headline: bool  # the answer a planner reads first

    @property
    def column(self) -> str:
        """Its probability's column in comparison.csv: the summary.json name below `caps`, e.g.
        "population.p_exceed_final" for caps.population.p_exceed_final."""
        return f"{self.cap}.{self.key}"


@dataclass(frozen=True)
class Cap:
    name: str  # its entry in the scenario's targets
    limit: float
    section: dict  # what summary.json says of it besides its probabilities: the limit, its year or years
    measures: tuple[Measure, ...]
    outcomes: Callable[[pd.DataFrame], pd.DataFrame]  # the yearly table -> one column per measure's outcome
    decimals: int  # how its outcomes are written in a table: whole people, per mille to two decimals

    @property
    def headline(self) -> Measure:
        return next(measure for measure in self.measures if measure.headline)


def population_cap(target: PopulationCap) -> Cap:
    """Population at the end of the cap's year, and its peak up to then."""
    limit = target.limit

    def outcomes(yearly: pd.DataFrame) -> pd.DataFrame:
        years = sorted({int(y) for y in yearly["year"].unique() if y < target.year} | {target.year})
        population = yearly_values(yearly, "population_end", years)
        return pd.DataFrame({"population_final": population[target.year], "population_max": population.max(axis=1)})

    return Cap("population", limit, {"limit": limit, "year": target.year}, (
        Measure("population", "p_exceed_final", "population_final", True),
        Measure("population", "p_exceed_any_year", "population_max", False)), outcomes, decimals=0)


def natural_growth_cap(target: NaturalGrowthCap) -> Cap:
    """Mean and peak yearly natural growth (per mille) over the cap's years, inclusive."""
    years = list(range(target.first_year, target.last_year + 1))

    def outcomes(yearly: pd.DataFrame) -> pd.DataFrame:
        growth = yearly_values(yearly, "natural_growth_permille", years)
        return pd.DataFrame({"natural_growth_mean": growth.mean(axis=1), "natural_growth_max": growth.max(axis=1)})

    return Cap("natural_growth", target.limit_permille,
               {"limit_permille": target.limit_permille, "years": [years[0], years[-1]]}, (
                   Measure("natural_growth", "p_exceed_mean", "natural_growth_mean", True),
                   Measure("natural_growth", "p_exceed_any_year", "natural_growth_max", False)), outcomes,
               decimals=2)


# the scenario's targets entry -> the function that makes its cap, in the order reports show them
CAP_KINDS: dict[str, Callable[..., Cap]] = {"population": population_cap, "natural_growth": natural_growth_cap}


def caps_of(targets: Targets) -> list[Cap]:
    """The caps of a scenario's targets."""
    return [make(getattr(targets, name)) for name, make in CAP_KINDS.items()
            if getattr(targets, name, None) is not None]


def headline_outcomes(yearly: pd.DataFrame, caps: list[Cap]) -> pd.DataFrame:
    """One row per replicate, one column per measure's outcome of every cap (none without caps)."""
    if not caps:
        return pd.DataFrame(index=pd.Index(sorted(yearly["replicate"].unique()), name="replicate"))
    return pd.concat([cap.outcomes(yearly) for cap in caps], axis=1)


def exceeding(outcomes: pd.DataFrame, caps: list[Cap]) -> pd.DataFrame:
    """Per replicate, whether each measure's outcome is strictly above its cap (columns: comparison.csv names)."""
    return pd.DataFrame({measure.column: outcomes[measure.outcome] > cap.limit
                         for cap in caps for measure in cap.measures})


def yearly_values(yearly: pd.DataFrame, indicator: str, years: list[int]) -> pd.DataFrame:
    """One indicator as a replicate x year table over `years`; every replicate must have every year."""
    table = yearly.pivot(index="replicate", columns="year", values=indicator)
    missing = [year for year in years if year not in table.columns]
    if missing:
        raise ValueError(f"{indicator}: no rows for year(s) {missing}; the run has {sorted(table.columns)}")
    table = table[years]
    if table.isna().any(axis=None):
        raise ValueError(f"{indicator}: some replicates lack a value in {years[0]}-{years[-1]}")
    return table
