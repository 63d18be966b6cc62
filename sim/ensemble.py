"""Monte Carlo ensembles: replicates in parallel, saved as they finish, resumable, the same for any jobs.

    ens = sim.Ensemble(scenario, replicates=200, seed=1, jobs=2).run(out="results/x")   # out optional
    ens.yearly, ens.summary.population.p_exceed_final                                 # an EnsembleResult

Replicate r depends only on the ensemble seed and r (its own `SeedSequence`
child, see `sim.streams`), never on which worker ran it or when. Workers
return each replicate's small tables to the parent, which saves it at once
(`sim.results.storage`: a run folder, or memory); the final tables are
assembled in replicate order from the saved parts. So the output files are
byte-identical for any number of jobs and any backend, a stopped run loses
only the replicates in progress, and with a folder memory holds one model
per worker whatever the replicate count.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Iterable, Iterator, Union

from joblib import Parallel, delayed, parallel_config
from joblib.externals.loky import get_reusable_executor

from sim.errors import UserError
from sim.population.synthesis import TooFewAgents, fewest_agents
from sim.progress import progress
from sim.provenance import provenance
from sim.results.caps import caps_of
from sim.results.runs import EnsembleResult, EnsembleSettings, ReplicateResult
from sim.results.storage import SCENARIO, MemoryStore, RunDirectory, check_free, claimed, run_identity
from sim.results.summary import Summary, summarize
from sim.scenario.inputs import realize
from sim.scenario.loading import content_hash, file_entries
from sim.scenario.schema import Scenario
from sim.simulation import ENGINES, run_replicate
from sim.workers import loky_backend

BACKENDS = ("loky", "dask")
MAX_BATCHES = 20  # until_ci stops at this many batches unless told otherwise
Store = Union[RunDirectory, MemoryStore]


def most_replicates(settings: EnsembleSettings) -> int:
    if settings.until_ci is None:
        return settings.replicates
    return settings.max_replicates or MAX_BATCHES * settings.replicates


@dataclass(frozen=True)
class Execution:
    """How a run is executed: results do not depend on it."""

    jobs: int = 1
    backend: str = "loky"
    scheduler: str | None = None  # address of a Dask scheduler, for the dask backend
    quiet: bool = False


class Ensemble:
    """An ensemble of a scenario's replicates with its settings; `run()` runs (or continues) it.

    The settings decide the results (`EnsembleSettings`); `jobs`, `backend`
    and `scheduler` only how fast they come. Without `out` the results are
    held in memory; with it they stream to that run folder, which a later run
    of the same ensemble continues (and another ensemble refuses).
    """

    def __init__(self, scenario: Scenario, replicates: int | None = None, seed: int | None = None, *,
                 replicates_per_draw: int = 1, until_ci: float | None = None, max_replicates: int | None = None,
                 engine: str = "fast", population_size: int | None = None, central_inputs: bool = False,
                 jobs: int = 1, backend: str = "loky", scheduler: str | None = None, quiet: bool = True,
                 source: str | None = None):
        self.scenario = scenario
        self.settings = checked_settings(EnsembleSettings(
            seed=scenario.ensemble.seed if seed is None else seed,
            replicates=scenario.ensemble.replicates if replicates is None else replicates,
            replicates_per_draw=replicates_per_draw, until_ci=until_ci, max_replicates=max_replicates,
            engine=engine, population_size=population_size, central_inputs=central_inputs))
        if until_ci is not None and not caps_of(scenario.targets):
            raise UserError(f"{scenario.name}: until_ci (--until-ci) needs a cap to be precise about; "
                            "the scenario's targets set none")
        self.execution = Execution(jobs, backend, scheduler, quiet)
        self.source = source or scenario.name

    def status(self, out: str | Path) -> str:
        """What the folder `out` holds of this ensemble: "new", "running" (stopped; `run` continues it) or
        "complete"; a UserError if it holds another run, or another erhai process holds it."""
        directory = RunDirectory(Path(out))
        check_free(directory.path)
        if not directory.exists:
            return "new"
        _check_same(directory, self.scenario.model_dump_json(), self.settings)
        return directory.manifest()["status"]

    def run(self, out: str | Path | None = None, force: bool = False) -> EnsembleResult:
        """Run the ensemble, in memory or into the folder `out`, which this process holds until it ends; `force`
        first removes whatever run `out` holds, to start afresh."""
        if out is None:
            scenario_json = self.scenario.model_dump_json()  # once: for the workers and the hash
            store = MemoryStore(scenario_json, self.settings, _manifest(scenario_json, self.settings, self.source))
            run_ensemble(store, self.execution)
            return store.result()
        directory = RunDirectory(Path(out))
        with claimed(directory.path):
            if force:
                directory.clear()
            started = not directory.exists
            self.start(out)
            try:
                if not directory.complete:
                    run_ensemble(directory, self.execution)
            except UserError as error:
                # bad input found on the way leaves no folder that would only stand in the way of the mended run:
                # one holding no replicate yet, or one that could never finish (its replicate that fell short would
                # again)
                if started and (isinstance(error, QuickRunTooSmall) or not directory.finished()):
                    directory.discard()
                raise
            return directory.result()

    def start(self, out: str | Path) -> RunDirectory:
        """The run folder `out` for this ensemble, created if new, without running anything (`resume` runs it);
        a UserError if it holds another run."""
        directory = RunDirectory(Path(out))
        prepare(directory, self.scenario.model_dump_json(), self.settings, self.source)
        return directory


def resume(out: str | Path, execution: Execution = Execution()) -> EnsembleResult:
    """Continue the stopped run in the folder `out` (its scenario and settings come from there, and its data
    files must be as they were), holding the folder until it ends."""
    directory = RunDirectory(Path(out))
    directory.manifest()  # a clear error if the folder holds no run
    with claimed(directory.path):
        if not directory.complete:
            _check_unchanged(directory)
            run_ensemble(directory, execution)
        return directory.result()


def open_run(path: str | Path) -> EnsembleResult:
    """A finished run folder as the results object `Ensemble.run` gives."""
    return RunDirectory(Path(path)).result()


def checked_settings(settings: EnsembleSettings) -> EnsembleSettings:
    """The settings, or a UserError saying which do not go together."""
    if settings.engine not in ENGINES:
        raise UserError(f"engine {settings.engine!r}: expected one of {', '.join(ENGINES)}")
    if settings.replicates < 1 or settings.replicates_per_draw < 1:
        raise UserError("replicates and replicates per draw must be at least 1")
    if settings.replicates % settings.replicates_per_draw:
        raise UserError(f"{settings.replicates} replicates do not split into draws of {settings.replicates_per_draw}")
    if settings.replicates_per_draw > 1 and settings.central_inputs:
        raise UserError("a nested design draws the inputs; it cannot use central_inputs (--central-inputs)")
    if settings.max_replicates and settings.until_ci is None:
        raise UserError("max_replicates needs until_ci (--max-replicates only applies with --until-ci)")
    return settings


def _manifest(scenario_json: str, settings: EnsembleSettings, source: str) -> dict:
    scenario_hash = content_hash(scenario_json)
    return {"scenario_file": source, "scenario_name": json.loads(scenario_json)["name"], "scenario_hash": scenario_hash,
            "data_files": data_hashes(scenario_json), "run_id": run_identity(scenario_hash, settings),
            "settings": asdict(settings), "provenance": provenance()}


def data_hashes(scenario_json: str) -> dict[str, str | None]:
    """sha256 of each data file the resolved scenario names, by its path (None for one that is not there)."""
    paths = sorted({Path(mapping[key]) for _, mapping, key in file_entries(json.loads(scenario_json))})
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None for path in paths}


def prepare(directory: RunDirectory, scenario_json: str, settings: EnsembleSettings, source: str) -> None:
    """Start a run in `directory`, or check that the run already there is this one (never overwrite another)."""
    if not directory.exists:
        directory.check_unclaimed()
        directory.create(scenario_json, _manifest(scenario_json, settings, source))
    else:
        _check_same(directory, scenario_json, settings)


def _check_same(directory: RunDirectory, scenario_json: str, settings: EnsembleSettings) -> None:
    if directory.settings() != settings or directory.manifest()["scenario_hash"] != content_hash(scenario_json):
        raise UserError(f"{directory.path} holds a run of other settings or another scenario"
                        f"{_changed_data(directory, scenario_json)}; choose another --out (or --resume it, or start "
                        "afresh with --force)")


def _check_unchanged(directory: RunDirectory) -> None:
    """A UserError unless the scenario and data files of the stopped run in `directory` are those it started with:
    replicates of other data would be mixed with its own."""
    scenario_json = directory.scenario_json()
    changed = _changed_data(directory, scenario_json) or (
        f"; its {SCENARIO} was changed" if content_hash(scenario_json) != directory.manifest()["scenario_hash"] else "")
    if changed:
        raise UserError(f"{directory.path} cannot be resumed{changed} since the run started; restore it, or start "
                        "afresh with erhai run FILE --out DIR --force")


def _changed_data(directory: RunDirectory, scenario_json: str) -> str:
    """'; data file F has changed' (or is gone) for each data file of `scenario_json` whose bytes differ from when
    the run in `directory` started, or '' (also for a run started before data files were recorded)."""
    recorded, current = directory.manifest().get("data_files", {}), data_hashes(scenario_json)
    return "".join(f"; data file {path} {'is gone' if current[path] is None else 'has changed'}"
                   for path, digest in recorded.items() if path in current and current[path] != digest)


class QuickRunTooSmall(UserError):
    """A quick run with too few agents for what the synthesis needs (`TooFewAgents`)."""


def run_ensemble(store: Store, execution: Execution) -> Summary:
    """Run (or continue) the ensemble described in `store` to the end; returns its summary."""
    scenario_json, settings = store.scenario_json(), store.settings()
    scenario = Scenario.model_validate_json(scenario_json)
    caps = caps_of(scenario.targets)
    count = settings.replicates
    while True:
        try:
            _complete_replicates(store, scenario_json, settings, count, execution, scenario.name)
        except TooFewAgents as short:
            raise too_small(short, scenario, settings.population_size, most_replicates(settings)) from None
        yearly, redraws = store.yearly(count)
        summary = summarize(yearly, caps, settings.replicates_per_draw, redraws)
        if _enough(summary, count, settings):
            break
        count = min(count + settings.replicates, most_replicates(settings))
    store.finish(count, summary)
    return summary


def too_small(short: TooFewAgents, scenario: Scenario, population_size: int | None, replicates: int) -> UserError:
    """The error to raise for `short`: in a quick run (`population_size` agents) a need of the synthesis falling
    short is the few agents' doing, not the scenario's, so it says so, and what size would do."""
    if population_size is None:
        return short
    fewest = fewest_agents(realize(scenario)[0], replicates)
    return QuickRunTooSmall(f"a quick run of {population_size:,} simulated people is too small for {short.need} "
                            f"({short.shortfall}); use --population-size of at least {fewest:,}")


def _enough(summary: Summary, count: int, settings: EnsembleSettings) -> bool:
    return (settings.until_ci is None or count >= most_replicates(settings)
            or summary.widest_half_width() <= settings.until_ci)


def _complete_replicates(store: Store, scenario_json: str, settings: EnsembleSettings, count: int,
                         execution: Execution, label: str) -> None:
    done = store.finished()
    todo = [number for number in range(count) if number not in done]
    task = partial(replicate_of, scenario_json, settings)
    with progress(label, count, count - len(todo), execution.quiet) as shown:
        for replicate in _replicates(task, todo, execution):
            store.save(replicate)
            shown.update()


def replicate_of(scenario_json: str, settings: EnsembleSettings, number: int) -> ReplicateResult:
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


def _replicates(task, numbers: list[int], execution: Execution) -> Iterator[ReplicateResult]:
    """Each replicate as it finishes, in any order."""
    if execution.jobs == 1 or len(numbers) <= 1:
        return map(task, numbers)
    if execution.backend == "dask":
        return _on_dask(task, numbers, execution)
    return _on_loky(task, numbers, execution)


def _on_loky(task, numbers: list[int], execution: Execution) -> Iterable[ReplicateResult]:
    yield from Parallel(n_jobs=execution.jobs, backend=loky_backend(), return_as="generator_unordered")(
        delayed(task)(number) for number in numbers)
    # idle workers keep their memory for the next job; the summary and report have no use for them
    get_reusable_executor(reuse=True).shutdown(wait=True)


def _on_dask(task, numbers: list[int], execution: Execution) -> Iterable[ReplicateResult]:
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
