"""Real-board backend: flash the image onto a leased board, verify it by handshake, give its serial port.

The board arrives leased (harness/device.py holds the lease: one run per
physical board). start(): flash (flash.py: copy to the probe's drive, or
pyOCD), reopen the serial
port of the same probe by serial number once it re-enumerated, wait briefly
for the firmware's boot byte, handshake and compare the model hash and board
name with what was flashed (one more flash on a mismatch, then an error).
`port` is a ReconnectingPort: if the board drops off USB and comes back, the
link carries on on the new port. reset() goes through a serial break
(DAPLink), pyOCD (when installed) or, failing both, a new drive flash (which
resets the part too).
"""

from __future__ import annotations

import logging
from pathlib import Path

import attrs

from typing import Callable

from ...boards import AttachedBoard, Board
from ...boards.detect import PROBE_LABELS, Provider, find_attached
from ...link import Hello, LinkError
from ...records import HARDWARE
from ..base import TargetInfo
from ..hello import HelloMismatch, check_hello, expected_hash as _expected_hash
from . import flash as fl
from .errors import FlashVerifyError, HardwareError
from .reconnect import (PORT_ERRORS, ReconnectingPort, boot_byte_seen, close_quietly, handshake_on, open_port,
                        port_identity)

log = logging.getLogger(__name__)


class HardwareTarget:
    def __init__(self, board: Board, attached: AttachedBoard, elf: Path, binary: Path, *,
                 expected_hash: bytes | str | None = None, provider: Provider | None = None, flasher=None,
                 reconnect_timeout: float = 30.0, boot_timeout: float = 0.5, handshake_timeout: float = 1.0,
                 flash_timeout: float = 30.0, log_dir: Path | None = None):
        self.board = board
        self.attached = attached
        self.elf, self.bin = Path(elf), Path(binary)
        self.expected = _expected_hash(expected_hash)
        self.provider = provider
        self.flasher = flasher
        self.reconnect_timeout, self.boot_timeout = reconnect_timeout, boot_timeout
        self.handshake_timeout, self.flash_timeout = handshake_timeout, flash_timeout
        self.log_dir = Path(log_dir) if log_dir else None
        self.what = f"{board.name} (probe {attached.probe_serial})"
        probe = PROBE_LABELS.get(board.probe.kind, board.probe.kind) if board.probe else "probe"
        method = attached.flash_method or board.flash_method
        self.info = TargetInfo(board.name, HARDWARE, f"{probe} {attached.probe_serial}",
                               f"{board.name} real board, probe {attached.probe_serial} on {attached.port}, "
                               f"flashed by {method}")
        self.serial = None               # the pyserial port now open, if any
        self.hello = None                # what the device said when the image was verified
        self.flashes = 0
        self.reconnects = 0
        self.booted = False              # the boot byte was seen after the last flash or reset
        self._port = ReconnectingPort(self)

    # -- Target protocol ----------------------------------------------------------

    @property
    def port(self):
        if self.serial is None:
            raise HardwareError(f"{self.what}: target not started: call start() first")
        return self._port

    def start(self) -> None:
        if self.serial is not None:
            return
        try:
            if self.flasher is None:
                self.flasher = fl.flasher_for(self.board, self.attached, locate=self.locate, timeout=self.flash_timeout)
            self.hello = flash_and_verify(self._flash_once, self._handshake, self.board, self.expected, what=self.what)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self._close()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- board operations -----------------------------------------------------------

    def locate(self) -> AttachedBoard | None:
        """This board as detection sees it now (its port may have a new name)."""
        if self.provider is None:
            return self.attached
        return find_attached(self.attached.probe_serial, self.provider)

    def reconnect(self, *, timeout: float | None = None, not_identity: tuple | None = None) -> None:
        """Close the port and open this probe's port again once it is there."""
        self._close()
        self.serial, found = open_port(self.locate, self.board.serial.baud, what=self.what,
                                       timeout=self.reconnect_timeout if timeout is None else timeout,
                                       not_identity=not_identity)
        if found.port != self.attached.port:
            log.info("%s: serial port now %s (was %s)", self.what, found.port, self.attached.port)
        self.attached = attrs.evolve(self.attached, port=found.port, mount=found.mount or self.attached.mount)

    def port_lost(self, exc: BaseException) -> None:
        """The port failed under the link: reopen the same board's port (ReconnectingPort calls this)."""
        log.warning("%s: serial port %s lost (%s); reconnecting by probe serial number", self.what,
                    self.attached.port, exc)
        self.reconnect()
        self.reconnects += 1

    def reset(self) -> str:
        """Reset the board and wait for it to boot; returns how ('serial-break', 'pyocd' or 'reflash')."""
        if self.serial is None:
            raise HardwareError(f"{self.what}: target not started: call start() first")
        method = fl.reset_method(self.board, self.attached)
        if method == "serial-break":
            self.serial.reset_input_buffer()
            self.serial.send_break(0.25)
            self.booted = self._await_boot(max(self.boot_timeout, 3.0))
        elif method == "pyocd":
            self.serial.reset_input_buffer()
            if isinstance(self.flasher, fl.PyOCDFlasher):
                self.flasher.reset()
            else:
                fl.reset_with_pyocd(self.board, self.attached)
            self.booted = self._await_boot(max(self.boot_timeout, 3.0))
        else:
            log.info("%s: no reset through this probe without pyOCD; flashing the image again resets the part", self.what)
            self._flash_once()
        return method

    # -- internals --------------------------------------------------------------------

    def _flash_once(self) -> None:
        self.flashes += 1
        keeps = getattr(self.flasher, "keeps_port", False)
        before = port_identity(self.attached.port)
        if keeps and self.serial is None:
            self.reconnect(timeout=self.reconnect_timeout)    # open first to catch the boot byte
        elif not keeps:
            self._close()
        if self.serial is not None:
            self.serial.reset_input_buffer()
        self.flasher.flash(self.bin)
        if self.serial is None:
            self.reconnect(not_identity=before)
        self.booted = self._await_boot(self.boot_timeout)
        log.debug("%s: flashed %s (%s); boot byte %s", self.what, self.bin.name, self.flasher.name,
                  "seen" if self.booted else "not seen (sent before the port came back)")

    def _await_boot(self, timeout: float) -> bool:
        try:
            return boot_byte_seen(self.serial, timeout)
        except PORT_ERRORS as exc:
            log.debug("%s: port failed while waiting for the boot byte: %s", self.what, exc)
            self.reconnect(not_identity=None)
        return False

    def _handshake(self):
        return handshake_on(self.serial, self.handshake_timeout)

    def _close(self) -> None:
        port, self.serial = self.serial, None
        close_quietly(port)


def flash_and_verify(flash: Callable[[], None], handshake: Callable[[], Hello], board: Board,
                     expected: bytes | str | None, *, what: str, attempts: int = 2) -> Hello:
    """Flash, handshake, check the HELLO; flash again on a mismatch (`attempts` in all), then fail.

    `flash` puts the image on the board (FlashError there is final: the probe said no);
    `handshake` reaches the freshly started image and returns its HELLO. A flash that
    did not take, a corrupted one or a board that answers nothing gets one more flash."""
    problems: list[str] = []
    for attempt in range(1, attempts + 1):
        flash()
        try:
            hello = handshake()
            check_hello(hello, board, expected, what="the image flashed")
        except LinkError as exc:
            problem = f"no handshake ({exc})"
        except HelloMismatch as exc:
            problem = exc.problem
        else:
            if attempt > 1:
                log.warning("%s: the image verified on flash %d of %d", what, attempt, attempts)
            return hello
        problems.append(f"flash {attempt}: {problem}")
        log.warning("%s: the image did not verify after flash %d: %s", what, attempt, problem)
    raise FlashVerifyError(f"{what} does not run the image flashed {attempts} times ({'; '.join(problems)}); "
                           "check the image was built for this board and the probe's drive is this board's")
