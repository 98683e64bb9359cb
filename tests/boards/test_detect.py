"""USB detection: product codes to catalog names, list_ports matching, and clean fallbacks."""

import builtins
import logging
from pathlib import Path

import pytest
from serial.tools.list_ports_common import ListPortInfo

from harness.boards import boards, get_board
from harness.boards.detect import (
    ListPortsProvider, MbedToolsProvider, UsbProvider, board_for_product_code, boards_with_probe,
)


@pytest.mark.parametrize("code,name", [("0777", "nucleo-f446re"), ("0776", "nucleo-l4r5zi"),
                                       ("0764", "disco-l475vg-iot01a"), ("0836", "nucleo-h743zi2"),
                                       ("0240", "frdm-k64f")])
def test_product_codes_name_catalog_boards(code, name):
    assert board_for_product_code(code).name == name


def test_every_catalog_product_code_maps_back_to_its_board():
    for b in boards().values():
        if b.usb_product_code:
            assert board_for_product_code(b.usb_product_code) is b
            assert board_for_product_code(b.usb_product_code.lower()) is b


@pytest.mark.parametrize("code", [None, "", "9999", "07"])
def test_unknown_product_codes_name_nothing(code):
    assert board_for_product_code(code) is None


def test_mbed_tools_database_agrees_with_the_catalog(monkeypatch):
    """The offline database that ships with mbed-tools names the same boards the catalog does."""
    monkeypatch.setenv("MBED_DATABASE_MODE", "OFFLINE")
    mbed_targets = pytest.importorskip("mbed_tools.targets")
    for b in boards().values():
        if b.usb_product_code:
            entry = mbed_targets.get_board_by_product_code(b.usb_product_code)
            assert b.name.split("-", 1)[-1].upper().replace("-", "_") in entry.board_type, (b.name, entry.board_type)


def port(device, vid, pid, serial, product="STM32 STLink"):
    """A ListPortInfo filled in the way pyserial's Linux backend (SysFS) fills it for a USB CDC port."""
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid, info.serial_number = vid, pid, serial
    info.manufacturer, info.product, info.interface = "maker", product, None
    info.location = "1-2:1.1"
    info.apply_usb_info()
    return info


STLINK_V21 = (0x0483, 0x374B)
STLINK_V3 = (0x0483, 0x374E)
DAPLINK = (0x0D28, 0x0204)


def test_list_ports_names_a_daplink_by_the_product_code_in_its_serial():
    p = port("/dev/ttyACM0", *DAPLINK, "0240000032044e4500257009997b00386781000097969900", "DAPLink CMSIS-DAP")
    scan = ListPortsProvider(comports=lambda: [p]).scan()
    (a,) = scan.boards
    assert (a.board, a.probe_serial, a.port, a.source) == ("frdm-k64f", p.serial_number, "/dev/ttyACM0", "list_ports")


def test_list_ports_names_a_probe_only_one_catalog_board_has():
    p = port("/dev/ttyACM3", *STLINK_V3, "003A00283438510B34313939")
    (a,) = ListPortsProvider(comports=lambda: [p]).attached()
    assert a.board == "nucleo-h743zi2"


def test_list_ports_cannot_tell_nucleos_apart_and_says_which_they_could_be():
    """ST-LINK/V2-1 serials carry no product code (a serial starting 0777 is a coincidence, not a code)."""
    p = port("/dev/ttyACM0", *STLINK_V21, "0777FF485550755187121723")
    scan = ListPortsProvider(comports=lambda: [p]).scan()
    assert scan.boards == ()
    (u,) = scan.unidentified
    assert set(u.candidates) == {b.name for b in boards_with_probe(*STLINK_V21)}
    assert "nucleo-f446re" in u.candidates and "ST-LINK/V2-1 0483:374b" in u.describe()


def test_list_ports_skips_ports_of_other_devices_and_ports_without_usb():
    others = [port("/dev/ttyUSB0", 0x0403, 0x6001, "FT1"), ListPortInfo("/dev/ttyS0", skip_link_detection=True),
              port("/dev/ttyACM9", *DAPLINK, "")]
    assert ListPortsProvider(comports=lambda: others).scan().boards == ()


def test_two_identical_boards_are_told_apart_by_serial():
    a = port("/dev/ttyACM0", *DAPLINK, "0240000011111111")
    b = port("/dev/ttyACM1", *DAPLINK, "0240000022222222")
    found = ListPortsProvider(comports=lambda: [b, a]).attached()
    assert [(x.board, x.probe_serial, x.port) for x in found] == [
        ("frdm-k64f", "0240000011111111", "/dev/ttyACM0"), ("frdm-k64f", "0240000022222222", "/dev/ttyACM1")]


class _Dev:
    """Shaped like mbed_tools.devices.Device."""

    def __init__(self, code, serial, port, mount, name="", enabled=True):
        self.mbed_board = type("B", (), {"product_code": code, "board_name": name})()
        self.serial_number, self.serial_port, self.mount_points = serial, port, (Path(mount),) if mount else ()
        self.mbed_enabled = enabled


class _Connected:
    def __init__(self, identified=(), unidentified=()):
        self.identified_devices, self.unidentified_devices = list(identified), list(unidentified)


def test_mbed_tools_devices_map_to_catalog_boards_by_product_code():
    dev = _Dev("0777", "066BFF1", "/dev/ttyACM0", "/media/u/NODE_F446RE", "NUCLEO-F446RE")
    other = _Dev("0720", "0720AB", "/dev/ttyACM1", "/media/u/X", "NUCLEO-F401RE")
    scan = MbedToolsProvider(get_devices=lambda: _Connected([dev, other])).scan()
    (a,) = scan.boards
    assert (a.board, a.probe_serial, a.port, a.mount) == ("nucleo-f446re", "066BFF1", "/dev/ttyACM0", "/media/u/NODE_F446RE")
    (u,) = scan.unidentified
    assert "NUCLEO-F401RE" in u.describe() and "not in the catalog" in u.describe()


def test_usb_detection_merges_by_serial_and_fills_the_port_from_list_ports():
    dev = _Dev("0777", "066BFF1", None, "/media/u/NODE_F446RE", "NUCLEO-F446RE")
    ports = [port("/dev/ttyACM4", *STLINK_V21, "066BFF1"), port("/dev/ttyACM5", *DAPLINK, "0240000033")]
    usb = UsbProvider(MbedToolsProvider(get_devices=lambda: _Connected([dev])), ListPortsProvider(comports=lambda: ports))
    scan = usb.scan()
    assert [(a.board, a.port, a.source) for a in scan.boards] == [
        ("nucleo-f446re", "/dev/ttyACM4", "mbed-tools"), ("frdm-k64f", "/dev/ttyACM5", "list_ports")]
    assert scan.unidentified == ()     # the ST-LINK list_ports could not name is the one mbed-tools did


def test_without_mbed_tools_detection_falls_back_to_list_ports_and_says_so_in_the_debug_log(monkeypatch, caplog):
    real_import = builtins.__import__

    def no_mbed(name, *args, **kwargs):
        if name.startswith("mbed_tools"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_mbed)
    p = port("/dev/ttyACM0", *DAPLINK, "0240000032")
    with caplog.at_level(logging.DEBUG, logger="harness.boards.detect"):
        scan = UsbProvider(ports=ListPortsProvider(comports=lambda: [p])).scan()
    assert [a.board for a in scan.boards] == ["frdm-k64f"]
    assert "mbed-tools is not installed" in caplog.text and "falls back to list_ports" in caplog.text
    assert scan.sources[0].startswith("list_ports (mbed-tools is not installed")


def test_a_failing_mbed_tools_never_reaches_the_user(caplog):
    def broken():
        raise OSError("udev is not running")

    with caplog.at_level(logging.DEBUG, logger="harness.boards.detect"):
        scan = UsbProvider(MbedToolsProvider(get_devices=broken), ListPortsProvider(comports=lambda: [])).scan()
    assert scan.boards == () and "udev is not running" in caplog.text


def test_mbed_tools_warnings_go_to_the_debug_log_not_the_terminal(capsys, caplog):
    def noisy():
        logging.getLogger("mbed_tools.devices").error("Could not identify a board with the product code: '1234'.")
        return _Connected()

    with caplog.at_level(logging.DEBUG, logger="harness.boards.detect"):
        MbedToolsProvider(get_devices=noisy).scan()
    assert "1234" not in capsys.readouterr().err
    assert "mbed-tools: Could not identify" in caplog.text


def test_the_real_detection_runs_here_without_error():
    """On this machine (no probe attached, maybe no udev): an answer, never an exception."""
    scan = UsbProvider().scan()
    assert isinstance(scan.boards, tuple)
    assert get_board("nucleo-f446re").probe.usb_pid == 0x374B
