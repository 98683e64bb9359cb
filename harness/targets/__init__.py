"""Targets: the backends that run an image and give a serial port (QEMU, real boards), and the HELLO check.

harness/device.py chooses and starts them; nothing here plans or leases.
"""

from .base import Target, TargetInfo
from .hello import HelloMismatch, ModelMismatch, check_hello
from .qemu import QemuError, QemuTarget

__all__ = ["HelloMismatch", "ModelMismatch", "QemuError", "QemuTarget", "Target", "TargetInfo", "check_hello"]
