"""The one writer of a run directory: run.json, samples.jsonl, models.json, environment.json, scenarios.json.

Every file is written through the typed records of harness/records.py; the
JSON files are replaced atomically, the journal is appended line by line
(harness/evaluate/journal.py). The runner and the pytest plugin both record
through a RunFolder, so a folder never has two writers with two ideas of its
contents.
"""

from __future__ import annotations

import datetime as _dt
import sys
from pathlib import Path

import attrs

from ..environment import git_commit, toolchain
from ..records import (ENVIRONMENT, MODELS, RUN_FILE, SAMPLES, DeviceRecord, Environment, ModelRecord, RecordError,
                       RunFile, RunSettings, ScenarioResult, read_environment, read_models, read_run_file, write_json,
                       write_models, write_scenarios)
from .journal import Journal, read_journal


class RunError(ValueError):
    """Bad run arguments or a run directory that cannot be resumed; one line says why."""


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class RunFolder:
    """A run directory, opened for writing by one run."""

    def __init__(self, path: Path, board: str, *, settings: RunSettings | None = None, resume: bool = False):
        self.path = Path(path)
        self.settings = settings
        if settings is not None:
            self._open_run_file(settings, resume)
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            self.models: dict[str, ModelRecord] = read_models(self.path) if resume else {}
            before = read_environment(self.path) if resume else None
        except RecordError as exc:
            raise RunError(f"--resume: {exc}") from None
        self.environment = Environment(
            run_id=self.path.name, board=board, git_commit=git_commit(), toolchain=toolchain(),
            started=before.started if before else now(), settings=settings,
            devices=dict(before.devices) if before else {})
        self._journal: Journal | None = None

    def _open_run_file(self, settings: RunSettings, resume: bool) -> None:
        run_file = self.path / RUN_FILE
        if resume:
            if not run_file.is_file():
                raise RunError(f"--resume: {self.path} is not a run directory (no {RUN_FILE}); start it without --resume")
            try:
                before = read_run_file(self.path)
            except RecordError as exc:
                raise RunError(f"--resume: {exc}") from None
            if before.settings != settings:
                old, new = before.settings.to_json(), settings.to_json()
                diff = [k for k in new if old.get(k) != new[k]]
                raise RunError(f"--resume: {self.path} was started with other settings ({', '.join(diff)} differ); "
                               "resume with the same arguments or start a new run")
            return
        if run_file.is_file() and read_journal(self.path / SAMPLES):
            raise RunError(f"{self.path} already holds a run; pass --resume to continue it or choose another --report-dir")
        self.path.mkdir(parents=True, exist_ok=True)
        write_json(run_file, RunFile(settings, list(sys.argv), now()).to_json())

    @property
    def journal(self) -> Journal:
        if self._journal is None:
            self._journal = Journal(self.path / SAMPLES)
        return self._journal

    @property
    def journal_path(self) -> Path:
        return self.path / SAMPLES

    def record_device(self, key: str, device: DeviceRecord) -> None:
        """The device a model (or the smoke scenarios) ran on; environment.json is rewritten."""
        self.environment = attrs.evolve(self.environment, devices={**self.environment.devices, key: device})
        self.write_environment()

    def record_model(self, name: str, record: ModelRecord, device: DeviceRecord) -> None:
        self.models[name] = record
        write_models(self.path, self.models)
        self.record_device(name, device)

    def record_scenarios(self, results: list[ScenarioResult], exit_status: int) -> None:
        write_scenarios(self.path, results)
        self.environment = attrs.evolve(self.environment, exit_status=int(exit_status))
        self.write_environment()

    def write_environment(self) -> None:
        self.environment = attrs.evolve(self.environment, finished=now())
        write_json(self.path / ENVIRONMENT, self.environment.to_json())

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()


__all__ = ["MODELS", "RunError", "RunFolder", "now"]
