import json

import yaml

from sim.cli import main
from sim.loading import load_scenario
from sim.scenario import Scenario
from tests.conftest import BASE, ROOT

UNIVERSAL = ROOT / "scenarios" / "heshan_universal_two_child.yaml"


def test_population_json_has_the_contract_keys(capsys):
    assert main(["population", str(BASE), "--json", "--population-size", "20000"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert {"size", "share_0_14", "share_15_64", "share_65plus", "married_women_15_49"} <= set(summary)
    assert summary["size"] == 20000
    assert abs(summary["share_0_14"] + summary["share_15_64"] + summary["share_65plus"] - 1) < 1e-9


def test_population_table_names_each_figure(capsys):
    assert main(["population", str(BASE), "--population-size", "20000"]) == 0
    out = capsys.readouterr().out
    for label in ("size", "aged 65+", "married women 15-49", "sex ratio", "urban hukou", "Women 15-49 by parity"):
        assert label in out


def test_show_prints_the_resolved_variant_which_validates_as_the_same_scenario(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["show", str(UNIVERSAL)]) == 0
    data = yaml.safe_load(capsys.readouterr().out)
    assert "extends" not in data and str(data["policy"]["timeline"]["2016-01-01"]) == "universal_two_child"
    for section in ("population", "fertility"):
        for key, value in data[section].items():
            if key.endswith("_file"):
                data[section][key] = str(ROOT / value)
    assert Scenario.model_validate(data) == load_scenario(UNIVERSAL)


def test_schema_is_json_schema_of_every_section(tmp_path):
    out = tmp_path / "schema.json"
    assert main(["schema", "--out", str(out)]) == 0
    schema = json.loads(out.read_text())
    assert schema["additionalProperties"] is False
    assert {"period", "population", "fertility", "mortality", "marriage", "migration", "sex_ratio_at_birth",
            "policy", "behaviour", "targets", "ensemble"} <= set(schema["properties"])


def test_a_missing_file_is_a_user_error(capsys, tmp_path):
    assert main(["population", str(tmp_path / "nope.yaml")]) == 2
    assert "file not found" in capsys.readouterr().err
