"""Reading the run directory the runner writes: models.json and environment.json.

samples.jsonl is read by `metrics.load_samples`. The layout is the runner's
contract (harness/evaluate/runner.py, docs/reports.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import ReportError

SAMPLES = "samples.jsonl"
MODELS = "models.json"
ENVIRONMENT = "environment.json"
JUNIT = "junit.xml"


def run_path(run_dir: str | Path) -> Path:
    """The run directory, checked to exist and to look like one."""
    d = Path(run_dir)
    if d.is_file() and d.name == SAMPLES:
        d = d.parent
    if not d.is_dir():
        raise ReportError(f"{d} is not a directory; pass a run directory (the --report-dir of `python -m harness run`)")
    if not (d / SAMPLES).is_file() and not (d / MODELS).is_file():
        raise ReportError(f"{d} is not a run directory: it has neither {SAMPLES} nor {MODELS}; "
                          "pass the --report-dir of `python -m harness run`")
    return d


def _read_json_object(path: Path, what: str) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ReportError(f"{path} is not UTF-8 text; the runner rewrites {what} after each model: "
                          "rerun with --resume to regenerate it") from None
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); the runner rewrites {what} "
                          "after each model: rerun with --resume to regenerate it") from None
    if not isinstance(value, dict):
        raise ReportError(f"{path} must hold a JSON object, found {type(value).__name__}")
    return value


def load_models(run_dir: str | Path) -> dict[str, dict[str, Any]]:
    """models.json: {model name: record}; {} when the run has not finished its first model."""
    path = Path(run_dir) / MODELS
    if not path.is_file():
        return {}
    models = _read_json_object(path, MODELS)
    for name, rec in models.items():
        if not isinstance(rec, dict):
            raise ReportError(f"{path}: the record of model {name!r} must be a JSON object, "
                              f"found {type(rec).__name__}")
    return models


def load_environment(run_dir: str | Path) -> dict[str, Any]:
    """environment.json, or {} when the run has none yet."""
    path = Path(run_dir) / ENVIRONMENT
    return _read_json_object(path, ENVIRONMENT) if path.is_file() else {}


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


def run_kind(models: dict[str, dict[str, Any]], environment: dict[str, Any]) -> dict[str, Any]:
    """Whether the run was emulated, and on what: from the counter records, else the environment record."""
    emulated = {bool(r.get("counter", {}).get("emulated")) for r in models.values() if "counter" in r}
    target = environment.get("target") if isinstance(environment.get("target"), dict) else {}
    if not emulated and target.get("kind") in ("emulated", "hardware"):
        emulated = {target.get("kind") == "emulated"}
    boards = sorted({str(r.get("board", {}).get("name")) for r in models.values() if r.get("board", {}).get("name")})
    board = environment.get("board") or (boards[0] if len(boards) == 1 else ", ".join(boards)) or "unknown board"
    physical = sorted({str(d.get("physical_board")) for d in (environment.get("devices") or {}).values()
                       if isinstance(d, dict) and d.get("physical_board")})
    emulator = target.get("emulator") or next((p for p in physical if p.startswith("qemu:")), None)
    if emulated == {True}:
        kind = "emulated"
    elif emulated == {False}:
        kind = "real"
    elif emulated:
        kind = "mixed"
    else:
        kind = "unknown"
    return {"kind": kind, "board": str(board), "emulator": emulator, "physical_boards": physical}
