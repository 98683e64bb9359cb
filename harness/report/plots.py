"""The report's figures as PNG bytes (matplotlib's Agg canvas; no display, no pyplot state)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter

from .metrics import pareto_front

DPI = 100
TASK_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return buf.getvalue()


def pareto_scatter(summary: pd.DataFrame, x: str, x_label: str, title: str) -> bytes | None:
    """Device top-1 against a cost (lower is better), the Pareto front per task marked; None without points."""
    df = summary[["model", "task", x, "accuracy"]].copy()
    df[x] = pd.to_numeric(df[x], errors="coerce").astype(float)
    df["accuracy"] = pd.to_numeric(df["accuracy"], errors="coerce").astype(float)
    df = df[np.isfinite(df[x]) & np.isfinite(df["accuracy"])]
    if df.empty:
        return None
    df["task"] = df["task"].astype(object).where(df["task"].notna(), "?")
    fig = Figure(figsize=(5.4, 4.0))
    ax = fig.add_subplot()
    for k, (task, g) in enumerate(df.groupby("task", sort=True)):
        colour = TASK_COLOURS[k % len(TASK_COLOURS)]
        front = pareto_front(g[x].to_numpy(), g["accuracy"].to_numpy())
        if (~front).any():
            ax.scatter(g[x][~front], 100 * g["accuracy"][~front], s=36, color=colour, alpha=0.55,
                       label=f"{task}")
        ax.scatter(g[x][front], 100 * g["accuracy"][front], s=70, color=colour, edgecolor="black", linewidth=1.2,
                   marker="D", label=f"{task}: Pareto front", zorder=3)
        f = g[front].sort_values(x)
        if len(f) > 1:
            ax.step(f[x], 100 * f["accuracy"], where="post", color=colour, linewidth=1.2, linestyle="--")
        for _, r in g.iterrows():
            ax.annotate(str(r["model"]), (r[x], 100 * r["accuracy"]), xytext=(5, 4), textcoords="offset points",
                        fontsize=8)
    lo, hi = df[x].min(), df[x].max()
    if lo > 0 and hi / lo > 20:
        ax.set_xscale("log")
    ax.xaxis.set_major_formatter(EngFormatter(sep=" "))
    ax.set_xlabel(x_label)
    ax.set_ylabel("device top-1 accuracy [%]")
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return _png(fig)


def per_class_bars(per_class: pd.DataFrame, title: str) -> bytes | None:
    """Grouped bars: accuracy per true class (x), one bar per model."""
    df = per_class[per_class["n"] > 0]
    if df.empty:
        return None
    classes = list(dict.fromkeys(df.sort_values("class_index")["class_name"].astype(str)))
    models = list(dict.fromkeys(df["model"].astype(str)))
    width = 0.8 / len(models)
    fig = Figure(figsize=(min(13.0, max(7.5, 0.18 * len(classes) * len(models) + 2)), 4.2))
    ax = fig.add_subplot()
    xs = np.arange(len(classes))
    for k, m in enumerate(models):
        g = df[df["model"] == m].set_index(df[df["model"] == m]["class_name"].astype(str))
        ys = [100 * float(g.loc[c, "accuracy"]) if c in g.index else np.nan for c in classes]
        ax.bar(xs + (k - (len(models) - 1) / 2) * width, ys, width, label=m)
    ax.set_xticks(xs)
    ax.set_xticklabels(classes, rotation=30 if len(classes) > 6 else 0, ha="right" if len(classes) > 6 else "center",
                       fontsize=8)
    ax.set_ylim(0, 105)
    ax.set_ylabel("device accuracy on the class [%]")
    ax.set_title(title, fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=7, ncol=min(3, len(models)), loc="lower right")
    return _png(fig)


def confusion_heatmap(matrix: np.ndarray, names: list[str], title: str) -> bytes:
    """Counts, true class down and predicted class across, each row shaded by its share."""
    m = np.asarray(matrix)
    n = len(m)
    size = min(6.0, 1.6 + 0.38 * n)
    fig = Figure(figsize=(size + 0.6, size))
    ax = fig.add_subplot()
    rows = m.sum(axis=1, keepdims=True)
    share = np.divide(m, rows, out=np.zeros(m.shape, dtype=float), where=rows > 0)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    if n <= 16:
        for i in range(n):
            for j in range(n):
                if m[i, j]:
                    ax.text(j, i, str(int(m[i, j])), ha="center", va="center", fontsize=7,
                            color="white" if share[i, j] > 0.6 else "black")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(names, rotation=90, fontsize=7)
    ax.set_yticklabels(names, fontsize=7)
    ax.set_xlabel("predicted by the device", fontsize=8)
    ax.set_ylabel("true class", fontsize=8)
    ax.set_title(title, fontsize=9)
    return _png(fig)
