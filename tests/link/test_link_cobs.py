import cobs.cobs as reference
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.link import cobs


@given(st.binary(max_size=2000))
def test_round_trip(data):
    assert cobs.decode(cobs.encode(data)) == data


@given(st.binary(max_size=2000))
def test_matches_independent_implementation(data):
    assert cobs.encode(data) == reference.encode(data)


@given(st.binary(max_size=2000))
def test_output_has_no_zero_and_bounded_overhead(data):
    enc = cobs.encode(data)
    assert 0 not in enc
    assert len(enc) <= cobs.encoded_size_max(len(data))


@pytest.mark.parametrize("n", [0, 1, 253, 254, 255, 508, 509, 1000])
def test_block_boundaries(n):
    data = bytes(range(1, 256)) * 4
    data = data[:n]
    assert cobs.decode(cobs.encode(data)) == data
    assert cobs.encode(data) == reference.encode(data)


@pytest.mark.parametrize("bad", [b"\x05ab", b"\x02a\x00", b"\x00"])
def test_malformed_is_rejected(bad):
    with pytest.raises(cobs.CobsError):
        cobs.decode(bad)
