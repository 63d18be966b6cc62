"""The processes of a time step, in order: the one list every engine follows.

Each process is data: its name (an engine runs it with its method `_<name>`),
the random stream it draws from (seeded by the stream's name, `sim.streams`)
and the columns of people it reads and writes. The columnar engine, the
per-agent engine and the expected-value engine each write a process once, as
that method, and take the order from here, so the order cannot drift between
them: an engine built with another list (`DistrictModel(processes=...)`)
runs that list.

Processes before `ageing` see the state at the step's start; those after it,
the state at its end. Conception and marriage are decided on the state at the
start, so a bride does not conceive in her wedding step and a woman conceives
at most once a step.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Process:
    name: str
    stream: str | None  # the named random stream it draws from; None: it draws nothing
    reads: tuple[str, ...]  # columns of `sim.population.people.COLUMNS` it looks at
    writes: tuple[str, ...]  # columns it changes (a process that adds people writes every column of theirs)
    does: str


_COUPLE = ("sex", "marital", "age_months", "residence", "parity", "sons", "months_since_birth", "months_pregnant",
           "only_child", "spouse", "intention", "catch_up")

PROCESSES: tuple[Process, ...] = (
    Process("policy", "policy", _COUPLE, ("intention", "catch_up"),
            "the regime of the step's first day; a relaxation of the rules releases its backlog, whose women act "
            "on their wish (catching up while its window is open) or give it up"),
    Process("conception", "conception", _COUPLE, ("months_pregnant",),
            "married, non-pregnant women of childbearing age conceive at their monthly rate"),
    Process("marriage", "marriage", ("alive", "sex", "marital", "age_months", "residence"), ("marital", "spouse"),
            "single women marry at the rate of their age and residence, each to an unmarried man of their "
            "residence near the age she wants"),
    Process("deaths", "deaths", ("alive", "sex", "age_months", "spouse"),
            ("alive", "marital", "spouse", "months_pregnant"),
            "people die at the monthly rates of their sex and age; a spouse left is widowed, a pregnancy ends"),
    Process("ageing", None, ("months_since_birth", "months_pregnant"),
            ("age_months", "months_since_birth", "months_pregnant"),
            "the clock moves on: ages, months since the last birth and months of pregnancy"),
    Process("births", "births", ("months_pregnant", "parity", "age_months", "residence"),
            ("parity", "sons", "months_since_birth", "months_pregnant", "catch_up"),
            "pregnancies past their gestation end in a birth, its sex drawn from the sex ratio of its order"),
    Process("migration", "migration", ("alive", "sex", "age_months"), ("alive", "marital", "spouse"),
            "net migration by age and sex: immigrants copy residents of their age and sex, emigrants leave"),
)
PROCESS_NAMES = tuple(process.name for process in PROCESSES)


def processes_named(names: tuple[str, ...] | list[str]) -> tuple[Process, ...]:
    """The processes of `names`, in the order given (for a test or a study that reorders or leaves one out)."""
    unknown = [name for name in names if name not in PROCESS_NAMES]
    if unknown:
        raise ValueError(f"unknown processes {unknown}; the processes are {PROCESS_NAMES}")
    return tuple(PROCESSES[PROCESS_NAMES.index(name)] for name in names)


@dataclass
class Step:
    """One time step under way; an engine's own kind of step carries what its processes hand on."""

    months: int
