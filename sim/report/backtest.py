"""The backtest report: how a run (or each variant of a comparison) compares with what was observed.

Page 1: the coverage of each band against its level, in words and a table,
and the PIT histogram (flat if the run's spread is right; a U if it is too
narrow, a hump if too wide, tilted if the run is biased). Then one page per
indicator: the run's bands by year with the observations drawn on them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from sim.report.charts import BODY_SIZE, colours, fan, page, percent_axis, text_column
from sim.report.pdf import number_pages, write_pdf
from sim.results.backtest import BANDS, Backtest, simulated
from sim.results.runs import EnsembleResult

PIT_BINS = 10
OBSERVED_COLOUR = "#000000"


def backtest_figures(backtest: Backtest, runs: dict[str, EnsembleResult]) -> list[Figure]:
    """The pages of the report of `backtest`, whose runs (by variant name; one, named "", for a run) are `runs`."""
    first = next(iter(runs.values()))
    indicators = list(dict.fromkeys(backtest.rows["indicator"]))
    return number_pages([summary_page(backtest, runs), *(indicator_page(backtest, runs, name) for name in indicators)],
                        f"backtest of {first.scenario.name} · seed {first.seed} · {first.count} runs")


def write_backtest_report(backtest: Backtest, runs: dict[str, EnsembleResult], path: Path) -> Path:
    first = next(iter(runs.values()))
    metadata = {"Title": f"Erhai backtest: {first.scenario.name}",
                "Subject": f"{len(backtest.rows)} observations against {', '.join(runs) or first.scenario.name}"}
    return write_pdf(backtest_figures(backtest, runs), path, metadata)


def summary_page(backtest: Backtest, runs: dict[str, EnsembleResult]) -> Figure:
    relative = (f" Every indicator is scored as a ratio to its own value in {backtest.relative_to}."
                if backtest.relative_to else "")
    figure = page("How the run compares with what was observed",
                  f"{len(backtest.rows)} observations. A band of a given level should hold about that share of "
                  "them; fewer says the run is too sure of itself, more that it is too vague." + relative)
    figure.set_layout_engine("none")
    text_column(figure, 0.03, 0.86, 0.45, "Coverage of the run's bands", _coverage_lines(backtest))
    ax = figure.add_axes((0.56, 0.14, 0.40, 0.66))
    for colour, (name, rows) in zip(colours(len(runs)), _by_variant(backtest.rows)):
        ax.hist(rows["pit"], bins=np.linspace(0, 1, PIT_BINS + 1), histtype="step", linewidth=2, color=colour,
                label=name or "the run", weights=np.full(len(rows), 1 / len(rows)))
    ax.axhline(1 / PIT_BINS, color="grey", linestyle="--", linewidth=1.2, label="a run whose spread is right")
    ax.set_title("Share of replicates below each observation (PIT)", fontsize=BODY_SIZE + 1)
    ax.set_xlabel("PIT value (0: every replicate above the observation; 1: every one below)")
    ax.set_ylabel("share of observations")
    percent_axis(ax)
    ax.legend(loc="upper left", fontsize=BODY_SIZE - 1)
    return figure


def _coverage_lines(backtest: Backtest) -> list[str]:
    lines = []
    for name, rows in _by_variant(backtest.coverage):
        if name:
            lines.append(f"{name}:")
        lines += [f"{'  ' if name else ''}{row.band:.0%} band: {row.inside} of {row.observations} inside "
                  f"({row.share:.0%}, 95% interval {row.share_low:.0%} to {row.share_high:.0%}): {row.verdict}."
                  for row in rows.itertuples()]
    scores = backtest.by_indicator
    lines.append("Mean CRPS by indicator (lower is better; in the indicator's own units): " + "; ".join(
        f"{row.indicator}{f' ({row.variant})' if 'variant' in scores else ''} {row.mean_crps:.3g}"
        for row in scores.itertuples()) + ".")
    lines.append("Observations of one series are correlated (a run that starts high stays high), so an interval "
                 "is a guide, not a test.")
    return lines


def _by_variant(table):
    return table.groupby("variant", sort=False) if "variant" in table.columns else [("", table)]


def indicator_page(backtest: Backtest, runs: dict[str, EnsembleResult], indicator: str) -> Figure:
    rows = backtest.rows[backtest.rows["indicator"] == indicator]
    unit = f" (ratio to {backtest.relative_to})" if backtest.relative_to else ""
    figure = page(f"{indicator}{unit}: the run's bands and the observations",
                  "Line: the median of the replicates; shading: where the middle "
                  f"{', '.join(f'{band:.0%}' for band in sorted(BANDS))} of them fall. Black: observed.")
    ax = figure.add_subplot()
    several = len(runs) > 1
    for colour, (name, run) in zip(colours(len(runs)), runs.items()):
        fan(ax, simulated(run, indicator, backtest.relative_to), colour, name or "the run",
            bands=(0.8,) if several else tuple(sorted(BANDS, reverse=True)), label_bands=not several)
    observed = rows.drop_duplicates("year")
    ax.scatter(observed["year"], observed["observed"], color=OBSERVED_COLOUR, zorder=5, s=40, label="observed")
    ax.set_xlabel("year")
    ax.set_ylabel(indicator + unit)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=BODY_SIZE - 1)
    return figure
