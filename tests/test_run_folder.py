"""One run per folder, each fault of issue 16 section 1 as a real process."""
import os
import subprocess
import sys

from tests.conftest import ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def test_two_writers_of_one_file_never_take_each_others_partial(tmp_path):
    writer = ("import sys, time; from pathlib import Path; from sim.results.storage import write_atomically\n"
              "end = time.time() + 3\n"
              "while time.time() < end: write_atomically(Path(sys.argv[1]), 'x' * 100_000)")
    writers = [subprocess.Popen([sys.executable, "-c", writer, str(tmp_path / "file")], env=ENV,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    assert [process.wait() for process in writers] == [0, 0], [process.stderr.read() for process in writers]
    assert (tmp_path / "file").read_text() == "x" * 100_000
