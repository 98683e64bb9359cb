"""Finding boards attached over USB.

Probing real probes (mbed-tools, pyserial list_ports) comes with hardware
support; until then the only provider answers that nothing is attached, and
everything above it (board choice, `harness boards`) already goes through
this interface.
"""

from __future__ import annotations

from typing import Protocol

import attrs


@attrs.frozen
class AttachedBoard:
    board: str             # catalog name
    probe_serial: str      # tells identical boards apart
    port: str              # serial device, e.g. /dev/ttyACM0
    mount: str | None = None  # mass-storage drive of the probe, if any


class Provider(Protocol):
    name: str

    def attached(self) -> list[AttachedBoard]: ...


class NoHardware:
    """The provider used until USB detection exists: nothing is attached."""

    name = "none"

    def attached(self) -> list[AttachedBoard]:
        return []


def attached_boards(provider: Provider | None = None) -> list[AttachedBoard]:
    return (provider or NoHardware()).attached()
