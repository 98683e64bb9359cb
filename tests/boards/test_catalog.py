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


def test_corstone_300_has_the_sse300_memory_map():
    """ITCM and DTCM through their Secure aliases (the core runs Secure out of reset), the AN547's
    32 MHz SYSCLK, QEMU mps3-an547 as its twin and Arm's Corstone-300 FVP where one is installed."""
    b = get_board("corstone-300")
    assert b.core == "cortex-m55" and b.fpu == "fpv5-d16"
    assert (b.flash.origin, b.flash.size) == (0x10000000, 512 * 1024)
    assert (b.ram.origin, b.ram.size) == (0x30000000, 512 * 1024)
    assert b.clock_hz == 32_000_000 and b.counter == "icount-instructions" and not b.hardware
    assert (b.emulation.machine, b.emulation.load, b.emulation.serial_index) == ("mps3-an547", "elf", 0)
    assert b.mve == "off" and b.cpu_features == "+nomve"
    assert b.fvp.binaries[0] == "FVP_Corstone_SSE-300_Ethos-U55" and "FVP_Corstone_SSE-300_Ethos-U65" in b.fvp.binaries
    assert b.fvp.cpu == "cpu0" and b.fvp.terminal == "mps3_board.telnetterminal0"
    assert b.fvp.parameters["mps3_board.visualisation.disable-visualisation"] == "1"


def test_only_the_m55_names_helium_and_the_others_build_with_a_bare_mcpu():
    for b in boards().values():
        assert (b.mve is not None) == (b.core == "cortex-m55"), b.name
        if b.mve is None:
            assert b.cpu_features == "", b.name


M55 = GOOD.replace("core: cortex-m4", "core: cortex-m55").replace("fpu: fpv4-sp-d16", "fpu: fpv5-d16")


@pytest.mark.parametrize("text,message", [
    (M55, "mve (off, int or float) is required for cortex-m55"),
    (GOOD.replace("counter: dwt-cycles", "counter: dwt-cycles\n    mve: int"), "cortex-m4, which has no Helium"),
    (M55.replace("counter: dwt-cycles", "counter: dwt-cycles\n    mve: lots"), "mve 'lots' is not one of"),
])
def test_mve_is_required_for_the_m55_and_refused_elsewhere(tmp_path, text, message):
    p = tmp_path / "catalog.yaml"
    p.write_text(text)
    with pytest.raises(CatalogError) as e:
        load_catalog(p)
    assert "'b1'" in str(e.value) and message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("value,features", [("off", "+nomve"), ('"off"', "+nomve"), ("int", "+nomve.fp"), ("float", "")])
def test_mve_values_give_the_mcpu_suffix(tmp_path, value, features):
    """A bare `off` is YAML's false; it means off here."""
    p = tmp_path / "catalog.yaml"
    p.write_text(M55.replace("counter: dwt-cycles", f"counter: dwt-cycles\n    mve: {value}"))
    assert load_catalog(p)["b1"].cpu_features == features


FVP = GOOD + """    fvp:
      binaries: [FVP_X]
      cpu: cpu0
      terminal: board.telnetterminal0
      parameters: {board.visualisation.disable-visualisation: 1, board.uart0.unbuffered_output: true}
"""


def test_fvp_section(tmp_path):
    p = tmp_path / "catalog.yaml"
    p.write_text(FVP)
    fvp = load_catalog(p)["b1"].fvp
    assert fvp.binaries == ("FVP_X",) and fvp.cpu == "cpu0"
    assert fvp.parameters == {"board.visualisation.disable-visualisation": "1", "board.uart0.unbuffered_output": "1"}


@pytest.mark.parametrize("old,new,field", [
    ("binaries: [FVP_X]", "binaries: []", "binaries"),
    ("binaries: [FVP_X]", "binaries: ['rm -rf /']", "binaries"),
    ("cpu: cpu0", "cpu: 'cpu0 -a x'", "cpu"),
    ("board.uart0.unbuffered_output: true", "nodot: 1", "'nodot'"),
    ("board.uart0.unbuffered_output: true", "board.uart0.out_file: 'a b'", "board.uart0.out_file"),
    ("board.uart0.unbuffered_output: true", "board.telnetterminal0.mode: telnet", "set by the harness"),
    ("board.uart0.unbuffered_output: true", "cpu0.MVE: 2", "set by the harness"),
])
def test_bad_fvp_entries_fail_naming_the_field(tmp_path, old, new, field):
    assert old in FVP
    p = tmp_path / "catalog.yaml"
    p.write_text(FVP.replace(old, new))
    with pytest.raises(CatalogError) as e:
        load_catalog(p)
    assert "'b1'" in str(e.value) and field in str(e.value)
