"""Consistent Overhead Byte Stuffing (Cheshire & Baker), the framing of the link.

COBS output never contains 0x00, so a 0x00 can delimit frames and a receiver
that lost sync recovers at the next delimiter.
"""

from __future__ import annotations


class CobsError(ValueError):
    """The bytes are not a valid COBS encoding."""


def encoded_size_max(n: int) -> int:
    """Largest encoding of n bytes: one overhead byte per 254 data bytes (at least one)."""
    return n + n // 254 + 1


def encode(data: bytes) -> bytes:
    out = bytearray()
    block = bytearray()
    ended_full = False
    for byte in data:
        ended_full = False
        if byte == 0:
            out.append(len(block) + 1)
            out += block
            block.clear()
            continue
        block.append(byte)
        if len(block) == 254:
            # A full block carries no implied zero after it.
            out.append(255)
            out += block
            block.clear()
            ended_full = True
    if not ended_full:  # data ending on a full block needs no final (empty) block
        out.append(len(block) + 1)
        out += block
    return bytes(out)


def decode(data: bytes) -> bytes:
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        if code == 0:
            raise CobsError(f"zero byte inside a COBS block at offset {i}")
        end = i + code
        if end > n:
            raise CobsError(f"COBS block at offset {i} runs past the end ({code - 1} bytes announced, {n - i - 1} left)")
        block = data[i + 1 : end]
        if 0 in block:
            raise CobsError(f"zero byte inside a COBS block starting at offset {i}")
        out += block
        i = end
        if code < 255 and i < n:
            out.append(0)
    return bytes(out)
