"""Arm FVP backend: runs a board's image on Arm's Fixed Virtual Platform of the same subsystem.

The Corstone-300 FVP (`FVP_Corstone_SSE-300_Ethos-U55` or `_U65`) runs the very
ELF that QEMU mps3-an547 runs. It cannot be installed from a package registry:
docs/hardware.md says where to get it. It is found through `$HARNESS_FVP` (the
executable, or the folder holding it), else the catalog's binary names on PATH;
`$HARNESS_EMULATOR` chooses between it and QEMU (`choose_fvp`).

The command line comes from the catalog's `fvp:` entry (`fvp_command`): the
image loaded into the core's instance (`-a cpu0=firmware.elf`), no GUI, the
board's UART on the telnet terminal in raw mode (the link is binary) at a
loopback port the FVP announces on its output, the FPU on and Helium as the
image was built (`cpu0.MVE`), `--stat` for the simulation's own figures in the
log. The FVP runs in its own process group; stop() ends that group (SIGTERM,
then SIGKILL), and so do interpreter exit and, through PR_SET_PDEATHSIG, the
death of this process, as for QEMU.

What the firmware counts on an FVP is recorded as `fvp-cycles`, whatever
counter its HELLO names (the DWT cycle counter or the calibrated SysTick): Fast
Models run about one instruction per simulated clock tick, in quanta, so these
counts are neither a real core's cycles nor time, nor QEMU's exact
instruction counts.
"""

from __future__ import annotations

import atexit
import dataclasses
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from pathlib import Path

import attrs
import serial

from ..boards import Board
from ..boards.catalog import MVE
from ..link import Hello
from ..records import EMULATED, FVP_CYCLES
from .base import TargetInfo
from .qemu import die_with_parent, free_port

log = logging.getLogger(__name__)

FVP_ENV = "HARNESS_FVP"             # the FVP executable, or a folder holding one of the catalog's binaries
EMULATOR_ENV = "HARNESS_EMULATOR"   # qemu | fvp; unset: the FVP when one is found, else QEMU
EMULATORS = ("qemu", "fvp")

_live: "weakref.WeakSet[FvpTarget]" = weakref.WeakSet()


class FvpError(RuntimeError):
    """The FVP could not be found, started or connected to; one line says why."""


def _names(board: Board) -> str:
    return " or ".join(board.fvp.binaries)


def _install_hint() -> str:
    return (f"install it (docs/hardware.md: Arm's Ecosystem FVPs on developer.arm.com) and put it on PATH "
            f"or name it in ${FVP_ENV}")


def find_fvp(board: Board, env=None) -> Path | None:
    """The FVP executable for `board`: $HARNESS_FVP (a file, or a folder holding one of the catalog's
    binaries), else the first of the catalog's binaries on PATH; None when there is none.

    A $HARNESS_FVP that names nothing runnable is an error, not a silent fallback to QEMU."""
    env = os.environ if env is None else env
    if board.fvp is None:
        return None
    named = env.get(FVP_ENV, "").strip()
    if named:
        p = Path(named).expanduser()
        if p.is_dir():
            for name in board.fvp.binaries:
                if (p / name).is_file() and os.access(p / name, os.X_OK):
                    return (p / name).resolve()
            raise FvpError(f"${FVP_ENV}={named} is a folder without {_names(board)} in it")
        if not p.is_file():
            raise FvpError(f"${FVP_ENV}={named} does not exist; name {_names(board)} itself or its folder")
        if not os.access(p, os.X_OK):
            raise FvpError(f"${FVP_ENV}={named} is not executable (chmod +x it, or name the FVP binary itself)")
        return p.resolve()
    for name in board.fvp.binaries:
        found = shutil.which(name, path=env.get("PATH", os.defpath))
        if found:
            return Path(found).resolve()
    return None


def choose_fvp(board: Board, env=None) -> tuple[Path | None, str]:
    """Which emulator runs `board`: (the FVP binary, why) or (None, why) for its QEMU twin.

    $HARNESS_EMULATOR=qemu never uses the FVP; =fvp requires it for the boards that have one in the
    catalog; unset, the FVP is used when found. Boards without an FVP entry always run on QEMU."""
    env = os.environ if env is None else env
    want = env.get(EMULATOR_ENV, "").strip().lower()
    if want not in ("",) + EMULATORS:
        raise FvpError(f"${EMULATOR_ENV}={want!r} is not one of {', '.join(EMULATORS)} "
                       "(unset: an FVP when one is found, else QEMU)")
    if board.fvp is None:
        return None, ""
    if want == "qemu":
        return None, f"${EMULATOR_ENV}=qemu"
    path = find_fvp(board, env)
    if path is None:
        if want == "fvp":
            raise FvpError(f"${EMULATOR_ENV}=fvp: no {_names(board)} found; {_install_hint()}")
        return None, f"no {_names(board)} found"
    return path, f"${FVP_ENV}" if env.get(FVP_ENV, "").strip() else "found on PATH"


def terminal_name(board: Board) -> str:
    """How the FVP names the terminal in its output: the instance's last component (telnetterminal0)."""
    return board.fvp.terminal.rsplit(".", 1)[-1]


def fvp_parameters(board: Board, port: int) -> dict[str, str]:
    """Every -C instance.parameter=value of a run, from the catalog: the harness's own, then the entry's."""
    fvp = board.fvp
    params = {
        f"{fvp.terminal}.start_telnet": "0",     # no telnet client window
        f"{fvp.terminal}.mode": "raw",           # bytes unmodified: the link is binary (telnet mode would handshake)
        f"{fvp.terminal}.start_port": str(port),  # the FVP takes the next free port if this one is taken, and says so
        f"{fvp.cpu}.FPU": "1",
    }
    if board.mve is not None:
        params[f"{fvp.cpu}.MVE"] = str(MVE[board.mve][1])   # the core as the image was built (0: no Helium)
    return {**params, **fvp.parameters}


def fvp_command(board: Board, binary: Path, image_elf: Path, port: int) -> list[str]:
    """The FVP's command line for `board`'s image with its UART's terminal at 127.0.0.1:`port`."""
    if board.fvp is None:
        raise FvpError(f"board {board.name} has no FVP in the catalog")
    cmd = [str(binary), "-a", f"{board.fvp.cpu}={Path(image_elf)}"]
    for key, value in fvp_parameters(board, port).items():
        cmd += ["-C", f"{key}={value}"]
    return cmd + ["--stat"]


_LISTENING = re.compile(rb"^(\S+): Listening for serial connection on port (\d+)", re.MULTILINE)


def announced_port(output: bytes, terminal: str) -> int | None:
    """The port the FVP says `terminal` (e.g. telnetterminal0) listens on, from its output so far."""
    for m in _LISTENING.finditer(output):
        if m.group(1).decode(errors="replace") == terminal:
            return int(m.group(2))
    return None


class FvpTarget:
    """The board's image on an Arm FVP, its UART over loopback TCP (the FVP's telnet terminal, raw)."""

    def __init__(self, board: Board, elf: Path, binary: Path, *, fvp: Path | str | None = None,
                 connect_timeout: float = 60.0, boot_timeout: float = 5.0, stop_grace: float = 5.0,
                 log_dir: Path | None = None):
        if board.fvp is None:
            raise FvpError(f"board {board.name} has no FVP in the catalog")
        found = Path(fvp) if fvp is not None else find_fvp(board)
        if found is None:
            raise FvpError(f"no {_names(board)} found; {_install_hint()}")
        self.board = board
        self.fvp = found
        self.elf, self.bin = Path(elf), Path(binary)
        self.connect_timeout = connect_timeout
        self.boot_timeout = boot_timeout
        self.stop_grace = stop_grace   # seconds between SIGTERM and SIGKILL
        self.log_dir = Path(log_dir) if log_dir else None
        self.info = TargetInfo(board.name, EMULATED, self.fvp.name,
                               f"{board.name} image on Arm's {self.fvp.name} (counts are FVP cycles: "
                               "not cycle-accurate, not time)")
        self.proc: subprocess.Popen | None = None
        self.command: list[str] = []
        self.tcp_port: int | None = None
        self.firmware_counter: str | None = None   # the counter the HELLO named, before it is labelled
        self._port = None
        self._log = None

    @property
    def port(self):
        if self._port is None:
            raise FvpError("target not started: call start() first")
        return self._port

    def start(self) -> None:
        if self.proc is not None:
            return
        if not self.elf.is_file():
            raise FvpError(f"image {self.elf} does not exist; build it first (python -m harness build --board {self.board.name})")
        self.command = fvp_command(self.board, self.fvp, self.elf, free_port())
        self._open_log()
        try:
            self.proc = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=self._log,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         preexec_fn=die_with_parent)
        except OSError as exc:
            self.stop()
            raise FvpError(f"cannot start {self.fvp}: {exc.strerror or exc}") from None
        _live.add(self)
        try:
            self.tcp_port = self._await_port()
            self._port = self._connect(self.tcp_port)
            self._await_boot()
        except BaseException as exc:   # a failure, a timeout or Ctrl-C: the FVP must not outlive start()
            text = self._log_text()
            self.stop()
            if isinstance(exc, FvpError):
                raise FvpError(f"{exc}\nFVP command: {' '.join(self.command)}\n"
                               f"FVP said: {text.strip()[-800:] or '(nothing)'}") from None
            raise

    def _running(self) -> None:
        if self.proc.poll() is not None:
            raise FvpError(f"{self.fvp.name} exited with code {self.proc.returncode}")

    def _await_port(self) -> int:
        """The terminal's port, as the FVP announces it ("telnetterminal0: Listening for serial connection on port N")."""
        deadline = time.monotonic() + self.connect_timeout
        name = terminal_name(self.board)
        while True:
            port = announced_port(self._log_bytes(), name)
            if port is not None:
                return port
            self._running()
            if time.monotonic() > deadline:
                raise FvpError(f"{self.fvp.name} announced no port for {name} within {self.connect_timeout:.0f} s")
            time.sleep(0.02)

    def _connect(self, tcp: int):
        deadline = time.monotonic() + self.connect_timeout
        while True:
            self._running()
            try:
                port = serial.serial_for_url(f"socket://127.0.0.1:{tcp}", timeout=1.0)
                sock = getattr(port, "_socket", None)  # pyserial keeps the TCP socket here
                if sock is not None:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return port
            except serial.SerialException:
                if time.monotonic() > deadline:
                    raise FvpError(f"{terminal_name(self.board)} at 127.0.0.1:{tcp} did not accept a connection "
                                   f"within {self.connect_timeout:.0f} s") from None
                time.sleep(0.02)

    def _await_boot(self) -> None:
        """Wait for the firmware's boot byte 0x00 (PROTOCOL.md, "Byte stream").

        The FVP runs the image from its start, before the connection; a boot byte sent before then
        may not be kept by the terminal. So a missing one is not an error while the FVP runs: the
        handshake that follows retries, and fails with its own message if the firmware never answers."""
        deadline = time.monotonic() + self.boot_timeout
        while time.monotonic() < deadline:
            self._port.timeout = min(0.5, max(0.0, deadline - time.monotonic()))
            if self._port.read(1) == b"\x00":
                return
            self._running()
        log.info("%s: no boot byte within %.1f s of connecting; it may have gone out before the connection",
                 self.board.name, self.boot_timeout)

    def counted(self, hello: Hello) -> Hello:
        """The HELLO as a run records it: counts of an image on an FVP are FVP cycles, whichever counter
        the firmware read (its own word is kept in firmware_counter and in info.detail)."""
        if hello.counter_kind == "none":
            return hello
        self.firmware_counter = hello.counter_kind
        self.info = attrs.evolve(self.info, detail=f"{self.board.name} image on Arm's {self.fvp.name}; the firmware "
                                                   f"read {hello.counter_kind}, recorded as {FVP_CYCLES} "
                                                   "(not cycle-accurate, not time)")
        return dataclasses.replace(hello, counter_kind=FVP_CYCLES)

    def _open_log(self) -> None:
        if self._log is None:
            if self.log_dir:
                self.log_dir.mkdir(parents=True, exist_ok=True)
                self._log = open(self.log_dir / f"fvp-{self.board.name}.log", "w+b")
            else:
                self._log = tempfile.TemporaryFile()

    def _log_bytes(self) -> bytes:
        if self._log is None:
            return b""
        self._log.flush()
        size = os.fstat(self._log.fileno()).st_size
        return os.pread(self._log.fileno(), size, 0)

    def _log_text(self) -> str:
        return self._log_bytes().decode(errors="replace")

    def stop(self) -> None:
        """Close the port and end the FVP's process group; safe to call twice."""
        if self._port is not None:
            try:
                self._port.close()
            except Exception:
                pass
            self._port = None
        proc, self.proc = self.proc, None
        if proc is not None:
            _end_group(proc, self.stop_grace)
        if self._log is not None:
            self._log.close()
            self._log = None
        _live.discard(self)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _end_group(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM to the process group this module started (the FVP leads it), SIGKILL after `grace` seconds,
    then once more for anything the FVP left behind in its group (a wrapper script's children)."""
    pgid = proc.pid   # start_new_session: the FVP leads a group of its own
    if proc.poll() is None:
        _signal_group(pgid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(pgid, signal.SIGKILL)
            proc.wait()
    _signal_group(pgid, signal.SIGKILL)


@atexit.register
def _stop_all() -> None:
    for target in list(_live):
        target.stop()
