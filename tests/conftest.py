from pathlib import Path

import numpy as np
import pytest

from sim.population.synthesis import synthesize
from sim.scenario.inputs import realize
from sim.scenario.loading import load_scenario

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "scenarios" / "heshan_2015_base.yaml"
UNIVERSAL = ROOT / "scenarios" / "heshan_universal_two_child.yaml"


@pytest.fixture(scope="session")
def base_scenario():
    """The base scenario with every uncertain input at its central value."""
    return realize(load_scenario(BASE))[0]


@pytest.fixture(scope="session")
def base_synthesis(base_scenario):
    """The full-scale base population (about 880,000 people), built once per test session."""
    return synthesize(base_scenario, np.random.default_rng(base_scenario.ensemble.seed))


@pytest.fixture(scope="session")
def universal():
    """The main scenario (universal two-child from 2016) with every uncertain input at its central value."""
    return realize(load_scenario(UNIVERSAL))[0]
