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
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import __version__
from .data.splits import load_splits
from .model_card import CARD_FILE, CARD_VERSION, WEIGHTS_FILE, CardError, read_card, standardize, validate_card
from .choices import CELLS, METHODS, TASKS
from .compress import (SequenceClassifier, choose_factors, factors_for_compression, make_linear, set_progress,
                       small_hidden_size, summarize)

# Pruned kinds reach their final density at this fraction of training; a
# checkpoint from before then would be larger than the model claims to be.
PRUNE_END = 0.6
# Data splits are drawn with this seed whatever the model's seed, so every seed is tested on the same samples.
SPLIT_SEED = 0


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
    schedule: str = "cosine"       # "cosine" (one decay) or "restarts" (cosine with warm restarts, `cycles` of them)
    cycles: int = 1
    init: str = "random"           # "dense": compressed kinds start from the trained dense model (Van Loan, SVD, residual)
    distill: float = 0.0           # weight of the dense teacher's soft targets in the loss (0: no teacher)
    temperature: float = 2.0       # of the soft targets
    augment: bool = False          # KWS: audio augmentation re-featurised every epoch (harness/data/augment.py)
    prune_end: float = PRUNE_END   # pruned kinds reach their final density at this fraction of training
    s_dropout: float = 0.5         # DKP: co-matrix dropout on S's output
    restandardize: bool = False    # fine-tuning: standardise with the new training data, not the init model's figures
    dkp_core: float = 0.0          # DKP: compression of the Kronecker core per matrix (0: the most the rule allows)
    kp_shapes: tuple = ()          # KP: explicit factors per matrix, (("ih", [[m1, n1], [m2, n2]]), ("hh", ...))
    time_mask: int = 0             # with augment: one span of up to this many frames set to the mean (SpecAugment)
    mix: str = ""                  # another source whose training split joins this one's (e.g. synthetic speech)
    mix_repeat: int = 1            # with mix: this source's training split counted this many times


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
        explicit = dict(recipe.kp_shapes)
        opts = {k: {"factors": [list(f) for f in explicit[k]] if k in explicit else kp_factors(*shape, recipe)}
                for k, shape in shapes.items()}
        for k, (n_in, n_out) in ((k, shapes[k]) for k in explicit):
            weights = make_linear("kp", n_in, n_out, factors=opts[k]["factors"]).weight_count()
            if n_in * n_out / weights < recipe.kp_compression:
                raise TrainError(f"kp_shapes for {k} compress {n_out}x{n_in} {n_in * n_out / weights:.1f}x, "
                                 f"less than the recipe's {recipe.kp_compression:g}x")
    elif method == "dkp":
        for k, (n_in, n_out) in shapes.items():
            core = (factors_for_compression(n_out, n_in, recipe.dkp_core) if recipe.dkp_core
                    else choose_factors(n_out, n_in))
            spare = max(0, budget[k] - core.params)
            opts[k] = {"factors": core.as_config(), "prune_end": recipe.prune_end, "s_dropout": recipe.s_dropout,
                       "target_density": max(spare, 1) / (n_in * n_out)}
    elif method == "prune":
        opts = {k: {"budget": budget[k], "prune_end": recipe.prune_end} for k in shapes}
    elif method == "lowrank":
        # One rank costs in + out weights, sometimes more than the whole
        # budget at these sizes: then rank 1, the smallest low-rank layer.
        opts = {k: {"rank": max(1, budget[k] // sum(shape))} for k, shape in shapes.items()}
    elif method in ("prune-bytes", "lowrank-bytes"):
        kind = method.split("-")[0]
        opts = _byte_budget_opts(kind, cell, input_size, hidden, num_classes, seq_len, recipe, shapes)
    elif method == "small":
        kp = build_model("kp", cell, input_size, hidden, num_classes, seq_len, recipe)
        total = int(summarize(kp).set_index("name").loc["total", "params"])
        hidden, kind = small_hidden_size(cell, input_size, num_classes, total), "dense"
    return SequenceClassifier(cell, input_size, hidden, num_classes, kind=kind, ih_opts=opts["ih"],
                              hh_opts=opts["hh"], seq_len=seq_len)


def _total(model: nn.Module, column: str) -> int:
    return int(summarize(model).set_index("name").loc["total", column])


def _byte_budget_opts(kind: str, cell: str, input_size: int, hidden: int, num_classes: int, seq_len: int,
                      recipe: Recipe, shapes: dict) -> dict:
    """Layer options for pruning or low rank at the KP model's int8 flash bytes (`flash_int8`, whole model).

    Pruning: every stored weight costs 3 bytes (value and 16-bit column
    index) on top of a fixed cost per row; the weights the budget leaves are
    shared between the two matrices in proportion to their dense sizes.
    Low rank: the pair of ranks storing the most weights within the budget.
    Raises TrainError when even the smallest such model is over the budget.
    """
    budget = _total(build_model("kp", cell, input_size, hidden, num_classes, seq_len, recipe), "flash_int8")

    def model(opts):
        return SequenceClassifier(cell, input_size, hidden, num_classes, kind=kind, ih_opts=opts["ih"],
                                  hh_opts=opts["hh"], seq_len=seq_len)

    if kind == "prune":
        smallest = {k: {"budget": 1, "prune_end": recipe.prune_end} for k in shapes}
        m = model(smallest)
        set_progress(m, 1.0)
        floor_bytes = _total(m, "flash_int8")
        spare = (budget - floor_bytes) // 3 + 2   # the two weights of the smallest model are already paid for
        if spare < 2:
            raise TrainError(f"prune-bytes: the smallest pruned {cell} model takes {floor_bytes} bytes of int8 flash "
                             f"(per-row scales, requantization and row pointers), more than the KP model's {budget}")
        dense = {k: a * b for k, (a, b) in shapes.items()}
        ih = max(1, min(dense["ih"], spare * dense["ih"] // sum(dense.values())))
        keep = {"ih": ih, "hh": max(1, min(dense["hh"], spare - ih))}
        return {k: {"budget": keep[k], "prune_end": recipe.prune_end} for k in shapes}
    best = None
    for r_ih in range(1, min(shapes["ih"]) + 1):
        for r_hh in range(1, min(shapes["hh"]) + 1):
            opts = {"ih": {"rank": r_ih}, "hh": {"rank": r_hh}}
            m = model(opts)
            size = _total(m, "flash_int8")
            if size > budget:
                if r_hh == 1 and r_ih == 1:
                    raise TrainError(f"lowrank-bytes: the rank-1 {cell} model takes {size} bytes of int8 flash "
                                     f"(per-row scales and requantization), more than the KP model's {budget}")
                break
            weights = _total(m, "weights")
            if best is None or weights > best[0]:
                best = (weights, opts)
    return best[1]


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


def _scheduler(opt, recipe: Recipe):
    if recipe.schedule == "restarts":
        period = max(1, recipe.epochs // max(1, recipe.cycles))
        return torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=period)
    return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, recipe.epochs))


def _distill_loss(logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Hinton et al.'s soft-target term, T² · KL(teacher ‖ student) at temperature T."""
    t = temperature
    return F.kl_div(F.log_softmax(logits / t, dim=1), F.log_softmax(teacher_logits / t, dim=1),
                    reduction="batchmean", log_target=True) * (t * t)


def fit(model: SequenceClassifier, x_train, y_train, x_val, y_val, recipe: Recipe, *, progress: bool = True,
        teacher: nn.Module | None = None, epoch_inputs=None) -> History:
    """Adam with gradient clipping; keeps the best validation checkpoint; stops after `patience` flat epochs.

    Pruned kinds follow their density schedule step by step, reaching the
    final density at `recipe.prune_end` of the steps; only epochs that end
    at or after that point can be kept, and the last epoch always does, so
    even a one-epoch run yields a model of the size it claims.
    `teacher`: a trained model whose soft targets are mixed into the loss
    with weight `recipe.distill`. `epoch_inputs(epoch)`: the training inputs
    of an epoch (augmented), else `x_train` every epoch.
    """
    gen = torch.Generator().manual_seed(recipe.seed)
    opt = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    sched = _scheduler(opt, recipe)
    loss_fn = nn.CrossEntropyLoss()
    yt = torch.from_numpy(y_train)
    history, best_state, flat = History(), copy.deepcopy(model.state_dict()), 0
    bar = _progress(recipe.epochs, progress)
    prunes = _prunes(model)
    steps_per_epoch = max(1, -(-len(yt) // recipe.batch_size))
    total_steps, step = recipe.epochs * steps_per_epoch, 0
    alpha = recipe.distill if teacher is not None else 0.0
    if teacher is not None:
        teacher.eval()
    for epoch in range(recipe.epochs):
        xt = torch.from_numpy(epoch_inputs(epoch) if epoch_inputs is not None else x_train)
        model.train()
        total, count = 0.0, 0
        for idx in _batches(len(yt), recipe.batch_size, gen):
            if prunes:
                set_progress(model, min(1.0, step / max(1, total_steps - 1)))
            opt.zero_grad(set_to_none=True)
            xb = xt[idx]
            logits = model(xb)
            loss = loss_fn(logits, yt[idx])
            if alpha:
                with torch.no_grad():
                    soft = teacher(xb)
                loss = (1 - alpha) * loss + alpha * _distill_loss(logits, soft, recipe.temperature)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), recipe.clip)
            opt.step()
            total += loss.detach().item() * len(idx)
            count += len(idx)
            step += 1
        if prunes:
            set_progress(model, min(1.0, step / max(1, total_steps - 1)))
        sched.step()
        val = accuracy(model, x_val, y_val)
        history.epochs.append({"epoch": epoch, "loss": total / max(1, count), "val_acc": val})
        eligible = not prunes or _at_final_density(model)
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


def _at_final_density(model: nn.Module) -> bool:
    """Every scheduled layer keeps no more entries than its final density allows."""
    from .compress.sparsity import kept_count
    return all(int(m.mask.sum()) <= kept_count(m.schedule.final, m.mask.numel())
               for m in model.modules() if hasattr(m, "schedule"))


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


def make_recipe(task: str, *, cell: str = "lstm", seed: int = 0, epochs: int | None = None,
                hidden: int | None = None, lr: float | None = None, **overrides) -> Recipe:
    """The task's default recipe with the given fields changed (None keeps the default)."""
    _check("task", task, TASKS)
    changes = {k: v for k, v in dict(epochs=epochs, hidden=hidden, lr=lr, **overrides).items() if v is not None}
    unknown = sorted(set(changes) - {f.name for f in fields(Recipe)})
    if unknown:
        raise TrainError(f"unknown recipe setting {unknown[0]!r}; known: {', '.join(f.name for f in fields(Recipe))}")
    return replace(DEFAULTS[task], cell=cell, seed=seed, **changes)


# What each method's recipe changes from the task's defaults (measured in docs/training.md); "*" is every task.
# Every compressed kind but DKP starts from the trained dense model of its seed (Van Loan factors, SVD,
# magnitude pruning from the dense weights) and learns from its soft targets (distillation,
# weight 0.5, temperature 2) at a lower learning rate; the smaller dense network cannot start from it, so it
# only distils. From a random start KP's accuracy depends on the draw by 12 points (docs/training.md).
# DKP keeps the task's recipe (random start, S from zero, pruned on its schedule): the same start from the
# dense model cost it 8 points on HAR and 3 on KWS (docs/training.md).
_FROM_TEACHER = {"init": "dense", "distill": 0.5, "lr": 3e-3}
METHOD_RECIPES: dict[tuple[str, str], dict[str, Any]] = {
    **{("*", m): _FROM_TEACHER for m in ("kp", "prune", "lowrank", "prune-bytes", "lowrank-bytes")},
    ("*", "small"): {"distill": 0.5},
}
# Fine-tuning a trained model on new data (`init`): what changes from the method's recipe.
FINETUNE: dict[str, dict[str, Any]] = {"kws": {"epochs": 30, "augment": True}, "har": {"epochs": 10}}


def recipe_for(task: str, method: str, *, cell: str = "lstm", seed: int = 0, epochs: int | None = None,
               hidden: int | None = None, finetune: bool = False, overrides: dict | None = None) -> Recipe:
    """The recipe `train` and the zoo use for a method: task defaults, the method's changes, fine-tuning's,
    then `overrides` (recipe field -> value, e.g. from `train --set`)."""
    _check("task", task, TASKS)
    _check("method", method, METHODS)
    changes = {**METHOD_RECIPES.get(("*", method), {}), **METHOD_RECIPES.get((task, method), {})}
    if finetune:
        changes.update(FINETUNE.get(task, {}))
    changes.update(overrides or {})
    changes.update({k: v for k, v in (("epochs", epochs), ("hidden", hidden)) if v is not None})
    return make_recipe(task, cell=cell, seed=seed, **changes)


def parse_settings(items) -> dict[str, Any]:
    """`KEY=VALUE` strings (the `--set` option) as recipe overrides; values are Python literals, else text."""
    import ast
    out = {}
    names = {f.name for f in fields(Recipe)}
    for item in items or ():
        key, sep, value = str(item).partition("=")
        if not sep or key not in names:
            raise TrainError(f"--set takes KEY=VALUE with KEY a recipe setting ({', '.join(sorted(names))}); got {item!r}")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def needs_teacher(method: str, recipe: Recipe) -> bool:
    """Whether this method's recipe starts from, or distils from, the trained dense model."""
    return method not in ("dense",) and (recipe.distill > 0 or (recipe.init == "dense" and method != "small"))


def teacher_recipe(task: str, recipe: Recipe, *, epochs: int | None = None, finetune: bool = False) -> Recipe:
    """The recipe of the dense model a compressed one learns from: the dense recipe of the same
    cell, seed and hidden size (and the same epoch override)."""
    return recipe_for(task, "dense", cell=recipe.cell, seed=recipe.seed, epochs=epochs, hidden=recipe.hidden,
                      finetune=finetune)


def _from_dense(model: SequenceClassifier, dense: SequenceClassifier) -> SequenceClassifier:
    """`model` with its cell matrices converted from the trained dense model's, and the dense head and biases."""
    from .compress import convert_linear
    for name in ("ih", "hh"):
        layer = getattr(model.cell, name)
        if layer.kind == "dense":
            continue
        opts = layer.config()
        if layer.kind == "prune":
            opts = {k: v for k, v in opts.items() if k != "target_density"} | {"target_density": layer.schedule.final}
        setattr(model.cell, name, convert_linear(layer.kind, getattr(dense.cell, name), **opts))
    model.head.load_state_dict(dense.head.state_dict())
    return model


def accuracy_record(correct: np.ndarray) -> dict[str, Any]:
    """Accuracy, sample count, 95 % Wilson interval and the per-sample correctness (bits, base64) of one split."""
    import base64
    from .stats import wilson_interval
    correct = np.asarray(correct, bool)
    k, n = int(correct.sum()), int(correct.size)
    lo, hi = wilson_interval(k, n)
    return {"accuracy": k / n if n else 0.0, "n": n, "correct": k, "ci95": [lo, hi],
            "per_sample": base64.b64encode(np.packbits(correct).tobytes()).decode("ascii")}


def per_sample_correct(record: dict[str, Any]) -> np.ndarray:
    """The boolean per-sample correctness stored by `accuracy_record` (test-set order)."""
    import base64
    bits = np.frombuffer(base64.b64decode(record["per_sample"]), np.uint8)
    return np.unpackbits(bits)[: record["n"]].astype(bool)


def train(task: str, method: str, out: Path, *, cell: str = "lstm", data: str = "synthetic",
          epochs: int | None = None, hidden: int | None = None, seed: int = 0, progress: bool = True,
          splits=None, init: Path | None = None, lr: float | None = None, teacher: Path | None = None,
          recipe: Recipe | None = None, overrides: dict | None = None) -> dict[str, Any]:
    """Train one model and write `model.pt` and `model.json` into `out`; returns the card.

    With `init`, start from that trained model (same task, method, cell and
    shape) and keep its input standardisation: fine-tuning on new data.
    `teacher`: the trained dense model this one starts from or distils from,
    when its recipe asks for one (`needs_teacher`); without it, the teacher
    is trained first (or reused) in the cache. `recipe` replaces the task's
    default recipe (epochs, hidden, lr and seed still override it).
    The data split never depends on `seed`: seeds vary the model, and all
    seeds are tested on the same samples.
    """
    _check("task", task, TASKS)
    _check("method", method, METHODS)
    _check("cell", cell, CELLS)
    base = recipe if recipe is not None else recipe_for(task, method, cell=cell, finetune=init is not None,
                                                        overrides=overrides)
    recipe = replace(base, cell=cell, seed=seed,
                     **({"epochs": epochs} if epochs else {}), **({"hidden": hidden} if hidden else {}),
                     **({"lr": lr} if lr else {}))
    start = _start_from(init, task, method, cell)
    if start is not None and method != "small":   # small's hidden size is derived from the recipe's
        recipe = replace(recipe, hidden=start[1]["model"]["hidden_size"])
    if recipe.epochs < 1 or recipe.hidden < 1:
        raise TrainError(f"epochs and hidden must be positive, got {recipe.epochs} and {recipe.hidden}")
    # These RNNs are too small for intra-op threads to pay, and two processes
    # that each spin two threads on two cores slow each other down many times.
    torch.set_num_threads(int(os.environ.get("HARNESS_TRAIN_THREADS", "1")))
    torch.use_deterministic_algorithms(True)
    train_ds, val_ds, test_ds = splits if splits is not None else load_splits(task, data, seed=SPLIT_SEED)
    tmodel, tcard = None, None
    if needs_teacher(method, recipe):
        teacher = _teacher_dir(teacher, init, task, cell, data, recipe, epochs, (train_ds, val_ds, test_ds), progress)
        tmodel, tcard = _load_teacher(teacher, task, cell)
    torch.manual_seed(seed)
    np.random.seed(seed)
    mean, std = _standardisation(train_ds, recipe, start, tcard)
    norm = lambda x: standardize(x, mean, std)  # noqa: E731
    seq_len, input_size = train_ds.x.shape[1:]
    model = _initial_model(method, cell, input_size, seq_len, train_ds.classes, recipe, start, tmodel)
    mix_ds = load_splits(task, recipe.mix, seed=SPLIT_SEED)[0] if recipe.mix else None
    repeat = max(1, recipe.mix_repeat) if mix_ds is not None else 1
    x_fit = np.concatenate([norm(train_ds.x)] * repeat + ([norm(mix_ds.x)] if mix_ds is not None else []))
    y_fit = np.concatenate([train_ds.y] * repeat + ([mix_ds.y] if mix_ds is not None else []))
    epoch_inputs = _augmenter(train_ds, recipe, norm, mix_ds) if recipe.augment else None
    t0 = time.perf_counter()
    history = fit(model, x_fit, y_fit, norm(val_ds.x), val_ds.y, recipe, progress=progress,
                  teacher=tmodel if recipe.distill > 0 else None, epoch_inputs=epoch_inputs)
    seconds = time.perf_counter() - t0
    if history.best_epoch < 0:  # cannot happen with the schedule above; never write a card that lies
        raise TrainError(f"no epoch of {recipe.epochs} ended at the final density; train for more epochs")
    init_hash = None if start is None else start[1]["training"]["config_hash"]
    teacher_hash = None if tcard is None else tcard["training"]["config_hash"]
    card = {
        "card_version": CARD_VERSION,
        "task": task, "method": method, "cell": cell,
        "model": model.config(),
        "input": {"shape": [int(seq_len), int(input_size)], "mean": mean.tolist(), "std": std.tolist()},
        "classes": list(train_ds.classes),
        **_size_and_layers(model, cell, input_size, seq_len, len(train_ds.classes), recipe),
        "accuracy": _accuracies(model, norm, val_ds, test_ds),
        "data": {"train": train_ds.card(), "validation": val_ds.card(), "test": test_ds.card(),
                 **({"mix": mix_ds.card()} if mix_ds is not None else {})},
        "training": {"recipe": asdict(recipe), "init": None if init is None else str(init), "init_hash": init_hash,
                     "init_data": None if start is None else start[1]["data"]["train"]["name"],
                     "teacher": _beside(teacher, out), "teacher_hash": teacher_hash,
                     "epochs_run": len(history.epochs), "best_epoch": history.best_epoch,
                     "stopped_early": history.stopped_early, "seconds": round(seconds, 2),
                     "history": history.epochs,
                     "config_hash": config_hash(_settings(task, method, cell, data, recipe, init_hash, teacher_hash))},
        "versions": {"harness": __version__, "torch": torch.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
    }
    card = json.loads(json.dumps(card))   # plain JSON types (tuples of the recipe become lists), as read back
    validate_card(card)   # before anything is written: a failed run leaves no folder behind
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out / WEIGHTS_FILE)
    (out / CARD_FILE).write_text(json.dumps(card, indent=1) + "\n")
    return card


def _start_from(init: Path | None, task: str, method: str, cell: str):
    """The model (and its card) that fine-tuning starts from, checked to be of the same kind; None without `init`."""
    if init is None:
        return None
    start = load_model(init)
    prev = start[1]
    if (prev["task"], prev["method"], prev["cell"]) != (task, method, cell):
        raise TrainError(f"--init {init} is a {prev['task']} {prev['method']} {prev['cell']} model; "
                         f"fine-tuning needs {task} {method} {cell}")
    return start


def _teacher_dir(teacher, init, task, cell, data, recipe, epochs, splits, progress) -> Path:
    """The dense teacher's directory: the one given, else one trained (or reused) in the cache."""
    if teacher is not None:
        return teacher
    if init is not None:
        raise TrainError("this recipe learns from a dense teacher; with --init, pass --teacher DIR "
                         "(the dense model fine-tuned the same way)")
    return ensure_teacher(task, cell, data, teacher_recipe(task, recipe, epochs=epochs), splits=splits,
                          progress=progress)


def _load_teacher(teacher: Path, task: str, cell: str):
    model, card = load_model(teacher)
    if card["method"] != "dense" or (card["task"], card["cell"]) != (task, cell):
        raise TrainError(f"--teacher {teacher} is a {card['task']} {card['method']} {card['cell']} model; "
                         f"it must be a dense {task} {cell} model")
    return model, card


def _standardisation(train_ds, recipe: Recipe, start, tcard) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and std the inputs are standardised with (the device applies the same before
    quantising): kept from the model fine-tuned or the teacher, else from the training set."""
    if start is not None and not recipe.restandardize:
        card = start[1]
    elif tcard is not None:
        card = tcard
    else:
        flat = train_ds.x.reshape(-1, train_ds.x.shape[-1])
        return flat.mean(0), flat.std(0) + 1e-6
    return np.asarray(card["input"]["mean"], np.float32), np.asarray(card["input"]["std"], np.float32)


def _initial_model(method, cell, input_size, seq_len, classes, recipe: Recipe, start, tmodel) -> SequenceClassifier:
    """The model training starts from: the one fine-tuned, the teacher's weights factored (recipe.init ==
    "dense"), or a fresh one."""
    model = build_model(method, cell, input_size, recipe.hidden, len(classes), seq_len, recipe)
    if start is not None:
        if start[1]["classes"] != list(classes):
            raise TrainError(f"--init model's classes {start[1]['classes']} differ from the data's {classes}")
        return start[0]
    if tmodel is not None and recipe.init == "dense" and method != "small":
        if tmodel.cell.hidden_size != recipe.hidden:
            raise TrainError(f"the teacher's hidden size {tmodel.cell.hidden_size} differs from the "
                             f"recipe's {recipe.hidden}; a compressed model starts from a dense one of its shape")
        return _from_dense(model, tmodel)
    return model


def _size_and_layers(model, cell, input_size, seq_len, num_classes, recipe: Recipe) -> dict[str, Any]:
    """The card's `size` (with the dense model of the same shape as the reference) and `layers`."""
    table = summarize(model, seq_len=seq_len)
    total = table.set_index("name").loc["total"]
    dense_params = int(summarize(build_model("dense", cell, input_size, recipe.hidden, num_classes,
                                             seq_len, recipe)).set_index("name").loc["total", "params"])
    size = {"params": int(total["params"]), "weights": int(total["weights"]), "nnz": int(total["nnz"]),
            "bytes_fp32": int(total["bytes_fp32"]), "bytes_int8": int(total["bytes_int8"]),
            "flash_int8": int(total["flash_int8"]),
            "macs_per_step": int(total["macs_step"]), "macs_per_sequence": int(total["macs_seq"]),
            "dense_params": dense_params, "compression_vs_dense": dense_params / int(total["params"])}
    return {"size": size, "layers": json.loads(table.to_json(orient="records"))}


def _accuracies(model, norm, val_ds, test_ds) -> dict[str, Any]:
    val_rec = accuracy_record(predict(model, norm(val_ds.x)) == val_ds.y)
    test_rec = accuracy_record(predict(model, norm(test_ds.x)) == test_ds.y)
    return {"validation": val_rec["accuracy"], "test": test_rec["accuracy"],
            "validation_detail": val_rec, "test_detail": test_rec}


def _beside(path: Path | None, out: Path) -> str | None:
    """A teacher's directory as the card records it: its name when it sits beside the model (a zoo), else the path."""
    if path is None:
        return None
    path = Path(path)
    return path.name if path.resolve().parent == Path(out).resolve().parent else str(path)


def _augmenter(train_ds, recipe: Recipe, norm, mix_ds=None):
    """Per-epoch inputs: the training split (repeated `mix_repeat` times with a mix), then the mixed-in split,
    each clip freshly augmented; the mixed-in clips also draw on this split's noise recordings."""
    if train_ds.task != "kws":
        raise TrainError("augment applies to keyword spotting only (audio augmentation)")
    from .data.augment import KwsAugment
    augs = [KwsAugment.for_dataset(train_ds)] * (max(1, recipe.mix_repeat) if mix_ds is not None else 1)
    if mix_ds is not None:
        other = KwsAugment.for_dataset(mix_ds)
        other.noises = other.noises + augs[0].noises
        augs.append(other)
    rng = np.random.default_rng([recipe.seed, 7])

    def epoch_inputs(epoch: int) -> np.ndarray:
        x = norm(np.concatenate([a.epoch(rng) for a in augs]))
        if recipe.time_mask:
            n, frames = x.shape[:2]
            width = rng.integers(0, recipe.time_mask + 1, n)
            start = rng.integers(0, frames, n)
            t = np.arange(frames)
            x[(t >= start[:, None]) & (t < (start + width)[:, None])] = 0.0
        return x

    return epoch_inputs


def data_key(data: str) -> str:
    """The data source as the configuration hash records it: 'synthetic' or the folder's absolute path."""
    return str(data) if str(data) == "synthetic" else str(Path(data).expanduser().resolve())


def _settings(task, method, cell, data, recipe, init_hash=None, teacher_hash=None) -> dict[str, Any]:
    out = {"task": task, "method": method, "cell": cell, "data": data_key(data), "recipe": asdict(recipe),
           "init": init_hash, "card_version": CARD_VERSION}
    if teacher_hash is not None:
        out["teacher"] = teacher_hash
    return out


def expected_hash(task: str, method: str, cell: str, data: str, recipe: Recipe, init_hash: str | None = None,
                  teacher_hash: str | None = None) -> str:
    """The configuration hash `train` records for these settings (what the zoo compares to reuse a model)."""
    return config_hash(_settings(task, method, cell, data, recipe, init_hash, teacher_hash))


# Where `train` keeps the dense teachers it trains for itself (None: <cache>/teachers).
TEACHERS: Path | None = None


def ensure_teacher(task: str, cell: str, data: str, trecipe: Recipe, *, splits=None, progress: bool = True,
                   root: Path | None = None) -> Path:
    """The dense model of recipe `trecipe`, trained once into the cache (content-addressed by its configuration hash)."""
    from .data import cache_dir
    key = expected_hash(task, "dense", cell, data, trecipe)
    d = Path(root) if root is not None else Path(TEACHERS or cache_dir() / "teachers") / key
    card = d / "model.json"
    if card.is_file() and (d / "model.pt").is_file():
        try:
            if json.loads(card.read_text())["training"]["config_hash"] == key:
                return d
        except (ValueError, KeyError):
            pass
    train(task, "dense", d, cell=cell, data=data, seed=trecipe.seed, progress=progress, splits=splits,
          recipe=trecipe)
    return d


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
