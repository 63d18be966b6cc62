"""The one definition of what the results count: the yearly indicators (a contract other tools read, in
column order) and the age groups they and the reports use."""
from __future__ import annotations

import numpy as np

INDICATORS = (
    "population_end", "population_mid", "births", "births_order1", "births_order2", "births_order3plus",
    "births_male", "births_female", "deaths", "net_migrants", "birth_rate_permille", "death_rate_permille",
    "natural_growth_permille", "tfr", "tfr_order1", "tfr_order2", "tfr_order3plus", "srb",
    "share_0_14", "share_15_64", "share_65plus", "married_women_15_49", "mean_age_mother",
)
# indicators that count people or events: with agents that stand for several people each, they are scaled back
COUNTS = ("population_end", "population_mid", "births", "births_order1", "births_order2", "births_order3plus",
          "births_male", "births_female", "deaths", "net_migrants", "married_women_15_49")
# the broad age groups of the age structure: indicator -> [low, high) years (None: open)
BROAD_AGE_GROUPS: dict[str, tuple[int, int | None]] = {
    "share_0_14": (0, 15), "share_15_64": (15, 65), "share_65plus": (65, None)}
MOTHER_AGES = np.arange(15, 50)  # single years of the fertility rates (births outside are counted at the ends)
PYRAMID_GROUPS = np.arange(0, 90, 5)  # lower bounds of the five-year groups; 85 is 85 and over
CHILDBEARING_AGE_GROUPS = np.arange(15, 50, 5)  # five-year groups of women 15-49 (parity tables, backlogs)
PARITY_GROUPS = ("0", "1", "2", "3+")
