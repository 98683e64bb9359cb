"""The Arm FVP target (harness/targets/fvp.py) and the device path's choice between it and QEMU.

Arm's FVPs cannot be installed here (no package registry has them). So:

- everything that needs no FVP is tested for real: the command line built
  from the catalog, the image it loads (the very ELF QEMU runs), finding the
  binary, the choice of emulator, the labels of FVP counts in the records
  and reports;
- the process lifecycle (start, the announced port, the connection, the boot
  byte, and stop on every path: failure, timeout, Ctrl-C, SIGTERM ignored, a
  wrapper's children, interpreter exit, this process dying) is tested against
  tests/targets/fvp_standin.py, a stand-in executable that behaves like an FVP's
  process and nothing more. It is a stand-in only because the FVP cannot be
  had here; it says nothing about an FVP's counts. One of its modes runs the
  image on QEMU mps3-an547 behind an FVP-style port, so the whole device path
  (plan, FvpTarget, handshake, relabelled counts) runs with a real image;
- TestRealFvp runs the image on a real FVP and is skipped, with the reason,
  where none is installed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness import firmware
from harness.boards import get_board
from harness.device import NoHardwareAttached, open_device, plan_device
from harness.link import Capability, Hello
from harness.records import FVP_CYCLES, CounterRecord, DeviceRecord, Environment, counter_unit
from harness.targets.fvp import (EMULATOR_ENV, FVP_ENV, FvpError, FvpTarget, announced_port, choose_fvp, find_fvp,
                                 fvp_command)
from harness.targets.qemu import qemu_command

STANDIN = Path(__file__).with_name("fvp_standin.py")
BOARD = get_board("corstone-300")
U55, U65 = BOARD.fvp.binaries


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes; its parent reaps it.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _gone(pids, timeout=10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def standin(tmp_path, monkeypatch):
    """An executable named like the catalog's first FVP, in a folder of its own, that runs the stand-in.

    Returns a function: mode -> (path, argv file, pid file); $HARNESS_FVP names the executable."""
    folder = tmp_path / "fvp"
    folder.mkdir()
    exe = folder / U55
    exe.write_text(f"#!/bin/sh\nexec {sys.executable} {STANDIN} \"$@\"\n")
    exe.chmod(0o755)
    args, pids = tmp_path / "argv.jsonl", tmp_path / "pids.jsonl"
    monkeypatch.setenv(FVP_ENV, str(exe))
    monkeypatch.delenv(EMULATOR_ENV, raising=False)
    monkeypatch.setenv("FVP_STANDIN_ARGS", str(args))
    monkeypatch.setenv("FVP_STANDIN_PIDS", str(pids))

    def make(mode: str):
        monkeypatch.setenv("FVP_STANDIN_MODE", mode)
        return exe, args, pids
    return make


def _lines(path: Path) -> list:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


@pytest.fixture(scope="module")
def image():
    return firmware.build(BOARD)


# ------------------------------------------------------------------ the command line --

def test_command_line_from_the_catalog(tmp_path):
    elf = tmp_path / "firmware.elf"
    cmd = fvp_command(BOARD, Path("/opt/fvp") / U55, elf, 5123)
    assert cmd == [
        f"/opt/fvp/{U55}", "-a", f"cpu0={elf}",
        "-C", "mps3_board.telnetterminal0.start_telnet=0",
        "-C", "mps3_board.telnetterminal0.mode=raw",
        "-C", "mps3_board.telnetterminal0.start_port=5123",
        "-C", "cpu0.FPU=1",
        "-C", "cpu0.MVE=0",            # the catalog's mve: off, the image has no Helium instruction
        "-C", "mps3_board.visualisation.disable-visualisation=1",
        "-C", "mps3_board.uart0.unbuffered_output=1",
        "--stat",
    ]


def test_the_fvp_loads_the_very_image_qemu_runs(image):
    """One image: the ELF that QEMU mps3-an547 gets with -kernel is the one the FVP gets with -a cpu0=."""
    q = qemu_command(BOARD, image.elf, image.bin, 1234)
    f = fvp_command(BOARD, Path(U55), image.elf, 1234)
    assert q[q.index("-kernel") + 1] == str(image.elf)
    assert f[f.index("-a") + 1] == f"cpu0={image.elf}"
    assert q[q.index("-M") + 1] == "mps3-an547"


def test_a_board_without_an_fvp_has_no_command():
    with pytest.raises(FvpError, match="no FVP in the catalog"):
        fvp_command(get_board("qemu-m4"), Path("x"), Path("y.elf"), 1)


@pytest.mark.parametrize("output,port", [
    (b"telnetterminal0: Listening for serial connection on port 5000\n", 5000),
    (b"Fast Models [11.24.13]\ntelnetterminal1: Listening for serial connection on port 5001\n"
     b"telnetterminal0: Listening for serial connection on port 5003\n", 5003),
    (b"telnetterminal1: Listening for serial connection on port 5001\n", None),
    (b"telnetterminal0: Listening for serial connection on port 50", 50),   # the digits so far are all there is
    (b"", None),
])
def test_the_announced_port_of_uart0s_terminal(output, port):
    assert announced_port(output, "telnetterminal0") == port


# ------------------------------------------------------------------ finding the FVP --

def _exe(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_text("#!/bin/sh\nexit 0\n")
    p.chmod(0o755)
    return p


def test_found_on_path_in_the_catalogs_order(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    _exe(a, U65)
    assert find_fvp(BOARD, {"PATH": str(a)}) == (a / U65).resolve()
    _exe(b, U55)
    assert find_fvp(BOARD, {"PATH": f"{a}:{b}"}) == (b / U55).resolve()   # U55 first, wherever it is
    assert find_fvp(BOARD, {"PATH": str(tmp_path / "nowhere")}) is None
    assert find_fvp(get_board("qemu-m4"), {"PATH": str(b)}) is None


def test_named_by_the_environment_as_a_file_or_a_folder(tmp_path):
    exe = _exe(tmp_path / "models" / "Linux64_GCC-9.3", U65)
    assert find_fvp(BOARD, {FVP_ENV: str(exe), "PATH": ""}) == exe.resolve()
    assert find_fvp(BOARD, {FVP_ENV: str(exe.parent), "PATH": ""}) == exe.resolve()


def _plain_file(folder: Path) -> Path:
    (folder / "plain").write_text("x")
    return folder / "plain"


@pytest.mark.parametrize("setup,message", [
    (lambda d: d / "missing", "does not exist"),
    (_plain_file, "is not executable"),
    (lambda d: d, "is a folder without FVP_Corstone_SSE-300_Ethos-U55 or FVP_Corstone_SSE-300_Ethos-U65"),
])
def test_a_wrong_harness_fvp_is_one_line(tmp_path, setup, message):
    with pytest.raises(FvpError) as e:
        find_fvp(BOARD, {FVP_ENV: str(setup(tmp_path)), "PATH": ""})
    assert message in str(e.value) and "\n" not in str(e.value) and FVP_ENV in str(e.value)


def test_choice_of_emulator(tmp_path):
    exe = _exe(tmp_path, U55)
    assert choose_fvp(BOARD, {FVP_ENV: str(exe)}) == (exe.resolve(), f"${FVP_ENV}")
    assert choose_fvp(BOARD, {"PATH": str(tmp_path)}) == (exe.resolve(), "found on PATH")
    assert choose_fvp(BOARD, {FVP_ENV: str(exe), EMULATOR_ENV: "qemu"}) == (None, f"${EMULATOR_ENV}=qemu")
    assert choose_fvp(BOARD, {FVP_ENV: str(exe), EMULATOR_ENV: "FVP"})[0] == exe.resolve()
    assert choose_fvp(BOARD, {"PATH": ""})[0] is None
    assert choose_fvp(get_board("qemu-m4"), {EMULATOR_ENV: "fvp", "PATH": ""}) == (None, "")   # no FVP entry: QEMU
    with pytest.raises(FvpError, match="no FVP_Corstone_SSE-300_Ethos-U55 or .* found; install it"):
        choose_fvp(BOARD, {EMULATOR_ENV: "fvp", "PATH": ""})
    with pytest.raises(FvpError, match="'renode' is not one of qemu, fvp"):
        choose_fvp(BOARD, {EMULATOR_ENV: "renode"})


def test_the_plan_runs_on_the_fvp_when_one_is_found(standin, monkeypatch):
    exe, _, _ = standin("listen")
    plan = plan_device(BOARD)
    assert plan.where == "emulated" and plan.fvp == str(exe.resolve())
    assert plan.physical_board == f"fvp:{U55}"
    assert f"running on Arm's {U55}" in plan.reason and "FVP cycles" in plan.reason
    monkeypatch.setenv(EMULATOR_ENV, "qemu")
    plan = plan_device(BOARD)
    assert plan.fvp is None and plan.physical_board == "qemu:mps3-an547"
    assert plan.reason == f"corstone-300: running on its emulated twin, QEMU mps3-an547 (${EMULATOR_ENV}=qemu)"
    # Boards without an FVP entry are not affected by any of it.
    assert plan_device(get_board("qemu-m4")).fvp is None


def test_a_required_fvp_that_is_missing_stops_the_plan_with_one_line(monkeypatch):
    monkeypatch.delenv(FVP_ENV, raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv(EMULATOR_ENV, "fvp")
    with pytest.raises(NoHardwareAttached) as e:
        plan_device(BOARD)
    assert "\n" not in str(e.value) and "docs/hardware.md" in str(e.value)


# ------------------------------------------------------------------ labels of FVP counts --

def _hello(kind: str) -> Hello:
    return Hello(1, 1, 2048, Capability.TENSOR, 32_000_000, kind, 65536, 65536, bytes(32), "0.1.0",
                 "corstone-300", "cortex-m55")


@pytest.mark.parametrize("kind", ["dwt-cycles", "icount-instructions"])
def test_whatever_the_firmware_counts_on_an_fvp_is_recorded_as_fvp_cycles(tmp_path, kind):
    target = FvpTarget(BOARD, tmp_path / "f.elf", tmp_path / "f.bin", fvp=tmp_path / U55)
    counted = target.counted(_hello(kind))
    assert counted.counter_kind == FVP_CYCLES and target.firmware_counter == kind
    assert f"read {kind}, recorded as {FVP_CYCLES}" in target.info.detail
    assert target.counted(_hello("none")).counter_kind == "none"   # no counter: nothing to label


def test_fvp_cycles_are_their_own_unit_and_never_time():
    assert counter_unit(FVP_CYCLES) == FVP_CYCLES
    assert counter_unit("icount-instructions") == "instructions" and counter_unit("dwt-cycles") == "cycles"
    c = CounterRecord.of(FVP_CYCLES, 32_000_000)
    assert c.unit == FVP_CYCLES and c.emulated
    assert not CounterRecord.of("dwt-cycles", 1).emulated and CounterRecord.of("icount-instructions", 1).emulated
    dev = DeviceRecord("emulated", f"fvp:{U55}", U55, "r", "0.1.0", 1, "corstone-300", "cortex-m55", 32_000_000,
                       FVP_CYCLES, 2048, "00", "ab", 1, 1)
    env = Environment("r1", "corstone-300", None, {}, "now", devices={"scenarios": dev})
    assert env.emulator == f"{U55} (FVP cycles)" and env.where == "emulated"


def test_reports_name_fvp_cycles_and_give_no_microseconds_or_milliseconds():
    import numpy as np
    import pandas as pd

    from harness.report import compare, html, markdown
    from harness.report.metrics import _latency_columns
    cols = _latency_columns({"counter_unit": FVP_CYCLES, "clock_hz": 32_000_000, "emulated": True}, "corstone-300",
                            np.array([1000.0, 1200.0, 1100.0]))
    assert cols["latency_median_cycles"] == 1100.0
    assert np.isnan(cols["latency_median_us"]) and np.isnan(cols["est_ms_at_clock"])
    row = pd.Series({"counter_unit": FVP_CYCLES, "counter_kind": FVP_CYCLES, **cols})
    assert markdown.latency_cell(row) == "1,100" and markdown.latency_cell(row, unit_in_cell=True) == "1,100 FVP cycles"
    assert markdown.latency_header({FVP_CYCLES}) == ("latency median (FVP cycles)", False)
    assert "neither a real core's cycles nor time" in markdown.latency_note(pd.DataFrame([row]))
    assert "not cycle-accurate" in html._e_unit(row)
    assert compare._latency(row) == (1100.0, FVP_CYCLES)   # never compared with a real board's cycles
    dev = DeviceRecord("emulated", f"fvp:{U55}", U55, "r", "0.1.0", 1, "corstone-300", "cortex-m55", 32_000_000,
                       FVP_CYCLES, 2048, "00", "ab", 1, 1)
    assert "Arm FVP cycles, not cycle-accurate, not time" in markdown.device_line(dev)


# ------------------------------------------------------------------ lifecycle (stand-in) --

def _target(image, **kw) -> FvpTarget:
    return FvpTarget(BOARD, image.elf, image.bin, **kw)


def test_start_connects_to_the_announced_port_and_stop_ends_the_fvp(standin, image):
    exe, args, pids = standin("listen")
    target = _target(image)
    with target:
        assert target.proc is not None and target.port.is_open
        assert announced_port(target._log_bytes(), "telnetterminal0") == target.tcp_port
        (argv,) = _lines(args)
        assert argv == fvp_command(BOARD, exe.resolve(), image.elf, int(argv[argv.index("-C") + 5].split("=")[1]))[1:]
        assert argv[:2] == ["-a", f"cpu0={image.elf}"]
    assert target.proc is None and target._port is None
    assert _gone(_lines(pids))
    target.stop()   # twice is fine


@pytest.mark.parametrize("mode,message", [
    ("exit", "exited with code 3"),
    ("silent", "announced no port for telnetterminal0"),
    ("no-listen", "did not accept a connection"),
])
def test_a_failed_start_stops_the_fvp_and_says_what_it_printed(standin, image, mode, message):
    _, _, pids = standin(mode)
    target = _target(image, connect_timeout=1.5)
    with pytest.raises(FvpError) as e:
        target.start()
    text = str(e.value)
    assert message in text and "FVP command: " in text and "cpu0.MVE=0" in text
    if mode == "exit":
        assert "could not load the application" in text
    assert target.proc is None
    assert _gone(_lines(pids))


def test_an_fvp_that_ignores_sigterm_is_killed(standin, image):
    _, _, pids = standin("stubborn")
    target = _target(image, stop_grace=0.5)
    target.start()
    (pid,) = _lines(pids)
    t0 = time.monotonic()
    target.stop()
    assert not _alive(pid) and time.monotonic() - t0 < 5


def test_what_a_wrapper_started_in_the_fvps_group_is_ended_too(standin, image):
    _, _, pids = standin("wrapper")
    target = _target(image)
    target.start()
    deadline = time.monotonic() + 5
    while len(_lines(pids)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    wrapper, child = _lines(pids)
    target.stop()
    assert _gone([wrapper, child])


def test_ctrl_c_during_start_stops_the_fvp(standin, image, monkeypatch):
    _, _, pids = standin("listen")
    target = _target(image)

    def interrupted(tcp):
        raise KeyboardInterrupt
    monkeypatch.setattr(target, "_connect", interrupted)
    with pytest.raises(KeyboardInterrupt):
        target.start()
    assert target.proc is None and _gone(_lines(pids))


_CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from harness.boards import get_board
    from harness.targets.fvp import FvpTarget
    t = FvpTarget(get_board("corstone-300"), Path(sys.argv[1]), Path(sys.argv[2]))
    t.start()
    print("started", flush=True)
    if sys.argv[3] == "exit":
        sys.exit(0)          # no stop(): interpreter exit must end the FVP
    time.sleep(600)          # killed by the test: the kernel must end the FVP
""")


@pytest.mark.parametrize("how", ["exit", "kill"])
def test_the_fvp_does_not_outlive_the_process_that_started_it(standin, image, how):
    _, _, pids = standin("listen")
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(image.elf), str(image.bin), how],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "started"
        (pid,) = _lines(pids)
        assert _alive(pid)
        if how == "kill":
            proc.send_signal(signal.SIGKILL)    # no atexit: PR_SET_PDEATHSIG ends it
        proc.wait(timeout=30)
        assert _gone([pid])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.emulator
def test_the_device_path_on_an_fvp_style_target_with_the_real_image(standin):
    """The plan, FvpTarget and the handshake with the corstone-300 image behind an FVP-style port (the
    stand-in runs the image on QEMU mps3-an547): the counts come back labelled as FVP cycles."""
    _, args, pids = standin("qemu")
    plan = plan_device(BOARD)
    assert plan.fvp is not None
    with open_device(plan) as dev:
        assert isinstance(dev.target, FvpTarget)
        assert dev.hello.board == "corstone-300" and dev.hello.core == "cortex-m55"
        assert dev.hello.counter_kind == FVP_CYCLES and dev.target.firmware_counter == "icount-instructions"
        data = os.urandom(5000)
        assert dev.link.round_trip(data)[0] == data
        assert dev.handshake().counter_kind == FVP_CYCLES   # every new session is labelled the same
        rec = dev.record()
        assert (rec.where, rec.physical_board, rec.runner, rec.counter_kind) == (
            "emulated", f"fvp:{U55}", U55, FVP_CYCLES)
        assert _lines(args)[0][:2] == ["-a", f"cpu0={dev.image.elf}"]
    assert dev.target.proc is None and _gone(_lines(pids))


# ------------------------------------------------------------------ a real FVP --

def _real_fvp() -> Path | None:
    if os.environ.get(EMULATOR_ENV, "").lower() == "qemu":
        return None
    try:
        return find_fvp(BOARD)
    except FvpError:
        return None


@pytest.mark.emulator
@pytest.mark.skipif(_real_fvp() is None, reason=f"no Arm Corstone-300 FVP ({U55} or {U65}) on PATH or in ${FVP_ENV}: "
                                                "it cannot be installed from a package registry; get it from Arm's "
                                                "Ecosystem FVPs on developer.arm.com (docs/hardware.md)")
class TestRealFvp:
    def test_the_image_boots_answers_and_counts(self, image):
        with FvpTarget(BOARD, image.elf, image.bin, fvp=_real_fvp()) as target:
            from harness.link import Link
            link = Link(target.port)
            hello = target.counted(link.handshake())
            assert (hello.board, hello.core, hello.counter_kind) == ("corstone-300", "cortex-m55", FVP_CYCLES)
            assert target.firmware_counter in ("dwt-cycles", "icount-instructions")
            data = os.urandom(5000)
            assert link.round_trip(data)[0] == data
            status = link.status()
            assert 0 < status.stack_peak < status.stack_size == BOARD.stack_size
            small, large = link.echo(4096).counter_delta, link.echo(32768).counter_delta
            assert 0 < small < large
        assert target.proc is None

    def test_the_device_path_chooses_it(self):
        plan = plan_device(BOARD)
        assert plan.fvp == str(_real_fvp()) and plan.physical_board.startswith("fvp:")
