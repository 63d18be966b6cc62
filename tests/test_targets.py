"""Targets files: what a calibration fits, checked like scenarios; nothing after 2015 in a shipped one."""
import re

import pytest

from sim.calibration.targets import load_targets
from sim.errors import UserError
from sim.scenario.loading import load_scenario
from sim.results.backtest import read_observed
from tests.conftest import ROOT

SHIPPED = sorted((ROOT / "scenarios" / "targets").glob("*.yaml"))
HUNAN = ROOT / "scenarios" / "hunan_2010_base.yaml"


LATEST = 2015  # nothing observed or published after it is fitted or shipped as observed


def later_years(text: str) -> list[int]:
    return [int(year) for year in re.findall(r"(?<!\d)(20[0-9]{2})(?!\d)", text) if int(year) > LATEST]


def test_shipped_observations_name_no_later_year_anywhere():
    """Not as an observation's year, nor as its source's date: a figure published later was not known."""
    for path in [*SHIPPED, *sorted((ROOT / "scenarios" / "data").glob("observed_*.csv"))]:
        assert later_years(path.read_text()) == [], path.name
        if path.suffix == ".csv":
            assert read_observed(path)["year"].max() <= LATEST


def test_shipped_targets_load_and_look_at_nothing_after_2015():
    assert SHIPPED, "no targets file shipped"
    for path in SHIPPED:
        targets = load_targets(path)
        assert max(targets.years) <= LATEST, f"{path.name} has a target after {LATEST}"
        assert all(target.source for target in targets.spec.targets)


def write(tmp_path, fit: str, targets: str):
    path = tmp_path / "targets.yaml"
    path.write_text(f"name: test\nscenario: {HUNAN}\nfit:\n{fit}\ntargets:\n{targets}\n")
    return path


GOOD_FIT = "  - behaviour.compliance"
GOOD_TARGET = "  - {indicator: births, year: 2012, value: 1, sd: 1, source: test}"


@pytest.mark.parametrize("fit, targets, message", [
    (GOOD_FIT, "  - {indicator: birth, year: 2012, value: 1, sd: 1, source: test}",
     "targets.yaml:6: targets.0: .*'birth' is not an indicator a run writes"),
    (GOOD_FIT, "  - {indicator: births, year: 2025, value: 1, sd: 1, source: test}",
     "targets.yaml:6: targets.0.year: 2025 is outside the scenario's period 2010-2020"),
    (GOOD_FIT, "  - {indicator: births, year: 2012, value: 1, sd: 0, source: test}", "targets.yaml:6: targets.0.sd"),
    ("  - behaviour.complianc", GOOD_TARGET, "targets.yaml:4: fit.0: no input 'behaviour.complianc'"),
    ("  - population.size", GOOD_TARGET, "targets.yaml:4: fit.0: 'population.size' is a fixed number"),
    (GOOD_FIT, "  - {summary: uptake, since: 2015-01-01, within_months: 14, value: 0.1, sd: 0.1, source: test}",
     "targets.yaml:6: targets.0.since: 2015-01-01 is not a change of rules .*2014-03-28, 2016-01-01"),
    (GOOD_FIT, "  - {summary: uptake, since: 2016-01-01, within_months: 80, value: 0.1, sd: 0.1, source: test}",
     "targets.yaml:6: targets.0.within_months: the window ends after the scenario's period"),
    (GOOD_FIT, "  - {summary: uptake, since: 2014-03-28, year: 2014, within_months: 2, value: 0.1, sd: 0.1, source: t}",
     "targets.yaml:6: targets.0: .*an uptake target takes since and within_months, not year"),
    (GOOD_FIT, "  - {indicator: births, value: 1, sd: 1, source: test}", "targets.yaml:6: targets.0: .*takes a year"),
    (GOOD_FIT, "  - {value: 1, sd: 1, source: test}", "targets.yaml:6: targets.0: .*either an indicator"),
])
def test_bad_targets_are_refused_naming_file_line_and_field(tmp_path, fit, targets, message):
    with pytest.raises(UserError, match=message):
        load_targets(write(tmp_path, fit, targets))


def test_a_targets_file_without_a_scenario_needs_one_given(tmp_path):
    path = tmp_path / "targets.yaml"
    path.write_text(f"name: test\nfit:\n{GOOD_FIT}\ntargets:\n{GOOD_TARGET}\n")
    with pytest.raises(UserError, match="targets.yaml:1: scenario: name the scenario to calibrate"):
        load_targets(path)
    assert load_targets(path, load_scenario(HUNAN)).scenario.name == load_scenario(HUNAN).name
