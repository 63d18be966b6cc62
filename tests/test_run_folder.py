"""One run per folder, each fault of issue 16 section 1 as a real `erhai` process: a busy folder, parts
without a manifest, a part of another run, a corrupt part, data changed before --resume, cut tables, --force
and two writers of one file."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from sim.results.storage import RunDirectory
from tests.conftest import ROOT

UNIVERSAL = ROOT / "scenarios" / "heshan_universal_two_child.yaml"
QUICK = ["--replicates", "4", "--population-size", "3000", "--quiet"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def erhai(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *map(str, args)], cwd=ROOT, env=ENV, capture_output=True,
                          text=True)


def started(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sim", *map(str, args)], cwd=ROOT, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stopped_run(out, *options, scenario=UNIVERSAL) -> RunDirectory:
    """A run into `out` killed (SIGKILL) once its first replicate is saved."""
    process = started("run", scenario, "--out", out, *QUICK, *options)
    directory = RunDirectory(out)
    while process.poll() is None and (not directory.parts.exists() or not any(directory.parts.glob("r*.json"))):
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not directory.complete, "the run should be stopped part-way"
    return directory


def run_ids(directory: RunDirectory) -> set[str]:
    return {json.loads(part.read_text())["run_id"] for part in directory.parts.glob("r*.json")}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A complete quick run of seed 1."""
    out = tmp_path_factory.mktemp("finished")
    assert erhai("run", UNIVERSAL, "--out", out, *QUICK, "--seed", "1").returncode == 0
    return out


@pytest.mark.parametrize("seed", ["1", "2"], ids=["same command", "another seed"])
def test_a_second_run_into_a_busy_folder_is_refused_at_once(tmp_path, seed):
    first = started("run", UNIVERSAL, "--out", tmp_path, *QUICK, "--seed", "1")
    while first.poll() is None and not (tmp_path / "manifest.json").exists():
        time.sleep(0.02)
    second = erhai("run", UNIVERSAL, "--out", tmp_path, *QUICK, "--seed", seed)
    assert first.poll() is None, "the second run should end while the first is still running"
    assert second.returncode == 2
    assert f"{tmp_path} is in use by another erhai run (pid {first.pid})" in second.stderr
    assert "Traceback" not in second.stderr
    assert first.wait() == 0
    directory = RunDirectory(tmp_path)
    manifest = directory.manifest()
    assert manifest["status"] == "complete" and manifest["settings"]["seed"] == 1
    assert directory.finished() == set(range(4)) and run_ids(directory) == {manifest["run_id"]}


def test_parts_without_a_manifest_are_refused_and_force_starts_afresh(tmp_path):
    directory = stopped_run(tmp_path, "--seed", "1")
    (tmp_path / "manifest.json").unlink()
    (tmp_path / "notes.txt").write_text("the user's own")
    left = [tmp_path / "summary.json.4242.partial", directory.parts / "r000009.json.4242.partial"]
    for partial in left:  # what a run killed while writing leaves
        partial.write_text("{")
    refused = erhai("run", UNIVERSAL, "--out", tmp_path, *QUICK, "--seed", "2")
    assert refused.returncode == 2
    assert f"{tmp_path} holds replicate parts but no manifest.json" in refused.stderr
    assert erhai("run", UNIVERSAL, "--out", tmp_path, *QUICK, "--seed", "2", "--force").returncode == 0
    manifest = directory.manifest()
    assert manifest["status"] == "complete" and manifest["settings"]["seed"] == 2
    assert run_ids(directory) == {manifest["run_id"]}
    assert (tmp_path / "notes.txt").read_text() == "the user's own"
    assert not any(partial.exists() for partial in left)


def test_force_replaces_a_complete_run_of_other_settings(finished, tmp_path):
    shutil.copytree(finished, tmp_path, dirs_exist_ok=True)
    assert erhai("run", UNIVERSAL, "--out", tmp_path, *QUICK, "--seed", "2").returncode == 2
    assert RunDirectory(tmp_path).manifest()["run_id"] == RunDirectory(finished).manifest()["run_id"]
    assert erhai("run", UNIVERSAL, "--out", tmp_path, *QUICK, "--seed", "2", "--force").returncode == 0
    assert RunDirectory(tmp_path).manifest()["settings"]["seed"] == 2
    assert (tmp_path / "replicates.csv").read_bytes() != (finished / "replicates.csv").read_bytes()


def test_a_part_of_another_run_is_refused_by_name(finished, tmp_path):
    directory = stopped_run(tmp_path, "--seed", "2")
    shutil.copy(finished / "parts" / "r000003.json", directory.parts)
    resumed = erhai("run", "--resume", tmp_path, "--quiet")
    assert resumed.returncode == 2
    assert f"{tmp_path.name}/parts/r000003.json belongs to another run" in resumed.stderr
    assert "remove it or use --force" in resumed.stderr


def test_a_corrupt_part_is_set_aside_and_recomputed(finished, tmp_path):
    directory = stopped_run(tmp_path, "--seed", "1")
    part = next(directory.parts.glob("r*.json"))
    part.write_text(part.read_text()[:1000])
    resumed = erhai("run", "--resume", tmp_path, "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{tmp_path.name}/parts/{part.name} is corrupt" in resumed.stderr
    assert part.with_name(part.name + ".corrupt").exists()
    assert (tmp_path / "replicates.csv").read_bytes() == (finished / "replicates.csv").read_bytes()


def test_resume_refuses_data_changed_since_the_run_started(tmp_path):
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    stopped_run(tmp_path / "run", "--seed", "1", scenario=tmp_path / "scenarios" / UNIVERSAL.name)
    census = tmp_path / "scenarios" / "data" / "census2010_age_sex.csv"
    census.write_text(census.read_text().replace("1", "2", 1))
    resumed = erhai("run", "--resume", tmp_path / "run", "--quiet")
    assert resumed.returncode == 2
    assert f"data file {census} has changed" in resumed.stderr


def cut_csv(folder) -> None:
    table = folder / "replicates.csv"
    lines = table.read_text().splitlines(keepends=True)
    table.write_text("".join(lines[:len(lines) // 2]))


def fewer_replicates_in_parquet(folder) -> None:
    """replicates.parquet of two replicates, its metadata kept, in a folder whose manifest predates table sizes."""
    table = pq.read_table(folder / "replicates.parquet")
    pq.write_table(table.filter(pc.less(table["replicate"], 2)), folder / "replicates.parquet")
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["tables"]
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("damage, message", [
    (cut_csv, "replicates.csv is not the table the run wrote"),
    (fewer_replicates_in_parquet, "replicates.parquet holds 2 replicates, the manifest 4"),
])
def test_a_table_not_as_the_run_wrote_it_is_refused_before_a_report(finished, tmp_path, damage, message):
    shutil.copytree(finished, tmp_path, dirs_exist_ok=True)
    (tmp_path / "report.pdf").unlink()
    damage(tmp_path)
    reported = erhai("report", tmp_path)
    assert reported.returncode == 2
    assert message in reported.stderr and "Traceback" not in reported.stderr
    assert not (tmp_path / "report.pdf").exists()


def test_two_writers_of_one_file_never_take_each_others_partial(tmp_path):
    writer = ("import sys, time; from pathlib import Path; from sim.results.storage import write_atomically\n"
              "end = time.time() + 3\n"
              "while time.time() < end: write_atomically(Path(sys.argv[1]), 'x' * 100_000)")
    writers = [subprocess.Popen([sys.executable, "-c", writer, str(tmp_path / "file")], env=ENV,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    assert [process.wait() for process in writers] == [0, 0], [process.stderr.read() for process in writers]
    assert (tmp_path / "file").read_text() == "x" * 100_000
