"""Read one YAML file into a node tree (for lines) and data, within limits.

A scenario file is small and shallow; the limits refuse what no scenario
needs before it costs time or memory: a huge file, nesting deep enough to
exhaust Python's recursion, and aliases that expand exponentially (a
"billion laughs"). Scalars PyYAML cannot convert (2016-02-30, an integer of
thousands of digits) are errors at their own line.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from sim.errors import Problem, UserError, excerpt

MAX_FILE_BYTES = 1_000_000  # the shipped scenarios are about 10 kB
MAX_DEPTH = 20  # a scenario nests about 6 deep
MAX_VALUES = 100_000  # keys and values once aliases are expanded; a scenario has about 1,000


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, with scalars that do not convert as YAML errors at their mark."""

    def construct_yaml_int(self, node):
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            raise ConstructorError(None, None, f"the integer {excerpt(node.value)} is too long",
                                   node.start_mark) from None

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise ConstructorError(None, None, f"not a valid date: {excerpt(node.value)} ({exc})",
                                   node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def read_yaml(path: Path) -> tuple[yaml.Node | None, Any]:
    """The node tree and data of the YAML file `path` (None, None if it is empty), or a UserError."""
    text = _text(path)
    try:
        _check_depth(path, text)
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is not None:
                _check_expansion(path, node)
            return node, None if node is None else loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        reason = getattr(exc, "problem", None) or str(exc)
        raise UserError([Problem(path, mark.line + 1 if mark else 1, "", f"not valid YAML: {reason}")]) from None


def _text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UserError([Problem(path, 1, "", f"the file has {size:,} bytes; a scenario file may have at most "
                                                  f"{MAX_FILE_BYTES:,}")])
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError([Problem(path, 1, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError([Problem(path, 1, "", f"cannot read the file: {exc}")]) from None


def _check_depth(path: Path, text: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH, from the parser's events (the composer would recurse that deep)."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise UserError([Problem(path, event.start_mark.line + 1, "",
                                         f"nested more than {MAX_DEPTH} levels deep; a scenario needs about 6")])
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _check_expansion(path: Path, node: yaml.Node) -> None:
    if _expanded_size(node, {}) > MAX_VALUES:
        raise UserError([Problem(path, 1, "", f"its aliases (*name) expand to more than {MAX_VALUES:,} values; "
                                              "a scenario has about 1,000: write the values out")])


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """Nodes under `node` counting each alias as a copy; an alias of a node being counted (a cycle) counts as too
    many. `sizes` keeps each shared node's count, so a bomb costs a node's visit, not its expansion."""
    if id(node) in sizes:
        return sizes[id(node)]
    sizes[id(node)] = MAX_VALUES + 1
    children = [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else \
        node.value if isinstance(node, yaml.SequenceNode) else []
    sizes[id(node)] = min(1 + sum(_expanded_size(child, sizes) for child in children), MAX_VALUES + 1)
    return sizes[id(node)]
