import pytest

from harness.boards import CatalogError, UnknownBoard, boards, get_board, load_catalog
from harness.boards.catalog import parse_size


def test_catalog_loads_and_every_board_is_complete():
    cat = boards()
    assert {"nucleo-f446re", "qemu-m4", "qemu-m7", "qemu-m33"} <= set(cat)
    for b in cat.values():
        assert b.emulation is not None or b.probe is not None, f"{b.name} can be neither emulated nor flashed"
        assert b.stack_size < b.ram.size


def test_nucleo_f446re_matches_its_datasheet():
    b = get_board("nucleo-f446re")
    assert (b.flash.origin, b.flash.size) == (0x08000000, 512 * 1024)
    assert (b.ram.origin, b.ram.size) == (0x20000000, 128 * 1024)
    assert b.clock_hz == 180_000_000 and b.counter == "dwt-cycles"
    assert b.emulation.machine == "netduinoplus2" and b.emulation.load == "raw-flash"
    assert b.emulation.load_address == 0x08000000


def test_unknown_board_names_the_known_ones():
    with pytest.raises(UnknownBoard) as e:
        get_board("nosuchboard")
    msg = str(e.value)
    assert "\n" not in msg and "nosuchboard" in msg and "nucleo-f446re" in msg and "qemu-m4" in msg


@pytest.mark.parametrize("value,expected", [(1024, 1024), ("0x400", 1024), ("512 KiB", 524288), ("4 MiB", 4 << 20)])
def test_sizes(value, expected):
    assert parse_size(value) == expected


GOOD = """
boards:
  b1:
    description: x
    core: cortex-m4
    fpu: fpv4-sp-d16
    clock_hz: 1000
    flash: {origin: 0, size: 1 KiB}
    ram: {origin: 0x20000000, size: 1 KiB}
    stack_size: 256
    serial: {baud: 115200, uart: U}
    counter: dwt-cycles
    flash_method: none
    emulation: {machine: m, load: elf, serial_index: 0}
"""


@pytest.mark.parametrize("old,new,field", [
    ("core: cortex-m4", "core: cortex-m99", "core"),
    ("clock_hz: 1000", "clock_hz: -5", "clock_hz"),
    ("size: 1 KiB}\n    ram", "size: lots}\n    ram", "lots"),
    ("stack_size: 256", "stack_size: 4096", "stack_size"),
    ("load: elf", "load: raw-flash", "load_address"),
    ("counter: dwt-cycles", "counter: sundial", "counter"),
])
def test_bad_entries_fail_naming_board_and_field(tmp_path, old, new, field):
    assert old in GOOD
    p = tmp_path / "catalog.yaml"
    p.write_text(GOOD.replace(old, new))
    with pytest.raises(CatalogError) as e:
        load_catalog(p)
    assert "'b1'" in str(e.value) and field in str(e.value)


def test_good_fixture_loads(tmp_path):
    p = tmp_path / "catalog.yaml"
    p.write_text(GOOD)
    assert load_catalog(p)["b1"].ram.size == 1024


def test_missing_or_empty_catalog(tmp_path):
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "nope.yaml")
    (tmp_path / "e.yaml").write_text("boards: {}\n")
    with pytest.raises(CatalogError, match="at least one board"):
        load_catalog(tmp_path / "e.yaml")
