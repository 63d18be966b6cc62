"""Calibration by ABC-SMC (pyabc): the fitted inputs under which simulations look like the targets.

    cal = sim.calibrate(load_targets("scenarios/targets/hunan_2010_2015.yaml"), CalibrationSettings(seed=1),
                        out="results/calibration", jobs=2)
    cal.posterior                     # weight, then one column per fitted input

The priors are the fitted inputs' distributions in the scenario; every other
uncertain input is drawn from its own, as in an ensemble. A simulation is one
replicate at `population_size` agents, run to the last day a target needs;
the distance is the Euclidean norm of the misses in units of each target's
sd, and pyabc's tolerance is the median distance of the last generation.

Reproducible: candidate i of generation t proposes its inputs from numpy's
global generator (which pyabc samples with) and simulates with a seed, both
from the calibration's seed, t and i (`candidate_seeds`), and the sampler
keeps the first n accepted candidates in index order, as one core would. So
the posterior is the same for any number of cores. Generations run one at a
time from pyabc's SQLite history, so a stopped calibration resumes from its
last whole generation and ends where an uninterrupted one would.
"""
from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd
import pyabc
from pyabc.sampler import Sampler
from pyabc.weighted_statistics import effective_sample_size

from sim.calibration.settings import CalibrationSettings
from sim.calibration.targets import Target, Targets
from sim.errors import ImplausibleInputs, UserError
from sim.scenario.schema import Scenario
from sim.simulation import run_replicate

# candidates simulated per core between checks for the n-th acceptance: large batches keep the cores busy,
# small ones waste few simulations past a generation's last acceptance
MOST_PER_JOB = 64


def uptake_share(uptake: pd.DataFrame, since, within_months: int) -> float:
    """The share of the couples newly eligible at the first change of rules on or after `since` who conceived
    within `within_months` months (a replicate's `uptake` table)."""
    rows = uptake[pd.to_datetime(uptake["date"]).dt.date >= since]
    rows = rows[(rows["date"] == rows["date"].min()) & (rows["months"] == within_months)]
    return float(rows["conceived"].iloc[0] / rows["eligible"].iloc[0]) if len(rows) else math.nan


def simulated(target: Target, yearly: pd.DataFrame, uptake: pd.DataFrame | None) -> float:
    """The value of `target` in one replicate (its `yearly` and `uptake` tables; no uptake: no relaxation)."""
    if target.summary == "uptake":
        return math.nan if uptake is None else uptake_share(uptake, target.since, target.within_months)
    yearly = yearly.set_index("year")[target.indicator]
    value = float(yearly[target.year])
    return value / float(yearly[target.relative_to]) if target.relative_to else value


def to_last_target(targets: Targets) -> Scenario:
    """The calibrated scenario, ending on the last day a target needs: a simulation runs no further."""
    return targets.scenario.with_values({"period.end": targets.last_day.isoformat()})


class Simulator:
    """pyabc's model: one replicate at the fitted inputs, as the targets' values by key."""

    def __init__(self, targets: Targets, population_size: int):
        self.targets, self.population_size = targets, population_size
        self.scenario = to_last_target(targets)

    def __call__(self, parameters) -> dict[str, float]:
        return self.simulate(dict(parameters), _simulation_seed)

    def simulate(self, values: dict[str, float], seed: int) -> dict[str, float]:
        """The targets' values in one replicate seeded `seed`; infinitely far if its inputs are implausible
        (`sim.simulation.run_replicate`), as a proposal outside the prior is: drawing the others again, as an
        ensemble does, would cost a simulation a try."""
        try:
            scenario = self.scenario.with_values(values)
            result = run_replicate(scenario, seed, 0, population_size=self.population_size, input_draws=1)
        except (UserError, ImplausibleInputs):
            return {target.key: math.inf for target in self.targets.spec.targets}
        return {target.key: simulated(target, result.yearly, result.uptake) for target in self.targets.spec.targets}


def candidate_seeds(seed: int, generation: int, index: int) -> tuple[np.ndarray, int]:
    """The seed of numpy's global generator for candidate `index` of `generation` (-1: pyabc's sample from the
    prior that sets the first tolerance), and the seed of its simulation."""
    proposal, simulation = np.random.SeedSequence([seed, generation + 1, index]).spawn(2)
    return proposal.generate_state(4), int(simulation.generate_state(1, np.uint64)[0] >> np.uint64(1))


# the generation's `simulate_one` of pyabc, and the seed of the candidate being simulated, in each worker
_simulate_one: Callable | None = None
_simulation_seed = 0


def _candidate(task: tuple[int, int, int]):
    global _simulation_seed
    proposal, _simulation_seed = candidate_seeds(*task)
    np.random.seed(proposal)
    return _simulate_one()


@contextlib.contextmanager
def _evaluator(simulate_one: Callable, jobs: int) -> Iterator[Callable]:
    """A function from candidate tasks to their particles, in order, on `jobs` forked processes (which inherit
    `simulate_one`: pyabc's closure need not be pickled)."""
    global _simulate_one
    _simulate_one = simulate_one
    if jobs == 1:
        yield lambda tasks: map(_candidate, tasks)
        return
    with multiprocessing.get_context("fork").Pool(jobs, initializer=_quiet_worker) as pool:
        yield lambda tasks: pool.map(_candidate, tasks, chunksize=1)


def _quiet_worker() -> None:
    """A worker leaves Ctrl-C to the calibration, and ends without a word when the pool ends it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class SeededSampler(Sampler):
    """pyabc's sampler: candidates in index order, each from its own seeds (`candidate_seeds`), the first n
    accepted kept; batches run in parallel and the rest of the last batch is set aside unseen, so the sample is
    the one a single core would draw."""

    def __init__(self, seed: int, jobs: int = 1):
        super().__init__()
        self.seed, self.jobs = seed, jobs

    def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None):
        sample = self._create_empty_sample()
        accepted = evaluated = 0
        with _evaluator(simulate_one, self.jobs) as evaluate:
            while accepted < n and evaluated < max_eval:
                batch = range(evaluated, evaluated + self._batch(n - accepted, accepted, evaluated))
                for particle in evaluate([(self.seed, t, index) for index in batch]):
                    sample.append(particle)
                    evaluated += 1
                    accepted += bool(particle.accepted)
                    if accepted == n or evaluated >= max_eval:
                        break
        self.nr_evaluations_ = evaluated
        sample.ok = accepted >= n
        return sample

    def _batch(self, wanted: int, accepted: int, evaluated: int) -> int:
        """Enough candidates for the `wanted` acceptances still missing at the acceptance rate so far, in whole
        rounds of the cores. The candidates kept do not depend on it, only the time and the waste."""
        rate = max((accepted + 1) / (evaluated + 2), 0.01)
        rounds = min(max(math.ceil(wanted / rate / self.jobs), 1), MOST_PER_JOB)
        return rounds * self.jobs


def priors(targets: Targets) -> pyabc.Distribution:
    """The fitted inputs' distributions in the scenario, as pyabc's prior."""
    variables = {}
    for dotted, prior in targets.priors.items():
        name, parameters = prior.scipy()
        variables[dotted] = pyabc.RV(name, **parameters)
    return pyabc.Distribution(**variables)


def observed(targets: Targets) -> dict[str, float]:
    return {target.key: float(target.value) for target in targets.spec.targets}


def _abc(targets: Targets, settings: CalibrationSettings, jobs: int) -> pyabc.ABCSMC:
    distance = pyabc.PNormDistance(p=2, fixed_weights={t.key: 1 / float(t.sd) for t in targets.spec.targets})
    return pyabc.ABCSMC(Simulator(targets, settings.population_size), priors(targets), distance,
                        population_size=settings.particles, sampler=SeededSampler(settings.seed, jobs),
                        eps=pyabc.QuantileEpsilon(alpha=0.5))


@dataclass(frozen=True)
class Generation:
    """One generation's record: its tolerance, acceptance and effective sample size."""

    generation: int
    tolerance: float
    simulations: int
    particles: int
    acceptance_rate: float
    effective_sample_size: float
    seconds: float

    def line(self, generations: int) -> str:
        return (f"generation {self.generation + 1}/{generations}: tolerance {self.tolerance:.3g}, acceptance "
                f"{self.acceptance_rate:.1%} ({self.simulations} simulations), ESS {self.effective_sample_size:.0f}"
                f" of {self.particles}, {self.seconds:.0f} s")


def run_generations(targets: Targets, settings: CalibrationSettings, database: Path, *, jobs: int = 1,
                    done: int = 0, on_generation: Callable[[Generation], None] = lambda g: None) -> pyabc.History:
    """Run generations `done`.. of the calibration into pyabc's `database`, each from what it holds."""
    url = f"sqlite:///{database}"
    logging.getLogger("ABC").setLevel(logging.WARNING)  # Erhai says what a generation did
    history = pyabc.History(url) if database.exists() else None
    if jobs > 1:  # the workers fork from this process: what it has read and cached, they need not
        Simulator(targets, settings.population_size).simulate({}, seed=0)
    for generation in range(done, settings.generations):
        started = time.perf_counter()
        abc = _abc(targets, settings, jobs)
        if history is None:
            abc.new(url, observed(targets))
        else:
            abc.load(url, 1)
        history = abc.run(max_nr_populations=1)
        on_generation(generation_record(history, generation, time.perf_counter() - started))
    return history


def generation_record(history: pyabc.History, generation: int, seconds: float) -> Generation:
    populations = history.get_all_populations().set_index("t")
    row = populations.loc[generation]
    _, weights = history.get_distribution(m=0, t=generation)
    return Generation(generation, float(row["epsilon"]), int(row["samples"]), int(row["particles"]),
                      float(row["particles"] / row["samples"]), float(effective_sample_size(weights)), seconds)


def posterior_table(history: pyabc.History, fit: list[str]) -> pd.DataFrame:
    """One row per particle of the last generation: its weight, then each fitted input by its dotted name."""
    particles, weights = history.get_distribution(m=0, t=history.max_t)
    table = particles[fit].reset_index(drop=True).rename_axis(columns=None)
    table.insert(0, "weight", np.asarray(weights) / np.sum(weights))
    return table


def recorded_generations(database: Path, recorded: list[dict]) -> list[Generation]:
    """The generations `database` holds, as recorded, or from the history for those a stop left unrecorded."""
    if not database.exists():
        return []
    history = pyabc.History(f"sqlite:///{database}")
    done = history.max_t + 1
    generations = [Generation(**g) for g in recorded[:done]]
    return generations + [generation_record(history, t, math.nan) for t in range(len(generations), done)]
