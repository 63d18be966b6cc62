"""A variant in a notebook: the plan's scenario against one where most of the backlog acts on its wish.

    python examples/variant.py [--replicates 40] [--population-size 50000] [--jobs 2]

Both ensembles run with the same seed, so replicate r of each draws the same
inputs (but the one changed), base population and chance events: the
difference between them is measured replicate by replicate.
"""
from __future__ import annotations

import pandas as pd

import sim
from _quick import ROOT, options


def main(argv: list[str] | None = None) -> None:
    args = options(__doc__.splitlines()[0], argv, replicates=40)
    scenario = sim.load_scenario(ROOT / "scenarios" / "heshan_universal_two_child.yaml")
    eager = scenario.with_values({"behaviour.catch_up.acting_share": 0.8})  # the scenario: beta(0.5, 0.15)
    settings = dict(replicates=args.replicates, seed=1, population_size=args.population_size, jobs=args.jobs)
    plan, acting = sim.Ensemble(scenario, **settings).run(), sim.Ensemble(eager, **settings).run()
    births = {name: result.indicator("births") for name, result in (("plan", plan), ("eager", acting))}
    paired = births["eager"] - births["plan"]  # replicate x year: the same futures, one input changed
    print("Median births a year:")
    print(pd_table({name: table.median() for name, table in births.items()}))
    print("Paired difference in births (eager minus plan), median and 80% band by year:")
    print(pd_table({"median": paired.median(), "10%": paired.quantile(0.1), "90%": paired.quantile(0.9)}))
    for name, result in (("plan", plan), ("eager", acting)):
        final = result.summary.population.p_exceed_final
        print(f"{name}: chance the population exceeds its cap in {result.summary.population.year}: "
              f"{final.p:.0%} (95% interval {final.ci95[0]:.0%}-{final.ci95[1]:.0%})")


def pd_table(columns: dict) -> str:
    return pd.DataFrame(columns).round(0).to_string()


if __name__ == "__main__":
    main()
