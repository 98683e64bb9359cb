"""The run folder's contract: typed records, each with a schema version and to/from JSON.

    run.json          RunFile        settings (what --resume must match), argv, start time
    samples.jsonl     SampleRow      one line per result as it arrives (layout: run.json's samples_schema)
    events.jsonl      RunEvent       what happened to the devices: recoveries, samples given up, the run given up
    models.json       ModelRecord    per model: card figures, image sizes, stack, board, counter, test set
    environment.json  Environment    where the run ran, on which devices, with which tools
    scenarios.json    ScenarioResult the pytest scenarios' outcomes, when pytest ran them

The runner (harness/evaluate/) writes the folder only through these classes,
and harness/report/ reads it only through them. Where a run ran has one
vocabulary: a device is HARDWARE or EMULATED; a run of several devices may
be MIXED. A record that does not fit its class is refused with one line
naming the file, the field and what was found.
"""

from __future__ import annotations

import functools
import json
import os
import types
import typing
from pathlib import Path
from typing import Any

import attrs

SCHEMA = 1

HARDWARE, EMULATED, MIXED = "hardware", "emulated", "mixed"
WHERE = (HARDWARE, EMULATED)

RUN_FILE, SAMPLES, EVENTS, MODELS, ENVIRONMENT, SCENARIOS = (
    "run.json", "samples.jsonl", "events.jsonl", "models.json", "environment.json", "scenarios.json")


class RecordError(ValueError):
    """A run-folder file does not hold the record it should; one line says where and what."""


# ------------------------------------------------------------- (de)serialising --

_WORDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def _word(tp) -> str:
    if tp in _WORDS:
        return _WORDS[tp]
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join("null" if a is type(None) else _word(a) for a in typing.get_args(tp))
    if origin is list:
        return "a list"
    if origin is dict or tp is dict or attrs.has(tp):
        return "an object"
    return "a value"


class _Mismatch(Exception):
    def __init__(self, key: str, message: str):
        self.key, self.message = key, message


_NO = object()   # "this value does not fit the type"


def _scalar(tp, value):
    """A JSON scalar as bool, int, float or str; _NO when it is not one (an integral float is an int)."""
    if tp is bool:
        return value if isinstance(value, bool) else _NO
    if isinstance(value, bool):
        return _NO
    if tp is int:
        if isinstance(value, int):
            return value
        return int(value) if isinstance(value, float) and value.is_integer() else _NO
    if tp is float:
        return float(value) if isinstance(value, (int, float)) else _NO
    return value if isinstance(value, str) else _NO


def _union(tp, value, key: str):
    args = typing.get_args(tp)
    if value is None and type(None) in args:
        return None
    for a in args:
        if a is type(None):
            continue
        try:
            return _structure(a, value, key)
        except _Mismatch as exc:
            if exc.key != key:   # the value had the right shape; a field inside it is wrong
                raise
    raise _Mismatch(key, f"{value!r}, expected {_word(tp)}")


def _structure(tp, value, key: str):
    """`value` (from JSON) as type `tp`; _Mismatch names the dotted `key` that does not fit."""
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return _union(tp, value, key)
    if tp in (bool, int, float, str):
        got = _scalar(tp, value)
    elif origin is list and isinstance(value, list):
        (item,) = typing.get_args(tp)
        got = [_structure(item, v, f"{key}[{i}]") for i, v in enumerate(value)]
    elif (origin is dict or tp is dict) and isinstance(value, dict):
        args = typing.get_args(tp)
        got = {str(k): _structure(args[1] if args else Any, v, f"{key}.{k}") for k, v in value.items()}
    elif attrs.has(tp) and isinstance(value, dict):
        got = _from_dict(tp, value, key)
    else:
        got = _NO
    if got is _NO:
        raise _Mismatch(key, f"{value!r}, expected {_word(tp)}")
    return got


@functools.cache
def _hints(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _from_dict(cls, data: dict, prefix: str = ""):
    hints = _hints(cls)
    kwargs = {}
    for f in attrs.fields(cls):
        key = f"{prefix}.{f.name}" if prefix else f.name
        if f.name not in data:
            if f.default is attrs.NOTHING:
                raise _Mismatch(key, "")
            continue
        kwargs[f.name] = _structure(hints[f.name], data[f.name], key)
    try:
        return cls(**kwargs)
    except _BadValue as exc:   # a validator's verdict
        raise _Mismatch(f"{prefix}.{exc.name}" if prefix else exc.name, exc.detail) from None


class _BadValue(ValueError):
    def __init__(self, name: str, detail: str):
        super().__init__(f"{name}={detail}")
        self.name, self.detail = name, detail


def _one_of(options):
    def check(instance, attribute, value):
        if value not in options:
            raise _BadValue(attribute.name, f"{value!r}, expected one of {', '.join(map(str, options))}")
    return check


class Record:
    """to_json / from_json for the attrs classes below."""

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self, recurse=True)

    @classmethod
    def from_json(cls, data: Any, where: str = ""):
        where = where or cls.__name__
        if not isinstance(data, dict):
            raise RecordError(f"{where} must be a JSON object, found {type(data).__name__}")
        try:
            return _from_dict(cls, data)
        except _Mismatch as exc:
            if not exc.message:
                raise RecordError(f"{where} lacks {exc.key}") from None
            raise RecordError(f"{where} has {exc.key}={exc.message}") from None


# ---------------------------------------------------------------- the records --

@attrs.frozen
class RunSettings(Record):
    """What a run was asked to do; a resumed run must be asked the same."""

    board: str
    dtype: str
    limit: int | None   # a class-stratified subset of this many test samples (seed 0); None: all of them
    models: list[str]
    warmup: int = 1
    depth: int = 2     # requests in flight; 1 keeps the line quiet during each inference
    data: str | None = None   # the data source evaluated on (--data); None: each model's own


@attrs.frozen
class RunFile(Record):
    settings: RunSettings
    argv: list[str]
    started: str
    schema: int = SCHEMA
    samples_schema: int = SCHEMA


@attrs.frozen
class SampleRow(Record):
    """One inference's result, a line of samples.jsonl. index -1 is a warm-up.

    A sample the device could not be brought through (it went down on it
    twice) has `error` set, predicted -1 and counter 0: recorded, never counted
    as a prediction."""

    model: str
    model_hash: str
    dtype: str
    index: int
    label: int
    predicted: int
    ref_predicted: int
    max_abs_err: float | None
    counter: int
    warmup: bool
    physical_board: str
    host_ms: float | None = None
    retries: int = 0                 # requests the link sent again for this result
    error: str | None = None         # why there is no result

    def to_line(self) -> str:
        return json.dumps(attrs.asdict(self), separators=(",", ":"))


EVENT_KINDS = ("recovery", "sample-failed", "gave-up")


@attrs.frozen
class RunEvent(Record):
    """A line of events.jsonl: the device went down and was brought back (recovery), a sample was given
    up (sample-failed), or the run stopped trying (gave-up)."""

    kind: str = attrs.field(validator=_one_of(EVENT_KINDS))
    model: str
    at: str                          # UTC time
    detail: str                      # what happened, one line
    index: int | None = None         # the sample in flight, when there was one
    physical_board: str = ""

    def to_line(self) -> str:
        return json.dumps(attrs.asdict(self), separators=(",", ":"))


@attrs.frozen
class CardFigures(Record):
    """From the model card: size and cost, and the torch model's own test accuracy."""

    params: int
    macs_per_sequence: int
    dense_params: int
    compression_vs_dense: float
    host_test_accuracy: float | None


@attrs.frozen
class ImageRecord(Record):
    """Bytes of the firmware image: text without rodata; flash = text + rodata + data; ram = data + bss."""

    text: int
    rodata: int
    data: int
    bss: int
    flash: int
    ram: int
    model_bytes: int
    elf: str


@attrs.frozen
class BoardRecord(Record):
    name: str
    flash_bytes: int
    ram_bytes: int
    clock_hz: int      # as the device reported it


# Counts of an image that ran on an Arm FVP, whichever counter its HELLO named: the host
# labels them (harness/targets/fvp.py). They never appear on the link.
FVP_CYCLES = "fvp-cycles"


def counter_unit(counter_kind: str) -> str:
    """icount-instructions counts instructions (QEMU); fvp-cycles counts an FVP's simulated cycles (its own
    unit: neither a real core's cycles nor time); anything else counts core cycles."""
    if counter_kind == "icount-instructions":
        return "instructions"
    return FVP_CYCLES if counter_kind == FVP_CYCLES else "cycles"


@attrs.frozen
class CounterRecord(Record):
    kind: str          # icount-instructions | dwt-cycles | fvp-cycles
    unit: str          # instructions | cycles | fvp-cycles
    emulated: bool     # any unit but a real core's cycles
    clock_hz: int

    @classmethod
    def of(cls, counter_kind: str, clock_hz: int) -> "CounterRecord":
        unit = counter_unit(counter_kind)
        return cls(counter_kind, unit, unit != "cycles", int(clock_hz))


@attrs.frozen
class TestSetRecord(Record):
    """The data a model was evaluated on: which test split, and which of its samples."""

    __test__ = False   # not a pytest test class, whatever its name
    name: str
    content_hash: str
    synthetic: bool
    n: int                            # samples in the whole test split
    source: str = ""                  # the --data value it came from ("synthetic" or a folder)
    indices: list[int] | None = None  # the samples evaluated (--limit: class-stratified); None: all, in order


@attrs.frozen
class ModelRecord(Record):
    """A model's entry in models.json, written once its evaluation finished."""

    model_dir: str
    task: str
    method: str
    cell: str
    dtype: str
    model_hash: str
    classes: list[str]
    card: CardFigures
    host_accuracy: dict[str, Any] | None   # the export's host check: samples, float, exported, cost, agreement
    image: ImageRecord
    arena_bytes: int
    stack_peak: int
    stack_size: int
    board: BoardRecord
    counter: CounterRecord
    test_set: TestSetRecord
    limit: int | None


@attrs.frozen
class DeviceRecord(Record):
    """A device a run used: where it ran, which physical board, what it said in its HELLO."""

    where: str = attrs.field(validator=_one_of(WHERE))
    physical_board: str        # probe serial number, or qemu:<machine>, or fvp:<FVP binary>
    runner: str                # what ran the image: "QEMU netduinoplus2", "FVP_Corstone_SSE-300_Ethos-U55", "ST-LINK/V2-1 0668FF..."
    reason: str                # how the board was chosen, one line
    fw_version: str
    protocol_version: int
    board: str
    core: str
    clock_hz: int
    counter_kind: str
    max_payload: int
    model_hash: str            # hex; zeros for a firmware without a model
    image_sha256: str
    image_flash: int
    image_ram: int


@attrs.frozen
class ScenarioResult(Record):
    nodeid: str
    phase: str                 # call, or the setup/teardown that did not pass
    outcome: str
    seconds: float
    physical_board: str = ""


def run_where(devices) -> str | None:
    """HARDWARE, EMULATED or MIXED over the devices of a run; None before any device ran."""
    kinds = {d.where for d in devices}
    if not kinds:
        return None
    return kinds.pop() if len(kinds) == 1 else MIXED


@attrs.frozen
class Environment(Record):
    """environment.json: what ran where, with which tools. Devices are keyed by what ran on them
    (a model's name, or `scenarios` / the xdist worker for the smoke scenarios)."""

    run_id: str
    board: str
    git_commit: str | None
    toolchain: dict[str, str | None]
    started: str
    finished: str | None = None
    settings: RunSettings | None = None
    devices: dict[str, DeviceRecord] = attrs.Factory(dict)
    exit_status: int | None = None   # pytest's, when the run came from the scenarios
    schema: int = SCHEMA

    @property
    def where(self) -> str | None:
        return run_where(self.devices.values())

    @property
    def physical_boards(self) -> list[str]:
        return sorted({d.physical_board for d in self.devices.values() if d.physical_board})

    @property
    def emulator(self) -> str | None:
        """What emulated the board, e.g. "QEMU netduinoplus2 (-icount shift=0)" or
        "FVP_Corstone_SSE-300_Ethos-U55 (FVP cycles)"; None when nothing was emulated."""
        runners = sorted({(d.runner, d.counter_kind == FVP_CYCLES) for d in self.devices.values() if d.where == EMULATED})
        return ", ".join(f"{r} (FVP cycles)" if fvp else f"{r} (-icount shift=0)" for r, fvp in runners) or None

    DERIVED = ("where", "physical_boards", "emulator")

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        for key in self.DERIVED:   # written for readers of the file, never read back
            out[key] = getattr(self, key)
        return out

    @classmethod
    def from_json(cls, data: Any, where: str = ""):
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if k not in cls.DERIVED}
        return super().from_json(data, where)


# ---------------------------------------------------------------- files --

def write_json(path: Path, value: Any) -> None:
    """Replace `path` atomically: a reader never sees half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(value, indent=1, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path, what: str | None = None) -> Any:
    path = Path(path)
    what = what or path.name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise RecordError(f"{path} is not UTF-8 text; the runner rewrites {what}: rerun with --resume to "
                          "regenerate it") from None
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); the runner rewrites {what}: "
                          "rerun with --resume to regenerate it") from None


def _versioned(path: Path, data: Any) -> dict:
    if not isinstance(data, dict):
        raise RecordError(f"{path} must hold a JSON object, found {type(data).__name__}")
    version = data.get("schema", SCHEMA)
    if version != SCHEMA:
        raise RecordError(f"{path} has schema {version!r}; this harness reads schema {SCHEMA}: "
                          "use the harness version that wrote it, or rerun")
    return data


def read_run_file(run_dir: Path) -> RunFile:
    path = Path(run_dir) / RUN_FILE
    return RunFile.from_json(_versioned(path, read_json(path)), str(path))


def parse_journal(data: bytes, where: str = SAMPLES, record=None) -> list:
    """The rows of samples.jsonl (or events.jsonl, record=RunEvent). A last line without its newline (a run
    killed mid-write) is dropped; any other bad line is an error naming the file and the line."""
    record = record or SampleRow
    # Every line the runner writes ends with a newline: text after the last one is a line cut short.
    complete = data[: data.rfind(b"\n") + 1]
    rows: list[SampleRow] = []
    for lineno, line in enumerate(complete.split(b"\n")[:-1], 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise RecordError(f"{where} line {lineno} is not JSON and is not a last line cut short: the journal is "
                              "damaged; delete that line (its sample runs again) and resume the run") from None
        if not isinstance(obj, dict):
            raise RecordError(f"{where} line {lineno} holds {type(obj).__name__}, not a JSON object; "
                              "samples.jsonl has one object per line (docs/reports.md)")
        rows.append(record.from_json(obj, f"{where} line {lineno}"))
    return rows


def read_events(run_dir: Path) -> list[RunEvent]:
    path = Path(run_dir) / EVENTS
    return parse_journal(path.read_bytes(), str(path), RunEvent) if path.is_file() else []


def write_models(run_dir: Path, models: dict[str, ModelRecord]) -> None:
    write_json(Path(run_dir) / MODELS, {"schema": SCHEMA, "models": {k: m.to_json() for k, m in models.items()}})


def read_models(run_dir: Path) -> dict[str, ModelRecord]:
    """models.json; {} when the run has not finished its first model."""
    path = Path(run_dir) / MODELS
    if not path.is_file():
        return {}
    data = _versioned(path, read_json(path))
    models = data.get("models")
    if not isinstance(models, dict):
        raise RecordError(f"{path} must hold \"models\": an object of model records")
    return {name: ModelRecord.from_json(rec, f"{path}: model {name!r}") for name, rec in models.items()}


def read_environment(run_dir: Path) -> Environment | None:
    path = Path(run_dir) / ENVIRONMENT
    if not path.is_file():
        return None
    return Environment.from_json(_versioned(path, read_json(path)), str(path))


def write_scenarios(run_dir: Path, results: list[ScenarioResult]) -> None:
    write_json(Path(run_dir) / SCENARIOS, {"schema": SCHEMA, "results": [r.to_json() for r in results]})


def read_scenarios(run_dir: Path) -> list[ScenarioResult]:
    path = Path(run_dir) / SCENARIOS
    if not path.is_file():
        return []
    data = _versioned(path, read_json(path))
    return [ScenarioResult.from_json(r, f"{path}: result {i}") for i, r in enumerate(data.get("results") or [])]
