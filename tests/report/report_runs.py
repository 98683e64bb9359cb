"""Run directories written by hand, in the runner's layout (docs/reports.md), for the report tests.

Two KWS models (4 classes) and one HAR model (3 classes), tens of samples,
with figures small enough to check by hand.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

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
    """samples.jsonl, models.json and environment.json as the runner writes them."""
    specs = default_specs() if specs is None else specs
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    phys = "qemu:netduinoplus2" if emulated else "066DFF515049657187212033"
    lines, models = [], {}
    for s in specs:
        base = {"model": s["name"], "model_hash": s["hash"], "dtype": s["dtype"], "physical_board": phys}
        lines.append({**base, "index": -1, "label": s["labels"][0], "predicted": s["predicted"][0],
                      "ref_predicted": s["ref_predicted"][0], "max_abs_err": 0.0, "counter": s["warmup_counter"],
                      "warmup": True, "host_ms": None})
        for i, y in enumerate(s["labels"]):
            lines.append({**base, "index": i, "label": y, "predicted": s["predicted"][i],
                          "ref_predicted": s["ref_predicted"][i], "max_abs_err": s["max_abs_err"][i],
                          "counter": s["counters"][i], "warmup": False, "host_ms": 0.25})
        img = dict(s["image"])
        img["flash"] = img["text"] + img["rodata"] + img["data"]
        img["ram"] = img["data"] + img["bss"]
        img["elf"] = f"/build/images/{board}/{s['hash'][:16]}/firmware.elf"
        models[s["name"]] = {
            "model_dir": f"/models/zoo/{s['name']}", "task": s["task"], "method": s["method"], "cell": s["cell"],
            "dtype": s["dtype"], "model_hash": s["hash"], "classes": s["classes"], "card": copy.deepcopy(s["card"]),
            "host_accuracy": {"samples": 1000, "float": 0.9, "exported": 0.895, "cost": -0.005, "agreement": 0.99},
            "image": img, "arena_bytes": s["arena_bytes"], "stack_peak": s["stack_peak"], "stack_size": s["stack_size"],
            "board": {"name": board, "flash_bytes": 524_288, "ram_bytes": 131_072, "clock_hz": CLOCK},
            "counter": {"kind": "icount-instructions" if emulated else "dwt-cycles",
                        "unit": "instructions" if emulated else "cycles", "emulated": emulated, "clock_hz": CLOCK},
            "test_set": {"name": f"{s['task']}-synth", "content_hash": ("ab" if s["task"] == "kws" else "cd") * 32,
                         "synthetic": True, "n": len(s["labels"]) if s["limit"] is None else 100},
            "limit": s["limit"],
        }
    text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in lines)
    text += "".join(line + "\n" for line in extra_lines or [])
    (run_dir / "samples.jsonl").write_text(text + (tail or ""))
    (run_dir / "models.json").write_text(json.dumps(models, indent=1))
    env = environment if environment is not None else {
        "run_id": run_dir.name, "git_commit": "0123456789abcdef0123456789abcdef01234567", "board": board,
        "target": {"kind": "emulated" if emulated else "hardware",
                   "emulator": "QEMU netduinoplus2 (-icount shift=0)" if emulated else None},
        "settings": {"board": board, "dtype": "int8", "limit": None, "models": [s["name"] for s in specs]},
        "toolchain": {"python": "3.11.7", "arm-none-eabi-gcc": "arm-none-eabi-gcc 12.2.1"},
        "devices": {s["name"]: {"kind": "emulated" if emulated else "hardware", "physical_board": phys,
                                "fw_version": "0.1.0", "model_hash": s["hash"]} for s in specs},
        "finished": "2026-11-28T12:00:00+00:00",
    }
    (run_dir / "environment.json").write_text(json.dumps(env, indent=1))
    return run_dir
