"""Finding boards attached over USB.

Providers answer "which catalog boards are attached, on which serial port and
drive, behind which probe serial number":

- `MbedToolsProvider`: mbed-tools (`get_connected_devices()`, offline board
  database) finds probes that show a USB drive and names the board from the
  product code in the drive's MBED.HTM/DETAILS.TXT (0777 is NUCLEO-F446RE).
- `ListPortsProvider`: pyserial's `list_ports`, for probes without a drive
  (not mounted, or a probe without one): USB vendor and product ids against
  the catalog's probe entries, the serial number's product-code prefix on
  DAPLink probes. A probe shared by several catalog boards (ST-LINK/V2-1 on
  three Nucleos) cannot be told apart this way; it is reported as
  unidentified, with the candidates, to be named in a hardware map.
- `UsbProvider`: both, mbed-tools first; used by default.
- `HardwareMapProvider` (hwmap.py): the boards a lab wrote into a YAML map; `provider_for(map)`
  there picks it or USB detection.

Every board fact (product codes, probe ids, flash method) comes from the
catalog. Detection never raises to the user: a provider that fails is logged
at debug level and the next one answers.
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Callable, Iterable, Protocol

import attrs

from .catalog import Board, boards as catalog_boards

log = logging.getLogger(__name__)

# Probes whose USB serial number starts with the board's product code (DAPLink firmware).
_CODE_IN_SERIAL = {"daplink", "opensda"}
PROBE_LABELS = {"stlink-v2-1": "ST-LINK/V2-1", "stlink-v3": "ST-LINK/V3", "daplink": "DAPLink", "opensda": "OpenSDA (DAPLink)"}


@attrs.frozen
class AttachedBoard:
    board: str                        # catalog name
    probe_serial: str                 # the probe's USB serial number: tells identical boards apart
    port: str | None                  # serial device, e.g. /dev/ttyACM0; None when the probe shows none
    mount: str | None = None          # mass-storage drive of the probe, if any
    flash_method: str | None = None   # None: the catalog's
    pyocd_pack: str | None = None     # a local CMSIS pack file for pyOCD (hardware map), if any
    source: str = ""                  # the provider that found it
    notes: str = ""                   # free text from a hardware map

    def describe(self) -> str:
        parts = [f"probe {self.probe_serial}", f"port {self.port or 'none'}"]
        if self.mount:
            parts.append(f"drive {self.mount}")
        return f"{self.board} ({', '.join(parts)})"


@attrs.frozen
class UnidentifiedProbe:
    """A debug probe on USB that detection could not pin to one catalog board."""

    probe_serial: str
    port: str | None
    mount: str | None
    label: str                        # e.g. "ST-LINK/V2-1 0483:374b"
    candidates: tuple[str, ...]       # catalog boards it may be; empty: none in the catalog
    why: str = ""

    def describe(self) -> str:
        where = f"port {self.port or 'none'}" + (f", drive {self.mount}" if self.mount else "")
        if self.candidates:
            what = f"one of {', '.join(self.candidates)}"
        else:
            what = self.why or "not a board in the catalog"
        return f"{self.label} probe {self.probe_serial} ({where}): {what}"


@attrs.frozen
class Scan:
    boards: tuple[AttachedBoard, ...] = ()
    unidentified: tuple[UnidentifiedProbe, ...] = ()
    sources: tuple[str, ...] = ()     # what was asked, for the user
    missing: tuple[str, ...] = ()     # hardware-map entries whose board is not there, one line each


class Provider(Protocol):
    name: str

    def attached(self) -> list[AttachedBoard]: ...


class NoHardware:
    """A provider that finds nothing (tests, machines that must never touch USB)."""

    name = "none"

    def attached(self) -> list[AttachedBoard]:
        return []

    def scan(self) -> Scan:
        return Scan(sources=("nothing (detection disabled)",))


# -- catalog look-ups ----------------------------------------------------------------

def board_for_product_code(code: str | None, catalog: dict[str, Board] | None = None) -> Board | None:
    """The catalog board with this Mbed/DAPLink product code (e.g. '0777'), or None."""
    if not code:
        return None
    code = code.strip().upper()
    for b in (catalog or catalog_boards()).values():
        if b.usb_product_code and b.usb_product_code.upper() == code:
            return b
    return None


def boards_with_probe(vid: int | None, pid: int | None, catalog: dict[str, Board] | None = None) -> list[Board]:
    if vid is None or pid is None:
        return []
    return [b for b in (catalog or catalog_boards()).values()
            if b.probe is not None and (b.probe.usb_vid, b.probe.usb_pid) == (vid, pid)]


def _probe_label(board: Board | None, vid: int | None = None, pid: int | None = None) -> str:
    kind = PROBE_LABELS.get(board.probe.kind, board.probe.kind) if board is not None and board.probe else "USB probe"
    if vid is not None and pid is not None:
        return f"{kind} {vid:04x}:{pid:04x}"
    return kind


# -- mbed-tools ----------------------------------------------------------------------

@contextlib.contextmanager
def _mbed_tools_logs_to_debug():
    """mbed-tools logs warnings and errors for things that are normal here (unknown product
    codes, unmounted drives); keep them out of the user's terminal, in our debug log."""
    logger = logging.getLogger("mbed_tools")

    class _ToDebug(logging.Handler):
        def emit(self, record):
            log.debug("mbed-tools: %s", record.getMessage().replace("\n", " "))

    handler = _ToDebug()
    old = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = old


def _real_mbed_devices():
    # The offline database ships with mbed-tools: detection must never go to the network.
    os.environ.setdefault("MBED_DATABASE_MODE", "OFFLINE")
    from mbed_tools.devices import get_connected_devices
    return get_connected_devices()


class MbedToolsProvider:
    """Probes with a USB drive, named by mbed-tools' offline board database."""

    name = "mbed-tools"

    def __init__(self, get_devices: Callable[[], object] | None = None, catalog: dict[str, Board] | None = None):
        self._get_devices = get_devices or _real_mbed_devices
        self._catalog = catalog

    def attached(self) -> list[AttachedBoard]:
        return list(self.scan().boards)

    def scan(self) -> Scan:
        """Raises nothing: an absent or failing mbed-tools gives an empty scan (see `available`)."""
        self.error: str | None = None
        try:
            with _mbed_tools_logs_to_debug():
                connected = self._get_devices()
        except ImportError as exc:
            missing = (getattr(exc, "name", None) or "").split(".")[0]
            self.error = (f"mbed-tools is not installed ({exc})" if missing in ("mbed_tools", "")
                          else f"mbed-tools cannot run: {exc}")
            log.debug("%s; detection falls back to list_ports", self.error)
            return Scan(sources=(self.name,))
        except Exception as exc:   # udev, psutil, a board database problem: never a traceback to the user
            self.error = f"mbed-tools failed: {type(exc).__name__}: {exc}"
            log.debug("%s; detection falls back to list_ports", self.error, exc_info=True)
            return Scan(sources=(self.name,))
        found, unknown = [], []
        devices = list(getattr(connected, "identified_devices", [])) + list(getattr(connected, "unidentified_devices", []))
        log.debug("mbed-tools: %d USB drive(s) of probes", len(devices))
        for dev in devices:
            serial = str(getattr(dev, "serial_number", "") or "")
            mbed_board = getattr(dev, "mbed_board", None)
            code = getattr(mbed_board, "product_code", "") or ""
            if not getattr(dev, "mbed_enabled", bool(code)):
                code = ""
            board = board_for_product_code(code, self._catalog)
            if board is None and not code:
                # No MBED.HTM product code: DAPLink serial numbers start with it.
                board = board_for_product_code(serial[:4], self._catalog)
            mounts = [str(m) for m in getattr(dev, "mount_points", ()) or ()]
            mount = mounts[0] if mounts else None
            port = getattr(dev, "serial_port", None)
            if board is None:
                name = getattr(mbed_board, "board_name", "") or "unknown board"
                why = (f"mbed-tools says {name} (product code {code}), which is not in the catalog" if code
                       else "mbed-tools could not identify it")
                unknown.append(UnidentifiedProbe(serial, port, mount, "USB drive", (), why))
                log.debug("mbed-tools: %s %s: %s", serial, mount, why)
                continue
            found.append(AttachedBoard(board.name, serial, port, mount, source=self.name))
            log.debug("mbed-tools: %s, product code %s, serial %s, port %s, drive %s", board.name, code or serial[:4],
                      serial, port, mount)
        return Scan(tuple(found), tuple(unknown), (self.name,))


# -- pyserial list_ports -------------------------------------------------------------

def _real_comports():
    from serial.tools import list_ports
    return list_ports.comports()


class ListPortsProvider:
    """Serial ports of known debug probes (USB vendor and product id), named from the catalog."""

    name = "list_ports"

    def __init__(self, comports: Callable[[], Iterable[object]] | None = None, catalog: dict[str, Board] | None = None):
        self._comports = comports or _real_comports
        self._catalog = catalog

    def ports(self) -> list[object]:
        try:
            return sorted(self._comports(), key=lambda p: str(getattr(p, "device", "")))
        except Exception as exc:
            log.debug("list_ports failed: %s: %s", type(exc).__name__, exc, exc_info=True)
            return []

    def attached(self) -> list[AttachedBoard]:
        return list(self.scan().boards)

    def scan(self) -> Scan:
        found: dict[str, AttachedBoard] = {}
        unknown: dict[str, UnidentifiedProbe] = {}
        ports = self.ports()
        log.debug("list_ports: %d serial port(s)%s", len(ports), (": " + ", ".join(
            f"{p.device} ({p.vid:04x}:{p.pid:04x})" if getattr(p, "vid", None) is not None else str(p.device)
            for p in ports)) if ports else "")
        for p in ports:
            vid, pid = getattr(p, "vid", None), getattr(p, "pid", None)
            candidates = boards_with_probe(vid, pid, self._catalog)
            if not candidates:
                continue
            serial = str(getattr(p, "serial_number", "") or "")
            device = str(p.device)
            if not serial:
                log.debug("list_ports: %s (%04x:%04x) has no USB serial number; skipped", device, vid, pid)
                continue
            if serial in found or serial in unknown:   # a probe with two serial interfaces: keep the first
                continue
            board = self._identify(serial, candidates)
            if board is None:
                unknown[serial] = UnidentifiedProbe(
                    serial, device, None, _probe_label(candidates[0], vid, pid), tuple(b.name for b in candidates),
                    "the same probe sits on several catalog boards")
                log.debug("list_ports: %s serial %s could be %s", device, serial, ", ".join(b.name for b in candidates))
                continue
            found[serial] = AttachedBoard(board.name, serial, device, None, source=self.name)
            log.debug("list_ports: %s on %s, serial %s", board.name, device, serial)
        return Scan(tuple(found.values()), tuple(unknown.values()), (self.name,))

    def _identify(self, serial: str, candidates: list[Board]) -> Board | None:
        by_code = board_for_product_code(serial[:4], self._catalog)
        if by_code is not None and by_code in candidates and by_code.probe.kind in _CODE_IN_SERIAL:
            return by_code
        if len(candidates) == 1:
            return candidates[0]
        return None

    def port_for(self, probe_serial: str) -> str | None:
        for p in self.ports():
            if str(getattr(p, "serial_number", "") or "") == probe_serial:
                return str(p.device)
        return None

    def serial_of(self, device: str) -> str | None:
        """The USB serial number behind a port path (symlinks resolved), if list_ports knows the port."""
        real = os.path.realpath(device)
        for p in self.ports():
            if os.path.realpath(str(p.device)) == real:
                return str(getattr(p, "serial_number", "") or "") or None
        return None


# -- both ----------------------------------------------------------------------------

class UsbProvider:
    """mbed-tools, then list_ports for probes mbed-tools did not report."""

    name = "usb"

    def __init__(self, mbed: MbedToolsProvider | None = None, ports: ListPortsProvider | None = None):
        self.mbed = mbed or MbedToolsProvider()
        self.ports = ports or ListPortsProvider()

    def attached(self) -> list[AttachedBoard]:
        return list(self.scan().boards)

    def scan(self) -> Scan:
        first = self.mbed.scan()
        second = self.ports.scan()
        by_serial = {a.probe_serial: a for a in first.boards}
        boards = []
        for a in first.boards:
            if a.port is None:   # mbed-tools found the drive but not the port: list_ports knows it by serial
                port = next((b.port for b in second.boards if b.probe_serial == a.probe_serial), None) or next(
                    (u.port for u in second.unidentified if u.probe_serial == a.probe_serial), None)
                a = attrs.evolve(a, port=port)
            boards.append(a)
        known = set(by_serial) | {u.probe_serial for u in first.unidentified}
        boards += [b for b in second.boards if b.probe_serial not in known]
        unidentified = list(first.unidentified) + [u for u in second.unidentified if u.probe_serial not in known]
        sources = ("mbed-tools", "list_ports") if getattr(self.mbed, "error", None) is None else (
            f"list_ports ({self.mbed.error})",)
        return Scan(tuple(boards), tuple(unidentified), sources)


def scan(provider: Provider | None = None) -> Scan:
    provider = provider or UsbProvider()
    if hasattr(provider, "scan"):
        return provider.scan()
    return Scan(tuple(provider.attached()), sources=(getattr(provider, "name", "provider"),))


def attached_boards(provider: Provider | None = None) -> list[AttachedBoard]:
    return list((provider or UsbProvider()).attached())


def find_attached(probe_serial: str, provider: Provider | None = None) -> AttachedBoard | None:
    """The board behind this probe serial number now (its port may have changed), or None."""
    for a in attached_boards(provider):
        if a.probe_serial == probe_serial:
            return a
    return None
