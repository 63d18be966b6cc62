"""The people of a scenario as columns: one numpy array per attribute.

A person's id is their row: ids are stable for the whole run, the dead keep
their row with `alive` false, and newborns and migrants are appended. Arrays
grow by doubling so appending a month's births costs no copy most months.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import numpy as np

FEMALE, MALE = 0, 1
URBAN, RURAL = 0, 1
SINGLE, MARRIED, WIDOWED = 0, 1, 2
NO_SPOUSE = -1
NO_BIRTH = -1  # months_since_birth of a woman who has not given birth

# name: (dtype, value for new rows)
COLUMNS: dict[str, tuple[type, int | bool]] = {
    "alive": (np.bool_, True),
    "age_months": (np.int16, 0),
    "sex": (np.int8, FEMALE),
    "residence": (np.int8, URBAN),
    "marital": (np.int8, SINGLE),
    "parity": (np.int8, 0),
    "sons": (np.int8, 0),
    "months_since_birth": (np.int16, NO_BIRTH),
    "months_pregnant": (np.int8, 0),
    "only_child": (np.bool_, False),
    "spouse": (np.int32, NO_SPOUSE),
    # latent rank of a woman's wish for children, drawn 0 (strongest) to 254: she wants a second child
    # if below the scenario's intention share of 255, and so on; 255 (`rules.GAVE_UP`): a wish given up
    "intention": (np.uint8, 255),
    # a relaxation of the rules released her wish and she acts on it: the catch-up window (1, 2, ... in the
    # order the model opened them) whose multiplier her rate takes while it is open; 0: none
    "catch_up": (np.int8, 0),
    # a relaxation of the rules newly allowed her next child: the uptake (1, 2, ... in the order the model
    # recorded them) that counts her conception of it; 0 once she has conceived, or if none did
    "newly_eligible": (np.int8, 0),
}


class People:
    """Columns of people; `pop.age_months` is a view of the first `len(pop)` rows."""

    def __init__(self, columns: dict[str, np.ndarray]):
        unknown = set(columns) - set(COLUMNS)
        if unknown:
            raise ValueError(f"unknown population columns {sorted(unknown)}")
        sizes = {len(v) for v in columns.values()}
        if len(sizes) != 1:
            raise ValueError("population columns differ in length")
        self._count = sizes.pop()
        self._data = {
            name: np.asarray(columns[name], dtype) if name in columns else np.full(self._count, default, dtype)
            for name, (dtype, default) in COLUMNS.items()
        }
        self._refresh_views()

    def __len__(self) -> int:
        return self._count

    if TYPE_CHECKING:  # the columns are set as instance attributes by `_refresh_views`
        def __getattr__(self, name: str) -> np.ndarray: ...

    def _refresh_views(self) -> None:
        # engines read columns thousands of times a run: plain attributes are the cheapest lookup
        for name, column in self._data.items():
            setattr(self, name, column[: self._count])

    def __getstate__(self) -> dict:
        return {"_count": self._count, "_data": self._data}  # pickled apart, the views would lose their columns

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._refresh_views()

    def columns(self) -> Iterator[tuple[str, np.ndarray]]:
        for name in COLUMNS:
            yield name, getattr(self, name)

    @property
    def active(self) -> np.ndarray:
        """Ids of the living."""
        return np.flatnonzero(self.alive)

    def add(self, count: int, **values: np.ndarray | int) -> np.ndarray:
        """Append `count` people; unnamed columns take their default. Returns the new ids.

        Rows past the last person always hold the defaults (they are made so and
        never written), so only the named columns are written.
        """
        start, stop = self._count, self._count + count
        capacity = len(self._data["alive"])
        if stop > capacity:
            new_capacity = max(stop, 2 * capacity)
            for name, column in self._data.items():
                grown = np.full(new_capacity, COLUMNS[name][1], column.dtype)
                grown[:start] = column[:start]
                self._data[name] = grown
        for name, value in values.items():
            self._data[name][start:stop] = value
        self._count = stop
        self._refresh_views()
        return np.arange(start, stop)

    def copy(self) -> "People":
        return People({name: column.copy() for name, column in self.columns()})

    def nbytes(self) -> int:
        return sum(column.nbytes for column in self._data.values())
