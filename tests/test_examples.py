"""Every example script runs end to end on a quick run and says what it was written to show."""
import subprocess
import sys

import pytest

from tests.conftest import ROOT

QUICK = ["--replicates", "2", "--population-size", "3000", "--jobs", "1"]


@pytest.mark.parametrize("script, says", [
    ("variant.py", "Paired difference in births (eager minus plan)"),
    ("sweep.py", "population.p_exceed_final crosses 50%"),
    ("backtest.py", "share_65plus"),
])
def test_example_runs(script, says):
    done = subprocess.run([sys.executable, str(ROOT / "examples" / script), *QUICK], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert says in done.stdout
