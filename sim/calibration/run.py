"""A calibration in a folder: run generation by generation, resumed after a stop, opened when finished.

    cal = sim.calibrate(targets, CalibrationSettings(seed=1), out="results/calibration", jobs=2)
    cal.posterior_summary      # each fitted input: prior and posterior median and 90% interval
    cal.check                  # each target against the posterior predictive bands
    sim.open_calibration("results/calibration")   # the same, from the folder

The folder's files are described in `sim.results.storage.CalibrationDirectory`.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from pyabc.weighted_statistics import weighted_quantile
from pydantic import TypeAdapter

from sim.calibration.abc import (Generation, posterior_table, recorded_generations, run_generations, simulated,
                                 to_last_target)
from sim.calibration.settings import CalibrationSettings
from sim.calibration.targets import Targets
from sim.ensemble import Ensemble
from sim.errors import UserError
from sim.provenance import now, provenance
from sim.results.storage import COMPLETE, RUNNING, CalibrationDirectory
from sim.scenario.distributions import Uncertain
from sim.scenario.loading import content_hash, shown_path
from sim.scenario.schema import InputsFrom

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass(frozen=True)
class Calibration:
    """A finished calibration: what it was asked and fitted (`record`, calibration.json), its posterior and the
    targets in replicates drawn from it."""

    record: dict
    posterior: pd.DataFrame  # weight, then each fitted input by its dotted name
    predictive: pd.DataFrame  # replicate, target (its key), value
    path: Path

    @property
    def fit(self) -> list[str]:
        return self.record["fit"]

    @property
    def generations(self) -> pd.DataFrame:
        return pd.DataFrame(self.record["generations"])

    def prior(self, dotted: str):
        """The fitted input's prior as a frozen scipy distribution."""
        return TypeAdapter(Uncertain).validate_python(self.record["priors"][dotted]).frozen()

    @property
    def posterior_summary(self) -> pd.DataFrame:
        """Each fitted input: its prior's and its posterior's median and 90% interval, and how much narrower."""
        weights = self.posterior["weight"].to_numpy()
        rows = []
        for dotted in self.fit:
            prior = self.prior(dotted)
            low, median, high = (weighted_quantile(self.posterior[dotted].to_numpy(), weights, alpha=q)
                                 for q in (0.05, 0.5, 0.95))
            rows.append({"input": dotted, "prior_5": prior.ppf(0.05), "prior_median": prior.median(),
                         "prior_95": prior.ppf(0.95), "posterior_5": low, "posterior_median": median,
                         "posterior_95": high, "width_ratio": (high - low) / (prior.ppf(0.95) - prior.ppf(0.05))})
        return pd.DataFrame(rows)

    @property
    def check(self) -> pd.DataFrame:
        """Each target: its value and sd, the posterior predictive quantiles, and the share of replicates below
        the value (its PIT: near 0 or 1, the posterior cannot reproduce it)."""
        rows = []
        for target in self.record["targets"]:
            values = self.predictive.loc[self.predictive["target"] == target["key"], "value"].to_numpy()
            rows.append({"target": target["key"], "observed": target["value"], "sd": target["sd"],
                         **{f"q{round(100 * q)}": np.nanquantile(values, q) for q in QUANTILES},
                         "pit": float(np.mean(values < target["value"]))})
        return pd.DataFrame(rows)


def calibrate(targets: Targets, settings: CalibrationSettings, out: str | Path, *, jobs: int = 1,
              resume: bool = False, progress: Callable[[str], None] | None = None) -> Calibration:
    """Fit `targets` (`sim.calibration.targets.load_targets`) by ABC-SMC into the folder `out`, or with `resume`
    continue the same calibration stopped there; `progress` gets a line per generation."""
    folder = CalibrationDirectory(Path(out))
    record = _started(folder, targets, settings, resume)
    started = time.perf_counter()
    generations = recorded_generations(folder.database, record["generations"])

    def finished(generation: Generation) -> None:
        generations.append(generation)
        folder.write_record({**record, "generations": [asdict(g) for g in generations]})
        if progress:
            progress(generation.line(settings.generations))

    history = run_generations(targets, settings, folder.database, jobs=jobs, done=len(generations),
                              on_generation=finished)
    folder.write_posterior(posterior_table(history, targets.spec.fit))
    folder.write_predictive(predictive_check(targets, settings, folder.posterior_path, jobs))
    folder.write_record({**record, "generations": [asdict(g) for g in generations], "status": COMPLETE,
                         "finished": now(), "wall_seconds": record.get("wall_seconds", 0) + time.perf_counter()
                         - started})
    calibration = open_calibration(folder.path)
    from sim.report.calibration import write_calibration_report  # the report reads a Calibration: not at the top
    write_calibration_report(calibration, folder.report_path)
    return calibration


def _started(folder: CalibrationDirectory, targets: Targets, settings: CalibrationSettings, resume: bool) -> dict:
    """The calibration's record: a new one, or with `resume` the one in `folder`, which must be the same
    calibration (targets, scenario and settings)."""
    record = {"name": targets.spec.name, "scenario": targets.scenario.name,
              "scenario_hash": content_hash(targets.scenario.model_dump_json()), "settings": asdict(settings),
              "fit": targets.spec.fit, "priors": {dotted: prior.model_dump(mode="json")
                                                   for dotted, prior in targets.priors.items()},
              "targets": [{"key": t.key, **t.model_dump(mode="json", exclude_none=True)} for t in targets.spec.targets]}
    # what was asked, wherever the files lie: a folder moved with its scenario still resumes
    record["identity"] = hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()[:16]
    record["targets_file"] = shown_path(targets.path)
    if folder.exists:
        previous = folder.record()
        if not resume:
            raise UserError(f"{folder.path} already holds a calibration ({previous['status']}); continue it with "
                            "--resume, or choose another folder")
        if previous["identity"] != record["identity"]:
            raise UserError(f"{folder.path} holds another calibration (targets, scenario or settings differ); "
                            "choose another folder")
        return {**previous, "status": RUNNING}
    if resume:
        raise UserError(f"{folder.path}: no calibration to resume")
    record.update(status=RUNNING, started=now(), finished=None, provenance=provenance(), generations=[])
    folder.write_record(record)
    return record


def predictive_check(targets: Targets, settings: CalibrationSettings, posterior_file: Path,
                     jobs: int) -> pd.DataFrame:
    """The targets in replicates of the scenario drawing its fitted inputs from the posterior in `posterior_file`
    (as a scenario with `inputs_from` does), at the calibration's population size: replicate, target, value."""
    scenario = to_last_target(targets).model_copy(
        update={"inputs_from": InputsFrom(posterior_file=posterior_file.resolve())})
    run = Ensemble(scenario, settings.predictive_replicates, settings.seed, population_size=settings.population_size,
                   jobs=jobs).run()
    uptake = dict(tuple(run.uptake.groupby("replicate")))
    rows = [{"replicate": replicate, "target": target.key, "value": simulated(target, yearly, uptake.get(replicate))}
            for replicate, yearly in run.yearly.groupby("replicate") for target in targets.spec.targets]
    return pd.DataFrame(rows)


def open_calibration(path: str | Path) -> Calibration:
    """A complete calibration from its folder."""
    folder = CalibrationDirectory(Path(path))
    posterior, predictive = folder.tables()
    return Calibration(folder.record(), posterior, predictive, folder.path)
