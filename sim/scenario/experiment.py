"""Experiment files: scenario variants, or a sweep of one or two inputs, to run with paired random numbers.

    name: "Heshan: the five policy regimes"
    replicates: 200                        # optional: default the base scenario's
    seed: 20160101                         # optional: default the base scenario's
    base: ../scenarios/heshan_universal_two_child.yaml
    variants:                              # either variants ...
      - {name: universal, label: "Universal two-child"}
      - {name: one_child, scenario: ../scenarios/heshan_one_child.yaml}
      - name: strict
        overrides: {behaviour: {compliance: 0.95}}   # merged over the base, as `extends` does
    sweep:                                 # ... or a sweep over every combination of values
      - input: behaviour.second_child_intention      # a residence pair takes one value for both
        values: [0.1, 0.3, 0.5, 0.7]

Paths are relative to the experiment file. Every variant is checked as a
scenario before anything runs; errors name the file and line that set the
field, in the experiment or in the scenario it builds on.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StrictInt, model_validator
from pydantic_core import PydanticCustomError

from sim.errors import Problem, UserError
from sim.scenario.distributions import Number
from sim.scenario.loading import (Source, input_overrides, input_problem, overlay, read_yaml_source, resolve,
                                  resolve_file_keys, validated, validated_scenario)
from sim.scenario.schema import Scenario, Section

def _folder_name(name: str) -> str:
    # a variant's name is its run folder under variants/: nothing that leads out of it
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", name) or set(name) == {"."}:
        raise PydanticCustomError("variant_name", "a variant's name is the name of its folder: up to 100 letters, "
                                  "digits, _ . and -, not only dots")
    return name


Name = Annotated[str, AfterValidator(_folder_name),
                 Field(description="its folder's name: letters, digits, _ . - (not only dots)")]


class VariantSpec(Section):
    name: Name
    label: str | None = None
    scenario: str | None = Field(None, description="scenario file (default: the experiment's base)")
    overrides: dict[str, Any] = Field(default_factory=dict, description="scenario keys merged over it")


class SweptInput(Section):
    input: str = Field(description="dotted path of a scenario input, e.g. behaviour.compliance")
    values: list[Number] = Field(min_length=2)
    label: str | None = None


class ExperimentSpec(Section):
    name: str
    description: str = ""
    base: str | None = Field(None, description="the scenario variants and sweeps build on")
    variants: list[VariantSpec] | None = Field(None, min_length=2)
    sweep: list[SweptInput] | None = Field(None, min_length=1, max_length=2)
    replicates: Annotated[StrictInt, Field(gt=0)] | None = None
    seed: Annotated[StrictInt, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _one_design(self):
        if (self.variants is None) == (self.sweep is None):
            raise ValueError("give either variants or sweep")
        if self.sweep is not None and self.base is None:
            raise ValueError("a sweep needs a base scenario")
        if self.variants and any(v.scenario is None for v in self.variants) and self.base is None:
            raise ValueError("variants without their own scenario need a base scenario")
        names = [v.name for v in self.variants or []]
        if len(set(names)) != len(names):
            raise ValueError(f"variant names must differ: {names}")
        return self


@dataclass(frozen=True)
class Variant:
    name: str
    label: str
    scenario: Scenario
    values: dict[str, float]  # swept inputs and their values (empty for named variants)


@dataclass(frozen=True)
class Experiment:
    spec: ExperimentSpec
    variants: list[Variant]
    swept: list[str]  # dotted inputs of a sweep, else empty

    @property
    def swept_labels(self) -> list[str]:
        return [_label(swept) for swept in self.spec.sweep or []]

    @property
    def kind(self) -> str:
        return "sweep" if self.swept else "variants"


def load_runnable_experiment(path: str | Path) -> Experiment:
    """The experiment in `path` with every variant built as a run builds it (`sim.simulation.check_runnable`), so
    that `erhai validate` refuses first what `erhai compare` would refuse halfway, naming the variant."""
    from sim.simulation import check_runnable  # the run's own code, which needs this package's schema
    experiment = load_experiment(path)
    for variant in experiment.variants:
        try:
            check_runnable(variant.scenario)
        except UserError as exc:
            raise UserError(f"{path}: variant {variant.name}: {exc}") from None
    return experiment


def load_experiment(path: str | Path) -> Experiment:
    path = Path(path).resolve()
    source = read_yaml_source(path)
    spec = validated(ExperimentSpec, source)
    if spec.sweep is not None:
        return Experiment(spec, _sweep_variants(spec, source, path), [swept.input for swept in spec.sweep])
    return Experiment(spec, [_named_variant(spec, source, path, i) for i in range(len(spec.variants))], [])


def _scenario_source(name: str, path: Path, key: tuple[str, ...], experiment: Source) -> Source:
    file = (path.parent / name).resolve()
    if not file.is_file():
        raise UserError([Problem(*experiment.locate(key), ".".join(key), f"scenario file not found: {file}")])
    return resolve(file)


def _named_variant(spec: ExperimentSpec, source: Source, path: Path, index: int) -> Variant:
    variant = spec.variants[index]
    key = ("variants", str(index))
    file_key = (*key, "scenario") if variant.scenario else ("base",)
    base = _scenario_source(variant.scenario or spec.base, path, file_key, source)
    prefix = (*key, "overrides")
    overrides = {k[len(prefix):]: origin for k, origin in source.origins.items() if k[:len(prefix)] == prefix}
    own = Source(dict(variant.overrides), overrides, [path])
    resolve_file_keys(own.data, path.parent)
    scenario = validated_scenario(overlay(base, own))
    return Variant(variant.name, variant.label or scenario.name, scenario, {})


def _sweep_variants(spec: ExperimentSpec, source: Source, path: Path) -> list[Variant]:
    base = _scenario_source(spec.base, path, ("base",), source)
    for index, swept in enumerate(spec.sweep):
        problem = input_problem(base.data, swept.input)
        if problem:
            key = ("sweep", str(index), "input")
            raise UserError([Problem(*source.locate(key), ".".join(key), problem)])
    variants = []
    for number, picks in enumerate(itertools.product(*(enumerate(swept.values) for swept in spec.sweep))):
        chosen = {swept.input: float(value) for swept, (_, value) in zip(spec.sweep, picks)}
        # a value the scenario cannot take is the experiment's line that gives it, not the base scenario's
        origins = {tuple(swept.input.split(".")): source.locate(("sweep", str(index), "values", str(place)))
                   for index, (swept, (place, _)) in enumerate(zip(spec.sweep, picks))}
        own = Source(input_overrides(base.data, chosen), origins, [path])
        scenario = validated_scenario(overlay(base, own))
        label = ", ".join(f"{_label(swept)} {value:g}" for swept, value in zip(spec.sweep, chosen.values()))
        variants.append(Variant(f"v{number:02d}", label, scenario, chosen))
    return variants


def _label(swept: SweptInput) -> str:
    return swept.label or swept.input.rsplit(".", 1)[-1].replace("_", " ")
