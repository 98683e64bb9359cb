"""Every catalog board builds with the cross compiler and its image fits the catalog's memory."""

import struct

import pytest
from elftools.elf.elffile import ELFFile

from harness import firmware
from harness.boards import boards

BOARDS = sorted(boards())


@pytest.fixture(scope="module", params=BOARDS)
def image(request):
    return firmware.build(boards()[request.param])


def _vectors(image):
    """Initial stack pointer and reset vector: the first two words at the flash origin."""
    blob = image.bin.read_bytes()
    return struct.unpack_from("<II", blob, 0)


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
        symtab = elf.get_section_by_name(".symtab")
        reset_sym = symtab.get_symbol_by_name("Reset_Handler")
        assert reset_sym, "no Reset_Handler symbol"
        assert reset_sym[0]["st_value"] == reset


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
