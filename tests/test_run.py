"""One replicate (sim.run)."""
import numpy as np

from sim.distributions import central
from sim.loading import load_scenario
from sim.run import run_replicate
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
