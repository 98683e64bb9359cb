"""Evaluate trained models on a board: export, build, start, check the model hash, stream the test set.

    python -m harness run --board nucleo-f446re --models models/zoo [--dtype int8] [--limit N] [--report-dir D]

A run directory holds run.json (the settings, for --resume), samples.jsonl
(one line per sample as it arrives), models.json (per model: card figures,
image sizes, stack, counter), environment.json, and the reports written
from them (harness/report). The files and their records: harness/records.py.
Preparing a model is evaluate/prepare.py, streaming it evaluate/stream.py;
this module runs them, brings a device that went down back, and spreads the
models over parallel jobs.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import serial

from ..device import Plan, leased, open_device
from ..link import DeviceError, LinkError
from ..link.client import DEFAULT_RETRIES
from ..paths import reports_root
from ..records import HARDWARE, ModelRecord, RunEvent, RunSettings, SampleRow
from ..targets import QemuError
from ..targets.hardware import HardwareError
from .folder import RunError, RunFolder, now
from .journal import read_journal
from .prepare import Prepared, find_model_dirs, prepare
from .stream import Stopped, _Progress, model_record, reply_timeout, stream_model

PIPELINE_DEPTH = 2


def new_run_dir(board: str) -> Path:
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return reports_root() / f"{stamp}-{board}"


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


def _check_options(*, dtype: str, limit: int | None, depth: int, timeout: float | None, retries: int,
                   max_recoveries: int, jobs: int) -> None:
    """Each option a run takes, refused in one line when out of range."""
    from ..choices import DTYPES
    problems = [
        (depth < 1, f"--depth must be at least 1, got {depth}"),
        (dtype not in DTYPES, f"unknown dtype {dtype!r}; use one of {', '.join(DTYPES)}"),
        (limit is not None and limit < 1, f"--limit must be a positive number of samples, got {limit}"),
        (timeout is not None and not timeout > 0, f"--timeout must be a positive number of seconds, got {timeout}"),
        (jobs < 1, f"--jobs must be at least 1, got {jobs}"),
        (retries < 0 or max_recoveries < 0,
         f"--retries and --max-recoveries must be 0 or more, got {retries} and {max_recoveries}"),
    ]
    for bad, message in problems:
        if bad:
            raise RunError(message)


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
                 max_recoveries: int = MAX_RECOVERIES, jobs: int = 1, data: str | None = None,
                 folder: RunFolder | None = None, log=print):
        from ..model_card import read_card
        _check_options(dtype=dtype, limit=limit, depth=depth, timeout=timeout, retries=retries,
                       max_recoveries=max_recoveries, jobs=jobs)
        if resume and run_dir is None and folder is None:
            raise RunError("--resume needs --report-dir: the run directory to continue")
        self.plan = plan
        self._unleased = plan   # what parallel jobs lease their own boards from
        self.board = plan.board
        self.model_dirs = find_model_dirs(model_dirs)
        for d in self.model_dirs:   # a bad card is refused before the run folder is touched
            read_card(d)
        self.jobs = min(jobs, len(self.model_dirs))
        pool = len(plan.places or plan.candidates)
        if self.jobs > 1 and plan.where == HARDWARE and pool < self.jobs:
            raise RunError(f"--jobs {self.jobs}: only {pool} {self.board.name} board(s) or place(s) to run on; "
                           f"each job needs its own: use --jobs {pool}")
        self.settings = RunSettings(self.board.name, dtype, limit, [str(d.resolve()) for d in self.model_dirs],
                                    warmup, depth, None if data is None else str(data))
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

    def evaluate(self, model_dir: Path, *, plan: Plan | None = None, stop: threading.Event | None = None,
                 position: int | None = None) -> ModelOutcome:
        """Evaluate one model on the run's board (or `plan`'s: a parallel job's own)."""
        p = prepare(model_dir, self.settings.dtype, limit=self.settings.limit, data=self.settings.data)
        done = {r.index for r in self._rows(p)}
        if len(done) >= len(p.x_device) and p.name in self.records:
            self.log(f"{p.name}: all {len(done)} samples already recorded")
        else:
            self._stream_with_recovery(p, done, plan or self.plan, stop, position)
        rows = {r.index: r for r in self._rows(p)}   # a sample recorded twice keeps its last row
        ordered = [rows[i] for i in sorted(rows)]
        return ModelOutcome(p.name, self.settings.dtype, [r for r in ordered if r.error is None],
                            self.records[p.name], [r for r in ordered if r.error is not None])

    def evaluate_all(self) -> list[ModelOutcome]:
        """Every model of the run, spread over `jobs` devices at once: emulators of the board, or as many
        boards (or labgrid places) of its kind, each job leasing its own. The run folder comes out as a
        serial run writes it (records in the run's model order)."""
        jobs = self.jobs
        if jobs == 1:
            return [self.evaluate(d) for d in self.model_dirs]
        todo = list(enumerate(self.model_dirs))
        results: dict[int, ModelOutcome] = {}
        errors: list[BaseException] = []
        stop, mutex = threading.Event(), threading.Lock()

        def job(k: int) -> None:
            try:
                with leased(self._unleased, prefer=k, own=True) as plan:
                    while not stop.is_set():
                        with mutex:
                            if not todo:
                                return
                            i, d = todo.pop(0)
                        results[i] = self.evaluate(d, plan=plan, stop=stop, position=k)
            except Stopped:
                pass
            except BaseException as exc:   # the first failure stops the run, as it would a serial one
                errors.append(exc)
                stop.set()

        threads = [threading.Thread(target=job, args=(k,), name=f"job{k}") for k in range(jobs)]
        for t in threads:
            t.start()
        try:
            for t in threads:
                while t.is_alive():
                    t.join(0.2)
        except KeyboardInterrupt:
            stop.set()
            for t in threads:
                t.join()
            self.log(f"interrupted: results kept in {self.dir}; continue with the same command and "
                     f"--report-dir {self.dir} --resume")
            raise
        if errors:
            raise errors[0]
        return [results[i] for i in sorted(results)]

    def _stream_with_recovery(self, p: Prepared, done: set[int], plan: Plan, stop: threading.Event | None,
                              position: int | None) -> None:
        journal = self.folder.journal
        failures: dict[int, int] = {}
        recoveries = 0
        opened = False
        while True:
            at = _Progress(stop=stop)
            try:
                with open_device(plan, model=p.exported, log_dir=self._log_dir(position),
                                 retries=self.retries) as dev:
                    opened = True
                    self.log(f"{p.name}: {dev.plan.reason}; model {p.exported.model_hash[:12]} verified on the device")
                    self.folder.record_device(p.name, dev.record())
                    stream_model(dev, p, journal, done, self.settings, progress=self.progress,
                                 timeout=reply_timeout(dev, p, self.settings, self.timeout), at=at,
                                 position=position)
                    stack = dev.link.status()
                    self.folder.record_model(p.name, model_record(p, dev, stack, self.settings), dev.record())
                    return
            except KeyboardInterrupt:
                if stop is not None:   # a parallel job: the run's main thread reports the interrupt
                    raise
                journal.close()
                n = len(read_journal(journal.path))
                self.log(f"interrupted: {n} results kept in {self.dir}; continue with the same command and "
                         f"--report-dir {self.dir} --resume")
                raise
            except Stopped:
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
                    self._give_up_sample(p, at.in_flight, why, plan)
                    done.add(at.in_flight)
            if recoveries > self.max_recoveries:
                self.folder.record_event(RunEvent("gave-up", p.name, now(), why, at.in_flight, plan.physical_board))
                raise RunError(f"{p.name}: the device went down {recoveries} times ({why}); gave up after "
                               f"{self.max_recoveries} recoveries, with {len(done)} of {len(p.x_device)} samples "
                               f"kept in {self.dir} (--resume continues)") from None
            self.log(f"{p.name}: the device went down ({why}); recovery {recoveries} of {self.max_recoveries}")
            self.folder.record_event(RunEvent("recovery", p.name, now(), why, at.in_flight, plan.physical_board))

    def _log_dir(self, position: int | None) -> Path:
        """The emulator's log: in the run folder; one folder per parallel job."""
        return self.dir if position is None else self.dir / f"job{position}"

    def _give_up_sample(self, p: Prepared, index: int, why: str, plan: Plan) -> None:
        reason = f"the device went down {SAMPLE_FAILURES} times on this sample; last: {why}"
        k = p.position[index]
        self.folder.journal.write(SampleRow(p.name, p.exported.model_hash, self.settings.dtype, index,
                                            int(p.labels[k]), -1, int(p.ref_pred[k]), None, 0, False,
                                            plan.physical_board, None, 0, reason))
        self.folder.record_event(RunEvent("sample-failed", p.name, now(), reason, index, plan.physical_board))
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
        if self.jobs > 1:
            return self                  # each job leases its own
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
    """Evaluate every model on the planned board (`jobs` devices at once); returns the run directory."""
    with Run(plan, model_dirs, **options) as r:
        r.log(f"run {r.dir} on {r.board.name}, {len(r.model_dirs)} model(s), {r.settings.dtype}"
              + (f", {r.jobs} jobs" if r.jobs > 1 else ""))
        r.evaluate_all()
    return r.dir
