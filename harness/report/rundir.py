"""Reading a run directory, only through the typed records of harness/records.py.

Every reading error is a ReportError of one line naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from .. import records as rec
from ..records import (ENVIRONMENT, EVENTS, MODELS, SAMPLES, SCENARIOS, Environment, ModelRecord, RecordError, RunEvent,
                       ScenarioResult)
from .errors import ReportError

JUNIT = "junit.xml"


def run_path(run_dir: str | Path) -> Path:
    """The run directory, checked to exist and to look like one."""
    d = Path(run_dir)
    if d.is_file() and d.name == SAMPLES:
        d = d.parent
    if not d.is_dir():
        raise ReportError(f"{d} is not a directory; pass a run directory (the --report-dir of `python -m harness run`)")
    if not any((d / f).is_file() for f in (SAMPLES, MODELS, ENVIRONMENT)):
        raise ReportError(f"{d} is not a run directory: it has neither {SAMPLES} nor {MODELS} nor {ENVIRONMENT}; "
                          "pass the --report-dir of `python -m harness run`")
    return d


def _reading(fn, *args):
    try:
        return fn(*args)
    except RecordError as exc:
        raise ReportError(str(exc)) from None


def load_models(run_dir: str | Path) -> dict[str, ModelRecord]:
    """models.json: {model name: record}; {} when the run has not finished its first model."""
    return _reading(rec.read_models, Path(run_dir))


def load_environment(run_dir: str | Path) -> Environment | None:
    """environment.json, or None when the run has none yet."""
    return _reading(rec.read_environment, Path(run_dir))


def load_events(run_dir: str | Path) -> list[RunEvent]:
    """events.jsonl: recoveries, samples given up, a run given up; [] when nothing happened."""
    return _reading(rec.read_events, Path(run_dir))


def load_scenarios(run_dir: str | Path) -> list[ScenarioResult]:
    """scenarios.json: the pytest scenarios' outcomes, [] when pytest did not run them."""
    return _reading(rec.read_scenarios, Path(run_dir))


@attrs.frozen
class RunInfo:
    """The heading of a report: which run, on which board, where it ran."""

    run_id: str
    board: str
    where: str | None                   # records.HARDWARE, EMULATED, MIXED; None when not recorded
    emulator: str | None
    physical_boards: list[str]
    git_commit: str | None
    started: str | None
    finished: str | None


def run_info(run_dir: Path, models: dict[str, ModelRecord], env: Environment | None) -> RunInfo:
    boards = sorted({m.board.name for m in models.values()})
    board = env.board if env else (", ".join(boards) or "unknown board")
    if env is None:
        return RunInfo(run_dir.name, board, None, None, [], None, None, None)
    return RunInfo(env.run_id or run_dir.name, board, env.where, env.emulator, env.physical_boards, env.git_commit,
                   env.started, env.finished)


def flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dicts as (dotted key, leaf) pairs, in order; lists of scalars are joined with spaces."""
    if isinstance(value, dict):
        if not value and prefix:
            return [(prefix, "")]
        out: list[tuple[str, Any]] = []
        for k, v in value.items():
            out += flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
        return [(prefix, " ".join("" if v is None else str(v) for v in value))]
    if isinstance(value, list):
        out = []
        for i, v in enumerate(value):
            out += flatten(v, f"{prefix}[{i}]")
        return out or [(prefix, "")]
    return [(prefix, value)]


__all__ = ["EVENTS", "JUNIT", "SAMPLES", "SCENARIOS", "RunInfo", "flatten", "load_environment", "load_events",
           "load_models", "load_scenarios", "run_info", "run_path"]
