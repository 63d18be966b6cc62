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

from sim.errors import Problem, UserError, excerpt

OPEN_AGE = 100  # the census's open group 100+ is read as ages 100-104
FIRST_MOTHER_AGE, LAST_MOTHER_AGE = 15, 49
ORDERS = ("order1", "order2", "order3plus")


def _refused(path: Path, line: int, field: str, message: str) -> UserError:
    """The error of a data table's one problem, at its file, line and column."""
    return UserError([Problem(Path(path), line, field, message)])


def _read(path: Path, columns: set[str], numbers: tuple[str, ...], **filters: str) -> pd.DataFrame:
    """The table at `path` with `columns`, its `numbers` columns counts (an empty cell is none), the rows where
    each column of `filters` has its value; each row's index is its line in the file."""
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise _refused(path, 1, "", f"cannot read the table: {exc}") from None
    missing = columns - set(table.columns)
    if missing:
        raise _refused(path, 1, "", f"missing columns {sorted(missing)}; has {list(table.columns)}")
    table.index += 2  # the header is line 1
    table = table[(table != "").any(axis=1)]
    for column in numbers:
        table[column] = _counts(path, table[column])
    for column, value in filters.items():
        table = table[table[column] == value]
        if table.empty:
            raise _refused(path, 1, column, f"no rows with {column} = {excerpt(value)}")
    return table


def _counts(path: Path, cells: pd.Series) -> pd.Series:
    """`cells` as numbers, each finite and at least 0 (the census prints none as a blank), or a UserError."""
    values = pd.to_numeric(cells.str.strip().replace("", "0"), errors="coerce")
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise UserError([Problem(Path(path), int(line), str(cells.name), "expected a count, a number at least 0; "
                                 f"got {excerpt(cells[line])}") for line in cells.index[bad]])
    return values.astype(float)


def _age_groups(path: Path, labels: pd.Series) -> np.ndarray:
    """(low, high) of each label; together they must cover the ages 0 to OPEN_AGE+ once each."""
    bounds = []
    for line, label in labels.items():
        try:
            bounds.append(_group_bounds(label))
        except ValueError:
            raise _refused(path, int(line), "age_group", f"expected an age group such as 0, 1-4 or {OPEN_AGE}+; "
                           f"got {excerpt(label)}") from None
    bounds = np.array(bounds)
    order = np.argsort(bounds[:, 0], kind="stable")
    expected_low = 0
    for line, (low, high) in zip(labels.index[order], bounds[order]):
        if low != expected_low or high <= low:
            what = "overlaps the group before" if low < expected_low else "leaves out ages before it" \
                if low > expected_low else "is empty"
            raise _refused(path, int(line), "age_group",
                           f"{excerpt(labels[line])} {what}: groups must cover the ages from 0 once each")
        expected_low = high
    if not labels[labels.index[order[-1]]].strip().endswith(f"{OPEN_AGE}+"):
        raise _refused(path, int(labels.index[order[-1]]), "age_group",
                       f"the last group must be the open one, {OPEN_AGE}+")
    return bounds


def _group_bounds(label: str) -> tuple[int, int]:
    """'0' -> (0, 1), '1-4' -> (1, 5), '100+' -> (100, 105)."""
    label = label.strip()
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
    table = _read(path, {"area", "age_group", "male", "female"}, ("male", "female"), area=area)
    bounds = _age_groups(path, table["age_group"])
    for sex in ("male", "female"):
        if not table[sex].sum():
            raise _refused(path, 1, sex, f"no {sex} people in {excerpt(area)}")
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
    table = _read(path, {"residence", "age", *ORDERS}, ORDERS)
    table = table[table["residence"].isin(list(residences))]
    if table.empty:
        raise _refused(path, 1, "residence", f"no rows for residence {residences}")
    table = table.assign(age=_mother_ages(path, table))
    by_age = table.groupby("age")[list(ORDERS)].sum().reindex(range(FIRST_MOTHER_AGE, LAST_MOTHER_AGE + 1))
    counts = by_age.fillna(0).to_numpy(float).T
    for column, total in zip(ORDERS, counts.sum(axis=1)):
        if not total:
            raise _refused(path, 1, column, f"no births at the ages {FIRST_MOTHER_AGE}-{LAST_MOTHER_AGE} for "
                           f"residence {residences}")
    pattern = counts / counts.sum(axis=1, keepdims=True)
    pattern.flags.writeable = False  # cached: shared by every caller
    return pattern


def _mother_ages(path: Path, table: pd.DataFrame) -> pd.Series:
    """The ages of `table`'s rows: each a whole age of mothers in the childbearing years, once a residence."""
    ages = pd.to_numeric(table["age"], errors="coerce")
    for line in table.index:
        if not FIRST_MOTHER_AGE <= ages[line] <= LAST_MOTHER_AGE or ages[line] != int(ages[line]):
            raise _refused(path, int(line), "age", f"expected a whole age {FIRST_MOTHER_AGE}-{LAST_MOTHER_AGE}; "
                           f"got {excerpt(table['age'][line])}")
    repeated = table.index[table.assign(age=ages).duplicated(["residence", "age"])]
    if len(repeated):
        raise _refused(path, int(repeated[0]), "age",
                       f"a second row for age {table['age'][repeated[0]]} of this residence")
    return ages.astype(int)


def births_by_order(path: Path, area: str, residence: str = "all") -> pd.DataFrame:
    """Births by order (1, 2, 3+) with columns male, female, share, sex_ratio."""
    table = _read(path, {"area", "residence", "order", "male", "female"}, ("male", "female"), area=area,
                  residence=residence)
    order = table["order"].str.strip().map(lambda o: "1" if o == "1" else "2" if o == "2" else "3+")
    grouped = table.groupby(order)[["male", "female"]].sum()
    empty = [f"{o}" for o in ("1", "2", "3+") if o not in grouped.index or not grouped.loc[o].all()]
    if empty:
        raise _refused(path, 1, "order", f"no boys or no girls of birth order {', '.join(empty)} in "
                       f"{excerpt(area)}, residence {excerpt(residence)}")
    total = grouped.sum(axis=1)
    grouped["share"] = total / total.sum()
    grouped["sex_ratio"] = 100 * grouped["male"] / grouped["female"]
    return grouped
