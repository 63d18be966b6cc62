"""Partial rank correlation coefficients of the drawn inputs with a headline outcome."""
import numpy as np
import pandas as pd
import pytest

from sim.results.sensitivity import prcc

N = 400
# under no relation, atanh(PRCC) is about normal with variance 1 / (n - 3 - inputs held fixed);
# 4 standard deviations leave a chance of about 6e-5 to misjudge a coefficient
Z = 4.0


@pytest.fixture(scope="module")
def synthetic():
    """Inputs with a rising, an irrelevant and a falling (all non-linear, monotone) effect on the outcome."""
    rng = np.random.default_rng(2016)
    x = pd.DataFrame({name: rng.uniform(0, 1, N) for name in ("rising", "irrelevant", "falling")})
    outcome = 3 * x["rising"] ** 2 - np.exp(2 * x["falling"]) + rng.normal(0, 0.5, N)
    inputs = x.assign(replicate=np.arange(N))[["replicate", "rising", "irrelevant", "falling"]]
    return inputs, pd.Series(outcome.to_numpy(), index=np.arange(N), name="outcome")


def _fisher_z(r: float, held_fixed: int) -> float:
    return np.arctanh(r) * np.sqrt(N - 3 - held_fixed)


def test_prcc_finds_the_direction_of_each_input(synthetic):
    result = prcc(*synthetic)
    assert _fisher_z(result["rising"], 2) > Z
    assert _fisher_z(result["falling"], 2) < -Z
    assert abs(_fisher_z(result["irrelevant"], 2)) < Z
    assert list(result.index)[-1] == "irrelevant"  # sorted by absolute value


def test_prcc_equals_the_inverse_correlation_matrix_form(synthetic):
    # the partial correlation of i and y given the rest is -P_iy / sqrt(P_ii P_yy), P the inverse correlation matrix
    inputs, outcome = synthetic
    ranks = inputs.drop(columns="replicate").assign(outcome=outcome.to_numpy()).rank()
    precision = np.linalg.inv(ranks.corr().to_numpy())
    y = precision.shape[0] - 1
    expected = {name: -precision[i, y] / np.sqrt(precision[i, i] * precision[y, y])
                for i, name in enumerate(ranks.columns[:-1])}
    result = prcc(inputs, outcome)
    for name, value in expected.items():
        assert result[name] == pytest.approx(value, abs=1e-12)


def test_prcc_is_unchanged_by_monotone_transforms(synthetic):
    inputs, outcome = synthetic
    transformed = inputs.assign(rising=np.exp(5 * inputs["rising"]), falling=inputs["falling"] ** 3)
    pd.testing.assert_series_equal(prcc(transformed, np.exp(outcome)), prcc(inputs, outcome), rtol=0, atol=1e-12)


def test_prcc_aligns_inputs_and_outcome_by_replicate(synthetic):
    inputs, outcome = synthetic
    shuffled = inputs.sample(frac=1, random_state=1)
    pd.testing.assert_series_equal(prcc(shuffled, outcome), prcc(inputs, outcome), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="same replicates"):
        prcc(inputs.iloc[1:], outcome)


def test_prcc_drops_constant_inputs(synthetic):
    inputs, outcome = synthetic
    result = prcc(inputs.assign(fixed=1.5), outcome)
    assert "fixed" not in result.index
    pd.testing.assert_series_equal(result, prcc(inputs, outcome), rtol=0, atol=1e-12)


def test_prcc_refuses_too_few_replicates_or_a_constant_outcome(synthetic):
    inputs, outcome = synthetic
    with pytest.raises(ValueError, match="more than 4 replicates"):
        prcc(inputs.iloc[:4], outcome.iloc[:4])
    with pytest.raises(ValueError, match="same in every replicate"):
        prcc(inputs, outcome * 0)
