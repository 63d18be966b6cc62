"""What a run will take, estimated before it starts: workers, memory and time.

A worker holds one replicate's model at a time, so memory grows with the agents
of a replicate and the workers running at once, not with the replicate count;
time grows with agent-years over the workers. The constants are measured by
`benchmarks/resources.py` (figures in benchmarks/README.md), rounded up: an
estimate that refuses a run that would fit costs a flag, one that lets through
a run that cannot fit costs the machine.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

from sim.errors import UserError
from sim.progress import duration
from sim.results.runs import people_per_agent
from sim.scenario.distributions import central
from sim.scenario.schema import Scenario

BYTES_PER_AGENT = 320  # a worker's peak resident memory per agent of its replicate, above its fixed part
WORKER_BYTES = 240 * 2**20  # a worker's fixed part: the imports and the synthesis's level sample
PARENT_BYTES = 200 * 2**20  # the command itself beside its workers: the imports, the saved parts, the report
SECONDS_PER_AGENT_YEAR = 6e-7  # one worker's time per agent and simulated year
SECONDS_PER_REPLICATE = 0.6  # one worker's fixed time per replicate: drawing the inputs, the base population
SECONDS_PER_RUN = 15.0  # starting the workers, the final tables and the report
OVERRIDE = "--ignore-limits"


@dataclass(frozen=True)
class Estimate:
    workers: int
    worker_bytes: int  # each worker's peak
    seconds: float

    @property
    def memory_bytes(self) -> int:
        return _memory(self.workers, self.worker_bytes)

    def __str__(self) -> str:
        return f"about {duration(_rounded(self.seconds))} on {self.workers} {'worker' if self.workers == 1 else 'workers'}"


def useful_workers(jobs: int, replicates: int, cores: int | None) -> int:
    """Workers beyond the replicates left (or, on this machine, the cores) would only wait and hold memory."""
    return max(1, min(jobs, replicates, cores or jobs))


def local_cores() -> int:
    """The cores this process may run on (fewer than the machine's in a container or under taskset)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def agents_per_replicate(scenario: Scenario, population_size: int | None) -> int:
    return population_size or math.ceil(central(scenario.population.size) / people_per_agent(scenario))


def estimate(agents: int, years: float, replicates: int, workers: int, runs: int = 1) -> Estimate:
    """What `replicates` replicates of `agents` agents over `years` years, in `runs` ensembles one after another,
    take on `workers` local workers (one runs them in the command's own process)."""
    per_replicate = SECONDS_PER_REPLICATE + SECONDS_PER_AGENT_YEAR * agents * years
    return Estimate(workers, WORKER_BYTES + BYTES_PER_AGENT * agents,
                    SECONDS_PER_RUN * runs + per_replicate * math.ceil(replicates / workers))


def _memory(workers: int, worker_bytes: int) -> int:
    return worker_bytes if workers == 1 else PARENT_BYTES + workers * worker_bytes


def available_memory() -> int | None:
    """Memory the system can give without swapping (MemAvailable), or None where it does not say."""
    try:
        with open("/proc/meminfo") as meminfo:
            fields = dict(line.split(":", 1) for line in meminfo)
        return int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return None


def check_fits(needed: Estimate, available: int | None) -> None:
    """A UserError when the estimate is above the memory available, saying what fewer workers would fit."""
    if available is None or needed.memory_bytes <= available:
        return
    fewer = next((workers for workers in range(needed.workers - 1, 0, -1)
                  if _memory(workers, needed.worker_bytes) <= available), None)
    advice = f"use --jobs {fewer}, or a smaller --population-size, or" if fewer else \
        "use a smaller --population-size, or"
    raise UserError(f"this run needs about {_size(needed.memory_bytes)} of memory ({needed.workers} workers), and "
                    f"{_size(available)} is available; {advice} {OVERRIDE} to run anyway")


def _size(count: int) -> str:
    return f"{count / 2**30:.1f} GiB" if count >= 2**30 else f"{count / 2**20:.0f} MiB"


def _rounded(seconds: float) -> float:
    """An estimate's time to the precision it has: tens of seconds, whole minutes, tenths of an hour."""
    if seconds < 90:
        return max(10, round(seconds, -1))
    return round(seconds / 60) * 60 if seconds < 90 * 60 else round(seconds / 360) * 360
