"""The host client's session rules, against a scripted peer on a real TCP socket.

The peer is a test double for the device written from PROTOCOL.md; the real
firmware is exercised by the emulator tests and scenarios.
"""

import socket
import struct
import threading

import pytest
import serial

from harness.link import DeviceError, HandshakeError, Link, LinkError, LinkTimeout, ProtocolError, RetriesExhausted
from harness.link import frame as fr
from harness.link.messages import Capability, Hello, Msg, Status

MAX_PAYLOAD = 256


def hello_for(nonce):
    return Hello(nonce, 1, MAX_PAYLOAD, Capability.TENSOR | Capability.STATUS, 16_000_000, "icount-instructions",
                 4096, 4096, bytes(32), "0.1.0", "qemu-m4", "cortex-m4").pack()


class Peer:
    """Accepts one connection and answers each request frame with `script(frame) -> bytes`."""

    def __init__(self, script):
        self.script = script
        self.srv = socket.create_server(("127.0.0.1", 0))
        self.port = self.srv.getsockname()[1]
        self.received: list[fr.Frame] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.srv.accept()
        deframer = fr.Deframer(1 << 16)
        with conn:
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                for chunk in deframer.feed(data):
                    f = fr.decode(chunk)
                    self.received.append(f)
                    conn.sendall(self.script(f))

    def open(self):
        return serial.serial_for_url(f"socket://127.0.0.1:{self.port}", timeout=1)

    def close(self):
        self.srv.close()


@pytest.fixture
def peer_factory():
    peers, ports = [], []

    def make(script):
        p = Peer(script)
        peers.append(p)
        port = p.open()
        ports.append(port)
        return p, port

    yield make
    for port in ports:
        port.close()
    for p in peers:
        p.close()


def reply(f, ftype, payload, *, session=None, seq=None):
    return fr.Frame(ftype, f.seq if seq is None else seq, f.nonce if session is None else session, payload).encode()


def status_payload():
    return struct.pack("<IIIIII", 8192, 512, 3, 0, 40, 123)


def test_stale_and_damaged_frames_before_the_hello_are_dropped(peer_factory):
    def script(f):
        if f.type == Msg.HELLO:
            old = fr.Frame(Msg.HELLO.reply, f.seq, 0xDEAD, hello_for(0xDEAD)).encode()   # earlier session
            damaged = bytearray(reply(f, Msg.HELLO.reply, hello_for(f.nonce)))
            damaged[5] ^= 0xFF
            return old + b"noise\x00" + bytes(damaged) + reply(f, Msg.HELLO.reply, hello_for(f.nonce))
        return reply(f, Msg.STATUS.reply, status_payload())

    _, port = peer_factory(script)
    link = Link(port, timeout=2)
    hello = link.handshake(nonce=0x1234)
    assert hello.nonce == 0x1234 and hello.board == "qemu-m4"
    assert link.stats.dropped_stale == 1
    assert link.stats.dropped_damaged == 2
    assert link.status() == Status(8192, 512, 3, 0, 40, 123)


def test_reply_with_an_old_seq_is_not_taken_for_the_current_one(peer_factory):
    def script(f):
        if f.type == Msg.HELLO:
            return reply(f, Msg.HELLO.reply, hello_for(f.nonce))
        old = struct.pack("<IIIIII", 1, 1, 1, 1, 1, 1)
        return reply(f, Msg.STATUS.reply, old, seq=f.seq - 1) + reply(f, Msg.STATUS.reply, status_payload())

    _, port = peer_factory(script)
    link = Link(port, timeout=2)
    link.handshake()
    assert link.status().stack_size == 8192
    assert link.stats.dropped_stale == 1


def test_unattributed_error_goes_to_the_pending_request(peer_factory):
    """BAD_CRC is transient: the request goes again with its own seq, `retries` times, then the link gives up."""
    def script(f):
        if f.type == Msg.HELLO:
            return reply(f, Msg.HELLO.reply, hello_for(f.nonce))
        return reply(f, Msg.ERROR, bytes([1, 0, 0, 0]), seq=fr.UNATTRIBUTED_SEQ)

    peer, port = peer_factory(script)
    link = Link(port, timeout=2, retries=3)
    link.handshake()
    with pytest.raises(RetriesExhausted, match=r"STATUS \(seq 2\) failed 4 times in a row \(device saw a damaged "
                                               r"frame \(BAD_CRC\) ×4\)"):
        link.status()
    assert [f.seq for f in peer.received if f.type == Msg.STATUS] == [2, 2, 2, 2]
    with pytest.raises(DeviceError, match="BAD_CRC"):   # without retries, the device's answer itself
        link.request(Msg.STATUS, mangle=lambda packed: packed)


def test_silence_is_a_timeout_not_a_hang(peer_factory):
    def script(f):
        return reply(f, Msg.HELLO.reply, hello_for(f.nonce)) if f.type == Msg.HELLO else b""

    _, port = peer_factory(script)
    link = Link(port, timeout=0.3, retries=2)
    link.handshake()
    with pytest.raises(RetriesExhausted, match=r"STATUS \(seq 2\) failed 3 times in a row \(no reply within 0.3 s ×3\)"):
        link.status()
    with pytest.raises(LinkTimeout, match="STATUS"):
        link.request(Msg.STATUS, mangle=lambda packed: packed)


def test_handshake_gives_up_with_a_clear_error(peer_factory):
    _, port = peer_factory(lambda f: b"")
    with pytest.raises(HandshakeError, match="no HELLO_ACK after 2 attempts"):
        Link(port).handshake(timeout=0.2, attempts=2)


def test_tensor_chunks_respect_the_declared_maximum(peer_factory):
    store = bytearray(4096)

    def script(f):
        if f.type == Msg.HELLO:
            return reply(f, Msg.HELLO.reply, hello_for(f.nonce))
        if f.type == Msg.WRITE:
            (off,) = struct.unpack_from("<I", f.payload)
            data = f.payload[4:]
            store[off : off + len(data)] = data
            return reply(f, Msg.WRITE.reply, struct.pack("<II", off, len(data)))
        if f.type == Msg.READ:
            buf, off, n = struct.unpack("<BIH", f.payload)
            return reply(f, Msg.READ.reply, struct.pack("<BI", buf, off) + store[off : off + n])
        return b""

    peer, port = peer_factory(script)
    link = Link(port, timeout=2)
    link.handshake()
    data = bytes(range(256)) * 10
    link.write_tensor(data)
    assert link.read_tensor(len(data)) == data
    assert max(len(f.payload) for f in peer.received) <= MAX_PAYLOAD


def test_a_device_declaring_too_small_a_maximum_payload_is_refused(peer_factory):
    def script(f):
        hello = Hello(f.nonce, 1, 8, Capability.TENSOR, 16_000_000, "icount-instructions", 4096, 4096, bytes(32),
                      "0.1.0", "qemu-m4", "cortex-m4").pack()
        return reply(f, Msg.HELLO.reply, hello)

    _, port = peer_factory(script)
    with pytest.raises(HandshakeError, match="maximum payload of 8 bytes, less than the 16 the protocol's headers need"):
        Link(port, timeout=1).handshake()


def test_a_malformed_hello_ack_is_a_link_error(peer_factory):
    _, port = peer_factory(lambda f: reply(f, Msg.HELLO.reply, hello_for(f.nonce)[:30]))
    with pytest.raises(ProtocolError, match="malformed HELLO_ACK") as err:
        Link(port, timeout=1).handshake()
    assert isinstance(err.value, LinkError) and "\n" not in str(err.value)
