"""Every scenario in tests/bad_inputs/ (with the data tables it names) is refused by `erhai validate` with the
problem its header expects, and `erhai run` refuses it with the same words before it makes a results folder.

The files follow tests/broken/'s header convention (see tests/broken/README.md and tests/bad_inputs/README.md).
Both commands run in-process: a subprocess a file would cost seconds each.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from sim.cli import main
from tests.test_broken_scenarios import PROBLEM, expectation

ROOT = Path(__file__).resolve().parent.parent
BAD = sorted((ROOT / "tests" / "bad_inputs").glob("*.yaml"))


def test_corpus_covers_sixty_files():
    assert len(BAD) >= 60


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_validate_refuses_with_expected_problem_and_run_agrees(path, capsys, tmp_path):
    expected = expectation(path)
    assert main(["validate", str(path)]) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    problems = err.splitlines()
    assert len(problems) == 1, f"expected one problem, got:\n{err}"
    got = PROBLEM.match(problems[0])
    assert got, f"not in the form path:LINE: field: message: {problems[0]!r}"
    assert Path(got["file"]).resolve() == (path.parent / expected["file"]).resolve()
    assert int(got["line"]) == int(expected["line"])
    assert (got["field"] or "-") == expected["field"]
    assert expected["message"] in got["message"]

    out_dir = tmp_path / "run"
    assert main(["run", str(path), "--out", str(out_dir), "--population-size", "2000", "--replicates", "1",
                 "--quiet"]) == 2
    assert capsys.readouterr().err == err
    assert not out_dir.exists()
