"""The calibration report: what an ABC-SMC calibration (`sim.calibration.run`) fitted to what, and what it learnt.

Page 1: the targets, the generations and, input by input, how much the data
narrowed it. Page 2: each input's prior against its posterior. Page 3: the
posterior's pairs, where inputs that trade off against one another show as
slanted clouds. Page 4: the posterior predictive check, each target against
replicates drawn from the posterior.
"""
from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sim.calibration.run import Calibration
from sim.progress import duration
from sim.report.charts import A4_LANDSCAPE, BODY_SIZE, CAP_COLOUR, PALETTE, PLAN_COLOUR, page, text_column
from sim.report.pdf import number_pages, write_pdf

POSTERIOR_COLOUR = PALETTE[0]
OBSERVED_COLOUR = "#000000"
PRIOR_RANGE = (0.005, 0.995)  # the prior's density is drawn over its central 99%
HISTOGRAM_BINS = 20
PANEL_COLUMNS = 4  # prior-against-posterior panels in a row
CHECK_COLUMNS = 3  # predictive check panels in a row
# a posterior 90% interval this share of the prior's width or less, in words; wider: the data say little
NARROWING = ((0.25, "the data pinned it down"), (0.5, "the data narrowed it a lot"),
             (0.8, "the data narrowed it somewhat"))
LOW_ESS_SHARE = 0.2  # an effective sample below this share of the particles makes the intervals rough
EXTREME_PIT = 0.05  # a PIT this close to 0 or 1: the posterior seldom reproduces the target
TOP = 0.82  # below a page's title and a subtitle of up to three lines, for pages of placed text
TABLE_ROW = 0.032  # height of a table row, as a share of the page
LINE = 1.45 * (BODY_SIZE - 1) / 72 / A4_LANDSCAPE[1]  # a line of `text_column`'s text, as a share of the page's height
PAIR_TEXT = BODY_SIZE - 3


def calibration_figures(calibration: Calibration) -> list[Figure]:
    """The pages of the report of `calibration`, in order (what `write_calibration_report` saves)."""
    settings = calibration.record["settings"]
    return number_pages([summary_page(calibration), priors_page(calibration), pairs_page(calibration),
                         check_page(calibration)],
                        f"calibration: {calibration.record['name']} · seed {settings['seed']} · "
                        f"{settings['particles']} particles")


def write_calibration_report(calibration: Calibration, path: Path) -> Path:
    """Write the report of `calibration` to `path` (its folder's is `CalibrationDirectory.report_path`);
    returns `path`."""
    record = calibration.record
    metadata = {"Title": f"Erhai calibration: {record['name']}",
                "Subject": f"{len(calibration.fit)} inputs of {record['scenario']} fitted to "
                           f"{len(record['targets'])} targets"}
    return write_pdf(calibration_figures(calibration), path, metadata)


def input_words(dotted: str) -> str:
    """A fitted input's dotted path in words, e.g. 'behaviour: catch up, acting share'.

    Not `sim.report.wording.input_label`, which needs the scenario: a calibration's record names it only."""
    section, *rest = dotted.replace("_", " ").split(".")
    return f"{section}: {', '.join(rest)}"


def _wrap(text: str, characters: int) -> str:
    # not at hyphens, so that a date or a year range stays whole
    return textwrap.fill(text, characters, break_on_hyphens=False)


# ---------------------------------------------------------------- page 1: what was fitted to what


def summary_page(calibration: Calibration) -> Figure:
    record, generations = calibration.record, calibration.generations
    settings, particles = record["settings"], record["settings"]["particles"]
    figure = page("What the calibration fitted to what, and how much the data said",
                  f"{len(calibration.fit)} inputs of \"{record['scenario']}\" fitted by ABC-SMC to "
                  f"{len(record['targets'])} targets: {generations['simulations'].sum():,} simulations in "
                  f"{len(generations)} generations, {duration(record['wall_seconds'])} in all with the predictive "
                  f"check. Each simulation is one replicate of {settings['population_size']:,} agents, whose chance "
                  "variation adds to the spread of the simulated targets: the posterior is conservative, wider than "
                  "the data alone would make it.")
    figure.set_layout_engine("none")  # a page of placed text and a table
    text_column(figure, 0.03, TOP, 0.40, "The targets: value ± sd (source)",
                [f"{target['key']}: {target['value']:g} ± {target['sd']:g} ({target['source']})"
                 for target in record["targets"]])
    _generations_table(figure, generations, particles)
    ess = generations["effective_sample_size"].iloc[-1]
    rough = ([f"The last generation's effective sample size is {ess:.1f} of {particles} particles: the posterior "
              "rests on a few of them, so its intervals are rough."] if ess < LOW_ESS_SHARE * particles else [])
    text_column(figure, 0.47, TOP, 0.50, "How much the data narrowed each input's 90% interval",
                [_narrowing(row) for row in calibration.posterior_summary.itertuples()], warnings=rough)
    return figure


def _narrowing(row) -> str:
    """One input's posterior against its prior, in a sentence (`row`: of `Calibration.posterior_summary`)."""
    verdict = next((words for share, words in NARROWING if row.width_ratio <= share), "the data say little about it")
    return (f"{input_words(row.input)}: posterior {row.posterior_5:.3g} to {row.posterior_95:.3g}, prior "
            f"{row.prior_5:.3g} to {row.prior_95:.3g}; {row.width_ratio:.0%} of the prior's width: {verdict}.")


def _generations_table(figure: Figure, generations: pd.DataFrame, particles: int) -> None:
    """The generations, one table row each, at the foot of the page's left column, with what its columns mean
    below it."""
    bottom, height = 0.13, TABLE_ROW * (len(generations) + 1)
    ax = figure.add_axes((0.03, bottom, 0.40, height))
    ax.set_axis_off()
    cells = [[f"{row.generation + 1}", f"{row.tolerance:.3g}", f"{row.acceptance_rate:.1%}", f"{row.simulations:,}",
              f"{row.effective_sample_size:.3g}", f"{row.seconds:,.0f}"] for row in generations.itertuples()]
    table = ax.table(cells, colLabels=["generation", "tolerance", "accepted", "simulations", "ESS", "seconds"],
                     colWidths=(0.20, 0.17, 0.16, 0.21, 0.11, 0.15), cellLoc="right", bbox=(0, 0, 1, 1))
    table.auto_set_font_size(False)
    table.set_fontsize(BODY_SIZE - 1)
    for (row, _), cell in table.get_celld().items():
        cell.set_edgecolor("#BBBBBB")
        if row == 0:
            cell.set_text_props(weight="bold")
    text_column(figure, 0.03, bottom + height + 2 * LINE, 0.40, "The generations", [])
    figure.text(0.03, bottom - LINE / 2, _wrap(
        "Tolerance: how close to the targets (in their sds) a simulation had to come; accepted: the share of "
        f"simulations that did; ESS: the effective sample size of the {particles} weighted particles.", 72),
        fontsize=BODY_SIZE - 2, va="top", color=PLAN_COLOUR)


# ---------------------------------------------------------------- page 2: prior against posterior


def priors_page(calibration: Calibration) -> Figure:
    figure = page("What the targets taught about each fitted input: prior against posterior",
                  "Grey line: the prior (the input's distribution in the scenario). Blue bars: the posterior, its "
                  "particles weighted; solid line its median, dashed lines its 90% interval. Bars narrower than the "
                  "grey curve: the targets told us about the input; as wide: they did not.")
    count = len(calibration.fit)
    columns = min(count, PANEL_COLUMNS)
    axes = figure.subplots(math.ceil(count / columns), columns, squeeze=False).ravel()
    for ax, row in zip(axes, calibration.posterior_summary.itertuples()):
        _prior_against_posterior(ax, calibration, row)
    for ax in axes[count:]:  # the grid's unused places
        ax.set_axis_off()
    return figure


def _prior_against_posterior(ax: Axes, calibration: Calibration, row) -> None:
    prior, values = calibration.prior(row.input), calibration.posterior[row.input]
    low, high = prior.ppf(PRIOR_RANGE)
    grid = np.linspace(min(low, values.min()), max(high, values.max()), 200)
    ax.hist(values, bins=np.linspace(grid[0], grid[-1], HISTOGRAM_BINS + 1), weights=calibration.posterior["weight"],
            density=True, color=POSTERIOR_COLOUR, alpha=0.55)
    ax.plot(grid, prior.pdf(grid), color=PLAN_COLOUR, linewidth=2)
    ax.axvline(row.posterior_median, color=POSTERIOR_COLOUR, linewidth=2)
    for bound in (row.posterior_5, row.posterior_95):
        ax.axvline(bound, color=POSTERIOR_COLOUR, linestyle="--", linewidth=1.2)
    ax.set_title(f"{_wrap(input_words(row.input), 36)}\nposterior {row.posterior_median:.3g} ({row.posterior_5:.3g} "
                 f"to {row.posterior_95:.3g})", fontsize=BODY_SIZE - 1)
    ax.set_yticks([])
    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.tick_params(labelsize=BODY_SIZE - 2)


# ---------------------------------------------------------------- page 3: the posterior's pairs


def pairs_page(calibration: Calibration) -> Figure:
    fit, posterior = calibration.fit, calibration.posterior
    figure = page("How the fitted inputs trade off against one another in the posterior",
                  "Each row and each column is one input, named above its weighted histogram on the diagonal. A dot "
                  "is a particle, the darker the more weight it carries; a slanted cloud means the targets fix a "
                  "combination of the two inputs rather than each.")
    figure.set_layout_engine("none")  # a grid of many small panels, placed: the engine would squeeze them
    axes = figure.subplots(len(fit), len(fit), squeeze=False, sharex="col",
                           gridspec_kw={"left": 0.07, "right": 0.97, "bottom": 0.12, "top": TOP - 0.06,
                                        "wspace": 0.1, "hspace": 0.1})
    ranges = {dotted: _padded(posterior[dotted]) for dotted in fit}
    order = posterior["weight"].sort_values().index  # the heaviest particles drawn last, on top
    dots = _weight_colours(posterior.loc[order, "weight"])
    for i, row_input in enumerate(fit):
        for j, column_input in enumerate(fit):
            ax = axes[i, j]
            if j > i:
                ax.set_axis_off()
            elif j == i:
                _diagonal(ax, posterior, row_input, ranges[row_input])
            else:
                ax.scatter(posterior.loc[order, column_input], posterior.loc[order, row_input], s=6, c=dots,
                           linewidths=0)
                ax.set_ylim(ranges[row_input])
            _pair_ticks(ax, bottom=i == len(fit) - 1, left=j == 0 and i > 0)
    return figure


def _padded(values: pd.Series) -> tuple[float, float]:
    low, high = values.min(), values.max()
    margin = 0.05 * (high - low) or 0.05 * abs(low) or 0.05  # an input all particles agree on still gets a range
    return low - margin, high + margin


def _weight_colours(weights: pd.Series) -> np.ndarray:
    """The posterior's colour, as opaque as a particle's weight is large (the faintest still visible)."""
    colours = np.tile(to_rgba(POSTERIOR_COLOUR), (len(weights), 1))
    colours[:, 3] = 0.08 + 0.92 * weights.to_numpy() / weights.max()
    return colours


def _diagonal(ax: Axes, posterior: pd.DataFrame, dotted: str, limits: tuple[float, float]) -> None:
    ax.hist(posterior[dotted], bins=np.linspace(*limits, HISTOGRAM_BINS + 1), weights=posterior["weight"],
            color=POSTERIOR_COLOUR, alpha=0.55)
    ax.set_xlim(limits)
    # wrapped to the panel's width; it can rise into the empty panels above the diagonal
    width = ax.get_position().width * ax.figure.get_figwidth() * 72 / (0.5 * PAIR_TEXT)
    ax.set_title(_wrap(input_words(dotted), max(int(width), 12)), fontsize=PAIR_TEXT, loc="left")


def _pair_ticks(ax: Axes, bottom: bool, left: bool) -> None:
    """Two or three ticks a side, labelled only along the grid's bottom and left edges, so that twelve inputs stay
    legible."""
    ax.xaxis.set_major_locator(MaxNLocator(3))
    ax.yaxis.set_major_locator(MaxNLocator(3, prune="lower"))  # the bottom-left corner is the x labels'
    ax.tick_params(labelsize=PAIR_TEXT, labelbottom=bottom, labelleft=left, length=2)
    if bottom:
        ax.tick_params(axis="x", labelrotation=90)  # side by side, long labels would touch


# ---------------------------------------------------------------- page 4: the posterior predictive check


def check_page(calibration: Calibration) -> Figure:
    settings = calibration.record["settings"]
    figure = page("Can the posterior reproduce the targets? The posterior predictive check",
                  f"{settings['predictive_replicates']} replicates of {settings['population_size']:,} agents, their "
                  "fitted inputs drawn from the posterior. Blue: where the middle 90% (light) and 50% (dark) of the "
                  "replicates fall, white line their median; black: the target with ± 2 sd. PIT: the share of "
                  "replicates below the target; near 0 or 1 the posterior seldom reproduces it.")
    check = calibration.check
    columns = min(len(check), CHECK_COLUMNS)
    axes = figure.subplots(math.ceil(len(check) / columns), columns, squeeze=False).ravel()
    for ax, row in zip(axes, check.itertuples()):
        _target_check(ax, row)
    for ax in axes[len(check):]:
        ax.set_axis_off()
    return figure


def _target_check(ax: Axes, row) -> None:
    """One target (`row`: of `Calibration.check`): the replicates' bands above, the target below."""
    ax.barh(1, row.q95 - row.q5, left=row.q5, height=0.5, color=POSTERIOR_COLOUR, alpha=0.3)
    ax.barh(1, row.q75 - row.q25, left=row.q25, height=0.5, color=POSTERIOR_COLOUR, alpha=0.8)
    ax.vlines(row.q50, 0.75, 1.25, color="white", linewidth=2.5)
    ax.errorbar(row.observed, 0, xerr=2 * row.sd, fmt="o", color=OBSERVED_COLOUR, markersize=7, capsize=5,
                linewidth=2)
    ax.set_yticks([0, 1], ["target", "replicates"])
    ax.set_ylim(-0.6, 1.6)
    ax.grid(axis="x", alpha=0.3)
    extreme = min(row.pit, 1 - row.pit) < EXTREME_PIT
    ax.set_title(f"{_wrap(row.target, 40)}\nPIT {row.pit:.2f}" + (": seldom reproduced" if extreme else ""),
                 fontsize=BODY_SIZE, color=CAP_COLOUR if extreme else "black")
