"""The `summary.json` contract: what an ensemble run says about the caps.

`summarize` turns the tidy `replicates` table (replicate, year, one column per
indicator) into a plain JSON-serializable dict:

    replicates               number of replicates
    years                    [first, last] year in the table
    caps.population          limit, year, p_exceed_final, p_exceed_any_year
    caps.natural_growth      limit_permille, years [first, last], p_exceed_mean, p_exceed_any_year
    indicators               {indicator: {"<year>": {mean, q05, q25, q50, q75, q95}}}
    variance_decomposition   null unless the design is nested (see `variance_decomposition`)
    input_redraws            draws of the inputs set aside as implausible (see `sim.run.run_replicate`)

Every probability is an `exceedance` dict {p, ci95, mcse}. "Exceeds" means strictly
above the limit. Quantiles use numpy's default (linear) interpolation; a value no
replicate has (all NaN) is null.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from scipy.stats import binomtest

from sim.scenario.schema import Targets
from sim.results.sensitivity import headline_outcomes

QUANTILES = {"q05": 0.05, "q25": 0.25, "q50": 0.50, "q75": 0.75, "q95": 0.95}
DESIGN_COLUMNS = ("replicate", "year")


@dataclass(frozen=True)
class Caps:
    population_limit: int
    population_year: int
    natural_growth_limit_permille: float
    natural_growth_years: tuple[int, int]

    @classmethod
    def from_targets(cls, targets: Targets, population_scale: float = 1.0) -> Caps:
        """The scenario's caps; a run on a rescaled population compares with the cap scaled alike."""
        growth = targets.natural_growth
        return cls(round(targets.population.limit * population_scale), targets.population.year,
                   growth.limit_permille, (growth.first_year, growth.last_year))


def exceedance(k: int, n: int) -> dict:
    """k of n replicates exceed: the share, its Wilson 95% interval and its Monte Carlo standard error."""
    p = k / n
    # Wilson rather than Wald: it stays inside [0, 1] and keeps its coverage when k is 0 or n,
    # which is where a cap that is clearly met or clearly broken puts us
    interval = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return {"p": p, "ci95": [float(interval.low), float(interval.high)], "mcse": math.sqrt(p * (1 - p) / n)}


# each exceedance probability: (cap, key in its section) -> the headline outcome compared with the cap
EXCEEDANCES = {("population", "p_exceed_final"): "population_final",
               ("population", "p_exceed_any_year"): "population_max",
               ("natural_growth", "p_exceed_mean"): "natural_growth_mean",
               ("natural_growth", "p_exceed_any_year"): "natural_growth_max"}


def exceeding(outcomes: pd.DataFrame, caps: Caps) -> pd.DataFrame:
    """Per replicate, whether each headline outcome is strictly above its cap (columns keyed as EXCEEDANCES)."""
    limits = {"population": caps.population_limit, "natural_growth": caps.natural_growth_limit_permille}
    return pd.DataFrame({key: outcomes[outcome] > limits[key[0]] for key, outcome in EXCEEDANCES.items()})


def cap_probabilities(outcomes: pd.DataFrame, caps: Caps) -> dict:
    """The `caps` section from the per-replicate headline outcomes."""
    section = {"population": {"limit": caps.population_limit, "year": caps.population_year},
               "natural_growth": {"limit_permille": caps.natural_growth_limit_permille,
                                  "years": list(caps.natural_growth_years)}}
    flags = exceeding(outcomes, caps)
    for cap, key in EXCEEDANCES:
        section[cap][key] = exceedance(int(flags[(cap, key)].sum()), len(flags))
    return section


def indicator_quantiles(replicates: pd.DataFrame) -> dict:
    """For every indicator and year, the mean and quantiles over replicates."""
    indicators = [c for c in replicates.columns if c not in DESIGN_COLUMNS]
    by_year = replicates.groupby("year")[indicators]
    stats = {"mean": by_year.mean(), **{key: by_year.quantile(q) for key, q in QUANTILES.items()}}
    return {
        indicator: {str(year): {key: _json_number(table.at[year, indicator]) for key, table in stats.items()}
                    for year in stats["mean"].index}
        for indicator in indicators
    }


def _json_number(value: float) -> float | None:
    return None if pd.isna(value) else float(value)


def variance_components(outcome: pd.Series, draw: pd.Series) -> dict:
    """One-way random-effects ANOVA of `outcome` over parameter draws (balanced design).

    Between-draw component (MSB - MSW) / K, truncated at 0, is the variance the
    uncertain inputs cause; the within-draw mean square MSW is the variance of chance.
    """
    groups = outcome.groupby(draw)
    sizes = groups.size()
    if sizes.nunique() != 1:
        raise ValueError(f"every parameter draw needs the same number of replicates; got {sorted(set(sizes))}")
    p, k = len(sizes), int(sizes.iloc[0])
    draw_means = groups.transform("mean")
    msb = k * ((groups.mean() - outcome.mean()) ** 2).sum() / (p - 1)
    msw = ((outcome - draw_means) ** 2).sum() / (p * (k - 1))
    inputs, chance = max((msb - msw) / k, 0.0), msw
    total = inputs + chance
    return {
        "inputs_variance": float(inputs),
        "chance_variance": float(chance),
        "inputs_share": float(inputs / total) if total > 0 else None,
        "chance_share": float(chance / total) if total > 0 else None,
    }


def draw_of(replicate: pd.Series, replicates_per_draw: int) -> pd.Series:
    """The parameter draw of each replicate number: replicates 0..K-1 share draw 0, K..2K-1 draw 1, and so on."""
    return replicate // replicates_per_draw


def variance_decomposition(outcomes: pd.DataFrame, replicates_per_draw: int | None) -> dict | None:
    """Inputs-versus-chance variance of each headline outcome; None unless P >= 2 draws of K >= 2 replicates."""
    if replicates_per_draw is None or replicates_per_draw < 2:
        return None
    draw = draw_of(outcomes.index.to_series(), replicates_per_draw)
    draws = draw.nunique()
    if draws < 2:
        return None
    return {
        "draws": int(draws),
        "replicates_per_draw": int(replicates_per_draw),
        "outcomes": {name: variance_components(outcomes[name], draw) for name in outcomes.columns},
    }


def summarize(replicates: pd.DataFrame, caps: Caps, replicates_per_draw: int | None = None,
              input_redraws: int = 0) -> dict:
    """The whole summary. `replicates_per_draw` = K for a nested design (replicate r ran draw r // K)."""
    outcomes = headline_outcomes(replicates, caps.population_year, caps.natural_growth_years)
    return {
        "replicates": len(outcomes),
        "years": [int(replicates["year"].min()), int(replicates["year"].max())],
        "caps": cap_probabilities(outcomes, caps),
        "indicators": indicator_quantiles(replicates),
        "variance_decomposition": variance_decomposition(outcomes, replicates_per_draw),
        "input_redraws": input_redraws,
    }


def _percent_with_interval(probability: dict, replicates: int) -> str:
    low, high = probability["ci95"]
    return f"{probability['p']:.0%} (95% CI {low:.0%}-{high:.0%}, {replicates} replicates)"


def headline_sentences(summary: dict) -> tuple[str, str]:
    """The two sentences a planner reads: the chance of breaking each cap."""
    population, growth = summary["caps"]["population"], summary["caps"]["natural_growth"]
    n = summary["replicates"]
    first, last = growth["years"]
    return (
        f"Chance that the population exceeds {population['limit']:,} at the end of {population['year']}: "
        f"{_percent_with_interval(population['p_exceed_final'], n)}.",
        f"Chance that natural growth averages above {growth['limit_permille']:g} per mille over {first}-{last}: "
        f"{_percent_with_interval(growth['p_exceed_mean'], n)}.",
    )


def widest_half_width(summary: dict) -> float:
    """Largest half-width of the 95% intervals of the exceedance probabilities (for stopping at a precision)."""
    return max((high - low) / 2 for low, high in (summary["caps"][cap][key]["ci95"] for cap, key in EXCEEDANCES))
