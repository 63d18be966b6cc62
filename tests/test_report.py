"""The PDF reports: pages, words, determinism, refusals; every page drawn on Agg with no text on text."""
import dataclasses
import json
import re
import shutil
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from sim.report.charts import page
from sim.cli import main
from sim.errors import UserError
from sim.report.pages import (answer_page, comparison_report_figures, input_label, read_run, run_report_figures,
                        write_comparison_report, write_run_report)
from sim.results.storage import RunDirectory
from sim.results.sensitivity import headline_outcomes
from sim.results.summary import headline_sentences
from tests.conftest import ROOT

SCENARIOS = ROOT / "scenarios"
UNIVERSAL = SCENARIOS / "heshan_universal_two_child.yaml"
SELECTIVE = SCENARIOS / "heshan_selective_two_child.yaml"
RUN_PAGES, VARIANTS_PAGES, SWEEP_PAGES = 8, 3, 4
PROBABILITIES = {"p_population_final": ("population", "p_exceed_final"),
                 "p_population_any_year": ("population", "p_exceed_any_year"),
                 "p_growth_mean": ("natural_growth", "p_exceed_mean"),
                 "p_growth_any_year": ("natural_growth", "p_exceed_any_year")}


# ---------------------------------------------------------------- fixtures


def run(scenario: Path, out: Path, *options: str, replicates: int | None = 6, size: int = 3000) -> Path:
    count = ["--replicates", str(replicates)] if replicates else []  # none for a nested design
    assert main(["run", str(scenario), "--out", str(out), *count, "--population-size", str(size), "--seed", "5",
                 "--quiet", "--jobs", "1", *options]) == 0
    return out


def write_experiment(directory: Path, variants: dict[str, tuple[str, Path, dict]], kind: str = "variants",
                     sweep: dict | None = None) -> Path:
    """experiment.json and comparison.csv for finished runs, as `erhai compare` lays them out.

    `variants`: name -> (label, run directory, swept input values); the runs are linked under variants/."""
    (directory / "variants").mkdir(parents=True)
    for name, (_, source, _) in variants.items():
        (directory / "variants" / name).symlink_to(source, target_is_directory=True)
    sources = [source for _, source, _ in variants.values()]
    seed = json.loads((sources[0] / "manifest.json").read_text())["settings"]["seed"]
    spec = {"name": directory.name, "description": "test experiment", "kind": kind, "seed": seed,
            "replicates": min(_summary(source)["replicates"] for source in sources),
            "variants": [{"name": name, "label": label, "directory": f"variants/{name}", "values": values}
                         for name, (label, _, values) in variants.items()],
            "sweep": sweep}
    (directory / "experiment.json").write_text(json.dumps(spec, indent=2))
    reference = _outcomes(next(iter(variants.values()))[1])
    rows = [_comparison_row(name, label, source, values, reference)
            for name, (label, source, values) in variants.items()]
    pd.DataFrame(rows).to_csv(directory / "comparison.csv", index=False)
    return directory


def _summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def _outcomes(run_dir: Path) -> pd.DataFrame:
    caps = _summary(run_dir)["caps"]
    exceed = headline_outcomes(pd.read_csv(run_dir / "replicates.csv"), caps["population"]["year"],
                               tuple(caps["natural_growth"]["years"]))
    return pd.DataFrame({"p_population_final": exceed["population_final"] > caps["population"]["limit"],
                         "p_growth_mean": exceed["natural_growth_mean"] > caps["natural_growth"]["limit_permille"]})


def _comparison_row(name: str, label: str, run_dir: Path, values: dict, reference: pd.DataFrame) -> dict:
    caps = _summary(run_dir)["caps"]
    row = {"variant": name, "label": label, **values}
    for column, (cap, key) in PROBABILITIES.items():
        probability = caps[cap][key]
        row.update({column: probability["p"], f"{column}_low": probability["ci95"][0],
                    f"{column}_high": probability["ci95"][1]})
    # paired differences: replicate r of every variant shares its random streams, so compare them row by row
    differences = _outcomes(run_dir).astype(int) - reference.astype(int)
    for column in differences:
        mean, half = differences[column].mean(), 1.96 * differences[column].std() / np.sqrt(len(differences))
        row.update({f"diff_{column}": mean, f"diff_{column}_low": max(mean - half, -1),
                    f"diff_{column}_high": min(mean + half, 1)})
    replicates = pd.read_csv(run_dir / "replicates.csv")
    outcomes = headline_outcomes(replicates, caps["population"]["year"], tuple(caps["natural_growth"]["years"]))
    row.update({"population_final_median": outcomes["population_final"].median(),
                "natural_growth_mean_median": outcomes["natural_growth_mean"].median(),
                "births_2016_2020_median": replicates.groupby("replicate")["births"].sum().median()})
    return row


def sweep_scenario(directory: Path, compliance: float) -> Path:
    path = directory / f"compliance_{compliance:g}.yaml"
    path.write_text(f"extends: {UNIVERSAL}\nname: compliance {compliance:g}\nbehaviour:\n  compliance: {compliance}\n")
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return {"universal": run(UNIVERSAL, root / "universal"), "selective": run(SELECTIVE, root / "selective"),
            "central": run(UNIVERSAL, root / "central", "--central-inputs", replicates=3),
            "nested": run(UNIVERSAL, root / "nested", "--parameter-draws", "3", "--replicates-per-draw", "2",
                          replicates=None),
            **{f"compliance {value:g}": run(sweep_scenario(root, value), root / f"compliance_{value:g}", replicates=3,
                                            size=2000) for value in (0.1, 0.3, 0.5)}}


@pytest.fixture(scope="module")
def run_figures(runs):
    return run_report_figures(runs["universal"])


@pytest.fixture(scope="module")
def variants_experiment(runs, tmp_path_factory):
    return write_experiment(tmp_path_factory.mktemp("experiments") / "policies", {
        "universal": ("universal two-child", runs["universal"], {}),
        "selective": ("selective two-child", runs["selective"], {})})


@pytest.fixture(scope="module")
def sweep_experiment(runs, tmp_path_factory):
    return write_experiment(tmp_path_factory.mktemp("experiments") / "compliance", {
        f"c{value:g}": (f"compliance {value:g}", runs[f"compliance {value:g}"], {"behaviour.compliance": value})
        for value in (0.1, 0.3, 0.5)},
        kind="sweep", sweep={"inputs": ["behaviour.compliance"],
                             "crossing_50": {"p_population_final": 0.4, "p_growth_mean": None}})


# ---------------------------------------------------------------- helpers


def page_text(figure) -> str:
    return " ".join(" ".join(text.get_text() for text in figure.findobj(Text)).split())


def pdf_pages(path: Path) -> int:
    return len(re.findall(rb"/Type /Page\b", path.read_bytes()))


def overlapping_texts(figure) -> list[tuple[str, str]]:
    """Pairs of drawn texts whose boxes overlap (by more than a pixel), and texts that leave the page."""
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    undrawn = _undrawn_tick_labels(figure)
    boxes = [(text.get_text(), text.get_window_extent(renderer).padded(-1)) for text in figure.findobj(Text)
             if text.get_visible() and text.get_text().strip() and id(text) not in undrawn]
    off_page = [(text, "off the page") for text, box in boxes
                if not (figure.bbox.contains(box.x0, box.y0) and figure.bbox.contains(box.x1, box.y1))]
    return off_page + [(a, b) for (a, box_a), (b, box_b) in combinations(boxes, 2) if box_a.overlaps(box_b)]


def _undrawn_tick_labels(figure) -> set[int]:
    """Tick labels matplotlib keeps but does not draw: of axes switched off, or beyond the axis range."""
    hidden = set()
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            slack = 1e-9 * (high - low)
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not ax.axison or not low - slack <= tick.get_loc() <= high + slack:
                    hidden.update({id(tick.label1), id(tick.label2)})
    return hidden


# ---------------------------------------------------------------- run report


def test_run_report_has_one_page_per_idea_and_says_what_it_is(runs):
    path = write_run_report(runs["universal"])
    assert path == runs["universal"] / "report.pdf"
    assert not (runs["universal"] / "report.pdf.partial").exists()
    assert pdf_pages(path) == RUN_PAGES
    data = path.read_bytes()
    for expected in (b"/Title (Erhai run report", b"/Subject (Heshan 2016-2020", b"seed 5", b"/Author (Erhai 0.1.0)"):
        assert expected in data


def test_page_one_gives_the_headline_sentences_and_the_rescaling(runs, run_figures):
    text = page_text(run_figures[0])
    for sentence in headline_sentences(_summary(runs["universal"])):
        assert " ".join(sentence.split()) in text
    assert "rescaled to 3,000 people" in text
    assert "from 2016-01-01 universal two-child" in text


def test_central_inputs_are_said_on_page_one_and_leave_nothing_to_rank(runs):
    figures = run_report_figures(runs["central"])
    assert "held at its central value" in page_text(figures[0])
    assert "No input was drawn" in page_text(figures[-1])


def test_a_nested_run_says_how_much_of_the_spread_the_inputs_make(runs):
    text = page_text(run_report_figures(runs["nested"])[0])
    assert re.search(r"\d+% of the spread in the 2020 population comes from uncertain inputs, the rest from chance "
                     r"\(3 input draws, 2 runs each\)", text)


def test_too_few_runs_to_rank_the_inputs_is_said_in_words(run_figures):
    assert "Cannot rank the inputs" in page_text(run_figures[-1])


def test_source_date_epoch_makes_the_report_byte_identical(runs, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1451606400")  # 2016-01-01
    first = write_run_report(runs["universal"]).read_bytes()
    second = write_run_report(runs["universal"]).read_bytes()
    assert first == second
    assert b"/CreationDate (D:20160101000000" in first


def test_an_unfinished_run_is_refused(runs, tmp_path):
    copy = shutil.copytree(runs["universal"], tmp_path / "copy")
    directory = RunDirectory(copy)
    (copy / "manifest.json").write_text(json.dumps({**directory.manifest(), "status": "running"}))
    with pytest.raises(UserError, match="not complete.*--resume"):
        write_run_report(copy)
    assert not (copy / "report.pdf.partial").exists()


def test_a_run_without_its_tables_is_refused(runs, tmp_path):
    copy = shutil.copytree(runs["universal"], tmp_path / "copy")
    (copy / "pyramids.csv").unlink()
    with pytest.raises(UserError, match="missing pyramids.csv"):
        write_run_report(copy)


def test_inputs_are_named_in_words(runs):
    scenario = RunDirectory(runs["universal"]).scenario()
    assert input_label("behaviour.compliance", scenario) == "behaviour: compliance"
    assert input_label("behaviour.second_child_intention.rural", scenario) == \
        "behaviour: second child intention, rural"
    assert input_label("population.only_child_share.1.urban", scenario) == \
        "population: only child share (born until 1985), urban"


# ---------------------------------------------------------------- comparison report


def test_variants_comparison_has_three_pages(variants_experiment):
    path = write_comparison_report(variants_experiment)
    assert path == variants_experiment / "comparison.pdf"
    assert pdf_pages(path) == VARIANTS_PAGES
    assert b"/Title (Erhai comparison: policies)" in path.read_bytes()


def test_sweep_comparison_adds_the_curves_with_the_crossing(sweep_experiment):
    assert pdf_pages(write_comparison_report(sweep_experiment)) == SWEEP_PAGES
    sweep_page = comparison_report_figures(sweep_experiment)[-1]
    assert "50% at 0.4" in page_text(sweep_page)


def test_a_two_input_sweep_draws_one_curve_per_value_of_the_second(runs, tmp_path):
    variants = {f"v{i}": (f"variant {i}", runs[f"compliance {compliance:g}"],
                          {"behaviour.compliance": compliance, "behaviour.second_child_intention.rural": rural})
                for i, (compliance, rural) in enumerate([(0.1, 0.7), (0.5, 0.7), (0.1, 0.9), (0.5, 0.9)])}
    experiment = write_experiment(tmp_path / "two", variants, kind="sweep", sweep={
        "inputs": ["behaviour.compliance", "behaviour.second_child_intention.rural"],
        "crossing_50": {"p_population_final": None, "p_growth_mean": None}})
    text = page_text(comparison_report_figures(experiment)[-1])
    assert "behaviour: second child intention, rural = 0.7" in text
    assert "behaviour: second child intention, rural = 0.9" in text


# ---------------------------------------------------------------- every page


def test_the_overlap_check_sees_text_over_text_and_off_the_page():
    figure = page("A title")
    figure.text(0.03, 0.97, "over the title", va="top")
    figure.text(0.99, 0.5, "beyond the edge")
    assert overlapping_texts(figure) == [("beyond the edge", "off the page"), ("A title", "over the title")]


def test_every_page_draws_on_agg_with_no_text_over_text(run_figures, runs, variants_experiment, sweep_experiment):
    pages = [*run_figures, *run_report_figures(runs["central"]), *comparison_report_figures(variants_experiment),
             *comparison_report_figures(sweep_experiment)]
    for number, figure in enumerate(pages, start=1):
        assert isinstance(figure.canvas, FigureCanvasAgg)
        assert overlapping_texts(figure) == [], f"page {number}: {figure.texts[0].get_text()}"


def test_the_backlog_page_says_who_a_relaxation_releases_and_when_none_does(runs):
    universal = page_text(run_report_figures(runs["universal"])[4])
    assert "From 2016-01-01 (universal two-child" in universal and "Acting on the wish" in universal
    assert "No relaxation of the rules in this run" in page_text(run_report_figures(runs["selective"])[4])


def test_page_one_says_how_many_draws_of_the_inputs_were_set_aside(runs):
    run = read_run(runs["universal"])
    assert run.summary["input_redraws"] == 0 and "set aside" not in page_text(answer_page(run))
    redrawn = dataclasses.replace(run, summary={**run.summary, "input_redraws": 3})
    assert "3 draws of the uncertain inputs were set aside" in page_text(answer_page(redrawn))
