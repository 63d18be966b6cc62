"""Where results are kept: a run's folder on disk, or memory. The only module that knows a run folder's files.

A run folder:

    manifest.json       settings, run identity, provenance and status: "running" until the
                        tables below are written, then "complete"
    scenario.json       the resolved scenario (what a resumed run reads)
    parts/r000042.json  one per finished replicate: yearly indicators, the base year's, drawn inputs, pyramids,
                        backlogs, uptake
    replicates.csv      replicate, year, one column per indicator         }
    base_year.csv       the same of the 12 months before the base date    }
    inputs.csv          replicate, each drawn input                      }  written when the
    pyramids.csv        replicate, year, sex, age_group, people          }  run completes, each
    backlogs.csv        replicate, date, regime, residence, order,       }  also as .parquet with
                        age_group, released, acting                      }  the scenario and run
    uptake.csv          replicate, date, regime, months, eligible,       }  identity in its
                        conceived (the newly eligible of each relaxation }  metadata
                        who conceived within that many months)           }
    summary.json        the caps and indicator bands (`sim.results.summary`)
    report.pdf          the run report
    erhai.lock          locked (flock) by the one erhai process running the run (`claimed`)

Every part carries the run identity (`run_id`: a hash of the resolved scenario, the bytes of its data files
and the settings that decide results) and is refused if it does not match the manifest's; a part that does
not parse is set aside as `parts/r000042.json.corrupt` and its replicate run again. The manifest records the
size of every final table, so a table cut or changed afterwards is refused rather than summarized.

An experiment folder holds one run folder per variant under `variants/`,
`experiment.json`, `comparison.csv`, `summary.json` and `comparison.pdf`
(`ExperimentDirectory`). A backtest
(`erhai backtest`) writes `backtest.csv` (one row per observation),
`backtest.json` (coverage and scores) and `backtest.pdf` into the folder it
scores, or another.

Every file is written under a temporary name and renamed into place, so a run
killed at any moment leaves only whole files, and a folder whose manifest does
not say "complete" is never read as a finished run.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sys
from dataclasses import asdict, fields
from pathlib import Path
from typing import Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError

from sim.errors import UserError
from sim.provenance import now
from sim.results.backtest import Backtest
from sim.results.runs import TABLE_COLUMNS, TABLE_FIELDS, TABLES, EnsembleResult, EnsembleSettings, ReplicateResult
from sim.results.summary import Summary
from sim.scenario.schema import Scenario

MANIFEST, SCENARIO, PARTS, SUMMARY, REPORT = "manifest.json", "scenario.json", "parts", "summary.json", "report.pdf"
COMPARISON_TABLE, EXPERIMENT, COMPARISON_REPORT, VARIANTS = ("comparison.csv", "experiment.json", "comparison.pdf",
                                                              "variants")
BACKTEST_TABLE, BACKTEST_SUMMARY, BACKTEST_REPORT = "backtest.csv", "backtest.json", "backtest.pdf"
RUNNING, COMPLETE = "running", "complete"
MANIFEST_KEYS = ("status", "settings", "scenario_hash")  # what every manifest has, whatever erhai wrote it
LOCK, CORRUPT = "erhai.lock", ".corrupt"
_STRINGS = {"sex", "date", "regime", "residence", "order"}
_INTEGERS = {"replicate", "year", "age_group", "months"}
_PART_TABLES = ("yearly", "base", "pyramids", "backlogs", "uptake")  # a part's tables (inputs are a dict)
_ROW_GROUP_REPLICATES = 100  # replicates per Parquet row group: few groups, and memory bounded by one


def partial_path(path: Path) -> Path:
    """Where `path` is written before it is renamed into place: a name of this process's own, so two writers of
    one file never take each other's half-written file."""
    return path.with_name(f"{path.name}.{os.getpid()}.partial")


def write_atomically(path: Path, text: str) -> None:
    partial = partial_path(path)
    partial.write_text(text)
    os.replace(partial, path)


def write_json(path: Path, data: dict) -> None:
    write_atomically(path, json.dumps(data, indent=2) + "\n")


def read_json(path: Path) -> dict:
    """A JSON file erhai wrote, or a UserError naming it if it is damaged (cut short or written over); a missing
    or unreadable one is the OSError."""
    try:
        return json.loads(path.read_text())
    except ValueError as error:  # not JSON, or not text
        raise UserError(f"{path}: damaged, not the JSON erhai writes ({error}); start again in another folder") \
            from None


def run_identity(scenario_hash: str, settings: EnsembleSettings) -> str:
    """What names one run: its scenario's content and its settings (the same run gives the same identity)."""
    return hashlib.sha256(json.dumps([scenario_hash, asdict(settings)], sort_keys=True).encode()).hexdigest()[:16]


@contextlib.contextmanager
def claimed(folder: Path) -> Iterator[None]:
    """Hold `folder` for this process until the block ends: a second erhai process is refused at once.

    An OS lock (flock, Linux and other Unix) rather than a marker file, so it ends with its process however
    that ends (a killed run's folder can be resumed at once) and never needs cleaning up.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / LOCK).open("a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            raise UserError(f"{folder} is in use by another erhai run (pid {lock.read().strip() or '?'}); wait for "
                            "it or choose another --out") from None
        lock.truncate(0)
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        yield


def check_free(folder: Path) -> None:
    """A UserError at once if another erhai process holds `folder` (`claimed`), before its run is read."""
    if folder.is_dir():
        with claimed(folder):
            pass


class MemoryStore:
    """An ensemble's replicates held in memory (`sim.Ensemble(...).run()` without a folder)."""

    def __init__(self, scenario_json: str, settings: EnsembleSettings, manifest: dict):
        self._scenario_json, self._settings = scenario_json, settings
        self._manifest = {**manifest, "status": RUNNING, "started": now(), "finished": None}
        self._replicates: dict[int, ReplicateResult] = {}
        self._summary: Summary | None = None
        self._count = 0

    def scenario_json(self) -> str:
        return self._scenario_json

    def settings(self) -> EnsembleSettings:
        return self._settings

    def finished(self) -> set[int]:
        return set(self._replicates)

    def saved(self) -> set[int]:
        """Numbers of the replicates with a part file, unread and unchecked: what is left to run, as an estimate
        before the run holds the folder (`finished` is what it then runs on)."""
        return {int(part.stem[1:]) for part in self.parts.glob("r*.json")}

    def save(self, replicate: ReplicateResult) -> None:
        self._replicates[replicate.number] = replicate

    def yearly(self, count: int) -> tuple[pd.DataFrame, int]:
        """The yearly indicators of replicates 0..count-1 and the draws of their inputs set aside."""
        chosen = [self._replicates[number] for number in range(count)]
        return pd.concat([r.yearly for r in chosen], ignore_index=True), sum(r.redraws for r in chosen)

    def finish(self, count: int, summary: Summary) -> None:
        self._summary, self._count = summary, count
        self._manifest.update({"replicates": count, "status": COMPLETE, "finished": now()})

    def result(self) -> EnsembleResult:
        tables = {name: _typed(pd.concat([self._replicates[n].tables()[name] for n in range(self._count)],
                                         ignore_index=True)) for name in TABLES}
        return EnsembleResult(Scenario.model_validate_json(self._scenario_json), self._settings, dict(self._manifest),
                              self._summary, **{TABLE_FIELDS[name]: table for name, table in tables.items()})


class RunDirectory:
    """A run's folder: what it was asked, what has finished, and the final tables."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.parts = self.path / PARTS

    @property
    def exists(self) -> bool:
        return (self.path / MANIFEST).exists()

    @property
    def report_path(self) -> Path:
        return self.path / REPORT

    def manifest(self) -> dict:
        """The run's manifest, or a UserError naming it if it lacks what every manifest has."""
        path = self.path / MANIFEST
        try:
            manifest = read_json(path)
        except FileNotFoundError:
            raise UserError(f"{self.path}: no {MANIFEST}; not a folder written by erhai run") from None
        damage = _manifest_damage(manifest)
        if damage:
            raise UserError(f"{path}: damaged, it {damage}; start again in another folder (or --force)")
        return manifest

    @property
    def complete(self) -> bool:
        return self.exists and self.manifest()["status"] == COMPLETE

    def run_id(self) -> str:
        manifest = self.manifest()
        # a run started before runs had an identity gets it from what it was asked
        return manifest.get("run_id") or run_identity(manifest["scenario_hash"], self.settings())

    def check_unclaimed(self) -> None:
        """A UserError if the folder holds parts of a run without its manifest: whose they are cannot be told."""
        if not self.exists and any(self.parts.glob("r*.json")):
            raise UserError(f"{self.path} holds replicate parts but no {MANIFEST}: it is not a run folder erhai can "
                            "trust; remove it or use --force")

    def clear(self) -> None:
        """Remove every file a run writes here (not the lock, which this process holds, nor anything else)."""
        tables = [f"{name}.{kind}" for name in TABLES for kind in ("csv", "parquet")]
        for name in (MANIFEST, SCENARIO, SUMMARY, REPORT, *tables):
            (self.path / name).unlink(missing_ok=True)
            for partial in self.path.glob(f"{name}.*.partial"):  # left by a run killed while writing it
                partial.unlink()
        for part in (*self.parts.glob("r*.json"), *self.parts.glob(f"r*.json{CORRUPT}"),
                     *self.parts.glob("r*.json.*.partial")):
            part.unlink()
        if self.parts.is_dir() and not any(self.parts.iterdir()):
            self.parts.rmdir()

    def create(self, scenario_json: str, manifest: dict) -> None:
        """Start the folder of a run: the resolved scenario (as serialized once for the run) and its manifest."""
        self.parts.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path / SCENARIO, json.dumps(json.loads(scenario_json), indent=2) + "\n")
        write_json(self.path / MANIFEST, {**manifest, "status": RUNNING, "started": now(), "finished": None})

    def discard(self) -> None:
        """Remove what the run wrote, for a run that could never finish, its lock too, and the folder if that
        leaves it empty (it may be one the user keeps other things in)."""
        self.clear()
        (self.path / LOCK).unlink()
        if not any(self.path.iterdir()):
            self.path.rmdir()

    def scenario_json(self) -> str:
        return json.dumps(read_json(self.path / SCENARIO))

    def scenario(self) -> Scenario:
        try:
            return Scenario.model_validate_json(self.scenario_json())
        except ValidationError as error:
            raise UserError(f"{self.path / SCENARIO}: damaged, not the scenario erhai wrote ({error.error_count()} "
                            "problems); start again in another folder (or --force)") from None

    def settings(self) -> EnsembleSettings:
        return EnsembleSettings(**self.manifest()["settings"])

    def finished(self) -> set[int]:
        """Numbers of the replicates whose results are saved. A part that does not parse (cut short by a full
        disk, say) is set aside with a warning, so its replicate runs again; a part of another run is refused.
        Only the run that holds the folder (`claimed`) may ask, as a part may be moved."""
        run_id, numbers = self.run_id(), set()
        for path in sorted(self.parts.glob("r*.json")):
            number = int(path.stem[1:])
            try:
                self._read_part(number, run_id)
            except CorruptPart:
                path.replace(path.with_name(path.name + CORRUPT))
                print(f"erhai: warning: {self._shown(path)} is corrupt; set aside as {path.name}{CORRUPT}, its "
                      "replicate runs again", file=sys.stderr)
            else:
                numbers.add(number)
        return numbers

    def saved(self) -> set[int]:
        """Numbers of the replicates with a part file, unread and unchecked: what is left to run, as an estimate
        before the run holds the folder (`finished` is what it then runs on)."""
        return {int(part.stem[1:]) for part in self.parts.glob("r*.json")}

    def save(self, replicate: ReplicateResult) -> None:
        part = {"run_id": self.run_id(), "replicate": replicate.number, "inputs": replicate.inputs,
                "redraws": replicate.redraws,
                **{field: getattr(replicate, field).to_dict(orient="list") for field in _PART_TABLES}}
        write_atomically(self._part_path(replicate.number), json.dumps(part))

    def _part_path(self, number: int) -> Path:
        return self.parts / f"r{number:06d}.json"

    def _shown(self, path: Path) -> str:
        return str(path.relative_to(self.path.parent))

    def _read_part(self, number: int, run_id: str) -> dict:
        """Part `number`, if it is this run's replicate of that number (a UserError naming it if not)."""
        path = self._part_path(number)
        try:
            part = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CorruptPart(f"{self._shown(path)} is corrupt ({exc})") from None
        if not isinstance(part, dict):
            raise CorruptPart(f"{self._shown(path)} is corrupt (not a JSON object)")
        if part.get("run_id") != run_id or part.get("replicate") != number:
            whose = f"run_id {part['run_id']}" if part.get("run_id") else "no run_id"
            raise UserError(f"{self._shown(path)} belongs to another run ({whose}, replicate {part.get('replicate')};"
                            f" this run is {run_id}, replicate {number}); remove it or use --force")
        return part

    def _part(self, number: int, run_id: str) -> ReplicateResult:
        part = self._read_part(number, run_id)
        # a part saved before a table existed has none of its rows
        tables = {field: pd.DataFrame(part.get(field, {}), columns=list(TABLE_COLUMNS[name]))
                  for name, field in TABLE_FIELDS.items() if field in _PART_TABLES}
        return ReplicateResult(number, inputs=part["inputs"], redraws=part["redraws"], **tables)

    def yearly(self, count: int) -> tuple[pd.DataFrame, int]:
        """The yearly indicators of replicates 0..count-1, in replicate order, and the draws of their inputs set
        aside as implausible (`sim.simulation.run_replicate`): what a summary needs, from one read of each part."""
        run_id = self.run_id()
        parts = [self._read_part(number, run_id) for number in range(count)]
        return (pd.concat([pd.DataFrame(part["yearly"]) for part in parts], ignore_index=True),
                sum(part["redraws"] for part in parts))

    def finish(self, count: int, summary: Summary) -> None:
        """Write the final tables, then mark the run complete (last, so a crash before leaves it running).

        The tables are written a batch of parts at a time, so memory does not grow with the replicate count.
        """
        manifest = {**self.manifest(), "run_id": self.run_id()}
        metadata = {b"erhai.scenario": manifest["scenario_name"].encode(), b"erhai.run_id": manifest["run_id"].encode(),
                    b"erhai.scenario_hash": manifest["scenario_hash"].encode()}
        partials = {(name, kind): partial_path(self.path / f"{name}.{kind}")
                    for name in TABLES for kind in ("csv", "parquet")}
        with contextlib.ExitStack() as stack:
            csv = {name: stack.enter_context(partials[name, "csv"].open("w")) for name in TABLES}
            parquet: dict[str, pq.ParquetWriter] = {}
            for first in range(0, count, _ROW_GROUP_REPLICATES):
                batch = [self._part(number, manifest["run_id"]).tables()
                         for number in range(first, min(first + _ROW_GROUP_REPLICATES, count))]
                for name in TABLES:
                    table = _typed(pd.concat([tables[name] for tables in batch], ignore_index=True))
                    table.to_csv(csv[name], index=False, header=first == 0)
                    arrow = pa.Table.from_pandas(table, preserve_index=False)
                    if name not in parquet:
                        schema = arrow.schema.with_metadata({**(arrow.schema.metadata or {}), **metadata})
                        parquet[name] = stack.enter_context(pq.ParquetWriter(partials[name, "parquet"], schema))
                    parquet[name].write_table(arrow.cast(parquet[name].schema))
        sizes = {}
        for (name, kind), partial in partials.items():
            sizes[f"{name}.{kind}"] = partial.stat().st_size
            os.replace(partial, self.path / f"{name}.{kind}")
        write_json(self.path / SUMMARY, summary.to_json())
        write_json(self.path / MANIFEST, {**manifest, "replicates": count, "tables": sizes, "status": COMPLETE,
                                          "finished": now()})

    def result(self) -> EnsembleResult:
        """The finished run, read from its Parquet tables (a clear UserError for anything else)."""
        manifest = self.manifest()
        if manifest["status"] != COMPLETE:
            raise UserError(f"{self.path}: the run is not complete (status {manifest['status']!r}); "
                            f"finish it with erhai run --resume {self.path}")
        missing = [name for name in (SUMMARY, *(f"{table}.parquet" for table in TABLES))
                   if not (self.path / name).exists()]
        if missing:
            raise UserError(f"{self.path}: missing {', '.join(missing)}; was it written by an older erhai run?")
        self._check_tables(manifest)
        tables = {name: pq.read_table(self.path / f"{name}.parquet").to_pandas() for name in TABLES}
        summary = Summary.from_json(read_json(self.path / SUMMARY))
        for name in ("replicates", "inputs"):  # the tables with rows for every replicate
            self._check_replicates(f"{name}.parquet", set(tables[name].replicate), manifest["replicates"])
        self._check_replicates(SUMMARY, set(range(summary.replicates)), manifest["replicates"])
        return EnsembleResult(self.scenario(), self.settings(), manifest, summary, path=self.path,
                              **{TABLE_FIELDS[name]: table for name, table in tables.items()})

    def _check_tables(self, manifest: dict) -> None:
        """A UserError naming the first final table that is not as the run wrote it: of another size (cut short or
        changed since) or of another run."""
        # a run completed before sizes were recorded is checked on the rest
        for name, size in manifest.get("tables", {}).items():
            found = (self.path / name).stat().st_size
            if found != size:
                raise UserError(f"{self.path / name} is not the table the run wrote ({found:,} bytes, not {size:,}): "
                                "it was cut short or changed; run again with --force")
        run_id = self.run_id()
        for name in TABLES:
            found = (pq.read_schema(self.path / f"{name}.parquet").metadata or {}).get(b"erhai.run_id", b"").decode()
            if found != run_id:
                raise UserError(f"{self.path / name}.parquet belongs to another run (run_id {found or 'none'}, this "
                                f"run is {run_id}); run again with --force")

    def _check_replicates(self, name: str, found: set[int], count: int) -> None:
        if found != set(range(count)):
            raise UserError(f"{self.path / name} holds {len(found):,} replicates, the manifest {count:,}: it is not "
                            "this run's; run again with --force")


def _manifest_damage(manifest) -> str:
    """What is wrong with a manifest as read ('' if nothing): what every manifest has, it must."""
    missing = [key for key in MANIFEST_KEYS if key not in manifest] if isinstance(manifest, dict) else MANIFEST_KEYS
    if missing:
        return f"lacks {', '.join(missing)}"
    settings = manifest["settings"]
    if not isinstance(settings, dict) or set(settings) - {field.name for field in fields(EnsembleSettings)}:
        return "has settings erhai does not know"
    return ""


class CorruptPart(UserError):
    """A part file that does not parse."""


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    """Every table's columns in one dtype each, whichever store it comes from: whole numbers as int64, names as
    strings, the rest float64 (an empty backlog table included)."""
    return table.astype({column: "int64" if column in _INTEGERS else str if column in _STRINGS else "float64"
                         for column in table.columns})


def variant_folder(name: str) -> str:
    """Where a variant's run folder lies within its experiment's folder."""
    return f"{VARIANTS}/{name}"


class ExperimentDirectory:
    """An experiment's folder: one run folder per variant, the comparison table, its summary and the description.

        experiment.json   what was asked (the variants, seed, replicates, population size) and "status":
                          "running" until the files below are written, then "complete"
        variants/NAME/    each variant's run folder (all made before any runs, so a resume needs no other file)
        comparison.csv    one row per variant (`sim.comparison`)
        summary.json      the settings, and per variant its caps' probabilities and paired differences
        comparison.pdf    the comparison report
        erhai.lock        locked by the one erhai compare running the experiment
    """

    def __init__(self, path: Path):
        self.path = Path(path)

    def variant(self, name: str) -> RunDirectory:
        return RunDirectory(self.path / variant_folder(name))

    @property
    def report_path(self) -> Path:
        return self.path / COMPARISON_REPORT

    @property
    def exists(self) -> bool:
        return (self.path / EXPERIMENT).exists()

    def claimed(self) -> contextlib.AbstractContextManager[None]:
        """The folder held for this process (`claimed`), once it is known to be no run's folder (which is left as
        it was)."""
        if (self.path / MANIFEST).exists():
            raise UserError(f"{self.path} holds a run of erhai run, not an experiment; choose another --out")
        return claimed(self.path)

    def start(self, description: dict) -> None:
        """Start the folder of an experiment with what was asked."""
        self.path.mkdir(parents=True, exist_ok=True)
        write_json(self.path / EXPERIMENT, description)

    def description(self) -> dict:
        try:
            return read_json(self.path / EXPERIMENT)
        except FileNotFoundError:
            raise UserError(f"{self.path}: no {EXPERIMENT}; not a folder written by erhai compare") from None

    def write(self, table: pd.DataFrame, summary: dict, description: dict) -> None:
        """Write the comparison, then mark the experiment complete (last, so a crash before leaves it running)."""
        write_atomically(self.path / COMPARISON_TABLE, table.to_csv(index=False))
        write_json(self.path / SUMMARY, summary)
        write_json(self.path / EXPERIMENT, description)

    def read(self) -> tuple[pd.DataFrame, dict]:
        """The comparison table and the experiment's description, of a complete experiment."""
        description = self.description()
        status = description.get("status")
        if status == RUNNING:
            raise UserError(f"{self.path}: the experiment is not complete; finish it with erhai compare --resume "
                            f"{self.path}")
        if status is None:
            raise UserError(f"{self.path} was written by an older erhai compare; run the same erhai compare command "
                            "again to bring it up to date (its finished variants are reused)")
        return pd.read_csv(self.path / COMPARISON_TABLE), description


class BacktestFiles:
    """Where a backtest goes: its table and summary, and the report's path (written first, by the report)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @property
    def report_path(self) -> Path:
        return self.path / BACKTEST_REPORT

    def write(self, backtest: Backtest) -> tuple[Path, Path]:
        table, summary = self.path / BACKTEST_TABLE, self.path / BACKTEST_SUMMARY
        write_atomically(table, backtest.rows.to_csv(index=False))
        write_json(summary, backtest.to_json())
        return table, summary


class CalibrationDirectory:
    """A calibration's folder (`sim.calibration.run`):

        calibration.db      pyabc's history: every generation's particles (what a resume continues)
        calibration.json    what was asked (targets, priors, settings) and, generation by generation, what came
                            of it (tolerances, acceptance, ESS, times); "status" is "complete" once the rest are
        posterior.csv       weight, then each fitted input by its dotted name: one row per particle
        predictive.csv      replicate, target, value: the targets in replicates drawn from the posterior
        calibration.pdf     priors against posteriors, pairs, and the posterior predictive check
    """

    DATABASE, RECORD, POSTERIOR, PREDICTIVE, REPORT = ("calibration.db", "calibration.json", "posterior.csv",
                                                       "predictive.csv", "calibration.pdf")

    def __init__(self, path: Path):
        self.path = Path(path)
        self.database = self.path / self.DATABASE
        self.report_path = self.path / self.REPORT

    @property
    def exists(self) -> bool:
        return (self.path / self.RECORD).exists()

    def record(self) -> dict:
        try:
            return json.loads((self.path / self.RECORD).read_text())
        except FileNotFoundError:
            raise UserError(f"{self.path}: no {self.RECORD}; not a folder written by erhai calibrate") from None

    def write_record(self, record: dict) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        write_json(self.path / self.RECORD, record)

    @property
    def posterior_path(self) -> Path:
        return self.path / self.POSTERIOR

    def write_posterior(self, posterior: pd.DataFrame) -> None:
        write_atomically(self.posterior_path, posterior.to_csv(index=False))

    def write_predictive(self, predictive: pd.DataFrame) -> None:
        write_atomically(self.path / self.PREDICTIVE, predictive.to_csv(index=False))

    def tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The posterior and the predictive check of a complete calibration."""
        if self.record().get("status") != COMPLETE:
            raise UserError(f"{self.path}: the calibration is not complete; continue it with erhai calibrate "
                            "--resume")
        return pd.read_csv(self.path / self.POSTERIOR), pd.read_csv(self.path / self.PREDICTIVE)
