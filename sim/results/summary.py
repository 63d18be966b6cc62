"""What an ensemble says about its caps: `Summary`, and the `summary.json` contract it reads and writes.

    replicates               number of replicates
    years                    [first, last] year in the table
    caps.<cap>               each cap of the scenario's targets (`sim.results.caps`): its limit and year or
                             years, and one probability per measure, e.g. caps.population.p_exceed_final
    indicators               {indicator: {"<year>": {mean, q05, q25, q50, q75, q95}}}
    variance_decomposition   null unless the design is nested (see `variance_decomposition`)
    input_redraws            draws of the inputs set aside as implausible (see `sim.simulation.run_replicate`)

Every probability is a `Probability` {p, ci95, mcse, runs_exceeding, runs}. "Exceeds" means strictly
above the limit. Quantiles use numpy's default (linear) interpolation; a value no
replicate has (all NaN) is null.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import pandas as pd
from scipy.stats import binomtest

from sim.results.caps import Cap, exceeding, headline_outcomes

QUANTILES = {"q05": 0.05, "q25": 0.25, "q50": 0.50, "q75": 0.75, "q95": 0.95}
DESIGN_COLUMNS = ("replicate", "year")


@dataclass(frozen=True)
class Probability:
    """A share of replicates, from the counts it is (a planner reads "16 of 200 simulated futures" more surely
    than 8%): with its Wilson 95% interval and its Monte Carlo standard error."""

    runs_exceeding: int
    runs: int

    @classmethod
    def of(cls, k: int, n: int) -> Probability:
        """k of n replicates exceed."""
        return cls(k, n)

    @property
    def p(self) -> float:
        return self.runs_exceeding / self.runs

    @cached_property
    def ci95(self) -> tuple[float, float]:
        # Wilson rather than Wald: it stays inside [0, 1] and keeps its coverage when k is 0 or n,
        # which is where a cap that is clearly met or clearly broken puts us
        interval = binomtest(self.runs_exceeding, self.runs).proportion_ci(confidence_level=0.95, method="wilson")
        return float(interval.low), float(interval.high)

    @property
    def mcse(self) -> float:
        return math.sqrt(self.p * (1 - self.p) / self.runs)

    @property
    def half_width(self) -> float:
        return (self.ci95[1] - self.ci95[0]) / 2

    def to_json(self) -> dict:
        return {"p": self.p, "ci95": list(self.ci95), "mcse": self.mcse, "runs_exceeding": self.runs_exceeding,
                "runs": self.runs}

    @classmethod
    def from_json(cls, data: dict) -> Probability:
        return cls(data["runs_exceeding"], data["runs"])


@dataclass(frozen=True)
class CapSummary:
    """One cap: its limit and year or years (`section`), and the probability of each way of breaking it."""

    section: dict
    probabilities: dict[str, Probability]  # by measure key, e.g. "p_exceed_final"

    # read as attributes: cap.limit, cap.p_exceed_final
    def __getattr__(self, name: str):
        if not name.startswith("__"):
            fields = {**self.__dict__.get("section", {}), **self.__dict__.get("probabilities", {})}
            if name in fields:
                return fields[name]
        raise AttributeError(f"a cap has no {name!r}")

    def to_json(self) -> dict:
        return {**self.section, **{key: p.to_json() for key, p in self.probabilities.items()}}

    @classmethod
    def from_json(cls, data: dict) -> CapSummary:
        probability = {key for key, value in data.items() if isinstance(value, dict) and "p" in value}
        return cls({k: v for k, v in data.items() if k not in probability},
                   {key: Probability.from_json(data[key]) for key in probability})


@dataclass(frozen=True)
class Summary:
    """The caps' probabilities, the indicators' bands by year, and for a nested design the variance split."""

    replicates: int
    years: tuple[int, int]
    caps: dict[str, CapSummary]  # by the cap's name in the targets, e.g. summary.caps["population"]
    indicators: dict  # {indicator: {"<year>": {mean, q05, ..., q95}}}
    variance_decomposition: dict | None
    input_redraws: int

    def __getattr__(self, name: str) -> CapSummary:
        caps = self.__dict__.get("caps", {}) if not name.startswith("__") else {}
        if name in caps:
            return caps[name]
        raise AttributeError(f"Summary has no {name!r}; its caps are {sorted(caps)}")

    def widest_half_width(self) -> float:
        """Largest half-width of the exceedance probabilities' 95% intervals (for stopping at a precision)."""
        return max(p.half_width for cap in self.caps.values() for p in cap.probabilities.values())

    def to_json(self) -> dict:
        return {"replicates": self.replicates, "years": list(self.years),
                "caps": {name: cap.to_json() for name, cap in self.caps.items()},
                "indicators": self.indicators, "variance_decomposition": self.variance_decomposition,
                "input_redraws": self.input_redraws}

    @classmethod
    def from_json(cls, data: dict) -> Summary:
        return cls(data["replicates"], tuple(data["years"]),
                   {name: CapSummary.from_json(cap) for name, cap in data["caps"].items()},
                   data["indicators"], data["variance_decomposition"], data["input_redraws"])


def cap_summaries(outcomes: pd.DataFrame, caps: list[Cap]) -> dict[str, CapSummary]:
    """Each cap's section from the per-replicate headline outcomes."""
    flags = exceeding(outcomes, caps)
    return {cap.name: CapSummary(dict(cap.section), {
        measure.key: Probability.of(int(flags[measure.column].sum()), len(flags)) for measure in cap.measures})
        for cap in caps}


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


def summarize(yearly: pd.DataFrame, caps: list[Cap], replicates_per_draw: int | None = None,
              input_redraws: int = 0) -> Summary:
    """The whole summary. `replicates_per_draw` = K for a nested design (replicate r ran draw r // K)."""
    outcomes = headline_outcomes(yearly, caps)
    return Summary(
        replicates=len(outcomes),
        years=(int(yearly["year"].min()), int(yearly["year"].max())),
        caps=cap_summaries(outcomes, caps),
        indicators=indicator_quantiles(yearly),
        variance_decomposition=variance_decomposition(outcomes, replicates_per_draw),
        input_redraws=input_redraws,
    )
