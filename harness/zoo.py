"""The comparison matrix: every method for each task (LSTM by default), trained once each.

    python -m harness zoo --out models/zoo

A model whose directory already holds a card with the same configuration hash
is kept, not retrained. The zoo's table (`zoo.csv`, `zoo.md`) and figure
(`zoo.png`: accuracy against compression per method) are rewritten each time.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from . import train as tr


def model_dir(root: Path, task: str, method: str, cell: str) -> Path:
    return Path(root) / f"{task}-{method}-{cell}"


def is_current(directory: Path, task: str, method: str, cell: str, data: str, recipe: tr.Recipe,
               init: Path | None = None) -> bool:
    card = directory / "model.json"
    if not card.is_file() or not (directory / "model.pt").is_file():
        return False
    try:
        old = json.loads(card.read_text())["training"]["config_hash"]
    except (ValueError, KeyError):
        return False
    return old == tr.config_hash(tr._settings(task, method, cell, data, recipe, init))


def build_zoo(out: Path, *, tasks=tr.TASKS, methods=tr.METHODS, cells=("lstm",), data: dict | None = None,
              epochs: int | None = None, seed: int = 0, progress: bool = True, log=print,
              splits: dict | None = None, init: dict | None = None) -> pd.DataFrame:
    """Train what is missing or stale.

    `splits` maps a task to ready (train, val, test) datasets; `init` maps a
    task to a zoo directory whose models of the same name are fine-tuned
    rather than trained from scratch.
    """
    init = init or {}
    out = Path(out)
    data = data or {}
    given = splits or {}
    rows = []
    for task in tasks:
        splits = given.get(task)
        for cell in cells:
            for method in methods:
                recipe = _recipe(task, cell, epochs, seed)
                d = model_dir(out, task, method, cell)
                source = data.get(task, "synthetic")
                start = model_dir(init[task], task, method, cell) if task in init else None
                if is_current(d, task, method, cell, source, recipe, start):
                    log(f"{d.name}: up to date")
                else:
                    if splits is None:
                        splits = tr.load_splits(task, source, seed=seed)
                    log(f"{d.name}: training")
                    tr.train(task, method, d, cell=cell, data=source, epochs=epochs, seed=seed,
                             progress=progress, splits=splits, init=start)
                rows.append(_row(d))
    table = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "zoo.csv", index=False)
    (out / "zoo.md").write_text(to_markdown(table))
    plot(table, out / "zoo.png")
    return table


def _recipe(task, cell, epochs, seed) -> tr.Recipe:
    from dataclasses import replace
    r = replace(tr.DEFAULTS[task], cell=cell, seed=seed)
    return replace(r, epochs=epochs) if epochs else r


def _row(d: Path) -> dict:
    card = json.loads((d / "model.json").read_text())
    size, cell_rows = card["size"], [r for r in card["layers"] if r["name"].startswith("cell.")]
    rec_weights = sum(r["weights"] for r in cell_rows)
    rec_dense = sum(r["dense_weights"] for r in cell_rows)
    return {"model": d.name, "task": card["task"], "method": card["method"], "cell": card["cell"],
            "data": card["data"]["test"]["name"], "synthetic": card["data"]["test"]["synthetic"],
            "hidden": card["model"]["hidden_size"], "params": size["params"], "bytes_int8": size["bytes_int8"],
            "macs_per_sequence": size["macs_per_sequence"],
            "recurrent_compression": rec_dense / rec_weights if rec_weights else float("nan"),
            "compression": size["compression_vs_dense"], "val_acc": card["accuracy"]["validation"],
            "test_acc": card["accuracy"]["test"], "train_s": card["training"]["seconds"]}


def to_markdown(table: pd.DataFrame) -> str:
    cols = ["model", "data", "params", "bytes_int8", "macs_per_sequence", "recurrent_compression", "compression",
            "val_acc", "test_acc", "train_s"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in table.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            if c in ("val_acc", "test_acc"):
                cells.append(f"{100 * v:.1f}%")
            elif c in ("recurrent_compression", "compression"):
                cells.append(f"{v:.1f}x")
            elif c == "data":
                cells.append(f"{v}{' (synthetic)' if r['synthetic'] else ''}")
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(table: pd.DataFrame, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter
    tasks = list(dict.fromkeys(table["task"]))
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.5 * len(tasks), 4), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        sub = table[table["task"] == task]
        for _, r in sub.iterrows():
            ax.scatter(r["compression"], 100 * r["test_acc"], s=40)
            ax.annotate(f"{r['method']}/{r['cell']}", (r["compression"], 100 * r["test_acc"]),
                        textcoords="offset points", xytext=(4, 4), fontsize=8)
        ax.set_xscale("log")
        ax.set_xticks([t for t in (1, 2, 5, 10, 20, 50, 100, 200) if t <= 1.5 * sub["compression"].max()])
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("compression vs dense (parameters, x)")
        ax.set_ylabel("test accuracy (%)")
        data = sub["data"].iloc[0] + (" (synthetic)" if sub["synthetic"].iloc[0] else "")
        ax.set_title(f"{task.upper()}: {data}")
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
