"""Opening a board's serial port by probe serial number, and keeping it open through re-enumeration.

A probe re-enumerates on USB after every drive flash (and sometimes on its
own): its serial port disappears and comes back, maybe under another name
(/dev/ttyACM0 -> /dev/ttyACM1). `open_port` waits for the port of *that
probe* (found again through the detection provider, by serial number) and
opens it exclusively. `ReconnectingPort` is what the link sees: a pyserial
port that, when the device under it vanishes, reopens the same board's port
and carries on; bytes in flight at that moment are lost, which the link's
sessions and timeouts already handle (a request in flight times out, the next
handshake starts afresh).
"""

from __future__ import annotations

import errno
import logging
import os
import termios
import time
from typing import Callable

import serial

from ...boards import AttachedBoard
from .errors import PortLost

log = logging.getLogger(__name__)

PORT_ERRORS = (serial.SerialException, OSError, termios.error)


def port_identity(path: str | None) -> tuple | None:
    """Changes when the device node behind `path` is re-created (re-enumeration)."""
    if not path:
        return None
    try:
        real = os.path.realpath(path)
        st = os.stat(real)
    except OSError:
        return None
    return real, st.st_ino, st.st_rdev, st.st_ctime_ns


def open_port(locate: Callable[[], AttachedBoard | None], baud: int, *, what: str, timeout: float = 30.0,
              not_identity: tuple | None = None, settle: float = 3.0, poll: float = 0.1):
    """Wait for the board `locate` finds (by probe serial), open its port; returns (serial port, AttachedBoard).

    With `not_identity` (the port before a flash), a port that is still the same
    device node is given up to `settle` seconds to go away and come back first."""
    start = time.monotonic()
    deadline = start + timeout
    last: BaseException | None = None
    while True:
        board = locate()
        path = board.port if board is not None else None
        if path and os.path.exists(path):
            same = not_identity is not None and port_identity(path) == not_identity
            if not same or time.monotonic() - start > settle:
                try:
                    return serial.Serial(path, baud, timeout=1.0, exclusive=True), board
                except PORT_ERRORS as exc:
                    last = exc
        if time.monotonic() > deadline:
            hint = ""
            if isinstance(last, serial.SerialException) and getattr(last, "errno", None) == errno.EACCES:
                hint = "; permission denied: add your user to the dialout group (sudo usermod -aG dialout $USER) and log in again"
            elif last is not None:
                hint = f"; last error: {last}"
            raise PortLost(f"{what}: its serial port did not come back within {timeout:.0f} s{hint}")
        time.sleep(poll)


class ReconnectingPort:
    """A pyserial port whose device may vanish; `owner.port_lost(exc)` reopens it.

    Only what the link uses is wrapped (read, write, flush, timeout); anything
    else goes to the current port."""

    def __init__(self, owner):
        self._owner = owner
        self._timeout: float | None = 1.0

    def _current(self):
        port = self._owner.serial
        if port is None:
            raise PortLost(f"{self._owner.what}: the serial port is closed")
        if port.timeout != self._timeout:
            port.timeout = self._timeout
        return port

    @property
    def timeout(self):
        return self._timeout

    @timeout.setter
    def timeout(self, value) -> None:
        self._timeout = value
        port = self._owner.serial
        if port is not None:
            port.timeout = value

    def read(self, size: int = 1) -> bytes:
        try:
            return self._current().read(size)
        except PORT_ERRORS as exc:
            self._owner.port_lost(exc)
            return b""   # what was on the way is gone; the link's timeouts take it from here

    def write(self, data) -> int | None:
        try:
            return self._current().write(data)
        except PORT_ERRORS as exc:
            self._owner.port_lost(exc)
            return self._current().write(data)

    def flush(self) -> None:
        try:
            self._current().flush()
        except PORT_ERRORS as exc:
            self._owner.port_lost(exc)

    def reset_input_buffer(self) -> None:
        try:
            self._current().reset_input_buffer()
        except PORT_ERRORS as exc:
            self._owner.port_lost(exc)

    @property
    def name(self) -> str | None:
        port = self._owner.serial
        return None if port is None else port.port

    def __getattr__(self, name):
        return getattr(self._current(), name)


def boot_byte_seen(port, timeout: float) -> bool:
    """Whether the 0x00 the firmware sends once its receiver runs (PROTOCOL.md) arrives within `timeout`.
    On a board whose port re-enumerated it was usually sent before the port came back: not an error.
    Port errors reach the caller, which knows how to reopen its port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        port.timeout = min(0.2, max(0.0, deadline - time.monotonic()))
        if port.read(1) == b"\x00":
            return True
    return False


def handshake_on(port, timeout: float):
    """A handshake on a freshly started image (three HELLOs at most); a failing port is a link error."""
    from ...link import Link, LinkError
    try:
        return Link(port, timeout=timeout).handshake(attempts=3)
    except PORT_ERRORS as exc:
        raise LinkError(f"the serial port failed: {exc}") from None


def close_quietly(port) -> None:
    if port is not None:
        try:
            port.close()
        except Exception:
            pass
