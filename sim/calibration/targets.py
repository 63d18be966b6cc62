"""Targets files: what a calibration fits (inputs whose scenario distributions are the priors) and to what.

    name: "Hunan 2010-2015"
    scenario: ../hunan_2010_base.yaml          # relative to this file
    fit:                                       # dotted inputs; their distributions are the priors
      - behaviour.compliance
    targets:
      - {indicator: birth_rate_permille, year: 2011, value: 13.35, sd: 0.3, source: "Hunan bulletin 2011"}
      - {indicator: births, year: 2014, relative_to: 2013, value: 1.029, sd: 0.01, source: "national"}

A target is an indicator a run writes in a year, optionally as a ratio to its
own value in another year (observed and simulated alike); `sd` is the
observation's uncertainty in the target's units (a reported or national
figure deserves a wide one). Errors name the file, line and field, as a
scenario's do.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import Field, StrictInt, model_validator

from sim.errors import Problem, UserError
from sim.indicators import INDICATORS
from sim.scenario.distributions import BaseDistribution, Number
from sim.scenario.loading import input_problem, load_scenario, read_yaml_source, validated
from sim.scenario.schema import Scenario, Section


class Target(Section):
    indicator: str = Field(description="an indicator a run writes, e.g. birth_rate_permille")
    year: StrictInt
    relative_to: StrictInt | None = Field(None, description="score the ratio to the indicator's value in this year")
    value: Number
    sd: Annotated[Number, Field(gt=0)] = Field(description="the observation's uncertainty, in its units")
    source: str = Field(description="where the value comes from")

    @model_validator(mode="after")
    def _known(self):
        if self.indicator not in INDICATORS:
            raise ValueError(f"{self.indicator!r} is not an indicator a run writes; expected one of "
                             f"{', '.join(INDICATORS)}")
        if self.relative_to == self.year:
            raise ValueError("relative_to must be another year than the target's")
        return self


class TargetsSpec(Section):
    name: str
    scenario: str = Field(description="the scenario to calibrate, relative to this file")
    fit: list[str] = Field(min_length=1, description="dotted inputs to fit; their distributions are the priors")
    targets: list[Target] = Field(min_length=1)


@dataclass(frozen=True)
class Targets:
    spec: TargetsSpec
    scenario: Scenario
    path: Path

    @property
    def years(self) -> list[int]:
        """Every year a target looks at, its own or the one it is a ratio to."""
        return sorted({year for t in self.spec.targets for year in (t.year, t.relative_to) if year is not None})


def load_targets(path: str | Path) -> Targets:
    """A targets file and the scenario it calibrates, or a UserError naming the file, line and field."""
    path = Path(path).resolve()
    source = read_yaml_source(path)
    spec = validated(TargetsSpec, source)
    scenario_file = (path.parent / spec.scenario).resolve()
    if not scenario_file.is_file():
        raise UserError([Problem(*source.locate(("scenario",)), "scenario",
                                 f"scenario file not found: {scenario_file}")])
    scenario = load_scenario(scenario_file)
    data = scenario.model_dump(mode="python")
    problems = []
    for index, dotted in enumerate(spec.fit):
        problem = input_problem(data, dotted) or _not_a_prior(scenario, dotted)
        if problem:
            problems.append(Problem(*source.locate(("fit", str(index))), f"fit.{index}", problem))
    years = scenario.period.years
    for index, target in enumerate(spec.targets):
        for field in ("year", "relative_to"):
            year = getattr(target, field)
            if year is not None and year not in years:
                key = ("targets", str(index), field)
                problems.append(Problem(*source.locate(key), ".".join(key),
                                        f"{year} is outside the scenario's period {years[0]}-{years[-1]}"))
    if problems:
        raise UserError(problems)
    return Targets(spec, scenario, path)


def _not_a_prior(scenario: Scenario, dotted: str) -> str | None:
    value = scenario
    for key in dotted.split("."):
        value = value[int(key)] if isinstance(value, list) else getattr(value, key)
    if not isinstance(value, BaseDistribution):
        return f"'{dotted}' is a fixed number in the scenario; give it a distribution to be its prior"
    return None
