"""How far a run has got: a bar on a terminal; in a log (a batch job's stderr), a plain line now and then."""
from __future__ import annotations

import sys
import time

from tqdm import tqdm

LINES = 10  # in a log, a line each time another tenth of the replicates is done


def progress(label: str, total: int, done: int = 0, quiet: bool = False):
    """Something to `update()` as each of `total` replicates finishes (`done` of them already had), in a `with`."""
    if quiet or sys.stderr.isatty():
        return tqdm(total=total, initial=done, desc=label, unit="replicate", dynamic_ncols=True, disable=quiet)
    return ProgressLines(label, total, done)


class ProgressLines:
    """Progress as lines on stderr, each time another tenth is done: a log shows how far a run got and when it
    will end, where a bar's redrawing would leave one garbled line."""

    def __init__(self, label: str, total: int, done: int = 0, clock=time.monotonic):
        self.label, self.total, self.done, self.clock = label, total, done, clock
        self._first, self._started = done, clock()

    def __enter__(self) -> "ProgressLines":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def update(self) -> None:
        self.done += 1
        if self.done * LINES // self.total > (self.done - 1) * LINES // self.total:
            print(self.line(), file=sys.stderr, flush=True)

    def line(self) -> str:
        elapsed = self.clock() - self._started
        # at the pace of this session's replicates (a resumed run's earlier ones took no time here)
        left = elapsed / (self.done - self._first) * (self.total - self.done)
        return (f"{self.label}: {self.done:,} of {self.total:,} replicates ({self.done / self.total:.0%}), "
                f"{duration(elapsed)} elapsed" + (f", about {duration(left)} left" if self.done < self.total else ""))


def duration(seconds: float) -> str:
    """A time span as a reader takes it in: 12 s, 4 min 40 s, 2 h 5 min."""
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" + (f" {seconds} s" if seconds else "") if minutes else f"{seconds} s"
