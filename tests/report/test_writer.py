"""write_report: every file written, readable, and true to the run; summary.md and index.html content."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from harness.report import ReportError, write_report
from harness.report.metrics import load_samples, summarize
from harness.report.rundir import load_models
from harness.report.writer import OUTPUTS

from report_runs import model_spec, write_run


def test_every_report_file_is_written_and_readable(emulated_run):
    index = write_report(emulated_run)
    assert index == emulated_run / "index.html"
    for name in OUTPUTS:
        assert (emulated_run / name).stat().st_size > 0, name
    assert not list(emulated_run.glob(".*.tmp"))
    samples = load_samples(emulated_run)
    pd.testing.assert_frame_equal(pd.read_parquet(emulated_run / "samples.parquet"), samples, check_dtype=False)
    summary = summarize(samples, load_models(emulated_run))
    back = pd.read_parquet(emulated_run / "summary.parquet")
    assert list(back.columns) == list(summary.columns)
    pd.testing.assert_frame_equal(back, summary)
    csv = pd.read_csv(emulated_run / "summary.csv")
    assert csv["model"].tolist() == ["kws-kp-lstm", "kws-dense-lstm", "har-small-lstm"]
    assert csv.loc[0, "latency_median_instructions"] == 65_000 and csv.loc[0, "flash_bytes"] == 16_100
    assert len(pd.read_csv(emulated_run / "samples.csv")) == 3 + 12 + 12 + 10
    pc = pd.read_csv(emulated_run / "per_class.csv")
    assert pc[pc["model"] == "kws-kp-lstm"]["correct"].tolist() == [2, 3, 2, 3]
    conf = pd.read_csv(emulated_run / "confusion.csv")
    assert conf.groupby("model")["count"].sum().to_dict() == {"har-small-lstm": 10, "kws-dense-lstm": 12,
                                                               "kws-kp-lstm": 12}


def test_summary_md_has_the_row_values_and_says_emulated(emulated_run):
    write_report(emulated_run)
    md = (emulated_run / "summary.md").read_text()
    assert "emulated twin of nucleo-f446re, QEMU netduinoplus2" in md
    assert "latency median (instructions)" in md and "not time" in md
    table, differences = md.split("## Differences on the same samples")
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip().strip("|").split("|")]
            for line in table.splitlines() if line.startswith("| kws-") or line.startswith("| har-")}
    # Accuracies with their 95 % Wilson interval (12 samples: a wide one).
    assert rows["kws-kp-lstm"] == ["kws-kp-lstm", "kp", "int8", "12", "83.3 % (55.2–95.3)", "83.3 %", "100.0 %",
                                   "65,000", "16,100 B (3.1 %)", "20,100 B (15.3 %)", "6,508", "11.2×"]
    assert rows["kws-dense-lstm"][4] == "100.0 % (75.7–100.0)" and rows["kws-dense-lstm"][7] == "55,500"
    assert rows["har-small-lstm"][4] == "90.0 % (59.6–98.2)"
    # KP against dense on the same 12 samples: 2 samples only dense gets right, not a difference the test backs.
    assert "| kws-kp-lstm | kws-dense-lstm | 12 | -16.7 pp | 0 | 2 | 0.5 | within noise |" in differences


def test_summary_md_on_hardware_gives_cycles_and_microseconds(hardware_run):
    write_report(hardware_run)
    md = (hardware_run / "summary.md").read_text()
    assert "real board nucleo-f446re (probe 066DFF515049657187212033)" in md
    assert "latency median (cycles, µs)" in md and "| 65,000 (361.1 µs) |" in md
    assert "instructions" not in md


def test_report_is_idempotent_and_follows_a_resumed_run(tmp_path):
    spec = model_spec("m", labels=[0] * 6, predicted=[0] * 6, ref_predicted=[0] * 6, counters=[100] * 6,
                      max_abs_err=[0.0] * 6, limit=12)
    run = write_run(tmp_path / "r", [spec])
    write_report(run)
    first = (run / "summary.md").read_text()
    assert "Incomplete" in first and "6 of 12" in first
    write_report(run)
    assert (run / "summary.md").read_text() == first
    # The run resumes: six more samples, a second warm-up; the report is rebuilt from the journal.
    with open(run / "samples.jsonl", "a") as fh:
        base = {"model": "m", "model_hash": spec["hash"], "dtype": "int8", "physical_board": "qemu:netduinoplus2"}
        fh.write(json.dumps({**base, "index": -1, "label": 0, "predicted": 0, "ref_predicted": 0, "max_abs_err": 0.0,
                             "counter": 5, "warmup": True, "host_ms": None}) + "\n")
        for i in range(6, 12):
            fh.write(json.dumps({**base, "index": i, "label": 1, "predicted": 0, "ref_predicted": 0,
                                 "max_abs_err": 0.0, "counter": 100, "warmup": False, "host_ms": 0.2}) + "\n")
    write_report(run)
    md = (run / "summary.md").read_text()
    assert "Incomplete" not in md and "| 12 | 50.0 % (25.4–74.6) |" in md


def test_text_is_escaped_in_html_and_markdown(tmp_path):
    run = write_run(tmp_path / "r", [model_spec("<b>x|y</b>", classes=["<i>a", "b&c", "up", "down"])],
                    environment={"run_id": "<script>alert(1)</script>", "git_commit": None,
                                 "toolchain": {"html": "<img src=x onerror=alert(1)>"}})
    page = write_report(run).read_text()
    assert "<script>" not in page and "<b>x" not in page and "<img src=x" not in page
    assert "&lt;b&gt;x|y&lt;/b&gt;" in page and "&lt;script&gt;" in page and "b&amp;c" in page
    md = (run / "summary.md").read_text()
    assert "<b>x\\|y</b>" in md


def test_html_is_self_contained(emulated_run):
    page = write_report(emulated_run).read_text()
    assert "<script" not in page.lower()
    srcs = re.findall(r'src="([^"]*)"', page)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert "http" not in " ".join(hrefs)
    for h in hrefs:
        assert h == "data:," or (emulated_run / h).is_file(), h
    assert "junit.xml" not in hrefs
    (emulated_run / "junit.xml").write_text("<testsuites/>")
    assert 'href="junit.xml"' in write_report(emulated_run).read_text()
    for heading in ("Summary", "Accuracy and agreement", "Latency", "Memory", "Accuracy against cost",
                    "Accuracy per class", "Confusion matrices", "Environment", "Files"):
        assert f"<h2>{heading}" in page
    assert "toolchain.arm-none-eabi-gcc" in page          # nested environment keys, flattened
    assert page.count('alt="confusion matrix of') == 3


def test_a_run_with_no_samples_yet_still_reports(tmp_path):
    run = write_run(tmp_path / "r", [model_spec("m")])
    (run / "samples.jsonl").unlink()
    write_report(run)
    assert "| m | kp | int8 | 0 |" in (run / "summary.md").read_text()


def test_not_a_run_directory(tmp_path):
    with pytest.raises(ReportError, match="not a run directory"):
        write_report(tmp_path)
    with pytest.raises(ReportError, match="is not a directory"):
        write_report(tmp_path / "nowhere")
    run = write_run(tmp_path / "r", [model_spec("m")])
    (run / "models.json").write_text("{oops")
    with pytest.raises(ReportError, match="models.json is not valid JSON"):
        write_report(run)


def test_docs_name_every_summary_column_and_threshold():
    from pathlib import Path

    from harness.report.compare import Thresholds
    from harness.report.metrics import SUMMARY_COLUMNS
    doc = (Path(__file__).resolve().parents[2] / "docs" / "reports.md").read_text()
    missing = [c for c in SUMMARY_COLUMNS + Thresholds.keys() if f"`{c}`" not in doc]
    assert missing == []
