"""samples.jsonl: the run's append-only record, one line per result as it arrives.

Each line is flushed to the operating system as soon as it is written, so a
run killed at any point (Ctrl-C, SIGKILL, a crash) keeps every result it
received; at most a final, partial line is lost, and `Journal` cuts it off
before appending again. The lines are SampleRow records (harness/records.py).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from ..records import SampleRow, parse_journal

FSYNC_SECONDS = 1.0   # also survive a power cut, at most this much is lost


def read_journal(path: Path) -> list[SampleRow]:
    """Every complete line of a journal; a final line cut short is ignored, a damaged one is a RecordError."""
    path = Path(path)
    if not path.is_file():
        return []
    return parse_journal(path.read_bytes(), str(path))


class Journal:
    def __init__(self, path: Path):
        self.path = Path(path)
        if self.path.is_file():
            data = self.path.read_bytes()
            keep = data.rfind(b"\n") + 1
            if keep != len(data):   # a line cut short by a kill: drop it, its sample runs again
                with open(self.path, "r+b") as fh:
                    fh.truncate(keep)
        self._fh = open(self.path, "a", encoding="utf-8")
        self._synced = time.monotonic()
        self._mutex = threading.Lock()   # the parallel jobs of a run write one journal

    def write(self, row: SampleRow) -> None:
        with self._mutex:
            self._fh.write(row.to_line() + "\n")
            self._fh.flush()
            if time.monotonic() - self._synced > FSYNC_SECONDS:
                os.fsync(self._fh.fileno())
                self._synced = time.monotonic()

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
