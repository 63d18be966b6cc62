"""The fast engine: a Mesa model whose people live in numpy columns.

One step covers `period.time_step_months` months. Within a step, from the
state at its start:

1. the policy regime of the step's first day; when it relaxes the rules,
   the backlog it releases (`rules.in_backlog`) splits into those who act on
   their wish, catching up while the window is open, and those who give it up;
2. conceptions among married, non-pregnant women of childbearing age;
3. first marriages of single women, to unmarried men of their residence;
4. the clock moves on (ages, months since birth, months of pregnancy);
5. deaths, scheduled once a year (widowing the spouse, ending a pregnancy);
6. births of pregnancies past their gestation (conceptions of this step
   come at least `gestation_months` steps later);
7. net migration.

Each process draws from its own named stream (see `sim.streams`). The rules
are in `sim.engines.rules`; this module only applies them to columns. A step looks
only at the people who may take part in a process, found when a year opens
(see `ColumnarModel._candidacy`), never at the whole population.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import mesa
import numpy as np

from sim.engines import rules
from sim.population.histories import DAYS_PER_MONTH
from sim.indicators import Snapshot, YearTally, snapshot
from sim.population.people import FEMALE, MALE, MARRIED, NO_SPOUSE, RURAL, SINGLE, WIDOWED, People
from sim.scenario.schema import Regime, Scenario
from sim.population.synthesis import Synthesis, life_tables_by_year

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
        cell = (residence * 2 + (np.minimum(parity, 2) - 1)) * len(BACKLOG_AGE_GROUPS) + \
            (rules.clamp(age_years, 15, 49) - 15) // 5
        size = 4 * len(BACKLOG_AGE_GROUPS)
        return cls(date, regime, *(np.bincount(cell, weights=w, minlength=size).reshape(2, 2, -1)
                                   for w in (released, acting)))

    def rows(self) -> list[dict]:
        """Tidy rows: date, regime, residence, order, age_group, released, acting."""
        return [{"date": self.date.isoformat(), "regime": self.regime.value, "residence": residence,
                 "order": order, "age_group": int(group), "released": float(self.released[r, o, g]),
                 "acting": float(self.acting[r, o, g])}
                for r, residence in enumerate(("urban", "rural")) for o, order in enumerate(("2", "3+"))
                for g, group in enumerate(BACKLOG_AGE_GROUPS)]


BACKLOG_AGE_GROUPS = np.arange(15, 50, 5)


class DistrictModel(mesa.Model):
    """What every engine shares: the scenario's period, policy, calibrated rates and yearly indicators."""

    def __init__(self, scenario: Scenario, synthesis: Synthesis, random_streams: dict[str, np.random.Generator]):
        super().__init__(rng=random_streams["agents"])
        self.scenario, self.streams = scenario, random_streams
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
        sr = scenario.sex_ratio_at_birth
        self.sex_ratios = np.array([sr.first, sr.second, sr.third_plus])  # by birth order 1, 2, 3+
        # a rescaled run (--population-size) has births and migrants in proportion
        self.population_scale = len(synthesis.population) / scenario.population.size
        self.migration_groups = rules.migration_age_groups(scenario)  # [low, high) years of each age group
        self.months_per_step = scenario.period.time_step_months
        self.tally: YearTally | None = None  # events of the year under way
        self.yearly: list[dict[str, float]] = []
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
        """One time step of the engine's processes; a year is tallied from its first step to its last."""
        if self.tally is None:
            self._open_year(self._snapshot())
        self.catch_up_open = self._open_windows()
        self._apply_policy(self.scenario.policy.regime_on(self.date))
        self._advance(self.months_per_step)
        self.date = add_months(self.date, self.months_per_step)
        if self.finished or self.date.year != self.tally.year:
            end = self._snapshot()
            self._close_year(end)
            if not self.finished:
                self._open_year(end)  # the same moment: one snapshot serves both

    # The engine's own parts of a step: the people counted, the year's set-up,
    # a change of policy regime and the step's processes.

    def _snapshot(self) -> Snapshot:
        raise NotImplementedError

    def _open_year(self, start: Snapshot) -> None:
        """The year's tally and its rates (each order's trend at mid-year), and in engines whatever else a year
        needs, such as its death rates."""
        self.tally = YearTally(self.date.year, start)
        years = self.date.year - self.scenario.period.start.year + 0.5
        self.rates = rules.trended(self.rates, self.calibrated_scale, years)

    def _apply_policy(self, regime: Regime) -> None:
        raise NotImplementedError

    def _advance(self, months: int) -> None:
        raise NotImplementedError

    def _open_windows(self) -> np.ndarray:
        """Whether each catch-up window is open on the current date, by a woman's `catch_up` (0: none)."""
        return np.array([False, *(self.date < end for end in self.catch_up_ends)])

    def _release(self, regime: Regime, couple: dict, *, wants: np.ndarray, pregnant: np.ndarray) -> np.ndarray:
        """Whether each woman (`couple`: her attributes) is in the backlog the change to `regime` releases."""
        return rules.in_backlog(regime, self.regime, wants=wants, pregnant=pregnant,
                                min_months_since_birth=self.rates.catch_up_min_months_since_birth, **couple)

    def _open_catch_up(self, regime: Regime, age_years: np.ndarray, residence: np.ndarray, parity: np.ndarray,
                       released: np.ndarray, acting: np.ndarray) -> int:
        """Record a relaxation's backlog (`released` and `acting` people of each age, residence and parity) and
        open its catch-up window; returns the window's index, for the `catch_up` of those acting."""
        self.backlogs.append(Backlog.of(self.date, regime, age_years, residence, parity, released, acting))
        self.catch_up_ends.append(self.date + dt.timedelta(days=self.rates.catch_up_window_months * DAYS_PER_MONTH))
        self.catch_up_open = self._open_windows()
        return len(self.catch_up_ends)

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
            self.pyramids.append((tally.year - 1, tally.start.pyramid))
        self.yearly.append(tally.close(end))
        self.pyramids.append((tally.year, end.pyramid))


class ColumnarModel(DistrictModel):
    """People of a district as columns, stepping through the scenario's period."""

    def __init__(self, scenario: Scenario, synthesis: Synthesis, random_streams: dict[str, np.random.Generator]):
        super().__init__(scenario, synthesis, random_streams)
        self.people: People = synthesis.population.copy()
        self._migrants_per_step = rules.expected_migrants(scenario, self.months_per_step, self.population_scale)
        self._conception_bound = np.ones((2, rules.ORDERS))  # set with each year's rates
        self._marriage_bound = rules.marriage_probability_bound(self.rates, self.months_per_step)
        self._deaths_due: dict[int, list[np.ndarray]] = {}
        self._monthly_q = np.zeros((2, OLDEST + 1))
        self._dies_within_year = np.zeros((2, 12 * (OLDEST + 1)))  # by sex and age in months
        # Each step looks only at the people who may take part in a process
        # (see `_candidacy`), not at the whole population.
        self._pregnant = np.flatnonzero(self.people.months_pregnant > 0)
        self._wives = self._singles = self._bachelors = np.empty(0, np.int64)

    def _advance(self, months: int) -> None:
        first_new = len(self.people)
        conceived, months_pregnant = self._conceptions(months)
        brides = self._brides(months)
        self._advance_clock(months)
        self.people.months_pregnant[conceived] = months_pregnant
        self._pregnant = merged(self._pregnant, conceived)
        self._marry(brides)
        widowed = self._deaths(months)
        self._births()
        first_immigrant = len(self.people)
        self._migration()
        self._schedule_deaths(np.arange(first_new, len(self.people)), first_month=self.date.month + months)
        self._track(brides, widowed, np.arange(first_immigrant, len(self.people)))

    # --- years -----------------------------------------------------------------------------

    def _snapshot(self) -> Snapshot:
        pop = self.people
        alive = pop.alive
        return snapshot(pop.age_months[alive] // 12, pop.sex[alive], pop.marital[alive])

    def _open_year(self, start: Snapshot) -> None:
        super()._open_year(start)
        self._conception_bound = rules.conception_probability_bound(self.rates, self.months_per_step)
        self._monthly_q = self.monthly_death_probabilities(self.date.year)
        self._dies_within_year = rules.death_probability_by_age_months(self._monthly_q)
        self._deaths_due = {}
        pop = self.people
        self._schedule_deaths(pop.active, first_month=self.date.month)
        # whole columns: cheaper than gathering the living
        wives, self._singles, self._bachelors = (np.flatnonzero(pop.alive & may) for may in
                                                 self._candidacy(pop.sex, pop.marital, pop.age_months))
        # most wives want no more children: leaving them out for the year halves the index
        # (compress: with a mask of mixed values, much faster than indexing with it)
        self._wives = wives.compress(may_want_more(self.rates, pop.parity[wives], pop.intention[wives],
                                                   pop.residence[wives]))

    def _candidacy(self, sex: np.ndarray, marital: np.ndarray,
                   age_months: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Who may, before the year's end, be a wife of childbearing age, a bride, or a husband.

        Each step looks only at these candidates, and keeps those whose state
        still fits. They are found when a year opens; whoever may join a
        process later in the year is added (`_track`) at the end of the step
        that changed their state: brides, widowers and immigrants (newborns
        join none this year). Ages grow by up to a year and a step before the
        next refresh, so the lower age bounds are lowered by that much.
        """
        r = self.rates
        soon = age_months + (12 + self.months_per_step)
        women = sex == FEMALE
        low, high = r.fecund_ages
        return (women & (marital == MARRIED) & (soon >= 12 * low) & (age_months < 12 * high),
                women & (marital == SINGLE) & (soon >= r.min_marriage_age_months),
                ~women & (marital != MARRIED) & (soon >= 12 * self.scenario.marriage.min_age_men))

    def _track(self, brides: np.ndarray, widowed: np.ndarray, immigrants: np.ndarray) -> None:
        """Add those whose state changed in the step to the candidates (see `_candidacy`) they fit.

        A bride may be a wife of childbearing age (those past it are passed
        over by each step, as are the dead); a widower is a husband again, as
        he was of the men's age to marry; an immigrant may be anyone.
        """
        pop = self.people
        self._wives = merged(self._wives, brides)
        self._bachelors = merged(self._bachelors, widowed[pop.sex[widowed] == MALE])
        if len(immigrants):
            wives, singles, bachelors = self._candidacy(pop.sex[immigrants], pop.marital[immigrants],
                                                        pop.age_months[immigrants])
            self._wives = merged(self._wives, immigrants[wives])
            self._singles = merged(self._singles, immigrants[singles])
            self._bachelors = merged(self._bachelors, immigrants[bachelors])

    def _schedule_deaths(self, ids: np.ndarray, first_month: int) -> None:
        """Draw the month of death, if within this year, of the people `ids` from `first_month` on.

        Most die in no year: whether each dies within 12 months (needed to die
        within fewer) is tested first by a table lookup, and the month found
        only for those who do.
        """
        months = 13 - first_month
        if months <= 0:
            return
        pop = self.people
        sex, age = pop.sex[ids], pop.age_months[ids]
        draw = self.streams["deaths"].random(len(ids))
        table = self._dies_within_year
        width = table.shape[1]  # a flat lookup is twice as fast as table[sex, age]
        may = np.flatnonzero(draw < table.ravel()[sex * np.int16(width) + np.minimum(age, width - 1)])
        if len(may):
            month = rules.death_month(self._monthly_q, sex[may], age[may], months, 1 - draw[may])
            by_month = np.argsort(month, kind="stable")  # in each month, in the order of `ids`
            ids, ends = ids[may][by_month], np.searchsorted(month[by_month], np.arange(months + 1), side="right")
            for offset in range(months):
                if ends[offset] < ends[offset + 1]:
                    self._deaths_due.setdefault(first_month + offset, []).append(ids[ends[offset]: ends[offset + 1]])

    # --- processes -------------------------------------------------------------------------

    def _apply_policy(self, regime: Regime) -> None:
        if regime is self.regime:
            return
        pop = self.people
        wives = self._wives[childbearing_wife(pop, self.rates, self._wives)]
        couple = couple_attributes(pop, wives, self.rates, regime, self.regime)
        wants = rules.wants_next_child(self.rates, pop.parity[wives], pop.intention[wives], pop.residence[wives])
        released = wives[self._release(regime, couple, wants=wants, pregnant=pop.months_pregnant[wives] > 0)]
        acting = self.streams["backlog"].random(len(released)) < self.rates.catch_up_acting_share
        window = self._open_catch_up(regime, pop.age_months[released] // 12, pop.residence[released],
                                     pop.parity[released], np.ones(len(released)), acting.astype(float))
        pop.catch_up[released[acting]] = window
        pop.intention[released[~acting]] = rules.GAVE_UP
        self.regime = regime

    def _conceptions(self, months: int) -> tuple[np.ndarray, np.ndarray]:
        """Women who conceive in this step, and their months of pregnancy at its end.

        A woman conceives if her uniform draw falls below her chance. The draw
        is compared first with the most that chance can be for her residence
        and order, so the chance is worked out only for the few it may exceed.
        """
        pop, rng = self.people, self.streams["conception"]
        wives = self._wives
        draw = rng.random(len(wives))
        order = np.minimum(pop.parity[wives], rules.ORDERS - 1)
        near = draw < self._conception_bound.ravel()[pop.residence[wives] * rules.ORDERS + order]
        wives, draw = wives[near], draw[near]
        may = may_conceive(pop, self.rates, wives)
        women, draw = wives[may], draw[may]
        rate, exposure = conception_chances(pop, women, self.rates, self.regime, months, self.catch_up_open)
        conceived = draw < rules.conception_probability(rate, exposure)
        # conception in a uniformly drawn month of those exposed
        months_pregnant = 1 + (rng.random(np.count_nonzero(conceived)) * exposure[conceived]).astype(np.int8)
        return women[conceived], months_pregnant

    def _brides(self, months: int) -> np.ndarray:
        """Single women who marry in this step (drawn as conceptions are, against the most their chance can be)."""
        pop, rng = self.people, self.streams["marriage"]
        singles = self._singles
        draw = rng.random(len(singles))
        near = draw < self._marriage_bound
        singles, draw = singles[near], draw[near]
        single = (pop.alive[singles] & (pop.marital[singles] == SINGLE)
                  & (pop.age_months[singles] >= self.rates.min_marriage_age_months - months))
        singles, draw = singles[single], draw[single]
        return singles[draw < rules.marriage_probability(self.rates, pop.residence[singles], pop.age_months[singles],
                                                         months)]

    def _marry(self, brides: np.ndarray) -> None:
        """Each bride marries an unmarried man of her residence; if none is left, one from outside."""
        pop, rng = self.people, self.streams["marriage"]
        m = self.scenario.marriage
        men = self._bachelors[pop.alive[self._bachelors]]
        of_age = men[pop.age_months[men] >= 12 * m.min_age_men]
        wanted = rules.wanted_husband_age(self.scenario, pop.age_months[brides] / 12, rng, OLDEST)
        husband = rules.match_husbands(wanted, pop.age_months[of_age] // 12, rng,
                                       pop.residence[brides], pop.residence[of_age])
        matched = husband >= 0
        wives, husbands = brides[matched], of_age[husband[matched]]
        pop.spouse[wives] = husbands
        pop.spouse[husbands] = wives
        pop.marital[husbands] = MARRIED
        pop.marital[brides] = MARRIED
        # the married leave now, so a man widowed later is never in twice
        self._bachelors = men[pop.marital[men] != MARRIED]

    def _advance_clock(self, months: int) -> None:
        pop = self.people
        pop.age_months[:] += months
        since = pop.months_since_birth
        since += (since >= 0) * np.int16(months)  # no branches: far cheaper than a masked add
        # births, deaths and emigration ended some pregnancies
        self._pregnant = pregnant = self._pregnant[pop.months_pregnant[self._pregnant] > 0]
        pop.months_pregnant[pregnant] += months

    def _deaths(self, months: int) -> np.ndarray:
        """Those due to die in the step die; returns the widowed."""
        due = [ids for month in range(self.date.month, self.date.month + months)
               for ids in self._deaths_due.pop(month, [])]
        if not due:
            return np.empty(0, np.int64)
        dying = np.concatenate(due)
        dying = dying[self.people.alive[dying]]
        partners = self.people.spouse[dying]
        self.tally.deaths += remove(self.people, dying, WIDOWED)
        return partners[partners >= 0]

    def _births(self) -> None:
        pop, rng = self.people, self.streams["births"]
        pregnant = self._pregnant
        mothers = pregnant[pop.months_pregnant[pregnant] > self.rates.gestation_months]  # the dead are not pregnant
        if not len(mothers):
            return
        parity = pop.parity[mothers]
        boy = rng.random(len(mothers)) < rules.male_birth_probability(parity, self.sex_ratios)
        since_birth = pop.months_pregnant[mothers] - self.rates.gestation_months - 1
        self.tally.add_births((pop.age_months[mothers] - since_birth) // 12, parity, boy)
        pop.parity[mothers] += 1
        pop.sons[mothers] += boy
        pop.months_since_birth[mothers] = since_birth
        pop.months_pregnant[mothers] = 0
        pop.catch_up[mothers] = 0
        pop.add(len(mothers), age_months=since_birth, sex=np.where(boy, MALE, FEMALE),
                residence=pop.residence[mothers], only_child=parity == 0,
                intention=rules.intention_ranks(rng, len(mothers)))

    def _migration(self) -> None:
        counts = rules.migrant_counts(self._migrants_per_step, self.streams["migration"])
        for sex, group in zip(*np.nonzero(counts)):
            self._migrate(sex, *self.migration_groups[group], int(counts[sex, group]))

    def _migrate(self, sex: int, low: int, high: int, count: int) -> None:
        """Immigrants copy residents of their sex and age group (spouse and pregnancy left behind); emigrants leave."""
        pop = self.people
        people = pick_people(pop, self.streams["migration"], sex, low, high, abs(count), distinct=count < 0)
        if count < 0:
            self.tally.net_migrants -= remove(pop, people, MARRIED)
            return
        copied = {name: column[people] for name, column in pop.columns()
                  if name not in ("spouse", "months_pregnant", "catch_up")}
        self.tally.net_migrants += len(pop.add(len(people), **copied))


def merged(index: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """`index` with `ids` added at its end (the order is only the order of draws, the same in every run)."""
    return np.concatenate([index, ids]) if len(ids) else index


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


def childbearing_wife(pop: People, rates: rules.Rates, women: np.ndarray) -> np.ndarray:
    """Whether each of `women` is alive, married and of childbearing age."""
    low, high = rates.fecund_ages
    age = pop.age_months[women]
    return pop.alive[women] & (pop.marital[women] == MARRIED) & (age >= 12 * low) & (age < 12 * high)


def women_who_may_conceive(pop: People, rates: rules.Rates) -> np.ndarray:
    women = np.flatnonzero(pop.sex == FEMALE)
    return women[may_conceive(pop, rates, women)]


def may_want_more(rates: rules.Rates, parity: np.ndarray, intention: np.ndarray, residence: np.ndarray) -> np.ndarray:
    """Whether each woman wants a next child now or may after births to come.

    Parities only grow, and those beyond the last order share its intention.
    """
    wants = rules.wants_next_child(rates, parity, intention, residence)
    for order in range(1, rules.ORDERS):
        wants |= rules.wants_next_child(rates, np.maximum(parity, order), intention, residence)
    return wants


def may_conceive(pop: People, rates: rules.Rates, women: np.ndarray) -> np.ndarray:
    """Whether each of `women` is married, of childbearing age, not pregnant and wants another child.

    The others cannot conceive.
    """
    wants = rules.wants_next_child(rates, pop.parity[women], pop.intention[women], pop.residence[women])
    return childbearing_wife(pop, rates, women) & (pop.months_pregnant[women] == 0) & wants


def conception_chances(pop: People, women: np.ndarray, rates: rules.Rates, regime: Regime, months: int,
                       catch_up_open: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Monthly conception rate and months exposed in a step of `months`, for `women_who_may_conceive`.

    `catch_up_open` says which catch-up windows are open (`DistrictModel.catch_up_open`).
    """
    couple = couple_attributes(pop, women, rates, regime)
    parity = couple["parity"]
    exposure = rules.exposure_months(rates, parity=parity,
                                     months_since_birth_end=couple["months_since_birth"] + months, months=months)
    rate = rules.conception_rate(
        rates, parity=parity, age_years=pop.age_months[women] // 12, residence=pop.residence[women],
        wants=True, catching_up=catch_up_open[pop.catch_up[women]],
        eligible=rules.eligible_for_next_birth(regime, **couple))
    return rate, exposure


def couple_attributes(pop: People, wives: np.ndarray, rates: rules.Rates, *regimes: Regime) -> dict:
    """The keyword arguments of `rules.eligible_for_next_birth` under `regimes` for the married women `wives`.

    Parity and months since the last birth always (exposure needs them too);
    the rest only if the rules of a regime look at them.
    """
    attributes = dict(married=True, parity=pop.parity[wives], months_since_birth=pop.months_since_birth[wives],
                      rural_daughter_min_interval_months=rates.rural_daughter_min_interval_months)
    if any(rules.looks_at_couple(regime) for regime in regimes):
        spouse = pop.spouse[wives]
        attributes.update(sons=pop.sons[wives], rural=pop.residence[wives] == RURAL,
                          wife_only_child=pop.only_child[wives],
                          husband_only_child=(spouse >= 0) & pop.only_child[np.maximum(spouse, 0)])
    return attributes


def remove(pop: People, ids: np.ndarray, partner_status: int) -> int:
    """Take people out (death or emigration); a partner left behind gets `partner_status`. Returns the count."""
    pop.alive[ids] = False
    pop.months_pregnant[ids] = 0
    partners = pop.spouse[ids]
    partners = partners[partners >= 0]
    pop.marital[partners] = partner_status
    pop.spouse[partners] = NO_SPOUSE
    pop.spouse[ids] = NO_SPOUSE
    return len(ids)


def pick_people(pop: People, rng: np.random.Generator, sex: int, low: int, high: int, count: int,
                distinct: bool) -> np.ndarray:
    """`count` living people of `sex` aged [low, high) at random (rejection sampling: groups are large)."""
    chosen = np.empty(0, np.int64)
    for _ in range(20):
        ids = rng.integers(0, len(pop), 50 * count + 100)
        years = pop.age_months[ids] // 12
        ids = ids[pop.alive[ids] & (pop.sex[ids] == sex) & (years >= low) & (years < high)]
        chosen = np.concatenate([chosen, ids])
        if distinct:
            chosen = chosen[np.sort(np.unique(chosen, return_index=True)[1])]
        if len(chosen) >= count:
            return chosen[:count]
    return chosen
