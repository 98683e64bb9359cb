"""Export a model directory written by `harness train`, calibrating on its own training data; and the export cache."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..model_card import CARD_FILE, WEIGHTS_FILE, CardError, data_source, model_input, read_card
from ..paths import build_root
from .artefact import ExportError, Exported, load_exported
from .exporter import export_graph

DEFAULT_CALIBRATION = 256
DEFAULT_EVALUATION = 1000


def _subset(n: int, k: int, seed: int) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).permutation(n)[:k]) if k < n else np.arange(n)


def export_model_dir(model_dir: Path, dtype: str, out: Path, *, calibration: int = DEFAULT_CALIBRATION,
                     evaluation: int = DEFAULT_EVALUATION, splits=None, data: str | None = None) -> Exported:
    """Export `model_dir` in `dtype` to `out`. Calibration samples come from the
    training split, accuracy is measured on up to `evaluation` test samples
    (0 skips it) of the model's own data, or of `data`'s test split (the export
    itself does not change: calibration stays on the model's training data)."""
    try:
        read_card(model_dir)   # a bad model directory fails here, before torch is imported
        from ..train import load_model   # torch: only to turn a checkpoint into arrays
        from .from_torch import from_model
        model, card = load_model(model_dir)
    except CardError as exc:
        raise ExportError(str(exc)) from None
    seq_len = card["input"]["shape"][0]
    graph = from_model(model, seq_len)
    calib = evaluate = None
    if dtype == "int8" or evaluation:
        if splits is None:
            splits = _training_splits(model_dir, card)
        train, _, test = splits
        if dtype == "int8":
            calib = model_input(card, train.x[_subset(len(train), calibration, 0)])
        if evaluation:
            if data is not None:
                test = _other_test(model_dir, card, data)
            idx = _subset(len(test), evaluation, 1)
            evaluate = (model_input(card, test.x[idx]), test.y[idx])
    meta = {"source": {"model_dir": str(Path(model_dir).resolve()), "task": card["task"], "method": card["method"],
                       "cell": card["cell"], "classes": card["classes"], "params": card["size"]["params"],
                       "macs_per_sequence": card["size"]["macs_per_sequence"],
                       "config_hash": card["training"]["config_hash"], "test_data": card["data"]["test"]["name"]}}
    if evaluate is not None:
        meta["evaluation_data"] = {"name": test.name, "source": data or data_source(card),
                                   "content_hash": test.content_hash, "n": int(len(test))}
    return export_graph(graph, dtype, out, calibration=calib, meta=meta, evaluate=evaluate,
                        input_norm={"mean": card["input"]["mean"], "std": card["input"]["std"]})


def _training_splits(model_dir: Path, card: dict):
    from ..data.splits import load_splits
    try:
        return load_splits(card["task"], data_source(card))
    except (OSError, ValueError) as exc:
        raise ExportError(f"cannot load the data {model_dir} was trained on ({exc}); "
                          "it is needed to calibrate and to measure accuracy") from None


def _other_test(model_dir: Path, card: dict, data: str):
    """The test split of another data source, refused when its classes are not the model's."""
    from ..data.splits import load_splits
    try:
        test = load_splits(card["task"], data)[2]
    except (OSError, ValueError) as exc:
        raise ExportError(f"cannot load --data {data} ({exc})") from None
    if list(test.classes) != list(card["classes"]):
        raise ExportError(f"{data} ({test.name}) has the classes {list(test.classes)}, but {model_dir} was trained "
                          f"on {list(card['classes'])}; evaluate a model on data of its own classes")
    return test


def default_export_dir(model_dir: Path, dtype: str) -> Path:
    """Where `python -m harness export` writes when no --out is given."""
    return build_root() / "export" / f"{Path(model_dir).resolve().name}-{dtype}"


def cache_key(model_dir: Path, dtype: str) -> str:
    """The model's files, the number format and the exporter's own code: what an export depends on."""
    h = hashlib.sha256(dtype.encode())
    for f in (WEIGHTS_FILE, CARD_FILE):
        h.update((Path(model_dir) / f).read_bytes())
    for f in sorted(Path(__file__).parent.glob("*.py")):
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def cached_export(model_dir: Path, dtype: str, *, splits=None) -> Exported:
    """The export of `model_dir` in `dtype`, reused from build/export/ while the model and the exporter are
    unchanged (as firmware.build reuses images). A hit needs numpy only."""
    model_dir = Path(model_dir)
    try:
        read_card(model_dir)   # a bad card fails here, in one line, before anything is written
    except CardError as exc:
        raise ExportError(str(exc)) from None
    out = build_root() / "export" / f"{model_dir.name}-{dtype}-{cache_key(model_dir, dtype)}"
    try:
        return load_exported(out)
    except ExportError:
        return export_model_dir(model_dir, dtype, out, splits=splits)
