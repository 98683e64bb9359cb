"""The run folder's records: every one survives JSON unchanged, and a field of the wrong kind is refused in
one line that names the file and the field."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.records import (EMULATED, HARDWARE, DeviceRecord, Environment, RecordError, RunEvent, RunFile,
                             RunSettings, SampleRow, ScenarioResult, parse_journal, run_where)

text = st.text(max_size=20)
maybe_float = st.none() | st.floats(allow_nan=False, allow_infinity=False, width=32)
rows = st.builds(SampleRow, model=text, model_hash=text, dtype=st.sampled_from(["int8", "fp32", "w8"]),
                 index=st.integers(-1, 10**6), label=st.integers(0, 40), predicted=st.integers(-1, 40),
                 ref_predicted=st.integers(0, 40), max_abs_err=maybe_float, counter=st.integers(0, 2**40),
                 warmup=st.booleans(), physical_board=text, host_ms=maybe_float, retries=st.integers(0, 100),
                 error=st.none() | text)
devices = st.builds(DeviceRecord, where=st.sampled_from([HARDWARE, EMULATED]), physical_board=text, runner=text,
                    reason=text, fw_version=text, protocol_version=st.integers(0, 9), board=text, core=text,
                    clock_hz=st.integers(0, 10**9), counter_kind=text, max_payload=st.integers(0, 65535),
                    model_hash=text, image_sha256=text, image_flash=st.integers(0, 10**7), image_ram=st.integers(0, 10**7))
run_settings = st.builds(RunSettings, board=text, dtype=text, limit=st.none() | st.integers(1, 10**5),
                         models=st.lists(text, max_size=4), warmup=st.integers(0, 3), depth=st.integers(1, 4),
                         data=st.none() | text)


@settings(max_examples=100, deadline=None)
@given(st.lists(rows, max_size=10), st.binary(max_size=30).filter(lambda b: b"\n" not in b))
def test_journal_lines_round_trip_and_a_cut_last_line_is_dropped(rs, cut):
    data = "".join(r.to_line() + "\n" for r in rs).encode()
    assert parse_journal(data + cut) == rs


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(text, devices, max_size=4), run_settings)
def test_environment_and_run_file_round_trip(devs, s):
    env = Environment(run_id="r", board="b", git_commit=None, toolchain={"python": "3.11"}, started="t",
                      settings=s, devices=devs)
    back = Environment.from_json(json.loads(json.dumps(env.to_json())), "environment.json")
    assert back == env
    written = env.to_json()
    assert written["where"] == run_where(devs.values()) and written["physical_boards"] == env.physical_boards
    run_file = RunFile(s, ["harness", "run"], "now")
    assert RunFile.from_json(json.loads(json.dumps(run_file.to_json()))) == run_file


@settings(max_examples=60, deadline=None)
@given(st.builds(RunEvent, kind=st.sampled_from(["recovery", "sample-failed", "gave-up"]), model=text, at=text,
                 detail=text, index=st.none() | st.integers(0, 1000), physical_board=text),
       st.builds(ScenarioResult, nodeid=text, phase=text, outcome=text, seconds=st.floats(0, 1e4), physical_board=text))
def test_events_and_scenario_results_round_trip(event, result):
    assert parse_journal((event.to_line() + "\n").encode(), record=RunEvent) == [event]
    assert ScenarioResult.from_json(json.loads(json.dumps(result.to_json()))) == result


def _row() -> dict:
    return SampleRow("m", "h", "int8", 0, 1, 1, 1, 0.0, 10, False, "qemu:x").to_json()


@pytest.mark.parametrize("field,value,message", [
    ("counter", "12", "line 1 has counter='12', expected an integer"),
    ("warmup", 1, "line 1 has warmup=1, expected true or false"),
    ("max_abs_err", "x", "line 1 has max_abs_err='x', expected a number or null"),
    ("index", 1.5, "line 1 has index=1.5, expected an integer"),
])
def test_a_field_of_the_wrong_kind_is_named(field, value, message):
    line = json.dumps({**_row(), field: value}).encode() + b"\n"
    with pytest.raises(RecordError) as err:
        parse_journal(line, "run/samples.jsonl")
    assert str(err.value) == f"run/samples.jsonl {message}"


def test_a_missing_field_and_a_value_out_of_its_set_are_named():
    row = _row()
    del row["model_hash"]
    with pytest.raises(RecordError, match="^samples.jsonl line 1 lacks model_hash$"):
        parse_journal(json.dumps(row).encode() + b"\n")
    env = Environment("r", "b", None, {}, "t", devices={"m": DeviceRecord(
        HARDWARE, "p", "r", "why", "1", 1, "b", "c", 1, "dwt-cycles", 2048, "0", "s", 1, 1)}).to_json()
    env["devices"]["m"]["where"] = "moon"
    with pytest.raises(RecordError, match=r"^environment.json has devices.m.where='moon', expected one of hardware, emulated$"):
        Environment.from_json(env, "environment.json")
