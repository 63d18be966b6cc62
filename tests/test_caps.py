"""The caps of a scenario's targets and the headline outcomes each is judged by."""
import pandas as pd
import pytest

from sim.results.caps import CAP_KINDS, caps_of, exceeding, headline_outcomes
from sim.scenario.schema import Targets


def targets(population_year: int, growth_years: tuple[int, int], population_limit: int = 100,
            growth_limit: float = 8.5) -> Targets:
    return Targets(population={"limit": population_limit, "year": population_year},
                   natural_growth={"limit_permille": growth_limit, "first_year": growth_years[0],
                                   "last_year": growth_years[1]})


def _replicates(rows: dict[int, dict[str, list[float]]], years: list[int]) -> pd.DataFrame:
    return pd.DataFrame([{"replicate": r, "year": year, **{name: values[i] for name, values in columns.items()}}
                         for r, columns in rows.items() for i, year in enumerate(years)])


def test_the_targets_decide_the_caps():
    caps = caps_of(targets(2020, (2016, 2020), population_limit=920000))
    assert [cap.name for cap in caps] == list(CAP_KINDS)
    population, growth = caps
    assert population.limit == 920000 and population.section == {"limit": 920000, "year": 2020}
    assert growth.limit == 8.5 and growth.section == {"limit_permille": 8.5, "years": [2016, 2020]}
    assert [m.key for m in population.measures] == ["p_exceed_final", "p_exceed_any_year"]
    # comparison.csv names each probability as summary.json does below caps
    assert population.headline.column == "population.p_exceed_final"
    assert growth.headline.column == "natural_growth.p_exceed_mean"


def test_headline_outcomes_take_the_cap_windows():
    years = [2015, 2016, 2017, 2018]
    table = _replicates({
        0: {"population_end": [10, 30, 20, 99], "natural_growth_permille": [50, 1, 2, 3]},
        1: {"population_end": [5, 6, 7, 8], "natural_growth_permille": [0, 4, 4, 40]},
    }, years)
    outcomes = headline_outcomes(table, caps_of(targets(2017, (2016, 2017))))
    expected = pd.DataFrame({"population_final": [20, 7], "population_max": [30, 7],
                             "natural_growth_mean": [1.5, 4.0], "natural_growth_max": [2, 4]},
                            index=pd.Index([0, 1], name="replicate"))
    pd.testing.assert_frame_equal(outcomes, expected, check_dtype=False, check_names=False)


def test_headline_outcomes_refuse_a_missing_cap_year():
    table = _replicates({0: {"population_end": [1, 2], "natural_growth_permille": [1, 2]}}, [2016, 2017])
    with pytest.raises(ValueError, match="2018"):
        headline_outcomes(table, caps_of(targets(2018, (2016, 2017))))




def test_exceeding_is_strictly_above_the_limit():
    outcomes = pd.DataFrame({"population_final": [99, 100, 101], "population_max": [100, 101, 101],
                             "natural_growth_mean": [8.5, 8.6, 8.4], "natural_growth_max": [8.5, 9, 9]})
    flags = exceeding(outcomes, caps_of(targets(2020, (2016, 2020))))
    assert flags.to_dict("list") == {"population.p_exceed_final": [False, False, True],
                                     "population.p_exceed_any_year": [False, True, True],
                                     "natural_growth.p_exceed_mean": [False, True, False],
                                     "natural_growth.p_exceed_any_year": [False, True, True]}
