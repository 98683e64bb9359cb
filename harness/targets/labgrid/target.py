"""The board of an acquired labgrid place: flash it, verify it by handshake, give its network serial port.

Serial: the place's NetworkSerialPort, the exporter's ser2net serving the
board's USB serial port, opened with pyserial as `rfc2217://HOST:PORT`
(labgrid's default protocol) or `socket://HOST:PORT` (protocol raw). The
address is read from the coordinator each time the port is opened: when the
probe re-enumerates after a flash, the exporter restarts ser2net (maybe on
another TCP port) and publishes it, and the port is opened again there.

Flashing, by what the place holds:
- `usb-storage`: the probe's drive, exported by labgrid-exporter as a
  USBMassStorage (NetworkUSBMassStorage here); labgrid's USBStorageDriver
  mounts it on the exporter host (udisks2, over SSH) and copies the .bin on;
- `drive`: the probe's drive as this host sees it (`drive:` in the place's
  hardware map entry: the exporter's mount shared to this host), copied onto
  like a local board's (targets/hardware/flash.py, FAIL.TXT included).
Either way the probe programs the part and resets it; then the HELLO must
name the board and carry the expected model hash (flash_and_verify: one more
flash on a mismatch, then an error), as for a board on this host.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path, PurePath

from ...boards import Board
from ...records import HARDWARE
from ..base import TargetInfo
from ..hardware.errors import FlashError, PortLost
from ..hardware.flash import copy_to_drive
from ..hardware.reconnect import PORT_ERRORS, ReconnectingPort, boot_byte_seen, close_quietly, handshake_on
from ..hardware.target import flash_and_verify
from ..hello import expected_hash as _expected_hash
from .coordinator import AcquiredPlace
from .errors import LabError

log = logging.getLogger(__name__)


def serial_url(entry, *, timeout: float = 3.0) -> str:
    """The pyserial URL of a NetworkSerialPort resource entry, or raise LabError."""
    args, extra = entry.args, entry.extra or {}
    host, port, protocol = args.get("host"), args.get("port"), args.get("protocol", "rfc2217")
    if extra.get("proxy_required"):
        raise LabError(f"the serial port on {host} is exported by an isolated exporter (labgrid-exporter -i), "
                       "reachable only through an SSH proxy, which the harness does not open; export it without -i")
    if protocol == "rfc2217":
        # ign_set_control: ser2net on a port without modem lines (a CDC ACM port) does not acknowledge them.
        return f"rfc2217://{host}:{port}?ign_set_control&timeout={timeout:g}"
    if protocol == "raw":
        return f"socket://{host}:{port}"
    raise LabError(f"the serial port on {host}:{port} speaks {protocol!r}; the harness opens rfc2217 and raw")


def open_network_port(url: str, baud: int):
    """The pyserial port of a `serial_url`: rfc2217:// through a port whose read timeout is its own business.

    pyserial's RFC 2217 client renegotiates baud rate, data bits, parity and
    stop bits with ser2net whenever the timeout changes (it reconfigures the
    port), which the link does around every read; RFC 2217 has no timeout to
    negotiate, so here a timeout changes locally and the line settings only
    when they change (labgrid's pyserial fork behaves so too; plain pyserial,
    which may end up installed beside it, does not)."""
    import serial
    if not url.startswith("rfc2217://"):
        return serial.serial_for_url(url, baudrate=baud, timeout=1.0)
    from serial import rfc2217

    class QuietTimeout(rfc2217.Serial):
        @property
        def timeout(self):
            return self._timeout

        @timeout.setter
        def timeout(self, value):
            if value is not None and (not isinstance(value, (int, float)) or value < 0):
                raise ValueError(f"not a valid timeout: {value!r}")
            self._timeout = value

    return QuietTimeout(url, baudrate=baud, timeout=1.0)


class LabgridTarget:
    def __init__(self, board: Board, place: AcquiredPlace, elf: Path, binary: Path, *,
                 expected_hash: bytes | str | None = None, reconnect_timeout: float = 30.0, boot_timeout: float = 0.5,
                 handshake_timeout: float = 1.0, flash_timeout: float = 30.0, log_dir: Path | None = None):
        self.board, self.place = board, place
        self.elf, self.bin = Path(elf), Path(binary)
        self.expected = _expected_hash(expected_hash)
        self.reconnect_timeout, self.boot_timeout = reconnect_timeout, boot_timeout
        self.handshake_timeout, self.flash_timeout = handshake_timeout, flash_timeout
        self.log_dir = Path(log_dir) if log_dir else None
        self.what = f"{board.name} (labgrid place {place.physical_board})"
        self.info = TargetInfo(board.name, HARDWARE, f"labgrid place {place.physical_board}",
                               f"{board.name} on labgrid place {place.physical_board} (coordinator "
                               f"{place.ref.coordinator}), serial through the exporter's ser2net, "
                               f"flashed by {place.flash_method}")
        self.serial = None
        self.url: str | None = None
        self.hello = None
        self.flashes = 0
        self.reconnects = 0
        self.booted = False
        self._port = ReconnectingPort(self)

    # -- Target protocol ----------------------------------------------------------

    @property
    def port(self):
        if self.serial is None:
            raise LabError(f"{self.what}: target not started: call start() first")
        return self._port

    def start(self) -> None:
        if self.serial is not None:
            return
        try:
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

    # -- board operations ---------------------------------------------------------

    def reconnect(self, *, timeout: float | None = None, changed_from: tuple | None = None, settle: float = 3.0) -> None:
        """Open the place's serial port again, where the coordinator says it is now.

        With `changed_from` (the port's address before a flash), an address that has
        not changed is given up to `settle` seconds to go away and come back first."""
        self._close()
        timeout = self.reconnect_timeout if timeout is None else timeout
        start = time.monotonic()
        deadline = start + timeout
        last: BaseException | str | None = None
        while True:
            self.place.coordinator.pump()
            entry = self.place.serial()
            here = _address(entry)
            moved = changed_from is None or here != changed_from or time.monotonic() - start > settle
            if entry is not None and entry.avail and entry.args.get("port") and moved:
                url = serial_url(entry)
                try:
                    self.serial = open_network_port(url, entry.args.get("speed") or self.board.serial.baud)
                    if url != self.url:
                        log.debug("%s: serial port %s", self.what, url)
                    self.url = url
                    return
                except PORT_ERRORS as exc:   # ser2net refuses while the board's port is away
                    last = exc
            else:
                last = "not available on the exporter" if entry is None or not entry.avail else "no TCP port yet"
            if time.monotonic() > deadline:
                raise PortLost(f"{self.what}: its serial port did not come back within {timeout:.0f} s "
                               f"(last: {last}); see labgrid-client -p {self.place.name} show")
            self.place.coordinator.pump(wait=0.1)

    def port_lost(self, exc: BaseException) -> None:
        """The port failed under the link (ReconnectingPort calls this): open it again."""
        log.warning("%s: serial port %s lost (%s); opening it again", self.what, self.url, exc)
        self.reconnect()
        self.reconnects += 1

    def reset(self) -> str:
        """Reset by flashing again (the probe resets the part after a flash); returns 'reflash'."""
        if self.serial is None:
            raise LabError(f"{self.what}: target not started: call start() first")
        self._flash_once()
        return "reflash"

    # -- internals ----------------------------------------------------------------

    def _flash_once(self) -> None:
        self.flashes += 1
        self._close()
        self.place.coordinator.pump()
        before = _address(self.place.serial())
        if self.place.flash_method == "usb-storage":
            self._write_with_labgrid()
        else:
            copy_to_drive(self.bin, self.place.ref.drive, what=self.what, timeout=self.flash_timeout)
        self.reconnect(changed_from=before if self.place.flash_method == "usb-storage" else None)
        self.booted = self._await_boot(self.boot_timeout)
        log.debug("%s: flashed %s (%s); boot byte %s", self.what, self.bin.name, self.place.flash_method,
                  "seen" if self.booted else "not seen (sent before the port was open)")

    def _write_with_labgrid(self) -> None:
        """labgrid's USBStorageDriver on the place's NetworkUSBMassStorage: mount on the exporter, copy, unmount."""
        from labgrid import Target
        from labgrid.driver import USBStorageDriver
        from labgrid.resource.remote import RemotePlace, RemotePlaceManager
        manager = RemotePlaceManager.get()      # labgrid-client's own set-up: our session serves the place
        manager.session, manager.loop = self.place.coordinator.session, self.place.coordinator.loop
        target = Target(f"kp-harness-{self.place.name}")
        try:
            RemotePlace(target, name=self.place.name)
            driver = USBStorageDriver(target, name=None)
            target.activate(driver)
            driver.write_files([str(self.bin)], PurePath("/"), None, True)
        except (FlashError, LabError):
            raise
        except Exception as exc:
            raise FlashError(f"{self.what}: labgrid's USBStorageDriver could not write {self.bin.name} to the "
                             f"probe's drive: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}") from None
        finally:
            target.cleanup()

    def _await_boot(self, timeout: float) -> bool:
        try:
            return boot_byte_seen(self.serial, timeout)
        except PORT_ERRORS as exc:
            log.debug("%s: port failed while waiting for the boot byte: %s", self.what, exc)
            self.reconnect()
        return False

    def _handshake(self):
        return handshake_on(self._port, self.handshake_timeout)

    def _close(self) -> None:
        port, self.serial = self.serial, None
        close_quietly(port)


def _address(entry) -> tuple | None:
    if entry is None:
        return None
    return bool(entry.avail), entry.args.get("host"), entry.args.get("port")
