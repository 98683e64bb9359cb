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
- flash_int8: the bytes the int8 export really stores in flash for the
  matrix (the manifest's `weight_bytes`, harness/export): int8 values, a
  float32 scale per row of every stored matrix (A and B, U and V, W, the
  CSR values), an int32 multiplier and a uint8 shift per row of each
  requantization (one for a one-stage product, two for KP and low rank),
  16-bit CSR row pointers and column indices, int32 biases. It exceeds
  bytes_int8 by about 9 bytes per stored row and more for sparse kinds.
  The `other` row counts its vector parameters (FastGRNN's biases, int32);
  the scalars ζ and ν live in the model descriptor.
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
           "flash_int8", "macs_step", "uses_per_seq", "macs_seq", "dense_weights", "compression"]


_SCALE, _REQUANT, _INDEX = 4, 5, 2   # float32 scale per row; int32 multiplier + uint8 shift; uint16 index


def _csr_flash(rows: int, stored: int) -> int:
    # values and a scale per row, row pointers and column indices, one requantization per row
    return stored + _SCALE * rows + _INDEX * (rows + 1) + _INDEX * stored + _REQUANT * rows


def flash_int8(layer: nn.Module) -> int:
    """Bytes of the int8 export's arrays for one weight layer (see the module docstring), biases included."""
    kind = getattr(layer, "kind", "dense") if isinstance(layer, WeightLayer) else "dense"
    rows, cols = layer.out_features, layer.in_features
    bias = 0 if layer.bias is None else 4 * layer.bias.numel()
    if kind == "dense":
        return rows * cols + (_SCALE + _REQUANT) * rows + bias
    if kind in ("kp", "dkp"):
        sh = layer.shape
        first, second = (sh.m2, sh.m1) if sh.order == 1 else (sh.m1, sh.m2)
        total = sh.m1 * sh.n1 + sh.m2 * sh.n2 + _SCALE * (sh.m1 + sh.m2) + _REQUANT * (first + second)
        if kind == "dkp" and layer.stored_sparse():
            total += _csr_flash(rows, layer.stored_sparse())
        return total + bias
    if kind == "prune":
        return _csr_flash(rows, layer.weight_count()) + bias
    if kind == "lowrank":
        r = layer.rank
        return r * cols + rows * r + _SCALE * (r + rows) + _REQUANT * (r + rows) + bias
    raise ValueError(f"no int8 flash rule for weight kind {kind!r}")


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
            "flash_int8": flash_int8(layer), "macs_step": macs, "uses_per_seq": uses, "macs_seq": None if uses is None else macs * uses,
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
    other_vectors = 0

    def visit(module: nn.Module, name: str, in_cell: bool) -> None:
        nonlocal other, other_vectors
        if _is_weight_layer(module):
            rows.append(_layer_row(name or type(module).__name__, module, seq_len if in_cell else 1))
            return
        other += sum(p.numel() for p in module.parameters(recurse=False))
        other_vectors += sum(p.numel() for p in module.parameters(recurse=False) if p.numel() > 1)
        for child_name, child in module.named_children():
            visit(child, f"{name}.{child_name}" if name else child_name, in_cell or isinstance(module, RecurrentCell))

    visit(model, "", False)
    if other:
        rows.append({"name": "other", "kind": "other", "shape": "", "factors": "", "weights": 0, "bias": 0,
                     "params": other, "nnz": 0, "bytes_fp32": 4 * other, "bytes_int8": 4 * other,
                     "flash_int8": 4 * other_vectors,
                     "macs_step": 0, "uses_per_seq": None, "macs_seq": 0, "dense_weights": 0,
                     "compression": float("nan")})
    total = {c: sum(r[c] for r in rows) for c in ("weights", "bias", "params", "nnz", "bytes_fp32", "bytes_int8",
                                                  "flash_int8", "macs_step", "dense_weights")}
    seqs = [r["macs_seq"] for r in rows]
    total.update(name="total", kind="", shape="", factors="", uses_per_seq=None,
                 macs_seq=None if any(m is None for m in seqs) else sum(seqs),
                 compression=total["dense_weights"] / total["weights"] if total["weights"] else float("nan"))
    rows.append(total)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("uses_per_seq", "macs_seq"):
        frame[col] = frame[col].astype("Int64")
    return frame
