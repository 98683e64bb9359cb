"""Small classifiers of every method and cell for the export and runtime tests."""

from __future__ import annotations

import numpy as np
import torch

from harness.compress import SequenceClassifier, set_progress
from harness.train import Recipe, build_model

SEQ, FEAT, HIDDEN, CLASSES = 6, 10, 16, 5
EXPORT_METHODS = ("dense", "kp", "dkp", "prune", "lowrank")


def tiny_model(method: str, cell: str, seed: int = 0) -> SequenceClassifier:
    """A model shaped by the training recipes (KP budget matching), pruned to its final density."""
    torch.manual_seed(seed)
    model = build_model(method, cell, FEAT, HIDDEN, CLASSES, SEQ, Recipe("test", kp_compression=4))
    set_progress(model, 1.0)
    _spread_weights(model, seed)
    return model.eval()


def padded_kp_model(cell: str = "lstm") -> SequenceClassifier:
    """KP factors that need a zero-padded input (7 -> 8 columns) and cropped output rows."""
    torch.manual_seed(3)
    rows = {"lstm": 16, "gru": 12}[cell]                      # gates x hidden 4
    ih = {"factors": [[rows // 4, 2], [4, 4]]}                # 8 columns for 7 inputs
    hh = {"factors": [[rows // 4 + 1, 2], [4, 2]]}            # (rows/4 + 1)·4 rows, cropped to rows
    model = SequenceClassifier(cell, 7, 4, 3, kind="kp", ih_opts=ih, hh_opts=hh, seq_len=5)
    _spread_weights(model, 3)
    return model.eval()


def _spread_weights(model, seed):
    # Freshly initialised RNNs saturate little; larger weights exercise the
    # activation tables' whole range and the int16 saturation paths.
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 1:
                p.mul_(1.0 + torch.rand(p.shape, generator=g))


def inputs(n: int, seq: int = SEQ, feat: int = FEAT, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((n, seq, feat)) * 1.5).astype(np.float32)
