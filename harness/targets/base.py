"""The Target protocol: whatever runs a firmware image and gives a serial port to it."""

from __future__ import annotations

from typing import Protocol

import attrs

from ..records import EMULATED, WHERE


@attrs.frozen
class TargetInfo:
    board: str          # catalog name
    where: str = attrs.field(validator=attrs.validators.in_(WHERE))   # records.HARDWARE or EMULATED
    runner: str = ""    # e.g. "QEMU netduinoplus2" or "ST-LINK/V2-1 0668FF..."
    detail: str = ""    # one line for logs and reports

    @property
    def emulated(self) -> bool:
        return self.where == EMULATED


class Target(Protocol):
    info: TargetInfo

    def start(self) -> None:
        """Load the image, run it and open the serial port. Nothing happens before this."""

    @property
    def port(self):
        """The open pyserial port to the running image."""

    def stop(self) -> None:
        """Close the port and release everything start() took; safe to call twice."""
