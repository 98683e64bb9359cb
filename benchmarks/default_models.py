"""The models the kernel benchmarks time: the default KWS and HAR shapes (docs/training.md), random
weights at the recipes' factor shapes and final densities, and the inputs they are calibrated on."""

from __future__ import annotations

import numpy as np

SHAPES = {"kws": (49, 10, 12), "har": (128, 9, 6)}   # seq_len, features, classes


def calibration_inputs(task: str) -> np.ndarray:
    seq, feat, _ = SHAPES[task]
    return np.random.default_rng(0).standard_normal((64, seq, feat)).astype(np.float32)


def random_model(task: str, method: str):
    """The model (eval mode, sparsity at its final density) and its size table (`summarize`, by layer name)."""
    import torch
    from harness.compress import set_progress, summarize
    from harness.train import DEFAULTS, build_model
    seq, feat, classes = SHAPES[task]
    recipe = DEFAULTS[task]
    torch.manual_seed(0)
    model = build_model(method, "lstm", feat, recipe.hidden, classes, seq, recipe)
    set_progress(model, 1.0)
    model.eval()
    return model, summarize(model, seq_len=seq).set_index("name")
