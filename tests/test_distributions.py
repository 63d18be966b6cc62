import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from sim.scenario.distributions import (Beta, LogNormal, Normal, Probability, Triangular, Uncertain, Uniform, central,
                                        draw)

UNCERTAIN = TypeAdapter(Uncertain)
PROBABILITY = TypeAdapter(Probability)
N = 200_000


DRAWN_CASES = [
    ({"dist": "beta", "mean": 0.35, "sd": 0.08}, 0.35, 0.08),
    ({"dist": "normal", "mean": 10300, "sd": 800}, 10300, 800),
    ({"dist": "lognormal", "mean": 2.0, "sd": 0.5}, 2.0, 0.5),
    ({"dist": "uniform", "low": 1, "high": 3}, 2.0, 2 / math.sqrt(12)),
    ({"dist": "triangular", "low": 0, "mode": 1, "high": 2}, 1.0, math.sqrt(1 / 6)),
    ({"dist": "fixed", "value": 4.5}, 4.5, 0.0),
]


@pytest.mark.parametrize("spec, mean, sd", DRAWN_CASES)
def test_draws_have_the_stated_mean_and_sd(spec, mean, sd):
    dist = UNCERTAIN.validate_python(spec)
    sample = dist.sample(np.random.default_rng(1), N)
    # five standard errors: a false alarm once in 3.5 million runs
    assert abs(sample.mean() - mean) <= 5 * sd / math.sqrt(N) + 1e-12
    assert central(dist) == pytest.approx(mean)
    if sd:
        # SE of a sample sd is sd * sqrt((kurtosis - 1) / 4N); kurtosis <= 9 for all of these
        assert sample.std() == pytest.approx(sd, rel=5 * math.sqrt(8 / (4 * N)))


@pytest.mark.parametrize("spec, mean, sd", [case for case in DRAWN_CASES if case[0]["dist"] != "fixed"])
def test_a_prior_is_the_same_distribution_in_scipy(spec, mean, sd):
    """A calibration's prior (pyabc samples scipy's) has the scenario's mean and sd, and the draws' quartiles."""
    dist = UNCERTAIN.validate_python(spec)
    frozen = dist.frozen()
    assert frozen.mean() == pytest.approx(mean) and frozen.std() == pytest.approx(sd)
    sample = dist.sample(np.random.default_rng(2), N)
    # the share of draws below scipy's quartile: binomial SE sqrt(p(1-p)/N) ~ 0.001; five of them
    for p in (0.25, 0.5, 0.75):
        assert (sample < frozen.ppf(p)).mean() == pytest.approx(p, abs=5 * math.sqrt(p * (1 - p) / N))


def test_a_fixed_value_is_no_prior():
    with pytest.raises(TypeError, match="not a prior"):
        UNCERTAIN.validate_python({"dist": "fixed", "value": 1.0}).scipy()


def test_a_plain_number_is_its_own_central_value_and_draw():
    value = UNCERTAIN.validate_python(881800)
    assert central(value) == 881800 and draw(value, np.random.default_rng(0)) == 881800


@pytest.mark.parametrize("spec, fragment", [
    ({"dist": "beta", "mean": 0.5, "sd": 0.6}, "needs sd below"),
    ({"dist": "beta", "mean": 1.2, "sd": 0.1}, "less than 1"),
    ({"dist": "uniform", "low": 3, "high": 1}, "low < high"),
    ({"dist": "triangular", "low": 0, "mode": 5, "high": 2}, "low <= mode <= high"),
    ({"dist": "normal", "mean": 0, "sd": -1}, "greater than 0"),
    ({"dist": "betta", "mean": 0.5, "sd": 0.1}, "did you mean 'beta'"),
    ({"mean": 0.5, "sd": 0.1}, "needs a 'dist' key"),
    ("0.3", "valid number"),
    (True, "valid number"),
])
def test_impossible_parameters_are_rejected(spec, fragment):
    with pytest.raises(ValidationError, match=fragment):
        UNCERTAIN.validate_python(spec)


@pytest.mark.parametrize("spec", [1.2, -0.1, {"dist": "normal", "mean": 0.5, "sd": 0.2}, {"dist": "uniform", "low": 0.5, "high": 1.5}])
def test_probabilities_reject_values_and_distributions_outside_0_1(spec):
    with pytest.raises(ValidationError, match="must lie in"):
        PROBABILITY.validate_python(spec)


@given(mean=st.floats(0.01, 0.99), fraction=st.floats(0.01, 0.99))
def test_every_accepted_beta_has_positive_shape_parameters(mean, fraction):
    beta = Beta(dist="beta", mean=mean, sd=fraction * math.sqrt(mean * (1 - mean)))
    a, b = beta.shape()
    assert a > 0 and b > 0
    assert a / (a + b) == pytest.approx(mean)


def test_lognormal_is_parameterised_on_the_natural_scale():
    mu, sigma = LogNormal(dist="lognormal", mean=2.0, sd=0.5).log_params()
    assert math.exp(mu + sigma**2 / 2) == pytest.approx(2.0)


def test_support_of_normal_and_uniform():
    assert Normal(dist="normal", mean=0, sd=1).support() == (-4, 4)
    assert Uniform(dist="uniform", low=1, high=2).support() == (1, 2)
    assert Triangular(dist="triangular", low=0, mode=0, high=1).support() == (0, 1)
