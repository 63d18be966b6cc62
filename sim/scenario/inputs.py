"""Turn a scenario's uncertain inputs into numbers: their central values, or one draw.

A scenario with `inputs_from: {posterior_file: ...}` takes the inputs its
posterior names jointly from one particle, drawn by weight from a stream of
its own, in place of their distributions (the priors); an input the scenario
fixes to a number (a variant, a sweep's value) keeps it, and every other
input is drawn from its distribution as before.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from pydantic import BaseModel

from sim.scenario.distributions import BaseDistribution, central
from sim.streams import stream_seed

M = TypeVar("M", bound=BaseModel)


def realize(model: M, seed: np.random.SeedSequence | None = None) -> tuple[M, dict[str, float]]:
    """A copy of `model` with every distribution replaced by a number.

    With `seed`, each distribution is drawn once from its own stream, named by
    its dotted path: an input draws the same number whatever other inputs a
    variant fixes or adds, so variants stay paired. Without, each takes its
    mean. Also returns the drawn inputs by dotted path, for saving beside a
    replicate's outputs.
    """
    drawn: dict[str, float] = {}
    inputs_from = getattr(model, "inputs_from", None)
    fitted = {} if inputs_from is None else posterior_values(inputs_from.posterior_file, seed, inputs_from.inputs)
    return _realize(model, seed, "", drawn, fitted), drawn


# the name of the stream a replicate draws its particle from: not the dotted path of any input
PARTICLE_STREAM = "inputs_from.particle"


def posterior_values(path: Path, seed: np.random.SeedSequence | None,
                     names: list[str] | None = None) -> dict[str, float]:
    """The inputs `names` (default: all) of one particle of the posterior in `path`, drawn by weight (with
    `seed`), or their weighted means. The draw does not depend on `names`."""
    weights, particles = read_posterior(str(path))
    particles = {name: values for name, values in particles.items() if names is None or name in names}
    if seed is None:
        return {name: float(weights @ values) for name, values in particles.items()}
    chosen = np.random.default_rng(stream_seed(seed, PARTICLE_STREAM)).choice(len(weights), p=weights)
    return {name: float(values[chosen]) for name, values in particles.items()}


@lru_cache(maxsize=8)
def read_posterior(path: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The particles' weights (summing to 1) and each fitted input's values; ValueError if the file is not one."""
    table = pd.read_csv(path)
    if "weight" not in table.columns or len(table.columns) < 2 or table.empty:
        raise ValueError("expected a weight column, one column per fitted input and at least one particle")
    if not all(pd.api.types.is_numeric_dtype(table[column]) for column in table.columns):
        raise ValueError("every value must be a number")
    weights = table["weight"].to_numpy(float)
    if not np.isfinite(table.to_numpy(float)).all() or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError("weights must be finite, not negative and not all zero, and every value finite")
    return weights / weights.sum(), {name: table[name].to_numpy(float) for name in table.columns if name != "weight"}


def posterior_problems(model: BaseModel) -> list[str]:
    """What is wrong with a scenario's posterior: a file that is not one, or inputs the scenario does not have."""
    try:
        _, particles = read_posterior(str(model.inputs_from.posterior_file))
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        return [f"{model.inputs_from.posterior_file}: not a posterior ({exc})"]
    leaves = set(_leaves(model))
    taken = model.inputs_from.inputs
    return [*(f"the posterior names {name!r}, which is not an input of this scenario"
              for name in (particles if taken is None else taken) if name in particles and name not in leaves),
            *(f"inputs names {name!r}, which the posterior does not hold" for name in taken or ()
              if name not in particles)]


def taken_from_posterior(model: BaseModel) -> list[str]:
    """The inputs a scenario takes from its posterior: those it names whose value in the scenario is a
    distribution (a number the scenario fixes stands)."""
    _, particles = read_posterior(str(model.inputs_from.posterior_file))
    priors = set(_leaves(model, only_distributions=True))
    return [name for name in model.inputs_from.inputs or particles if name in priors]


def _leaves(value: Any, path: str = "", only_distributions: bool = False) -> list[str]:
    """The dotted path of every number or distribution (or only of every distribution), as `realize` names
    them."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(value, BaseDistribution) or number:
        return [path] if isinstance(value, BaseDistribution) or not only_distributions else []
    if isinstance(value, BaseModel):
        return [leaf for name in type(value).model_fields
                for leaf in _leaves(getattr(value, name), f"{path}.{name}" if path else name, only_distributions)]
    if isinstance(value, list):
        return [leaf for i, item in enumerate(value) for leaf in _leaves(item, f"{path}.{i}", only_distributions)]
    return []


def _realize(value: Any, seed: np.random.SeedSequence | None, path: str, drawn: dict[str, float],
             fitted: dict[str, float]) -> Any:
    if isinstance(value, BaseDistribution) and path in fitted:
        drawn[path] = fitted[path]
        return fitted[path]
    if isinstance(value, BaseDistribution):
        number = central(value) if seed is None else float(value.sample(input_stream(seed, path)))
        drawn[path] = number
        return number
    if isinstance(value, BaseModel):
        updates = {
            name: _realize(getattr(value, name), seed, f"{path}.{name}" if path else name, drawn, fitted)
            for name in type(value).model_fields
        }
        return value.model_copy(update=updates)
    if isinstance(value, list):
        return [_realize(item, seed, f"{path}.{i}", drawn, fitted) for i, item in enumerate(value)]
    return value


def input_stream(seed: np.random.SeedSequence, path: str) -> np.random.Generator:
    return np.random.default_rng(stream_seed(seed, path))
