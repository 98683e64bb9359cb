"""Runs that survive faults, on the emulated NUCLEO-F446RE: a bad line (tests/faultproxy.py between the
harness and QEMU), an emulator that stops or dies. The harness is run as a user runs it
(`python -m harness run`), and its table must be the clean run's: same samples, predictions, logits and
counts, never a wrong or a duplicated result."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import faultproxy
from harness.evaluate import read_journal
from harness.records import read_events
from procs import default_signals

pytestmark = pytest.mark.emulator

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 40
SAME = ("index", "label", "predicted", "ref_predicted", "max_abs_err", "counter", "model_hash")


def _run(model, out, *extra, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "harness", "run", "--board", "nucleo-f446re", "--models", str(model),
                           "--limit", str(LIMIT), "--report-dir", str(out), *extra], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, preexec_fn=default_signals)


def _table(run_dir):
    rows = {}
    for r in read_journal(Path(run_dir) / "samples.jsonl"):
        if not r.warmup:
            rows[r.index] = r          # a sample recorded twice would show in the count below
    return rows


def _check_against(clean, run_dir, *, complete=True):
    rows = list(r for r in read_journal(Path(run_dir) / "samples.jsonl") if not r.warmup)
    got = _table(run_dir)
    assert len(rows) == len(got), "a sample was recorded twice"
    for i, r in got.items():
        assert r.error is None, (i, r.error)
        assert {k: getattr(r, k) for k in SAME} == {k: getattr(clean[i], k) for k in SAME}, i
    if complete:
        assert sorted(got) == sorted(clean)
    return rows


@pytest.fixture(scope="module")
def clean(har_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("clean") / "run"
    r = _run(har_model, out)
    assert r.returncode == 0, r.stderr
    table = _table(out)
    assert len(table) == LIMIT
    return table


@pytest.mark.parametrize("faults", [
    {"flip_to_device": 1e-3}, {"flip_to_host": 1e-3}, {"flip_to_device": 1e-3, "flip_to_host": 1e-3},
    {"drop": 1e-3, "insert": 1e-3}, {"stall_at": 1_000, "stall_s": 2},
], ids=["flips-to-device-1e-3", "flips-to-host-1e-3", "flips-both-1e-3", "drop-insert-1e-3", "stall-2s"])
def test_a_bad_line_gives_the_clean_table(faults, har_model, clean, tmp_path):
    env = faultproxy.install(tmp_path / "bin", seed=7, log=tmp_path / "faults.jsonl", **faults)
    r = _run(har_model, tmp_path / "run", env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = _check_against(clean, tmp_path / "run")
    hit = faultproxy.totals(tmp_path / "faults.jsonl")
    injected = sum(v for d in hit.values() for k, v in d.items() if k != "bytes")
    assert injected > 0 or "stall_at" in faults, hit   # the line really was bad
    if "stall_at" not in faults:
        assert sum(r.retries for r in rows) > 0


def test_a_hopeless_line_stops_in_one_line_and_keeps_only_right_results(har_model, clean, tmp_path):
    env = faultproxy.install(tmp_path / "bin", seed=3, flip_to_device=1e-2, flip_to_host=1e-2)
    r = _run(har_model, tmp_path / "run", "--retries", "4", "--max-recoveries", "1", env=env)
    if r.returncode != 0:   # it may not even get through the first handshake
        error = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
        assert r.returncode == 2 and len(error) == 1, r.stderr[-2000:]
        assert "HELLO" in error[0] or "gave up after 1 recoveries" in error[0], error
        if "gave up" in error[0]:
            assert [e.kind for e in read_events(tmp_path / "run")][-1] == "gave-up"
    _check_against(clean, tmp_path / "run", complete=r.returncode == 0)


def _qemu_of(pid: int, timeout: float = 60) -> int:
    """The qemu-system-arm process started by `pid` (a child of it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                name = stat.read_text().split("(", 1)[1].rsplit(")", 1)[0]
            except (OSError, IndexError):
                continue
            if int(fields[1]) == pid and name == "qemu-system-arm":
                return int(stat.parent.name)
        time.sleep(0.05)
    raise AssertionError("the run started no QEMU")


@pytest.mark.parametrize("how", ["pause-15s", "kill"])
def test_an_emulator_that_stops_or_dies_is_brought_back(how, har_model, clean, tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", "--board", "nucleo-f446re", "--models",
                             str(har_model), "--limit", str(LIMIT), "--report-dir", str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_signals)
    try:
        deadline = time.monotonic() + 120
        while len(read_journal(out / "samples.jsonl")) < 12:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        qemu = _qemu_of(proc.pid)
        if how == "kill":
            os.kill(qemu, signal.SIGKILL)
        else:
            os.kill(qemu, signal.SIGSTOP)
            time.sleep(15)                 # the fault itself: 15 s without an emulator
            try:
                os.kill(qemu, signal.SIGCONT)
            except ProcessLookupError:
                pass                       # the run gave up on it and started another
        _, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, err[-2000:]
    _check_against(clean, out)
    if how == "kill":
        assert [e.kind for e in read_events(out)] == ["recovery"]


def test_a_second_writer_on_one_folder_is_refused(har_model, clean, tmp_path):
    """The first run is held mid-run by a line that stalls (so it surely still runs while the others try),
    then interrupted; a --resume afterwards completes the table with each sample once."""
    out = tmp_path / "run"
    env = faultproxy.install(tmp_path / "bin", stall_at=1_000, stall_s=600)
    first = subprocess.Popen([sys.executable, "-m", "harness", "run", "--board", "nucleo-f446re", "--models",
                              str(har_model), "--limit", str(LIMIT), "--report-dir", str(out), "--timeout", "600"],
                             cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=default_signals)
    try:
        deadline = time.monotonic() + 120
        while not read_journal(out / "samples.jsonl"):
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        for extra in ((), ("--resume",)):
            second = _run(har_model, out, *extra)
            lines = second.stderr.strip().splitlines()
            assert second.returncode == 2 and len(lines) == 1, second.stderr
            assert f"is being written by another run (pid {first.pid} on " in lines[0]
        first.send_signal(signal.SIGINT)
        assert first.wait(timeout=60) == 130
    finally:
        first.kill()
    resumed = _run(har_model, out, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    _check_against(clean, out)
