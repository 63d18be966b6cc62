"""Build the synthetic base population of a scenario.

1. Ages and sexes: the census age-sex shape, split into single years, carried
   forward to the base date with the life table; the cohorts born since the
   census come from the births a year; then each broad age group (0-14,
   15-64, 65+) is scaled to the calibration shares. Counts are exact, not drawn.
2. Residence, only-child status and the latent wish for children are drawn.
3. Each woman gets a first birth (cohort progression ratio, at an age from the
   census pattern moved by the scenario's family-formation delay), and first
   marriage precedes it by a drawn interval. Women past childbearing at the
   census take their second and third births from the cohort ratios too.
4. Married women are linked to husbands of their residence at the drawn age gap.
5. The other women's second and third births are drawn by the engines' rules
   over their past, from their wishes (`sim.population.histories`). Births already
   conceived at the base date are pregnancies, thinned to the scenario's
   births a year.

The provincial shape has more married women of childbearing age than the
plan's 165,000 at these marriage ages (the plan's area leaves out the
development zones, where young adults go). So ages 15-64 are reweighted by the
least distorting factors that meet the married-women target and keep the
15-64 share (see `age_factors`): the ages where most people are married women
lose the most, and the ages with none (15-19, 50-64) take up the difference
together, rather than one band taking it all.

The scenario passed in must be realized (see `sim.inputs.realize`): every
uncertain input a number.
"""
from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm

from sim.engines.rules import (GAVE_UP, INTERVAL_SHAPE, RESIDENCE_ROWS, Rates, intention_ranks, male_birth_probability,
                               match_husbands, wanted_husband_age)
from sim.errors import UserError
from sim.indicators import BROAD_AGE_GROUPS
from sim.population import census
from sim.population.histories import History, Women, draw_later_births, months_between, solve_levels
from sim.population.lifetable import LifeTable, improved_life_tables, infant_mortality_by_sex
from sim.population.people import COLUMNS, FEMALE, MALE, MARRIED, RURAL, SINGLE, URBAN, WIDOWED, People
from sim.scenario.schema import Scenario

BROAD_GROUPS = tuple((low, high or census.OPEN_AGE + 1) for low, high in BROAD_AGE_GROUPS.values())
_CALIBRATION_WOMEN_PER_AGE = 4000
_MARRIAGE_SAMPLE = 100_000  # per residence; the monthly hazard's sampling error is a few per cent
_LEVEL_SAMPLE_WOMEN = 100_000  # of childbearing age (a full district has about 230,000)
_MEASURED_AGENTS = 20_000  # where what a quick run needs is measured (`fewest_agents`): its margins are sure there
_SHORT_CHANCE = 0.01  # the chance a quick run of the size `fewest_agents` suggests still falls short


@dataclass(frozen=True)
class Synthesis:
    population: People
    base_date: dt.date
    births_last_year: np.ndarray  # births in the 12 months before the base date, by residence and order 1, 2, 3+
    births_census_year: np.ndarray  # the same, in the 12 months before the census day
    age_factors: np.ndarray  # people at each single year of age against the census shape (`age_factors`)
    marriage_ages: np.ndarray  # (residence, women) ages at first marriage of the youngest cohorts; nan: never
    catch_up_ends: list[dt.date]  # when the catch-up window of each relaxation before the base date closes
    history_levels: np.ndarray  # (residence, orders 2 and 3) monthly in-policy rates the histories were drawn at
    births_against_history: float  # the scenario's births a year over the histories' births in the last 12 months
    problems: list[str]  # what is implausible about the histories (`sim.population.histories.solve_level`)
    history: History  # what drew the later births (describes them: `History.second_child_wishes`)
    people_per_agent: float = 1.0  # whom each agent stands for (`scaled`): counts are multiplied by it


class TooFewAgents(UserError):
    """What the synthesis needs came out short: by chance in a population of few agents (`sim.ensemble` says a
    quick run is too small, and what size would do), else the scenario's inputs (`blame`) must be at fault."""

    def __init__(self, need: str, shortfall: str, blame: str):
        super().__init__(f"population: {shortfall}; check {blame}")
        self.need, self.shortfall, self.blame = need, shortfall, blame

    def __reduce__(self):  # so that it crosses from a worker process whole
        return type(self), (self.need, self.shortfall, self.blame)


def fewest_agents(scenario: Scenario, replicates: int) -> int:
    """The fewest agents (two significant figures, rounded up) with which `replicates` replicates of the realized
    `scenario` fall short of what the synthesis needs (`TooFewAgents`) with a chance of at most `_SHORT_CHANCE`.

    Each need is a count that must stay above nought: in each residence the men of marrying age less the married
    women, and the base year's births. Over n agents a count has mean n*m and variance about n*v (as if each agent
    were drawn alone; ages and sexes are exact, so this errs large), so it falls short with chance Phi(-z) at
    n = z^2 v / m^2. m and v are measured at the central inputs, in a population of `_MEASURED_AGENTS`.
    """
    synthesis = synthesize(scenario, np.random.default_rng(scenario.ensemble.seed), _MEASURED_AGENTS)
    births = synthesis.births_last_year.sum() / len(synthesis.population)
    needs = [*_market_margins(scenario, synthesis.population), (births, births * (1 - births))]
    z = norm.isf(_SHORT_CHANCE / (replicates * len(needs)))
    fewest = max(z ** 2 * variance / mean ** 2 for mean, variance in needs)
    unit = 10 ** max(0, math.floor(math.log10(fewest)) - 1)
    return math.ceil(fewest / unit) * unit


def _market_margins(scenario: Scenario, people: People) -> list[tuple[float, float]]:
    """Per agent, the mean and variance of the men of marrying age less the married women, in each residence."""
    wives, men = _marriage_market(scenario, people.sex, people.marital, (people.age_months + 0.5) / 12)
    margins = []
    for residence in (URBAN, RURAL):
        here = people.residence == residence
        husbands, brides = (men & here).mean(), (wives & here).mean()
        margins.append((husbands - brides, husbands + brides - (husbands - brides) ** 2))
    return margins


def scaled(scenario: Scenario, rng: np.random.Generator, people_per_agent: float) -> Synthesis:
    """The base population with one agent for every `people_per_agent` people: what a run simulates, its counts
    multiplied back by the exact ratio of the scenario's people to the agents drawn."""
    if people_per_agent == 1:
        return synthesize(scenario, rng)
    synthesis = synthesize(scenario, rng, scenario.population.size / people_per_agent)
    return replace(synthesis, people_per_agent=scenario.population.size / len(synthesis.population))


def base_date(scenario: Scenario) -> dt.date:
    return scenario.period.start - dt.timedelta(days=1)


def life_tables(scenario: Scenario, year: float) -> dict[int, LifeTable]:
    """Life tables by sex for a (fractional) calendar year."""
    return life_tables_by_year(scenario, [year])[0]


def life_tables_by_year(scenario: Scenario, years: list[float]) -> list[dict[int, LifeTable]]:
    """`life_tables` of each of `years`, solved together."""
    m = scenario.mortality
    gains = m.e0_offset_years + m.e0_gain_years_per_year * (np.asarray(years) - m.reference_year)
    q0_male, q0_female = infant_mortality_by_sex(m.infant_mortality_permille / 1000)
    tables = improved_life_tables([[m.e0_male_years], [m.e0_female_years]], [[q0_male], [q0_female]], gains)
    return [{MALE: men, FEMALE: women} for men, women in zip(tables[: len(gains)], tables[len(gains):])]


def age_sex_counts(scenario: Scenario, size: float, factors: np.ndarray | None = None) -> np.ndarray:
    """Whole people by sex (rows FEMALE, MALE) and single year of age 0..100+ at the base date.

    `factors` (by single year of age, see `age_factors`) reweight the census shape.
    """
    shaped = _census_shaped_counts(scenario, size)
    return _round_preserving_total(shaped * (1.0 if factors is None else factors), round(size))


def _census_shaped_counts(scenario: Scenario, size: float) -> np.ndarray:
    """Expected people by sex and age: the census shape carried forward, at the plan's broad-group shares."""
    p = scenario.population
    shape = census.single_year_age_sex(p.census_file, p.census_area)
    years = round((base_date(scenario) - p.census_date).days / 365.25)
    tables = life_tables(scenario, p.census_date.year + years / 2)
    male_share = _male_share_at_birth(scenario)
    counts = np.zeros_like(shape)
    for sex, births in ((FEMALE, 1 - male_share), (MALE, male_share)):
        lx = tables[sex].lx
        survivors = shape[sex] * lx[years: years + len(shape[sex])] / lx[: len(shape[sex])]
        counts[sex, years:] = survivors[: census.OPEN_AGE + 1 - years]
        counts[sex, census.OPEN_AGE] += survivors[census.OPEN_AGE + 1 - years:].sum()
        person_years = (lx[:years] + lx[1: years + 1]) / 2
        counts[sex, :years] = p.births_per_year * size / p.size * births * person_years
    newborn = counts[:, :years].sum()
    counts[:, years:] *= (size - newborn) / counts[:, years:].sum()
    return _calibrate_broad_groups(counts, size, p.calibration)


def age_factors(shaped: np.ndarray, married_share: np.ndarray, target: float) -> np.ndarray:
    """Factors by single year of age that bring the married women 15-49 to `target` and keep each broad group.

    Of all reweightings of ages 15-64 that keep their total and give `target`
    married women, the one closest to the census shape (least relative
    entropy, as raking to these two margins gives) scales age a by
    exp(l1 + l2 c(a)), where c(a) is the share of married women among the
    people of that age (`married_share`: of women, ages 15-49).
    """
    working = slice(15, 65)
    people = shaped[:, working].sum(axis=0)
    content = np.zeros(len(people))
    content[:35] = shaped[FEMALE, 15:50] * married_share / people[:35]

    def factors(tilt: float) -> np.ndarray:
        weights = np.exp(tilt * (content - content.max()))  # shifted: no overflow at any tilt
        return weights * people.sum() / (people @ weights)

    def married(tilt: float) -> float:
        return float(people @ (content * factors(tilt))) - target

    if not married(-60.0) < 0 < married(60.0):
        raise UserError(f"population: no age structure within the plan's 15-64 share has {target:,.0f} "
                        "married women aged 15-49")
    result = np.ones(shaped.shape[1])
    result[working] = factors(brentq(married, -60.0, 60.0, xtol=1e-12))
    return result


def _male_share_at_birth(scenario: Scenario) -> float:
    return _male_share_of_births(scenario.fertility.order_shares_file, scenario.fertility.order_shares_area)


@functools.lru_cache(maxsize=8)
def _male_share_of_births(path, area: str) -> float:
    """Cached: reading the census table costs a tenth of a synthesis."""
    births = census.births_by_order(path, area)
    return float(births["male"].sum() / (births["male"].sum() + births["female"].sum()))


def _calibrate_broad_groups(counts: np.ndarray, size: float, calibration) -> np.ndarray:
    share_65 = calibration.share_65plus
    targets = (1 - share_65 - calibration.share_15_64, calibration.share_15_64, share_65)
    scaled = counts.copy()
    for (low, high), share in zip(BROAD_GROUPS, targets):
        scaled[:, low:high] *= share * size / counts[:, low:high].sum()
    return scaled


def _round_preserving_total(values: np.ndarray, total: int) -> np.ndarray:
    """Integers that sum to `total`, each within 1 of its value (largest remainders)."""
    floors = np.floor(values).astype(np.int64)
    remainders = (values - floors).ravel()
    short = total - floors.sum()
    floors.ravel()[np.argsort(-remainders, kind="stable")[:short]] += 1
    return floors


def synthesize(scenario: Scenario, rng: np.random.Generator, size: float | None = None) -> Synthesis:
    """The base population; `size` rescales it (calibration counts scale with it)."""
    p = scenario.population
    size = p.size if size is None else size
    shaped = _census_shaped_counts(scenario, size)
    factors = age_factors(shaped, _married_share_by_age(scenario, rng),
                          p.calibration.married_women_15_49 * size / p.size)
    counts = _round_preserving_total(shaped * factors, round(size))
    sex = np.repeat(np.array([FEMALE, MALE], np.int8), counts.sum(axis=1))
    age_years = np.concatenate([np.repeat(np.arange(counts.shape[1]), row) for row in counts])
    age_months = age_years * 12 + rng.integers(0, 12, len(age_years))
    exact_age = (age_months + 0.5) / 12
    residence = _draw_residence(scenario, rng, len(sex))
    birth_year = base_date(scenario).year - age_years
    only_child = rng.random(len(sex)) < _by_cohort(p.only_child_share, birth_year, residence, _urban_rural)

    women = np.flatnonzero(sex == FEMALE)
    histories = _birth_histories(scenario, rng, exact_age[women], birth_year[women], residence[women],
                                 exact_age[women] < _oldest_by_rules(scenario))
    columns = {
        "age_months": age_months, "sex": sex, "residence": residence, "only_child": only_child,
        "marital": _scatter("marital", _marital_status(scenario, rng, histories, exact_age[women]), women, len(sex)),
    }
    columns["spouse"] = _link_husbands(scenario, rng, columns, exact_age)
    columns["intention"] = intention_ranks(rng, len(sex))
    marriage_ages = np.stack([_youngest_cohort_marriage_ages(scenario, rng, res) for res in (URBAN, RURAL)])
    history = _later_births(scenario, rng, histories, women, columns, exact_age, marriage_ages, shaped * factors)
    later = history.later
    births = histories.births_in(exact_age[women] - 1, exact_age[women], residence[women])
    census_end = exact_age[women] + months_between(p.census_date, base_date(scenario)) / 12
    census_births = histories.births_in(census_end - 1, census_end, residence[women])
    # The histories run at the census's age patterns and order ratios, which put more births in the base year
    # than the scenario's births a year (women were postponing: the census's period first-birth rate was a
    # quarter below the cohorts' progression). The scenario's figure sets the run's level: the pregnancies under
    # way are thinned to it, so the run's first months continue that level rather than the history's.
    if not births.sum():
        raise TooFewAgents("the base year's births", "none in the 12 months before the base date to set the level "
                           "of births from", "population.births_per_year and the fertility age pattern")
    level = p.births_per_year * size / p.size / births.sum()
    histories.thin_pregnancies(exact_age[women], scenario.fertility.gestation_months, min(level, 1.0), rng)
    columns.update({k: _scatter(k, v, women, len(sex)) for k, v in histories.columns(exact_age[women], scenario).items()})
    return Synthesis(People(columns), base_date(scenario), births, census_births, factors, marriage_ages,
                     later.catch_up_ends, later.levels, level, later.problems, history)


def _later_births(scenario: Scenario, rng, histories: "_Histories", women: np.ndarray, columns: dict[str, np.ndarray],
                  exact_age: np.ndarray, marriage_ages: np.ndarray, expected: np.ndarray) -> History:
    """Draw the second and third births of the women of childbearing age into `histories` (`sim.population.histories`).

    Those who gave up their wish at a relaxation want no more children; those
    still catching up at the base date carry its window into the run.
    """
    young = np.flatnonzero(exact_age[women] < _oldest_by_rules(scenario))  # as `_birth_histories` was told
    ids = women[young]
    only_child, spouse = columns["only_child"], columns["spouse"][ids]
    mothers = Women(exact_age[ids], columns["residence"][ids], histories.birth_ages[young, 0], histories.boys[young],
                    only_child[ids], (spouse >= 0) & only_child[np.maximum(spouse, 0)], columns["intention"][ids])
    rates, base = Rates.from_scenario(scenario, marriage_ages), base_date(scenario)
    sample = _level_sample(scenario, rng, mothers, expected)
    solved = None if sample is mothers else solve_levels(scenario, rates, rng, base, sample)
    later = draw_later_births(scenario, rates, rng, base, mothers, None if solved is None else solved.levels)
    later = later if solved is None else replace(later, problems=solved.problems)
    histories.birth_ages[young, 1:] = later.birth_ages
    columns["intention"][ids[later.gave_up]] = GAVE_UP
    columns["catch_up"] = np.zeros(len(columns["sex"]), np.int8)
    columns["catch_up"][ids] = later.catch_up
    return History(scenario, rates, base, mothers, later)


def _oldest_by_rules(scenario: Scenario) -> float:
    """Women younger than this at the base date draw their later births by the rules (`sim.population.histories`): all who
    were of childbearing age on the census day or after, whose births the census year's order ratios count."""
    since_census = max(months_between(base_date(scenario), scenario.population.census_date), 0.0) / 12
    return scenario.fertility.max_age + since_census


def _level_sample(scenario: Scenario, rng, women: Women, expected: np.ndarray) -> Women:
    """Women to solve the histories' levels on: `women`, or for a small population `_LEVEL_SAMPLE_WOMEN` women of
    the district's expected structure (`expected`: people by sex and age), with histories and wishes of their
    own, so that a quick run's levels are as steady as a full district's and do not follow the chance of which
    few women it holds. Their husbands' only-child status is drawn from the cohort of men of the mean age gap."""
    n = _LEVEL_SAMPLE_WOMEN
    if len(women.age_years) >= n:
        return women
    p = scenario.population
    oldest = _oldest_by_rules(scenario)
    years = np.arange(int(np.ceil(oldest)))
    weights = expected[FEMALE, years] * np.clip(oldest - years, 0, 1)  # the oldest year only in part
    year = _Cdf.of(weights / weights.sum()).draw(rng, n)  # as rng.choice(years, ...): `years` are their own indices
    age = np.minimum(year + rng.random(n), oldest - 1e-9)
    residence = _draw_residence(scenario, rng, n)
    birth_year = base_date(scenario).year - np.floor(age).astype(int)
    gap = round(scenario.marriage.husband_age_gap_mean_years)
    wife, husband = (rng.random(n) < _by_cohort(p.only_child_share, born, residence, _urban_rural)
                     for born in (birth_year, birth_year - gap))
    fresh = _birth_histories(scenario, rng, age, birth_year, residence, np.ones(n, bool))
    return Women(age, residence, fresh.birth_ages[:, 0], fresh.boys, wife, husband, intention_ranks(rng, n))


def _youngest_cohort_marriage_ages(scenario: Scenario, rng, residence: int) -> np.ndarray:
    """Ages at first marriage of a sample of the youngest cohort row's women, from the history rules."""
    n = _MARRIAGE_SAMPLE
    birth_year = np.full(n, scenario.population.parity_progression[-1].born_until)
    histories = _birth_histories(scenario, rng, np.full(n, 60.0), birth_year, np.full(n, residence),
                                 np.ones(n, bool))
    return histories.marriage_ages


def _draw_residence(scenario: Scenario, rng, n: int) -> np.ndarray:
    return np.where(rng.random(n) < scenario.population.urban_share, URBAN, RURAL).astype(np.int8)


def _married_share_by_age(scenario: Scenario, rng) -> np.ndarray:
    """Share of women currently married at each single year of age 15-49.

    From the same birth-history and marriage rules applied to a calibration
    sample of women of every age.
    """
    ages = np.repeat(np.arange(15, 50), _CALIBRATION_WOMEN_PER_AGE)
    exact = ages + rng.random(len(ages))
    residence = _draw_residence(scenario, rng, len(ages))
    histories = _birth_histories(scenario, rng, exact, base_date(scenario).year - ages, residence,
                                 np.ones(len(ages), bool))
    married = _marital_status(scenario, rng, histories, exact) == MARRIED
    return married.reshape(-1, _CALIBRATION_WOMEN_PER_AGE).mean(axis=1)


def _scatter(name: str, values: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    """A whole population column holding `values` at `rows` and the column's default elsewhere."""
    dtype, default = COLUMNS[name]
    full = np.full(n, default, dtype)
    full[rows] = values
    return full


@dataclass
class _Histories:
    birth_ages: np.ndarray  # (women, 3) mother's exact age at births 1, 2, 3; nan for none
    boys: np.ndarray  # (women, 3) the birth is a son
    marriage_ages: np.ndarray  # (women,) age at first marriage; nan for never

    def columns(self, age: np.ndarray, scenario: Scenario) -> dict[str, np.ndarray]:
        born = self.birth_ages <= age[:, None]
        parity = _per_woman(np.add, born.astype(np.int8))
        last = _per_woman(np.maximum, np.where(born, self.birth_ages, -np.inf))
        since = np.where(parity > 0, np.floor((age - last) * 12), -1)
        gestation = scenario.fertility.gestation_months
        future = np.where(born | np.isnan(self.birth_ages), np.inf, self.birth_ages)
        months_to_birth = _per_woman(np.minimum, np.ceil((future - age[:, None]) * 12))
        # months_pregnant counts the months begun since conception: a birth
        # `months_to_birth` months ahead was conceived that many months short of
        # gestation + 1 (the engine's births come when it passes the gestation)
        pregnant = months_to_birth <= gestation
        return {
            "parity": parity,
            "sons": _per_woman(np.add, (born & self.boys).astype(np.int8)),
            "months_since_birth": since.astype(np.int16),
            "months_pregnant": np.where(pregnant, gestation + 1 - months_to_birth, 0).astype(np.int8),
        }

    def thin_pregnancies(self, age: np.ndarray, gestation_months: int, keep: float, rng) -> None:
        """Keep each pregnancy under way at age `age` with chance `keep`; the rest were never conceived."""
        ahead = np.ceil((self.birth_ages - age[:, None]) * 12)
        pregnant = (ahead > 0) & (ahead <= gestation_months)  # nan compares false
        self.birth_ages[pregnant & (rng.random(self.birth_ages.shape) >= keep)] = np.nan

    def births_in(self, start: np.ndarray, end: np.ndarray, residence: np.ndarray) -> np.ndarray:
        """Births between ages `start` and `end` by residence (URBAN, RURAL) and order."""
        woman, order = np.nonzero((self.birth_ages > start[:, None]) & (self.birth_ages <= end[:, None]))
        return np.bincount(residence[woman] * 3 + order, minlength=6).reshape(2, 3)


def _per_woman(ufunc: np.ufunc, values: np.ndarray) -> np.ndarray:
    """`ufunc` reduced over each woman's orders (the columns of `values`).

    Column by column: numpy's own reduction along such short rows is some twenty times slower.
    """
    return functools.reduce(ufunc, values.T)


def _birth_histories(scenario, rng, age, birth_year, residence, later_by_rules: np.ndarray) -> _Histories:
    """First births and marriages of women aged `age`, and the later births of those not `later_by_rules`.

    Women whose childbearing is over take their second and third births from
    the cohort parity progression ratios, at ages from the census pattern of
    each order; for the others (`later_by_rules`) only the first birth is
    drawn here, and the later ones by the engines' rules (`sim.population.histories`).
    """
    p, f = scenario.population, scenario.fertility
    n = len(age)
    ages = np.full((n, 3), np.nan)
    has_first = rng.random(n) < _by_cohort(p.parity_progression, birth_year, residence,
                                           lambda row: (row.first, row.first))
    done = np.flatnonzero(~later_by_rules)  # their later births from the cohort ratios, here
    # rows of younger cohorts have no later ratios: none of their women is `done` (`Scenario.progression_problems`)
    later = [_by_cohort(p.parity_progression, birth_year[done], residence[done], getter) for getter in
             (lambda row: _urban_rural(row.second), lambda row: _urban_rural(row.third))]
    reached = np.column_stack([has_first[done], *(rng.random((2, len(done))) < np.array(later))])
    for order in (1, 2):  # no next birth without the previous one
        reached[:, order] &= reached[:, order - 1]
    for res, rows in RESIDENCE_ROWS.items():
        mine = residence == res
        # through the column (a view): indexing by mask and column at once takes numpy's slow path
        ages[:, 0][mine] = _draw_ages(rng, _age_cdf(f.age_pattern_file, rows, 0), mine.sum())
        done_here = done[mine[done]]
        for order in (1, 2):
            ages[done_here, order] = _draw_ages(rng, _age_cdf(f.age_pattern_file, rows, order), len(done_here))
    histories = ages[done]
    for low, high in ((0, 1), (1, 2), (0, 1)):  # sorts each row, far faster than ages.sort(axis=1)
        smaller = np.minimum(histories[:, low], histories[:, high])
        histories[:, high] = np.maximum(histories[:, low], histories[:, high])
        histories[:, low] = smaller
    spacing = (f.gestation_months + f.postpartum_months) / 12
    for order in (1, 2):
        histories[:, order] = np.maximum(histories[:, order], histories[:, order - 1] + spacing)
    histories[~reached] = np.nan
    ages[done] = histories
    ages[:, 0][~has_first] = np.nan
    ages += p.family_formation_delay_years
    ages[ages >= f.max_age] = np.nan
    # a woman past a later birth's age without the earlier one has neither (a first pushed past the fecund ages)
    for order in (1, 2):
        ages[:, order][np.isnan(ages[:, order - 1])] = np.nan

    srb = scenario.sex_ratio_at_birth
    boy_share = male_birth_probability(np.arange(3), (srb.first, srb.second, srb.third_plus))
    first_age = ages[:, 0].copy()
    childless = np.flatnonzero(np.isnan(first_age))  # marry, if at all, as if to have a first child then
    first_age[childless] = p.family_formation_delay_years + _draw_ages(
        rng, _age_cdf(f.age_pattern_file, ("all",), 0), len(childless))
    marries = ~np.isnan(ages[:, 0]) | (rng.random(n) >= p.never_married_childless_share)
    interval = scenario.marriage.first_birth_interval_mean_months / 12 * rng.gamma(INTERVAL_SHAPE, 1 / INTERVAL_SHAPE, n)
    # conception, not birth, must follow marriage
    interval = np.maximum(interval, f.gestation_months / 12)
    # the legal minimum holds unless the first conception comes before it (customary marriages)
    marriage_ages = np.minimum(np.maximum(first_age - interval, scenario.marriage.min_age_women),
                               first_age - f.gestation_months / 12)
    marriage_ages[~marries] = np.nan
    return _Histories(ages, rng.random((n, 3)) < boy_share, marriage_ages)


def _urban_rural(by_residence) -> tuple[float, float]:
    return (np.nan, np.nan) if by_residence is None else (by_residence.urban, by_residence.rural)


def _by_cohort(rows, birth_year, residence, getter) -> np.ndarray:
    """Each person's value from the cohort rows (ordered by `born_until`) and her residence; `getter` reads a
    row's (urban, rural) values."""
    if not len(birth_year):
        return np.empty(0)
    limits = np.array([row.born_until for row in rows])
    # the row of each birth year, looked up: much faster than a search per person
    first = birth_year.min()
    row_of_year = np.minimum(np.searchsorted(limits, np.arange(first, birth_year.max() + 1), side="left"),
                             len(rows) - 1)
    values = np.array([getter(row) for row in rows])
    return values[row_of_year[birth_year - first], residence]  # URBAN and RURAL are its columns 0 and 1


_GRID = 4096  # a power of two, so u * _GRID and the grid points are exact


@dataclass(frozen=True)
class _Cdf:
    """A distribution over 0, 1, 2, ..., cumulated as `rng.choice` with `p` cumulates it, and the index at
    each of `_GRID` + 1 points from 0 to 1 (see `draw`)."""

    cdf: np.ndarray
    at_grid: np.ndarray

    @classmethod
    def of(cls, weights: np.ndarray) -> "_Cdf":
        cdf = weights.cumsum()
        cdf /= cdf[-1]
        at_grid = cdf.searchsorted(np.arange(_GRID + 1) / _GRID, side="right")
        cdf.flags.writeable = at_grid.flags.writeable = False  # may be cached: shared by every draw
        return cls(cdf, at_grid)

    def draw(self, rng, n: int) -> np.ndarray:
        """`n` values, as `rng.choice` draws them, twice as fast.

        Its search per draw (`cdf.searchsorted(u, side="right")`) mispredicts
        its branches; instead the index is looked up at the grid point below
        each `u`, and searched only where a step of the cdf falls between that
        point and the next.
        """
        u = rng.random(n)
        cell = (u * _GRID).astype(np.intp)
        index = self.at_grid[cell]
        stepped = np.flatnonzero(index != self.at_grid[1:][cell])
        index[stepped] = self.cdf.searchsorted(u[stepped], side="right")
        return index


@functools.lru_cache(maxsize=32)
def _age_cdf(path, residences: tuple[str, ...], order: int) -> _Cdf:
    """The single years of mothers' age at births of `order` (0: first) from their census pattern
    (`census.mother_age_pattern`); cached, as a synthesis draws from each many times."""
    return _Cdf.of(census.mother_age_pattern(path, residences)[order])


def _draw_ages(rng, pattern: _Cdf, n: int) -> np.ndarray:
    """Exact ages: a single year drawn from `pattern`, then a point in it."""
    return census.FIRST_MOTHER_AGE + pattern.draw(rng, n) + rng.random(n)


def _marital_status(scenario: Scenario, rng, histories: _Histories, age: np.ndarray) -> np.ndarray:
    ever = histories.marriage_ages <= age  # nan (never marries) compares false
    widowed = rng.random(len(age)) < _by_age(scenario.population.widowed_share_women, age)
    return np.where(ever, np.where(widowed, WIDOWED, MARRIED), SINGLE).astype(np.int8)


def _by_age(rows, age: np.ndarray) -> np.ndarray:
    starts = np.array([row.age for row in rows])
    shares = np.array([row.share for row in rows])
    return shares[np.maximum(np.searchsorted(starts, age, side="right") - 1, 0)]


def _marriage_market(scenario: Scenario, sex: np.ndarray, marital: np.ndarray,
                     exact_age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Who is married before the husbands are chosen (the women), and who may be chosen (men of marrying age)."""
    return (sex == FEMALE) & (marital == MARRIED), (sex == MALE) & (exact_age >= scenario.marriage.min_age_men)


def _link_husbands(scenario: Scenario, rng, columns: dict[str, np.ndarray], exact_age: np.ndarray) -> np.ndarray:
    """Spouse ids: each married woman gets an unmarried man of her residence near her age plus the gap."""
    m = scenario.marriage
    sex, residence, marital = columns["sex"], columns["residence"], columns["marital"]
    spouse = np.full(len(sex), -1, np.int32)
    age = np.floor(exact_age).astype(int)
    wives, men = map(np.flatnonzero, _marriage_market(scenario, sex, marital, exact_age))
    wanted = wanted_husband_age(scenario, exact_age[wives], rng, census.OPEN_AGE)
    husbands = match_husbands(wanted, age[men], rng, residence[wives], residence[men])
    if (husbands < 0).any():
        raise TooFewAgents("the marriage market", f"{(husbands < 0).sum()} married women found no husband of "
                           "their residence", "the age structure and marriage.husband_age_gap_mean_years")
    spouse[wives] = men[husbands]
    spouse[men[husbands]] = wives
    married_men = spouse >= 0
    men = (sex == MALE) & ~married_men & (exact_age >= m.min_age_men)
    draw = rng.random(len(sex))
    widowers = men.copy()  # the widowed share is looked up only for the men it concerns
    widowers[men] = draw[men] < _by_age(scenario.population.widowed_share_men, exact_age[men])
    marital[married_men & (sex == MALE)] = MARRIED
    marital[widowers] = WIDOWED
    return spouse
