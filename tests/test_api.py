"""The Python API at the centre: a notebook's calls, in memory and from disk, give the same tables."""
import pandas as pd
import pyarrow.parquet as pq
import pytest

import sim
from sim.results.runs import TABLES
from sim.results.storage import RunDirectory
from tests.conftest import ROOT, UNIVERSAL

QUICK = dict(population_size=3000)


@pytest.fixture(scope="module")
def scenario():
    return sim.load_scenario(UNIVERSAL)


@pytest.fixture(scope="module")
def in_memory(scenario):
    return sim.Ensemble(scenario, replicates=4, seed=3, jobs=2, **QUICK).run()


@pytest.fixture(scope="module")
def on_disk(scenario, tmp_path_factory):
    out = tmp_path_factory.mktemp("api") / "run"
    sim.Ensemble(scenario, replicates=4, seed=3, jobs=1, **QUICK).run(out=out)
    return sim.open_run(out)


def test_in_memory_and_from_disk_give_identical_tables(in_memory, on_disk):
    for name in ("yearly", "inputs", "pyramids", "backlogs"):
        pd.testing.assert_frame_equal(getattr(in_memory, name), getattr(on_disk, name), obj=name)
    assert in_memory.summary == on_disk.summary
    assert in_memory.manifest["run_id"] == on_disk.manifest["run_id"]
    assert in_memory.path is None and on_disk.path is not None


def test_the_summary_is_typed(in_memory):
    population = in_memory.summary.population
    final = population.p_exceed_final
    assert population.limit == in_memory.caps[0].limit and population.year == 2020
    assert 0 <= final.ci95[0] <= final.p <= final.ci95[1] <= 1 and final.mcse >= 0
    assert in_memory.summary.natural_growth.p_exceed_mean.p == \
        (in_memory.outcomes["natural_growth_mean"] > 8.5).mean()
    with pytest.raises(AttributeError, match="its caps are"):
        in_memory.summary.migration


def test_an_ensemble_is_a_replicate_by_year_array(in_memory):
    dataset = in_memory.to_xarray()
    assert dict(dataset.sizes) == {"replicate": 4, "year": 5}
    assert float(dataset["births"].sel(replicate=2, year=2017)) == \
        in_memory.yearly.query("replicate == 2 and year == 2017")["births"].item()
    assert dataset.attrs["scenario"] == in_memory.scenario.name


def test_one_simulation_is_the_ensembles_replicate(scenario, in_memory):
    one = sim.Simulation(scenario, seed=3, replicate=2, **QUICK).run()
    pd.testing.assert_frame_equal(one.yearly.reset_index(drop=True),
                                  in_memory.yearly.query("replicate == 2").reset_index(drop=True))
    assert one.inputs == in_memory.inputs.query("replicate == 2").drop(columns="replicate").iloc[0].to_dict()


def test_parquet_tables_carry_the_run_identity(on_disk):
    manifest = RunDirectory(on_disk.path).manifest()
    for name in TABLES:
        metadata = pq.read_schema(on_disk.path / f"{name}.parquet").metadata
        assert metadata[b"erhai.scenario"].decode() == manifest["scenario_name"]
        assert metadata[b"erhai.run_id"].decode() == manifest["run_id"]
        pd.testing.assert_frame_equal(pd.read_csv(on_disk.path / f"{name}.csv"),
                                      pq.read_table(on_disk.path / f"{name}.parquet").to_pandas(),
                                      check_dtype=False, obj=name)


def test_a_variant_is_validated_like_a_file(scenario):
    variant = scenario.with_values({"behaviour.compliance": 0.7, "behaviour.second_child_intention": 0.5})
    assert variant.behaviour.compliance == 0.7
    assert variant.behaviour.second_child_intention.urban == variant.behaviour.second_child_intention.rural == 0.5
    adjusted = scenario.with_values({"behaviour.catch_up.acting_share": {"mean": 0.6}})
    assert adjusted.behaviour.catch_up.acting_share.mean == 0.6
    assert adjusted.behaviour.catch_up.acting_share.sd == scenario.behaviour.catch_up.acting_share.sd
    with pytest.raises(sim.UserError, match=r"behaviour\.compliance: value must lie in \[0.0, 1.0\]; got 1.7"):
        scenario.with_values({"behaviour.compliance": 1.7})
    with pytest.raises(sim.UserError, match="no input 'behaviour.complianc'"):
        scenario.with_values({"behaviour.complianc": 0.7})


def test_a_comparison_in_memory_is_the_one_on_disk(tmp_path):
    experiment = ROOT / "experiments" / "policy_variants.yaml"
    in_memory = sim.compare(experiment, replicates=2, seed=4, **QUICK)
    sim.compare(experiment, replicates=2, seed=4, out=tmp_path, **QUICK)
    on_disk = sim.open_comparison(tmp_path)
    pd.testing.assert_frame_equal(in_memory.table, on_disk.table, check_dtype=False)
    assert list(in_memory.variants) == list(on_disk.variants) == [v["name"] for v in on_disk.description["variants"]]
    universal = in_memory.variants["universal_two_child"]
    assert universal.summary == on_disk.variants["universal_two_child"].summary
    # paired: every variant drew the same inputs (those the variants share)
    shared = ["behaviour.compliance", "population.size"]
    for result in in_memory.variants.values():
        pd.testing.assert_frame_equal(result.inputs[shared], universal.inputs[shared])
