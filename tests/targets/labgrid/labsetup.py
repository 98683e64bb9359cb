"""The pieces of a labgrid lab on this machine (the fixtures that put them together are in conftest.py).

- `labgrid-coordinator` listens on a free port of 127.0.0.1, in a folder of
  its own (it keeps places.yaml in its working directory);
- a simulated NUCLEO-F446RE (tests/simboard.py) is exported by
  `labgrid-exporter` (name bench-sim, published host 127.0.0.1): its serial
  port as a RawSerialPort, which the exporter serves through ser2net (Debian's)
  while the place is acquired. labgrid's exporter serves only device paths
  under /dev, so the stable path is a symlink in /dev/shm to the simulated
  board's pty link (on a lab host it is a /dev/serial/by-id link or a udev
  match);
- the place `sim-nucleo-1` matches that resource, tagged board=nucleo-f446re
  (and `sim-nucleo-2` a second simulated board's, for two xdist workers);
  the drive is named by the hardware map entry (`drive:`), since labgrid
  exports a probe's drive only as a USB block device (docs/lab.md).

Every process is started here and stopped here, on failure too: terminated,
then killed after a bounded wait; each child has SIGINT/SIGTERM at their
defaults and dies with this process (PR_SET_PDEATHSIG). The exporter runs in
its own process group, so the ser2net it starts goes with it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from harness.paths import REPO_ROOT
from harness.targets.qemu import die_with_parent
from procs import default_signals

ROOT = REPO_ROOT
SERIAL = "066BFF555150836687109901"
SERIAL_2 = "066BFF555150836687109902"
EXPORTER = "bench-sim"
PLACE = "sim-nucleo-1"
PLACE_2 = "sim-nucleo-2"   # a second simulated board, for two xdist workers
BIN = Path(sys.executable).parent


def tool(name: str) -> str | None:
    found = BIN / name
    return str(found) if found.exists() else shutil.which(name)


def _ser2net() -> str | None:
    return shutil.which("ser2net") or ("/usr/sbin/ser2net" if os.path.exists("/usr/sbin/ser2net") else None)


def lab_missing() -> str | None:
    """Why the labgrid tests cannot run here, or None."""
    try:
        import labgrid  # noqa: F401
    except ImportError:
        return "labgrid is not installed (pip install -e '.[lab]')"
    if tool("labgrid-coordinator") is None or tool("labgrid-exporter") is None:
        return "labgrid-coordinator / labgrid-exporter are not on PATH"
    if _ser2net() is None:
        return "ser2net is not installed (Debian package ser2net; make setup installs it)"
    if not os.access("/dev/shm", os.W_OK):
        return "/dev/shm is not writable (the exported serial port's stable path lives there)"
    return None


def _child():
    default_signals()
    die_with_parent()


class Proc:
    """A process this test session started; stop() terminates it, then kills it after a bounded wait."""

    def __init__(self, cmd, *, cwd, log: Path, env=None, group=False):
        self.cmd, self.log_path = cmd, log
        self._log = open(log, "wb")
        self.popen = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=self._log,
                                      stderr=subprocess.STDOUT, preexec_fn=_child, start_new_session=group)
        self.group = group

    def alive(self) -> bool:
        return self.popen.poll() is None

    def text(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        if self.group:   # whatever it left in its group (its ser2net)
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._log.close()


def wait_for(check, what: str, timeout: float = 60.0, poll: float = 0.1):
    """Poll `check` until it returns something true; a bounded wait, not a sleep."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)


class Lab:
    def __init__(self, root: Path, address: str):
        self.root, self.address = root, address
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("LG_", "HARNESS_HARDWARE_MAP"))}
        self.env.update(LG_COORDINATOR=address, HARNESS_LOCK_DIR=str(root / "locks"), PYTHONUNBUFFERED="1")

    def client(self, *args, user: str | None = None, host: str | None = None, check=True, timeout=60):
        env = dict(self.env)
        if user:
            env["LG_USERNAME"] = user
        if host:
            env["LG_HOSTNAME"] = host
        r = subprocess.run([tool("labgrid-client"), "-x", self.address, *args], env=env, capture_output=True,
                           text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise AssertionError(f"labgrid-client {' '.join(args)}: {r.stdout}{r.stderr}")
        return r

    def acquired_by(self, place: str) -> str | None:
        """Who holds a place, as labgrid-client shows it (None: free)."""
        out = self.client("-p", place, "show").stdout
        for line in out.splitlines():
            if line.strip().startswith("acquired:"):
                who = line.split(":", 1)[1].strip()
                return None if who in ("", "None") else who
        return None

    def harness(self, *args, env=None, timeout=180):
        return subprocess.run([sys.executable, "-m", "harness", *args], cwd=ROOT, env={**self.env, **(env or {})},
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def pytest(self, *args, env=None, timeout=300):
        return subprocess.run([sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider"], cwd=ROOT,
                              env={**self.env, **(env or {})}, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)




class ExportedSim:
    def __init__(self, sims, hw_map: Path, both_map: Path, exporter: Proc):
        self.sims, self.map, self.both_map, self.exporter = sims, hw_map, both_map, exporter
        self.sim, self.place = sims[0], PLACE
