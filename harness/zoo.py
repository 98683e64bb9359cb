"""The comparison matrix: every method for each task (LSTM by default), for one or more seeds.

    python -m harness zoo --out models/zoo             # seed 0
    python -m harness zoo --out models/zoo --seeds 3   # seeds 0, 1, 2: kws-kp-lstm, kws-kp-lstm-s1, kws-kp-lstm-s2

A model whose directory already holds a card with the configuration hash
the current recipe gives is kept, not retrained; one missing from the
output folder is copied from the zoo shipped with the package
(`harness/zoo_default/`) when the hashes agree. Dense models train first:
compressed ones start from, or distil from, the dense model of their seed
(`train.needs_teacher`). The tables (`zoo.csv` one row per model,
`zoo.md` per method over seeds with 95 % intervals and paired tests) and the
figure (`zoo.png`) are rewritten each time.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import train as tr
from .stats import mcnemar_exact, paired_difference_interval

SHIPPED = Path(__file__).with_name("zoo_default")
# The baselines KP is compared with, and the rows the markdown table pairs with it.
BASELINES = ("dense", "prune", "lowrank", "small", "prune-bytes", "lowrank-bytes")


def model_dir(root: Path, task: str, method: str, cell: str, seed: int = 0) -> Path:
    """<task>-<method>-<cell> for seed 0 (the default zoo), with -s<seed> for the others."""
    return Path(root) / (f"{task}-{method}-{cell}" + (f"-s{seed}" if seed else ""))


@dataclass(frozen=True)
class Entry:
    """One model of a zoo: what to train and how it is named."""

    task: str
    method: str
    cell: str
    seed: int
    data: str
    recipe: tr.Recipe
    init: Path | None = None      # the model this one is fine-tuned from (another zoo's)
    epochs: int | None = None     # the zoo's epoch override, if any

    def directory(self, root: Path) -> Path:
        return model_dir(root, self.task, self.method, self.cell, self.seed)

    def teacher(self) -> "Entry":
        """The zoo's dense model of the same task, cell and seed."""
        start = None if self.init is None else self.init.parent / model_dir(
            "", self.task, "dense", self.cell, self.seed).name
        recipe = tr.teacher_recipe(self.task, self.recipe, epochs=self.epochs, finetune=self.init is not None)
        return Entry(self.task, "dense", self.cell, self.seed, self.data, recipe, start, self.epochs)


def _card_hash(directory: Path | None) -> str | None:
    if directory is None:
        return None
    try:
        return json.loads((Path(directory) / "model.json").read_text())["training"]["config_hash"]
    except (OSError, ValueError, KeyError):
        return None


def plan(tasks=tr.TASKS, methods=tr.METHODS, cells=("lstm",), seeds=(0,), data: dict | None = None,
         epochs: int | None = None, init: dict | None = None) -> list[Entry]:
    """Every model of the zoo in training order (for each task, cell and seed, dense first)."""
    data, init = data or {}, init or {}
    order = sorted(methods, key=lambda m: m != "dense")
    out = []
    for task in tasks:
        source = data.get(task, "synthetic")
        for cell in cells:
            for seed in seeds:
                for method in order:
                    start = model_dir(init[task], task, method, cell, seed) if task in init else None
                    recipe = tr.recipe_for(task, method, cell=cell, seed=seed, epochs=epochs,
                                           finetune=start is not None)
                    out.append(Entry(task, method, cell, seed, source, recipe, start, epochs))
    return out


def expected_hash(entry: Entry) -> str:
    """The configuration hash `train` will record for an entry (its teacher's hash computed the same way)."""
    teacher = expected_hash(entry.teacher()) if tr.needs_teacher(entry.method, entry.recipe) else None
    return tr.expected_hash(entry.task, entry.method, entry.cell, entry.data, entry.recipe, _card_hash(entry.init),
                            teacher)


def is_current(directory: Path, digest: str) -> bool:
    return (Path(directory) / "model.pt").is_file() and _card_hash(directory) == digest


def build_zoo(out: Path, *, tasks=tr.TASKS, methods=tr.METHODS, cells=("lstm",), data: dict | None = None,
              epochs: int | None = None, seeds=(0,), progress: bool = True, log=print,
              splits: dict | None = None, init: dict | None = None, shipped: Path | None = SHIPPED) -> pd.DataFrame:
    """Train what is missing or stale; returns the per-model table.

    `splits` maps a task to ready (train, val, test) datasets; `init` maps a
    task to a zoo directory whose models of the same name are fine-tuned
    rather than trained from scratch; `shipped` is a zoo to copy current
    models from instead of training them (None: never copy).
    """
    out = Path(out)
    given = dict(splits or {})
    rows = []
    for entry in plan(tasks, methods, cells, seeds, data, epochs, init):
        d = entry.directory(out)
        digest = expected_hash(entry)
        copy_from = None if shipped is None else entry.directory(shipped)
        note = ""
        if is_current(d, digest):
            log(f"{d.name}: up to date")
        elif copy_from is not None and copy_from.resolve() != d.resolve() and is_current(copy_from, digest):
            d.mkdir(parents=True, exist_ok=True)
            for f in ("model.pt", "model.json"):
                shutil.copy2(copy_from / f, d / f)
            log(f"{d.name}: copied from the shipped zoo")
        elif entry.method.endswith("-bytes") and (note := _does_not_fit(entry, out)):
            log(f"{d.name}: not trained: {note}")
        else:
            if entry.task not in given:
                given[entry.task] = tr.load_splits(entry.task, entry.data, seed=tr.SPLIT_SEED)
            teacher = None
            if tr.needs_teacher(entry.method, entry.recipe):
                teacher = entry.teacher().directory(out)
                if not is_current(teacher, expected_hash(entry.teacher())):
                    raise tr.TrainError(f"{d.name} learns from {teacher.name}, which is missing or stale; "
                                        "include the dense method in the zoo")
            log(f"{d.name}: training")
            try:
                if entry.init is not None and not (entry.init / "model.pt").is_file():
                    raise tr.TrainError(f"the model to fine-tune, {entry.init}, is missing (not trained, or it "
                                        "does not fit, in that zoo)")
                tr.train(entry.task, entry.method, d, cell=entry.cell, data=entry.data, seed=entry.seed,
                         progress=progress, splits=given[entry.task], init=entry.init, teacher=teacher,
                         recipe=entry.recipe)
            except tr.TrainError as exc:
                if not entry.method.endswith("-bytes"):
                    raise
                note = str(exc)
                log(f"{d.name}: not trained: {note}")
        rows.append(_row(d, entry) if not note else _missing_row(entry, d, note))
    table = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    table.drop(columns=["correct"], errors="ignore").to_csv(out / "zoo.csv", index=False)
    (out / "zoo.md").write_text(to_markdown(table))
    plot(table, out / "zoo.png")
    return table


def _does_not_fit(entry: Entry, out: Path) -> str:
    """Why a byte-budget baseline cannot be built (shape from the zoo's dense card), or '' when it can or
    the shape is not known yet."""
    try:
        card = json.loads((entry.teacher().directory(out) / "model.json").read_text())
    except (OSError, ValueError):
        return ""
    seq_len, input_size = card["input"]["shape"]
    try:
        tr.build_model(entry.method, entry.cell, input_size, entry.recipe.hidden, len(card["classes"]), seq_len,
                       entry.recipe)
    except tr.TrainError as exc:
        return str(exc)
    return ""


def _row(d: Path, entry: Entry) -> dict:
    card = json.loads((d / "model.json").read_text())
    size, cell_rows = card["size"], [r for r in card["layers"] if r["name"].startswith("cell.")]
    rec_weights = sum(r["weights"] for r in cell_rows)
    rec_dense = sum(r["dense_weights"] for r in cell_rows)
    test = card["accuracy"]["test_detail"]
    return {"model": d.name, "task": card["task"], "method": card["method"], "cell": card["cell"],
            "seed": card["training"]["recipe"]["seed"],
            "data": card["data"]["test"]["name"], "synthetic": card["data"]["test"]["synthetic"],
            "hidden": card["model"]["hidden_size"], "params": size["params"], "flash_int8": size["flash_int8"],
            "bytes_int8": size["bytes_int8"], "macs_per_sequence": size["macs_per_sequence"],
            "recurrent_compression": rec_dense / rec_weights if rec_weights else float("nan"),
            "compression": size["compression_vs_dense"], "val_acc": card["accuracy"]["validation"],
            "test_acc": test["accuracy"], "test_n": test["n"], "test_lo": test["ci95"][0], "test_hi": test["ci95"][1],
            "train_s": card["training"]["seconds"], "note": "", "correct": tr.per_sample_correct(test)}


def _missing_row(entry: Entry, d: Path, note: str) -> dict:
    return {"model": d.name, "task": entry.task, "method": entry.method, "cell": entry.cell, "seed": entry.seed,
            "data": "", "synthetic": entry.data == "synthetic", "note": note, "correct": None}


def _pct(v) -> str:
    return f"{100 * v:.1f}"


def _summary(table: pd.DataFrame) -> list[dict]:
    """Per task, cell and method over seeds: mean ± std, per-seed intervals, and the paired comparison with KP."""
    out = []
    trained = table[table["note"] == ""] if "note" in table else table
    for (task, cell), group in table.groupby(["task", "cell"], sort=False):
        kp = trained[(trained["task"] == task) & (trained["cell"] == cell) & (trained["method"] == "kp")]
        kp_by_seed = {int(r["seed"]): r["correct"] for _, r in kp.iterrows()}
        for method, rows in group.groupby("method", sort=False):
            rows = rows.sort_values("seed")
            if (rows["note"] != "").all():
                out.append({"task": task, "cell": cell, "method": method, "note": rows["note"].iloc[0]})
                continue
            rows = rows[rows["note"] == ""]
            acc = rows["test_acc"].to_numpy(float)
            rec = {"task": task, "cell": cell, "method": method, "seeds": len(rows),
                   "data": rows["data"].iloc[0], "synthetic": bool(rows["synthetic"].iloc[0]),
                   "params": int(rows["params"].iloc[0]), "flash_int8": int(rows["flash_int8"].iloc[0]),
                   "recurrent_compression": float(rows["recurrent_compression"].iloc[0]),
                   "hidden": int(rows["hidden"].iloc[0]),
                   "mean": float(acc.mean()), "std": float(acc.std(ddof=1)) if len(acc) > 1 else float("nan"),
                   "n": int(rows["test_n"].iloc[0]),
                   "per_seed": [(float(a), float(lo), float(hi)) for a, lo, hi in
                                zip(rows["test_acc"], rows["test_lo"], rows["test_hi"])], "note": ""}
            paired = [(kp_by_seed[int(s)], c) for s, c in zip(rows["seed"], rows["correct"]) if int(s) in kp_by_seed]
            if method != "kp" and paired:
                a = np.stack([p[1] for p in paired])   # this method
                b = np.stack([p[0] for p in paired])   # kp
                rec["vs_kp"] = paired_difference_interval(a, b)
                rec["vs_kp_p"] = [mcnemar_exact(x, y) for x, y in zip(a, b)]
            out.append(rec)
    return out


def to_markdown(table: pd.DataFrame) -> str:
    """Per task: one row per method, accuracy over seeds and per seed with 95 % Wilson intervals; the
    difference to KP (this method − KP, mean over seeds, paired 95 % interval) and McNemar's exact p per seed."""
    lines = []
    summary = _summary(table)
    for (task, cell) in dict.fromkeys((r["task"], r["cell"]) for r in summary):
        rows = [r for r in summary if (r["task"], r["cell"]) == (task, cell)]
        first = next((r for r in rows if not r["note"]), None)
        data = "" if first is None else f" on {first['data']}{' (synthetic)' if first['synthetic'] else ''}"
        n = "" if first is None else f", n = {first['n']} test samples"
        lines += [f"### {task.upper()} {cell}{data}{n}", "",
                  "| method | params | int8 flash B | LSTM compression | seeds | test acc % mean ± std | "
                  "per seed % [95 % interval] | − KP, points [95 % interval] | McNemar p vs KP per seed |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            if r["note"]:
                lines.append(f"| {r['method']} | | | | | not trained: {r['note']} | | | |")
                continue
            spread = f" ± {_pct(r['std'])}" if r["seeds"] > 1 else ""
            seeds = "; ".join(f"{_pct(a)} [{_pct(lo)}, {_pct(hi)}]" for a, lo, hi in r["per_seed"])
            diff = p = ""
            if "vs_kp" in r:
                d, lo, hi = r["vs_kp"]
                diff = f"{100 * d:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]"
                p = ", ".join(f"{v:.2g}" for v in r["vs_kp_p"])
            # The smaller dense network's matrices are dense: say how small it is instead.
            comp = f"dense, hidden {r['hidden']}" if r["method"] == "small" else f"{r['recurrent_compression']:.1f}x"
            lines.append(f"| {r['method']} | {r['params']:,} | {r['flash_int8']:,} | {comp} | "
                         f"{r['seeds']} | {_pct(r['mean'])}{spread} | {seeds} | {diff} | {p} |")
        lines.append("")
    return "\n".join(lines)


def plot(table: pd.DataFrame, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter
    table = table[table["note"] == ""] if "note" in table else table
    tasks = list(dict.fromkeys(table["task"]))
    fig, axes = plt.subplots(1, max(1, len(tasks)), figsize=(5.5 * max(1, len(tasks)), 4), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        sub = table[table["task"] == task]
        for (method, cell), g in sub.groupby(["method", "cell"], sort=False):
            x, y = g["compression"].mean(), 100 * g["test_acc"].mean()
            err = [[y - 100 * g["test_lo"].mean()], [100 * g["test_hi"].mean() - y]]
            ax.errorbar(x, y, yerr=err, fmt="o", ms=6, capsize=3)
            ax.annotate(f"{method}/{cell}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
        ax.set_xscale("log")
        ax.set_xticks([t for t in (1, 2, 5, 10, 20, 50, 100, 200) if t <= 1.5 * sub["compression"].max()])
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("compression vs dense (parameters, x)")
        ax.set_ylabel("test accuracy (%), mean over seeds, 95 % interval")
        data = sub["data"].iloc[0] + (" (synthetic)" if sub["synthetic"].iloc[0] else "")
        ax.set_title(f"{task.upper()}: {data}")
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
