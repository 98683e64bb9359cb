"""`summarize(model)`: the size and cost figures that model cards and reports quote.

One row per weight matrix (each harness weight layer, or a plain nn.Linear
counted as dense), one row `other` for parameters outside weight layers
(e.g. FastGRNN's biases and ζ, ν), and a `total` row. Columns:

- name, kind, shape (out x in), factors (factor or sparsity shapes)
- weights: stored weight values (A + B; + S's kept entries; U + V; kept
  entries of a pruned W; W); padding adds none
- bias: bias values; params = weights + bias (+ the `other` row)
- nnz: non-zero weight values
- bytes_fp32: 4 bytes per weight and bias value, plus CSR index arrays
- bytes_int8: 1 byte per weight value, 4 per bias value (int32, as
  CMSIS-NN keeps it), plus CSR index arrays; per-tensor scales not counted.
  CSR indices are 16-bit where they fit (columns <= 65536, entries < 65536),
  else 32-bit. Parameters outside weight layers count 4 bytes in both.
- macs_step: multiply-accumulates for one application to one vector (one
  time step for cell matrices); bias adds and gate arithmetic not counted
- uses_per_seq: applications per sequence (seq_len inside a cell, 1 for the
  head); macs_seq = macs_step · uses_per_seq. Empty without a seq_len.
- dense_weights: out·in, the dense matrix the layer replaces
- compression: dense_weights / weights
"""

from __future__ import annotations

import pandas as pd
import torch
from torch import nn

from .cells import RecurrentCell
from .layer import WeightLayer

COLUMNS = ["name", "kind", "shape", "factors", "weights", "bias", "params", "nnz", "bytes_fp32", "bytes_int8",
           "macs_step", "uses_per_seq", "macs_seq", "dense_weights", "compression"]


def _layer_row(name: str, layer: nn.Module, uses: int | None) -> dict:
    if isinstance(layer, WeightLayer):
        kind, weights, nnz = layer.kind, layer.weight_count(), layer.nnz()
        bias, macs, index_bytes, factors = layer.bias_count(), layer.macs(), layer.index_bytes(), layer.factor_shapes()
    else:  # a plain nn.Linear
        kind, weights, nnz = "dense", layer.weight.numel(), int(torch.count_nonzero(layer.weight))
        bias = 0 if layer.bias is None else layer.bias.numel()
        macs, index_bytes, factors = layer.in_features * layer.out_features, 0, ""
    dense = layer.in_features * layer.out_features
    return {"name": name, "kind": kind, "shape": f"{layer.out_features}x{layer.in_features}", "factors": factors,
            "weights": weights, "bias": bias, "params": weights + bias, "nnz": nnz,
            "bytes_fp32": 4 * (weights + bias) + index_bytes, "bytes_int8": weights + 4 * bias + index_bytes,
            "macs_step": macs, "uses_per_seq": uses, "macs_seq": None if uses is None else macs * uses,
            "dense_weights": dense, "compression": dense / weights if weights else float("inf")}


def _is_weight_layer(module: nn.Module) -> bool:
    return isinstance(module, (WeightLayer, nn.Linear))


def summarize(model: nn.Module, seq_len: int | None = None) -> pd.DataFrame:
    """Per-matrix and total parameters, bytes, MACs and compression of `model` (see the module docstring).

    `seq_len` defaults to the model's own `seq_len` attribute, if any.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"summarize takes a torch.nn.Module, got {type(model).__name__}")
    if seq_len is None:
        seq_len = getattr(model, "seq_len", None)
    if seq_len is not None and (isinstance(seq_len, bool) or not isinstance(seq_len, int) or seq_len < 1):
        raise ValueError(f"seq_len must be a positive integer, got {seq_len!r}")
    rows: list[dict] = []
    other = 0

    def visit(module: nn.Module, name: str, in_cell: bool) -> None:
        nonlocal other
        if _is_weight_layer(module):
            rows.append(_layer_row(name or type(module).__name__, module, seq_len if in_cell else 1))
            return
        other += sum(p.numel() for p in module.parameters(recurse=False))
        for child_name, child in module.named_children():
            visit(child, f"{name}.{child_name}" if name else child_name, in_cell or isinstance(module, RecurrentCell))

    visit(model, "", False)
    if other:
        rows.append({"name": "other", "kind": "other", "shape": "", "factors": "", "weights": 0, "bias": 0,
                     "params": other, "nnz": 0, "bytes_fp32": 4 * other, "bytes_int8": 4 * other,
                     "macs_step": 0, "uses_per_seq": None, "macs_seq": 0, "dense_weights": 0,
                     "compression": float("nan")})
    total = {c: sum(r[c] for r in rows) for c in ("weights", "bias", "params", "nnz", "bytes_fp32", "bytes_int8",
                                                  "macs_step", "dense_weights")}
    seqs = [r["macs_seq"] for r in rows]
    total.update(name="total", kind="", shape="", factors="", uses_per_seq=None,
                 macs_seq=None if any(m is None for m in seqs) else sum(seqs),
                 compression=total["dense_weights"] / total["weights"] if total["weights"] else float("nan"))
    rows.append(total)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("uses_per_seq", "macs_seq"):
        frame[col] = frame[col].astype("Int64")
    return frame
