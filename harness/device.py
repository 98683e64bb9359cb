"""The one way to a device: plan where a board runs, lease it, build its image, start it, verify its HELLO, stop.

    plan = plan_device(board, provider=provider_for(hardware_map))   # detection, once per run
    with leased(plan) as plan:                    # a real board: this process's own until the block ends
        with open_device(plan, model=exported) as dev:   # build, start, handshake, check board/core/model
            dev.link.infer(...)

The CLI verbs, the runner and the pytest plugin all come through here, so a
board is chosen, leased and verified the same way everywhere. An emulated
board runs on its QEMU twin, or on Arm's FVP where the catalog has one and it
is installed (harness/targets/fvp.py: $HARNESS_FVP, $HARNESS_EMULATOR). With
several identical boards attached, the plan lists them all (`candidates`) and
`leased` takes one that no other run holds; the plan then names it, so every
record says which physical board it came from.

A board on another host is a labgrid place (harness/boards/places.py): the
plan lists the places that may hold it (`places`), `leased` acquires one on
its coordinator (that is the lease) and releases it on every way out, and
the plan then names it (`place`), as `place@exporter` in every record.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Callable, Iterator

import attrs

from . import firmware
from .boards import AttachedBoard, Board, attached_boards
from .boards.detect import Provider, UsbProvider
from .link import Hello, Link
from .records import EMULATED, HARDWARE, DeviceRecord
from .targets.hello import check_hello


class NoHardwareAttached(RuntimeError):
    pass


@attrs.frozen
class Plan:
    """Where a board runs: a real board (which one, once leased) or its emulated twin."""

    board: Board
    where: str                          # HARDWARE or EMULATED (harness/records.py)
    reason: str                         # one line for the console and the report
    candidates: tuple[AttachedBoard, ...] = ()   # every attached board of this kind
    attached: AttachedBoard | None = None        # the physical board this run holds (set by `leased`)
    provider: Provider | None = attrs.field(default=None, eq=False, repr=False)   # finds a board again by serial
    places: tuple = ()                  # labgrid places that hold this board (boards/places.py PlaceRef)
    place: object = None                # the place this run acquired (targets/labgrid AcquiredPlace; by `leased`)
    fvp: str | None = None              # emulated on this Arm FVP executable instead of QEMU

    @property
    def physical_board(self) -> str:
        """The probe serial number of the board this runs on, place@exporter for a labgrid place, or
        qemu:<machine>, or fvp:<FVP binary>."""
        if self.places:
            return self.place.physical_board if self.place is not None else ""
        if self.where == HARDWARE:
            return self.attached.probe_serial if self.attached is not None else ""
        if self.fvp:
            return f"fvp:{Path(self.fvp).name}"
        return f"qemu:{self.board.emulation.machine}" if self.board.emulation else ""


def _hardware_reason(board: Board, chosen: AttachedBoard, n: int, leased: bool) -> str:
    text = f"{board.name}: real board, probe {chosen.probe_serial} on {chosen.port}"
    if n > 1:
        text += f" ({'leased, ' if leased else ''}one of {n} attached)"
    return text


def where_it_runs(board: Board, found: list[AttachedBoard], places=()) -> str:
    """Where a board would run now, for listings; never raises."""
    from .targets.fvp import FvpError, choose_fvp
    mine = [a for a in found if a.board == board.name and a.port]
    if mine:
        return f"real board{'s' if len(mine) > 1 else ''}: " + ", ".join(f"probe {a.probe_serial}" for a in mine)
    places = [p for p in places if p.board == board.name]
    if places:
        return f"labgrid place{'s' if len(places) > 1 else ''}: " + ", ".join(f"{p.place} ({p.coordinator})" for p in places)
    try:
        fvp, why = choose_fvp(board)
    except FvpError as exc:
        return f"cannot choose its emulator: {exc}"
    if fvp is not None:
        return f"emulated: Arm FVP {fvp}"
    if board.emulation is not None:
        return f"emulated: {board.twin_label}" + (" (no FVP found)" if why.startswith("no ") else f" ({why})" if why else "")
    return "not attached; no emulator for it"


def _emulated_plan(board: Board, why: str, provider: Provider | None) -> Plan:
    """The board's emulator: its FVP when the catalog has one and it is found (or required), else QEMU."""
    from .targets.fvp import FvpError, choose_fvp
    try:
        fvp, how = choose_fvp(board)
    except FvpError as exc:
        raise NoHardwareAttached(str(exc)) from None
    if fvp is not None:
        return Plan(board, EMULATED, f"{board.name}: {why}running on Arm's {fvp.name} ({how}: {fvp}); "
                                     "counts are FVP cycles, not cycle-accurate", provider=provider, fvp=str(fvp))
    if board.emulation is None:
        raise NoHardwareAttached(f"no {board.name} is attached and it has no emulated twin in the catalog")
    return Plan(board, EMULATED, f"{board.name}: {why}running on its emulated twin, {board.twin_label}"
                                 + (f" ({how})" if how else ""), provider=provider)


def plan_device(board: Board, *, require_hardware: bool = False, provider: Provider | None = None) -> Plan:
    """A real board when one is attached (the provider says which: USB detection, or a hardware map),
    else the board's emulated twin."""
    if require_hardware and not board.hardware:
        raise NoHardwareAttached(f"--require-hardware: {board.name} exists only as an emulator; pick a board with hardware")
    provider = provider or UsbProvider()
    # A board that exists only as an emulator is never looked for on USB; one whose probe shows
    # no serial port cannot be talked to.
    found = tuple(a for a in attached_boards(provider) if a.board == board.name and a.port) if board.hardware else ()
    if found:
        return Plan(board, HARDWARE, _hardware_reason(board, found[0], len(found), False), found, None, provider)
    places = _places_for(board, provider)
    if places:
        from .targets.labgrid import check_places
        check_places(places, board)     # labgrid there, coordinator up, place known: or one line now
        return Plan(board, HARDWARE, _place_reason(board, places), provider=provider, places=places)
    if require_hardware:
        raise NoHardwareAttached(
            f"--require-hardware: no {board.name} is attached to this machine; connect one or drop --require-hardware to use its emulated twin")
    return _emulated_plan(board, "no board attached, " if board.hardware else "", provider)


def _places_for(board: Board, provider) -> tuple:
    """The labgrid places the provider names for this board (a hardware map's, or --place)."""
    places = tuple(getattr(provider, "places", ()) or ())
    if not board.hardware:
        if any(p.source == "--place" for p in places):
            raise NoHardwareAttached(f"--place: {board.name} exists only as an emulator; a labgrid place holds a real "
                                     "board: name it with --board")
        return ()   # $LG_PLACE set in a lab shell does not move an emulator-only board anywhere
    for p in places:
        if p.board is not None and p.board != board.name and p.source in ("--place", "$LG_PLACE"):
            raise NoHardwareAttached(f"{p.source} {p.place}: the hardware map says it holds a {p.board}, "
                                     f"not a {board.name}")
    return tuple(p for p in places if p.board in (None, board.name))


def _place_reason(board: Board, places: tuple, acquired=None) -> str:
    if acquired is not None:
        text = f"{board.name}: labgrid place {acquired.physical_board} (coordinator {acquired.ref.coordinator})"
        return text + (", acquired" if acquired.ours else ", already acquired by you; left acquired")
    first = places[0]
    text = f"{board.name}: {first.describe()}"
    return text + (f" (one of {len(places)} places)" if len(places) > 1 else "")


@contextlib.contextmanager
def leased(plan: Plan, *, prefer: int = 0, timeout: float | None = None,
           on_wait: Callable[[str], None] | None = None, own: bool = False) -> Iterator[Plan]:
    """The plan with one free physical board leased for the duration (emulated plans pass through).

    Leases are re-entrant within a process: a plan that names a board this
    process holds gets that same board back. With own=True (the parallel jobs
    of one run) a board this process holds is passed over instead: each job
    gets one of its own."""
    if plan.where != HARDWARE:
        yield plan
        return
    if plan.places:
        from .targets.labgrid import acquire_place
        pool = (plan.place.ref,) if plan.place is not None else plan.places
        lease = acquire_place(pool, board=plan.board, prefer=prefer, timeout=timeout, on_wait=on_wait, reuse=not own)
        try:
            yield attrs.evolve(plan, place=lease.place, reason=_place_reason(plan.board, pool, lease.place))
        finally:
            lease.release()
        return
    from .targets.hardware import lease_board
    pool = (plan.attached,) if plan.attached is not None else plan.candidates
    lease = lease_board(pool, prefer=prefer, timeout=timeout, on_wait=on_wait, reuse=not own)
    try:
        yield attrs.evolve(plan, attached=lease.board,
                           reason=_hardware_reason(plan.board, lease.board, len(plan.candidates), True))
    finally:
        lease.release()


@attrs.define
class Device:
    """A started target with a verified handshake."""

    plan: Plan
    image: firmware.Image
    target: object
    link: Link
    hello: Hello

    @property
    def physical_board(self) -> str:
        return self.plan.physical_board

    def record(self) -> DeviceRecord:
        """What the run folder keeps of this device (harness/records.py)."""
        h, image = self.hello, self.image
        return DeviceRecord(self.plan.where, self.physical_board, self.target.info.runner, self.plan.reason,
                            h.fw_version, h.protocol_version, h.board, h.core, h.clock_hz, h.counter_kind,
                            h.max_payload, h.model_hash.hex(), firmware.file_sha256(image.bin),
                            image.sections.flash, image.sections.ram)

    def handshake(self) -> Hello:
        """A new session (new nonce), checked again: whatever an earlier user left on the line is stale."""
        hello = _counted(self.target, self.link.handshake())
        check_hello(hello, self.plan.board, self.image.model_hash)
        self.hello = hello
        return hello


def _target(plan: Plan, image: firmware.Image, log_dir: Path | None):
    if plan.place is not None:
        from .targets.labgrid import LabgridTarget
        return LabgridTarget(plan.board, plan.place, image.elf, image.bin, expected_hash=image.model_hash,
                             log_dir=log_dir)
    if plan.where == HARDWARE:
        from .targets.hardware import HardwareTarget
        return HardwareTarget(plan.board, plan.attached, image.elf, image.bin, expected_hash=image.model_hash,
                              provider=plan.provider, log_dir=log_dir)
    if plan.fvp:
        from .targets.fvp import FvpTarget
        return FvpTarget(plan.board, image.elf, image.bin, fvp=plan.fvp, log_dir=log_dir)
    from .targets.qemu import QemuTarget
    return QemuTarget(plan.board, image.elf, image.bin, log_dir=log_dir)


def _counted(target, hello: Hello) -> Hello:
    """The HELLO as the run records it: a target whose counts mean something else than the firmware's
    counter says (an FVP's) relabels them; every other HELLO is kept as the device sent it."""
    counted = getattr(target, "counted", None)
    return counted(hello) if counted is not None else hello


@contextlib.contextmanager
def open_device(plan: Plan, *, model=None, log_dir: Path | None = None,
                retries: int | None = None) -> Iterator[Device]:
    """Build the image (with `model`, an Exported, compiled in), start it where the plan says, handshake
    and check board, core and model hash; always stops the target afterwards.

    A real board is leased for the duration (the caller's lease, when it holds
    one), flashed and verified against the model hash (zeros without a model). `retries`: how often the
    link sends a request again after a fault (harness/link/client.py)."""
    image = firmware.build(plan.board, model=model)
    with leased(plan) as plan:
        target = _target(plan, image, log_dir)
        try:
            target.start()
            link = Link(target.port) if retries is None else Link(target.port, retries=retries)
            hello = _counted(target, link.handshake())
            check_hello(hello, plan.board, image.model_hash)
            yield Device(plan, image, target, link, hello)
        finally:
            target.stop()
