"""The summary.json contract: exceedance probabilities, caps, quantiles, variance decomposition."""
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import f_oneway, norm

from sim.report.wording import headline_sentences
from sim.results.caps import caps_of
from sim.results.summary import (Probability, Summary, indicator_quantiles, summarize, variance_components,
                                 variance_decomposition)
from tests.test_caps import targets

Z95 = norm.ppf(0.975)
CAPS = caps_of(targets(2020, (2016, 2020)))
YEARS = [2015, 2016, 2017, 2018, 2019, 2020, 2021]


def _wilson_closed_form(k: int, n: int) -> tuple[float, float]:
    centre = (k + Z95 ** 2 / 2) / (n + Z95 ** 2)
    half = Z95 / (n + Z95 ** 2) * math.sqrt(k * (n - k) / n + Z95 ** 2 / 4)
    return centre - half, centre + half


def test_wilson_interval_of_a_published_example():
    # Newcombe (1998), Statistics in Medicine 17:857, method 3: 81/263 -> 0.2553 to 0.3662
    result = Probability.of(81, 263)
    assert list(result.ci95) == pytest.approx([0.2553, 0.3662], abs=5e-5)
    assert result.p == 81 / 263
    assert result.mcse == pytest.approx(math.sqrt(81 / 263 * 182 / 263 / 263), rel=1e-12)


@pytest.mark.parametrize("k", range(0, 21))
def test_wilson_interval_matches_the_closed_form(k):
    assert list(Probability.of(k, 20).ci95) == pytest.approx(list(_wilson_closed_form(k, 20)), abs=1e-12)


def test_wilson_interval_at_the_edges():
    none, every = Probability.of(0, 50), Probability.of(50, 50)
    assert none.ci95[0] == 0 and none.ci95[1] == pytest.approx(Z95 ** 2 / (50 + Z95 ** 2), abs=1e-12)
    assert every.ci95[1] == 1 and every.ci95[0] == pytest.approx(50 / (50 + Z95 ** 2), abs=1e-12)
    assert none.mcse == every.mcse == 0


def _replicates(rows: dict[int, tuple[list[float], list[float]]]) -> pd.DataFrame:
    """Replicates over YEARS from (population_end, natural_growth_permille) per replicate."""
    return pd.DataFrame([{"replicate": r, "year": year, "population_end": population[i],
                          "natural_growth_permille": growth[i]}
                         for r, (population, growth) in rows.items() for i, year in enumerate(YEARS)])


# years:           2015 2016 2017 2018 2019 2020 2021
HAND_BUILT = _replicates({
    # below every cap
    0: ([90, 90, 90, 90, 90, 90, 90], [5, 5, 5, 5, 5, 5, 5]),
    # above in one year only, below at the end and on average
    1: ([90, 90, 90, 101, 90, 90, 90], [5, 5, 9, 5, 5, 5, 5]),
    # exactly at the limits inside the windows, above only outside them
    2: ([130, 90, 90, 90, 90, 100, 120], [20, 8.5, 8.5, 8.5, 8.5, 8.5, 20]),
    # above every cap
    3: ([90, 90, 90, 90, 90, 150, 150], [12, 12, 12, 12, 12, 12, 12]),
})


def test_cap_probabilities_of_a_hand_built_ensemble():
    summary = summarize(HAND_BUILT, CAPS)
    population, growth = summary.population, summary.natural_growth
    assert population.limit == 100 and population.year == 2020
    assert growth.years == [2016, 2020]
    assert population.p_exceed_final == Probability.of(1, 4)
    # replicate 2's 2015 counts: the run up to the cap year includes the years before it
    assert population.p_exceed_any_year == Probability.of(3, 4)
    assert growth.p_exceed_mean == Probability.of(1, 4)
    assert growth.p_exceed_any_year == Probability.of(2, 4)


def test_indicator_mean_and_quantiles():
    values = np.random.default_rng(1).permutation(101).astype(float)
    table = pd.DataFrame({"replicate": range(101), "year": 2020, "births": values, "srb": np.nan})
    result = indicator_quantiles(table)
    assert result["births"]["2020"] == {"mean": 50.0, "q05": 5.0, "q25": 25.0, "q50": 50.0, "q75": 75.0,
                                        "q95": 95.0}
    assert set(result["srb"]["2020"].values()) == {None}


def test_summary_is_plain_json_and_reads_back_the_same():
    summary = summarize(HAND_BUILT.assign(tfr=np.nan), CAPS)
    data = summary.to_json()
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert Summary.from_json(json.loads(json.dumps(data))) == summary
    assert set(data) == {"replicates", "years", "caps", "indicators", "variance_decomposition", "input_redraws"}
    assert data["replicates"] == 4 and data["years"] == [2015, 2021]
    assert data["caps"]["population"] == {"limit": 100, "year": 2020,
                                          "p_exceed_final": Probability.of(1, 4).to_json(),
                                          "p_exceed_any_year": Probability.of(3, 4).to_json()}
    assert set(data["indicators"]) == {"population_end", "natural_growth_permille", "tfr"}
    assert data["variance_decomposition"] is None


def test_headline_sentences():
    population, growth = headline_sentences(summarize(HAND_BUILT, CAPS))
    low, high = Probability.of(1, 4).ci95
    said = f"25% (1 of 4 simulated futures; 95% interval {low:.0%} to {high:.0%}, simulation error only)."
    assert population == f"Chance that the population exceeds 100 at the end of 2020, the plan's cap: {said}"
    assert growth == ("Chance that natural growth averages above 8.5 per mille a year over 2016-2020, the plan's "
                      f"cap: {said}")
    big = caps_of(targets(2020, (2016, 2020), population_limit=920000))
    assert "exceeds 920,000 at the end" in headline_sentences(summarize(HAND_BUILT, big))[0]


def test_widest_half_width_is_that_of_the_least_certain_probability():
    low, high = Probability.of(2, 4).ci95  # p = 1/2 has the widest interval of the four
    assert summarize(HAND_BUILT, CAPS).widest_half_width() == pytest.approx((high - low) / 2, abs=1e-15)


# --- variance decomposition ----------------------------------------------------------------

P, K, INPUTS_SD, CHANCE_SD = 200, 10, 2.0, 3.0


@pytest.fixture(scope="module")
def nested():
    """Outcome = draw effect (the inputs) + replicate noise (chance), replicate r in draw r // K."""
    rng = np.random.default_rng(20160101)
    effects = rng.normal(0, INPUTS_SD, P)
    replicate = np.arange(P * K)
    outcome = 50 + effects[replicate // K] + rng.normal(0, CHANCE_SD, P * K)
    return pd.Series(outcome, index=pd.Index(replicate, name="replicate"), name="outcome")


def test_variance_components_recover_the_simulated_ones(nested):
    result = variance_components(nested, nested.index.to_series() // K)
    # sampling variances of the ANOVA estimators under normality (Searle, Casella and McCulloch 1992, ch. 3)
    within_se = math.sqrt(2 * CHANCE_SD ** 4 / (P * (K - 1)))
    between_se = math.sqrt(2 / K ** 2 * ((K * INPUTS_SD ** 2 + CHANCE_SD ** 2) ** 2 / (P - 1)
                                         + CHANCE_SD ** 4 / (P * (K - 1))))
    assert abs(result["chance_variance"] - CHANCE_SD ** 2) < 3 * within_se
    assert abs(result["inputs_variance"] - INPUTS_SD ** 2) < 3 * between_se
    assert result["inputs_share"] + result["chance_share"] == pytest.approx(1, abs=1e-12)


def test_variance_components_agree_with_the_anova_f_statistic(nested):
    draw = nested.index.to_series() // K
    result = variance_components(nested, draw)
    msw = result["chance_variance"]
    msb = K * result["inputs_variance"] + msw
    f = f_oneway(*[group.to_numpy() for _, group in nested.groupby(draw)]).statistic
    assert msb / msw == pytest.approx(f, rel=1e-10)


def test_between_draw_component_is_truncated_at_zero():
    # identical draw means: MSB = 0 < MSW, so the raw estimate is negative
    outcome = pd.Series([-1.0, 1.0] * 5)
    result = variance_components(outcome, pd.Series(np.arange(10) // 2))
    assert result == {"inputs_variance": 0.0, "chance_variance": 2.0, "inputs_share": 0.0, "chance_share": 1.0}


def test_variance_decomposition_needs_a_balanced_nested_design(nested):
    outcomes = nested.to_frame()
    assert variance_decomposition(outcomes, None) is None
    assert variance_decomposition(outcomes, 1) is None
    assert variance_decomposition(outcomes, P * K) is None  # a single draw
    with pytest.raises(ValueError, match="same number of replicates"):
        variance_decomposition(outcomes.iloc[:-1], K)


def test_summary_of_a_nested_run(nested):
    table = pd.DataFrame({"replicate": nested.index, "year": 2020, "population_end": nested.to_numpy(),
                          "natural_growth_permille": nested.to_numpy() / 10})
    caps = caps_of(targets(2020, (2020, 2020), population_limit=60, growth_limit=6.0))
    decomposition = summarize(table, caps, replicates_per_draw=K).variance_decomposition
    assert decomposition["draws"] == P and decomposition["replicates_per_draw"] == K
    assert set(decomposition["outcomes"]) == {"population_final", "population_max", "natural_growth_mean",
                                              "natural_growth_max"}
    expected = variance_components(nested, nested.index.to_series() // K)
    assert decomposition["outcomes"]["population_final"] == pytest.approx(expected)
