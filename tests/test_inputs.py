"""Uncertain inputs: central values, reproducible draws, and one named stream per input."""
import numpy as np

from sim.scenario.distributions import central
from sim.scenario.inputs import realize
from sim.scenario.loading import load_scenario
from tests.conftest import BASE


def test_without_a_seed_every_input_takes_its_mean():
    scenario = load_scenario(BASE)
    realized, drawn = realize(scenario)
    assert realized.behaviour.compliance == central(scenario.behaviour.compliance)
    assert drawn["behaviour.compliance"] == realized.behaviour.compliance


def test_the_same_seed_draws_the_same_inputs_and_another_seed_others():
    scenario = load_scenario(BASE)
    first, again, other = (realize(scenario, np.random.SeedSequence(seed))[1] for seed in (1, 1, 2))
    assert first == again
    assert all(first[path] != other[path] for path in first)


def test_fixing_one_input_leaves_the_draws_of_the_others_unchanged():
    """Each input has its own stream, so variants that fix or add inputs stay paired on the rest."""
    scenario = load_scenario(BASE)
    behaviour = scenario.behaviour.model_copy(update={"compliance": 0.9})
    fixed = scenario.model_copy(update={"behaviour": behaviour})
    seed = np.random.SeedSequence(7)
    drawn, drawn_fixed = realize(scenario, seed)[1], realize(fixed, seed)[1]
    assert set(drawn) - set(drawn_fixed) == {"behaviour.compliance"}
    assert {path: drawn[path] for path in drawn_fixed} == drawn_fixed
