from hypothesis import given
from hypothesis import strategies as st

from harness.link.messages import COUNTER_KINDS, Capability, DeviceErrorInfo, ErrorCode, Hello

names = st.text(max_size=40).filter(lambda s: len(s.encode()) <= 255)

hellos = st.builds(
    Hello,
    nonce=st.integers(1, 0xFFFFFFFF),
    protocol_version=st.integers(0, 0xFFFF),
    max_payload=st.integers(0, 0xFFFF),
    capabilities=st.integers(0, 15).map(Capability),
    clock_hz=st.integers(0, 0xFFFFFFFF),
    counter_kind=st.sampled_from(sorted(COUNTER_KINDS.values())),
    input_capacity=st.integers(0, 0xFFFFFFFF),
    output_capacity=st.integers(0, 0xFFFFFFFF),
    model_hash=st.binary(min_size=32, max_size=32),
    fw_version=names,
    board=names,
    core=names,
)


@given(hellos)
def test_hello_round_trip(h):
    assert Hello.unpack(h.pack()) == h


def test_error_names():
    info = DeviceErrorInfo.unpack(bytes([ErrorCode.BAD_ARG, 0x02, 0, 0]) + b"offset")
    assert (info.name, info.request_type, info.detail) == ("BAD_ARG", 2, "offset")
    assert DeviceErrorInfo(99, 0, "").name == "ERROR_99"
