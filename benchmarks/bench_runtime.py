"""Instructions per inference on an emulated board, per task, method and number format.

    .venv/bin/python benchmarks/bench_runtime.py [--board qemu-m4] [--task kws --task har] [--out FILE.md]

Models have the default recipes' shapes (docs/training.md), pruned to their
final density; their weights are drawn at random, which does not change the
instruction count (the runtime has no data-dependent paths besides the
activations' saturation tests). Counts are executed instructions under QEMU
`-icount shift=0`, not cycles or time of a real board.

Kernel instructions per MAC: the same model with the input and recurrent
layers emptied (bias only) gives the cost of everything else (cell
arithmetic, head, loop); the difference, divided by those layers' MACs, is
the kernels' cost per multiply-accumulate.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from harness.boards import get_board
from harness.export import export_graph, from_model, lower
from harness.export.exporter import calibrate, write_export
from harness.device import open_device, plan_device

from default_models import SHAPES, calibration_inputs, random_model

METHODS = ("dense", "kp", "dkp", "prune", "lowrank", "small")
DTYPES = ("fp32", "w8", "int8")


def instructions(board, exported, x, repeats: int) -> int:
    xd = exported.device_input(x)
    with open_device(plan_device(board), model=exported) as dev:
        counts = [dev.link.infer(xd[i % len(xd)].tobytes()).counter_delta for i in range(repeats + 1)]
    return int(statistics.median(counts[1:]))   # the first is a warm-up, as MLPerf Tiny does


def emptied(exported_graph_lowered):
    lw = copy.deepcopy(exported_graph_lowered)
    for name in ("ih", "hh"):
        lw.structure["layers"][name]["terms"] = []
    from harness.export.lower import arena_bytes
    lw.structure["arena_bytes"] = arena_bytes(lw.structure)
    return lw


def bench(board_name: str, tasks, repeats: int, work: Path) -> list[dict]:
    board = get_board(board_name)
    rows = []
    for task in tasks:
        seq = SHAPES[task][0]
        x = calibration_inputs(task)
        for method in METHODS:
            model, table = random_model(task, method)
            macs = int(table.loc["total", "macs_seq"])
            rnn_macs = int(table.loc[["cell.ih", "cell.hh"], "macs_seq"].sum())
            graph = from_model(model, seq)
            for dtype in DTYPES:
                t0 = time.perf_counter()
                e = export_graph(graph, dtype, work / f"{task}-{method}-{dtype}", calibration=x)
                n = instructions(board, e, x, repeats)
                row = {"task": task, "method": method, "dtype": dtype, "hidden": model.cell.hidden_size,
                       "macs": macs, "instructions": n, "per_mac": n / macs,
                       "weight_bytes": e.manifest["weight_bytes"], "arena": e.manifest["arena_bytes"]}
                if method == "dense" or method == "kp":
                    scale, peaks = calibrate(graph, x) if dtype == "int8" else (None, None)
                    base = write_export(emptied(lower(graph, dtype, input_scale=scale, mid_peaks=peaks)),
                                        work / f"{task}-{method}-{dtype}-empty")
                    rest = instructions(board, base, x, repeats)
                    row["kernel_per_mac"] = (n - rest) / rnn_macs
                rows.append(row)
                print(f"{task} {method:8s} {dtype:5s} {n:>12,d} instructions  {n / macs:6.2f}/MAC "
                      f"({time.perf_counter() - t0:.1f} s)", flush=True)
    return rows


def to_markdown(rows: list[dict]) -> str:
    dense = {(r["task"], r["dtype"]): r["instructions"] for r in rows if r["method"] == "dense"}
    lines = ["| task | method | dtype | hidden | MACs/inference | instructions/inference | instr/MAC | kernel instr/MAC "
             "| speed-up vs dense | weight bytes | arena bytes |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        kern = f"{r['kernel_per_mac']:.2f}" if "kernel_per_mac" in r else ""
        lines.append(f"| {r['task']} | {r['method']} | {r['dtype']} | {r['hidden']} | {r['macs']:,} | "
                     f"{r['instructions']:,} | {r['per_mac']:.2f} | {kern} | "
                     f"{dense[(r['task'], r['dtype'])] / r['instructions']:.2f}x | {r['weight_bytes']:,} | {r['arena']:,} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="qemu-m4")
    ap.add_argument("--task", action="append", choices=sorted(SHAPES))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, help="also write the table to this markdown file")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("HARNESS_TRAIN_THREADS", "1")))
    with tempfile.TemporaryDirectory() as work:
        rows = bench(args.board, args.task or sorted(SHAPES, reverse=True), args.repeats, Path(work))
    table = to_markdown(rows)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
