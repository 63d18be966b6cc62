"""A sweep: how the chance of breaking the caps moves with the share of the backlog who act on their wish.

    python examples/sweep.py [--replicates 20] [--population-size 50000] [--jobs 2]

Runs `experiments/acting_share_sweep.yaml` in memory (every value paired with
the others by the seed) and prints each value's probabilities, the paired
difference against the first value, and where each probability crosses 50%.
"""
from __future__ import annotations

import sim
from _quick import ROOT, options


def main(argv: list[str] | None = None) -> None:
    args = options(__doc__.splitlines()[0], argv, replicates=20)
    result = sim.compare(ROOT / "experiments" / "acting_share_sweep.yaml", args.replicates,
                         population_size=args.population_size, jobs=args.jobs)
    swept = result.description["sweep"]["inputs"][0]
    columns = [swept, "population.p_exceed_final", "population.p_exceed_final_diff", "natural_growth.p_exceed_mean",
               "births_2016_2020_median"]
    print(result.table[columns].to_string(index=False, float_format=lambda v: f"{v:,.2f}"))
    for probability, value in result.description["sweep"]["crossing_50"].items():
        where = "never, in the values swept" if value is None else f"at {value:.2f}"
        print(f"{probability} crosses 50% {where}")


if __name__ == "__main__":
    main()
