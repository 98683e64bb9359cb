"""The torch side of an export: a trained SequenceClassifier -> its float Graph (harness/export/graph.py)."""

from __future__ import annotations

import numpy as np
import torch

from ..compress import SequenceClassifier
from .graph import Graph, Layer, Term


def _f32(t) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(t, np.float32))


def _terms(layer) -> list[Term]:
    n_in, n_out = layer.in_features, layer.out_features
    ex = layer.export()
    if layer.kind == "dense":
        return [Term("dense", n_in, n_out, _f32(ex["W"]))]
    if layer.kind in ("kp", "dkp"):
        terms = [Term("kron", n_in, n_out, _f32(ex["A"]), _f32(ex["B"]), order=int(layer.shape.order))]
        if layer.kind == "dkp" and len(ex["S_values"]):
            terms.append(Term("csr", n_in, n_out, _f32(ex["S_values"]), indptr=np.asarray(ex["S_indptr"], np.int64),
                              indices=np.asarray(ex["S_indices"], np.int64)))
        return terms
    if layer.kind == "prune":
        return [Term("csr", n_in, n_out, _f32(ex["W_values"]), indptr=np.asarray(ex["W_indptr"], np.int64),
                     indices=np.asarray(ex["W_indices"], np.int64))]
    if layer.kind == "lowrank":
        return [Term("lowrank", n_in, n_out, _f32(ex["V"]), _f32(ex["U"]))]
    raise ValueError(f"cannot export a weight layer of kind {layer.kind!r}")


def _layer(layer) -> Layer:
    bias = None if layer.bias is None else _f32(layer.bias.detach())
    return Layer(layer.in_features, layer.out_features, _terms(layer), bias)


def from_model(model: SequenceClassifier, seq_len: int) -> Graph:
    """The float graph of a trained (eval-mode) classifier."""
    model = model.eval()
    cell = model.cell
    with torch.no_grad():
        g = Graph(model.cell_name, int(seq_len), cell.input_size, cell.hidden_size, model.num_classes,
                  {"ih": _layer(cell.ih), "hh": _layer(cell.hh), "head": _layer(model.head)})
        if model.cell_name == "fastgrnn":
            g.extra = {"bias_z": _f32(cell.bias_gate), "bias_h": _f32(cell.bias_update),
                       "zeta": float(torch.sigmoid(cell.zeta)), "nu": float(torch.sigmoid(cell.nu))}
    return g
