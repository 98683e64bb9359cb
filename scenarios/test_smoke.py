"""Smoke scenarios: the link to the board (or its emulated twin) works end to end."""

import os
import zlib

import pytest

from harness.link import Capability, DeviceError, ErrorCode, Msg

TENSOR_BYTES = 64 * 1024


def test_handshake(device):
    hello = device.hello
    assert hello.nonce == device.link.nonce != 0
    assert hello.protocol_version == 1
    # A second handshake starts a new session on the same line.
    again = device.link.handshake()
    assert again.nonce == device.link.nonce != hello.nonce


def test_hello_matches_catalog(device, board):
    hello = device.hello
    assert hello.board == board.name
    assert hello.core == board.core
    if device.plan.where == "hardware":
        assert hello.counter_kind == board.counter
        assert hello.clock_hz == board.clock_hz
    elif device.plan.fvp:
        # An Arm FVP is not cycle-accurate: whatever counter the firmware read, the run records FVP cycles.
        assert hello.counter_kind == "fvp-cycles"
        assert hello.clock_hz == board.clock_hz
    else:
        # QEMU has no cycle counter; the firmware must notice and count instructions.
        assert hello.counter_kind == "icount-instructions"
        assert hello.clock_hz > 0
    assert Capability.TENSOR | Capability.ECHO | Capability.STATUS in hello.capabilities
    assert hello.max_payload >= 256
    assert hello.input_capacity >= TENSOR_BYTES and hello.output_capacity >= TENSOR_BYTES
    assert hello.model_hash == bytes(32)  # no model compiled in yet


def test_tensor_echo_64k(device):
    data = os.urandom(TENSOR_BYTES)
    back, result = device.link.round_trip(data)
    assert back == data
    assert result.length == TENSOR_BYTES
    assert result.crc32 == zlib.crc32(data)
    assert result.counter_delta > 0
    # Every chunk stayed within what the device declared.
    assert device.link.stats.dropped_damaged == 0


def test_corrupted_frame_gets_typed_error_and_link_recovers(device):
    def flip_crc(packed: bytes) -> bytes:
        return packed[:-1] + bytes([packed[-1] ^ 0x5A])

    with pytest.raises(DeviceError) as err:
        device.link.request(Msg.STATUS, mangle=flip_crc)
    assert err.value.code == ErrorCode.BAD_CRC

    status = device.link.status()
    assert status.frames_bad >= 1
    back, _ = device.link.round_trip(b"still alive" * 100)
    assert back == b"still alive" * 100


def test_stack_peak_is_measured(device):
    status = device.link.status()
    assert 0 < status.stack_peak < status.stack_size
