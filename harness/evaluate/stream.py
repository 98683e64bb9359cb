"""Streaming one model's test set through a device: the reply timeout, the per-sample rows, the model's
record once it is through."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from ..device import Device
from ..records import (BoardRecord, CardFigures, CounterRecord, ImageRecord, ModelRecord, RunSettings, SampleRow,
                       TestSetRecord)
from .journal import Journal
from .prepare import Prepared


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
        test_set=TestSetRecord(t["name"], t["content_hash"], t["synthetic"], t["n"], p.source,
                               None if settings.limit is None else [int(i) for i in p.indices]),
        limit=settings.limit)


def _progress(total: int, initial: int, name: str, enabled: bool, position: int | None = None):
    from tqdm import tqdm
    return tqdm(total=total, initial=initial, desc=name, unit="sample", disable=not enabled, dynamic_ncols=True,
                leave=True, file=sys.stderr, position=position)


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


class Stopped(Exception):
    """Another job of the run stopped it (an interrupt, or a job that gave up): this one stops too."""


@attrs.define
class _Progress:
    """Where streaming got to: the sample in flight when the device went down; and whether to stop."""

    in_flight: int | None = None
    stop: threading.Event | None = None


def stream_model(device: Device, p: Prepared, journal: Journal, done: set[int], settings: RunSettings,
                 *, progress: bool = True, timeout: ReplyTimeout | None = None, at: _Progress | None = None,
                 position: int | None = None) -> int:
    """Send every sample not yet in `done`, record each result as it arrives; returns how many were sent.
    The link's reply timeout follows `timeout` sample by sample."""
    link = device.link
    hw = device.physical_board
    at = at if at is not None else _Progress()

    def row(k: int, r, warmup: bool) -> SampleRow:
        """The row of the sample at position k (the warm-up repeats position 0, recorded as index -1)."""
        got = p.exported.output_values(r.output)
        return SampleRow(p.name, p.exported.model_hash, settings.dtype, -1 if warmup else int(p.indices[k]),
                         int(p.labels[k]), int(r.predicted), int(p.ref_pred[k]),
                         float(np.abs(got - p.ref_logits[k]).max()) if got.size else None,
                         int(r.counter_delta), warmup, hw, None, r.retries)

    def follow(count: int | None) -> None:
        if timeout is not None:
            link.timeout = timeout.seconds(count)

    # Warm-up, as MLPerf Tiny does: recorded, left out of latency and accuracy.
    follow(None)
    for _ in range(settings.warmup):
        warm = row(0, link.infer(p.x_device[0].tobytes()), True)
        journal.write(warm)
        follow(warm.counter)
    todo = [k for k, i in enumerate(p.indices) if int(i) not in done]   # positions still without a result
    bar = _progress(len(p.x_device), len(p.x_device) - len(todo), p.name, progress, position)
    try:
        inputs = (p.x_device[k].tobytes() for k in todo)
        last_host = link.host_seconds
        at.in_flight = int(p.indices[todo[0]]) if todo else None
        for j, (k, result) in enumerate(zip(todo, link.infer_stream(inputs, depth=settings.depth))):
            t0 = time.perf_counter()
            r = row(k, result, False)
            host = link.host_seconds - last_host + (time.perf_counter() - t0)
            journal.write(attrs.evolve(r, host_ms=round(1e3 * host, 4)))
            at.in_flight = int(p.indices[todo[j + 1]]) if j + 1 < len(todo) else None
            follow(r.counter)
            if at.stop is not None and at.stop.is_set():
                raise Stopped()
            last_host = link.host_seconds
            bar.update(1)
    finally:
        bar.close()
    return len(todo)
