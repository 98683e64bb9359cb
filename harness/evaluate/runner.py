"""Evaluate trained models on a board: export, build, start, check the model hash, stream the test set.

    python -m harness run --board nucleo-f446re --models models/zoo [--dtype int8] [--limit N] [--report-dir D]

A run directory holds run.json (the settings, for --resume), samples.jsonl
(one line per sample as it arrives), models.json (per model: card figures,
image sizes, stack, counter), environment.json, and the reports written
from them (harness/report).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import firmware
from ..boards import Board, get_board
from ..environment import git_commit, toolchain
from ..paths import build_root, reports_root
from .journal import Journal, read_journal

PIPELINE_DEPTH = 2
RUN_FILE = "run.json"


class RunError(ValueError):
    """Bad run arguments or a run directory that cannot be resumed; one line says why."""


def find_model_dirs(paths: list[Path]) -> list[Path]:
    """Model directories named directly, or found one level down (a zoo)."""
    found: list[Path] = []
    for p in map(Path, paths):
        if (p / "model.json").is_file():
            found.append(p)
        elif p.is_dir():
            subs = sorted(d for d in p.iterdir() if (d / "model.json").is_file())
            if not subs:
                raise RunError(f"{p} holds no model (no model.json in it or in its subfolders); "
                               "train one with `python -m harness train` or `zoo`")
            found += subs
        else:
            raise RunError(f"{p} does not exist; pass model directories or a zoo folder")
    names = [d.name for d in found]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise RunError(f"two models are named {dup[0]!r}; model folder names must be unique in a run")
    return found


# --------------------------------------------------------------- preparing --

@dataclass
class Prepared:
    name: str
    model_dir: Path
    card: dict[str, Any]
    exported: Any                # harness.export.Exported
    x_device: np.ndarray         # (n, seq, features), int8 or float32
    labels: np.ndarray
    ref_logits: np.ndarray       # real-valued
    ref_pred: np.ndarray
    test_card: dict[str, Any]


def _export_dir(model_dir: Path, dtype: str) -> Path:
    """Exports are cached by the model's files, the dtype and the exporter's own code."""
    h = hashlib.sha256(dtype.encode())
    for f in ("model.pt", "model.json"):
        h.update((model_dir / f).read_bytes())
    for f in sorted((Path(__file__).parents[1] / "export").glob("*.py")):
        h.update(f.read_bytes())
    return build_root() / "export" / f"{model_dir.name}-{dtype}-{h.hexdigest()[:12]}"


def prepare(model_dir: Path, dtype: str, *, limit: int | None, splits=None) -> Prepared:
    from ..export import ExportError, card_data_source, export_model_dir, load_exported
    from ..export.reference import logits_as_float, predict
    from ..train import load_splits, model_input
    model_dir = Path(model_dir)
    out = _export_dir(model_dir, dtype)
    try:
        exported = load_exported(out)
    except ExportError:
        exported = None
    card = json.loads((model_dir / "model.json").read_text())
    if splits is None:
        splits = load_splits(card["task"], card_data_source(card))
    test = splits[2]
    if exported is None:
        exported = export_model_dir(model_dir, dtype, out, splits=splits)
    n = len(test) if limit is None else min(limit, len(test))
    x_device = exported.device_input(model_input(card, test.x[:n]))
    ref = np.concatenate([exported.reference(x_device[i:i + 256]) for i in range(0, n, 256)])
    ref_f = logits_as_float(exported.structure, ref)
    return Prepared(model_dir.name, model_dir, card, exported, x_device, np.asarray(test.y[:n]), ref_f,
                    predict(ref_f), test.card())


# ---------------------------------------------------------------- the run --

@dataclass
class RunSettings:
    board: str
    dtype: str
    limit: int | None
    models: list[str]
    warmup: int = 1
    depth: int = PIPELINE_DEPTH    # requests in flight; 1 keeps the line quiet during each inference

    def as_dict(self) -> dict[str, Any]:
        return {"board": self.board, "dtype": self.dtype, "limit": self.limit, "models": self.models,
                "warmup": self.warmup, "depth": self.depth}


def new_run_dir(board: str) -> Path:
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return reports_root() / f"{stamp}-{board}"


def open_run(run_dir: Path, settings: RunSettings, *, resume: bool) -> Path:
    """Create the run directory, or check that a resumed one was started with the same settings."""
    run_dir = Path(run_dir)
    run_file = run_dir / RUN_FILE
    if resume:
        if not run_file.is_file():
            raise RunError(f"--resume: {run_dir} is not a run directory (no {RUN_FILE}); start it without --resume")
        before = json.loads(run_file.read_text())
        if before["settings"] != settings.as_dict():
            diff = [k for k in settings.as_dict() if before["settings"].get(k) != settings.as_dict()[k]]
            raise RunError(f"--resume: {run_dir} was started with other settings ({', '.join(diff)} differ); "
                           "resume with the same arguments or start a new run")
        return run_dir
    if run_file.is_file() and read_journal(run_dir / "samples.jsonl"):
        raise RunError(f"{run_dir} already holds a run; pass --resume to continue it or choose another --report-dir")
    run_dir.mkdir(parents=True, exist_ok=True)
    run_file.write_text(json.dumps({"settings": settings.as_dict(), "argv": sys.argv,
                                    "started": _now()}, indent=1) + "\n")
    return run_dir


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(value, indent=1, default=str) + "\n")
    os.replace(tmp, path)


def rodata_bytes(elf: Path) -> int:
    """Bytes of read-only data objects in flash (the linker script keeps them in .text)."""
    from elftools.elf.elffile import ELFFile
    with open(elf, "rb") as fh:
        f = ELFFile(fh)
        text = f.get_section_by_name(".text")
        lo, hi = text["sh_addr"], text["sh_addr"] + text["sh_size"]
        symtab = f.get_section_by_name(".symtab")
        return sum(s["st_size"] for s in symtab.iter_symbols()
                   if s["st_info"]["type"] == "STT_OBJECT" and lo <= s["st_value"] < hi)


def model_record(p: Prepared, device, stack: Any, settings: RunSettings) -> dict[str, Any]:
    img, board, hello = device.image, device.plan.board, device.hello
    s = img.sections
    rodata = rodata_bytes(img.elf)
    emulated = hello.counter_kind == "icount-instructions"
    size = p.card["size"]
    return {
        "model_dir": str(p.model_dir.resolve()), "task": p.card["task"], "method": p.card["method"],
        "cell": p.card["cell"], "dtype": settings.dtype, "model_hash": p.exported.model_hash,
        "classes": p.card["classes"],
        "card": {"params": size["params"], "macs_per_sequence": size["macs_per_sequence"],
                 "dense_params": size["dense_params"], "compression_vs_dense": size["compression_vs_dense"],
                 "host_test_accuracy": p.card["accuracy"]["test"]},
        "host_accuracy": p.exported.manifest.get("host_accuracy"),
        "image": {"text": s.text - rodata, "rodata": rodata, "data": s.data, "bss": s.bss, "flash": s.flash,
                  "ram": s.ram, "model_bytes": img.model_bytes, "elf": str(img.elf)},
        "arena_bytes": p.exported.manifest["arena_bytes"],
        "stack_peak": stack.stack_peak, "stack_size": stack.stack_size,
        "board": {"name": board.name, "flash_bytes": board.flash.size, "ram_bytes": board.ram.size,
                  "clock_hz": hello.clock_hz},
        "counter": {"kind": hello.counter_kind, "unit": "instructions" if emulated else "cycles",
                    "emulated": emulated, "clock_hz": hello.clock_hz},
        "test_set": {"name": p.test_card["name"], "content_hash": p.test_card["content_hash"],
                     "synthetic": p.test_card["synthetic"], "n": p.test_card["n"]},
        "limit": settings.limit,
    }


def physical_board(device) -> str:
    plan = device.plan
    if plan.kind == "hardware" and plan.attached is not None:
        return plan.attached.probe_serial
    return f"qemu:{plan.board.emulation.machine}"


def _progress(total: int, initial: int, name: str, enabled: bool):
    from tqdm import tqdm
    return tqdm(total=total, initial=initial, desc=name, unit="sample", disable=not enabled, dynamic_ncols=True,
                leave=True, file=sys.stderr)


def stream_model(device, p: Prepared, journal: Journal, done: set[int], settings: RunSettings,
                 *, progress: bool = True) -> int:
    """Send every sample not yet in `done`, record each result as it arrives; returns how many were sent."""
    link = device.link
    hw = physical_board(device)
    base = {"model": p.name, "model_hash": p.exported.model_hash, "dtype": settings.dtype, "physical_board": hw}
    scale = 2.0 ** -12 if settings.dtype == "int8" else 1.0
    out_dtype = np.int32 if settings.dtype == "int8" else np.float32

    def row(index: int, r, warmup: bool, host_ms: float | None) -> dict[str, Any]:
        got = np.frombuffer(r.output, out_dtype).astype(np.float64) * scale
        ref_i = max(index, 0)
        return {**base, "index": index, "label": int(p.labels[ref_i]), "predicted": int(r.predicted),
                "ref_predicted": int(p.ref_pred[ref_i]),
                "max_abs_err": float(np.abs(got - p.ref_logits[ref_i]).max()) if got.size else None,
                "counter": int(r.counter_delta), "warmup": warmup, "host_ms": host_ms}

    # Warm-up, as MLPerf Tiny does: recorded, left out of latency and accuracy.
    for _ in range(settings.warmup):
        journal.write(row(-1, link.infer(p.x_device[0].tobytes()), True, None))
    todo = [i for i in range(len(p.x_device)) if i not in done]
    bar = _progress(len(p.x_device), len(p.x_device) - len(todo), p.name, progress)
    try:
        inputs = (p.x_device[i].tobytes() for i in todo)
        last_host = link.host_seconds
        for i, result in zip(todo, link.infer_stream(inputs, depth=settings.depth)):
            t0 = time.perf_counter()
            r = row(i, result, False, None)
            host = link.host_seconds - last_host + (time.perf_counter() - t0)
            r["host_ms"] = round(1e3 * host, 4)
            journal.write(r)
            last_host = link.host_seconds
            bar.update(1)
    finally:
        bar.close()
    return len(todo)


def environment_record(run_dir: Path, settings: RunSettings, board: Board, devices: dict[str, Any]) -> dict:
    emu = board.emulation
    return {
        "run_id": run_dir.name, "git_commit": git_commit(), "board": board.name,
        "target": {"kind": next(iter(devices.values()), {}).get("kind", "emulated"),
                   "emulator": None if emu is None else f"QEMU {emu.machine} (-icount shift=0)"},
        "settings": settings.as_dict(), "toolchain": toolchain(), "devices": devices,
        "finished": _now(),
    }


@dataclass
class ModelOutcome:
    """What a model's scenario asserts on: its rows (warm-ups excluded) and its record."""

    name: str
    dtype: str
    rows: list[dict[str, Any]]
    record: dict[str, Any]

    @property
    def n(self) -> int:
        return len(self.rows)

    def _mean(self, key_a: str, key_b: str) -> float:
        return float(np.mean([r[key_a] == r[key_b] for r in self.rows])) if self.rows else float("nan")

    @property
    def accuracy(self) -> float:
        return self._mean("predicted", "label")

    @property
    def reference_accuracy(self) -> float:
        return self._mean("ref_predicted", "label")

    @property
    def agreement(self) -> float:
        return self._mean("predicted", "ref_predicted")

    @property
    def max_abs_err(self) -> float:
        return max((r["max_abs_err"] for r in self.rows), default=0.0)


class Run:
    """One run directory on one board: evaluate models into it, one after another."""

    def __init__(self, board_name: str, model_dirs: list[Path], *, dtype: str = "int8", limit: int | None = None,
                 run_dir: Path | None = None, resume: bool = False, require_hardware: bool = False,
                 progress: bool = True, warmup: int = 1, depth: int = PIPELINE_DEPTH, log=print):
        from ..names import DTYPES
        if depth < 1:
            raise RunError(f"--depth must be at least 1, got {depth}")
        if dtype not in DTYPES:
            raise RunError(f"unknown dtype {dtype!r}; use one of {', '.join(DTYPES)}")
        if limit is not None and limit < 1:
            raise RunError(f"--limit must be a positive number of samples, got {limit}")
        if resume and run_dir is None:
            raise RunError("--resume needs --report-dir: the run directory to continue")
        self.board = get_board(board_name)
        self.model_dirs = find_model_dirs(model_dirs)
        self.settings = RunSettings(self.board.name, dtype, limit, [str(d.resolve()) for d in self.model_dirs],
                                    warmup, depth)
        self.dir = open_run(run_dir or new_run_dir(self.board.name), self.settings, resume=resume)
        self.require_hardware, self.progress, self.log = require_hardware, progress, log
        self._models_file, self._env_file = self.dir / "models.json", self.dir / "environment.json"
        self.records = json.loads(self._models_file.read_text()) if self._models_file.is_file() else {}
        self.devices = json.loads(self._env_file.read_text()).get("devices", {}) if self._env_file.is_file() else {}
        self.journal = Journal(self.dir / "samples.jsonl")

    def evaluate(self, model_dir: Path) -> ModelOutcome:
        from ..session import connect
        p = prepare(model_dir, self.settings.dtype, limit=self.settings.limit)
        before = [r for r in read_journal(self.journal.path) if r["model"] == p.name]
        done = {r["index"] for r in before if not r["warmup"] and r["model_hash"] == p.exported.model_hash}
        if len(done) >= len(p.x_device) and p.name in self.records:
            self.log(f"{p.name}: all {len(done)} samples already recorded")
        else:
            with connect(self.board, require_hardware=self.require_hardware, model=p.exported,
                         log_dir=self.dir) as dev:
                self.log(f"{p.name}: {dev.plan.reason}; model {p.exported.model_hash[:12]} verified on the device")
                try:
                    stream_model(dev, p, self.journal, done, self.settings, progress=self.progress)
                except KeyboardInterrupt:
                    self.journal.close()
                    n = len(read_journal(self.journal.path))
                    self.log(f"interrupted: {n} results kept in {self.dir}; continue with the same command and "
                             f"--report-dir {self.dir} --resume")
                    raise
                stack = dev.link.status()
                self.records[p.name] = model_record(p, dev, stack, self.settings)
                self.devices[p.name] = {
                    "kind": dev.plan.kind, "physical_board": physical_board(dev), "fw_version": dev.hello.fw_version,
                    "core": dev.hello.core, "clock_hz": dev.hello.clock_hz, "counter_kind": dev.hello.counter_kind,
                    "model_hash": dev.hello.model_hash.hex(), "image_sha256": firmware.file_sha256(dev.image.bin)}
            _write_json(self._models_file, self.records)
            _write_json(self._env_file, environment_record(self.dir, self.settings, self.board, self.devices))
        rows = {r["index"]: r for r in read_journal(self.journal.path)
                if r["model"] == p.name and not r["warmup"] and r["model_hash"] == p.exported.model_hash}
        return ModelOutcome(p.name, self.settings.dtype, [rows[i] for i in sorted(rows)], self.records[p.name])

    def close(self) -> None:
        self.journal.close()

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run(board_name: str, model_dirs: list[Path], **options) -> Path:
    """Evaluate every model on the board; returns the run directory."""
    with Run(board_name, model_dirs, **options) as r:
        r.log(f"run {r.dir} on {r.board.name}, {len(r.model_dirs)} model(s), {r.settings.dtype}")
        for d in r.model_dirs:
            r.evaluate(d)
    return r.dir
