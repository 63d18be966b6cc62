"""Limits and faults of the machine a run is on, each through a real `erhai` process: one message, exit 2 (the
input) or 1 (the machine), never a traceback, and a folder that resumes to the bytes of an uninterrupted run."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import psutil
import pytest

from sim.cli import main
from sim.results.storage import RunDirectory
from tests.conftest import ROOT, UNIVERSAL

EPOCH = "1700000000"
SMALL = ["--replicates", "6", "--population-size", "3000", "--seed", "11"]
OUTPUTS = ("replicates.csv", "inputs.csv", "summary.json", "report.pdf")
# a run that fills its disk after three replicates: a tiny filesystem cannot be mounted without root, so the write
# fails as a full disk's does, leaving a part cut short beside the finished ones
FULL_AFTER_THREE = """
import errno, sys
from pathlib import Path
import sim.results.storage as storage
from sim.cli import main

write = storage.write_atomically

def full(path, text):
    if path.parent.name == "parts" and len(list(path.parent.glob("r*.json"))) == 3:
        partial = path.with_name(path.name + ".partial")
        partial.write_text(text[:100])
        raise OSError(errno.ENOSPC, "No space left on device", str(partial))
    write(path, text)

storage.write_atomically = full
sys.exit(main(sys.argv[1:]))
"""


ENVIRONMENT = {**os.environ, "PYTHONPATH": str(ROOT), "SOURCE_DATE_EPOCH": EPOCH}  # reports dated by the epoch


def erhai(*args: str, code: list[str] | None = None) -> subprocess.CompletedProcess:
    """`erhai ARGS` in a process of its own (or the Python `code` with ARGS), to its end."""
    return subprocess.run([sys.executable, *(code or ["-m", "sim"]), *args], cwd=ROOT, env=ENVIRONMENT,
                          capture_output=True, text=True, timeout=300)


def started(*args: str) -> subprocess.Popen:
    """`erhai ARGS` started in a process of its own."""
    return subprocess.Popen([sys.executable, "-m", "sim", *args], cwd=ROOT, env=ENVIRONMENT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def one_message(stderr: str, *words: str) -> None:
    assert "Traceback" not in stderr and stderr.startswith("erhai: "), stderr
    assert all(word in stderr for word in words), stderr


def same_outputs(a, b) -> bool:
    return all((a / name).read_bytes() == (b / name).read_bytes() for name in OUTPUTS)


def run_args(out, *options: str) -> list[str]:
    return ["run", str(UNIVERSAL), "--out", str(out), *SMALL, *options]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run: what every stopped one must resume to."""
    out = tmp_path_factory.mktemp("reference")
    done = erhai(*run_args(out, "--jobs", "1", "--quiet"))
    assert done.returncode == 0, done.stderr
    assert "estimate" not in done.stderr  # --quiet says nothing of the time
    return out


def workers_of(process: psutil.Process) -> list[psutil.Process]:
    return [child for child in process.children(recursive=True) if "popen_loky" in " ".join(child.cmdline())]


def wait_for(condition, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_identical_runs_give_identical_reports_whatever_their_own_timestamps(reference, tmp_path):
    done = erhai(*run_args(tmp_path, "--jobs", "1"))
    assert done.returncode == 0 and "erhai: this takes about" in done.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    # as if it had run on another day: the report must not show it
    (tmp_path / "manifest.json").write_text(json.dumps({**manifest, "started": "2001-02-03T04:05:06+00:00",
                                                        "finished": "2001-02-03T04:15:06+00:00"}))
    assert erhai("report", str(tmp_path)).returncode == 0
    assert same_outputs(reference, tmp_path)


def test_a_killed_worker_ends_the_run_in_one_message_and_the_folder_resumes_to_the_same_bytes(reference, tmp_path):
    process = started(*run_args(tmp_path, "--jobs", "2", "--quiet"))
    directory = RunDirectory(tmp_path)
    wait_for(lambda: directory.parts.exists() and directory.finished())
    workers_of(psutil.Process(process.pid))[0].kill()
    assert process.wait(timeout=120) == 1
    one_message(process.stderr.read(), "a worker process died", f"--resume {tmp_path}")
    assert not directory.complete
    assert erhai("run", "--resume", str(tmp_path), "--quiet").returncode == 0
    assert same_outputs(reference, tmp_path)


def test_kill_9_of_the_command_leaves_no_worker_running(tmp_path):
    process = started("run", str(UNIVERSAL), "--out", str(tmp_path), "--replicates", "200", "--population-size",
                      "3000", "--jobs", "2", "--quiet")
    command = psutil.Process(process.pid)
    wait_for(lambda: len(workers_of(command)) == 2)
    children = command.children(recursive=True)  # the workers and loky's resource trackers
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 5
    while running(children) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = running(children)
    for child in left:  # leave nothing behind, but fail
        child.kill()
    assert not left, [child.cmdline() for child in left]


def running(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those still running: an orphan that has exited may stay a zombie until something reaps it."""
    def alive(process: psutil.Process) -> bool:
        try:
            return process.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False
    return [process for process in processes if alive(process)]


def test_a_full_disk_ends_the_run_in_one_message_and_the_folder_resumes_to_the_same_bytes(reference, tmp_path):
    done = erhai(*run_args(tmp_path, "--jobs", "1", "--quiet"), code=["-c", FULL_AFTER_THREE])
    assert done.returncode == 1
    one_message(done.stderr, "No space left on device", f"--resume {tmp_path}")
    assert len(RunDirectory(tmp_path).finished()) == 3
    assert erhai("run", "--resume", str(tmp_path), "--quiet").returncode == 0
    assert same_outputs(reference, tmp_path)


def test_an_out_that_is_a_file_is_refused(tmp_path):
    file = tmp_path / "results"
    file.write_text("kept")
    done = erhai(*run_args(file, "--quiet"))
    assert done.returncode == 2 and file.read_text() == "kept"
    one_message(done.stderr, f"--out {file}: a file, not a folder")


def test_an_out_where_nothing_may_be_written_is_one_message(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    if os.access(locked, os.W_OK):
        pytest.skip("running as root: a folder's permissions do not stop its writes")
    done = erhai(*run_args(locked / "run", "--quiet"))
    assert done.returncode == 1
    one_message(done.stderr, str(locked / "run"), "Permission denied")


def test_an_out_under_proc_is_one_message():
    # /proc takes no new folders, even from root
    done = erhai(*run_args("/proc/erhai-results", "--quiet"))
    assert done.returncode == 1
    one_message(done.stderr, "/proc/erhai-results")
    assert "--resume" not in done.stderr  # nothing was started to continue


@pytest.mark.parametrize("name, damage, command", [("manifest.json", b'{"status": "runn', "report"),
                                                   ("manifest.json", b'{"status": "complete"}', "report"),
                                                   ("scenario.json", b"\xff\xfe\x00garbage", "run --resume"),
                                                   ("scenario.json", b'{"name": "not a scenario"}', "report")])
def test_a_damaged_run_file_is_one_message_naming_it(reference, tmp_path, name, damage, command):
    folder = tmp_path / "run"
    shutil.copytree(reference, folder)
    (folder / name).write_bytes(damage)
    done = erhai(*command.split(), str(folder))
    assert done.returncode == 2
    one_message(done.stderr, f"{folder / name}: damaged")


def test_a_run_that_cannot_fit_in_memory_is_refused_with_the_flag_that_overrides(tmp_path):
    done = erhai(*run_args(tmp_path, "--population-size", "1000000000", "--jobs", "64"))
    assert done.returncode == 2 and not tmp_path.joinpath("manifest.json").exists()
    one_message(done.stderr, "not --jobs 64", "of memory", "is available", "--ignore-limits")


def test_ignore_limits_runs_what_the_estimate_refuses(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("sim.resources.available_memory", lambda: 2**20)
    assert main(run_args(tmp_path, "--replicates", "2", "--jobs", "1", "--quiet")) == 2
    assert "--ignore-limits" in capsys.readouterr().err
    assert main(run_args(tmp_path, "--replicates", "2", "--jobs", "1", "--quiet", "--ignore-limits")) == 0


def test_a_variant_name_that_leads_out_of_its_folder_is_refused_at_its_line(tmp_path):
    experiment = tmp_path / "names.yaml"
    experiment.write_text(f"name: names\nbase: {UNIVERSAL}\nvariants:\n"
                          "  - name: fine\n  - name: ../../x\n  - name: '..'\n  - name: a/b\n")
    done = erhai("validate", str(experiment))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    for line, number in ((5, 1), (6, 2), (7, 3)):
        assert f"{experiment}:{line}: variants.{number}.name: a variant's name is the name of its folder" \
            in done.stderr


def test_a_swept_value_the_scenario_cannot_take_points_at_the_experiment_file(tmp_path):
    experiment = tmp_path / "sweep.yaml"
    experiment.write_text(f"name: sweep\nbase: {UNIVERSAL}\nsweep:\n  - input: behaviour.compliance\n"
                          "    values:\n      - 0.5\n      - 1.5\n")
    done = erhai("validate", str(experiment))
    assert done.returncode == 2
    assert done.stderr.startswith(f"{experiment}:7: behaviour.compliance: value must lie in [0.0, 1.0]; got 1.5")
