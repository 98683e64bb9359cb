"""Leases: one process per physical board, across processes, released when the holder dies."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from harness.paths import REPO_ROOT
from harness.boards import AttachedBoard
from harness.targets.hardware import BoardBusy, lease_board
from harness.targets.hardware.lease import held_here, holder

ROOT = REPO_ROOT
A = AttachedBoard("nucleo-f446re", "066BFF-A", "/dev/ttyACM0")
B = AttachedBoard("nucleo-f446re", "066BFF-B", "/dev/ttyACM1")

# A child that leases one of the given serials (without waiting), reports it, and holds it until stdin closes.
HOLDER = """
import json, sys
from harness.boards import AttachedBoard
from harness.targets.hardware import BoardBusy, lease_board
boards = [AttachedBoard("nucleo-f446re", s, "/dev/x") for s in sys.argv[1:]]
try:
    lease = lease_board(boards, timeout=0)
    print(json.dumps({"got": lease.probe_serial}), flush=True)
except BoardBusy as exc:
    print(json.dumps({"busy": str(exc)}), flush=True)
sys.stdin.read()
"""


@pytest.fixture
def locks(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_LOCK_DIR", str(tmp_path / "locks"))
    return tmp_path / "locks"


def _holder(*serials):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, *serials], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    return proc, json.loads(proc.stdout.readline())


def _end(proc):
    proc.stdin.close()
    proc.wait(timeout=10)


def test_a_board_held_by_another_process_is_not_leased_and_the_message_names_the_holder(locks):
    proc, said = _holder(A.probe_serial)
    try:
        assert said == {"got": A.probe_serial}
        with pytest.raises(BoardBusy) as err:
            lease_board([A], timeout=0.3)
        msg = str(err.value)
        assert "\n" not in msg and A.probe_serial in msg and f"pid {proc.pid}" in msg
        with lease_board([A, B], timeout=0) as lease:     # the other board is free
            assert lease.probe_serial == B.probe_serial
    finally:
        _end(proc)
    with lease_board([A], timeout=5) as lease:             # and A once its holder is done
        assert lease.probe_serial == A.probe_serial


def test_a_killed_holder_leaves_no_lock_behind(locks):
    proc, said = _holder(A.probe_serial)
    assert said == {"got": A.probe_serial}
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    with lease_board([A], timeout=5) as lease:
        assert lease.held


def test_four_processes_racing_for_two_boards_get_two_different_boards(locks):
    procs = [subprocess.Popen([sys.executable, "-c", HOLDER, A.probe_serial, B.probe_serial], cwd=ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(4)]
    try:
        said = [json.loads(p.stdout.readline()) for p in procs]
    finally:
        for p in procs:
            _end(p)
    got = sorted(s["got"] for s in said if "got" in s)
    assert got == [A.probe_serial, B.probe_serial]
    assert sum("busy" in s for s in said) == 2


def test_waiting_for_a_board_says_who_holds_it_once_then_gets_it(locks):
    proc, _ = _holder(A.probe_serial)
    told = []
    try:
        start = time.monotonic()
        import threading
        threading.Timer(0.6, lambda: _end(proc)).start()
        with lease_board([A], timeout=10, on_wait=told.append) as lease:
            assert lease.held and time.monotonic() - start >= 0.5
    finally:
        if proc.poll() is None:
            _end(proc)
    assert len(told) == 1 and "waiting for a free nucleo-f446re" in told[0] and f"pid {proc.pid}" in told[0]


def test_leases_are_reentrant_within_a_process(locks):
    first = lease_board([A], timeout=0)
    again = lease_board([B, A], timeout=0)     # this process's board comes first
    assert again is first and held_here(A.probe_serial)
    again.release()
    assert held_here(A.probe_serial)
    proc, said = _holder(A.probe_serial)
    _end(proc)
    assert "busy" in said
    first.release()
    assert not held_here(A.probe_serial) and holder(A.probe_serial) == ""


def test_prefer_spreads_workers_over_the_boards(locks):
    with lease_board([A, B], prefer=1, timeout=0) as lease:
        assert lease.probe_serial == B.probe_serial
    with lease_board([A, B], prefer=2, timeout=0) as lease:
        assert lease.probe_serial == A.probe_serial


def test_odd_serial_numbers_get_distinct_lock_files(locks):
    odd1 = AttachedBoard("frdm-k64f", "a/b", "/dev/x")
    odd2 = AttachedBoard("frdm-k64f", "a_b", "/dev/y")
    with lease_board([odd1], timeout=0), lease_board([odd2], timeout=0):
        assert len(list(locks.glob("*.lock"))) == 2
