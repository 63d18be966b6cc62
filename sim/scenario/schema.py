"""The scenario format: what an analyst may write in a scenario YAML file.

Every section is a pydantic model that forbids unknown keys. Units are in the
field names (`_months`, `_years`, `_permille`, `_share`); sex ratios are males
per 100 females. Numbers that are not known exactly are `Uncertain` and may be
given as distributions (see `sim.scenario.distributions`).
"""
from __future__ import annotations

import datetime as dt
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, field_validator, model_validator
from pydantic_core import PydanticCustomError

from sim.errors import excerpt
from sim.scenario.distributions import BaseDistribution, Number, Probability, Uncertain, bounded, central


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


PositiveInt = Annotated[StrictInt, Field(gt=0)]
# plausibility: from the birth years of the oldest people in a base population to the furthest projection
FIRST_YEAR, LAST_YEAR = 1850, 2150
Year = Annotated[StrictInt, Field(ge=FIRST_YEAR, le=LAST_YEAR)]


def _strict_date(value: Any) -> Any:
    """A date as YAML writes it (2016-01-01) or an ISO string (from JSON); pydantic alone would also take an
    integer, as seconds since 1970, so 20160101 would be a day in 1970."""
    if isinstance(value, dt.datetime):
        if value.time() != dt.time():
            raise PydanticCustomError("date_time", "expected a day, not a time of day")
        return value.date()
    if isinstance(value, str):
        try:
            return _strict_date(dt.date.fromisoformat(value))
        except ValueError:
            pass
    elif isinstance(value, dt.date):
        if not FIRST_YEAR <= value.year <= LAST_YEAR:
            raise PydanticCustomError("date_range", "expected a date in the years {first}-{last}",
                                      {"first": FIRST_YEAR, "last": LAST_YEAR})
        return value
    raise PydanticCustomError("date_type", "expected a date such as 2016-01-01")


def _not_bool(value: Any) -> Any:
    """YAML reads yes/no/true/false as booleans, which Python would take as 1 and 0."""
    if isinstance(value, bool):
        raise PydanticCustomError("bool_type", "expected a number, not true or false")
    return value


Date = Annotated[dt.date, BeforeValidator(_strict_date)]
Months = Annotated[StrictInt, Field(ge=0, le=600)]
ReproductiveAge = Annotated[Number, Field(ge=12, le=55)]
SexRatio = bounded(80.0, 250.0)
# plausibility limits of magnitudes: beyond them a number is a typo or a unit mistaken, not a place
People = bounded(100.0, 1.5e9)  # a village to China
LARGEST_BIRTH_RATE = 0.06  # births a year per person: no population has had more than about 60 per mille
LARGEST_MIGRATION_RATE = 0.1  # net migrants a year per person: a tenth of a district moving in a year is a disaster
MORTALITY_YEARS = 30  # how far from the period a life table's reference year may be: its gain is a straight line


def _ages_increase(rows: list) -> list:
    """Rows that each hold from their age to the next row's must come in order of age, each age once."""
    ages = [row.age for row in rows]
    if any(b <= a for a, b in zip(ages, ages[1:])):
        raise PydanticCustomError("age_order", "ages must increase from row to row; got {ages}",
                                  {"ages": excerpt(ages)})
    return rows


class Period(Section):
    """Simulated time. The base population is the state at the end of the day before `start`."""

    start: Date = Field(description="first simulated day; the base population is the state just before it")
    end: Date = Field(description="last simulated day (inclusive)")
    time_step_months: Annotated[Literal[1, 3, 6, 12], BeforeValidator(_not_bool)] = Field(
        1, description="months per model step")

    @model_validator(mode="after")
    def _ordered(self):
        if self.end <= self.start:
            raise PydanticCustomError("period_order", "end ({end}) must be after start ({start})",
                                      {"end": self.end, "start": self.start})
        if self.start.day != 1:
            raise PydanticCustomError("period_start", "start must be the first day of a month; got {start}",
                                      {"start": self.start})
        return self

    @property
    def years(self) -> list[int]:
        return list(range(self.start.year, self.end.year + 1))


class ByResidence(Section):
    urban: Probability
    rural: Probability


class ParityProgression(Section):
    """Share of women reaching parity k who go on to a (k+1)th birth, for one group of cohorts."""

    born_until: Year = Field(description="last birth year of the cohorts these ratios describe")
    first: Probability
    # only for cohorts past childbearing on the census day: the later births of younger women come from their
    # wishes and the rules (`Scenario.progression_problems`)
    second: ByResidence | None = None
    third: ByResidence | None = None


class AgeShareRow(Section):
    age: Annotated[StrictInt, Field(ge=0, le=120)] = Field(description="from this age up to the next row's age")
    share: Probability


class AgeFactorRow(Section):
    age: Annotated[StrictInt, Field(ge=0, le=120)] = Field(description="from this age up to the next row's age")
    factor: Annotated[Number, Field(ge=0)]


class OnlyChildShare(Section):
    """Share of people who are their parents' only child, for cohorts born up to `born_until`."""

    born_until: Year
    urban: Probability
    rural: Probability


class Calibration(Section):
    """Targets the synthetic base population is made to reproduce (from the plan)."""

    share_65plus: Probability
    share_15_64: Probability
    married_women_15_49: PositiveInt

    @model_validator(mode="after")
    def _shares_fit(self):
        if self.share_65plus + self.share_15_64 >= 1:
            raise PydanticCustomError("share_sum", "share_65plus + share_15_64 must be below 1 (0-14 needs a share)")
        return self


class Population(Section):
    concept: Literal["registered", "resident"] = Field(
        description="registered (hukou) or resident population; the caps are about the registered one")
    size: People = Field(description="base population (people); uncertain")
    scale: Annotated[Number, Field(ge=1, le=10_000)] = Field(
        1.0, description="people each agent stands for (1: one agent per person); counts and caps stay in people")
    census_file: Path = Field(description="CSV: area, age_group, male, female (five-year groups)")
    census_area: str
    census_date: Date
    births_per_year: bounded(0.0, open_low=True) = Field(
        description="births a year before the base date (sizes the 0-4 cohorts)")
    calibration: Calibration
    urban_share: Probability = Field(description="share of the population with urban hukou")
    only_child_share: list[OnlyChildShare] = Field(min_length=1)
    parity_progression: list[ParityProgression] = Field(min_length=1)
    family_formation_delay_years: bounded(-5.0, 10.0) = Field(
        description="Heshan's marriages and births against the census age pattern (positive = later)")
    never_married_childless_share: Probability = Field(
        description="share of women who never have a child that never marry either")
    widowed_share_women: list[AgeShareRow] = Field(min_length=1)
    widowed_share_men: list[AgeShareRow] = Field(min_length=1)

    @field_validator("only_child_share", "parity_progression")
    @classmethod
    def _cohorts_ordered(cls, rows):
        years = [row.born_until for row in rows]
        if any(b <= a for a, b in zip(years, years[1:])):
            raise PydanticCustomError("cohort_order", "born_until must increase from row to row; got {years}",
                                      {"years": excerpt(years)})
        return rows

    _widowed_ages_increase = field_validator("widowed_share_women", "widowed_share_men")(_ages_increase)

    @model_validator(mode="after")
    def _sizes_agree(self):
        size = central(self.size)
        if central(self.births_per_year) > LARGEST_BIRTH_RATE * size:
            raise PydanticCustomError(
                "birth_rate", "births_per_year ({births}) must be at most {rate} per mille of size ({size})",
                {"births": f"{central(self.births_per_year):g}", "rate": f"{LARGEST_BIRTH_RATE * 1000:g}",
                 "size": f"{size:g}"})
        if self.calibration.married_women_15_49 >= size / 2:
            raise PydanticCustomError(
                "married_women", "calibration.married_women_15_49 ({women}) must be below half of size ({size})",
                {"women": self.calibration.married_women_15_49, "size": f"{size:g}"})
        return self


Trend = bounded(-0.3, 0.3)  # a third more or less each year would be no trend but a break


class ByOrder(Section):
    """One relative change a year for each birth order."""

    first: Trend
    second: Trend
    third_plus: Trend


class Fertility(Section):
    age_pattern_file: Path = Field(
        description="CSV: residence, age, births_total, order1, order2, order3plus (mothers' ages)")
    order_shares_file: Path = Field(description="CSV: area, residence, order, male, female")
    order_shares_area: str
    gestation_months: Annotated[StrictInt, Field(ge=6, le=10)] = 9
    postpartum_months: Months = Field(description="months after a birth with no new conception")
    relative_fecundity: list[AgeFactorRow] = Field(
        min_length=1, description="monthly chance of conceiving by age, relative to the peak (level is calibrated)")
    min_age: ReproductiveAge = 15
    max_age: ReproductiveAge = 50
    natural_fecundability: bounded(0.0, 1.0, open_low=True) = Field(
        description="monthly chance of conceiving of couples who do not contracept, at the peak ages: no calibrated "
                    "rate may pass it")
    trend_per_year: ByOrder = Field(
        description="relative change a year of each birth order's rates from the base date (-0.02: 2% lower a year)")

    _fecundity_ages_increase = field_validator("relative_fecundity")(_ages_increase)

    @model_validator(mode="after")
    def _fecund_ages(self):
        if self.min_age >= self.max_age:
            raise PydanticCustomError("age_limits", "min_age ({low}) must be below max_age ({high})",
                                      {"low": f"{self.min_age:g}", "high": f"{self.max_age:g}"})
        # a row holds from its age to the next row's: the last one to the end of childbearing
        ends = [row.age for row in self.relative_fecundity[1:]] + [self.max_age]
        if not any(row.factor > 0 and end > self.min_age and row.age < self.max_age
                   for row, end in zip(self.relative_fecundity, ends)):
            raise PydanticCustomError("fecundity_zero", "relative_fecundity must be above 0 at some age from "
                                                        "min_age to max_age ({low}-{high}): else no one conceives",
                                      {"low": f"{self.min_age:g}", "high": f"{self.max_age:g}"})
        return self


class Mortality(Section):
    """Brass relational logit life table fitted to life expectancy and infant mortality."""

    model: Literal["brass_logit"] = "brass_logit"
    reference_year: Year = Field(description=f"the year of the life expectancy; within {MORTALITY_YEARS} years "
                                             "of the period's start")
    e0_male_years: bounded(20.0, 100.0)
    e0_female_years: bounded(20.0, 100.0)
    infant_mortality_permille: bounded(0.0, 200.0, open_low=True)
    e0_gain_years_per_year: bounded(-1.0, 1.0)
    e0_offset_years: bounded(-10.0, 10.0) = Field(0.0, description=(
        "years a region's life expectancy stands above the reference table's in the reference year, both sexes "
        "(the whole schedule moves, as with the yearly gain)"))


class Marriage(Section):
    first_birth_interval_mean_months: bounded(0.0, 120.0, open_low=True) = Field(
        description="mean months from first marriage to first birth")
    husband_age_gap_mean_years: bounded(-10.0, 20.0)
    husband_age_gap_sd_years: bounded(0.0, 10.0, open_low=True)
    min_age_women: Annotated[Number, Field(ge=15, le=30)] = 18
    min_age_men: Annotated[Number, Field(ge=15, le=30)] = 20


class Migration(Section):
    concept: Literal["registered", "resident"]
    net_migrants_per_year: Uncertain = Field(description="net in-migrants a year (negative = net out)")
    female_share: Probability
    age_pattern: list[AgeShareRow] = Field(min_length=1, description="share of net migrants by age group start")

    _pattern_ages_increase = field_validator("age_pattern")(_ages_increase)

    @field_validator("age_pattern")
    @classmethod
    def _sums_to_one(cls, rows):
        total = sum(central(row.share) for row in rows)
        if abs(total - 1) > 1e-6:
            raise PydanticCustomError("share_sum", "shares must sum to 1; they sum to {total}",
                                      {"total": f"{total:.4f}"})
        return rows


class SexRatioAtBirth(Section):
    """Males per 100 females at birth, by birth order."""

    first: SexRatio
    second: SexRatio
    third_plus: SexRatio


class Regime(str, Enum):
    one_child = "one_child"
    selective_two_child = "selective_two_child"
    universal_two_child = "universal_two_child"
    three_child = "three_child"
    none = "none"


class Policy(Section):
    timeline: dict[Date, Regime] = Field(
        min_length=1, description="regime in force from each date on; variants add or replace dates")
    rural_daughter_min_interval_months: Months = Field(
        description="one_child rules: wait before a rural couple whose only child is a daughter may have another")
    penalty_collection_rate: Probability = Field(description="share of social maintenance fees collected")
    penalty_deterrence: Probability = Field(
        description="share of out-of-policy births a fully collected penalty would prevent")

    def regime_on(self, day: dt.date) -> Regime:
        current = None
        for start in sorted(self.timeline):
            if start <= day:
                current = self.timeline[start]
        if current is None:
            raise ValueError(f"no policy regime in force on {day}")
        return current


class CatchUp(Section):
    """How the women a relaxation of the rules releases act (`sim.engines.rules.in_backlog`)."""

    hazard_multiplier: bounded(0.0, 20.0, open_low=True) = Field(
        description="their conception rate against others' within the rules, while the window is open")
    window_months: bounded(0.0, 600.0, open_low=True) = Field(
        description="months from the relaxation that the multiplier lasts")
    min_months_since_birth: Months = Field(
        description="a woman whose last child is younger would not have had the next by now under any rules: "
                    "she is not in the backlog")
    acting_share: Probability = Field(
        description="share of the backlog who act on their wish once allowed; the others give it up "
                    "(the gap between intention and behaviour)")


class Behaviour(Section):
    second_child_intention: ByResidence = Field(
        description="share of mothers who want a second child, each cohort before the rules act on it (those who "
                    "had one wanted one)")
    third_child_intention: ByResidence = Field(
        description="share of the mothers who want a second child who also want a third")
    catch_up: CatchUp
    compliance: Probability = Field(description="share of couples who keep to the rules")


class PopulationCap(Section):
    limit: PositiveInt
    year: Year


class NaturalGrowthCap(Section):
    limit_permille: Annotated[Number, Field(ge=-100, le=100)]
    first_year: Year
    last_year: Year

    @model_validator(mode="after")
    def _ordered(self):
        if self.first_year > self.last_year:
            raise PydanticCustomError("target_years", "first_year must not be after last_year")
        return self


class ExpectedAgeStructure(Section):
    """What the plan itself expected the age structure to be (not a cap); reports draw it beside the runs."""

    year: Year
    share_65plus: Probability = Field(description="share aged 65+ the plan expected")
    share_15_64_below: Probability = Field(description="the plan expected the 15-64 share below this")


class Targets(Section):
    """The caps a run is judged by (each optional: a scenario for a backtest may set none)."""

    population: PopulationCap | None = None
    natural_growth: NaturalGrowthCap | None = None
    expected_age_structure: ExpectedAgeStructure | None = None



class Ensemble(Section):
    replicates: Annotated[StrictInt, Field(gt=0, le=100_000)] = 100
    seed: Annotated[StrictInt, Field(ge=0)] = 0


class InputsFrom(Section):
    """Inputs taken jointly from a calibration's posterior in place of their distributions (the priors): each
    replicate draws one particle by its weight, so the fitted inputs keep their correlations; a number the
    scenario fixes stands (`sim.scenario.inputs`)."""

    posterior_file: Path = Field(description="CSV: weight, then one column per fitted input by its dotted name")
    inputs: list[str] | None = Field(None, min_length=1, description="the posterior's inputs to take (default: "
                                                                      "all); the rest keep the scenario's own")


class Scenario(Section):
    """A whole Erhai scenario, after `extends` has been resolved."""

    name: str
    description: str = ""
    period: Period
    population: Population
    fertility: Fertility
    mortality: Mortality
    marriage: Marriage
    migration: Migration
    sex_ratio_at_birth: SexRatioAtBirth
    policy: Policy
    behaviour: Behaviour
    targets: Targets
    ensemble: Ensemble = Ensemble()
    inputs_from: InputsFrom | None = None

    def consistency_problems(self) -> list[tuple[tuple[str, ...], str]]:
        """Problems that span sections, as (field path, message); the loader adds file and line."""
        years = self.period.years
        targets, caps = self.targets, {}
        if targets.population is not None:
            caps[("targets", "population", "year")] = targets.population.year
        if targets.natural_growth is not None:
            caps[("targets", "natural_growth", "first_year")] = targets.natural_growth.first_year
            caps[("targets", "natural_growth", "last_year")] = targets.natural_growth.last_year
        if targets.expected_age_structure is not None:
            caps[("targets", "expected_age_structure", "year")] = targets.expected_age_structure.year
        problems = [(key, f"{'.'.join(key)} {year} is outside the period {years[0]}-{years[-1]}")
                    for key, year in caps.items() if year not in years]
        problems += self.progression_problems()
        problems += self._magnitude_problems()
        needed = self.rules_needed_from
        if min(self.policy.timeline) > needed:
            problems.append((("policy", "timeline"),
                             f"no rules in force on {needed}: the later births of the women of childbearing age on "
                             f"the census day or after are drawn from then on (when the oldest turned "
                             f"{self.fertility.min_age:g})"))
        return problems

    def _magnitude_problems(self) -> list[tuple[tuple[str, ...], str]]:
        """Inputs that cannot be right against other sections: the census after the base date, a life table's
        reference far from the period, net migration that would empty or flood the population."""
        problems = []
        # a census at midnight on the first simulated day counts the base population itself
        if self.population.census_date > self.period.start:
            problems.append((("population", "census_date"), f"the census day {self.population.census_date} must "
                                                            f"not be after the period's start {self.period.start}"))
        distance = abs(self.mortality.reference_year - self.period.start.year)
        if distance > MORTALITY_YEARS:
            problems.append((("mortality", "reference_year"), f"{self.mortality.reference_year} is {distance} years "
                             f"from the period's start; at most {MORTALITY_YEARS}"))
        migrants = self.migration.net_migrants_per_year
        low, high = migrants.support() if isinstance(migrants, BaseDistribution) else (migrants, migrants)
        most = LARGEST_MIGRATION_RATE * central(self.population.size)
        if max(-low, high) > most:
            problems.append((("migration", "net_migrants_per_year"), f"net migration of up to {max(-low, high):g} a "
                             f"year is more than a tenth of population.size ({most:g})"))
        return problems

    @property
    def last_cohort_past_childbearing(self) -> int:
        """The last birth year with women past childbearing on the census day (or the base date, if earlier):
        only those take their second and third births from the cohort parity progression ratios."""
        first = min(self.population.census_date, self.period.start - dt.timedelta(days=1))
        return int(first.year - self.fertility.max_age)

    def progression_problems(self) -> list[tuple[tuple[str, ...], str]]:
        """Rows of parity progression whose second and third ratios are missing where needed, or given where
        nothing reads them (an input that does nothing would still be drawn and ranked as if it mattered)."""
        problems, last = [], self.last_cohort_past_childbearing
        rows = self.population.parity_progression
        for index, row in enumerate(rows):
            earliest = rows[index - 1].born_until + 1 if index else None
            needed = earliest is None or earliest <= last
            for order in ("second", "third"):
                given = getattr(row, order) is not None
                key = ("population", "parity_progression", str(index), order)
                if needed and not given:
                    problems.append((key, f"cohorts born until {row.born_until} include women past childbearing "
                                          f"on the census day (born until {last}): give their {order} births"))
                elif given and not needed:
                    problems.append((key, f"cohorts born from {earliest} were of childbearing age on the census "
                                          f"day or later: their {order} births come from their wishes and the "
                                          "rules, not from a progression ratio; remove it"))
        return problems

    def with_values(self, values: dict[str, Any]) -> "Scenario":
        """A variant with inputs at dotted paths replaced, validated as a file is, e.g.
        `scenario.with_values({"behaviour.compliance": 0.7})` (see `sim.scenario.loading.with_values`)."""
        from sim.scenario.loading import with_values  # loading reads files into this schema
        return with_values(self, values)

    @property
    def rule_changes(self) -> list[dt.date]:
        """The days in the period on which the policy timeline changes the rules, in order."""
        return sorted(day for day in self.policy.timeline if self.period.start <= day <= self.period.end)

    @property
    def rules_needed_from(self) -> dt.date:
        """The first day the base population's histories need the rules of: when the oldest woman of
        childbearing age on the census day (or, if later, the base date) reached the youngest."""
        base = self.period.start - dt.timedelta(days=1)
        first = min(self.population.census_date, base)
        years = self.fertility.max_age - self.fertility.min_age
        return first - dt.timedelta(days=round(years * 365.25))


_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_INHERITING = "Inheriting"  # suffix of a section's definition in a file that extends another
_EXTENDS = {"type": "string", "description": "the scenario file this one builds on, relative to this file; a "
                                             "file that extends another states only what differs"}


def file_schema() -> dict:
    """The JSON Schema of a scenario file, for editors and `erhai schema`.

    A file without `extends` is a whole `Scenario`. A file with it may omit
    anything its base gives, at any depth (a distribution may set only its
    mean), so its sections take copies of the definitions with nothing
    required; unknown keys are errors in both. What the merge leaves out is
    for `erhai validate` to say, which knows the base.
    """
    whole = Scenario.model_json_schema()
    definitions = whole.pop("$defs")
    inheriting = _inheriting(whole)
    inheriting["properties"] = {"extends": _EXTENDS, **inheriting["properties"]}
    return {"$schema": _DIALECT, **inheriting,
            "if": {"required": ["extends"]}, "else": {"$ref": "#/$defs/Scenario"},
            "$defs": {**definitions, "Scenario": whole,
                      **{name + _INHERITING: _inheriting(schema) for name, schema in definitions.items()}}}


def _inheriting(schema: Any) -> Any:
    """`schema` with no field required at any depth, referring to the inheriting copies of its definitions."""
    if isinstance(schema, list):
        return [_inheriting(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    # without `dist` required the distributions' shapes overlap ({mean: 0.7} fits several), so any may match
    renamed = {"oneOf": "anyOf"}
    return {renamed.get(key, key): value + _INHERITING if key == "$ref" else _inheriting(value)
            for key, value in schema.items() if key != "required"}
