"""The harness against a real labgrid coordinator and exporter on 127.0.0.1, exporting a simulated board.

The fixtures (conftest.py) start labgrid-coordinator, the simulated
NUCLEO-F446RE and labgrid-exporter (whose ser2net serves the board's serial
port), and make the place sim-nucleo-1. The harness runs as a lab user runs
it, in subprocesses: it acquires the place on the coordinator, flashes the
board, talks to it through ser2net and releases the place.
"""

import json
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from labsetup import EXPORTER, PLACE, PLACE_2, ROOT, wait_for

PHYSICAL = f"{PLACE}@{EXPORTER}"


@pytest.mark.emulator
def test_hello_acquires_flashes_talks_and_releases(lab, free_place):
    sim = free_place.sim
    before = sim.flashes
    r = lab.harness("hello", "--board", "nucleo-f446re", "--place", PLACE, "--coordinator", lab.address,
                    "--hardware-map", str(free_place.map))
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"nucleo-f446re: labgrid place {PHYSICAL} (coordinator {lab.address}), acquired", r.stdout
    assert "flashed by drive; 1 flash(es), image verified by its handshake" in lines[1]
    assert "model hash " + "0" * 64 in r.stdout
    assert sim.flashes == before + 1


def _junit(path):
    cases = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        failure = case.find("failure")
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        cases[case.get("name")] = ("failed" if failure is not None else "passed",
                                   failure.get("message") if failure is not None else "", props.get("physical_board"))
    return cases


@pytest.fixture(scope="module")
def har_model(tmp_path_factory):
    from harness import train as tr
    out = tmp_path_factory.mktemp("models") / "har-kp-lstm"
    tr.train("har", "kp", out, hidden=8, epochs=1, progress=False)
    return out


@pytest.mark.emulator
def test_smoke_and_model_scenarios_through_the_coordinator(lab, free_place, har_model, tmp_path):
    """`pytest scenarios/ --board=nucleo-f446re` with the place from $LG_PLACE and $LG_COORDINATOR, as a
    labgrid user's shell has them; the hardware map (from $HARNESS_HARDWARE_MAP) names the drive.

    As on the simulated board at the USB boundary (tests/targets/test_simboard.py), one smoke check fails by
    design: the real-board branch expects the DWT cycle counter, and the simulated board's MCU is QEMU's."""
    report = tmp_path / "report"
    r = lab.pytest("scenarios", "--board=nucleo-f446re", "--models", str(har_model), "--limit", "20",
                   f"--report-dir={report}", env={"LG_PLACE": PLACE, "HARNESS_HARDWARE_MAP": str(free_place.map)})
    out = r.stdout + r.stderr
    assert f"board: nucleo-f446re: labgrid place {PLACE} on coordinator {lab.address}" in out, out[-3000:]
    cases = _junit(report / "junit.xml")
    assert set(cases) == {"test_handshake", "test_hello_matches_catalog", "test_tensor_echo_64k",
                          "test_corrupted_frame_gets_typed_error_and_link_recovers", "test_stack_peak_is_measured",
                          "test_model_on_device[har-kp-lstm]"}, out[-3000:]
    for name, (outcome, message, physical) in cases.items():
        assert physical == PHYSICAL, (name, physical)
        if name == "test_hello_matches_catalog":
            assert outcome == "failed" and "icount-instructions" in message, message
        else:
            assert outcome == "passed", (name, message, out[-3000:])
    env = json.loads((report / "environment.json").read_text())
    assert env["where"] == "hardware" and env["physical_boards"] == [PHYSICAL]
    for device in env["devices"].values():
        assert device["physical_board"] == PHYSICAL
        assert device["runner"] == f"labgrid place {PHYSICAL}"
        assert device["reason"] == f"nucleo-f446re: labgrid place {PHYSICAL} (coordinator {lab.address}), acquired"
    samples = [json.loads(line) for line in (report / "samples.jsonl").read_text().splitlines()]
    assert samples and {s["physical_board"] for s in samples} == {PHYSICAL}
    assert f"| {PHYSICAL} |" in (report / "summary.md").read_text()


@pytest.mark.emulator
def test_two_xdist_workers_acquire_two_places(lab, free_place, tmp_path):
    report = tmp_path / "report"
    r = lab.pytest("scenarios/test_smoke.py", "-n", "2", "--dist", "each", "-k", "handshake or stack_peak",
                   "--board=nucleo-f446re", f"--hardware-map={free_place.both_map}", f"--report-dir={report}")
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    env = json.loads((report / "environment.json").read_text())
    assert env["physical_boards"] == sorted([PHYSICAL, f"{PLACE_2}@{EXPORTER}"])
    assert [s.flashes > 0 for s in free_place.sims] == [True, True]


def test_more_workers_than_places_is_refused_at_once(lab, free_place):
    r = lab.pytest("scenarios/test_smoke.py", "-n", "3", "--board=nucleo-f446re",
                   f"--hardware-map={free_place.both_map}", timeout=120)
    assert r.returncode != 0 and f"-n 3: only 2 labgrid place(s) hold a nucleo-f446re ({PLACE}, {PLACE_2})" in \
        r.stdout + r.stderr, (r.stdout + r.stderr)[-2000:]


def _holding(lab, user="alice", host="bench-2"):
    lab.client("-p", PLACE, "acquire", user=user, host=host)
    assert lab.acquired_by(PLACE) == f"{host}/{user}"


def test_a_place_someone_else_holds_is_refused_after_the_wait_naming_the_holder(lab, free_place):
    flashes = free_place.sim.flashes
    _holding(lab)
    try:
        r = lab.harness("hello", "--board", "nucleo-f446re", "--hardware-map", str(free_place.map),
                        env={"HARNESS_LEASE_TIMEOUT": "1"})
    finally:
        lab.client("-p", PLACE, "release", user="alice", host="bench-2")
    assert r.returncode == 2, r.stdout + r.stderr
    waiting, error = r.stderr.splitlines()
    assert waiting.startswith(f"waiting for a labgrid place for nucleo-f446re: {PLACE}: acquired by bench-2/alice since ")
    assert error.startswith(f"error: every labgrid place for nucleo-f446re is in use ({PLACE}: acquired by "
                            "bench-2/alice since "), error
    assert error.endswith("; waited 1 s (set HARNESS_LEASE_TIMEOUT to wait longer)"), error
    assert free_place.sim.flashes == flashes   # nothing was flashed meanwhile


@pytest.mark.emulator
def test_a_place_someone_else_holds_is_waited_for(lab, free_place, tmp_path):
    _holding(lab)
    err = tmp_path / "stderr"
    flashes = free_place.sim.flashes
    with open(err, "w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "harness", "hello", "--board", "nucleo-f446re", "--hardware-map",
                                 str(free_place.map)], cwd=ROOT, env=lab.env, stdout=subprocess.PIPE, stderr=fh,
                                text=True, stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: "waiting for a labgrid place" in err.read_text() or proc.poll() is not None,
                 "the harness to say it waits", 60)
        assert proc.poll() is None, err.read_text()
        assert free_place.sim.flashes == flashes
        lab.client("-p", PLACE, "release", user="alice", host="bench-2")
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if lab.acquired_by(PLACE) == "bench-2/alice":
            lab.client("-p", PLACE, "release", user="alice", host="bench-2")
    assert proc.returncode == 0, out + err.read_text()
    assert out.startswith(f"nucleo-f446re: labgrid place {PHYSICAL}"), out
    assert err.read_text().count("\n") == 1   # the one line that said who held it
    assert free_place.sim.flashes == flashes + 1


@pytest.mark.emulator
def test_a_place_you_acquired_by_hand_is_used_and_left_acquired(lab, free_place):
    lab.client("-p", PLACE, "acquire")      # this host and user, as the harness is
    me = lab.acquired_by(PLACE)
    try:
        r = lab.harness("hello", "--board", "nucleo-f446re", "--hardware-map", str(free_place.map))
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.stdout.splitlines()[0].endswith(", already acquired by you; left acquired"), r.stdout
        assert lab.acquired_by(PLACE) == me
    finally:
        lab.client("-p", PLACE, "release")


@pytest.fixture
def deaf_map(tmp_path, free_place, lab):
    """The place with a drive nobody takes an image from: the harness holds the place while it waits for the
    probe (up to 30 s), which is when the tests below interrupt it."""
    deaf = tmp_path / "NODE_DEAF"
    deaf.mkdir()
    path = tmp_path / "deaf-map.yaml"
    path.write_text(f"boards:\n  - board: nucleo-f446re\n    place: {PLACE}\n    coordinator: {lab.address}\n"
                    f"    drive: {deaf}\n")
    return path


def _interrupt_once_acquired(lab, cmd, sig, env=None):
    from procs import default_signals
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**lab.env, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL, preexec_fn=default_signals)
    try:
        wait_for(lambda: lab.acquired_by(PLACE) or proc.poll() is not None, "the harness to acquire the place", 60)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out, err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_run_releases_the_place(lab, free_place, deaf_map, sig):
    code, out, err = _interrupt_once_acquired(
        lab, [sys.executable, "-m", "harness", "hello", "--board", "nucleo-f446re", "--hardware-map", str(deaf_map)], sig)
    assert code == 130 and err.strip().splitlines()[-1] == "interrupted", (code, out, err)
    assert lab.acquired_by(PLACE) is None      # free_place checks it too


def test_a_terminated_pytest_session_releases_the_place(lab, free_place, deaf_map):
    code, out, err = _interrupt_once_acquired(
        lab, [sys.executable, "-m", "pytest", "scenarios/test_smoke.py", "--board=nucleo-f446re",
              f"--hardware-map={deaf_map}", "-p", "no:cacheprovider"], signal.SIGTERM)
    assert code != 0 and lab.acquired_by(PLACE) is None, (code, out[-2000:], err[-2000:])


# -- bad input: one line each -------------------------------------------------------------

def _one_error_line(r) -> str:
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and r.stderr.startswith("error: "), r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    return r.stderr.strip()


def test_an_unknown_place(lab, exported):
    line = _one_error_line(lab.harness("hello", "--board", "nucleo-f446re", "--place", "no-such-place"))
    assert line == (f"error: labgrid place no-such-place does not exist on coordinator {lab.address} (places there: "
                    f"{PLACE}, {PLACE_2}); a lab owner adds it with labgrid-client -p no-such-place create"), line


def test_an_unreachable_coordinator(lab):
    from harness.targets.qemu import free_port
    dead = f"127.0.0.1:{free_port()}"
    line = _one_error_line(lab.harness("hello", "--board", "nucleo-f446re", "--place", PLACE, "--coordinator", dead))
    assert line.startswith(f"error: cannot reach the labgrid coordinator at {dead} ("), line
    assert line.endswith("is labgrid-coordinator running there? Give its address with --coordinator HOST:PORT or "
                         "$LG_COORDINATOR"), line


def test_a_place_without_a_serial_port_is_refused_and_released(lab, exported):
    lab.client("-p", "bare-place", "create")
    try:
        line = _one_error_line(lab.harness("hello", "--board", "nucleo-f446re", "--place", "bare-place"))
        assert line.startswith("error: labgrid place bare-place has no serial port: none of its resources (0) is a "
                               "NetworkSerialPort"), line
        assert lab.acquired_by("bare-place") is None
    finally:
        lab.client("-p", "bare-place", "delete")


def test_a_place_tagged_for_another_board(lab, exported):
    line = _one_error_line(lab.harness("hello", "--board", "frdm-k64f", "--place", PLACE))
    assert line == f"error: labgrid place {PLACE} holds a nucleo-f446re (its board tag), not a frdm-k64f", line


def test_pytest_refuses_an_unknown_place_before_any_test(lab, exported):
    r = lab.pytest("scenarios/test_smoke.py", "--board=nucleo-f446re", "--place=no-such-place", timeout=120)
    assert r.returncode == 4, r.stdout + r.stderr
    assert f"ERROR: labgrid place no-such-place does not exist on coordinator {lab.address}" in r.stderr, r.stderr
    assert "Traceback" not in r.stdout + r.stderr


def test_boards_lists_the_place_and_who_holds_it(lab, free_place):
    _holding(lab)
    try:
        r = lab.harness("boards", "--hardware-map", str(free_place.map))
    finally:
        lab.client("-p", PLACE, "release", user="alice", host="bench-2")
    assert r.returncode == 0, r.stderr
    assert "1 labgrid place(s):" in r.stdout
    assert f"  {PLACE} on {lab.address}: acquired by bench-2/alice since " in r.stdout
    assert any(l.startswith("nucleo-f446re") and l.endswith(f"labgrid place: {PLACE} ({lab.address})")
               for l in r.stdout.splitlines()), r.stdout
