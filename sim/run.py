"""One replicate: draw the inputs, build the base population, run an engine."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.distributions import central
from sim.indicators import PYRAMID_GROUPS
from sim.inputs import realize
from sim.scenario import Scenario
from sim.streams import replicate_seed, stream_seed, streams
from sim.synthesis import synthesize

ENGINES = ("fast", "reference")


@dataclass(frozen=True)
class Replicate:
    number: int
    yearly: pd.DataFrame  # one row per calendar year: replicate, year, then the indicators
    inputs: dict[str, float]  # the drawn value of each uncertain input, by dotted path
    pyramids: pd.DataFrame  # replicate, year (the base year, then each year's end), sex, age_group, people


def engine_class(engine: str):
    if engine == "fast":
        from sim.model import ErhaiModel
        return ErhaiModel
    if engine == "reference":
        from sim.reference import ReferenceModel
        return ReferenceModel
    raise ValueError(f"unknown engine {engine!r}; expected one of {ENGINES}")


def run_replicate(scenario: Scenario, seed: int, replicate: int, *, replicates_per_draw: int = 1,
                  engine: str = "fast", population_size: int | None = None,
                  central_inputs: bool = False) -> Replicate:
    """Replicate `replicate` of the ensemble seeded `seed`; `central_inputs` fixes every input at its mean.

    Replicates share their drawn inputs in groups of `replicates_per_draw`
    (a nested design): the inputs come from the stream of the group's first
    replicate, the rest (population, events) from the replicate's own.
    `population_size` rescales the base population to that many people at the
    scenario's central size, so every replicate simulates the same fraction of
    the district it drew (and a cap rescaled by that fraction is exact).
    """
    random_streams = streams(replicate_seed(seed, replicate))
    draw = replicate // replicates_per_draw
    inputs = stream_seed(replicate_seed(seed, draw * replicates_per_draw), "inputs")
    realized, drawn = realize(scenario, None if central_inputs else inputs)
    fraction = population_fraction(scenario, population_size)
    size = None if fraction is None else fraction * realized.population.size
    synthesis = synthesize(realized, random_streams["synthesis"], size)
    model = engine_class(engine)(realized, synthesis, random_streams)
    yearly = pd.DataFrame(model.run())
    yearly.insert(0, "replicate", replicate)
    return Replicate(replicate, yearly, drawn, pyramid_table(replicate, model.pyramids))


def population_fraction(scenario: Scenario, population_size: int | None) -> float | None:
    """Simulated people per person of the district in a quick run (`population_size` at the central size)."""
    return population_size and population_size / central(scenario.population.size)


def pyramid_table(replicate: int, pyramids: list[tuple[int, np.ndarray]]) -> pd.DataFrame:
    """Tidy rows of people by year, sex and five-year age group (lower bound; the last is open)."""
    rows = [(replicate, year, sex, int(group), float(people))
            for year, pyramid in pyramids
            for sex, by_group in zip(("female", "male"), pyramid)
            for group, people in zip(PYRAMID_GROUPS, by_group)]
    return pd.DataFrame(rows, columns=["replicate", "year", "sex", "age_group", "people"])
