"""Demographic indicators computed from a population's columns."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.population.lifetable import MAX_AGE
from sim.population.people import FEMALE, MALE, MARRIED, URBAN, People
from sim.engines.rules import clamp

PARITY_GROUPS = ("0", "1", "2", "3+")


def age_years(pop: People) -> np.ndarray:
    return pop.age_months // 12


def age_structure(pop: People) -> dict[str, float]:
    """Shares of the living aged 0-14, 15-64 and 65+."""
    ages = age_years(pop)[pop.alive]
    n = len(ages)
    return {
        "share_0_14": float((ages < 15).sum() / n),
        "share_15_64": float(((ages >= 15) & (ages < 65)).sum() / n),
        "share_65plus": float((ages >= 65).sum() / n),
    }


def married_women_15_49(pop: People) -> int:
    ages = age_years(pop)
    return int((pop.alive & (pop.sex == FEMALE) & (pop.marital == MARRIED) & (ages >= 15) & (ages < 50)).sum())


def women_by_parity(pop: People) -> pd.DataFrame:
    """Living women 15-49 by five-year age group (rows) and parity 0, 1, 2, 3+ (columns)."""
    ages = age_years(pop)
    women = pop.alive & (pop.sex == FEMALE) & (ages >= 15) & (ages < 50)
    group = ages[women] // 5 * 5
    parity = np.minimum(pop.parity[women], 3)
    table = pd.crosstab(pd.Series(group, name="age_group"), pd.Series(parity, name="parity"))
    table = table.reindex(index=range(15, 50, 5), columns=range(4), fill_value=0)
    table.index = [f"{a}-{a + 4}" for a in table.index]
    table.columns = list(PARITY_GROUPS)
    return table


def couples_by_only_child(pop: People) -> dict[str, float]:
    """Among married women 15-49, shares whose couple has both, or at least one, spouse an only child."""
    ages = age_years(pop)
    wives = np.flatnonzero(pop.alive & (pop.sex == FEMALE) & (pop.marital == MARRIED) & (ages >= 15) & (ages < 50))
    wife, husband = pop.only_child[wives], pop.only_child[pop.spouse[wives]]
    n = max(len(wives), 1)
    return {"both_only_children": float((wife & husband).sum() / n), "either_only_child": float((wife | husband).sum() / n)}


def expected_deaths_in_a_year(pop: People, annual_q_by_sex: dict[int, np.ndarray]) -> float:
    """Deaths expected within a year among the living, from each one's chance of dying at their age and sex."""
    alive = pop.alive
    age, sex = np.minimum(age_years(pop)[alive], MAX_AGE), pop.sex[alive]
    return float(sum(annual_q_by_sex[s][age[sex == s]].sum() for s in (FEMALE, MALE)))


def population_summary(pop: People) -> dict:
    alive = pop.alive
    males, females = (alive & (pop.sex == MALE)).sum(), (alive & (pop.sex == FEMALE)).sum()
    return {
        "size": int(alive.sum()),
        **age_structure(pop),
        "married_women_15_49": married_women_15_49(pop),
        "sex_ratio": float(100 * males / females),
        "urban_share": float((alive & (pop.residence == URBAN)).sum() / alive.sum()),
        "pregnant_women": int((alive & (pop.months_pregnant > 0)).sum()),
        "couples_15_49": couples_by_only_child(pop),
        "women_15_49_by_parity": women_by_parity(pop).to_dict(orient="index"),
    }


# --- yearly indicators of a projection ----------------------------------------------------

# The contract other tools read, in column order.
INDICATORS = (
    "population_end", "population_mid", "births", "births_order1", "births_order2", "births_order3plus",
    "births_male", "births_female", "deaths", "net_migrants", "birth_rate_permille", "death_rate_permille",
    "natural_growth_permille", "tfr", "tfr_order1", "tfr_order2", "tfr_order3plus", "srb",
    "share_0_14", "share_15_64", "share_65plus", "married_women_15_49", "mean_age_mother",
)
MOTHER_AGES = np.arange(15, 50)
PYRAMID_GROUPS = np.arange(0, 90, 5)  # lower bounds of the five-year groups; 85 is 85 and over


@dataclass(frozen=True)
class Snapshot:
    """What the yearly indicators need of the population at one moment (counts may be expected values)."""

    size: float
    broad_groups: np.ndarray  # people aged 0-14, 15-64, 65+
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
        broad_groups=np.array([by_age[:15].sum(), by_age[15:65].sum(), by_age[65:].sum()]),
        women_by_age=women_by_age[MOTHER_AGES],
        married_women_15_49=float(counts[15:50, 1, 1].sum()),
        pyramid=np.add.reduceat(by_sex, PYRAMID_GROUPS, axis=0).T,
    )


class YearTally:
    """Events of one calendar year, turned into its row of indicators when the year closes."""

    def __init__(self, year: int, start: Snapshot):
        self.year, self.start = year, start
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
            "share_0_14": shares[0], "share_15_64": shares[1], "share_65plus": shares[2],
            "married_women_15_49": end.married_women_15_49,
            "mean_age_mother": (by_age_order.sum(axis=1) @ (MOTHER_AGES + 0.5)) / births if births else np.nan,
        }
        return {"year": self.year, **{name: float(row[name]) for name in INDICATORS}}
