"""The `erhai` command line (also `python -m sim`).

Bad input of any kind ends with one message per problem on stderr and exit
status 2; a traceback means a bug in Erhai, not in the scenario.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import yaml

from sim import __version__
from sim.errors import UserError
from sim.run import ENGINES

EXIT_USER_ERROR = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.command(args) or 0
    except UserError as exc:
        print(f"erhai: {exc}" if not exc.problems else str(exc), file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("erhai: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="erhai", description="Stochastic simulator of China's two-child policy.")
    parser.add_argument("--version", action="version", version=f"erhai {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check scenario files")
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    validate.set_defaults(command=_validate)

    show = commands.add_parser("show", help="print a scenario as resolved (after extends) as YAML")
    show.add_argument("file", type=Path, metavar="FILE")
    show.set_defaults(command=_show)

    schema = commands.add_parser("schema", help="write the JSON Schema of the scenario format")
    schema.add_argument("--out", type=Path, help="file to write (default: standard output)")
    schema.set_defaults(command=_schema)

    population = commands.add_parser("population", help="summarise a scenario's synthetic base population")
    population.add_argument("file", type=Path, metavar="FILE")
    population.add_argument("--json", action="store_true", help="print JSON instead of a table")
    population.add_argument("--seed", type=int, help="seed for the synthesis (default: the scenario's)")
    population.add_argument("--population-size", type=_positive_int, metavar="N",
                            help="rescale the base population to N people")
    population.set_defaults(command=_population)

    run = commands.add_parser("run", help="run replicates of a scenario and write their yearly indicators")
    run.add_argument("file", type=Path, metavar="FILE")
    run.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for replicates.csv")
    run.add_argument("--replicates", type=_positive_int, help="how many (default: the scenario's ensemble)")
    run.add_argument("--seed", type=int, help="ensemble seed (default: the scenario's)")
    run.add_argument("--engine", choices=ENGINES, default="fast",
                     help="fast (columnar) or reference (one Mesa agent per person; slow)")
    run.add_argument("--population-size", type=_positive_int, metavar="N",
                     help="rescale the base population to N people")
    run.add_argument("--central-inputs", action="store_true",
                     help="every uncertain input at its mean instead of drawn per replicate")
    run.set_defaults(command=_run)
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return value


def _validate(args) -> int:
    from sim.loading import load_scenario

    failed = False
    for file in args.files:
        try:
            load_scenario(file)
            print(f"ok {file}")
        except UserError as exc:
            print(str(exc), file=sys.stderr)
            failed = True
    return EXIT_USER_ERROR if failed else 0


def _show(args) -> None:
    from sim.loading import file_entries, load_scenario

    data = load_scenario(args.file).model_dump(mode="json")
    for _, mapping, key in file_entries(data):
        mapping[key] = _relative(mapping[key])
    print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), end="")


def _relative(path: str) -> str:
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def _schema(args) -> None:
    from sim.scenario import Scenario

    text = json.dumps(Scenario.model_json_schema(), indent=2, default=str) + "\n"
    if args.out:
        args.out.write_text(text)
    else:
        print(text, end="")


def _population(args) -> None:
    from sim.indicators import population_summary
    from sim.inputs import realize
    from sim.loading import load_scenario
    from sim.synthesis import synthesize

    scenario, _ = realize(load_scenario(args.file))
    seed = scenario.ensemble.seed if args.seed is None else args.seed
    synthesis = synthesize(scenario, np.random.default_rng(seed), args.population_size)
    summary = population_summary(synthesis.population)
    births = synthesis.births_last_year.sum(axis=0)
    summary["births_last_12_months"] = {"total": int(births.sum()), "order1": int(births[0]),
                                        "order2": int(births[1]), "order3plus": int(births[2])}
    summary["childbearing_age_factor"] = round(synthesis.childbearing_age_factor, 4)
    summary["base_date"] = synthesis.base_date.isoformat()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_population(summary)


def _print_population(s: dict) -> None:
    births = s["births_last_12_months"]
    lines = [
        f"Base population on {s['base_date']}",
        f"  size                     {s['size']:>10,}",
        f"  aged 0-14                {s['share_0_14']:>10.2%}",
        f"  aged 15-64               {s['share_15_64']:>10.2%}",
        f"  aged 65+                 {s['share_65plus']:>10.2%}",
        f"  married women 15-49      {s['married_women_15_49']:>10,}",
        f"  sex ratio (M per 100 F)  {s['sex_ratio']:>10.1f}",
        f"  urban hukou              {s['urban_share']:>10.2%}",
        f"  pregnant women           {s['pregnant_women']:>10,}",
        f"  births, last 12 months   {births['total']:>10,}  (order 1: {births['order1'] / births['total']:.1%}, "
        f"2: {births['order2'] / births['total']:.1%}, 3+: {births['order3plus'] / births['total']:.1%})",
        f"  couples 15-49, both only children  {s['couples_15_49']['both_only_children']:.1%}; "
        f"either {s['couples_15_49']['either_only_child']:.1%}",
        f"  people aged 15-49 against the census shape: x{s['childbearing_age_factor']:.3f} "
        "(calibrated to the married women; ages 50-64 take up the rest)",
        "",
        "Women 15-49 by parity",
        f"  {'age':<8}" + "".join(f"{p:>9}" for p in ("0", "1", "2", "3+")),
    ]
    for group, row in s["women_15_49_by_parity"].items():
        lines.append(f"  {group:<8}" + "".join(f"{row[p]:>9,}" for p in ("0", "1", "2", "3+")))
    print("\n".join(lines))


KEY_INDICATORS = ("population_end", "births", "deaths", "natural_growth_permille", "tfr", "srb")


def _run(args) -> None:
    import pandas as pd

    from sim.loading import load_scenario
    from sim.run import run_replicate

    scenario = load_scenario(args.file)
    seed = scenario.ensemble.seed if args.seed is None else args.seed
    count = scenario.ensemble.replicates if args.replicates is None else args.replicates
    yearly = pd.concat([
        run_replicate(scenario, seed, r, engine=args.engine, population_size=args.population_size,
                      central_inputs=args.central_inputs).yearly
        for r in range(count)])
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / "replicates.csv"
    partial = target.with_suffix(".csv.partial")
    yearly.to_csv(partial, index=False)
    partial.replace(target)  # never a half-written table under the final name
    mean = yearly.groupby("year")[list(KEY_INDICATORS)].mean()
    print(f"{scenario.name}: {count} replicate(s), seed {seed}, engine {args.engine}"
          + (" (mean over replicates)" if count > 1 else ""))
    print(mean.to_string(float_format=lambda v: f"{v:,.1f}"))
    print(f"wrote {target}")
