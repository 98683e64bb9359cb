"""The firmware's protocol code (device_fw/proto/), built for the host and checked against Python.

device_fw/proto/ has no register access, so the very C files the firmware
links are compiled here with the system gcc into a shared library and driven
through ctypes: COBS against the `cobs` package, CRC-32 against zlib, the frame
parser against corrupted frames, and the request dispatcher end to end through
a small fake device (written below, compiled next to it).
"""

from __future__ import annotations

import ctypes
import shutil
import struct
import subprocess
import zlib

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from harness.paths import REPO_ROOT

cobs = pytest.importorskip("cobs.cobs", reason="the `cobs` package (test extra) is the reference COBS")

PROTO_DIR = REPO_ROOT / "device_fw" / "proto"
COBS_ERROR = ctypes.c_size_t(-1).value
HEADER = struct.Struct("<BBHIH")
MAX_PAYLOAD = 2048
FRAME_MAX = MAX_PAYLOAD + 14
ERR_NONE, BAD_CRC, BAD_FRAME, UNKNOWN_TYPE, TOO_LONG, BAD_STATE, BAD_ARG, BAD_LENGTH, STALE = 0, 1, 2, 3, 4, 5, 6, 7, 8

# A fake device around the real dispatcher: tensor buffers, a counter that
# advances by 7 per read, and serial output captured into a buffer.
SHIM = r"""
#include <string.h>
#include "server.h"

size_t shim_feed(const uint8_t *data, size_t len, uint8_t *out, size_t cap);
void shim_reset(int shared);
void shim_model(void);
int shim_infer_calls(void);

static uint8_t input[65536], output[65536];
static uint8_t *sink;
static size_t sink_len, sink_cap;
static uint32_t counter;
static struct proto_device device;
static struct proto_server server;

static void capture(const uint8_t *data, size_t len)
{
    if (len > sink_cap - sink_len) len = sink_cap - sink_len;
    memcpy(sink + sink_len, data, len);
    sink_len += len;
}
static uint32_t peak(void) { return 321; }
static uint32_t count(void) { return counter += 7; }
static int infer_calls;
static const uint8_t hash[32] = { 1 };

/* A "model" of 16 input bytes: its 4 outputs are running sums, its class the first byte mod 4. */
static int fake_infer(const uint8_t *in, uint8_t *out)
{
    uint32_t acc = 0;
    infer_calls++;
    for (int i = 0; i < 16; i++) {
        acc += in[i];
        if (i % 4 == 3) memcpy(out + i - 3, &acc, 4);
    }
    return in[0] % 4;
}

void shim_model(void)
{
    device.model_hash = hash;
    device.infer = fake_infer;
    device.model_input_bytes = 16;
    device.model_output_bytes = 16;
}

int shim_infer_calls(void) { return infer_calls; }

void shim_reset(int shared)
{
    memset(input, 0, sizeof input);
    memset(output, 0, sizeof output);
    counter = 0;
    device.fw_version = "9.8.7";
    device.board = "host-test";
    device.core = "cortex-m4";
    device.clock_hz = 16000000;
    device.counter_kind = PROTO_COUNTER_ICOUNT_INSTRUCTIONS;
    device.counter_resolution = 6;
    device.model_hash = NULL;
    device.input = input;
    device.input_capacity = sizeof input;
    device.output = shared ? input : output;
    device.output_capacity = sizeof output;
    device.stack_size = 8192;
    device.stack_peak = peak;
    device.counter_read = count;
    device.write = capture;
    device.infer = NULL;
    device.model_input_bytes = 0;
    device.model_output_bytes = 0;
    infer_calls = 0;
    proto_server_init(&server, &device);
}

size_t shim_feed(const uint8_t *data, size_t len, uint8_t *out, size_t cap)
{
    sink = out;
    sink_len = 0;
    sink_cap = cap;
    proto_server_feed(&server, data, len);
    return sink_len;
}
"""


class FrameView(ctypes.Structure):
    _fields_ = [("type", ctypes.c_uint8), ("flags", ctypes.c_uint8), ("seq", ctypes.c_uint16),
                ("session", ctypes.c_uint32), ("length", ctypes.c_uint16), ("payload", ctypes.c_void_p)]


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("no host gcc on PATH: cannot build device_fw/proto for the host (Debian package gcc)")
    out = tmp_path_factory.mktemp("proto_host")
    shim = out / "shim.c"
    shim.write_text(SHIM)
    so = out / "libproto_host.so"
    cmd = [gcc, "-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-Wmissing-prototypes",
           "-fPIC", "-shared", f"-I{PROTO_DIR}", *map(str, sorted(PROTO_DIR.glob("*.c"))), str(shim), "-o", str(so)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"host build of device_fw/proto failed:\n{' '.join(cmd)}\n{proc.stderr}"
    lib = ctypes.CDLL(str(so))
    u8p = ctypes.c_char_p
    lib.cobs_encode.argtypes = [u8p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t]
    lib.cobs_encode.restype = ctypes.c_size_t
    lib.cobs_decode.argtypes = [u8p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t]
    lib.cobs_decode.restype = ctypes.c_size_t
    lib.crc32_update.argtypes = [ctypes.c_uint32, u8p, ctypes.c_size_t]
    lib.crc32_update.restype = ctypes.c_uint32
    lib.frame_parse.argtypes = [u8p, ctypes.c_size_t, ctypes.POINTER(FrameView)]
    lib.frame_parse.restype = ctypes.c_int
    lib.frame_finish.argtypes = [ctypes.c_void_p, ctypes.c_uint8, ctypes.c_uint16, ctypes.c_uint32, ctypes.c_uint16]
    lib.frame_finish.restype = ctypes.c_size_t
    lib.shim_feed.argtypes = [u8p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t]
    lib.shim_feed.restype = ctypes.c_size_t
    lib.shim_reset.argtypes = [ctypes.c_int]
    return lib


def c_encode(lib, data: bytes) -> bytes:
    cap = len(data) + len(data) // 254 + 1
    buf = ctypes.create_string_buffer(cap)
    n = lib.cobs_encode(data, len(data), buf, cap)
    assert n != COBS_ERROR, "encoding exceeded its worst-case size"
    return buf.raw[:n]


def c_decode(lib, data: bytes, cap: int | None = None) -> bytes | None:
    cap = len(data) if cap is None else cap
    buf = ctypes.create_string_buffer(max(cap, 1))
    n = lib.cobs_decode(data, len(data), buf, cap)
    return None if n == COBS_ERROR else buf.raw[:n]


def py_frame(ftype: int, seq: int, session: int, payload: bytes = b"") -> bytes:
    body = HEADER.pack(ftype, 0, seq, session, len(payload)) + payload
    return body + struct.pack("<I", zlib.crc32(body))


# Bytes with long zero-free runs and with many zeros: the cases COBS cares about.
cobs_data = st.one_of(
    st.binary(max_size=1200),
    st.lists(st.sampled_from([0, 1, 0xFF]), max_size=800).map(bytes),
    st.integers(0, 1100).map(lambda n: bytes((i % 255) + 1 for i in range(n))),
)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- COBS -------------------------------------------------------------------------

@FAST
@given(cobs_data)
@example(b"")
@example(b"\x00")
@example(b"\x01" * 253)
@example(b"\x01" * 254)
@example(b"\x01" * 255)
@example(b"\x01" * 254 + b"\x00")
@example(b"\x01" * 508)
def test_cobs_encoder_matches_reference(lib, data):
    encoded = c_encode(lib, data)
    assert encoded == cobs.encode(data)
    assert 0 not in encoded
    assert c_decode(lib, encoded) == data


@FAST
@given(st.binary(max_size=600))
@example(b"\xff" + b"\x01" * 254 + b"\x01")   # full last block followed by an empty one: accepted
@example(b"\x05\x01\x02")                      # block runs past the end
@example(b"\x02\x00\x01")                      # zero inside the data
def test_cobs_decoder_agrees_with_reference_on_any_input(lib, data):
    try:
        expected = cobs.decode(data)
    except cobs.DecodeError:
        expected = None
    assert c_decode(lib, data, cap=len(data) + 1) == expected


@FAST
@given(st.binary(min_size=1, max_size=400))
def test_cobs_decoder_refuses_to_overrun_its_buffer(lib, data):
    encoded = cobs.encode(data)
    assert c_decode(lib, encoded, cap=len(data)) == data
    assert c_decode(lib, encoded, cap=len(data) - 1) is None


# -- CRC-32 -----------------------------------------------------------------------

@FAST
@given(st.binary(max_size=3000), st.binary(max_size=300))
def test_crc32_matches_zlib_and_chains(lib, a, b):
    assert lib.crc32_update(0, a, len(a)) == zlib.crc32(a)
    assert lib.crc32_update(lib.crc32_update(0, a, len(a)), b, len(b)) == zlib.crc32(a + b)


def test_crc32_check_value(lib):
    assert lib.crc32_update(0, b"123456789", 9) == 0xCBF43926


# -- frames -----------------------------------------------------------------------

frames = st.builds(py_frame, st.integers(0, 255), st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF),
                   st.binary(max_size=MAX_PAYLOAD))


@FAST
@given(st.integers(0, 255), st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF), st.binary(max_size=MAX_PAYLOAD))
def test_frame_build_and_parse_match_python(lib, ftype, seq, session, payload):
    expected = py_frame(ftype, seq, session, payload)
    buf = ctypes.create_string_buffer(FRAME_MAX)
    ctypes.memmove(ctypes.addressof(buf) + 10, payload, len(payload))
    n = lib.frame_finish(buf, ftype, seq, session, len(payload))
    assert buf.raw[:n] == expected
    view = FrameView()
    assert lib.frame_parse(expected, len(expected), ctypes.byref(view)) == ERR_NONE
    assert (view.type, view.seq, view.session, view.length) == (ftype, seq, session, len(payload))


@FAST
@given(frames, st.data())
def test_frame_parser_rejects_any_damaged_byte(lib, frame, data):
    pos = data.draw(st.integers(0, len(frame) - 1), label="position")
    flip = data.draw(st.integers(1, 255), label="xor")
    damaged = bytearray(frame)
    damaged[pos] ^= flip
    got = lib.frame_parse(bytes(damaged), len(damaged), ctypes.byref(FrameView()))
    # The length field no longer matches the size: BAD_FRAME; anywhere else the CRC catches it.
    assert got == (BAD_FRAME if pos in (8, 9) else BAD_CRC)


@FAST
@given(frames, st.integers(1, 20), st.binary(min_size=1, max_size=20))
def test_frame_parser_rejects_wrong_sizes(lib, frame, cut, extra):
    view = FrameView()
    short = frame[: max(0, len(frame) - cut)]
    assert lib.frame_parse(short, len(short), ctypes.byref(view)) == BAD_FRAME
    longer = frame + extra
    assert lib.frame_parse(longer, len(longer), ctypes.byref(view)) == BAD_FRAME


# -- the dispatcher, end to end ---------------------------------------------------

class Device:
    """The C server with a fake board: wire bytes in, decoded reply frames out."""

    def __init__(self, lib, shared=False):
        self.lib = lib
        lib.shim_reset(1 if shared else 0)
        self.out = ctypes.create_string_buffer(1 << 20)

    def feed(self, wire: bytes) -> list[tuple[int, int, int, bytes]]:
        n = self.lib.shim_feed(wire, len(wire), self.out, len(self.out))
        raw = self.out.raw[:n]
        assert raw == b"" or raw.endswith(b"\0"), "a reply must end with its delimiter"
        replies = []
        assert raw == b"" or raw.endswith(b"\0\0"), "a reply ends with two delimiters"
        for chunk in raw.split(b"\0")[:-1]:
            if not chunk:
                continue   # the second delimiter: an empty frame
            frame = cobs.decode(chunk)
            ftype, _flags, seq, session, length = HEADER.unpack_from(frame)
            assert len(frame) == 14 + length
            assert zlib.crc32(frame[:-4]) == struct.unpack_from("<I", frame, len(frame) - 4)[0]
            replies.append((ftype, seq, session, frame[10:-4]))
        return replies

    def request(self, ftype, seq, session, payload=b""):
        (reply,) = self.feed(cobs.encode(py_frame(ftype, seq, session, payload)) + b"\0")
        return reply

    def hello(self, nonce):
        return self.request(0x01, 1, nonce, struct.pack("<I", nonce))


def error_of(reply):
    ftype, seq, session, payload = reply
    assert ftype == 0x7F, f"expected ERROR, got type 0x{ftype:02x}"
    return payload[0], payload[1], seq, session


def test_hello_ack_layout(lib):
    dev = Device(lib)
    ftype, seq, session, p = dev.hello(0xA1B2C3D4)
    assert (ftype, seq, session) == (0x81, 1, 0xA1B2C3D4)
    fixed = struct.unpack_from("<IHHIIBBHII32s", p)
    assert fixed == (0xA1B2C3D4, 1, MAX_PAYLOAD, 0b111, 16000000, 2, 0, 0, 65536, 65536, bytes(32))
    rest = p[60:]
    strings = []
    for _ in range(3):
        strings.append(rest[1 : 1 + rest[0]].decode())
        rest = rest[1 + rest[0]:]
    assert strings == ["9.8.7", "host-test", "cortex-m4"] and rest == b""


def test_shared_buffers_are_announced_and_echo_still_works(lib):
    dev = Device(lib, shared=True)
    caps = struct.unpack_from("<I", dev.hello(7)[3], 8)[0]
    assert caps & (1 << 4)
    data = bytes(range(250)) * 8
    assert dev.request(0x02, 2, 7, struct.pack("<I", 0) + data)[0] == 0x82
    ftype, _, _, p = dev.request(0x04, 3, 7, struct.pack("<I", len(data)))
    assert ftype == 0x84 and struct.unpack("<II", p[:8]) == (len(data), zlib.crc32(data))


def test_requests_before_hello_and_with_another_session(lib):
    dev = Device(lib)
    assert error_of(dev.request(0x05, 9, 0x55)) == (BAD_STATE, 0x05, 9, 0x55)
    dev.hello(0x1234)
    assert error_of(dev.request(0x05, 10, 0x4321)) == (STALE, 0x05, 10, 0x4321)
    assert dev.request(0x05, 11, 0x1234)[0] == 0x85
    assert error_of(dev.request(0x01, 12, 0x1234, b"")) == (BAD_LENGTH, 0x01, 12, 0x1234)
    assert error_of(dev.request(0x01, 13, 0, struct.pack("<I", 0))) == (BAD_ARG, 0x01, 13, 0)


def test_argument_and_length_errors(lib):
    dev = Device(lib)
    dev.hello(5)
    cases = [
        (0x02, struct.pack("<I", 65535) + b"ab", BAD_ARG),
        (0x02, struct.pack("<I", 0xFFFFFFFF) + b"a", BAD_ARG),
        (0x02, b"\x00\x00", BAD_LENGTH),
        (0x03, struct.pack("<BIH", 2, 0, 1), BAD_ARG),
        (0x03, struct.pack("<BIH", 1, 65000, 1000), BAD_ARG),
        (0x03, struct.pack("<BIH", 0, 0, MAX_PAYLOAD - 4), BAD_ARG),
        (0x03, b"\x00" * 6, BAD_LENGTH),
        (0x04, struct.pack("<I", 65537), BAD_ARG),
        (0x04, b"\x00", BAD_LENGTH),
        (0x05, b"\x00", BAD_LENGTH),
        (0x42, b"", UNKNOWN_TYPE),
        (0x85, b"", UNKNOWN_TYPE),
    ]
    for i, (ftype, payload, code) in enumerate(cases):
        assert error_of(dev.request(ftype, 100 + i, 5, payload)) == (code, ftype, 100 + i, 5), (ftype, payload)


def test_damaged_frames_get_unattributed_errors(lib):
    dev = Device(lib)
    dev.hello(0xBEEF)
    good = py_frame(0x05, 3, 0xBEEF)
    bad_crc = good[:-1] + bytes([good[-1] ^ 0xFF])
    assert error_of(dev.feed(cobs.encode(bad_crc) + b"\0")[0]) == (BAD_CRC, 0, 0xFFFF, 0xBEEF)
    assert error_of(dev.feed(cobs.encode(good[:13]) + b"\0")[0]) == (BAD_FRAME, 0, 0xFFFF, 0xBEEF)
    assert error_of(dev.feed(b"\x07\x01\x02\0")[0]) == (BAD_FRAME, 0, 0xFFFF, 0xBEEF)
    too_long = py_frame(0x02, 4, 0xBEEF, b"\x01" * (MAX_PAYLOAD + 1))
    assert error_of(dev.feed(cobs.encode(too_long) + b"\0")[0]) == (TOO_LONG, 0, 0xFFFF, 0xBEEF)
    # Exactly max_payload is accepted.
    ok = py_frame(0x02, 5, 0xBEEF, struct.pack("<I", 0) + b"\x00" * (MAX_PAYLOAD - 4))
    assert dev.feed(cobs.encode(ok) + b"\0")[0][:2] == (0x82, 5)
    # Empty frames get no reply; the counters saw 4 bad frames.
    assert dev.feed(b"\0\0\0") == []
    status = struct.unpack("<7I", dev.request(0x05, 6, 0xBEEF)[3])
    assert status[:5] == (8192, 321, 3, 4, 6) and status[6] == 0   # no replays


@FAST
@given(st.lists(st.tuples(st.sampled_from([0x02, 0x03, 0x04, 0x05]), st.binary(max_size=40)), max_size=12),
       st.lists(st.integers(1, 200), max_size=12))
def test_one_reply_per_request_however_the_stream_is_cut(lib, requests, cuts):
    dev = Device(lib)
    dev.hello(99)
    wire = b"".join(cobs.encode(py_frame(t, 1000 + i, 99, p)) + b"\0" for i, (t, p) in enumerate(requests))
    replies, pos = [], 0
    for cut in cuts + [len(wire)]:
        replies += dev.feed(wire[pos : pos + cut])
        pos += cut
    replies += dev.feed(wire[pos:])
    assert [r[1] for r in replies] == [1000 + i for i in range(len(requests))]
    assert all(r[2] == 99 for r in replies)


@FAST
@given(st.binary(max_size=6000))
def test_garbage_never_gets_more_replies_than_delimiters(lib, noise):
    dev = Device(lib)
    dev.hello(3)
    replies = dev.feed(noise + b"\0")
    assert len(replies) <= noise.count(0) + 1
    # The link still works afterwards.
    assert dev.request(0x05, 7, 3)[0] == 0x85


def test_tensor_round_trip_through_the_dispatcher(lib):
    dev = Device(lib)
    dev.hello(11)
    data = bytes((i * 7919) & 0xFF for i in range(65536))
    step = MAX_PAYLOAD - 4
    for i, off in enumerate(range(0, len(data), step)):
        chunk = data[off : off + step]
        ftype, _, _, p = dev.request(0x02, i, 11, struct.pack("<I", off) + chunk)
        assert ftype == 0x82 and struct.unpack("<II", p) == (off, len(chunk))
    ftype, _, _, p = dev.request(0x04, 500, 11, struct.pack("<I", len(data)))
    length, crc, delta = struct.unpack("<III", p)
    assert (ftype, length, crc, delta) == (0x84, len(data), zlib.crc32(data), 7)
    back = bytearray()
    for off in range(0, len(data), MAX_PAYLOAD - 5):
        n = min(MAX_PAYLOAD - 5, len(data) - off)
        ftype, _, _, p = dev.request(0x03, 1, 11, struct.pack("<BIH", 1, off, n))
        assert ftype == 0x83 and p[:5] == struct.pack("<BI", 1, off)
        back += p[5:]
    assert bytes(back) == data


def test_an_infer_sent_again_gets_its_reply_again_without_a_second_inference(lib):
    """Retransmission (PROTOCOL.md): same session, seq and bytes -> the remembered reply, replays counted."""
    dev = Device(lib)
    lib.shim_model()
    dev.hello(0x77)
    x = bytes(range(16))
    first = dev.request(0x06, 40, 0x77, x)
    again = dev.request(0x06, 40, 0x77, x)
    assert first == again and first[0] == 0x86 and lib.shim_infer_calls() == 1
    # Another input under the same seq (the seq has wrapped) is a new request; so is another seq.
    y = bytes(range(1, 17))
    assert dev.request(0x06, 40, 0x77, y) != first and lib.shim_infer_calls() == 2
    assert dev.request(0x06, 41, 0x77, x)[3] == first[3] and lib.shim_infer_calls() == 3
    # Only the last PROTO_REPLAY_DEPTH (4) are remembered; a new session forgets them all.
    for seq in range(50, 54):
        dev.request(0x06, seq, 0x77, x)
    assert lib.shim_infer_calls() == 7
    dev.request(0x06, 40, 0x77, x)
    assert lib.shim_infer_calls() == 8
    dev.request(0x06, 53, 0x77, x)
    assert lib.shim_infer_calls() == 8
    status = struct.unpack("<7I", dev.request(0x05, 60, 0x77)[3])
    assert status[6] == 2
    dev.hello(0x78)
    dev.request(0x06, 53, 0x78, x)
    assert lib.shim_infer_calls() == 9
