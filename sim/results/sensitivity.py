"""Which drawn inputs move the headline outcomes (`sim.results.caps`): the share of an outcome's spread each explains.

The share is the first-order sensitivity index S1 = Var(E[Y | X_i]) / Var(Y),
estimated from a run's own drawn inputs and outcomes (given data: no design of
extra runs) by RBD-FAST (SALib), with Tissot and Prieur's bias correction. It
says how much of the spread across futures would go if one input were known,
so an input that explains little shows a short bar however monotone its effect
(where a rank correlation would rank it beside the inputs that decide).

An estimate of an input that explains nothing scatters about zero with a
standard deviation of about 2 sqrt(M) / (N - 2M) (M harmonics, N runs: each
harmonic's power is an exponential with mean 2 / N of the variance, and the
bias correction scales by N / (N - 2M)), so shares below `noise_floor` cannot
be told from zero with the runs at hand.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from SALib.analyze import rbd_fast
from scipy.stats import spearmanr

HARMONICS = 10  # SALib's default M: enough for the smooth effects of rates and shares
MIN_RUNS = 50  # below this the noise floor is over a quarter of the variance
NOISE_SDS = 2.0  # the floor is this many standard deviations of a no-effect estimate


def no_effect_sd(runs: int) -> float:
    """The standard deviation of the share estimated for an input without effect."""
    return 2 * math.sqrt(HARMONICS) / (runs - 2 * HARMONICS)


def noise_floor(runs: int) -> float:
    """The share below which an estimate cannot be told from zero."""
    return NOISE_SDS * no_effect_sd(runs)


def variance_shares(inputs: pd.DataFrame, outcome: pd.Series) -> pd.DataFrame:
    """Each varying input's share of `outcome`'s variance (`share`, bias-corrected, may dip below 0 by noise)
    and the direction of its effect (`rising`: a higher value gives a higher outcome, by rank correlation),
    largest share first.

    `inputs` has a `replicate` column and one column per drawn input; `outcome` is indexed by replicate.
    """
    drawn = inputs.set_index("replicate")
    if set(drawn.index) != set(outcome.index):
        raise ValueError("inputs and outcome must cover the same replicates")
    if outcome.nunique() < 2:
        raise ValueError(f"outcome {outcome.name!r} is the same in every replicate; nothing to explain")
    drawn = drawn.loc[outcome.index]
    drawn = drawn.loc[:, drawn.nunique() > 1]  # a constant input explains nothing
    if drawn.empty:
        return pd.DataFrame({"share": [], "rising": []}, index=pd.Index([], name="input")).astype({"rising": bool})
    if len(outcome) < MIN_RUNS:
        raise ValueError(f"telling a share of the spread from noise needs at least {MIN_RUNS} runs; got "
                         f"{len(outcome)}")
    problem = {"num_vars": drawn.shape[1], "names": list(drawn.columns),
               "bounds": [[float(column.min()), float(column.max())] for _, column in drawn.items()]}
    # SALib's bootstrap intervals are not used (few resamples, seeded, keep it cheap): resampling with replacement
    # repeats runs, which the estimator reads as structure, so they come out several times too wide
    estimate = rbd_fast.analyze(problem, drawn.to_numpy(), outcome.to_numpy(), M=HARMONICS, num_resamples=2,
                                seed=0)
    rising = [spearmanr(column, outcome).statistic >= 0 for _, column in drawn.items()]
    table = pd.DataFrame({"share": np.asarray(estimate["S1"], float), "rising": rising},
                         index=pd.Index(drawn.columns, name="input"))
    return table.sort_values("share", ascending=False, kind="stable")
