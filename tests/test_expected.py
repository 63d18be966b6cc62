"""The expected-value projection against the mean of the engine's replicates, and its bookkeeping."""
import numpy as np
import pandas as pd
import pytest

from sim.engines import rules
from sim.engines.columnar import ColumnarModel
from sim.engines.expected import ExpectedModel, intention_classes, matched_shares
from sim.population.synthesis import synthesize
from sim.streams import replicate_seed, streams

SIZE = 20_000
REPLICATES = 200
# about 45 comparisons: a 4-standard-error band misses by chance with probability 45 x 6e-5
Z = 4.0
COMPARED = ("population_end", "births", "births_order1", "births_order2", "births_order3plus", "births_male",
            "deaths", "married_women_15_49", "share_65plus")


@pytest.fixture(scope="module")
def base(universal):
    return synthesize(universal, np.random.default_rng(7), SIZE)


@pytest.fixture(scope="module")
def projection(universal, base):
    model = ExpectedModel(universal, base)
    model.run()
    return model


@pytest.fixture(scope="module")
def replicates(universal, base):
    models = [ColumnarModel(universal, base, streams(replicate_seed(3, r))) for r in range(REPLICATES)]
    for model in models:
        model.run()
    return models


def test_projection_is_the_mean_of_the_replicates(projection, replicates):
    runs = pd.concat([pd.DataFrame(model.yearly) for model in replicates])
    by_year = runs.groupby("year")[list(COMPARED)]
    expected = pd.DataFrame(projection.yearly).set_index("year")[list(COMPARED)]
    standard_error = by_year.std() / np.sqrt(REPLICATES)
    z = (by_year.mean() - expected) / standard_error
    assert (standard_error > 0).all().all()
    assert (z.abs() < Z).all().all(), f"means off the projection, in standard errors:\n{z.round(1).to_string()}"


def test_the_uptake_of_a_relaxation_is_the_mean_of_the_replicates(projection, replicates):
    """The newly eligible of the relaxation on the first day (the same women in every replicate and in the
    projection) and those of them who conceived within 6, 12 and 24 months."""
    windows = [6, 12, 24]

    def counts(model):
        (uptake,) = model.uptakes
        return uptake.eligible, np.cumsum(uptake.conceived)[np.array(windows) - 1]

    eligible, expected = counts(projection)
    runs = [counts(model) for model in replicates]
    np.testing.assert_allclose([run[0] for run in runs], eligible, rtol=1e-9)
    conceived = np.array([run[1] for run in runs])
    assert (conceived <= eligible).all()
    standard_error = conceived.std(axis=0, ddof=1) / np.sqrt(REPLICATES)
    z = (conceived.mean(axis=0) - expected) / standard_error
    assert (standard_error > 0).all()
    assert (np.abs(z) < Z).all(), f"conceived within {windows} months, in standard errors: {z.round(1)}"


def test_projection_balances(projection):
    yearly = pd.DataFrame(projection.yearly).set_index("year")
    change = yearly["population_end"].diff().iloc[1:]
    flows = (yearly["births"] - yearly["deaths"] + yearly["net_migrants"]).iloc[1:]
    np.testing.assert_allclose(change, flows, rtol=1e-9)


def test_husbands_grid_matches_the_wives(projection):
    """Every wife with a husband present has one in the grid of husbands' ages, at her residence and age."""
    rows = projection.rows
    wed = rows["husband"]
    wives = np.zeros(projection.husbands.couples.shape[:2])
    np.add.at(wives, (rows["residence"][wed], rows["age_months"][wed]), rows["weight"][wed])
    np.testing.assert_allclose(wives, projection.husbands.couples.sum(axis=2), atol=1e-8)


def test_expected_matching_follows_the_marriage_market():
    """On whole numbers the expected flows are exactly what `rules.match_husbands` does."""
    rng = np.random.default_rng(1)
    wanted = np.repeat([24, 25, 26, 30, 60], [300, 500, 200, 50, 5])
    men = np.repeat([24, 25, 26, 27, 30, 58], [100, 400, 300, 100, 20, 3])
    husband = rules.match_husbands(wanted, men, rng)
    drawn = np.zeros((111, 111))
    np.add.at(drawn, (wanted[husband >= 0], men[husband[husband >= 0]]), 1)
    demand = np.bincount(wanted, minlength=111).astype(float)
    expected = matched_shares(demand, np.bincount(men, minlength=111).astype(float)) * demand[:, None]
    np.testing.assert_allclose(expected, drawn)
    # the case runs the queue: short years send brides to older men, and some find no one
    assert drawn[24, 25] > 0 and drawn.sum() < len(wanted)


def test_intention_classes_behave_alike(projection):
    rates = projection.rates
    classes = intention_classes(rates)
    assert sum(share for _, share in classes) == pytest.approx(1)
    bounds = [low for low, _ in classes] + [rules.GAVE_UP]  # drawn ranks; a wish given up is a class of its own
    for (low, _), high in zip(classes, bounds[1:]):
        for parity in range(4):
            for residence in (0, 1):
                wants = rules.wants_next_child(rates, np.full(high - low, parity), np.arange(low, high),
                                               np.full(high - low, residence))
                assert wants.all() or not wants.any()
