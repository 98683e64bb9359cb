"""Each catalog board's image boots on its QEMU twin and answers on the link."""

import os

import pytest

from harness import firmware
from harness.boards import boards
from harness.link import Link, Msg
from harness.link import frame as fr
from harness.targets import check_hello
from harness.targets import QemuTarget

pytestmark = pytest.mark.emulator


@pytest.mark.parametrize("name", sorted(n for n, b in boards().items() if b.emulation is not None))
def test_boots_and_answers(name):
    board = boards()[name]
    image = firmware.build(board)
    with QemuTarget(board, image.elf, image.bin) as target:
        link = Link(target.port)
        hello = link.handshake()
        check_hello(hello, board)
        assert hello.counter_kind == "icount-instructions"
        data = os.urandom(5000)
        assert link.round_trip(data)[0] == data
        status = link.status()
        assert 0 < status.stack_peak < status.stack_size == board.stack_size
        # Under -icount the count is deterministic up to the phase of the timer
        # tick at each end (the resolution is a rounded ratio, e.g. 5.95 -> 6).
        a, b = link.echo(4096).counter_delta, link.echo(4096).counter_delta
        assert abs(a - b) <= 2 * status.counter_resolution
        assert link.echo(32768).counter_delta > 4 * a
    assert target.proc is None


def test_stale_replies_of_an_earlier_session_are_dropped():
    board = boards()["qemu-m4"]
    image = firmware.build(board)
    with QemuTarget(board, image.elf, image.bin) as target:
        first = Link(target.port)
        first.handshake()
        # Requests whose replies nobody reads: they wait on the line.
        for seq in (1, 2, 3):
            target.port.write(fr.Frame(Msg.STATUS, seq, first.nonce).encode())
        second = Link(target.port)
        second.handshake()
        assert second.status().stack_size == board.stack_size
        assert second.stats.dropped_stale >= 3
