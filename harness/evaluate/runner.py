"""Evaluate trained models on a board: export, build, start, check the model hash, stream the test set.

    python -m harness run --board nucleo-f446re --models models/zoo [--dtype int8] [--limit N] [--report-dir D]

A run directory holds run.json (the settings, for --resume), samples.jsonl
(one line per sample as it arrives), models.json (per model: card figures,
image sizes, stack, counter), environment.json, and the reports written
from them (harness/report). The files and their records: harness/records.py.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from ..device import Device, Plan, leased, open_device
from ..model_card import is_model_dir
from ..paths import reports_root
from ..records import (BoardRecord, CardFigures, CounterRecord, ImageRecord, ModelRecord, RunSettings, SampleRow,
                       TestSetRecord)
from .folder import RunError, RunFolder
from .journal import Journal, read_journal

PIPELINE_DEPTH = 2


def find_model_dirs(paths: list[Path]) -> list[Path]:
    """Model directories named directly, or found one level down (a zoo)."""
    found: list[Path] = []
    for p in map(Path, paths):
        if is_model_dir(p):
            found.append(p)
        elif p.is_dir():
            subs = sorted(d for d in p.iterdir() if is_model_dir(d))
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


def prepare(model_dir: Path, dtype: str, *, limit: int | None, splits=None) -> Prepared:
    """The model's export (cached), its test inputs as the device takes them, and the host reference's outputs."""
    from ..data.splits import load_splits
    from ..export import cached_export
    from ..export.reference import logits_as_float, predict
    from ..model_card import data_source, model_input, read_card
    model_dir = Path(model_dir)
    card = read_card(model_dir)
    if splits is None:
        splits = load_splits(card["task"], data_source(card))
    test = splits[2]
    exported = cached_export(model_dir, dtype, splits=splits)
    n = len(test) if limit is None else min(limit, len(test))
    x_device = exported.device_input(model_input(card, test.x[:n]))
    ref = np.concatenate([exported.reference(x_device[i:i + 256]) for i in range(0, n, 256)])
    ref_f = logits_as_float(exported.structure, ref)
    return Prepared(model_dir.name, model_dir, card, exported, x_device, np.asarray(test.y[:n]), ref_f,
                    predict(ref_f), test.card())


# ---------------------------------------------------------------- the run --

def new_run_dir(board: str) -> Path:
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return reports_root() / f"{stamp}-{board}"


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


def model_record(p: Prepared, device: Device, stack: Any, settings: RunSettings) -> ModelRecord:
    img, board, hello = device.image, device.plan.board, device.hello
    s = img.sections
    rodata = rodata_bytes(img.elf)
    size, t = p.card["size"], p.test_card
    return ModelRecord(
        model_dir=str(p.model_dir.resolve()), task=p.card["task"], method=p.card["method"], cell=p.card["cell"],
        dtype=settings.dtype, model_hash=p.exported.model_hash, classes=list(p.card["classes"]),
        card=CardFigures(size["params"], size["macs_per_sequence"], size["dense_params"],
                         size["compression_vs_dense"], p.card["accuracy"]["test"]),
        host_accuracy=p.exported.manifest.get("host_accuracy"),
        image=ImageRecord(s.text - rodata, rodata, s.data, s.bss, s.flash, s.ram, img.model_bytes, str(img.elf)),
        arena_bytes=p.exported.manifest["arena_bytes"], stack_peak=stack.stack_peak, stack_size=stack.stack_size,
        board=BoardRecord(board.name, board.flash.size, board.ram.size, hello.clock_hz),
        counter=CounterRecord.of(hello.counter_kind, hello.clock_hz),
        test_set=TestSetRecord(t["name"], t["content_hash"], t["synthetic"], t["n"]),
        limit=settings.limit)


def _progress(total: int, initial: int, name: str, enabled: bool):
    from tqdm import tqdm
    return tqdm(total=total, initial=initial, desc=name, unit="sample", disable=not enabled, dynamic_ncols=True,
                leave=True, file=sys.stderr)


def stream_model(device: Device, p: Prepared, journal: Journal, done: set[int], settings: RunSettings,
                 *, progress: bool = True) -> int:
    """Send every sample not yet in `done`, record each result as it arrives; returns how many were sent."""
    link = device.link
    hw = device.physical_board

    def row(index: int, r, warmup: bool, host_ms: float | None) -> SampleRow:
        got = p.exported.output_values(r.output)
        ref_i = max(index, 0)
        return SampleRow(p.name, p.exported.model_hash, settings.dtype, index, int(p.labels[ref_i]),
                         int(r.predicted), int(p.ref_pred[ref_i]),
                         float(np.abs(got - p.ref_logits[ref_i]).max()) if got.size else None,
                         int(r.counter_delta), warmup, hw, host_ms)

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
            journal.write(attrs.evolve(r, host_ms=round(1e3 * host, 4)))
            last_host = link.host_seconds
            bar.update(1)
    finally:
        bar.close()
    return len(todo)


@dataclass
class ModelOutcome:
    """What a model's scenario asserts on: its rows (warm-ups excluded) and its record."""

    name: str
    dtype: str
    rows: list[SampleRow]
    record: ModelRecord

    @property
    def n(self) -> int:
        return len(self.rows)

    def _mean(self, same) -> float:
        return float(np.mean([same(r) for r in self.rows])) if self.rows else float("nan")

    @property
    def accuracy(self) -> float:
        return self._mean(lambda r: r.predicted == r.label)

    @property
    def reference_accuracy(self) -> float:
        return self._mean(lambda r: r.ref_predicted == r.label)

    @property
    def agreement(self) -> float:
        return self._mean(lambda r: r.predicted == r.ref_predicted)

    @property
    def max_abs_err(self) -> float:
        return max((r.max_abs_err for r in self.rows if r.max_abs_err is not None), default=0.0)


class Run:
    """One run directory on one planned board: evaluate models into it, one after another.

    Entering the run leases the board for its whole duration (a real board;
    re-entrant when the caller holds the lease already)."""

    def __init__(self, plan: Plan, model_dirs: list[Path], *, dtype: str = "int8", limit: int | None = None,
                 run_dir: Path | None = None, resume: bool = False, progress: bool = True, warmup: int = 1,
                 depth: int = PIPELINE_DEPTH, log=print):
        from ..names import DTYPES
        if depth < 1:
            raise RunError(f"--depth must be at least 1, got {depth}")
        if dtype not in DTYPES:
            raise RunError(f"unknown dtype {dtype!r}; use one of {', '.join(DTYPES)}")
        if limit is not None and limit < 1:
            raise RunError(f"--limit must be a positive number of samples, got {limit}")
        if resume and run_dir is None:
            raise RunError("--resume needs --report-dir: the run directory to continue")
        self.plan = plan
        self.board = plan.board
        self.model_dirs = find_model_dirs(model_dirs)
        self.settings = RunSettings(self.board.name, dtype, limit, [str(d.resolve()) for d in self.model_dirs],
                                    warmup, depth)
        self.folder = RunFolder(run_dir or new_run_dir(self.board.name), self.board.name, settings=self.settings,
                                resume=resume)
        self.dir = self.folder.path
        self.progress, self.log = progress, log
        self._stack = contextlib.ExitStack()

    @property
    def records(self) -> dict[str, ModelRecord]:
        return self.folder.models

    def evaluate(self, model_dir: Path) -> ModelOutcome:
        p = prepare(model_dir, self.settings.dtype, limit=self.settings.limit)
        journal = self.folder.journal
        done = {r.index for r in self._rows(p)}
        if len(done) >= len(p.x_device) and p.name in self.records:
            self.log(f"{p.name}: all {len(done)} samples already recorded")
        else:
            with open_device(self.plan, model=p.exported, log_dir=self.dir) as dev:
                self.log(f"{p.name}: {dev.plan.reason}; model {p.exported.model_hash[:12]} verified on the device")
                try:
                    stream_model(dev, p, journal, done, self.settings, progress=self.progress)
                except KeyboardInterrupt:
                    journal.close()
                    n = len(read_journal(journal.path))
                    self.log(f"interrupted: {n} results kept in {self.dir}; continue with the same command and "
                             f"--report-dir {self.dir} --resume")
                    raise
                stack = dev.link.status()
                self.folder.record_model(p.name, model_record(p, dev, stack, self.settings), dev.record())
        rows = {r.index: r for r in self._rows(p)}   # a sample recorded twice keeps its last row
        return ModelOutcome(p.name, self.settings.dtype, [rows[i] for i in sorted(rows)], self.records[p.name])

    def _rows(self, p: Prepared) -> list[SampleRow]:
        """This model's results in the journal, for its current export (not warm-ups)."""
        return [r for r in read_journal(self.folder.journal_path)
                if r.model == p.name and not r.warmup and r.model_hash == p.exported.model_hash]

    def close(self) -> None:
        self._stack.close()
        self.folder.close()

    def __enter__(self) -> "Run":
        try:
            self.plan = self._stack.enter_context(leased(self.plan))
        except BaseException:
            self.folder.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run(plan: Plan, model_dirs: list[Path], **options) -> Path:
    """Evaluate every model on the planned board; returns the run directory."""
    with Run(plan, model_dirs, **options) as r:
        r.log(f"run {r.dir} on {r.board.name}, {len(r.model_dirs)} model(s), {r.settings.dtype}")
        for d in r.model_dirs:
            r.evaluate(d)
    return r.dir
