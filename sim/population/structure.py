"""The size and structure of a columnar population (`sim.population.people`), as `erhai population` reports it."""
from __future__ import annotations

import numpy as np
import pandas as pd

from sim.indicators import BROAD_AGE_GROUPS, CHILDBEARING_AGE_GROUPS, PARITY_GROUPS
from sim.population.lifetable import MAX_AGE
from sim.population.people import FEMALE, MALE, MARRIED, URBAN, People


def age_years(pop: People) -> np.ndarray:
    return pop.age_months // 12


def age_structure(pop: People) -> dict[str, float]:
    """Shares of the living in each broad age group (`BROAD_AGE_GROUPS`)."""
    ages = age_years(pop)[pop.alive]
    return {name: float(((ages >= low) & (ages < (high or np.inf))).sum() / len(ages))
            for name, (low, high) in BROAD_AGE_GROUPS.items()}


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
    table = table.reindex(index=CHILDBEARING_AGE_GROUPS, columns=range(len(PARITY_GROUPS)), fill_value=0)
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
