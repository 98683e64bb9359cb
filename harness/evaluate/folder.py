"""The one writer of a run directory: run.json, samples.jsonl, events.jsonl, models.json, environment.json,
scenarios.json.

Every file is written through the typed records of harness/records.py; the
JSON files are replaced atomically, the journals are appended line by line
(harness/evaluate/journal.py). The runner and the pytest plugin both record
through a RunFolder, and a RunFolder holds a lock on its directory for as
long as it is open, so a folder never has two writers: a second run on the
same --report-dir, or a --resume while the first still runs, is refused in
one line naming the holder. Nothing is written before the first record, so a
run refused for bad input leaves no half-written folder behind.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import socket
import sys
from pathlib import Path

import attrs
from filelock import FileLock, Timeout

from ..environment import git_commit, toolchain
from ..records import (ENVIRONMENT, EVENTS, MODELS, RUN_FILE, SAMPLES, DeviceRecord, Environment, ModelRecord,
                       RecordError, RunEvent, RunFile, RunSettings, ScenarioResult, read_environment, read_models,
                       read_run_file, write_json, write_models, write_scenarios)
from .journal import Journal, read_journal

LOCK, OWNER = ".lock", ".lock.owner"


class RunError(ValueError):
    """Bad run arguments or a run directory that cannot be resumed; one line says why."""


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _holder(path: Path) -> str:
    try:
        o = json.loads((path / OWNER).read_text())
    except (OSError, ValueError):
        return "another process"
    return f"pid {o.get('pid')} on {o.get('host')} since {o.get('since')} ({str(o.get('command', ''))[:80]})"


class RunFolder:
    """A run directory, opened for writing by this run alone."""

    def __init__(self, path: Path, board: str, *, settings: RunSettings | None = None, resume: bool = False):
        self.path = Path(path)
        self.settings = None
        self._created = not self.path.exists()
        self._lock = self._take_lock()
        self._started = False
        self._journal: Journal | None = None
        self._events: Journal | None = None
        self.models: dict[str, ModelRecord] = {}
        self.environment = Environment(run_id=self.path.name, board=board, git_commit=git_commit(),
                                       toolchain=toolchain(), started=now())
        if settings is not None:
            self.begin_run(settings, resume=resume)

    def begin_run(self, settings: RunSettings, *, resume: bool = False) -> None:
        """The folder holds a run of these settings: a new one, or (resume) the one it already holds."""
        try:
            self._check_run_file(settings, resume)
            before = read_environment(self.path) if resume else None
            if resume:
                self.models = read_models(self.path)
                read_journal(self.path / SAMPLES)   # a damaged journal is refused now, naming its line
        except RecordError as exc:
            self.close()
            raise RunError(f"--resume: {exc}") from None
        except BaseException:
            self.close()
            raise
        self.settings = settings
        self.environment = attrs.evolve(self.environment, settings=settings)
        if before is not None:
            self.environment = attrs.evolve(self.environment, started=before.started,
                                            devices={**before.devices, **self.environment.devices})
        self._started = self._started or resume

    def _take_lock(self) -> FileLock:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(self.path / LOCK), timeout=0, thread_local=False)
            lock.acquire()
        except Timeout:
            raise RunError(f"{self.path} is being written by another run ({_holder(self.path)}); wait for it to "
                           "finish, or choose another --report-dir") from None
        except OSError as exc:
            raise RunError(f"cannot write the run folder {self.path}: {exc.strerror or exc}; choose a --report-dir "
                           "you can write to") from None
        try:
            (self.path / OWNER).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                                       "command": " ".join(sys.argv), "since": now()}) + "\n")
        except OSError:
            pass
        return lock

    def _check_run_file(self, settings: RunSettings, resume: bool) -> None:
        run_file = self.path / RUN_FILE
        if resume:
            if not run_file.is_file():
                raise RunError(f"--resume: {self.path} is not a run directory (no {RUN_FILE}); start it without --resume")
            before = read_run_file(self.path)
            if before.settings != settings:
                old, new = before.settings.to_json(), settings.to_json()
                diff = [k for k in new if old.get(k) != new[k]]
                raise RunError(f"--resume: {self.path} was started with other settings ({', '.join(diff)} differ); "
                               "resume with the same arguments or start a new run")
        elif run_file.is_file() and read_journal(self.path / SAMPLES):
            raise RunError(f"{self.path} already holds a run; pass --resume to continue it or choose another --report-dir")

    def _start(self) -> None:
        """run.json, before the first record: from here on the folder is a run that can be resumed."""
        if not self._started:
            self._started = True
            if self.settings is not None:
                write_json(self.path / RUN_FILE, RunFile(self.settings, list(sys.argv), now()).to_json())

    @property
    def journal(self) -> Journal:
        if self._journal is None:
            self._start()
            self._journal = Journal(self.path / SAMPLES)
        return self._journal

    @property
    def journal_path(self) -> Path:
        return self.path / SAMPLES

    def record_event(self, event: RunEvent) -> None:
        if self._events is None:
            self._start()
            self._events = Journal(self.path / EVENTS)
        self._events.write(event)

    def record_device(self, key: str, device: DeviceRecord) -> None:
        """The device a model (or the smoke scenarios) ran on; environment.json is rewritten."""
        self.environment = attrs.evolve(self.environment, devices={**self.environment.devices, key: device})
        self.write_environment()

    def record_model(self, name: str, record: ModelRecord, device: DeviceRecord) -> None:
        self._start()
        self.models[name] = record
        write_models(self.path, self.models)
        self.record_device(name, device)

    def record_scenarios(self, results: list[ScenarioResult], exit_status: int) -> None:
        self._start()
        write_scenarios(self.path, results)
        self.environment = attrs.evolve(self.environment, exit_status=int(exit_status))
        self.write_environment()

    def write_environment(self) -> None:
        self._start()
        self.environment = attrs.evolve(self.environment, finished=now())
        write_json(self.path / ENVIRONMENT, self.environment.to_json())

    def close(self) -> None:
        for j in (self._journal, self._events):
            if j is not None:
                j.close()
        lock, self._lock = getattr(self, "_lock", None), None
        if lock is None:
            return
        for name in (OWNER,):
            try:
                (self.path / name).unlink()
            except OSError:
                pass
        lock.release()
        if not self._started:   # refused before its first record: leave nothing behind
            try:
                (self.path / LOCK).unlink()
                if self._created:
                    self.path.rmdir()
            except OSError:
                pass


__all__ = ["MODELS", "RunError", "RunFolder", "now"]
