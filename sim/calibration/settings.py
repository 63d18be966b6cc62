"""What decides a calibration's posterior (apart from pyabc, whose import is heavy)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CalibrationSettings:
    """What decides a calibration's posterior (the cores it runs on do not)."""

    seed: int
    particles: int = 200  # accepted particles in each generation
    generations: int = 5
    population_size: int = 20_000  # agents of each simulation
    predictive_replicates: int = 200  # replicates drawn from the posterior for its predictive check
