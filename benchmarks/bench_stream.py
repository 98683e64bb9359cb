"""Streaming a test set to an emulated board: wall time, host overhead per sample, bytes on the wire.

    .venv/bin/python benchmarks/bench_stream.py [--model models/zoo/kws-kp-lstm] [--board nucleo-f446re]
                                                [--dtype int8] [--depth 2] [--limit N]

Host overhead is the time the host spends per sample outside the device's
inference and outside waiting for the line: framing, parsing, comparing with
the reference, writing the journal (the runner's `host_ms`). Bytes on the
wire are counted by the link in both directions and set against the input
tensor's size. Wall-clock figures are of this machine with QEMU.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from harness.boards import get_board
from harness.device import plan_device
from harness.evaluate import Run, read_journal


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=Path("models/zoo/kws-kp-lstm"))
    ap.add_argument("--board", default="nucleo-f446re")
    ap.add_argument("--dtype", default="int8")
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--limit", type=int)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Run(plan_device(get_board(args.board)), [args.model], dtype=args.dtype, limit=args.limit,
                                                  run_dir=Path(tmp) / "run", depth=args.depth, progress=False,
                                                  log=lambda *_: None) as run:
        from harness.evaluate import prepare
        prepared = prepare(args.model, args.dtype, limit=args.limit)       # export and data, cached
        from harness import firmware
        firmware.build(run.board, model=prepared.exported)                 # image, cached
        import harness.evaluate.runner as runner
        wire = {}
        original = runner.stream_model

        def counting(dev, *a, **k):   # the link's own byte counters around the streaming alone
            s0, r0 = dev.link.stats.bytes_sent, dev.link.stats.bytes_received
            sent = original(dev, *a, **k) + run.settings.warmup
            wire.update(sent=dev.link.stats.bytes_sent - s0, received=dev.link.stats.bytes_received - r0, n=sent)
            return sent

        runner.stream_model = counting
        t0 = time.perf_counter()
        outcome = run.evaluate(args.model)
        wall = time.perf_counter() - t0
        runner.stream_model = original
        rows = [r for r in read_journal(run.folder.journal_path) if not r.warmup]
    n = len(rows)
    tensor = prepared.exported.manifest["input"]["bytes"]
    host = sorted(r.host_ms for r in rows)
    print(f"model {args.model} ({args.dtype}) on {args.board}, pipeline depth {args.depth}")
    print(f"  samples                  {n}")
    print(f"  wall time                {wall:.1f} s (connect, boot and warm-up included), {n / wall:.1f} samples/s")
    print(f"  host overhead per sample median {statistics.median(host):.3f} ms, p90 {host[int(0.9 * (n - 1))]:.3f} ms")
    print(f"  input tensor             {tensor} B")
    sent, both = wire["sent"] / wire["n"], (wire["sent"] + wire["received"]) / wire["n"]
    print(f"  wire host->device/sample {sent:.1f} B = {sent / tensor:.3f} x tensor")
    print(f"  wire both ways/sample    {both:.1f} B = {both / tensor:.3f} x tensor")
    print(f"  device top-1 {100 * outcome.accuracy:.2f}%, reference {100 * outcome.reference_accuracy:.2f}%, "
          f"agreement {100 * outcome.agreement:.2f}%")
    med = statistics.median(r.counter for r in rows)
    print(f"  latency median {med:,.0f} {outcome.record.counter.unit}")


if __name__ == "__main__":
    main()
