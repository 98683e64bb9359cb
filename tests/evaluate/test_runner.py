"""The runner end to end on an emulated board: results, interruption and resume, refusals."""

import json
import signal
import subprocess
import sys
import time

import pytest

from harness.boards import get_board
from harness.device import plan_device
from harness.evaluate import RunError, find_model_dirs, read_journal, run
from procs import default_signals

LIMIT = 40
# Results that must not depend on how a run was split: everything but timing. The
# counter may differ by one timer tick, and by the receive interrupt's work when
# the next input arrives during an inference (pipelined streaming, docs/reports.md).
STABLE = ("model", "model_hash", "dtype", "index", "label", "predicted", "ref_predicted", "max_abs_err",
          "physical_board")


def _table(run_dir):
    rows = {}
    for r in read_journal(run_dir / "samples.jsonl"):
        if not r.warmup:
            rows[(r.model, r.index)] = r.to_json()
    return [rows[k] for k in sorted(rows)]


def _run_cli(args, **kw):
    return subprocess.Popen([sys.executable, "-m", "harness", "run", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=default_signals, **kw)


@pytest.fixture(scope="module")
def nucleo():
    return plan_device(get_board("nucleo-f446re"))


@pytest.fixture(scope="module")
def reference_run(har_model, nucleo, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "whole"
    run(nucleo, [har_model], limit=LIMIT, run_dir=out, progress=False, log=lambda *_: None)
    return out


@pytest.mark.emulator
def test_a_run_records_every_sample_and_the_model(reference_run):
    table = _table(reference_run)
    indices = [r["index"] for r in table]   # --limit: a class-stratified subset, the same every time
    record_indices = json.loads((reference_run / "models.json").read_text())["models"]["har-kp-lstm"]["test_set"]["indices"]
    assert len(indices) == LIMIT and indices == sorted(record_indices)
    assert all(r["predicted"] == r["ref_predicted"] and r["max_abs_err"] == 0.0 for r in table)   # int8: exact
    assert all(r["counter"] > 0 and r["host_ms"] > 0 for r in table)
    record = json.loads((reference_run / "models.json").read_text())["models"]["har-kp-lstm"]
    assert record["counter"] == {"kind": "icount-instructions", "unit": "instructions", "emulated": True,
                                 "clock_hz": record["board"]["clock_hz"]}
    assert 0 < record["image"]["model_bytes"] < record["image"]["rodata"] < record["image"]["flash"]
    assert record["image"]["flash"] == record["image"]["text"] + record["image"]["rodata"] + record["image"]["data"]
    env = json.loads((reference_run / "environment.json").read_text())
    assert env["devices"]["har-kp-lstm"]["model_hash"] == record["model_hash"]


@pytest.mark.emulator
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill"])
def test_an_interrupted_run_resumes_to_the_same_table(how, har_model, reference_run, tmp_path):
    out = tmp_path / "split"
    args = ["--board", "nucleo-f446re", "--models", str(har_model), "--limit", str(LIMIT), "--report-dir", str(out)]
    proc = _run_cli(args)
    try:
        deadline = time.monotonic() + 120
        while len(read_journal(out / "samples.jsonl")) < 12:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(how)
        out_text, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    kept = _table(out)
    assert 10 <= len(kept) < LIMIT
    if how == signal.SIGINT:
        assert proc.returncode == 130 and "--resume" in out_text
    resumed = _run_cli(args + ["--resume"])
    _, err = resumed.communicate(timeout=180)
    assert resumed.returncode == 0, err
    whole, split = _table(reference_run), _table(out)
    assert [{k: r[k] for k in STABLE} for r in split] == [{k: r[k] for k in STABLE} for r in whole]
    assert all(abs(a["counter"] - b["counter"]) <= 0.01 * b["counter"] for a, b in zip(split, whole))


def test_resume_with_other_settings_is_refused(har_model, nucleo, reference_run):
    with pytest.raises(RunError, match="other settings .*limit"):
        run(nucleo, [har_model], limit=LIMIT + 1, run_dir=reference_run, resume=True, progress=False)


def test_a_finished_run_is_not_overwritten(har_model, nucleo, reference_run):
    with pytest.raises(RunError, match="already holds a run; pass --resume"):
        run(nucleo, [har_model], limit=LIMIT, run_dir=reference_run, progress=False)


def test_model_folders_are_found_or_refused_in_one_line(har_model, tmp_path):
    assert find_model_dirs([har_model]) == [har_model]
    assert find_model_dirs([har_model.parent]) == [har_model]
    with pytest.raises(RunError, match="does not exist"):
        find_model_dirs([tmp_path / "nothing"])
    with pytest.raises(RunError, match="holds no model"):
        find_model_dirs([tmp_path])


def test_cli_bad_arguments_are_one_line(tmp_path):
    proc = _run_cli(["--board", "qemu-m4", "--models", str(tmp_path / "missing")])
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err.strip().splitlines() == [f"error: {tmp_path / 'missing'} does not exist; pass model directories "
                                        "or a zoo folder"]


@pytest.mark.emulator
def test_reports_and_compare_on_a_real_run(reference_run):
    from harness.report import write_report
    index = write_report(reference_run)
    assert index.is_file() and (reference_run / "summary.md").is_file()
    same = subprocess.run([sys.executable, "-m", "harness", "compare", str(reference_run), str(reference_run)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    assert same.returncode == 0, same.stdout + same.stderr


def test_export_cli_bad_model_dir_is_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "harness", "export", str(tmp_path)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "is not a model directory" in proc.stderr
