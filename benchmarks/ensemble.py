"""Ensemble throughput and memory, measured in one run.

    python benchmarks/ensemble.py [--replicates 12] [--repeats 2] [--memory-size 20000] [--memory-counts 100 1000]

1. Replicates per second at full scale (about 880,000 people, drawn inputs,
   base population built per replicate) with 1 and with 2 jobs, their ratio
   (parallel efficiency) and the projected time of 1,000 replicates on 2 jobs.
   Each is timed for R and 2R replicates: the difference gives the rate of
   the replicates themselves, the rest is the fixed cost of a run (starting
   Python and the workers, the summary and the PDF report). Each of those
   runs is repeated and the fastest counts: a difference of two timings on a
   shared machine is otherwise mostly noise.
2. Peak memory of the whole process tree (the command and its workers, summed
   resident set sampled every 50 ms) for 100 and 1,000 replicates on 2 jobs.
   The population is rescaled (`--memory-size`) so 1,000 replicates take a
   couple of minutes; what is measured is whether memory grows with the count.

Each run is `erhai run` in a fresh process and a fresh output folder.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "heshan_universal_two_child.yaml"
TARGETS = {"seconds_for_1000_on_2_jobs": 600, "memory_growth_100_to_1000": 0.10}
PAGE = 4096


def tree_rss_bytes(root: int) -> int:
    """Resident memory of `root` and all its descendants (Linux /proc)."""
    parents, rss = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid], rss[pid] = int(fields[1]), int(fields[21]) * PAGE
    tree, frontier = {root}, [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        tree.update(children)
        frontier = children
    return sum(rss.get(pid, 0) for pid in tree)


def timed_run(replicates: int, jobs: int, size: int | None = None) -> tuple[float, int]:
    """Wall seconds and peak tree memory of one `erhai run`."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "sim", "run", str(SCENARIO), "--out", out, "--replicates", str(replicates),
                   "--jobs", str(jobs), "--quiet"] + (["--population-size", str(size)] if size else [])
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
        peak = 0
        while process.poll() is None:
            peak = max(peak, tree_rss_bytes(process.pid))
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        if process.returncode:
            raise SystemExit(f"{' '.join(command)} failed with status {process.returncode}")
    return seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=12, help="R: full-scale runs time R and 2R replicates")
    parser.add_argument("--repeats", type=int, default=2, help="full-scale runs of each size (the fastest counts)")
    parser.add_argument("--memory-size", type=int, default=20000, help="people per replicate in the memory runs")
    parser.add_argument("--memory-counts", type=int, nargs=2, default=[100, 1000])
    args = parser.parse_args()

    rates, fixed = {}, {}
    count = args.replicates
    for jobs in (1, 2):
        (once, peak), (twice, _) = (min((timed_run(replicates, jobs) for _ in range(args.repeats)))
                                    for replicates in (count, 2 * count))
        rates[jobs] = count / (twice - once)
        fixed[jobs] = once - count / rates[jobs]
        print(f"full scale, {jobs} job(s): {count} replicates in {once:.1f} s, {2 * count} in {twice:.1f} s: "
              f"{rates[jobs]:.2f} replicates/s and {fixed[jobs]:.1f} s a run; peak {peak / 2**20:,.0f} MiB",
              flush=True)
    projected = fixed[2] + 1000 / rates[2]
    print(f"parallel efficiency on 2 jobs: {rates[2] / (2 * rates[1]):.0%}; 1,000 replicates on 2 jobs: "
          f"{projected / 60:.1f} min (target {TARGETS['seconds_for_1000_on_2_jobs'] / 60:.0f} min)\n", flush=True)

    peaks = {}
    for count in args.memory_counts:
        seconds, peaks[count] = timed_run(count, 2, args.memory_size)
        print(f"{args.memory_size:,} people, {count:,} replicates on 2 jobs: {seconds:.0f} s, "
              f"peak {peaks[count] / 2**20:,.0f} MiB", flush=True)
    small, large = args.memory_counts
    growth = peaks[large] / peaks[small] - 1
    print(f"memory growth from {small:,} to {large:,} replicates: {growth:+.1%} "
          f"(target within {TARGETS['memory_growth_100_to_1000']:.0%})")


if __name__ == "__main__":
    main()
