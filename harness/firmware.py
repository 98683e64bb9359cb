"""Firmware build: CMake + arm-none-eabi, one image per board, sizes from the ELF.

The catalog is the only source of the memory layout: its values are passed to
CMake, which generates the linker script's MEMORY block from them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import attrs
from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from . import __version__
from .boards import Board
from .paths import build_root, firmware_source

TOOLCHAIN_FILE = "cmake/arm-none-eabi.cmake"


class BuildError(RuntimeError):
    """The firmware did not build; the message says why and what to do."""


@attrs.frozen
class Sections:
    text: int   # code, vectors and read-only data: in flash
    data: int   # initialised data: in flash and copied to RAM
    bss: int    # zeroed RAM, including the stack reserve
    by_name: dict[str, int]

    @property
    def flash(self) -> int:
        return self.text + self.data

    @property
    def ram(self) -> int:
        return self.data + self.bss


@attrs.frozen
class Image:
    board: Board
    elf: Path
    bin: Path
    sections: Sections

    def usage_lines(self) -> list[str]:
        s, b = self.sections, self.board
        return [
            f"text {s.text} B, data {s.data} B, bss {s.bss} B",
            f"flash {s.flash} B of {b.flash.size} ({100 * s.flash / b.flash.size:.1f}%), "
            f"static RAM {s.ram} B of {b.ram.size} ({100 * s.ram / b.ram.size:.1f}%)",
        ]


def cmake_defines(board: Board) -> dict[str, str]:
    return {
        "BOARD": board.name,
        "CPU": board.core,
        "FPU": board.fpu,
        "FLASH_ORIGIN": str(board.flash.origin),
        "FLASH_SIZE": str(board.flash.size),
        "RAM_ORIGIN": str(board.ram.origin),
        "RAM_SIZE": str(board.ram.size),
        "STACK_SIZE": str(board.stack_size),
        "CLOCK_HZ": str(board.clock_hz),
        "BAUD": str(board.serial.baud),
        "FW_VERSION": __version__,
    }


def _require_tools() -> None:
    missing = [t for t in ("cmake", "arm-none-eabi-gcc", "arm-none-eabi-objcopy") if shutil.which(t) is None]
    if missing:
        raise BuildError(f"{', '.join(missing)} not found on PATH; run `make setup` (or install gcc-arm-none-eabi and cmake)")


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.strip().splitlines()[-25:])
        raise BuildError(f"{what} failed (exit {proc.returncode}):\n{tail}")


def build(board: Board, *, out_dir: Path | None = None) -> Image:
    """Configure (when the settings changed) and build the image for `board`."""
    _require_tools()
    src = firmware_source()
    out = Path(out_dir) if out_dir else build_root() / "fw" / board.name
    out.mkdir(parents=True, exist_ok=True)
    defines = cmake_defines(board)
    stamp = out / "harness-config.json"
    settings = {"defines": defines, "source": str(src)}
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    if not (out / "CMakeCache.txt").exists() or not stamp.exists() or json.loads(stamp.read_text()) != settings:
        cmd = ["cmake", "-S", str(src), "-B", str(out), *generator,
               f"-DCMAKE_TOOLCHAIN_FILE={src / TOOLCHAIN_FILE}", *(f"-D{k}={v}" for k, v in defines.items())]
        _run(cmd, f"configuring the firmware for {board.name}")
        stamp.write_text(json.dumps(settings, indent=1))
    _run(["cmake", "--build", str(out)], f"building the firmware for {board.name}")
    elf, binary = out / "firmware.elf", out / "firmware.bin"
    for f in (elf, binary):
        if not f.is_file():
            raise BuildError(f"the build for {board.name} finished without producing {f}")
    return Image(board, elf, binary, section_sizes(elf))


def section_sizes(elf_path: Path) -> Sections:
    """Berkeley-style totals from the section headers of an ELF."""
    text = data = bss = 0
    by_name: dict[str, int] = {}
    with open(elf_path, "rb") as fh:
        for sec in ELFFile(fh).iter_sections():
            flags = sec["sh_flags"]
            if not flags & SH_FLAGS.SHF_ALLOC or sec["sh_size"] == 0:
                continue
            size = sec["sh_size"]
            by_name[sec.name] = size
            if sec["sh_type"] == "SHT_NOBITS":
                bss += size
            elif flags & SH_FLAGS.SHF_WRITE:
                data += size
            else:
                text += size
    return Sections(text, data, bss, by_name)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
