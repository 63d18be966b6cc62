"""Who among columnar people may conceive, and at what chance: the rules of `sim.engines.rules` applied to
columns, for the columnar engine's conceptions and every engine's calibration."""
from __future__ import annotations

import numpy as np

from sim.engines import rules
from sim.population.people import FEMALE, MARRIED, RURAL, People
from sim.scenario.schema import Regime


def childbearing_wife(pop: People, rates: rules.Rates, women: np.ndarray) -> np.ndarray:
    """Whether each of `women` is alive, married and of childbearing age."""
    low, high = rates.fecund_ages
    age = pop.age_months[women]
    return pop.alive[women] & (pop.marital[women] == MARRIED) & (age >= 12 * low) & (age < 12 * high)


def women_who_may_conceive(pop: People, rates: rules.Rates) -> np.ndarray:
    women = np.flatnonzero(pop.sex == FEMALE)
    return women[may_conceive(pop, rates, women)]


def may_want_more(rates: rules.Rates, parity: np.ndarray, intention: np.ndarray, residence: np.ndarray) -> np.ndarray:
    """Whether each woman wants a next child now or may after births to come.

    Parities only grow, and those beyond the last order share its intention.
    """
    wants = rules.wants_next_child(rates, parity, intention, residence)
    for order in range(1, rules.ORDERS):
        wants |= rules.wants_next_child(rates, np.maximum(parity, order), intention, residence)
    return wants


def may_conceive(pop: People, rates: rules.Rates, women: np.ndarray) -> np.ndarray:
    """Whether each of `women` is married, of childbearing age, not pregnant and wants another child.

    The others cannot conceive.
    """
    wants = rules.wants_next_child(rates, pop.parity[women], pop.intention[women], pop.residence[women])
    return childbearing_wife(pop, rates, women) & (pop.months_pregnant[women] == 0) & wants


def conception_chances(pop: People, women: np.ndarray, rates: rules.Rates, regime: Regime, months: int,
                       catch_up_open: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Monthly conception rate and months exposed in a step of `months`, for `women_who_may_conceive`.

    `catch_up_open` says which catch-up windows are open (`DistrictModel.catch_up_open`).
    """
    couple = couple_attributes(pop, women, rates, regime)
    parity = couple["parity"]
    exposure = rules.exposure_months(rates, parity=parity,
                                     months_since_birth_end=couple["months_since_birth"] + months, months=months)
    rate = rules.conception_rate(
        rates, parity=parity, age_years=pop.age_months[women] // 12, residence=pop.residence[women],
        wants=True, catching_up=catch_up_open[pop.catch_up[women]],
        eligible=rules.eligible_for_next_birth(regime, **couple))
    return rate, exposure


def couple_attributes(pop: People, wives: np.ndarray, rates: rules.Rates, *regimes: Regime) -> dict:
    """The keyword arguments of `rules.eligible_for_next_birth` under `regimes` for the married women `wives`.

    Parity and months since the last birth always (exposure needs them too);
    the rest only if the rules of a regime look at them.
    """
    attributes = dict(married=True, parity=pop.parity[wives], months_since_birth=pop.months_since_birth[wives],
                      rural_daughter_min_interval_months=rates.rural_daughter_min_interval_months)
    if any(rules.looks_at_couple(regime) for regime in regimes):
        spouse = pop.spouse[wives]
        attributes.update(sons=pop.sons[wives], rural=pop.residence[wives] == RURAL,
                          wife_only_child=pop.only_child[wives],
                          husband_only_child=(spouse >= 0) & pop.only_child[np.maximum(spouse, 0)])
    return attributes
