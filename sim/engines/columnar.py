"""The fast engine: a Mesa model whose people live in numpy columns.

It runs the processes of `sim.engines.processes` in their order, each from
its own named stream (`sim.streams`), applying the rules of
`sim.engines.rules` to columns. A step looks only at the people who may take
part in a process, found when a year opens (see `ColumnarModel._candidacy`),
never at the whole population; deaths are scheduled once a year, to the
month.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.engines import rules
from sim.engines.conception import childbearing_wife, conception_chances, couple_attributes, may_conceive, may_want_more
from sim.engines.district import OLDEST, DistrictModel
from sim.engines.processes import PROCESSES, Process, Step
from sim.engines.tally import Snapshot, snapshot
from sim.population.people import FEMALE, MALE, MARRIED, NO_SPOUSE, SINGLE, WIDOWED, People
from sim.population.synthesis import Synthesis
from sim.scenario.schema import Regime, Scenario


@dataclass
class ColumnarStep(Step):
    """What a step's processes hand on to the candidates kept up to date at its end (`ColumnarModel._track`)."""

    first_new: int = 0  # the first row of the step's newborns and immigrants
    brides: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    widowed: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    first_immigrant: int | None = None  # the first row of its immigrants, if migration ran


class ColumnarModel(DistrictModel):
    """People of a district as columns, stepping through the scenario's period."""

    def __init__(self, scenario: Scenario, synthesis: Synthesis, random_streams: dict[str, np.random.Generator],
                 processes: tuple[Process, ...] = PROCESSES):
        super().__init__(scenario, synthesis, random_streams, processes)
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

    def _begin_step(self, months: int) -> ColumnarStep:
        return ColumnarStep(months, first_new=len(self.people))

    def _end_step(self, step: ColumnarStep) -> None:
        self._schedule_deaths(np.arange(step.first_new, len(self.people)), first_month=self.date.month + step.months)
        immigrants = np.arange(len(self.people) if step.first_immigrant is None else step.first_immigrant,
                               len(self.people))
        self._track(step.brides, step.widowed, immigrants)

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

    def _policy(self, step: Step) -> None:
        regime = self.scenario.policy.regime_on(self.date)
        if regime is self.regime:
            return
        pop = self.people
        wives = self._wives[childbearing_wife(pop, self.rates, self._wives)]
        couple = couple_attributes(pop, wives, self.rates, regime, self.regime)
        wants = rules.wants_next_child(self.rates, pop.parity[wives], pop.intention[wives], pop.residence[wives])
        released = wives[self._release(regime, couple, wants=wants, pregnant=pop.months_pregnant[wives] > 0)]
        acting = self.streams["policy"].random(len(released)) < self.rates.catch_up_acting_share
        eligible = self._newly_eligible(regime)
        window, uptake = self._open_catch_up(regime, pop.age_months[released] // 12, pop.residence[released],
                                             pop.parity[released], np.ones(len(released)), acting.astype(float),
                                             eligible=len(eligible))
        pop.catch_up[released[acting]] = window
        pop.intention[released[~acting]] = rules.GAVE_UP
        pop.newly_eligible[eligible] = uptake
        self.regime = regime

    def _newly_eligible(self, regime: Regime) -> np.ndarray:
        """The wives of childbearing age the change to `regime` newly allows their next child, whether or not they
        want it (`self._wives` holds only those who may)."""
        pop = self.people
        wives = np.flatnonzero(pop.alive & (pop.sex == FEMALE) & (pop.marital == MARRIED))
        wives = wives[childbearing_wife(pop, self.rates, wives)]
        couple = couple_attributes(pop, wives, self.rates, regime, self.regime)
        return wives[rules.newly_eligible(regime, self.regime, pregnant=pop.months_pregnant[wives] > 0, **couple)]

    def _conception(self, step: Step) -> None:
        """Women who conceive in this step, pregnant from a month drawn uniformly among those they were exposed.

        A woman conceives if her uniform draw falls below her chance. The draw
        is compared first with the most that chance can be for her residence
        and order, so the chance is worked out only for the few it may exceed.
        Her months of pregnancy at the step's end are held negative until the
        clock moves on (`_ageing`), which does not add the step to them.
        """
        pop, rng = self.people, self.streams["conception"]
        wives = self._wives
        draw = rng.random(len(wives))
        order = np.minimum(pop.parity[wives], rules.ORDERS - 1)
        near = draw < self._conception_bound.ravel()[pop.residence[wives] * rules.ORDERS + order]
        wives, draw = wives[near], draw[near]
        may = may_conceive(pop, self.rates, wives)
        women, draw = wives[may], draw[may]
        rate, exposure = conception_chances(pop, women, self.rates, self.regime, step.months, self.catch_up_open)
        chance = rules.conception_probability(rate, exposure)
        conceived = draw < chance
        # Given a conception, draw / chance is uniform on [0, 1): it places her conception in a month of those
        # exposed without a second draw, so the stream's place does not depend on who conceived and variants
        # run with the same seed stay paired step after step.
        months_pregnant = 1 + (draw[conceived] / chance[conceived] * exposure[conceived]).astype(np.int8)
        mothers = women[conceived]
        pop.months_pregnant[mothers] = -months_pregnant
        self._pregnant = merged(self._pregnant, mothers)
        if self.uptakes:
            self._count_uptake(pop.newly_eligible[mothers])
            pop.newly_eligible[mothers] = 0

    def _marriage(self, step: ColumnarStep) -> None:
        """Single women marry (drawn as conceptions are, against the most their chance can be), each to an
        unmarried man of her residence, matched by their ages at the step's end; if none is left, one from outside."""
        pop, rng = self.people, self.streams["marriage"]
        months = step.months
        singles = self._singles
        draw = rng.random(len(singles))
        near = draw < self._marriage_bound
        singles, draw = singles[near], draw[near]
        single = (pop.alive[singles] & (pop.marital[singles] == SINGLE)
                  & (pop.age_months[singles] >= self.rates.min_marriage_age_months - months))
        singles, draw = singles[single], draw[single]
        brides = singles[draw < rules.marriage_probability(self.rates, pop.residence[singles],
                                                           pop.age_months[singles], months)]
        men = self._bachelors[pop.alive[self._bachelors]]
        # the bound moved rather than every man's age: this runs each step over all unmarried men
        of_age = men[pop.age_months[men] >= 12 * self.scenario.marriage.min_age_men - months]
        wanted = rules.wanted_husband_age(self.scenario, (pop.age_months[brides] + months) / 12, rng, OLDEST)
        husband = rules.match_husbands(wanted, (pop.age_months[of_age] + months) // 12, rng,
                                       pop.residence[brides], pop.residence[of_age])
        matched = husband >= 0
        wives, husbands = brides[matched], of_age[husband[matched]]
        pop.spouse[wives] = husbands
        pop.spouse[husbands] = wives
        pop.marital[husbands] = MARRIED
        pop.marital[brides] = MARRIED
        # the married leave now, so a man widowed later is never in twice
        self._bachelors = men[pop.marital[men] != MARRIED]
        step.brides = brides

    def _deaths(self, step: ColumnarStep) -> None:
        """Those due to die in the step die (scheduled when the year opened); their spouses are widowed."""
        due = [ids for month in range(self.date.month, self.date.month + step.months)
               for ids in self._deaths_due.pop(month, [])]
        if not due:
            return
        dying = np.concatenate(due)
        dying = dying[self.people.alive[dying]]
        partners = self.people.spouse[dying]
        self.tally.deaths += remove(self.people, dying, WIDOWED)
        step.widowed = partners[partners >= 0]

    def _ageing(self, step: Step) -> None:
        pop, months = self.people, step.months
        pop.age_months[:] += months
        since = pop.months_since_birth
        since += (since >= 0) * np.int16(months)  # no branches: far cheaper than a masked add
        # births, deaths and emigration ended some pregnancies
        self._pregnant = pregnant = self._pregnant[pop.months_pregnant[self._pregnant] != 0]
        under_way = pop.months_pregnant[pregnant]
        pop.months_pregnant[pregnant] = np.where(under_way > 0, under_way + months, -under_way)

    def _births(self, step: ColumnarStep) -> None:
        pop, rng = self.people, self.streams["births"]
        pregnant = self._pregnant
        mothers = pregnant[pop.months_pregnant[pregnant] > self.rates.gestation_months]  # the dead are not pregnant
        if len(mothers):
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

    def _migration(self, step: ColumnarStep) -> None:
        step.first_immigrant = len(self.people)
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
                  if name not in ("spouse", "months_pregnant", "catch_up", "newly_eligible")}
        self.tally.net_migrants += len(pop.add(len(people), **copied))


def merged(index: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """`index` with `ids` added at its end (the order is only the order of draws, the same in every run)."""
    return np.concatenate([index, ids]) if len(ids) else index


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
