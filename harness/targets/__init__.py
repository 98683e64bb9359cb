"""Targets: the backends that run an image and give a serial port (QEMU, real boards)."""

from .base import Target, TargetInfo
from .qemu import QemuError, QemuTarget
from .select import NoHardwareAttached, Plan, leased, open_target, plan_target

__all__ = ["NoHardwareAttached", "Plan", "QemuError", "QemuTarget", "Target", "TargetInfo", "leased", "open_target",
           "plan_target"]
