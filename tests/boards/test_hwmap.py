"""The hardware map: parsed strictly, one-line errors naming file and entry, written so it reads back."""

import os
import string

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.boards import HardwareMapError, read_map
from harness.boards.detect import AttachedBoard, ListPortsProvider, MbedToolsProvider, Scan, UnidentifiedProbe
from harness.boards.hwmap import HardwareMapProvider, MapEntry, map_text, parse_map, write_map

GOOD = """
boards:
  - board: nucleo-f446re
    probe_serial: "0671FF485550755187121723"
    port: /dev/serial/by-id/usb-STMicroelectronics_STM32_STLink_0671FF485550755187121723-if02
    flash_method: mass-storage
    notes: bench 3, left
  - board: frdm-k64f
    probe_serial: "0240000032044e4500257009997b00386781000097969900"
    port: /dev/ttyACM1
"""


def test_a_good_map_reads_with_catalog_defaults():
    a, b = parse_map(GOOD, "lab.yaml")
    assert (a.board, a.probe_serial, a.flash_method, a.notes) == (
        "nucleo-f446re", "0671FF485550755187121723", "mass-storage", "bench 3, left")
    assert a.drive is None and a.pyocd_pack is None
    assert b.flash_method == "mass-storage"      # the catalog's, when the entry gives none


def test_an_empty_map_has_no_boards():
    assert parse_map("", "x.yaml") == []
    assert parse_map("boards: []\n", "x.yaml") == []


@pytest.mark.parametrize("text,words", [
    ("boards:\n  - board: nosuch\n    probe_serial: 'a'\n    port: /dev/x\n", ["entry 1", "unknown board 'nosuch'", "nucleo-f446re"]),
    ("boards:\n  - board: qemu-m4\n    probe_serial: 'a'\n    port: /dev/x\n", ["entry 1", "only as an emulator"]),
    ("boards:\n  - board: nucleo-f446re\n    port: /dev/x\n", ["entry 1", "missing probe_serial"]),
    ("boards:\n  - board: nucleo-f446re\n    probe_serial: 0777\n    port: /dev/x\n", ["probe_serial must be a string", "quotes"]),
    ("boards:\n  - board: nucleo-f446re\n    probe_serial: 'a'\n    port: /dev/x\n    flash: 1\n", ["unknown field 'flash'"]),
    ("boards:\n  - board: nucleo-f446re\n    probe_serial: 'a'\n    port: /dev/x\n    flash_method: none\n", ["flash_method 'none'"]),
    ("boards:\n  - {board: nucleo-f446re, probe_serial: 'a', port: /dev/x}\n  - {board: nucleo-f446re, probe_serial: 'a', port: /dev/y}\n",
     ["entry 2 (probe a)", "same probe serial as entry 1"]),
    ("boards:\n  - {board: nucleo-f446re, probe_serial: 'a', port: /dev/x}\n  - {board: nucleo-f446re, probe_serial: 'b', port: /dev/x}\n",
     ["entry 2", "port /dev/x"]),
    ("boards: {a: 1}\n", ["must be a list"]),
    ("- board: nucleo-f446re\n", ["one key 'boards:'"]),
    ("boards:\n  - board: [unclosed\n", ["not valid YAML", "line"]),
])
def test_bad_maps_fail_in_one_line_naming_file_and_entry(text, words):
    with pytest.raises(HardwareMapError) as err:
        parse_map(text, "lab/map.yaml")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("hardware map lab/map.yaml")
    for w in words:
        assert w in msg, msg


def test_unreadable_file_is_one_line(tmp_path):
    with pytest.raises(HardwareMapError) as err:
        read_map(tmp_path / "absent.yaml")
    assert "absent.yaml" in str(err.value) and "\n" not in str(err.value)


# Anything YAML can hold: the parser answers with entries or a HardwareMapError, nothing else.
_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12))
_yamlish = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(
        ["boards", "board", "probe_serial", "port", "flash_method", "drive", "notes", "x"]), inner, max_size=5)),
    max_leaves=12)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(_yamlish)
def test_parser_never_fails_other_than_one_line(doc):
    text = yaml.safe_dump(doc)
    try:
        entries = parse_map(text, "h.yaml")
    except HardwareMapError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("hardware map h.yaml")
    else:
        assert all(isinstance(e, MapEntry) for e in entries)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(string.ascii_letters + string.digits + ":.-_/ ", min_size=1, max_size=200))
def test_parser_survives_arbitrary_text(text):
    try:
        parse_map(text, "h.yaml")
    except HardwareMapError as exc:
        assert "\n" not in str(exc)


_serial = st.text(string.hexdigits + "-_:", min_size=1, max_size=48).filter(lambda s: s.strip() == s)
_entries = st.lists(st.tuples(st.sampled_from(["nucleo-f446re", "frdm-k64f", "nucleo-h743zi2"]), _serial,
                              st.sampled_from(["mass-storage", "pyocd"]), st.text(max_size=40),
                              st.one_of(st.none(), st.text(min_size=1, max_size=30))),
                    max_size=5, unique_by=lambda t: t[1])


@settings(max_examples=75, suppress_health_check=[HealthCheck.too_slow])
@given(_entries)
def test_written_maps_read_back_identically(rows):
    entries = [MapEntry(b, s, f"/dev/serial/by-id/usb-{i}", m, drive, None, notes.strip())
               for i, (b, s, m, notes, drive) in enumerate(rows)]
    got = parse_map(map_text(entries), "w.yaml")
    want = [MapEntry(e.board, e.probe_serial, e.port, e.flash_method, e.drive or None, None, e.notes) for e in entries]
    assert got == want


def test_write_map_keeps_notes_and_comments_unidentified_probes(tmp_path):
    scan = Scan(boards=(AttachedBoard("nucleo-f446re", "066B01", "/dev/ttyACM0", "/media/u/NODE_F446RE"),
                        AttachedBoard("frdm-k64f", "0240AA", None)),
                unidentified=(UnidentifiedProbe("066B02", "/dev/ttyACM2", None, "ST-LINK/V2-1 0483:374b",
                                                ("nucleo-f446re", "nucleo-l4r5zi")),))
    path = tmp_path / "map.yaml"
    keep = [MapEntry("nucleo-f446re", "066B01", "/dev/old", "pyocd", None, "/packs/x.pack", "left bench")]
    written = write_map(path, scan, keep=keep)
    assert [e.probe_serial for e in written] == ["066B01"]
    e, = read_map(path)
    assert (e.notes, e.flash_method, e.pyocd_pack, e.drive) == ("left bench", "pyocd", "/packs/x.pack", "/media/u/NODE_F446RE")
    text = path.read_text()
    assert "# Unidentified: ST-LINK/V2-1 0483:374b probe 066B02" in text and "one of nucleo-f446re, nucleo-l4r5zi" in text
    assert "# Left out: frdm-k64f" in text


class _Ports(ListPortsProvider):
    def __init__(self, known):
        super().__init__(comports=lambda: [])
        self.known = known     # device -> serial

    def serial_of(self, device):
        return self.known.get(device)

    def port_for(self, serial):
        return next((d for d, s in self.known.items() if s == serial), None)


class _NoMbed(MbedToolsProvider):
    def scan(self):
        return Scan()


def test_map_provider_finds_a_board_by_serial_when_its_port_moved(tmp_path):
    here = tmp_path / "ttyACM1"
    here.touch()
    path = tmp_path / "m.yaml"
    path.write_text(map_text([MapEntry("nucleo-f446re", "S1", str(tmp_path / "ttyACM0"), "mass-storage", "/d"),
                              MapEntry("nucleo-f446re", "S2", str(tmp_path / "gone"), "mass-storage", "/e")]))
    p = HardwareMapProvider(path, ports=_Ports({str(here): "S1"}), mbed=_NoMbed())
    scan = p.scan()
    assert [(a.probe_serial, a.port) for a in scan.boards] == [("S1", str(here))]
    assert len(scan.missing) == 1 and "S2" in scan.missing[0]


def test_map_provider_ignores_a_port_that_now_belongs_to_another_probe(tmp_path):
    port = tmp_path / "ttyACM0"
    port.touch()
    path = tmp_path / "m.yaml"
    path.write_text(map_text([MapEntry("nucleo-f446re", "S1", str(port), "mass-storage", "/d")]))
    p = HardwareMapProvider(path, ports=_Ports({str(port): "OTHER"}), mbed=_NoMbed())
    assert p.attached() == []


def test_relative_pack_paths_are_relative_to_the_map(tmp_path):
    port = tmp_path / "tty"
    port.touch()
    path = tmp_path / "m.yaml"
    path.write_text(map_text([MapEntry("nucleo-f446re", "S1", str(port), "pyocd", None, "packs/K.pack")]))
    a, = HardwareMapProvider(path, ports=_Ports({}), mbed=_NoMbed()).attached()
    assert a.pyocd_pack == os.path.join(str(tmp_path), "packs", "K.pack") and a.flash_method == "pyocd"
