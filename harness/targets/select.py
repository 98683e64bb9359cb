"""Board choice: a real board when one is attached, else the board's emulated twin.

With several identical boards attached, the plan lists them all (`candidates`);
`leased()` / `lease_plan()` take one that no other run holds (harness/hw/lease.py)
and name it in the plan, so every record says which physical board it came from.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import attrs

from ..boards import AttachedBoard, Board, attached_boards
from ..boards.detect import Provider, default_provider


class NoHardwareAttached(RuntimeError):
    pass


@attrs.frozen
class Plan:
    board: Board
    kind: str                           # "hardware" or "emulated"
    attached: AttachedBoard | None      # the physical board (once leased: the one this run holds)
    reason: str                         # one line for the console and the report
    candidates: tuple[AttachedBoard, ...] = ()   # every attached board of this kind
    provider: Provider | None = attrs.field(default=None, eq=False, repr=False)   # to find a board again by serial

    @property
    def physical_board(self) -> str:
        """The probe serial number of the board this runs on, or qemu:<machine>."""
        if self.kind == "hardware" and self.attached is not None:
            return self.attached.probe_serial
        return f"qemu:{self.board.emulation.machine}" if self.board.emulation else ""


def _hardware_reason(board: Board, chosen: AttachedBoard, n: int, leased: bool) -> str:
    text = f"{board.name}: real board, probe {chosen.probe_serial} on {chosen.port}"
    if n > 1:
        text += f" ({'leased, ' if leased else ''}one of {n} attached)"
    return text


def where(board: Board, found: list[AttachedBoard]) -> str:
    """Where a board would run now, for listings; never raises."""
    mine = [a for a in found if a.board == board.name and a.port]
    if mine:
        return f"real board{'s' if len(mine) > 1 else ''}: " + ", ".join(f"probe {a.probe_serial}" for a in mine)
    if board.emulation is not None:
        return f"emulated: {board.twin_label}"
    return "not attached; no emulator for it"


def plan_target(board: Board, *, require_hardware: bool = False, provider: Provider | None = None) -> Plan:
    if require_hardware and not board.hardware:
        raise NoHardwareAttached(f"--require-hardware: {board.name} exists only as an emulator; pick a board with hardware")
    provider = provider or default_provider()
    # A board that exists only as an emulator is never looked for on USB; one whose probe shows
    # no serial port cannot be talked to.
    found = tuple(a for a in attached_boards(provider) if a.board == board.name and a.port) if board.hardware else ()
    if found:
        return Plan(board, "hardware", found[0], _hardware_reason(board, found[0], len(found), False), found, provider)
    if require_hardware:
        raise NoHardwareAttached(
            f"--require-hardware: no {board.name} is attached to this machine; connect one or drop --require-hardware to use its emulated twin")
    if board.emulation is None:
        raise NoHardwareAttached(f"no {board.name} is attached and it has no emulated twin in the catalog")
    why = "no board attached, " if board.hardware else ""
    return Plan(board, "emulated", None, f"{board.name}: {why}running on its emulated twin, {board.twin_label}",
                provider=provider)


def lease_plan(plan: Plan, *, prefer: int = 0, timeout: float | None = None, on_wait=None):
    """(plan naming the leased board, lease) for a hardware plan; (plan, None) for an emulated one.

    The caller releases the lease (lease.release()) when done with the board."""
    if plan.kind != "hardware":
        return plan, None
    from ..hw.lease import lease_board
    lease = lease_board(plan.candidates or (plan.attached,), prefer=prefer, timeout=timeout, on_wait=on_wait)
    chosen = lease.board
    return attrs.evolve(plan, attached=chosen,
                        reason=_hardware_reason(plan.board, chosen, len(plan.candidates), True)), lease


@contextlib.contextmanager
def leased(plan: Plan, *, prefer: int = 0, timeout: float | None = None) -> Iterator[Plan]:
    """The plan with one free physical board leased for the duration (emulated plans pass through)."""
    plan, lease = lease_plan(plan, prefer=prefer, timeout=timeout)
    try:
        yield plan
    finally:
        if lease is not None:
            lease.release()


def open_target(plan: Plan, elf, binary, *, log_dir=None, expected_hash: bytes | str | None = None):
    """The Target for a plan. `expected_hash` is the model hash the image reports in its HELLO
    (None: a firmware without a model); a real board is verified against it after flashing."""
    if plan.kind == "hardware":
        from .hardware import HardwareTarget
        return HardwareTarget(plan.board, plan.attached, elf, binary, expected_hash=expected_hash,
                              provider=plan.provider, log_dir=log_dir)
    from .qemu import QemuTarget
    return QemuTarget(plan.board, elf, binary, log_dir=log_dir)
