"""Real boards at the USB boundary: flashing (drive copy, pyOCD), leases, serial reconnection, image verification.

Knows nothing of models or scenarios; harness/targets/hardware.py puts the pieces together.
"""

from .errors import BoardBusy, FlashError, FlashVerifyError, HardwareError, PortLost, PyOCDUnavailable
from .lease import Lease, lease_board, lock_dir

__all__ = ["BoardBusy", "FlashError", "FlashVerifyError", "HardwareError", "Lease", "PortLost", "PyOCDUnavailable",
           "lease_board", "lock_dir"]
