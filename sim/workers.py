"""Local worker processes that end with the command that started them.

Loky's workers notice a parent that exits, but not one killed outright
(kill -9, the out-of-memory killer): their pipes stay open in each other, so
they would run on for minutes, holding memory, with no one to take their
results. Each worker watches for the command to go instead.
"""
from __future__ import annotations

import os
import threading
import time

from joblib._parallel_backends import LokyBackend

_WATCH_SECONDS = 0.5  # how soon a worker whose command has gone ends


def loky_backend() -> LokyBackend:
    """Joblib's loky backend, whose workers end once this process is gone."""
    return LokyBackend(initializer=_exit_with, initargs=(os.getpid(),))


def _exit_with(command: int) -> None:
    """In a worker: exit as soon as its parent is no longer `command` (the orphan is taken by another)."""
    def watch() -> None:
        while os.getppid() == command:
            time.sleep(_WATCH_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-command", daemon=True).start()
