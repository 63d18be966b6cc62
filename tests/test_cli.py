import datetime as dt
import json
import re
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
import yaml

from sim.cli import main
from sim.scenario.loading import file_entries, load_scenario
from tests.conftest import BASE, ROOT

UNIVERSAL = ROOT / "scenarios" / "heshan_universal_two_child.yaml"


def test_population_json_has_the_contract_keys(capsys):
    assert main(["population", str(BASE), "--json", "--population-size", "20000"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert {"size", "share_0_14", "share_15_64", "share_65plus", "married_women_15_49"} <= set(summary)
    assert summary["size"] == 20000
    assert abs(summary["share_0_14"] + summary["share_15_64"] + summary["share_65plus"] - 1) < 1e-9


def test_population_reports_the_base_years_crude_rates(capsys):
    assert main(["population", str(BASE), "--json", "--population-size", "20000"]) == 0
    summary = json.loads(capsys.readouterr().out)
    rates = summary["base_year_rates_permille"]
    # births: the scenario's 10,300 a year on its central 880,600 people; deaths: by the national life table
    assert rates["birth_rate"] == round(1000 * 10_300 / 880_600, 2)
    assert 6 < rates["death_rate"] < 9
    assert rates["natural_growth"] == pytest.approx(rates["birth_rate"] - rates["death_rate"], abs=0.011)


def test_population_reports_the_backlog_of_the_next_relaxation(capsys):
    assert main(["population", str(UNIVERSAL), "--json", "--population-size", "20000"]) == 0
    backlog = json.loads(capsys.readouterr().out)["backlog"]
    assert (backlog["date"], backlog["regime"]) == ("2016-01-01", "universal_two_child")
    by_age = backlog["by_residence_and_age"]
    assert sum(sum(ages.values()) for ages in by_age.values()) == backlog["released"]  # whole women, every cell
    assert 0 < backlog["acting"] < backlog["released"]
    assert by_age["urban"]["15-19"] == 0  # nobody's child is old enough and her wish blocked that young
    assert main(["population", str(BASE), "--json", "--population-size", "20000"]) == 0
    assert json.loads(capsys.readouterr().out)["backlog"] is None  # the base scenario changes no rule


def test_population_table_names_each_figure(capsys):
    assert main(["population", str(BASE), "--population-size", "20000"]) == 0
    out = capsys.readouterr().out
    for label in ("size", "aged 65+", "married women 15-49", "sex ratio", "urban hukou", "Women 15-49 by parity",
                  "base year per mille", "years free to act", "census year, births per first birth", "Backlog"):
        assert label in out


def test_show_writes_the_resolved_variant_which_loads_as_the_same_scenario_from_any_folder(capsys, monkeypatch,
                                                                                          tmp_path):
    monkeypatch.chdir(ROOT)  # where paths relative to the working directory would be short
    printed, written = tmp_path / "printed.yaml", tmp_path / "deeper" / "written.yaml"
    written.parent.mkdir()
    assert main(["show", str(UNIVERSAL)]) == 0
    printed.write_text(capsys.readouterr().out)
    assert main(["show", str(UNIVERSAL), "--out", str(written)]) == 0
    data = yaml.safe_load(written.read_text())
    assert "extends" not in data and str(data["policy"]["timeline"]["2016-01-01"]) == "universal_two_child"
    assert all(not Path(mapping[key]).is_absolute() for _, mapping, key in file_entries(data))
    monkeypatch.chdir(tmp_path)
    assert main(["validate", str(printed), str(written)]) == 0
    assert load_scenario(printed) == load_scenario(written) == load_scenario(UNIVERSAL)


def test_schema_is_json_schema_of_every_section(tmp_path):
    out = tmp_path / "schema.json"
    assert main(["schema", "--out", str(out)]) == 0
    schema = json.loads(out.read_text())
    assert schema["additionalProperties"] is False
    assert {"period", "population", "fertility", "mortality", "marriage", "migration", "sex_ratio_at_birth",
            "policy", "behaviour", "targets", "ensemble"} <= set(schema["properties"])


def _as_an_editor_reads(path):
    """A YAML file as JSON sees it: dates are strings (editors read YAML 1.2, which has no dates)."""
    def plain(value):
        if isinstance(value, dict):
            return {str(key): plain(item) for key, item in value.items()}
        return [plain(item) for item in value] if isinstance(value, list) else \
            value.isoformat() if isinstance(value, dt.date) else value
    return plain(yaml.safe_load(path.read_text()))


def test_every_shipped_scenario_meets_the_schema_and_an_unknown_key_does_not(tmp_path):
    out = tmp_path / "schema.json"
    assert main(["schema", "--out", str(out)]) == 0
    schema = json.loads(out.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema, format_checker=jsonschema.FormatChecker())
    validator.check_schema(schema)
    scenarios = sorted((ROOT / "scenarios").glob("*.yaml"))
    assert any("extends" in _as_an_editor_reads(path) for path in scenarios)
    for path in scenarios:
        assert not list(validator.iter_errors(_as_an_editor_reads(path))), path.name
    misspelt, adjusted, orphan = (_as_an_editor_reads(path) for path in (BASE, UNIVERSAL, UNIVERSAL))
    misspelt["behaviour"]["complaince"] = 0.3
    adjusted["behaviour"] = {"compliance": {"mean": 0.7}}  # a variant may adjust the base's distribution ...
    assert not list(validator.iter_errors(adjusted))
    adjusted["behaviour"]["compliance"]["sdd"] = 0.1  # ... but not with a key no distribution has
    del orphan["extends"]  # without it, what the base gave is missing
    for wrong in (misspelt, adjusted, orphan):
        assert list(validator.iter_errors(wrong))


def test_validate_checks_an_experiment_as_an_experiment_and_targets_as_targets(tmp_path, capsys):
    files = [*sorted((ROOT / "experiments").glob("*.yaml")), *sorted((ROOT / "scenarios" / "targets").glob("*.yaml"))]
    assert main(["validate", *map(str, files)]) == 0
    out = capsys.readouterr().out
    assert "an experiment of 5 variants" in out and "calibration targets" in out
    broken = tmp_path / "broken.yaml"
    broken.write_text(f"name: broken\nvariants:\n  - {{name: a, scenario: {UNIVERSAL}}}\n  - name: b\n"
                      f"    scenario: {UNIVERSAL}\n    overrides: {{behaviour: {{complaince: 0.9}}}}\n")
    assert main(["validate", str(broken)]) == 2
    problems = capsys.readouterr().err.splitlines()
    assert len(problems) == 1 and problems[0].startswith(f"{broken}:6: behaviour.complaince: unknown key")


def test_a_missing_file_is_a_user_error(capsys, tmp_path):
    assert main(["population", str(tmp_path / "nope.yaml")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_run_writes_the_yearly_indicators_of_each_replicate(tmp_path, capsys):
    from sim.indicators import INDICATORS

    code = main(["run", str(UNIVERSAL), "--replicates", "2",
                 "--seed", "5", "--population-size", "5000", "--out", str(tmp_path)])
    assert code == 0
    table = pd.read_csv(tmp_path / "replicates.csv")
    assert list(table.columns) == ["replicate", "year", *INDICATORS]
    assert sorted(table.replicate.unique()) == [0, 1] and sorted(table.year.unique()) == list(range(2016, 2021))
    summary = capsys.readouterr().out.splitlines()
    assert not any("natural_growth_permille" in line for line in summary)  # words, not column names
    rows = {line.split("  ")[1]: line.split()[-5:] for line in summary if line.startswith("  ")}
    assert all(re.fullmatch(r"\d{1,3}(,\d{3})*", value) for value in rows["population at the end of the year"])
    assert all(re.fullmatch(r"-?\d+\.\d", value) for value in rows["natural growth per 1,000 people"])
    assert not list(tmp_path.glob("*.partial"))


def test_run_of_a_broken_scenario_exits_2_and_writes_nothing(tmp_path, capsys):
    code = main(["run", str(ROOT / "tests" / "broken" / "probability_above_one.yaml"), "--out", str(tmp_path / "out")])
    assert code == 2
    assert not (tmp_path / "out").exists()
    assert "second_child_intention.rural" in capsys.readouterr().err


def test_a_quick_run_too_small_for_the_synthesis_says_so_and_what_size_would_do_and_leaves_no_run(tmp_path, capsys):
    kept = tmp_path / "kept"  # a folder the user had: only the run's own files go
    kept.mkdir()
    (kept / "notes.txt").write_text("mine")
    for out in (tmp_path / "new", kept):
        assert main(["run", str(UNIVERSAL), "--replicates", "4", "--population-size", "40", "--jobs", "1",
                     "--out", str(out), "--quiet"]) == 2  # quiet: no time estimate beside the message
        problem = capsys.readouterr().err.strip()
        assert re.fullmatch(r"erhai: a quick run of 40 simulated people is too small for (the marriage market|the "
                            r"base year's births) \(.+\); use --population-size of at least \d,\d00", problem)
    assert not (tmp_path / "new").exists() and [path.name for path in kept.iterdir()] == ["notes.txt"]
