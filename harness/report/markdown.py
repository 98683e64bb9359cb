"""summary.md: the compact table a person pastes into a review."""

from __future__ import annotations

from typing import Any

import pandas as pd

from . import fmt
from ..records import EMULATED, FVP_CYCLES, HARDWARE, MIXED, DeviceRecord, RunEvent, ScenarioResult, counter_unit
from .metrics import EST_RULE
from .rundir import RunInfo


def md_cell(x: Any) -> str:
    """Text safe inside a markdown table cell: pipes escaped, no line breaks."""
    s = fmt.DASH if fmt.missing(x) else str(x)
    return s.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def latency_units(summary: pd.DataFrame) -> set[str]:
    return {u for u in summary["counter_unit"].dropna()} if len(summary) else set()


def latency_cell(row: pd.Series, stat: str = "median", unit_in_cell: bool = False) -> str:
    """The counter figure in its own unit; on hardware also microseconds at the reported clock."""
    unit = row.get("counter_unit")
    if unit == "cycles":
        cycles, us = row.get(f"latency_{stat}_cycles"), row.get(f"latency_{stat}_us")
        if fmt.missing(cycles):
            return fmt.DASH
        s = fmt.num(cycles) + (" cycles" if unit_in_cell else "")
        return s if fmt.missing(us) else f"{s} ({fmt.num(us, 1)} µs)"
    if unit == "instructions":
        v = row.get(f"latency_{stat}_instructions")
        return fmt.DASH if fmt.missing(v) else fmt.num(v) + (" instructions" if unit_in_cell else "")
    if unit == FVP_CYCLES:   # an Arm FVP's count: never µs
        v = row.get(f"latency_{stat}_cycles")
        return fmt.DASH if fmt.missing(v) else fmt.num(v) + (" FVP cycles" if unit_in_cell else "")
    return fmt.DASH


def latency_header(units: set[str], stat: str = "median") -> tuple[str, bool]:
    """Column header and whether each cell must carry its unit (a run mixing units)."""
    if units == {"instructions"}:
        return f"latency {stat} (instructions)", False
    if units == {"cycles"}:
        return f"latency {stat} (cycles, µs)", False
    if units == {FVP_CYCLES}:
        return f"latency {stat} (FVP cycles)", False
    return f"latency {stat}", True


def ran_on_line(info: RunInfo) -> str:
    if info.where == EMULATED:
        return f"emulated twin of {info.board}" + (f", {info.emulator}" if info.emulator else "")
    if info.where == HARDWARE:
        probes = ", ".join(p for p in info.physical_boards if not p.startswith("qemu:"))
        return f"real board {info.board}" + (f" (probe {probes})" if probes else "")
    if info.where == MIXED:
        return f"{info.board}: some models on the real board, some emulated (see the table)"
    return f"{info.board} (real or emulated not recorded)"


def latency_note(summary: pd.DataFrame) -> str:
    units = latency_units(summary)
    if units == {"instructions"}:
        return ("Latency: executed **instructions** counted by QEMU (`-icount`), not time: QEMU models no caches, "
                "pipeline or wait states. `summary.csv` has `est_ms_at_clock` beside it, an " + EST_RULE + ".")
    if units == {"cycles"}:
        return ("Latency: core **cycles** from the DWT cycle counter around the inference alone, and microseconds "
                "at the clock the device reported.")
    if units == {FVP_CYCLES}:
        return (f"Latency: **FVP cycles** (`{FVP_CYCLES}`), the simulated clock of Arm's FVP around the inference "
                "alone: Fast Models run about one instruction per cycle, in quanta, so this is neither a real core's "
                "cycles nor time.")
    if units:
        return ("Latency: cycles on real boards, **instructions** (QEMU `-icount`, not time) under emulation, "
                "FVP cycles (Arm FVP, not cycle-accurate, not time); each cell names its unit.")
    return "Latency: no samples recorded yet."


def summary_markdown(summary: pd.DataFrame, info: RunInfo, scenarios: list[ScenarioResult] = (),
                     devices: dict[str, DeviceRecord] | None = None, events: list[RunEvent] = (),
                     pairs: pd.DataFrame | None = None) -> str:
    """The run's summary: heading, the model table when models ran, the scenario table when pytest ran."""
    lines = [f"# Run {md_cell(info.run_id)} on {md_cell(info.board)}", ""]
    lines.append(f"- Ran on: **{md_cell(ran_on_line(info))}**")
    if summary.empty and scenarios:
        lines += [f"- Device: {md_cell(device_line(d))}" for d in _distinct(devices or {})]
        lines += [f"- Commit: `{md_cell(info.git_commit or 'unknown')}`", ""]
        return "\n".join(lines) + "\n" + scenario_table(scenarios)
    lines.append(f"- {latency_note(summary)}")
    lines.append(f"- Commit: `{md_cell(info.git_commit or 'unknown')}`")
    for ts in test_set_lines(summary):
        lines.append(f"- Test set: {md_cell(ts)}")
    for name, n, expected in incomplete(summary):
        lines.append(f"- **Incomplete**: {md_cell(name)} has {n:,} of {expected:,} samples "
                     "(run interrupted? resume it with --resume)")
    lines += [f"- {md_cell(line)}" for line in fault_lines(summary, events)]
    lines.append("")
    units = latency_units(summary)
    lat_header, unit_in_cell = latency_header(units)
    header = ["model", "method", "dtype", "n", "device top-1 (95 % CI)", "host-reference top-1", "agreement", lat_header,
              "flash (of board)", "static RAM (of board)", "params", "compression vs dense"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join(["---"] * 3 + ["---:"] * (len(header) - 3)) + "|")
    for _, r in summary.iterrows():
        cells = [r["model"], r["method"], r["dtype"], fmt.num(r["n"]),
                 fmt.pct_ci(r["accuracy"], r["accuracy_ci_low"], r["accuracy_ci_high"]),
                 fmt.pct(r["ref_accuracy"]), fmt.pct(r["agreement"]), latency_cell(r, "median", unit_in_cell),
                 fmt.bytes_share(r["flash_bytes"], r["flash_share"]), fmt.bytes_share(r["ram_bytes"], r["ram_share"]),
                 fmt.num(r["params"]), fmt.ratio(r["compression_vs_dense"])]
        lines.append("| " + " | ".join(md_cell(c) for c in cells) + " |")
    if summary.empty:
        lines.append("| " + " | ".join([fmt.DASH] * len(header)) + " |")
    lines += ["", "Accuracy counts every evaluated sample but the warm-up, with its 95 % Wilson interval; "
              "host-reference top-1 is the exported model run on the host on the same inputs. Full figures: "
              "`summary.csv`, `index.html`.", ""]
    lines += differences_markdown(pairs)
    if scenarios:
        lines += ["## Scenarios", "", scenario_table(scenarios)]
    return "\n".join(lines)


CLAIMS = ("kp", "dkp")   # the methods whose comparisons summary.md shows (every pair is in pairwise.csv)


def differences_markdown(pairs: pd.DataFrame | None) -> list[str]:
    """KP and DKP against the other methods of their task, on the same samples: the difference, and
    whether McNemar's exact test backs it."""
    if pairs is None or pairs.empty:
        return []
    rows = pairs[pairs["method_a"].isin(CLAIMS) | pairs["method_b"].isin(CLAIMS)]
    if rows.empty:
        return []
    out = ["## Differences on the same samples", "",
           "| model | vs | n | difference | only this right | only that right | McNemar p | verdict |",
           "|---|---|---:|---:|---:|---:|---:|---|"]
    for _, r in rows.iterrows():
        a_first = r["method_a"] in CLAIMS
        a, b = (r["model_a"], r["model_b"]) if a_first else (r["model_b"], r["model_a"])
        diff = r["difference"] if a_first else -r["difference"]
        only_a, only_b = (r["only_a"], r["only_b"]) if a_first else (r["only_b"], r["only_a"])
        verdict = ("better" if diff > 0 else "worse") if r["significant"] else "within noise"
        out.append(f"| {md_cell(a)} | {md_cell(b)} | {int(r['n_common']):,} | {(100 * diff) or 0.0:+.1f} pp | {int(only_a)} | "
                   f"{int(only_b)} | {r['p_value']:.3g} | {verdict} |")
    out += ["", "A difference is called better or worse only when McNemar's exact test on the paired "
            "predictions gives p <= 0.05; every pair of models is in `pairwise.csv`.", ""]
    return out


def fault_lines(summary: pd.DataFrame, events: list[RunEvent]) -> list[str]:
    """What the link and the runner had to do to get the results: retries, recoveries, samples given up."""
    out = []
    for _, r in summary.iterrows():
        parts = []
        if not fmt.missing(r["retries"]) and int(r["retries"]):
            parts.append(f"{int(r['retries']):,} request(s) sent again")
        if not fmt.missing(r["recoveries"]) and int(r["recoveries"]):
            parts.append(f"the device brought back {int(r['recoveries'])} time(s)")
        if not fmt.missing(r["failed"]) and int(r["failed"]):
            parts.append(f"**{int(r['failed'])} sample(s) given up** (recorded with their reason, not counted)")
        if parts:
            out.append(f"Faults: {r['model']}: " + ", ".join(parts))
    for e in events:
        if e.kind == "gave-up":
            out.append(f"**Gave up** on {e.model} at {e.at}: {e.detail}")
    return out


_UNIT_WORDS = {"instructions": "QEMU -icount instructions, not time",
               FVP_CYCLES: "Arm FVP cycles, not cycle-accurate, not time"}


def device_line(d: DeviceRecord) -> str:
    unit = _UNIT_WORDS.get(counter_unit(d.counter_kind), "core cycles")
    return (f"firmware {d.fw_version}, protocol {d.protocol_version}, {d.core} at {d.clock_hz:,} Hz, counter "
            f"{d.counter_kind} ({unit}); image flash {d.image_flash:,} B, static RAM {d.image_ram:,} B; "
            f"on {d.physical_board}")


def _distinct(devices: dict[str, DeviceRecord]) -> list[DeviceRecord]:
    return list({d: None for d in devices.values()})


def scenario_table(results: list[ScenarioResult]) -> str:
    lines = ["| scenario | phase | outcome | seconds | physical board |", "|---|---|---|---:|---|"]
    for r in results:
        lines.append(f"| `{md_cell(r.nodeid)}` | {r.phase} | {r.outcome} | {r.seconds:.3f} | {md_cell(r.physical_board)} |")
    passed = sum(1 for r in results if r.phase == "call" and r.outcome == "passed")
    failed = sum(1 for r in results if r.outcome == "failed")
    lines += ["", f"{passed} passed, {failed} failed", ""]
    return "\n".join(lines)


def test_set_lines(summary: pd.DataFrame) -> list[str]:
    out = []
    if summary.empty:
        return out
    for (name, h, synth), g in summary.groupby(["test_set", "test_set_hash", "test_set_synthetic"], dropna=False,
                                               sort=False):
        if fmt.missing(name):
            continue
        what = "" if fmt.missing(synth) else ("synthetic" if bool(synth) else "real")
        n_total = g["test_set_n"].dropna()
        limits = g["limit"].dropna()
        used = ""
        if len(n_total):
            total = int(n_total.iloc[0])
            used = (f", a class-stratified {int(limits.iloc[0]):,} of {total:,} samples (--limit "
                    f"{int(limits.iloc[0])}, seed 0)" if len(limits) and int(limits.iloc[0]) < total
                    else f", {total:,} samples")
        sources = sorted({str(v) for v in g["test_set_source"].dropna() if str(v)})
        if sources:
            used += f", from {', '.join(sources)}"
        tasks = ", ".join(sorted(set(g["task"].dropna())))
        lines = f"{name} ({', '.join(x for x in (what, 'hash ' + fmt.short_hash(h)) if x)}){used}"
        out.append(f"{tasks}: {lines}" if tasks else lines)
    return out


def incomplete(summary: pd.DataFrame) -> list[tuple[str, int, int]]:
    out = []
    for _, r in summary.iterrows():
        if not fmt.missing(r["complete"]) and not bool(r["complete"]):
            out.append((str(r["model"]), int(r["n"]), int(r["n_expected"])))
    return out
