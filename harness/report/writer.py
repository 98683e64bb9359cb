"""write_report(run_dir): every report file of a run, from its records (samples, models, environment, scenarios).

Idempotent: each file is rebuilt from the run's records and replaced
atomically, so it can run again after a resumed run (or while one is going on).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from .errors import ReportError
from .html import render_html
from .markdown import summary_markdown
from .metrics import confusion, confusion_matrices, load_run, per_class, summarize
from .rundir import EVENTS, JUNIT, SAMPLES, SCENARIOS, load_events, load_scenarios, run_info

OUTPUTS = ("samples.parquet", "samples.csv", "summary.parquet", "summary.csv", "per_class.csv", "confusion.csv",
           "summary.md", "index.html")


def _atomic(path: Path, write: Callable[[Path], Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _text(path: Path, text: str) -> None:
    _atomic(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_report(run_dir: str | Path) -> Path:
    """Write samples/summary Parquet and CSV, per_class.csv, confusion.csv, summary.md and index.html
    into the run directory; returns the index.html path."""
    d, samples, models, env = load_run(run_dir)
    devices = env.devices if env else {}
    events = load_events(d)
    summary = summarize(samples, models, devices, events)
    pc = per_class(samples, models)
    conf = confusion(samples, models)
    info = run_info(d, models, env)
    scenarios = load_scenarios(d)
    try:
        _atomic(d / "samples.parquet", lambda p: samples.to_parquet(p, index=False))
        _atomic(d / "summary.parquet", lambda p: summary.to_parquet(p, index=False))
    except ImportError as exc:   # pandas says which engine is missing
        raise ReportError(f"cannot write Parquet ({exc}); install the project's dependencies: pip install -e .") from None
    _atomic(d / "samples.csv", lambda p: samples.to_csv(p, index=False))
    _atomic(d / "summary.csv", lambda p: summary.to_csv(p, index=False))
    _atomic(d / "per_class.csv", lambda p: pc.to_csv(p, index=False))
    _atomic(d / "confusion.csv", lambda p: conf.to_csv(p, index=False))
    _text(d / "summary.md", summary_markdown(summary, info, scenarios, devices, events))
    links = [(JUNIT, "junit.xml (pytest results)")] if (d / JUNIT).is_file() else []
    links += [("summary.md", "summary.md (the table for a review)"), ("summary.csv", "summary.csv (every figure per model)"),
              ("summary.parquet", "summary.parquet"), ("per_class.csv", "per_class.csv"),
              ("confusion.csv", "confusion.csv (long format)"), ("samples.parquet", "samples.parquet (one row per sample)"),
              ("samples.csv", "samples.csv"), (SAMPLES, "samples.jsonl (the runner's journal)"),
              (EVENTS, "events.jsonl (recoveries and samples given up)"),
              ("models.json", "models.json"), ("environment.json", "environment.json"),
              (SCENARIOS, "scenarios.json (the scenarios' outcomes)")]
    links = [(h, label) for h, label in links if h in OUTPUTS or (d / h).is_file()]
    page = render_html(info, summary, pc, confusion_matrices(samples, models), env.to_json() if env else {}, links,
                       scenarios, events)
    index = d / "index.html"
    _text(index, page)
    return index
