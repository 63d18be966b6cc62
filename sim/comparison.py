"""Paired comparisons of an experiment's variants.

Every variant runs as its own ensemble (a run folder under `variants/`) with
the same seed and replicate count. Replicate r of every variant then draws the
same inputs (those the variants share), the same base population and the same
chance events where the rules agree (common random numbers), so the
difference between two variants is measured replicate by replicate, with far
less noise than two independent ensembles would give.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from sim.ensemble import EnsembleSettings, Execution, prepare, run_caps, run_ensemble
from sim.scenario.experiment import Experiment
from sim.results.storage import RunDirectory, write_atomically, write_json
from sim.results.sensitivity import headline_outcomes
from sim.results.summary import exceedance, exceeding

# comparison.csv name: the probability in summary.json (see sim.summary.EXCEEDANCES)
PROBABILITIES = {"p_population_final": ("population", "p_exceed_final"),
                 "p_population_any_year": ("population", "p_exceed_any_year"),
                 "p_growth_mean": ("natural_growth", "p_exceed_mean"),
                 "p_growth_any_year": ("natural_growth", "p_exceed_any_year")}
PAIRED = ("p_population_final", "p_growth_mean")


def run_experiment(experiment: Experiment, out: Path, settings: EnsembleSettings, execution: Execution,
                   source: str) -> pd.DataFrame:
    """Run every variant not yet complete, then write `comparison.csv` and `experiment.json`; returns the table."""
    directories = []
    for variant in experiment.variants:
        directory = RunDirectory(out / "variants" / variant.name)
        prepare(directory, variant.scenario, settings, f"{source}#{variant.name}")
        if not directory.complete:
            if not execution.quiet:
                print(f"{variant.name}: {variant.label}", flush=True)
            run_ensemble(directory, execution)
        directories.append(directory)
    table = comparison_table(experiment, directories, settings)
    write_atomically(out / "comparison.csv", table.to_csv(index=False))
    write_json(out / "experiment.json", _description(experiment, settings, table))
    return table


def variant_outcomes(directory: RunDirectory, settings: EnsembleSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per replicate: the headline outcomes, and whether each exceeds its cap (columns named as in PROBABILITIES)."""
    caps = run_caps(directory.scenario(), settings)
    replicates = pd.read_csv(directory.path / "replicates.csv")
    outcomes = headline_outcomes(replicates, caps.population_year, caps.natural_growth_years)
    flags = exceeding(outcomes, caps)
    flags = pd.DataFrame({name: flags[key] for name, key in PROBABILITIES.items()})
    births = replicates[replicates.year.between(*caps.natural_growth_years)].groupby("replicate")["births"].sum()
    return outcomes.assign(births_total=births), flags


def comparison_table(experiment: Experiment, directories: list[RunDirectory],
                     settings: EnsembleSettings) -> pd.DataFrame:
    rows = []
    reference = None
    for variant, directory in zip(experiment.variants, directories):
        outcomes, flags = variant_outcomes(directory, settings)
        reference = flags if reference is None else reference
        row = {"variant": variant.name, "label": variant.label, **variant.values}
        for name in PROBABILITIES:
            p = exceedance(int(flags[name].sum()), len(flags))
            row.update({name: p["p"], f"{name}_low": p["ci95"][0], f"{name}_high": p["ci95"][1]})
        for name in PAIRED:
            difference, low, high = paired_difference(reference[name].to_numpy(), flags[name].to_numpy())
            row.update({f"diff_{name}": difference, f"diff_{name}_low": low, f"diff_{name}_high": high})
        row.update({"population_final_median": outcomes["population_final"].median(),
                    "natural_growth_mean_median": outcomes["natural_growth_mean"].median(),
                    "births_2016_2020_median": outcomes["births_total"].median()})
        rows.append(row)
    return pd.DataFrame(rows)


def paired_difference(reference: np.ndarray, variant: np.ndarray) -> tuple[float, float, float]:
    """Difference of two paired proportions (variant minus reference) with Newcombe's 95% score interval.

    Newcombe (1998, Stat Med 17:2635, method 10): the Wilson intervals of
    the two proportions combined through the correlation of the pairs, so
    pairs that agree (common random numbers) narrow the interval. It stays
    inside [-1, 1] and keeps its coverage when the counts are small.
    """
    reference, variant = np.asarray(reference, bool), np.asarray(variant, bool)
    n = len(reference)
    both, only_reference = int((reference & variant).sum()), int((reference & ~variant).sum())
    only_variant, neither = int((~reference & variant).sum()), int((~reference & ~variant).sum())
    p1, p2 = (both + only_reference) / n, (both + only_variant) / n
    l1, u1 = exceedance(both + only_reference, n)["ci95"]
    l2, u2 = exceedance(both + only_variant, n)["ci95"]
    phi = _phi(both, only_reference, only_variant, neither)
    difference = p2 - p1
    below = math.sqrt(max((p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2, 0.0))
    above = math.sqrt(max((u2 - p2) ** 2 - 2 * phi * (u2 - p2) * (p1 - l1) + (p1 - l1) ** 2, 0.0))
    return difference, max(difference - below, -1.0), min(difference + above, 1.0)


def _phi(a: int, b: int, c: int, d: int) -> float:
    """Correlation of the pairs, with Newcombe's continuity correction of a positive one."""
    denominator = (a + b) * (c + d) * (a + c) * (b + d)
    if denominator == 0:
        return 0.0
    numerator = a * d - b * c
    if numerator > 0:
        numerator = max(numerator - (a + b + c + d) / 2, 0.0)
    return numerator / math.sqrt(denominator)


def fifty_percent_crossing(values: np.ndarray, probabilities: np.ndarray) -> float | None:
    """The input value where a probability first crosses 50%, by linear interpolation; None if it never does."""
    order = np.argsort(values)
    x, p = np.asarray(values, float)[order], np.asarray(probabilities, float)[order] - 0.5
    for i in range(len(x) - 1):
        if p[i] == 0:
            return float(x[i])
        if p[i] * p[i + 1] < 0:
            return float(x[i] + (x[i + 1] - x[i]) * p[i] / (p[i] - p[i + 1]))
    return float(x[-1]) if p[-1] == 0 else None


def _description(experiment: Experiment, settings: EnsembleSettings, table: pd.DataFrame) -> dict:
    spec = experiment.spec
    sweep = None
    if experiment.swept:
        first = experiment.swept[0]
        sweep = {"inputs": experiment.swept, "labels": experiment.swept_labels, "crossing_50": {
            name: fifty_percent_crossing(table[first], table[name]) if len(experiment.swept) == 1 else None
            for name in PAIRED}}
    return {"name": spec.name, "description": spec.description, "kind": experiment.kind, "seed": settings.seed,
            "replicates": settings.replicates,
            "variants": [{"name": v.name, "label": v.label, "directory": f"variants/{v.name}", "values": v.values}
                         for v in experiment.variants],
            "sweep": sweep}
