"""The hazards of sim.engines.rules: exact identities first, then their calibration."""
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engines import rules
from sim.engines.conception import conception_chances, women_who_may_conceive
from sim.engines.district import calibrate, first_birth_targets
from sim.population.people import FEMALE
from sim.population.synthesis import life_tables
from sim.scenario.schema import Regime


@pytest.fixture(scope="module")
def rates(base_scenario, base_synthesis):
    return rules.Rates.from_scenario(base_scenario, base_synthesis.marriage_ages)


@pytest.fixture(scope="module")
def monthly_q(base_scenario):
    tables = life_tables(base_scenario, 2016.5)
    return np.stack([tables[FEMALE].monthly_death_probability(), tables[1 - FEMALE].monthly_death_probability()])


@settings(max_examples=200, deadline=None)
@given(age=st.integers(0, 110 * 12 + 11), sex=st.integers(0, 1), u=st.floats(1e-12, 1.0),
       months=st.integers(1, 12))
def test_death_month_is_where_monthly_survival_falls_below_the_draw(monthly_q, age, sex, u, months):
    """Drawing the month once for the months ahead (the rest of a year: 1 to 12) is the same as testing every
    month with the age of that month; a death after them is none."""
    q_each_month = monthly_q[sex, np.minimum((age + np.arange(12)) // 12, monthly_q.shape[1] - 1)]
    survival = np.cumprod(1 - q_each_month)
    first_below = int(np.argmax(survival < u)) + 1 if (survival < u).any() else 0
    expected = first_below if first_below <= months else 0
    got = rules.death_month(monthly_q, np.array([sex]), np.array([age]), months, np.array([u]))[0]
    # exactly at a boundary the two may round differently
    if expected != got:
        boundary = min(month for month in (first_below, got) if month > 0)
        assert np.isclose(survival[boundary - 1], u, rtol=1e-9)


def test_death_in_a_year_matches_the_monthly_probabilities(monthly_q):
    table = rules.death_probability_by_age_months(monthly_q)
    for sex, age in [(0, 0), (1, 5), (0, 30 * 12 + 7), (1, 80 * 12 + 11), (0, 110 * 12)]:
        months = np.minimum((age + np.arange(12)) // 12, monthly_q.shape[1] - 1)
        assert table[sex, age] == pytest.approx(1 - np.prod(1 - monthly_q[sex, months]), rel=1e-12)


def test_marriage_table_reproduces_the_sample_it_came_from(rates, base_synthesis):
    for residence, ages in enumerate(base_synthesis.marriage_ages):
        for years in (18, 20, 23, 27, 35):
            single = np.exp(rates.marriage_log_survival[residence, years * 12])
            assert single == pytest.approx(1 - np.mean(ages < years), abs=1e-9)


def test_marriage_probability_over_three_months_compounds_the_monthly_ones(rates):
    age = np.array([250, 300])
    residence = np.array([0, 1])
    monthly = [rules.marriage_probability(rates, residence, age + k, 1) for k in range(3)]
    quarterly = rules.marriage_probability(rates, residence, age, 3)
    np.testing.assert_allclose(1 - quarterly, np.prod([1 - p for p in monthly], axis=0))


@pytest.mark.parametrize("months", [1, 3])
def test_no_woman_may_marry_above_the_bound(rates, months):
    """The engine skips working out the chance of single women whose draw is above the bound."""
    residence, age_months = np.repeat([0, 1], 2000), np.tile(np.arange(0, 2000), 2)  # to past the table's end
    chance = rules.marriage_probability(rates, residence, age_months, months)
    bound = rules.marriage_probability_bound(rates, months)
    assert chance.max() == bound and 0 < bound < 0.5


def test_those_who_want_a_third_child_want_a_second_and_a_wish_given_up_wants_nothing(rates):
    drawn = np.arange(rules.GAVE_UP)  # every rank a woman may be drawn
    for residence in (0, 1):
        res = np.full(len(drawn), residence)
        second = rules.wants_next_child(rates, np.ones(len(drawn), int), drawn, res)
        third = rules.wants_next_child(rates, np.full(len(drawn), 2), drawn, res)
        assert np.all(second[third]) and third.sum() < second.sum()
        assert np.all(rules.wants_next_child(rates, np.zeros(len(drawn), int), drawn, res))
        gave_up = np.full(4, rules.GAVE_UP)
        assert not rules.wants_next_child(rates, np.arange(4), gave_up, np.full(4, residence)).any()


def test_intention_shares_are_the_scenarios(base_scenario, rates):
    """`second_child_intention` of drawn ranks want a second child, and `third_child_intention` of those a third."""
    b = base_scenario.behaviour
    ranks = rules.intention_ranks(np.random.default_rng(2), 200_000)
    for res, name in enumerate(("urban", "rural")):
        second, third = getattr(b.second_child_intention, name), getattr(b.third_child_intention, name)
        wants_second = rules.wants_next_child(rates, np.ones(len(ranks), int), ranks, np.full(len(ranks), res))
        wants_third = rules.wants_next_child(rates, np.full(len(ranks), 2), ranks, np.full(len(ranks), res))
        # ranks are whole numbers: a share is met to within one rank in GAVE_UP, plus the binomial error
        tolerance = 1 / rules.GAVE_UP + 4 * np.sqrt(0.25 / len(ranks))
        assert wants_second.mean() == pytest.approx(second, abs=tolerance)
        assert wants_third.mean() == pytest.approx(second * third, abs=tolerance)


@given(compliance=st.floats(0, 0.999), deterrence=st.floats(0, 1), collection=st.floats(0, 0.999))
def test_births_outside_the_rules_are_neither_impossible_nor_unlimited(compliance, deterrence, collection):
    factor = rules.out_of_policy_factor(compliance, deterrence, collection)
    assert 0 < factor <= 1


def test_full_compliance_means_no_births_outside_the_rules():
    assert rules.out_of_policy_factor(1.0, 0.5, 0.76) == 0


def test_catching_up_multiplies_the_rate_within_the_rules_so_it_keeps_the_age_shape_of_fecundity(rates):
    """A woman catching up conceives at her own in-policy rate times the multiplier: no flat extra rate, none
    after the fecund ages, and nothing extra outside the rules."""
    ages = np.arange(15, 55)
    n = len(ages)
    common = dict(age_years=ages, wants=np.ones(n, bool))
    for eligible in (True, False):
        usual = rules.relative_conception_rate(rates, eligible=np.full(n, eligible), catching_up=np.zeros(n, bool),
                                               **common)
        catching = rules.relative_conception_rate(rates, eligible=np.full(n, eligible), catching_up=np.ones(n, bool),
                                                  **common)
        factor = rates.catch_up_multiplier if eligible else 1.0
        np.testing.assert_allclose(catching, usual * factor)
        np.testing.assert_allclose(catching / catching[5], rates.fecundity_by_age[ages] / rates.fecundity_by_age[20])


def test_first_births_are_calibrated_to_the_base_year_and_later_orders_take_the_histories_levels(
        base_scenario, base_synthesis, rates):
    pop = base_synthesis.population
    regime = base_scenario.policy.regime_on(base_synthesis.base_date)
    open_windows = np.array([False, *(base_synthesis.base_date < end for end in base_synthesis.catch_up_ends)])
    calibrated = calibrate(rates, pop, regime, base_synthesis, open_windows)
    women = women_who_may_conceive(pop, calibrated)
    rate, exposure = conception_chances(pop, women, calibrated, regime, 1, open_windows)
    expected = rules.conception_probability(rate, exposure)
    first = women[pop.parity[women] == 0]
    target = first_birth_targets(base_synthesis)
    level = base_synthesis.births_against_history
    for res in (0, 1):
        cell = expected[(pop.parity[women] == 0) & (pop.residence[women] == res)].sum()
        assert cell == pytest.approx(target[res, 0], rel=1e-9)
        assert target[res, 0] == pytest.approx(base_synthesis.births_last_year[res, 0] * level / 12)
    assert len(first) > 0
    np.testing.assert_allclose(calibrated.scale[:, 1:], base_synthesis.history_levels * level)
    # the scenario's births a year set the level: the history's base year is rescaled to it
    assert level * base_synthesis.births_last_year.sum() == pytest.approx(base_scenario.population.births_per_year)


@pytest.mark.parametrize("regime", list(Regime))
@pytest.mark.parametrize("months", [1, 3])
def test_no_woman_may_conceive_above_the_bound_of_her_residence_and_order(base_scenario, base_synthesis, rates,
                                                                         regime, months):
    """The engine skips working out the chance of women whose draw is above the bound: it must hold for all."""
    pop = base_synthesis.population.copy()
    pop.catch_up[:] = 1  # catching up in an open window: the most a woman's rate can be
    everyone_catching_up = np.array([False, True])
    calibrated = calibrate(rates, pop, regime, base_synthesis, everyone_catching_up)
    women = women_who_may_conceive(pop, calibrated)
    rate, exposure = conception_chances(pop, women, calibrated, regime, months, everyone_catching_up)
    chance = rules.conception_probability(rate, exposure)
    bound = rules.conception_probability_bound(calibrated, months)
    order = np.minimum(pop.parity[women], rules.ORDERS - 1)
    assert np.all(chance <= bound[pop.residence[women], order])


def test_husbands_are_matched_once_each_and_at_the_wanted_age_when_there_is_one():
    rng = np.random.default_rng(1)
    men_ages = np.array([20, 20, 25, 30, 30, 30, 60])
    wanted = np.array([30, 30, 20, 25, 25, 70])
    husband = rules.match_husbands(wanted, men_ages, rng)
    assert len(set(husband[husband >= 0])) == (husband >= 0).sum() == 6
    np.testing.assert_array_equal(men_ages[husband[:3]], [30, 30, 20])
    assert men_ages[husband[3]] == 25 and men_ages[husband[4]] == 30  # one 25: the next looks older
    assert men_ages[husband[5]] == 60  # nobody at 70 or older: looks younger


def queued_husbands(wanted: np.ndarray, men_ages: np.ndarray, rng: np.random.Generator,
                    bride_market: np.ndarray, men_market: np.ndarray) -> np.ndarray:
    """The marriage market of `rules.match_husbands` as its docstring tells it, one bride at a time."""
    drawn = rng.permutation(len(men_ages))
    husband = np.full(len(wanted), -1, np.int64)
    for market in set(bride_market.tolist()):
        free = {age: [man for man in drawn if men_ages[man] == age and men_market[man] == market]
                for age in set(men_ages.tolist())}
        queue: list[int] = []
        for age in range(max([*men_ages, *wanted]) + 1):  # each year's brides join the queue
            queue += [bride for bride in range(len(wanted)) if wanted[bride] == age and bride_market[bride] == market]
            while queue and free.get(age):
                husband[queue.pop(0)] = free[age].pop(0)
        for age in sorted(free, reverse=True):  # those left look younger, from the oldest down
            while queue and free[age]:
                husband[queue.pop(0)] = free[age].pop(0)
    return husband


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(18, 40), st.integers(0, 2)), max_size=30),
       st.lists(st.tuples(st.integers(18, 45), st.integers(0, 2)), max_size=40), st.integers(0, 2**32 - 1))
def test_matching_is_the_queue_of_brides(brides, men, seed):
    """The vectorized matching gives each bride the man the queue of her market gives her, shortages and all."""
    (wanted, bride_market), (men_ages, men_market) = (np.array(pairs, int).reshape(-1, 2).T for pairs in (brides, men))
    matched = rules.match_husbands(wanted, men_ages, np.random.default_rng(seed), bride_market, men_market)
    queued = queued_husbands(wanted, men_ages, np.random.default_rng(seed), bride_market, men_market)
    np.testing.assert_array_equal(matched, queued)


def test_implausible_scales_are_named_and_a_small_cell_is_given_its_counting_error(rates):
    """A later order's in-policy rate above the first-birth rate is implausible, unless the base year's births
    of the two cells are so few that their counting error covers the difference."""
    scaled = replace(rates, scale=np.array([[0.05, 0.03, 0.02], [0.05, 0.08, 0.25]]))
    many = np.full((2, 3), 10_000)
    problems = rules.implausible_scales(scaled, many)
    assert len(problems) == 2
    assert "rural second-birth rate" in problems[0] and "above the first-birth rate" in problems[0]
    assert "rural third-birth rate" in problems[1] and "natural fecundability" in problems[1]
    # 3 births a cell: a ratio within 1 + 3 sqrt(2/3) = 3.4 of the limit may be chance, five times may not
    few = rules.implausible_scales(scaled, np.full((2, 3), 3))
    assert len(few) == 1 and "rural third-birth rate" in few[0] and "above the first-birth rate" in few[0]
    assert rules.implausible_scales(replace(rates, scale=np.array([[0.05, 0.03, 0.02]] * 2)), many) == []
