"""The constants of `sim.resources`: a worker's peak memory and time per replicate at two sizes.

    python benchmarks/resources.py [--sizes 20000 200000] [--replicates 3]

Each size runs in a fresh process (peak resident memory is a process's own):
the imports, then replicates of the universal two-child scenario, drawn inputs
and base population included, as a worker runs them. The two sizes give a
line: bytes and seconds per agent (its slope) and a worker's fixed memory and
time per replicate (where it meets zero agents). Round up what it prints.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "heshan_universal_two_child.yaml"


def measured(agents: int, replicates: int) -> dict:
    """In this process: peak bytes and seconds per replicate of `replicates` replicates of `agents` agents."""
    from sim.scenario.loading import load_scenario
    from sim.simulation import run_replicate

    scenario = load_scenario(SCENARIO)
    start = time.perf_counter()
    for number in range(replicates):
        run_replicate(scenario, 1, number, population_size=agents)
    years = (scenario.period.end - scenario.period.start).days / 365.25
    return {"agents": agents, "years": years, "seconds": (time.perf_counter() - start) / replicates,
            "bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def in_own_process(agents: int, replicates: int) -> dict:
    code = f"import json, benchmarks.resources as b; print(json.dumps(b.measured({agents}, {replicates})))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[20_000, 200_000])
    parser.add_argument("--replicates", type=int, default=3)
    args = parser.parse_args()
    small, large = (in_own_process(size, args.replicates) for size in args.sizes)
    agents = large["agents"] - small["agents"]
    per_agent = (large["bytes"] - small["bytes"]) / agents
    per_agent_year = (large["seconds"] - small["seconds"]) / agents / large["years"]
    for size in (small, large):
        print(f"{size['agents']:>9,} agents: peak {size['bytes'] / 2**20:.0f} MiB, {size['seconds']:.2f} s a replicate")
    print(f"bytes per agent {per_agent:.0f}; worker's fixed part {(small['bytes'] - per_agent * small['agents']) / 2**20:.0f}"
          f" MiB; seconds per agent-year {per_agent_year:.2g}; fixed seconds a replicate "
          f"{small['seconds'] - per_agent_year * small['agents'] * small['years']:.2f}")


if __name__ == "__main__":
    main()
