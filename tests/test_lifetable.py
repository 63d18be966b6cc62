import numpy as np
import pytest

from sim.population.lifetable import infant_mortality_by_sex, life_expectancy, life_table


@pytest.mark.parametrize("e0, q0", [(72.38, 0.0151), (77.37, 0.0126), (65.0, 0.05)])
def test_fitted_table_reproduces_life_expectancy_and_infant_mortality(e0, q0):
    table = life_table(e0, q0)
    assert table.e0 == pytest.approx(e0, abs=1e-6)
    assert table.qx[0] == pytest.approx(q0, abs=1e-9)


def test_improvement_adds_the_gain_to_life_expectancy_and_lowers_every_death_rate():
    before, after = life_table(77.37, 0.0126), life_table(77.37, 0.0126, e0_gain=1.5)
    assert after.e0 == pytest.approx(78.87, abs=1e-6)
    assert np.all(after.qx[:-1] < before.qx[:-1])


def test_death_rates_rise_with_age_after_childhood_and_the_table_closes():
    qx = life_table(72.38, 0.0151).qx
    assert np.all(np.diff(qx[10:]) > 0)
    assert qx[-1] == 1.0 and qx[0] > qx[1]


def test_monthly_probabilities_compound_to_the_annual_one():
    table = life_table(72.38, 0.0151)
    assert np.allclose(1 - (1 - table.monthly_death_probability()) ** 12, table.qx)


def test_life_expectancy_of_a_table_with_no_deaths_is_the_whole_age_span():
    assert life_expectancy(np.ones(111)) == pytest.approx(111)


def test_sex_split_of_infant_mortality_keeps_the_both_sexes_rate():
    male, female = infant_mortality_by_sex(0.01393)
    assert male / female == pytest.approx(1.2)
    assert 0.54 * male + 0.46 * female == pytest.approx(0.01393)


def test_a_regions_offset_moves_both_sexes_life_expectancy_by_it_in_the_reference_year():
    from sim.population.people import FEMALE, MALE
    from sim.population.synthesis import life_tables_by_year
    from sim.scenario.inputs import realize
    from sim.scenario.loading import load_scenario
    from tests.conftest import ROOT

    scenario, _ = realize(load_scenario(ROOT / "scenarios" / "hunan_2010_base.yaml"))
    year = scenario.mortality.reference_year
    (plain,) = life_tables_by_year(scenario, [year])
    (moved,) = life_tables_by_year(scenario.with_values({"mortality.e0_offset_years": 1.5}), [year])
    for sex in (FEMALE, MALE):
        assert moved[sex].e0 - plain[sex].e0 == pytest.approx(1.5, abs=1e-6)
        assert (moved[sex].qx <= plain[sex].qx).all()
