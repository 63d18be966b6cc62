"""Policy rules as pure, vectorized functions of couples' attributes.

Every engine (the fast columnar one, the per-agent reference model and the
cohort-component projection) asks these functions who may have a next child,
so the rules are written once.
"""
from __future__ import annotations

import numpy as np

from sim.scenario import Regime

# The most children a couple may have under each regime; None = no limit.
_LIMIT = {Regime.universal_two_child: 2, Regime.three_child: 3, Regime.none: None}


def eligible_for_next_birth(
    regime: Regime,
    *,
    married: np.ndarray,
    parity: np.ndarray,
    sons: np.ndarray,
    rural: np.ndarray,
    wife_only_child: np.ndarray,
    husband_only_child: np.ndarray,
    months_since_birth: np.ndarray,
    rural_daughter_min_interval_months: int,
) -> np.ndarray:
    """Whether the rules of `regime` allow each woman's next birth.

    Births outside marriage are never within the rules. Under the one-child
    rules a first child is allowed, and a second if both spouses are only
    children, or if the couple is rural, their only child is a daughter and
    the interval since her birth has passed. The selective two-child rules
    add couples with either spouse an only child; the exceptions stay.
    """
    married = np.asarray(married, bool)
    parity = np.asarray(parity)
    if regime in _LIMIT:
        limit = _LIMIT[regime]
        return married if limit is None else married & (parity < limit)
    both = np.asarray(wife_only_child, bool) & np.asarray(husband_only_child, bool)
    either = np.asarray(wife_only_child, bool) | np.asarray(husband_only_child, bool)
    rural_daughter = (
        np.asarray(rural, bool)
        & (np.asarray(sons) == 0)
        & (np.asarray(months_since_birth) >= rural_daughter_min_interval_months)
    )
    second_allowed = both | rural_daughter
    if regime is Regime.selective_two_child:
        second_allowed = second_allowed | either
    elif regime is not Regime.one_child:
        raise ValueError(f"no rules for regime {regime!r}")
    return married & ((parity == 0) | ((parity == 1) & second_allowed))


def male_birth_probability(parity_before: np.ndarray, sex_ratio_by_order: tuple[float, float, float]) -> np.ndarray:
    """Probability that a birth is a boy, from the sex ratio at birth of its order (1, 2, 3+)."""
    ratios = np.asarray(sex_ratio_by_order, float)
    order_index = np.minimum(np.asarray(parity_before), 2)
    return ratios[order_index] / (100 + ratios[order_index])
