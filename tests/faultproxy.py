"""A fault-injecting serial line between the harness and QEMU, for the reliability tests.

Installed as `qemu-system-arm` at the front of PATH (see `install`), it starts
the real QEMU with its serial socket on another port and serves the port the
harness asked for itself, passing every byte through and damaging some on the
way, as a bad cable, a flaky USB hub or an overloaded lab host would:

    FAULT_FLIP_TO_DEVICE, FAULT_FLIP_TO_HOST   bit-error rate: each bit flipped with this probability
    FAULT_DROP, FAULT_INSERT                   per byte: dropped, or followed by a random byte
    FAULT_STALL_AT, FAULT_STALL_S              after this many bytes to the host, hold the line this long
                                               (once: in the middle of whatever frame is passing)
    FAULT_SEED                                 the random sequence (the same faults at the same bytes)
    FAULT_LOG                                  a file: each proxy's totals, one JSON line when it ends

The harness code is the real one; only the line is bad. The wrapper dies with
its parent (PR_SET_PDEATHSIG) and takes QEMU with it.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import random
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PROXIED = "FAULT_REAL_QEMU"


def install(bin_dir: Path, **faults) -> dict[str, str]:
    """Write the `qemu-system-arm` stand-in into bin_dir; returns the environment for a child process
    (PATH first, the real QEMU's path, and the faults as FAULT_* variables)."""
    import shutil
    real = shutil.which("qemu-system-arm")
    if real is None:
        raise RuntimeError("qemu-system-arm is not installed")
    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / "qemu-system-arm"
    shim.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(Path(__file__).parent)!r})\n"
                    "import faultproxy\nfaultproxy.main(sys.argv[1:])\n")
    shim.chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env[PROXIED] = real
    for key, value in faults.items():
        env[f"FAULT_{key.upper()}"] = str(value)
    return env


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Damage:
    """One direction's faults, drawn from its own random sequence. Each fault kind waits a geometric number
    of bits (or bytes) for its next hit, which is the same as an independent draw for each but cheap."""

    def __init__(self, rng: random.Random, flip: float, drop: float, insert: float):
        self.rng, self.flip, self.drop, self.insert = rng, flip, drop, insert
        self.counts = {"flipped_bits": 0, "dropped": 0, "inserted": 0, "bytes": 0}
        self._next_flip = self._gap(flip)       # in bits
        self._next_drop = self._gap(drop)       # in bytes
        self._next_insert = self._gap(insert)

    def _gap(self, p: float) -> float:
        if p <= 0:
            return float("inf")
        if p >= 1:
            return 0
        return int(math.log(1.0 - self.rng.random()) / math.log(1.0 - p))

    def apply(self, data: bytes) -> bytes:
        out = bytearray()
        for b in data:
            self.counts["bytes"] += 1
            if self._next_drop == 0:
                self._next_drop = self._gap(self.drop)
                self.counts["dropped"] += 1
                self._next_flip = max(0, self._next_flip - 8)
                continue
            self._next_drop -= 1
            while self._next_flip < 8:
                b ^= 1 << int(self._next_flip)
                self.counts["flipped_bits"] += 1
                self._next_flip += 1 + self._gap(self.flip)
            self._next_flip -= 8
            out.append(b)
            if self._next_insert == 0:
                out.append(self.rng.randrange(256))
                self.counts["inserted"] += 1
                self._next_insert = self._gap(self.insert)
            else:
                self._next_insert -= 1
        return bytes(out)


def _env_float(name: str) -> float:
    return float(os.environ.get(f"FAULT_{name}", "0") or 0)


def main(argv: list[str]) -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    _die_with_parent()
    real = os.environ[PROXIED]
    # The port the harness will connect to: QEMU's `-serial tcp:127.0.0.1:PORT,server=on,...`.
    args = list(argv)
    i = next(k for k, a in enumerate(args) if a.startswith("tcp:127.0.0.1:"))
    front = int(args[i].split(":")[2].split(",")[0])
    back = _free_port()
    args[i] = args[i].replace(f"127.0.0.1:{front}", f"127.0.0.1:{back}", 1)
    qemu = subprocess.Popen([real, *args], preexec_fn=_die_with_parent)
    log = open(os.environ["FAULT_LOG"], "a") if os.environ.get("FAULT_LOG") else None
    seed = int(os.environ.get("FAULT_SEED", "1"))
    to_device = Damage(random.Random(seed * 2 + 1), _env_float("FLIP_TO_DEVICE"), _env_float("DROP"),
                       _env_float("INSERT"))
    to_host = Damage(random.Random(seed * 2 + 2), _env_float("FLIP_TO_HOST"), _env_float("DROP"), _env_float("INSERT"))
    stall_at, stall_s = int(_env_float("STALL_AT")), _env_float("STALL_S")
    try:
        server = socket.create_server(("127.0.0.1", front))
        upstream = None
        deadline = time.monotonic() + 30
        while upstream is None:   # QEMU waits for its client (wait=on): connect once it listens
            try:
                upstream = socket.create_connection(("127.0.0.1", back), timeout=1)
            except OSError:
                if qemu.poll() is not None or time.monotonic() > deadline:
                    sys.exit(1)
                time.sleep(0.02)
        host, _ = server.accept()
        for s in (host, upstream):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sent_to_host = 0
        stalled = False
        while True:
            ready, _, _ = select.select([host, upstream], [], [], 0.5)
            if qemu.poll() is not None:
                break
            for src in ready:
                data = src.recv(65536)
                if not data:
                    return
                if src is host:
                    upstream.sendall(to_device.apply(data))
                    continue
                if stall_at and not stalled and sent_to_host + len(data) > stall_at:
                    cut = max(1, stall_at - sent_to_host)
                    host.sendall(to_host.apply(data[:cut]))
                    time.sleep(stall_s)   # the line holds in the middle of a frame
                    data, sent_to_host, stalled = data[cut:], sent_to_host + cut, True
                host.sendall(to_host.apply(data))
                sent_to_host += len(data)
    finally:
        if log is not None:
            log.write(json.dumps({"to_device": to_device.counts, "to_host": to_host.counts}) + "\n")
            log.close()
        if qemu.poll() is None:
            qemu.kill()
            qemu.wait()


def totals(log: Path) -> dict[str, dict[str, int]]:
    """Summed counts over every proxy a run started (one per emulator start)."""
    out: dict[str, dict[str, int]] = {}
    if not log.is_file():
        return out
    for line in log.read_text().splitlines():
        for direction, counts in json.loads(line).items():
            acc = out.setdefault(direction, {})
            for k, v in counts.items():
                acc[k] = acc.get(k, 0) + v
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
