"""Speed and memory of the fast engine against the per-agent Mesa reference, measured in one run.

    python benchmarks/engine.py [--sizes 10000 100000 full] [--reference-sizes 10000 100000]
                                [--repeats 10] [--reference-repeats 3]

Prints nanoseconds per agent-month (engine run only; building the base
population is timed apart), their ratio at each size, the seconds of one
full-scale replicate and the bytes held per agent. Figures on a shared
machine are noisy: each engine's time is the best of several runs (noise only
adds time; a fast run is short enough for one burst to spoil a few), and the
ratios are measured side by side.
"""
from __future__ import annotations

import argparse
import time
import tracemalloc
from pathlib import Path

import numpy as np

from sim.engines.agents import AgentModel
from sim.engines.columnar import ColumnarModel
from sim.population.synthesis import synthesize
from sim.scenario.inputs import realize
from sim.scenario.loading import load_scenario
from sim.streams import replicate_seed, streams

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "heshan_universal_two_child.yaml"
TARGETS = {"speedup": 100, "full_scale_seconds": 0.5, "bytes_per_agent": 100}


def timed_run(engine, scenario, synthesis) -> tuple[float, float, object]:
    """Seconds of one engine run and the agent-months it simulated."""
    model = engine(scenario, synthesis, streams(replicate_seed(2016, 0)))
    start = time.perf_counter()
    yearly = model.run()
    seconds = time.perf_counter() - start
    agent_months = sum(row["population_mid"] for row in yearly) * 12
    return seconds, agent_months, model


def fastest(engine, scenario, synthesis, repeats: int) -> tuple[float, float, object]:
    """The quickest of `repeats` runs of the same replicate: noise on a shared machine only ever adds time."""
    return min((timed_run(engine, scenario, synthesis) for _ in range(repeats)), key=lambda run: run[0])


def held_bytes_per_agent(scenario, synthesis) -> float:
    """Peak memory allocated while running, per person in the base population."""
    tracemalloc.start()
    timed_run(ColumnarModel, scenario, synthesis)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / len(synthesis.population)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["10000", "100000", "full"])
    parser.add_argument("--reference-sizes", nargs="*", type=int, default=[10000, 100000])
    parser.add_argument("--repeats", type=int, default=10, help="fast-engine runs per size (the best counts)")
    parser.add_argument("--reference-repeats", type=int, default=3, help="reference runs per size (the best counts)")
    args = parser.parse_args()
    scenario = realize(load_scenario(SCENARIO))[0]
    print(f"{'size':>9} {'synthesis s':>12} {'fast s':>8} {'fast ns/agent-month':>20} "
          f"{'reference ns/agent-month':>25} {'ratio':>7}")
    for label in args.sizes:
        size = None if label == "full" else int(label)
        start = time.perf_counter()
        synthesis = synthesize(scenario, np.random.default_rng(1), size)
        synthesis_seconds = time.perf_counter() - start
        fast = fastest(ColumnarModel, scenario, synthesis, args.repeats)
        fast_ns = 1e9 * fast[0] / fast[1]
        line = f"{len(synthesis.population):>9,} {synthesis_seconds:>12.2f} {fast[0]:>8.3f} {fast_ns:>20.1f}"
        if size in args.reference_sizes:
            reference = fastest(AgentModel, scenario, synthesis, args.reference_repeats)
            reference_ns = 1e9 * reference[0] / reference[1]
            line += f" {reference_ns:>25.0f} {reference_ns / fast_ns:>7.0f}"
        print(line, flush=True)
        if label == "full":
            columns = fast[2].people.nbytes() / len(fast[2].people)
            peak = held_bytes_per_agent(scenario, synthesis)
            print(f"\nfull scale: one 2016-2020 replicate {fast[0]:.3f} s (target {TARGETS['full_scale_seconds']} s); "
                  f"columns {columns:.0f} bytes/agent, peak while running {peak:.0f} bytes/agent "
                  f"(target {TARGETS['bytes_per_agent']})")


if __name__ == "__main__":
    main()
