"""Fixtures: a labgrid lab on this machine, a real coordinator and exporter on 127.0.0.1 exporting a simulated
board; the pieces and what they stand for are described in labsetup.py."""

from __future__ import annotations

import shutil
import socket
import tempfile
import uuid
from pathlib import Path

import pytest

from harness.targets.qemu import free_port
from labsetup import EXPORTER, PLACE, PLACE_2, SERIAL, SERIAL_2, ExportedSim, Lab, Proc, lab_missing, tool, wait_for
from simboard import SimBoard

@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """A running labgrid coordinator on 127.0.0.1."""
    why = lab_missing()
    if why:
        pytest.skip(why)
    root = tmp_path_factory.mktemp("lab")
    (root / "coordinator").mkdir()
    for _ in range(3):
        port = free_port()
        address = f"127.0.0.1:{port}"
        coordinator = Proc([tool("labgrid-coordinator"), "-l", address], cwd=root / "coordinator",
                           log=root / "coordinator.log")
        try:
            def listening():
                if not coordinator.alive():
                    return "exited"
                with socket.socket() as s:
                    s.settimeout(1)
                    return "up" if s.connect_ex(("127.0.0.1", port)) == 0 else None
            state = wait_for(listening, "labgrid-coordinator to listen", 30)
        except BaseException:
            coordinator.stop()
            raise
        if state == "up":
            break
        coordinator.stop()   # the port was taken between our probe and its bind
    else:
        raise AssertionError(f"labgrid-coordinator did not start: {coordinator.text()[-2000:]}")
    try:
        yield Lab(root, address)
    finally:
        coordinator.stop()


@pytest.fixture(scope="session")
def exported(lab):
    """Two simulated boards, exported by labgrid-exporter (groups sim-1, sim-2) and matched by the places
    sim-nucleo-1 and sim-nucleo-2; `map` names the first place, `both_map` both."""
    shm = Path(tempfile.mkdtemp(prefix=f"kp-harness-{uuid.uuid4().hex[:8]}-", dir="/dev/shm"))
    sims = [SimBoard(lab.root / "usb", serial, boot_timeout=3) for serial in (SERIAL, SERIAL_2)]
    exporter = None
    try:
        config = ""
        for i, sim in enumerate(sims, 1):
            sim.start()
            tty = shm / f"ttyACM-sim{i}"
            tty.symlink_to(sim.link)
            config += f"sim-{i}:\n  RawSerialPort:\n    port: {tty}\n    speed: {sim.board.serial.baud}\n"
        (lab.root / "exporter.yaml").write_text(config)
        exporter = Proc([tool("labgrid-exporter"), "-c", lab.address, "-n", EXPORTER, "--hostname", "127.0.0.1",
                         str(lab.root / "exporter.yaml")], cwd=lab.root, log=lab.root / "exporter.log", env=lab.env,
                        group=True)

        def registered():
            if not exporter.alive():
                raise AssertionError(f"labgrid-exporter exited: {exporter.text()[-2000:]}")
            out = lab.client("resources").stdout
            return all(f"{EXPORTER}/sim-{i}/NetworkSerialPort" in out for i in (1, 2))
        wait_for(registered, "the exporter's resources at the coordinator", 60, poll=0.3)
        entries = []
        for i, (place, sim) in enumerate(zip((PLACE, PLACE_2), sims), 1):
            lab.client("-p", place, "create")
            lab.client("-p", place, "add-match", f"{EXPORTER}/sim-{i}/NetworkSerialPort/*")
            lab.client("-p", place, "set-tags", "board=nucleo-f446re")
            entries.append(f"  - board: nucleo-f446re\n    place: {place}\n    coordinator: {lab.address}\n"
                           f"    drive: {sim.drive}\n    notes: simulated board {i} behind a local labgrid exporter\n")
        hw_map, both = lab.root / "lab-map.yaml", lab.root / "lab-map-both.yaml"
        hw_map.write_text("boards:\n" + entries[0])
        both.write_text("boards:\n" + "".join(entries))
        yield ExportedSim(sims, hw_map, both, exporter)
    finally:
        if exporter is not None:
            exporter.stop()
        for sim in sims:
            sim.stop()
        shutil.rmtree(shm, ignore_errors=True)


@pytest.fixture
def free_place(lab, exported):
    """The places, checked free before and after a test (a test that leaves one acquired fails here)."""
    for place in (PLACE, PLACE_2):
        assert lab.acquired_by(place) is None, place
    yield exported
    held = {place: lab.acquired_by(place) for place in (PLACE, PLACE_2)}
    for place, who in held.items():
        if who:
            lab.client("-p", place, "release", "--kick", check=False)
    assert not any(held.values()), f"left acquired: {held}"
