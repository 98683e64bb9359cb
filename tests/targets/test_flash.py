"""Flashing without a board: drive copies against a scripted drive, pyOCD's absence, packs, verification."""

import builtins
import shutil
import sys
import threading
import time
import types

import pytest

from harness.boards import AttachedBoard, get_board
from harness.targets.hardware import FlashError, FlashVerifyError, PyOCDUnavailable, flash_and_verify
from harness.targets.hardware import flash as fl
from harness.targets.hello import NO_MODEL, expected_hash
from harness.link import HandshakeError
from harness.link.messages import Capability, Hello

F446 = get_board("nucleo-f446re")
K64F = get_board("frdm-k64f")
ATTACHED = AttachedBoard("nucleo-f446re", "066BFF01", "/dev/ttyACM0")


@pytest.fixture
def image(tmp_path):
    p = tmp_path / "firmware.bin"
    p.write_bytes(bytes(range(256)) * 40)
    return p


def _unmount(path):
    """Gone at once, as an unmounted drive is (rmtree alone empties it first, which looks like a consumed file)."""
    gone = path.with_name(path.name + ".gone")
    path.rename(gone)
    shutil.rmtree(gone)


class ScriptedDrive:
    """A drive that takes a file like a probe: after `delay`, it goes away (or not) and comes back."""

    def __init__(self, path, *, vanish=True, fail=None, consume=True, delay=0.1):
        self.path, self.vanish, self.fail, self.consume, self.delay = path, vanish, fail, consume, delay
        path.mkdir()
        (path / "MBED.HTM").write_text("code=0777")
        self.got = None
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            files = list(self.path.glob("*.bin"))
            if files and files[0].stat().st_size > 0:
                time.sleep(self.delay)
                self.got = files[0].read_bytes()
                if self.vanish:   # the drive goes at once and comes back whole, FAIL.TXT included, as a mount does
                    _unmount(self.path)
                    time.sleep(0.1)
                    staging = self.path.with_name(".staging")
                    staging.mkdir()
                    (staging / "MBED.HTM").write_text("code=0777")
                    if self.fail is not None:
                        (staging / "FAIL.TXT").write_text(self.fail)
                    staging.rename(self.path)
                elif self.consume:
                    if self.fail is not None:
                        (self.path / "FAIL.TXT").write_text(self.fail)
                    files[0].unlink()
                return
            time.sleep(0.01)


def test_copy_waits_for_the_re_enumeration(tmp_path, image):
    drive = ScriptedDrive(tmp_path / "NODE")
    assert fl.copy_to_drive(image, drive.path, timeout=5) == drive.path
    assert drive.got == image.read_bytes()


def test_a_probe_that_consumes_the_file_without_leaving_the_bus_is_done_too(tmp_path, image):
    drive = ScriptedDrive(tmp_path / "NODE", vanish=False)
    fl.copy_to_drive(image, drive.path, timeout=5)
    assert drive.got == image.read_bytes()


def test_fail_txt_text_is_the_error(tmp_path, image):
    ScriptedDrive(tmp_path / "NODE", fail="The hex file cannot be decoded.\r\nChecksum error\r\n")
    with pytest.raises(FlashError) as err:
        fl.copy_to_drive(image, tmp_path / "NODE", what="nucleo-f446re (probe 066BFF01)", timeout=5)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg == ("nucleo-f446re (probe 066BFF01) rejected firmware.bin: FAIL.TXT says: "
                   "The hex file cannot be decoded. Checksum error")


def test_a_drive_that_never_takes_the_file_times_out_clearly(tmp_path, image):
    (tmp_path / "NODE").mkdir()
    with pytest.raises(FlashError) as err:
        fl.copy_to_drive(image, tmp_path / "NODE", timeout=0.5)
    assert "did not re-enumerate" in str(err.value) and "\n" not in str(err.value)


def test_an_absent_drive_says_what_to_do(tmp_path, image):
    with pytest.raises(FlashError) as err:
        fl.copy_to_drive(image, tmp_path / "nowhere", timeout=1)
    assert "is not mounted" in str(err.value) and "pyocd" in str(err.value)


def test_the_drive_may_come_back_elsewhere(tmp_path, image):
    first = tmp_path / "NODE_F446RE"
    second = tmp_path / "NODE_F446RE1"
    first.mkdir()

    def probe():
        while not list(first.glob("*.bin")):
            time.sleep(0.01)
        time.sleep(0.05)
        _unmount(first)
        time.sleep(0.1)
        second.mkdir()

    threading.Thread(target=probe, daemon=True).start()
    got = fl.copy_to_drive(image, first, timeout=5, relocate=lambda: str(second) if second.exists() else None)
    assert got == second


def test_mass_storage_flasher_without_a_drive_says_so(image):
    with pytest.raises(FlashError) as err:
        fl.MassStorageFlasher(F446, ATTACHED).flash(image)
    assert "no USB drive found for this probe" in str(err.value)


@pytest.fixture
def no_pyocd(monkeypatch):
    real_import = builtins.__import__

    def imp(name, *args, **kwargs):
        if name == "pyocd" or name.startswith("pyocd."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", imp)
    for m in [m for m in sys.modules if m == "pyocd" or m.startswith("pyocd.")]:
        monkeypatch.delitem(sys.modules, m)


def test_pyocd_missing_says_how_to_install_it(no_pyocd):
    a = AttachedBoard("nucleo-f446re", "066BFF01", "/dev/ttyACM0", flash_method="pyocd")
    with pytest.raises(PyOCDUnavailable) as err:
        fl.flasher_for(F446, a)
    assert "pip install 'kp-harness[pyocd]'" in str(err.value) and "\n" not in str(err.value)
    assert not fl.pyocd_available()
    assert fl.reset_method(F446, a) == "reflash"          # ST-LINK: no break reset, no pyOCD
    assert fl.reset_method(K64F, a) == "serial-break"     # DAPLink resets on a serial break


def test_a_missing_device_pack_is_named_with_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_PYOCD_PACKS", str(tmp_path / "packs"))
    monkeypatch.delenv("HARNESS_PYOCD_PACK", raising=False)
    monkeypatch.setattr(fl, "_managed_pack_knows", lambda target: False)
    with pytest.raises(PyOCDUnavailable) as err:
        fl.resolve_pack(F446, ATTACHED)
    msg = str(err.value)
    assert "Keil.STM32F4xx_DFP" in msg and "stm32f446retx" in msg and "pyocd_pack:" in msg and str(tmp_path / "packs") in msg


def test_device_packs_are_found_by_map_entry_env_or_folder(tmp_path, monkeypatch):
    packs = tmp_path / "packs"
    packs.mkdir()
    monkeypatch.setenv("HARNESS_PYOCD_PACKS", str(packs))
    monkeypatch.delenv("HARNESS_PYOCD_PACK", raising=False)
    for v in ("2.16.0", "2.17.1"):
        (packs / f"Keil.STM32F4xx_DFP.{v}.pack").write_bytes(b"PK")
    assert fl.resolve_pack(F446, ATTACHED).endswith("Keil.STM32F4xx_DFP.2.17.1.pack")
    mine = tmp_path / "mine.pack"
    mine.write_bytes(b"PK")
    monkeypatch.setenv("HARNESS_PYOCD_PACK", str(mine))
    assert fl.resolve_pack(F446, ATTACHED) == str(mine)
    entry = AttachedBoard("nucleo-f446re", "s", "/dev/x", pyocd_pack=str(tmp_path / "absent.pack"))
    with pytest.raises(PyOCDUnavailable, match="absent.pack .from the hardware map. does not exist"):
        fl.resolve_pack(F446, entry)
    assert fl.resolve_pack(K64F, None) is None           # pyOCD has the K64F built in


def test_pyocd_flashing_goes_by_probe_serial_with_the_pack(tmp_path, monkeypatch, image):
    """pyOCD's API as the flasher uses it, with a stand-in module: probe serial, target, pack, base address."""
    calls = {}

    class Session:
        def __init__(self, **kw):
            calls["session"] = kw
            self.target = types.SimpleNamespace(reset=lambda: calls.setdefault("reset", True))

        def __enter__(self):
            return self

        def __exit__(self, *a):
            pass

    class ConnectHelper:
        @staticmethod
        def session_with_chosen_probe(**kw):
            return Session(**kw)

    class FileProgrammer:
        def __init__(self, session):
            pass

        def program(self, path, **kw):
            calls["program"] = (path, kw)

    pyocd = types.ModuleType("pyocd")
    modules = {"pyocd": pyocd, "pyocd.core": types.ModuleType("pyocd.core"),
               "pyocd.core.helpers": types.SimpleNamespace(ConnectHelper=ConnectHelper),
               "pyocd.flash": types.ModuleType("pyocd.flash"),
               "pyocd.flash.file_programmer": types.SimpleNamespace(FileProgrammer=FileProgrammer)}
    for name, mod in modules.items():
        monkeypatch.setitem(sys.modules, name, mod)
    pack = tmp_path / "Keil.STM32F4xx_DFP.2.17.1.pack"
    pack.write_bytes(b"PK")
    a = AttachedBoard("nucleo-f446re", "066BFF01", "/dev/ttyACM0", flash_method="pyocd", pyocd_pack=str(pack))
    flasher = fl.flasher_for(F446, a)
    assert flasher.name == "pyocd" and flasher.keeps_port
    flasher.flash(image)
    assert calls["session"]["unique_id"] == "066BFF01"
    assert calls["session"]["options"] == {"target_override": "stm32f446retx", "pack": str(pack)}
    assert calls["program"] == (str(image), {"file_format": "bin", "base_address": 0x08000000})
    assert calls["reset"]


NUCLEO = get_board("nucleo-f446re")


def _hello(model_hash=NO_MODEL, board="nucleo-f446re"):
    return Hello(1, 1, 1024, Capability.TENSOR, 16_000_000, "dwt-cycles", 4096, 4096, model_hash, "0.1.0", board,
                 "cortex-m4")


def test_verification_passes_on_the_first_matching_handshake():
    flashed = []
    hello = flash_and_verify(lambda: flashed.append(1), _hello, NUCLEO, None, what="b")
    assert hello.model_hash == NO_MODEL and flashed == [1]


def test_a_mismatch_is_flashed_once_more_then_fails_clearly():
    flashed = []
    want = bytes(range(32))
    with pytest.raises(FlashVerifyError) as err:
        flash_and_verify(lambda: flashed.append(1), _hello, NUCLEO, want, what="nucleo-f446re (probe X)")
    assert flashed == [1, 1]
    msg = str(err.value)
    assert "\n" not in msg and "flashed 2 times" in msg and "flash 1: model hash none (zeros), expected 0001020304050607" in msg


def test_a_board_that_answers_on_the_second_flash_is_accepted():
    answers = iter([HandshakeError("no HELLO_ACK"), _hello(bytes(range(32)))])

    def handshake():
        a = next(answers)
        if isinstance(a, Exception):
            raise a
        return a

    hello = flash_and_verify(lambda: None, handshake, NUCLEO, bytes(range(32)).hex(), what="b")
    assert hello.model_hash == bytes(range(32))


def test_an_image_for_another_board_does_not_verify():
    with pytest.raises(FlashVerifyError, match="runs an image for 'qemu-m4'"):
        flash_and_verify(lambda: None, lambda: _hello(board="qemu-m4"), NUCLEO, None, what="b")


def test_flash_errors_are_final():
    def flash():
        raise FlashError("FAIL.TXT says: no")

    with pytest.raises(FlashError):
        flash_and_verify(flash, _hello, NUCLEO, None, what="b")


@pytest.mark.parametrize("value,ok", [(None, True), (bytes(32), True), ("ab" * 32, True), ("xyz", False), (b"1", False)])
def test_expected_hashes(value, ok):
    if ok:
        assert len(expected_hash(value)) == 32
    else:
        with pytest.raises(ValueError):
            expected_hash(value)
