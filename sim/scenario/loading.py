"""Read scenario files: YAML (safe loader only), `extends` inheritance, and errors with lines.

A variant names its base with `extends: base.yaml` and states only what
differs; mappings are merged key by key, anything else replaces the base
value. A mapping with a `dist` key is a whole distribution and replaces the
base value too (a mapping without one may adjust a base distribution, e.g.
only its mean). Keys ending in `_file` are paths relative to the file that
sets them, and must exist.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml
from pydantic import BaseModel, ValidationError

from sim.errors import Problem, UserError, excerpt
from sim.scenario.distributions import DISTRIBUTIONS, NUMBER_TAG
from sim.scenario.inputs import posterior_problems
from sim.scenario.reading import read_yaml
from sim.scenario.schema import Scenario

Key = tuple[str, ...]
M = typing.TypeVar("M", bound=BaseModel)
_UNION_TAGS = set(DISTRIBUTIONS) | {NUMBER_TAG}
RESIDENCES = ("urban", "rural")


@dataclass
class Source:
    """Resolved scenario data and, for every key, the file and line that set it."""

    data: dict[str, Any]
    origins: dict[Key, tuple[Path, int]] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)

    def locate(self, key: Key) -> tuple[Path, int]:
        """The line that set `key`, or of its nearest parent that exists."""
        for n in range(len(key), 0, -1):
            if key[:n] in self.origins:
                return self.origins[key[:n]]
        return self.files[-1], 1


def load_scenario(path: str | Path) -> Scenario:
    return validated_scenario(resolve(Path(path)))


def load_runnable(path: str | Path) -> Scenario:
    """The scenario in `path`, validated, then built as a run builds it (`sim.simulation.check_runnable`): what
    this accepts runs, and what a run would refuse this refuses first, at the line of an input it blames."""
    from sim.simulation import check_runnable  # the run's own code, which needs this package's schema
    source = resolve(Path(path))
    scenario = validated_scenario(source)
    try:
        check_runnable(scenario)
    except UserError as exc:
        if exc.problems:  # a data table's, at its own file and line
            raise
        raise UserError([_blamed(source, str(exc))]) from None
    return scenario


def _blamed(source: Source, message: str) -> Problem:
    """`message` at the first input it names that the scenario sets (a run's messages name the inputs to check)."""
    named = [tuple(name.split(".")) for name in re.findall(r"\b[a-z_]+(?:\.[a-z0-9_]+)+\b", message)]
    key = next((key for key in named if key in source.origins), ())
    return Problem(*source.locate(key), ".".join(key), message)


def validated_scenario(source: Source) -> Scenario:
    """The scenario `source` holds, or a UserError naming the file, line and field of each problem."""
    scenario = validated(Scenario, source)
    missing = _missing_files(source.data)
    posterior = [] if scenario.inputs_from is None or missing else [
        (("inputs_from", "posterior_file"), problem) for problem in posterior_problems(scenario)]
    problems = [Problem(*source.locate(key), ".".join(key), message)
                for key, message in [*scenario.consistency_problems(), *missing, *posterior]]
    if problems:
        raise UserError(problems)
    return scenario


def with_values(scenario: Scenario, values: dict[str, Any]) -> Scenario:
    """`scenario` with the inputs at dotted paths replaced, validated as a file is (`Scenario.with_values`).

    A value may be a number or a distribution mapping; a mapping without `dist`
    adjusts the distribution there (`{"mean": 0.7}`), as in a file that extends
    another, and an input given per residence takes a single value for both.
    """
    origin = Path(f"{scenario.name} with_values")
    problems = [Problem(origin, None, dotted, problem) for dotted in values
                if (problem := input_problem(json.loads(scenario.model_dump_json()), dotted))]
    if problems:
        raise UserError(problems)
    base = Source(json.loads(scenario.model_dump_json()), {}, [origin])
    own = Source(input_overrides(base.data, values), {tuple(dotted.split(".")): (origin, None) for dotted in values},
                 [origin])
    return validated_scenario(overlay(base, own))


def input_problem(data: dict, dotted: str) -> str | None:
    """What is wrong with `dotted` as the path of one input of the scenario `data`, or None."""
    try:
        current = _at(data, dotted.split("."))
    except (KeyError, TypeError, IndexError):
        return f"no input '{dotted}' in the scenario"
    if isinstance(current, dict) and "dist" not in current and set(current) != set(RESIDENCES):
        return f"'{dotted}' is a section, not one input; name a field inside it"
    return None


def input_overrides(data: dict, values: dict[str, Any]) -> dict:
    """Nested data setting each dotted input of `values`, to overlay on `data`; an input `data` gives per
    residence takes a single value for both residences."""
    overrides: dict = {}
    for dotted, value in values.items():
        keys = dotted.split(".")
        current = _at(data, keys)
        target = overrides
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        by_residence = isinstance(current, dict) and set(current) == set(RESIDENCES) and not isinstance(value, dict)
        target[keys[-1]] = {residence: value for residence in RESIDENCES} if by_residence else value
    return overrides


def _at(data: Any, keys: list[str]) -> Any:
    for key in keys:
        data = data[int(key)] if isinstance(data, list) else data[key]
    return data


def validated(model: type[M], source: Source) -> M:
    try:
        return model.model_validate(source.data)
    except ValidationError as exc:
        raise UserError(_problems(exc, source, model)) from None


def shown_path(path: str | Path) -> str:
    """`path` relative to the working directory if it lies below it (as a user typed it), else as it is."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def content_hash(scenario_json: str) -> str:
    """sha256 of a resolved scenario (as serialized, `Scenario.model_dump_json`) and the bytes of every data file
    it names (not their paths)."""
    data = json.loads(scenario_json)
    digest = hashlib.sha256()
    for _, mapping, key in sorted(file_entries(data), key=lambda entry: entry[0]):
        digest.update(Path(mapping[key]).read_bytes())
        mapping[key] = "file"
    digest.update(json.dumps(data, sort_keys=True).encode())
    return digest.hexdigest()


def resolve(path: Path, _chain: tuple[Path, ...] = ()) -> Source:
    path = path.resolve()
    own = read_yaml_source(path)
    resolve_file_keys(own.data, path.parent)
    base_name = own.data.pop("extends", None)
    if base_name is None:
        return own
    line = own.origins[("extends",)][1]
    if not isinstance(base_name, str):
        raise UserError([Problem(path, line, "extends", "expected the name of a scenario file, e.g. base.yaml")])
    base_path = (path.parent / base_name).resolve()
    if base_path in (*_chain, path):
        cycle = " -> ".join(p.name for p in (*_chain, path, base_path))
        raise UserError([Problem(path, line, "extends", f"inheritance cycle: {cycle}")])
    if not base_path.is_file():
        raise UserError([Problem(path, line, "extends", f"base file '{base_name}' not found (looked for {base_path})")])
    return overlay(resolve(base_path, (*_chain, path)), own)


def overlay(base: Source, own: Source) -> Source:
    """`own` over `base`: mappings merge key by key, anything else replaces; each key keeps its own line."""
    replaced = _replaced_keys(own.data)
    kept = {k: v for k, v in base.origins.items() if not any(k[: len(r)] == r for r in replaced)}
    return Source(_deep_merge(base.data, own.data), {**kept, **own.origins}, [*base.files, *own.files])


def read_yaml_source(path: Path) -> Source:
    """A YAML mapping file with the line of every key (no `extends`, no file keys)."""
    node, data = _read_yaml(path)
    return Source(data, _lines(node, path), [path])


def _read_yaml(path: Path) -> tuple[yaml.Node, dict[str, Any]]:
    node, data = read_yaml(path)
    if node is None:
        raise UserError([Problem(path, 1, "", "the file is empty; expected a scenario mapping "
                                 "(name, period, population, ...) or `extends: base.yaml` and overrides")])
    if not isinstance(data, dict):
        raise UserError([Problem(path, node.start_mark.line + 1, "",
                                 f"expected a mapping of scenario sections at the top, got a {type(data).__name__}")])
    return node, data


def _lines(node: yaml.Node, path: Path, key: Key = ()) -> dict[Key, tuple[Path, int]]:
    """Map each key path to its line; duplicate keys are errors, not silent overrides."""
    lines: dict[Key, tuple[Path, int]] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*key, str(key_node.value))
            if child in lines:
                raise UserError([Problem(path, key_node.start_mark.line + 1, ".".join(child),
                                         f"duplicate key (first set on line {lines[child][1]})")])
            lines[child] = (path, key_node.start_mark.line + 1)
            lines.update(_lines(value_node, path, child))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            child = (*key, str(i))
            lines[child] = (path, item.start_mark.line + 1)
            lines.update(_lines(item, path, child))
    return lines


def file_entries(data: Any, key: Key = ()) -> Iterator[tuple[Key, dict, str]]:
    """(path, mapping, key) for every string value whose key names a data file (ends in `_file`)."""
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for k, v in items:
        child = (*key, str(k))
        if isinstance(k, str) and k.endswith("_file") and isinstance(v, str):
            yield child, data, k
        else:
            yield from file_entries(v, child)


def resolve_file_keys(data: dict, directory: Path) -> None:
    for _, mapping, k in list(file_entries(data)):
        mapping[k] = str((directory / mapping[k]).resolve())


def _merges(value: Any) -> bool:
    return isinstance(value, dict) and "dist" not in value


def _replaced_keys(data: dict, key: Key = ()) -> list[Key]:
    """Keys whose whole value an override replaces (everything but mappings, which merge)."""
    found = []
    for k, v in data.items():
        child = (*key, str(k))
        found.extend(_replaced_keys(v, child) if _merges(v) else [child])
    return found


def _deep_merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for k, v in override.items():
        merged[k] = _deep_merge(merged[k], v) if _merges(v) and isinstance(merged.get(k), dict) else v
    return merged


def _missing_files(data: dict) -> list[tuple[Key, str]]:
    return [(key, f"no such file: {mapping[k]}") for key, mapping, k in file_entries(data)
            if not Path(mapping[k]).is_file()]


def _problems(exc: ValidationError, source: Source, model: type[BaseModel]) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        key = _data_key(err["loc"], source.data)
        file, line = source.locate(key)
        problems.append(Problem(file, line, ".".join(key), _message(err, key, source.data, model)))
    return sorted(set(problems), key=lambda p: (str(p.file), p.line, p.field))


def _data_key(loc: tuple, data: Any) -> Key:
    """The error location as keys of the input, without pydantic's union-branch names."""
    key: list[str] = []
    node = data
    for part in loc:
        if isinstance(node, dict):
            match = next((k for k in node if str(part) in (str(k), repr(k))), None)
            if match is not None:
                key.append(str(match))
                node = node[match]
                continue
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            key.append(str(part))
            node = node[part]
            continue
        if isinstance(part, str) and (part in _UNION_TAGS or "[" in part):
            continue
        key.append(str(part))  # a missing field: name it
        node = None
    return tuple(key)


def _message(err: dict, key: Key, data: dict, model: type[BaseModel]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(key[:-1], data, model)
        close = difflib.get_close_matches(key[-1], allowed, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return f"unknown key{hint} (allowed here: {', '.join(allowed)})"
    if kind == "missing":
        return "required field is missing"
    text = err["msg"].removeprefix("Value error, ")
    if kind not in ("dist_missing", "dist_unknown", "union_tag_invalid") and "input" in err \
            and not isinstance(err["input"], (dict, list)):
        text += f"; got {excerpt(err['input'])}"
    return text


def _allowed_keys(key: Key, data: dict, root: type[BaseModel]) -> list[str]:
    """Field names of the model that sits at `key` in the data of a `root` model."""
    node: Any = data
    for part in key:
        node = node[int(part)] if isinstance(node, list) else node.get(part, {})
    if isinstance(node, dict) and node.get("dist") in DISTRIBUTIONS:
        return sorted(DISTRIBUTIONS[node["dist"]].model_fields)
    annotation: Any = root
    for part in key:
        model = _model_in(annotation)
        if model is not None and part in model.model_fields:
            annotation = model.model_fields[part].annotation
        else:
            annotation = _item_type(annotation)
    model = _model_in(annotation)
    return sorted(model.model_fields) if model else []


def _item_type(annotation: Any) -> Any:
    args = typing.get_args(annotation)
    return args[-1] if args else annotation


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
