"""What can go wrong with a real board; every message is one line that says what to do."""


class HardwareError(RuntimeError):
    """A real board could not be flashed, reached or leased."""


class FlashError(HardwareError):
    """The image did not get onto the board (copy failed, FAIL.TXT, no re-enumeration, pyOCD error)."""


class FlashVerifyError(HardwareError):
    """The board was flashed but does not run the image: no handshake, or another model hash."""


class PyOCDUnavailable(FlashError):
    """pyOCD, or the device pack it needs for this part, is missing."""


class BoardBusy(HardwareError):
    """Every matching board is leased by another run."""


class PortLost(HardwareError):
    """The board's serial port went away and did not come back."""
