"""Named random streams of a replicate.

Each replicate has one `SeedSequence` child of the ensemble seed, and each
process (`sim.engines.processes`) draws from its own stream spawned from it,
keyed by a hash of the stream's name: adding, removing or reordering a stream
leaves every other stream's draws as they were. Two scenarios run with the
same seed and replicate number therefore draw the same inputs, the same base
population and the same deaths and marriages: their differences are paired.
"""
from __future__ import annotations

import zlib

import numpy as np

from sim.engines.processes import PROCESSES

# the draws of the inputs, of the base population, and the order Mesa shuffles agents in
STREAMS = ("inputs", "synthesis", "agents", *(process.stream for process in PROCESSES if process.stream))


def replicate_seed(seed: int, replicate: int) -> np.random.SeedSequence:
    """The seed of one replicate: the `replicate`-th child of the ensemble's seed."""
    return np.random.SeedSequence(seed, spawn_key=(replicate,))


def name_key(name: str) -> int:
    """The spawn key of a stream named `name` (CRC-32: stable across runs and Python versions, unlike hash)."""
    return zlib.crc32(name.encode())


def stream_seed(seed: np.random.SeedSequence, name: str) -> np.random.SeedSequence:
    """The child of `seed` that seeds the stream `name`."""
    return child_seed(seed, name_key(name))


def child_seed(seed: np.random.SeedSequence, key: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, key))


def streams(seed: np.random.SeedSequence) -> dict[str, np.random.Generator]:
    """One generator per stream name, each from its own child of `seed`."""
    return {name: np.random.default_rng(stream_seed(seed, name)) for name in STREAMS}
