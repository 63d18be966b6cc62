"""One replicate (sim.simulation)."""
import numpy as np
import pytest

from sim.engines.columnar import ColumnarModel
from sim.errors import ImplausibleInputs
from sim.population.synthesis import synthesize
from sim.results.runs import population_fraction
from sim.scenario.distributions import central
from sim.scenario.inputs import realize
from sim.scenario.loading import load_scenario
from sim.simulation import _plausible_draw, run_replicate
from sim.streams import replicate_seed, stream_seed, streams
from tests.conftest import UNIVERSAL


def test_quick_runs_simulate_the_same_fraction_of_each_drawn_district():
    """With --population-size N each replicate starts from N people per central-size district, so the
    population cap rescaled by N / central size is exact for every replicate, whatever size it drew."""
    scenario = load_scenario(UNIVERSAL)  # the base size drawn per replicate
    fraction = 3000 / central(scenario.population.size)
    replicates = [run_replicate(scenario, 7, number, population_size=3000) for number in range(4)]
    drawn = np.array([r.inputs["population.size"] for r in replicates])
    base = np.array([r.pyramids[r.pyramids.year == r.pyramids.year.min()].people.sum() for r in replicates])
    assert np.ptp(drawn) > 5000  # the draws differ, and so must the simulated sizes
    np.testing.assert_allclose(base, fraction * drawn, atol=1)  # to a whole person


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
    fraction = population_fraction(scenario, 20_000)
    redrawn = 0
    for number in range(8):
        realized, drawn, redraws, model = _plausible_draw(scenario, 11, number, "fast", fraction, False)
        assert model.problems == [] and run_replicate(scenario, 11, number, population_size=20_000).redraws == redraws
        if redraws:
            redrawn += 1
            first, _ = realize(scenario, stream_seed(replicate_seed(11, number), "inputs"))
            random_streams = streams(replicate_seed(11, number))
            synthesis = synthesize(first, random_streams["synthesis"], fraction * first.population.size)
            assert ColumnarModel(first, synthesis, random_streams).problems  # the draw set aside was implausible
            assert drawn["behaviour.compliance"] != first.behaviour.compliance
    assert redrawn > 0
