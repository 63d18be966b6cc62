"""Second and third births of women of childbearing age, drawn with the engines' own rules over their past.

A woman of childbearing age on the census day or after conceives her next
child at the rate the engines use (`sim.engines.rules.conception_rate`):

    level[residence, order] x fecundity(age) x wants x policy x catch-up,

from her last birth (once the postpartum months are over) to the base date,
under the rules each date of the policy timeline put in force. Her rate is
constant between a few moments (a birthday that changes her fecundity, a
change of rules, the end of the rural-daughter interval, the close of a
catch-up window), so her conception time is drawn exactly, by inverting the
cumulative hazard: the engines' monthly chances are the same rate.

So a woman's wish and her history agree. Only women who want a next child
have one; those free to act on it for years mostly have; those the rules held
back are the backlog (`rules.in_backlog`), and a relaxation before the base
date (the selective two-child rules of 2014) releases it as a relaxation in
the run will: some give their wish up, the rest act on it faster for a while.

The level of each order and residence is solved so that the census year's
births of that order per first birth are the census's. The base year's births
by order are then an outcome of the history, and the engines go on at the
same levels (`sim.engines.district.calibrate`).

Times are months before the base date (the past is negative).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache, reduce

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from sim.engines import rules
from sim.population import census
from sim.scenario.schema import Regime, Scenario

DAYS_PER_MONTH = 365.25 / 12
_LEVEL_GRID = 12  # levels tried from the smallest up, so the smallest that meets a target is found
# A target missed at natural fecundability by no more than this many standard errors of its count (Poisson) is
# missed by the chance of which women a small population holds, not by the inputs.
_SAMPLING_ERRORS = 3.0


def months_between(day: dt.date, base: dt.date) -> float:
    """Months from `base` to `day` (negative when `day` is earlier)."""
    return (day - base).days / DAYS_PER_MONTH


@dataclass(frozen=True)
class Past:
    """The rules of the timeline up to the base date."""

    starts: np.ndarray  # months before the base date at which each regime began, ascending
    regimes: tuple[Regime, ...]
    window_months: float  # a relaxation's catch-up window

    @classmethod
    def of(cls, scenario: Scenario, base: dt.date) -> "Past":
        dates = sorted(day for day in scenario.policy.timeline if day <= base)
        return cls(np.array([months_between(day, base) for day in dates]),
                   tuple(scenario.policy.timeline[day] for day in dates), scenario.behaviour.catch_up.window_months)

    @property
    def changes(self) -> list[tuple[float, Regime, Regime]]:
        """(when, old regime, new regime) of each change of rules."""
        return [(self.starts[i], self.regimes[i - 1], self.regimes[i]) for i in range(1, len(self.regimes))]


@dataclass(frozen=True)
class Candidates:
    """Women who want their next birth of one order, with what the rules look at (the others never have it)."""

    age_years: np.ndarray  # exact age at the base date
    residence: np.ndarray
    parity: int  # their parity now (all alike)
    sons: np.ndarray
    wife_only_child: np.ndarray
    husband_only_child: np.ndarray
    last_birth: np.ndarray  # months before the base date

    def couple(self, index: np.ndarray, months_since_birth: np.ndarray, rates: rules.Rates) -> dict:
        """The keyword arguments of `rules.eligible_for_next_birth` for the women `index`."""
        return dict(married=True, parity=np.full(len(index), self.parity), sons=self.sons[index],
                    rural=self.residence[index] == 1, wife_only_child=self.wife_only_child[index],
                    husband_only_child=self.husband_only_child[index], months_since_birth=months_since_birth,
                    rural_daughter_min_interval_months=rates.rural_daughter_min_interval_months)


@dataclass(frozen=True)
class Exposure:
    """Each woman's relative conception rate (before the level) over her past, piecewise constant."""

    times: np.ndarray  # (women, K) sorted moments; the rate is constant between neighbours
    rate: np.ndarray  # (women, K - 1) relative rate on each piece
    cumulative: np.ndarray  # (women, K) integral of the relative rate from the first moment
    catch_up: np.ndarray  # (women,) index (1..) of the relaxation she is catching up on at the base date, or 0
    gave_up: np.ndarray  # (women,) when she gave her wish up at a relaxation (inf: never)

    def at(self, when: float) -> np.ndarray:
        """The cumulative relative hazard of each woman at `when`."""
        piece = np.clip(_per_row_count(self.times <= when) - 1, 0, self.rate.shape[1] - 1)
        rows = np.arange(len(piece))
        start = self.times[rows, piece]
        width = self.times[rows, piece + 1] - start
        return self.cumulative[rows, piece] + self.rate[rows, piece] * np.clip(when - start, 0, width)

    def draw(self, level: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Each woman's conception time (nan if none before the base date)."""
        with np.errstate(divide="ignore"):  # a level of nought (no births wanted): never
            target = rng.standard_exponential(len(level)) / level
        piece = _per_row_count(self.cumulative < target[:, None]) - 1
        conceived = piece < self.rate.shape[1]
        rows = np.flatnonzero(conceived)
        piece = piece[rows]
        when = np.full(len(level), np.nan)
        when[rows] = self.times[rows, piece] + (target[rows] - self.cumulative[rows, piece]) / self.rate[rows, piece]
        return when


def _per_row_count(mask: np.ndarray) -> np.ndarray:
    """The true values in each row of `mask`, added column by column: numpy's own reduction along such short
    rows is several times slower."""
    return reduce(np.add, mask.T, np.zeros(len(mask), np.intp))


def exposure(women: Candidates, rates: rules.Rates, past: Past, rng: np.random.Generator,
             until: float = 0.0) -> Exposure:
    """The relative rate of each woman's next conception over her past up to `until` (months before the base
    date), and her choices at the relaxations before it."""
    times, start, end = _pieces(women, rates, past, until)
    changes = [change for change in past.changes if change[0] < until]
    acting, gave_up = _relaxations(women, rates, changes, start, end, rng)
    width = np.diff(times, axis=1)
    rate = np.zeros(width.shape)
    pieces, rows, at = _middles(times, width)
    np.put(rate, pieces, _relative_rates(women, rates, past, rows, at, acting, gave_up))
    cumulative = np.zeros(times.shape)  # filled in place: these are a synthesis's largest arrays
    np.multiply(rate, width, out=cumulative[:, 1:])
    np.cumsum(cumulative[:, 1:], axis=1, out=cumulative[:, 1:])
    catch_up = np.zeros(len(start), np.int8)
    for index, ((when, _, _), act) in enumerate(zip(changes, acting), start=1):
        if when + past.window_months > 0:  # still open at the base date
            catch_up[act] = index
    return Exposure(times, rate, cumulative, catch_up, gave_up)


def months_free_to_act(women: Candidates, rates: rules.Rates, past: Past) -> np.ndarray:
    """Months each woman has been allowed her next child, from her last birth (once the postpartum months are
    over) to the base date, within her fecund years: how long a wish of hers could have been acted on."""
    times, _, _ = _pieces(women, rates, past, 0.0)
    width = np.diff(times, axis=1)
    allowed = np.zeros(width.shape)
    pieces, rows, at = _middles(times, width)
    np.put(allowed, pieces, _eligible(women, rates, past, rows, at))
    return (allowed * width).sum(axis=1)


def _pieces(women: Candidates, rates: rules.Rates, past: Past, until: float) -> tuple[np.ndarray, ...]:
    """The sorted moments between which each woman's rate is constant, from the start to the end of her years
    at risk of the next birth (before `until`); and that start and end."""
    n = len(women.age_years)

    def turns(age):  # when each woman is (or was) `age`
        return (age - women.age_years) * 12

    low, high = rates.fecund_ages
    start = np.maximum(women.last_birth + rates.postpartum_months, turns(low))
    end = np.minimum(until, turns(high))
    fecundity_changes = np.flatnonzero(np.diff(rates.fecundity_by_age)) + 1
    shared = [*past.starts, *(when + shift for when, _, _ in past.changes if when < until
                                           for shift in (0.0, past.window_months))]  # the same for everyone
    moments = np.empty((n, 3 + len(fecundity_changes) + len(shared)))
    moments[:, 0], moments[:, 1] = start, end
    moments[:, 2] = women.last_birth + rates.rural_daughter_min_interval_months
    birthdays = moments[:, 3: 3 + len(fecundity_changes)]  # computed in place: `moments` is large
    np.subtract(fecundity_changes, women.age_years[:, None], out=birthdays)
    birthdays *= 12
    moments[:, 3 + len(fecundity_changes):] = shared
    np.maximum(moments, start[:, None], out=moments)
    np.minimum(moments, np.maximum(start, end)[:, None], out=moments)
    moments.sort(axis=1)
    return moments, start, end


def _middles(times: np.ndarray, width: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The flat index in `width`, the woman and the middle of each piece of positive width (the others cannot
    matter: most moments fall outside a woman's years at risk)."""
    pieces = np.flatnonzero(width > 0)  # flat: a two-dimensional np.nonzero is several times slower
    rows = pieces // width.shape[1]  # not np.divmod: numpy divides by a scalar fast, but not in divmod
    return pieces, rows, times[rows, pieces - rows * width.shape[1]] + width.ravel()[pieces] / 2


def _relaxations(women: Candidates, rates: rules.Rates, changes, start: np.ndarray, end: np.ndarray,
                 rng: np.random.Generator) -> tuple[list[np.ndarray], np.ndarray]:
    """At each change of rules, who of the backlog acts on the wish and when the others gave it up.

    Whether a woman is in the backlog is judged as if she had not conceived
    before the change; for those who had, it makes no difference.
    """
    n = len(start)
    acting, gave_up = [], np.full(n, np.inf)
    everyone = np.arange(n)
    for when, old, new in changes:
        since = np.floor(when - women.last_birth).astype(int)
        backlog = rules.in_backlog(new, old, wants=gave_up > when, pregnant=np.zeros(n, bool),
                                   min_months_since_birth=rates.catch_up_min_months_since_birth,
                                   **women.couple(everyone, since, rates)) & (start <= when) & (when < end)
        acts = rng.random(n) < rates.catch_up_acting_share
        acting.append(backlog & acts)
        gave_up[backlog & ~acts] = when
    return acting, gave_up


def _relative_rates(women: Candidates, rates: rules.Rates, past: Past, rows: np.ndarray, at: np.ndarray,
                    acting: list[np.ndarray], gave_up: np.ndarray) -> np.ndarray:
    """The relative conception rate of the women `rows` at the moments `at` (the middles of their pieces)."""
    age = np.floor(women.age_years[rows] + at / 12).astype(int)
    eligible = _eligible(women, rates, past, rows, at)
    catching_up = np.zeros(len(at), bool)
    for (when, _, _), act in zip(past.changes, acting):
        catching_up |= act[rows] & (when <= at) & (at < when + past.window_months)
    return rules.relative_conception_rate(rates, age_years=age, wants=at < gave_up[rows], eligible=eligible,
                                          catching_up=catching_up)


def _eligible(women: Candidates, rates: rules.Rates, past: Past, rows: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Whether the rules in force at each moment `at` allowed the next birth of woman `rows`."""
    # the couples looked up once and each regime's rules applied to all: cheaper than picking its moments out
    couple = women.couple(rows, np.floor(at - women.last_birth[rows]).astype(int), rates)
    eligible = np.zeros(len(at), bool)
    for start, name in zip(past.starts, past.regimes):  # each in force from its start to the next one's
        eligible = np.where(at >= start, rules.eligible_for_next_birth(name, **couple), eligible)
    return eligible


def solve_level(exposure: Exposure, residence: np.ndarray, births_wanted: np.ndarray, window: tuple[float, float],
                gestation_months: int, rates: rules.Rates, order: int, problems: list[str]) -> np.ndarray:
    """The level of each residence at which the expected births in `window` (months before the base date) are
    `births_wanted` (by residence); the smallest such level, and no higher than natural fecundability.

    Where even natural fecundability falls short of the births wanted, by more than a small population's chance
    could, the level is that most plausible one and what is wrong is added to `problems`.
    """
    before, after = (exposure.at(when - gestation_months) for when in window)
    grid = np.geomspace(rates.natural_fecundability * 1e-4, rates.natural_fecundability, _LEVEL_GRID)
    level = np.zeros(2)
    for res in np.flatnonzero(births_wanted > 0):
        mine = (residence == res) & (after > before)  # the others cannot conceive in the window at any level
        start, end = -before[mine], -after[mine]  # negated once, not at each level: (-s) k is exactly -(s k)

        def gap(k):
            births = np.exp(np.multiply.outer(start, k))
            births -= np.exp(np.multiply.outer(end, k))
            return births.sum(axis=0) - births_wanted[res]

        crossing = np.flatnonzero(gap(grid) >= 0)  # the whole grid in one call, from the smallest level up
        if len(crossing):
            above = crossing[0]
            level[res] = grid[0] if above == 0 else brentq(gap, grid[above - 1], grid[above], xtol=1e-10)
            continue
        level[res] = grid[-1]
        if -gap(grid[-1]) > _SAMPLING_ERRORS * np.sqrt(births_wanted[res]):
            problems.append(f"the census year's {'urban' if res == 0 else 'rural'} {_ORDER_WORDS[order]} births "
                            f"({births_wanted[res]:.0f} here) need a conception rate above natural fecundability "
                            f"({rates.natural_fecundability:g} a month): too few women want them or have them "
                            f"outside the rules ({_inputs(order)})")
    return level


_ORDER_WORDS = {2: "second", 3: "third"}


@dataclass(frozen=True)
class Women:
    """Women of childbearing age at the base date and what their later births depend on."""

    age_years: np.ndarray  # exact age at the base date
    residence: np.ndarray
    first_birth_age: np.ndarray  # nan: no first birth by the base date
    boys: np.ndarray  # (women, 3) whether each of her births would be a son
    wife_only_child: np.ndarray
    husband_only_child: np.ndarray
    intention: np.ndarray

    def first_births(self, window: tuple[float, float]) -> np.ndarray:
        """First births in `window` (months before the base date), by residence."""
        when = (self.first_birth_age - self.age_years) * 12
        inside = (when >= window[0]) & (when < window[1])  # nan compares false
        return np.bincount(self.residence[inside], minlength=2)


@dataclass(frozen=True)
class LaterBirths:
    """What the drawn histories of second and third births leave at the base date."""

    birth_ages: np.ndarray  # (women, 2) mother's exact age at births 2 and 3 (nan: none conceived by the base date)
    gave_up: np.ndarray  # (women,) gave her wish up at a relaxation before the base date
    catch_up: np.ndarray  # (women,) index (1..) of the relaxation whose catch-up she is still in at the base date
    catch_up_ends: list[dt.date]  # when each relaxation's window closes, by index
    levels: np.ndarray  # (residence, orders 2 and 3) the monthly in-policy rates at the peak fecund ages
    problems: list[str]  # what was implausible in solving the levels (see `solve_level`)


def solve_levels(scenario: Scenario, rates: rules.Rates, rng: np.random.Generator, base: dt.date,
                 women: Women) -> LaterBirths:
    """The levels (residence, orders 2 and 3) at which the histories of `women` give the census year's births of
    each order per first birth (`census_order_ratios`), with any problems; their pasts are drawn only up to the
    census, so the rest of what is returned describes nobody."""
    return _later_births(scenario, rates, rng, base, women, None, until=census_year(scenario, base)[1])


def draw_later_births(scenario: Scenario, rates: rules.Rates, rng: np.random.Generator, base: dt.date,
                      women: Women, levels: np.ndarray | None = None) -> LaterBirths:
    """Second and third births of `women` by the rules of the past, at `levels` (by default solved on them as
    `solve_levels` does, in the same pass)."""
    return _later_births(scenario, rates, rng, base, women, levels, until=0.0)


def _later_births(scenario: Scenario, rates: rules.Rates, rng: np.random.Generator, base: dt.date, women: Women,
                  levels: np.ndarray | None, until: float) -> LaterBirths:
    """Second, then third births, drawn to `until` (months before the base date) at `levels`, or at the levels
    solved on the way: the census year's third births come from second births drawn before it."""
    past = Past.of(scenario, base)
    window = census_year(scenario, base)
    wanted = census_order_ratios(scenario) * women.first_births(window)[:, None]
    solving, problems = levels is None, []
    levels = np.zeros((2, 2)) if solving else levels
    n = len(women.age_years)
    last_birth = (women.first_birth_age - women.age_years) * 12
    sons = women.boys[:, 0].astype(int)
    birth_ages, gave_up, catch_up = np.full((n, 2), np.nan), np.zeros(n, bool), np.zeros(n, np.int8)
    mothers = np.flatnonzero(last_birth <= until)  # nan compares false
    for order in (2, 3):
        # only those who want the next child may have it (the others' rate is nought throughout)
        at_risk = mothers[rules.wants_next_child(rates, np.full(len(mothers), order - 1), women.intention[mothers],
                                                 women.residence[mothers])]
        candidates = Candidates(women.age_years[at_risk], women.residence[at_risk], order - 1, sons[at_risk],
                                women.wife_only_child[at_risk], women.husband_only_child[at_risk],
                                last_birth[at_risk])
        past_rates = exposure(candidates, rates, past, rng, until)
        if solving:
            levels[:, order - 2] = solve_level(past_rates, candidates.residence, wanted[:, order - 1], window,
                                               rates.gestation_months, rates, order, problems)
        conceived = past_rates.draw(levels[candidates.residence, order - 2], rng)
        born = conceived + rates.gestation_months  # months before the base date; above 0: still pregnant
        birth_ages[at_risk, order - 2] = women.age_years[at_risk] + born / 12
        gave_up[at_risk] |= np.isfinite(past_rates.gave_up) & ~(conceived < past_rates.gave_up)
        catch_up[at_risk] = np.where(np.isnan(conceived), past_rates.catch_up, catch_up[at_risk])
        mothers = at_risk[born <= until]
        last_birth[at_risk] = born
        sons[mothers] += women.boys[mothers, order - 1]
    ends = [base + dt.timedelta(days=(when + past.window_months) * DAYS_PER_MONTH) for when, _, _ in past.changes]
    return LaterBirths(birth_ages, gave_up, catch_up, ends, levels, problems)


def census_year(scenario: Scenario, base: dt.date) -> tuple[float, float]:
    """The 12 months before the census day, in months before the base date."""
    end = months_between(scenario.population.census_date, base)
    return end - 12, end


def census_order_ratios(scenario: Scenario) -> np.ndarray:
    """Births of each order per first birth in the census year, by residence (rows) and order 1, 2, 3+."""
    return _census_order_ratios(scenario.fertility.order_shares_file, scenario.fertility.order_shares_area).copy()


@lru_cache(maxsize=8)
def _census_order_ratios(path, area: str) -> np.ndarray:
    ratios = np.zeros((2, 3))
    for res, rows in rules.RESIDENCE_ROWS.items():
        births = sum(census.births_by_order(path, area, row)[["male", "female"]].sum(axis=1).to_numpy()
                     for row in rows)
        ratios[res] = births / births[0]
    return ratios


def _inputs(order: int) -> str:
    wish = "behaviour.second_child_intention" if order == 2 else "behaviour.third_child_intention"
    return f"{wish}, behaviour.compliance, policy.penalty_deterrence, fertility.natural_fecundability"


# bands of years free to act on a wish for a second child (`months_free_to_act`), for `History.second_child_wishes`
FREE_YEARS = (0, 1, 3, 6, 10, 50)


@dataclass(frozen=True)
class History:
    """What drew a base population's later births, kept to describe them."""

    scenario: Scenario
    rates: rules.Rates
    base: dt.date
    women: Women
    later: LaterBirths

    def second_child_wishes(self) -> pd.DataFrame:
        """Mothers of childbearing age at the base date by residence and years they have been free to act on a
        wish for a second child: how many there are, how many have had one, and of those still at one child how
        many want one (`one_child_wanting`; `one_child_wanted` also counts those who gave the wish up at a
        relaxation).

        Those who had a second child wanted one and the wish is drawn before the history, so among the one-child
        mothers of a band with second-birth share P the share who wanted a second is (w - P) / (1 - P), w the
        wish of all mothers: it falls with the years free to act.
        """
        women, later, rates = self.women, self.later, self.rates
        mothers = np.flatnonzero((women.first_birth_age <= women.age_years) & (women.age_years < rates.fecund_ages[1]))
        parity1 = Candidates(women.age_years[mothers], women.residence[mothers], 1, women.boys[mothers, 0].astype(int),
                             women.wife_only_child[mothers], women.husband_only_child[mothers],
                             (women.first_birth_age[mothers] - women.age_years[mothers]) * 12)
        free = months_free_to_act(parity1, rates, Past.of(self.scenario, self.base)) / 12
        second = later.birth_ages[mothers, 0] <= women.age_years[mothers]
        wanted = rules.wants_next_child(rates, np.ones(len(mothers), int), women.intention[mothers],
                                        women.residence[mothers])
        table = pd.DataFrame({
            "residence": np.where(women.residence[mothers] == 0, "urban", "rural"),
            "years_free": pd.cut(free, FREE_YEARS, right=False,
                                 labels=[f"{a}-{b}" for a, b in zip(FREE_YEARS, FREE_YEARS[1:])]),
            "mothers": 1, "second_child": second, "one_child": ~second,
            "one_child_wanted": ~second & wanted, "one_child_wanting": ~second & wanted & ~later.gave_up[mothers]})
        return table.groupby(["residence", "years_free"], observed=False).sum().reset_index()
