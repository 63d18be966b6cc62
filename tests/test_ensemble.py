"""Ensembles: the same bytes for any --jobs and backend, resume after a kill, nested designs, stopping rules."""
import json
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from sim.cli import main
from sim.results.storage import RunDirectory
from tests.conftest import ROOT

UNIVERSAL = ROOT / "scenarios" / "heshan_universal_two_child.yaml"
SMALL = ["--population-size", "4000", "--seed", "11", "--quiet"]
OUTPUTS = ("replicates.csv", "inputs.csv", "summary.json")


def run(out, *options) -> int:
    return main(["run", str(UNIVERSAL), "--out", str(out), *SMALL, *options])


def same_outputs(a, b) -> bool:
    return all((a / name).read_bytes() == (b / name).read_bytes() for name in OUTPUTS)


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """An uninterrupted run on one job: the outputs every other way of running must reproduce."""
    out = tmp_path_factory.mktemp("serial")
    assert run(out, "--replicates", "12", "--jobs", "1") == 0
    return out


def test_two_jobs_give_the_same_bytes_as_one(serial, tmp_path):
    assert run(tmp_path, "--replicates", "12", "--jobs", "2") == 0
    assert same_outputs(serial, tmp_path)


def test_outputs_and_manifest(serial):
    replicates, inputs = pd.read_csv(serial / "replicates.csv"), pd.read_csv(serial / "inputs.csv")
    assert list(replicates.replicate.unique()) == list(range(12)) and list(inputs.replicate) == list(range(12))
    assert inputs.drop(columns="replicate").nunique().gt(1).any()  # inputs are drawn per replicate
    manifest = json.loads((serial / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["replicates"] == 12
    assert manifest["settings"]["seed"] == 11 and len(manifest["scenario_hash"]) == 64
    assert {"erhai", "git_commit", "python", "dependencies"} <= set(manifest["provenance"])
    summary = json.loads((serial / "summary.json").read_text())
    # 4,000 agents stand for the district's people: the counts are in people, so the cap is the plan's
    assert summary["caps"]["population"]["limit"] == 920_000
    assert replicates.query("year == 2016").population_end.between(800_000, 1_000_000).all()
    assert summary["variance_decomposition"] is None


def test_a_killed_run_resumes_to_the_same_bytes(serial, tmp_path):
    command = [sys.executable, "-m", "sim", "run", str(UNIVERSAL), "--out", str(tmp_path), *SMALL,
               "--replicates", "12", "--jobs", "1"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    directory = RunDirectory(tmp_path)
    while process.poll() is None and (not directory.parts.exists() or len(directory.finished()) < 3):
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = directory.finished()
    assert 3 <= len(finished) < 12, "the run should be stopped part-way"
    assert not directory.complete and not (tmp_path / "replicates.csv").exists()

    assert main(["run", "--resume", str(tmp_path), "--quiet", "--jobs", "2"]) == 0
    assert same_outputs(serial, tmp_path)


def test_sigterm_stops_a_run_that_resume_finishes(serial, tmp_path):
    command = [sys.executable, "-m", "sim", "run", str(UNIVERSAL), "--out", str(tmp_path), *SMALL,
               "--replicates", "12", "--jobs", "1"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    directory = RunDirectory(tmp_path)
    while process.poll() is None and (not directory.parts.exists() or len(directory.finished()) < 2):
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    assert process.wait() == 130
    assert f"--resume {tmp_path}" in process.stderr.read()
    assert not directory.complete
    assert main(["run", "--resume", str(tmp_path), "--quiet"]) == 0
    assert same_outputs(serial, tmp_path)


def test_rerunning_the_same_command_finds_the_run_complete(serial, capsys):
    assert run(serial, "--replicates", "12") == 0
    assert "nothing to do" in capsys.readouterr().out


def test_other_settings_never_overwrite_a_run(serial, capsys):
    before = {name: (serial / name).read_bytes() for name in OUTPUTS}
    assert run(serial, "--replicates", "13") == 2
    assert "choose another --out" in capsys.readouterr().err
    assert before == {name: (serial / name).read_bytes() for name in OUTPUTS}


@pytest.mark.parametrize("options, message", [
    (["--resume", "DIR", "--replicates", "3"], "drop --replicates"),
    (["--out", "DIR", "--parameter-draws", "3"], "go together"),
    (["--out", "DIR", "--replicates", "4", "--max-replicates", "9"], "only applies with --until-ci"),
    (["--out", "DIR", "--backend", "dask"], "needs --scheduler"),
])
def test_bad_run_options_are_user_errors(tmp_path, capsys, options, message):
    options = [str(tmp_path) if option == "DIR" else option for option in options]
    file = [] if "--resume" in options else [str(UNIVERSAL)]
    if "--resume" in options:
        assert run(tmp_path, "--replicates", "1") == 0
    assert main(["run", *file, *options]) == 2
    assert message in capsys.readouterr().err


def test_nested_design_shares_inputs_within_a_draw_and_splits_the_variance(tmp_path):
    assert run(tmp_path, "--parameter-draws", "3", "--replicates-per-draw", "4", "--jobs", "2") == 0
    inputs = pd.read_csv(tmp_path / "inputs.csv").set_index("replicate")
    by_draw = inputs.groupby(inputs.index // 4)
    assert (by_draw.nunique() == 1).all().all()
    assert inputs.iloc[[0, 4, 8]].nunique().gt(1).any()
    decomposition = json.loads((tmp_path / "summary.json").read_text())["variance_decomposition"]
    assert decomposition["draws"] == 3 and decomposition["replicates_per_draw"] == 4
    for outcome in decomposition["outcomes"].values():
        assert outcome["inputs_share"] + outcome["chance_share"] == pytest.approx(1)


def test_nested_replicates_match_the_plain_run_where_they_share_a_stream(serial, tmp_path):
    """Replicate 0 of each design draws its inputs and its events from the same streams."""
    assert run(tmp_path, "--parameter-draws", "1", "--replicates-per-draw", "2", "--jobs", "1") == 0
    plain = pd.read_csv(serial / "replicates.csv").query("replicate == 0")
    nested = pd.read_csv(tmp_path / "replicates.csv").query("replicate == 0")
    pd.testing.assert_frame_equal(plain.reset_index(drop=True), nested.reset_index(drop=True))


def test_until_ci_adds_batches_up_to_the_maximum(tmp_path):
    assert run(tmp_path, "--replicates", "3", "--until-ci", "0.01", "--max-replicates", "7", "--jobs", "1") == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["replicates"] == 7


def test_until_ci_stops_once_precise_enough(tmp_path):
    # three replicates give Wilson half-widths of about 0.3 at best; 0.45 is met at once
    assert run(tmp_path, "--replicates", "3", "--until-ci", "0.45", "--jobs", "1") == 0
    assert json.loads((tmp_path / "summary.json").read_text())["replicates"] == 3


def test_dask_cluster_gives_the_same_bytes(serial, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        assert run(tmp_path, "--replicates", "12", "--backend", "dask", "--scheduler", cluster.scheduler_address,
                   "--jobs", "2") == 0
    assert same_outputs(serial, tmp_path)


def test_a_run_ends_in_its_report_and_erhai_report_rebuilds_it(serial, capsys):
    report = serial / "report.pdf"
    assert report.read_bytes().startswith(b"%PDF")
    report.unlink()
    assert main(["report", str(serial)]) == 0
    assert report.exists() and str(report) in capsys.readouterr().out


def test_an_unfinished_run_has_no_report(tmp_path, capsys):
    command = [sys.executable, "-m", "sim", "run", str(UNIVERSAL), "--out", str(tmp_path), *SMALL,
               "--replicates", "12", "--jobs", "1"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while process.poll() is None and not (tmp_path / "manifest.json").exists():
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert main(["report", str(tmp_path)]) == 2
    assert "the run is not complete" in capsys.readouterr().err
    assert not (tmp_path / "report.pdf").exists()
    assert main(["report", str(tmp_path / "nowhere")]) == 2
