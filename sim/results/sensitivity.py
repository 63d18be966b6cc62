"""Which drawn inputs move the headline outcomes: partial rank correlation coefficients (PRCC).

Also the headline outcomes themselves, one row per replicate, which the summary's
caps and variance decomposition read too.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def _yearly_values(replicates: pd.DataFrame, indicator: str, years: list[int]) -> pd.DataFrame:
    """One indicator as a replicate x year table over `years`; every replicate must have every year."""
    table = replicates.pivot(index="replicate", columns="year", values=indicator)
    missing = [year for year in years if year not in table.columns]
    if missing:
        raise ValueError(f"{indicator}: no rows for year(s) {missing}; the run has {sorted(table.columns)}")
    table = table[years]
    if table.isna().any(axis=None):
        raise ValueError(f"{indicator}: some replicates lack a value in {years[0]}-{years[-1]}")
    return table


def headline_outcomes(replicates: pd.DataFrame, population_year: int,
                      growth_years: tuple[int, int]) -> pd.DataFrame:
    """Per replicate: population at the end of `population_year` and its peak up to then,
    mean and peak yearly natural growth (per mille) over `growth_years` (inclusive)."""
    up_to_cap = sorted({int(y) for y in replicates["year"].unique() if y < population_year} | {population_year})
    population = _yearly_values(replicates, "population_end", up_to_cap)
    growth = _yearly_values(replicates, "natural_growth_permille", list(range(growth_years[0], growth_years[1] + 1)))
    return pd.DataFrame({
        "population_final": population[population_year],
        "population_max": population.max(axis=1),
        "natural_growth_mean": growth.mean(axis=1),
        "natural_growth_max": growth.max(axis=1),
    })


def prcc(inputs: pd.DataFrame, outcome: pd.Series) -> pd.Series:
    """PRCC of each varying input with `outcome`, largest in absolute value first.

    `inputs` has a `replicate` column and one column per drawn input; `outcome` is
    indexed by replicate. Ranks make the measure depend only on monotone relations,
    so a log-scaled input or outcome gives the same coefficients.
    """
    drawn = inputs.set_index("replicate")
    if set(drawn.index) != set(outcome.index):
        raise ValueError("inputs and outcome must cover the same replicates")
    if outcome.nunique() < 2:
        raise ValueError(f"outcome {outcome.name!r} is the same in every replicate; nothing to correlate")
    drawn = drawn.loc[outcome.index]
    drawn = drawn.loc[:, drawn.nunique() > 1]  # a constant input explains nothing and makes the regression singular
    n, k = drawn.shape
    if n <= k + 1:
        raise ValueError(f"PRCC of {k} inputs needs more than {k + 1} replicates; got {n}")
    ranks = drawn.rank().to_numpy()
    outcome_ranks = outcome.rank().to_numpy()
    coefficients = {}
    for i, name in enumerate(drawn.columns):
        others = np.column_stack([np.ones(n), np.delete(ranks, i, axis=1)])
        coefficients[name] = _correlation(_residuals(ranks[:, i], others), _residuals(outcome_ranks, others))
    result = pd.Series(coefficients, name=outcome.name, dtype=float)
    return result.sort_values(key=np.abs, ascending=False)


def _residuals(y: np.ndarray, design: np.ndarray) -> np.ndarray:
    return y - design @ np.linalg.lstsq(design, y, rcond=None)[0]


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    # residuals have mean zero (the design has an intercept), so this is Pearson's r
    return float(a @ b / np.sqrt(a @ a * (b @ b)))
