"""The base population's later births, drawn with the engines' rules over the past (sim.population.histories)."""
import datetime as dt

import numpy as np
import pytest

from sim.engines import rules
from sim.population import histories
from sim.population.histories import Candidates, Exposure, Past, exposure, months_free_to_act
from sim.scenario.schema import Regime


@pytest.fixture(scope="module")
def rates(base_synthesis):
    return base_synthesis.history.rates


@pytest.fixture(scope="module")
def past(base_scenario, base_synthesis):
    return Past.of(base_scenario, base_synthesis.base_date)


def candidates(rates, **columns) -> Candidates:
    """Mothers of one child, 30 at the base date, rural, first child a son, neither an only child (and, as all
    candidates, wanting a second); `columns` changes any of that (arrays of one length)."""
    n = len(next(iter(columns.values())))
    full = dict(age_years=np.full(n, 30.0), residence=np.ones(n, int), sons=np.ones(n, int),
                wife_only_child=np.zeros(n, bool), husband_only_child=np.zeros(n, bool),
                last_birth=np.full(n, -60.0))
    full.update(columns)
    return Candidates(parity=1, **full)


def test_one_child_mothers_want_a_second_as_the_inputs_and_their_progression_imply(base_synthesis, base_scenario):
    """Those who had a second child wanted one, and the wish was drawn before the history: so of the one-child
    mothers of a band with second-birth share P, (w - P) / (1 - P) wanted a second. With W ~ Bin(M, w) wishes
    among M mothers, the measured share is off that by (W - M w) / (M - S): sd sqrt(M w (1 - w)) / (M - S)."""
    table = base_synthesis.history.second_child_wishes()
    wish = base_scenario.behaviour.second_child_intention
    checked = 0
    for row in table.itertuples():
        mothers, second, one = row.mothers, row.second_child, row.one_child
        if one < 100:
            continue
        w = getattr(wish, row.residence)
        w = round(w * rules.GAVE_UP) / rules.GAVE_UP  # ranks are whole
        implied = (w - second / mothers) / (1 - second / mothers)
        error = np.sqrt(mothers * w * (1 - w)) / one
        assert abs(row.one_child_wanted / one - implied) <= 4 * error, row
        checked += 1
    assert checked >= 8
    # and it falls with the years free to act on it: fewer of those allowed for a decade still wait than of those
    # never allowed, by more than four standard errors of the difference of the two shares
    for residence in ("urban", "rural"):
        bands = table[table.residence == residence]
        never, decade = (bands.iloc[i].one_child_wanting / bands.iloc[i].one_child for i in (0, -1))
        error = np.sqrt(never * (1 - never) / bands.iloc[0].one_child + decade * (1 - decade) / bands.iloc[-1].one_child)
        assert decade < never - 4 * error


def test_at_the_base_date_the_history_runs_at_the_engines_rate(rates, past):
    """The seam: a woman's relative rate on the last piece of her past is the one the engines give her on the
    base date (the selective rules, her interval, her wish, an open catch-up window)."""
    months = np.tile([10.0, 30.0, 47.5, 60.0, 200.0], 40)  # past the postpartum months, before and after 2014
    n = len(months)
    women = candidates(rates, sons=np.arange(n) % 2, residence=(np.arange(n) // 2) % 2, last_birth=-months,
                       age_years=np.full(n, 30.5), wife_only_child=np.arange(n) % 3 == 0,
                       husband_only_child=np.arange(n) % 7 == 0)
    drawn = exposure(women, rates, past, np.random.default_rng(0))
    last = drawn.rate[np.arange(n), (drawn.times < 0).sum(axis=1) - 1]
    couple = women.couple(np.arange(n), np.floor(months).astype(int), rates)
    eligible = rules.eligible_for_next_birth(Regime.selective_two_child, **couple)
    open_windows = np.array([False, *(0.0 < when + past.window_months for when, _, _ in past.changes)])
    wants = ~np.isfinite(drawn.gave_up)  # a wish given up at 2014 is gone
    engine = rules.relative_conception_rate(rates, age_years=np.floor(women.age_years).astype(int), wants=wants,
                                            eligible=eligible, catching_up=open_windows[drawn.catch_up])
    np.testing.assert_allclose(last, engine)
    assert len(np.unique(engine)) >= 4  # in and out of the rules, catching up, given up


def test_conception_times_invert_the_cumulative_hazard(rates, past):
    """Drawn conceptions fall in a span as often as exp(-k C(a)) - exp(-k C(b)) says, within binomial error."""
    n = 40_000
    women = candidates(rates, last_birth=np.full(n, -120.0), age_years=np.full(n, 32.0))
    drawn = exposure(women, rates, past, np.random.default_rng(1))
    level = 0.03
    when = drawn.draw(np.full(n, level), np.random.default_rng(2))
    for start, end in ((-114.0, -90.0), (-90.0, -30.0), (-30.0, 0.0)):
        p = float(np.exp(-level * drawn.at(start)[0]) - np.exp(-level * drawn.at(end)[0]))
        share = np.mean((when >= start) & (when < end))
        assert share == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / n))


def test_years_free_to_act_follow_the_rules_of_the_past(rates, past, base_synthesis):
    """A rural mother of a daughter was free from the interval on; of a son, never until 2014 (and only if a
    spouse is an only child); a couple of only children from the postpartum months on."""
    women = candidates(rates, last_birth=np.full(4, -120.0), sons=np.array([0, 1, 1, 1]),
                       wife_only_child=np.array([False, False, True, True]),
                       husband_only_child=np.array([False, False, False, True]))
    free = months_free_to_act(women, rates, past)
    selective = -histories.months_between(dt.date(2014, 3, 28), base_synthesis.base_date)
    np.testing.assert_allclose(free, [120 - rates.rural_daughter_min_interval_months, 0, selective,
                                      120 - rates.postpartum_months], atol=1e-9)


def test_a_relaxation_releases_its_backlog_and_some_give_their_wish_up(rates, past):
    """At the 2014 change, wanting mothers the old rules never allowed (an only child in the couple, the child
    past the interval they would have waited anyway) are the backlog: the acting share act, the rest give up."""
    n = 20_000
    women = candidates(rates, last_birth=np.full(n, -60.0), wife_only_child=np.ones(n, bool),
                       age_years=np.full(n, 28.0))
    drawn = exposure(women, rates, past, np.random.default_rng(3))
    when = past.changes[-1][0]
    gave_up = np.isfinite(drawn.gave_up)
    assert np.all(drawn.gave_up[gave_up] == when)
    share = rates.catch_up_acting_share
    assert 1 - gave_up.mean() == pytest.approx(share, abs=4 * np.sqrt(share * (1 - share) / n))
    # a child too young at the change: not in the backlog, so nobody gives up
    recent = candidates(rates, last_birth=np.full(n, when - rates.catch_up_min_months_since_birth + 2),
                        wife_only_child=np.ones(n, bool))
    assert not np.isfinite(exposure(recent, rates, past, np.random.default_rng(3)).gave_up).any()


def test_an_exposure_of_nobody_at_risk_conceives_nothing():
    times = np.zeros((3, 4))
    empty = Exposure(times, np.zeros((3, 3)), np.zeros((3, 4)), np.zeros(3, np.int8), np.full(3, np.inf))
    assert np.isnan(empty.draw(np.full(3, 0.05), np.random.default_rng(0))).all()
