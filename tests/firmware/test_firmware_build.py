"""Every catalog board builds with the cross compiler and its image fits the catalog's memory.

Most boards have an emulated twin and also boot in tests/firmware/test_boot.py; the
real boards without one (NUCLEO-L4R5ZI, DISCO-L475VG-IOT01A, NUCLEO-H743ZI2,
FRDM-K64F) are checked here only, from the ELF and the .bin: they fit, their
vector tables and reset paths are sound, and the Kinetis flash configuration
field is where the part reads it. The compiler options recorded in each ELF
show the catalog's core reached the compiler (the Cortex-M55 without Helium),
and the runtime's SMLAD dot products are compiled in for every board's core.
"""

import re
import shutil
import struct
import subprocess

import pytest
from elftools.elf.elffile import ELFFile

from harness import firmware
from harness.boards import boards
from harness.paths import firmware_source

BOARDS = sorted(boards())

# Boards whose part reads a flash configuration field at flash origin + 0x400
# (Kinetis), and the 16 bytes it must hold: backdoor key erased, FPROT all
# ones, FSEC 0xFE (unsecured, mass erase allowed), FOPT, FEPROT, FDPROT 0xFF.
FLASH_CONFIG = {"frdm-k64f": bytes([0xFF] * 8 + [0xFF] * 4 + [0xFE, 0xFF, 0xFF, 0xFF])}
FLASH_CONFIG_OFFSET = 0x400


@pytest.fixture(scope="module", params=BOARDS)
def image(request):
    return firmware.build(boards()[request.param])


def _vectors(image):
    """Initial stack pointer and reset vector: the first two words at the flash origin."""
    blob = image.bin.read_bytes()
    return struct.unpack_from("<II", blob, 0)


def _symbols(elf):
    return {s.name: s for s in elf.get_section_by_name(".symtab").iter_symbols() if s.name}


def _flash_bytes(elf, address, size):
    """`size` bytes the image loads at `address` (from its PT_LOAD segments)."""
    for seg in elf.iter_segments():
        if seg["p_type"] != "PT_LOAD" or not seg["p_filesz"]:
            continue
        start = seg["p_paddr"]
        if start <= address and address + size <= start + seg["p_filesz"]:
            return seg.data()[address - start: address - start + size]
    return None


def test_image_fits_the_catalog(image):
    b, s = image.board, image.sections
    assert s.flash <= b.flash.size
    assert s.ram <= b.ram.size
    assert image.bin.stat().st_size <= b.flash.size


def test_vector_table_and_reset_path(image):
    b = image.board
    sp, reset = _vectors(image)
    assert b.ram.origin < sp <= b.ram.end, f"initial SP 0x{sp:08x} outside RAM"
    assert sp % 8 == 0, "AAPCS wants an 8-byte aligned stack"
    assert reset & 1, "reset vector must have the Thumb bit set"
    assert b.flash.origin <= (reset & ~1) < b.flash.end, f"reset vector 0x{reset:08x} outside flash"
    with open(image.elf, "rb") as fh:
        elf = ELFFile(fh)
        symbols = _symbols(elf)
        reset_sym = symbols.get("Reset_Handler")
        assert reset_sym, "no Reset_Handler symbol"
        assert reset_sym["st_value"] == reset
        assert elf["e_entry"] == reset, "the ELF entry point is not the reset vector"
        assert sp == symbols["__stack_top"]["st_value"]


def test_every_vector_points_into_the_code(image):
    """Exceptions and interrupts: 0 (reserved) or a Thumb address inside .text, from the board's table."""
    with open(image.elf, "rb") as fh:
        elf = ELFFile(fh)
        vt = elf.get_section_by_name(".isr_vector")
        text = elf.get_section_by_name(".text")
        table = _symbols(elf)["vector_table"]
        assert table["st_value"] == vt["sh_addr"] == image.board.flash.origin
        assert table["st_size"] == vt["sh_size"] and vt["sh_size"] >= 17 * 4
        words = struct.unpack(f"<{vt['sh_size'] // 4}I", vt.data())
        lo, hi = text["sh_addr"], text["sh_addr"] + text["sh_size"]
        for n, v in enumerate(words[1:], start=1):
            if v == 0:
                assert n in (7, 8, 9, 10, 13), f"vector {n} is empty"
                continue
            assert v & 1 and lo <= (v & ~1) < hi, f"vector {n} = 0x{v:08x} is not code"


def _disassembly(elf_path, function):
    tool = shutil.which("arm-none-eabi-objdump")
    if tool is None:
        pytest.skip("arm-none-eabi-objdump not on PATH")
    out = subprocess.run([tool, "-d", f"--disassemble={function}", str(elf_path)],
                         capture_output=True, text=True, check=True).stdout
    return [line.split("\t")[2:] for line in out.splitlines() if re.match(r"^\s*[0-9a-f]+:\t", line)]


def test_reset_calls_board_early_init_first(image):
    """Before the stack is painted and before C is set up: what cannot wait (a watchdog, a receiver)."""
    insns = _disassembly(image.elf, "Reset_Handler")
    calls = [i for i, ins in enumerate(insns) if ins and ins[0].strip() in ("bl", "b.w", "b")]
    assert calls, "Reset_Handler calls nothing"
    first = insns[calls[0]]
    assert first[0].strip() == "bl" and "<board_early_init>" in first[1], f"first call: {first}"
    assert calls[0] < 12, "board_early_init is not called within the first instructions"


def test_k64f_watchdog_is_off_within_the_first_instructions():
    """FRDM-K64F: the watchdog runs out of reset; the unlock (0xC520, 0xD928) and the
    disabling write are the first three stores of board_early_init, back to back."""
    image = firmware.build(boards()["frdm-k64f"])
    insns = [ins for ins in _disassembly(image.elf, "board_early_init") if ins]
    stores = [i for i, ins in enumerate(insns) if ins[0].startswith("str")]
    assert len(stores) >= 3 and stores[:3] == list(range(stores[0], stores[0] + 3)), insns[:16]
    assert all(insns[i][0].strip() == "strh" for i in stores[:3]), "WDOG registers are 16 bits wide"
    assert stores[2] < 16, "the watchdog is disabled too late"
    before = " ".join(" ".join(ins) for ins in insns[:stores[2]])
    for key in ("0xc520", "0xd928", "0x1d2"):
        assert key in before, f"{key} not written before the watchdog's third store"


@pytest.mark.parametrize("name", BOARDS)
def test_flash_configuration_field(name):
    """Kinetis: the 16 bytes at flash origin + 0x400 in both the ELF and the .bin (FSEC 0xFE:
    unsecured). Every other board: no such section, and .text right after the vectors, as before."""
    image = firmware.build(boards()[name])
    origin = image.board.flash.origin
    blob = image.bin.read_bytes()
    with open(image.elf, "rb") as fh:
        elf = ELFFile(fh)
        vt = elf.get_section_by_name(".isr_vector")
        text = elf.get_section_by_name(".text")
        fc = elf.get_section_by_name(".flash_config")
        has_symbol = "board_flash_config" in _symbols(elf)
        if name in FLASH_CONFIG:
            want = FLASH_CONFIG[name]
            assert has_symbol and fc is not None
            assert fc["sh_addr"] == origin + FLASH_CONFIG_OFFSET and fc["sh_size"] == 16
            assert fc.data() == want
            assert _flash_bytes(elf, origin + FLASH_CONFIG_OFFSET, 16) == want
            assert blob[FLASH_CONFIG_OFFSET:FLASH_CONFIG_OFFSET + 16] == want
            assert blob[FLASH_CONFIG_OFFSET + 12] == 0xFE, "FSEC must leave the part unsecured"
            assert vt["sh_addr"] + vt["sh_size"] <= origin + FLASH_CONFIG_OFFSET
            assert text["sh_addr"] >= origin + FLASH_CONFIG_OFFSET + 16
        else:
            assert not has_symbol and fc is None, f"{name} has a flash configuration section"
            assert text["sh_addr"] == (vt["sh_addr"] + vt["sh_size"] + 3) // 4 * 4, \
                ".text no longer follows the vector table"


def test_every_loaded_segment_lies_in_catalog_memory(image):
    """The generated linker script agrees with the catalog: nothing is placed outside it."""
    b = image.board
    with open(image.elf, "rb") as fh:
        for seg in ELFFile(fh).iter_segments():
            if seg["p_type"] != "PT_LOAD" or seg["p_memsz"] == 0:
                continue
            lma, vma = seg["p_paddr"], seg["p_vaddr"]
            if seg["p_filesz"]:
                assert b.flash.origin <= lma and lma + seg["p_filesz"] <= b.flash.end
            in_flash = b.flash.origin <= vma and vma + seg["p_memsz"] <= b.flash.end
            in_ram = b.ram.origin <= vma and vma + seg["p_memsz"] <= b.ram.end
            assert in_flash or in_ram, f"segment at 0x{vma:08x} is outside the catalog's memory"


def test_bin_is_the_flash_image(image):
    """The .bin starts at the flash origin: what would be copied onto a board."""
    with open(image.elf, "rb") as fh:
        vt = ELFFile(fh).get_section_by_name(".isr_vector")
        assert vt is not None and vt["sh_addr"] == image.board.flash.origin
        assert image.bin.read_bytes()[: vt["sh_size"]] == vt.data()


def test_rebuild_does_no_work(image):
    before = image.elf.stat().st_mtime_ns
    again = firmware.build(image.board)
    assert again.elf.stat().st_mtime_ns == before


def _compile_options(elf_path) -> list[str]:
    """The -m and -O options main.c was compiled with, from the ELF's DWARF producer string."""
    with open(elf_path, "rb") as fh:
        for cu in ELFFile(fh).get_dwarf_info().iter_CUs():
            top = cu.get_top_DIE()
            if top.attributes["DW_AT_name"].value.decode().endswith("app/main.c"):
                producer = top.attributes["DW_AT_producer"].value.decode()
                return [o for o in producer.split() if o.startswith(("-m", "-O"))]
    raise AssertionError(f"{elf_path}: no compile unit for app/main.c")


def test_the_catalog_core_reaches_the_compiler(image):
    b = image.board
    options = _compile_options(image.elf)
    assert f"-mcpu={b.core}{b.cpu_features}" in options and f"-mfpu={b.fpu}" in options, options


# Helium (MVE) instructions name the vector registers q0-q7; these few name none.
_MVE_OPERAND = re.compile(r"\bq[0-7]\b")
_MVE_MNEMONICS = {"vctp", "vpst", "vpt", "dlstp", "letp", "wlstp"}


def _helium(insns) -> list[str]:
    return [" ".join(i) for i in insns
            if i and (i[0].strip().split(".")[0] in _MVE_MNEMONICS or (len(i) > 1 and _MVE_OPERAND.search(i[1])))]


@pytest.mark.parametrize("name", [n for n, b in boards().items() if b.mve == "off"])
def test_an_image_built_without_helium_has_no_vector_instruction(name):
    """corstone-300 is built with -mcpu=cortex-m55+nomve: no MVE instruction anywhere in the image,
    so it runs the same on an FVP configured without MVE (cpu0.MVE=0, harness/targets/fvp.py)."""
    image = firmware.build(boards()[name])
    tool = shutil.which("arm-none-eabi-objdump")
    if tool is None:
        pytest.skip("arm-none-eabi-objdump not on PATH")
    out = subprocess.run([tool, "-d", str(image.elf)], capture_output=True, text=True, check=True).stdout
    insns = [line.split("\t")[2:] for line in out.splitlines() if re.match(r"^\s*[0-9a-f]+:\t", line)]
    assert len(insns) > 500
    assert _helium(insns) == []


def test_the_helium_check_sees_vector_instructions(tmp_path):
    """The check above is not vacuous: the same objdump reading finds MVE in code built with it."""
    gcc, objdump = shutil.which("arm-none-eabi-gcc"), shutil.which("arm-none-eabi-objdump")
    if gcc is None or objdump is None:
        pytest.skip("arm-none-eabi-gcc/objdump not on PATH")
    src = tmp_path / "v.c"
    src.write_text("void add(signed char *restrict y, const signed char *restrict a, const signed char *restrict b)\n"
                   "{ for (int i = 0; i < 64; i++) y[i] = (signed char)(a[i] + b[i]); }\n")
    obj = tmp_path / "v.o"
    subprocess.run([gcc, "-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard", "-O3", "-c", str(src), "-o", str(obj)],
                   check=True)
    out = subprocess.run([objdump, "-d", str(obj)], capture_output=True, text=True, check=True).stdout
    insns = [line.split("\t")[2:] for line in out.splitlines() if re.match(r"^\s*[0-9a-f]+:\t", line)]
    assert _helium(insns)


@pytest.mark.parametrize("name", BOARDS)
def test_the_runtime_uses_smlad_on_every_core(name, tmp_path):
    """The runtime (device_fw/runtime/) takes its SMLAD path where the core has the DSP extension (all
    catalog cores: M4, M7, M33, M55): its sources, compiled here with the very options of the board's
    image, hold SMLAD dot products."""
    image = firmware.build(boards()[name])
    gcc, objdump = shutil.which("arm-none-eabi-gcc"), shutil.which("arm-none-eabi-objdump")
    if gcc is None or objdump is None:
        pytest.skip("arm-none-eabi-gcc/objdump not on PATH")
    runtime = firmware_source() / "runtime"
    found = []
    for src in sorted(runtime.glob("*.c")):
        obj = tmp_path / f"{src.stem}.o"
        subprocess.run([gcc, *_compile_options(image.elf), "-std=c11", "-ffreestanding", "-I", str(runtime),
                        "-c", str(src), "-o", str(obj)], check=True)
        out = subprocess.run([objdump, "-d", str(obj)], capture_output=True, text=True, check=True).stdout
        if re.search(r"\tsmlad\b", out):
            found.append(src.name)
    assert found, f"{name}: no SMLAD in the runtime"
