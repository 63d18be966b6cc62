"""Errors a user can fix: each names the file, the line, the field and what is allowed."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    file: Path
    line: int | None  # None: the values came from code, not a file's lines
    field: str
    message: str

    def __str__(self) -> str:
        where = _display(self.file) if self.line is None else f"{_display(self.file)}:{self.line}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class UserError(Exception):
    """Bad input. The command line prints it without a traceback and exits with status 2."""

    def __init__(self, problems: list[Problem] | str):
        self.problems = problems if isinstance(problems, list) else []
        text = "\n".join(map(str, problems)) if isinstance(problems, list) else problems
        super().__init__(text)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class ImplausibleInputs(UserError):
    """Inputs whose calibration is implausible: a run draws them again; a scenario's central values must not be."""


EXCERPT_CHARS = 60  # a message quotes at most this much of a value: a long one would bury the message


def excerpt(value: object) -> str:
    """`value` as Python writes it, cut to EXCERPT_CHARS characters."""
    text = repr(value)
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS - 3] + "..."
