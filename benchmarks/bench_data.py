"""Dataset generation and feature times, corpus sizes, HAPT window counts.

    .venv/bin/python benchmarks/bench_data.py [--clips-per-word N] [--workers W] [--lstm-epochs E]
                                              [--cache DIR] [--shared DIR]

Runs in a fresh temporary cache unless --cache is given, so the figures are
those of a first run: espeak-ng corpus generation (W worker processes), then
MFCCs of every split (computed, then read back from the cache), the
synthetic HAR set, and, when the shared real data is present, the HAPT
windows per class and subject and the Speech Commands test subset. With
--lstm-epochs, a one-layer 64-cell LSTM is trained briefly on each set to show
that it is learnable and not trivially so. Prints markdown tables.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from harness.data import (DEFAULT_CLIPS_PER_WORD, HarSynthParams, KwsSynthParams, generate_har, generate_kws_corpus,
                          load_har, load_har_synth, load_speech_commands)
from harness.data.kws_synth import espeak_version

REPO = Path(__file__).resolve().parents[1]
SPLITS = ("train", "validation", "test")


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def lstm_check(train, test, epochs: int, hidden: int = 64, seed: int = 0) -> tuple[float, float]:
    """(seconds, test accuracy) of a one-layer LSTM trained briefly: is the set learnable, and not trivially?"""
    import torch

    torch.manual_seed(seed)
    mean, std = train.x.mean((0, 1)), train.x.std((0, 1)) + 1e-6
    xt = torch.tensor((train.x - mean) / std)
    yt = torch.tensor(train.y)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.LSTM(train.x.shape[-1], hidden, batch_first=True)
            self.out = torch.nn.Linear(hidden, len(train.classes))

        def forward(self, x):
            return self.out(self.rnn(x)[0][:, -1])

    net = Net()
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 64):
            b = perm[i:i + 64]
            loss = torch.nn.functional.cross_entropy(net(xt[b]), yt[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
    secs = time.perf_counter() - t0
    with torch.no_grad():
        pred = net(torch.tensor((test.x - mean) / std)).argmax(1).numpy()
    return secs, float((pred == test.y).mean())


def bench_kws(cache: Path, clips_per_word: int, workers: int, epochs: int) -> None:
    params = KwsSynthParams(clips_per_word=clips_per_word)
    t0 = time.perf_counter()
    corpus = generate_kws_corpus(params, workers=workers, cache=cache)
    gen = time.perf_counter() - t0
    n_clips = sum(corpus.counts.values())
    print(f"### Keyword spotting, synthetic (espeak-ng {espeak_version()})\n")
    print(f"Generation of {n_clips} clips ({clips_per_word} per keyword, "
          f"{len(params.voices())} voices) with {workers} workers: **{gen:.1f} s** "
          f"({n_clips / gen:.0f} clips/s).\n")
    rows, t_feat, t_cached = [], 0.0, 0.0
    for s in SPLITS:
        t = time.perf_counter()
        ds = load_speech_commands(corpus.root, s, cache=cache, synthetic=True, name="kws-espeak")
        t_feat += time.perf_counter() - t
        t = time.perf_counter()
        again = load_speech_commands(corpus.root, s, cache=cache, synthetic=True, name="kws-espeak")
        t_cached += time.perf_counter() - t
        assert again.from_cache
        c = ds.class_counts()
        rows.append([s, corpus.counts[s], len(ds), c["yes"], c["_unknown_"], c["_silence_"],
                     len(set(ds.speaker) - {""}), ds.content_hash[:12]])
    total = sum(r[2] for r in rows)
    print(f"MFCC (49x10) of all splits, {total} clips incl. silence: **{t_feat:.1f} s** first time "
          f"(reading wavs, hashing, features, writing the cache), {t_cached:.2f} s from the cache.\n")
    print(table(["split", "clips on disk", "dataset size", "per keyword (yes)", "_unknown_", "_silence_",
                 "voices", "content hash"], rows))
    print()
    if epochs:
        tr = load_speech_commands(corpus.root, "train", cache=cache, synthetic=True, name="kws-espeak")
        te = load_speech_commands(corpus.root, "test", cache=cache, synthetic=True, name="kws-espeak")
        secs, acc = lstm_check(tr, te, epochs)
        print(f"LSTM check (64 cells, {epochs} epochs, {secs:.0f} s): {acc:.1%} on the test voices.\n")


def bench_har(epochs: int) -> None:
    p = HarSynthParams()
    t0 = time.perf_counter()
    n = len(generate_har(p)["y"])
    gen = time.perf_counter() - t0
    parts = {s: load_har_synth(s, p) for s in SPLITS}
    print("### Activity recognition, synthetic (physical model)\n")
    print(f"Generation of {n} windows of 128x9 ({p.n_subjects} subjects x 6 activities x {p.sessions} sessions "
          f"x {p.windows_per_session} windows, filtered and cut like UCI HAR): **{gen:.1f} s**.\n")
    print(table(["split", "windows", "subjects", "content hash"],
                [[s, len(d), len(set(d.subject)), d.content_hash[:12]] for s, d in parts.items()]))
    print()
    if epochs:
        secs, acc = lstm_check(parts["train"], parts["test"], epochs)
        print(f"LSTM check (64 cells, {epochs} epochs, {secs:.0f} s): {acc:.1%} on the test subjects.\n")


def bench_real(shared: Path, cache: Path, epochs: int) -> None:
    hapt = shared / "hapt-raw-train"
    if hapt.is_dir():
        t0 = time.perf_counter()
        ds = load_har(hapt, "all", cache=cache)
        secs = time.perf_counter() - t0
        print(f"### HAPT windows (real, {hapt.name})\n")
        print(f"{len(ds)} windows from {len(set(ds.subject))} subjects in {secs:.1f} s "
              f"(parse, filter, cut). Per class:\n")
        print(table(["class", "windows"], [[k, v] for k, v in ds.class_counts().items()]))
        print("\nPer subject (windows of each class: " + ", ".join(ds.classes) + "):\n")
        rows = []
        for subj in sorted(set(ds.subject), key=int):
            m = ds.subject == subj
            counts = np.bincount(ds.y[m], minlength=6)
            rows.append([subj, int(m.sum()), *counts.tolist()])
        print(table(["subject", "windows", *ds.classes], rows))
        tr, va = load_har(hapt, "train", cache=cache), load_har(hapt, "validation", cache=cache)
        print(f"\nDefault split (seed 0, 20% of subjects): train {len(tr)} windows "
              f"({len(set(tr.subject))} subjects), validation {len(va)} ({len(set(va.subject))} subjects: "
              f"{', '.join(sorted(set(va.subject), key=int))}).\n")
        if epochs:
            secs, acc = lstm_check(tr, va, epochs)
            print(f"LSTM check (64 cells, {epochs} epochs, {secs:.0f} s): {acc:.1%} on the validation subjects.\n")
    sc = shared / "speech-commands-test-v0.02-a"
    if sc.is_dir():
        t0 = time.perf_counter()
        ds = load_speech_commands(sc, "test", cache=cache)
        secs = time.perf_counter() - t0
        print(f"### Speech Commands 12-class test subset (real, {sc.name})\n")
        print(f"{len(ds)} clips, {len(set(ds.speaker) - {''})} speakers, MFCCs in {secs:.1f} s (first load).\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips-per-word", type=int, default=DEFAULT_CLIPS_PER_WORD)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--lstm-epochs", type=int, default=0,
                    help="also train a small LSTM this many epochs on each set and report test accuracy")
    ap.add_argument("--cache", type=Path, default=None, help="cache folder (default: a fresh temporary one)")
    ap.add_argument("--shared", type=Path,
                    default=Path(os.environ.get("HARNESS_SHARED_DATA", REPO.parent / "shared" / "data")))
    args = ap.parse_args()
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}\n")
    with tempfile.TemporaryDirectory(prefix="bench-data-") as tmp:
        cache = args.cache or Path(tmp)
        bench_kws(cache, args.clips_per_word, args.workers, args.lstm_epochs)
        bench_har(args.lstm_epochs)
        if args.shared.is_dir():
            bench_real(args.shared, cache, args.lstm_epochs)
        else:
            print(f"(no real data at {args.shared}: HAPT and Speech Commands figures skipped)")


if __name__ == "__main__":
    main()
