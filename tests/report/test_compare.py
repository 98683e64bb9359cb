"""compare: an identical run passes, each kind of constructed regression is flagged, thresholds files."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.report import ReportError, write_report
from harness.report.compare import DEFAULT_THRESHOLDS, Thresholds, compare_runs, load_thresholds, main, parse_thresholds

from report_runs import default_specs, model_spec, write_run


def specs_with(name: str, **over):
    out = default_specs()
    for s in out:
        if s["name"] == name:
            s.update(over)
    return out


@pytest.fixture
def base(tmp_path):
    return write_run(tmp_path / "base")


def test_an_identical_run_passes(base, tmp_path, capsys):
    new = write_run(tmp_path / "new")
    r = compare_runs(base, new)
    assert not r.failed and r.regressions == []
    assert r.rows["status"].tolist() == ["ok", "ok", "ok"]
    assert main(base, new) == 0
    out = capsys.readouterr().out
    assert "PASS: 3 models compared, no regression" in out
    assert main(base, base) == 0


def test_accuracy_drop_is_flagged(base, tmp_path):
    # kws-kp-lstm: one more wrong sample, 10/12 -> 9/12 (-8.33 pp); reference still agrees (same predictions).
    wrong = [0, 0, 1, 1, 1, 1, 2, 2, 0, 3, 3, 0]
    new = write_run(tmp_path / "new", specs_with("kws-kp-lstm", predicted=wrong, ref_predicted=wrong))
    r = compare_runs(base, new)
    assert r.failed and len(r.regressions) == 1
    assert r.regressions[0].startswith("kws-kp-lstm: device top-1 83.33 % -> 75.00 % (-8.33 pp")
    row = r.rows.set_index("model").loc["kws-kp-lstm"]
    assert row["status"] == "regression" and row["failed"] == "accuracy"
    assert row["accuracy_change_pp"] == pytest.approx(-100 / 12)
    assert main(base, new) == 1


def test_small_accuracy_drop_within_threshold_passes(tmp_path):
    n = 400
    labels = [0] * n
    base = write_run(tmp_path / "base", [model_spec("m", labels=labels, predicted=[0] * n, ref_predicted=[0] * n,
                                                    counters=[100] * n, max_abs_err=[0.0] * n)])
    one_wrong = [1] + [0] * (n - 1)                  # -0.25 pp: inside the default 0.5 pp
    new = write_run(tmp_path / "new", [model_spec("m", labels=labels, predicted=one_wrong, ref_predicted=one_wrong,
                                                  counters=[100] * n, max_abs_err=[0.0] * n)])
    assert not compare_runs(base, new).failed
    assert compare_runs(base, new, Thresholds(accuracy_drop_pp=0.2)).failed


def test_latency_growth_is_flagged(base, tmp_path):
    slower = [int(c * 1.06) for c in default_specs()[1]["counters"]]        # +6 % > 5 %
    new = write_run(tmp_path / "new", specs_with("kws-dense-lstm", counters=slower))
    r = compare_runs(base, new)
    assert r.failed and len(r.regressions) == 1
    assert r.regressions[0].startswith("kws-dense-lstm: latency median 55,500 -> 58,830 instructions (+6.00 %")
    ok = write_run(tmp_path / "ok", specs_with("kws-dense-lstm",
                                               counters=[int(c * 1.04) for c in default_specs()[1]["counters"]]))
    assert not compare_runs(base, ok).failed


def test_flash_growth_is_flagged(base, tmp_path):
    image = dict(default_specs()[0]["image"], rodata=4_000 + 1_000)          # 16,100 -> 17,100 B: +6.2 %
    new = write_run(tmp_path / "new", specs_with("kws-kp-lstm", image=image))
    r = compare_runs(base, new)
    assert r.failed and len(r.regressions) == 1
    assert r.regressions[0] == "kws-kp-lstm: flash 16,100 -> 17,100 B (+6.21 %, limit +5 %)"
    assert "FAIL (limit +5 %)" in r.text
    assert not compare_runs(base, new, Thresholds(flash_growth_pct=10)).failed


def test_ram_and_stack_growth_are_flagged(base, tmp_path):
    image = dict(default_specs()[2]["image"], bss=18_000 + 1_000)            # 18,100 -> 19,100: +5.5 %
    new = write_run(tmp_path / "new", specs_with("har-small-lstm", image=image, stack_peak=560))   # +12 %
    r = compare_runs(base, new)
    assert r.rows.set_index("model").loc["har-small-lstm", "failed"] == "ram, stack"
    assert len(r.regressions) == 2


def test_int8_agreement_drop_fails_and_float_is_not_gated(base, tmp_path):
    ref = [0, 0, 1, 1, 1, 1, 2, 2, 0, 3, 3, 2]      # the reference now differs on the last sample
    new = write_run(tmp_path / "new", specs_with("kws-kp-lstm", ref_predicted=ref))
    r = compare_runs(base, new)
    assert r.failed and r.regressions[0].startswith("kws-kp-lstm: agreement 100.00 % -> 91.67 %")
    assert "any drop fails" in r.regressions[0]
    fbase = write_run(tmp_path / "fbase", specs_with("kws-kp-lstm", dtype="fp32"))
    fnew = write_run(tmp_path / "fnew", specs_with("kws-kp-lstm", dtype="fp32", ref_predicted=ref))
    assert not compare_runs(fbase, fnew).failed


def test_models_in_one_run_only_are_reported_not_failed(base, tmp_path):
    specs = default_specs()[:2] + [model_spec("kws-lowrank-lstm", method="lowrank")]
    new = write_run(tmp_path / "new", specs)
    r = compare_runs(base, new)
    assert not r.failed
    status = r.rows.set_index("model")["status"].to_dict()
    assert status["har-small-lstm"] == "only in BASE" and status["kws-lowrank-lstm"] == "only in NEW"
    assert "har-small-lstm: only in BASE, not compared" in r.text


def test_model_hash_change_and_unit_change_are_notes(base, tmp_path):
    new = write_run(tmp_path / "new", specs_with("kws-kp-lstm", hash="12" * 32), emulated=False)
    r = compare_runs(base, new)
    assert not r.failed
    assert "model changed: hash" in r.text
    assert "latency not compared: BASE counted instructions, NEW cycles" in r.text


def test_a_model_without_results_in_new_fails(base, tmp_path):
    new = write_run(tmp_path / "new")
    lines = [line for line in (new / "samples.jsonl").read_text().splitlines()
             if json.loads(line)["model"] != "kws-kp-lstm"]
    (new / "samples.jsonl").write_text("\n".join(lines) + "\n")
    r = compare_runs(base, new)
    assert r.failed and any("no evaluated samples in NEW" in x for x in r.regressions)


def test_compare_reads_a_kept_report_without_the_journal(base, tmp_path):
    new = write_run(tmp_path / "new")
    write_report(new)
    for f in ("samples.jsonl", "models.json"):
        (new / f).unlink()
    assert not compare_runs(base, new).failed


def test_thresholds_file_overrides_defaults(base, tmp_path):
    slower = [int(c * 1.06) for c in default_specs()[1]["counters"]]
    new = write_run(tmp_path / "new", specs_with("kws-dense-lstm", counters=slower))
    yml = tmp_path / "t.yaml"
    yml.write_text("# nightly\nlatency_growth_pct: 10\n")
    assert load_thresholds(yml) == Thresholds(latency_growth_pct=10)
    assert main(base, new, yml) == 0
    js = tmp_path / "t.json"
    js.write_text(json.dumps({"latency_growth_pct": 2, "flash_growth_pct": 1.5}))
    assert load_thresholds(js).flash_growth_pct == 1.5
    assert main(base, new, js) == 1
    assert load_thresholds(None) == DEFAULT_THRESHOLDS
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_thresholds(empty) == DEFAULT_THRESHOLDS


@pytest.mark.parametrize("text, message", [
    ("latency_growth: 5\n", "unknown threshold 'latency_growth'; known ones: accuracy_drop_pp, latency_growth_pct"),
    ("flash_growth_pct: -1\n", "flash_growth_pct must be a non-negative number, got -1"),
    ("flash_growth_pct: five\n", "flash_growth_pct must be a non-negative number, got 'five'"),
    ("flash_growth_pct: true\n", "must be a non-negative number, got True"),
    ("- 5\n", "must be a mapping of threshold names to numbers, found list"),
    ("{flash: [\n", "is not valid YAML or JSON at line"),
])
def test_bad_thresholds_give_one_line(tmp_path, text, message):
    path = tmp_path / "t.yaml"
    path.write_text(text)
    with pytest.raises(ReportError) as e:
        load_thresholds(path)
    assert message in str(e.value) and "\n" not in str(e.value)
    assert str(e.value).startswith(str(path))


def test_missing_thresholds_file_and_bad_run_dirs(base, tmp_path):
    with pytest.raises(ReportError, match="does not exist"):
        load_thresholds(tmp_path / "none.yaml")
    with pytest.raises(ReportError, match="not a run directory"):
        compare_runs(base, tmp_path)
    with pytest.raises(ReportError, match="is not a directory"):
        main(tmp_path / "nope", base)


KNOWN = Thresholds.keys()


@settings(max_examples=80, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=20), st.one_of(st.floats(allow_nan=True), st.integers(), st.text(),
                                                                    st.none(), st.booleans()), max_size=5))
def test_any_thresholds_mapping_loads_or_fails_in_one_line(data):
    text = json.dumps(data)
    try:
        t = parse_thresholds(text, "t.json")
    except ReportError as e:
        msg = str(e)
        assert "\n" not in msg and msg.startswith("t.json")
        bad = [k for k in data if k not in KNOWN]
        if bad:
            assert "unknown threshold" in msg or "must be a non-negative number" in msg
        return
    for k, v in data.items():
        assert k in KNOWN and getattr(t, k) == v


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=60))
def test_any_text_loads_or_fails_in_one_line(text):
    try:
        parse_thresholds(text, "t.yaml")
    except ReportError as e:
        assert "\n" not in str(e)


def test_a_new_run_without_any_of_the_base_models_fails(base, tmp_path):
    new = write_run(tmp_path / "new", [model_spec("other")])
    r = compare_runs(base, new)
    assert r.failed and r.regressions == ["no model of BASE is in NEW (1 model(s) there): nothing was compared"]


def test_compare_says_whether_an_accuracy_change_is_significant(tmp_path):
    """McNemar's exact test on the paired samples: one sample flipped of 12 is noise (p = 1); 40 of 400 is not."""
    base = write_run(tmp_path / "b")
    wrong = [0, 0, 1, 1, 1, 1, 2, 2, 0, 3, 3, 0]
    small = compare_runs(base, write_run(tmp_path / "n", specs_with("kws-kp-lstm", predicted=wrong,
                                                                    ref_predicted=wrong)))
    row = small.rows.set_index("model").loc["kws-kp-lstm"]
    assert row["accuracy_paired"] == 12 and row["accuracy_p_value"] == pytest.approx(1.0)
    assert not row["accuracy_significant"]
    assert "McNemar p = 1 on 12 paired samples: within noise" in small.text
    n = 400
    labels = [i % 4 for i in range(n)]
    spec = dict(labels=labels, predicted=labels, ref_predicted=labels, counters=[1000] * n, max_abs_err=[0.0] * n)
    big_base = write_run(tmp_path / "bb", [model_spec("m", **spec)])
    worse = [(y + 1) % 4 if i < 40 else y for i, y in enumerate(labels)]
    big = compare_runs(big_base, write_run(tmp_path / "bn", [model_spec("m", **dict(spec, predicted=worse,
                                                                                       ref_predicted=worse))]))
    row = big.rows.set_index("model").loc["m"]
    assert row["accuracy_p_value"] < 1e-9 and row["accuracy_significant"]
    assert "on 400 paired samples: significant" in big.text
