"""Runs through a bad line and a failing emulator: what each fault costs and whether any result is wrong.

    .venv/bin/python benchmarks/bench_faults.py --model models/zoo/har-kp-lstm --limit 100

For each fault (tests/faultproxy.py between the harness and QEMU, or a signal to QEMU) one
`python -m harness run` on the emulated NUCLEO-F446RE, compared sample by sample with a clean run of
the same model: samples, requests sent again, recoveries, samples lost (no row), duplicated (two rows),
wrong (a row that differs from the clean run in class, logits or count), and wall time against the
clean run. Bit flips are a bit-error rate: every bit flipped independently with that probability.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import faultproxy  # noqa: E402

from harness.evaluate import read_journal  # noqa: E402
from harness.records import read_events  # noqa: E402

SAME = ("label", "predicted", "ref_predicted", "max_abs_err", "counter", "model_hash")
FAULTS = [
    ("bit flips to the device", {"flip_to_device": 1e-3}),
    ("bit flips to the host", {"flip_to_host": 1e-3}),
    ("bit flips both ways", {"flip_to_device": 1e-3, "flip_to_host": 1e-3}),
    ("bit flips to the device", {"flip_to_device": 1e-2}),
    ("bit flips to the host", {"flip_to_host": 1e-2}),
    ("bit flips both ways", {"flip_to_device": 1e-2, "flip_to_host": 1e-2}),
    ("dropped and inserted bytes", {"drop": 1e-3, "insert": 1e-3}),
    ("2 s stall inside a frame", {"stall_at": 1000, "stall_s": 2}),
]


def run(model: Path, out: Path, limit: int, env=None, signal_qemu=None):
    cmd = [sys.executable, "-m", "harness", "run", "--board", "nucleo-f446re", "--models", str(model), "--limit",
           str(limit), "--report-dir", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if signal_qemu is not None:
        signal_qemu(proc, out)
    _, err = proc.communicate()
    return proc.returncode, time.perf_counter() - t0, err.strip().splitlines()[-1:] if proc.returncode else []


def _qemu(pid: int) -> int:
    while True:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:
                continue
            if text.split("(", 1)[1].rsplit(")", 1)[0] == "qemu-system-arm" and int(text.rsplit(")", 1)[1].split()[1]) == pid:
                return int(stat.parent.name)
        time.sleep(0.05)


def _after_some(out: Path, n: int) -> None:
    while len(read_journal(out / "samples.jsonl")) < n:
        time.sleep(0.05)


def pause(proc, out):
    _after_some(out, 12)
    q = _qemu(proc.pid)
    os.kill(q, signal.SIGSTOP)
    time.sleep(15)
    try:
        os.kill(q, signal.SIGCONT)
    except ProcessLookupError:
        pass


def kill(proc, out):
    _after_some(out, 12)
    os.kill(_qemu(proc.pid), signal.SIGKILL)


def compare(clean: dict, out: Path) -> dict:
    rows = [r for r in read_journal(out / "samples.jsonl") if not r.warmup]
    by = {}
    dup = 0
    for r in rows:
        dup += r.index in by
        by[r.index] = r
    wrong = sum(1 for i, r in by.items() if r.error is None and any(getattr(r, k) != getattr(clean[i], k) for k in SAME))
    return {"samples": len(by), "retries": sum(r.retries for r in rows), "failed": sum(r.error is not None for r in by.values()),
            "recoveries": sum(e.kind == "recovery" for e in read_events(out)),
            "lost": len(set(clean) - set(by)), "duplicated": dup, "wrong": wrong}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=100)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run(args.model, tmp / "warm", 2)   # the export and the firmware image, built once before any timing
        code, clean_s, _ = run(args.model, tmp / "clean", args.limit)
        assert code == 0, "the clean run failed"
        clean = {r.index: r for r in read_journal(tmp / "clean" / "samples.jsonl") if not r.warmup}
        print(f"model {args.model}, {args.limit} samples, emulated NUCLEO-F446RE; clean run {clean_s:.1f} s\n")
        print("| fault | rate | samples | retries | recoveries | given up | lost | duplicated | wrong | wall time vs clean | end |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        cases = [(name, f, None) for name, f in FAULTS] + [("emulator paused (SIGSTOP) 15 s", {}, pause),
                                                           ("emulator killed (SIGKILL)", {}, kill)]
        stops = []
        for k, (name, faults, sig) in enumerate(cases):
            out = tmp / f"case{k}"
            env = faultproxy.install(tmp / f"bin{k}", seed=7, **faults) if faults else None
            code, secs, err = run(args.model, out, args.limit, env=env, signal_qemu=sig)
            c = compare(clean, out)
            rate = ", ".join(f"{v:g}" for key, v in faults.items() if key != "stall_at") or "-"
            if code == 0:
                end = "completed"
            else:   # samples never reached are not lost: the run says it stopped, and --resume continues
                end = f"stopped after {c['samples']} samples (below)"
                stops.append(f"{name} {rate}: {err[0] if err else code}")
                c["lost"] = 0
            print(f"| {name} | {rate} | {c['samples']} | {c['retries']} | {c['recoveries']} | {c['failed']} | "
                  f"{c['lost']} | {c['duplicated']} | {c['wrong']} | {secs / clean_s:.2f}x | {end} |", flush=True)
        for line in stops:
            print(f"\n{line}")


if __name__ == "__main__":
    main()
