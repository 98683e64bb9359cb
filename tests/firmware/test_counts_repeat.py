"""Emulated counts are a zero-tolerance regression gate: the same image and inputs give the same
instruction count for every sample on every run, at the runner's default pipeline depth (the next
request's bytes arrive while the device computes; counter.h says how the window excludes them)."""

import pytest

from harness.boards import get_board
from harness.device import plan_device
from harness.evaluate import read_journal, run
from harness.evaluate.runner import PIPELINE_DEPTH

pytestmark = pytest.mark.emulator

LIMIT = 30


@pytest.fixture(scope="module")
def tiny_har_model(tmp_path_factory):
    from harness import train as tr
    out = tmp_path_factory.mktemp("models") / "har-kp-lstm"
    tr.train("har", "kp", out, hidden=8, epochs=1, progress=False)
    return out


def _counts(run_dir):
    rows = [r for r in read_journal(run_dir / "samples.jsonl") if not r.warmup]
    return {r.index: r.counter for r in rows}


@pytest.mark.parametrize("board", ["qemu-m4", "nucleo-f446re"])
def test_two_runs_give_identical_per_sample_counts(board, tiny_har_model, tmp_path):
    assert PIPELINE_DEPTH > 1   # the case that used to move: a request in flight during the inference
    runs = [run(plan_device(get_board(board)), [tiny_har_model], limit=LIMIT, run_dir=tmp_path / f"run{i}", progress=False, log=lambda *_: None)
            for i in range(2)]
    first, second = (_counts(r) for r in runs)
    assert len(first) == LIMIT
    assert first == second
    assert min(first.values()) > 0
