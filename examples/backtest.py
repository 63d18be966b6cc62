"""A backtest: where observed values fall in an ensemble's spread.

    python examples/backtest.py [OBSERVED.csv] [--replicates 40] [--population-size 50000] [--jobs 2]

OBSERVED.csv is tidy: `year,indicator,value`, with any indicator the run
writes. For each observation it prints the ensemble's median and 80% band and
the share of replicates below the observation (its PIT value: near 0 or 1 the
runs miss it; over many observations the values should spread evenly).
Without a file it holds the run against the plan's own expectation for 2020
(the scenario's `targets.expected_age_structure`): an expectation, not an
observation. The project holds no observation after 2015 (see
`../shared/data/README.md`); bring your own to test a forecast.
"""
from __future__ import annotations

import sys

import pandas as pd

import sim
from _quick import ROOT, options


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    observed_file = argv[0] if argv and not argv[0].startswith("-") else None
    args = options(__doc__.splitlines()[0], argv[1:] if observed_file else argv, replicates=40)
    scenario = sim.load_scenario(ROOT / "scenarios" / "heshan_universal_two_child.yaml")
    run = sim.Ensemble(scenario, args.replicates, seed=1, population_size=args.population_size,
                       jobs=args.jobs).run()
    observed = pd.read_csv(observed_file) if observed_file else plan_expectation(scenario)
    print(scored(run, observed).to_string(index=False, float_format=lambda v: f"{v:,.3f}"))


def plan_expectation(scenario) -> pd.DataFrame:
    expected = scenario.targets.expected_age_structure
    return pd.DataFrame([{"year": expected.year, "indicator": "share_65plus", "value": expected.share_65plus}])


def scored(run, observed: pd.DataFrame) -> pd.DataFrame:
    """Each observation with the ensemble's median, 80% band and PIT value."""
    rows = []
    for observation in observed.itertuples():
        simulated = run.indicator(observation.indicator)[observation.year]
        low, high = simulated.quantile([0.1, 0.9])
        rows.append({"year": observation.year, "indicator": observation.indicator, "observed": observation.value,
                     "median": simulated.median(), "band_80_low": low, "band_80_high": high,
                     "inside_80": low <= observation.value <= high, "pit": (simulated < observation.value).mean()})
    return pd.DataFrame(rows)


if __name__ == "__main__":
    main()
