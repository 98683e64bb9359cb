"""Board choice: a real board when one is attached, else the board's emulated twin."""

from __future__ import annotations

import attrs

from ..boards import AttachedBoard, Board, attached_boards
from ..boards.detect import Provider


class NoHardwareAttached(RuntimeError):
    pass


@attrs.frozen
class Plan:
    board: Board
    kind: str                           # "hardware" or "emulated"
    attached: AttachedBoard | None
    reason: str                         # one line for the console and the report


def plan_target(board: Board, *, require_hardware: bool = False, provider: Provider | None = None) -> Plan:
    if require_hardware and not board.hardware:
        raise NoHardwareAttached(f"--require-hardware: {board.name} exists only as an emulator; pick a board with hardware")
    found = [a for a in attached_boards(provider) if a.board == board.name]
    if found:
        return Plan(board, "hardware", found[0], f"{board.name}: real board, probe {found[0].probe_serial} on {found[0].port}")
    if require_hardware:
        raise NoHardwareAttached(
            f"--require-hardware: no {board.name} is attached to this machine; connect one or drop --require-hardware to use its emulated twin")
    if board.emulation is None:
        raise NoHardwareAttached(f"no {board.name} is attached and it has no emulated twin in the catalog")
    why = "no board attached, " if board.hardware else ""
    return Plan(board, "emulated", None, f"{board.name}: {why}running on its emulated twin, {board.twin_label}")


def open_target(plan: Plan, elf, binary, *, log_dir=None):
    if plan.kind == "hardware":
        raise NotImplementedError("flashing real boards is not supported yet")  # comes with USB detection
    from .qemu import QemuTarget
    return QemuTarget(plan.board, elf, binary, log_dir=log_dir)
