"""Targets: the backends that run an image and give a serial port (QEMU now, boards later)."""

from .base import Target, TargetInfo
from .qemu import QemuError, QemuTarget
from .select import NoHardwareAttached, Plan, plan_target

__all__ = ["NoHardwareAttached", "Plan", "QemuError", "QemuTarget", "Target", "TargetInfo", "plan_target"]
