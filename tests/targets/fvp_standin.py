"""A stand-in for an Arm FVP executable, for tests only: Arm's FVPs cannot be installed here.

It takes the FVP command line harness/targets/fvp.py builds (`-a cpu0=IMAGE`,
`-C instance.parameter=value`, `--stat`) and acts out one way an FVP process
can behave, chosen by $FVP_STANDIN_MODE:

    qemu       run IMAGE on QEMU mps3-an547 (the AN547 image of the same Corstone-300), its UART on
               the port given in <terminal>.start_port, after announcing that port the way an FVP does
               ("telnetterminal0: Listening for serial connection on port N"); QEMU replaces this process
    listen     announce the port, accept connections, send the boot byte 0x00, then stay silent
    silent     announce nothing, run until ended
    no-listen  announce the port but never open it
    exit       print an error and exit with code 3 at once
    stubborn   as listen, but ignore SIGTERM (only SIGKILL ends it)
    wrapper    as listen, in a child process that ignores SIGTERM and that this one waits for
               (a wrapper script and its model)

It writes its argv as JSON to $FVP_STANDIN_ARGS and its pid (and a wrapper's
child's) to $FVP_STANDIN_PIDS when those are set. It models the process's
lifecycle and nothing of the simulation: a test that uses it checks the FVP
target's command line, connection and stop paths, never an FVP's counts.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sys
import time


def _parameters(argv: list[str]) -> tuple[str | None, dict[str, str]]:
    image, params = None, {}
    it = iter(argv)
    for arg in it:
        if arg == "-a":
            image = next(it).split("=", 1)[1]
        elif arg == "-C":
            key, _, value = next(it).partition("=")
            params[key] = value
    return image, params


def _terminal_port(params: dict[str, str]) -> tuple[str, int]:
    for key, value in params.items():
        if key.endswith(".start_port"):
            return key[: -len(".start_port")].rsplit(".", 1)[-1], int(value)
    raise SystemExit("stand-in: no <terminal>.start_port parameter")


def _record(name: str, value) -> None:
    path = os.environ.get(name)
    if path:
        with open(path, "a") as fh:
            fh.write(json.dumps(value) + "\n")


def _announce(terminal: str, port: int) -> None:
    print(f"{terminal}: Listening for serial connection on port {port}", flush=True)


def _listen(terminal: str, port: int) -> None:
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    while True:   # as an FVP does: the next port when this one is taken
        try:
            srv.bind(("127.0.0.1", port))
            break
        except OSError:
            port += 1
    srv.listen(1)
    _announce(terminal, port)
    while True:
        conn, _ = srv.accept()
        conn.sendall(b"\x00")
        while conn.recv(4096):
            pass
        conn.close()


def main() -> None:
    mode = os.environ.get("FVP_STANDIN_MODE", "listen")
    argv = sys.argv[1:]
    _record("FVP_STANDIN_ARGS", argv)
    _record("FVP_STANDIN_PIDS", os.getpid())
    image, params = _parameters(argv)
    terminal, port = _terminal_port(params)
    if mode == "qemu":
        qemu = shutil.which("qemu-system-arm")
        if qemu is None or image is None:
            raise SystemExit("stand-in: qemu-system-arm and -a cpu0=IMAGE are needed")
        _announce(terminal, port)
        os.execv(qemu, [qemu, "-M", "mps3-an547", "-icount", "shift=0", "-display", "none", "-monitor", "none",
                        "-nodefaults", "-serial", f"tcp:127.0.0.1:{port},server=on,wait=on,nodelay=on",
                        "-kernel", image])
    if mode == "exit":
        print("Error: stand-in could not load the application", flush=True)
        sys.exit(3)
    if mode == "silent":
        while True:
            time.sleep(1)
    if mode == "no-listen":
        _announce(terminal, port)
        while True:
            time.sleep(1)
    if mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if mode == "wrapper":
        pid = os.fork()
        if pid == 0:   # outlives a SIGTERM: only the group's SIGKILL ends it
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            _record("FVP_STANDIN_PIDS", os.getpid())
            _listen(terminal, port)
        os.waitpid(pid, 0)
        return
    _listen(terminal, port)


if __name__ == "__main__":
    main()
