"""The activation tables: the checked-in C file is the generator's output, and the tables behave."""

import numpy as np

from harness.export import tables
from harness.paths import firmware_source


def test_checked_in_tables_match_the_generator():
    on_disk = (firmware_source() / "runtime" / "rt_tables.c").read_text()
    assert on_disk == tables.c_source(), "regenerate: python -m harness.export.tables > device_fw/runtime/rt_tables.c"


def test_tables_are_monotone_and_span_their_range():
    for t in (tables.SIGMOID, tables.TANH):
        assert len(t) == tables.LUT_SIZE
        assert np.all(np.diff(t.astype(np.int32)) >= 0)
    assert tables.SIGMOID[0] == round(32768 / (1 + np.exp(8))) and tables.SIGMOID[-1] == round(32768 / (1 + np.exp(-8)))
    assert tables.TANH[0] == -32767 and tables.TANH[-1] == 32767


def test_interpolation_error_is_small_over_the_whole_input_range():
    x = np.arange(-32768, 32768, dtype=np.int64)
    real = x / 4096.0
    sig = tables.lut(tables.SIGMOID, x) / 32768.0
    tanh = tables.lut(tables.TANH, x) / 32768.0
    assert np.abs(sig - 1 / (1 + np.exp(-real))).max() < 1e-4
    assert np.abs(tanh - np.tanh(real)).max() < 3e-4


def test_inputs_beyond_the_table_saturate():
    big = np.array([-(1 << 30), -40000, 40000, 1 << 30])
    # The last input below 8.0 sits 1/4096 short of the final entry.
    top = tables.lut(tables.SIGMOID, np.array([32767]))[0]
    assert list(tables.lut(tables.SIGMOID, big)) == [tables.SIGMOID[0]] * 2 + [top] * 2
