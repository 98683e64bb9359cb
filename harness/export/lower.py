"""Float graph -> the arrays and descriptor of one number format (fp32, w8, int8).

The result is what the manifest (structure) and weights.npz (arrays) hold;
the C generator and the numpy reference both read exactly this.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import quantize as qz
from .graph import LAYERS, Graph, Layer, Term

from ..choices import DTYPES


class Lowered:
    """structure: JSON-able descriptor; arrays: name -> numpy array (names are C identifiers)."""

    def __init__(self, structure: dict[str, Any], arrays: dict[str, np.ndarray]):
        self.structure = structure
        self.arrays = arrays

    @property
    def dtype(self) -> str:
        return self.structure["dtype"]


def _mid_size(t: Term) -> int:
    if t.kind == "kron":
        (m1, n1), (m2, n2) = t.a.shape, t.b.shape
        return n1 * m2 if t.order == 1 else m1 * n2
    return t.a.shape[0] if t.kind == "lowrank" else 0


def _check_csr(name: str, t: Term) -> None:
    if t.a.size > 0xFFFF or t.in_features > 0x10000:
        raise qz.QuantizationError(
            f"{name}: {t.a.size} stored values or {t.in_features} columns exceed the runtime's 16-bit CSR indices")


class _Builder:
    def __init__(self, dtype: str):
        self.dtype = dtype
        self.arrays: dict[str, np.ndarray] = {}

    def put(self, name: str, value: np.ndarray) -> str:
        self.arrays[name] = np.ascontiguousarray(value)
        return name

    def matrix(self, name: str, m: np.ndarray) -> dict[str, Any]:
        rows, cols = m.shape
        if self.dtype == "fp32":
            return {"rows": rows, "cols": cols, "data": self.put(name, m.astype(np.float32)), "scale": None}
        q, scale = qz.quantize_rows(m)
        return {"rows": rows, "cols": cols, "data": self.put(name, q), "scale": self.put(name + "_scale", scale)}

    def csr_values(self, name: str, t: Term) -> dict[str, Any]:
        rows = t.out_features
        if self.dtype == "fp32":
            return {"rows": rows, "cols": t.in_features, "data": self.put(name, t.a.astype(np.float32)), "scale": None}
        q, scale = qz.quantize_csr_rows(t.indptr, t.a, rows)
        return {"rows": rows, "cols": t.in_features, "data": self.put(name, q), "scale": self.put(name + "_scale", scale)}

    def requant(self, name: str, factors: np.ndarray) -> dict[str, str]:
        mult, shift = qz.multipliers(factors)
        return {"mult": self.put(name + "_mult", mult), "shift": self.put(name + "_shift", shift)}


def _term(b: _Builder, name: str, t: Term, in_scale: float | None, mid_peak: float | None) -> dict[str, Any]:
    d: dict[str, Any] = {"kind": t.kind, "order": t.order, "in": t.in_features, "out": t.out_features,
                         "a": None, "b": None, "indptr": None, "indices": None, "mid": None, "acc": None}
    if t.kind == "csr":
        _check_csr(name, t)
        d["a"] = b.csr_values(name + "_values", t)
        d["indptr"] = b.put(name + "_indptr", t.indptr.astype(np.uint16))
        d["indices"] = b.put(name + "_indices", t.indices.astype(np.uint16))
    else:
        d["a"] = b.matrix(name + "_a", t.a)
        if t.b is not None:
            d["b"] = b.matrix(name + "_b", t.b)
    if b.dtype != "int8":
        return d
    # Integer path: the real factor from each accumulator to its target scale.
    target = 2.0 ** -qz.PRE_FRAC
    sa = b.arrays[d["a"]["scale"]].astype(np.float64)
    if t.kind in ("dense", "csr"):
        factors = sa * in_scale / target
        if t.kind == "csr":
            # A row without entries never uses its factor (its sum is 0); giving it a
            # stored row's keeps the vector in one range, so it can take shift 32.
            stored = np.diff(t.indptr) > 0
            if stored.any():
                factors = np.where(stored, factors, factors[stored][0])
        d["acc"] = b.requant(name + "_acc", factors)
        return d
    sb = b.arrays[d["b"]["scale"]].astype(np.float64)
    mid_scale = qz.MID_HEADROOM * (mid_peak or 0.0) / 32767.0 or 1.0 / 32767.0
    d["mid_scale"] = mid_scale
    if t.kind == "lowrank":          # a = V (first), b = U (second)
        d["mid"] = b.requant(name + "_mid", sa * in_scale / mid_scale)
        d["acc"] = b.requant(name + "_acc", sb * mid_scale / target)
    elif t.order == 1:               # T = X B^T per B row k, then A per row i
        d["mid"] = b.requant(name + "_mid", sb * in_scale / mid_scale)
        d["acc"] = b.requant(name + "_acc", sa * mid_scale / target)
    else:                            # U = A X per A row i, then B per row k
        d["mid"] = b.requant(name + "_mid", sa * in_scale / mid_scale)
        d["acc"] = b.requant(name + "_acc", sb * mid_scale / target)
    return d


def _layer(b: _Builder, name: str, layer: Layer, in_scale, mid_peaks) -> dict[str, Any]:
    terms = [_term(b, f"{name}_t{i}", t, in_scale, (mid_peaks or {}).get(f"{name}_t{i}"))
             for i, t in enumerate(layer.terms)]
    bias = None
    if layer.bias is not None:
        bias = b.put(name + "_bias", qz.fixed(layer.bias, qz.PRE_FRAC) if b.dtype == "int8"
                     else layer.bias.astype(np.float32))
    return {"in": layer.in_features, "out": layer.out_features, "bias": bias, "terms": terms}


def lower(graph: Graph, dtype: str, *, input_scale: float | None = None,
          mid_peaks: dict[str, float] | None = None) -> Lowered:
    """The graph in one number format. int8 needs `input_scale` and the
    calibration peaks of each two-stage term's intermediate (`calibrate`)."""
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; use one of {', '.join(DTYPES)}")
    if dtype == "int8" and input_scale is None:
        raise ValueError("int8 export needs an input scale from a calibration set")
    b = _Builder(dtype)
    h_scale = 2.0 ** -qz.HIDDEN_FRAC
    scales = {"ih": input_scale, "hh": h_scale, "head": h_scale}
    structure: dict[str, Any] = {
        "dtype": dtype, "cell": graph.cell, "seq_len": graph.seq_len, "input_size": graph.input_size,
        "hidden": graph.hidden, "classes": graph.classes, "gates": graph.gates,
        "input_scale": input_scale if dtype == "int8" else None,
        "layers": {n: _layer(b, n, graph.layers[n], scales[n], mid_peaks) for n in LAYERS},
        "fastgrnn": None,
    }
    if graph.cell == "fastgrnn":
        e = graph.extra
        if dtype == "int8":
            structure["fastgrnn"] = {
                "bias_z": b.put("fg_bias_z", qz.fixed(e["bias_z"], qz.PRE_FRAC)),
                "bias_h": b.put("fg_bias_h", qz.fixed(e["bias_h"], qz.PRE_FRAC)),
                "zeta": int(qz.fixed(np.array([e["zeta"]]), qz.GATE_FRAC)[0]),
                "nu": int(qz.fixed(np.array([e["nu"]]), qz.GATE_FRAC)[0])}
        else:
            structure["fastgrnn"] = {"bias_z": b.put("fg_bias_z", e["bias_z"].astype(np.float32)),
                                     "bias_h": b.put("fg_bias_h", e["bias_h"].astype(np.float32)),
                                     "zeta": float(np.float32(e["zeta"])), "nu": float(np.float32(e["nu"]))}
    structure["arena_bytes"] = arena_bytes(structure)
    return Lowered(structure, b.arrays)


def _pair_words(n: int) -> int:
    return (n + 1) // 2


def _term_scratch(t: dict[str, Any], dtype: str) -> int:
    """Scratch bytes of one term's kernel (rt_<kind>_<format>_get_buffer_size)."""
    kind = t["kind"]
    if dtype == "int8":
        if kind == "dense":
            return 4 * _pair_words(t["a"]["cols"])
        if kind == "kron":
            (m1, n1), (m2, n2) = (t["a"]["rows"], t["a"]["cols"]), (t["b"]["rows"], t["b"]["cols"])
            first_len, first_count, mid_len, mid_count = (n2, n1, n1, m2) if t["order"] == 1 else (n1, n2, n2, m1)
            return 4 * (first_count * _pair_words(first_len) + (mid_count + 1) * _pair_words(mid_len))
        if kind == "lowrank":
            return 4 * (_pair_words(t["a"]["cols"]) + _pair_words(t["a"]["rows"]))
        return 0
    if kind == "kron":
        n = t["a"]["cols"] * t["b"]["cols"]
        pad = n if n != t["in"] else 0
        mid = t["a"]["cols"] * t["b"]["rows"] if t["order"] == 1 else t["a"]["rows"] * t["b"]["cols"]
        transposed = n if t["order"] == 2 else 0
        return 4 * (pad + transposed + mid)
    if kind == "lowrank":
        return 4 * t["a"]["rows"]
    return 0


def arena_bytes(s: dict[str, Any]) -> int:
    """The runtime's arena rule (rt_arena_bytes in device_fw/runtime/rt_model.c)."""
    scratch = max((_term_scratch(t, s["dtype"]) for layer in s["layers"].values() for t in layer["terms"]),
                  default=0)
    return 4 * (2 * s["hidden"] + 2 * s["gates"] * s["hidden"]) + 4 * ((scratch + 3) // 4)


def input_bytes(s: dict[str, Any]) -> int:
    n = s["seq_len"] * s["input_size"]
    return n if s["dtype"] == "int8" else 4 * n


def output_bytes(s: dict[str, Any]) -> int:
    return 4 * s["classes"]
