"""KroneckerLinear against the dense layer it replaces, on this machine's CPU.

    .venv/bin/python benchmarks/bench_kronecker.py [--repeats N] [--threads T]

For each size (the KWS LSTM gate matrices 512x10 and 512x128, and
1024x1024) and batch (1 and 256), times forward plus backward (gradients for
the input and every parameter, as in training with a hidden-state input) of
torch.nn.Linear and of KroneckerLinear with the automatic factors, and
forward alone under no_grad. Each figure is the median of N rounds of
repeated calls; the two layers alternate round by round so that drift in
the machine's speed hits both alike. MACs are per input vector, from the
formulas (dense out·in; KP min(n1·m2·(n2+m1), m1·n2·(n1+m2))).
Prints markdown tables.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from harness.compress import KroneckerLinear

SIZES = [(512, 10), (512, 128), (1024, 1024)]  # (out, in)
BATCHES = [1, 256]


def _time_rounds(fns, repeats: int, budget_s: float = 0.02) -> list[float]:
    """Median seconds per call of each fn, rounds interleaved."""
    calls = []
    for fn in fns:
        for _ in range(10):  # warm-up: allocator, thread pool, first-call paths
            fn()
        t0 = time.perf_counter()
        fn()
        one = time.perf_counter() - t0
        calls.append(max(3, min(1000, int(budget_s / max(one, 1e-7)))))
    samples = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            for _ in range(calls[i]):
                fn()
            samples[i].append((time.perf_counter() - t0) / calls[i])
    return [statistics.median(s) for s in samples]


def _train_step(layer, x, grad_out):
    inputs = (x, *layer.parameters())
    return lambda: torch.autograd.grad(layer(x), inputs, grad_out)


def _infer(layer, x):
    def run():
        with torch.no_grad():
            layer(x)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15, help="rounds per figure (median taken)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(),
                        help="torch threads (default: this machine's default)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    train_rows, infer_rows = [], []
    for out_f, in_f in SIZES:
        dense = torch.nn.Linear(in_f, out_f)
        kp = KroneckerLinear(in_f, out_f)
        dense_macs, kp_macs = out_f * in_f, kp.macs()
        for batch in BATCHES:
            x = torch.randn(batch, in_f, requires_grad=True)
            grad_out = torch.randn(batch, out_f)
            t_dense, t_kp = _time_rounds([_train_step(dense, x, grad_out), _train_step(kp, x, grad_out)],
                                         args.repeats)
            f_dense, f_kp = _time_rounds([_infer(dense, x), _infer(kp, x)], args.repeats)
            size = f"{out_f}x{in_f}"
            train_rows.append(
                f"| {size} | {kp.shape.describe()} | {batch} | {1e6 * t_dense:.1f} | {1e6 * t_kp:.1f} "
                f"| {t_dense / t_kp:.2f} | {dense_macs} | {kp_macs} | {dense_macs / kp_macs:.1f} |")
            infer_rows.append(
                f"| {size} | {batch} | {1e6 * f_dense:.1f} | {1e6 * f_kp:.1f} | {f_dense / f_kp:.2f} |")

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, median of {args.repeats} rounds")
    print()
    print("Forward + backward (µs per call; ratio = dense / KP, above 1 means KP is faster; MACs per vector)")
    print()
    print("| size (out x in) | KP factors | batch | dense µs | KP µs | ratio | dense MACs | KP MACs | MAC ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(train_rows))
    print()
    print("Forward only, no_grad (µs per call)")
    print()
    print("| size (out x in) | batch | dense µs | KP µs | ratio |")
    print("|---|---|---|---|---|")
    print("\n".join(infer_rows))


if __name__ == "__main__":
    main()
