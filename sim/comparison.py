"""Paired comparisons of an experiment's variants.

    cmp = sim.compare("experiments/policy_variants.yaml", replicates=40)   # a ComparisonResult
    cmp.table                                                             # one row per variant
    cmp.variants["universal"].yearly                                      # each variant's EnsembleResult

Every variant runs as its own ensemble (with `out`, a run folder under
`variants/`) with the same seed and replicate count. Replicate r of every
variant then draws the same inputs (those the variants share), the same base
population and the same chance events where the rules agree (common random
numbers), so the difference between two variants is measured replicate by
replicate, with far less noise than two independent ensembles would give.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.ensemble import Ensemble, open_run
from sim.results.caps import exceeding
from sim.results.runs import EnsembleResult, EnsembleSettings
from sim.results.storage import ExperimentDirectory, variant_folder
from sim.results.summary import Probability
from sim.scenario.experiment import Experiment, Variant, load_experiment


@dataclass(frozen=True)
class ComparisonResult:
    """An experiment's variants run with paired random numbers: the table and each variant's results."""

    description: dict  # experiment.json: name, kind, seed, replicates, the variants and, for a sweep, its inputs
    table: pd.DataFrame  # comparison.csv: one row per variant
    variants: dict[str, EnsembleResult]  # by variant name, in the experiment's order
    path: Path | None = None


def compare(experiment: str | Path | Experiment, replicates: int | None = None, seed: int | None = None, *,
            population_size: int | None = None, out: str | Path | None = None, jobs: int = 1,
            backend: str = "loky", scheduler: str | None = None, quiet: bool = True) -> ComparisonResult:
    """Run every variant of `experiment` (a file, or a loaded one) not yet complete, and compare them.

    Replicates and seed default to the experiment file's, then its first variant's scenario's. With `out`,
    each variant is a run folder under it (an interrupted experiment continues), beside `comparison.csv` and
    `experiment.json`.
    """
    experiment = experiment if isinstance(experiment, Experiment) else load_experiment(experiment)
    spec, first = experiment.spec, experiment.variants[0].scenario
    settings = EnsembleSettings(seed=next(s for s in (seed, spec.seed, first.ensemble.seed) if s is not None),
                                replicates=replicates or spec.replicates or first.ensemble.replicates,
                                population_size=population_size)
    folder = None if out is None else ExperimentDirectory(Path(out))
    results = {}
    for variant in experiment.variants:
        if not quiet:
            print(f"{variant.name}: {variant.label}", flush=True)
        ensemble = Ensemble(variant.scenario, settings.replicates, settings.seed,
                            population_size=settings.population_size, jobs=jobs, backend=backend,
                            scheduler=scheduler, quiet=quiet, source=f"{spec.name}#{variant.name}")
        results[variant.name] = ensemble.run(None if folder is None else folder.variant(variant.name).path)
    table = comparison_table(experiment.variants, list(results.values()))
    headline = [cap.headline.column for cap in next(iter(results.values())).caps]
    description = _description(experiment, settings, table, headline)
    if folder is not None:
        folder.write(table, description)
    return ComparisonResult(description, table, results, None if folder is None else folder.path)


def open_comparison(path: str | Path) -> ComparisonResult:
    """A finished experiment folder as the results object `compare` gives."""
    folder = ExperimentDirectory(Path(path))
    table, description = folder.read()
    variants = {variant["name"]: open_run(folder.variant(variant["name"]).path)
                for variant in description["variants"]}
    return ComparisonResult(description, table, variants, folder.path)


def comparison_table(variants: list[Variant], results: list[EnsembleResult]) -> pd.DataFrame:
    """One row per variant: each exceedance probability with its Wilson interval, the paired difference of each
    cap's headline probability against the first variant, and medians of the headline outcomes and births."""
    rows = []
    reference = None
    for variant, result in zip(variants, results):
        caps, outcomes = result.caps, result.outcomes
        flags = exceeding(outcomes, caps)
        reference = flags if reference is None else reference
        row = {"variant": variant.name, "label": variant.label, **variant.values}
        for name in flags.columns:
            p = Probability.of(int(flags[name].sum()), len(flags))
            row.update({name: p.p, f"{name}_low": p.ci95[0], f"{name}_high": p.ci95[1]})
        for name in (cap.headline.column for cap in caps):
            difference, low, high = paired_difference(reference[name].to_numpy(), flags[name].to_numpy())
            row.update({f"diff_{name}": difference, f"diff_{name}_low": low, f"diff_{name}_high": high})
        row.update({f"{cap.headline.outcome}_median": outcomes[cap.headline.outcome].median() for cap in caps})
        row[f"births_{_years(result)}_median"] = _births(result).median()
        rows.append(row)
    return pd.DataFrame(rows)


def _years(result: EnsembleResult) -> str:
    return f"{result.yearly['year'].min()}_{result.yearly['year'].max()}"


def _births(result: EnsembleResult) -> pd.Series:
    """Births over the run's years, per replicate."""
    return result.yearly.groupby("replicate")["births"].sum()


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
    l1, u1 = Probability.of(both + only_reference, n).ci95
    l2, u2 = Probability.of(both + only_variant, n).ci95
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


def _description(experiment: Experiment, settings: EnsembleSettings, table: pd.DataFrame,
                 headline: list[str]) -> dict:
    spec = experiment.spec
    sweep = None
    if experiment.swept:
        first = experiment.swept[0]
        sweep = {"inputs": experiment.swept, "labels": experiment.swept_labels, "crossing_50": {
            name: fifty_percent_crossing(table[first], table[name]) if len(experiment.swept) == 1 else None
            for name in headline}}
    return {"name": spec.name, "description": spec.description, "kind": experiment.kind, "seed": settings.seed,
            "replicates": settings.replicates,
            "variants": [{"name": v.name, "label": v.label, "directory": variant_folder(v.name), "values": v.values}
                         for v in experiment.variants],
            "sweep": sweep}
