"""Naming labgrid places: hardware-map entries, --place / $LG_PLACE, the plan; and labgrid absent. No coordinator here."""

import subprocess
import sys
import textwrap

import pytest

from harness.paths import REPO_ROOT
from harness.boards import HardwareMapError, get_board
from harness.boards.hwmap import map_text, parse_map, parse_places, provider_for, read_places
from harness.boards.places import DEFAULT_COORDINATOR, PlaceRef, coordinator_address
from harness.device import NoHardwareAttached, plan_device

ROOT = REPO_ROOT

MAP = textwrap.dedent("""\
    boards:
      - board: nucleo-f446re
        probe_serial: "0671FF485550755187121723"
        port: /dev/serial/by-id/usb-STM32_STLink_0671FF485550755187121723-if02
      - board: nucleo-f446re
        place: bench3-nucleo-1
        coordinator: labhost
        drive: /mnt/bench3/NODE_F446RE
        notes: bench 3, left
      - board: frdm-k64f
        place: bench3-k64f
""")


def test_a_map_names_places_beside_local_boards():
    assert [e.probe_serial for e in parse_map(MAP, "lab.yaml")] == ["0671FF485550755187121723"]
    a, b = parse_places(MAP, "lab.yaml", coordinator="127.0.0.1:20999")
    assert a == PlaceRef("nucleo-f446re", "bench3-nucleo-1", "labhost:20408", "/mnt/bench3/NODE_F446RE",
                         "bench 3, left", "hardware map lab.yaml")
    assert (b.board, b.place, b.coordinator, b.drive) == ("frdm-k64f", "bench3-k64f", "127.0.0.1:20999", None)
    assert parse_places(MAP, "lab.yaml")[1].coordinator == DEFAULT_COORDINATOR


@pytest.mark.parametrize("entry, message", [
    ("{board: nucleo-f446re, place: p1, port: /dev/ttyACM0}",
     "entry 1 (place p1): unknown field 'port' for a labgrid place; fields are board, place, coordinator, drive, notes"),
    ("{board: nucleo-f446re, place: ''}", "entry 1: missing place"),
    ("{board: qemu-m4, place: p1}", "entry 1 (place p1): qemu-m4 exists only as an emulator; a labgrid place holds a real board"),
    ("{board: nucleo-f446re, place: p1, coordinator: 'labhost:port'}",
     "entry 1 (place p1): coordinator address 'labhost:port' is not HOST:PORT (e.g. labhost:20408)"),
    ("{board: nucleo-f446re, place: p1, drive: 7}", "entry 1 (place p1): drive must be a string, got 7"),
])
def test_a_wrong_place_entry_is_one_line_naming_the_entry(entry, message):
    with pytest.raises(HardwareMapError) as err:
        parse_places(f"boards:\n  - {entry}\n", "lab.yaml")
    assert str(err.value) == f"hardware map lab.yaml: {message}"


def test_the_same_place_twice_is_refused():
    text = "boards:\n  - {board: nucleo-f446re, place: p1}\n  - {board: nucleo-f446re, place: p1}\n"
    with pytest.raises(HardwareMapError, match=r"entry 2 \(place p1\): the same place as entry 1"):
        parse_places(text, "lab.yaml")


def test_coordinator_addresses():
    assert coordinator_address("labhost") == "labhost:20408"
    assert coordinator_address(" 10.0.0.5:2000 ") == "10.0.0.5:2000"
    assert coordinator_address("[::1]:20408") == "[::1]:20408"
    assert coordinator_address(None) == DEFAULT_COORDINATOR
    with pytest.raises(ValueError, match="not HOST:PORT"):
        coordinator_address("labhost:99999")


def test_place_borrows_what_the_map_says_of_it(tmp_path):
    path = tmp_path / "lab.yaml"
    path.write_text(MAP)
    (ref,) = provider_for(path, place="bench3-nucleo-1", coordinator="labhost:20408").places
    assert (ref.board, ref.drive, ref.source) == ("nucleo-f446re", "/mnt/bench3/NODE_F446RE", "--place")
    (bare,) = provider_for(None, place="elsewhere", coordinator=None, place_source="$LG_PLACE").places
    assert bare == PlaceRef(None, "elsewhere", DEFAULT_COORDINATOR, source="$LG_PLACE")
    with pytest.raises(HardwareMapError, match="is not a labgrid place name"):
        provider_for(None, place="two words")


def test_a_rewritten_map_keeps_its_places(tmp_path):
    path = tmp_path / "lab.yaml"
    path.write_text(MAP)
    places = read_places(path)
    again = parse_places(map_text([], places=places), "again.yaml")

    def facts(refs):
        return [(p.board, p.place, p.coordinator, p.drive, p.notes) for p in refs]
    assert facts(again) == facts(places) and len(again) == 2


def test_emulator_only_boards_refuse_an_explicit_place_and_ignore_lg_place():
    with pytest.raises(NoHardwareAttached, match="--place: qemu-m4 exists only as an emulator"):
        plan_device(get_board("qemu-m4"), provider=provider_for(None, place="p1"))
    plan = plan_device(get_board("qemu-m4"), provider=provider_for(None, place="p1", place_source="$LG_PLACE"))
    assert plan.where == "emulated" and plan.places == ()


def test_a_place_the_map_gives_another_board_is_refused(tmp_path):
    path = tmp_path / "lab.yaml"
    path.write_text(MAP)
    with pytest.raises(NoHardwareAttached, match="--place bench3-k64f: the hardware map says it holds a frdm-k64f, "
                                                 "not a nucleo-f446re"):
        plan_device(get_board("nucleo-f446re"), provider=provider_for(path, place="bench3-k64f"))


BLOCK_LABGRID = textwrap.dedent("""\
    import sys
    class NoLabgrid:
        def find_spec(self, name, path=None, target=None):
            if name == "labgrid" or name.startswith("labgrid."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    sys.meta_path.insert(0, NoLabgrid())
    from harness.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def test_without_labgrid_a_place_is_one_line_with_the_install_hint():
    r = subprocess.run([sys.executable, "-c", BLOCK_LABGRID, "hello", "--board", "nucleo-f446re", "--place", "p1",
                        "--coordinator", "127.0.0.1:1"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr == ("error: labgrid places need labgrid, which is not installed (labgrid): "
                        "pip install -e '.[lab]' (or pip install 'kp-harness[lab]')\n")


def test_without_labgrid_everything_else_runs():
    r = subprocess.run([sys.executable, "-c", BLOCK_LABGRID, "boards"], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr


def test_a_bare_place_finds_its_map_entry_by_name_when_no_coordinator_is_given(tmp_path):
    path = tmp_path / "lab.yaml"
    path.write_text(MAP)
    (ref,) = provider_for(path, place="bench3-nucleo-1").places
    assert (ref.coordinator, ref.drive) == ("labhost:20408", "/mnt/bench3/NODE_F446RE")
    (other,) = provider_for(path, place="bench3-nucleo-1", coordinator="elsewhere:1").places
    assert (other.coordinator, other.drive, other.board) == ("elsewhere:1", None, None)
