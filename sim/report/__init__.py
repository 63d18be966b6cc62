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

from pathlib import Path

from matplotlib.figure import Figure

from sim.comparison import ComparisonResult
from sim.report.comparison import pages_of
from sim.report.pages import RUN_PAGES
from sim.report.pdf import number_pages, write_pdf
from sim.results.runs import EnsembleResult


def run_report_figures(run: EnsembleResult) -> list[Figure]:
    """The run report's pages, in order (what `write_run_report` saves)."""
    return number_pages([build(run) for build in RUN_PAGES], _run_footer(run))


def _run_footer(run: EnsembleResult) -> str:
    return f"{run.scenario.name} · seed {run.seed} · {run.count} runs"


def write_run_report(run: EnsembleResult, path: Path) -> Path:
    """Write the report of `run` to `path` (a run folder's is `RunDirectory.report_path`); returns `path`."""
    size = run.settings.population_size or "full"
    metadata = _metadata(f"Erhai run report: {run.scenario.name}", run.scenario.name,
                         f"seed {run.seed}; {run.count} replicates; population size {size}; "
                         f"run by erhai {run.manifest['provenance']['erhai']}; "
                         f"scenario sha256 {run.manifest['scenario_hash']}")
    return write_pdf(run_report_figures(run), path, metadata)


def comparison_report_figures(comparison: ComparisonResult) -> list[Figure]:
    """The comparison report's pages, in order (what `write_comparison_report` saves)."""
    return number_pages([build(comparison) for build in pages_of(comparison)],
                        _comparison_footer(comparison.description))


def _comparison_footer(description: dict) -> str:
    size = description["population_size"]
    quick = f" · quick runs of {size:,} simulated people" if size else ""
    return (f"experiment {description['name']} · seed {description['seed']} · "
            f"{description['replicates']} runs per variant{quick}")


def write_comparison_report(comparison: ComparisonResult, path: Path) -> Path:
    """Write the report of `comparison` to `path` (an experiment folder's is `ExperimentDirectory.report_path`);
    returns `path`."""
    description = comparison.description
    metadata = _metadata(f"Erhai comparison: {description['name']}", description["name"],
                         f"seed {description['seed']}; {description['replicates']} replicates per variant; "
                         f"population size {description['population_size'] or 'full'}; "
                         f"variants {', '.join(v['name'] for v in description['variants'])}")
    return write_pdf(comparison_report_figures(comparison), path, metadata)


def _metadata(title: str, subject: str, keywords: str) -> dict:
    return {"Title": title, "Subject": subject, "Keywords": keywords}
