"""Uncertain inputs: central values, reproducible draws, one named stream per input, and posteriors."""
import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2, chisquare

from sim.errors import UserError
from sim.scenario.distributions import central
from sim.scenario.inputs import realize
from sim.scenario.loading import load_scenario
from tests.conftest import BASE


def test_without_a_seed_every_input_takes_its_mean():
    scenario = load_scenario(BASE)
    realized, drawn = realize(scenario)
    # an input the scenario does not take from its posterior
    assert realized.policy.penalty_deterrence == central(scenario.policy.penalty_deterrence)
    assert drawn["policy.penalty_deterrence"] == realized.policy.penalty_deterrence


def test_the_same_seed_draws_the_same_inputs_and_another_seed_others():
    scenario = load_scenario(BASE)
    first, again, other = (realize(scenario, np.random.SeedSequence(seed))[1] for seed in (1, 1, 2))
    assert first == again
    assert all(first[path] != other[path] for path in first)


def test_fixing_one_input_leaves_the_draws_of_the_others_unchanged():
    """Each input has its own stream, so variants that fix or add inputs stay paired on the rest."""
    scenario = load_scenario(BASE)
    behaviour = scenario.behaviour.model_copy(update={"compliance": 0.9})
    fixed = scenario.model_copy(update={"behaviour": behaviour})
    seed = np.random.SeedSequence(7)
    drawn, drawn_fixed = realize(scenario, seed)[1], realize(fixed, seed)[1]
    assert set(drawn) - set(drawn_fixed) == {"behaviour.compliance"}
    assert {path: drawn[path] for path in drawn_fixed} == drawn_fixed


# --- inputs from a posterior ----------------------------------------------------------------

WEIGHTS = (0.1, 0.2, 0.3, 0.4)


def posterior_scenario(tmp_path, columns: dict | None = None, weights=WEIGHTS, taken: str = "  inputs: null\n"):
    """The base scenario taking compliance and the rural second-child intention from a four-particle posterior
    (or, with `taken`, the inputs it lists; by default all, whatever the base takes from its own)."""
    columns = columns or {"behaviour.compliance": [0.21, 0.22, 0.23, 0.24],
                          "behaviour.second_child_intention.rural": [0.91, 0.92, 0.93, 0.94]}
    pd.DataFrame({"weight": weights, **columns}).to_csv(tmp_path / "posterior.csv", index=False)
    path = tmp_path / "fitted.yaml"
    path.write_text(f"extends: {BASE}\ninputs_from:\n  posterior_file: posterior.csv\n{taken}")
    return path


def test_each_replicate_draws_one_particle_by_weight_and_keeps_its_inputs_together(tmp_path):
    scenario = load_scenario(posterior_scenario(tmp_path))
    draws = 4000
    chosen = []
    for replicate in range(draws):
        _, drawn = realize(scenario, np.random.SeedSequence(11, spawn_key=(replicate,)))
        particle = round(100 * drawn["behaviour.compliance"]) - 21
        # one particle gives both inputs: their correlation is kept
        assert round(100 * drawn["behaviour.second_child_intention.rural"]) - 91 == particle
        chosen.append(particle)
    counts = np.bincount(chosen, minlength=4)
    # chi-square goodness of fit, 3 degrees of freedom: above the 99.9% point once in a thousand by chance
    statistic = chisquare(counts, draws * np.array(WEIGHTS)).statistic
    assert statistic < chi2.ppf(0.999, 3), counts
    # inputs the posterior does not name are drawn from their distributions as before
    assert len({realize(scenario, np.random.SeedSequence(r))[1]["behaviour.compliance"] for r in range(50)}) <= 4
    assert len({realize(scenario, np.random.SeedSequence(r))[1]["population.urban_share"] for r in range(50)}) == 50


def test_variants_with_the_same_seed_draw_the_same_particle(tmp_path):
    scenario = load_scenario(posterior_scenario(tmp_path))
    variant = scenario.with_values({"behaviour.catch_up.acting_share": 0.8})
    for replicate in range(20):
        seed = np.random.SeedSequence(3, spawn_key=(replicate,))
        assert realize(scenario, seed)[1]["behaviour.compliance"] == realize(variant, seed)[1]["behaviour.compliance"]


def test_a_scenario_may_take_only_some_of_a_posteriors_inputs(tmp_path):
    """A district takes a province's behaviour but not, say, its mortality: the rest keep their own values, and
    the particle drawn is the same as if all were taken."""
    everything = load_scenario(posterior_scenario(tmp_path))
    some = load_scenario(posterior_scenario(tmp_path, taken="  inputs: [behaviour.compliance]\n"))
    for replicate in range(20):
        seed = np.random.SeedSequence(5, spawn_key=(replicate,))
        all_drawn, some_drawn = realize(everything, seed)[1], realize(some, seed)[1]
        assert some_drawn["behaviour.compliance"] == all_drawn["behaviour.compliance"]
        assert some_drawn["behaviour.second_child_intention.rural"] not in (0.91, 0.92, 0.93, 0.94)


def test_a_number_the_scenario_fixes_stands_against_the_posterior(tmp_path):
    """The posterior replaces priors: a variant or a sweep that fixes an input keeps its value."""
    fixed = load_scenario(posterior_scenario(tmp_path)).with_values({"behaviour.compliance": 0.7})
    for replicate in range(10):
        realized, drawn = realize(fixed, np.random.SeedSequence(9, spawn_key=(replicate,)))
        assert realized.behaviour.compliance == 0.7 and "behaviour.compliance" not in drawn
        assert drawn["behaviour.second_child_intention.rural"] in (0.91, 0.92, 0.93, 0.94)


def test_central_inputs_of_a_posterior_are_its_weighted_means(tmp_path):
    realized, _ = realize(load_scenario(posterior_scenario(tmp_path)))
    assert realized.behaviour.compliance == pytest.approx(np.dot(WEIGHTS, [0.21, 0.22, 0.23, 0.24]))


@pytest.mark.parametrize("columns, weights, message", [
    ({"behaviour.complianc": [0.2] * 4}, WEIGHTS, "names 'behaviour.complianc', which is not an input"),
    ({"behaviour": [0.2] * 4}, WEIGHTS, "names 'behaviour', which is not an input"),
    ({"behaviour.compliance": [0.2] * 4}, (0, 0, 0, 0), "weights must be finite, not negative and not all zero"),
    ({"behaviour.compliance": ["a", "b", "c", "d"]}, WEIGHTS, "every value must be a number"),
    (None, WEIGHTS, "inputs names 'behaviour.catch_up', which the posterior does not hold"),
])
def test_a_bad_posterior_is_refused_naming_the_line_that_names_it(tmp_path, columns, weights, message):
    taken = "  inputs: null\n" if columns else "  inputs: [behaviour.compliance, behaviour.catch_up]\n"
    with pytest.raises(UserError, match=message) as error:
        load_scenario(posterior_scenario(tmp_path, columns, weights, taken))
    assert "fitted.yaml:3: inputs_from.posterior_file" in str(error.value)
