"""What every engine shares: a `mesa.Model` over the scenario's period that runs the processes of
`sim.engines.processes` in their order each step, keeps the policy regime and the catch-up windows of each
relaxation, calibrates the conception rates on the base population, and tallies the yearly indicators.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import mesa
import numpy as np

from sim.engines import rules
from sim.engines.conception import conception_chances, women_who_may_conceive
from sim.engines.processes import PROCESSES, Process, Step
from sim.engines.tally import Snapshot, YearTally, base_year_row
from sim.indicators import CHILDBEARING_AGE_GROUPS
from sim.population.histories import DAYS_PER_MONTH
from sim.population.people import FEMALE, MALE, People
from sim.population.synthesis import Synthesis, life_tables, life_tables_by_year
from sim.scenario.schema import Regime, Scenario

OLDEST = 110


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


# what a calibration's implausible rates say about the scenario: the inputs that set them
_CALIBRATION_INPUTS = ("behaviour.second_child_intention, behaviour.third_child_intention, behaviour.compliance, "
                       "policy.penalty_deterrence")


def first_birth_targets(synthesis: Synthesis) -> np.ndarray:
    """First conceptions a month by residence (and nought for later orders): the base year's first births, at the
    scenario's level (`Synthesis.births_against_history`)."""
    target = np.zeros((2, rules.ORDERS))
    target[:, 0] = synthesis.births_last_year[:, 0] * synthesis.births_against_history / 12
    return target


@dataclass(frozen=True)
class Backlog:
    """The women a relaxation of the rules released (`rules.in_backlog`), and those of them who act on their wish."""

    date: dt.date
    regime: Regime
    released: np.ndarray  # (residence, next order 2 or 3+, age group 15-19 .. 45-49) women, expected in a projection
    acting: np.ndarray  # the same, those who act

    @classmethod
    def of(cls, date: dt.date, regime: Regime, age_years: np.ndarray, residence: np.ndarray, parity: np.ndarray,
           released: np.ndarray, acting: np.ndarray) -> "Backlog":
        groups = CHILDBEARING_AGE_GROUPS
        cell = (residence * 2 + (np.minimum(parity, 2) - 1)) * len(groups) + \
            np.searchsorted(groups, age_years, side="right").clip(1) - 1
        size = 4 * len(groups)
        return cls(date, regime, *(np.bincount(cell, weights=w, minlength=size).reshape(2, 2, -1)
                                   for w in (released, acting)))

    def rows(self) -> list[dict]:
        """Tidy rows: date, regime, residence, order, age_group, released, acting."""
        return [{"date": self.date.isoformat(), "regime": self.regime.value, "residence": residence,
                 "order": order, "age_group": int(group), "released": float(self.released[r, o, g]),
                 "acting": float(self.acting[r, o, g])}
                for r, residence in enumerate(("urban", "rural")) for o, order in enumerate(("2", "3+"))
                for g, group in enumerate(CHILDBEARING_AGE_GROUPS)]


def calendar_months(start: dt.date, end: dt.date) -> int:
    """Whole calendar months from `start`'s month to `end`'s (`histories.months_between` is exact and fractional)."""
    return (end.year - start.year) * 12 + end.month - start.month


@dataclass
class Uptake:
    """The couples a relaxation newly allowed their next child (`rules.newly_eligible`), whatever they wished, and
    when they conceived it: the response to a change of rules as it was reported, a share of the eligible."""

    date: dt.date
    regime: Regime
    eligible: float  # people
    conceived: list[float] = field(default_factory=list)  # people conceiving in the change's month (0), the next...

    def add(self, month: int, people: float) -> None:
        self.conceived.extend([0.0] * (month + 1 - len(self.conceived)))
        self.conceived[month] += people

    def rows(self, months: int) -> list[dict]:
        """Tidy rows for each window of 1 .. `months` months from the change: date, regime, months, eligible and
        the people who conceived their next child within that many months."""
        counts = np.zeros(months)
        counts[:min(months, len(self.conceived))] = self.conceived[:months]
        return [{"date": self.date.isoformat(), "regime": self.regime.value, "months": window,
                 "eligible": self.eligible, "conceived": float(conceived)}
                for window, conceived in enumerate(np.cumsum(counts), start=1)]


class DistrictModel(mesa.Model):
    """What every engine shares: the scenario's period, policy, calibrated rates and yearly indicators."""

    def __init__(self, scenario: Scenario, synthesis: Synthesis, random_streams: dict[str, np.random.Generator],
                 processes: tuple[Process, ...] = PROCESSES):
        super().__init__(rng=random_streams["agents"])
        self.scenario, self.streams = scenario, random_streams
        missing = [process.name for process in processes if not hasattr(self, f"_{process.name}")]
        if missing:
            raise TypeError(f"{type(self).__name__} does not implement the processes {missing}")
        # each step runs these methods in this order (`sim.engines.processes`)
        self.processes = [getattr(self, f"_{process.name}") for process in processes]
        self.date = scenario.period.start
        self.regime: Regime = scenario.policy.regime_on(synthesis.base_date)
        # each relaxation's catch-up window closes on its date here (index k - 1 for a woman's `catch_up` k)
        self.catch_up_ends: list[dt.date] = list(synthesis.catch_up_ends)
        self.catch_up_open = self._open_windows()
        self.rates = calibrate(rules.Rates.from_scenario(scenario, synthesis.marriage_ages), synthesis.population,
                               self.regime, synthesis, self.catch_up_open)
        # what is implausible about the histories or the calibration: a run draws such inputs again
        self.problems = [*synthesis.problems, *(f"{problem} ({_CALIBRATION_INPUTS})" for problem in
                                                rules.implausible_scales(self.rates, synthesis.births_last_year))]
        self.calibrated_scale = self.rates.scale
        self.backlogs: list[Backlog] = []  # each relaxation in the run: who it released
        self.uptakes: list[Uptake] = []  # and whom it newly allowed, and when they conceived
        sr = scenario.sex_ratio_at_birth
        self.sex_ratios = np.array([sr.first, sr.second, sr.third_plus])  # by birth order 1, 2, 3+
        # agents that stand for several people each (`population.scale`, --population-size) have births and
        # migrants in proportion, and their counts are multiplied back
        self.population_scale = len(synthesis.population) / scenario.population.size
        self.people_per_agent = synthesis.people_per_agent
        self.migration_groups = rules.migration_age_groups(scenario)  # [low, high) years of each age group
        self.months_per_step = scenario.period.time_step_months
        self.tally: YearTally | None = None  # events of the year under way
        self.yearly: list[dict[str, float]] = []
        self.base_year = base_year_indicators(scenario, synthesis)
        self.pyramids: list[tuple[int, np.ndarray]] = []  # (year, people by sex and age group) at year ends
        self._monthly_q_by_year: dict[int, np.ndarray] = {}

    @property
    def finished(self) -> bool:
        return self.date > self.scenario.period.end

    def run(self) -> list[dict[str, float]]:
        while not self.finished:
            self.step()
        return self.yearly

    def step(self) -> None:
        """One time step: the processes in their order; a year is tallied from its first step to its last."""
        if self.tally is None:
            self._open_year(self._snapshot())
        self.catch_up_open = self._open_windows()
        step = self._begin_step(self.months_per_step)
        for process in self.processes:
            process(step)
        self._end_step(step)
        self.date = add_months(self.date, self.months_per_step)
        if self.finished or self.date.year != self.tally.year:
            end = self._snapshot()
            self._close_year(end)
            if not self.finished:
                self._open_year(end)  # the same moment: one snapshot serves both

    # The engine's own parts: the people counted, the year's set-up, the
    # bookkeeping around a step, and one method `_<name>(step)` per process.

    def _snapshot(self) -> Snapshot:
        raise NotImplementedError

    def _open_year(self, start: Snapshot) -> None:
        """The year's tally and its rates (each order's trend at mid-year), and in engines whatever else a year
        needs, such as its death rates."""
        self.tally = YearTally(self.date.year, start, self.people_per_agent)
        years = self.date.year - self.scenario.period.start.year + 0.5
        self.rates = rules.trended(self.rates, self.calibrated_scale, years)

    def _begin_step(self, months: int) -> Step:
        return Step(months)

    def _end_step(self, step: Step) -> None:
        """What an engine keeps up to date once its processes have run."""

    def _open_windows(self) -> np.ndarray:
        """Whether each catch-up window is open on the current date, by a woman's `catch_up` (0: none)."""
        return np.array([False, *(self.date < end for end in self.catch_up_ends)])

    def _release(self, regime: Regime, couple: dict, *, wants: np.ndarray, pregnant: np.ndarray) -> np.ndarray:
        """Whether each woman (`couple`: her attributes) is in the backlog the change to `regime` releases."""
        return rules.in_backlog(regime, self.regime, wants=wants, pregnant=pregnant,
                                min_months_since_birth=self.rates.catch_up_min_months_since_birth, **couple)

    def _open_catch_up(self, regime: Regime, age_years: np.ndarray, residence: np.ndarray, parity: np.ndarray,
                       released: np.ndarray, acting: np.ndarray, eligible: float) -> tuple[int, int]:
        """Record a relaxation's backlog (`released` and `acting` people of each age, residence and parity) and the
        `eligible` it newly allowed their next child, and open its catch-up window; returns the window's index,
        for the `catch_up` of those acting, and the uptake's, for the `newly_eligible` of the eligible."""
        self.backlogs.append(Backlog.of(self.date, regime, age_years, residence, parity,
                                        released * self.people_per_agent, acting * self.people_per_agent))
        self.uptakes.append(Uptake(self.date, regime, eligible * self.people_per_agent))
        self.catch_up_ends.append(self.date + dt.timedelta(days=self.rates.catch_up_window_months * DAYS_PER_MONTH))
        self.catch_up_open = self._open_windows()
        return len(self.catch_up_ends), len(self.uptakes)

    def _count_uptake(self, relaxations: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Count the step's conceptions by the newly eligible (`relaxations`: the index of the relaxation that
        newly allowed each woman, 0 for none; `weights`: the expected women, in a projection)."""
        counts = np.bincount(relaxations, weights=weights, minlength=len(self.uptakes) + 1)
        for uptake, count in zip(self.uptakes, counts[1:]):
            if count:
                uptake.add(calendar_months(uptake.date, self.date), count * self.people_per_agent)

    def monthly_death_probabilities(self, year: int) -> np.ndarray:
        """Monthly chance of dying by sex (FEMALE, MALE) and year of age, from the life tables of `year`.

        The tables of this and the period's later years are solved together when first asked.
        """
        if year not in self._monthly_q_by_year:
            years = range(year, max(year, self.scenario.period.end.year) + 1)
            for later, tables in zip(years, life_tables_by_year(self.scenario, [y + 0.5 for y in years])):
                self._monthly_q_by_year[later] = np.stack([tables[FEMALE].monthly_death_probability(),
                                                           tables[MALE].monthly_death_probability()])
        return self._monthly_q_by_year[year]

    def _close_year(self, end: Snapshot) -> None:
        """The year's row of indicators and the pyramid at its end (and, for the first year, at its start)."""
        tally, self.tally = self.tally, None
        if not self.pyramids:
            self.pyramids.append((tally.year - 1, tally.start.pyramid * self.people_per_agent))
        self.yearly.append(tally.close(end))
        self.pyramids.append((tally.year, end.pyramid * self.people_per_agent))


def base_year_indicators(scenario: Scenario, synthesis: Synthesis) -> dict[str, float]:
    """What the run starts from: the base year's indicators, at the level of births the engines run at,
    labelled the year before the run's first (a run from a census day has a first year of a few months)."""
    tables = life_tables(scenario, synthesis.base_date.year + 0.5)
    return base_year_row(synthesis.population, scenario.period.start.year - 1, synthesis.births_against_history,
                         {sex: table.qx for sex, table in tables.items()}, synthesis.people_per_agent)


def calibrate(rates: rules.Rates, pop: People, regime: Regime, synthesis: Synthesis,
              catch_up_open: np.ndarray) -> rules.Rates:
    """The scales of the conception rates: the first-birth scale of each residence so that the first month's
    expected first conceptions of `pop` are the base year's (`first_birth_targets`), and the later orders' the
    levels the histories were drawn at (`sim.population.histories`), both at the scenario's level of births.

    Later births are not calibrated to the base year's: those include the catch-up of a relaxation before the
    base date (2014), which the run continues only as far as its window is still open. `rates` must be unscaled.
    """
    women = women_who_may_conceive(pop, rates)
    rate, exposure = conception_chances(pop, women, rates, regime, 1, catch_up_open)
    first = rules.calibrated(rates, rate * exposure, pop.residence[women], pop.parity[women],
                             first_birth_targets(synthesis))
    scale = first.scale.copy()
    scale[:, 1:] = synthesis.history_levels * synthesis.births_against_history
    return replace(first, scale=scale)
