"""Model export and the host reference of the device arithmetic (device_fw/runtime/).

    export_model_dir(model_dir, "int8", out)  -> Exported (manifest, arrays)
    cached_export(model_dir, "int8")          -> the same, reused from build/export/ while unchanged
    load_exported(out)                        -> Exported, hash checked
    Exported.reference(x_device)              -> the device's logits, computed in numpy

Reading an export (artefact.py, reference.py) needs numpy alone; turning a
checkpoint into one (from_torch.py) needs torch, imported only then.
"""

from .artefact import ExportError, Exported, load_exported, model_hash
from .exporter import export_graph
from .from_dir import cached_export, default_export_dir, export_model_dir
from .graph import Graph
from .lower import DTYPES, lower
from .quantize import QuantizationError

__all__ = ["DTYPES", "ExportError", "Exported", "Graph", "QuantizationError", "cached_export", "default_export_dir",
           "export_graph", "export_model_dir", "from_model", "load_exported", "lower", "model_hash"]


def __getattr__(name: str):
    if name == "from_model":   # torch
        from .from_torch import from_model
        return from_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
