"""Life tables by single year of age from life expectancy and infant mortality.

Brass's relational logit model: logit l(x) = alpha + beta * logit l_s(x) on a
standard table l_s. For each sex, alpha and beta are solved so that the table
reproduces the given life expectancy at birth and infant mortality rate;
later years keep beta and move alpha until e0 has gained the improvement.

The standard is the survivorship of a Siler hazard (an infant term, a
constant and a Gompertz senescent term) with parameters of a low-mortality
population; only its shape matters, since alpha and beta set the level and
the balance of young and old mortality.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import fsolve, newton

MAX_AGE = 110
AGES = np.arange(MAX_AGE + 1)
# Siler parameters of the standard (infant a1, b1; background a2; senescent a3, b3).
_STANDARD_SILER = (0.04, 4.0, 4e-4, 3e-5, 0.095)
# Share of the first year lived by infants who die in it (low-mortality populations).
_INFANT_SEPARATION = 0.1


@lru_cache(maxsize=1)
def standard_survivorship() -> np.ndarray:
    a1, b1, a2, a3, b3 = _STANDARD_SILER
    x = AGES.astype(float)
    cumulative_hazard = a1 / b1 * (1 - np.exp(-b1 * x)) + a2 * x + a3 / b3 * (np.exp(b3 * x) - 1)
    return np.exp(-cumulative_hazard)


def _logit(l: np.ndarray) -> np.ndarray:
    # Brass's convention: half the log odds of dying by age x
    return 0.5 * np.log((1 - l) / l)


_STANDARD_LOGIT = _logit(standard_survivorship()[1:])


def survivorship(alpha: float | np.ndarray, beta: float | np.ndarray) -> np.ndarray:
    """l(x) for x = 0..MAX_AGE, l(0) = 1; one row for each of arrays of `alpha` and `beta`."""
    tail = 1 / (1 + np.exp(2 * (np.asarray(alpha)[..., None] + np.asarray(beta)[..., None] * _STANDARD_LOGIT)))
    return np.concatenate([np.ones(tail.shape[:-1] + (1,)), tail], axis=-1)


def life_expectancy(l: np.ndarray) -> float | np.ndarray:
    """e0 of survivorship `l` (of each row, for several). Linear in `l`, so it also turns dl into de0."""
    person_years = (l[..., :-1] + l[..., 1:]) / 2
    person_years[..., 0] = l[..., 1] + _INFANT_SEPARATION * (l[..., 0] - l[..., 1])
    # the open interval at MAX_AGE: a year of life for the few who reach it
    e0 = person_years.sum(axis=-1) + l[..., -1]
    return float(e0) if np.ndim(e0) == 0 else e0


@dataclass(frozen=True)
class LifeTable:
    """Annual death probabilities q(x) by single year of age, x = 0..MAX_AGE."""

    qx: np.ndarray

    @property
    def lx(self) -> np.ndarray:
        return np.concatenate([[1.0], np.cumprod(1 - self.qx[:-1])])

    @property
    def e0(self) -> float:
        return life_expectancy(self.lx)

    def monthly_death_probability(self) -> np.ndarray:
        """Probability of dying within one month at each age, constant hazard within the year."""
        return 1 - (1 - self.qx) ** (1 / 12)


def _tables(alphas: np.ndarray, beta: np.ndarray) -> list[LifeTable]:
    l = survivorship(alphas, beta)
    qx = np.concatenate([1 - l[:, 1:] / l[:, :-1], np.ones((len(l), 1))], axis=1)
    return [LifeTable(q) for q in qx]


@lru_cache(maxsize=64)
def fit_brass(e0: float, infant_mortality: float) -> tuple[float, float]:
    """Brass alpha and beta giving life expectancy e0 and infant death probability q0."""

    def gap(params):
        alpha, beta = params
        l = survivorship(alpha, beta)
        return [life_expectancy(l) - e0, (1 - l[1]) - infant_mortality]

    solution, info, ok, _ = fsolve(gap, x0=[0.0, 1.0], full_output=True)
    if ok != 1 or max(abs(np.asarray(info["fvec"]))) > 1e-6:
        raise ValueError(f"no Brass life table has e0={e0:g} and q0={infant_mortality:.4g}")
    return float(solution[0]), float(solution[1])


def life_table(e0: float, infant_mortality: float, e0_gain: float = 0.0) -> LifeTable:
    """The table fitted at (e0, q0), then with alpha moved until e0 has risen by `e0_gain` years."""
    return improved_life_tables(e0, infant_mortality, [e0_gain])[0]


def improved_life_tables(e0: ArrayLike, infant_mortality: ArrayLike, e0_gains: ArrayLike) -> list[LifeTable]:
    """`life_table` of each (e0, q0, gain), the three broadcast together and solved together.

    A run's years and sexes cost one solve.
    """
    e0, infant_mortality, gains = (a.ravel() for a in np.broadcast_arrays(e0, infant_mortality, e0_gains))
    alpha, beta = np.array([fit_brass(float(e), float(q)) for e, q in zip(e0, infant_mortality)]).reshape(-1, 2).T
    target = e0 + gains

    def gap(alphas: np.ndarray) -> np.ndarray:
        return life_expectancy(survivorship(alphas, beta)) - target

    def slope(alphas: np.ndarray) -> np.ndarray:
        l = survivorship(alphas, beta)
        return life_expectancy(-2 * l * (1 - l))  # dl/dalpha; zero at age 0, where l = 1

    return _tables(np.atleast_1d(newton(gap, alpha, fprime=slope, tol=1e-12)), beta)


def infant_mortality_by_sex(both_sexes: float, male_to_female_ratio: float = 1.2) -> tuple[float, float]:
    """Split a both-sexes infant mortality rate into male and female rates.

    The male excess (ratio 1.2) is the usual biological one; births are taken
    as 54% male (China's census sex ratio at birth was 118, 54% male; Hunan's
    126, 56%: the split moves the sexes' rates by under 1%), so the split keeps
    the both-sexes rate.
    """
    male_share = 0.54
    female = both_sexes / (male_share * male_to_female_ratio + (1 - male_share))
    return female * male_to_female_ratio, female
