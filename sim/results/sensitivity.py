"""Which drawn inputs move the headline outcomes (`sim.results.caps`): partial rank correlation coefficients."""
from __future__ import annotations

import numpy as np
import pandas as pd


def prcc(inputs: pd.DataFrame, outcome: pd.Series) -> pd.Series:
    """PRCC of each varying input with `outcome`, largest in absolute value first.

    `inputs` has a `replicate` column and one column per drawn input; `outcome` is
    indexed by replicate. Ranks make the measure depend only on monotone relations,
    so a log-scaled input or outcome gives the same coefficients.
    """
    drawn = inputs.set_index("replicate")
    if set(drawn.index) != set(outcome.index):
        raise ValueError("inputs and outcome must cover the same replicates")
    if outcome.nunique() < 2:
        raise ValueError(f"outcome {outcome.name!r} is the same in every replicate; nothing to correlate")
    drawn = drawn.loc[outcome.index]
    drawn = drawn.loc[:, drawn.nunique() > 1]  # a constant input explains nothing and makes the regression singular
    n, k = drawn.shape
    if n <= k + 1:
        raise ValueError(f"PRCC of {k} inputs needs more than {k + 1} replicates; got {n}")
    ranks = drawn.rank().to_numpy()
    outcome_ranks = outcome.rank().to_numpy()
    coefficients = {}
    for i, name in enumerate(drawn.columns):
        others = np.column_stack([np.ones(n), np.delete(ranks, i, axis=1)])
        coefficients[name] = _correlation(_residuals(ranks[:, i], others), _residuals(outcome_ranks, others))
    result = pd.Series(coefficients, name=outcome.name, dtype=float)
    return result.sort_values(key=np.abs, ascending=False)


def _residuals(y: np.ndarray, design: np.ndarray) -> np.ndarray:
    return y - design @ np.linalg.lstsq(design, y, rcond=None)[0]


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    # residuals have mean zero (the design has an intercept), so this is Pearson's r
    return float(a @ b / np.sqrt(a @ a * (b @ b)))
