"""A simulated board at the USB boundary: the test double for real-board support.

What a probe shows the host, and nothing more:

- a "drive" folder holding MBED.HTM and DETAILS.TXT (the product code, as an
  ST-LINK's drive does). A .bin copied in is taken like a probe takes it: the
  drive and the serial port go away (re-enumeration), the image boots on the
  board's QEMU twin exactly as harness/targets/qemu.py boots it (its command
  builder, the .bin as raw flash), then drive and port come back;
- a pseudo-terminal carrying the twin's UART, reached through a symlink that
  stays put while the pty behind it is replaced on every re-enumeration
  (a new /dev/pts/N, as /dev/ttyACM0 may come back as /dev/ttyACM1);
- `SimUsb`: what mbed-tools and pyserial's list_ports would report for the
  boards (real mbed-tools `Device.from_candidate` reading the drive's files,
  real `ListPortInfo` records), to plug into the harness's providers.

Hooks: `vanish()` / `reappear()` / `re_enumerate()` the port, `fail_next_flash(text)`
(the probe writes FAIL.TXT and programs nothing), `corrupt_next_flash()` (the
image lands damaged: the first KiB erased, so the part does not boot).

Everything the board starts (QEMU, its threads, ptys) is stopped by `stop()`,
which the context manager and the fixtures always call; QEMU also dies with
this process (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import hashlib
import os
import select
import shutil
import socket
import subprocess
import threading
import time
import tty
from pathlib import Path

from harness.boards import get_board
from harness.targets.qemu import die_with_parent, free_port, qemu_command

DAPLINK_FAIL = "error: The interface firmware FAILED to reset/halt the target MCU\r\ntype: target\r\n"


class SimBoard:
    def __init__(self, root: Path, serial: str, board: str = "nucleo-f446re", *, boot_timeout: float = 5.0,
                 reenumerate_delay: float = 0.05):
        self.board = get_board(board)
        if self.board.emulation is None or self.board.probe is None or not self.board.usb_product_code:
            raise ValueError(f"{board} has no emulated twin or no probe: it cannot be simulated")
        self.serial = serial
        self.dir = Path(root) / serial
        self.drive = self.dir / f"NODE_{board.rsplit('-', 1)[-1].upper()}"
        self.link = self.dir / "tty"                 # stable path to the current pty
        self.flash_file = self.dir / "flash.bin"     # what the twin boots
        self.qemu_log = self.dir / "qemu.log"
        self.boot_timeout, self.reenumerate_delay = boot_timeout, reenumerate_delay
        self.flashes = 0
        self.images: list[str] = []                  # sha256 of every image copied in
        self.booted: list[bool] = []                 # did the firmware send its boot byte, per flash
        self.qemu_commands: list[list[str]] = []
        self._fail_text: str | None = None
        self._corrupt = 0
        self._lock = threading.RLock()
        self._master = self._slave = None
        self.pts: str | None = None
        self._qemu: subprocess.Popen | None = None
        self._sock: socket.socket | None = None
        self._to_host = bytearray()
        self._to_dev = bytearray()
        self._stalled_since: float | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- life cycle ------------------------------------------------------------------

    def start(self) -> "SimBoard":
        self.dir.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._make_drive(None)
            self._make_port()        # a board on the bench: its port is there, its firmware unknown (silent)
        for fn in (self._watch, self._bridge):
            t = threading.Thread(target=fn, name=f"sim-{self.serial}-{fn.__name__}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=self.boot_timeout + 15)
        self._threads.clear()
        with self._lock:
            self._stop_qemu()
            self._drop_port()

    def __enter__(self) -> "SimBoard":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- hooks -------------------------------------------------------------------------

    @property
    def present(self) -> bool:
        return self.pts is not None

    def vanish(self) -> None:
        """The serial port goes away (USB unplugged or the probe re-enumerating)."""
        with self._lock:
            self._drop_port()

    def reappear(self) -> None:
        """The serial port comes back: a new pty behind the same symlink and serial number."""
        with self._lock:
            if self.pts is None:
                self._make_port()

    def re_enumerate(self, gap: float = 0.2) -> None:
        self.vanish()
        time.sleep(gap)
        self.reappear()

    def fail_next_flash(self, text: str = DAPLINK_FAIL) -> None:
        self._fail_text = text

    def corrupt_next_flash(self, count: int = 1) -> None:
        self._corrupt = count

    @property
    def running(self) -> bool:
        return self._qemu is not None and self._qemu.poll() is None

    # -- the drive -----------------------------------------------------------------------

    def _make_drive(self, fail_text: str | None) -> None:
        """The drive appears whole (FAIL.TXT included), as a mounted USB drive does."""
        if self.drive.is_dir():
            return
        staging = self.drive.with_name(self.drive.name + ".staging")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        code = self.board.usb_product_code
        (staging / "MBED.HTM").write_text(
            "<!-- mbed Microcontroller Website and Authentication Shortcut -->\n<html>\n<head>\n"
            f'<meta http-equiv="refresh" content="0; url=http://mbed.org/device/?code={code}0221{self.serial}"/>\n'
            "<title>mbed Website Shortcut</title>\n</head>\n<body></body>\n</html>\n")
        (staging / "DETAILS.TXT").write_text("Version: 0221\nBuild:   Jan 11 2016 16:12:36\n")
        if fail_text is not None:
            (staging / "FAIL.TXT").write_text(fail_text)
        staging.rename(self.drive)

    def _watch(self) -> None:
        """Take an image once its size has held still for two polls (the writer closed it)."""
        seen: dict[str, tuple] = {}
        steady: dict[str, int] = {}
        while not self._stop.wait(0.05):
            try:
                files = [p for p in self.drive.iterdir() if p.suffix.lower() in (".bin", ".hex")]
            except OSError:
                continue
            for p in files:
                try:
                    st = p.stat()
                except OSError:
                    continue
                key = (st.st_size, st.st_mtime_ns)
                steady[p.name] = steady.get(p.name, 0) + 1 if seen.get(p.name) == key else 0
                seen[p.name] = key
                if steady[p.name] >= 2 and st.st_size > 0:
                    data = p.read_bytes()
                    seen.clear()
                    steady.clear()
                    self._program(data)
                    break

    def _program(self, data: bytes) -> None:
        with self._lock:
            self.flashes += 1
            self.images.append(hashlib.sha256(data).hexdigest())
            fail, self._fail_text = self._fail_text, None
            corrupt = self._corrupt > 0
            if corrupt:
                self._corrupt -= 1
            # The probe programs the part and re-enumerates: drive and port go away.
            self._drop_port()
            gone = self.drive.with_name(self.drive.name + ".gone")   # at once, as an unmounted drive goes
            self.drive.rename(gone)
            shutil.rmtree(gone, ignore_errors=True)
            self._stop_qemu()
            if fail is None:
                image = (b"\xff" * 1024 + data[1024:]) if corrupt else data   # an erased, unprogrammed first KiB
                self.flash_file.write_bytes(image)
                self.booted.append(self._start_qemu())
            else:
                self.booted.append(False)
        time.sleep(self.reenumerate_delay)
        with self._lock:
            if self._stop.is_set():   # stopped meanwhile: bring nothing back
                self._stop_qemu()
                return
            self._make_drive(fail)
            self._make_port()

    # -- the twin ------------------------------------------------------------------------

    def _start_qemu(self) -> bool:
        """Boot flash.bin on the twin; True when the firmware sent its boot byte. That byte
        goes nowhere: the host port is still away, as on a board re-enumerating."""
        for _ in range(3):
            tcp = free_port()
            cmd = qemu_command(self.board, self.flash_file, self.flash_file, tcp)
            self.qemu_commands.append(cmd)
            with open(self.qemu_log, "ab") as log:
                proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                        preexec_fn=die_with_parent)
            sock = None
            deadline = time.monotonic() + 10
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    sock = socket.create_connection(("127.0.0.1", tcp), timeout=1)
                    break
                except OSError:
                    time.sleep(0.02)
            if sock is not None:
                break
            proc.kill()
            proc.wait()
        else:
            raise RuntimeError(f"simulated board {self.serial}: QEMU did not start; see {self.qemu_log}")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._qemu, self._sock = proc, sock
        deadline = time.monotonic() + self.boot_timeout
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = sock.recv(4096)
            except socket.timeout:
                break
            if not chunk:
                break
            if b"\x00" in chunk:
                sock.setblocking(False)
                return True
        sock.setblocking(False)
        return False

    def _stop_qemu(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
        proc, self._qemu = self._qemu, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._to_dev.clear()

    # -- the serial port -----------------------------------------------------------------

    def _make_port(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)               # a USB CDC port: no echo, no line discipline
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self.pts = os.ttyname(slave)
        tmp = self.link.with_name(self.link.name + ".new")
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(self.pts, tmp)
        os.replace(tmp, self.link)

    def _drop_port(self) -> None:
        if self.link.is_symlink():
            self.link.unlink()
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)   # whoever has the port open now reads EOF/EIO, as from an unplugged ttyACM
        self._master = self._slave = None
        self.pts = None
        self._to_host.clear()

    def _bridge(self) -> None:
        """Bytes between the pty and QEMU's serial socket, with flow control both ways; what
        the board sends while no port is there (or nobody reads it for a second) is dropped."""
        limit = 1 << 16
        while not self._stop.is_set():
            with self._lock:
                master, sock = self._master, self._sock
                rl, wl = [], []
                if master is not None:
                    if len(self._to_dev) < limit:
                        rl.append(master)
                    if self._to_host:
                        wl.append(master)
                if sock is not None:
                    if len(self._to_host) < limit:
                        rl.append(sock)
                    if self._to_dev:
                        wl.append(sock)
                if not rl and not wl:
                    ready = ([], [])
                else:
                    r, w, _ = select.select(rl, wl, [], 0.02)
                    ready = (r, w)
                r, w = ready
                if master is not None and master in r:
                    try:
                        data = os.read(master, 4096)
                    except OSError:
                        data = b""
                    if sock is not None:
                        self._to_dev += data
                if sock is not None and sock in r:
                    try:
                        data = sock.recv(4096)
                    except (BlockingIOError, InterruptedError):
                        data = None
                    except OSError:
                        data = b""
                    if data == b"":          # QEMU went away
                        self._sock = None
                        sock.close()
                        sock = None
                    elif data and master is not None:
                        self._to_host += data
                if sock is not None and sock in w and self._to_dev:
                    try:
                        n = sock.send(self._to_dev)
                        del self._to_dev[:n]
                    except (BlockingIOError, InterruptedError):
                        pass
                if master is not None and self._to_host:
                    if master in w:
                        try:
                            n = os.write(master, self._to_host)
                            del self._to_host[:n]
                            self._stalled_since = None
                        except (BlockingIOError, InterruptedError):
                            pass
                        except OSError:
                            self._to_host.clear()
                    now = time.monotonic()
                    if self._to_host:
                        self._stalled_since = self._stalled_since or now
                        if now - self._stalled_since > 1.0:   # nobody reads the port
                            self._to_host.clear()
                            self._stalled_since = None
            if not rl and not wl:
                time.sleep(0.02)


class SimUsb:
    """What the USB stack shows of some simulated boards, in the libraries' own types."""

    def __init__(self, sims: list[SimBoard]):
        self.sims = list(sims)

    def comports(self):
        from serial.tools.list_ports_common import ListPortInfo
        ports = []
        for sim in self.sims:
            pts = sim.pts
            if pts is None:
                continue
            info = ListPortInfo(pts, skip_link_detection=True)
            info.vid, info.pid = sim.board.probe.usb_vid, sim.board.probe.usb_pid
            info.serial_number = sim.serial
            info.manufacturer = "STMicroelectronics"
            info.product = "STM32 STLink"
            info.interface = "ST-Link VCP Ctrl"
            info.location = "1-1.2:1.2"
            info.apply_usb_info()
            ports.append(info)
        return ports

    def get_connected_devices(self):
        """mbed-tools' own answer, with its OS probing (udev, psutil) replaced by the simulated drives."""
        from mbed_tools.devices._internal.candidate_device import CandidateDevice
        from mbed_tools.devices.device import ConnectedDevices, Device
        os.environ.setdefault("MBED_DATABASE_MODE", "OFFLINE")
        connected = ConnectedDevices()
        for sim in self.sims:
            if not sim.drive.is_dir():
                continue
            candidate = CandidateDevice(
                product_id=f"{sim.board.probe.usb_pid:04x}", vendor_id=f"{sim.board.probe.usb_vid:04x}",
                serial_number=sim.serial, mount_points=(sim.drive,), serial_port=sim.pts)
            connected.add_device(Device.from_candidate(candidate))
        return connected

    def provider(self):
        from harness.boards.detect import ListPortsProvider, MbedToolsProvider, UsbProvider
        return UsbProvider(MbedToolsProvider(get_devices=self.get_connected_devices),
                           ListPortsProvider(comports=self.comports))


def write_sim_map(path: Path, sims: list[SimBoard]) -> Path:
    """A hardware map naming the simulated boards (port: the stable symlink, drive: the folder)."""
    from harness.boards.hwmap import MapEntry, map_text
    entries = [MapEntry(s.board.name, s.serial, str(s.link), "mass-storage", str(s.drive), None, "simulated board")
               for s in sims]
    path.write_text(map_text(entries))
    return path
