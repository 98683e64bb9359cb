"""Message types, error codes and payload layouts of the link (device_fw/PROTOCOL.md)."""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

PROTOCOL_VERSION = 1
REPLY_BIT = 0x80


class Msg(enum.IntEnum):
    HELLO = 0x01
    WRITE = 0x02
    READ = 0x03
    ECHO = 0x04
    STATUS = 0x05
    INFER = 0x06
    ERROR = 0x7F

    @property
    def reply(self) -> int:
        return self | REPLY_BIT


class ErrorCode(enum.IntEnum):
    BAD_CRC = 1
    BAD_FRAME = 2
    UNKNOWN_TYPE = 3
    TOO_LONG = 4
    BAD_STATE = 5
    BAD_ARG = 6
    BAD_LENGTH = 7
    STALE_SESSION = 8


class Capability(enum.IntFlag):
    TENSOR = 1 << 0
    ECHO = 1 << 1
    STATUS = 1 << 2
    INFER = 1 << 3
    SHARED_BUFFERS = 1 << 4  # output buffer is the input buffer's memory (boards with little RAM)


COUNTER_KINDS = {0: "none", 1: "dwt-cycles", 2: "icount-instructions"}


class PayloadError(ValueError):
    """A reply's payload does not have the layout its type requires."""


def _need(payload: bytes, size: int, what: str) -> None:
    if len(payload) < size:
        raise PayloadError(f"{what} payload has {len(payload)} bytes, needs at least {size}")


_HELLO_FIXED = struct.Struct("<IHHIIBBHII32s")


@dataclass(frozen=True)
class Hello:
    nonce: int
    protocol_version: int
    max_payload: int
    capabilities: Capability
    clock_hz: int
    counter_kind: str
    input_capacity: int
    output_capacity: int
    model_hash: bytes
    fw_version: str
    board: str
    core: str

    @property
    def emulated(self) -> bool:
        return self.counter_kind == "icount-instructions"

    def pack(self) -> bytes:
        kind = {v: k for k, v in COUNTER_KINDS.items()}[self.counter_kind]
        fixed = _HELLO_FIXED.pack(
            self.nonce, self.protocol_version, self.max_payload, int(self.capabilities), self.clock_hz,
            kind, 0, 0, self.input_capacity, self.output_capacity, self.model_hash,
        )
        return fixed + b"".join(_pstr(s) for s in (self.fw_version, self.board, self.core))

    @classmethod
    def unpack(cls, payload: bytes) -> Hello:
        _need(payload, _HELLO_FIXED.size, "HELLO_ACK")
        (nonce, version, max_payload, caps, clock, kind, _r1, _r2, in_cap, out_cap, model_hash) = (
            _HELLO_FIXED.unpack_from(payload)
        )
        strings, offset = [], _HELLO_FIXED.size
        for name in ("fw_version", "board", "core"):
            _need(payload, offset + 1, f"HELLO_ACK {name}")
            n = payload[offset]
            _need(payload, offset + 1 + n, f"HELLO_ACK {name}")
            strings.append(payload[offset + 1 : offset + 1 + n].decode("utf-8", errors="replace"))
            offset += 1 + n
        return cls(nonce, version, max_payload, Capability(caps), clock, COUNTER_KINDS.get(kind, f"unknown-{kind}"),
                   in_cap, out_cap, model_hash, *strings)


def _pstr(text: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) > 255:
        raise ValueError(f"string {text[:20]!r}… is longer than 255 bytes")
    return bytes([len(raw)]) + raw


WRITE_HEADER = struct.Struct("<I")        # offset
WRITE_ACK = struct.Struct("<II")          # offset, length
READ_REQ = struct.Struct("<BIH")          # buffer, offset, length
READ_HEADER = struct.Struct("<BI")        # buffer, offset
ECHO_REQ = struct.Struct("<I")            # length
ECHO_ACK = struct.Struct("<III")          # length, crc32, counter delta
ERROR_HEADER = struct.Struct("<BBH")      # code, request type, reserved
INFER_ACK = struct.Struct("<HHI")         # predicted class, output bytes that follow, counter delta

INPUT_BUFFER, OUTPUT_BUFFER = 0, 1


@dataclass(frozen=True)
class Status:
    stack_size: int
    stack_peak: int
    frames_ok: int
    frames_bad: int
    counter_resolution: int
    uptime_ticks: int
    replays: int = 0        # requests the device answered again from its replay memory (PROTOCOL.md)

    _LAYOUT = struct.Struct("<IIIIII")
    _REPLAYS = struct.Struct("<I")

    @classmethod
    def unpack(cls, payload: bytes) -> Status:
        _need(payload, cls._LAYOUT.size, "STATUS_ACK")
        fields = cls._LAYOUT.unpack_from(payload)
        if len(payload) >= cls._LAYOUT.size + cls._REPLAYS.size:
            fields += cls._REPLAYS.unpack_from(payload, cls._LAYOUT.size)
        return cls(*fields)


@dataclass(frozen=True)
class EchoResult:
    length: int
    crc32: int
    counter_delta: int


@dataclass(frozen=True)
class InferResult:
    predicted: int
    counter_delta: int     # the device's counter around the inference alone
    output: bytes          # the output vector (empty when it did not fit the reply)
    retries: int = 0       # requests the host sent again for this result (the link's, not the device's)

    @classmethod
    def unpack(cls, payload: bytes) -> InferResult:
        _need(payload, INFER_ACK.size, "INFER_ACK")
        cls_, n, delta = INFER_ACK.unpack_from(payload)
        _need(payload, INFER_ACK.size + n, "INFER_ACK output")
        return cls(cls_, delta, bytes(payload[INFER_ACK.size:INFER_ACK.size + n]))


@dataclass(frozen=True)
class DeviceErrorInfo:
    code: int
    request_type: int
    detail: str

    @property
    def name(self) -> str:
        try:
            return ErrorCode(self.code).name
        except ValueError:
            return f"ERROR_{self.code}"

    @classmethod
    def unpack(cls, payload: bytes) -> DeviceErrorInfo:
        _need(payload, ERROR_HEADER.size, "ERROR")
        code, rtype, _ = ERROR_HEADER.unpack_from(payload)
        return cls(code, rtype, payload[ERROR_HEADER.size :].decode("ascii", errors="replace"))
