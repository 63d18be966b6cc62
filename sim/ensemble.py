"""Monte Carlo ensembles: replicates in parallel, saved as they finish, resumable, the same for any --jobs.

Replicate r depends only on the ensemble seed and r (its own `SeedSequence`
child, see `sim.streams`), never on which worker ran it or when. Workers
return each replicate's small yearly table to the parent, which saves it at
once (`sim.results.storage`); the final tables are assembled in replicate order from
the saved parts. So the output files are byte-identical for any number of
jobs and any backend, a stopped run loses only the replicates in progress,
and memory holds one model per worker whatever the replicate count.
"""
from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from functools import lru_cache, partial
from typing import Iterable, Iterator

from joblib import Parallel, delayed, parallel_config
from joblib.externals.loky import get_reusable_executor
from tqdm import tqdm

from sim.errors import UserError
from sim.scenario.loading import content_hash
from sim.provenance import provenance
from sim.simulation import Replicate, population_fraction, run_replicate
from sim.results.storage import RunDirectory
from sim.scenario.schema import Scenario
from sim.results.summary import Caps, summarize, widest_half_width

BACKENDS = ("loky", "dask")
MAX_BATCHES = 20  # --until-ci stops at this many batches unless told otherwise


@dataclass(frozen=True)
class EnsembleSettings:
    """What decides a run's results (how many workers run it does not)."""

    seed: int
    replicates: int  # the first batch; with --until-ci, each further batch
    replicates_per_draw: int = 1  # >1: a nested design, inputs drawn once per group of this many
    until_ci: float | None = None  # keep adding batches until every 95% interval is at most +-this
    max_replicates: int | None = None
    engine: str = "fast"
    population_size: int | None = None
    central_inputs: bool = False

    @property
    def most_replicates(self) -> int:
        if self.until_ci is None:
            return self.replicates
        return self.max_replicates or MAX_BATCHES * self.replicates


@dataclass(frozen=True)
class Execution:
    """How a run is executed: results do not depend on it."""

    jobs: int = 1
    backend: str = "loky"
    scheduler: str | None = None  # address of a Dask scheduler, for the dask backend
    quiet: bool = False


def prepare(directory: RunDirectory, scenario: Scenario, settings: EnsembleSettings, source: str) -> None:
    """Start a run in `directory`, or check that the run already there is this one (never overwrite another)."""
    if not directory.exists:
        directory.create(scenario, {
            "scenario_file": source, "scenario_name": scenario.name, "scenario_hash": content_hash(scenario),
            "settings": asdict(settings), "provenance": provenance()})
    elif saved_settings(directory) != settings or directory.manifest()["scenario_hash"] != content_hash(scenario):
        raise UserError(f"{directory.path} holds a run of other settings or another scenario; "
                        "choose another --out (or --resume it)")


def saved_settings(directory: RunDirectory) -> EnsembleSettings:
    return EnsembleSettings(**directory.manifest()["settings"])


def run_caps(scenario: Scenario, settings: EnsembleSettings) -> Caps:
    """The caps a run is judged by; a quick run's population cap is rescaled as its districts are (`run_replicate`)."""
    return Caps.from_targets(scenario.targets, population_fraction(scenario, settings.population_size) or 1.0)


def run_ensemble(directory: RunDirectory, execution: Execution) -> dict:
    """Run (or continue) the ensemble described in `directory` to the end; returns its summary."""
    scenario, settings = directory.scenario(), saved_settings(directory)
    caps = run_caps(scenario, settings)
    count = settings.replicates
    while True:
        _complete_replicates(directory, scenario, settings, count, execution)
        yearly, redraws = directory.yearly(count)
        summary = summarize(yearly, caps, settings.replicates_per_draw, redraws)
        if _enough(summary, count, settings):
            break
        count = min(count + settings.replicates, settings.most_replicates)
    directory.finish(count, summary)
    return summary


def _enough(summary: dict, count: int, settings: EnsembleSettings) -> bool:
    return (settings.until_ci is None or count >= settings.most_replicates
            or widest_half_width(summary) <= settings.until_ci)


def _complete_replicates(directory: RunDirectory, scenario: Scenario, settings: EnsembleSettings, count: int,
                         execution: Execution) -> None:
    done = directory.finished()
    todo = [number for number in range(count) if number not in done]
    task = partial(replicate_of, scenario.model_dump_json(), settings)
    progress = tqdm(total=count, initial=count - len(todo), unit="replicate", dynamic_ncols=True,
                    disable=execution.quiet or not sys.stderr.isatty())
    with progress:
        for replicate in _replicates(task, todo, execution):
            directory.save(replicate)
            progress.update()


def replicate_of(scenario_json: str, settings: EnsembleSettings, number: int) -> Replicate:
    """Replicate `number` of an ensemble, as a worker runs it."""
    return run_replicate(_parsed(scenario_json), settings.seed, number,
                         replicates_per_draw=settings.replicates_per_draw, engine=settings.engine,
                         population_size=settings.population_size, central_inputs=settings.central_inputs)


@lru_cache(maxsize=4)
def _parsed(scenario_json: str) -> Scenario:
    # A worker parses each scenario once: a freshly unpickled scenario per replicate
    # left the allocator about 0.1 MB more fragmented each time (measured), and
    # workers grew by 30 MB over 500 replicates.
    return Scenario.model_validate_json(scenario_json)


def _replicates(task, numbers: list[int], execution: Execution) -> Iterator[Replicate]:
    """Each replicate as it finishes, in any order."""
    if execution.jobs == 1 or len(numbers) <= 1:
        return map(task, numbers)
    if execution.backend == "dask":
        return _on_dask(task, numbers, execution)
    return _on_loky(task, numbers, execution)


def _on_loky(task, numbers: list[int], execution: Execution) -> Iterable[Replicate]:
    yield from Parallel(n_jobs=execution.jobs, backend="loky", return_as="generator_unordered")(
        delayed(task)(number) for number in numbers)
    # idle workers keep their memory for the next job; the summary and report have no use for them
    get_reusable_executor(reuse=True).shutdown(wait=True)


def _on_dask(task, numbers: list[int], execution: Execution) -> Iterable[Replicate]:
    try:
        from distributed import Client
    except ImportError:
        raise UserError("--backend dask needs the cluster extra: pip install 'erhai[cluster]'") from None
    try:
        client = Client(execution.scheduler, timeout=30)
    except OSError as exc:
        raise UserError(f"--scheduler {execution.scheduler}: cannot reach the Dask scheduler ({exc})") from None
    with client, parallel_config(backend="dask"):
        yield from Parallel(n_jobs=execution.jobs, return_as="generator_unordered")(
            delayed(task)(number) for number in numbers)
