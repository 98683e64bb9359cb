"""Metrics of a run: pure functions on numpy arrays and pandas frames.

Accuracy figures are fractions in [0, 1]; latency figures are in the
device counter's own unit (cycles on hardware, instructions under QEMU
-icount, FVP cycles on an Arm FVP, in the cycles columns) unless a column
name says otherwise; counter_unit names it. Warm-up inferences are left
out of every figure (MLPerf Tiny does the same). Percentiles use numpy's
default definition (linear interpolation between the two closest ranks,
"type 7" in Hyndman and Fan).
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from .. import records as rec
from ..records import FVP_CYCLES, DeviceRecord, Environment, ModelRecord, RecordError, RunEvent, SampleRow, counter_unit
from ..stats import mcnemar_exact, wilson_interval
from .errors import ReportError
from .rundir import SAMPLES, load_environment, load_models, run_path

# samples.jsonl (SampleRow) field -> pandas dtype. host_ms and max_abs_err may be null.
_PANDAS = {int: "int64", float: "float64", bool: "bool", str: "string"}
SAMPLE_COLUMNS: dict[str, str] = {name: _PANDAS[next(t for t in typing.get_args(tp) or (tp,) if t is not type(None))]
                                  for name, tp in typing.get_type_hints(SampleRow).items()}
EST_RULE = "estimate: instructions / catalog clock, assumes 1 instruction per cycle"
EST_RULE_REPORTED = "estimate: instructions / device-reported clock (board not in the catalog), assumes 1 instruction per cycle"


# ------------------------------------------------------------------ loading --

def load_samples(run_dir: str | Path) -> pd.DataFrame:
    """samples.jsonl as a frame, one row per (model, index), warm-ups kept (flagged).

    A final line cut short (a run killed mid-write) is ignored; any other bad
    line is an error naming it. A sample recorded twice (a resumed run) keeps
    its last record. Columns and dtypes are SAMPLE_COLUMNS.
    """
    path = Path(run_dir)
    if path.is_dir():
        path = path / SAMPLES
    if not path.is_file():
        raise ReportError(f"{path} does not exist; pass a run directory written by `python -m harness run`")
    return samples_frame(parse_samples(path.read_bytes(), str(path)))


def load_run(run_dir: str | Path) -> tuple[Path, pd.DataFrame, dict[str, ModelRecord], Environment | None]:
    """The run directory, its samples (empty before the first result), models and environment."""
    d = run_path(run_dir)
    samples = load_samples(d) if (d / SAMPLES).is_file() else samples_frame([])
    return d, samples, load_models(d), load_environment(d)


def parse_samples(data: bytes, where: str = SAMPLES) -> list[SampleRow]:
    """The records of a journal's lines; a last line cut short is dropped (harness/records.py)."""
    try:
        return rec.parse_journal(data, where)
    except RecordError as exc:
        raise ReportError(f"{exc}; samples.jsonl lines carry the keys in docs/reports.md") from None


def samples_frame(rows: Iterable[SampleRow]) -> pd.DataFrame:
    """Typed frame of sample records, de-duplicated on (model, index) keeping the last; warm-ups all kept."""
    rows = list(rows)
    cols: dict[str, Any] = {}
    for name, dtype in SAMPLE_COLUMNS.items():
        values = [getattr(r, name) for r in rows]
        if dtype == "int64":
            cols[name] = np.asarray(values, dtype=np.int64)
        elif dtype == "float64":
            cols[name] = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
        elif dtype == "bool":
            cols[name] = np.asarray(values, dtype=bool)
        else:
            cols[name] = pd.array(values, dtype="string")
    df = pd.DataFrame(cols, columns=list(SAMPLE_COLUMNS))
    if df.empty:
        return df
    stale = ~df["warmup"] & df.duplicated(["model", "index"], keep="last")
    return df[~stale].reset_index(drop=True)


# ---------------------------------------------------------- basic metrics --

def top1(predicted, label) -> float:
    """Fraction of samples whose predicted class is the label; NaN for no samples."""
    p, y = np.asarray(predicted), np.asarray(label)
    return float(np.mean(p == y)) if p.size else float("nan")


def agreement(predicted, ref_predicted) -> float:
    """Fraction of samples where the device chose the host reference's class; NaN for no samples."""
    return top1(predicted, ref_predicted)


def n_classes_for(n_classes: int, *arrays) -> int:
    """The class count, grown to cover any out-of-range class a device reported."""
    n = int(n_classes)
    for a in arrays:
        a = np.asarray(a)
        if a.size:
            if a.min() < 0:
                raise ReportError(f"a class index is negative ({int(a.min())}); labels and predictions are 0-based")
            n = max(n, int(a.max()) + 1)
    return n


def confusion_matrix(label, predicted, n_classes: int) -> np.ndarray:
    """Counts, rows the true class and columns the predicted one (grown to cover out-of-range classes)."""
    y, p = np.asarray(label, dtype=np.int64), np.asarray(predicted, dtype=np.int64)
    n = n_classes_for(n_classes, y, p)
    m = np.zeros((n, n), dtype=np.int64)
    np.add.at(m, (y, p), 1)
    return m


def per_class_accuracy(label, predicted, n_classes: int) -> np.ndarray:
    """Recall per true class: correct / samples of that class; NaN for a class with no sample."""
    m = confusion_matrix(label, predicted, n_classes)
    totals = m.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(m) / np.maximum(totals, 1), np.nan)


def latency_stats(counter) -> dict[str, float]:
    """Median, 90th percentile (numpy linear interpolation) and maximum; NaN for no samples."""
    c = np.asarray(counter, dtype=np.float64)
    if not c.size:
        return {"median": float("nan"), "p90": float("nan"), "max": float("nan")}
    return {"median": float(np.median(c)), "p90": float(np.percentile(c, 90)), "max": float(c.max())}


def pareto_front(cost, accuracy) -> np.ndarray:
    """Mask of points no other point beats: lower or equal cost and higher or equal accuracy, one strictly.

    Points with a NaN coordinate are never on the front.
    """
    x, y = np.asarray(cost, dtype=np.float64), np.asarray(accuracy, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    front = np.zeros(len(x), dtype=bool)
    for i in np.flatnonzero(ok):
        dominated = ok & (x <= x[i]) & (y >= y[i]) & ((x < x[i]) | (y > y[i]))
        front[i] = not dominated.any()
    return front


# ------------------------------------------------------------ per model --

def current(samples: pd.DataFrame, models: dict[str, ModelRecord] | None = None) -> pd.DataFrame:
    """No warm-ups, and for a model with a record only rows of its model hash (failed samples included)."""
    s = samples[~samples["warmup"]]
    if models:
        want = s["model"].map(lambda m: models[m].model_hash if m in models else None)
        s = s[want.isna() | (s["model_hash"] == want)]
    return s


def scored(samples: pd.DataFrame, models: dict[str, ModelRecord] | None = None) -> pd.DataFrame:
    """The samples that count: current ones with a result (a sample given up is never a prediction)."""
    s = current(samples, models)
    return s[s["error"].isna()]


def model_names(samples: pd.DataFrame, models: dict[str, ModelRecord] | None) -> list[str]:
    """models.json order first, then models only seen in the samples, in order of appearance."""
    names = list(models or {})
    for m in samples["model"].drop_duplicates():
        if m not in names:
            names.append(str(m))
    return names


def class_names(record: ModelRecord | None, n: int) -> list[str]:
    given = [str(c) for c in (record.classes if record else [])]
    return given[:n] + [f"#{i}" for i in range(len(given), n)]


def catalog_clock(board: str | None) -> int | None:
    """The board's clock in the catalog (what the real board runs at), or None for a board not in it."""
    if not board:
        return None
    try:
        from ..boards import get_board
        return int(get_board(board).clock_hz)
    except (ImportError, OSError, ValueError, KeyError):   # not in the catalog: fall back to the reported clock
        return None


def _share(part, whole) -> float:
    return float(part) / float(whole) if part is not None and whole else float("nan")


INT_COLUMNS = ("est_clock_hz", "n", "n_expected", "n_warmup", "stale_samples", "failed", "retries", "recoveries",
               "disagreements", "clock_hz", "text_bytes",
               "rodata_bytes", "data_bytes", "bss_bytes", "flash_bytes", "ram_bytes", "model_bytes", "arena_bytes",
               "stack_peak_bytes", "stack_size_bytes", "board_flash_bytes", "board_ram_bytes", "params",
               "macs_per_sequence", "dense_params", "test_set_n")
BOOL_COLUMNS = ("emulated", "complete", "test_set_synthetic")
STRING_COLUMNS = ("model", "task", "method", "cell", "dtype", "model_hash", "board", "physical_board", "counter_kind",
                  "counter_unit", "est_rule", "test_set", "test_set_hash", "test_set_source")


def _counter(record: ModelRecord | None, device: DeviceRecord | None) -> dict[str, Any]:
    """Unit, emulation and clock of a model's counter: its record, else the device it started on
    (a model whose evaluation stopped before its record was written); unknown when neither exists."""
    if record is not None:
        c = record.counter
        return {"counter_kind": c.kind, "counter_unit": c.unit, "emulated": c.emulated, "clock_hz": c.clock_hz}
    if device is not None:
        unit = counter_unit(device.counter_kind)
        return {"counter_kind": device.counter_kind, "counter_unit": unit, "emulated": unit != "cycles",
                "clock_hz": device.clock_hz}
    return {"counter_kind": None, "counter_unit": None, "emulated": None, "clock_hz": None}


def _latency_columns(counter: dict[str, Any], board: str | None, values) -> dict[str, Any]:
    unit, clock, emulated = counter["counter_unit"], counter["clock_hz"], counter["emulated"]
    lat = latency_stats(values)
    row: dict[str, Any] = {}
    for stat in ("median", "p90", "max"):
        # An FVP's cycles sit in the cycles columns; counter_unit (fvp-cycles) says they are no core's.
        row[f"latency_{stat}_cycles"] = lat[stat] if unit in ("cycles", FVP_CYCLES) else float("nan")
        row[f"latency_{stat}_us"] = (lat[stat] / clock * 1e6 if unit == "cycles" and clock and not emulated
                                     else float("nan"))
        row[f"latency_{stat}_instructions"] = lat[stat] if unit == "instructions" else float("nan")
    est_clock, rule = catalog_clock(board), EST_RULE
    if not est_clock:
        est_clock, rule = clock, EST_RULE_REPORTED
    est = unit == "instructions" and bool(est_clock) and np.isfinite(lat["median"])
    row["est_ms_at_clock"] = lat["median"] / est_clock * 1e3 if est else float("nan")
    row["est_clock_hz"] = est_clock if est else None
    row["est_rule"] = rule if est else None
    return row


def interval(correct: int, n: int) -> tuple[float, float]:
    """95 % Wilson interval of an accuracy; NaN for no samples."""
    return wilson_interval(int(correct), int(n)) if n else (float("nan"), float("nan"))


def _accuracy_columns(s: pd.DataFrame) -> dict[str, Any]:
    n = len(s)
    dev_ok = int((s["predicted"] == s["label"]).sum())
    ref_ok = int((s["ref_predicted"] == s["label"]).sum())
    (lo, hi), (rlo, rhi) = interval(dev_ok, n), interval(ref_ok, n)
    return {
        "accuracy": top1(s["predicted"], s["label"]),
        "accuracy_ci_low": lo, "accuracy_ci_high": hi,
        "ref_accuracy": top1(s["ref_predicted"], s["label"]),
        "ref_accuracy_ci_low": rlo, "ref_accuracy_ci_high": rhi,
        "agreement": agreement(s["predicted"], s["ref_predicted"]),
        "disagreements": int((s["predicted"] != s["ref_predicted"]).sum()),
        "max_abs_err": float(s["max_abs_err"].max()) if s["max_abs_err"].notna().any() else float("nan"),
        "host_ms_median": float(s["host_ms"].median()) if s["host_ms"].notna().any() else float("nan"),
    }


def _record_columns(r: ModelRecord) -> dict[str, Any]:
    """What the model's record says: identity, memory and its share of the board, card, test set."""
    img, flash, ram = r.image, r.board.flash_bytes, r.board.ram_bytes
    test_n = r.test_set.n
    expected = min(int(r.limit), int(test_n)) if r.limit else int(test_n)
    return {
        "task": r.task, "method": r.method, "cell": r.cell, "dtype": r.dtype, "model_hash": r.model_hash,
        "board": r.board.name, "n_expected": expected,
        "host_test_accuracy": r.card.host_test_accuracy,
        "host_export_accuracy": (r.host_accuracy or {}).get("exported"),
        "text_bytes": img.text, "rodata_bytes": img.rodata, "data_bytes": img.data, "bss_bytes": img.bss,
        "flash_bytes": img.flash, "ram_bytes": img.ram, "model_bytes": img.model_bytes, "arena_bytes": r.arena_bytes,
        "stack_peak_bytes": r.stack_peak, "stack_size_bytes": r.stack_size,
        "board_flash_bytes": flash, "board_ram_bytes": ram,
        "text_share": _share(img.text, flash), "rodata_share": _share(img.rodata, flash),
        "data_share": _share(img.data, flash), "flash_share": _share(img.flash, flash),
        "model_share": _share(img.model_bytes, flash),
        "bss_share": _share(img.bss, ram), "ram_share": _share(img.ram, ram),
        "stack_share": _share(r.stack_peak, ram), "arena_share": _share(r.arena_bytes, ram),
        "params": r.card.params, "macs_per_sequence": r.card.macs_per_sequence, "dense_params": r.card.dense_params,
        "compression_vs_dense": r.card.compression_vs_dense,
        "test_set": r.test_set.name, "test_set_hash": r.test_set.content_hash,
        "test_set_synthetic": r.test_set.synthetic, "test_set_n": test_n, "test_set_source": r.test_set.source,
        "limit": r.limit,
    }


def summarize(samples: pd.DataFrame, models: dict[str, ModelRecord] | None = None,
              devices: dict[str, DeviceRecord] | None = None, events: list[RunEvent] | None = None) -> pd.DataFrame:
    """One row per model with every figure of the report; columns are documented in docs/reports.md.

    `devices` (environment.json's) give the counter of a model that has samples but no record yet;
    `events` (events.jsonl) its recoveries."""
    models, devices = models or {}, devices or {}
    rows = []
    kept = current(samples, models)
    good = kept[kept["error"].isna()]
    for name in model_names(samples, models):
        record = models.get(name)
        all_rows = samples[samples["model"] == name]
        s = good[good["model"] == name]
        n_current = int((kept["model"] == name).sum())
        counter = _counter(record, devices.get(name))
        row: dict[str, Any] = {"model": name, "dtype": str(s["dtype"].iloc[0]) if len(s) else None,
                               "model_hash": str(s["model_hash"].iloc[-1]) if len(s) else None}
        if record is not None:
            row.update(_record_columns(record))
        row.update(counter)
        row["physical_board"] = " ".join(sorted(set(s["physical_board"].dropna().astype(str)))) or None
        row["n"] = len(s)
        row["failed"] = n_current - len(s)
        row["complete"] = None if row.get("n_expected") is None else n_current >= row["n_expected"]
        row["n_warmup"] = int(all_rows["warmup"].sum())
        row["stale_samples"] = int((~all_rows["warmup"]).sum()) - n_current
        row["retries"] = int(s["retries"].sum())
        row["recoveries"] = sum(1 for e in events or () if e.model == name and e.kind == "recovery")
        row.update(_accuracy_columns(s))
        row.update(_latency_columns(counter, row.get("board"), s["counter"]))
        rows.append(row)
    return _typed(pd.DataFrame(rows, columns=SUMMARY_COLUMNS))


SUMMARY_COLUMNS = [
    "model", "task", "method", "cell", "dtype", "model_hash", "board", "physical_board", "emulated", "counter_kind",
    "counter_unit", "clock_hz", "n", "n_expected", "complete", "n_warmup", "stale_samples", "failed", "retries",
    "recoveries",
    "accuracy", "accuracy_ci_low", "accuracy_ci_high", "ref_accuracy", "ref_accuracy_ci_low", "ref_accuracy_ci_high",
    "agreement", "disagreements", "max_abs_err", "host_test_accuracy",
    "host_export_accuracy",
    "latency_median_cycles", "latency_median_us", "latency_median_instructions",
    "latency_p90_cycles", "latency_p90_us", "latency_p90_instructions",
    "latency_max_cycles", "latency_max_us", "latency_max_instructions",
    "est_ms_at_clock", "est_clock_hz", "est_rule", "host_ms_median",
    "text_bytes", "rodata_bytes", "data_bytes", "bss_bytes", "flash_bytes", "ram_bytes", "model_bytes",
    "arena_bytes", "stack_peak_bytes", "stack_size_bytes", "board_flash_bytes", "board_ram_bytes",
    "text_share", "rodata_share", "data_share", "flash_share", "model_share", "bss_share", "ram_share",
    "stack_share", "arena_share",
    "params", "macs_per_sequence", "dense_params", "compression_vs_dense",
    "test_set", "test_set_hash", "test_set_synthetic", "test_set_n", "test_set_source", "limit",
]


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """Stable dtypes, so Parquet and CSV round-trip and two runs compare column by column."""
    for c in df.columns:
        if c in INT_COLUMNS or c == "limit":
            df[c] = pd.array([None if _isnull(v) else int(v) for v in df[c]], dtype="Int64")
        elif c in BOOL_COLUMNS:
            df[c] = pd.array([None if _isnull(v) else bool(v) for v in df[c]], dtype="boolean")
        elif c in STRING_COLUMNS:
            df[c] = pd.array([None if _isnull(v) else str(v) for v in df[c]], dtype="string")
        else:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    return df


def _isnull(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))


SIGNIFICANCE = 0.05   # McNemar p at or below this: a difference the test set backs


def paired_difference(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, Any]:
    """Two sets of scored samples (one model each, or one model in two runs), paired by test-set index:
    common samples, each one's accuracy on them, the samples only one gets right, McNemar's exact p."""
    common = a.set_index("index")[["label", "predicted"]].add_suffix("_a").join(
        b.set_index("index")[["label", "predicted"]].add_suffix("_b"), how="inner")
    ok_a = (common["predicted_a"] == common["label_a"]).to_numpy()
    ok_b = (common["predicted_b"] == common["label_b"]).to_numpy()
    n = len(common)
    p = mcnemar_exact(ok_a, ok_b) if n else float("nan")
    return {"n_common": n, "accuracy_a": float(ok_a.mean()) if n else float("nan"),
            "accuracy_b": float(ok_b.mean()) if n else float("nan"),
            "only_a": int((ok_a & ~ok_b).sum()), "only_b": int((~ok_a & ok_b).sum()),
            "p_value": p, "significant": bool(n and p <= SIGNIFICANCE)}


def pairwise(samples: pd.DataFrame, models: dict[str, ModelRecord] | None = None) -> pd.DataFrame:
    """Every pair of models of one task evaluated on the same samples (same test set): their paired
    difference in accuracy and whether McNemar's exact test backs it (p <= SIGNIFICANCE)."""
    models = models or {}
    good = scored(samples, models)
    names = [m for m in model_names(samples, models) if m in models]
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            ra, rb = models[a], models[b]
            if (ra.task, ra.test_set.content_hash) != (rb.task, rb.test_set.content_hash):
                continue
            d = paired_difference(good[good["model"] == a], good[good["model"] == b])
            if not d["n_common"]:
                continue
            rows.append({"task": ra.task, "model_a": a, "method_a": ra.method, "model_b": b, "method_b": rb.method,
                         **d, "difference": d["accuracy_a"] - d["accuracy_b"]})
    cols = ["task", "model_a", "method_a", "model_b", "method_b", "n_common", "accuracy_a", "accuracy_b",
            "difference", "only_a", "only_b", "p_value", "significant"]
    return pd.DataFrame(rows, columns=cols)


def per_class(samples: pd.DataFrame, models: dict[str, ModelRecord] | None = None) -> pd.DataFrame:
    """Long table: per model and true class, samples, device and reference correct counts and accuracy."""
    models = models or {}
    good = scored(samples, models)
    out = []
    for name in model_names(samples, models):
        record = models.get(name)
        s = good[good["model"] == name]
        n = n_classes_for(len(record.classes) if record else 0, s["label"], s["predicted"], s["ref_predicted"])
        names = class_names(record, n)
        dev = confusion_matrix(s["label"], s["predicted"], n)
        ref = confusion_matrix(s["label"], s["ref_predicted"], n)
        for i in range(n):
            total = int(dev[i].sum())
            out.append({"model": name, "class_index": i, "class_name": names[i], "n": total,
                        "correct": int(dev[i, i]), "accuracy": dev[i, i] / total if total else float("nan"),
                        "ref_correct": int(ref[i, i]), "ref_accuracy": ref[i, i] / total if total else float("nan")})
    df = pd.DataFrame(out, columns=["model", "class_index", "class_name", "n", "correct", "accuracy",
                                    "ref_correct", "ref_accuracy"])
    return df.astype({"model": "string", "class_name": "string", "class_index": "int64", "n": "int64",
                      "correct": "int64", "ref_correct": "int64", "accuracy": "float64", "ref_accuracy": "float64"})


def confusion(samples: pd.DataFrame, models: dict[str, ModelRecord] | None = None) -> pd.DataFrame:
    """Long table of every confusion-matrix cell (zeros included): model, true class, predicted class, count."""
    models = models or {}
    good = scored(samples, models)
    out = []
    for name in model_names(samples, models):
        record = models.get(name)
        s = good[good["model"] == name]
        n = n_classes_for(len(record.classes) if record else 0, s["label"], s["predicted"])
        names = class_names(record, n)
        m = confusion_matrix(s["label"], s["predicted"], n)
        for i in range(n):
            for j in range(n):
                out.append({"model": name, "true_index": i, "true_class": names[i], "predicted_index": j,
                            "predicted_class": names[j], "count": int(m[i, j])})
    df = pd.DataFrame(out, columns=["model", "true_index", "true_class", "predicted_index", "predicted_class",
                                    "count"])
    return df.astype({"model": "string", "true_class": "string", "predicted_class": "string",
                      "true_index": "int64", "predicted_index": "int64", "count": "int64"})


def confusion_matrices(samples: pd.DataFrame, models: dict[str, ModelRecord] | None = None
                       ) -> dict[str, tuple[np.ndarray, list[str]]]:
    """Per model: the matrix and its class names, for the plots."""
    df = confusion(samples, models)
    out = {}
    for name, g in df.groupby("model", sort=False):
        n = int(g["true_index"].max()) + 1
        m = np.zeros((n, n), dtype=np.int64)
        m[g["true_index"].to_numpy(), g["predicted_index"].to_numpy()] = g["count"].to_numpy()
        names = g.drop_duplicates("true_index").sort_values("true_index")["true_class"].astype(str).tolist()
        out[str(name)] = (m, names)
    return out
