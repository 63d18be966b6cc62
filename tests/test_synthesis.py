"""The synthetic Heshan 2015 population against the plan's figures and the 2010 census."""
import numpy as np
import pytest

from sim.population.histories import census_order_ratios
from sim.population.people import FEMALE, MALE, MARRIED, NO_BIRTH, SINGLE
from sim.population.structure import age_structure, married_women_15_49, population_summary
from sim.population.synthesis import age_factors, age_sex_counts, synthesize


def test_reproduces_the_plans_age_shares_within_0_2_points(base_synthesis, base_scenario):
    shares = age_structure(base_synthesis.population)
    assert shares["share_65plus"] == pytest.approx(base_scenario.population.calibration.share_65plus, abs=0.002)
    assert shares["share_15_64"] == pytest.approx(base_scenario.population.calibration.share_15_64, abs=0.002)


def test_reproduces_the_plans_married_women_within_1_percent(base_synthesis):
    # the count is a sum of ~230,000 Bernoulli draws (sd ~ 200) calibrated on a
    # 140,000-woman sample (sd ~ 300): 1% is 1,650, over four combined sds
    assert married_women_15_49(base_synthesis.population) == pytest.approx(165_000, rel=0.01)


def test_size_is_the_scenario_base_size(base_synthesis, base_scenario):
    assert len(base_synthesis.population) == round(base_scenario.population.size)


def test_histories_give_the_census_years_births_of_each_order_per_first_birth(base_synthesis, base_scenario):
    """The levels of second and third births are solved to the census year's ratios to first births; a
    realized count is off its expectation by its Poisson error at most (four of them here)."""
    ratios = census_order_ratios(base_scenario)
    births = base_synthesis.births_census_year
    for res in (0, 1):
        for order in (1, 2):
            expected = ratios[res, order] * births[res, 0]
            assert abs(births[res, order] - expected) <= 4 * np.sqrt(expected)


def test_the_2014_relaxation_raised_second_births_in_the_base_year(base_synthesis):
    """Not fitted: the selective two-child rules released a backlog, so the base year has more second births per
    first birth than the census year had (nationally, second births went from 31% to 40% of births)."""
    before, after = (births[:, 1] / births[:, 0] for births in (base_synthesis.births_census_year,
                                                                  base_synthesis.births_last_year))
    assert np.all(after > before)


def test_parity_and_birth_timing_agree(base_synthesis):
    pop = base_synthesis.population
    women, men = pop.sex == FEMALE, pop.sex == MALE
    assert np.all(pop.parity[men] == 0) and np.all(pop.sons <= pop.parity)
    assert np.all((pop.months_since_birth == NO_BIRTH) == (pop.parity == 0))
    mothers = women & (pop.parity > 0)
    assert np.all(pop.months_since_birth[mothers] <= pop.age_months[mothers] - 12 * 15)
    pregnant = pop.months_pregnant > 0
    assert np.all(women[pregnant]) and np.all(pop.months_pregnant <= 9)
    assert np.all(pop.marital[pregnant & (pop.parity == 0)] != SINGLE)


def test_pregnancies_in_progress_match_the_scenarios_birth_rate(base_synthesis, base_scenario):
    pop = base_synthesis.population
    # the history's pregnancies are thinned to the scenario's births a year; spread evenly over the year, the
    # 9 months of conceptions already made hold about 9/12 of them (Poisson sd ~ 90; the 6% allows the
    # history's own month-to-month changes, such as the end of the 2014 catch-up)
    expected = base_scenario.population.births_per_year * 9 / 12
    assert (pop.months_pregnant > 0).sum() == pytest.approx(expected, rel=0.06)


def test_every_married_woman_has_a_husband_of_her_residence(base_synthesis, base_scenario):
    pop = base_synthesis.population
    wives = np.flatnonzero((pop.sex == FEMALE) & (pop.marital == MARRIED))
    husbands = pop.spouse[wives]
    assert np.all(husbands >= 0) and len(np.unique(husbands)) == len(wives)
    assert np.all(pop.sex[husbands] == MALE) and np.all(pop.marital[husbands] == MARRIED)
    assert np.all(pop.spouse[husbands] == wives)
    assert np.all(pop.residence[husbands] == pop.residence[wives])
    gap = (pop.age_months[husbands] - pop.age_months[wives]).mean() / 12
    # floor() of the wanted age and overflow to older men shift the mean a little
    assert gap == pytest.approx(base_scenario.marriage.husband_age_gap_mean_years, abs=0.5)
    assert ((pop.sex == MALE) & (pop.marital == MARRIED)).sum() == len(wives)


def test_counts_are_exact_and_keep_the_broad_groups(base_scenario, base_synthesis):
    counts = age_sex_counts(base_scenario, 881_800, base_synthesis.age_factors)
    assert counts.sum() == 881_800 and counts.dtype.kind == "i"
    assert counts[:, 65:].sum() / 881_800 == pytest.approx(0.118, abs=1e-5)
    assert counts[:, 15:65].sum() / 881_800 == pytest.approx(0.7289, abs=1e-5)


def test_age_reweighting_meets_both_margins_with_the_least_distortion():
    """Among reweightings of ages 15-64 that keep their total and meet the married women, the one chosen is the
    closest to the census shape (least relative entropy): log factors affine in each age's married content."""
    rng = np.random.default_rng(5)
    shaped = rng.uniform(4000, 6000, (2, 101))
    married_share = np.clip(np.linspace(-0.3, 1.2, 35), 0, 0.98)
    people = shaped[:, 15:65].sum(axis=0)
    content = np.concatenate([shaped[FEMALE, 15:50] * married_share / people[:35], np.zeros(15)])
    target = 0.9 * people @ content
    factors = age_factors(shaped, married_share, target)
    x = factors[15:65]
    assert np.all(factors[:15] == 1) and np.all(factors[65:] == 1)
    assert people @ x == pytest.approx(people.sum(), rel=1e-12)
    assert people @ (content * x) == pytest.approx(target, rel=1e-9)
    slope, intercept = np.polyfit(content, np.log(x), 1)
    np.testing.assert_allclose(np.log(x), intercept + slope * content, atol=1e-9)

    def entropy(y):
        return float(people @ (y * np.log(y)) / people.sum())
    # any other reweighting with the same margins (here: the old flat factor on 15-49, 50-64 taking up the rest)
    flat = np.ones(50)
    flat[:35] = target / (people[:35] @ content[:35])
    flat[35:] = (people.sum() - people[:35] @ flat[:35]) / people[35:].sum()
    assert people @ (content * flat) == pytest.approx(target) and people @ flat == pytest.approx(people.sum())
    assert entropy(x) < entropy(flat)


def test_no_age_band_takes_the_whole_adjustment(base_synthesis, base_scenario):
    """The old rule scaled ages 15-49 by one factor f meeting the married women and ages 50-64 by whatever kept
    the 15-64 share; worked out here on the same census shape and married shares, its largest change of a band
    (50-64's) is larger than any band's under the least distorting rule, which spreads it."""
    pop = base_synthesis.population
    shape = age_sex_counts(base_scenario, len(pop)).astype(float)
    ages = pop.age_months // 12
    women = np.bincount(ages[pop.sex == FEMALE], minlength=50)[15:50]
    married = np.bincount(ages[(pop.sex == FEMALE) & (pop.marital == MARRIED)], minlength=50)[15:50]
    flat = base_scenario.population.calibration.married_women_15_49 / (shape[FEMALE, 15:50] @ (married / women))
    take_up = 1 + (1 - flat) * shape[:, 15:50].sum() / shape[:, 50:65].sum()
    bands = [base_synthesis.age_factors[low: low + 5].mean() for low in range(15, 65, 5)]
    assert np.abs(np.log(bands)).max() < max(abs(np.log(flat)), np.log(take_up))


def test_a_small_population_keeps_the_structure(base_scenario):
    pop = synthesize(base_scenario, np.random.default_rng(3), size=20_000).population
    shares = age_structure(pop)
    assert len(pop) == 20_000
    assert shares["share_65plus"] == pytest.approx(0.118, abs=0.002)
    # the married-women target scales to 3,748; binomial sd ~ 30 plus calibration ~ 7
    assert married_women_15_49(pop) == pytest.approx(165_000 * 20_000 / base_scenario.population.size, rel=0.04)


def test_the_same_seed_gives_the_same_people(base_scenario):
    a, b, c = (synthesize(base_scenario, np.random.default_rng(seed), size=5_000).population for seed in (1, 1, 2))
    assert all(np.array_equal(x, y) for (_, x), (_, y) in zip(a.columns(), b.columns()))
    assert not np.array_equal(a.parity, c.parity)


def test_summary_reports_parity_by_age_group(base_synthesis):
    summary = population_summary(base_synthesis.population)
    table = summary["women_15_49_by_parity"]
    assert list(table) == ["15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49"]
    assert table["15-19"]["0"] > 0.9 * sum(table["15-19"].values())
    assert table["40-44"]["0"] < 0.1 * sum(table["40-44"].values())
