"""The expected-value projection: the engine's rules applied to weighted states instead of drawn people.

A cohort-component projection at the engine's own resolution. The population
is a table of distinct states (sex, age in months, residence, marital status,
only-child status, parity, a son or not, months since the last birth, months
pregnant, intention, the catch-up window she acts in, and for a wife whether
her husband is present and an only child), each with the expected number of
people in it. A relaxation of the rules splits each state of its backlog into
those who act (in its window) and those who give their wish up.
Every event of the engine's step (`sim.engines.columnar.ColumnarModel`) splits a state into
its outcomes by their probabilities, through the same functions of `sim.engines.rules`,
and identical states are merged after each step. The result is what the mean
of infinitely many replicates run on the same base population would give.

Where the engine draws a person at random (a husband from the unmarried men
of the wanted age, migrants to copy), the projection takes every candidate in
proportion.

Husbands' ages are kept apart from their wives' states, in a grid of couples
by residence, wife's age in months and age gap in whole years (`Husbands`);
a wife's chance of being widowed is that of the husbands of her age. With the
ages inside the states, couples married in different months would never share
a state and the table would grow without bound. The price is two
simplifications, far below the sampling error of any ensemble: a husband's
birthday falls in his wife's month, and his age is taken to be independent of
the rest of the couple's state given the wife's age and residence.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from sim.engines import rules
from sim.engines.district import OLDEST, DistrictModel
from sim.engines.processes import PROCESSES, Process, Step
from sim.engines.tally import Snapshot, snapshot
from sim.population.people import FEMALE, MALE, MARRIED, NO_BIRTH, SINGLE, WIDOWED, People
from sim.population.synthesis import Synthesis
from sim.scenario.schema import Scenario

Rows = dict[str, np.ndarray]  # one array per state column, plus "weight": the expected people in the state
_NO_HUSBAND = dict(husband=False, husband_only_child=False)

_AGE_BITS = 11  # ages in months up to 2047 (OLDEST is 110 years)
_AGES = 12 * (OLDEST + 2)  # ages in months the grids cover
_OFFSETS = {"months_since_birth": 1}  # keeps packed fields non-negative
_DTYPES = {"age_months": np.int16, "months_since_birth": np.int16, "intention": np.uint8, "has_son": bool,
           "only_child": bool, "husband": bool, "husband_only_child": bool}  # others int8


class StateCodec:
    """Packs a row's state into one int64, so identical states merge with one factorize."""

    def __init__(self, rates: rules.Rates, months_per_step: int, relaxations_ahead: bool):
        # months since birth past the postpartum months change nothing, except
        # for the rural mothers of one daughter, who wait for the interval, and
        # (while a relaxation lies ahead) for whether a mother is in its backlog
        self.postpartum_months = max(rates.postpartum_months,
                                     rates.catch_up_min_months_since_birth if relaxations_ahead else 0)
        self.since_birth_cap = max(self.postpartum_months, rates.rural_daughter_min_interval_months)
        widths = {
            "age_months": _AGE_BITS, "sex": 1, "residence": 1, "marital": 2,
            "only_child": 1, "parity": 2, "has_son": 1, "catch_up": 3, "newly_eligible": 3, "husband": 1,
            "husband_only_child": 1,
            "intention": 8,
            "months_since_birth": int(self.since_birth_cap + 2).bit_length(),
            "months_pregnant": int(rates.gestation_months + months_per_step + 1).bit_length(),
        }
        self.shifts = dict(zip(widths, np.cumsum([0, *widths.values()])[:-1]))
        self.widths = widths
        if sum(widths.values()) > 63:
            raise ValueError("state does not fit 63 bits; shorten the gestation or the intervals")

    def capped_since_birth(self, rows: Rows, months_since_birth: np.ndarray) -> np.ndarray:
        waiting = (rows["residence"] == 1) & ~rows["has_son"].astype(bool) & (rows["parity"] == 1)
        cap = np.where(waiting, self.since_birth_cap, self.postpartum_months)
        return np.where(months_since_birth >= 0, np.minimum(months_since_birth, cap), months_since_birth)

    def encode(self, rows: Rows) -> np.ndarray:
        key = np.zeros(len(rows["weight"]), np.int64)
        for name, shift in self.shifts.items():
            key |= (rows[name].astype(np.int64) + _OFFSETS.get(name, 0)) << shift
        return key

    def decode(self, key: np.ndarray) -> Rows:
        return {name: (((key >> shift) & ((1 << self.widths[name]) - 1)) - _OFFSETS.get(name, 0)).astype(
            _DTYPES.get(name, np.int8)) for name, shift in self.shifts.items()}

    def merge(self, rows: Rows) -> Rows:
        """One row per distinct state, weights summed; empty states dropped."""
        keep = rows["weight"] > 0
        codes, keys = pd.factorize(self.encode(rows)[keep])
        merged = self.decode(np.asarray(keys))
        merged["weight"] = np.bincount(codes, weights=rows["weight"][keep], minlength=len(keys))
        return merged


def take(rows: Rows, index: np.ndarray) -> Rows:
    return {name: column[index] for name, column in rows.items()}


def concat(*parts: Rows) -> Rows:
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def changed(rows: Rows, **columns) -> Rows:
    """A copy of `rows` with some columns replaced (scalars broadcast)."""
    n = len(rows["weight"])
    return {**rows, **{name: np.broadcast_to(value, n).copy() for name, value in columns.items()}}


class Husbands:
    """Expected couples by residence, wife's age in months and husband's age gap in whole years."""

    GAP = 40  # years either way; wider gaps are taken as this

    def __init__(self):
        self.couples = np.zeros((2, _AGES, 2 * self.GAP + 1))
        self.age_months = np.arange(_AGES)[:, None] + 12 * np.arange(-self.GAP, self.GAP + 1)[None, :]

    def add(self, residence: np.ndarray, wife_age_months: np.ndarray, gap_years: np.ndarray,
            weight: np.ndarray) -> None:
        gap = np.clip(gap_years, -self.GAP, self.GAP) + self.GAP
        cell = np.ravel_multi_index((residence, wife_age_months, gap), self.couples.shape)
        self.couples += np.bincount(cell.ravel(), weights=np.ravel(weight), minlength=self.couples.size).reshape(
            self.couples.shape)

    def advance(self, months: int) -> None:
        self.couples = np.roll(self.couples, months, axis=1)
        self.couples[:, :months] = 0

    def share(self, cells: np.ndarray) -> np.ndarray:
        """`cells` (a part of the couples) as a share of all couples of each residence and wife's age."""
        total = self.couples.sum(axis=2)
        return np.divide(cells.sum(axis=2), total, out=np.zeros_like(total), where=total > 0)

    def ages(self) -> tuple[np.ndarray, np.ndarray]:
        """Husbands' ages in months and their expected numbers."""
        residence, wife_age, gap = np.nonzero(self.couples)
        return self.age_months[wife_age, gap], self.couples[residence, wife_age, gap]

    def as_men(self, rows: Rows, weight: np.ndarray, cells: np.ndarray, marital: int) -> Rows:
        """The husbands of the wives `rows` (`weight` of each) as men of their own, aged as in `cells`."""
        wed = rows["husband"] & (weight > 0)
        total = cells.sum(axis=2, keepdims=True)
        gap_shares = np.divide(cells, total, out=np.zeros_like(cells), where=total > 0)
        parts = []
        for only_child in (True, False):
            mine = wed & (rows["husband_only_child"] == only_child)
            wives = np.zeros((2, _AGES))
            np.add.at(wives, (rows["residence"][mine], rows["age_months"][mine]), weight[mine])
            men = wives[:, :, None] * gap_shares
            residence, wife_age, gap = np.nonzero(men)
            n = len(residence)
            parts.append({**blank(rows, n), "sex": np.full(n, MALE), "age_months": self.age_months[wife_age, gap],
                          "residence": residence, "marital": np.full(n, marital),
                          "only_child": np.full(n, only_child), "weight": men[residence, wife_age, gap]})
        return concat(*parts)


class ExpectedModel(DistrictModel):
    """The expected path of a base population under a scenario's rules."""

    def __init__(self, scenario: Scenario, synthesis: Synthesis, processes: tuple[Process, ...] = PROCESSES):
        # mesa wants a generator; the expected values draw nothing from it
        super().__init__(scenario, synthesis, {"agents": np.random.default_rng(0)}, processes)
        self.codec = StateCodec(self.rates, self.months_per_step,
                                relaxations_ahead=bool(scenario.rule_changes))
        self.intention_classes = intention_classes(self.rates)
        self.husbands = Husbands()
        self.rows = self.codec.merge(base_rows(synthesis.population, self.intention_classes, self.codec,
                                               self.husbands))
        self._monthly_q = np.zeros((2, OLDEST + 1))

    def _conception(self, step: Step) -> None:
        rows, conceived = self._conceptions(self.rows, step.months)
        self.rows = concat(rows, conceived)

    def _marriage(self, step: Step) -> None:
        rows, brides = self._brides(self.rows, step.months)
        self.rows = self._marry(rows, brides, step.months)

    def _deaths(self, step: Step) -> None:
        self.rows = self._die(self.rows, step.months)

    def _ageing(self, step: Step) -> None:
        self.rows = advance_clock(self.rows, step.months, self.codec)
        self.husbands.advance(step.months)

    def _births(self, step: Step) -> None:
        self.rows = self._born(self.rows)

    def _migration(self, step: Step) -> None:
        self.rows = self._migrate_all(self.rows, step.months)

    def _end_step(self, step: Step) -> None:
        self.rows = self.codec.merge(self.rows)

    def _snapshot(self) -> Snapshot:
        rows = self.rows
        age, weight = self.husbands.ages()
        return snapshot(np.concatenate([rows["age_months"], age]) // 12,
                        np.concatenate([rows["sex"], np.full(len(age), MALE)]),
                        np.concatenate([rows["marital"], np.full(len(age), MARRIED)]),
                        np.concatenate([rows["weight"], weight]))

    def _open_year(self, start: Snapshot) -> None:
        super()._open_year(start)
        self._monthly_q = self.monthly_death_probabilities(self.date.year)

    # --- fertility ---------------------------------------------------------------------------

    def _couples(self, rows: Rows) -> dict[str, np.ndarray]:
        """The keyword arguments of `rules.eligible_for_next_birth` for each row."""
        return dict(married=rows["marital"] == MARRIED, parity=rows["parity"], sons=rows["has_son"],
                    rural=rows["residence"] == 1, wife_only_child=rows["only_child"],
                    husband_only_child=rows["husband"] & rows["husband_only_child"],
                    months_since_birth=rows["months_since_birth"],
                    rural_daughter_min_interval_months=self.rates.rural_daughter_min_interval_months)

    def _wants(self, rows: Rows) -> np.ndarray:
        return rules.wants_next_child(self.rates, rows["parity"], rows["intention"], rows["residence"])

    def _wives_of_childbearing_age(self, rows: Rows) -> np.ndarray:
        low, high = self.rates.fecund_ages
        age = rows["age_months"]
        return (rows["sex"] == FEMALE) & (rows["marital"] == MARRIED) & (age >= 12 * low) & (age < 12 * high)

    def _policy(self, step: Step) -> None:
        regime = self.scenario.policy.regime_on(self.date)
        if regime is self.regime:
            return
        rows = self.rows
        couple = self._couples(rows)
        wives = self._wives_of_childbearing_age(rows)
        released = wives & self._release(regime, couple, wants=self._wants(rows),
                                         pregnant=rows["months_pregnant"] > 0)
        eligible = wives & rules.newly_eligible(regime, self.regime, pregnant=rows["months_pregnant"] > 0, **couple)
        share = self.rates.catch_up_acting_share
        backlog = take(rows, released)
        window, uptake = self._open_catch_up(regime, backlog["age_months"] // 12, backlog["residence"],
                                             backlog["parity"], backlog["weight"], backlog["weight"] * share,
                                             eligible=rows["weight"][eligible].sum())
        rows = {**rows, "newly_eligible": np.where(eligible, uptake, rows["newly_eligible"])}
        backlog["newly_eligible"] = rows["newly_eligible"][released]
        self.rows = concat(take(rows, ~released), changed(backlog, catch_up=window, weight=backlog["weight"] * share),
                           changed(backlog, intention=rules.GAVE_UP, weight=backlog["weight"] * (1 - share)))
        self.regime = regime

    def _conceptions(self, rows: Rows, months: int) -> tuple[Rows, Rows]:
        """Rows split into those who do not conceive and those who do (months pregnant at the step's end, held
        negative until the clock moves on)."""
        at_risk = self._wives_of_childbearing_age(rows) & (rows["months_pregnant"] == 0) & self._wants(rows)
        women = take(rows, at_risk)
        exposure = rules.exposure_months(self.rates, parity=women["parity"], months=months,
                                         months_since_birth_end=women["months_since_birth"] + months)
        rate = rules.conception_rate(
            self.rates, parity=women["parity"], age_years=women["age_months"] // 12,
            residence=women["residence"], wants=True, catching_up=self.catch_up_open[women["catch_up"]],
            eligible=rules.eligible_for_next_birth(self.regime, **self._couples(women)))
        chance = rules.conception_probability(rate, exposure)
        rows = {**rows, "weight": rows["weight"].copy()}
        rows["weight"][at_risk] *= 1 - chance
        if self.uptakes:
            self._count_uptake(women["newly_eligible"], women["weight"] * chance)
            women = changed(women, newly_eligible=0)
        # the engine draws the month of conception uniformly over the months exposed
        parts = []
        for pregnant in range(1, months + 1):
            share = np.clip(exposure - (pregnant - 1), 0, 1) / np.where(exposure > 0, exposure, 1)
            parts.append(changed(women, months_pregnant=-pregnant, weight=women["weight"] * chance * share))
        return rows, concat(*parts)

    def _born(self, rows: Rows) -> Rows:
        due = rows["months_pregnant"] > self.rates.gestation_months
        mothers, rest = take(rows, due), take(rows, ~due)
        parity = mothers["parity"]
        boy = rules.male_birth_probability(parity, self.sex_ratios)
        since_birth = mothers["months_pregnant"] - self.rates.gestation_months - 1
        weight = mothers["weight"]
        mother_age = (mothers["age_months"] - since_birth) // 12
        self.tally.add_births(np.tile(mother_age, 2), np.tile(parity, 2), np.repeat([True, False], len(weight)),
                               np.concatenate([weight * boy, weight * (1 - boy)]))
        after = dict(parity=np.minimum(parity + 1, 3), months_since_birth=since_birth, months_pregnant=0, catch_up=0)
        with_son = changed(mothers, **after, has_son=True, weight=weight * boy)
        with_daughter = changed(mothers, **after, weight=weight * (1 - boy))
        sons = newborn(mothers, since_birth, MALE, weight * boy)
        daughters = [changed(newborn(mothers, since_birth, FEMALE, weight * (1 - boy) * share), intention=rank)
                     for rank, share in self.intention_classes]
        return concat(rest, with_son, with_daughter, sons, *daughters)

    # --- marriage ----------------------------------------------------------------------------

    def _brides(self, rows: Rows, months: int) -> tuple[Rows, Rows]:
        singles = ((rows["sex"] == FEMALE) & (rows["marital"] == SINGLE)
                   & (rows["age_months"] >= self.rates.min_marriage_age_months - months))
        chance = np.zeros(len(singles))
        chance[singles] = rules.marriage_probability(self.rates, rows["residence"][singles],
                                                     rows["age_months"][singles], months)
        brides = changed(rows, weight=rows["weight"] * chance)
        return changed(rows, weight=rows["weight"] * (1 - chance)), take(brides, singles)

    def _marry(self, rows: Rows, brides: Rows, months: int) -> Rows:
        """Brides marry unmarried men of their residence, each man at his age taken in proportion; both are
        matched by their ages at the step's end (`months` on), as in the columnar engine."""
        m = self.scenario.marriage
        age = rows["age_months"] + months
        pool = ((rows["sex"] == MALE) & (rows["marital"] != MARRIED) & (age >= 12 * m.min_age_men)
                & (age < 12 * (OLDEST + 1)))
        weight = rows["weight"].copy()
        couples = []
        for res in (0, 1):
            mine = take(brides, brides["residence"] == res)
            men = np.flatnonzero(pool & (rows["residence"] == res))
            men_years = age[men] // 12
            supply = np.bincount(men_years, weights=weight[men], minlength=OLDEST + 1)[:OLDEST + 1]
            wanted = self._wanted_husband_years(mine["age_months"] + months)  # (brides, years)
            found = matched_shares(mine["weight"] @ wanted, supply)  # (wanted years, husband years)
            per_bride = wanted @ found
            taken = mine["weight"] @ per_bride
            weight[men] *= 1 - np.divide(taken, supply, out=np.zeros_like(supply), where=supply > 0)[men_years]
            couples.append(self._couples_formed(mine, per_bride, rows, men, men_years))
            years = np.arange(per_bride.shape[1])
            # the grid holds wives by their age now; the clock moves it on with them
            self.husbands.add(res, mine["age_months"][:, None],
                              years[None, :] - (mine["age_months"][:, None] + months) // 12,
                              mine["weight"][:, None] * per_bride)
        return concat(changed(rows, weight=weight), *couples)

    def _wanted_husband_years(self, bride_age_months: np.ndarray) -> np.ndarray:
        """Chance that each bride wants a husband of each year of age (`rules.wanted_husband_age`, in expectation)."""
        m = self.scenario.marriage
        years = np.arange(OLDEST + 2)
        cdf = norm.cdf((years[None, :] - bride_age_months[:, None] / 12 - m.husband_age_gap_mean_years)
                       / m.husband_age_gap_sd_years)
        wanted = np.diff(cdf, axis=1)
        youngest = int(np.ceil(m.min_age_men))
        wanted[:, youngest] += cdf[:, youngest]
        wanted[:, :youngest] = 0
        wanted[:, OLDEST] += 1 - cdf[:, OLDEST + 1]
        return wanted

    def _couples_formed(self, brides: Rows, per_bride: np.ndarray, rows: Rows, men: np.ndarray,
                        men_years: np.ndarray) -> Rows:
        """Bride rows split by husband's only-child status; the unmatched marry from outside."""
        weight = rows["weight"][men]
        supply = np.bincount(men_years, weights=weight, minlength=OLDEST + 1)[:OLDEST + 1]
        only = np.bincount(men_years, weights=weight * rows["only_child"][men], minlength=OLDEST + 1)[:OLDEST + 1]
        only_share = np.divide(only, supply, out=np.zeros_like(only), where=supply > 0)
        wed, weight = changed(brides, marital=MARRIED), brides["weight"]
        matched = per_bride.sum(axis=1)
        only_child = per_bride @ only_share[:per_bride.shape[1]]
        return concat(changed(wed, weight=weight * (1 - matched)),
                      changed(wed, husband=True, husband_only_child=True, weight=weight * only_child),
                      changed(wed, husband=True, weight=weight * (matched - only_child)))

    # --- deaths and migration ----------------------------------------------------------------

    def _step_death_probability(self, sex: np.ndarray | int, age_months_start: np.ndarray, months: int) -> np.ndarray:
        q = self._monthly_q
        with np.errstate(divide="ignore"):  # q = 1 at the oldest age
            log_survival = sum(np.log1p(-q[sex, np.minimum((age_months_start + k) // 12, OLDEST)])
                               for k in range(months))
        return -np.expm1(log_survival)

    def _die(self, rows: Rows, months: int) -> Rows:
        """Each person dies with the step's chance from their age at its start; a spouse left is widowed."""
        own = self._step_death_probability(rows["sex"], rows["age_months"], months)
        couples = self.husbands.couples
        husband_dies = self._step_death_probability(MALE, np.maximum(self.husbands.age_months, 0), months)
        wife_dies = self._step_death_probability(FEMALE, np.arange(_AGES), months)
        widowed = self.husbands.share(couples * husband_dies)[rows["residence"], rows["age_months"]]
        lost = np.where(rows["husband"], widowed, 0.0)
        weight = rows["weight"]
        self.tally.deaths += float(weight @ (own + lost))
        survivors = changed(rows, weight=weight * (1 - own) * (1 - lost))
        widows = changed(rows, marital=WIDOWED, **_NO_HUSBAND, weight=weight * (1 - own) * lost)
        widowers = self.husbands.as_men(rows, weight * own * (1 - lost), couples * (1 - husband_dies), WIDOWED)
        self.husbands.couples = couples * (1 - wife_dies)[None, :, None] * (1 - husband_dies)
        return concat(survivors, take(widows, rows["husband"]), widowers)

    def _migrate_all(self, rows: Rows, months: int) -> Rows:
        expected = rules.expected_migrants(self.scenario, months, self.population_scale)
        for (sex, group), count in np.ndenumerate(expected):
            if count:
                low, high = self.migration_groups[group]
                rows = self._migrate(rows, sex, low, high, count)
        return rows

    def _migrate(self, rows: Rows, sex: int, low: int, high: int, count: float) -> Rows:
        """Immigrants copy everyone of their sex and age group in proportion; emigrants leave in proportion."""
        years = rows["age_months"] // 12
        person = (rows["sex"] == sex) & (years >= low) & (years < high)
        couples, husband_years = self.husbands.couples, self.husbands.age_months // 12
        in_group = couples * ((husband_years >= low) & (husband_years < high)) if sex == MALE else 0 * couples
        husbands = np.where(rows["husband"], self.husbands.share(in_group)[rows["residence"], rows["age_months"]], 0)
        weight = rows["weight"]
        present = weight[person].sum() + in_group.sum()
        if present <= 0:
            return rows
        share = min(abs(count) / present, 1.0)
        self.tally.net_migrants += share * present * np.sign(count)
        if count > 0:
            arrivals = changed(take(rows, person), **_NO_HUSBAND,
                               months_pregnant=0, catch_up=0, newly_eligible=0, weight=weight[person] * share)
            return concat(rows, arrivals, self.husbands.as_men(rows, weight * share * husbands, in_group, MARRIED))
        # a migrant's spouse stays behind, married
        wives_leaving = person & rows["husband"]
        left_husbands = self.husbands.as_men(rows, weight * share * wives_leaving, couples, MARRIED)
        left_wives = changed(rows, **_NO_HUSBAND, weight=weight * share * husbands)
        staying = changed(rows, weight=weight * (1 - share * person) * (1 - share * husbands))
        leaving_wives_ages = np.zeros((2, _AGES))
        np.add.at(leaving_wives_ages, (rows["residence"][wives_leaving], rows["age_months"][wives_leaving]),
                  weight[wives_leaving])
        self.husbands.couples = (couples - in_group * share) * (
            1 - share * np.divide(leaving_wives_ages, couples.sum(axis=2), out=np.zeros((2, _AGES)),
                                  where=couples.sum(axis=2) > 0))[:, :, None]
        return concat(staying, left_husbands, take(left_wives, husbands > 0))


def blank(rows: Rows, n: int) -> Rows:
    """`n` rows shaped like `rows`: no children, no husband, not pregnant."""
    return {**{name: np.zeros(n, column.dtype) for name, column in rows.items()},
            "months_since_birth": np.full(n, NO_BIRTH)}


def newborn(mothers: Rows, age_months: np.ndarray, sex: int, weight: np.ndarray) -> Rows:
    n = len(weight)
    return {**blank(mothers, n), "sex": np.full(n, sex), "age_months": age_months.copy(),
            "residence": mothers["residence"].copy(), "only_child": mothers["parity"] == 0, "weight": weight}


def advance_clock(rows: Rows, months: int, codec: StateCodec) -> Rows:
    """Everyone ages; months since birth and of pregnancy run on (new conceptions, marked negative, start)."""
    since, pregnant = rows["months_since_birth"], rows["months_pregnant"]
    return {**rows, "age_months": rows["age_months"] + months,
            "months_since_birth": codec.capped_since_birth(rows, np.where(since >= 0, since + months, since)),
            "months_pregnant": np.where(pregnant > 0, pregnant + months, -pregnant)}


def matched_shares(demand: np.ndarray, supply: np.ndarray) -> np.ndarray:
    """Share of the brides wanting each year of age who marry a man of each year (`rules.match_husbands` on means).

    Brides queue in order of the age they want; when a year's men run out the
    rest look one year older, and any left at the top look younger.
    """
    ages = len(supply)
    flow = np.zeros((ages, ages))
    left, waiting = supply.astype(float).copy(), np.zeros(ages)

    def place(age: int) -> None:
        for wanted in np.flatnonzero(waiting):
            take_ = min(waiting[wanted], left[age])
            flow[wanted, age] += take_
            waiting[wanted] -= take_
            left[age] -= take_
            if left[age] <= 0:
                return

    for age in range(ages):
        waiting[age] += demand[age]
        place(age)
    for age in range(ages - 1, -1, -1):
        if waiting.sum() <= 0:
            break
        place(age)
    return np.divide(flow, demand[:, None], out=np.zeros_like(flow), where=demand[:, None] > 0)


def intention_classes(rates: rules.Rates) -> list[tuple[int, float]]:
    """Drawn intention ranks that behave alike, as (lowest rank, share of women): only the thresholds matter.

    A wish given up (`rules.GAVE_UP`) is a class of its own, never drawn.
    """
    drawn = rules.GAVE_UP  # ranks 0..GAVE_UP - 1
    bounds = np.unique(np.concatenate([[0, drawn], np.clip(rates.intention_rank.ravel(), 0, drawn)]))
    return [(int(low), (high - low) / drawn) for low, high in zip(bounds[:-1], bounds[1:])]


def base_rows(pop: People, classes: list[tuple[int, float]], codec: StateCodec, husbands: Husbands) -> Rows:
    """One row per living person of the base population; a wife's husband goes into `husbands`."""
    alive = pop.alive
    women = pop.sex == FEMALE
    wife = alive & women & (pop.marital == MARRIED) & (pop.spouse >= 0)
    husband_of_wife = np.zeros(len(pop), bool)
    husband_of_wife[pop.spouse[wife]] = True
    ids = np.flatnonzero(alive & ~husband_of_wife)
    spouse = np.where(wife[ids], pop.spouse[ids], 0)
    lows = np.array([low for low, _ in classes])
    intention = np.where(women[ids], lows[np.searchsorted(lows, pop.intention[ids], side="right") - 1], 0)
    intention = np.where(pop.intention[ids] == rules.GAVE_UP, rules.GAVE_UP, intention)
    rows = {
        "sex": pop.sex[ids], "age_months": pop.age_months[ids], "residence": pop.residence[ids],
        "marital": pop.marital[ids], "only_child": pop.only_child[ids], "parity": np.minimum(pop.parity[ids], 3),
        "has_son": pop.sons[ids] > 0,
        "months_pregnant": pop.months_pregnant[ids], "intention": intention, "catch_up": pop.catch_up[ids],
        "newly_eligible": pop.newly_eligible[ids],
        "husband": wife[ids],
        "husband_only_child": wife[ids] & pop.only_child[spouse], "weight": np.ones(len(ids)),
    }
    rows["months_since_birth"] = codec.capped_since_birth(rows, pop.months_since_birth[ids])
    wives = ids[wife[ids]]
    husbands.add(pop.residence[wives], pop.age_months[wives],
                 pop.age_months[pop.spouse[wives]] // 12 - pop.age_months[wives] // 12, np.ones(len(wives)))
    return rows

