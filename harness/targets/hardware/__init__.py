"""Real boards at the USB boundary: flashing (drive copy, pyOCD), leases, serial reconnection, the board target.

Knows nothing of models or scenarios; harness/device.py leases a board and
hands it to HardwareTarget, which flashes, verifies and gives its port.
"""

from .errors import BoardBusy, FlashError, FlashVerifyError, HardwareError, PortLost, PyOCDUnavailable
from .lease import Lease, lease_board, lock_dir
from .target import HardwareTarget, flash_and_verify

__all__ = ["BoardBusy", "FlashError", "FlashVerifyError", "HardwareError", "HardwareTarget", "Lease", "PortLost",
           "PyOCDUnavailable", "flash_and_verify", "lease_board", "lock_dir"]
