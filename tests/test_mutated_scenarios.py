"""A property: a shipped scenario with one value changed at random is either refused cleanly by `erhai validate`
(exit 2, no traceback) or runs to completion, in a quick run, with every yearly indicator a number.

Two indicators have no value in a year without the births they are of, so NaN is theirs to give then: `srb` in
a year without girls born, `mean_age_mother` in a year without births. Any other NaN, or any exception but a
refusal, fails. Few examples, derandomized: the test is a net for crashes, cheap and the same on every CI run.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.scenario.loading import load_runnable, resolve
from sim.simulation import run_replicate

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = [ROOT / "scenarios" / name for name in ("heshan_universal_two_child.yaml", "hunan_2010_base.yaml")]
QUICK_RUN_AGENTS = 2000
VALUES = st.one_of(st.booleans(), st.none(), st.integers(-10**6, 10**6), st.integers(10**15, 10**400),
                   st.floats(allow_nan=True, allow_infinity=True), st.floats(-2.0, 2.0), st.text(max_size=8),
                   st.dates(dt.date(1800, 1, 1), dt.date(2300, 1, 1)), st.lists(st.integers(0, 100), max_size=3))


# most mutations of a number scale it, so that many stay valid and run; the rest put any value there
FACTORS = st.sampled_from([0.0, 0.5, 0.9, 1.1, 2.0, 10.0, -1.0])


def new_value(data: st.DataObject, original: Any) -> Any:
    if isinstance(original, (int, float)) and not isinstance(original, bool) and data.draw(st.booleans()):
        return type(original)(original * data.draw(FACTORS, label="factor"))
    return data.draw(VALUES, label="value")


def at(data: Any, path: tuple) -> Any:
    for k in path:
        data = data[k]
    return data


def leaves(data: Any, key: tuple = ()) -> list[tuple]:
    """The key path of every value in `data` that is not a mapping or a list, except data files' paths."""
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else None
    if items is None:
        return [key]
    return [path for k, v in items if not str(k).endswith("_file") for path in leaves(v, (*key, k))]


def mutated(data: Any, path: tuple, value: Any) -> Any:
    copy = yaml.safe_load(yaml.safe_dump(data))
    at(copy, path[:-1])[path[-1]] = value
    return copy


def assert_numbers(yearly) -> None:
    legitimately_missing = {"srb": yearly["births_female"] == 0, "mean_age_mother": yearly["births"] == 0}
    for column in yearly.columns:
        missing = yearly[column].isna()
        allowed = legitimately_missing.get(column, False)
        assert not (missing & ~allowed).any(), f"{column} is NaN:\n{yearly}"
        assert np.isfinite(yearly[column][~missing]).all(), f"{column} is infinite:\n{yearly}"


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_mutated_scenario_is_refused_or_runs(data, tmp_path, capsys):
    shipped = data.draw(st.sampled_from(SHIPPED), label="scenario")
    original = resolve(shipped).data
    path = data.draw(st.sampled_from(leaves(original)), label="path")
    file = tmp_path / "mutated.yaml"
    file.write_text(yaml.safe_dump(mutated(original, path, new_value(data, at(original, path)))))
    status = main(["validate", str(file)])
    out, err = capsys.readouterr()
    assert status in (0, 2) and "Traceback" not in out + err
    if status == 0:
        scenario = load_runnable(file)
        result = run_replicate(scenario, scenario.ensemble.seed, 0, population_size=QUICK_RUN_AGENTS)
        assert_numbers(result.yearly)
