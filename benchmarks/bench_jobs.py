"""Parallel runs: the same zoo evaluated with `--jobs 1` and `--jobs N` on one machine, in one sitting.

    .venv/bin/python benchmarks/bench_jobs.py --models harness/zoo_default --jobs 2

Exports and firmware images are built first (a short run), so both timings are of evaluation alone; the
serial and the parallel run then alternate (`--rounds`), and the figure is the ratio of their medians.
The two run folders must agree field by field (timing aside), which the script checks.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(models: Path, out: Path, jobs: int, limit: int | None, board: str) -> float:
    cmd = [sys.executable, "-m", "harness", "run", "--board", board, "--models", str(models), "--report-dir", str(out),
           "--jobs", str(jobs)] + (["--limit", str(limit)] if limit else [])
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def table(run_dir: Path) -> dict:
    rows = {}
    for line in (run_dir / "samples.jsonl").read_text().splitlines():
        r = json.loads(line)
        r.pop("host_ms")
        rows[(r["model"], r["index"], r["warmup"])] = r
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, required=True)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--board", default="nucleo-f446re")
    ap.add_argument("--limit", type=int, help="samples per model (default: the whole test sets)")
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        warm = run(args.models, tmp / "warm", args.jobs, 2, args.board)
        print(f"exports and images built in {warm:.0f} s")
        serial, parallel = [], []
        for k in range(args.rounds):
            serial.append(run(args.models, tmp / f"serial{k}", 1, args.limit, args.board))
            parallel.append(run(args.models, tmp / f"parallel{k}", args.jobs, args.limit, args.board))
            print(f"round {k + 1}: --jobs 1 {serial[-1]:.1f} s, --jobs {args.jobs} {parallel[-1]:.1f} s", flush=True)
        same = table(tmp / "serial0") == table(tmp / "parallel0")
        models = sorted(p.name for p in args.models.iterdir() if (p / "model.json").is_file())
        s, p = statistics.median(serial), statistics.median(parallel)
        print(f"\n{len(models)} models on {args.board}, {'all' if not args.limit else args.limit} samples each")
        print(f"--jobs 1: {s:.1f} s; --jobs {args.jobs}: {p:.1f} s; speed-up {s / p:.2f}x; "
              f"tables {'identical' if same else 'DIFFER'} (timing aside)")


if __name__ == "__main__":
    main()
