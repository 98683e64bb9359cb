"""The board catalog (catalog.yaml) as validated records.

A wrong value fails when the catalog is loaded, naming the board and field.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import attrs
import yaml

CATALOG_FILE = Path(__file__).with_name("catalog.yaml")

CORES = {"cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55"}
FPUS = {"fpv4-sp-d16", "fpv5-d16", "fpv5-sp-d16"}
COUNTERS = {"dwt-cycles", "icount-instructions"}
# Helium (the M-profile Vector Extension) in a build, for the cores that have it:
# off (no vector instructions at all), int (integer MVE only) or float (MVE with
# floating point, what the core has). -mcpu suffix for each, and the Arm FVP's
# cpu<n>.MVE parameter value that models the same core.
MVE_CORES = {"cortex-m55"}
MVE = {"off": ("+nomve", 0), "int": ("+nomve.fp", 1), "float": ("", 2)}
FLASH_METHODS = {"mass-storage", "pyocd", "none"}
PROBES = {"stlink-v2-1", "stlink-v3", "daplink", "opensda"}
LOADS = {"elf", "raw-flash"}
_UNITS = {"": 1, "KiB": 1024, "MiB": 1024 * 1024}


class CatalogError(ValueError):
    """The catalog file or a board name is wrong."""


class UnknownBoard(CatalogError):
    def __init__(self, name: str, known: list[str]):
        super().__init__(f"unknown board {name!r}; known boards: {', '.join(known)}")
        self.name = name


def parse_size(value: Any) -> int:
    """Bytes from an int or a string like '512 KiB', '0x20000'."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a size")
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"\s*(0x[0-9a-fA-F]+|\d+)\s*(KiB|MiB)?\s*", str(value))
    if not m:
        raise ValueError(f"{value!r} is not a size (use bytes, 0x…, 'N KiB' or 'N MiB')")
    return int(m.group(1), 0) * _UNITS[m.group(2) or ""]


def _one_of(options: set[str]):
    def check(inst, attribute, value):
        if value not in options:
            raise ValueError(f"{attribute.name} {value!r} is not one of {sorted(options)}")
    return check


def _positive(inst, attribute, value):
    if not isinstance(value, int) or value <= 0:
        raise ValueError(f"{attribute.name} must be a positive integer, got {value!r}")


def _aligned(inst, attribute, value):
    if not isinstance(value, int) or value < 0 or value % 4:
        raise ValueError(f"{attribute.name} must be a non-negative multiple of 4, got {value!r}")


@attrs.frozen
class Region:
    origin: int = attrs.field(converter=parse_size, validator=_aligned)
    size: int = attrs.field(converter=parse_size, validator=_positive)

    @property
    def end(self) -> int:
        return self.origin + self.size


@attrs.frozen
class Serial:
    baud: int = attrs.field(validator=_positive)
    uart: str = attrs.field(validator=attrs.validators.instance_of(str))


@attrs.frozen
class Emulation:
    machine: str = attrs.field(validator=attrs.validators.instance_of(str))
    load: str = attrs.field(validator=_one_of(LOADS))
    serial_index: int = attrs.field(validator=attrs.validators.and_(attrs.validators.instance_of(int), attrs.validators.ge(0)))
    load_address: int | None = attrs.field(default=None, converter=attrs.converters.optional(parse_size))

    def __attrs_post_init__(self):
        if self.load == "raw-flash" and self.load_address is None:
            raise ValueError("load 'raw-flash' needs a load_address")


def _identifier(inst, attribute, value):
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
        raise ValueError(f"{attribute.name} must be a name of letters, digits, '_', '.' or '-', got {value!r}")


def _fvp_parameters(value) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"parameters must be a mapping of model parameter to value, got {value!r}")
    out = {}
    for k, v in value.items():
        if not isinstance(k, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", k) or "." not in k:
            raise ValueError(f"parameter {k!r} is not an instance.parameter name")
        if isinstance(v, bool):
            v = int(v)
        if not isinstance(v, (int, str)) or (isinstance(v, str) and (not v or any(c.isspace() for c in v))):
            raise ValueError(f"parameter {k} must have an integer or a one-word value, got {v!r}")
        out[k] = str(v)
    return out


@attrs.frozen
class Fvp:
    """An Arm Fixed Virtual Platform that runs the board's image: which binaries, which instances.

    The binaries cannot be installed from a package registry (docs/hardware.md);
    harness/targets/fvp.py looks for them and builds the command line from these fields."""

    binaries: tuple[str, ...] = attrs.field(converter=tuple)   # executable names, first preferred
    cpu: str = attrs.field(validator=_identifier)               # the core's instance: -a <cpu>=image.elf, <cpu>.FPU
    terminal: str = attrs.field(validator=_identifier)          # the telnet terminal of the board's serial port
    parameters: dict[str, str] = attrs.field(factory=dict, converter=_fvp_parameters)   # further -C instance.parameter=value

    def __attrs_post_init__(self):
        if not self.binaries or not all(isinstance(b, str) and re.fullmatch(r"[A-Za-z0-9_.+-]+", b)
                                        for b in self.binaries):
            raise ValueError(f"fvp binaries must be a list of executable names, got {list(self.binaries)!r}")
        # Set by the FVP target from the other fields (harness/targets/fvp.py), never here.
        own = {f"{self.terminal}.{p}" for p in ("start_telnet", "mode", "start_port")} | \
              {f"{self.cpu}.{p}" for p in ("FPU", "MVE")}
        clash = sorted(own & set(self.parameters))
        if clash:
            raise ValueError(f"fvp parameters {', '.join(clash)} are set by the harness (terminal, FPU, mve); "
                             "leave them out")


def _usb_id(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 0xFFFF:
        raise ValueError(f"a USB id must be an integer 0x0001-0xFFFF, got {value!r}")
    return value


@attrs.frozen
class Probe:
    """The debug probe on the board: how it shows up on USB and how it is flashed."""

    kind: str = attrs.field(validator=_one_of(PROBES))
    usb_vid: int = attrs.field(validator=lambda i, a, v: _usb_id(v))
    usb_pid: int = attrs.field(validator=lambda i, a, v: _usb_id(v))
    pyocd_target: str | None = None     # pyOCD target type, e.g. stm32f446retx
    pyocd_pack: str | None = None       # CMSIS pack pyOCD needs for this part, if any (a file name)


@attrs.frozen
class Board:
    name: str
    description: str
    core: str = attrs.field(validator=_one_of(CORES))
    fpu: str = attrs.field(validator=_one_of(FPUS))
    clock_hz: int = attrs.field(validator=_positive)
    flash: Region = attrs.field(converter=lambda d: d if isinstance(d, Region) else Region(**d))
    ram: Region = attrs.field(converter=lambda d: d if isinstance(d, Region) else Region(**d))
    stack_size: int = attrs.field(converter=parse_size, validator=_positive)
    serial: Serial = attrs.field(converter=lambda d: d if isinstance(d, Serial) else Serial(**d))
    counter: str = attrs.field(validator=_one_of(COUNTERS))
    flash_method: str = attrs.field(validator=_one_of(FLASH_METHODS))
    emulation: Emulation | None = attrs.field(
        default=None, converter=lambda d: d if d is None or isinstance(d, Emulation) else Emulation(**d))
    usb_product_code: str | None = None   # Mbed/DAPLink board id, e.g. "0777"
    probe: Probe | None = attrs.field(
        default=None, converter=lambda d: d if d is None or isinstance(d, Probe) else Probe(**d))
    # YAML reads a bare `off` as false: that is "off" here.
    mve: str | None = attrs.field(default=None, converter=lambda v: "off" if v is False else v,
                                  validator=attrs.validators.optional(_one_of(set(MVE))))
    fvp: Fvp | None = attrs.field(
        default=None, converter=lambda d: d if d is None or isinstance(d, Fvp) else Fvp(**d))

    def __attrs_post_init__(self):
        if self.core in MVE_CORES and self.mve is None:
            raise ValueError(f"mve (off, int or float) is required for {self.core}, which has Helium")
        if self.core not in MVE_CORES and self.mve is not None:
            raise ValueError(f"mve {self.mve!r} given for {self.core}, which has no Helium (only {', '.join(sorted(MVE_CORES))})")
        if self.stack_size >= self.ram.size:
            raise ValueError(f"stack_size {self.stack_size} does not fit in {self.ram.size} bytes of RAM")
        if self.flash_method == "none" and self.emulation is None:
            raise ValueError("a board that cannot be flashed needs an emulation twin")
        if self.flash_method != "none" and self.probe is None:
            raise ValueError("a board that can be flashed needs a probe entry (kind, usb_vid, usb_pid)")

    @property
    def hardware(self) -> bool:
        """True when real boards of this kind exist (it can be flashed)."""
        return self.flash_method != "none"

    @property
    def twin_label(self) -> str:
        return f"QEMU {self.emulation.machine}" if self.emulation else "none"

    @property
    def cpu_features(self) -> str:
        """What follows the core's name in -mcpu (e.g. "+nomve"); empty for the cores without Helium."""
        return MVE[self.mve][0] if self.mve else ""


def load_catalog(path: Path = CATALOG_FILE) -> dict[str, Board]:
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"cannot read board catalog {path}: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("boards"), dict) or not raw["boards"]:
        raise CatalogError(f"{path}: expected a mapping 'boards:' with at least one board")
    boards = {}
    for name, entry in raw["boards"].items():
        if not isinstance(entry, dict):
            raise CatalogError(f"{path}: board {name!r} must be a mapping")
        try:
            boards[name] = Board(name=name, **entry)
        except (TypeError, ValueError) as exc:
            raise CatalogError(f"{path}: board {name!r}: {exc}") from None
    return boards


@lru_cache(maxsize=1)
def _default() -> dict[str, Board]:
    return load_catalog()


def boards() -> dict[str, Board]:
    return dict(_default())


def get_board(name: str) -> Board:
    catalog = _default()
    if name not in catalog:
        raise UnknownBoard(name, sorted(catalog))
    return catalog[name]
