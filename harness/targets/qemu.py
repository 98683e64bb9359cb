"""QEMU backend: runs an image on a board's emulated twin, serial over loopback TCP.

`-icount shift=0` makes every instruction advance virtual time by 1 ns, so the
firmware's counter reads executed instructions, deterministically. QEMU is
stopped by stop(), at interpreter exit, and by the kernel if this process dies
(PR_SET_PDEATHSIG), so no emulator outlives the run that started it.
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from pathlib import Path

import serial

from ..boards import Board
from ..records import EMULATED
from .base import TargetInfo

log = logging.getLogger(__name__)

QEMU = "qemu-system-arm"
_live: "weakref.WeakSet[QemuTarget]" = weakref.WeakSet()


class QemuError(RuntimeError):
    """QEMU could not be started or connected to."""


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Public names for code that starts QEMU itself (the simulated board in tests/simboard.py).
die_with_parent = _die_with_parent
free_port = _free_port


def qemu_command(board: Board, image_elf: Path, image_bin: Path, port: int) -> list[str]:
    emu = board.emulation
    if emu is None:
        raise QemuError(f"board {board.name} has no emulated twin in the catalog")
    cmd = [QEMU, "-M", emu.machine, "-icount", "shift=0", "-display", "none", "-monitor", "none", "-nodefaults"]
    # UARTs before the one we use get a null backend so the numbering matches the catalog.
    cmd += ["-serial", "null"] * emu.serial_index
    # nodelay: small frames must not wait for Nagle's algorithm (40 ms per reply otherwise).
    cmd += ["-serial", f"tcp:127.0.0.1:{port},server=on,wait=on,nodelay=on"]
    if emu.load == "raw-flash":
        # The very file that would be copied onto the board, placed in flash.
        cmd += ["-device", f"loader,file={image_bin},addr=0x{emu.load_address:08x}"]
    else:
        cmd += ["-kernel", str(image_elf)]
    return cmd


class QemuTarget:
    def __init__(self, board: Board, elf: Path, binary: Path, *, connect_timeout: float = 15.0,
                 log_dir: Path | None = None):
        if shutil.which(QEMU) is None:
            raise QemuError(f"{QEMU} not found on PATH; run `make setup` (Debian package qemu-system-arm)")
        self.board = board
        self.elf, self.bin = Path(elf), Path(binary)
        self.connect_timeout = connect_timeout
        self.log_dir = Path(log_dir) if log_dir else None
        self.info = TargetInfo(board.name, EMULATED, board.twin_label,
                               f"{board.name} image on {board.twin_label} (-icount shift=0: counts are instructions)")
        self.proc: subprocess.Popen | None = None
        self._port = None
        self._log = None
        self.command: list[str] = []

    @property
    def port(self):
        if self._port is None:
            raise QemuError("target not started: call start() first")
        return self._port

    def start(self) -> None:
        if self.proc is not None:
            return
        for attempt in range(3):
            tcp = _free_port()
            self.command = qemu_command(self.board, self.elf, self.bin, tcp)
            self._open_log()
            self.proc = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=self._log,
                                         stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
            _live.add(self)
            try:
                self._port = self._connect(tcp)
                self._await_boot()
                return
            except QemuError as exc:
                text = self._log_text()
                self.stop()
                if "Address already in use" in text and attempt < 2:
                    continue  # another process took the port between our probe and QEMU's bind
                raise QemuError(f"{exc}\nQEMU command: {' '.join(self.command)}\nQEMU said: {text.strip()[-800:] or '(nothing)'}") from None

    def _connect(self, tcp: int):
        deadline = time.monotonic() + self.connect_timeout
        while True:
            if self.proc.poll() is not None:
                raise QemuError(f"QEMU exited with code {self.proc.returncode} before its serial port opened")
            try:
                port = serial.serial_for_url(f"socket://127.0.0.1:{tcp}", timeout=1.0)
                sock = getattr(port, "_socket", None)  # pyserial keeps the TCP socket here
                if sock is not None:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return port
            except serial.SerialException:
                if time.monotonic() > deadline:
                    raise QemuError(f"QEMU's serial port 127.0.0.1:{tcp} did not open within {self.connect_timeout:.0f} s") from None
                time.sleep(0.02)

    def _await_boot(self) -> None:
        """Wait for the 0x00 the firmware sends once its UART receiver is on.

        Bytes sent before then are lost on some emulated UARTs (PROTOCOL.md, "Byte stream").
        """
        deadline = time.monotonic() + self.connect_timeout
        while time.monotonic() < deadline:
            self._port.timeout = min(0.5, max(0.0, deadline - time.monotonic()))
            byte = self._port.read(1)
            if byte == b"\x00":
                return
            if self.proc.poll() is not None:
                raise QemuError(f"QEMU exited with code {self.proc.returncode} while the firmware booted")
        raise QemuError(f"the firmware sent no boot byte within {self.connect_timeout:.0f} s: it did not start "
                        "(check the image was built for this board)")

    def _open_log(self) -> None:
        if self._log is None:
            if self.log_dir:
                self.log_dir.mkdir(parents=True, exist_ok=True)
                self._log = open(self.log_dir / f"qemu-{self.board.name}.log", "w+b")
            else:
                self._log = tempfile.TemporaryFile()

    def _log_text(self) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            except Exception:
                pass
            self._port = None
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        _live.discard(self)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


@atexit.register
def _stop_all() -> None:
    for target in list(_live):
        target.stop()
