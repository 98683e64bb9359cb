"""Compare two runs model by model: the nightly regression gate.

    python -m harness compare BASE_RUN NEW_RUN [--thresholds FILE]

Models are matched by name. A model fails when, from BASE to NEW, device
top-1 drops by more than `accuracy_drop_pp` percentage points, the median
latency grows by more than `latency_growth_pct` %, flash or static RAM by
more than `flash_growth_pct` / `ram_growth_pct` %, the peak stack by more
than `stack_growth_pct` %, or (int8 only) agreement with the host reference
drops by more than `int8_agreement_drop_pp` points (default 0: any drop).
Models in only one run are reported, not failed. See docs/reports.md.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd

from ..records import FVP_CYCLES
from . import fmt
from .errors import ReportError
from .metrics import load_run, paired_difference, scored, summarize
from .rundir import SAMPLES, load_events


@dataclass(frozen=True)
class Thresholds:
    """What counts as a regression; every value is a non-negative number. Defaults in docs/reports.md."""

    accuracy_drop_pp: float = 0.5        # device top-1, absolute percentage points
    latency_growth_pct: float = 5.0      # median counter (cycles or instructions), relative
    flash_growth_pct: float = 5.0        # text + rodata + data, relative (Zephyr Twister's footprint threshold)
    ram_growth_pct: float = 5.0          # static RAM, data + bss, relative
    stack_growth_pct: float = 10.0       # peak stack from stack painting, relative
    int8_agreement_drop_pp: float = 0.0  # int8 must match the host reference bit for bit: any drop fails

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in fields(cls)]


DEFAULT_THRESHOLDS = Thresholds()


def load_thresholds(path: str | Path | None) -> Thresholds:
    """A YAML or JSON mapping of some Thresholds keys to numbers; the others keep their defaults."""
    if path is None:
        return DEFAULT_THRESHOLDS
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(f"thresholds file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"cannot read thresholds file {path}: {exc.__class__.__name__}") from None
    return parse_thresholds(text, str(path))


def parse_thresholds(text: str, where: str = "thresholds") -> Thresholds:
    import yaml   # YAML is a superset of JSON: one parser reads both
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise ReportError(f"{where} is not valid YAML or JSON{at}; write `key: number` lines, keys: "
                          f"{', '.join(Thresholds.keys())}") from None
    if data is None:
        return DEFAULT_THRESHOLDS
    if not isinstance(data, dict):
        raise ReportError(f"{where} must be a mapping of threshold names to numbers, found {type(data).__name__}; "
                          f"keys: {', '.join(Thresholds.keys())}")
    known = Thresholds.keys()
    values: dict[str, float] = {}
    for key, value in data.items():
        if key not in known:
            raise ReportError(f"{where}: unknown threshold {str(key)!r}; known ones: {', '.join(known)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ReportError(f"{where}: {key} must be a non-negative number, got {value!r}")
        values[key] = float(value)
    return Thresholds(**values)


@dataclass
class CompareResult:
    rows: pd.DataFrame                          # one row per model: base, new, change, status
    regressions: list[str] = field(default_factory=list)
    text: str = ""
    failed: bool = False
    thresholds: Thresholds = DEFAULT_THRESHOLDS


def run_summary(run_dir: str | Path) -> tuple[Path, pd.DataFrame, pd.DataFrame | None]:
    """A run's per-model summary and its scored samples: from its records, or from summary.parquet when
    only the report is kept (then no samples: accuracy changes cannot be tested for significance)."""
    d = Path(run_dir)
    if d.is_dir() and not (d / SAMPLES).is_file() and (d / "summary.parquet").is_file():
        try:
            return d, pd.read_parquet(d / "summary.parquet"), None
        except (OSError, ValueError) as exc:
            raise ReportError(f"{d / 'summary.parquet'} cannot be read ({exc.__class__.__name__}); "
                              "regenerate the report from the run's samples.jsonl") from None
    d, samples, models, env = load_run(d)
    return d, summarize(samples, models, env.devices if env else None, load_events(d)), scored(samples, models)


def significance(base: pd.DataFrame | None, new: pd.DataFrame | None) -> dict[str, dict[str, Any]]:
    """Per model in both runs: McNemar's exact test on its paired per-sample correctness (harness/stats.py)."""
    if base is None or new is None:
        return {}
    out = {}
    for name in sorted(set(base["model"]) & set(new["model"])):
        d = paired_difference(base[base["model"] == name], new[new["model"] == name])
        if d["n_common"]:
            out[str(name)] = d
    return out


def _latency(row: pd.Series) -> tuple[float, str]:
    unit = row.get("counter_unit")
    if unit in ("cycles", "instructions"):
        return _f(row.get(f"latency_median_{unit}")), unit
    if unit == FVP_CYCLES:   # in the cycles column; never compared with a real core's cycles (units differ)
        return _f(row.get("latency_median_cycles")), unit
    return float("nan"), ""


def _same(a: Any, b: Any) -> bool:
    """Equal, with a missing value equal only to another missing one."""
    if fmt.missing(a) or fmt.missing(b):
        return fmt.missing(a) and fmt.missing(b)
    return str(a) == str(b)


def _f(x: Any) -> float:
    return float("nan") if fmt.missing(x) else float(x)


METRICS = [
    # name, label, summary column, kind, threshold attribute
    ("accuracy", "device top-1", "accuracy", "drop_pp", "accuracy_drop_pp"),
    ("agreement", "agreement", "agreement", "drop_pp", "int8_agreement_drop_pp"),
    ("latency", "latency median", None, "growth", "latency_growth_pct"),
    ("flash", "flash", "flash_bytes", "growth", "flash_growth_pct"),
    ("ram", "static RAM", "ram_bytes", "growth", "ram_growth_pct"),
    ("stack", "peak stack", "stack_peak_bytes", "growth", "stack_growth_pct"),
]


def _notes(b: pd.Series, n: pd.Series) -> list[str]:
    """What changed between the runs and makes the comparison less than like for like, without failing it."""
    notes = []
    if not _same(b.get("model_hash"), n.get("model_hash")):
        notes.append(f"model changed: hash {fmt.short_hash(b.get('model_hash'))} -> {fmt.short_hash(n.get('model_hash'))}")
    if not fmt.missing(b.get("test_set_hash")) and not fmt.missing(n.get("test_set_hash")) \
            and not _same(b.get("test_set_hash"), n.get("test_set_hash")):
        notes.append("test set changed (content hash differs): accuracy is not like for like")
    if _f(b.get("n")) != _f(n.get("n")):
        notes.append(f"samples {fmt.num(b.get('n'))} -> {fmt.num(n.get('n'))}")
    stale = _f(n.get("stale_samples"))
    if stale > 0:
        notes.append(f"NEW holds {fmt.num(stale)} samples of another model hash (ignored)")
    if not fmt.missing(n.get("complete")) and not bool(n.get("complete")):
        notes.append(f"NEW is incomplete ({fmt.num(n.get('n'))} of {fmt.num(n.get('n_expected'))} samples)")
    return notes


def _metric(name: str, key: str, label: str, col: str | None, kind: str, limit: float, b: pd.Series, n: pd.Series,
            row: dict[str, Any], notes: list[str]) -> str | None:
    """Fill one metric's base, new and change into `row`; the regression it makes, if any."""
    if key == "latency":
        bv, bu = _latency(b)
        nv, nu = _latency(n)
        row["latency_unit"] = nu or bu or None
        if bu and nu and bu != nu:
            notes.append(f"latency not compared: BASE counted {bu}, NEW {nu}")
            bv = nv = float("nan")
    else:
        bv, nv = _f(b.get(col)), _f(n.get(col))
    row[f"{key}_base"], row[f"{key}_new"] = bv, nv
    if kind == "drop_pp":
        delta = nv - bv
        row[f"{key}_change_pp"] = 100 * delta
        applies = key != "agreement" or str(n.get("dtype")) == "int8"
        if applies and math.isfinite(delta) and -100 * delta > limit + 1e-9:
            rule = "int8: any drop fails" if key == "agreement" and limit == 0 else f"limit -{limit:g} pp"
            return f"{name}: {label} {fmt.pct(bv, 2)} -> {fmt.pct(nv, 2)} ({fmt.pp(delta)}, {rule})"
        return None
    g = fmt.growth(bv, nv)
    row[f"{key}_change_pct"] = 100 * g
    if math.isfinite(bv) and math.isfinite(nv) and 100 * g > limit + 1e-9:
        unit = f" {row['latency_unit']}" if key == "latency" else " B"
        return f"{name}: {label} {fmt.num(bv)} -> {fmt.num(nv)}{unit} ({fmt.signed_pct(g)}, limit +{limit:g} %)"
    return None


def _compare_model(name: str, b: pd.Series, n: pd.Series, t: Thresholds, sig: dict[str, Any] | None = None
                   ) -> tuple[dict[str, Any], list[str], list[str]]:
    """One model's row, its regressions, and notes (what changed but does not fail)."""
    row: dict[str, Any] = {"model": name, "dtype": n.get("dtype"), "model_hash_base": b.get("model_hash"),
                           "model_hash_new": n.get("model_hash"), "n_base": b.get("n"), "n_new": n.get("n"),
                           "accuracy_paired": sig["n_common"] if sig else None,
                           "accuracy_p_value": sig["p_value"] if sig else float("nan"),
                           "accuracy_significant": sig["significant"] if sig else None}
    notes = _notes(b, n)
    regress: list[str] = []
    if _f(n.get("n")) == 0 and _f(b.get("n")) > 0:
        regress.append(f"{name}: no evaluated samples in NEW (BASE had {fmt.num(b.get('n'))})")
    failing = []
    for key, label, col, kind, attr in METRICS:
        problem = _metric(name, key, label, col, kind, getattr(t, attr), b, n, row, notes)
        if problem:
            failing.append(key)
            regress.append(problem)
    row["failed"] = ", ".join(failing)
    row["status"] = "regression" if regress else "ok"
    row["notes"] = "; ".join(notes)
    return row, regress, notes


ROW_COLUMNS = ["model", "status", "failed", "dtype", "model_hash_base", "model_hash_new", "n_base", "n_new",
               "accuracy_base", "accuracy_new", "accuracy_change_pp", "accuracy_paired", "accuracy_p_value",
               "accuracy_significant",
               "agreement_base", "agreement_new", "agreement_change_pp",
               "latency_unit", "latency_base", "latency_new", "latency_change_pct",
               "flash_base", "flash_new", "flash_change_pct", "ram_base", "ram_new", "ram_change_pct",
               "stack_base", "stack_new", "stack_change_pct", "notes"]


def compare_summaries(base: pd.DataFrame, new: pd.DataFrame, thresholds: Thresholds | None = None,
                      base_name: str = "BASE", new_name: str = "NEW",
                      tests: dict[str, dict[str, Any]] | None = None) -> CompareResult:
    """`tests`: per model, the paired significance test of its accuracy change (see `significance`)."""
    t = thresholds or DEFAULT_THRESHOLDS
    tests = tests or {}
    b_rows = {str(r["model"]): r for _, r in base.iterrows()}
    n_rows = {str(r["model"]): r for _, r in new.iterrows()}
    names = list(b_rows) + [m for m in n_rows if m not in b_rows]
    rows, regressions, blocks = [], [], []
    for name in names:
        if name not in n_rows:
            rows.append({"model": name, "status": "only in BASE"})
            blocks.append(f"{name}: only in BASE, not compared")
            continue
        if name not in b_rows:
            rows.append({"model": name, "status": "only in NEW"})
            blocks.append(f"{name}: only in NEW, not compared")
            continue
        row, regress, notes = _compare_model(name, b_rows[name], n_rows[name], t, tests.get(name))
        rows.append(row)
        regressions += regress
        blocks.append(_model_block(row, regress, notes, t))
    df = pd.DataFrame(rows, columns=ROW_COLUMNS)
    if b_rows and not any(m in n_rows for m in b_rows):
        regressions.append(f"no model of BASE is in NEW ({len(n_rows)} model(s) there): nothing was compared")
    failed = bool(regressions)
    lines = [f"compare {base_name} -> {new_name}",
             "thresholds: " + ", ".join(f"{k} {v:g}" for k, v in asdict(t).items()), ""]
    lines += blocks
    lines.append("")
    if failed:
        lines.append(f"FAIL: {len(regressions)} regression{'s' if len(regressions) != 1 else ''}")
        lines += [f"  - {r}" for r in regressions]
    else:
        compared = sum(1 for r in rows if r["status"] == "ok")
        lines.append(f"PASS: {compared} model{'s' if compared != 1 else ''} compared, no regression")
    return CompareResult(df, regressions, "\n".join(lines) + "\n", failed, t)


def _model_block(row: dict[str, Any], regress: list[str], notes: list[str], t: Thresholds) -> str:
    same = _same(row["model_hash_base"], row["model_hash_new"])
    out = [f"{row['model']} ({row['dtype']}, hash {fmt.short_hash(row['model_hash_new'])}"
           f"{' unchanged' if same else ' changed'}): {'REGRESSION' if regress else 'ok'}"]
    failing = set(row["failed"].split(", ")) if row["failed"] else set()
    unit = row.get("latency_unit") or ""
    agree_limit = ("not gated for float formats" if str(row["dtype"]) != "int8"
                   else "int8: any drop fails" if t.int8_agreement_drop_pp == 0
                   else f"int8: limit -{t.int8_agreement_drop_pp:g} pp")
    for key, label, limit in (("accuracy", "device top-1", f"limit -{t.accuracy_drop_pp:g} pp"),
                              ("agreement", "agreement", agree_limit),
                              ("latency", "latency median", f"limit +{t.latency_growth_pct:g} %"),
                              ("flash", "flash", f"limit +{t.flash_growth_pct:g} %"),
                              ("ram", "static RAM", f"limit +{t.ram_growth_pct:g} %"),
                              ("stack", "peak stack", f"limit +{t.stack_growth_pct:g} %")):
        b, n = row[f"{key}_base"], row[f"{key}_new"]
        if key in ("accuracy", "agreement"):
            bs_, ns_ = fmt.pct(b, 2), fmt.pct(n, 2)
            ch = row[f"{key}_change_pp"]
            change = fmt.DASH if fmt.missing(ch) else f"{ch:+.2f} pp"
        else:
            suffix = f" {unit}" if key == "latency" and unit else ("" if key == "latency" else " B")
            bs_ = fmt.num(b) + ("" if fmt.missing(b) else suffix)
            ns_ = fmt.num(n) + ("" if fmt.missing(n) else suffix)
            change = fmt.signed_pct(row[f"{key}_change_pct"] / 100)
        verdict = "FAIL" if key in failing else "ok"
        tested = ""
        if key == "accuracy" and not fmt.missing(row.get("accuracy_p_value")):
            tested = (f"; McNemar p = {row['accuracy_p_value']:.3g} on {int(row['accuracy_paired'])} paired samples: "
                      + ("significant" if row["accuracy_significant"] else "within noise"))
        out.append(f"  {label:<15}{bs_:>24} -> {ns_:<24}{change:>10}  {verdict:<4} ({limit}{tested})")
    out += [f"  note: {n}" for n in notes]
    return "\n".join(out)


def compare_runs(base_dir: str | Path, new_dir: str | Path, thresholds: Thresholds | str | Path | None = None
                 ) -> CompareResult:
    """Per-model changes from BASE to NEW and whether any crosses a threshold (a Thresholds, a file, or None)."""
    t = thresholds if isinstance(thresholds, Thresholds) else load_thresholds(thresholds)
    b_dir, base, b_samples = run_summary(base_dir)
    n_dir, new, n_samples = run_summary(new_dir)
    return compare_summaries(base, new, t, f"BASE {b_dir}", f"NEW {n_dir}", significance(b_samples, n_samples))


def main(base: str | Path, new: str | Path, thresholds_path: str | Path | None = None) -> int:
    """Print the comparison; 0 when nothing regressed, 1 when something did. Bad input raises ReportError."""
    result = compare_runs(base, new, thresholds_path)
    print(result.text, end="")
    return 1 if result.failed else 0
