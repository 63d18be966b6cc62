"""Demographic indicators computed from a population's columns."""
from __future__ import annotations

import numpy as np
import pandas as pd

from sim.population import FEMALE, MALE, MARRIED, URBAN, Population

PARITY_GROUPS = ("0", "1", "2", "3+")


def age_years(pop: Population) -> np.ndarray:
    return pop.age_months // 12


def age_structure(pop: Population) -> dict[str, float]:
    """Shares of the living aged 0-14, 15-64 and 65+."""
    ages = age_years(pop)[pop.alive]
    n = len(ages)
    return {
        "share_0_14": float((ages < 15).sum() / n),
        "share_15_64": float(((ages >= 15) & (ages < 65)).sum() / n),
        "share_65plus": float((ages >= 65).sum() / n),
    }


def married_women_15_49(pop: Population) -> int:
    ages = age_years(pop)
    return int((pop.alive & (pop.sex == FEMALE) & (pop.marital == MARRIED) & (ages >= 15) & (ages < 50)).sum())


def women_by_parity(pop: Population) -> pd.DataFrame:
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


def couples_by_only_child(pop: Population) -> dict[str, float]:
    """Among married women 15-49, shares whose couple has both, or at least one, spouse an only child."""
    ages = age_years(pop)
    wives = np.flatnonzero(pop.alive & (pop.sex == FEMALE) & (pop.marital == MARRIED) & (ages >= 15) & (ages < 50))
    wife, husband = pop.only_child[wives], pop.only_child[pop.spouse[wives]]
    n = max(len(wives), 1)
    return {"both_only_children": float((wife & husband).sum() / n), "either_only_child": float((wife | husband).sum() / n)}


def population_summary(pop: Population) -> dict:
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
