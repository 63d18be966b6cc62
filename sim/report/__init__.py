"""The PDF reports for planners: clients of the results objects, they read no file and name none.

    write_run_report(run, RunDirectory(path).report_path)        # an EnsembleResult
    write_comparison_report(comparison, ExperimentDirectory(path).report_path)   # a ComparisonResult

A run report is the answer (the chance of breaking each cap), then one idea per
page (`sim.report.pages`); a comparison report sets an experiment's variants
side by side (`sim.report.comparison`). The words are `sim.report.wording`, the
drawing primitives `sim.report.charts`. `run_report_figures` and
`comparison_report_figures` give the pages without writing them.

Both reports are written under a temporary name and renamed, like every run
file, and give the same bytes for the same results when SOURCE_DATE_EPOCH
fixes the creation date.
"""
from __future__ import annotations

import os
from pathlib import Path

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from sim import __version__
from sim.comparison import ComparisonResult
from sim.report.charts import footer
from sim.report.comparison import pages_of
from sim.report.pages import RUN_PAGES
from sim.results.runs import EnsembleResult


def run_report_figures(run: EnsembleResult) -> list[Figure]:
    """The run report's pages, in order (what `write_run_report` saves)."""
    figures = [build(run) for build in RUN_PAGES]
    _number_pages(figures, f"Erhai {__version__} · {run.scenario.name} · seed {run.seed} · {run.count} runs")
    return figures


def write_run_report(run: EnsembleResult, path: Path) -> Path:
    """Write the report of `run` to `path` (a run folder's is `RunDirectory.report_path`); returns `path`."""
    size = run.settings.population_size or "full"
    metadata = _metadata(f"Erhai run report: {run.scenario.name}", run.scenario.name,
                         f"seed {run.seed}; {run.count} replicates; population size {size}; "
                         f"run by erhai {run.manifest['provenance']['erhai']}; "
                         f"scenario sha256 {run.manifest['scenario_hash']}")
    return _write_pdf(run_report_figures(run), Path(path), metadata)


def comparison_report_figures(comparison: ComparisonResult) -> list[Figure]:
    """The comparison report's pages, in order (what `write_comparison_report` saves)."""
    description = comparison.description
    figures = [build(comparison) for build in pages_of(comparison)]
    _number_pages(figures, f"Erhai {__version__} · experiment {description['name']} · seed "
                           f"{description['seed']} · {description['replicates']} runs per variant")
    return figures


def write_comparison_report(comparison: ComparisonResult, path: Path) -> Path:
    """Write the report of `comparison` to `path` (an experiment folder's is `ExperimentDirectory.report_path`);
    returns `path`."""
    description = comparison.description
    metadata = _metadata(f"Erhai comparison: {description['name']}", description["name"],
                         f"seed {description['seed']}; {description['replicates']} replicates per variant; "
                         f"variants {', '.join(v['name'] for v in description['variants'])}")
    return _write_pdf(comparison_report_figures(comparison), Path(path), metadata)


def _number_pages(figures: list[Figure], text: str) -> None:
    for number, figure in enumerate(figures, start=1):
        footer(figure, f"{text} · page {number} of {len(figures)}")


def _metadata(title: str, subject: str, keywords: str) -> dict:
    # no CreationDate: matplotlib then takes SOURCE_DATE_EPOCH when it is set, which makes builds byte-identical
    return {"Title": title, "Subject": subject, "Keywords": keywords, "Author": f"Erhai {__version__}"}


def _write_pdf(figures: list[Figure], path: Path, metadata: dict) -> Path:
    partial = path.with_name(path.name + ".partial")
    with PdfPages(partial, metadata=metadata) as pdf:
        for figure in figures:
            pdf.savefig(figure)
    os.replace(partial, path)
    return path
