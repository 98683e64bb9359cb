"""Run directories written by hand, in the runner's layout (docs/reports.md), for the report tests.

Two KWS models (4 classes) and one HAR model (3 classes), tens of samples,
with figures small enough to check by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from harness.records import (EMULATED, HARDWARE, BoardRecord, CardFigures, CounterRecord, DeviceRecord, Environment,
                             ImageRecord, ModelRecord, RunSettings, SampleRow, TestSetRecord, write_json, write_models)

KWS = ["yes", "no", "up", "down"]
HAR = ["walking", "sitting", "lying"]
CLOCK = 180_000_000


def model_spec(name: str, **over: Any) -> dict[str, Any]:
    """A model's figures: labels, device and reference predictions, counters, sizes."""
    spec = {
        "name": name, "task": "kws", "method": "kp", "cell": "lstm", "dtype": "int8", "classes": KWS,
        "hash": (name.encode().hex() * 8)[:64],
        "labels": [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3],
        "predicted": [0, 0, 1, 1, 1, 1, 2, 2, 0, 3, 3, 3],
        "ref_predicted": [0, 0, 1, 1, 1, 1, 2, 2, 0, 3, 3, 3],
        "counters": [10_000 * (i + 1) for i in range(12)],
        "max_abs_err": [0.0] * 12,
        "warmup_counter": 999_999,
        "image": {"text": 12_000, "rodata": 4_000, "data": 100, "bss": 20_000, "model_bytes": 1_900},
        "arena_bytes": 1_536, "stack_peak": 500, "stack_size": 8_192,
        "card": {"params": 6_508, "macs_per_sequence": 300_000, "dense_params": 72_716,
                 "compression_vs_dense": 72_716 / 6_508, "host_test_accuracy": 0.89},
        "limit": None,
    }
    spec.update(over)
    return spec


def default_specs() -> list[dict[str, Any]]:
    return [
        model_spec("kws-kp-lstm"),
        model_spec("kws-dense-lstm", method="dense", predicted=[0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3],
                   ref_predicted=[0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3],
                   counters=[50_000 + 1_000 * i for i in range(12)],
                   image={"text": 12_000, "rodata": 80_000, "data": 100, "bss": 20_000, "model_bytes": 75_000},
                   card={"params": 72_716, "macs_per_sequence": 3_500_000, "dense_params": 72_716,
                         "compression_vs_dense": 1.0, "host_test_accuracy": 0.927}),
        model_spec("har-small-lstm", task="har", method="small", classes=HAR,
                   labels=[0, 0, 0, 0, 1, 1, 1, 1, 2, 2], predicted=[0, 0, 0, 1, 1, 1, 1, 1, 2, 2],
                   ref_predicted=[0, 0, 0, 1, 1, 1, 1, 1, 2, 2], counters=[5_000] * 10, max_abs_err=[0.0] * 10,
                   image={"text": 12_000, "rodata": 1_000, "data": 100, "bss": 18_000, "model_bytes": 700},
                   card={"params": 630, "macs_per_sequence": 80_000, "dense_params": 5_574,
                         "compression_vs_dense": 5_574 / 630, "host_test_accuracy": None}),
    ]


def write_run(run_dir: Path, specs: list[dict[str, Any]] | None = None, *, emulated: bool = True,
              board: str = "nucleo-f446re", extra_lines: list[str] | None = None, tail: str | None = None,
              environment: dict[str, Any] | None = None) -> Path:
    """samples.jsonl, models.json and environment.json as the runner writes them, through its records.

    `environment` overrides fields of the Environment record; extra_lines and tail are appended raw."""
    specs = default_specs() if specs is None else specs
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    phys = "qemu:netduinoplus2" if emulated else "066DFF515049657187212033"
    lines, models, devices = [], {}, {}
    for s in specs:
        def row(index, i, warmup):
            return SampleRow(s["name"], s["hash"], s["dtype"], index, s["labels"][i], s["predicted"][i],
                             s["ref_predicted"][i], 0.0 if warmup else s["max_abs_err"][i],
                             s["warmup_counter"] if warmup else s["counters"][i], warmup, phys,
                             None if warmup else 0.25)
        lines.append(row(-1, 0, True))
        lines += [row(i, i, False) for i in range(len(s["labels"]))]
        img = dict(s["image"])
        models[s["name"]] = ModelRecord(
            model_dir=f"/models/zoo/{s['name']}", task=s["task"], method=s["method"], cell=s["cell"], dtype=s["dtype"],
            model_hash=s["hash"], classes=list(s["classes"]), card=CardFigures(**s["card"]),
            host_accuracy={"samples": 1000, "float": 0.9, "exported": 0.895, "cost": -0.005, "agreement": 0.99},
            image=ImageRecord(img["text"], img["rodata"], img["data"], img["bss"],
                              img["text"] + img["rodata"] + img["data"], img["data"] + img["bss"], img["model_bytes"],
                              f"/build/images/{board}/{s['hash'][:16]}/firmware.elf"),
            arena_bytes=s["arena_bytes"], stack_peak=s["stack_peak"], stack_size=s["stack_size"],
            board=BoardRecord(board, 524_288, 131_072, CLOCK),
            counter=CounterRecord.of("icount-instructions" if emulated else "dwt-cycles", CLOCK),
            test_set=TestSetRecord(f"{s['task']}-synth", ("ab" if s["task"] == "kws" else "cd") * 32, True,
                                   len(s["labels"]) if s["limit"] is None else 100),
            limit=s["limit"])
        devices[s["name"]] = DeviceRecord(
            EMULATED if emulated else HARDWARE, phys, "QEMU netduinoplus2" if emulated else "ST-LINK/V2-1 " + phys,
            "test", "0.1.0", 1, board, "cortex-m4", CLOCK, models[s["name"]].counter.kind, 2048, s["hash"],
            "ef" * 32, 16_100, 20_100)
    text = "".join(r.to_line() + "\n" for r in lines)
    text += "".join(line + "\n" for line in extra_lines or [])
    (run_dir / "samples.jsonl").write_text(text + (tail or ""))
    write_models(run_dir, models)
    env = Environment(run_id=run_dir.name, board=board, git_commit="0123456789abcdef0123456789abcdef01234567",
                      toolchain={"python": "3.11.7", "arm-none-eabi-gcc": "arm-none-eabi-gcc 12.2.1"},
                      started="2026-11-28T11:00:00+00:00", finished="2026-11-28T12:00:00+00:00",
                      settings=RunSettings(board, "int8", None, [s["name"] for s in specs]), devices=devices)
    if environment:
        env = attrs.evolve(env, **environment)
    write_json(run_dir / "environment.json", env.to_json())
    return run_dir
