"""Backtests: bands, PIT and CRPS against observations of known distribution, and refusals of bad files."""
import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

import sim
from sim.cli import main
from sim.errors import UserError
from sim.results.backtest import BANDS, _scored, backtest, read_observed
from tests.conftest import ROOT, UNIVERSAL

YEARS = list(range(1800, 2100))  # many independent "years", so coverage is measured on many observations
REPLICATES = 2000  # empirical quantiles of this many draws miss their level by well under the binomial error


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("backtest") / "run"
    return sim.Ensemble(sim.load_scenario(UNIVERSAL), replicates=4, seed=3, population_size=3000).run(out)


def synthetic(run, values: np.ndarray, years: list[int]) -> sim.EnsembleResult:
    """`run` with its births replaced by `values` (replicate x year) and nothing else to score."""
    replicate, year = np.meshgrid(np.arange(values.shape[0]), years, indexing="ij")
    yearly = pd.DataFrame({"replicate": replicate.ravel(), "year": year.ravel(), "births": values.ravel()})
    return dataclasses.replace(run, yearly=yearly, pyramids=run.pyramids.iloc[:0])


def observations(years: list[int], values) -> pd.DataFrame:
    return pd.DataFrame({"year": years, "indicator": "births", "value": values, "line": range(2, len(years) + 2)})


def test_observations_from_the_runs_own_distribution_cover_the_bands_at_their_level(quick_run):
    rng = np.random.default_rng(20161)
    run = synthetic(quick_run, rng.normal(100, 10, (REPLICATES, len(YEARS))), YEARS)
    scored = backtest(run, observations(YEARS, rng.normal(100, 10, len(YEARS))))
    for row in scored.coverage.itertuples():
        # the count inside a band is binomial(n, level): a 99.9% interval misses by chance once in a thousand
        low, high = binomtest(round(row.band * row.observations), row.observations).proportion_ci(0.999)
        assert low <= row.share <= high, f"{row.band:.0%} band holds {row.share:.1%}"
        assert row.verdict == "consistent with its level"
    pit = scored.rows["pit"]
    assert abs(pit.mean() - 0.5) < 4 * np.sqrt(1 / 12 / len(pit))  # uniform PIT: mean 1/2, variance 1/12


def test_a_run_too_sure_of_itself_is_called_too_narrow(quick_run):
    rng = np.random.default_rng(20162)
    run = synthetic(quick_run, rng.normal(100, 5, (REPLICATES, len(YEARS))), YEARS)
    scored = backtest(run, observations(YEARS, rng.normal(100, 10, len(YEARS))))
    # a band of half the true spread holds P(|Z| < z_b / 2) of the observations: 26% for the 50% band
    assert (scored.coverage["verdict"] == "too narrow").all()
    # a U-shaped PIT: an observation falls below the runs' 10% point with P(Z < -1.28 x 5/10) = 0.26, above their
    # 90% point alike, so 0.52 of them are in the two outer tenths (0.2 if the spread were right); 0.4 is four
    # binomial standard errors (0.029 with 300 observations) below 0.52 and seven above 0.2
    pit = scored.rows["pit"]
    assert ((pit < 0.1) | (pit > 0.9)).mean() > 0.4


def test_crps_is_the_fair_ensemble_score():
    members, observed = np.array([1.0, 2.0, 4.0]), 3.0
    m = len(members)
    fair = (np.abs(members - observed).mean()
            - np.abs(members[:, None] - members[None, :]).sum() / (2 * m * (m - 1)))  # Ferro (2014)
    row = _scored(next(observations([2000], [observed]).itertuples()), members)
    assert row["crps"] == pytest.approx(fair) == pytest.approx(1 / 3)
    assert row["pit"] == pytest.approx(2 / 3) and row["median"] == 2.0 and row["error"] == -1.0


def test_relative_to_a_year_scores_the_shape(quick_run):
    shape = np.array([1.0, 1.25, 1.5])  # with whole levels, every ratio is exact
    levels = 4.0 * np.random.default_rng(3).integers(10, 40, 40)
    run = synthetic(quick_run, levels[:, None] * shape[None, :], [2016, 2017, 2018])
    scored = backtest(run, observations([2016, 2017, 2018], 1000 * shape), relative_to=2016)
    assert list(scored.rows["year"]) == [2017, 2018]  # the base year's ratio is 1 by construction
    assert scored.rows["observed"].tolist() == scored.rows["median"].tolist() == [1.25, 1.5]
    assert scored.rows["pit"].tolist() == pytest.approx([0.5, 0.5])  # every replicate ties: counted half
    assert scored.rows["crps"].tolist() == pytest.approx([0, 0], abs=1e-12)


def write(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize("body, message", [
    ("year,value\n2016,3\n", "1: missing column 'indicator'"),
    ("year,indicator,value,colour\n2016,births,3,red\n", "unknown column 'colour'"),
    ("# a comment\nyear,indicator,value\n2016,births,three\n", "3: value: expected a number, got 'three'"),
    ("year,indicator,value\n2016.5,births,3\n", "2: year: expected a whole year"),
    ("year,indicator,value\n2016,birth,3\n", "2: indicator: 'birth' is not an indicator a run writes"),
    ("year,indicator,value\n2016,births,3\n2016,births,4\n", "3: a second value of births in 2016"),
    ("", "no observations"),
])
def test_bad_observed_files_name_the_file_line_and_field(tmp_path, body, message):
    path = write(tmp_path / "observed.csv", body)
    with pytest.raises(UserError, match=message) as error:
        read_observed(path)
    assert "observed.csv" in str(error.value)


def test_erhai_backtest_writes_its_three_files(quick_run, tmp_path, capsys):
    observed = write(tmp_path / "observed.csv", "year,indicator,value,source\n2015,population_end,2990,test\n"
                                                "2016,births,40,test\n2017,births,45,test\n")
    assert main(["backtest", str(quick_run.path), "--observed", str(observed), "--out", str(tmp_path / "bt")]) == 0
    rows = pd.read_csv(tmp_path / "bt" / "backtest.csv")
    assert list(rows["indicator"]) == ["population_end", "births", "births"] and set(rows["source"]) == {"test"}
    summary = json.loads((tmp_path / "bt" / "backtest.json").read_text())
    assert [band["band"] for band in summary["coverage"]] == list(BANDS) and summary["observations"] == 3
    assert (tmp_path / "bt" / "backtest.pdf").read_bytes().startswith(b"%PDF")
    assert "wrote" in capsys.readouterr().out


def test_an_observation_the_run_does_not_have_is_refused_and_nothing_is_written(quick_run, tmp_path, capsys):
    observed = write(tmp_path / "observed.csv", "year,indicator,value\n2030,births,40\n")
    assert main(["backtest", str(quick_run.path), "--observed", str(observed), "--out", str(tmp_path / "bt")]) == 2
    error = capsys.readouterr().err
    assert "observed.csv does not fit the run: line 2: the run has no births for 2030" in error
    assert "Traceback" not in error and not (tmp_path / "bt").exists()


def test_every_variant_of_a_comparison_is_scored(tmp_path, capsys):
    experiment = write(tmp_path / "two.yaml", f"""name: two
variants:
  - {{name: universal, scenario: {ROOT / 'scenarios' / 'heshan_universal_two_child.yaml'}}}
  - {{name: selective, scenario: {ROOT / 'scenarios' / 'heshan_selective_two_child.yaml'}}}
""")
    sim.compare(experiment, replicates=3, seed=2, population_size=3000, out=tmp_path / "cmp")
    observed = write(tmp_path / "observed.csv", "year,indicator,value\n2017,births,45\n2018,births,40\n")
    assert main(["backtest", str(tmp_path / "cmp"), "--observed", str(observed), "--relative-to", "2016"]) == 2
    assert main(["backtest", str(tmp_path / "cmp"), "--observed", str(observed)]) == 0
    rows = pd.read_csv(tmp_path / "cmp" / "backtest.csv")
    assert list(rows["variant"]) == ["universal", "universal", "selective", "selective"]


def test_the_hunan_scenario_runs_from_its_census_and_is_held_against_its_observations():
    """A province with scaled agents, from the census day, with no caps: it runs, reports and backtests."""
    from sim.report import run_report_figures
    from sim.report.pages import RUN_PAGES
    from tests.test_report import page_text

    hunan = sim.load_scenario(ROOT / "scenarios" / "hunan_2010_base.yaml")
    run = sim.Ensemble(hunan, replicates=3, seed=1).run()
    start = run.indicator("population_end")[2010 - 1]  # the base population, in people
    assert start.tolist() == pytest.approx([hunan.population.size] * 3, rel=1e-9)
    assert run.summary.caps == {} and run.outcomes.empty
    scored = backtest(run, read_observed(ROOT / "scenarios" / "data" / "observed_hunan_2010_2015.csv"))
    assert sorted(set(scored.rows["year"])) == [2011, 2012] and len(scored.rows) == 6
    assert scored.rows["pit"].between(0, 1).all() and (scored.rows["crps"] >= 0).all()
    pages = run_report_figures(run)
    assert len(pages) == len(RUN_PAGES) and "sets no caps" in page_text(pages[0])
