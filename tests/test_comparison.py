"""Experiments: files checked with lines, paired differences, the 50% crossing, and `erhai compare` end to end."""
import json

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.comparison import fifty_percent_crossing, paired_difference
from sim.errors import UserError
from sim.scenario.experiment import load_experiment
from tests.conftest import ROOT

SCENARIOS = ROOT / "scenarios"


def write(path, text):
    path.write_text(text)
    return path


# --- paired differences ---------------------------------------------------------------------

def test_paired_difference_is_the_difference_of_the_shares_inside_its_interval():
    rng = np.random.default_rng(3)
    reference = rng.random(200) < 0.3
    variant = reference | (rng.random(200) < 0.2)
    difference, low, high = paired_difference(reference, variant)
    assert difference == pytest.approx(variant.mean() - reference.mean())
    assert -1 <= low < difference < high <= 1


def test_pairing_narrows_the_interval():
    """The same shares, once from agreeing pairs and once from unrelated ones."""
    rng = np.random.default_rng(4)
    reference = rng.random(400) < 0.4
    agreeing = reference.copy()
    agreeing[np.flatnonzero(~reference)[:40]] = True  # ten points more, pairs otherwise the same
    unrelated = rng.permutation(agreeing)
    _, low, high = paired_difference(reference, agreeing)
    _, low_unpaired, high_unpaired = paired_difference(reference, unrelated)
    assert high - low < 0.5 * (high_unpaired - low_unpaired)


def test_paired_interval_covers_the_true_difference_about_95_percent_of_the_time():
    """Newcombe (1998) reports coverage of 0.93-0.97 for method 10. With 2,000 trials the measured share has a
    standard error of sqrt(0.95 x 0.05 / 2000) = 0.005, so it lies within 0.92-0.98 unless the interval is wrong."""
    rng = np.random.default_rng(5)
    # pairs: both 0.2, reference only 0.05, variant only 0.15, neither 0.6 -> true difference 0.10
    cells = np.array([0.2, 0.05, 0.15, 0.6])
    covered = 0
    for _ in range(2000):
        kind = rng.choice(4, size=150, p=cells)
        reference, variant = np.isin(kind, (0, 1)), np.isin(kind, (0, 2))
        _, low, high = paired_difference(reference, variant)
        covered += low <= 0.10 <= high
    assert 0.92 <= covered / 2000 <= 0.98


def test_fifty_percent_crossing():
    assert fifty_percent_crossing(np.array([0.1, 0.3, 0.5]), np.array([0.2, 0.4, 0.8])) == pytest.approx(0.35)
    assert fifty_percent_crossing(np.array([0.5, 0.1, 0.3]), np.array([0.8, 0.2, 0.4])) == pytest.approx(0.35)
    assert fifty_percent_crossing(np.array([0.1, 0.3]), np.array([0.1, 0.2])) is None
    assert fifty_percent_crossing(np.array([0.1, 0.3]), np.array([0.5, 0.9])) == pytest.approx(0.1)


# --- experiment files ---------------------------------------------------------------------------

def test_shipped_experiments_load():
    variants = load_experiment(ROOT / "experiments" / "policy_variants.yaml")
    assert variants.kind == "variants" and len(variants.variants) == 5
    assert {str(v.scenario.policy.timeline) for v in variants.variants}.__len__() == 5
    sweep = load_experiment(ROOT / "experiments" / "acting_share_sweep.yaml")
    assert sweep.kind == "sweep" and [v.values["behaviour.catch_up.acting_share"] for v in sweep.variants] == \
        pytest.approx([0.1, 0.3, 0.5, 0.7, 0.9])
    assert sweep.variants[2].scenario.behaviour.catch_up.acting_share == pytest.approx(0.5)


def test_a_residence_pair_takes_the_swept_value_for_both_residences(tmp_path):
    file = write(tmp_path / "pair.yaml", f"""name: pair
base: {SCENARIOS / 'heshan_universal_two_child.yaml'}
sweep:
  - input: behaviour.second_child_intention
    values: [0.8, 0.9]
""")
    intention = load_experiment(file).variants[1].scenario.behaviour.second_child_intention
    assert intention.urban == intention.rural == pytest.approx(0.9)


def test_a_bad_override_names_the_experiment_file_and_line(tmp_path):
    file = write(tmp_path / "bad.yaml", f"""name: bad
base: {SCENARIOS / 'heshan_universal_two_child.yaml'}
variants:
  - name: a
  - name: b
    overrides:
      behaviour:
        compliance: 1.7
""")
    with pytest.raises(UserError) as error:
        load_experiment(file)
    assert f"{file.name}:8: behaviour.compliance:" in str(error.value)


@pytest.mark.parametrize("body, message", [
    ("variants:\n  - name: a\n  - name: a\n", "variant names must differ"),
    ("variants:\n  - name: a\n  - name: b\n    colour: red\n", "unknown key"),
    ("sweep:\n  - input: behaviour.no_such_thing\n    values: [0.1, 0.2]\n", "no input 'behaviour.no_such_thing'"),
    ("sweep:\n  - input: behaviour\n    values: [0.1, 0.2]\n", "is a section"),
    ("variants:\n  - name: a\n  - name: b\nsweep:\n  - input: behaviour.compliance\n    values: [0.1, 0.2]\n",
     "either variants or sweep"),
])
def test_bad_experiments_are_user_errors(tmp_path, body, message):
    file = write(tmp_path / "bad.yaml", f"name: bad\nbase: {SCENARIOS / 'heshan_universal_two_child.yaml'}\n{body}")
    with pytest.raises(UserError, match=message):
        load_experiment(file)


# --- erhai compare ------------------------------------------------------------------------------

SMALL = ["--replicates", "4", "--population-size", "3000", "--seed", "3", "--jobs", "1", "--quiet"]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    file = write(folder / "sweep.yaml", f"""name: backlog sweep
base: {SCENARIOS / 'heshan_universal_two_child.yaml'}
sweep:
  - input: behaviour.catch_up.acting_share
    values: [0.2, 0.8]
""")
    assert main(["compare", str(file), "--out", str(folder / "out"), *SMALL]) == 0
    return folder / "out"


def test_compare_writes_the_table_and_the_description(sweep):
    table = pd.read_csv(sweep / "comparison.csv")
    assert list(table.variant) == ["v00", "v01"] and list(table["behaviour.catch_up.acting_share"]) == [0.2, 0.8]
    assert list(table.replicates) == [4, 4] and list(table.population_size) == [3000, 3000]
    assert list(table["population.limit"]) == [920000] * 2 and list(table["population.year"]) == [2020] * 2
    assert list(table["natural_growth.limit_permille"]) == [8.5] * 2
    assert list(table["natural_growth.years"]) == ["2016-2020"] * 2
    for name in ("population.p_exceed_final", "population.p_exceed_any_year", "natural_growth.p_exceed_mean",
                 "natural_growth.p_exceed_any_year"):
        assert (table[f"{name}_low"] <= table[name]).all() and (table[name] <= table[f"{name}_high"]).all()
        diff = f"{name}_diff"
        assert table.loc[0, [diff, f"{diff}_low", f"{diff}_high"]].isna().all()  # the reference's own row
        difference = table.loc[1, diff]  # against the first variant, replicate by replicate
        assert difference == pytest.approx(table.loc[1, name] - table.loc[0, name], abs=1e-4)
        assert table.loc[1, f"{diff}_low"] <= difference <= table.loc[1, f"{diff}_high"]
    description = json.loads((sweep / "experiment.json").read_text())
    assert description["kind"] == "sweep" and description["sweep"]["inputs"] == ["behaviour.catch_up.acting_share"]
    assert description["sweep"]["labels"] == ["acting share"]
    assert description["status"] == "complete" and description["population_size"] == 3000
    assert [v["directory"] for v in description["variants"]] == ["variants/v00", "variants/v01"]
    assert (sweep / "comparison.pdf").read_bytes().startswith(b"%PDF")


def test_the_table_is_rounded_with_blank_differences_on_the_first_row(sweep):
    lines = (sweep / "comparison.csv").read_text().splitlines()
    header, first = lines[0].split(","), lines[1].split(",")
    assert all(first[header.index(column)] == "" for column in header if "_diff" in column)
    # probabilities to 4 decimals, per mille to 2, people and births whole
    table = pd.read_csv(sweep / "comparison.csv")
    probabilities = table[[column for column in table if ".p_exceed_" in column]]
    assert probabilities.notna().sum().sum() == 4 * 3 * 2 + 4 * 3  # every difference given but the reference's
    scaled = probabilities.fillna(0) * 10_000
    assert (scaled.round() == scaled.round(6)).all(axis=None)
    for column, decimals in (("population_final_median", 0), ("births_2016_2020_median", 0),
                             ("natural_growth_mean_median", 2)):
        assert (table[column] == table[column].round(decimals)).all(), column


def test_the_experiment_summary_names_what_each_variant_summary_names(sweep):
    summary = json.loads((sweep / "summary.json").read_text())
    assert {key: summary[key] for key in ("name", "seed", "replicates", "population_size", "reference")} == \
        {"name": "backlog sweep", "seed": 3, "replicates": 4, "population_size": 3000, "reference": "v00"}
    table = pd.read_csv(sweep / "comparison.csv")
    first, second = summary["variants"]
    for variant in summary["variants"]:
        own = json.loads((sweep / "variants" / variant["name"] / "summary.json").read_text())
        assert variant["caps"] == own["caps"]
    assert first["differences"] is None
    difference = second["differences"]["population"]["p_exceed_any_year"]
    assert [difference["difference"], *difference["ci95"]] == pytest.approx(
        list(table.loc[1, ["population.p_exceed_any_year_diff", "population.p_exceed_any_year_diff_low",
                           "population.p_exceed_any_year_diff_high"]]), abs=5e-5)


def test_sweep_variants_share_every_other_draw(sweep):
    """Common random numbers: replicate r of each variant draws the same value of every input not swept."""
    low, high = (pd.read_csv(sweep / "variants" / name / "inputs.csv") for name in ("v00", "v01"))
    assert not any(column.startswith("behaviour.catch_up.acting_share") for column in low.columns)
    pd.testing.assert_frame_equal(low, high)
    # paired replicates: more of the backlog acting gives no fewer second births in any replicate (the same
    # women act, and more), and more in all; in a small replicate the extra few may conceive after the window
    second = [pd.read_csv(sweep / "variants" / name / "replicates.csv").groupby("replicate").births_order2.sum()
              for name in ("v00", "v01")]
    assert (second[1] >= second[0]).all() and second[1].sum() > second[0].sum()


def test_rerunning_compare_reuses_the_finished_variants(sweep, capsys):
    parts = sorted((sweep / "variants" / "v00" / "parts").iterdir())
    stamps = [part.stat().st_mtime_ns for part in parts]
    file = sweep.parent / "sweep.yaml"
    assert main(["compare", str(file), "--out", str(sweep), *SMALL]) == 0
    assert [part.stat().st_mtime_ns for part in parts] == stamps
    other_seed = [option if option != "3" else "4" for option in SMALL]
    assert main(["compare", str(file), "--out", str(sweep), *other_seed]) == 2
    assert "choose another --out" in capsys.readouterr().err


def test_a_stopped_experiment_resumes_to_the_files_of_one_never_stopped(sweep, tmp_path, monkeypatch, capsys):
    """Stopped in the second variant (as Ctrl-C stops it), then continued with --resume from the folder alone."""
    import sim.ensemble

    out, calls, replicate_of = tmp_path / "stopped", [], sim.ensemble.replicate_of

    def stop_at_the_sixth(*args):
        calls.append(args)
        if len(calls) == 6:
            raise KeyboardInterrupt
        return replicate_of(*args)

    monkeypatch.setattr(sim.ensemble, "replicate_of", stop_at_the_sixth)
    assert main(["compare", str(sweep.parent / "sweep.yaml"), "--out", str(out), *SMALL]) == 130
    assert f"continue with erhai compare --resume {out}" in capsys.readouterr().err
    assert not (out / "comparison.csv").exists()
    assert main(["report", str(out)]) == 2
    assert f"not complete; finish it with erhai compare --resume {out}" in capsys.readouterr().err
    monkeypatch.undo()
    assert main(["compare", "--resume", str(out), "--jobs", "1", "--quiet"]) == 0
    for name in ("comparison.csv", "summary.json"):
        assert (out / name).read_bytes() == (sweep / name).read_bytes(), name
    assert "Population above 920,000 at the end of 2020:" in capsys.readouterr().out


@pytest.mark.parametrize("options, message", [
    (["--seed", "4"], "--resume takes its experiment and settings from"),
    (["FILE"], "drop FILE"),
])
def test_resume_takes_its_settings_from_the_folder(sweep, options, message, capsys):
    options = [str(sweep.parent / "sweep.yaml") if option == "FILE" else option for option in options]
    assert main(["compare", "--resume", str(sweep), *options, "--quiet"]) == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error


def test_resume_refuses_a_folder_without_an_experiment(tmp_path, capsys):
    assert main(["compare", "--resume", str(tmp_path), "--quiet"]) == 2
    assert "no experiment.json; not a folder written by erhai compare" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_compare_refuses_a_run_folder_and_variants_judged_by_other_caps(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text("{}")
    file = write(tmp_path / "caps.yaml", f"""name: other caps
base: {SCENARIOS / 'heshan_universal_two_child.yaml'}
variants:
  - name: plan
  - name: looser
    overrides: {{targets: {{population: {{limit: 950000}}}}}}
""")
    assert main(["compare", str(file), "--out", str(tmp_path / "new"), "--quiet"]) == 2
    assert "variant(s) looser set other caps (targets) than the first, plan" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
    same = write(tmp_path / "same.yaml", file.read_text().replace("950000", "920000"))
    assert main(["compare", str(same), "--out", str(run), "--quiet"]) == 2
    assert "holds a run of erhai run, not an experiment" in capsys.readouterr().err
    assert sorted(path.name for path in run.iterdir()) == ["manifest.json"]
