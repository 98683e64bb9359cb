"""The host's frame decoder against random damage, for a bounded time: every single-bit flip of a valid
frame on the wire must be rejected (or, in the second delimiter, leave the frame intact), and random bytes
must never decode into a frame other than by chance of the CRC-32 (never seen).

    .venv/bin/python benchmarks/fuzz_host_decoder.py --seconds 60
"""

from __future__ import annotations

import argparse
import random
import time

from harness.link import frame as fr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    flips = missed = garbage = decoded = 0
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        f = fr.Frame(rng.randrange(256), rng.randrange(0xFFFF), rng.getrandbits(32), rng.randbytes(rng.randrange(600)))
        wire = bytearray(f.encode() + fr.DELIMITER)
        bit = rng.randrange(8 * len(wire))
        wire[bit // 8] ^= 1 << (bit % 8)
        flips += 1
        for chunk in fr.Deframer(1 << 16).feed(bytes(wire)):
            try:
                if chunk is not None and fr.decode(chunk) == f and bit < 8 * (len(wire) - 1):
                    missed += 1
            except fr.FrameError:
                pass
        noise = rng.randbytes(rng.randrange(1, 200))
        garbage += 1
        for chunk in fr.Deframer(1 << 16).feed(noise + b"\0"):
            try:
                if chunk is not None:
                    fr.decode(chunk)
                    decoded += 1
            except fr.FrameError:
                pass
    print(f"{flips:,} single-bit flips: {missed} taken for the frame; {garbage:,} random chunks: {decoded} decoded")


if __name__ == "__main__":
    main()
