"""Real-board support end to end, against simulated boards (tests/simboard.py) at the USB boundary.

The harness code under test is the real one: detection through its providers
(mbed-tools reading the drive's files, list_ports records), the copy to the
drive and the wait for re-enumeration, the lease, the reconnection by serial
number, the hash check after flashing; the scenarios run in a pytest
subprocess with --hardware-map, as a lab would run them.
"""

import hashlib
import json
import os
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.paths import REPO_ROOT
from harness import firmware
from harness.boards import HardwareMapProvider, get_board
from harness.device import leased, open_device, plan_device
from harness.targets.hardware import FlashError, FlashVerifyError, HardwareTarget, lease_board
from simboard import SimBoard, SimUsb, write_sim_map

ROOT = REPO_ROOT
BOARD = get_board("nucleo-f446re")
SERIAL_1 = "066BFF555150836687103301"
SERIAL_2 = "066BFF555150836687103302"


@pytest.fixture(scope="module")
def image():
    return firmware.build(BOARD)


@pytest.fixture
def locks(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_LOCK_DIR", str(tmp_path / "locks"))
    monkeypatch.delenv("HARNESS_HARDWARE_MAP", raising=False)
    return tmp_path / "locks"


@pytest.fixture
def sim(tmp_path, locks):
    with SimBoard(tmp_path / "usb", SERIAL_1, boot_timeout=3) as s:
        yield s


@pytest.fixture
def two_sims(tmp_path, locks):
    with SimBoard(tmp_path / "usb", SERIAL_1, boot_timeout=3) as a, SimBoard(tmp_path / "usb", SERIAL_2, boot_timeout=3) as b:
        yield a, b


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_the_simulated_board_is_detected_like_a_real_one(sim):
    """No QEMU yet: mbed-tools names it from its drive, list_ports alone could not."""
    usb = SimUsb([sim])
    scan = usb.provider().scan()
    (a,) = scan.boards
    assert (a.board, a.probe_serial, a.port, a.mount, a.source) == (
        "nucleo-f446re", SERIAL_1, sim.pts, str(sim.drive), "mbed-tools")
    assert scan.unidentified == ()
    only_ports = usb.provider().ports.scan()
    assert only_ports.boards == () and "nucleo-f446re" in only_ports.unidentified[0].candidates


@pytest.mark.emulator
def test_detect_flash_by_copy_handshake_reenumerate_reset(sim, image):
    provider = SimUsb([sim]).provider()
    plan = plan_device(BOARD, provider=provider)
    assert plan.where == "hardware" and plan.reason.startswith(f"nucleo-f446re: real board, probe {SERIAL_1}")
    with open_device(plan) as dev:
        # flashed by copy: the very .bin went through the drive and boots on the twin
        assert sim.flashes == 1 and sim.images == [_sha(image.bin)] and sim.booted == [True]
        assert dev.target.info.where == "hardware" and dev.plan.physical_board == SERIAL_1
        assert dev.hello.model_hash == bytes(32) and dev.hello.board == "nucleo-f446re"

        # forced re-enumeration: the port goes, comes back as a new pty; found again by serial number
        sim.re_enumerate()
        assert dev.link.handshake().board == "nucleo-f446re"
        assert dev.target.reconnects == 1 and dev.target.attached.port == sim.pts
        back, _ = dev.link.round_trip(b"after re-enumeration" * 50)
        assert back == b"after re-enumeration" * 50

        # gone for a while, in the middle of a request: the link waits for it, then carries on
        sim.vanish()
        threading.Timer(1.0, sim.reappear).start()
        assert dev.link.handshake().board == "nucleo-f446re"
        assert dev.target.reconnects == 2
        assert sim.flashes == 1, "a re-enumeration is not a flash"

        # reset: an ST-LINK without pyOCD has none but a new flash
        assert dev.target.reset() == "reflash"
        assert sim.flashes == 2
        assert dev.link.handshake().board == "nucleo-f446re"
    with lease_board([dev.plan.attached], timeout=0):   # released when the session ended
        pass


@pytest.mark.emulator
def test_a_failed_flash_reports_the_probes_fail_txt(sim, image):
    sim.fail_next_flash("error: The interface firmware FAILED to reset/halt the target MCU\r\ntype: target\r\n")
    with pytest.raises(FlashError) as err:
        with open_device(plan_device(BOARD, provider=SimUsb([sim]).provider())):
            pass
    msg = str(err.value)
    assert msg == (f"nucleo-f446re (probe {SERIAL_1}) rejected firmware.bin: FAIL.TXT says: "
                   "error: The interface firmware FAILED to reset/halt the target MCU type: target")
    assert sim.flashes == 1 and not sim.running
    with lease_board([SimUsb([sim]).provider().attached()[0]], timeout=0):   # the lease went with the failure
        pass


@pytest.mark.emulator
def test_a_hash_mismatch_is_flashed_once_more_then_fails_clearly(sim, image):
    """The smoke image reports no model; a caller expecting a model's hash must be refused."""
    plan = plan_device(BOARD, provider=SimUsb([sim]).provider())
    want = hashlib.sha256(b"some model").hexdigest()
    with leased(plan) as plan:
        target = HardwareTarget(BOARD, plan.attached, image.elf, image.bin, expected_hash=want, provider=plan.provider)
        with pytest.raises(FlashVerifyError) as err:
            target.start()
    msg = str(err.value)
    assert sim.flashes == 2 and sim.images == [_sha(image.bin)] * 2
    assert "\n" not in msg and f"probe {SERIAL_1}" in msg and "flashed 2 times" in msg
    assert f"model hash none (zeros), expected {want[:16]}" in msg


@pytest.mark.emulator
def test_a_corrupted_flash_is_caught_by_the_handshake_and_the_second_flash_runs(sim, image):
    sim.corrupt_next_flash()
    plan = plan_device(BOARD, provider=SimUsb([sim]).provider())
    with leased(plan) as plan:
        target = HardwareTarget(BOARD, plan.attached, image.elf, image.bin, expected_hash=bytes(32),
                                provider=plan.provider)
        try:
            target.start()
            assert target.flashes == 2 and sim.booted == [False, True]
            assert target.hello.model_hash == bytes(32)
        finally:
            target.stop()


def _pytest(*args, env, timeout=240):
    return subprocess.run([sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider"], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, env=env)


def _junit(path):
    cases = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        failure = case.find("failure")
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        cases.setdefault(case.get("name"), []).append(
            ("failed" if failure is not None else "passed", failure.get("message") if failure is not None else "",
             props.get("physical_board")))
    return cases


@pytest.mark.emulator
def test_the_smoke_scenarios_run_on_the_simulated_board(sim, tmp_path):
    """`pytest scenarios --board=nucleo-f446re --hardware-map MAP` as a lab runs it, on the simulated board.

    One check is meant to fail here: on real hardware the smoke scenario expects the DWT
    cycle counter and the catalog clock, and the simulated board's MCU is QEMU's twin,
    which has neither. Everything else passes."""
    hw_map = write_sim_map(tmp_path / "sim-map.yaml", [sim])
    report = tmp_path / "report"
    r = _pytest("scenarios/test_smoke.py", "--board=nucleo-f446re", f"--hardware-map={hw_map}",
                f"--report-dir={report}", env=os.environ.copy())
    out = r.stdout + r.stderr
    assert f"board: nucleo-f446re: real board, probe {SERIAL_1}" in out, out[-3000:]
    cases = _junit(report / "junit.xml")
    assert set(cases) == {"test_handshake", "test_hello_matches_catalog", "test_tensor_echo_64k",
                          "test_corrupted_frame_gets_typed_error_and_link_recovers", "test_stack_peak_is_measured"}
    for name, [(outcome, message, physical)] in cases.items():
        assert physical == SERIAL_1
        if name == "test_hello_matches_catalog":
            assert outcome == "failed" and "icount-instructions" in message and "dwt-cycles" in message, message
        else:
            assert outcome == "passed", (name, message, out[-3000:])
    env = json.loads((report / "environment.json").read_text())
    assert env["where"] == "hardware" and env["physical_boards"] == [SERIAL_1]
    assert f"| {SERIAL_1} |" in (report / "summary.md").read_text()
    assert sim.flashes == 1


@pytest.mark.emulator
def test_two_xdist_workers_lease_two_different_boards(two_sims, tmp_path):
    a, b = two_sims
    hw_map = write_sim_map(tmp_path / "sim-map.yaml", [a, b])
    report = tmp_path / "report"
    r = _pytest("scenarios/test_smoke.py", "-n", "2", "--dist", "each", "-k", "handshake or stack_peak",
                "--board=nucleo-f446re", f"--hardware-map={hw_map}", f"--report-dir={report}", env=os.environ.copy())
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    cases = _junit(report / "junit.xml")
    for name in ("test_handshake", "test_stack_peak_is_measured"):
        assert sorted(p for _, _, p in cases[name]) == [SERIAL_1, SERIAL_2], cases   # once on each board
    env = json.loads((report / "environment.json").read_text())
    assert env["physical_boards"] == [SERIAL_1, SERIAL_2]
    assert sorted(d["physical_board"] for d in env["devices"].values()) == [SERIAL_1, SERIAL_2]
    assert a.flashes == 1 and b.flashes == 1
    summary = (report / "summary.md").read_text()
    assert f"| {SERIAL_1} |" in summary and f"| {SERIAL_2} |" in summary


def test_more_workers_than_boards_is_refused_at_once(sim, tmp_path):
    hw_map = write_sim_map(tmp_path / "sim-map.yaml", [sim])
    r = _pytest("scenarios/test_smoke.py", "-n", "2", "--board=nucleo-f446re", f"--hardware-map={hw_map}",
                env=os.environ.copy(), timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode != 0 and "-n 2: only 1 nucleo-f446re board(s) attached" in out, out[-2000:]
    assert sim.flashes == 0


def test_boards_lists_the_boards_of_a_hardware_map(sim, tmp_path):
    absent = SimBoard(tmp_path / "usb", "066BFF000000000000000099")   # never started: its port is not there
    hw_map = write_sim_map(tmp_path / "sim-map.yaml", [sim, absent])
    r = subprocess.run([sys.executable, "-m", "harness", "boards", "--hardware-map", str(hw_map)], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"1 board(s) attached (hardware map {hw_map}):"
    assert f"nucleo-f446re (probe {SERIAL_1}, port {sim.link}, drive {sim.drive})" in r.stdout
    assert "in the map but not present: nucleo-f446re (probe 066BFF000000000000000099)" in r.stdout
    assert any(l.startswith("nucleo-f446re") and l.endswith(f"real board: probe {SERIAL_1}") for l in lines)
    assert HardwareMapProvider(hw_map).attached()[0].mount == str(sim.drive)


@pytest.mark.emulator
def test_hello_flashes_the_board_of_a_hardware_map(sim, tmp_path):
    hw_map = write_sim_map(tmp_path / "sim-map.yaml", [sim])
    r = subprocess.run([sys.executable, "-m", "harness", "hello", "--board", "nucleo-f446re", "--hardware-map",
                        str(hw_map)], cwd=ROOT, capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"nucleo-f446re: real board, probe {SERIAL_1} on {sim.link}")
    assert "flashed by mass-storage; 1 flash(es), image verified by its handshake" in r.stdout
    assert "model hash " + "0" * 64 in r.stdout
    sim.fail_next_flash("The target MCU is locked\r\n")
    r = subprocess.run([sys.executable, "-m", "harness", "hello", "--board", "nucleo-f446re", "--hardware-map",
                        str(hw_map)], cwd=ROOT, capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("error: ") and "FAIL.TXT says: The target MCU is locked" in r.stderr
