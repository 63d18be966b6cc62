"""The yearly indicators of a run, tallied by every engine: snapshots of the population at a year's ends and
the events between (counts may be expected values)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.engines.rules import clamp
from sim.indicators import BROAD_AGE_GROUPS, COUNTS, INDICATORS, MOTHER_AGES, PYRAMID_GROUPS
from sim.population.people import FEMALE, MARRIED, People
from sim.population.structure import expected_deaths_in_a_year


@dataclass(frozen=True)
class Snapshot:
    """What the yearly indicators need of the population at one moment (counts may be expected values)."""

    size: float
    broad_groups: np.ndarray  # people in each of BROAD_AGE_GROUPS
    women_by_age: np.ndarray  # women aged 15..49 by single year
    married_women_15_49: float
    pyramid: np.ndarray  # people by sex (female, male) and five-year age group, the last open (PYRAMID_GROUPS)


def snapshot(age_years: np.ndarray, sex: np.ndarray, marital: np.ndarray, weight: np.ndarray | None = None) -> Snapshot:
    """A snapshot of the living people given (pass only the living)."""
    # one pass counts people by age, sex and married or not; every figure is a sum of those cells
    cell = (np.minimum(age_years, 120) * 2 + (sex == FEMALE)) * 2 + (marital == MARRIED)
    counts = np.bincount(cell, weights=weight, minlength=121 * 4).reshape(121, 2, 2)
    by_age = counts.sum(axis=(1, 2))
    women_by_age = counts[:, 1].sum(axis=1)
    by_sex = counts.sum(axis=2)[:, ::-1]  # female, male
    return Snapshot(
        size=float(by_age.sum()),
        broad_groups=np.array([by_age[low:high].sum() for low, high in BROAD_AGE_GROUPS.values()]),
        women_by_age=women_by_age[MOTHER_AGES],
        married_women_15_49=float(counts[15:50, 1, 1].sum()),
        pyramid=np.add.reduceat(by_sex, PYRAMID_GROUPS, axis=0).T,
    )


class YearTally:
    """Events of one calendar year, turned into its row of indicators when the year closes."""

    def __init__(self, year: int, start: Snapshot, people_per_agent: float = 1.0):
        self.year, self.start, self.people_per_agent = year, start, people_per_agent
        self._births: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]] = []
        self.deaths = 0.0
        self.net_migrants = 0.0

    def add_births(self, mother_age_years: np.ndarray, parity_before: np.ndarray, male: np.ndarray,
                   weight: np.ndarray | None = None) -> None:
        """Births of a step (by default one each), counted when the year closes: once a year, not once a step."""
        self._births.append((mother_age_years, parity_before, male, weight))

    def _birth_counts(self) -> tuple[np.ndarray, float]:
        """Births by mother's age (MOTHER_AGES) and birth order 1, 2, 3+, and of boys."""
        shape = (len(MOTHER_AGES), 3)
        if not self._births:
            return np.zeros(shape), 0.0
        age, parity, male, weight = (np.concatenate(parts) for parts in zip(*[
            (age, parity, male, np.ones(len(age)) if weight is None else weight)
            for age, parity, male, weight in self._births]))
        cell = (clamp(age, MOTHER_AGES[0], MOTHER_AGES[-1]) - MOTHER_AGES[0]) * 3 + np.minimum(parity, 2)
        births = np.bincount(cell, weight, minlength=shape[0] * shape[1]).reshape(shape)
        return births, float(weight[np.asarray(male, bool)].sum())

    def close(self, end: Snapshot) -> dict[str, float]:
        by_age_order, births_male = self._birth_counts()
        mid = (self.start.size + end.size) / 2
        women_years = (self.start.women_by_age + end.women_by_age) / 2
        rates = np.divide(by_age_order, women_years[:, None], out=np.zeros_like(by_age_order),
                          where=women_years[:, None] > 0)
        births = by_age_order.sum()
        by_order = by_age_order.sum(axis=0)
        shares = end.broad_groups / end.size
        row = {
            "population_end": end.size, "population_mid": mid, "births": births,
            "births_order1": by_order[0], "births_order2": by_order[1], "births_order3plus": by_order[2],
            "births_male": births_male, "births_female": births - births_male,
            "deaths": self.deaths, "net_migrants": self.net_migrants,
            "birth_rate_permille": 1000 * births / mid, "death_rate_permille": 1000 * self.deaths / mid,
            "natural_growth_permille": 1000 * (births - self.deaths) / mid,
            "tfr": rates.sum(), "tfr_order1": rates[:, 0].sum(), "tfr_order2": rates[:, 1].sum(),
            "tfr_order3plus": rates[:, 2].sum(),
            "srb": 100 * births_male / (births - births_male) if births > births_male else np.nan,
            **dict(zip(BROAD_AGE_GROUPS, shares)),
            "married_women_15_49": end.married_women_15_49,
            "mean_age_mother": (by_age_order.sum(axis=1) @ (MOTHER_AGES + 0.5)) / births if births else np.nan,
        }
        scale = {name: self.people_per_agent for name in COUNTS}
        return {"year": self.year, **{name: float(row[name] * scale.get(name, 1.0)) for name in INDICATORS}}


# what a base population does not tell of the year before it: the sex of its births was not drawn, nor its migrants
NOT_IN_THE_BASE_YEAR = ("births_male", "births_female", "srb", "net_migrants")


def base_year_row(pop: People, year: int, births_scale: float, annual_q_by_sex: dict[int, np.ndarray],
                  people_per_agent: float = 1.0) -> dict[str, float]:
    """The indicators of the 12 months before the base date, counted as a yearly row is: the births of the
    base population's histories in those months (`births_scale` raises them to the level the engines run at),
    and the deaths the year's life tables give at its ages (expected). Rates are per person at the base date;
    what the base does not tell (`NOT_IN_THE_BASE_YEAR`) is NaN."""
    alive = pop.alive
    end = snapshot(pop.age_months[alive] // 12, pop.sex[alive], pop.marital[alive])
    tally = YearTally(year, end, people_per_agent)
    mothers = alive & (pop.sex == FEMALE) & (pop.months_since_birth >= 0) & (pop.months_since_birth < 12)
    count = int(mothers.sum())
    tally.add_births((pop.age_months[mothers] - pop.months_since_birth[mothers]) // 12, pop.parity[mothers] - 1,
                     np.zeros(count, bool), np.full(count, births_scale))
    tally.deaths = expected_deaths_in_a_year(pop, annual_q_by_sex)
    return {**tally.close(end), **{name: np.nan for name in NOT_IN_THE_BASE_YEAR}}
