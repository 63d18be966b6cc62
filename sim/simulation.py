"""One replicate: draw the inputs, build the base population, run an engine.

    one = sim.Simulation(scenario, seed=1).run()   # a ReplicateResult
    one.yearly                                     # one row per year
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from sim.errors import ImplausibleInputs, UserError
from sim.population.lifetable import fit_brass, infant_mortality_by_sex
from sim.population.synthesis import base_date, life_tables_by_year, scaled
from sim.engines.district import calendar_months
from sim.results.runs import ReplicateResult, people_per_agent, pyramid_table, replicate_table
from sim.scenario.inputs import realize
from sim.scenario.schema import Scenario
from sim.streams import child_seed, replicate_seed, stream_seed, streams

ENGINES = ("fast", "reference")


# a replicate whose inputs are implausible this many times in a row ends the run: the priors are at fault
MAX_INPUT_DRAWS = 20
_REDRAW = 1 << 32  # above every input stream's key (a CRC-32), so redraws never reuse an input's stream
# agents of the base population `check_runnable` builds: enough to show what a full one would, in a fraction of a
# second
CHECK_AGENTS = 5_000
# what a life table depends on, the inputs likeliest at fault first when its gain over the years fails
_GAIN_INPUTS = "mortality.e0_gain_years_per_year, mortality.e0_offset_years, mortality.reference_year"


def check_runnable(scenario: Scenario) -> None:
    """Build what a replicate needs, at the central inputs in a base population of CHECK_AGENTS, as a run's
    replicates do: the data tables read and checked, every year's life tables solved, the base population drawn
    and the rates calibrated. A UserError if a run would refuse the scenario (ImplausibleInputs if its central
    inputs are implausible), so that `erhai validate` and `erhai run` refuse it first."""
    _plausible_draw(scenario, scenario.ensemble.seed, 0, "fast", people_per_agent(scenario, CHECK_AGENTS), True, 1)


def life_table_problems(scenario: Scenario) -> list[str]:
    """Why the realized `scenario` has no life tables for some year of the run (none if it has them): the
    reference table of a sex, or its gain to a year of the run."""
    m = scenario.mortality
    with np.errstate(all="ignore"):  # the solvers' steps through extreme tables; failures raise
        for sex, e0, q0 in zip(("male", "female"), (m.e0_male_years, m.e0_female_years),
                               infant_mortality_by_sex(m.infant_mortality_permille / 1000)):
            try:
                fit_brass(e0, q0)
            except ValueError as exc:
                return [f"{exc} (mortality.e0_{sex}_years, mortality.infant_mortality_permille)"]
        years = [year + 0.5 for year in range(base_date(scenario).year, scenario.period.end.year + 1)]
        try:
            tables = life_tables_by_year(scenario, years)
        except (ValueError, RuntimeError) as exc:
            return [f"no life table has the gain in life expectancy by a year of the run: {str(exc)[:60]} "
                    f"({_GAIN_INPUTS})"]
    if not all(np.isfinite(table.qx).all() for by_sex in tables for table in by_sex.values()):
        return [f"the life tables of the run's years are not finite ({_GAIN_INPUTS})"]
    return []


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
                  central_inputs: bool = False, input_draws: int = MAX_INPUT_DRAWS) -> ReplicateResult:
    """Replicate `replicate` of the ensemble seeded `seed`; `central_inputs` fixes every input at its mean.

    Replicates share their drawn inputs in groups of `replicates_per_draw`
    (a nested design): the inputs come from the stream of the group's first
    replicate, the rest (population, events) from the replicate's own.
    Each agent stands for `people_per_agent` people: the scenario's
    `population.scale`, or with `population_size` (a quick run) the central
    size over that many, so every replicate simulates the same fraction of the
    district it drew; its counts are multiplied back to people.

    Inputs whose histories or calibration are implausible (`DistrictModel.problems`)
    lie outside what the priors mean, so they are drawn again, from a stream of
    their own: the ensemble's inputs are the priors restricted to plausible
    calibrations. The group's first replicate judges its draws, so all of a
    group share them; central inputs that are implausible are an error, and so
    are `input_draws` implausible draws in a row.
    """
    group = replicate // replicates_per_draw * replicates_per_draw
    scale = people_per_agent(scenario, population_size)
    realized, drawn, redraws, model = _plausible_draw(scenario, seed, group, engine, scale, central_inputs,
                                                      input_draws)
    if replicate != group:
        random_streams = streams(replicate_seed(seed, replicate))
        model = engine_class(engine)(realized, scaled(realized, random_streams["synthesis"], scale), random_streams)
    yearly = pd.DataFrame(model.run())
    yearly.insert(0, "replicate", replicate)
    backlogs = replicate_table("backlogs", replicate, [row for backlog in model.backlogs for row in backlog.rows()])
    end = scenario.period.end
    uptake = replicate_table("uptake", replicate, [row for u in model.uptakes
                                                   for row in u.rows(calendar_months(u.date, end) + 1)])
    base = replicate_table("base_year", replicate, [model.base_year])
    return ReplicateResult(replicate, yearly, base, drawn, pyramid_table(replicate, model.pyramids), backlogs,
                           uptake, redraws)


def _plausible_draw(scenario: Scenario, seed: int, replicate: int, engine: str, scale: float,
                    central_inputs: bool, input_draws: int):
    """The first plausible draw of replicate `replicate`'s inputs: the realized scenario, the drawn inputs, how
    many draws were set aside, and the model built on it (with the replicate's own streams)."""
    inputs = stream_seed(replicate_seed(seed, replicate), "inputs")
    for redraws in range(input_draws):
        random_streams = streams(replicate_seed(seed, replicate))
        draw = None if central_inputs else inputs if redraws == 0 else child_seed(child_seed(inputs, _REDRAW), redraws)
        realized, drawn = realize(scenario, draw)
        # inputs without life tables are implausible too; the synthesis needs the tables, so they come first
        problems = life_table_problems(realized)
        if not problems:
            model = engine_class(engine)(realized, scaled(realized, random_streams["synthesis"], scale),
                                         random_streams)
            problems = model.problems
        if not problems:
            return realized, drawn, redraws, model
        if central_inputs:
            raise ImplausibleInputs(f"{scenario.name}: at the central inputs " + "; ".join(problems))
    raise UserError(f"replicate {replicate}: {input_draws} draws of the uncertain inputs in a row were "
                    f"implausible; widen or move the priors. The last: {'; '.join(problems)}")


class Simulation:
    """One replicate of a scenario: replicate `replicate` of the ensemble seeded `seed` (the scenario's by
    default), so it is the same replicate an `Ensemble` of that seed runs."""

    def __init__(self, scenario: Scenario, seed: int | None = None, replicate: int = 0, *, engine: str = "fast",
                 population_size: int | None = None, central_inputs: bool = False):
        if engine not in ENGINES:
            raise UserError(f"engine {engine!r}: expected one of {', '.join(ENGINES)}")
        self.scenario, self.replicate = scenario, replicate
        self.seed = scenario.ensemble.seed if seed is None else seed
        self.engine, self.population_size, self.central_inputs = engine, population_size, central_inputs

    def run(self) -> ReplicateResult:
        return run_replicate(self.scenario, self.seed, self.replicate, engine=self.engine,
                             population_size=self.population_size, central_inputs=self.central_inputs)
