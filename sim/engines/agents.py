"""The reference engine: an idiomatic Mesa model with one `Agent` per person.

It applies the same rules (`sim.engines.rules`) in the same order as the fast
engine (`sim.engines.processes`), one person at a time, drawing every death
and conception month by month. It
is slow on purpose: the tests use it as the oracle of the fast engine on small
populations, and the benchmark as the per-agent baseline. Monthly steps only.
"""
from __future__ import annotations

import mesa
import numpy as np

from sim.engines import rules
from sim.engines.district import OLDEST, DistrictModel
from sim.engines.processes import PROCESSES, Process, Step
from sim.engines.tally import Snapshot, snapshot
from sim.population.people import FEMALE, MALE, MARRIED, NO_BIRTH, RURAL, SINGLE, WIDOWED
from sim.population.synthesis import Synthesis
from sim.scenario.schema import Regime, Scenario


class Person(mesa.Agent):
    """One person of the district; a woman's spouse is a `Person` or None."""

    def __init__(self, model: "AgentModel", **attributes):
        super().__init__(model)
        self.spouse: Person | None = None
        self.conceives = self.marries = self.dies = False
        for name, value in attributes.items():
            setattr(self, name, value)

    @property
    def age_years(self) -> int:
        return self.age_months // 12

    def decide_conception(self) -> None:
        model = self.model
        if (self.sex == FEMALE and self.marital == MARRIED and self.months_pregnant == 0
                and self.in_childbearing_ages()):
            self.conceives = model.streams["conception"].random() < self.conception_probability()

    def decide_marriage(self) -> None:
        model = self.model
        if self.sex == FEMALE and self.marital == SINGLE and self.age_months >= model.rates.min_marriage_age_months - 1:
            chance = rules.marriage_probability(model.rates, self.residence, self.age_months, 1)
            self.marries = model.streams["marriage"].random() < chance

    def decide_death(self) -> None:
        model = self.model
        self.dies = model.streams["deaths"].random() < model.monthly_q[self.sex][min(self.age_years, OLDEST)]

    def in_childbearing_ages(self) -> bool:
        low, high = self.model.rates.fecund_ages
        return 12 * low <= self.age_months < 12 * high

    def wants_next_child(self) -> bool:
        return bool(rules.wants_next_child(self.model.rates, self.parity, self.intention, self.residence))

    def couple(self) -> dict:
        """The keyword arguments of `rules.eligible_for_next_birth` for her couple."""
        return dict(married=self.marital == MARRIED, parity=self.parity, sons=self.sons,
                    rural=self.residence == RURAL, wife_only_child=self.only_child,
                    husband_only_child=self.spouse is not None and self.spouse.only_child,
                    months_since_birth=self.months_since_birth,
                    rural_daughter_min_interval_months=self.model.rates.rural_daughter_min_interval_months)

    def eligible(self, regime: Regime) -> bool:
        return bool(rules.eligible_for_next_birth(regime, **self.couple()))

    def conception_probability(self) -> float:
        if not self.wants_next_child():
            return 0.0
        rates = self.model.rates
        rate = rules.conception_rate(rates, parity=self.parity, age_years=self.age_years, residence=self.residence,
                                     wants=True, eligible=self.eligible(self.model.regime),
                                     catching_up=self.model.catch_up_open[self.catch_up])
        exposure = rules.exposure_months(rates, parity=self.parity, months_since_birth_end=self.months_since_birth + 1,
                                         months=1)
        return float(rules.conception_probability(rate, exposure))

    def advance(self) -> None:
        """A month passes."""
        self.age_months += 1
        if self.months_since_birth != NO_BIRTH:
            self.months_since_birth += 1
        if self.months_pregnant:
            self.months_pregnant += 1
        if self.conceives:
            self.months_pregnant, self.conceives = 1, False

    def leave(self, partner_status: int) -> None:
        """Die or emigrate; a partner left behind gets `partner_status`."""
        if self.spouse is not None:
            self.spouse.marital, self.spouse.spouse = partner_status, None
        self.remove()

    def give_birth(self) -> None:
        model = self.model
        boy = model.streams["births"].random() < rules.male_birth_probability(self.parity, model.sex_ratios)
        model.tally.add_births(np.array([self.age_years]), np.array([self.parity]), np.array([boy]))
        Person(model, age_months=0, sex=MALE if boy else FEMALE, residence=self.residence, marital=SINGLE,
               parity=0, sons=0, months_since_birth=NO_BIRTH, months_pregnant=0, only_child=self.parity == 0,
               intention=int(rules.intention_ranks(model.streams["births"], 1)[0]), catch_up=0, newly_eligible=0)
        self.parity += 1
        self.sons += int(boy)
        self.months_since_birth, self.months_pregnant, self.catch_up = 0, 0, 0


class AgentModel(DistrictModel):
    """The same projection as `sim.engines.columnar.ColumnarModel`, one Mesa agent per person."""

    def __init__(self, scenario: Scenario, synthesis: Synthesis, random_streams: dict[str, np.random.Generator],
                 processes: tuple[Process, ...] = PROCESSES):
        if scenario.period.time_step_months != 1:
            raise ValueError("the reference engine steps monthly; set period.time_step_months: 1")
        super().__init__(scenario, synthesis, random_streams, processes)
        self._order: list[Person] = []
        self.monthly_q: list[list[float]] = []
        self._add_people(synthesis)

    def _add_people(self, synthesis: Synthesis) -> None:
        pop = synthesis.population
        names = [name for name, _ in pop.columns() if name not in ("alive", "spouse")]
        people = {}
        for i in pop.active:
            people[i] = Person(self, **{name: getattr(pop, name)[i].item() for name in names})
        for i, person in people.items():
            if pop.spouse[i] >= 0:
                person.spouse = people[pop.spouse[i]]

    def _begin_step(self, months: int) -> Step:
        # every process of the step meets the people in one random order (as Mesa's shuffle_do would)
        self._order = list(self.agents)
        self.random.shuffle(self._order)
        return Step(months)

    def _conception(self, step: Step) -> None:
        for person in self._order:
            person.decide_conception()
        mothers = [person for person in self._order if person.conceives and person.newly_eligible]
        if mothers:
            self._count_uptake(np.array([mother.newly_eligible for mother in mothers]))
            for mother in mothers:
                mother.newly_eligible = 0

    def _marriage(self, step: Step) -> None:
        for person in self._order:
            person.decide_marriage()
        self._marry([p for p in self.agents if p.marries])

    def _deaths(self, step: Step) -> None:
        for person in self._order:
            person.decide_death()
        dying = [p for p in self.agents if p.dies]
        for person in dying:
            person.leave(WIDOWED)
        self.tally.deaths += len(dying)

    def _ageing(self, step: Step) -> None:
        self.agents.do("advance")

    def _births(self, step: Step) -> None:
        for mother in [p for p in self.agents if p.months_pregnant > self.rates.gestation_months]:
            mother.give_birth()

    def _snapshot(self) -> Snapshot:
        people = list(self.agents)
        return snapshot(np.array([p.age_years for p in people], int), np.array([p.sex for p in people]),
                        np.array([p.marital for p in people]))

    def _open_year(self, start: Snapshot) -> None:
        super()._open_year(start)
        self.monthly_q = self.monthly_death_probabilities(self.date.year).tolist()

    def _policy(self, step: Step) -> None:
        regime = self.scenario.policy.regime_on(self.date)
        if regime is self.regime:
            return
        released = [woman for woman in self.agents
                    if woman.sex == FEMALE and woman.marital == MARRIED and woman.in_childbearing_ages()
                    and self._release(regime, woman.couple(), wants=woman.wants_next_child(),
                                      pregnant=woman.months_pregnant > 0)]
        acting = self.streams["policy"].random(len(released)) < self.rates.catch_up_acting_share
        eligible = [woman for woman in self.agents
                    if woman.sex == FEMALE and woman.marital == MARRIED and woman.in_childbearing_ages()
                    and rules.newly_eligible(regime, self.regime, pregnant=woman.months_pregnant > 0,
                                             **woman.couple())]
        window, uptake = self._open_catch_up(regime, *(np.array([getattr(w, name) for w in released], int)
                                                       for name in ("age_years", "residence", "parity")),
                                             np.ones(len(released)), acting.astype(float), eligible=len(eligible))
        for woman, acts in zip(released, acting):
            if acts:
                woman.catch_up = window
            else:
                woman.intention = rules.GAVE_UP
        for woman in eligible:
            woman.newly_eligible = uptake
        self.regime = regime

    def _marry(self, brides: list[Person]) -> None:
        rng, m = self.streams["marriage"], self.scenario.marriage
        unmarried = [p for p in self.agents if p.sex == MALE and p.marital != MARRIED
                     and p.age_months >= 12 * m.min_age_men]
        wanted = rules.wanted_husband_age(self.scenario, np.array([b.age_months + 1 for b in brides]) / 12, rng, OLDEST)
        husbands = rules.match_husbands(wanted, np.array([p.age_months + 1 for p in unmarried], int) // 12, rng,
                                        np.array([b.residence for b in brides], int),
                                        np.array([p.residence for p in unmarried], int))
        for bride, h in zip(brides, husbands):
            if h >= 0:
                bride.spouse, unmarried[h].spouse, unmarried[h].marital = unmarried[h], bride, MARRIED
        for bride in brides:
            bride.marital, bride.marries = MARRIED, False

    def _migration(self, step: Step) -> None:
        rng = self.streams["migration"]
        counts = rules.migrant_counts(rules.expected_migrants(self.scenario, 1, self.population_scale), rng)
        for (sex, group), count in np.ndenumerate(counts):
            if not count:
                continue
            low, high = self.migration_groups[group]
            group_people = [p for p in self.agents if p.sex == sex and low <= p.age_years < high]
            if not group_people:
                continue
            movers = [group_people[i] for i in rng.choice(len(group_people), min(abs(count), len(group_people)),
                                                          replace=count > 0)]
            for person in movers:
                if count < 0:
                    person.leave(MARRIED)
                else:
                    Person(self, **{k: getattr(person, k) for k in _COPIED}, months_pregnant=0, catch_up=0,
                           newly_eligible=0)
            self.tally.net_migrants += np.sign(count) * len(movers)


_COPIED = ("age_months", "sex", "residence", "marital", "parity", "sons", "months_since_birth", "only_child",
           "intention")
