"""A labgrid coordinator session, and the place lease: acquire (waiting, with a bound), resolve, release.

    lease = acquire_place(places, board=board, timeout=600, on_wait=print)   # an AcquiredPlace in lease.place
    try:
        ...                                      # LabgridTarget(board, lease.place, ...) flashes and talks
    finally:
        lease.release()                          # also after Ctrl-C and SIGTERM

The session is labgrid's own client (`labgrid.remote.client.ClientSession`,
gRPC), under the identity labgrid-client uses (`host/user`, or $LG_HOSTNAME and
$LG_USERNAME), so `labgrid-client who` names a run's holder as it names anyone.

Acquiring a place:
- a local lock per place (`<lock dir>/labgrid-<coordinator>-<place>.lock`, the
  lock dir of real-board leases) keeps two runs on this host, such as two
  pytest-xdist workers, off one place; the kernel drops it if a run dies;
- a free place is acquired on the coordinator, and released at the end;
- a place already acquired under this host/user and not in use by a run here
  was acquired by hand (`labgrid-client acquire`) or by a run that was killed:
  it is used as it is, and left acquired;
- a place someone else holds is waited for, saying once who holds it and
  since when, up to $HARNESS_LEASE_TIMEOUT seconds (600), then refused naming
  the holder.
After acquiring, the place must hold a serial port (NetworkSerialPort) and
something to flash with (NetworkUSBMassStorage, or a `drive:` in its hardware
map entry); otherwise it is released and refused in one line.

While a place is held, SIGTERM unwinds like Ctrl-C (`Terminated`), and a
signal during the release itself waits until the release is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Sequence

import attrs
from filelock import FileLock, Timeout

from ...boards import Board
from ...boards.places import PlaceRef
from ..hardware.lease import DEFAULT_TIMEOUT, TIMEOUT_ENV, lock_dir
from .errors import LAB_INSTALL, LabError, LabgridUnavailable, PlaceBusy, Terminated

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0   # seconds to reach a coordinator
SERIAL_CLASS = "NetworkSerialPort"
STORAGE_CLASS = "NetworkUSBMassStorage"

_guard = threading.RLock()
_held: dict[tuple[str, str], "PlaceLease"] = {}
_sessions: dict[str, "Coordinator"] = {}


def _labgrid():
    """labgrid's client pieces, or one line saying how to install it."""
    try:
        import grpc
        from labgrid.remote.client import ClientSession, Error as ClientError, ensure_event_loop
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2
        from labgrid.util.proxy import proxymanager
    except ImportError as exc:
        raise LabgridUnavailable(f"labgrid places need labgrid, which is not installed ({exc.name or exc}): "
                                 f"{LAB_INSTALL}") from None
    return grpc, ClientSession, ClientError, ensure_event_loop, pb2, proxymanager


class _LabgridLogs(logging.Filter):
    """labgrid's client logs a lost coordinator at error level on the root logger; that is our one line to
    say, so its records go to this module's debug log instead of the user's terminal."""

    def filter(self, record: logging.LogRecord) -> bool:
        if f"{os.sep}labgrid{os.sep}" in (record.pathname or ""):
            log.debug("labgrid: %s", record.getMessage())
            return False
        return True


_filter = _LabgridLogs()
_filtering = 0   # sessions open


def _filter_labgrid_logs(on: bool) -> None:
    global _filtering
    with _guard:
        _filtering += 1 if on else -1
        if on and _filtering == 1:
            logging.getLogger().addFilter(_filter)
        elif not on and _filtering == 0:
            logging.getLogger().removeFilter(_filter)


class Coordinator:
    """One session with a labgrid coordinator: its places, its resources, acquire and release."""

    def __init__(self, address: str, *, timeout: float = CONNECT_TIMEOUT):
        grpc, ClientSession, self._ClientError, ensure_event_loop, self.pb2, proxymanager = _labgrid()
        self._grpc = grpc
        self.address = address
        self.users = 0
        root = logging.getLogger()
        if not root.handlers:
            # What Python prints anyway when nothing is configured (logging.lastResort), made explicit: labgrid's
            # module-level logging calls would otherwise install basicConfig's "LEVEL:name:" format for the process.
            handler = logging.StreamHandler()
            handler.setLevel(logging.WARNING)
            root.addHandler(handler)
        _filter_labgrid_logs(True)
        self.loop = ensure_event_loop()
        try:
            self.session = ClientSession(proxymanager.get_grpc_address(address, default_port=20408), self.loop)
        except Exception as exc:
            _filter_labgrid_logs(False)
            raise LabError(f"labgrid coordinator {address}: {type(exc).__name__}: {exc}") from None
        try:
            self.loop.run_until_complete(asyncio.wait_for(self.session.start(), timeout))
        except (asyncio.TimeoutError, self._ClientError, grpc.RpcError, OSError) as exc:
            why = "no answer within {:.0f} s".format(timeout) if isinstance(exc, asyncio.TimeoutError) else str(exc)
            self.close()
            raise LabError(f"cannot reach the labgrid coordinator at {address} ({why}); is labgrid-coordinator "
                           "running there? Give its address with --coordinator HOST:PORT or $LG_COORDINATOR") from None
        self.identity = f"{self.session.gethostname()}/{self.session.getuser()}"
        log.debug("labgrid coordinator %s: connected as %s", address, self.identity)

    # -- state ------------------------------------------------------------------------

    def pump(self, wait: float = 0.0) -> None:
        """Take in what the coordinator sent (waiting up to `wait` seconds for more); raise if it went away."""
        ok = False
        try:
            if wait > 0:
                self.loop.run_until_complete(asyncio.sleep(wait))
            ok = self.loop.run_until_complete(asyncio.wait_for(self.session.sync_with_coordinator(), CONNECT_TIMEOUT))
        except asyncio.TimeoutError:
            ok = False
        if not ok:
            raise LabError(f"lost the connection to the labgrid coordinator at {self.address}")

    def place(self, name: str):
        place = self.session.places.get(name)
        if place is None:
            known = ", ".join(sorted(self.session.places)) or "none"
            raise LabError(f"labgrid place {name} does not exist on coordinator {self.address} (places there: {known}); "
                           f"a lab owner adds it with labgrid-client -p {name} create")
        return place

    def resource(self, path: Sequence[str]):
        """The resource entry of an acquired resource path (exporter, group, cls, name); labgrid keeps it current."""
        exporter, group, _, name = path
        return self.session.resources.get(exporter, {}).get(group, {}).get(name)

    # -- acquire and release ----------------------------------------------------------

    def acquire(self, name: str) -> str | None:
        """Acquire a place; None when done, else why the coordinator said no (someone was quicker, say)."""
        try:
            self.loop.run_until_complete(self.session.stub.AcquirePlace(self.pb2.AcquirePlaceRequest(placename=name)))
        except self._grpc.RpcError as exc:
            return exc.details() if hasattr(exc, "details") else str(exc)
        self.pump()
        return None

    def release(self, name: str) -> None:
        """Release a place this identity holds (and only then: `fromuser`)."""
        request = self.pb2.ReleasePlaceRequest(placename=name, fromuser=self.identity)
        self.loop.run_until_complete(asyncio.wait_for(self.session.stub.ReleasePlace(request), CONNECT_TIMEOUT))
        self.pump()

    def close(self) -> None:
        try:
            with contextlib.suppress(Exception):
                self.loop.run_until_complete(asyncio.wait_for(self.session.stop(), 5))
            with contextlib.suppress(Exception):
                self.loop.run_until_complete(self.session.close())
        finally:
            _filter_labgrid_logs(False)


def _coordinator(address: str) -> Coordinator:
    with _guard:
        coord = _sessions.get(address)
        if coord is None:
            coord = _sessions[address] = Coordinator(address)
        coord.users += 1
        return coord


def _done_with(coord: Coordinator) -> None:
    with _guard:
        coord.users -= 1
        if coord.users <= 0 and _sessions.get(coord.address) is coord:
            del _sessions[coord.address]
            coord.close()


# -- the place as acquired ------------------------------------------------------------

@attrs.define(eq=False)
class AcquiredPlace:
    """A place this run holds, with what it holds: the serial port and the means to flash."""

    ref: PlaceRef
    coordinator: Coordinator = attrs.field(repr=False)
    serial_path: tuple[str, str, str, str]       # exporter, group, cls, name of its NetworkSerialPort
    flash_method: str                            # "usb-storage" (labgrid USBStorageDriver) or "drive" (a copy)
    ours: bool                                   # acquired by this run (released at the end), or already yours
    resources: tuple[tuple[str, str, str, str], ...] = ()

    @property
    def name(self) -> str:
        return self.ref.place

    @property
    def exporter(self) -> str:
        return self.serial_path[0]

    @property
    def physical_board(self) -> str:
        return f"{self.ref.place}@{self.exporter}"

    def serial(self):
        """The serial port's resource entry now (host, port, speed, protocol, avail)."""
        return self.coordinator.resource(self.serial_path)


def _resolve(coord: Coordinator, ref: PlaceRef, ours: bool) -> AcquiredPlace:
    place = coord.place(ref.place)
    paths = tuple(tuple(p) for p in place.acquired_resources)
    serials = sorted(p for p in paths if p[2] == SERIAL_CLASS)
    if not serials:
        matches = ", ".join(str(m) for m in place.matches) or "none"
        raise LabError(f"labgrid place {ref.place} has no serial port: none of its resources ({len(paths)}) is a "
                       f"{SERIAL_CLASS} (matches: {matches}); the lab owner adds one: labgrid-client -p {ref.place} "
                       f"add-match EXPORTER/GROUP/{SERIAL_CLASS}/*")
    if len(serials) > 1:
        log.info("labgrid place %s has %d serial ports; using %s", ref.place, len(serials), "/".join(serials[0]))
    if any(p[2] == STORAGE_CLASS for p in paths):
        method = "usb-storage"
    elif ref.drive:
        method = "drive"
    else:
        raise LabError(f"labgrid place {ref.place} has nothing to flash the board with: no {STORAGE_CLASS} "
                       "(the probe's drive exported by labgrid-exporter) and no drive: in its hardware map entry "
                       "(docs/lab.md)")
    return AcquiredPlace(ref, coord, serials[0], method, ours, paths)


# -- the lease ------------------------------------------------------------------------

def _stem(ref: PlaceRef) -> str:
    return "labgrid-" + re.sub(r"[^A-Za-z0-9._-]", "_", f"{ref.coordinator}-{ref.place}")[:120]


def _local_holder(owner: Path) -> str:
    try:
        o = json.loads(owner.read_text())
    except (OSError, ValueError):
        return "another run on this host"
    return f"a run on this host (pid {o.get('pid')}: {o.get('command', '')[:60]}) since {o.get('since')}"


def _local_lock(ref: PlaceRef) -> tuple[FileLock | None, Path]:
    directory = lock_dir()
    directory.mkdir(parents=True, exist_ok=True)
    owner = directory / f"{_stem(ref)}.owner"
    lock = FileLock(directory / f"{_stem(ref)}.lock", timeout=0, thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return None, owner
    with contextlib.suppress(OSError):
        owner.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "command": " ".join(sys.argv),
                                     "place": ref.place, "since": time.strftime("%Y-%m-%d %H:%M:%S")}) + "\n")
    return lock, owner


def _since(place) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(place.changed)))
    except (TypeError, ValueError):
        return "?"


class PlaceLease:
    """This process's use of one labgrid place; re-entrant (counted) within the process."""

    def __init__(self, place: AcquiredPlace, lock: FileLock, owner: Path):
        self.place = place
        self._lock, self._owner = lock, owner
        self._count = 1

    @property
    def held(self) -> bool:
        return self._count > 0

    def release(self) -> None:
        with _guard:
            if self._count == 0:
                return
            self._count -= 1
            if self._count:
                return
            _held.pop((self.place.ref.coordinator, self.place.ref.place), None)
            last = not _held
        coord = self.place.coordinator
        try:
            with _signals_deferred():
                try:
                    if self.place.ours:
                        coord.release(self.place.ref.place)
                        log.info("released labgrid place %s", self.place.physical_board)
                except Exception as exc:
                    log.warning("labgrid place %s: the release failed (%s); release it with labgrid-client -p %s "
                                "release", self.place.ref.place, exc, self.place.ref.place)
                finally:
                    with contextlib.suppress(OSError):
                        self._owner.unlink()
                    self._lock.release(force=True)
                    _done_with(coord)
        finally:
            if last:
                _restore_sigterm()

    def __enter__(self) -> "PlaceLease":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def acquire_place(pool: Sequence[PlaceRef], *, board: Board, prefer: int = 0, timeout: float | None = None,
                  on_wait: Callable[[str], None] | None = None) -> PlaceLease:
    """Acquire one of `pool` (places holding `board`), trying them from index `prefer` on; see the module text."""
    if not pool:
        raise ValueError("no labgrid place to acquire")
    if timeout is None:
        timeout = float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT))
    n = len(pool)
    order = [pool[(prefer + i) % n] for i in range(n)]
    with _guard:
        for ref in order:
            mine = _held.get((ref.coordinator, ref.place))
            if mine is not None:
                mine._count += 1
                return mine
    coords: dict[str, Coordinator] = {}
    _install_sigterm()   # before the coordinator may have acquired anything for us
    lease = None
    try:
        _check(order, board, coords)
        lease = _wait_for_one(order, coords, board, timeout, on_wait)
    finally:
        for coord in coords.values():
            _done_with(coord)   # the lease keeps its own use of its coordinator
        if lease is None:
            with _guard:
                if not _held:
                    _restore_sigterm()
    return lease


def _check(refs: Sequence[PlaceRef], board: Board, coords: dict) -> None:
    for ref in refs:
        if ref.coordinator not in coords:
            coords[ref.coordinator] = _coordinator(ref.coordinator)
        place = coords[ref.coordinator].place(ref.place)          # an unknown place fails here, at once
        tag = (place.tags or {}).get("board")
        if tag and tag != board.name:
            raise LabError(f"labgrid place {ref.place} holds a {tag} (its board tag), not a {board.name}")


def check_places(refs: Sequence[PlaceRef], board: Board) -> None:
    """Fail now, in one line, when labgrid is missing, a coordinator cannot be reached, a place does not
    exist or its board tag names another board; acquires nothing."""
    coords: dict[str, Coordinator] = {}
    try:
        _check(refs, board, coords)
    finally:
        for coord in coords.values():
            _done_with(coord)


def _wait_for_one(order, coords, board: Board, timeout: float, on_wait) -> PlaceLease:
    deadline = time.monotonic() + timeout
    told = False
    while True:
        busy: list[str] = []
        for ref in order:
            coord = coords[ref.coordinator]
            lock, owner = _local_lock(ref)
            if lock is None:
                busy.append(f"{ref.place}: used by {_local_holder(owner)}")
                continue
            place = coord.place(ref.place)
            ours = False
            if place.acquired is None:
                try:
                    refused = coord.acquire(ref.place)
                except BaseException:   # Ctrl-C in the middle: the coordinator may have done it
                    with _signals_deferred():
                        with contextlib.suppress(Exception):
                            coord.release(ref.place)
                        lock.release(force=True)
                    raise
                if refused is not None:
                    lock.release(force=True)
                    log.debug("labgrid place %s: not acquired: %s", ref.place, refused)
                    place = coord.place(ref.place)
                    busy.append(f"{ref.place}: " + (f"acquired by {place.acquired} since {_since(place)}"
                                                    if place.acquired else refused))
                    continue
                ours = True
            elif place.acquired != coord.identity:
                lock.release(force=True)
                busy.append(f"{ref.place}: acquired by {place.acquired} since {_since(place)}")
                continue
            try:
                acquired = _resolve(coord, ref, ours)
            except BaseException:
                with _signals_deferred():
                    if ours:
                        with contextlib.suppress(Exception):
                            coord.release(ref.place)
                    lock.release(force=True)
                raise
            with _guard:
                coord.users += 1
                lease = _held[(ref.coordinator, ref.place)] = PlaceLease(acquired, lock, owner)
            log.info("labgrid place %s %s", acquired.physical_board,
                     "acquired" if ours else f"already acquired by you ({coord.identity}); used as it is")
            return lease
        who = "; ".join(busy)
        if time.monotonic() >= deadline:
            raise PlaceBusy(f"every labgrid place for {board.name} is in use ({who}); waited {timeout:.0f} s "
                            f"(set {TIMEOUT_ENV} to wait longer)")
        if not told:
            (on_wait or _to_stderr)(f"waiting for a labgrid place for {board.name}: {who}")
            told = True
        for coord in coords.values():
            coord.pump(wait=0.25)


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def describe_places(refs: Sequence[PlaceRef]) -> list[str]:
    """One line per place for `python -m harness boards`: who holds it, what it holds. Never raises."""
    lines = []
    for address in sorted({r.coordinator for r in refs}):
        try:
            coord = _coordinator(address)
        except LabError as exc:
            lines += [f"{r.place}: {exc}" for r in refs if r.coordinator == address]
            continue
        try:
            for r in (r for r in refs if r.coordinator == address):
                try:
                    place = coord.place(r.place)
                except LabError as exc:
                    lines.append(str(exc))
                    continue
                state = f"acquired by {place.acquired} since {_since(place)}" if place.acquired else "free"
                tags = " ".join(f"{k}={v}" for k, v in sorted((place.tags or {}).items()))
                lines.append(f"{r.place} on {address}: {state}" + (f", tags {tags}" if tags else "")
                             + (f"  # {r.notes}" if r.notes else ""))
        finally:
            _done_with(coord)
    return lines


# -- signals --------------------------------------------------------------------------

_old_sigterm = None


def _raise_terminated(signum, frame):
    raise Terminated(f"signal {signum}")


def _install_sigterm() -> None:
    """While a place is held, SIGTERM unwinds the stack (releasing the place) instead of ending at once."""
    global _old_sigterm
    if threading.current_thread() is not threading.main_thread() or _old_sigterm is not None:
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        _old_sigterm = signal.signal(signal.SIGTERM, _raise_terminated)


def _restore_sigterm() -> None:
    global _old_sigterm
    if _old_sigterm is not None and threading.current_thread() is threading.main_thread():
        if signal.getsignal(signal.SIGTERM) is _raise_terminated:
            signal.signal(signal.SIGTERM, _old_sigterm)
        _old_sigterm = None


@contextlib.contextmanager
def _signals_deferred():
    """Ctrl-C or SIGTERM during a release waits until the release is done, then takes effect."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in old:
        signal.signal(s, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        if pending:
            handler = old[pending[0]]
            if pending[0] == signal.SIGINT and handler is signal.default_int_handler:
                raise KeyboardInterrupt
            if handler is signal.SIG_DFL:
                raise Terminated(f"signal {pending[0]}") if pending[0] == signal.SIGTERM else KeyboardInterrupt
            if callable(handler):
                handler(pending[0], None)
