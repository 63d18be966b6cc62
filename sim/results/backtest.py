"""A run held against what happened: where each observation falls in the run's spread, and how well it scores.

    scored = backtest(sim.open_run("results/x"), read_observed("observed.csv"))
    scored.rows        # one row per observation: bands, PIT, CRPS, error of the median
    scored.coverage    # each band's share of observations inside it, against its nominal level

Per observation: whether it falls inside the run's central 50%, 80% and 95%
bands (the replicates' quantiles), its PIT value (the share of replicates
below it, ties counted half), the ensemble's CRPS (`scoringrules`, the fair
estimator: it does not reward an ensemble for being small) and the error and
relative error of the median. Overall, each band's coverage with its Wilson
interval: an interval above the nominal level says the bands are too wide,
below it too narrow. Observations of one series are correlated (a run that
starts high stays high), so the interval is a guide, not a test.

With `relative_to` a year, every indicator is scored as a ratio to its own
value in that year, observed and simulated alike (each replicate against
itself): a district's series is often known only through the shape of a
larger area's.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scoringrules

from sim.errors import Problem, UserError
from sim.indicators import INDICATORS
from sim.results.runs import EnsembleResult
from sim.results.summary import Probability

BANDS = (0.5, 0.8, 0.95)  # central bands, by the share of replicates inside them
REQUIRED, OPTIONAL = ("year", "indicator", "value"), ("area", "source")


@dataclass(frozen=True)
class Backtest:
    rows: pd.DataFrame  # one per observation (and variant, for a comparison)
    coverage: pd.DataFrame  # one per band (and variant): observations, inside, share, its interval, verdict
    by_indicator: pd.DataFrame  # one per indicator (and variant): observations, mean CRPS, coverage of each band
    relative_to: int | None

    def to_json(self) -> dict:
        return {"relative_to": self.relative_to, "observations": len(self.rows),
                "coverage": self.coverage.to_dict(orient="records"),
                "by_indicator": self.by_indicator.to_dict(orient="records")}


def read_observed(path: str | Path) -> pd.DataFrame:
    """An observed series in tidy form (`year,indicator,value`, optionally `area`, `source`; lines starting
    with # are comments), or a UserError naming the file, line and field of every problem."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise UserError(f"{path}: cannot read the observed series ({exc.strerror})") from None
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise UserError([Problem(path, 1, "", "no observations: expected a header year,indicator,value")])
    header_line, *body = lines
    header = next(csv.reader([header_line[1]]))
    missing = [column for column in REQUIRED if column not in header]
    unknown = [column for column in header if column not in REQUIRED + OPTIONAL]
    if missing or unknown:
        message = "; ".join([*(f"missing column {c!r}" for c in missing), *(f"unknown column {c!r}" for c in unknown)])
        raise UserError([Problem(path, header_line[0], "", f"{message}: expected year,indicator,value "
                                                            f"and optionally {','.join(OPTIONAL)}")])
    rows, problems = [], []
    for number, line in body:
        record = dict(zip(header, next(csv.reader([line]))))
        parsed = _parsed(record)
        if isinstance(parsed, tuple):
            problems.append(Problem(path, number, *parsed))
        else:
            rows.append({**parsed, "line": number})
    if problems:
        raise UserError(problems)
    observed = pd.DataFrame(rows, columns=[*REQUIRED, *(c for c in OPTIONAL if c in header), "line"])
    observed.attrs["path"] = str(path)  # for messages about how it fits a run
    return _without_repeats(observed, path)


def _parsed(record: dict[str, str]) -> dict | tuple[str, str]:
    """One observation's fields, or the field at fault and what is wrong with it."""
    try:
        year = int(record.get("year", ""))
    except ValueError:
        return "year", f"expected a whole year, got {record.get('year')!r}"
    try:
        value = float(record.get("value", ""))
    except ValueError:
        return "value", f"expected a number, got {record.get('value')!r}"
    if not math.isfinite(value):
        return "value", f"expected a finite number, got {record.get('value')!r}"
    indicator = record.get("indicator", "").strip()
    if indicator not in INDICATORS:
        return "indicator", f"{indicator!r} is not an indicator a run writes; expected one of {', '.join(INDICATORS)}"
    return {"year": year, "indicator": indicator, "value": value,
            **{column: record[column] for column in OPTIONAL if column in record}}


def _without_repeats(observed: pd.DataFrame, path: Path) -> pd.DataFrame:
    keys = [column for column in ("area", "year", "indicator") if column in observed.columns]
    repeated = observed[observed.duplicated(keys, keep="first")]
    if len(repeated):
        raise UserError([Problem(path, int(row.line), "", f"a second value of {row.indicator} in {row.year}")
                         for row in repeated.itertuples()])
    return observed


def backtest(run: EnsembleResult, observed: pd.DataFrame, relative_to: int | None = None) -> Backtest:
    """Score `run` against `observed` (`read_observed`); a UserError if the run lacks an observation's year."""
    tables = {name: run.indicator(name) for name in observed["indicator"].unique()}
    _check_fit(observed, tables, relative_to)
    if relative_to is not None:
        tables = {name: relative(table, relative_to) for name, table in tables.items()}
        observed = relative_observations(observed, relative_to)
    rows = pd.DataFrame([_scored(observation, tables[observation.indicator][observation.year].to_numpy())
                         for observation in observed.itertuples()])
    return Backtest(rows, coverage(rows), by_indicator(rows), relative_to)


def simulated(run: EnsembleResult, indicator: str, relative_to: int | None = None) -> pd.DataFrame:
    """The run's `indicator` as replicate x year (the base year too where the run tells it), as scored: with
    `relative_to`, each replicate as a ratio to its own value in that year."""
    table = run.indicator(indicator)
    return table if relative_to is None else relative(table, relative_to)


def relative(table: pd.DataFrame, year: int) -> pd.DataFrame:
    """Each replicate's row of a replicate x year table as a ratio to its own value in `year`."""
    return table.div(table[year], axis=0)


def relative_observations(observed: pd.DataFrame, year: int) -> pd.DataFrame:
    """Each observation as a ratio to its indicator's observed value in `year`; that year's own (1 by
    construction) go."""
    base = observed[observed["year"] == year].set_index("indicator")["value"]
    ratios = observed.assign(value=observed["value"] / observed["indicator"].map(base))
    return ratios[ratios["year"] != year]


def backtest_variants(variants: dict[str, EnsembleResult], observed: pd.DataFrame,
                      relative_to: int | None = None) -> Backtest:
    """Every variant of a comparison scored against the same observations; each table gains a `variant` column."""
    scored = {name: backtest(result, observed, relative_to) for name, result in variants.items()}
    tables = [pd.concat([getattr(one, table).assign(variant=name) for name, one in scored.items()], ignore_index=True)
              for table in ("rows", "coverage", "by_indicator")]
    return Backtest(*(table[["variant", *table.columns[:-1]]] for table in tables), relative_to)


def _check_fit(observed: pd.DataFrame, simulated: dict[str, pd.DataFrame], relative_to: int | None) -> None:
    problems = []
    if "area" in observed.columns and observed["area"].nunique() > 1:
        problems.append(f"it holds the areas {', '.join(sorted(observed['area'].unique()))}; a run is one area, "
                        "so keep the rows of one")
    for row in observed.itertuples():
        years = simulated[row.indicator].columns
        if row.year not in years:
            problems.append(f"line {row.line}: the run has no {row.indicator} for {row.year} "
                            f"(it has {years.min()}-{years.max()})")
    if relative_to is not None:
        for indicator, table in simulated.items():
            if relative_to not in table.columns:
                problems.append(f"--relative-to {relative_to}: the run has no {indicator} for that year")
            if not ((observed["indicator"] == indicator) & (observed["year"] == relative_to)).any():
                problems.append(f"--relative-to {relative_to}: no observed {indicator} for that year to divide by")
    if problems:
        source = observed.attrs.get("path", "the observed series")
        raise UserError(f"{source} does not fit the run: " + "; ".join(problems))


def _scored(observation, values: np.ndarray) -> dict:
    """One observation against the replicates' `values` of its indicator and year."""
    observed, median = observation.value, float(np.median(values))
    row = {**{column: getattr(observation, column) for column in ("area", "source") if hasattr(observation, column)},
           "year": observation.year, "indicator": observation.indicator, "observed": observed, "median": median}
    for band in BANDS:
        low, high = np.quantile(values, [(1 - band) / 2, (1 + band) / 2])
        row.update({f"band{_percent(band)}_low": low, f"band{_percent(band)}_high": high,
                    f"inside{_percent(band)}": bool(low <= observed <= high)})
    row["pit"] = float(np.mean(values < observed) + 0.5 * np.mean(values == observed))
    row["crps"] = float(scoringrules.crps_ensemble(observed, values, estimator="fair"))
    row["error"] = median - observed
    row["relative_error"] = (median - observed) / observed if observed else np.nan
    return row


def _percent(band: float) -> str:
    return f"{round(100 * band)}"


def coverage(rows: pd.DataFrame) -> pd.DataFrame:
    """Each band's share of observations inside it, its Wilson 95% interval and what that says of the bands."""
    result = []
    for band in BANDS:
        inside = rows[f"inside{_percent(band)}"]
        share = Probability.of(int(inside.sum()), len(inside))
        verdict = ("too narrow" if share.ci95[1] < band else "too wide" if share.ci95[0] > band
                   else "consistent with its level")
        result.append({"band": band, "observations": len(inside), "inside": int(inside.sum()), "share": share.p,
                       "share_low": share.ci95[0], "share_high": share.ci95[1], "verdict": verdict})
    return pd.DataFrame(result)


def by_indicator(rows: pd.DataFrame) -> pd.DataFrame:
    """Per indicator: observations, mean CRPS and PIT, and the share inside each band."""
    groups = rows.groupby("indicator", sort=False)
    table = pd.DataFrame({"observations": groups.size(), "mean_crps": groups["crps"].mean(),
                          "mean_pit": groups["pit"].mean(),
                          **{f"inside{_percent(band)}": groups[f"inside{_percent(band)}"].mean() for band in BANDS}})
    return table.reset_index()
