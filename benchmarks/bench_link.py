"""Link throughput and overhead on emulated boards.

    .venv/bin/python benchmarks/bench_link.py [--board B ...] [--repeats N]

Prints, per board: the median round trip of an empty request (STATUS), the
time to write a tensor of each size in acknowledged chunks, and the bytes put
on the wire per tensor byte (frame header, CRC, COBS and delimiter included).
Wall-clock figures are of the host and QEMU together, not of a real board.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from harness import firmware
from harness.boards import get_board
from harness.link import Link
from harness.targets import QemuTarget

SIZES = [490, 1960, 16384, 65536]  # KWS int8 and fp32 inputs (49x10), then bulk


def bench_board(name: str, repeats: int) -> list[str]:
    board = get_board(name)
    image = firmware.build(board)
    rows = []
    with QemuTarget(board, image.elf, image.bin) as target:
        link = Link(target.port)
        link.handshake()
        for _ in range(20):
            link.status()
        t = []
        for _ in range(repeats * 10):
            t0 = time.perf_counter()
            link.status()
            t.append(time.perf_counter() - t0)
        rows.append(f"| {name} | empty request round trip | {1e3 * statistics.median(t):.3f} ms | |")
        for size in SIZES:
            data = os.urandom(size)
            times = []
            for _ in range(repeats):
                sent = link.stats.bytes_sent
                t0 = time.perf_counter()
                link.write_tensor(data)
                times.append(time.perf_counter() - t0)
                wire = link.stats.bytes_sent - sent
            med = statistics.median(times)
            rows.append(f"| {name} | write {size} B | {1e3 * med:.2f} ms ({size / med / 1e6:.2f} MB/s) | "
                        f"{wire / size:.3f} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--board", action="append", help="catalog board (repeatable); default nucleo-f446re and qemu-m4")
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    print("| board | what | median time | wire bytes per tensor byte |")
    print("|---|---|---|---|")
    for name in args.board or ["nucleo-f446re", "qemu-m4"]:
        for row in bench_board(name, args.repeats):
            print(row, flush=True)


if __name__ == "__main__":
    main()
