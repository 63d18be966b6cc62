"""Targets files: what a calibration fits (inputs whose scenario distributions are the priors) and to what.

    name: "Hunan 2010-2015"
    scenario: ../hunan_2010_base.yaml          # relative to this file
    fit:                                       # dotted inputs; their distributions are the priors
      - behaviour.compliance
    targets:
      - {indicator: birth_rate_permille, year: 2011, value: 13.35, sd: 0.3, source: "Hunan bulletin 2011"}
      - {indicator: births, year: 2014, relative_to: 2013, value: 1.029, sd: 0.01, source: "national"}
      - {summary: uptake, since: 2014-03-28, within_months: 14, value: 0.13, sd: 0.04, source: "reported"}

A target is an indicator a run writes in a year, optionally as a ratio to its
own value in another year (observed and simulated alike), or a summary the
engine reports: `uptake`, the share of the couples a change of rules on
`since` newly allowed their next child who conceived it within
`within_months` (`sim.engines.district.Uptake`). `sd` is the observation's
uncertainty in the target's units (a reported or national figure deserves a
wide one). `scenario` may be left out when the scenario is given apart (`erhai
calibrate SCENARIO --targets FILE`). Errors name the file, line and field, as
a scenario's do.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, PositiveInt, StrictInt, model_validator

from sim.errors import Problem, UserError
from sim.indicators import INDICATORS
from sim.scenario.distributions import BaseDistribution, Number
from sim.scenario.loading import input_problem, load_scenario, read_yaml_source, validated
from sim.scenario.schema import Scenario, Section


class Target(Section):
    indicator: str | None = Field(None, description="an indicator a run writes, e.g. birth_rate_permille")
    year: StrictInt | None = None
    relative_to: StrictInt | None = Field(None, description="score the ratio to the indicator's value in this year")
    summary: Literal["uptake"] | None = Field(None, description="uptake: the share of the couples newly eligible "
                                                                 "on `since` who conceived within `within_months`")
    since: dt.date | None = Field(None, description="the date of a change of rules in the scenario's timeline")
    within_months: PositiveInt | None = None
    value: Number
    sd: Annotated[Number, Field(gt=0)] = Field(description="the observation's uncertainty, in its units")
    source: str = Field(description="where the value comes from")

    @model_validator(mode="after")
    def _known(self):
        if (self.indicator is None) == (self.summary is None):
            raise ValueError("give either an indicator (with its year) or a summary (uptake, with since and "
                             "within_months)")
        if self.indicator is not None:
            if self.indicator not in INDICATORS:
                raise ValueError(f"{self.indicator!r} is not an indicator a run writes; expected one of "
                                 f"{', '.join(INDICATORS)}")
            if self.year is None or self.since is not None or self.within_months is not None:
                raise ValueError("an indicator's target takes a year (and optionally relative_to), not since or "
                                 "within_months")
            if self.relative_to == self.year:
                raise ValueError("relative_to must be another year than the target's")
        elif self.since is None or self.within_months is None or self.year is not None or self.relative_to:
            raise ValueError("an uptake target takes since and within_months, not year or relative_to")
        return self

    @property
    def key(self) -> str:
        """The target's name among a calibration's summary statistics."""
        if self.summary is not None:
            return f"{self.summary} {self.since} {self.within_months} months"
        return f"{self.indicator} {self.year}" + (f"/{self.relative_to}" if self.relative_to else "")

    @property
    def last_day(self) -> dt.date:
        """The last day a simulation must reach to score this target."""
        if self.summary is not None:  # the end of the month `within_months` after the change's
            month = self.since.month + self.within_months
            return dt.date(self.since.year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
        return dt.date(max(self.year, self.relative_to or self.year), 12, 31)


class TargetsSpec(Section):
    name: str
    scenario: str | None = Field(None, description="the scenario to calibrate, relative to this file")
    fit: list[str] = Field(min_length=1, description="dotted inputs to fit; their distributions are the priors")
    targets: list[Target] = Field(min_length=1)


@dataclass(frozen=True)
class Targets:
    spec: TargetsSpec
    scenario: Scenario
    path: Path

    @property
    def years(self) -> list[int]:
        """Every year a target looks at: its own or the one it is a ratio to, or those of its window."""
        return sorted({year for t in self.spec.targets
                       for year in ((t.year, t.relative_to) if t.summary is None else (t.since.year, t.last_day.year))
                       if year is not None})

    @property
    def last_day(self) -> dt.date:
        return max(target.last_day for target in self.spec.targets)

    @property
    def priors(self) -> dict[str, BaseDistribution]:
        """Each fitted input's distribution in the scenario, by dotted name."""
        return {dotted: _at(self.scenario, dotted) for dotted in self.spec.fit}


def load_targets(path: str | Path, scenario: Scenario | None = None) -> Targets:
    """A targets file and the scenario it calibrates (`scenario`, or the one the file names), or a UserError
    naming the file, line and field."""
    path = Path(path).resolve()
    source = read_yaml_source(path)
    spec = validated(TargetsSpec, source)
    if scenario is None:
        scenario = _named_scenario(spec, source, path)
    data = scenario.model_dump(mode="python")
    problems = []
    for index, dotted in enumerate(spec.fit):
        problem = input_problem(data, dotted) or _not_a_prior(scenario, dotted)
        if problem:
            problems.append(Problem(*source.locate(("fit", str(index))), f"fit.{index}", problem))
    for index, target in enumerate(spec.targets):
        for field, problem in _target_problems(target, scenario):
            key = ("targets", str(index), field)
            problems.append(Problem(*source.locate(key), ".".join(key), problem))
    if problems:
        raise UserError(problems)
    return Targets(spec, scenario, path)


def _named_scenario(spec: TargetsSpec, source, path: Path) -> Scenario:
    if spec.scenario is None:
        raise UserError([Problem(path, 1, "scenario", "name the scenario to calibrate here, or give it apart "
                                                      "(erhai calibrate SCENARIO --targets FILE)")])
    scenario_file = (path.parent / spec.scenario).resolve()
    if not scenario_file.is_file():
        raise UserError([Problem(*source.locate(("scenario",)), "scenario",
                                 f"scenario file not found: {scenario_file}")])
    return load_scenario(scenario_file)


def _target_problems(target: Target, scenario: Scenario) -> list[tuple[str, str]]:
    """(field, problem) of a target the scenario cannot score."""
    period = scenario.period
    if target.summary is not None:
        if target.since not in scenario.rule_changes:
            changes = ", ".join(str(day) for day in scenario.rule_changes) or "none"
            return [("since", f"{target.since} is not a change of rules within the scenario's period "
                              f"(its changes: {changes})")]
        if target.last_day > period.end:
            return [("within_months", f"the window ends after the scenario's period ({period.end})")]
        return []
    return [(field, f"{year} is outside the scenario's period {period.years[0]}-{period.years[-1]}")
            for field in ("year", "relative_to") for year in [getattr(target, field)]
            if year is not None and year not in period.years]


def _at(scenario: Scenario, dotted: str):
    value = scenario
    for key in dotted.split("."):
        value = value[int(key)] if isinstance(value, list) else getattr(value, key)
    return value


def _not_a_prior(scenario: Scenario, dotted: str) -> str | None:
    value = _at(scenario, dotted)
    if not isinstance(value, BaseDistribution) or value.dist == "fixed":
        return f"'{dotted}' is a fixed number in the scenario; give it a distribution to be its prior"
    return None
