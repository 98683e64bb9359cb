"""Metrics against small cases computed by hand, and the journal loader against damaged input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.records import SampleRow
from harness.report import ReportError
from harness.report.metrics import (EST_RULE, agreement, confusion, confusion_matrix, latency_stats, load_samples,
                                    pareto_front, parse_samples, per_class, per_class_accuracy, summarize, top1)
from harness.report.rundir import load_environment, load_models

from report_runs import model_spec, write_run

LABELS = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
PRED = [0, 0, 1, 1, 1, 1, 2, 2, 0, 3, 3, 3]


# ------------------------------------------------------------ by hand --

def test_top1_counts_matches():
    assert top1(PRED, LABELS) == pytest.approx(10 / 12)
    assert top1([1, 2], [1, 2]) == 1.0
    assert math.isnan(top1([], []))


def test_agreement_is_device_against_reference():
    ref = list(PRED)
    ref[0], ref[5] = 3, 0
    assert agreement(PRED, ref) == pytest.approx(10 / 12)
    assert agreement(PRED, PRED) == 1.0


def test_confusion_matrix_rows_true_columns_predicted():
    m = confusion_matrix(LABELS, PRED, 4)
    assert m.tolist() == [[2, 1, 0, 0],
                          [0, 3, 0, 0],
                          [1, 0, 2, 0],
                          [0, 0, 0, 3]]
    assert m.sum() == 12


def test_confusion_matrix_grows_for_a_class_out_of_range():
    m = confusion_matrix([0, 1], [0, 5], 2)   # a device reporting class 5 of 2 is shown, not dropped
    assert m.shape == (6, 6) and m[1, 5] == 1


def test_negative_class_is_a_clear_error():
    with pytest.raises(ReportError, match="negative"):
        confusion_matrix([0, -1], [0, 0], 2)


def test_per_class_accuracy_is_recall_and_nan_without_samples():
    acc = per_class_accuracy(LABELS, PRED, 5)
    assert acc[:4].tolist() == pytest.approx([2 / 3, 1.0, 2 / 3, 1.0])
    assert math.isnan(acc[4])


def test_latency_median_p90_max_linear_interpolation():
    c = [10_000 * (i + 1) for i in range(12)]          # 10k .. 120k
    s = latency_stats(c)
    assert s["median"] == 65_000                      # (60k + 70k) / 2
    assert s["p90"] == pytest.approx(109_000)         # rank 0.9 * 11 = 9.9: 100k + 0.9 * 10k
    assert s["max"] == 120_000
    assert latency_stats([7])["p90"] == 7
    assert all(math.isnan(v) for v in latency_stats([]).values())


def test_pareto_front_lower_cost_higher_accuracy():
    cost = [10, 20, 30, 15, 30, np.nan]
    acc = [0.5, 0.9, 0.95, 0.4, 0.9, 0.99]
    # (15, 0.4) is beaten by (10, 0.5); (30, 0.9) by (20, 0.9); NaN is never on the front.
    assert pareto_front(cost, acc).tolist() == [True, True, True, False, False, False]
    assert pareto_front([5, 5], [0.5, 0.5]).tolist() == [True, True]   # ties dominate nothing


# ------------------------------------------------------------ loading --

def test_load_samples_ignores_a_truncated_last_line(tmp_path):
    run = write_run(tmp_path / "r", tail='{"model":"kws-kp-lstm","model_hash":"ab","dtype":"in')
    s = load_samples(run)
    assert len(s) == 3 + 12 + 12 + 10 and s["warmup"].sum() == 3


def test_load_samples_keeps_the_last_record_of_a_sample(tmp_path):
    spec = model_spec("kws-kp-lstm")
    again = {"model": "kws-kp-lstm", "model_hash": spec["hash"], "dtype": "int8", "index": 2, "label": 0,
             "predicted": 0, "ref_predicted": 0, "max_abs_err": 0.0, "counter": 1, "warmup": False,
             "physical_board": "qemu:netduinoplus2", "host_ms": None}
    warm = dict(again, index=-1, warmup=True)
    run = write_run(tmp_path / "r", [spec], extra_lines=[json.dumps(warm), json.dumps(again)])
    s = load_samples(run)
    assert len(s[~s["warmup"]]) == 12 and s["warmup"].sum() == 2      # resumed: a second warm-up is kept
    assert s.loc[(s["index"] == 2) & ~s["warmup"], "predicted"].tolist() == [0]
    assert summarize(s, load_models(run)).loc[0, "accuracy"] == pytest.approx(11 / 12)


def test_a_damaged_line_in_the_middle_is_an_error_naming_the_line(tmp_path):
    run = write_run(tmp_path / "r", [model_spec("m")], extra_lines=["{not json", json.dumps({"x": 1})])
    with pytest.raises(ReportError, match=r"line 14 is not JSON") as e:
        load_samples(run)
    assert "\n" not in str(e.value)


def test_a_missing_key_or_wrong_type_is_a_one_line_error(tmp_path):
    run = write_run(tmp_path / "r", [model_spec("m")], extra_lines=[json.dumps({"model": "m"})])
    with pytest.raises(ReportError, match="lacks model_hash"):
        load_samples(run)
    run = write_run(tmp_path / "s", [model_spec("m", counters=["12"] * 12)])
    with pytest.raises(ReportError, match=r"counter='12', expected an integer"):
        load_samples(run)


def test_no_samples_file_is_a_clear_error(tmp_path):
    with pytest.raises(ReportError, match="does not exist"):
        load_samples(tmp_path)


ROW = st.fixed_dictionaries({
    "model": st.sampled_from(["a", "b|c", "<m>"]), "model_hash": st.just("00ff"), "dtype": st.sampled_from(["int8", "fp32"]),
    "index": st.integers(-1, 30), "label": st.integers(0, 3), "predicted": st.integers(0, 3),
    "ref_predicted": st.integers(0, 3), "max_abs_err": st.one_of(st.none(), st.floats(0, 10)),
    "counter": st.integers(0, 2 ** 40), "warmup": st.booleans(), "physical_board": st.just("qemu:x"),
    "host_ms": st.one_of(st.none(), st.floats(0, 5)),
})


@settings(max_examples=60, deadline=None)
@given(st.lists(ROW, max_size=25), st.data())
def test_loader_drops_only_a_cut_final_line_and_keeps_the_last_duplicate(rows, data):
    rows = [dict(r, index=-1) if r["warmup"] else dict(r, index=max(r["index"], 0)) for r in rows]
    text = "".join(json.dumps(r) + "\n" for r in rows)
    cut = ""
    if data.draw(st.booleans()):
        whole = json.dumps(data.draw(ROW))
        cut = whole[: data.draw(st.integers(1, len(whole) - 1))]
    got = parse_samples((text + cut).encode())
    assert got == [SampleRow.from_json(r) for r in rows]
    from harness.report.metrics import samples_frame
    df = samples_frame(got)
    last = {}
    for r in rows:
        if not r["warmup"]:
            last[(r["model"], r["index"])] = r
    kept = df[~df["warmup"]]
    assert len(kept) == len(last)
    for _, r in kept.iterrows():
        assert r["predicted"] == last[(r["model"], r["index"])]["predicted"]
    assert int(df["warmup"].sum()) == sum(r["warmup"] for r in rows)


# ------------------------------------------------------------ per model --

def test_summary_of_an_emulated_run(emulated_run):
    s = summarize(load_samples(emulated_run), load_models(emulated_run)).set_index("model")
    kp = s.loc["kws-kp-lstm"]
    assert kp["n"] == 12 and kp["n_warmup"] == 1 and bool(kp["complete"])
    assert kp["accuracy"] == pytest.approx(10 / 12)
    assert kp["ref_accuracy"] == pytest.approx(10 / 12)
    assert kp["agreement"] == 1.0 and kp["disagreements"] == 0 and kp["max_abs_err"] == 0.0
    # Emulated: instructions, never cycles or microseconds; the warm-up's 999,999 is left out.
    assert kp["counter_unit"] == "instructions" and bool(kp["emulated"])
    assert (kp["latency_median_instructions"], kp["latency_p90_instructions"], kp["latency_max_instructions"]) \
        == (65_000, pytest.approx(109_000), 120_000)
    assert all(math.isnan(kp[f"latency_{k}_{u}"]) for k in ("median", "p90", "max") for u in ("cycles", "us"))
    # The estimate uses the catalog clock of the board (NUCLEO-F446RE: 180 MHz) and says so.
    assert kp["est_ms_at_clock"] == pytest.approx(65_000 / 180e6 * 1e3)
    assert kp["est_rule"] == EST_RULE and kp["est_clock_hz"] == 180_000_000
    assert kp["flash_bytes"] == 16_100 and kp["ram_bytes"] == 20_100
    assert kp["flash_share"] == pytest.approx(16_100 / 524_288)
    assert kp["ram_share"] == pytest.approx(20_100 / 131_072)
    assert kp["stack_share"] == pytest.approx(500 / 131_072)
    assert kp["model_share"] == pytest.approx(1_900 / 524_288)
    assert kp["params"] == 6_508 and kp["compression_vs_dense"] == pytest.approx(72_716 / 6_508)
    har = s.loc["har-small-lstm"]
    assert har["accuracy"] == pytest.approx(9 / 10) and har["latency_p90_instructions"] == 5_000
    assert math.isnan(har["host_test_accuracy"])


def test_summary_of_a_hardware_run_has_cycles_and_microseconds(hardware_run):
    s = summarize(load_samples(hardware_run), load_models(hardware_run)).set_index("model")
    kp = s.loc["kws-kp-lstm"]
    assert kp["counter_unit"] == "cycles" and not bool(kp["emulated"])
    assert kp["latency_median_cycles"] == 65_000
    assert kp["latency_median_us"] == pytest.approx(65_000 / 180e6 * 1e6)
    assert kp["latency_max_us"] == pytest.approx(120_000 / 180)
    assert math.isnan(kp["latency_median_instructions"]) and math.isnan(kp["est_ms_at_clock"])
    assert s["est_rule"].isna().all()


def test_an_unknown_board_estimates_at_the_reported_clock_and_says_so(tmp_path):
    run = write_run(tmp_path / "r", [model_spec("m")], board="bench-board-x")
    kp = summarize(load_samples(run), load_models(run)).iloc[0]
    assert kp["est_ms_at_clock"] == pytest.approx(65_000 / 180e6 * 1e3)
    assert "device-reported clock" in kp["est_rule"]


def test_disagreement_and_output_error(tmp_path):
    ref = list(PRED)
    ref[0] = 3
    errs = [0.0] * 12
    errs[4] = 0.125
    run = write_run(tmp_path / "r", [model_spec("m", ref_predicted=ref, max_abs_err=errs, dtype="fp32")])
    row = summarize(load_samples(run), load_models(run)).iloc[0]
    assert row["agreement"] == pytest.approx(11 / 12) and row["disagreements"] == 1
    assert row["ref_accuracy"] == pytest.approx(9 / 12)
    assert row["max_abs_err"] == 0.125


def test_incomplete_model_and_stale_hash(tmp_path):
    spec = model_spec("m", limit=20)      # 12 of min(20, 100) expected
    stale = {"model": "m", "model_hash": "ff" * 32, "dtype": "int8", "index": 50, "label": 0, "predicted": 0,
             "ref_predicted": 0, "max_abs_err": 0.0, "counter": 1, "warmup": False, "physical_board": "qemu:x",
             "host_ms": None}
    run = write_run(tmp_path / "r", [spec], extra_lines=[json.dumps(stale)])
    row = summarize(load_samples(run), load_models(run)).iloc[0]
    assert row["n"] == 12 and row["n_expected"] == 20 and not bool(row["complete"])
    assert row["stale_samples"] == 1


def test_a_model_without_a_record_still_has_its_accuracy(tmp_path):
    run = write_run(tmp_path / "r", [model_spec("a"), model_spec("b")])
    models = load_models(run)
    del models["b"]                       # killed before the runner wrote b's record
    devices = load_environment(run).devices    # recorded when b's device started
    s = summarize(load_samples(run), models, devices).set_index("model")
    assert s.loc["b", "accuracy"] == pytest.approx(10 / 12)
    assert s.loc["b", "counter_unit"] == "instructions"      # b's device was emulated: instruction counts
    assert s.loc["b", "flash_bytes"] is pd_na()


def pd_na():
    import pandas as pd
    return pd.NA


def test_per_class_and_confusion_tables(emulated_run):
    samples, models = load_samples(emulated_run), load_models(emulated_run)
    pc = per_class(samples, models)
    kp = pc[pc["model"] == "kws-kp-lstm"]
    assert kp["class_name"].tolist() == ["yes", "no", "up", "down"]
    assert kp["n"].tolist() == [3, 3, 3, 3] and kp["correct"].tolist() == [2, 3, 2, 3]
    assert kp["accuracy"].tolist() == pytest.approx([2 / 3, 1, 2 / 3, 1])
    c = confusion(samples, models)
    kc = c[c["model"] == "kws-kp-lstm"]
    assert len(kc) == 16 and kc["count"].sum() == 12
    assert kc[(kc["true_class"] == "up") & (kc["predicted_class"] == "yes")]["count"].item() == 1
    assert len(c[c["model"] == "har-small-lstm"]) == 9
