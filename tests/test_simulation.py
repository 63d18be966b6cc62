"""One replicate (sim.simulation)."""
import dataclasses

import numpy as np
import pytest

from sim.engines.columnar import ColumnarModel
from sim.errors import ImplausibleInputs
from sim.indicators import COUNTS, INDICATORS
from sim.population.synthesis import scaled, synthesize
from sim.results.runs import people_per_agent
from sim.scenario.distributions import central
from sim.scenario.inputs import realize
from sim.scenario.loading import load_scenario
from sim.simulation import MAX_INPUT_DRAWS, _plausible_draw, run_replicate
from sim.streams import replicate_seed, stream_seed, streams
from tests.conftest import UNIVERSAL


def test_quick_runs_simulate_the_same_fraction_of_each_drawn_district_and_count_in_people():
    """With --population-size N each replicate starts from N agents per central-size district, each standing
    for central size / N people, so every replicate's counts are in people of the district it drew."""
    scenario = load_scenario(UNIVERSAL)  # the base size drawn per replicate
    scale = people_per_agent(scenario, 3000)
    assert scale == pytest.approx(central(scenario.population.size) / 3000)
    replicates = [run_replicate(scenario, 7, number, population_size=3000) for number in range(4)]
    drawn = np.array([r.inputs["population.size"] for r in replicates])
    base = np.array([r.pyramids[r.pyramids.year == r.pyramids.year.min()].people.sum() for r in replicates])
    assert np.ptp(drawn) > 5000  # the draws differ, and so must the simulated sizes
    np.testing.assert_allclose(base, drawn, rtol=1e-9)  # the agents, scaled back, are the drawn district
    # agents: about N per central district, in proportion to the size drawn (replicates that kept their first draw)
    kept = [n for n, r in enumerate(replicates) if r.redraws == 0]
    agents = [len(scaled(realize(scenario, stream_seed(replicate_seed(7, n), "inputs"))[0],
                         streams(replicate_seed(7, n))["synthesis"], scale).population) for n in kept]
    assert len(kept) >= 2
    np.testing.assert_allclose(agents, drawn[kept] / scale, atol=1)


def test_counts_scale_back_and_rates_do_not(universal):
    """The same agents run as themselves and as standing for 10 people each: counts ten times, rates alike."""
    synthesis = synthesize(universal, np.random.default_rng(2), 5000)
    one, ten = (ColumnarModel(universal, dataclasses.replace(synthesis, people_per_agent=s),
                              streams(replicate_seed(1, 0))).run() for s in (1.0, 10.0))
    for plain, scaled_up in zip(one, ten):
        for name in INDICATORS:
            factor = 10.0 if name in COUNTS else 1.0
            assert scaled_up[name] == pytest.approx(plain[name] * factor, nan_ok=True), name


def compliance_scenario(tmp_path, compliance: str):
    path = tmp_path / "compliance.yaml"
    path.write_text(f"extends: {UNIVERSAL}\nbehaviour:\n  compliance: {compliance}\n")
    return load_scenario(path)


def test_a_scenario_whose_calibration_is_implausible_is_refused_naming_its_inputs(tmp_path):
    """The old prior's compliance of 0.85 leaves so few births outside the rules that the census year's second
    and third births would need in-policy rates above the first-birth rate: refused, not run."""
    scenario = compliance_scenario(tmp_path, "0.85")
    with pytest.raises(ImplausibleInputs) as refused:
        run_replicate(scenario, 7, 0, population_size=20_000, central_inputs=True)
    message = str(refused.value)
    assert "above the first-birth rate" in message and "behaviour.compliance" in message


def test_implausible_draws_are_drawn_again_so_every_replicate_runs_plausible_inputs(tmp_path):
    """A prior reaching into implausible compliance: a replicate whose first draw is implausible (its model
    names problems) runs a later draw that is not, and says how many it set aside."""
    scenario = compliance_scenario(tmp_path, "{dist: uniform, low: 0.0, high: 0.95}")
    scale = people_per_agent(scenario, 20_000)
    redrawn = 0
    for number in range(8):
        realized, drawn, redraws, model = _plausible_draw(scenario, 11, number, "fast", scale, False, MAX_INPUT_DRAWS)
        assert model.problems == [] and run_replicate(scenario, 11, number, population_size=20_000).redraws == redraws
        if redraws:
            redrawn += 1
            first, _ = realize(scenario, stream_seed(replicate_seed(11, number), "inputs"))
            random_streams = streams(replicate_seed(11, number))
            synthesis = scaled(first, random_streams["synthesis"], scale)
            assert ColumnarModel(first, synthesis, random_streams).problems  # the draw set aside was implausible
            assert drawn["behaviour.compliance"] != first.behaviour.compliance
    assert redrawn > 0


def test_the_base_year_row_is_what_the_run_starts_from(universal):
    """The base year's births are the scenario's level, split by order as the histories drew them; its TFR by
    order adds up; its population and age shares are the base pyramid's; what a base cannot tell is blank."""
    replicate = run_replicate(universal, 3, 0, population_size=3000)
    (base,) = replicate.base.to_dict(orient="records")
    assert base["year"] == universal.period.start.year - 1 == replicate.yearly["year"].min() - 1
    births_per_year = replicate.inputs.get("population.births_per_year", central(universal.population.births_per_year))
    assert base["births"] == pytest.approx(births_per_year, rel=1e-9)
    assert base["births_order1"] + base["births_order2"] + base["births_order3plus"] == pytest.approx(base["births"])
    assert base["tfr"] == pytest.approx(base["tfr_order1"] + base["tfr_order2"] + base["tfr_order3plus"])
    pyramid = replicate.pyramids[replicate.pyramids["year"] == base["year"]]
    assert base["population_end"] == pytest.approx(pyramid["people"].sum())
    assert base["natural_growth_permille"] == pytest.approx(base["birth_rate_permille"] - base["death_rate_permille"])
    assert all(np.isnan(base[name]) for name in ("births_male", "births_female", "srb", "net_migrants"))
