"""Parallel runs: `harness run --jobs 2` and `pytest scenarios -n 2 --models` write the run folder a serial
run writes, field by field (timing aside)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from harness.evaluate import read_journal
from procs import default_signals

pytestmark = pytest.mark.emulator

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 30
TIMING = ("host_ms",)


@pytest.fixture(scope="module")
def zoo(har_model, tmp_path_factory):
    """Three small models: the runner's test model and two more methods."""
    from harness import train as tr
    root = tmp_path_factory.mktemp("zoo")
    shutil.copytree(har_model, root / har_model.name)
    for method in ("dense", "small"):
        tr.train("har", method, root / f"har-{method}-lstm", hidden=8, epochs=1, progress=False)
    return root


def _cli(*args, timeout=900):
    r = subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                       preexec_fn=default_signals)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    return r


def _samples(run_dir):
    rows = {}
    for r in read_journal(Path(run_dir) / "samples.jsonl"):
        d = r.to_json()
        for k in TIMING:
            d.pop(k)
        rows[(r.model, r.index, r.warmup)] = d
    return rows


def _summary(run_dir):
    df = pd.read_csv(Path(run_dir) / "summary.csv")
    return df[[c for c in df.columns if "host_ms" not in c]]


def _models(run_dir):
    return json.loads((Path(run_dir) / "models.json").read_text())


@pytest.fixture(scope="module")
def serial(zoo, tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "run"
    _cli("-m", "harness", "run", "--board", "nucleo-f446re", "--models", zoo, "--limit", LIMIT, "--report-dir", out)
    return out


def test_two_jobs_write_what_one_job_writes(zoo, serial, tmp_path):
    out = tmp_path / "run"
    _cli("-m", "harness", "run", "--board", "nucleo-f446re", "--models", zoo, "--limit", LIMIT, "--report-dir", out,
         "--jobs", "2")
    assert _samples(out) == _samples(serial)
    assert _models(out) == _models(serial)
    pd.testing.assert_frame_equal(_summary(out), _summary(serial))
    env, env1 = (json.loads((d / "environment.json").read_text()) for d in (out, serial))
    assert list(env["devices"]) == list(env1["devices"]) == sorted(p.name for p in zoo.iterdir())
    for name in ("index.html", "summary.md", "samples.parquet", "summary.parquet"):
        assert (out / name).is_file()


def test_pytest_with_two_workers_writes_one_run_folder(zoo, serial, tmp_path):
    out = tmp_path / "run"
    _cli("-m", "pytest", "scenarios/test_models.py", "--board=nucleo-f446re", f"--models={zoo}", f"--limit={LIMIT}",
         f"--report-dir={out}", "-n", "2", "-p", "no:cacheprovider")
    assert _samples(out) == _samples(serial)
    assert _models(out) == _models(serial)
    pd.testing.assert_frame_equal(_summary(out), _summary(serial))
    assert not (out / ".workers").exists()
    summary = (out / "summary.md").read_text()
    assert all(f"| {m.name} |" in summary for m in zoo.iterdir()) and "## Scenarios" in summary
    for name in ("index.html", "samples.parquet", "junit.xml"):
        assert (out / name).is_file()
