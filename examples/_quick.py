"""The options every example takes: how many replicates, how many people, how many workers."""
from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def options(description: str, argv: list[str] | None, replicates: int) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--replicates", type=int, default=replicates)
    parser.add_argument("--population-size", type=int, default=50_000,
                        help="people simulated (a rescaled quick run); 0 for the full district")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    args.population_size = args.population_size or None
    return args
