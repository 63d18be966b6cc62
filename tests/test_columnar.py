"""The engines: the fast columnar model against expectations, the time step and the per-agent reference.

Statistical tests run replicates from one fixed base population (so only
the dynamics vary) with fixed seeds, and compare means with Welch's test: the
tolerance is the standard error estimated from the replicates themselves
times the t quantile, at its degrees of freedom, of the two-sided chance that
a normal falls four standard deviations out (6e-5). With few replicates the
estimated error is itself uncertain, which the t quantile allows for.
"""
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.engines import rules
from sim.engines.agents import AgentModel
from sim.engines.columnar import ColumnarModel
from sim.engines.tally import YearTally
from sim.indicators import INDICATORS
from sim.population.people import FEMALE
from sim.population.synthesis import life_tables, synthesize
from sim.scenario.schema import ByOrder
from sim.streams import replicate_seed, streams

SIZE = 10_000
Z = 4.0
FALSE_ALARM = 2 * stats.norm.sf(Z)


def with_changes(scenario, **sections):
    return scenario.model_copy(update={name: getattr(scenario, name).model_copy(update=changes)
                                       for name, changes in sections.items()})


@pytest.fixture(scope="module")
def small_base(universal):
    return synthesize(universal, np.random.default_rng(11), SIZE)


def run(scenario, synthesis, replicate, engine=ColumnarModel, seed=2016):
    model = engine(scenario, synthesis, streams(replicate_seed(seed, replicate)))
    return pd.DataFrame(model.run()).assign(replicate=replicate)


def runs(scenario, synthesis, count, engine=ColumnarModel, seed=2016):
    return pd.concat([run(scenario, synthesis, r, engine, seed) for r in range(count)])


def totals(frame):
    """Per replicate: births and deaths over the period and the final population."""
    by = frame.groupby("replicate")
    return pd.DataFrame({"births": by["births"].sum(), "deaths": by["deaths"].sum(),
                         "population_end": by["population_end"].last()})


def assert_same_mean(a, b, label):
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))  # Welch-Satterthwaite
    limit = stats.t.isf(FALSE_ALARM / 2, df)
    gap = abs(a.mean() - b.mean())
    assert gap <= limit * se, f"{label}: {a.mean():.1f} vs {b.mean():.1f} ({gap / se:.1f} se, limit {limit:.1f})"


def test_yearly_rows_carry_the_indicator_contract(universal, small_base):
    frame = run(universal, small_base, 0)
    assert list(frame["year"]) == universal.period.years
    assert set(INDICATORS) <= set(frame.columns)
    assert frame[list(INDICATORS)].notna().all().all()


def test_births_tallied_are_the_people_born(universal, small_base):
    """With no migration (the central inputs), everyone added to the population is a newborn."""
    assert universal.migration.net_migrants_per_year == 0
    model = ColumnarModel(universal, small_base, streams(replicate_seed(2016, 0)))
    frame = pd.DataFrame(model.run())
    newborns = np.arange(len(small_base.population), len(model.people))
    assert frame.births.sum() == len(newborns)
    assert frame.births_male.sum() == (model.people.sex[newborns] != FEMALE).sum()
    assert frame.births_order1.sum() == model.people.only_child[newborns].sum()  # a first birth's child is an only child


def test_population_balances_births_deaths_and_migrants_every_year(universal, small_base):
    frame = run(universal, small_base, 1)
    before = np.concatenate([[len(small_base.population)], frame.population_end.to_numpy()[:-1]])
    np.testing.assert_array_equal(frame.population_end, before + frame.births - frame.deaths + frame.net_migrants)


def test_same_seed_same_results_and_replicates_differ(universal, small_base):
    pd.testing.assert_frame_equal(run(universal, small_base, 3), run(universal, small_base, 3))
    assert not run(universal, small_base, 3).births.equals(run(universal, small_base, 4).births)


def test_mothers_conceive_only_at_childbearing_ages(universal, small_base, monkeypatch):
    ages = []
    original = ColumnarModel._births

    def recording(self, step):
        pregnant = np.flatnonzero(self.people.months_pregnant > self.rates.gestation_months)
        # her age at the start of the month she conceived in
        age_at_conception = self.people.age_months[pregnant] - self.people.months_pregnant[pregnant]
        ages.extend(age_at_conception[self.people.alive[pregnant]] / 12)
        original(self, step)

    monkeypatch.setattr(ColumnarModel, "_births", recording)
    run(universal, small_base, 5)
    ages = np.array(ages)
    assert len(ages) > 500
    assert ages.min() >= 15 and ages.max() < 50


def test_no_third_births_under_universal_two_child_without_out_of_policy_births(universal, small_base):
    keeping = with_changes(universal, behaviour={"compliance": 1.0})
    strict = run(keeping, small_base, 6)
    # pregnancies under way at the start are born in 2016; later third births would break the rules
    assert strict.query("year >= 2017").births_order3plus.sum() == 0
    usual = runs(universal, small_base, 5).query("year >= 2017").births_order3plus.sum()
    assert usual > 0  # with some non-compliance they still happen: never silently zero


def test_sex_ratio_at_birth_follows_the_birth_order(universal, monkeypatch):
    births = []
    original = YearTally.add_births

    def recording(self, age, parity, male, weight=None):
        if self.year >= universal.period.start.year:  # the base year's births are the histories', drawn sexless
            births.append((np.asarray(parity).copy(), np.asarray(male).copy()))
        original(self, age, parity, male, weight)

    monkeypatch.setattr(YearTally, "add_births", recording)
    # ratios far apart, so a model that mixed up the orders would fail
    apart = with_changes(universal, sex_ratio_at_birth={"first": 100.0, "second": 150.0, "third_plus": 200.0})
    run(apart, synthesize(apart, np.random.default_rng(3), 200_000), 0)
    parity = np.concatenate([p for p, _ in births])
    male = np.concatenate([m for _, m in births])
    srb = apart.sex_ratio_at_birth
    for order, ratio in enumerate((srb.first, srb.second, srb.third_plus)):
        boys = male[np.minimum(parity, 2) == order]
        p = ratio / (100 + ratio)
        assert boys.mean() == pytest.approx(p, abs=Z * np.sqrt(p * (1 - p) / len(boys)))


def test_first_year_deaths_match_the_life_table(universal):
    synthesis = synthesize(universal, np.random.default_rng(4), 100_000)
    pop = synthesis.population
    tables = life_tables(universal, 2016.5)
    q = np.stack([tables[FEMALE].monthly_death_probability(), tables[1 - FEMALE].monthly_death_probability()])
    p = rules.death_probability_by_age_months(q)[pop.sex, pop.age_months]
    first_year = runs(universal, synthesis, 3).query("year == 2016")
    # babies born in month m of 2016 are at risk for its last 12 - m months (at about the infant rate)
    infant = 1 - (1 - q[:, 0].mean()) ** np.arange(12)
    babies = first_year.births.to_numpy() * infant.mean()
    expected = p.sum() + babies
    sd = np.sqrt((p * (1 - p)).sum() + babies)
    deaths = first_year.deaths.to_numpy()
    assert abs((deaths - expected).mean()) <= Z * sd.mean() / np.sqrt(len(deaths))


def test_results_do_not_depend_on_the_time_step(universal, small_base):
    quarterly = with_changes(universal, period={"time_step_months": 3})
    monthly, by_quarter = totals(runs(universal, small_base, 40)), totals(runs(quarterly, small_base, 40))
    for column in monthly:
        assert_same_mean(monthly[column], by_quarter[column], column)


def test_reference_model_agrees_with_the_fast_engine(universal, small_base):
    fast = totals(runs(universal, small_base, 40))
    # enough runs that the reference's standard error is itself estimated (about 12 degrees of freedom: Welch's t
    # widens the limit to match), few enough for the agent engine's cost
    reference = totals(runs(universal, small_base, 12, engine=AgentModel, seed=99))
    for column in fast:
        assert_same_mean(fast[column], reference[column], column)


def test_the_catch_up_ends_with_its_window(universal, small_base):
    """A relaxation's backlog catches up only while its window is open; after it, its women conceive at the
    in-policy rate like anyone else (the old catch-up never ended)."""
    catch_up = universal.behaviour.catch_up.model_copy(update={"window_months": 12.0})
    scenario = with_changes(universal, behaviour={"catch_up": catch_up})
    model = ColumnarModel(scenario, small_base, streams(replicate_seed(2016, 7)))
    open_by_month = []
    while model.date < dt.date(2018, 1, 1):
        model.step()
        open_by_month.append((model.date, model.catch_up_open[-1]))
    assert len(model.backlogs) == 1 and model.backlogs[0].released.sum() > 0
    assert all(is_open == (day <= dt.date(2017, 1, 1)) for day, is_open in open_by_month)
    assert model.catch_up_ends[-1] == dt.date(2016, 1, 1) + dt.timedelta(days=round(12 * 365.25 / 12))


def test_each_orders_rates_follow_its_trend_from_the_base_date(universal, small_base):
    trend = ByOrder(first=-0.05, second=0.02, third_plus=0.0)
    model = ColumnarModel(with_changes(universal, fertility={"trend_per_year": trend}), small_base,
                       streams(replicate_seed(2016, 8)))
    calibrated = model.calibrated_scale.copy()
    factors = []
    while not model.finished:
        model.step()
        if model.date.month == 2:  # the year's rates, set when it opened
            factors.append(model.rates.scale / calibrated)
    years = np.arange(len(factors)) + 0.5  # each year's middle, from the base date
    expected = np.exp(np.array([-0.05, 0.02, 0.0])[None, :] * years[:, None])
    np.testing.assert_allclose(np.array(factors), np.broadcast_to(expected[:, None, :], (len(years), 2, 3)))
