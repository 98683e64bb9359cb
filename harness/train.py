"""Training recipes: one model per (task, method, cell), written with its model card.

    python -m harness train --task kws --method kp --cell lstm --out models/kws-kp-lstm

A model directory holds `model.pt` (the state dict) and `model.json` (the model
card: what was trained on what, its size and cost from `compress.summarize`,
its host accuracy, and how to rebuild it). `load_model(dir)` gives the model
back, ready for evaluation.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from . import __version__
from .data.splits import load_splits
from .model_card import CARD_FILE, CARD_VERSION, WEIGHTS_FILE, CardError, read_card, standardize, validate_card
from .names import CELLS, METHODS, TASKS
from .compress import (SequenceClassifier, choose_factors, factors_for_compression, make_linear, set_progress,
                       small_hidden_size, summarize)

# Pruned kinds reach their final density at this fraction of training; a
# checkpoint from before then would be larger than the model claims to be.
PRUNE_END = 0.6


@dataclass(frozen=True)
class Recipe:
    """Training settings; the defaults per task follow the literature (see docs/training.md)."""

    task: str
    cell: str = "lstm"
    hidden: int = 128
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-2               # measured better than 3e-3 for dense and KP alike (docs/training.md)
    patience: int = 8
    kp_compression: float = 15.0   # per matrix, at least (Thakker et al. 2019 report 16-38x per model)
    seed: int = 0
    clip: float = 1.0


DEFAULTS = {
    # Hello Edge's LSTM: 128 cells over 49x10 MFCC.
    "kws": Recipe("kws", hidden=128, epochs=30),
    # A small LSTM on raw 128x9 inertial windows (UCI HAR: 2x32 stacked reaches ~92 %).
    "har": Recipe("har", hidden=32, epochs=40),
}


class TrainError(ValueError):
    """Bad training arguments; one line says what and how to fix it."""


def _check(name: str, value: str, options: tuple[str, ...]) -> None:
    if value not in options:
        raise TrainError(f"unknown {name} {value!r}; use one of {', '.join(options)}")


def kp_factors(in_features: int, out_features: int, recipe: Recipe) -> list[list[int]]:
    return factors_for_compression(out_features, in_features, recipe.kp_compression).as_config()


def kp_weight_budget(in_features: int, out_features: int, recipe: Recipe) -> int:
    """Weights of the recipe's KP layer for a matrix: the budget DKP and the baselines are matched to."""
    return make_linear("kp", in_features, out_features, factors=kp_factors(in_features, out_features, recipe)).weight_count()


def build_model(method: str, cell: str, input_size: int, hidden: int, num_classes: int, seq_len: int,
                recipe: Recipe | None = None) -> SequenceClassifier:
    """The classifier for a compression method, every compressed kind at the KP model's size.

    kp: factors at the recipe's compression per matrix. dkp: the most
    compressed KP factors plus S pruned to the weights left in the same
    budget (the doping idea: a smaller Kronecker part, a sparse correction).
    prune, lowrank: the same budget per matrix. small: a dense classifier
    with no more parameters than the whole KP classifier.
    """
    _check("method", method, METHODS)
    _check("cell", cell, CELLS)
    recipe = recipe or Recipe("custom")
    gates = {"lstm": 4, "gru": 3, "fastgrnn": 1}[cell]
    shapes = {"ih": (input_size, gates * hidden), "hh": (hidden, gates * hidden)}
    budget = {k: kp_weight_budget(*shape, recipe) for k, shape in shapes.items()}
    kind, opts = method, {"ih": {}, "hh": {}}
    if method == "kp":
        opts = {k: {"factors": kp_factors(*shape, recipe)} for k, shape in shapes.items()}
    elif method == "dkp":
        for k, (n_in, n_out) in shapes.items():
            core = choose_factors(n_out, n_in)
            spare = max(0, budget[k] - core.params)
            opts[k] = {"factors": core.as_config(), "prune_end": PRUNE_END,
                       "target_density": max(spare, 1) / (n_in * n_out)}
    elif method == "prune":
        opts = {k: {"budget": budget[k], "prune_end": PRUNE_END} for k in shapes}
    elif method == "lowrank":
        # One rank costs in + out weights, sometimes more than the whole
        # budget at these sizes: then rank 1, the smallest low-rank layer.
        opts = {k: {"rank": max(1, budget[k] // sum(shape))} for k, shape in shapes.items()}
    elif method == "small":
        kp = build_model("kp", cell, input_size, hidden, num_classes, seq_len, recipe)
        total = int(summarize(kp).set_index("name").loc["total", "params"])
        hidden, kind = small_hidden_size(cell, input_size, num_classes, total), "dense"
    return SequenceClassifier(cell, input_size, hidden, num_classes, kind=kind, ih_opts=opts["ih"],
                              hh_opts=opts["hh"], seq_len=seq_len)


def _batches(n: int, batch_size: int, generator: torch.Generator):
    order = torch.randperm(n, generator=generator)
    for i in range(0, n, batch_size):
        yield order[i : i + batch_size]


@torch.no_grad()
def predict(model: nn.Module, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    model.eval()
    out = [model(torch.from_numpy(x[i : i + batch_size])).argmax(1) for i in range(0, len(x), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.int64)


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    return float((predict(model, x) == y).mean()) if len(y) else float("nan")


@dataclass
class History:
    epochs: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = -1
    best_val: float = -1.0
    stopped_early: bool = False


def fit(model: SequenceClassifier, x_train, y_train, x_val, y_val, recipe: Recipe, *, progress: bool = True) -> History:
    """Adam with gradient clipping; keeps the best validation checkpoint; stops after `patience` flat epochs."""
    gen = torch.Generator().manual_seed(recipe.seed)
    opt = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, recipe.epochs))
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    history, best_state, flat = History(), copy.deepcopy(model.state_dict()), 0
    bar = _progress(recipe.epochs, progress)
    for epoch in range(recipe.epochs):
        set_progress(model, epoch / max(1, recipe.epochs - 1))
        model.train()
        total, count = 0.0, 0
        for idx in _batches(len(yt), recipe.batch_size, gen):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), recipe.clip)
            opt.step()
            total += loss.detach().item() * len(idx)
            count += len(idx)
        sched.step()
        val = accuracy(model, x_val, y_val)
        history.epochs.append({"epoch": epoch, "loss": total / max(1, count), "val_acc": val})
        eligible = epoch / max(1, recipe.epochs - 1) >= PRUNE_END or not _prunes(model)
        if eligible and val > history.best_val:
            history.best_val, history.best_epoch, flat = val, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        elif eligible:
            flat += 1
        bar.update(loss=total / max(1, count), val=val)
        if flat >= recipe.patience:
            history.stopped_early = True
            break
    bar.close()
    model.load_state_dict(best_state)
    return history


def _prunes(model: nn.Module) -> bool:
    return any(hasattr(m, "schedule") for m in model.modules())


class _progress:
    """An epoch progress bar (tqdm when available and wanted, else silent)."""

    def __init__(self, total: int, enabled: bool):
        self.bar = None
        if enabled:
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total, unit="epoch", leave=False)
            except ImportError:
                pass

    def update(self, **values):
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.3f}" for k, v in values.items()})
            self.bar.update(1)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def config_hash(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def train(task: str, method: str, out: Path, *, cell: str = "lstm", data: str = "synthetic",
          epochs: int | None = None, hidden: int | None = None, seed: int = 0, progress: bool = True,
          splits=None, init: Path | None = None, lr: float | None = None) -> dict[str, Any]:
    """Train one model and write `model.pt` and `model.json` into `out`; returns the card.

    With `init`, start from that trained model (same task, method, cell and
    shape) and keep its input standardisation: fine-tuning on new data.
    """
    _check("task", task, TASKS)
    _check("method", method, METHODS)
    _check("cell", cell, CELLS)
    recipe = replace(DEFAULTS[task], cell=cell, seed=seed,
                     **({"epochs": epochs} if epochs else {}), **({"hidden": hidden} if hidden else {}),
                     **({"lr": lr} if lr else {}))
    start = None
    if init is not None:
        start = load_model(init)
        prev = start[1]
        if (prev["task"], prev["method"], prev["cell"]) != (task, method, cell):
            raise TrainError(f"--init {init} is a {prev['task']} {prev['method']} {prev['cell']} model; "
                             f"fine-tuning needs {task} {method} {cell}")
        recipe = replace(recipe, hidden=prev["model"]["hidden_size"])
    if recipe.epochs < 1 or recipe.hidden < 1:
        raise TrainError(f"epochs and hidden must be positive, got {recipe.epochs} and {recipe.hidden}")
    # These RNNs are too small for intra-op threads to pay, and two processes
    # that each spin two threads on two cores slow each other down many times.
    torch.set_num_threads(int(os.environ.get("HARNESS_TRAIN_THREADS", "1")))
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.use_deterministic_algorithms(True)
    train_ds, val_ds, test_ds = splits if splits is not None else load_splits(task, data, seed=seed)
    # Per-feature standardisation from the training set; the device applies the same before quantising.
    if start is not None:
        mean = np.asarray(start[1]["input"]["mean"], np.float32)
        std = np.asarray(start[1]["input"]["std"], np.float32)
    else:
        mean = train_ds.x.reshape(-1, train_ds.x.shape[-1]).mean(0)
        std = train_ds.x.reshape(-1, train_ds.x.shape[-1]).std(0) + 1e-6
    norm = lambda x: standardize(x, mean, std)  # noqa: E731
    seq_len, input_size = train_ds.x.shape[1:]
    model = build_model(method, cell, input_size, recipe.hidden, len(train_ds.classes), seq_len, recipe)
    if start is not None:
        if start[1]["classes"] != list(train_ds.classes):
            raise TrainError(f"--init model's classes {start[1]['classes']} differ from the data's {train_ds.classes}")
        model = start[0]
    t0 = time.perf_counter()
    history = fit(model, norm(train_ds.x), train_ds.y, norm(val_ds.x), val_ds.y, recipe, progress=progress)
    seconds = time.perf_counter() - t0
    test_acc = accuracy(model, norm(test_ds.x), test_ds.y)
    table = summarize(model, seq_len=seq_len)
    total = table.set_index("name").loc["total"]
    dense_params = int(summarize(build_model("dense", cell, input_size, recipe.hidden, len(train_ds.classes),
                                             seq_len, recipe)).set_index("name").loc["total", "params"])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out / WEIGHTS_FILE)
    card = {
        "card_version": CARD_VERSION,
        "task": task, "method": method, "cell": cell,
        "model": model.config(),
        "input": {"shape": [int(seq_len), int(input_size)], "mean": mean.tolist(), "std": std.tolist()},
        "classes": list(train_ds.classes),
        "size": {"params": int(total["params"]), "weights": int(total["weights"]), "nnz": int(total["nnz"]),
                 "bytes_fp32": int(total["bytes_fp32"]), "bytes_int8": int(total["bytes_int8"]),
                 "macs_per_step": int(total["macs_step"]), "macs_per_sequence": int(total["macs_seq"]),
                 "dense_params": dense_params, "compression_vs_dense": dense_params / int(total["params"])},
        "layers": json.loads(table.to_json(orient="records")),
        "accuracy": {"validation": history.best_val, "test": test_acc},
        "data": {"train": train_ds.card(), "validation": val_ds.card(), "test": test_ds.card()},
        "training": {"recipe": asdict(recipe), "init": None if init is None else str(init),
                     "init_data": None if start is None else start[1]["data"]["train"]["name"],
                     "epochs_run": len(history.epochs), "best_epoch": history.best_epoch,
                     "stopped_early": history.stopped_early, "seconds": round(seconds, 2),
                     "history": history.epochs, "config_hash": config_hash(_settings(task, method, cell, data, recipe, init))},
        "versions": {"harness": __version__, "torch": torch.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
    }
    validate_card(card)
    (out / CARD_FILE).write_text(json.dumps(card, indent=1) + "\n")
    return card


def _settings(task, method, cell, data, recipe, init=None) -> dict[str, Any]:
    return {"task": task, "method": method, "cell": cell, "data": str(data), "recipe": asdict(recipe),
            "init": None if init is None else str(init), "card_version": CARD_VERSION}


def load_model(model_dir: Path) -> tuple[SequenceClassifier, dict[str, Any]]:
    """The trained model and its card from a directory written by `train`."""
    model_dir = Path(model_dir)
    card = read_card(model_dir)
    model = SequenceClassifier.from_config(card["model"])
    try:
        state = torch.load(model_dir / WEIGHTS_FILE, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except Exception as exc:   # not a checkpoint, cut short, or another model's: torch raises many kinds
        raise CardError(f"{model_dir / WEIGHTS_FILE} is not a checkpoint of the model its card describes "
                        f"({type(exc).__name__}); train the model again") from None
    model.eval()
    return model, card
