"""The eligibility table: every kind of couple under every regime."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.engines.rules import eligible_for_next_birth, in_backlog, looks_at_couple, male_birth_probability
from sim.scenario.schema import Regime

INTERVAL = 48
R1, S2, U2, T3, NO = (Regime.one_child, Regime.selective_two_child, Regime.universal_two_child,
                      Regime.three_child, Regime.none)

# couple: married, parity, sons, rural, wife only child, husband only child, months since birth
COUPLES = {
    "married, no child yet": (True, 0, 0, False, False, False, -1),
    "unmarried, no child": (False, 0, 0, False, False, False, -1),
    "urban, one son": (True, 1, 1, False, False, False, 60),
    "urban, one daughter": (True, 1, 0, False, False, False, 60),
    "rural, one son": (True, 1, 1, True, False, False, 60),
    "rural, one daughter, interval passed": (True, 1, 0, True, False, False, INTERVAL),
    "rural, one daughter, too soon": (True, 1, 0, True, False, False, INTERVAL - 1),
    "urban, both only children": (True, 1, 1, False, True, True, 12),
    "urban, wife only child": (True, 1, 1, False, True, False, 12),
    "urban, husband only child": (True, 1, 0, False, False, True, 12),
    "urban, two children, both only children": (True, 2, 1, False, True, True, 12),
    "rural, two daughters": (True, 2, 0, True, False, False, 60),
    "three children": (True, 3, 1, True, False, False, 60),
    "unmarried, one child": (False, 1, 0, True, True, True, 60),
}
# regimes in which each couple's next birth is within the rules
ALLOWED = {
    "married, no child yet": {R1, S2, U2, T3, NO},
    "unmarried, no child": set(),
    "urban, one son": {U2, T3, NO},
    "urban, one daughter": {U2, T3, NO},
    "rural, one son": {U2, T3, NO},
    "rural, one daughter, interval passed": {R1, S2, U2, T3, NO},
    "rural, one daughter, too soon": {U2, T3, NO},
    "urban, both only children": {R1, S2, U2, T3, NO},
    "urban, wife only child": {S2, U2, T3, NO},
    "urban, husband only child": {S2, U2, T3, NO},
    "urban, two children, both only children": {T3, NO},
    "rural, two daughters": {T3, NO},
    "three children": {NO},
    "unmarried, one child": set(),
}


def _columns(couples):
    names = ("married", "parity", "sons", "rural", "wife_only_child", "husband_only_child", "months_since_birth")
    return {name: np.array(values) for name, values in zip(names, zip(*couples))}


@pytest.mark.parametrize("regime", list(Regime))
def test_eligibility_table(regime):
    result = eligible_for_next_birth(regime, **_columns(COUPLES.values()), rural_daughter_min_interval_months=INTERVAL)
    expected = [regime in ALLOWED[name] for name in COUPLES]
    assert dict(zip(COUPLES, result.tolist())) == dict(zip(COUPLES, expected))


@pytest.mark.parametrize("regime", list(Regime))
def test_rules_that_look_past_parity_say_so_and_need_the_couple(regime):
    """Engines gather a couple's details only for rules that `looks_at_couple`; the others do without them."""
    columns = _columns(COUPLES.values())
    bare = {name: columns[name] for name in ("married", "parity")}
    if looks_at_couple(regime):
        with pytest.raises(ValueError, match="need each couple"):
            eligible_for_next_birth(regime, **bare, rural_daughter_min_interval_months=INTERVAL)
    else:
        np.testing.assert_array_equal(
            eligible_for_next_birth(regime, **bare, rural_daughter_min_interval_months=INTERVAL),
            eligible_for_next_birth(regime, **columns, rural_daughter_min_interval_months=INTERVAL))


couple = st.tuples(st.booleans(), st.integers(0, 5), st.integers(0, 5), st.booleans(), st.booleans(),
                   st.booleans(), st.integers(-1, 200))


@given(st.lists(couple, min_size=1, max_size=30))
def test_regimes_are_nested_from_strictest_to_none(couples):
    couples = [(m, p, min(s, p), r, w, h, t) for m, p, s, r, w, h, t in couples]
    allowed = [eligible_for_next_birth(regime, **_columns(couples), rural_daughter_min_interval_months=INTERVAL)
               for regime in (R1, S2, U2, T3, NO)]
    for stricter, looser in zip(allowed, allowed[1:]):
        assert np.all(looser >= stricter)


def test_sex_ratio_at_birth_by_order():
    p = male_birth_probability(np.array([0, 1, 2, 5]), (120.0, 128.0, 178.0))
    assert p == pytest.approx([120 / 220, 128 / 228, 178 / 278, 178 / 278])


# couple, months since the last birth, wants the next, pregnant: whether selective -> universal releases her
BACKLOG = {
    "urban, one son, child five years old, wants a second": (COUPLES["urban, one son"], 60, True, False, True),
    "the same, child a few months old (would not have had the next yet)": (COUPLES["urban, one son"], 8, True, False,
                                                                         False),
    "the same, does not want a second": (COUPLES["urban, one son"], 60, False, False, False),
    "the same, pregnant already": (COUPLES["urban, one son"], 60, True, True, False),
    "rural, one son, child three years old": (COUPLES["rural, one son"], 36, True, False, True),
    "rural, one daughter, waiting out the interval (allowed soon anyway)": (
        COUPLES["rural, one daughter, too soon"], 30, True, False, False),
    "rural, one daughter, interval passed (allowed already)": (
        COUPLES["rural, one daughter, interval passed"], 60, True, False, False),
    "urban, wife only child (allowed since 2014)": (COUPLES["urban, wife only child"], 60, True, False, False),
    "no child yet (always allowed)": (COUPLES["married, no child yet"], -1, True, False, False),
    "two children (universal two-child allows no third)": (COUPLES["rural, two daughters"], 60, True, False, False),
}


def test_the_backlog_a_relaxation_releases_is_the_wish_the_old_rules_blocked():
    names = list(BACKLOG)
    couples = _columns([BACKLOG[name][0] for name in names])
    couples["months_since_birth"] = np.array([BACKLOG[name][1] for name in names])
    released = in_backlog(U2, S2, wants=np.array([BACKLOG[name][2] for name in names]),
                          pregnant=np.array([BACKLOG[name][3] for name in names]), min_months_since_birth=24,
                          rural_daughter_min_interval_months=INTERVAL, **couples)
    assert dict(zip(names, released.tolist())) == {name: BACKLOG[name][4] for name in names}


def test_a_tightening_releases_nobody():
    couples = _columns(COUPLES.values())
    assert not in_backlog(R1, NO, wants=np.ones(len(COUPLES), bool), pregnant=np.zeros(len(COUPLES), bool),
                          min_months_since_birth=0, rural_daughter_min_interval_months=INTERVAL, **couples).any()
