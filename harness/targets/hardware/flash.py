"""Putting an image on a real board: copy to the probe's USB drive, or pyOCD over SWD.

Mass storage (ST-LINK, DAPLink): the .bin is written to the drive, flushed
and fsync'ed; the probe programs the part, resets it and re-enumerates (the
drive and the serial port go away and come back). The copy is done when the
drive has come back (or the file is gone from it); a FAIL.TXT on the drive
then is the probe's verdict, and its text is the error.

pyOCD (optional: `pip install 'kp-harness[pyocd]'`): programs by probe serial
number. Some STM32 parts need their CMSIS device pack; a local file is taken
from the hardware map (`pyocd_pack:`), $HARNESS_PYOCD_PACK, or the pack
folder ($HARNESS_PYOCD_PACKS, default ~/.cache/kp-harness/packs) by the pack
name the catalog gives.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Callable

from ...boards import AttachedBoard, Board
from .errors import FlashError, PyOCDUnavailable

log = logging.getLogger(__name__)

FAIL_FILE = "FAIL.TXT"
PACK_ENV = "HARNESS_PYOCD_PACK"
PACK_DIR_ENV = "HARNESS_PYOCD_PACKS"
PYOCD_INSTALL = "pip install 'kp-harness[pyocd]' (or pip install pyocd)"
# Probe firmware that resets the target on a serial break (DAPLink does; ST-LINK does not).
BREAK_RESETS = {"daplink", "opensda"}


def _one_line(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def copy_to_drive(image: Path, drive: Path | str, *, what: str = "the probe", timeout: float = 30.0,
                  relocate: Callable[[], str | None] | None = None, poll: float = 0.05) -> Path:
    """Copy `image` onto a probe's drive and wait until the probe has taken it.

    Returns the drive's path after re-enumeration (`relocate`, when given, finds
    it again by probe serial number should it come back elsewhere). Raises
    FlashError with the text of FAIL.TXT when the probe wrote one."""
    image, drive = Path(image), Path(drive)
    if not drive.is_dir():
        raise FlashError(f"{what}: its drive {drive} is not mounted; mount it (or give drive: in the hardware map), "
                         "or flash with pyOCD (flash_method: pyocd)")
    was_mount = os.path.ismount(drive)

    def present(p: Path) -> bool:
        try:
            return p.is_dir() and (not was_mount or os.path.ismount(p))
        except OSError:
            return False

    data = image.read_bytes()
    dst = drive / image.name
    written = 0
    try:
        with open(dst, "wb") as fh:
            written = fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        # A probe may start programming, and drop off the bus, as soon as the last block
        # arrives: an error after every byte was handed over is not a failure yet.
        if written < len(data):
            raise FlashError(f"{what}: copying {image.name} to {drive} failed: {exc.strerror or exc}") from None
        log.debug("%s: %s after the whole image was written (the probe took it): %s", what, dst, exc)
    try:
        fd = os.open(drive, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass   # not every filesystem lets a directory be fsync'ed; the file is
    log.debug("%s: copied %d bytes to %s; waiting for the probe to re-enumerate", what, len(data), dst)

    deadline = time.monotonic() + timeout
    vanished = False
    while True:
        here = drive
        if vanished and relocate is not None:
            found = relocate()
            here = Path(found) if found else drive
        if not present(here):
            if not vanished:
                log.debug("%s: drive %s went away", what, here)
            vanished = True
        elif vanished or not (here / image.name).exists():
            fail = here / FAIL_FILE
            if fail.exists():
                try:
                    text = fail.read_text(errors="replace")
                except OSError as exc:
                    text = f"(unreadable: {exc})"
                raise FlashError(f"{what} rejected {image.name}: {FAIL_FILE} says: {_one_line(text) or '(empty)'}")
            log.debug("%s: drive back at %s, image taken", what, here)
            return here
        if time.monotonic() > deadline:
            raise FlashError(f"{what}: the drive {drive} did not re-enumerate within {timeout:.0f} s after {image.name} "
                             "was copied; the probe did not take the image (is it the probe's drive? unplug and "
                             "replug the board)")
        time.sleep(poll)


class MassStorageFlasher:
    name = "mass-storage"
    keeps_port = False   # the probe re-enumerates: the serial port goes away during the flash

    def __init__(self, board: Board, attached: AttachedBoard, *, locate: Callable[[], AttachedBoard | None] | None = None,
                 timeout: float = 30.0):
        self.board, self.attached, self.timeout = board, attached, timeout
        self._locate = locate

    def _drive_now(self) -> str | None:
        if self._locate is None:
            return self.attached.mount
        found = self._locate()
        return found.mount if found is not None else None

    def flash(self, image: Path) -> None:
        drive = self.attached.mount or self._drive_now()
        what = f"{self.board.name} (probe {self.attached.probe_serial})"
        if not drive:
            raise FlashError(f"{what}: no USB drive found for this probe; mount it (or give drive: in the hardware map), "
                             "or flash with pyOCD (flash_method: pyocd in the hardware map)")
        copy_to_drive(image, drive, what=what, timeout=self.timeout,
                      relocate=self._drive_now if self._locate is not None else None)


# -- pyOCD --------------------------------------------------------------------------

def _import_pyocd(board: Board):
    try:
        from pyocd.core.helpers import ConnectHelper
        from pyocd.flash.file_programmer import FileProgrammer
    except ImportError:
        raise PyOCDUnavailable(f"{board.name}: flashing with pyOCD needs pyOCD, which is not installed: "
                               f"{PYOCD_INSTALL}") from None
    return ConnectHelper, FileProgrammer


def pyocd_available() -> bool:
    try:
        import pyocd  # noqa: F401
    except ImportError:
        return False
    return True


def pack_dir() -> Path:
    return Path(os.environ.get(PACK_DIR_ENV) or Path.home() / ".cache" / "kp-harness" / "packs").expanduser()


def _managed_pack_knows(target: str) -> bool:
    """pyOCD's own pack cache (`pyocd pack install ...`) has the part."""
    try:
        from pyocd.target.pack.pack_target import ManagedPacks
        return any(d.part_number.lower() == target.lower() for d in ManagedPacks.get_installed_targets())
    except Exception:
        return False


def resolve_pack(board: Board, attached: AttachedBoard | None = None) -> str | None:
    """The CMSIS pack file pyOCD needs for this board, None when it needs none; raises when missing."""
    probe = board.probe
    if attached is not None and attached.pyocd_pack:
        if not Path(attached.pyocd_pack).is_file():
            raise PyOCDUnavailable(f"{board.name}: pyocd_pack {attached.pyocd_pack} (from the hardware map) does not exist")
        return attached.pyocd_pack
    if probe is None or not probe.pyocd_pack:
        return None   # pyOCD knows this part without a pack
    env = os.environ.get(PACK_ENV)
    if env:
        if not Path(env).expanduser().is_file():
            raise PyOCDUnavailable(f"{board.name}: {PACK_ENV}={env} does not exist")
        return str(Path(env).expanduser())
    folder = pack_dir()
    found = sorted(folder.glob(f"{probe.pyocd_pack}*.pack")) if folder.is_dir() else []
    if found:
        return str(found[-1])
    if probe.pyocd_target and _managed_pack_knows(probe.pyocd_target):
        return None
    raise PyOCDUnavailable(
        f"{board.name}: pyOCD needs the CMSIS device pack {probe.pyocd_pack} for target {probe.pyocd_target} and no local "
        f"copy was found: download {probe.pyocd_pack}.<version>.pack and give its path as pyocd_pack: in the hardware "
        f"map entry, or set {PACK_ENV}=FILE, or put it in {folder} ({PACK_DIR_ENV}); "
        f"`pyocd pack install {probe.pyocd_target}` also works on a host with internet")


class PyOCDFlasher:
    name = "pyocd"
    keeps_port = True   # SWD programming: the probe stays on the bus

    def __init__(self, board: Board, attached: AttachedBoard):
        if board.probe is None or not board.probe.pyocd_target:
            raise PyOCDUnavailable(f"{board.name}: the catalog gives no pyocd_target for its probe")
        self.board, self.attached = board, attached
        _import_pyocd(board)               # fail early, with the install hint
        self.pack = resolve_pack(board, attached)

    def _session(self, target: str):
        ConnectHelper, _ = _import_pyocd(self.board)
        options = {"target_override": target}
        if self.pack and target != "cortex_m":
            options["pack"] = self.pack
        session = ConnectHelper.session_with_chosen_probe(
            blocking=False, unique_id=self.attached.probe_serial, return_first=True, options=options)
        if session is None:
            raise PyOCDUnavailable(f"{self.board.name}: pyOCD finds no probe with serial {self.attached.probe_serial}")
        return session

    def flash(self, image: Path) -> None:
        _, FileProgrammer = _import_pyocd(self.board)
        try:
            with self._session(self.board.probe.pyocd_target) as session:
                FileProgrammer(session).program(str(image), file_format="bin", base_address=self.board.flash.origin)
                session.target.reset()
        except PyOCDUnavailable:
            raise
        except Exception as exc:
            raise FlashError(f"{self.board.name} (probe {self.attached.probe_serial}): pyOCD failed: "
                             f"{_one_line(f'{type(exc).__name__}: {exc}')}") from None

    def reset(self) -> None:
        reset_with_pyocd(self.board, self.attached, pack=self.pack, target=self.board.probe.pyocd_target)


def reset_with_pyocd(board: Board, attached: AttachedBoard, *, pack: str | None = None, target: str = "cortex_m") -> None:
    """A system reset through the probe; the generic `cortex_m` target needs no pack."""
    ConnectHelper, _ = _import_pyocd(board)
    options = {"target_override": target}
    if pack and target != "cortex_m":
        options["pack"] = pack
    try:
        session = ConnectHelper.session_with_chosen_probe(
            blocking=False, unique_id=attached.probe_serial, return_first=True, options=options)
        if session is None:
            raise FlashError(f"{board.name}: pyOCD finds no probe with serial {attached.probe_serial}")
        with session:
            session.target.reset()
    except FlashError:
        raise
    except Exception as exc:
        raise FlashError(f"{board.name} (probe {attached.probe_serial}): reset through pyOCD failed: "
                         f"{_one_line(f'{type(exc).__name__}: {exc}')}") from None


def flasher_for(board: Board, attached: AttachedBoard, *, locate: Callable[[], AttachedBoard | None] | None = None,
                timeout: float = 30.0):
    method = attached.flash_method or board.flash_method
    if method == "mass-storage":
        return MassStorageFlasher(board, attached, locate=locate, timeout=timeout)
    if method == "pyocd":
        return PyOCDFlasher(board, attached)
    raise FlashError(f"{board.name}: flash method {method!r} cannot flash a real board")


def reset_method(board: Board, attached: AttachedBoard) -> str:
    """How to reset this board: 'serial-break' (DAPLink), 'pyocd' (when installed), else 'reflash'."""
    kind = board.probe.kind if board.probe else ""
    if kind in BREAK_RESETS:
        return "serial-break"
    if pyocd_available() and board.probe and board.probe.pyocd_target:
        return "pyocd"
    return "reflash"
