"""The hardware map: the boards a lab host has, in a YAML file.

    # kp-harness hardware map
    boards:
      - board: nucleo-f446re
        probe_serial: "0671FF485550755187121723"
        port: /dev/serial/by-id/usb-STMicroelectronics_STM32_STLink_0671FF485550755187121723-if02
        flash_method: mass-storage
        drive: /media/lab/NODE_F446RE          # optional: found by serial number when absent
        pyocd_pack: /opt/packs/Keil.STM32F4xx_DFP.2.17.1.pack   # optional, for flash_method pyocd
        notes: bench 3, left                   # optional
      - board: nucleo-f446re                   # a board on another host: a labgrid place (places.py)
        place: bench3-nucleo-2
        coordinator: labhost:20408             # optional: $LG_COORDINATOR, else 127.0.0.1:20408

`python -m harness boards --write-map FILE` writes one from what is attached;
`--hardware-map FILE` (its default is $HARNESS_HARDWARE_MAP, read where the
command line and pytest's options are parsed) makes it the list of boards:
USB detection is then not asked which boards exist, only where a board's port
went when it re-enumerated (by its probe serial number). A bad file fails with
one line naming the file, the entry and the field.
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs
import yaml

from .catalog import FLASH_METHODS, boards as catalog_boards
from .detect import AttachedBoard, ListPortsProvider, MbedToolsProvider, Provider, Scan, UnidentifiedProbe, UsbProvider
from .places import PlaceError, PlaceProvider, PlaceRef, place_entry

HARDWARE_MAP_ENV = "HARNESS_HARDWARE_MAP"   # the default of --hardware-map, read only where options are parsed

KEYS = ("board", "probe_serial", "port", "flash_method", "drive", "pyocd_pack", "notes")
REQUIRED = ("board", "probe_serial", "port")
HARDWARE_FLASH_METHODS = tuple(sorted(FLASH_METHODS - {"none"}))


class HardwareMapError(ValueError):
    """The hardware map cannot be read or an entry is wrong; the message is one line."""


@attrs.frozen
class MapEntry:
    board: str
    probe_serial: str
    port: str
    flash_method: str
    drive: str | None = None
    pyocd_pack: str | None = None
    notes: str = ""


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _entry(path: Path, i: int, raw, catalog) -> MapEntry:
    def fail(problem: str):
        who = ""
        if isinstance(raw, dict):
            serial, board = raw.get("probe_serial"), raw.get("board")
            who = f" (probe {serial})" if isinstance(serial, str) and serial else (
                f" ({board})" if isinstance(board, str) and board else "")
        raise HardwareMapError(_one_line(f"hardware map {path}: entry {i}{who}: {problem}"))

    if not isinstance(raw, dict):
        fail(f"expected a mapping with {', '.join(REQUIRED)}, got {type(raw).__name__}")
    unknown = [str(k) for k in raw if k not in KEYS]
    if unknown:
        fail(f"unknown field {unknown[0]!r}; fields are {', '.join(KEYS)}")
    for key in REQUIRED:
        if key not in raw or raw[key] is None or raw[key] == "":
            fail(f"missing {key}")
    for key in KEYS:
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                fail(f"{key} must be a string: YAML read it as the number {value!r}; write it in quotes")
            fail(f"{key} must be a string, got {value!r}")
    name = raw["board"]
    if name not in catalog:
        fail(f"unknown board {name!r}; known boards: {', '.join(sorted(catalog))}")
    board = catalog[name]
    if not board.hardware:
        fail(f"{name} exists only as an emulator; a hardware map lists real boards")
    method = raw.get("flash_method") or board.flash_method
    if method not in HARDWARE_FLASH_METHODS:
        fail(f"flash_method {method!r} is not one of {', '.join(HARDWARE_FLASH_METHODS)}")
    if not raw["probe_serial"].strip() or raw["probe_serial"] != raw["probe_serial"].strip():
        fail(f"probe_serial {raw['probe_serial']!r} has surrounding blanks")
    return MapEntry(name, raw["probe_serial"], raw["port"], method, raw.get("drive") or None,
                    raw.get("pyocd_pack") or None, raw.get("notes") or "")


def _fail_for(path: Path, i: int, raw):
    def fail(problem: str):
        who = f" (place {raw['place']})" if isinstance(raw.get("place"), str) and raw["place"] else ""
        raise HardwareMapError(_one_line(f"hardware map {path}: entry {i}{who}: {problem}"))
    return fail


def parse_map(text: str, path: Path | str = "<map>") -> list[MapEntry]:
    """The map's local boards (entries with a probe); `parse_places` gives its labgrid places."""
    return _parse(text, path)[0]


def parse_places(text: str, path: Path | str = "<map>", coordinator: str | None = None) -> list[PlaceRef]:
    """The map's labgrid places (entries with `place:`); `coordinator` is the default address."""
    return _parse(text, path, coordinator)[1]


def _parse(text: str, path: Path | str, coordinator: str | None = None) -> tuple[list[MapEntry], list[PlaceRef]]:
    path = Path(path)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise HardwareMapError(_one_line(f"hardware map {path}: not valid YAML{where}: {problem}")) from None
    if raw is None:
        raw = {"boards": []}
    if not isinstance(raw, dict) or set(raw) != {"boards"}:
        raise HardwareMapError(f"hardware map {path}: expected one key 'boards:' holding a list of boards")
    items = raw["boards"] or []
    if not isinstance(items, list):
        raise HardwareMapError(f"hardware map {path}: 'boards:' must be a list, got {type(items).__name__}")
    catalog = catalog_boards()
    numbered = list(enumerate(items, 1))
    places = [attrs.evolve(place_entry(item, _fail_for(path, i, item), catalog, coordinator), source=f"hardware map {path}")
              for i, item in numbered if isinstance(item, dict) and "place" in item]
    seen_place: dict[tuple[str, str], int] = {}
    for i, p in zip([i for i, item in numbered if isinstance(item, dict) and "place" in item], places):
        if (p.place, p.coordinator) in seen_place:
            raise HardwareMapError(f"hardware map {path}: entry {i} (place {p.place}): the same place as entry "
                                   f"{seen_place[p.place, p.coordinator]}")
        seen_place[p.place, p.coordinator] = i
    numbered = [(i, item) for i, item in numbered if not (isinstance(item, dict) and "place" in item)]
    entries = [_entry(path, i, item, catalog) for i, item in numbered]
    seen_serial: dict[str, int] = {}
    seen_port: dict[str, int] = {}
    for i, e in enumerate(entries, 1):
        if e.probe_serial in seen_serial:
            raise HardwareMapError(_one_line(f"hardware map {path}: entry {i} (probe {e.probe_serial}): the same probe "
                                             f"serial as entry {seen_serial[e.probe_serial]}"))
        if e.port in seen_port:
            raise HardwareMapError(_one_line(f"hardware map {path}: entry {i} (probe {e.probe_serial}): port {e.port} is "
                                             f"also entry {seen_port[e.port]}'s"))
        seen_serial[e.probe_serial] = i
        seen_port[e.port] = i
    return entries, places


def _read_text(path: Path) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise HardwareMapError(_one_line(f"hardware map {path}: cannot read it: {reason}")) from None


def read_map(path: Path | str) -> list[MapEntry]:
    path = Path(path)
    return parse_map(_read_text(path), path)


def read_places(path: Path | str, coordinator: str | None = None) -> list[PlaceRef]:
    path = Path(path)
    return parse_places(_read_text(path), path, coordinator)


def stable_port(device: str) -> str:
    """/dev/serial/by-id/... for a port when udev made one (it names the probe's serial number)."""
    by_id = Path("/dev/serial/by-id")
    try:
        real = os.path.realpath(device)
        for link in sorted(by_id.iterdir()):
            if os.path.realpath(link) == real:
                return str(link)
    except OSError:
        pass
    return device


def map_text(entries: list[MapEntry], unidentified: list[UnidentifiedProbe] = (),
             portless: list[AttachedBoard] = (), places: list[PlaceRef] = ()) -> str:
    lines = ["# kp-harness hardware map: the boards on this host (docs/hardware.md).",
             "# Use with --hardware-map FILE or HARNESS_HARDWARE_MAP=FILE. Boards are told apart by probe_serial;",
             "# optional fields: drive, pyocd_pack, notes."]
    body = {"boards": [{k: v for k, v in attrs.asdict(e).items() if v not in (None, "")} for e in entries]}
    body["boards"] += [{k: v for k, v in attrs.asdict(p).items() if k != "source" and v not in (None, "")}
                       for p in places]
    dumped = yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=1000)
    if yaml.safe_load(dumped) != body:   # PyYAML does not read back every character it writes raw (U+0085)
        dumped = yaml.safe_dump(body, sort_keys=False, width=1000)
    text = "\n".join(lines) + "\n" + dumped
    for a in portless:
        text += f"# Left out: {a.describe()}: the probe shows no serial port, and the harness talks over one.\n"
    for u in unidentified:
        text += (f"# Unidentified: {u.describe()}.\n# Name it and uncomment:\n"
                 f"#  - board: {u.candidates[0] if u.candidates else 'BOARD'}\n"
                 f"#    probe_serial: {yaml.safe_dump(u.probe_serial).splitlines()[0]}\n"
                 f"#    port: {stable_port(u.port) if u.port else 'PORT'}\n")
    return text


def write_map(path: Path | str, scan: Scan, *, keep: list[MapEntry] = (), places: list[PlaceRef] = ()) -> list[MapEntry]:
    """Write what a scan found; returns the entries written. The notes, pyocd_pack and
    flash_method of boards already in `keep` (the file being replaced) are carried over
    by probe serial number, and its labgrid `places` are kept; unidentified probes are
    written as comments to complete."""
    catalog = catalog_boards()
    old = {e.probe_serial: e for e in keep}
    entries, portless = [], []
    for a in scan.boards:
        if not a.port:
            portless.append(a)
            continue
        prev = old.get(a.probe_serial)
        entries.append(MapEntry(
            a.board, a.probe_serial, stable_port(a.port),
            (prev.flash_method if prev else None) or a.flash_method or catalog[a.board].flash_method,
            a.mount, (prev.pyocd_pack if prev else None) or a.pyocd_pack, (prev.notes if prev else "") or a.notes))
    Path(path).write_text(map_text(entries, list(scan.unidentified), portless, list(places)))
    return entries


class HardwareMapProvider:
    """The boards of a hardware map that are present now.

    A board is present when its port exists (and, where list_ports knows that
    port, carries the entry's probe serial number), or when list_ports finds a
    port with its probe serial number elsewhere: a board that re-enumerated as
    /dev/ttyACM1 is still found. The drive, when the entry gives none, is asked
    of mbed-tools by serial number."""

    def __init__(self, path: Path | str, *, ports: ListPortsProvider | None = None,
                 mbed: MbedToolsProvider | None = None, coordinator: str | None = None):
        self.path = Path(path)
        self.name = f"hardware map {self.path}"
        self.entries = read_map(self.path)
        self.places = tuple(read_places(self.path, coordinator))   # labgrid places, used when no local board is
        self.ports = ports or ListPortsProvider()
        self.mbed = mbed or MbedToolsProvider()

    def attached(self) -> list[AttachedBoard]:
        return list(self.scan().boards)

    def scan(self) -> Scan:
        found, missing = [], []
        drives = None
        for e in self.entries:
            port = self._port(e)
            if port is None:
                missing.append(f"{e.board} (probe {e.probe_serial}): port {e.port} is not there")
                continue
            mount = e.drive
            if mount is None and e.flash_method == "mass-storage":
                if drives is None:
                    drives = {a.probe_serial: a.mount for a in self.mbed.scan().boards}
                mount = drives.get(e.probe_serial)
            pack = e.pyocd_pack
            if pack is not None:   # relative to the map's folder
                pack = str((self.path.parent / Path(pack).expanduser()).resolve())
            found.append(AttachedBoard(e.board, e.probe_serial, port, mount, e.flash_method, pack, self.name, e.notes))
        return Scan(tuple(found), (), (self.name,), tuple(missing))

    def _port(self, e: MapEntry) -> str | None:
        if os.path.exists(e.port):
            owner = self.ports.serial_of(e.port)
            if owner is None or owner == e.probe_serial:
                return e.port
        return self.ports.port_for(e.probe_serial)


def provider_for(hardware_map: Path | str | None, *, place: str | None = None, coordinator: str | None = None,
                 place_source: str = "--place") -> Provider:
    """The boards of a hardware map, or USB detection when none is given; with `place`, that one labgrid
    place (the map, when given too, may describe it). `coordinator` is the address of places that name none.

    The defaults from the environment ($LG_PLACE, $LG_COORDINATOR) are read where options are parsed."""
    try:
        if place:
            known = read_places(hardware_map, coordinator) if hardware_map else ()
            return PlaceProvider(place, coordinator, source=place_source, known=known)
        return HardwareMapProvider(hardware_map, coordinator=coordinator) if hardware_map else UsbProvider()
    except PlaceError as exc:
        raise HardwareMapError(str(exc)) from None
