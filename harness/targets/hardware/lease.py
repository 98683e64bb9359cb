"""One lock per physical board, so two runs (or two pytest-xdist workers) never share one.

A lease is a `filelock` on `<lock dir>/<probe serial>.lock` (default
~/.cache/kp-harness/locks, or $HARNESS_LOCK_DIR). The kernel drops the lock
when its process dies, so a killed run never leaves a board locked. Beside the
lock, `<serial>.owner` says who holds it (pid, host, command, since when) for
the message another run prints while it waits.

Leases are per process and re-entrant: asking again for a board this process
already holds returns the same lease (counted), so the pytest plugin's
session lease and a nested `session.connect` agree on the board.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Sequence

from filelock import FileLock, Timeout

from ...boards.detect import AttachedBoard
from .errors import BoardBusy

log = logging.getLogger(__name__)

LOCK_DIR_ENV = "HARNESS_LOCK_DIR"
TIMEOUT_ENV = "HARNESS_LEASE_TIMEOUT"
DEFAULT_TIMEOUT = 600.0   # seconds to wait for a board another run holds

_held: dict[str, "Lease"] = {}
_guard = threading.Lock()


def lock_dir() -> Path:
    return Path(os.environ.get(LOCK_DIR_ENV) or Path.home() / ".cache" / "kp-harness" / "locks").expanduser()


def _file_stem(serial: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", serial)[:80]
    if safe != serial:   # keep distinct serials distinct after cleaning
        safe += "-" + hashlib.sha256(serial.encode()).hexdigest()[:8]
    return safe


class Lease:
    """This process's exclusive use of one physical board."""

    def __init__(self, board: AttachedBoard, lock: FileLock, owner_file: Path):
        self.board = board
        self._lock = lock
        self._owner_file = owner_file
        self._count = 1

    @property
    def probe_serial(self) -> str:
        return self.board.probe_serial

    @property
    def held(self) -> bool:
        return self._count > 0

    def release(self) -> None:
        with _guard:
            if self._count == 0:
                return
            self._count -= 1
            if self._count:
                return
            _held.pop(self.board.probe_serial, None)
            try:
                self._owner_file.unlink()
            except OSError:
                pass
            self._lock.release(force=True)
        log.debug("released %s", self.board.probe_serial)

    def __enter__(self) -> "Lease":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def holder(serial: str, directory: Path | None = None) -> str:
    """Who holds a board, from its owner file; '' when unknown."""
    path = (directory or lock_dir()) / f"{_file_stem(serial)}.owner"
    try:
        o = json.loads(path.read_text())
    except (OSError, ValueError):
        return ""
    return f"pid {o.get('pid')} on {o.get('host')} ({o.get('command', '')[:60]}) since {o.get('since')}"


def held_here(serial: str) -> bool:
    with _guard:
        return serial in _held


def _try(board: AttachedBoard, directory: Path) -> Lease | None:
    stem = _file_stem(board.probe_serial)
    lock = FileLock(directory / f"{stem}.lock", timeout=0, thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return None
    owner = directory / f"{stem}.owner"
    try:
        owner.write_text(json.dumps({
            "pid": os.getpid(), "host": socket.gethostname(), "command": " ".join(sys.argv),
            "worker": os.environ.get("PYTEST_XDIST_WORKER", ""), "board": board.board,
            "since": time.strftime("%Y-%m-%d %H:%M:%S")}) + "\n")
    except OSError:
        pass
    return Lease(board, lock, owner)


def lease_board(candidates: Sequence[AttachedBoard], *, prefer: int = 0, timeout: float | None = None,
                directory: Path | None = None, on_wait: Callable[[str], None] | None = None,
                reuse: bool = True) -> Lease:
    """Lease one of `candidates` (boards of one kind), trying them from index `prefer` on.

    A board this process already holds is returned first (re-entrant); with
    reuse=False (parallel jobs of one run) it is skipped instead, so each job
    gets a board of its own. When all
    are held by other processes, waits up to `timeout` seconds ($HARNESS_LEASE_TIMEOUT,
    default 600), telling `on_wait` once who holds them, then raises BoardBusy."""
    if not candidates:
        raise ValueError("no board to lease")
    if timeout is None:
        timeout = float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT))
    directory = Path(directory) if directory else lock_dir()
    directory.mkdir(parents=True, exist_ok=True)
    n = len(candidates)
    order = [candidates[(prefer + i) % n] for i in range(n)]
    deadline = time.monotonic() + timeout
    told = False
    while True:
        with _guard:
            for c in order:
                mine = _held.get(c.probe_serial)
                if mine is not None and reuse:
                    mine._count += 1
                    return mine
            for c in order:
                if c.probe_serial in _held:
                    continue
                lease = _try(c, directory)
                if lease is not None:
                    _held[c.probe_serial] = lease
                    log.debug("leased %s (%s)", c.probe_serial, c.board)
                    return lease
        who = "; ".join(f"{c.probe_serial}: {holder(c.probe_serial, directory) or 'another process'}" for c in order)
        if time.monotonic() >= deadline:
            raise BoardBusy(f"all {n} attached {order[0].board} board(s) are leased by other runs ({who}); "
                            f"waited {timeout:.0f} s (set {TIMEOUT_ENV} to wait longer)")
        if not told:
            (on_wait or log.warning)(f"waiting for a free {order[0].board}: {who}")
            told = True
        time.sleep(0.2)
