"""`--data SRC`: a model evaluated on another data source than its own, end to end on the emulated
NUCLEO-F446RE; a source whose classes are not the model's is refused in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.data import CHANNELS

ROOT = Path(__file__).resolve().parents[2]
UCI_CHANNELS = ["body_acc_x", "body_acc_y", "body_acc_z", "body_gyro_x", "body_gyro_y", "body_gyro_z",
                "total_acc_x", "total_acc_y", "total_acc_z"]


@pytest.fixture(scope="module")
def uci_har(tmp_path_factory) -> Path:
    """A small folder in the UCI HAR layout: 24 training and 18 test windows of noise, three per class."""
    assert len(UCI_CHANNELS) == len(CHANNELS)
    root = tmp_path_factory.mktemp("uci") / "UCI HAR Dataset"
    rng = np.random.default_rng(0)
    for split, n, subjects in (("train", 24, (1, 3)), ("test", 18, (2, 4))):
        sig = root / split / "Inertial Signals"
        sig.mkdir(parents=True)
        for ch in UCI_CHANNELS:
            np.savetxt(sig / f"{ch}_{split}.txt", 0.3 * rng.standard_normal((n, 128)), fmt="%.6e")
        np.savetxt(root / split / f"y_{split}.txt", (np.arange(n) % 6 + 1)[:, None], fmt="%d")
        np.savetxt(root / split / f"subject_{split}.txt", np.repeat(subjects, n // 2)[:, None], fmt="%d")
    (root / "activity_labels.txt").write_text("1 WALKING\n2 WALKING_UPSTAIRS\n3 WALKING_DOWNSTAIRS\n"
                                              "4 SITTING\n5 STANDING\n6 LAYING\n")
    return root.parent


def _harness(*args):
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.emulator
def test_a_model_runs_on_another_data_source(har_model, uci_har, tmp_path):
    out = tmp_path / "run"
    r = _harness("run", "--board", "nucleo-f446re", "--models", har_model, "--data", uci_har, "--limit", 12,
                 "--report-dir", out)
    assert r.returncode == 0, r.stderr[-2000:]
    record = json.loads((out / "models.json").read_text())["models"][har_model.name]
    assert record["test_set"]["source"] == str(uci_har) and record["test_set"]["name"].startswith("uci-har")
    indices = record["test_set"]["indices"]
    assert len(indices) == 12 and record["test_set"]["n"] == 18
    labels = [json.loads(line)["label"] for line in (out / "samples.jsonl").read_text().splitlines()
              if not json.loads(line)["warmup"]]
    assert sorted(np.bincount(labels, minlength=6)) == [2, 2, 2, 2, 2, 2]   # class-stratified: two of each
    assert f"from {uci_har}" in (out / "summary.md").read_text()


def test_export_measures_on_another_data_source(har_model, uci_har, tmp_path):
    r = _harness("export", har_model, "--dtype", "int8", "--data", uci_har, "--out", tmp_path / "e")
    assert r.returncode == 0, r.stderr[-2000:]
    manifest = json.loads((tmp_path / "e" / "manifest.json").read_text())
    assert manifest["evaluation_data"]["source"] == str(uci_har) and manifest["host_accuracy"]["samples"] == 18
    own = _harness("export", har_model, "--dtype", "int8", "--out", tmp_path / "own")
    assert own.returncode == 0
    # Calibration stays on the model's own training data: the same export, the same model hash.
    assert json.loads((tmp_path / "own" / "manifest.json").read_text())["model_hash"] == manifest["model_hash"]


def test_a_data_source_with_other_classes_is_refused_in_one_line(har_model, uci_har, tmp_path):
    """A model of other classes (its card says so) against a UCI HAR folder: both class lists in one line,
    and no run folder left behind."""
    other = tmp_path / "other-model"
    other.mkdir()
    (other / "model.pt").write_bytes((har_model / "model.pt").read_bytes())
    card = json.loads((har_model / "model.json").read_text())
    card["classes"] = [f"other-{i}" for i in range(len(card["classes"]))]
    (other / "model.json").write_text(json.dumps(card))
    r = _harness("run", "--board", "nucleo-f446re", "--models", other, "--data", uci_har, "--limit", 5,
                 "--report-dir", tmp_path / "run")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert "has the classes ['walking'" in lines[0] and "'other-0'" in lines[0], lines[0]
    assert "evaluate a model on data of its own classes" in lines[0]
    assert not (tmp_path / "run").exists()
