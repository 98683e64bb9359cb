"""The host end of the link: handshake, one reply per request, tensors in acknowledged chunks.

The client works on any pyserial port object (a real port, `socket://` to an
emulator, a pty); it knows nothing of targets or models.

Faults on the line are the link's business: a request whose reply is damaged,
answered with a transient error (BAD_CRC, BAD_FRAME, TOO_LONG: the device saw
a damaged frame) or missing after its timeout is sent again with the same
sequence number, up to `retries` times; the device replays the reply of a
request it has already served (PROTOCOL.md, "Retransmission"). After a fault
the link sends smaller frames (tensors in shorter chunks) and grows them back
after a run of clean exchanges, so a noisy line still carries large tensors.
"""

from __future__ import annotations

import logging
import secrets
import time
import zlib
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Iterator

from . import frame as fr
from .messages import (
    ECHO_ACK, ECHO_REQ, INPUT_BUFFER, READ_HEADER, READ_REQ, WRITE_ACK, WRITE_HEADER,
    DeviceErrorInfo, EchoResult, ErrorCode, Hello, InferResult, Msg, PayloadError, Status,
)

log = logging.getLogger(__name__)

# Before the hello we don't know the device's limit; no device frame may exceed this.
_MAX_WIRE_BEFORE_HELLO = fr.cobs.encoded_size_max(65535 + fr.OVERHEAD)
DEFAULT_RETRIES = 8
# The device saw a damaged frame: its header is untrustworthy, the request may be sent again.
TRANSIENT = frozenset({ErrorCode.BAD_CRC, ErrorCode.BAD_FRAME, ErrorCode.TOO_LONG})
# The smallest max_payload a device may declare: a WRITE or READ header and a useful chunk.
MIN_MAX_PAYLOAD = 16
# Frame sizes after faults: halved per fault down to this, doubled back after CLEAN_RUN clean exchanges.
MIN_CHUNK = 32
CLEAN_RUN = 16


class _Smaller(Exception):
    """The request is larger than the frames the line now carries: send its data in chunks instead."""


class _Fault(Exception):
    """This request's exchange failed in a way that sending it again may cure; `error` is what the caller
    sees when it may not be sent again."""

    def __init__(self, why: str, error: LinkError):
        super().__init__(why)
        self.why, self.error = why, error


class LinkError(Exception):
    """Base of every failure on the link."""


class LinkTimeout(LinkError):
    """No valid reply in time."""


class HandshakeError(LinkError):
    """The device did not complete the handshake."""


class ProtocolError(LinkError):
    """The device answered with something the protocol does not allow."""


class RetriesExhausted(LinkError):
    """A request failed `retries + 1` times in a row: the line or the device is down."""


class DeviceError(LinkError):
    """The device answered a request with a typed ERROR."""

    def __init__(self, info: DeviceErrorInfo, request: str):
        detail = f" ({info.detail})" if info.detail else ""
        super().__init__(f"device answered {request} with {info.name}{detail}")
        self.info = info
        self.code = info.code


@dataclass
class LinkStats:
    frames_sent: int = 0
    frames_received: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    dropped_stale: int = 0     # valid frames of another session or for no pending request
    dropped_damaged: int = 0   # CRC or COBS failures on what the device sent
    retransmissions: int = 0   # requests sent again after a fault
    faults: dict[str, int] = field(default_factory=dict)   # why, how often
    drops: list[str] = field(default_factory=list)


class Link:
    """A session with one device over an open pyserial port.

    Nothing is sent until `handshake()`; the port is owned by the caller.
    """

    def __init__(self, port, *, timeout: float = 5.0, retries: int = DEFAULT_RETRIES):
        self.port = port
        self.timeout = timeout                   # seconds to wait for one reply (per attempt)
        self.retries = retries                   # sends again per request after a fault
        self.hello: Hello | None = None
        self.nonce = 0
        self.stats = LinkStats()
        self._seq = 0
        self._deframer = fr.Deframer(_MAX_WIRE_BEFORE_HELLO)
        self._pending: list[fr.Frame] = []
        self._outstanding: list[int] = []        # seqs sent and not yet answered, oldest first
        self._requests: dict[int, tuple[Msg, bytes]] = {}   # what each outstanding seq carried, to send again
        self._early: dict[int, fr.Frame] = {}    # replies that arrived before their turn
        self._chunk: int | None = None           # largest payload to send now (None: the device's maximum)
        self._clean = 0                          # exchanges without a fault since the last one
        self.host_seconds = 0.0                  # time spent framing and parsing (not waiting)

    # -- session -------------------------------------------------------------

    def handshake(self, *, nonce: int | None = None, timeout: float | None = None, attempts: int | None = None) -> Hello:
        """Start a new session; frames from any earlier session are dropped from now on.

        `attempts` HELLOs at most (default: the link's retries + 1), each with a new sequence number."""
        self.nonce = nonce if nonce is not None else (secrets.randbits(32) or 1)
        self._outstanding.clear()
        self._requests.clear()
        self._early.clear()
        attempts = self.retries + 1 if attempts is None else attempts
        last: Exception | None = None
        for _ in range(attempts):
            # A lone delimiter ends whatever half frame the device still holds.
            self._send_wire(fr.DELIMITER)
            try:
                reply = self._exchange(Msg.HELLO, self.nonce.to_bytes(4, "little"), timeout=timeout, retries=0)
            except (LinkTimeout, ProtocolError) as exc:   # no reply, or a damaged one: try a new HELLO
                last = exc
                continue
            except DeviceError as exc:
                if exc.code not in TRANSIENT:
                    raise
                last = exc
                continue
            try:
                hello = Hello.unpack(reply.payload)
            except (PayloadError, ValueError) as exc:
                raise ProtocolError(f"malformed HELLO_ACK: {exc}") from None
            if hello.nonce != self.nonce:
                raise HandshakeError(f"device echoed nonce 0x{hello.nonce:08x}, expected 0x{self.nonce:08x}")
            if hello.max_payload < MIN_MAX_PAYLOAD:
                raise HandshakeError(f"the device declares a maximum payload of {hello.max_payload} bytes, less than "
                                     f"the {MIN_MAX_PAYLOAD} the protocol's headers need; its firmware is broken")
            self.hello = hello
            self._chunk = None
            self._deframer.max_wire = fr.cobs.encoded_size_max(hello.max_payload + fr.OVERHEAD)
            return hello
        raise HandshakeError(f"no HELLO_ACK after {attempts} attempts: {last}")

    @property
    def max_payload(self) -> int:
        if self.hello is None:
            raise LinkError("no session yet: call handshake() first")
        return self.hello.max_payload

    @property
    def chunk_payload(self) -> int:
        """The largest payload to send now: the device's maximum, less after recent faults."""
        return self.max_payload if self._chunk is None else min(self._chunk, self.max_payload)

    # -- requests ------------------------------------------------------------

    def request(self, msg: Msg, payload: bytes = b"", *, timeout: float | None = None,
                mangle: Callable[[bytes], bytes] | None = None) -> fr.Frame:
        """Send one request, return its reply; a device ERROR raises DeviceError.

        `mangle` alters the packed frame before COBS: it exists to test how the
        device treats damaged frames.
        """
        if self.hello is not None and len(payload) > self.hello.max_payload:
            raise LinkError(f"payload of {len(payload)} bytes exceeds the device's max_payload {self.hello.max_payload}")
        # A deliberately damaged frame is sent once: its sender wants the device's verdict.
        return self._exchange(msg, payload, timeout=timeout, mangle=mangle, retries=0 if mangle else None)

    def write_tensor(self, data: bytes, offset: int = 0) -> None:
        """Write into the device's input buffer in chunks, each acknowledged."""
        view = memoryview(data)
        start = 0
        while start < len(data):
            chunk = view[start : start + self.chunk_payload - WRITE_HEADER.size]
            payload = WRITE_HEADER.pack(offset + start) + chunk
            try:   # a noisy line shrinks the chunks: then this one is split again rather than sent again
                reply = self._exchange(Msg.WRITE, payload, timeout=None, smaller=len(payload) if len(chunk) > 1 else None)
            except _Smaller:
                continue
            got = _unpack(WRITE_ACK, reply, "WRITE_ACK")
            if got != (offset + start, len(chunk)):
                raise ProtocolError(f"WRITE_ACK for offset {got[0]}, length {got[1]}; sent {offset + start}, {len(chunk)}")
            start += len(chunk)

    def read_tensor(self, length: int, *, buffer: int = INPUT_BUFFER, offset: int = 0) -> bytes:
        out = bytearray()
        start = offset
        while start < offset + length:
            n = min(self.chunk_payload - READ_HEADER.size, offset + length - start)
            try:
                reply = self._exchange(Msg.READ, READ_REQ.pack(buffer, start, n), timeout=None,
                                       smaller=READ_HEADER.size + n if n > 1 else None)
            except _Smaller:
                continue
            buf, off = _unpack(READ_HEADER, reply, "READ_DATA")
            data = reply.payload[READ_HEADER.size :]
            if (buf, off, len(data)) != (buffer, start, n):
                raise ProtocolError(f"READ_DATA for buffer {buf} offset {off} with {len(data)} bytes; asked {buffer}, {start}, {n}")
            out += data
            start += n
        return bytes(out)

    def echo(self, length: int) -> EchoResult:
        return EchoResult(*_unpack(ECHO_ACK, self.request(Msg.ECHO, ECHO_REQ.pack(length)), "ECHO_ACK"))

    def status(self) -> Status:
        reply = self.request(Msg.STATUS)
        try:
            return Status.unpack(reply.payload)
        except PayloadError as exc:
            raise ProtocolError(str(exc)) from None

    def infer(self, data: bytes | None = None) -> InferResult:
        """Run the compiled-in model on `data` (sent in the same frame when it fits)
        or, with None, on what the input buffer holds."""
        payload = b"" if data is None else bytes(data)
        retried = self.stats.retransmissions
        if payload and len(payload) <= self.chunk_payload:
            try:
                reply = self._exchange(Msg.INFER, payload, timeout=None, smaller=len(payload))
                return self._unpack_infer(reply, self.stats.retransmissions - retried)
            except _Smaller:
                pass
        if payload:   # a noisy line: the input in chunks, then the inference on the input buffer
            self.write_tensor(payload)
        reply = self.request(Msg.INFER, b"")
        return self._unpack_infer(reply, self.stats.retransmissions - retried)

    def infer_stream(self, inputs: Iterable[bytes], *, depth: int = 2) -> Iterator[InferResult]:
        """Results of INFER for each input, in order, with up to `depth` requests in
        flight: the next input travels while the device computes. The device
        serves frames one after another, so order and one-reply-per-request
        hold; its interrupt-driven receive ring holds the frames in flight.
        Inputs longer than one frame go one at a time (WRITE chunks, then INFER)."""
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        in_flight: list[int] = []
        for data in inputs:
            if len(data) > self.chunk_payload:   # after faults: smaller frames, one sample at a time
                while in_flight:
                    yield self._infer_result(in_flight.pop(0))
                yield self.infer(data)
                continue
            in_flight.append(self._send(Msg.INFER, bytes(data)))
            if len(in_flight) >= depth:
                yield self._infer_result(in_flight.pop(0))
        while in_flight:
            yield self._infer_result(in_flight.pop(0))

    def _infer_result(self, seq: int) -> InferResult:
        retried = self.stats.retransmissions
        data = self._requests[seq][1]
        try:
            reply = self._result(seq, None, self.retries, smaller=len(data))
        except _Smaller:   # the line needs smaller frames now: this input goes in chunks
            return replace(self.infer(data), retries=self.stats.retransmissions - retried)
        return self._unpack_infer(reply, self.stats.retransmissions - retried)

    def _unpack_infer(self, reply: fr.Frame, retries: int) -> InferResult:
        t0 = time.perf_counter()
        try:
            return replace(InferResult.unpack(reply.payload), retries=retries)
        except PayloadError as exc:
            raise ProtocolError(str(exc)) from None
        finally:
            self.host_seconds += time.perf_counter() - t0

    def round_trip(self, data: bytes) -> tuple[bytes, EchoResult]:
        """Write `data`, have the device copy it to its output buffer, read that back."""
        self.write_tensor(data)
        result = self.echo(len(data))
        back = self.read_tensor(len(data), buffer=1)
        if result.crc32 != zlib.crc32(back):
            raise ProtocolError("the device's CRC of its output differs from the bytes read back")
        return back, result

    # -- wire ----------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) % fr.UNATTRIBUTED_SEQ  # never use the reserved value
        return self._seq

    def _send_wire(self, wire: bytes) -> None:
        self.port.write(wire)
        self.port.flush()
        self.stats.bytes_sent += len(wire)

    def _exchange(self, msg: Msg, payload: bytes, *, timeout: float | None,
                  mangle: Callable[[bytes], bytes] | None = None, retries: int | None = None,
                  smaller: int | None = None) -> fr.Frame:
        seq = self._send(msg, payload, mangle=mangle)
        return self._result(seq, timeout, self.retries if retries is None else retries, smaller=smaller)

    def _send(self, msg: Msg, payload: bytes, *, mangle: Callable[[bytes], bytes] | None = None,
              seq: int | None = None) -> int:
        """Send a request (again, with `seq`); returns its sequence number."""
        t0 = time.perf_counter()
        seq = self._next_seq() if seq is None else seq
        packed = fr.Frame(msg, seq, self.nonce, bytes(payload)).pack()
        if mangle is not None:
            packed = mangle(packed)
        wire = fr.cobs.encode(packed) + fr.END
        self.host_seconds += time.perf_counter() - t0
        self._send_wire(wire)
        self.stats.frames_sent += 1
        if seq not in self._outstanding:
            self._outstanding.append(seq)
        self._requests[seq] = (msg, bytes(payload))
        return seq

    def _result(self, seq: int, timeout: float | None, retries: int, *, smaller: int | None = None) -> fr.Frame:
        """The reply to request `seq`, sending it again (same seq) after each fault, `retries` times at most.

        With `smaller` (the bytes of its request or reply payload that the caller could split), a request
        larger than the frames the line now carries is abandoned (_Smaller) instead of sent again: its
        caller sends the data in smaller pieces."""
        msg = self._requests[seq][0]
        why: list[str] = []
        while True:
            try:
                reply = self._receive(seq, msg, timeout)
            except _Fault as fault:
                self.stats.faults[fault.why] = self.stats.faults.get(fault.why, 0) + 1
                why.append(fault.why)
                self._shrink()
                if len(why) > retries:
                    self._forget(seq)
                    if retries == 0:
                        raise fault.error from None
                    raise RetriesExhausted(f"{msg.name} (seq {seq}) failed {len(why)} times in a row "
                                           f"({_tally(why)}); the line or the device is down") from None
                if smaller is not None and smaller > self.chunk_payload:
                    self._forget(seq)
                    raise _Smaller() from None
                log.debug("%s seq %d: %s; sending it again", msg.name, seq, fault.why)
                self.stats.retransmissions += 1
                self._send(msg, self._requests[seq][1], seq=seq)
                continue
            self._forget(seq)
            self._grow()
            return reply

    def _forget(self, seq: int) -> None:
        if seq in self._outstanding:
            self._outstanding.remove(seq)
        self._requests.pop(seq, None)

    def _shrink(self) -> None:
        if self.hello is not None:
            self._chunk = max(MIN_CHUNK, self.chunk_payload // 2)
        self._clean = 0

    def _grow(self) -> None:
        self._clean += 1
        if self._chunk is not None and self._clean >= CLEAN_RUN:
            self._chunk = None if self._chunk * 2 >= self.max_payload else self._chunk * 2
            self._clean = 0

    def _receive(self, seq: int, msg: Msg, timeout: float | None) -> fr.Frame:
        """The reply to `seq`, or _Fault when it is damaged, missing, or a transient device error."""
        reply = self._await(seq, timeout if timeout is not None else self.timeout, msg.name)
        if reply.type == Msg.ERROR:
            try:
                info = DeviceErrorInfo.unpack(reply.payload)
            except PayloadError as exc:
                raise ProtocolError(str(exc)) from None
            if info.code in TRANSIENT:
                raise _Fault(f"device saw a damaged frame ({info.name})", DeviceError(info, msg.name))
            self._forget(seq)
            raise DeviceError(info, msg.name)
        if reply.type != msg.reply:
            self._forget(seq)
            raise ProtocolError(f"reply of type 0x{reply.type:02x} to {msg.name}, expected 0x{msg.reply:02x}")
        return reply

    def _await(self, seq: int, timeout: float, what: str) -> fr.Frame:
        deadline = time.monotonic() + timeout
        if seq in self._early:
            return self._early.pop(seq)
        damaged = self.stats.dropped_damaged
        while True:
            while self._pending:
                frame = self._pending.pop(0)
                if frame.nonce != self.nonce and not (frame.type == Msg.ERROR and frame.seq == fr.UNATTRIBUTED_SEQ):
                    self._drop("stale", f"session 0x{frame.nonce:08x} type 0x{frame.type:02x} seq {frame.seq}")
                elif frame.seq == seq:
                    return frame
                elif frame.type == Msg.ERROR and frame.seq == fr.UNATTRIBUTED_SEQ:
                    # A damaged frame's error: attributed to the oldest outstanding request.
                    if self._outstanding and self._outstanding[0] != seq:
                        self._early.setdefault(self._outstanding[0], frame)
                    else:
                        return frame
                elif frame.seq in self._outstanding:   # pipelined: another request's reply, kept for it
                    self._early[frame.seq] = frame
                else:
                    self._drop("stale", f"seq {frame.seq} type 0x{frame.type:02x} while waiting for {seq}")
            if self.stats.dropped_damaged != damaged and (not self._outstanding or self._outstanding[0] == seq):
                # Something arrived damaged while this, the oldest request, waits: most likely its reply.
                raise _Fault("damaged reply", ProtocolError(f"the reply to {what} (seq {seq}) arrived damaged"))
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Fault(f"no reply within {timeout:.1f} s",
                             LinkTimeout(f"no reply to {what} (seq {seq}) within {timeout:.1f} s"))
            # Block for the first byte, then take whatever else is already there
            # without waiting (timeout 0 reads what is buffered, on every port kind).
            self.port.timeout = min(left, 0.5)
            data = self.port.read(1)
            if data:
                self.port.timeout = 0
                data += self.port.read(1 << 16)
                self.stats.bytes_received += len(data)
                t0 = time.perf_counter()
                self._ingest(data)
                self.host_seconds += time.perf_counter() - t0

    def _ingest(self, data: bytes) -> None:
        for chunk in self._deframer.feed(data):
            if chunk is None:
                self._drop("damaged", "oversize chunk without delimiter")
                continue
            try:
                self._pending.append(fr.decode(chunk))
                self.stats.frames_received += 1
            except fr.FrameError as exc:
                self._drop("damaged", str(exc))

    def _drop(self, why: str, detail: str) -> None:
        if why == "stale":
            self.stats.dropped_stale += 1
        else:
            self.stats.dropped_damaged += 1
        if len(self.stats.drops) < 100:
            self.stats.drops.append(f"{why}: {detail}")
        log.debug("dropped %s frame: %s", why, detail)


def _tally(why: list[str]) -> str:
    counts: dict[str, int] = {}
    for w in why:
        counts[w] = counts.get(w, 0) + 1
    return ", ".join(f"{w} ×{n}" if n > 1 else w for w, n in counts.items())


def _unpack(layout, reply: fr.Frame, what: str) -> tuple:
    if len(reply.payload) < layout.size:
        raise ProtocolError(f"{what} payload has {len(reply.payload)} bytes, needs {layout.size}")
    return layout.unpack_from(reply.payload)
