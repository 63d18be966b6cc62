"""Erhai: a stochastic simulator of China's two-child policy.

The Python API is the centre; the command line, the run folders and the
reports are its clients::

    import sim
    scenario = sim.load_scenario("scenarios/heshan_universal_two_child.yaml")
    variant = scenario.with_values({"behaviour.compliance": 0.7})          # validated like a file
    one = sim.Simulation(scenario, seed=1).run()                             # one replicate
    ens = sim.Ensemble(scenario, replicates=200, seed=1, jobs=2).run()       # out="results/x" to keep it
    ens.yearly, ens.inputs, ens.pyramids, ens.summary.population.p_exceed_final
    run = sim.open_run("results/x")                                          # the same, from disk
    cmp = sim.compare("experiments/policy_variants.yaml", replicates=40)
    targets = sim.load_targets("scenarios/targets/hunan_2010_2015.yaml")            # what to fit, to what
    cal = sim.calibrate(targets, sim.CalibrationSettings(seed=1), out="results/calibration", jobs=2)
    cal.posterior, cal.posterior_summary, cal.check                          # also sim.open_calibration(dir)
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

# name -> module; imported on first use, so `import sim` (and `erhai --version`) stays light
_API = {
    "load_scenario": "sim.scenario.loading",
    "Scenario": "sim.scenario.schema",
    "Simulation": "sim.simulation",
    "Ensemble": "sim.ensemble",
    "open_run": "sim.ensemble",
    "resume": "sim.ensemble",
    "compare": "sim.comparison",
    "open_comparison": "sim.comparison",
    "ReplicateResult": "sim.results.runs",
    "EnsembleResult": "sim.results.runs",
    "ComparisonResult": "sim.comparison",
    "UserError": "sim.errors",
    "load_targets": "sim.calibration.targets",
    "CalibrationSettings": "sim.calibration.settings",
    "calibrate": "sim.calibration.run",
    "open_calibration": "sim.calibration.run",
    "Calibration": "sim.calibration.run",
}
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
