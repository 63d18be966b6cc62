"""Named random streams of a replicate.

Each replicate has one `SeedSequence` child of the ensemble seed, and each
process draws from its own stream spawned from it. Two scenarios run with the
same seed and replicate number therefore draw the same inputs, the same base
population and the same deaths and marriages: their differences are paired.
"""
from __future__ import annotations

import numpy as np

# new streams go at the end: a stream's seed is its position
STREAMS = ("inputs", "synthesis", "deaths", "conception", "births", "marriage", "migration", "agents", "backlog")


def replicate_seed(seed: int, replicate: int) -> np.random.SeedSequence:
    """The seed of one replicate: the `replicate`-th child of the ensemble's seed."""
    return np.random.SeedSequence(seed, spawn_key=(replicate,))


def stream_seed(seed: np.random.SeedSequence, name: str) -> np.random.SeedSequence:
    """The child of `seed` that seeds the stream `name`."""
    return child_seed(seed, STREAMS.index(name))


def child_seed(seed: np.random.SeedSequence, key: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, key))


def streams(seed: np.random.SeedSequence) -> dict[str, np.random.Generator]:
    """One generator per process name, each from its own child of `seed`."""
    return {name: np.random.default_rng(stream_seed(seed, name)) for name in STREAMS}
