"""Paired comparisons of an experiment's variants.

    cmp = sim.compare("experiments/policy_variants.yaml", replicates=40)   # a ComparisonResult
    cmp.table                                                             # comparison.csv: one row per variant
    cmp.summary                                                           # summary.json at the experiment's top
    cmp.variants["universal"].yearly                                      # each variant's EnsembleResult
    sim.comparison.resume("results/policies")                             # continue a stopped experiment

Every variant runs as its own ensemble (with `out`, a run folder under
`variants/`) with the same seed and replicate count. Replicate r of every
variant then draws the same inputs (those the variants share), the same base
population and the same chance events where the rules agree (common random
numbers), so the difference between two variants is measured replicate by
replicate, with far less noise than two independent ensembles would give.

`comparison.csv` has one row per variant, its probabilities named as each
variant's summary.json names them below `caps` (`population.p_exceed_final`
is `caps.population.p_exceed_final`):

    variant, label                 the variant's name (its folder under variants/) and its words
    <swept input>                  a sweep's value of each swept input, by its dotted name
    replicates                     paired runs of the variant
    population_size                agents of a quick run (--population-size); blank at full size
    <cap>.<limit, year or years>   each cap as summary.json gives it: population.limit, population.year,
                                   natural_growth.limit_permille, natural_growth.years ("2016-2020")
    <cap>.<p>                      each probability of breaking it, e.g. population.p_exceed_final,
    <cap>.<p>_low, <cap>.<p>_high  with its Wilson 95% interval
    <cap>.<p>_diff                 its paired difference from the first variant (this one minus the first),
    <cap>.<p>_diff_low, _diff_high with Newcombe's 95% interval; blank on the first variant's own row
    <outcome>_median               the median of each cap's headline outcome (population_final,
                                   natural_growth_mean) and of births over the run's years
                                   (births_2016_2020_median)

Probabilities and differences are rounded to 4 decimals, people to whole
numbers, per mille to 2 decimals. `summary.json` beside it gives the settings
and, per variant, its caps' section of its own summary.json and the paired
differences (`differences.<cap>.<p>`: difference and ci95), unrounded.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.ensemble import Ensemble, Execution, open_run
from sim.ensemble import resume as resume_run
from sim.errors import UserError
from sim.results.caps import caps_of, exceeding
from sim.results.runs import EnsembleResult, EnsembleSettings
from sim.results.storage import COMPLETE, RUNNING, ExperimentDirectory, variant_folder
from sim.results.summary import Probability
from sim.scenario.experiment import Experiment, Variant, load_experiment

PROBABILITY_DECIMALS = 4
# what an experiment folder must agree on with a command that continues it
IDENTITY = ("name", "kind", "seed", "replicates", "population_size", "variants")


@dataclass(frozen=True)
class ComparisonResult:
    """An experiment's variants run with paired random numbers: the table and each variant's results."""

    description: dict  # experiment.json: name, kind, settings, the variants and, for a sweep, its inputs
    table: pd.DataFrame  # comparison.csv: one row per variant
    variants: dict[str, EnsembleResult]  # by variant name, in the experiment's order
    path: Path | None = None

    @property
    def reference(self) -> EnsembleResult:
        """The first variant: the others are measured against it, and its caps are theirs."""
        return next(iter(self.variants.values()))

    @property
    def summary(self) -> dict:
        """What an experiment folder's summary.json holds: the settings and, per variant, its caps'
        probabilities (as in its own summary.json) and their paired differences from the first variant."""
        description, reference = self.description, self.reference
        return {**{key: description[key] for key in ("name", "description", "kind", "seed", "replicates",
                                                       "population_size", "sweep")},
                "reference": description["variants"][0]["name"],
                "variants": [{"name": variant["name"], "label": variant["label"], "values": variant["values"],
                              "caps": run.summary.to_json()["caps"],
                              "differences": _differences_json(reference, run) if number else None}
                             for number, (variant, run) in enumerate(zip(description["variants"],
                                                                         self.variants.values()))]}


def compare(experiment: str | Path | Experiment, replicates: int | None = None, seed: int | None = None, *,
            population_size: int | None = None, out: str | Path | None = None, jobs: int = 1,
            backend: str = "loky", scheduler: str | None = None, quiet: bool = True) -> ComparisonResult:
    """Run every variant of `experiment` (a file, or a loaded one) not yet complete, and compare them.

    Replicates and seed default to the experiment file's, then its first variant's scenario's. With `out`,
    each variant is a run folder under it, beside `comparison.csv`, `summary.json` and `experiment.json`; the
    folders are all made before any runs, so an interrupted experiment continues with the same call or
    `resume(out)`, and a folder of another experiment or other settings is refused.
    """
    source = str(experiment) if not isinstance(experiment, Experiment) else experiment.spec.name
    experiment = experiment if isinstance(experiment, Experiment) else load_experiment(experiment)
    settings = experiment_settings(experiment, replicates, seed, population_size)
    _check_same_caps(experiment)
    description = _description(experiment, settings, source)
    ensembles = {variant.name: Ensemble(variant.scenario, settings.replicates, settings.seed,
                                        population_size=settings.population_size, jobs=jobs, backend=backend,
                                        scheduler=scheduler, quiet=quiet, source=f"{source}#{variant.name}")
                 for variant in experiment.variants}
    if out is None:
        results = {}
        for variant in description["variants"]:
            _announce(variant, quiet)
            results[variant["name"]] = ensembles[variant["name"]].run()
        return _compared(description, results)
    folder = ExperimentDirectory(Path(out))
    with folder.claimed():
        if folder.exists:
            _check_same(folder, description)
        else:
            folder.start(description)
        for name, ensemble in ensembles.items():
            ensemble.start(folder.variant(name).path)
        return _continued(folder, Execution(jobs, backend, scheduler, quiet))


def experiment_settings(experiment: Experiment, replicates: int | None, seed: int | None,
                        population_size: int | None) -> EnsembleSettings:
    """Every variant's settings: replicates and seed as given, else the experiment file's, else its first
    variant's scenario's."""
    spec, first = experiment.spec, experiment.variants[0].scenario
    return EnsembleSettings(seed=next(s for s in (seed, spec.seed, first.ensemble.seed) if s is not None),
                            replicates=replicates or spec.replicates or first.ensemble.replicates,
                            population_size=population_size)


def _announce(variant: dict, quiet: bool) -> None:
    if not quiet:
        print(f"{variant['name']}: {variant['label']}", flush=True)


def resume(out: str | Path, execution: Execution = Execution()) -> ComparisonResult:
    """Continue the experiment in the folder `out` to the end (its variants and settings come from there) and
    write its comparison; a finished one is read as it is, and its comparison written again. The folder is this
    process's until it ends (and each variant's folder while it runs)."""
    folder = ExperimentDirectory(Path(out))
    folder.description()  # a clear error if the folder holds no experiment
    with folder.claimed():
        return _continued(folder, execution)


def _continued(folder: ExperimentDirectory, execution: Execution) -> ComparisonResult:
    description = folder.description()
    results = {}
    for variant in description["variants"]:
        _announce(variant, execution.quiet)
        results[variant["name"]] = resume_run(folder.variant(variant["name"]).path, execution)
    comparison = _compared(description, results, folder.path)
    folder.write(comparison.table, comparison.summary, comparison.description)
    return comparison


def open_comparison(path: str | Path) -> ComparisonResult:
    """A finished experiment folder as the results object `compare` gives."""
    folder = ExperimentDirectory(Path(path))
    table, description = folder.read()
    variants = {variant["name"]: open_run(folder.variant(variant["name"]).path)
                for variant in description["variants"]}
    return ComparisonResult(description, table, variants, folder.path)


def _compared(description: dict, results: dict[str, EnsembleResult], path: Path | None = None) -> ComparisonResult:
    variants = [Variant(variant["name"], variant["label"], results[variant["name"]].scenario, variant["values"])
                for variant in description["variants"]]
    table = comparison_table(variants, list(results.values()))
    headline = [cap.headline.column for cap in next(iter(results.values())).caps]
    return ComparisonResult(_completed(description, table, headline), table, results, path)


def _check_same_caps(experiment: Experiment) -> None:
    """Paired differences compare like with like: every variant is judged by the first one's caps."""
    first, *others = experiment.variants
    sections = [cap.section for cap in caps_of(first.scenario.targets)]
    differing = [variant.name for variant in others
                 if [cap.section for cap in caps_of(variant.scenario.targets)] != sections]
    if differing:
        raise UserError(f"{experiment.spec.name}: variant(s) {', '.join(differing)} set other caps (targets) than "
                        f"the first, {first.name}; a comparison judges every variant by the same caps")


def _check_same(folder: ExperimentDirectory, asked: dict) -> None:
    stored = folder.description()
    # an experiment written before a setting was recorded is checked on the rest (its variants check theirs)
    differing = [key for key in IDENTITY if key in stored and stored[key] != asked[key]]
    if differing:
        said = "; ".join(f"{key}: {_said(stored[key])} there, {_said(asked[key])} here" for key in differing)
        raise UserError(f"{folder.path} holds another experiment or other settings ({said}); choose another --out, "
                        f"or continue the one there with erhai compare --resume {folder.path}")


def _said(value) -> str:
    if isinstance(value, list):
        return ", ".join(variant["name"] for variant in value)
    return "full size" if value is None else repr(value)


def comparison_table(variants: list[Variant], results: list[EnsembleResult]) -> pd.DataFrame:
    """comparison.csv (see the module's docstring): one row per variant, rounded; the first is the reference."""
    reference = results[0]
    return pd.DataFrame([_row(variant, result, paired_differences(reference, result) if number else None)
                         for number, (variant, result) in enumerate(zip(variants, results))])


def _row(variant: Variant, result: EnsembleResult, differences: dict | None) -> dict:
    row = {"variant": variant.name, "label": variant.label, **variant.values, "replicates": result.count,
           "population_size": result.settings.population_size or math.nan}
    blank = (math.nan,) * 3
    for cap in result.caps:
        row.update({f"{cap.name}.{key}": _cell(value) for key, value in cap.section.items()})
        found = result.summary.caps[cap.name]
        for measure in cap.measures:
            p = found.probabilities[measure.key]
            difference = blank if differences is None else differences[measure.column]
            names = (measure.column, *interval_of(measure.column), difference_of(measure.column),
                     *interval_of(difference_of(measure.column)))
            row.update({name: round(value, PROBABILITY_DECIMALS)
                        for name, value in zip(names, (p.p, *p.ci95, *difference))})
    for cap in result.caps:
        outcome = result.outcomes[cap.headline.outcome].median()
        row[f"{cap.headline.outcome}_median"] = round(outcome, cap.decimals) if cap.decimals else round(outcome)
    row[f"births_{_years(result)}_median"] = round(_births(result).median())
    return row


def interval_of(column: str) -> tuple[str, str]:
    """The columns of the 95% interval of `column`, a probability or a difference."""
    return f"{column}_low", f"{column}_high"


def difference_of(column: str) -> str:
    """The column of the paired difference of the probability `column` from the first variant."""
    return f"{column}_diff"


def _cell(value):
    """A cap's limit or year as one cell: a span of years as "2016-2020"."""
    return "-".join(str(part) for part in value) if isinstance(value, list) else value


def _years(result: EnsembleResult) -> str:
    return f"{result.yearly['year'].min()}_{result.yearly['year'].max()}"


def _births(result: EnsembleResult) -> pd.Series:
    """Births over the run's years, per replicate."""
    return result.yearly.groupby("replicate")["births"].sum()


def paired_differences(reference: EnsembleResult, variant: EnsembleResult) -> dict[str, tuple[float, float, float]]:
    """Each probability of breaking a cap, `variant` minus `reference` replicate by replicate, with its 95%
    interval, by its comparison.csv column."""
    first, second = (exceeding(run.outcomes, reference.caps) for run in (reference, variant))
    return {column: paired_difference(first[column].to_numpy(), second[column].to_numpy()) for column in first}


def _differences_json(reference: EnsembleResult, variant: EnsembleResult) -> dict:
    differences = paired_differences(reference, variant)
    return {cap.name: {measure.key: {"difference": differences[measure.column][0],
                                     "ci95": list(differences[measure.column][1:])} for measure in cap.measures}
            for cap in reference.caps}


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


def _description(experiment: Experiment, settings: EnsembleSettings, source: str) -> dict:
    """experiment.json as a comparison starts: what was asked (the 50% crossings come with the results)."""
    spec = experiment.spec
    sweep = {"inputs": experiment.swept, "labels": experiment.swept_labels, "crossing_50": None} \
        if experiment.swept else None
    return {"name": spec.name, "description": spec.description, "kind": experiment.kind, "file": source,
            "seed": settings.seed, "replicates": settings.replicates, "population_size": settings.population_size,
            "variants": [{"name": v.name, "label": v.label, "directory": variant_folder(v.name), "values": v.values}
                         for v in experiment.variants],
            "sweep": sweep, "status": RUNNING}


def _completed(description: dict, table: pd.DataFrame, headline: list[str]) -> dict:
    """experiment.json once every variant is complete: for a sweep, where each headline probability (by its
    column) crosses 50% along the swept input (none for a sweep of two)."""
    sweep = description["sweep"]
    if sweep is not None:
        swept = sweep["inputs"]
        sweep = {**sweep, "crossing_50": {
            name: fifty_percent_crossing(table[swept[0]], table[name]) if len(swept) == 1 else None
            for name in headline}}
    return {**description, "sweep": sweep, "status": COMPLETE}
