"""Simulations per second of the shipped calibration, on 1 and 2 cores, and what its full budget would take.

    .venv/bin/python benchmarks/calibrate.py                       # two generations of 40 particles each way
    .venv/bin/python benchmarks/calibrate.py --particles 80 --population-size 50000

Runs the first generations of the shipped Hunan calibration (pyabc's sample
from the prior that sets the first tolerance, then the generations) into a
temporary folder, once per core count, and counts pyabc's simulations (the
calibration sample included). The two runs give the same posterior, so they
also check that the result does not depend on the cores. The shipped
calibration's time is extrapolated from its simulation count at the rate
measured on 2 cores; the target (issue 14) is at least 5,000 simulations in
at most 15 minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pandas as pd

from sim.calibration.abc import posterior_table, run_generations
from sim.calibration.settings import CalibrationSettings
from sim.calibration.targets import load_targets

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ROOT / "scenarios" / "targets" / "hunan_2010_2015.yaml"
SHIPPED = ROOT / "scenarios" / "calibration" / "calibration.json"


def measure(settings: CalibrationSettings, jobs: int) -> tuple[float, int, pd.DataFrame]:
    """Seconds and simulations of the calibration's generations on `jobs` cores, and its posterior."""
    targets = load_targets(TARGETS)
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "calibration.db"
        started = time.perf_counter()
        history = run_generations(targets, settings, database, jobs=jobs)
        seconds = time.perf_counter() - started
        return seconds, history.total_nr_simulations, posterior_table(history, targets.spec.fit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--particles", type=int, default=40)
    parser.add_argument("--generations", type=int, default=2)
    shipped = json.loads(SHIPPED.read_text())["settings"] if SHIPPED.exists() else {}
    parser.add_argument("--population-size", type=int,
                        default=shipped.get("population_size", CalibrationSettings(seed=0).population_size),
                        help="agents a simulation (default: the shipped calibration's)")
    args = parser.parse_args()
    settings = CalibrationSettings(seed=1, particles=args.particles, generations=args.generations,
                                   population_size=args.population_size)
    print(f"{settings.generations} generations of {settings.particles} particles, "
          f"{settings.population_size:,} agents a simulation")
    rates, posteriors = {}, []
    for jobs in (1, 2):
        seconds, simulations, posterior = measure(settings, jobs)
        rates[jobs] = simulations / seconds
        posteriors.append(posterior)
        print(f"{jobs} core(s): {simulations} simulations in {seconds:.1f} s, {rates[jobs]:.2f} a second")
    print(f"2 cores against 1: {rates[2] / rates[1]:.2f} times as many a second")
    print(f"same posterior on 1 and 2 cores: {posteriors[0].equals(posteriors[1])}")
    if SHIPPED.exists():
        record = json.loads(SHIPPED.read_text())
        total = sum(g["simulations"] for g in record["generations"]) + record["settings"]["particles"]  # and the prior sample
        print(f"the shipped calibration: {total} simulations, about {total / rates[2] / 60:.1f} minutes on 2 cores "
              f"at this rate (it took {record['wall_seconds'] / 60:.1f}, with its predictive check)")


if __name__ == "__main__":
    main()
