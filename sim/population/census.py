"""Read the 2010 census tables the scenarios are built from.

Each reader checks the columns it needs and reports a bad table as a user
error naming the file, never as a KeyError deep in the synthesis. Readers
that every replicate's synthesis calls are cached and return read-only arrays.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.interpolate import PchipInterpolator

from sim.errors import Problem, UserError

OPEN_AGE = 100  # the census's open group 100+ is read as ages 100-104
FIRST_MOTHER_AGE, LAST_MOTHER_AGE = 15, 49
ORDERS = ("order1", "order2", "order3plus")


def _read(path: Path, columns: set[str], **filters: str) -> pd.DataFrame:
    try:
        table = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise UserError([Problem(Path(path), 1, "", f"cannot read the table: {exc}")]) from None
    missing = columns - set(table.columns)
    if missing:
        raise UserError([Problem(Path(path), 1, "", f"missing columns {sorted(missing)}; has {list(table.columns)}")])
    for column, value in filters.items():
        table = table[table[column] == value]
        if table.empty:
            raise UserError([Problem(Path(path), 1, column, f"no rows with {column} = {value!r}")])
    return table


def _group_bounds(label: str) -> tuple[int, int]:
    """'0' -> (0, 1), '1-4' -> (1, 5), '100+' -> (100, 105)."""
    if label.endswith("+"):
        return int(label[:-1]), int(label[:-1]) + 5
    low, _, high = label.partition("-")
    return int(low), int(high or low) + 1


@lru_cache(maxsize=8)
def single_year_age_sex(path: Path, area: str) -> np.ndarray:
    """Population by sex (rows: female, male) and single year of age 0..OPEN_AGE.

    Five-year groups are split with a monotone spline through the cumulative
    counts, which keeps every group total and gives a smooth age curve.
    """
    table = _read(path, {"area", "age_group", "male", "female"}, area=area)
    bounds = np.array([_group_bounds(g) for g in table["age_group"]])
    order = np.argsort(bounds[:, 0])
    edges = np.concatenate([[0], bounds[order, 1]])
    result = np.empty((2, OPEN_AGE + 1))
    for row, sex in enumerate(("female", "male")):
        cumulative = np.concatenate([[0.0], np.cumsum(table[sex].to_numpy(float)[order])])
        spline = PchipInterpolator(edges, cumulative)
        by_year = np.diff(spline(np.arange(OPEN_AGE + 2)))
        by_year[OPEN_AGE] = cumulative[-1] - spline(OPEN_AGE)  # the whole open group
        result[row] = by_year
    result.flags.writeable = False  # cached: shared by every caller
    return result


@lru_cache(maxsize=16)
def mother_age_pattern(path: Path, residences: tuple[str, ...]) -> np.ndarray:
    """Share of births of each order by mother's single year of age 15..49 (rows: order 1, 2, 3+)."""
    table = _read(path, {"residence", "age", *ORDERS})
    table = table[table["residence"].isin(list(residences))]
    if table.empty:
        raise UserError([Problem(Path(path), 1, "residence", f"no rows for residence {residences}")])
    by_age = table.groupby("age")[list(ORDERS)].sum().reindex(range(FIRST_MOTHER_AGE, LAST_MOTHER_AGE + 1))
    counts = by_age.fillna(0).to_numpy(float).T
    pattern = counts / counts.sum(axis=1, keepdims=True)
    pattern.flags.writeable = False  # cached: shared by every caller
    return pattern


def births_by_order(path: Path, area: str, residence: str = "all") -> pd.DataFrame:
    """Births by order (1, 2, 3+) with columns male, female, share, sex_ratio."""
    table = _read(path, {"area", "residence", "order", "male", "female"}, area=area, residence=residence)
    order = table["order"].astype(str).map(lambda o: "1" if o == "1" else "2" if o == "2" else "3+")
    grouped = table.groupby(order)[["male", "female"]].sum()
    total = grouped.sum(axis=1)
    grouped["share"] = total / total.sum()
    grouped["sex_ratio"] = 100 * grouped["male"] / grouped["female"]
    return grouped
