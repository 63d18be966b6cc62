"""One replicate: draw the inputs, build the base population, run an engine."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.scenario.distributions import central
from sim.errors import ImplausibleInputs, UserError
from sim.indicators import PYRAMID_GROUPS
from sim.scenario.inputs import realize
from sim.scenario.schema import Scenario
from sim.streams import child_seed, replicate_seed, stream_seed, streams
from sim.population.synthesis import synthesize

ENGINES = ("fast", "reference")
BACKLOG_COLUMNS = ["date", "regime", "residence", "order", "age_group", "released", "acting"]


@dataclass(frozen=True)
class Replicate:
    number: int
    yearly: pd.DataFrame  # one row per calendar year: replicate, year, then the indicators
    inputs: dict[str, float]  # the drawn value of each uncertain input, by dotted path
    pyramids: pd.DataFrame  # replicate, year (the base year, then each year's end), sex, age_group, people
    backlogs: pd.DataFrame  # replicate, then `Backlog.rows` of each relaxation of the rules in the run
    redraws: int  # draws of the inputs set aside as implausible before these (see `run_replicate`)


# a replicate whose inputs are implausible this many times in a row ends the run: the priors are at fault
MAX_INPUT_DRAWS = 20
_REDRAW = 1 << 32  # above every input stream's key (a CRC-32), so redraws never reuse an input's stream


def engine_class(engine: str):
    if engine == "fast":
        from sim.engines.columnar import ColumnarModel
        return ColumnarModel
    if engine == "reference":
        from sim.engines.agents import AgentModel
        return AgentModel
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

    Inputs whose histories or calibration are implausible (`DistrictModel.problems`)
    lie outside what the priors mean, so they are drawn again, from a stream of
    their own: the ensemble's inputs are the priors restricted to plausible
    calibrations. The group's first replicate judges its draws, so all of a
    group share them; central inputs that are implausible are an error.
    """
    group = replicate // replicates_per_draw * replicates_per_draw
    fraction = population_fraction(scenario, population_size)
    realized, drawn, redraws, model = _plausible_draw(scenario, seed, group, engine, fraction, central_inputs)
    if replicate != group:
        random_streams = streams(replicate_seed(seed, replicate))
        size = None if fraction is None else fraction * realized.population.size
        model = engine_class(engine)(realized, synthesize(realized, random_streams["synthesis"], size), random_streams)
    yearly = pd.DataFrame(model.run())
    yearly.insert(0, "replicate", replicate)
    backlogs = pd.DataFrame([row for backlog in model.backlogs for row in backlog.rows()], columns=BACKLOG_COLUMNS)
    backlogs.insert(0, "replicate", replicate)
    return Replicate(replicate, yearly, drawn, pyramid_table(replicate, model.pyramids), backlogs, redraws)


def _plausible_draw(scenario: Scenario, seed: int, replicate: int, engine: str, fraction: float | None,
                    central_inputs: bool):
    """The first plausible draw of replicate `replicate`'s inputs: the realized scenario, the drawn inputs, how
    many draws were set aside, and the model built on it (with the replicate's own streams)."""
    inputs = stream_seed(replicate_seed(seed, replicate), "inputs")
    for redraws in range(MAX_INPUT_DRAWS):
        random_streams = streams(replicate_seed(seed, replicate))
        draw = None if central_inputs else inputs if redraws == 0 else child_seed(child_seed(inputs, _REDRAW), redraws)
        realized, drawn = realize(scenario, draw)
        size = None if fraction is None else fraction * realized.population.size
        model = engine_class(engine)(realized, synthesize(realized, random_streams["synthesis"], size), random_streams)
        if not model.problems:
            return realized, drawn, redraws, model
        if central_inputs:
            raise ImplausibleInputs(f"{scenario.name}: at the central inputs " + "; ".join(model.problems))
    raise UserError(f"replicate {replicate}: {MAX_INPUT_DRAWS} draws of the uncertain inputs in a row were "
                    f"implausible; widen or move the priors. The last: {'; '.join(model.problems)}")


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
