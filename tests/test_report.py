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

from sim import Ensemble, EnsembleResult, load_scenario, open_run
from sim.comparison import ComparisonResult, comparison_table
from sim.errors import UserError
from sim.report import comparison_report_figures, run_report_figures, write_comparison_report, write_run_report
from sim.report.charts import CAP_COLOUR, page
from sim.report.comparison import population_page, summary_page, summary_pages
from sim.report import pages as run_pages
from sim.report.pages import RUN_PAGES, answer_page
from sim.report.wording import (CHANCE_COLOURS, INPUT_WORDS, chance, chance_number, input_label, plain_input_words,
                                points, rescaling_note)
from sim.results.sensitivity import MIN_RUNS, no_effect_sd
from sim.results.summary import Probability, summarize
from sim.scenario.inputs import realize
from sim.results.storage import RunDirectory, variant_folder
from sim.scenario.experiment import Variant
from tests.conftest import ROOT

SCENARIOS = ROOT / "scenarios"
UNIVERSAL = SCENARIOS / "heshan_universal_two_child.yaml"
SELECTIVE = SCENARIOS / "heshan_selective_two_child.yaml"
VARIANTS_PAGES, SWEEP_PAGES = 5, 6
COMPLIANCES = (0.1, 0.3, 0.5)


# ---------------------------------------------------------------- fixtures


def ensemble(scenario: Path, out: Path | None = None, *, replicates: int = 6, population_size: int = 3000,
             values: dict | None = None, **settings) -> EnsembleResult:
    """A quick run of `scenario` (with `values` replaced), in memory unless `out` is a folder."""
    variant = load_scenario(scenario).with_values(values or {})
    return Ensemble(variant, replicates, seed=5, population_size=population_size, **settings).run(out)


def comparison(name: str, variants: dict[str, tuple[str, EnsembleResult, dict]],
               sweep: dict | None = None) -> ComparisonResult:
    """The runs compared as `sim.compare` compares its variants, described as it describes them.

    `variants`: name -> (label, run, swept input values)."""
    results = [result for _, result, _ in variants.values()]
    compared = [Variant(variant, label, result.scenario, values)
                for variant, (label, result, values) in variants.items()]
    description = {"name": name, "description": "test experiment", "kind": "sweep" if sweep else "variants",
                   "seed": results[0].seed, "replicates": min(result.count for result in results),
                   "population_size": results[0].settings.population_size,
                   "variants": [{"name": variant, "label": label, "directory": variant_folder(variant),
                                 "values": values} for variant, (label, _, values) in variants.items()],
                   "sweep": sweep}
    return ComparisonResult(description, comparison_table(compared, results), dict(zip(variants, results)))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return {"universal": ensemble(UNIVERSAL, root / "universal"), "selective": ensemble(SELECTIVE),
            "central": ensemble(UNIVERSAL, replicates=3, central_inputs=True),
            "nested": ensemble(UNIVERSAL, replicates_per_draw=2),
            **{f"compliance {value:g}": ensemble(UNIVERSAL, replicates=3, population_size=2000,
                                                 values={"behaviour.compliance": value}) for value in COMPLIANCES}}


@pytest.fixture(scope="module")
def run_figures(runs):
    return run_report_figures(runs["universal"])


@pytest.fixture(scope="module")
def variants_comparison(runs):
    return comparison("policies", {"universal": ("universal two-child", runs["universal"], {}),
                                   "selective": ("selective two-child", runs["selective"], {})})


@pytest.fixture(scope="module")
def sweep_comparison(runs):
    return comparison("compliance", {
        f"c{value:g}": (f"compliance {value:g}", runs[f"compliance {value:g}"], {"behaviour.compliance": value})
        for value in COMPLIANCES},
        sweep={"inputs": ["behaviour.compliance"],
               "crossing_50": {"population.p_exceed_final": 0.4, "natural_growth.p_exceed_mean": None}})


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


def test_run_report_has_one_page_per_idea_and_says_what_it_is(runs, tmp_path):
    path = write_run_report(runs["universal"], tmp_path / "report.pdf")
    assert path == tmp_path / "report.pdf"
    assert not (tmp_path / "report.pdf.partial").exists()
    assert pdf_pages(path) == len(RUN_PAGES)
    data = path.read_bytes()
    for expected in (b"/Title (Erhai run report", b"/Subject (Heshan 2016-2020", b"seed 5", b"/Author (Erhai 0.1.0)"):
        assert expected in data


def test_a_run_folder_keeps_its_report_where_storage_says(runs):
    folder = RunDirectory(runs["universal"].path)
    assert write_run_report(open_run(folder.path), folder.report_path) == folder.path / "report.pdf"


def _page(figures, build) -> str:
    return page_text(figures[RUN_PAGES.index(build)])


def test_page_one_says_what_a_chance_is_what_is_capped_and_the_rescaling(runs, run_figures):
    text = page_text(run_figures[0])
    for cap in runs["universal"].caps:
        headline = runs["universal"].summary.caps[cap.name].probabilities[cap.headline.key]
        assert f"{headline.runs_exceeding} of 6 simulated futures" in text
    assert "simulation error only" in text and "already inside the chance" in text
    assert "The plan caps the 2016-2020 average: a single year above 8.5 does not break it" in text
    assert "For context, not capped: above 8.5 per mille in any single year" in text
    assert "quick run of 3,000 simulated people" in text and "each stands for about 294 people" in text
    assert "from 2016-01-01 universal two-child" in text and "Net migration:" in text


def _with_chance(run: EnsembleResult, runs_exceeding: int, runs: int) -> EnsembleResult:
    """`run` whose population cap was broken in `runs_exceeding` of `runs` futures (the summary only)."""
    cap = run.summary.caps["population"]
    doctored = dataclasses.replace(cap, probabilities={
        key: Probability.of(runs_exceeding, runs) for key in cap.probabilities})
    return dataclasses.replace(run, summary=dataclasses.replace(
        run.summary, caps={**run.summary.caps, "population": doctored}))


@pytest.mark.parametrize("runs_exceeding, number, colour", [(0, "under 1%", CHANCE_COLOURS[0]),
                                                            (3, "2%", CHANCE_COLOURS[0]),
                                                            (190, "95%", CHANCE_COLOURS[2])])
def test_page_one_gives_a_zero_a_small_and_a_large_chance_in_futures(runs, runs_exceeding, number, colour):
    figure = answer_page(_with_chance(runs["universal"], runs_exceeding, 200))
    text = page_text(figure)
    assert f"{runs_exceeding} of 200 simulated futures" in text
    big = [t for t in figure.findobj(Text) if t.get_text() == number]
    assert big and big[0].get_color() == colour
    assert "0%" not in [t.get_text() for t in figure.findobj(Text)]  # a bare 0% is never the answer


def test_a_chance_that_no_future_resolves_is_bounded_by_one_future():
    assert chance_number(Probability.of(0, 20)) == "under 5%"
    assert chance_number(Probability.of(20, 20)) == "over 95%"
    assert chance_number(Probability.of(1, 400)) == "0.2%"  # one in 400: shown, not rounded to 0%


def test_the_base_size_derived_from_the_caps_is_said(runs, run_figures):
    # the Heshan scenarios' most likely 881,800 is 920,000 / 1.0085^5, not a count
    assert "881,800 is not a count but the cap brought back 5 years at the growth cap" in page_text(run_figures[0])
    counted = runs["universal"].scenario.with_values({"population.size": 870_000})
    assert "not a count" not in page_text(answer_page(dataclasses.replace(runs["universal"], scenario=counted)))


def test_central_inputs_are_said_on_page_one_and_leave_nothing_to_rank(runs):
    figures = run_report_figures(runs["central"])
    assert "held at its central value" in page_text(figures[0])
    assert "No input was drawn" in _page(figures, run_pages.drivers_page)


def test_a_nested_run_says_how_much_of_the_spread_the_inputs_make(runs):
    text = _page(run_report_figures(runs["nested"]), run_pages.provenance_page)
    assert re.search(r"\d+% of the spread in the population at the end of 2020 comes from uncertain inputs, the rest "
                     r"from chance \(3 input draws, 2 runs each\)", text)


def test_too_few_runs_to_rank_the_inputs_is_said_in_words(run_figures):
    assert f"needs at least {MIN_RUNS} runs" in _page(run_figures, run_pages.drivers_page)


@pytest.fixture(scope="module")
def one_input_run(runs):
    """60 futures whose population in 2020 is set by net migration alone (the other inputs drawn at random)."""
    run, rng = runs["universal"], np.random.default_rng(11)
    count = 60
    inputs = pd.concat([run.inputs.iloc[[r % run.count]] for r in range(count)], ignore_index=True)
    inputs["replicate"] = range(count)
    for name in inputs.columns[1:]:
        inputs[name] = rng.permutation(inputs[name].to_numpy()) + rng.normal(0, 1e-6, count)
    migrants = rng.normal(0, 2000, count)
    inputs["migration.net_migrants_per_year"] = migrants
    yearly = pd.concat([run.yearly[run.yearly["replicate"] == r % run.count].assign(replicate=r)
                        for r in range(count)], ignore_index=True)
    last = yearly["year"] == yearly["year"].max()
    yearly.loc[last, "population_end"] = 900_000 + 5 * migrants + rng.normal(0, 500, count)
    base = pd.concat([run.base.iloc[[r % run.count]].assign(replicate=r) for r in range(count)], ignore_index=True)
    return dataclasses.replace(run, yearly=yearly, inputs=inputs, base=base,
                               summary=summarize(yearly, run.caps, input_redraws=0))


def test_the_drivers_page_ranks_the_one_input_that_decides_first_with_most_of_the_spread(one_input_run):
    figure = run_pages.drivers_page(one_input_run)
    population = figure.axes[0]
    labels = [label.get_text().replace("\n", " ") for label in population.get_yticklabels()]
    assert labels[0] == "net migrants a year (in minus out)"
    share = run_pages.drivers(one_input_run)["population_final"].loc["migration.net_migrants_per_year", "share"]
    # Var(5 x migrants) / (that + 500^2) = 0.9975, less four sd of an estimate without effect: a loose bound
    # (the ranking above is the point), as the scatter of a share near one is not derived here
    assert share > 0.99 - 4 * no_effect_sd(60)
    assert "net migrants a year (in minus out), around 0 (± 2,000): " in page_text(answer_page(one_input_run))


def test_every_series_starts_in_the_base_year(run_figures, runs):
    run = runs["universal"]
    for indicator in ("population_end", "births", "births_order2", "natural_growth_permille", "tfr_order1"):
        assert run.indicator(indicator).columns[0] == run.base_year
    assert run.indicator("srb").columns[0] == run.base_year + 1  # the base population's births have no sex
    births = run_figures[RUN_PAGES.index(run_pages.births_page)]
    ticks = [label.get_text() for label in births.axes[4].get_xticklabels()]
    assert ticks[0] == str(run.base_year)


def test_the_population_cap_is_drawn_at_its_year_only(run_figures, runs):
    ax = run_figures[RUN_PAGES.index(run_pages.population_page)].axes[0]
    cap = [line for line in ax.collections if line.get_label().startswith("plan's cap")]
    (segment,) = cap[0].get_segments()
    assert segment[0][0] > runs["universal"].final_year - 1 and segment[1][0] < runs["universal"].final_year + 1
    growth = run_figures[RUN_PAGES.index(run_pages.growth_page)].axes[0]
    assert not [line for line in growth.get_lines() if "cap" in line.get_label()]  # no cap on single years


def test_age_panels_span_alike_with_exact_tick_labels(run_figures):
    axes = run_figures[RUN_PAGES.index(run_pages.age_structure_page)].axes
    spans = [ax.get_ylim()[1] - ax.get_ylim()[0] for ax in axes]
    assert max(spans) - min(spans) < 1e-12
    for ax in axes:
        for tick, label in zip(ax.get_yticks(), ax.get_yticklabels()):
            if label.get_text():
                assert float(label.get_text().rstrip("%")) == pytest.approx(100 * tick, abs=1e-9)


def test_source_date_epoch_makes_the_report_byte_identical(runs, monkeypatch, tmp_path):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1451606400")  # 2016-01-01
    first = write_run_report(runs["universal"], tmp_path / "first.pdf").read_bytes()
    second = write_run_report(runs["universal"], tmp_path / "second.pdf").read_bytes()
    assert first == second
    assert b"/CreationDate (D:20160101000000" in first


# the refusals are storage's now (`RunDirectory.result`): the report is only ever given a finished run


def test_an_unfinished_run_is_refused(runs, tmp_path):
    copy = shutil.copytree(runs["universal"].path, tmp_path / "copy")
    directory = RunDirectory(copy)
    (copy / "manifest.json").write_text(json.dumps({**directory.manifest(), "status": "running"}))
    with pytest.raises(UserError, match="not complete.*--resume"):
        open_run(copy)


def test_a_run_without_its_tables_is_refused(runs, tmp_path):
    copy = shutil.copytree(runs["universal"].path, tmp_path / "copy")
    (copy / "pyramids.parquet").unlink()
    with pytest.raises(UserError, match="missing pyramids.parquet"):
        open_run(copy)


def test_inputs_are_named_in_words(runs):
    scenario = runs["universal"].scenario
    assert input_label("behaviour.compliance", scenario) == "behaviour: compliance"
    assert input_label("behaviour.second_child_intention.rural", scenario) == \
        "behaviour: second child intention, rural"
    assert input_label("population.only_child_share.1.urban", scenario) == \
        "population: only child share (born until 1985), urban"


# ---------------------------------------------------------------- comparison report


def test_variants_comparison_has_five_pages(variants_comparison, tmp_path):
    path = write_comparison_report(variants_comparison, tmp_path / "comparison.pdf")
    assert path == tmp_path / "comparison.pdf"
    assert not (tmp_path / "comparison.pdf.partial").exists()
    assert pdf_pages(path) == VARIANTS_PAGES
    assert b"/Title (Erhai comparison: policies)" in path.read_bytes()


def test_the_summary_page_says_which_variants_differ_clearly_and_how_sure(variants_comparison):
    """The selective variant made clearly higher on the population cap and left unclear on natural growth."""
    table = variants_comparison.table.copy()
    population, growth = "population.p_exceed_final_diff", "natural_growth.p_exceed_mean_diff"
    table.loc[1, [population, f"{population}_low", f"{population}_high"]] = [0.3, 0.1, 0.5]
    table.loc[1, [growth, f"{growth}_low", f"{growth}_high"]] = [0.05, -0.2, 0.3]
    text = page_text(summary_page(dataclasses.replace(variants_comparison, table=table)))
    selective = variants_comparison.variants["selective"].summary
    assert (f"Selective two-child: {chance(selective.population.p_exceed_final)}; clearly higher: "
            f"{points(0.3)} points ({points(0.1)} to {points(0.5)})") in text
    assert (f"Selective two-child: {chance(selective.natural_growth.p_exceed_mean)}; no clear difference with 6 "
            f"runs: {points(0.05)} points ({points(-0.2)} to {points(0.3)})") in text
    assert "Clearly higher: selective two-child." in text
    assert "With 6 runs, no variant differs clearly from the first." in text
    universal = variants_comparison.variants["universal"].summary
    assert f"Universal two-child, the first variant: {chance(universal.population.p_exceed_final)}." in text
    assert "Paired runs: every variant ran the same 6 simulated futures" in text and "simulation error only" in text


def test_many_variants_continue_the_summary_on_another_page_with_the_first_again(runs):
    many = comparison("many", {f"v{i}": (f"variant {i}", runs["universal"], {}) for i in range(9)})
    pages = [build(many) for build in summary_pages(many)]
    assert len(pages) == 2 and all("Variant 0, the first variant" in page_text(figure) for figure in pages)
    assert "Variant 6:" in page_text(pages[0]) and "Variant 7:" in page_text(pages[1])
    assert all(overlapping_texts(figure) == [] for figure in pages)


def test_every_comparison_page_says_a_quick_run_is_rescaled(variants_comparison, runs):
    note = " ".join(rescaling_note(runs["universal"]).split())
    assert note
    for number, figure in enumerate(comparison_report_figures(variants_comparison), start=1):
        assert note in page_text(figure), f"page {number}"


def test_the_population_cap_is_marked_at_its_year_only(variants_comparison):
    figure = population_page(variants_comparison)
    marks = [line for ax in figure.axes for line in ax.get_lines() if line.get_color() == CAP_COLOUR]
    assert len(marks) == 2 * len(variants_comparison.variants)  # a bar and a point in each panel
    assert all(2019.5 < x < 2020.5 for line in marks for x in line.get_xdata())


def test_sweep_comparison_adds_the_curves_with_the_crossing(sweep_comparison, tmp_path):
    assert pdf_pages(write_comparison_report(sweep_comparison, tmp_path / "comparison.pdf")) == SWEEP_PAGES
    sweep_page = comparison_report_figures(sweep_comparison)[-1]
    assert "50% at 0.4" in page_text(sweep_page)


def test_a_two_input_sweep_draws_one_curve_per_value_of_the_second(runs):
    variants = {f"v{i}": (f"variant {i}", runs[f"compliance {compliance:g}"],
                          {"behaviour.compliance": compliance, "behaviour.second_child_intention.rural": rural})
                for i, (compliance, rural) in enumerate([(0.1, 0.7), (0.5, 0.7), (0.1, 0.9), (0.5, 0.9)])}
    two = comparison("two", variants, sweep={
        "inputs": ["behaviour.compliance", "behaviour.second_child_intention.rural"],
        "crossing_50": {"population.p_exceed_final": None, "natural_growth.p_exceed_mean": None}})
    text = page_text(comparison_report_figures(two)[-1])
    assert "behaviour: second child intention, rural = 0.7" in text
    assert "behaviour: second child intention, rural = 0.9" in text


# ---------------------------------------------------------------- every page


def test_the_overlap_check_sees_text_over_text_and_off_the_page():
    figure = page("A title")
    figure.text(0.03, 0.97, "over the title", va="top")
    figure.text(0.99, 0.5, "beyond the edge")
    assert overlapping_texts(figure) == [("beyond the edge", "off the page"), ("A title", "over the title")]


def test_every_page_draws_on_agg_with_no_text_over_text(run_figures, runs, variants_comparison, sweep_comparison):
    pages = [*run_figures, *run_report_figures(runs["central"]), *comparison_report_figures(variants_comparison),
             *comparison_report_figures(sweep_comparison)]
    for number, figure in enumerate(pages, start=1):
        assert isinstance(figure.canvas, FigureCanvasAgg)
        assert overlapping_texts(figure) == [], f"page {number}: {figure.texts[0].get_text()}"


def test_the_backlog_page_says_who_a_relaxation_releases_and_when_none_does(runs, run_figures):
    universal = _page(run_figures, run_pages.backlog_page)
    assert "From 2016-01-01 (universal two-child" in universal and "Acting on the wish" in universal
    selective = _page(run_report_figures(runs["selective"]), run_pages.backlog_page)
    assert "No relaxation of the rules in this run" in selective


def test_the_provenance_page_says_how_many_draws_of_the_inputs_were_set_aside(runs):
    run = runs["universal"]
    none, redrawn = (dataclasses.replace(run, summary=dataclasses.replace(run.summary, input_redraws=count))
                     for count in (0, 3))
    assert "set aside" not in page_text(run_pages.provenance_page(none))
    assert "3 draws of the uncertain inputs were set aside" in page_text(run_pages.provenance_page(redrawn))


def test_every_input_a_shipped_scenario_draws_has_plain_words():
    for path in sorted(SCENARIOS.glob("*.yaml")):
        scenario = load_scenario(path)
        _, drawn = realize(scenario, np.random.SeedSequence(1))
        for name in drawn:
            assert plain_input_words(name, scenario) != input_label(name, scenario), f"{path.name}: {name}"
    scenario = load_scenario(UNIVERSAL)
    assert plain_input_words("population.only_child_share.1.urban", scenario) == \
        "urban people born 1976-1985 who are only children"
    assert len(INPUT_WORDS) == len(set(INPUT_WORDS.values()))  # no two inputs said alike


def test_points_keep_a_bound_just_off_zero_off_zero():
    assert [points(d) for d in (0.0, 0.003, -0.004, 0.03, -0.26)] == ["0", "+0.3", "-0.4", "+3", "-26"]
