"""The command line and the pytest options, run as a user would run them."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from procs import default_signals

ROOT = Path(__file__).resolve().parents[1]


def run(*args, timeout=300, env=None):
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **env} if env else None)


def test_help():
    r = run("-m", "harness", "--help")
    assert r.returncode == 0 and "boards" in r.stdout and "build" in r.stdout


def test_boards_says_nothing_is_attached_and_what_would_be_emulated():
    from harness.boards import boards
    r = run("-m", "harness", "boards", env={"HARNESS_EMULATOR": "qemu"})   # QEMU even where an FVP is installed
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("No board is attached to this machine (looked with ")
    assert "emulated: QEMU netduinoplus2" in r.stdout
    rows = {l.split()[0]: l for l in lines[2:] if l.strip()}
    for b in boards().values():    # boards without a twin are listed, not a failure
        want = f"emulated: {b.twin_label}" if b.emulation else "not attached; no emulator for it"
        # A board with an FVP in the catalog says why it is on QEMU.
        assert rows[b.name].endswith(want if b.fvp is None else f"{want} ($HARNESS_EMULATOR=qemu)"), rows[b.name]
    assert r.stderr == ""


def test_boards_write_map_with_nothing_attached_writes_nothing(tmp_path):
    r = run("-m", "harness", "boards", "--write-map", str(tmp_path / "lab.yaml"))
    assert r.returncode == 1 and "No board is attached" in r.stdout and not (tmp_path / "lab.yaml").exists()


def test_boards_with_a_bad_hardware_map_is_one_line(tmp_path):
    bad = tmp_path / "lab.yaml"
    bad.write_text("boards:\n  - board: nucleo-f446re\n    probe_serial: 0777\n    port: /dev/ttyACM0\n")
    r = run("-m", "harness", "boards", "--hardware-map", str(bad))
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith(f"error: hardware map {bad}: entry 1") and "quotes" in r.stderr
    r = run("-m", "harness", "boards", "--hardware-map", str(tmp_path / "absent.yaml"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "cannot read it" in r.stderr


def test_unknown_board_is_one_line():
    r = run("-m", "harness", "build", "--board", "nosuchboard")
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "known boards:" in r.stderr and "nucleo-f446re" in r.stderr


def test_pytest_unknown_board_fails_at_once_naming_the_valid_ones():
    r = run("-m", "pytest", "scenarios", "--board=nosuchboard", "-p", "no:cacheprovider")
    assert r.returncode != 0
    lines = [l for l in (r.stdout + r.stderr).splitlines() if "nosuchboard" in l]
    assert len(lines) == 1 and "nucleo-f446re" in lines[0] and "qemu-m33" in lines[0]


def test_pytest_require_hardware_without_a_board():
    r = run("-m", "pytest", "scenarios", "--board=nucleo-f446re", "--require-hardware", "-p", "no:cacheprovider")
    assert r.returncode != 0
    assert "no nucleo-f446re is attached" in r.stdout + r.stderr


def _qemu_children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid), "-x", "qemu-system-arm"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose once reaped; check its state.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.emulator
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_interrupted_run_leaves_no_qemu(sig):
    # Build first so the interrupt lands while QEMU runs, not during the build.
    assert run("-m", "harness", "build", "--board", "qemu-m4").returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "scenarios", "--board=qemu-m4", "-p", "no:cacheprovider"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=default_signals)
    qemu = []
    deadline = time.monotonic() + 60
    while not qemu and time.monotonic() < deadline and proc.poll() is None:
        qemu = _qemu_children(proc.pid)
        time.sleep(0.01)
    assert qemu, "QEMU never started"
    proc.send_signal(sig)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in qemu) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in qemu), f"QEMU {qemu} outlived pytest after {sig.name}"
