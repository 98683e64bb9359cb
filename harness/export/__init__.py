"""Model export and the host reference of the device arithmetic (device_fw/runtime/).

    export_model_dir(model_dir, "int8", out)  -> Exported (manifest, arrays)
    load_exported(out)                        -> Exported, hash checked
    Exported.reference(x_device)              -> the device's logits, computed in numpy
"""

from .exporter import ExportError, Exported, export_graph, load_exported, model_hash
from .from_dir import card_data_source, export_model_dir
from .graph import Graph, from_model
from .lower import DTYPES, lower
from .quantize import QuantizationError

__all__ = ["DTYPES", "ExportError", "Exported", "Graph", "QuantizationError", "card_data_source", "export_graph",
           "export_model_dir", "from_model", "load_exported", "lower", "model_hash"]
