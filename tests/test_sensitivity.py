"""The share of a headline outcome's variance each drawn input explains (first-order indices, RBD-FAST)."""
import numpy as np
import pandas as pd
import pytest

from sim.results.sensitivity import HARMONICS, MIN_RUNS, no_effect_sd, variance_shares

N = 200
Z = 4.0  # standard deviations: a chance of about 6e-5 to misjudge one estimate


def _inputs(rng: np.random.Generator, names: tuple[str, ...], n: int = N) -> pd.DataFrame:
    x = pd.DataFrame({name: rng.uniform(0, 1, n) for name in names})
    return x.assign(replicate=np.arange(n))[["replicate", *names]]


def _outcome(values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=np.arange(len(values)), name="outcome")


def test_an_outcome_of_one_input_ranks_it_first_with_most_of_the_variance():
    rng = np.random.default_rng(2016)
    inputs = _inputs(rng, ("noise_a", "decisive", "noise_b", "noise_c", "noise_d"))
    # a falling, non-linear effect and a little chance: S1 = Var(-exp(2x)) / (that + 0.3^2)
    outcome = _outcome(-np.exp(2 * inputs["decisive"].to_numpy()) + rng.normal(0, 0.3, N))
    explained = (np.exp(4) - 1) / 4 - ((np.exp(2) - 1) / 2) ** 2
    expected = explained / (explained + 0.09)
    shares = variance_shares(inputs, outcome)
    assert shares.index[0] == "decisive" and not shares.loc["decisive", "rising"]
    assert shares.loc["decisive", "share"] == pytest.approx(expected, abs=Z * no_effect_sd(N))
    assert (shares["share"].iloc[1:].abs() < Z * no_effect_sd(N)).all()


def test_the_noise_floor_is_the_scatter_of_an_input_without_effect():
    # 200 estimates of a share that is zero, each a sum of M exponential harmonic powers (kurtosis 3 + 6 / M):
    # their sd has a relative standard error of sqrt((kurtosis - 1) / (4 * 200))
    rng = np.random.default_rng(7)
    count = 200
    estimates = [variance_shares(_inputs(rng, ("none",)), _outcome(rng.normal(size=N)))["share"].iloc[0]
                 for _ in range(count)]
    assert np.mean(estimates) == pytest.approx(0, abs=Z * no_effect_sd(N) / np.sqrt(count))
    kurtosis = 3 + 6 / HARMONICS
    assert np.std(estimates) == pytest.approx(no_effect_sd(N), rel=Z * np.sqrt((kurtosis - 1) / (4 * count)))


def test_shares_align_inputs_and_outcome_by_replicate_and_drop_constant_inputs():
    rng = np.random.default_rng(3)
    inputs = _inputs(rng, ("a", "b"))
    outcome = _outcome(inputs["a"].to_numpy() + rng.normal(0, 0.2, N))
    shares = variance_shares(inputs, outcome)
    pd.testing.assert_frame_equal(variance_shares(inputs.sample(frac=1, random_state=1).assign(fixed=1.5), outcome),
                                  shares)
    with pytest.raises(ValueError, match="same replicates"):
        variance_shares(inputs.iloc[1:], outcome)


def test_too_few_runs_or_a_constant_outcome_are_refused():
    rng = np.random.default_rng(4)
    few = _inputs(rng, ("a",), MIN_RUNS - 1)
    with pytest.raises(ValueError, match=f"at least {MIN_RUNS} runs"):
        variance_shares(few, _outcome(rng.normal(size=MIN_RUNS - 1)))
    with pytest.raises(ValueError, match="same in every replicate"):
        variance_shares(_inputs(rng, ("a",)), _outcome(np.zeros(N)))
