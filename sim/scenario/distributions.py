"""Uncertain inputs: a scenario number may be a distribution instead.

A field typed `Uncertain` accepts a plain number or a mapping such as
`{dist: beta, mean: 0.35, sd: 0.08}`. Distributions are parameterised by the
quantities analysts know (mean and sd on the natural scale, or bounds) and
converted to the sampler's own parameters here, once.
"""
from __future__ import annotations

import difflib
import math
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import (AfterValidator, AllowInfNan, BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Strict,
                      Tag, model_validator)
from pydantic_core import PydanticCustomError

from sim.errors import excerpt

# YAML gives ints and floats; strings, booleans and .nan are never numbers here.
Number = Annotated[float, Strict(), AllowInfNan(False)]


class BaseDistribution(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def sample(self, rng: np.random.Generator, size: int | None = None) -> Any:
        raise NotImplementedError

    @property
    def mean_value(self) -> float:
        raise NotImplementedError

    def support(self) -> tuple[float, float]:
        """Interval that holds (practically) all draws, for bound checks."""
        raise NotImplementedError

    def scipy(self) -> tuple[str, dict[str, float]]:
        """The same distribution as a `scipy.stats` name and its keyword arguments (a calibration's prior)."""
        raise TypeError(f"a {self.dist} is not a prior")

    def frozen(self):
        """The distribution as a frozen `scipy.stats` one, for densities and quantiles."""
        from scipy import stats
        name, parameters = self.scipy()
        return getattr(stats, name)(**parameters)


class Fixed(BaseDistribution):
    dist: Literal["fixed"]
    value: Number

    def sample(self, rng, size=None):
        return self.value if size is None else np.full(size, self.value)

    @property
    def mean_value(self) -> float:
        return self.value

    def support(self):
        return (self.value, self.value)


class Beta(BaseDistribution):
    """Beta on (0, 1) given by its mean and standard deviation."""

    dist: Literal["beta"]
    mean: Number = Field(gt=0, lt=1)
    sd: Number = Field(gt=0)

    @model_validator(mode="after")
    def _sd_possible(self):
        limit = math.sqrt(self.mean * (1 - self.mean))
        if self.sd >= limit:
            raise PydanticCustomError(
                "beta_sd",
                "a beta with mean {mean} needs sd below sqrt(mean*(1-mean)) = {limit}; got sd {sd}",
                {"mean": self.mean, "limit": f"{limit:.4f}", "sd": self.sd},
            )
        return self

    def shape(self) -> tuple[float, float]:
        k = self.mean * (1 - self.mean) / self.sd**2 - 1
        return self.mean * k, (1 - self.mean) * k

    def sample(self, rng, size=None):
        a, b = self.shape()
        return rng.beta(a, b, size)

    def scipy(self):
        a, b = self.shape()
        return "beta", {"a": a, "b": b}

    @property
    def mean_value(self) -> float:
        return self.mean

    def support(self):
        return (0.0, 1.0)


class Normal(BaseDistribution):
    dist: Literal["normal"]
    mean: Number
    sd: Number = Field(gt=0)

    def sample(self, rng, size=None):
        return rng.normal(self.mean, self.sd, size)

    def scipy(self):
        return "norm", {"loc": self.mean, "scale": self.sd}

    @property
    def mean_value(self) -> float:
        return self.mean

    def support(self):
        # mean +- 4 sd: a draw outside has probability 6e-5
        return (self.mean - 4 * self.sd, self.mean + 4 * self.sd)


class LogNormal(BaseDistribution):
    """Log-normal given by the mean and sd of the value itself (not its log)."""

    dist: Literal["lognormal"]
    mean: Number = Field(gt=0)
    sd: Number = Field(gt=0)

    @model_validator(mode="after")
    def _representable(self):
        try:
            finite = all(map(math.isfinite, self.support()))
        except OverflowError:
            finite = False
        if not finite:
            raise PydanticCustomError(
                "lognormal_range", "a lognormal with mean {mean} and sd {sd} spreads beyond any number (sd/mean "
                "is too large)", {"mean": f"{self.mean:g}", "sd": f"{self.sd:g}"})
        return self

    def log_params(self) -> tuple[float, float]:
        sigma2 = math.log1p((self.sd / self.mean) ** 2)
        return math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2)

    def sample(self, rng, size=None):
        mu, sigma = self.log_params()
        return rng.lognormal(mu, sigma, size)

    def scipy(self):
        mu, sigma = self.log_params()
        return "lognorm", {"s": sigma, "scale": math.exp(mu)}

    @property
    def mean_value(self) -> float:
        return self.mean

    def support(self):
        # as for a normal, 4 sd either side, here of the log: so a lognormal fits a field that must be positive
        mu, sigma = self.log_params()
        return (math.exp(mu - 4 * sigma), math.exp(mu + 4 * sigma))


class Uniform(BaseDistribution):
    dist: Literal["uniform"]
    low: Number
    high: Number

    @model_validator(mode="after")
    def _ordered(self):
        if not self.low < self.high:
            raise PydanticCustomError(
                "uniform_bounds", "a uniform needs low < high; got low {low}, high {high}",
                {"low": self.low, "high": self.high},
            )
        return self

    def sample(self, rng, size=None):
        return rng.uniform(self.low, self.high, size)

    def scipy(self):
        return "uniform", {"loc": self.low, "scale": self.high - self.low}

    @property
    def mean_value(self) -> float:
        return (self.low + self.high) / 2

    def support(self):
        return (self.low, self.high)


class Triangular(BaseDistribution):
    dist: Literal["triangular"]
    low: Number
    mode: Number
    high: Number

    @model_validator(mode="after")
    def _ordered(self):
        if not (self.low <= self.mode <= self.high and self.low < self.high):
            raise PydanticCustomError(
                "triangular_bounds",
                "a triangular needs low <= mode <= high and low < high; got {low}, {mode}, {high}",
                {"low": self.low, "mode": self.mode, "high": self.high},
            )
        return self

    def sample(self, rng, size=None):
        return rng.triangular(self.low, self.mode, self.high, size)

    def scipy(self):
        width = self.high - self.low
        return "triang", {"c": (self.mode - self.low) / width, "loc": self.low, "scale": width}

    @property
    def mean_value(self) -> float:
        return (self.low + self.mode + self.high) / 3

    def support(self):
        return (self.low, self.high)


DISTRIBUTIONS: dict[str, type[BaseDistribution]] = {
    cls.model_fields["dist"].annotation.__args__[0]: cls
    for cls in (Fixed, Beta, Normal, LogNormal, Uniform, Triangular)
}
NUMBER_TAG = "number"


def _tag(value: Any) -> str:
    """Route a raw input to the number branch or to the named distribution."""
    if isinstance(value, BaseModel):
        return value.dist
    return value.get("dist") if isinstance(value, dict) else NUMBER_TAG


def _check_dist_name(value: Any) -> Any:
    """Name a missing or misspelt `dist` before the union reports it less helpfully."""
    if isinstance(value, dict):
        name = value.get("dist")
        if name is None:
            raise PydanticCustomError(
                "dist_missing",
                "a distribution needs a 'dist' key, one of: {allowed}",
                {"allowed": ", ".join(DISTRIBUTIONS)},
            )
        if name not in DISTRIBUTIONS:
            close = difflib.get_close_matches(str(name), DISTRIBUTIONS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise PydanticCustomError(
                "dist_unknown",
                "unknown distribution {name}{hint}; allowed: {allowed}",
                {"name": excerpt(name), "hint": hint, "allowed": ", ".join(DISTRIBUTIONS)},
            )
    return value


Distribution = Union[tuple(Annotated[cls, Tag(name)] for name, cls in DISTRIBUTIONS.items())]
Uncertain = Annotated[
    Union[Annotated[Number, Tag(NUMBER_TAG)], Distribution],
    Discriminator(_tag),
    BeforeValidator(_check_dist_name),
]


def bounded(low: float | None = None, high: float | None = None, *, open_low: bool = False):
    """An `Uncertain` whose every possible value lies in [low, high] (or (low, high])."""

    def check(value: float | BaseDistribution):
        lo, hi = value.support() if isinstance(value, BaseDistribution) else (value, value)
        too_low = low is not None and (lo <= low if open_low else lo < low)
        if too_low or (high is not None and hi > high):
            left = "(" if open_low else "["
            allowed = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}]"
            what = "value" if not isinstance(value, BaseDistribution) else f"{value.dist} distribution (range {lo:g} to {hi:g})"
            raise PydanticCustomError(
                "out_of_range", "{what} must lie in {allowed}", {"what": what, "allowed": allowed}
            )
        return value

    return Annotated[Uncertain, AfterValidator(check)]


Probability = bounded(0.0, 1.0)
Positive = bounded(0.0, open_low=True)


def central(value: float | BaseDistribution) -> float:
    """The value used when an input is not drawn: the number, or the distribution's mean."""
    return value.mean_value if isinstance(value, BaseDistribution) else float(value)


def draw(value: float | BaseDistribution, rng: np.random.Generator) -> float:
    return float(value.sample(rng)) if isinstance(value, BaseDistribution) else float(value)
