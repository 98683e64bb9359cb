"""index.html: one self-contained page (inline CSS, figures as inline PNGs, no script, no external URL)."""

from __future__ import annotations

import base64
from html import escape
from typing import Any

import pandas as pd

from ..records import FVP_CYCLES
from . import fmt, plots
from .markdown import (fault_lines, incomplete, latency_cell, latency_header, latency_note, latency_units, ran_on_line,
                       test_set_lines)
from .rundir import RunInfo, flatten

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; margin: 1.5em 2em;
       color: #1b1b1b; background: #ffffff; line-height: 1.4; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; }
h3 { font-size: 1.0em; margin: 0.6em 0 0.3em 0; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.86em; }
th, td { border: 1px solid #cfd4da; padding: 0.25em 0.55em; vertical-align: top; }
th { background: #eef1f4; text-align: left; }
td:first-child { white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr:nth-child(even) td { background: #f8f9fa; }
.wide { overflow-x: auto; }
.note { background: #fff7e0; border-left: 4px solid #e0a800; padding: 0.5em 0.8em; margin: 0.8em 0; }
.bad { background: #fdecea; border-left: 4px solid #c62828; padding: 0.5em 0.8em; margin: 0.8em 0; }
.meta td:first-child { font-weight: 600; white-space: nowrap; }
.grid { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0.4em 0; }
figcaption { font-size: 0.85em; color: #444; }
img { max-width: 100%; height: auto; }
code { font-size: 0.95em; }
.est { color: #7a5b00; font-style: italic; }
"""


def _e(x: Any) -> str:
    return escape(fmt.DASH if fmt.missing(x) else str(x), quote=True)


def _img(png: bytes | None, alt: str) -> str:
    if not png:
        return f"<p>{_e(alt)}: nothing to plot (no model has both figures).</p>"
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{_e(alt)}">'


def _table(header: list[str] | None, rows: list[list[Any]], numeric_from: int = 1, cls: str = "") -> str:
    out = [f'<div class="wide"><table class="{cls}">' if cls else '<div class="wide"><table>']
    if header:
        out.append("<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr></thead>")
    out.append("<tbody>")
    for r in rows:
        out.append("<tr>" + "".join(f'<td class="num">{_e(c)}</td>' if i >= numeric_from else f"<td>{_e(c)}</td>"
                                    for i, c in enumerate(r)) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _summary_table(s: pd.DataFrame) -> str:
    lat_header, unit_in_cell = latency_header(latency_units(s))
    header = ["model", "method", "dtype", "n", "device top-1 (95 % CI)", "host-reference top-1", "agreement",
              lat_header, "flash (of board)", "static RAM (of board)", "params", "compression vs dense"]
    rows = [[r["model"], r["method"], r["dtype"], fmt.num(r["n"]),
             fmt.pct_ci(r["accuracy"], r["accuracy_ci_low"], r["accuracy_ci_high"]), fmt.pct(r["ref_accuracy"]),
             fmt.pct(r["agreement"]), latency_cell(r, "median", unit_in_cell),
             fmt.bytes_share(r["flash_bytes"], r["flash_share"]), fmt.bytes_share(r["ram_bytes"], r["ram_share"]),
             fmt.num(r["params"]), fmt.ratio(r["compression_vs_dense"])] for _, r in s.iterrows()]
    return _table(header, rows, numeric_from=3)


def _accuracy_table(s: pd.DataFrame) -> str:
    header = ["model", "task", "cell", "n", "warm-ups (excluded)", "device top-1 (95 % CI)",
              "host-reference top-1 (95 % CI)", "agreement", "disagreeing samples", "largest output error (logits)",
              "torch test top-1 (model card)", "exported, host (export check)"]
    rows = [[r["model"], r["task"], r["cell"], fmt.num(r["n"]), fmt.num(r["n_warmup"]),
             fmt.pct_ci(r["accuracy"], r["accuracy_ci_low"], r["accuracy_ci_high"], 2),
             fmt.pct_ci(r["ref_accuracy"], r["ref_accuracy_ci_low"], r["ref_accuracy_ci_high"], 2),
             fmt.pct(r["agreement"], 2), fmt.num(r["disagreements"]),
             fmt.DASH if fmt.missing(r["max_abs_err"]) else f"{float(r['max_abs_err']):.6g}",
             fmt.pct(r["host_test_accuracy"], 2), fmt.pct(r["host_export_accuracy"], 2)] for _, r in s.iterrows()]
    return _table(header, rows, numeric_from=3)


def _latency_table(s: pd.DataFrame) -> str:
    units = latency_units(s)
    header = ["model", "counter", "median", "p90", "max"]
    emulated = "instructions" in units
    if "cycles" in units:
        header += ["median [µs]", "p90 [µs]", "max [µs]"]
    if emulated:
        header += ["est. median [ms] (estimate)"]
    header += ["host time per sample, median [ms]"]
    rows = []
    for _, r in s.iterrows():
        unit = r["counter_unit"]
        key = "instructions" if unit == "instructions" else "cycles"
        row = [r["model"], f"{_e_unit(r)}"] + [fmt.num(r[f"latency_{k}_{key}"]) for k in ("median", "p90", "max")]
        if "cycles" in units:
            row += [fmt.num(r[f"latency_{k}_us"], 1) for k in ("median", "p90", "max")]
        if emulated:
            row += [fmt.DASH if fmt.missing(r["est_ms_at_clock"])
                    else f"≈ {float(r['est_ms_at_clock']):,.2f} (est. at {fmt.num(float(r['est_clock_hz']) / 1e6, 0)} MHz)"]
        row += [fmt.num(r["host_ms_median"], 3)]
        rows.append(row)
    return _table(header, rows, numeric_from=2)


def _e_unit(r: pd.Series) -> str:
    unit = r["counter_unit"]
    if unit == "instructions":
        return "instructions (QEMU icount, not time)"
    if unit == FVP_CYCLES:
        return "FVP cycles (Arm FVP: not cycle-accurate, not time)"
    if unit == "cycles":
        return f"cycles (DWT), clock {fmt.num(r['clock_hz'])} Hz"
    return fmt.DASH


def _memory_table(s: pd.DataFrame) -> str:
    header = ["model", "text", "rodata", "data", "flash = text + rodata + data", "model's own bytes", "bss",
              "static RAM = data + bss", "arena", "peak stack (reserve)", "board flash", "board RAM"]
    rows = []
    for _, r in s.iterrows():
        stack = fmt.bytes_share(r["stack_peak_bytes"], r["stack_share"])
        if not fmt.missing(r["stack_size_bytes"]):
            stack += f" of {fmt.nbytes(r['stack_size_bytes'])}"
        rows.append([r["model"], fmt.bytes_share(r["text_bytes"], r["text_share"]),
                     fmt.bytes_share(r["rodata_bytes"], r["rodata_share"]),
                     fmt.bytes_share(r["data_bytes"], r["data_share"]),
                     fmt.bytes_share(r["flash_bytes"], r["flash_share"]),
                     fmt.bytes_share(r["model_bytes"], r["model_share"]),
                     fmt.bytes_share(r["bss_bytes"], r["bss_share"]), fmt.bytes_share(r["ram_bytes"], r["ram_share"]),
                     fmt.bytes_share(r["arena_bytes"], r["arena_share"]), stack,
                     fmt.nbytes(r["board_flash_bytes"]), fmt.nbytes(r["board_ram_bytes"])])
    return _table(header, rows)


def _model_table(s: pd.DataFrame) -> str:
    header = ["model", "params", "dense params", "compression vs dense", "MACs per sequence", "model hash",
              "test set"]
    rows = [[r["model"], fmt.num(r["params"]), fmt.num(r["dense_params"]), fmt.ratio(r["compression_vs_dense"]),
             fmt.num(r["macs_per_sequence"]), fmt.short_hash(r["model_hash"], 16),
             fmt.DASH if fmt.missing(r["test_set"]) else f"{r['test_set']} ({fmt.short_hash(r['test_set_hash'])})"]
            for _, r in s.iterrows()]
    return _table(header, rows, numeric_from=1)


def _per_class_table(pc: pd.DataFrame) -> str:
    out = []
    for model, g in pc.groupby("model", sort=False):
        header = ["class"] + [str(c) for c in g["class_name"]]
        rows = [["samples"] + [fmt.num(v) for v in g["n"]],
                ["device accuracy"] + [fmt.pct(v) for v in g["accuracy"]],
                ["host-reference accuracy"] + [fmt.pct(v) for v in g["ref_accuracy"]]]
        out.append(f"<h3>{_e(model)}</h3>" + _table(header, rows))
    return "".join(out)


def _latency_plots(s: pd.DataFrame) -> list[tuple[bytes | None, str]]:
    out = []
    units = latency_units(s)
    if "cycles" in units:
        hw = s[s["counter_unit"] == "cycles"]
        col, label = ("latency_median_us", "latency median [µs] at the reported clock") \
            if hw["latency_median_us"].notna().any() else ("latency_median_cycles", "latency median [cycles]")
        out.append((plots.pareto_scatter(hw, col, label, "Accuracy vs latency (real board)"), "accuracy vs latency"))
    if "instructions" in units:
        em = s[s["counter_unit"] == "instructions"]
        out.append((plots.pareto_scatter(em, "latency_median_instructions",
                                         "latency median [executed instructions, QEMU icount; not time]",
                                         "Accuracy vs latency in instructions (emulated)"),
                    "accuracy vs latency (instructions)"))
    if FVP_CYCLES in units:
        fv = s[s["counter_unit"] == FVP_CYCLES]
        out.append((plots.pareto_scatter(fv, "latency_median_cycles",
                                         "latency median [FVP cycles; not cycle-accurate, not time]",
                                         "Accuracy vs latency in FVP cycles (Arm FVP)"),
                    "accuracy vs latency (FVP cycles)"))
    if not out:
        out.append((None, "accuracy vs latency"))
    return out


def _heading(info: RunInfo, summary: pd.DataFrame, events) -> list[str]:
    meta = [["run", info.run_id], ["board", info.board], ["ran on", ran_on_line(info)],
            ["commit", info.git_commit or "unknown"]]
    meta += [["test set", t] for t in test_set_lines(summary)]
    meta += [[k, v] for k, v in (("started", info.started), ("finished", info.finished)) if v]
    p = [_table(None, meta, numeric_from=99, cls="meta")]
    note = latency_note(summary).replace("**", "").replace("`", "")
    p.append(f'<p class="note">{_e(note)}</p>')
    for name, n, expected in incomplete(summary):
        p.append(f'<p class="bad">Incomplete: {_e(name)} has {n:,} of {expected:,} samples '
                 f'(run interrupted? resume it with --resume).</p>')
    p += [f'<p class="bad">{_e(line.replace("**", ""))}</p>' for line in fault_lines(summary, list(events))]
    return p


def _cost_section(summary: pd.DataFrame) -> list[str]:
    p = ["<h2>Accuracy against cost</h2><p>Pareto front per task (diamonds, dashed): no other model of the "
         "task is at least as accurate and cheaper.</p><div class=\"grid\">",
         f"<figure>{_img(plots.pareto_scatter(summary, 'flash_bytes', 'flash [bytes]', 'Accuracy vs flash'), 'accuracy vs flash')}"
         "<figcaption>Device top-1 against the image's flash bytes.</figcaption></figure>"]
    for png, alt in _latency_plots(summary):
        p.append(f"<figure>{_img(png, alt)}<figcaption>Device top-1 against the median latency.</figcaption></figure>")
    p.append("</div>")
    return p


def _figures_section(summary: pd.DataFrame) -> list[str]:
    p = ["<h2>Accuracy and agreement with the host reference</h2>", _accuracy_table(summary),
         "<h2>Latency</h2><p>The device's counter around the inference alone, warm-ups excluded; "
         "p90 is numpy's linear-interpolation percentile.</p>", _latency_table(summary)]
    if summary["est_rule"].notna().any():
        p.append("".join(f'<p class="est">{_e(r)}.</p>' for r in sorted(set(summary["est_rule"].dropna()))))
    p += ["<h2>Memory</h2><p>Bytes from the firmware ELF; in brackets the share of the board's flash "
          "(text, rodata, data, flash, model) or RAM (bss, static RAM, arena, stack).</p>", _memory_table(summary),
          "<h2>Model</h2>", _model_table(summary)]
    return p


def _per_class_section(summary: pd.DataFrame, per_class: pd.DataFrame) -> list[str]:
    p = ["<h2>Accuracy per class</h2>"]
    if per_class.empty:
        return p + ["<p>No samples recorded yet.</p>"]
    tasks = summary.set_index("model")["task"].to_dict() if len(summary) else {}
    groups: dict[tuple[str, ...], list[str]] = {}
    for model, g in per_class.groupby("model", sort=False):
        groups.setdefault(tuple(g["class_name"].astype(str)), []).append(str(model))
    for models in groups.values():
        sub = per_class[per_class["model"].isin(models)]
        task = ", ".join(sorted({str(tasks.get(m)) for m in models if not fmt.missing(tasks.get(m))})) or "models"
        p.append(f"<figure>{_img(plots.per_class_bars(sub, f'Device accuracy per class ({task})'), 'accuracy per class')}</figure>")
    return p + [_per_class_table(per_class)]


def _confusion_section(matrices: dict[str, tuple[Any, list[str]]]) -> list[str]:
    p = ["<h2>Confusion matrices</h2><div class=\"grid\">"]
    for model, (m, names) in matrices.items():
        png = plots.confusion_heatmap(m, names, str(model))
        p.append(f"<figure>{_img(png, f'confusion matrix of {model}')}<figcaption>{_e(model)}: rows true class, "
                 f"columns the device's prediction.</figcaption></figure>")
    return p + ["</div>"]


def _differences_section(pairs: pd.DataFrame | None) -> list[str]:
    if pairs is None or pairs.empty:
        return []
    rows = [[r["model_a"], r["model_b"], fmt.num(r["n_common"]), f"{(100 * r['difference']) or 0.0:+.1f} pp",
             fmt.num(r["only_a"]), fmt.num(r["only_b"]), f"{r['p_value']:.3g}",
             ("better" if r["difference"] > 0 else "worse") if r["significant"] else "within noise"]
            for _, r in pairs.iterrows()]
    return ["<h2>Differences on the same samples</h2><p>Every pair of models of a task evaluated on the same "
            "samples: the paired difference in device top-1, the samples only one of them gets right, and "
            "McNemar's exact test; a difference is a claim only at p &le; 0.05.</p>",
            _table(["model", "vs", "n", "difference", "only this right", "only that right", "McNemar p", "verdict"],
                   rows, numeric_from=2)]


def _records_sections(events, scenarios, environment: dict[str, Any], links: list[tuple[str, str]]) -> list[str]:
    p = []
    if events:
        p += ["<h2>Events</h2><p>The device went down and was brought back, or a sample was given up "
              "(events.jsonl).</p>",
              _table(["time", "model", "kind", "sample", "board", "what happened"],
                     [[e.at, e.model, e.kind, "" if e.index is None else e.index, e.physical_board, e.detail]
                      for e in events], numeric_from=99)]
    if scenarios:
        p += ["<h2>Scenarios</h2>",
              _table(["scenario", "phase", "outcome", "seconds", "physical board"],
                     [[r.nodeid, r.phase, r.outcome, f"{r.seconds:.3f}", r.physical_board] for r in scenarios],
                     numeric_from=99)]
    env_rows = [[k, v] for k, v in flatten(environment)] or [["(no environment.json)", ""]]
    p += ["<h2>Environment</h2>", _table(["key", "value"], env_rows, numeric_from=99, cls="meta"), "<h2>Files</h2><ul>"]
    p += [f'<li><a href="{_e(href)}">{_e(label)}</a></li>' for href, label in links]
    return p + ["</ul>"]


def render_html(info: RunInfo, summary: pd.DataFrame, per_class: pd.DataFrame,
                matrices: dict[str, tuple[Any, list[str]]], environment: dict[str, Any],
                links: list[tuple[str, str]], scenarios=(), events=(), pairs: pd.DataFrame | None = None) -> str:
    """The page; `environment` is environment.json as written (shown flattened)."""
    title = f"Run {info.run_id} on {info.board}"
    p = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
         '<meta name="viewport" content="width=device-width, initial-scale=1">',
         '<link rel="icon" href="data:,">', f"<title>{_e(title)}</title>", f"<style>{CSS}</style></head><body>",
         f"<h1>{_e(title)}</h1>"]
    p += _heading(info, summary, events)
    p += ["<h2>Summary</h2>", _summary_table(summary)]
    p += _cost_section(summary) + _figures_section(summary) + _per_class_section(summary, per_class)
    p += _confusion_section(matrices) + _differences_section(pairs)
    p += _records_sections(events, scenarios, environment, links)
    p.append("</body></html>")
    return "\n".join(p) + "\n"
