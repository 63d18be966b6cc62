"""Calibration by ABC-SMC: a toy whose true inputs are known is recovered, the same posterior on any number of
cores and after a stop, and the command line refuses what it cannot do."""
import datetime as dt

import pandas as pd
import pytest

from sim.calibration.abc import Simulator, candidate_seeds, uptake_share
from sim.calibration.run import calibrate, open_calibration
from sim.calibration.settings import CalibrationSettings
from sim.calibration.targets import Targets, TargetsSpec, load_targets
from sim.cli import main
from sim.scenario.inputs import realize
from sim.scenario.loading import load_scenario
from tests.conftest import ROOT

HUNAN = ROOT / "scenarios" / "hunan_2010_base.yaml"
TRUTH = {"population.births_per_year": 780_000.0, "mortality.e0_female_years": 80.0}
PRIORS = {"population.births_per_year": {"dist": "normal", "mean": 860_700, "sd": 100_000},
          "mortality.e0_female_years": {"dist": "normal", "mean": 77.4, "sd": 3.0}}
SETTINGS = CalibrationSettings(seed=5, particles=30, generations=3, population_size=10_000, predictive_replicates=20)
# the chance spread of each target between replicates at the truth at 20,000 agents (measured over ten seeds),
# which is what a simulation's distance from the observations carries
SD = {"births": 55_000, "deaths": 40_000}
TRUTH_REPLICATES = 8  # the observations are their mean: what the truth gives, within a third of a simulation's sd


def toy_targets() -> Targets:
    """Hunan at its central inputs but for the two fitted ones, and targets that are the truth's mean."""
    central, _ = realize(load_scenario(HUNAN), None)
    scenario = central.with_values(PRIORS)
    rows = [{"indicator": indicator, "year": year, "value": 1.0, "sd": SD[indicator], "source": "a replicate"}
            for indicator in SD for year in (2011, 2012, 2013)]
    spec = TargetsSpec.model_validate({"name": "toy", "fit": list(PRIORS), "targets": rows})
    targets = Targets(spec, scenario, HUNAN)
    simulator = Simulator(targets, SETTINGS.population_size)
    runs = pd.DataFrame([simulator.simulate(TRUTH, seed=1000 + r) for r in range(TRUTH_REPLICATES)])
    spec = spec.model_copy(update={"targets": [t.model_copy(update={"value": runs[t.key].mean()})
                                               for t in spec.targets]})
    return Targets(spec, scenario, HUNAN)


@pytest.fixture(scope="module")
def targets():
    return toy_targets()


@pytest.fixture(scope="module")
def uninterrupted(targets, tmp_path_factory):
    return calibrate(targets, SETTINGS, tmp_path_factory.mktemp("calibration") / "whole", jobs=2)


def test_the_posterior_recovers_the_true_inputs_and_narrows_the_prior(uninterrupted):
    summary = uninterrupted.posterior_summary.set_index("input")
    for dotted, truth in TRUTH.items():
        row = summary.loc[dotted]
        assert row["posterior_5"] <= truth <= row["posterior_95"], row
        assert row["width_ratio"] < 1, row
    assert len(uninterrupted.generations) == SETTINGS.generations
    assert uninterrupted.posterior["weight"].sum() == pytest.approx(1)
    assert (uninterrupted.path / "calibration.pdf").exists()


def test_a_stopped_calibration_resumes_to_the_same_posterior_on_any_number_of_cores(targets, uninterrupted,
                                                                                    tmp_path):
    def stop_after_two(line: str) -> None:
        if line.startswith("generation 2/"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        calibrate(targets, SETTINGS, tmp_path / "stopped", jobs=1, progress=stop_after_two)
    with pytest.raises(Exception, match="not complete"):
        open_calibration(tmp_path / "stopped")
    resumed = calibrate(targets, SETTINGS, tmp_path / "stopped", jobs=2, resume=True)
    pd.testing.assert_frame_equal(resumed.posterior, uninterrupted.posterior)
    pd.testing.assert_frame_equal(resumed.predictive, uninterrupted.predictive)
    columns = ["generation", "tolerance", "simulations", "acceptance_rate", "effective_sample_size"]
    pd.testing.assert_frame_equal(resumed.generations[columns], uninterrupted.generations[columns])


def test_each_candidate_has_its_own_seeds():
    seeds = {candidate_seeds(1, generation, index)[1] for generation in (-1, 0, 1) for index in range(50)}
    assert len(seeds) == 150
    assert candidate_seeds(1, 0, 3)[1] == candidate_seeds(1, 0, 3)[1] != candidate_seeds(2, 0, 3)[1]


def test_uptake_is_the_share_of_the_first_change_on_or_after_the_date():
    uptake = pd.DataFrame({"date": ["2014-04-01"] * 2 + ["2016-01-01"] * 2, "months": [1, 2, 1, 2],
                           "eligible": [100.0, 100.0, 50.0, 50.0], "conceived": [5.0, 9.0, 10.0, 20.0]})
    assert uptake_share(uptake, dt.date(2014, 3, 28), 2) == 0.09
    assert uptake_share(uptake, dt.date(2015, 1, 1), 1) == 0.2


def test_the_command_refuses_a_folder_holding_a_calibration_and_bad_targets(uninterrupted, tmp_path, capsys):
    targets_file = ROOT / "scenarios" / "targets" / "hunan_2010_2015.yaml"
    assert main(["calibrate", "--targets", str(targets_file), "--out", str(uninterrupted.path)]) == 2
    assert "already holds a calibration" in capsys.readouterr().err
    assert main(["calibrate", "--targets", str(targets_file), "--out", str(tmp_path / "new"), "--resume"]) == 2
    assert "no calibration to resume" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nfit: [behaviour.compliance]\ntargets:\n"
                   "  - {summary: uptake, since: 2015-01-01, within_months: 14, value: 0.1, sd: 0.1, source: x}\n")
    assert main(["calibrate", str(HUNAN), "--targets", str(bad), "--out", str(tmp_path / "bad")]) == 2
    error = capsys.readouterr().err
    assert "bad.yaml:4: targets.0.since: 2015-01-01 is not a change of rules" in error
    assert "Traceback" not in error and not (tmp_path / "bad").exists()


def test_the_shipped_calibration_is_complete_and_heshan_takes_its_behaviour_from_it():
    shipped = open_calibration(ROOT / "scenarios" / "calibration")
    fitted = load_targets(ROOT / "scenarios" / "targets" / "hunan_2010_2015.yaml").spec.fit
    assert shipped.fit == fitted and list(shipped.posterior.columns) == ["weight", *fitted]
    assert max(target.get("year", 0) for target in shipped.record["targets"]) <= 2015
    heshan = load_scenario(ROOT / "scenarios" / "heshan_2015_base.yaml")
    assert heshan.inputs_from.posterior_file == (ROOT / "scenarios" / "calibration" / "posterior.csv").resolve()
    assert set(heshan.inputs_from.inputs) <= set(fitted)
