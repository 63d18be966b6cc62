"""Results as data: one replicate's tables, and an ensemble's, the same whether held in memory or read from disk.

Every table is tidy pandas, one row per replicate and year (or finer), in
replicate order. The columns are defined here once (`TABLE_COLUMNS`); storage
(`sim.results.storage`) writes and reads them, the summary, comparisons and
reports read them from these objects, never from files.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from sim.indicators import INDICATORS, PYRAMID_GROUPS
from sim.results.caps import Cap, caps_of, headline_outcomes
from sim.results.sensitivity import variance_shares
from sim.results.summary import Summary
from sim.scenario.distributions import central
from sim.scenario.schema import Scenario

# the columns of each table (inputs: `replicate`, then each drawn input by its dotted name)
TABLE_COLUMNS = {
    "replicates": ("replicate", "year", *INDICATORS),
    "base_year": ("replicate", "year", *INDICATORS),
    "pyramids": ("replicate", "year", "sex", "age_group", "people"),
    "backlogs": ("replicate", "date", "regime", "residence", "order", "age_group", "released", "acting"),
    "uptake": ("replicate", "date", "regime", "months", "eligible", "conceived"),
}
TABLES = ("replicates", "base_year", "inputs", "pyramids", "backlogs", "uptake")
# each table's field in ReplicateResult and EnsembleResult
TABLE_FIELDS = {"replicates": "yearly", "base_year": "base", "inputs": "inputs", "pyramids": "pyramids",
                "backlogs": "backlogs", "uptake": "uptake"}


@dataclass(frozen=True)
class EnsembleSettings:
    """What decides an ensemble's results (how many workers run it does not)."""

    seed: int
    replicates: int  # the first batch; with until_ci, each further batch
    replicates_per_draw: int = 1  # >1: a nested design, inputs drawn once per group of this many
    until_ci: float | None = None  # keep adding batches until every 95% interval is at most +-this
    max_replicates: int | None = None
    engine: str = "fast"
    population_size: int | None = None
    central_inputs: bool = False


def people_per_agent(scenario: Scenario, population_size: int | None = None) -> float:
    """The people each agent stands for: the scenario's `population.scale`, or in a quick run
    (`population_size` agents at the central size) the central size over that many."""
    return central(scenario.population.size) / population_size if population_size else scenario.population.scale


@dataclass(frozen=True)
class ReplicateResult:
    """One replicate: its yearly indicators, drawn inputs, pyramids, backlogs and uptakes."""

    number: int
    yearly: pd.DataFrame  # replicate, year, then the indicators (TABLE_COLUMNS["replicates"])
    base: pd.DataFrame  # the same of the 12 months before the base date (`sim.engines.tally.base_year_row`)
    inputs: dict[str, float]  # the drawn value of each uncertain input, by dotted path
    pyramids: pd.DataFrame  # replicate, year (the base year, then each year's end), sex, age_group, people
    backlogs: pd.DataFrame  # replicate, then `Backlog.rows` of each relaxation of the rules in the run
    uptake: pd.DataFrame  # replicate, then `Uptake.rows` of each relaxation: the newly eligible who conceived
    redraws: int  # draws of the inputs set aside as implausible before these (`sim.simulation.run_replicate`)

    def tables(self) -> dict[str, pd.DataFrame]:
        """This replicate's rows of each of an ensemble's TABLES."""
        return {"replicates": self.yearly, "base_year": self.base,
                "inputs": pd.DataFrame([{"replicate": self.number, **self.inputs}]),
                "pyramids": self.pyramids, "backlogs": self.backlogs, "uptake": self.uptake}


def pyramid_table(replicate: int, pyramids: list[tuple[int, np.ndarray]]) -> pd.DataFrame:
    """Tidy rows of people by year, sex and five-year age group (lower bound; the last is open)."""
    rows = [(replicate, year, sex, int(group), float(people))
            for year, pyramid in pyramids
            for sex, by_group in zip(("female", "male"), pyramid)
            for group, people in zip(PYRAMID_GROUPS, by_group)]
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS["pyramids"]))


def replicate_table(name: str, replicate: int, rows: list[dict]) -> pd.DataFrame:
    """Table `name` of one replicate from its rows (every column but the replicate's)."""
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS[name][1:]))
    table.insert(0, "replicate", replicate)
    return table


@dataclass(frozen=True)
class EnsembleResult:
    """A finished ensemble: what it was asked (scenario, settings, manifest) and what it found.

    `sim.Ensemble(...).run()` gives one from memory, `sim.open_run(path)` the
    same from a run folder; the tables of the two are identical.
    """

    scenario: Scenario
    settings: EnsembleSettings
    manifest: dict  # scenario file and hash, run identity, provenance (versions, git commit, times)
    summary: Summary
    yearly: pd.DataFrame  # replicates.csv: replicate, year, one column per indicator
    base: pd.DataFrame  # base_year.csv: the same of the 12 months before the base date, what the run starts from
    inputs: pd.DataFrame  # replicate, each drawn input
    pyramids: pd.DataFrame
    backlogs: pd.DataFrame
    uptake: pd.DataFrame  # of each relaxation in the period: the newly eligible who conceived within 1, 2, ... months
    path: Path | None = None  # the run folder, if the results are on disk

    @property
    def seed(self) -> int:
        return self.settings.seed

    @property
    def count(self) -> int:
        return self.summary.replicates

    @property
    def caps(self) -> list[Cap]:
        return caps_of(self.scenario.targets)  # in people, as the counts are, whatever the agents stand for

    @cached_property
    def outcomes(self) -> pd.DataFrame:
        """The headline outcomes of every cap, one row per replicate (`sim.results.caps`)."""
        return headline_outcomes(self.yearly, self.caps)

    @cached_property
    def input_shares(self) -> dict[str, pd.DataFrame | str]:
        """Per headline outcome (by its column of `outcomes`), the share of its spread each drawn input explains
        (`sim.results.sensitivity.variance_shares`), or why the runs cannot tell (a sentence); once per run, as
        every report page that names the inputs asks for them."""
        shares = {}
        for outcome in (cap.headline.outcome for cap in self.caps):
            try:
                shares[outcome] = variance_shares(self.inputs, self.outcomes[outcome])
            except ValueError as exc:
                shares[outcome] = str(exc)
        return shares

    @property
    def base_year(self) -> int:
        """The year the base population closes (its indicators are `base`'s)."""
        return int(self.yearly["year"].min()) - 1

    @property
    def final_year(self) -> int:
        return int(self.yearly["year"].max())

    def indicator(self, name: str) -> pd.DataFrame:
        """One indicator as replicate x year, from the base year where the base population tells it (all but
        `sim.engines.tally.NOT_IN_THE_BASE_YEAR`)."""
        table = self.yearly.pivot(index="replicate", columns="year", values=name)
        base = self.base.set_index("replicate")[name]
        if base.notna().all():
            table.insert(0, self.base_year, base)
        return table

    def medians(self, indicators: list[str] | tuple[str, ...]) -> pd.DataFrame:
        """Median of each indicator over the replicates, year x indicator, from the base year (NaN where the
        base population does not tell it)."""
        return pd.concat([self.base, self.yearly]).groupby("year")[list(indicators)].median()

    def pyramid(self, year: int) -> pd.DataFrame:
        """Median people over the replicates, age_group x sex."""
        rows = self.pyramids[self.pyramids["year"] == year]
        return rows.groupby(["age_group", "sex"])["people"].median().unstack("sex")

    def to_xarray(self):
        """The yearly indicators as an xarray Dataset over replicate x year, with the run's identity as attributes."""
        dataset = self.yearly.set_index(["replicate", "year"]).to_xarray()
        dataset.attrs.update({"scenario": self.scenario.name, "seed": self.seed,
                              "run_id": self.manifest.get("run_id", "")})
        return dataset

