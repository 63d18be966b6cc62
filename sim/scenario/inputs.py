"""Turn a scenario's uncertain inputs into numbers: their central values, or one draw."""
from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
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
    return _realize(model, seed, "", drawn), drawn


def _realize(value: Any, seed: np.random.SeedSequence | None, path: str, drawn: dict[str, float]) -> Any:
    if isinstance(value, BaseDistribution):
        number = central(value) if seed is None else float(value.sample(input_stream(seed, path)))
        drawn[path] = number
        return number
    if isinstance(value, BaseModel):
        updates = {
            name: _realize(getattr(value, name), seed, f"{path}.{name}" if path else name, drawn)
            for name in type(value).model_fields
        }
        return value.model_copy(update=updates)
    if isinstance(value, list):
        return [_realize(item, seed, f"{path}.{i}", drawn) for i, item in enumerate(value)]
    return value


def input_stream(seed: np.random.SeedSequence, path: str) -> np.random.Generator:
    return np.random.default_rng(stream_seed(seed, path))
