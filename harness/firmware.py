"""Firmware build: CMake + arm-none-eabi, one image per board, sizes from the ELF.

The catalog is the only source of the memory layout: its values are passed to
CMake, which generates the linker script's MEMORY block from them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from . import __version__
from .boards import Board
from .paths import build_root, firmware_source

if TYPE_CHECKING:
    from .export import Exported

TOOLCHAIN_FILE = "cmake/arm-none-eabi.cmake"
MODEL_FILES = ("model.c", "model.h", "model.cmake")
_OVERFLOW = re.compile(r"region `(\w+)' overflowed by (\d+) bytes")


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
    model_hash: str | None = None     # the compiled-in model's, None for the link-only firmware
    model_bytes: int = 0              # bytes of the model's own symbols (model_*) in the ELF

    def usage_lines(self) -> list[str]:
        s, b = self.sections, self.board
        return [
            f"text {s.text} B, data {s.data} B, bss {s.bss} B",
            f"flash {s.flash} B of {b.flash.size} ({100 * s.flash / b.flash.size:.1f}%), "
            f"static RAM {s.ram} B of {b.ram.size} ({100 * s.ram / b.ram.size:.1f}%)",
        ]


def cmake_defines(board: Board) -> dict[str, str]:
    extra = {"CPU_FEATURES": board.cpu_features} if board.cpu_features else {}
    return {
        "BOARD": board.name,
        "CPU": board.core,
        **extra,
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


class ModelDoesNotFit(BuildError):
    """The model's image overflows the board's flash or RAM."""


def _run(cmd: list[str], what: str) -> str:
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.strip().splitlines()[-25:])
        raise BuildError(f"{what} failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


def _configure_and_build(board: Board, out: Path, extra: dict[str, str]) -> None:
    src = firmware_source()
    out.mkdir(parents=True, exist_ok=True)
    defines = {**cmake_defines(board), **extra}
    stamp = out / "harness-config.json"
    settings = {"defines": defines, "source": str(src)}
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    if not (out / "CMakeCache.txt").exists() or not stamp.exists() or json.loads(stamp.read_text()) != settings:
        cmd = ["cmake", "-S", str(src), "-B", str(out), *generator,
               f"-DCMAKE_TOOLCHAIN_FILE={src / TOOLCHAIN_FILE}", *(f"-D{k}={v}" for k, v in defines.items())]
        _run(cmd, f"configuring the firmware for {board.name}")
        stamp.write_text(json.dumps(settings, indent=1))
    _run(["cmake", "--build", str(out)], f"building the firmware for {board.name}")


def build(board: Board, *, out_dir: Path | None = None, model: "Exported | None" = None) -> Image:
    """Build the image for `board`: link-only, or with an exported model compiled in.

    Model images are cached by content (firmware sources, board settings and
    model hash) under build/images/<board>/, so a second run reuses them.
    """
    _require_tools()
    if model is not None:
        return _build_with_model(board, model)
    out = Path(out_dir) if out_dir else build_root() / "fw" / board.name
    _configure_and_build(board, out, {})
    return _image(board, out)


def _image(board: Board, out: Path, model_hash: str | None = None) -> Image:
    elf, binary = out / "firmware.elf", out / "firmware.bin"
    for f in (elf, binary):
        if not f.is_file():
            raise BuildError(f"the build for {board.name} finished without producing {f}")
    return Image(board, elf, binary, section_sizes(elf), model_hash, symbol_bytes(elf, "model_"))


def source_digest() -> str:
    """sha256 over every firmware source file: part of the image cache key."""
    src = firmware_source()
    h = hashlib.sha256()
    for f in sorted(p for p in src.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(src)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def _build_with_model(board: Board, model: "Exported") -> Image:
    from filelock import FileLock
    key = {"board": cmake_defines(board), "source": source_digest(), "model": model.model_hash}
    cache = build_root() / "images" / board.name / f"{model.model_hash[:16]}-{model.dtype}"
    stamp = cache / "image.json"
    tree = build_root() / "fw" / f"{board.name}-model"
    tree.mkdir(parents=True, exist_ok=True)
    # One build tree per board, shared by every model: only model.c recompiles.
    with FileLock(str(tree) + ".lock"):
        if stamp.is_file() and json.loads(stamp.read_text()) == key:
            return _image(board, cache, model.model_hash)
        staged = tree / "model"
        staged.mkdir(exist_ok=True)
        for name in MODEL_FILES:
            new = (model.path / name).read_bytes()
            dst = staged / name
            if not dst.is_file() or dst.read_bytes() != new:   # untouched files keep their timestamps
                dst.write_bytes(new)
        try:
            _configure_and_build(board, tree, {"MODEL_DIR": str(staged)})
        except BuildError as exc:
            raise _fit_error(board, model, str(exc)) from None
        cache.mkdir(parents=True, exist_ok=True)
        for name in ("firmware.elf", "firmware.bin", "firmware.map"):
            tmp = cache / f".{name}.tmp"
            shutil.copyfile(tree / name, tmp)
            os.replace(tmp, cache / name)
        stamp.write_text(json.dumps(key, indent=1))
    return _image(board, cache, model.model_hash)


def _fit_error(board: Board, model: "Exported", log: str) -> BuildError:
    """A linker overflow as one line with needed and available bytes; other failures unchanged."""
    over = {region: int(n) for region, n in _OVERFLOW.findall(log)}
    if not over:
        return BuildError(log)
    sizes = {"FLASH": board.flash.size, "RAM": board.ram.size}
    parts = [f"{region.lower()} needs {sizes[region] + n:,} bytes, {sizes[region]:,} available"
             for region, n in over.items() if region in sizes]
    m = model.manifest
    return ModelDoesNotFit(
        f"model {model.model_hash[:12]} ({model.dtype}, {m['weight_bytes']:,} weight bytes, arena "
        f"{m['arena_bytes']:,} B, input {m['input']['bytes']:,} B) does not fit {board.name}: "
        + "; ".join(parts) + ". Use a smaller or more compressed model, int8, or a board with more memory")


def symbol_bytes(elf_path: Path, prefix: str) -> int:
    """Total size of the ELF's data symbols whose names start with `prefix`."""
    total = 0
    with open(elf_path, "rb") as fh:
        symtab = ELFFile(fh).get_section_by_name(".symtab")
        if symtab is None:
            return 0
        for sym in symtab.iter_symbols():
            if sym.name.startswith(prefix) and sym["st_info"]["type"] == "STT_OBJECT":
                total += sym["st_size"]
    return total


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
