"""The journal keeps every complete line, whatever cut the run short."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.evaluate import Journal, read_journal
from harness.records import SampleRow

rows = st.lists(st.builds(SampleRow, model=st.text(max_size=8), model_hash=st.just("00"), dtype=st.just("int8"),
                          index=st.integers(-1, 10_000), label=st.integers(0, 5), predicted=st.integers(0, 5),
                          ref_predicted=st.integers(0, 5), max_abs_err=st.none() | st.floats(0, 1),
                          counter=st.integers(0, 2 ** 32 - 1), warmup=st.booleans(), physical_board=st.just("qemu:x"),
                          host_ms=st.none() | st.floats(0, 5)), max_size=20)


@settings(max_examples=50, deadline=None)
@given(rows, rows, st.binary(max_size=40).filter(lambda b: b"\n" not in b))
def test_a_cut_line_is_dropped_and_appending_continues(tmp_path_factory, first, second, partial):
    path = tmp_path_factory.mktemp("j") / "samples.jsonl"
    with Journal(path) as j:
        for r in first:
            j.write(r)
    with open(path, "ab") as fh:   # a kill in the middle of a line
        fh.write(partial)
    assert read_journal(path) == first
    with Journal(path) as j:
        for r in second:
            j.write(r)
    assert read_journal(path) == first + second
    assert all(json.loads(line) for line in path.read_text().splitlines())
