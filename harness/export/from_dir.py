"""Export a model directory written by `harness train`, calibrating on its own training data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .exporter import ExportError, Exported, export_graph
from .graph import from_model

DEFAULT_CALIBRATION = 256
DEFAULT_EVALUATION = 1000


def card_data_source(card: dict[str, Any]) -> str:
    """The `--data` value a model was trained with: 'synthetic' or a folder."""
    train = card["data"]["train"]
    return "synthetic" if train["synthetic"] else str(train["source"])


def _subset(n: int, k: int, seed: int) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).permutation(n)[:k]) if k < n else np.arange(n)


def export_model_dir(model_dir: Path, dtype: str, out: Path, *, calibration: int = DEFAULT_CALIBRATION,
                     evaluation: int = DEFAULT_EVALUATION, splits=None) -> Exported:
    """Export `model_dir` in `dtype` to `out`. Calibration samples come from the
    training split, accuracy is measured on up to `evaluation` test samples
    (0 skips it)."""
    from ..train import TrainError, load_model, load_splits, model_input
    try:
        model, card = load_model(model_dir)
    except TrainError as exc:
        raise ExportError(str(exc)) from None
    seq_len = card["input"]["shape"][0]
    graph = from_model(model, seq_len)
    calib = evaluate = None
    if dtype == "int8" or evaluation:
        if splits is None:
            try:
                splits = load_splits(card["task"], card_data_source(card))
            except (OSError, ValueError) as exc:
                raise ExportError(f"cannot load the data {model_dir} was trained on ({exc}); "
                                  "it is needed to calibrate and to measure accuracy") from None
        train, _, test = splits
        if dtype == "int8":
            calib = model_input(card, train.x[_subset(len(train), calibration, 0)])
        if evaluation:
            idx = _subset(len(test), evaluation, 1)
            evaluate = (model_input(card, test.x[idx]), test.y[idx])
    meta = {"source": {"model_dir": str(Path(model_dir).resolve()), "task": card["task"], "method": card["method"],
                       "cell": card["cell"], "classes": card["classes"], "params": card["size"]["params"],
                       "macs_per_sequence": card["size"]["macs_per_sequence"],
                       "config_hash": card["training"]["config_hash"], "test_data": card["data"]["test"]["name"]}}
    return export_graph(graph, dtype, out, calibration=calib, meta=meta, evaluate=evaluate,
                        input_norm={"mean": card["input"]["mean"], "std": card["input"]["std"]})
