"""The calibration report, from a calibration made by hand: its pages, its words, no text on text."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.calibration.run import Calibration
from sim.report.calibration import calibration_figures, write_calibration_report
from tests.test_report import overlapping_texts, page_text, pdf_pages

PRIORS = {"behaviour.compliance": {"dist": "beta", "mean": 0.5, "sd": 0.1},
          "behaviour.catch_up.acting_share": {"dist": "beta", "mean": 0.5, "sd": 0.1},
          "fertility.trend_per_year.second": {"dist": "normal", "mean": 0, "sd": 0.02}}
INPUT_WORDS = ("behaviour: compliance", "behaviour: catch up, acting share", "fertility: trend per year, second")
TARGETS = [{"key": "birth_rate_permille 2011", "indicator": "birth_rate_permille", "year": 2011, "value": 13.35,
            "sd": 0.3, "source": "Hunan statistical bulletin 2011"},
           {"key": "births 2014/2013", "indicator": "births", "year": 2014, "relative_to": 2013, "value": 1.03,
            "sd": 0.02, "source": "NBS communiques"},
           {"key": "uptake 2014-03-28 14 months", "summary": "uptake", "since": "2014-03-28", "within_months": 14,
            "value": 0.13, "sd": 0.04, "source": "NHFPC"}]
PARTICLES, REPLICATES = 8, 10


@pytest.fixture(scope="module")
def calibration() -> Calibration:
    """Three inputs fitted to three targets: compliance pinned down, the acting share as vague as its prior; the
    replicates miss the uptake target (all below it)."""
    rng = np.random.default_rng(3)
    record = {"name": "test fit", "scenario": "Test scenario", "fit": list(PRIORS), "priors": PRIORS,
              "targets": TARGETS, "status": "complete", "provenance": {"erhai": "0.1.0"}, "wall_seconds": 125.0,
              "settings": {"seed": 4, "particles": PARTICLES, "generations": 2, "population_size": 2000,
                           "predictive_replicates": REPLICATES},
              "generations": [{"generation": g, "tolerance": 5.0 / (g + 1), "simulations": 20 * (g + 1),
                               "particles": PARTICLES, "acceptance_rate": 0.4 / (g + 1),
                               "effective_sample_size": 7.5 - 6 * g, "seconds": 10.0 * (g + 1)} for g in range(2)]}
    posterior = pd.DataFrame({"weight": rng.dirichlet(np.ones(PARTICLES)),
                              "behaviour.compliance": rng.normal(0.6, 0.005, PARTICLES),
                              "behaviour.catch_up.acting_share": np.linspace(0.3, 0.7, PARTICLES),
                              "fertility.trend_per_year.second": rng.normal(0.01, 0.01, PARTICLES)})
    predictive = pd.DataFrame([{"replicate": r, "target": t["key"], "value": t["value"] + (t["sd"] * rng.normal()
                                                                                          if "year" in t else -0.1)}
                               for r in range(REPLICATES) for t in TARGETS])
    return Calibration(record, posterior, predictive, Path("unused"))


@pytest.fixture(scope="module")
def figures(calibration):
    return calibration_figures(calibration)


def test_the_report_has_its_four_pages_and_says_what_it_is(calibration, tmp_path):
    path = write_calibration_report(calibration, tmp_path / "calibration.pdf")
    assert path == tmp_path / "calibration.pdf"
    assert not (tmp_path / "calibration.pdf.partial").exists()
    assert pdf_pages(path) == 4
    data = path.read_bytes()
    for expected in (b"/Title (Erhai calibration: test fit)", b"/Author (Erhai 0.1.0)"):
        assert expected in data


def test_every_page_names_its_inputs_or_targets(figures):
    summary, priors, pairs, check = map(page_text, figures)
    for words in INPUT_WORDS:
        assert words in summary and words in priors and words in pairs
    for target in TARGETS:
        assert target["key"] in check and target["source"] in summary
    assert "page 1 of 4" in summary and "calibration: test fit · seed 4" in summary


def test_the_summary_says_how_much_the_data_narrowed_each_input_and_warns_of_few_particles(figures):
    summary = page_text(figures[0])
    assert "behaviour: compliance: posterior" in summary and "the data pinned it down" in summary
    assert "the data say little about it" in summary
    assert "60 simulations in 2 generations, 2 min 5 s" in summary
    assert "replicate of 2,000 agents" in summary and "the posterior is conservative" in summary
    assert "effective sample size is 1.5 of 8 particles" in summary


def test_the_check_draws_replicates_from_the_posterior_and_flags_a_missed_target(figures):
    check = page_text(figures[3])
    assert f"{REPLICATES} replicates of 2,000 agents, their fitted inputs drawn from the posterior" in check
    assert "uptake 2014-03-28 14 months PIT 1.00: seldom reproduced" in check


def test_every_page_draws_with_no_text_over_text(figures):
    for number, figure in enumerate(figures, start=1):
        assert overlapping_texts(figure) == [], f"page {number}"
