"""A run's folder on disk: what it was asked, what has finished, and the final tables.

    manifest.json       settings, provenance and status: "running" until the
                        tables below are written, then "complete"
    scenario.json       the resolved scenario (what `erhai run --resume` reads)
    parts/r000042.json  one per finished replicate: yearly indicators, drawn inputs, pyramids, backlogs
    replicates.csv      replicate, year, one column per indicator         }
    inputs.csv          replicate, each drawn input                      }
    pyramids.csv        replicate, year, sex, age_group, people          } written when
    backlogs.csv        replicate, date, regime, residence, order,       } the run completes
                        age_group, released, acting                      }
    summary.json        the caps and indicator bands (`sim.results.summary`)     }

Every file is written under a temporary name and renamed into place, so a run
killed at any moment leaves only whole files, and a folder whose manifest does
not say "complete" is never read as a finished run.
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pandas as pd

from sim.errors import UserError
from sim.provenance import now
from sim.simulation import Replicate
from sim.scenario.schema import Scenario

MANIFEST, SCENARIO, PARTS = "manifest.json", "scenario.json", "parts"
TABLES = ("replicates", "inputs", "pyramids", "backlogs")
RUNNING, COMPLETE = "running", "complete"


def write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)


def write_json(path: Path, data: dict) -> None:
    write_atomically(path, json.dumps(data, indent=2) + "\n")


class RunDirectory:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.parts = self.path / PARTS

    @property
    def exists(self) -> bool:
        return (self.path / MANIFEST).exists()

    def manifest(self) -> dict:
        try:
            return json.loads((self.path / MANIFEST).read_text())
        except FileNotFoundError:
            raise UserError(f"{self.path}: no {MANIFEST}; not a folder written by erhai run") from None

    @property
    def complete(self) -> bool:
        return self.exists and self.manifest()["status"] == COMPLETE

    def create(self, scenario: Scenario, manifest: dict) -> None:
        self.parts.mkdir(parents=True, exist_ok=True)
        write_json(self.path / SCENARIO, scenario.model_dump(mode="json"))
        write_json(self.path / MANIFEST, {**manifest, "status": RUNNING, "started": now(), "finished": None})

    def scenario(self) -> Scenario:
        return Scenario.model_validate(json.loads((self.path / SCENARIO).read_text()))

    def finished(self) -> set[int]:
        """Numbers of the replicates whose results are saved."""
        return {int(part.stem[1:]) for part in self.parts.glob("r*.json")}

    def save(self, replicate: Replicate) -> None:
        part = {"replicate": replicate.number, "yearly": replicate.yearly.to_dict(orient="list"),
                "inputs": replicate.inputs, "pyramids": replicate.pyramids.to_dict(orient="list"),
                "backlogs": replicate.backlogs.to_dict(orient="list"), "redraws": replicate.redraws}
        write_atomically(self._part_path(replicate.number), json.dumps(part))

    def _part_path(self, number: int) -> Path:
        return self.parts / f"r{number:06d}.json"

    def _part_tables(self, number: int) -> dict[str, pd.DataFrame]:
        part = json.loads(self._part_path(number).read_text())
        return {"replicates": pd.DataFrame(part["yearly"]), "inputs": pd.DataFrame([{"replicate": number,
                                                                                    **part["inputs"]}]),
                "pyramids": pd.DataFrame(part["pyramids"]), "backlogs": pd.DataFrame(part["backlogs"])}

    def yearly(self, count: int) -> tuple[pd.DataFrame, int]:
        """The yearly indicators of replicates 0..count-1, in replicate order, and the draws of their inputs set
        aside as implausible (`run.run_replicate`): what a summary needs, from one read of each part."""
        parts = [json.loads(self._part_path(number).read_text()) for number in range(count)]
        return (pd.concat([pd.DataFrame(part["yearly"]) for part in parts], ignore_index=True),
                sum(part["redraws"] for part in parts))

    def finish(self, count: int, summary: dict) -> None:
        """Write the final tables, then mark the run complete (last, so a crash before leaves it running).

        The tables are written part by part, so memory does not grow with the replicate count.
        """
        partials = {name: self.path / f"{name}.csv.partial" for name in TABLES}
        with contextlib.ExitStack() as stack:
            files = {name: stack.enter_context(path.open("w")) for name, path in partials.items()}
            for number in range(count):
                for name, table in self._part_tables(number).items():
                    table.to_csv(files[name], index=False, header=number == 0)
        for name, path in partials.items():
            os.replace(path, self.path / f"{name}.csv")
        write_json(self.path / "summary.json", summary)
        manifest = self.manifest()
        write_json(self.path / MANIFEST, {**manifest, "replicates": count, "status": COMPLETE, "finished": now()})
