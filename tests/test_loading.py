"""Inheritance rules of scenario files (error reporting is covered by tests/broken)."""
from sim.scenario.loading import load_scenario
from tests.conftest import BASE, ROOT


def _write(directory, name, text):
    path = directory / name
    path.write_text(text)
    return path


def test_a_distribution_in_a_variant_replaces_the_base_distribution(tmp_path):
    variant = _write(tmp_path, "v.yaml", f"extends: {BASE}\nbehaviour:\n"
                     "  compliance: {dist: uniform, low: 0.7, high: 0.9}\n")
    assert load_scenario(variant).behaviour.compliance.dist == "uniform"


def test_a_mapping_without_dist_adjusts_the_base_distribution(tmp_path):
    variant = _write(tmp_path, "v.yaml", f"extends: {BASE}\nbehaviour:\n  compliance: {{mean: 0.7}}\n")
    compliance = load_scenario(variant).behaviour.compliance
    assert (compliance.dist, compliance.mean, compliance.sd) == ("beta", 0.7, 0.12)  # the base's sd kept


def test_data_paths_are_relative_to_the_file_that_sets_them(tmp_path):
    nested = tmp_path / "deeper"
    nested.mkdir()
    variant = _write(nested, "v.yaml", f"extends: {BASE}\nname: moved\n")
    assert load_scenario(variant).population.census_file == BASE.parent / "data" / "census2010_age_sex.csv"


def test_a_variant_adds_its_regime_to_the_base_timeline():
    import datetime as dt


    policy = load_scenario(ROOT / "scenarios" / "heshan_universal_two_child.yaml").policy
    assert policy.regime_on(dt.date(2013, 6, 1)) == "one_child"
    assert policy.regime_on(dt.date(2015, 12, 31)) == "selective_two_child"
    assert policy.regime_on(dt.date(2016, 1, 1)) == "universal_two_child"
