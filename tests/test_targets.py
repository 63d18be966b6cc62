"""Targets files: what a calibration fits, checked like scenarios; nothing after 2015 in a shipped one."""
import pytest

from sim.calibration.targets import load_targets
from sim.errors import UserError
from tests.conftest import ROOT

SHIPPED = sorted((ROOT / "scenarios" / "targets").glob("*.yaml"))
HUNAN = ROOT / "scenarios" / "hunan_2010_base.yaml"


def test_shipped_targets_load_and_look_at_nothing_after_2015():
    assert SHIPPED, "no targets file shipped"
    for path in SHIPPED:
        targets = load_targets(path)
        assert max(targets.years) <= 2015, f"{path.name} has a target after 2015"
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
])
def test_bad_targets_are_refused_naming_file_line_and_field(tmp_path, fit, targets, message):
    with pytest.raises(UserError, match=message):
        load_targets(write(tmp_path, fit, targets))
