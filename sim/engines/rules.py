"""Policy rules as pure, vectorized functions of couples' attributes.

Every engine (the fast columnar one, the per-agent reference model and the
cohort-component projection) asks these functions who may have a next child,
so the rules are written once.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.optimize import brentq

from sim.population.lifetable import MAX_AGE
from sim.population.people import RURAL, URBAN
from sim.scenario.schema import ByResidence, Regime, Scenario

# the census residence rows of each residence's mothers' age pattern
RESIDENCE_ROWS = {URBAN: ("city", "town"), RURAL: ("rural",)}
# shape of the gamma interval from marriage to first birth (shape 2 puts the
# mode at half the mean: most couples have their first child within two years)
INTERVAL_SHAPE = 2.0

# The most children a couple may have under each regime; None = no limit.
_LIMIT = {Regime.universal_two_child: 2, Regime.three_child: 3, Regime.none: None}


def looks_at_couple(regime: Regime) -> bool:
    """Whether the rules of `regime` look past a couple's marriage and parity (see `eligible_for_next_birth`)."""
    return regime not in _LIMIT


def eligible_for_next_birth(
    regime: Regime,
    *,
    married: np.ndarray,
    parity: np.ndarray,
    sons: np.ndarray | None = None,
    rural: np.ndarray | None = None,
    wife_only_child: np.ndarray | None = None,
    husband_only_child: np.ndarray | None = None,
    months_since_birth: np.ndarray | None = None,
    rural_daughter_min_interval_months: int,
) -> np.ndarray:
    """Whether the rules of `regime` allow each woman's next birth.

    Births outside marriage are never within the rules. Under the one-child
    rules a first child is allowed, and a second if both spouses are only
    children, or if the couple is rural, their only child is a daughter and
    the interval since her birth has passed. The selective two-child rules
    add couples with either spouse an only child; the exceptions stay.
    Rules that only limit the number of children need no more than marriage
    and parity (`looks_at_couple`).
    """
    married = np.asarray(married, bool)
    parity = np.asarray(parity)
    if regime in _LIMIT:
        limit = _LIMIT[regime]
        return married if limit is None else married & (parity < limit)
    details = (sons, rural, wife_only_child, husband_only_child, months_since_birth)
    if any(detail is None for detail in details):
        raise ValueError(f"the {regime.value} rules need each couple's sons, residence, only-child statuses "
                         "and months since the last birth")
    both = np.asarray(wife_only_child, bool) & np.asarray(husband_only_child, bool)
    either = np.asarray(wife_only_child, bool) | np.asarray(husband_only_child, bool)
    rural_daughter = (
        np.asarray(rural, bool)
        & (np.asarray(sons) == 0)
        & (np.asarray(months_since_birth) >= rural_daughter_min_interval_months)
    )
    second_allowed = both | rural_daughter
    if regime is Regime.selective_two_child:
        second_allowed = second_allowed | either
    elif regime is not Regime.one_child:
        raise ValueError(f"no rules for regime {regime!r}")
    return married & ((parity == 0) | ((parity == 1) & second_allowed))


# months since the last birth that no rule makes a couple wait for
_EVER = 10_000


def newly_eligible(new: Regime, old: Regime, *, pregnant: np.ndarray, **couple) -> np.ndarray:
    """Whether the change of rules from `old` to `new` newly allows each couple their next child, whatever they
    wish: the new rules allow it now and the old never would have (a rural mother of a daughter waiting out the
    interval was going to be allowed anyway), and she is not pregnant. These are the "eligible couples" a
    relaxation is reported against (about 11 million in 2014)."""
    months_since_birth = np.asarray(couple["months_since_birth"])
    allowed_now = eligible_for_next_birth(new, **couple)
    allowed_ever = eligible_for_next_birth(old, **{**couple, "months_since_birth": np.full(months_since_birth.shape,
                                                                                           _EVER)})
    return allowed_now & ~allowed_ever & ~np.asarray(pregnant, bool)


def in_backlog(new: Regime, old: Regime, *, wants: np.ndarray, pregnant: np.ndarray, min_months_since_birth: int,
               **couple) -> np.ndarray:
    """Whether each woman is in the backlog that a change of rules from `old` to `new` releases.

    She is newly eligible (`newly_eligible`) and wants her next child; and her
    last child is at least `min_months_since_birth` old, so that under any
    rules she would have had the next by now. A woman with no child is never
    in it: the first was always allowed.
    """
    return (np.asarray(wants, bool) & newly_eligible(new, old, pregnant=pregnant, **couple)
            & (np.asarray(couple["months_since_birth"]) >= max(min_months_since_birth, 0)))


def male_birth_probability(parity_before: np.ndarray, sex_ratio_by_order: tuple[float, float, float]) -> np.ndarray:
    """Probability that a birth is a boy, from the sex ratio at birth of its order (1, 2, 3+)."""
    ratios = np.asarray(sex_ratio_by_order, float)
    return (ratios / (100 + ratios))[np.minimum(parity_before, 2)]


# Latent ranks of the wish for children: drawn ranks are 0..254, the lower the
# stronger, and a woman wants her next child if her rank is below the
# threshold of her residence and order (`wants_next_child`). GAVE_UP is the
# rank of a woman who has given her wish up (`in_backlog`): it wants nothing.
GAVE_UP = 255


def intention_ranks(rng: np.random.Generator, count: int) -> np.ndarray:
    """Latent ranks of the wish for children (see `wants_next_child`), uniform on 0..GAVE_UP - 1."""
    return (rng.random(count) * GAVE_UP).astype(np.uint8)  # Generator.integers costs three times as much


# --- hazards -----------------------------------------------------------------------------
#
# Rates are monthly. A woman of parity p who is married, not pregnant, past the
# postpartum months and of childbearing age conceives at
#     scale[residence, order] * fecundity(age) * wants * policy * catch-up,
# where `wants` is her latent intention for the next child (always for a
# first), `policy` is 1 within the rules and the out-of-policy factor
# outside them, `catch-up` is the scenario's multiplier for a woman a
# relaxation released (`in_backlog`) while its window is open and 1 otherwise.
# The same rates, integrated over each woman's past, drew the base
# population's later births (`sim.population.histories`); the first-birth scales are
# calibrated to the base year's first births and the later orders go on at the
# histories' levels (`sim.engines.district.calibrate`).

ORDERS = 3  # birth orders 1, 2, 3+


@dataclass(frozen=True)
class Rates:
    """The hazard tables of one realized scenario; `scale` is set by `calibrated`."""

    fecundity_by_age: np.ndarray  # relative, by single year of age 0..MAX_AGE
    fecund_ages: tuple[int, int]  # [min_age, max_age) in years
    postpartum_months: int
    gestation_months: int
    intention_rank: np.ndarray  # (order 1, 2, 3+; residence): intention ranks below it want that next child
    out_of_policy: float
    rural_daughter_min_interval_months: int
    catch_up_multiplier: float  # on the rate of a woman catching up, while her window is open
    catch_up_window_months: float
    catch_up_min_months_since_birth: int
    catch_up_acting_share: float
    natural_fecundability: float  # the most a monthly rate may be (see `implausible_scales`)
    trend_per_year: np.ndarray  # (order): relative change of the scales a year from the base date
    marriage_log_survival: np.ndarray  # (residence, age in months 0..) cumulative log chance of staying single
    min_marriage_age_months: int
    scale: np.ndarray = field(default_factory=lambda: np.ones((2, ORDERS)))  # (residence, order)

    @classmethod
    def from_scenario(cls, scenario: Scenario, marriage_ages: np.ndarray) -> "Rates":
        """The tables of `scenario`; `marriage_ages` is a sample by residence (see `marriage_log_survival`)."""
        f, b, p, c = scenario.fertility, scenario.behaviour, scenario.policy, scenario.behaviour.catch_up
        return cls(
            fecundity_by_age=_step_table(f.relative_fecundity, "factor"),
            fecund_ages=(int(np.ceil(f.min_age)), int(np.ceil(f.max_age))),
            postpartum_months=f.postpartum_months,
            gestation_months=f.gestation_months,
            intention_rank=wish_ranks(b.second_child_intention, b.third_child_intention),
            out_of_policy=out_of_policy_factor(b.compliance, p.penalty_deterrence, p.penalty_collection_rate),
            rural_daughter_min_interval_months=p.rural_daughter_min_interval_months,
            catch_up_multiplier=c.hazard_multiplier,
            catch_up_window_months=c.window_months,
            catch_up_min_months_since_birth=c.min_months_since_birth,
            catch_up_acting_share=c.acting_share,
            natural_fecundability=f.natural_fecundability,
            trend_per_year=np.array([f.trend_per_year.first, f.trend_per_year.second, f.trend_per_year.third_plus]),
            marriage_log_survival=marriage_log_survival(marriage_ages),
            min_marriage_age_months=int(np.ceil(scenario.marriage.min_age_women * 12)),
        )


def wish_ranks(second: ByResidence, third: ByResidence) -> np.ndarray:
    """Intention thresholds by order (1, 2, 3+) and residence.

    Every woman wants a first child; `second` of mothers want a second, and
    `third` of those a third, so those who want a third child are among those
    who want a second.
    """
    shares = np.array([[1.0, 1.0], [second.urban, second.rural],
                       [second.urban * third.urban, second.rural * third.rural]])
    return np.round(GAVE_UP * shares).astype(int)


def _step_table(rows, attribute: str) -> np.ndarray:
    """Values by single year of age 0..MAX_AGE from rows that each hold from their age to the next row's."""
    starts = np.array([row.age for row in rows])
    values = np.array([getattr(row, attribute) for row in rows], float)
    index = np.searchsorted(starts, np.arange(MAX_AGE + 1), side="right") - 1
    return np.where(index >= 0, values[np.maximum(index, 0)], 0.0)


def out_of_policy_factor(compliance: float, deterrence: float, collection_rate: float) -> float:
    """Conception rate outside the rules relative to within them.

    Only couples who do not keep to the rules have out-of-policy births, and
    of those the penalty deters a share: its deterrence times the share of
    penalties actually collected.
    """
    return (1 - compliance) * (1 - deterrence * collection_rate)


def wants_next_child(rates: Rates, parity: np.ndarray, intention: np.ndarray, residence: np.ndarray) -> np.ndarray:
    """Whether each woman wants a child beyond `parity` (every married woman wants a first).

    One latent rank per woman serves every order, so those who want a third
    child are among those who want a second.
    """
    rank = rates.intention_rank.ravel()[np.minimum(parity, ORDERS - 1) * 2 + residence]
    return intention < rank


def clamp(values: np.ndarray, low, high) -> np.ndarray:
    """`np.clip` for the few hundred values of a step, where its dispatch alone costs more than the work."""
    return np.minimum(np.maximum(values, low), high)


def exposure_months(rates: Rates, *, parity: np.ndarray, months_since_birth_end: np.ndarray, months: int) -> np.ndarray:
    """Months of a step of `months` a non-pregnant woman could conceive, given her months since birth at its end."""
    past_postpartum = clamp(months_since_birth_end - rates.postpartum_months, 0, months)
    return np.where(parity == 0, months, past_postpartum)


def relative_conception_rate(rates: Rates, *, age_years: np.ndarray, wants: np.ndarray, eligible: np.ndarray,
                             catching_up: np.ndarray) -> np.ndarray:
    """The monthly conception rate before the calibrated scale of each residence and birth order.

    `wants` is `wants_next_child` (engines that skip women who want no more
    pass True); `catching_up` is whether she is in an open catch-up window
    (the multiplier applies only within the rules).
    """
    policy = np.where(eligible, np.where(catching_up, rates.catch_up_multiplier, 1.0), rates.out_of_policy)
    return rates.fecundity_by_age[np.minimum(age_years, MAX_AGE)] * policy * wants


def conception_rate(
    rates: Rates, *, parity: np.ndarray, age_years: np.ndarray, residence: np.ndarray, wants: np.ndarray,
    eligible: np.ndarray, catching_up: np.ndarray,
) -> np.ndarray:
    """Monthly conception rate of married, non-pregnant women of childbearing age."""
    relative = relative_conception_rate(rates, age_years=age_years, wants=wants, eligible=eligible,
                                        catching_up=catching_up)
    return rates.scale.ravel()[residence * ORDERS + np.minimum(parity, ORDERS - 1)] * relative


def conception_probability(rate: np.ndarray, exposure: np.ndarray) -> np.ndarray:
    return -np.expm1(-rate * exposure)


def conception_probability_bound(rates: Rates, months: int) -> np.ndarray:
    """The most a woman's chance to conceive in a step of `months` can be, by residence and order.

    It takes the highest fecundity, the rules allowing the birth (the factor
    outside them is below 1), the catch-up multiplier if it raises the rate,
    and every month exposed.
    """
    most = rates.scale * rates.fecundity_by_age.max() * max(1.0, rates.catch_up_multiplier)
    return conception_probability(most, months)


def calibrated(rates: Rates, relative_rate: np.ndarray, residence: np.ndarray, parity: np.ndarray,
               target_per_month: np.ndarray) -> Rates:
    """`rates` with the scale of each (residence, order) set so expected conceptions in a month hit the target.

    `relative_rate` is `relative_conception_rate` of the women exposed in the
    first month; `target_per_month` has shape (residence, order).
    """
    order = np.minimum(parity, ORDERS - 1)
    scale = np.zeros((2, ORDERS))
    for res in range(2):
        for o in range(ORDERS):
            cell = relative_rate[(residence == res) & (order == o)]
            target = target_per_month[res, o]
            if target <= 0 or cell.sum() == 0:
                continue
            if target >= len(cell):
                raise ValueError(f"{target:.0f} conceptions a month asked of {len(cell)} women "
                                 f"(residence {res}, order {o + 1})")
            expected = lambda k: conception_probability(k * cell, 1.0).sum() - target  # noqa: E731
            high = 1.0
            while expected(high) < 0:
                high *= 2
            scale[res, o] = brentq(expected, 0.0, high, xtol=1e-12)
    return replace(rates, scale=scale)


def trended(rates: Rates, calibrated_scale: np.ndarray, years: float) -> Rates:
    """`rates` with the scales `years` after the calibration, each order following its trend."""
    return replace(rates, scale=calibrated_scale * np.exp(rates.trend_per_year * years))


_ORDER_NAMES = ("first", "second", "third")
_RESIDENCE_NAMES = ("urban", "rural")


def implausible_scales(rates: Rates, births: np.ndarray) -> list[str]:
    """What is implausible about calibrated scales (the monthly in-policy rates at the peak fecund ages).

    No rate may pass natural fecundability, the monthly chance of conceiving of
    couples who do not contracept; and no woman is keener on a second or third
    child than women are on their first, so neither may pass the first-birth
    rate of her residence. A scale rests on the base year's `births` of its
    cell (residence, order), a count with a relative error of about
    1/sqrt(births) (and a ratio of two scales on both counts), so a limit is
    held passed only by more than three of those errors.
    """
    problems = []
    counts = np.maximum(births, 1)
    for res, residence in enumerate(_RESIDENCE_NAMES):
        first = rates.scale[res, 0]
        for order in range(ORDERS):
            scale = rates.scale[res, order]
            if scale > rates.natural_fecundability * (1 + 3 / np.sqrt(counts[res, order])):
                problems.append(f"the {residence} {_ORDER_NAMES[order]}-birth rate within the rules, {scale:.3f} a "
                                f"month, is above natural fecundability ({rates.natural_fecundability:g})")
            elif order and scale > first * (1 + 3 * np.sqrt(1 / counts[res, order] + 1 / counts[res, 0])):
                problems.append(f"the {residence} {_ORDER_NAMES[order]}-birth rate within the rules, {scale:.3f} a "
                                f"month, is above the first-birth rate ({first:.3f})")
    return problems


def marriage_probability(rates: Rates, residence: np.ndarray, age_months: np.ndarray, months: int) -> np.ndarray:
    """Chance that a single woman aged `age_months` at the start of a step of `months` marries in it."""
    table = rates.marriage_log_survival
    last = table.shape[1] - 1
    start = table[residence, np.minimum(age_months, last)]
    end = table[residence, np.minimum(age_months + months, last)]
    return -np.expm1(end - start)


def marriage_probability_bound(rates: Rates, months: int) -> float:
    """The most a single woman's chance to marry in a step of `months` can be, at any residence and age."""
    residences, ages = np.indices(rates.marriage_log_survival.shape)
    return float(marriage_probability(rates, residences, ages, months).max())


def marriage_log_survival(marriage_ages: np.ndarray) -> np.ndarray:
    """Cumulative log chance of staying single by month of age, from a sample of ages at first marriage.

    `marriage_ages` (residence, women) is drawn with the rules that built the
    base population's histories (nan: never marries), so women marry in the
    run as they did before it.
    """
    size = (MAX_AGE + 1) * 12
    table = np.zeros((len(marriage_ages), size))
    for res, ages in enumerate(marriage_ages):
        months = np.floor(ages[~np.isnan(ages)] * 12).astype(int)
        marrying = np.bincount(np.minimum(months, size - 1), minlength=size)
        single = len(ages) - np.concatenate([[0], np.cumsum(marrying)[:-1]])
        hazard = np.divide(marrying, single, out=np.zeros(size), where=single > 0)
        table[res] = np.concatenate([[0.0], np.cumsum(np.log1p(-np.minimum(hazard, 1 - 1e-12)))[:-1]])
    return table


# --- mortality ---------------------------------------------------------------------------

def death_probability_by_age_months(monthly_q: np.ndarray) -> np.ndarray:
    """Chance of dying within the next 12 months by sex and age in months (the birthday falls inside).

    At age y years and m months a person lives 12 - m of the months at age y and m at age y + 1.
    """
    past_birthday = np.arange(12)  # m
    with np.errstate(divide="ignore", invalid="ignore"):  # q = 1 at the oldest age: log survival -inf
        log_now = np.log1p(-monthly_q)[:, :, None]
        log_next = np.concatenate([log_now[:, 1:], log_now[:, -1:]], axis=1)
        after_birthday = np.where(past_birthday > 0, past_birthday * log_next, 0.0)
    return -np.expm1((12 - past_birthday) * log_now + after_birthday).reshape(len(monthly_q), -1)


def death_month(monthly_q: np.ndarray, sex: np.ndarray, age_months: np.ndarray, months: int,
                uniform: np.ndarray) -> np.ndarray:
    """The month (1..`months`) in which each person dies, or 0 if they survive the months ahead.

    Exact for a monthly death probability `monthly_q[sex, age in years]` that
    changes on birthdays: `uniform` in (0, 1] is the person's draw, and they die
    in the first month their survival falls below it. Drawing once a year is
    then the same as drawing every month.
    """
    last = monthly_q.shape[1] - 1
    years = age_months // 12
    at_this_age = 12 - age_months % 12
    log_u = np.log(uniform)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_now = np.log1p(-monthly_q[sex, np.minimum(years, last)])
        log_next = np.log1p(-monthly_q[sex, np.minimum(years + 1, last)])
        early = np.floor(log_u / log_now) + 1
        late = at_this_age + np.floor((log_u - at_this_age * log_now) / log_next) + 1
    month = np.where(log_u > at_this_age * log_now, early, late)
    month = np.where(np.isnan(month), np.inf, month)  # q = 0 (0/0) never dies
    return np.where(month <= months, month, 0).astype(np.int8)


# --- marriage market and migration -------------------------------------------------------

# Ages in years stay below this: (market, age) pairs share one sort key, of
# 16 bits so that numpy's stable sort of it is a radix sort (markets 0..30).
_MARKET_SPAN = 1 << 10


def match_husbands(wanted_age_years: np.ndarray, men_age_years: np.ndarray, rng: np.random.Generator,
                   bride_market: np.ndarray | int = 0, men_market: np.ndarray | int = 0) -> np.ndarray:
    """For each bride, the index of an unmarried man (into `men_age_years`) near her wanted age, or -1.

    Brides marry men of their own market (the residence, say). Men are taken
    at random from the wanted single year of age; when that year runs out the
    rest look one year older, and those left when the oldest men are taken
    look younger, from the oldest down.
    """
    men_key, bride_key = _market_key(men_age_years, men_market), _market_key(wanted_age_years, bride_market)
    shuffled = rng.permutation(len(men_age_years))
    men = shuffled[np.argsort(men_key[shuffled], kind="stable")]
    keys = men_key[men]
    brides = np.argsort(bride_key, kind="stable")
    market = bride_key[brides] // _MARKET_SPAN
    # Brides queue in order of the age they want and men stand in order of age,
    # so the k-th bride takes the first man left at or above her age: the later
    # of her age's first man and the one after the (k-1)-th bride's. Each
    # market's values are lifted above the last's, so the running maximum
    # starts afresh in each.
    queue = np.arange(len(brides))
    lift = market * np.int64(len(men) + len(brides) + 1)
    first_man = np.searchsorted(keys, bride_key[brides])
    taken = queue + np.maximum.accumulate(first_man - queue + lift) - lift
    placed = taken < np.searchsorted(keys, (market + 1) * _MARKET_SPAN)
    husband = np.full(len(brides), -1, np.int64)
    husband[brides[placed]] = men[taken[placed]]
    if not placed.all():
        left = np.ones(len(men), bool)
        left[taken[placed]] = False
        for short in np.unique(market[~placed]):
            waiting = brides[~placed & (market == short)]
            free = np.flatnonzero(left & (keys // _MARKET_SPAN == short))
            free = free[np.argsort(-keys[free], kind="stable")][: len(waiting)]  # oldest first
            husband[waiting[: len(free)]] = men[free]
    return husband


def _market_key(age_years: np.ndarray, market: np.ndarray | int) -> np.ndarray:
    return np.add(age_years, np.multiply(market, _MARKET_SPAN, dtype=np.int16), dtype=np.int16)


def wanted_husband_age(scenario: Scenario, bride_age_years: np.ndarray, rng: np.random.Generator,
                       oldest: int) -> np.ndarray:
    m = scenario.marriage
    wanted = bride_age_years + rng.normal(m.husband_age_gap_mean_years, m.husband_age_gap_sd_years,
                                          len(bride_age_years))
    return clamp(np.floor(wanted), math.ceil(m.min_age_men), oldest).astype(int)


def expected_migrants(scenario: Scenario, months: int, population_scale: float) -> np.ndarray:
    """Expected net migrants in a step of `months`, by sex (FEMALE, MALE) and age group; negative: net out.

    `population_scale` is the simulated population over the scenario's: a
    run of scaled agents has migrants in proportion, as it has births.
    """
    mig = scenario.migration
    shares = np.array([row.share for row in mig.age_pattern])
    by_sex = np.outer([mig.female_share, 1 - mig.female_share], shares)
    return mig.net_migrants_per_year * population_scale * months / 12 * by_sex


def migrant_counts(expected: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Whole net migrants from `expected_migrants`: the total rounded at random (so the mean is kept) and
    shared out multinomially; the sign is the direction."""
    total = float(expected.sum())
    count = math.floor(abs(total)) + (rng.random() < abs(total) % 1)
    if count == 0:
        return np.zeros(expected.shape, int)
    return (1 if total > 0 else -1) * rng.multinomial(count, (expected / total).ravel()).reshape(expected.shape)


def migration_age_groups(scenario: Scenario) -> list[tuple[int, int]]:
    starts = [row.age for row in scenario.migration.age_pattern]
    return list(zip(starts, [*starts[1:], MAX_AGE + 1]))
