"""Turn a scenario's uncertain inputs into numbers: their central values, or one draw."""
from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
from pydantic import BaseModel

from sim.distributions import BaseDistribution, central

M = TypeVar("M", bound=BaseModel)


def realize(model: M, rng: np.random.Generator | None = None) -> tuple[M, dict[str, float]]:
    """A copy of `model` with every distribution replaced by a number.

    With `rng`, each distribution is drawn once, in field order (so the same
    seed gives the same inputs); without, each takes its mean. Also returns
    the drawn inputs by dotted path, for saving beside a replicate's outputs.
    """
    drawn: dict[str, float] = {}
    return _realize(model, rng, "", drawn), drawn


def _realize(value: Any, rng: np.random.Generator | None, path: str, drawn: dict[str, float]) -> Any:
    if isinstance(value, BaseDistribution):
        number = central(value) if rng is None else float(value.sample(rng))
        drawn[path] = number
        return number
    if isinstance(value, BaseModel):
        updates = {
            name: _realize(getattr(value, name), rng, f"{path}.{name}" if path else name, drawn)
            for name in type(value).model_fields
        }
        return value.model_copy(update=updates)
    if isinstance(value, list):
        return [_realize(item, rng, f"{path}.{i}", drawn) for i, item in enumerate(value)]
    return value
