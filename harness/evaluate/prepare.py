"""A model made ready to stream: its export (cached), its test inputs as the device takes them, the host
reference's outputs; and finding the model directories a run names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..model_card import is_model_dir
from .folder import RunError


def find_model_dirs(paths: list[Path]) -> list[Path]:
    """Model directories named directly, or found one level down (a zoo)."""
    found: list[Path] = []
    for p in map(Path, paths):
        if is_model_dir(p):
            found.append(p)
        elif p.is_dir():
            subs = sorted(d for d in p.iterdir() if is_model_dir(d))
            if not subs:
                raise RunError(f"{p} holds no model (no model.json in it or in its subfolders); "
                               "train one with `python -m harness train` or `zoo`")
            found += subs
        else:
            raise RunError(f"{p} does not exist; pass model directories or a zoo folder")
    names = [d.name for d in found]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise RunError(f"two models are named {dup[0]!r}; model folder names must be unique in a run")
    return found


# --------------------------------------------------------------- preparing --

@dataclass
class Prepared:
    """A model ready to stream: arrays by position in the evaluated subset; `indices` are the test-set
    indices of those positions (what the journal records)."""

    name: str
    model_dir: Path
    card: dict[str, Any]
    exported: Any                # harness.export.Exported
    x_device: np.ndarray         # (n, seq, features), int8 or float32
    labels: np.ndarray
    ref_logits: np.ndarray       # real-valued
    ref_pred: np.ndarray
    test_card: dict[str, Any]
    indices: np.ndarray          # test-set index of each position
    source: str                  # the data source evaluated on

    def __post_init__(self):
        self.position = {int(i): k for k, i in enumerate(self.indices)}


def prepare(model_dir: Path, dtype: str, *, limit: int | None, data: str | None = None, splits=None) -> Prepared:
    """The model's export (cached), its test inputs as the device takes them, and the host reference's outputs.

    `data` evaluates on another source's test split (the export is the same: calibrated on the model's
    own training data); its classes must be the model's. `limit` takes a class-stratified subset."""
    from ..data.splits import load_splits, stratified_subset
    from ..export import cached_export
    from ..export.reference import logits_as_float, predict
    from ..model_card import data_source, model_input, read_card
    model_dir = Path(model_dir)
    card = read_card(model_dir)
    own = data_source(card)
    source = own if data is None else str(data)
    if splits is None:
        splits = load_splits(card["task"], source)
    test = splits[2]
    if list(test.classes) != list(card["classes"]):
        raise RunError(f"{source} ({test.name}) has the classes {list(test.classes)}, but {model_dir} was trained "
                       f"on {list(card['classes'])}; evaluate a model on data of its own classes")
    exported = cached_export(model_dir, dtype, splits=splits if source == own else None)
    indices = np.arange(len(test)) if limit is None else stratified_subset(test.y, limit, seed=0)
    x_device = exported.device_input(model_input(card, test.x[indices]))
    n = len(indices)
    ref = np.concatenate([exported.reference(x_device[i:i + 256]) for i in range(0, n, 256)]) if n else np.zeros(0)
    ref_f = logits_as_float(exported.structure, ref)
    return Prepared(model_dir.name, model_dir, card, exported, x_device, np.asarray(test.y[indices]), ref_f,
                    predict(ref_f), test.card(), indices, source)


# ---------------------------------------------------------------- the run --
