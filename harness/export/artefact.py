"""An export directory as the firmware build, the host reference and the runner read it (numpy only).

    manifest.json   shapes, formats, quantization, arena, model hash, host accuracy
    weights.npz     every array the device stores
    model.c/.h/.cmake   the generated sources the firmware compiles in

Reading an export never needs torch: `load_exported(dir)` gives the manifest,
the arrays and the numpy reference of the device arithmetic.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import quantize as qz
from . import reference
from .lower import Lowered

MANIFEST_VERSION = 1
FILES = ("manifest.json", "weights.npz", "model.c", "model.h", "model.cmake")


class ExportError(ValueError):
    """The model cannot be exported as asked; one line says why and what to do."""


@dataclass
class Exported:
    """An export directory, read back: what the build, the reference and the runner use."""

    path: Path
    manifest: dict[str, Any]
    arrays: dict[str, np.ndarray]

    @property
    def structure(self) -> dict[str, Any]:
        return self.manifest["graph"]

    @property
    def dtype(self) -> str:
        return self.structure["dtype"]

    @property
    def model_hash(self) -> str:
        return self.manifest["model_hash"]

    def reference(self, x_device: np.ndarray) -> np.ndarray:
        return reference.run(self.structure, self.arrays, x_device)

    def device_input(self, x_std: np.ndarray) -> np.ndarray:
        """Standardised float input -> the tensor the device takes (int8 or float32)."""
        scale = self.structure["input_scale"]
        return qz.quantize_input(x_std, scale) if self.dtype == "int8" else np.asarray(x_std, np.float32)

    @property
    def output_dtype(self) -> np.dtype:
        return np.dtype(self.manifest["output"]["dtype"])

    @property
    def output_scale(self) -> float:
        """Real value of one unit of the device's output (2^-12 for int8 logits, 1 for float)."""
        return float(self.manifest["output"]["scale"])

    def output_values(self, raw: bytes) -> np.ndarray:
        """The device's output bytes as real-valued logits."""
        return np.frombuffer(raw, self.output_dtype).astype(np.float64) * self.output_scale


def model_hash(lowered: Lowered) -> str:
    """sha256 of the descriptor and every array: what the device reports in HELLO."""
    h = hashlib.sha256()
    h.update(json.dumps(lowered.structure, sort_keys=True).encode())
    for name in sorted(lowered.arrays):
        a = lowered.arrays[name]
        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def load_exported(path: Path) -> Exported:
    """An export directory, checked complete and consistent (its hash recomputed)."""
    path = Path(path)
    missing = [f for f in FILES if not (path / f).is_file()]
    if missing:
        raise ExportError(f"{path} is not a complete export (missing {', '.join(missing)}); "
                          "run `python -m harness export MODEL_DIR --dtype ... --out DIR`")
    try:
        manifest = json.loads((path / "manifest.json").read_text())
        with np.load(path / "weights.npz") as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (ValueError, OSError) as exc:   # cut short or overwritten: JSON, zip and npy errors are ValueError/OSError
        raise ExportError(f"{path}: cannot read the export ({type(exc).__name__}: {exc}); export again") from None
    got = model_hash(Lowered(manifest["graph"], arrays))
    if got != manifest["model_hash"]:
        raise ExportError(f"{path}: weights.npz does not match manifest.json (hash {got[:12]}… vs "
                          f"{manifest['model_hash'][:12]}…); export again")
    return Exported(path, manifest, arrays)
