"""The one ordered list of processes: every engine follows it, and the streams are named by it."""
import numpy as np
import pandas as pd
import pytest

from sim.engines.agents import AgentModel
from sim.engines.columnar import ColumnarModel
from sim.engines.expected import ExpectedModel
from sim.engines.processes import PROCESS_NAMES, PROCESSES, processes_named
from sim.population.people import COLUMNS
from sim.population.synthesis import synthesize
from sim.streams import STREAMS, replicate_seed, stream_seed, streams

ENGINES = (ColumnarModel, AgentModel, ExpectedModel)


@pytest.fixture(scope="module")
def tiny_base(universal):
    return synthesize(universal, np.random.default_rng(5), 3_000)


def build(engine, scenario, synthesis, names):
    processes = processes_named(names)
    if engine is ExpectedModel:
        return engine(scenario, synthesis, processes)
    return engine(scenario, synthesis, streams(replicate_seed(1, 0)), processes)


def one_year(engine, scenario, synthesis, names) -> dict:
    model = build(engine, scenario, synthesis, names)
    while not model.yearly:
        model.step()
    return model.yearly[0]


@pytest.mark.parametrize("engine", ENGINES, ids=lambda engine: engine.__name__)
def test_every_engine_runs_the_list_it_is_given_in_its_order(engine, universal, tiny_base, monkeypatch):
    called = []
    for name in PROCESS_NAMES:
        original = getattr(engine, f"_{name}")

        def recording(self, step, name=name, original=original):
            called.append(name)
            original(self, step)
        monkeypatch.setattr(engine, f"_{name}", recording)
    reordered = ("ageing", "births", "policy", "deaths", "conception", "migration")  # marriage left out
    build(engine, universal, tiny_base, reordered).step()
    assert tuple(called) == reordered


@pytest.mark.parametrize("left_out, indicator", [("births", "births"), ("deaths", "deaths")])
def test_leaving_a_process_out_leaves_its_events_out_of_every_engine(left_out, indicator, universal, tiny_base):
    names = [name for name in PROCESS_NAMES if name != left_out]
    for engine in ENGINES:
        full = one_year(engine, universal, tiny_base, PROCESS_NAMES)
        without = one_year(engine, universal, tiny_base, names)
        assert full[indicator] > 0 and without[indicator] == 0, engine.__name__


def test_the_default_order_is_the_list(universal, tiny_base):
    for engine in ENGINES:
        model = build(engine, universal, tiny_base, PROCESS_NAMES)
        assert [method.__name__ for method in model.processes] == [f"_{name}" for name in PROCESS_NAMES]


def test_an_unknown_process_is_refused():
    with pytest.raises(ValueError, match="divorce"):
        processes_named(["births", "divorce"])


def test_processes_name_real_columns_and_their_own_streams():
    for process in PROCESSES:
        assert set(process.reads) | set(process.writes) <= set(COLUMNS), process.name
    named = [process.stream for process in PROCESSES if process.stream]
    assert len(set(named)) == len(named)
    assert set(named) <= set(STREAMS)


def test_a_stream_is_seeded_by_its_name_not_its_place(monkeypatch):
    seed = replicate_seed(20160101, 3)
    before = {name: rng.random(4) for name, rng in streams(seed).items()}
    monkeypatch.setattr("sim.streams.STREAMS", ("divorce", *reversed(STREAMS)))
    after = {name: rng.random(4) for name, rng in streams(seed).items()}
    assert all(np.array_equal(before[name], after[name]) for name in STREAMS)
    draws = pd.DataFrame(before)
    assert draws.T.duplicated().sum() == 0  # every stream draws its own numbers
    assert stream_seed(seed, "deaths").spawn_key != stream_seed(seed, "births").spawn_key
