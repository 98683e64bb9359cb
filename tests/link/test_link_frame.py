import zlib

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from harness.link import frame as fr

frames = st.builds(
    fr.Frame,
    type=st.integers(0, 255),
    seq=st.integers(0, 0xFFFF),
    nonce=st.integers(0, 0xFFFFFFFF),
    payload=st.binary(max_size=600),
)


@given(frames)
def test_frame_round_trip(f):
    wire = f.encode()
    assert wire.endswith(b"\x00") and 0 not in wire[:-1]
    assert fr.decode(wire[:-1]) == f


def test_worked_example_of_the_spec():
    f = fr.Frame(0x01, 1, 0x11223344, (0x11223344).to_bytes(4, "little"))
    packed = f.pack()
    assert packed[:14].hex(" ") == "01 00 01 00 44 33 22 11 04 00 44 33 22 11"
    assert packed[14:] == zlib.crc32(packed[:14]).to_bytes(4, "little")


@given(frames, st.data())
def test_any_corruption_is_detected(f, data):
    packed = bytearray(f.pack())
    n = data.draw(st.integers(1, 4))
    for _ in range(n):
        i = data.draw(st.integers(0, len(packed) - 1))
        packed[i] ^= data.draw(st.integers(1, 255))
    assume(bytes(packed) != f.pack())
    with pytest.raises(fr.FrameError):
        fr.unpack(bytes(packed))


@given(st.lists(frames, min_size=1, max_size=8), st.binary(max_size=64), st.data())
def test_deframer_resyncs_after_garbage_and_any_chunking(fs, garbage, data):
    stream = garbage + b"\x00" + b"".join(f.encode() for f in fs)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    deframer = fr.Deframer(max_wire=4096)
    got = []
    for a, b in zip([0, *cuts], [*cuts, len(stream)]):
        for chunk in deframer.feed(stream[a:b]):
            try:
                got.append(fr.decode(chunk))
            except fr.FrameError:
                pass  # the garbage, if it formed a chunk
    assert got == fs


def test_deframer_drops_oversize_chunks_and_recovers():
    good = fr.Frame(0x81, 1, 7, b"ok").encode()
    deframer = fr.Deframer(max_wire=32)
    out = deframer.feed(b"\x01" * 100) + deframer.feed(b"\x01" * 100 + b"\x00" + good)
    assert out[0] is None
    assert fr.decode(out[1]).payload == b"ok"


def test_short_and_inconsistent_frames_are_bad_frames():
    with pytest.raises(fr.FrameError) as e:
        fr.unpack(b"\x01\x00")
    assert e.value.kind == "bad-frame"
    packed = fr.Frame(1, 1, 1, b"abc").pack()
    with pytest.raises(fr.FrameError) as e:
        fr.unpack(packed[:-5] + packed[-4:])
    assert e.value.kind == "bad-frame"


@given(frames, st.data())
def test_any_single_bit_flip_on_the_wire_is_detected(f, data):
    """What a bad line does most often: one bit of the COBS bytes or of a delimiter flipped. The receiver
    never takes it for a valid frame (CRC-32 catches every single-bit error; COBS damage shows as a bad
    frame or a wrong length)."""
    wire = bytearray(f.encode() + fr.DELIMITER)
    bit = data.draw(st.integers(0, 8 * len(wire) - 1))
    wire[bit // 8] ^= 1 << (bit % 8)
    got = []
    for chunk in fr.Deframer(max_wire=1 << 16).feed(bytes(wire)):
        if chunk is None:
            continue
        try:
            got.append(fr.decode(chunk))
        except fr.FrameError:
            pass
    # A flip in the second delimiter leaves the frame intact (that is what the second one is for).
    assert got in ([], [f]) and (got == [] or bit >= 8 * (len(wire) - 1))
