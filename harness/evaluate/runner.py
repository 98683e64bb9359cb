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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import attrs
import numpy as np

import serial

from ..device import Device, Plan, leased, open_device
from ..link import DeviceError, LinkError
from ..link.client import DEFAULT_RETRIES
from ..targets import QemuError
from ..targets.hardware import HardwareError
from ..model_card import is_model_dir
from ..paths import reports_root
from ..records import (BoardRecord, CardFigures, CounterRecord, ImageRecord, ModelRecord, RunEvent, RunSettings,
                       SampleRow, TestSetRecord)
from .folder import RunError, RunFolder, now
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


@attrs.frozen
class ReplyTimeout:
    """Seconds to wait for one reply, from what the run knows: the bytes of the requests in flight at the
    board's baud rate, and the count of the last inference at the clock the device reported, times a
    generous factor, with a floor. A fixed value (--timeout) overrides the rule."""

    wire_bytes: int                 # bytes on the line for one reply: the requests in flight and the reply
    baud: int
    clock_hz: int
    fixed: float | None = None
    floor: float = 2.0
    factor: float = 4.0
    first: float = 30.0             # before any count is known (the warm-up)

    def seconds(self, last_count: int | None) -> float:
        if self.fixed is not None:
            return self.fixed
        if not last_count or not self.clock_hz:
            return max(self.first, self.floor)
        line = self.wire_bytes * 10 / self.baud
        return max(self.floor, self.factor * (line + last_count / self.clock_hz))


def reply_timeout(device: Device, p: Prepared, settings: RunSettings, fixed: float | None) -> ReplyTimeout:
    m = p.exported.manifest
    wire = settings.depth * (m["input"]["bytes"] + 16) + m["output"]["bytes"] + 24
    return ReplyTimeout(wire, device.plan.board.serial.baud, device.hello.clock_hz, fixed)


@attrs.define
class _Progress:
    """Where streaming got to: the sample in flight when the device went down."""

    in_flight: int | None = None


def stream_model(device: Device, p: Prepared, journal: Journal, done: set[int], settings: RunSettings,
                 *, progress: bool = True, timeout: ReplyTimeout | None = None, at: _Progress | None = None) -> int:
    """Send every sample not yet in `done`, record each result as it arrives; returns how many were sent.
    The link's reply timeout follows `timeout` sample by sample."""
    link = device.link
    hw = device.physical_board
    at = at if at is not None else _Progress()

    def row(index: int, r, warmup: bool) -> SampleRow:
        got = p.exported.output_values(r.output)
        ref_i = max(index, 0)
        return SampleRow(p.name, p.exported.model_hash, settings.dtype, index, int(p.labels[ref_i]),
                         int(r.predicted), int(p.ref_pred[ref_i]),
                         float(np.abs(got - p.ref_logits[ref_i]).max()) if got.size else None,
                         int(r.counter_delta), warmup, hw, None, r.retries)

    def follow(count: int | None) -> None:
        if timeout is not None:
            link.timeout = timeout.seconds(count)

    # Warm-up, as MLPerf Tiny does: recorded, left out of latency and accuracy.
    follow(None)
    for _ in range(settings.warmup):
        warm = row(-1, link.infer(p.x_device[0].tobytes()), True)
        journal.write(warm)
        follow(warm.counter)
    todo = [i for i in range(len(p.x_device)) if i not in done]
    bar = _progress(len(p.x_device), len(p.x_device) - len(todo), p.name, progress)
    try:
        inputs = (p.x_device[i].tobytes() for i in todo)
        last_host = link.host_seconds
        at.in_flight = todo[0] if todo else None
        for k, (i, result) in enumerate(zip(todo, link.infer_stream(inputs, depth=settings.depth))):
            t0 = time.perf_counter()
            r = row(i, result, False)
            host = link.host_seconds - last_host + (time.perf_counter() - t0)
            journal.write(attrs.evolve(r, host_ms=round(1e3 * host, 4)))
            at.in_flight = todo[k + 1] if k + 1 < len(todo) else None
            follow(r.counter)
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
    rows: list[SampleRow]            # the samples with a result
    record: ModelRecord
    failed: list[SampleRow] = field(default_factory=list)   # samples given up, with their reason

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


# What a device that went down raises: the link gave up, the port or the emulator went away, a board
# could not be reached. A typed device ERROR to an intact request is not among them: it is a bug to report.
def _device_down(exc: BaseException) -> bool:
    return isinstance(exc, (LinkError, serial.SerialException, OSError, QemuError, HardwareError)) \
        and not isinstance(exc, DeviceError)


MAX_RECOVERIES = 5          # per model: restarts of the emulator, resets or reflashes of a board
SAMPLE_FAILURES = 2         # a sample in flight when the device went down this often is given up


class Run:
    """One run directory on one planned board: evaluate models into it, one after another.

    Entering the run leases the board for its whole duration (a real board;
    re-entrant when the caller holds the lease already). A device that goes
    down during a model (the link gives up after its retries, the port goes
    away, the emulator dies) is brought back, at most `max_recoveries` times
    per model, and the model continues with its first sample without a result."""

    def __init__(self, plan: Plan, model_dirs: list[Path], *, dtype: str = "int8", limit: int | None = None,
                 run_dir: Path | None = None, resume: bool = False, progress: bool = True, warmup: int = 1,
                 depth: int = PIPELINE_DEPTH, timeout: float | None = None, retries: int = DEFAULT_RETRIES,
                 max_recoveries: int = MAX_RECOVERIES, folder: RunFolder | None = None, log=print):
        from ..model_card import read_card
        from ..names import DTYPES
        if depth < 1:
            raise RunError(f"--depth must be at least 1, got {depth}")
        if dtype not in DTYPES:
            raise RunError(f"unknown dtype {dtype!r}; use one of {', '.join(DTYPES)}")
        if limit is not None and limit < 1:
            raise RunError(f"--limit must be a positive number of samples, got {limit}")
        if timeout is not None and not timeout > 0:
            raise RunError(f"--timeout must be a positive number of seconds, got {timeout}")
        if retries < 0 or max_recoveries < 0:
            raise RunError(f"--retries and --max-recoveries must be 0 or more, got {retries} and {max_recoveries}")
        if resume and run_dir is None and folder is None:
            raise RunError("--resume needs --report-dir: the run directory to continue")
        self.plan = plan
        self.board = plan.board
        self.model_dirs = find_model_dirs(model_dirs)
        for d in self.model_dirs:   # a bad card is refused before the run folder is touched
            read_card(d)
        self.settings = RunSettings(self.board.name, dtype, limit, [str(d.resolve()) for d in self.model_dirs],
                                    warmup, depth)
        self._own_folder = folder is None
        if folder is None:
            self.folder = RunFolder(run_dir or new_run_dir(self.board.name), self.board.name, settings=self.settings,
                                    resume=resume)
        else:
            self.folder = folder
            folder.begin_run(self.settings, resume=resume)
        self.dir = self.folder.path
        self.progress, self.log = progress, log
        self.timeout, self.retries, self.max_recoveries = timeout, retries, max_recoveries
        self._stack = contextlib.ExitStack()

    @property
    def records(self) -> dict[str, ModelRecord]:
        return self.folder.models

    def evaluate(self, model_dir: Path) -> ModelOutcome:
        p = prepare(model_dir, self.settings.dtype, limit=self.settings.limit)
        done = {r.index for r in self._rows(p)}
        if len(done) >= len(p.x_device) and p.name in self.records:
            self.log(f"{p.name}: all {len(done)} samples already recorded")
        else:
            self._stream_with_recovery(p, done)
        rows = {r.index: r for r in self._rows(p)}   # a sample recorded twice keeps its last row
        ordered = [rows[i] for i in sorted(rows)]
        return ModelOutcome(p.name, self.settings.dtype, [r for r in ordered if r.error is None],
                            self.records[p.name], [r for r in ordered if r.error is not None])

    def _stream_with_recovery(self, p: Prepared, done: set[int]) -> None:
        journal = self.folder.journal
        failures: dict[int, int] = {}
        recoveries = 0
        opened = False
        while True:
            at = _Progress()
            try:
                with open_device(self.plan, model=p.exported, log_dir=self.dir, retries=self.retries) as dev:
                    opened = True
                    self.log(f"{p.name}: {dev.plan.reason}; model {p.exported.model_hash[:12]} verified on the device")
                    self.folder.record_device(p.name, dev.record())
                    stream_model(dev, p, journal, done, self.settings, progress=self.progress,
                                 timeout=reply_timeout(dev, p, self.settings, self.timeout), at=at)
                    stack = dev.link.status()
                    self.folder.record_model(p.name, model_record(p, dev, stack, self.settings), dev.record())
                    return
            except KeyboardInterrupt:
                journal.close()
                n = len(read_journal(journal.path))
                self.log(f"interrupted: {n} results kept in {self.dir}; continue with the same command and "
                         f"--report-dir {self.dir} --resume")
                raise
            except BaseException as exc:
                if not opened or not _device_down(exc):   # a device that never came up is not recovered
                    raise
                why = _one_line(exc)
            recoveries += 1
            done |= {r.index for r in self._rows(p)}
            if at.in_flight is not None:
                failures[at.in_flight] = failures.get(at.in_flight, 0) + 1
                if failures[at.in_flight] >= SAMPLE_FAILURES:
                    self._give_up_sample(p, at.in_flight, why)
                    done.add(at.in_flight)
            if recoveries > self.max_recoveries:
                self.folder.record_event(RunEvent("gave-up", p.name, now(), why, at.in_flight,
                                                  self.plan.physical_board))
                raise RunError(f"{p.name}: the device went down {recoveries} times ({why}); gave up after "
                               f"{self.max_recoveries} recoveries, with {len(done)} of {len(p.x_device)} samples "
                               f"kept in {self.dir} (--resume continues)") from None
            self.log(f"{p.name}: the device went down ({why}); recovery {recoveries} of {self.max_recoveries}")
            self.folder.record_event(RunEvent("recovery", p.name, now(), why, at.in_flight, self.plan.physical_board))

    def _give_up_sample(self, p: Prepared, index: int, why: str) -> None:
        reason = f"the device went down {SAMPLE_FAILURES} times on this sample; last: {why}"
        self.folder.journal.write(SampleRow(p.name, p.exported.model_hash, self.settings.dtype, index,
                                            int(p.labels[index]), -1, int(p.ref_pred[index]), None, 0, False,
                                            self.plan.physical_board, None, 0, reason))
        self.folder.record_event(RunEvent("sample-failed", p.name, now(), reason, index, self.plan.physical_board))
        self.log(f"{p.name}: sample {index} recorded as failed ({reason})")

    def _rows(self, p: Prepared) -> list[SampleRow]:
        """This model's results in the journal, for its current export (not warm-ups)."""
        return [r for r in read_journal(self.folder.journal_path)
                if r.model == p.name and not r.warmup and r.model_hash == p.exported.model_hash]

    def close(self) -> None:
        self._stack.close()
        if self._own_folder:
            self.folder.close()

    def __enter__(self) -> "Run":
        try:
            self.plan = self._stack.enter_context(leased(self.plan))
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"


def run(plan: Plan, model_dirs: list[Path], **options) -> Path:
    """Evaluate every model on the planned board; returns the run directory."""
    with Run(plan, model_dirs, **options) as r:
        r.log(f"run {r.dir} on {r.board.name}, {len(r.model_dirs)} model(s), {r.settings.dtype}")
        for d in r.model_dirs:
            r.evaluate(d)
    return r.dir
