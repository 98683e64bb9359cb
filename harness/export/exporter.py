"""`export`: a trained model directory -> C sources, weights and a manifest.

    python -m harness export models/kws-kp-lstm --dtype int8 --out build/export/kws-kp-lstm-int8

The output directory holds manifest.json (shapes, quantization, layers and
their bytes, arena size, model hash, host accuracy before and after
quantization), weights.npz (every array the device stores), and model.c,
model.h, model.cmake for the firmware build.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from . import cgen
from . import quantize as qz
from . import reference
from .artefact import MANIFEST_VERSION, ExportError, Exported, model_hash
from .graph import Graph
from .lower import DTYPES, Lowered, input_bytes, lower, output_bytes

def calibrate(graph: Graph, x_std: np.ndarray) -> tuple[float, dict[str, float]]:
    """Input scale and the peak of every two-stage intermediate, from the float model on `x_std`."""
    f32 = lower(graph, "fp32")
    peaks: dict[str, float] = {}
    for start in range(0, len(x_std), 256):
        reference.run(f32.structure, f32.arrays, x_std[start:start + 256], record=peaks)
    return qz.input_scale(x_std), peaks


def _layer_bytes(lowered: Lowered) -> list[dict[str, Any]]:
    rows = []
    for name, layer in lowered.structure["layers"].items():
        names = [layer["bias"]] if layer["bias"] else []
        kinds = []
        for t in layer["terms"]:
            kinds.append(t["kind"])
            for part in ("a", "b"):
                if t[part]:
                    names += [t[part]["data"]] + ([t[part]["scale"]] if t[part]["scale"] else [])
            names += [t[k] for k in ("indptr", "indices") if t[k]]
            names += [r[k] for r in (t["mid"], t["acc"]) if r for k in ("mult", "shift")]
        rows.append({"name": name, "in": layer["in"], "out": layer["out"], "terms": kinds,
                     "bytes": int(sum(lowered.arrays[n].nbytes for n in names))})
    fg = lowered.structure["fastgrnn"]
    if fg:
        rows.append({"name": "fastgrnn", "in": 0, "out": lowered.structure["hidden"], "terms": [],
                     "bytes": int(lowered.arrays[fg["bias_z"]].nbytes + lowered.arrays[fg["bias_h"]].nbytes)})
    return rows


def export_graph(graph: Graph, dtype: str, out: Path, *, calibration: np.ndarray | None = None,
                 meta: dict[str, Any] | None = None, evaluate: tuple[np.ndarray, np.ndarray] | None = None,
                 input_norm: dict[str, Any] | None = None) -> Exported:
    """Write the export of `graph` in `dtype` to `out`.

    calibration: standardised inputs (n, seq_len, input_size), needed for int8.
    evaluate: (standardised x, labels) to report the accuracy of the float and
    the exported arithmetic on the host.
    """
    if dtype not in DTYPES:
        raise ExportError(f"unknown dtype {dtype!r}; use one of {', '.join(DTYPES)}")
    calib_info = None
    if dtype == "int8":
        if calibration is None or len(calibration) == 0:
            raise ExportError("int8 export needs a calibration set; pass calibration inputs (the training split is used by default)")
        in_scale, peaks = calibrate(graph, calibration)
        lowered = lower(graph, dtype, input_scale=in_scale, mid_peaks=peaks)
        calib_info = {"samples": int(len(calibration)), "input_percentile": qz.INPUT_PERCENTILE,
                      "input_scale": in_scale, "mid_headroom": qz.MID_HEADROOM, "mid_peaks": peaks}
    else:
        lowered = lower(graph, dtype)
    manifest = {"calibration": calib_info, **(meta or {})}
    if input_norm:
        manifest["input_norm"] = input_norm
    if evaluate is not None:
        manifest["host_accuracy"] = host_accuracy(graph, lowered, *evaluate)
    return write_export(lowered, out, manifest)


def write_export(lowered: Lowered, out: Path, extra: dict[str, Any] | None = None) -> Exported:
    """Write the files of an export; `extra` adds fields to the manifest."""
    digest = model_hash(lowered)
    s, dtype = lowered.structure, lowered.dtype
    extra = dict(extra or {})
    norm = extra.pop("input_norm", None)
    weights = int(sum(a.nbytes for a in lowered.arrays.values()))
    manifest: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION,
        "model_hash": digest,
        "dtype": dtype,
        "input": {"shape": [s["seq_len"], s["input_size"]], "dtype": "int8" if dtype == "int8" else "float32",
                  "scale": s["input_scale"], "zero_point": 0, "bytes": input_bytes(s),
                  **({"mean": norm["mean"], "std": norm["std"]} if norm else {})},
        "output": {"shape": [s["classes"]], "dtype": "int32" if dtype == "int8" else "float32",
                   "scale": 2.0 ** -qz.PRE_FRAC if dtype == "int8" else 1.0, "bytes": output_bytes(s)},
        "arena_bytes": s["arena_bytes"],
        "weight_bytes": weights,
        "layers": _layer_bytes(lowered),
        "fixed_point": None if dtype != "int8" else {
            "preactivation_frac_bits": qz.PRE_FRAC, "gate_frac_bits": qz.GATE_FRAC,
            "cell_frac_bits": qz.CELL_FRAC, "hidden_frac_bits": qz.HIDDEN_FRAC,
            "activation_tables": "513 entries over [-8, 8], linear interpolation (harness/export/tables.py)"},
        "calibration": None,
        "graph": s,
        **extra,
        "exported": {"harness": __version__, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "weights.npz", **lowered.arrays)
    (out / "model.c").write_text(cgen.model_c(s, lowered.arrays, digest))
    (out / "model.h").write_text(cgen.model_h(s))
    (out / "model.cmake").write_text(cgen.model_cmake(s, digest))
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")  # last: marks a complete export
    return Exported(out, manifest, dict(lowered.arrays))


def host_accuracy(graph: Graph, lowered: Lowered, x_std: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Top-1 of the float graph and of the exported arithmetic on the same samples."""
    f32 = lower(graph, "fp32")
    exp = Exported(Path("."), {"graph": lowered.structure}, lowered.arrays)
    float_pred, q_pred = [], []
    for start in range(0, len(x_std), 256):
        xb = x_std[start:start + 256]
        float_pred.append(reference.predict(reference.run(f32.structure, f32.arrays, xb)))
        q_pred.append(reference.predict(reference.run(lowered.structure, lowered.arrays, exp.device_input(xb))))
    fp, qp = np.concatenate(float_pred), np.concatenate(q_pred)
    y = np.asarray(y)
    return {"samples": int(len(y)), "float": float((fp == y).mean()), "exported": float((qp == y).mean()),
            "cost": float((fp == y).mean() - (qp == y).mean()), "agreement": float((fp == qp).mean())}
