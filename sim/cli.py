"""The `erhai` command line (also `python -m sim`).

Bad input of any kind ends with one message per problem on stderr and exit
status 2; a traceback means a bug in Erhai, not in the scenario.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Sequence

import numpy as np
import yaml

from sim import __version__
from sim.calibration.settings import CalibrationSettings
from sim.ensemble import BACKENDS, MAX_BATCHES, Execution
from sim.errors import UserError
from sim.resources import OVERRIDE
from sim.simulation import ENGINES

EXIT_USER_ERROR = 2
EXIT_ENVIRONMENT = 1  # the machine failed the run (a disk, a worker), not its input
QUICK_RUN_HELP = ("a quick run: N agents at the scenario's central size (in proportion to each replicate's drawn "
                  "size), each standing for central size / N people; counts are scaled back to people")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.command(args) or 0
    except UserError as exc:
        print(f"erhai: {exc}" if not exc.problems else str(exc), file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"erhai: interrupted{_how_to_continue(args)}", file=sys.stderr)
        return 130
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"erhai: {where}{exc.strerror or exc}{_how_to_continue(args, started_only=True)}", file=sys.stderr)
        return EXIT_ENVIRONMENT
    except BrokenProcessPool:
        print("erhai: a worker process died (killed, or out of memory: fewer --jobs need less)"
              f"{_how_to_continue(args, started_only=True)}", file=sys.stderr)
        return EXIT_ENVIRONMENT


def _how_to_continue(args, started_only: bool = False) -> str:
    """How to continue the command's work; with `started_only`, only if its folder holds a started run (an
    environment fault may stop a run before it starts)."""
    command = getattr(args, "command", None)
    if started_only and not _holds_a_run(command, args):
        return ""
    if command in (_run, _compare):
        return (f"; finished replicates are saved: continue with erhai {'run' if command is _run else 'compare'} "
                f"--resume {args.out or args.resume}")
    return "; finished generations are saved: continue with the same command and --resume" \
        if command is _calibrate else ""


def _holds_a_run(command, args) -> bool:
    from sim.results.storage import ExperimentDirectory, RunDirectory

    folder = getattr(args, "out", None) or getattr(args, "resume", None)
    if command not in (_run, _compare) or not isinstance(folder, Path):
        return False
    return (RunDirectory(folder) if command is _run else ExperimentDirectory(folder)).exists


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="erhai", description="Stochastic simulator of China's two-child policy.")
    parser.add_argument("--version", action="version", version=f"erhai {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check scenario, experiment or calibration targets files")
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    validate.set_defaults(command=_validate)

    show = commands.add_parser("show", help="print a scenario as resolved (after extends) as YAML",
                               description="Prints the scenario FILE as resolved (after extends) as YAML, which "
                                           "loads as the same scenario wherever it is saved: data files by their "
                                           "absolute paths, or with --out relative to the file written.")
    show.add_argument("file", type=Path, metavar="FILE")
    show.add_argument("--out", type=Path, metavar="F", help="file to write (default: standard output)")
    show.set_defaults(command=_show)

    schema = commands.add_parser("schema",
                                 help="write the JSON Schema of scenario files (those that extend another too)")
    schema.add_argument("--out", type=Path, help="file to write (default: standard output)")
    schema.set_defaults(command=_schema)

    population = commands.add_parser("population", help="summarise a scenario's synthetic base population")
    population.add_argument("file", type=Path, metavar="FILE")
    population.add_argument("--json", action="store_true", help="print JSON instead of a table")
    population.add_argument("--seed", type=int, help="seed for the synthesis (default: the scenario's)")
    population.add_argument("--population-size", type=_positive_int, metavar="N",
                            help="build N agents at the scenario's central size (each standing for several people)")
    population.set_defaults(command=_population)

    run = commands.add_parser(
        "run", help="run an ensemble of a scenario and report the chance of breaking its caps",
        description="Runs replicates in parallel, saving each as it finishes, and writes DIR/replicates.csv, "
                    "inputs.csv, summary.json and manifest.json. A stopped run continues with --resume DIR.")
    run.add_argument("file", type=Path, nargs="?", metavar="FILE", help="scenario file (not with --resume)")
    where = run.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=Path, metavar="DIR", help="folder for the results")
    where.add_argument("--resume", type=Path, metavar="DIR",
                       help="continue the stopped run in DIR (scenario and settings come from DIR)")
    run.add_argument("--force", action="store_true",
                     help="with --out: remove the run DIR holds (only the files a run writes) and start afresh")
    settings = run.add_argument_group("settings (saved in DIR; they decide the results)")
    settings.add_argument("--replicates", type=_positive_int, metavar="N",
                          help="how many (default: the scenario's ensemble)")
    settings.add_argument("--parameter-draws", type=_positive_int, metavar="P",
                          help="nested design: P draws of the uncertain inputs ...")
    settings.add_argument("--replicates-per-draw", type=_positive_int, metavar="K",
                          help="... each run K times (separates input uncertainty from chance)")
    settings.add_argument("--until-ci", type=_probability, metavar="W",
                          help="add batches of replicates until every exceedance probability's 95%% interval "
                               "is at most +-W")
    settings.add_argument("--max-replicates", type=_positive_int, metavar="N",
                          help=f"with --until-ci, stop at N (default: {MAX_BATCHES} batches)")
    settings.add_argument("--seed", type=_seed, help="ensemble seed (default: the scenario's)")
    settings.add_argument("--engine", choices=ENGINES, help="fast (columnar, the default) or reference "
                                                            "(one Mesa agent per person; slow)")
    settings.add_argument("--population-size", type=_positive_int, metavar="N", help=QUICK_RUN_HELP)
    settings.add_argument("--central-inputs", action="store_true",
                          help="every uncertain input at its mean instead of drawn per replicate")
    _execution_options(run)
    run.set_defaults(command=_run)

    report = commands.add_parser("report", help="rebuild the PDF report of a run or an experiment folder",
                                 description="Rebuilds DIR/report.pdf (a run) or DIR/comparison.pdf (an "
                                             "experiment) from the saved results, without rerunning anything.")
    report.add_argument("dir", type=Path, metavar="DIR")
    report.set_defaults(command=_report)

    backtest = commands.add_parser(
        "backtest", help="score a finished run (or every variant of a comparison) against an observed series",
        description="Scores the run in DIR (or every variant of the experiment in DIR) against the observations in "
                    "FILE.csv (year,indicator,value; optionally area,source; # starts a comment): whether each "
                    "falls inside the run's 50%%, 80%% and 95%% bands, its PIT value and CRPS, and each band's "
                    "coverage against its level. Writes backtest.csv, backtest.json and backtest.pdf.")
    backtest.add_argument("dir", type=Path, metavar="DIR", help="a finished run or experiment folder")
    backtest.add_argument("--observed", type=Path, required=True, metavar="FILE", help="the observed series (CSV)")
    backtest.add_argument("--out", type=Path, metavar="DIR2", help="folder for the backtest (default: DIR)")
    backtest.add_argument("--relative-to", type=int, metavar="YEAR",
                          help="score each indicator as a ratio to its own value in YEAR (observed and simulated)")
    backtest.set_defaults(command=_backtest)

    compare = commands.add_parser(
        "compare", help="run an experiment's variants with paired random numbers and compare them",
        description="Runs each variant of the experiment FILE as an ensemble under DIR/variants/ (same seed, so "
                    "replicates are paired) and writes DIR/comparison.csv, summary.json, experiment.json and "
                    "comparison.pdf. A stopped experiment continues with --resume DIR (or the same command).")
    compare.add_argument("file", type=Path, nargs="?", metavar="FILE",
                         help="experiment file (experiments/*.yaml; not with --resume)")
    where = compare.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=Path, metavar="DIR", help="folder for the results")
    where.add_argument("--resume", type=Path, metavar="DIR",
                       help="continue the stopped experiment in DIR (variants and settings come from DIR)")
    settings = compare.add_argument_group("settings (saved in DIR; they decide the results)")
    settings.add_argument("--replicates", type=_positive_int, metavar="N", help="per variant (default: the file's)")
    settings.add_argument("--seed", type=_seed, help="ensemble seed (default: the file's)")
    settings.add_argument("--population-size", type=_positive_int, metavar="N", help=QUICK_RUN_HELP)
    _execution_options(compare)
    compare.set_defaults(command=_compare)

    calibrate = commands.add_parser(
        "calibrate", help="fit a scenario's least known inputs to what was observed (ABC-SMC)",
        description="Fits the inputs the targets file names (their distributions in the scenario are the priors) "
                    "to its targets by ABC-SMC (pyabc), one replicate at N agents per simulation, and writes "
                    "DIR/posterior.csv, calibration.json, predictive.csv and calibration.pdf. The posterior is the "
                    "same for any --jobs; a stopped calibration continues with the same command and --resume.")
    calibrate.add_argument("file", type=Path, nargs="?", metavar="SCENARIO",
                           help="the scenario to calibrate (default: the one the targets file names)")
    calibrate.add_argument("--targets", type=Path, required=True, metavar="FILE", help="targets file (YAML)")
    calibrate.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for the calibration")
    calibrate.add_argument("--resume", action="store_true", help="continue the calibration stopped in DIR")
    fit = calibrate.add_argument_group("settings (saved in DIR; they decide the posterior)")
    defaults = CalibrationSettings(seed=0)
    fit.add_argument("--particles", type=_positive_int, default=defaults.particles, metavar="N",
                     help=f"accepted particles per generation (default {defaults.particles})")
    fit.add_argument("--generations", type=_positive_int, default=defaults.generations, metavar="G",
                     help=f"ABC-SMC generations (default {defaults.generations})")
    fit.add_argument("--population-size", type=_positive_int, default=defaults.population_size, metavar="N",
                     help=f"agents in each simulation (default {defaults.population_size:,})")
    fit.add_argument("--predictive-replicates", type=_positive_int, default=defaults.predictive_replicates,
                     metavar="R", help=f"replicates of the posterior predictive check "
                                       f"(default {defaults.predictive_replicates})")
    fit.add_argument("--seed", type=_seed, help="calibration seed (default: the scenario's ensemble seed)")
    calibrate.add_argument("--jobs", type=_positive_int, default=os.cpu_count() or 1, metavar="J",
                           help="parallel workers (default: one per core; the posterior does not depend on it)")
    calibrate.set_defaults(command=_calibrate)
    return parser


def _execution_options(command: argparse.ArgumentParser) -> None:
    execution = command.add_argument_group("execution (results do not depend on it)")
    execution.add_argument("--jobs", type=_positive_int, metavar="J",
                           help="parallel workers (default: one per core; never more than the cores or the "
                                "replicates)")
    execution.add_argument("--backend", choices=BACKENDS, default="loky",
                           help="loky (local processes) or dask (a Dask cluster, with --scheduler)")
    execution.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://host:8786")
    execution.add_argument("--quiet", action="store_true",
                           help="no progress (a bar on a terminal; in a log, a line each tenth of the way) and "
                                "no time estimate")
    execution.add_argument(OVERRIDE, action="store_true",
                           help="run even when the memory it is estimated to need is more than is available")


def _probability(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _seed(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return value


def _validate(args) -> int:
    failed = False
    for file in args.files:
        try:
            print(f"ok {file}{_checked(file)}")
        except UserError as exc:
            print(str(exc), file=sys.stderr)
            failed = True
    return EXIT_USER_ERROR if failed else 0


def _checked(file: Path) -> str:
    """Check `file` as what its top keys say it is: an experiment (it has a design), calibration targets (inputs
    to fit) or a scenario; says which, if not a scenario."""
    from sim.calibration.targets import load_targets
    from sim.scenario.experiment import load_runnable_experiment
    from sim.scenario.loading import load_runnable, read_yaml_source

    keys = set(read_yaml_source(file.resolve()).data)
    if keys & {"variants", "sweep"}:
        experiment = load_runnable_experiment(file)
        return f" (an experiment of {len(experiment.variants)} variants, each a valid scenario)"
    if "fit" in keys:
        targets = load_targets(file)
        return f" (calibration targets: {len(targets.spec.targets)} targets, {len(targets.spec.fit)} inputs to fit)"
    load_runnable(file)
    return ""


def _show(args) -> None:
    from sim.scenario.loading import load_scenario

    text = _shown(load_scenario(args.file), args.out.resolve().parent if args.out else None)
    if args.out:
        args.out.write_text(text)
    else:
        print(text, end="")


def _shown(scenario, folder: Path | None) -> str:
    """The resolved scenario as YAML that loads wherever it is saved: each data file's path relative to `folder`,
    where it is written (a scenario's paths are relative to its file), or, for standard output, absolute."""
    from sim.scenario.inputs import read_posterior, taken_from_posterior
    from sim.scenario.loading import file_entries

    data = scenario.model_dump(mode="json")
    for _, mapping, key in file_entries(data):
        mapping[key] = os.path.relpath(mapping[key], folder) if folder else mapping[key]
    lines = [yaml.safe_dump(data, sort_keys=False, allow_unicode=True)]
    if scenario.inputs_from is not None:
        weights, _ = read_posterior(str(scenario.inputs_from.posterior_file))
        lines.append(f"# from the posterior {data['inputs_from']['posterior_file']} ({len(weights)} particles; "
                     "each replicate draws one by weight), in place of the distributions above:\n")
        lines += [f"#   {name}\n" for name in taken_from_posterior(scenario)]
    return "".join(lines)


def _schema(args) -> None:
    from sim.scenario.schema import file_schema

    text = json.dumps(file_schema(), indent=2, default=str) + "\n"
    if args.out:
        args.out.write_text(text)
    else:
        print(text, end="")


def _population(args) -> int:
    from dataclasses import replace

    from sim.ensemble import too_small
    from sim.population.description import base_summary
    from sim.population.synthesis import TooFewAgents, scaled
    from sim.results.runs import people_per_agent
    from sim.scenario.inputs import realize
    from sim.scenario.loading import load_scenario

    scenario, _ = realize(load_scenario(args.file))
    seed = scenario.ensemble.seed if args.seed is None else args.seed
    try:
        synthesis = scaled(scenario, np.random.default_rng(seed), people_per_agent(scenario, args.population_size))
    except TooFewAgents as short:
        raise too_small(short, scenario, args.population_size, replicates=1) from None
    # the summary counts the agents themselves; it says whom each stands for
    summary = {**base_summary(scenario, replace(synthesis, people_per_agent=1.0), seed),
               "people_per_agent": synthesis.people_per_agent}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_population(summary)
    for problem in summary["problems"]:
        print(f"erhai: implausible at the central inputs: {problem}", file=sys.stderr)
    return EXIT_USER_ERROR if summary["problems"] else 0


def _print_population(s: dict) -> None:
    births, rates, later = s["births_last_12_months"], s["base_year_rates_permille"], s["later_births"]
    lines = [
        f"Base population on {s['base_date']}"
        + (f" (agents, each standing for {s['people_per_agent']:,.1f} people)" if s["people_per_agent"] != 1 else ""),
        f"  size                     {s['size']:>10,}",
        f"  aged 0-14                {s['share_0_14']:>10.2%}",
        f"  aged 15-64               {s['share_15_64']:>10.2%}",
        f"  aged 65+                 {s['share_65plus']:>10.2%}",
        f"  married women 15-49      {s['married_women_15_49']:>10,}",
        f"  sex ratio (M per 100 F)  {s['sex_ratio']:>10.1f}",
        f"  urban hukou              {s['urban_share']:>10.2%}",
        f"  pregnant women           {s['pregnant_women']:>10,}",
        f"  base year per mille      births {rates['birth_rate']:.2f}, deaths {rates['death_rate']:.2f}, "
        f"natural growth {rates['natural_growth']:.2f}  (the scenario's births a year; deaths at these ages "
        "by the life table)",
        f"  couples 15-49, both only children  {s['couples_15_49']['both_only_children']:.1%}; "
        f"either {s['couples_15_49']['either_only_child']:.1%}",
        "  people against the census shape (calibrated to the married women 15-49, keeping the 15-64 share):",
        "    " + ", ".join(f"{band} x{factor:.2f}" for band, factor in s["age_factors"].items()),
        "",
        "Births of the histories (later births drawn by the rules of the past)",
        f"  last 12 months           {births['total']:>10,}  (order 1: {births['order1'] / births['total']:.1%}, "
        f"2: {births['order2'] / births['total']:.1%}, 3+: {births['order3plus'] / births['total']:.1%}); "
        f"the scenario's births a year set the run's level: x{later['scenario_births_against_histories']:.2f}",
        "  census year, births per first birth (the census's):",
        *(f"    {residence:<6} second {ratios['second']:.3f} ({ratios['census_second']:.3f}), "
          f"third {ratios['third']:.3f} ({ratios['census_third']:.3f})"
          for residence, ratios in later["census_year_per_first_birth"].items()),
        "  monthly conception rate within the rules at the peak ages, wanting women: " + "; ".join(
            f"{residence} second {rate['second']:.3f}, third {rate['third']:.3f}"
            for residence, rate in later["monthly_rates_within_the_rules"].items()),
        "",
        "Mothers 15-49 by years free to act on a wish for a second child",
        f"  {'':<7}{'years':<7}{'mothers':>9}{'with 2':>9}{'with 1':>9}{'of those, want 2':>18}",
    ]
    for row in s["second_child_wishes"]:
        wanting = f"{row['one_child_wanting'] / row['one_child']:.0%}" if row["one_child"] else "-"
        lines.append(f"  {row['residence']:<7}{row['years_free']:<7}{row['mothers']:>9,}{row['second_child']:>9,}"
                     f"{row['one_child']:>9,}{wanting:>18}")
    lines += ["", *_backlog_lines(s["backlog"]), "", "Women 15-49 by parity",
              f"  {'age':<8}" + "".join(f"{p:>9}" for p in ("0", "1", "2", "3+"))]
    for group, row in s["women_15_49_by_parity"].items():
        lines.append(f"  {group:<8}" + "".join(f"{row[p]:>9,}" for p in ("0", "1", "2", "3+")))
    print("\n".join(lines))


def _backlog_lines(backlog: dict | None) -> list[str]:
    if backlog is None:
        return ["Backlog: no change of rules in the period"]
    groups = list(next(iter(backlog["by_residence_and_age"].values())))
    return [f"Backlog the rules of {backlog['date']} ({backlog['regime']}) release: {backlog['released']:,} women "
            f"(wanting a third: {backlog['wanting_a_third']:,}), of whom {backlog['acting']:,} act on the wish",
            f"  {'age':<8}" + "".join(f"{group:>8}" for group in groups),
            *(f"  {residence:<8}" + "".join(f"{count:>8,}" for count in by_age.values())
              for residence, by_age in backlog["by_residence_and_age"].items())]


# the yearly indicators a run's summary shows, in a planner's words, each to the precision that means something
KEY_INDICATORS = {
    "population_end": ("population at the end of the year", "{:,.0f}"),
    "births": ("births", "{:,.0f}"),
    "deaths": ("deaths", "{:,.0f}"),
    "natural_growth_permille": ("natural growth per 1,000 people", "{:.1f}"),
    "tfr": ("children per woman (total fertility rate)", "{:.2f}"),
    "srb": ("boys born per 100 girls", "{:.1f}"),
}
_SETTINGS_OPTIONS = ("replicates", "parameter_draws", "replicates_per_draw", "until_ci", "max_replicates", "seed",
                     "engine", "population_size", "central_inputs")


def _run(args) -> None:
    from sim.ensemble import resume
    from sim.results.storage import RunDirectory

    _check_backend(args)
    _stop_on_sigterm()
    if args.resume:
        _check_resume(args)
        directory = RunDirectory(args.resume)
        result = resume(args.resume, _planned(args, directory.settings(), directory.scenario(), [directory]))
    else:
        _check_out(args.out)
        ensemble = _ensemble(args)
        ensemble.execution = _planned(args, ensemble.settings, ensemble.scenario, [RunDirectory(args.out)])
        result = ensemble.run(args.out, force=args.force)
    _print_run(result)


def _print_run(result) -> None:
    from sim.report import write_run_report
    from sim.report.wording import headline_sentences
    from sim.results.storage import RunDirectory

    report = RunDirectory(result.path).report_path
    if not report.exists():
        write_run_report(result, report)
    print(f"{result.manifest['scenario_name']}: {result.count:,} {'replicate' if result.count == 1 else 'replicates'}"
          f" (seed {result.seed})")
    print(_medians_table(result))
    for sentence in headline_sentences(result.summary):
        print(sentence)
    print(f"wrote {result.path} (the report: {report})")


def _medians_table(result) -> str:
    """The key indicators by year, a row each in words; the middle replicate's value (the median) of each."""
    medians = result.medians(list(KEY_INDICATORS))
    width = max(len(words) for words, _ in KEY_INDICATORS.values())
    years = "".join(f"{year:>10}" for year in medians.index)
    rows = [f"  {words:<{width}}" + "".join(f"{'-' if np.isnan(value) else form.format(value):>10}"
                                            for value in medians[name])
            for name, (words, form) in KEY_INDICATORS.items()]
    return "\n".join([f"{'Median of the replicates':<{width + 2}}{years}", *rows,
                      f"  ({medians.index[0]}: what the run starts from; - where the base population does not tell)"])


def _report(args) -> None:
    from sim.comparison import open_comparison
    from sim.ensemble import open_run
    from sim.report import write_comparison_report, write_run_report
    from sim.results.storage import ExperimentDirectory, RunDirectory

    if not args.dir.is_dir():
        raise UserError(f"{args.dir}: no such folder")
    experiment = ExperimentDirectory(args.dir)
    if experiment.exists:
        written = write_comparison_report(open_comparison(args.dir), experiment.report_path)
    else:
        written = write_run_report(open_run(args.dir), RunDirectory(args.dir).report_path)
    print(f"wrote {written}")


def _backtest(args) -> None:
    from sim.comparison import open_comparison
    from sim.ensemble import open_run
    from sim.report.backtest import write_backtest_report
    from sim.results.backtest import backtest, backtest_variants, read_observed
    from sim.results.storage import BacktestFiles, ExperimentDirectory

    if not args.dir.is_dir():
        raise UserError(f"{args.dir}: no such folder")
    observed = read_observed(args.observed)
    if ExperimentDirectory(args.dir).exists:
        runs = open_comparison(args.dir).variants
        scored = backtest_variants(runs, observed, args.relative_to)
    else:
        runs = {"": open_run(args.dir)}
        scored = backtest(runs[""], observed, args.relative_to)
    files = BacktestFiles(args.out or args.dir)
    files.path.mkdir(parents=True, exist_ok=True)
    report = write_backtest_report(scored, runs, files.report_path)
    table, summary = files.write(scored)
    print(scored.coverage.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(scored.by_indicator.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"wrote {table}, {summary} and {report}")


def _calibrate(args) -> None:
    from sim.calibration.run import calibrate
    from sim.calibration.targets import load_targets
    from sim.scenario.loading import load_scenario

    targets = load_targets(args.targets, load_scenario(args.file) if args.file else None)
    settings = CalibrationSettings(
        seed=targets.scenario.ensemble.seed if args.seed is None else args.seed, particles=args.particles,
        generations=args.generations, population_size=args.population_size,
        predictive_replicates=args.predictive_replicates)
    _stop_on_sigterm()
    result = calibrate(targets, settings, args.out, jobs=args.jobs, resume=args.resume,
                       progress=lambda line: print(line, flush=True))
    print("Fitted inputs, prior and posterior (medians and 90% intervals):")
    print(result.posterior_summary.to_string(index=False, float_format="{:.4g}".format))
    print(f"Targets against {settings.predictive_replicates} replicates drawn from the posterior:")
    print(result.check.to_string(index=False, float_format="{:.4g}".format))
    print(f"wrote {result.path} (the report: {result.path / 'calibration.pdf'})")


def _check_backend(args) -> None:
    if args.backend == "dask" and not args.scheduler:
        raise UserError("--backend dask needs --scheduler ADDRESS")


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: a file, not a folder; give a folder for the results (made if missing)")


def _planned(args, settings, scenario, folders: list) -> Execution:
    """How to run what the run folders `folders` (one per ensemble of `settings`) have left: --jobs capped at
    the workers of use, the time it takes said (not with --quiet), and a UserError if its memory cannot fit
    (unless --ignore-limits). The Dask backend's cores and memory are the cluster's, so only replicates cap it."""
    local = args.backend == "loky"
    left = sum(settings.replicates - len(folder.saved() & set(range(settings.replicates)))
               for folder in folders)
    workers = _workers(args, min(left, settings.replicates), local)
    if local and left:
        _check_resources(args, scenario, settings.population_size, left, workers, runs=len(folders))
    return Execution(workers, args.backend, args.scheduler, args.quiet)


def _workers(args, replicates: int, local: bool) -> int:
    from sim.resources import local_cores, useful_workers

    cores = local_cores() if local else None
    workers = useful_workers(args.jobs or cores or os.cpu_count() or 1, replicates or 1, cores)
    if args.jobs and workers < args.jobs:
        print(f"erhai: {workers} {'worker' if workers == 1 else 'workers'}, not --jobs {args.jobs}: no more are of "
              f"use with {replicates:,} replicates to run" + (f" on {cores} cores" if local else ""), file=sys.stderr)
    return workers


def _check_resources(args, scenario, population_size: int | None, replicates: int, workers: int, runs: int) -> None:
    from sim.resources import agents_per_replicate, available_memory, check_fits, estimate

    years = (scenario.period.end - scenario.period.start).days / 365.25
    needed = estimate(agents_per_replicate(scenario, population_size), years, replicates, workers, runs)
    if not args.ignore_limits:
        check_fits(needed, available_memory())
    if not args.quiet:
        print(f"erhai: this takes {needed} (an estimate)", file=sys.stderr)


def _compare(args) -> None:
    from sim.comparison import compare, experiment_settings, resume
    from sim.report import write_comparison_report
    from sim.report.comparison import summary_lines
    from sim.results.storage import ExperimentDirectory
    from sim.scenario.experiment import load_runnable_experiment

    _check_backend(args)
    _stop_on_sigterm()
    if args.resume:
        _check_resume(args)
        folder = ExperimentDirectory(args.resume)
        variants = [folder.variant(variant["name"]) for variant in folder.description()["variants"]]
        result = resume(args.resume, _planned(args, variants[0].settings(), variants[0].scenario(), variants))
    elif args.file is None:
        raise UserError("erhai compare: give an experiment FILE (or --resume DIR)")
    else:
        _check_out(args.out)
        experiment = load_runnable_experiment(args.file)
        folder = ExperimentDirectory(args.out)
        settings = experiment_settings(experiment, args.replicates, args.seed, args.population_size)
        execution = _planned(args, settings, experiment.variants[0].scenario,
                             [folder.variant(variant.name) for variant in experiment.variants])
        result = compare(args.file, args.replicates, args.seed, population_size=args.population_size, out=args.out,
                         jobs=execution.jobs, backend=execution.backend, scheduler=execution.scheduler,
                         quiet=execution.quiet)
    report = write_comparison_report(result, ExperimentDirectory(result.path).report_path)
    print("\n".join(summary_lines(result)))
    print(f"wrote {result.path}: comparison.csv (one row per variant), summary.json and the report {report}")


def _check_resume(args) -> None:
    given = [f"--{name.replace('_', '-')}" for name in _SETTINGS_OPTIONS
             if getattr(args, name, None) not in (None, False)]
    given += ["FILE"] if args.file else []
    given += ["--force"] if getattr(args, "force", False) else []
    if given:
        what = "scenario" if args.command is _run else "experiment"
        raise UserError(f"--resume takes its {what} and settings from {args.resume}; drop {', '.join(given)}")


def _ensemble(args):
    from sim.ensemble import Ensemble
    from sim.scenario.loading import load_runnable

    if args.file is None:
        raise UserError("erhai run: give a scenario FILE (or --resume DIR)")
    scenario = load_runnable(args.file)
    nested = (args.parameter_draws, args.replicates_per_draw)
    if any(nested) and not all(nested):
        raise UserError("--parameter-draws and --replicates-per-draw go together")
    if all(nested) and args.replicates:
        raise UserError("give either --replicates or --parameter-draws with --replicates-per-draw")
    replicates = args.parameter_draws * args.replicates_per_draw if all(nested) else args.replicates
    ensemble = Ensemble(scenario, replicates, args.seed, replicates_per_draw=args.replicates_per_draw or 1,
                        until_ci=args.until_ci, max_replicates=args.max_replicates, engine=args.engine or "fast",
                        population_size=args.population_size, central_inputs=args.central_inputs,
                        source=str(args.file))
    status = "new" if args.force else ensemble.status(args.out)
    if status == "complete":
        print(f"{args.out} holds a complete run with these settings; nothing to do")
    elif status == "running":
        print(f"{args.out} holds an unfinished run with these settings; continuing it", file=sys.stderr)
    return ensemble


def _stop_on_sigterm() -> None:
    """SIGTERM stops a run like Ctrl-C: finished replicates are already saved, and --resume continues."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupt)
