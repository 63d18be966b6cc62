"""Every file in tests/broken/ must fail `erhai validate` with the error its header expects.

The expectations live in the broken files themselves; see tests/broken/README.md.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
BROKEN = sorted((ROOT / "tests" / "broken").glob("*.yaml"))
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
PROBLEM = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?:(?P<field>[^\s:]+): )?(?P<message>.*)$")


def expectation(path: Path) -> dict[str, str]:
    """The `# expect:` header as a dict (file defaults to the broken file itself), plus any `# xfail:`."""
    text = path.read_text(encoding="utf-8")
    header = re.search(r"^# expect: (.*)$", text, re.M)
    assert header, f"{path.name} has no '# expect:' line"
    pairs, _, message = header[1].partition(" message=")
    expected = {"file": path.name, **dict(pair.split("=", 1) for pair in pairs.split()), "message": message}
    xfail = re.search(r"^# xfail: (.*)$", text, re.M)
    return {**expected, "xfail": xfail[1] if xfail else ""}


def case(path: Path):
    reason = expectation(path)["xfail"]
    marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
    return pytest.param(path, id=path.stem, marks=marks)


@pytest.mark.parametrize("path", [case(p) for p in BROKEN])
def test_broken_scenario_fails_with_expected_problem(path, capsys):
    expected = expectation(path)
    status = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert status == 2
    assert "Traceback" not in out + err
    problems = err.splitlines()
    assert len(problems) == 1, f"expected one problem, got:\n{err}"
    got = PROBLEM.match(problems[0])
    assert got, f"not in the form path:LINE: field: message: {problems[0]!r}"
    assert Path(got["file"]).resolve() == path.parent / expected["file"]
    assert int(got["line"]) == int(expected["line"])
    assert (got["field"] or "-") == expected["field"]
    assert expected["message"] in got["message"]


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_shipped_scenario_validates(path, capsys):
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err


def test_command_line_exits_2_without_traceback():
    run = subprocess.run([sys.executable, "-m", "sim", "validate", "tests/broken/probability_above_one.yaml"],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 2
    assert "Traceback" not in run.stdout + run.stderr
    assert run.stderr.startswith("tests/broken/probability_above_one.yaml:6: behaviour.second_child_intention.rural: ")
