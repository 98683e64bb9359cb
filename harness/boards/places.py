"""labgrid places as boards: a board on another host, reserved through a labgrid coordinator.

A place is named by `--place NAME` (default $LG_PLACE) with `--coordinator
HOST:PORT` (default $LG_COORDINATOR, else 127.0.0.1:20408), or by a hardware
map entry:

    boards:
      - board: nucleo-f446re
        place: bench3-nucleo-1               # a place on the coordinator
        coordinator: labhost:20408           # optional: --coordinator, $LG_COORDINATOR, 127.0.0.1:20408
        drive: /mnt/bench3/NODE_F446RE       # optional: the probe's drive as this host sees it
        notes: bench 3, left                 # optional

What the place holds (its serial port, the probe's drive or debugger) is
labgrid's to say once the place is acquired: harness/targets/labgrid/ asks
the coordinator. This module only names places; it imports no labgrid.
"""

from __future__ import annotations

from typing import Callable

import attrs

from .detect import AttachedBoard, Scan

PLACE_ENV = "LG_PLACE"
COORDINATOR_ENV = "LG_COORDINATOR"
DEFAULT_PORT = 20408
DEFAULT_COORDINATOR = f"127.0.0.1:{DEFAULT_PORT}"
PLACE_KEYS = ("board", "place", "coordinator", "drive", "notes")


class PlaceError(ValueError):
    """A place or coordinator address is written wrong; the message is one line."""


@attrs.frozen
class PlaceRef:
    """A labgrid place that holds one board."""

    board: str | None            # catalog name; None: whatever --board names (a bare --place)
    place: str
    coordinator: str             # HOST:PORT
    drive: str | None = None     # the probe's drive as this host sees it (a share of the exporter's mount)
    notes: str = ""
    source: str = ""             # "--place", "$LG_PLACE" or "hardware map FILE"

    def describe(self) -> str:
        return f"labgrid place {self.place} on coordinator {self.coordinator}"


def coordinator_address(value: str | None) -> str:
    """HOST:PORT from HOST, HOST:PORT or [V6]:PORT; the port defaults to labgrid's 20408."""
    value = (value or "").strip() or DEFAULT_COORDINATOR
    host, sep, port = value.rpartition(":")
    if not sep or (host.startswith("[") is not host.endswith("]")) or ("]" in port):
        host, port = value, str(DEFAULT_PORT)
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise PlaceError(f"coordinator address {value!r} is not HOST:PORT (e.g. labhost:{DEFAULT_PORT})")
    return f"{host}:{int(port)}"


def place_entry(raw: dict, fail: Callable[[str], None], catalog, default_coordinator: str | None) -> PlaceRef:
    """One hardware-map entry naming a place; `fail` raises with the map's file and entry number."""
    unknown = [str(k) for k in raw if k not in PLACE_KEYS]
    if unknown:
        fail(f"unknown field {unknown[0]!r} for a labgrid place; fields are {', '.join(PLACE_KEYS)}")
    for key in ("board", "place"):
        if raw.get(key) in (None, ""):
            fail(f"missing {key}")
    for key in PLACE_KEYS:
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            fail(f"{key} must be a string, got {value!r}")
    name = raw["board"]
    if name not in catalog:
        fail(f"unknown board {name!r}; known boards: {', '.join(sorted(catalog))}")
    if not catalog[name].hardware:
        fail(f"{name} exists only as an emulator; a labgrid place holds a real board")
    if raw["place"] != raw["place"].strip() or " " in raw["place"]:
        fail(f"place {raw['place']!r} has blanks; labgrid place names have none")
    try:
        coordinator = coordinator_address(raw.get("coordinator") or default_coordinator)
    except PlaceError as exc:
        fail(str(exc))
    return PlaceRef(name, raw["place"], coordinator, raw.get("drive") or None, raw.get("notes") or "")


class PlaceProvider:
    """`--place NAME`: no board attached here, one labgrid place. A hardware-map entry for the same place
    (and coordinator) lends it what labgrid does not say: the board it holds, its drive, notes."""

    def __init__(self, place: str, coordinator: str | None, *, source: str = "--place", known=()):
        place = (place or "").strip()
        if not place or " " in place:
            raise PlaceError(f"{source}: {place!r} is not a labgrid place name")
        address = coordinator_address(coordinator)
        # The map's entry of that name: on the coordinator given, or (none given) on its own.
        ref = next((p for p in known if p.place == place and (coordinator is None or p.coordinator == address)), None)
        self.places = (attrs.evolve(ref, source=source) if ref is not None
                       else PlaceRef(None, place, address, source=source),)
        self.name = f"{source} {place}"

    def attached(self) -> list[AttachedBoard]:
        return []

    def scan(self) -> Scan:
        return Scan(sources=(f"{self.places[0].describe()} ({self.places[0].source})",))
