"""Frames of the link: header, payload, CRC-32, as specified in device_fw/PROTOCOL.md."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from . import cobs

HEADER = struct.Struct("<BBHIH")  # type, flags, seq, nonce (of the session), length
CRC = struct.Struct("<I")
OVERHEAD = HEADER.size + CRC.size  # 14 bytes around every payload
DELIMITER = b"\x00"
# What ends a frame on the wire: a second delimiter (an empty frame, ignored) ends it at once even when
# the line damaged the first (PROTOCOL.md, Byte stream).
END = DELIMITER * 2
UNATTRIBUTED_SEQ = 0xFFFF  # seq the device uses when a damaged frame's header can't be trusted


class FrameError(ValueError):
    """A frame failed to decode; `kind` is 'bad-frame' or 'bad-crc'."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Frame:
    type: int
    seq: int
    nonce: int         # the session's: the handshake's nonce, 0 before it
    payload: bytes = b""
    flags: int = 0

    def pack(self) -> bytes:
        """The decoded frame: header, payload and CRC (no COBS, no delimiter)."""
        body = HEADER.pack(self.type, self.flags, self.seq, self.nonce, len(self.payload)) + self.payload
        return body + CRC.pack(zlib.crc32(body))

    def encode(self) -> bytes:
        """Bytes for the wire: COBS of the packed frame, then the delimiter."""
        return cobs.encode(self.pack()) + DELIMITER


def unpack(raw: bytes) -> Frame:
    """Parse a decoded frame, checking its length and CRC."""
    if len(raw) < OVERHEAD:
        raise FrameError("bad-frame", f"frame of {len(raw)} bytes is shorter than the {OVERHEAD}-byte minimum")
    ftype, flags, seq, nonce, length = HEADER.unpack_from(raw)
    if len(raw) != OVERHEAD + length:
        raise FrameError("bad-frame", f"frame says {length} payload bytes but carries {len(raw) - OVERHEAD}")
    body, (crc,) = raw[:-CRC.size], CRC.unpack_from(raw, len(raw) - CRC.size)
    if zlib.crc32(body) != crc:
        raise FrameError("bad-crc", f"CRC mismatch on a frame of type 0x{ftype:02x}")
    return Frame(ftype, seq, nonce, bytes(raw[HEADER.size : HEADER.size + length]), flags)


def decode(wire: bytes) -> Frame:
    """Parse one frame from its COBS bytes (without the delimiter)."""
    try:
        raw = cobs.decode(wire)
    except cobs.CobsError as exc:
        raise FrameError("bad-frame", str(exc)) from None
    return unpack(raw)


class Deframer:
    """Splits a byte stream into frames at 0x00 delimiters.

    Feeds may cut frames anywhere. Bytes beyond `max_wire` without a delimiter
    are discarded up to the next delimiter, and reported as one oversize chunk,
    so garbage on the line can never grow memory without bound.
    """

    def __init__(self, max_wire: int):
        self.max_wire = max_wire
        self._buf = bytearray()
        self._overflow = False

    def feed(self, data: bytes) -> list[bytes | None]:
        """Return the complete chunks found; None stands for an oversize chunk that was dropped."""
        chunks: list[bytes | None] = []
        start = 0
        while True:
            end = data.find(0, start)
            piece = data[start:] if end < 0 else data[start:end]
            if not self._overflow:
                self._buf += piece
                if len(self._buf) > self.max_wire:
                    self._buf.clear()
                    self._overflow = True
            if end < 0:
                return chunks
            if self._overflow:
                chunks.append(None)
            elif self._buf:
                chunks.append(bytes(self._buf))
            self._buf.clear()
            self._overflow = False
            start = end + 1
