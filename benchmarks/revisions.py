"""Speed of the fast engine of the working tree against the same engine at an earlier revision, measured in one run.

    python benchmarks/revisions.py REV [--size 100000|full] [--rounds 5] [--repeats 5]

REV is checked out into a temporary git worktree (removed at the end). Each
round times the revision and the working tree in a fresh process each, in
turn, the order alternating from round to round (old-new, new-old, ...), so
that a slow spell of a shared machine falls on both sides alike. Each process
builds the base population once (untimed) and reports the best of its
`--repeats` engine runs in nanoseconds per agent-month: noise only adds time.
Both sides run the same scenario file (the working tree's), seed and size.

Prints each round's two figures and their ratio new/old, each side's best over
all rounds, the median of the rounds' ratios, the ratio of the bests, and
whether the working tree is within 5% of the revision (median new/old at most
1.05). Only ratios measured side by side mean anything on a shared machine.
"""
from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

try:  # the layout since ed8e717
    from sim.engines.columnar import ColumnarModel as Engine
    from sim.population.synthesis import synthesize
    from sim.scenario.inputs import realize
    from sim.scenario.loading import load_scenario
except ImportError:  # the flat layout before it
    from sim.inputs import realize
    from sim.loading import load_scenario
    from sim.model import ErhaiModel as Engine
    from sim.synthesis import synthesize
from sim.streams import replicate_seed, streams

REPO = Path(__file__).resolve().parent.parent
SCENARIO = REPO / "scenarios" / "heshan_universal_two_child.yaml"
TIME_ONE = "--time-one"
TOLERANCE = 1.05


def best_ns_per_agent_month(scenario, synthesis, repeats: int) -> float:
    """The quickest of `repeats` runs of the same replicate, in nanoseconds per agent-month."""
    best = float("inf")
    for _ in range(repeats):
        model = Engine(scenario, synthesis, streams(replicate_seed(2016, 0)))
        start = time.perf_counter()
        yearly = model.run()
        seconds = time.perf_counter() - start
        best = min(best, 1e9 * seconds / (sum(row["population_mid"] for row in yearly) * 12))
    return best


def time_one(size: str, repeats: str) -> None:
    """The timing process: build the base population once, then print its best run, its size and the engine's file."""
    scenario = realize(load_scenario(SCENARIO))[0]
    synthesis = synthesize(scenario, np.random.default_rng(1), None if size == "full" else int(size))
    ns = best_ns_per_agent_month(scenario, synthesis, int(repeats))
    print(json.dumps({"ns": ns, "people": len(synthesis.population), "engine": inspect.getfile(Engine)}))


def timed_process(root: Path, size: str, repeats: int) -> dict:
    """Run this file's timing mode in a fresh process, with the `sim` package of `root` first on the path."""
    command = [sys.executable, str(Path(__file__).resolve()), TIME_ONE, size, str(repeats)]
    done = subprocess.run(command, env={**os.environ, "PYTHONPATH": str(root)},
                          stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def compare(rev: str, old_root: Path, size: str, rounds: int, repeats: int) -> None:
    """Time the two sides in turn for `rounds` rounds, the order alternating, and print the figures."""
    roots = {"old": old_root, "new": REPO}
    old_best, new_best, ratios = float("inf"), float("inf"), []
    for n in range(rounds):
        order = ("old", "new") if n % 2 == 0 else ("new", "old")
        sides = {side: timed_process(roots[side], size, repeats) for side in order}
        if n == 0:
            print(f"old: {sides['old']['engine']}\nnew: {sides['new']['engine']}\n"
                  f"{sides['new']['people']:,} people, best of {repeats} engine runs per process\n\n"
                  f"{'round':>5} {'order':>8} {'old ns/agent-month':>19} {'new ns/agent-month':>19} {'new/old':>8}")
        old, new = sides["old"]["ns"], sides["new"]["ns"]
        old_best, new_best = min(old_best, old), min(new_best, new)
        ratios.append(new / old)
        print(f"{n + 1:>5} {'-'.join(order):>8} {old:>19.2f} {new:>19.2f} {new / old:>8.3f}", flush=True)
    median = statistics.median(ratios)
    print(f"\nbest over {rounds} rounds: {rev} {old_best:.2f}, working tree {new_best:.2f} ns/agent-month")
    print(f"new/old: median of the rounds {median:.3f}, ratio of the bests {new_best / old_best:.3f}")
    verdict = "within" if median <= TOLERANCE else "NOT within"
    print(f"working tree {verdict} 5% of {rev} (median new/old {median:.3f}, limit {TOLERANCE})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the git revision to time against the working tree")
    parser.add_argument("--size", default="100000", help="people in the base population, or 'full'")
    parser.add_argument("--rounds", type=int, default=5, help="pairs of timing processes, the order alternating")
    parser.add_argument("--repeats", type=int, default=5, help="engine runs per process (the best counts)")
    args = parser.parse_args()
    git = ["git", "-C", str(REPO), "worktree"]
    old_root = Path(tempfile.mkdtemp(prefix="erhai-revision-"))
    subprocess.run([*git, "add", "--detach", str(old_root), args.rev], check=True, capture_output=True)
    try:
        compare(args.rev, old_root, args.size, args.rounds, args.repeats)
    finally:
        subprocess.run([*git, "remove", "--force", str(old_root)], check=True)


if __name__ == "__main__":
    if sys.argv[1:2] == [TIME_ONE]:
        time_one(*sys.argv[2:])
    else:
        main()
