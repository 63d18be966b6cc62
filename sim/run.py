"""One replicate: draw the inputs, build the base population, run an engine."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

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
    """
    random_streams = streams(replicate_seed(seed, replicate))
    draw = replicate // replicates_per_draw
    inputs = stream_seed(replicate_seed(seed, draw * replicates_per_draw), "inputs")
    realized, drawn = realize(scenario, None if central_inputs else inputs)
    synthesis = synthesize(realized, random_streams["synthesis"], population_size)
    model = engine_class(engine)(realized, synthesis, random_streams)
    yearly = pd.DataFrame(model.run())
    yearly.insert(0, "replicate", replicate)
    return Replicate(replicate, yearly, drawn)
