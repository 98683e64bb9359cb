"""The device arithmetic in numpy: the oracle for the runtime and for reports.

Reads the same descriptor and arrays the C generator reads (a `Lowered`, or a
manifest and weights.npz through `load_exported`). int8 performs the very
integer operations of device_fw/runtime/ in the same order (int64 here,
where the device's values provably fit int32), so outputs are bit-exact.
fp32 and w8 follow the same operation order in float32; only the summation
order inside a dot product may differ from the device.

Inputs are batched: x is (batch, seq_len, input_size).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import quantize as qz
from .tables import SIGMOID, TANH, lut

# Products of int8 by int8/int16 summed over a row stay far below 2^53, so a
# float64 matrix product is exact and runs at BLAS speed.


def _imatmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.rint(x.astype(np.float64) @ w.astype(np.float64)).astype(np.int64)


def _csr_dense(t: dict[str, Any], values: np.ndarray, arrays) -> np.ndarray:
    indptr, indices = arrays[t["indptr"]].astype(np.int64), arrays[t["indices"]].astype(np.int64)
    rows = np.repeat(np.arange(t["out"]), np.diff(indptr))
    m = np.zeros((t["out"], t["in"]), values.dtype)
    m[rows, indices] = values
    return m


def _row_scale(arrays, mat) -> np.ndarray | None:
    return None if mat["scale"] is None else arrays[mat["scale"]]


def _fmat(arrays, mat) -> tuple[np.ndarray, np.ndarray | None]:
    return arrays[mat["data"]].astype(np.float32), _row_scale(arrays, mat)


def _scaled(acc: np.ndarray, scale: np.ndarray | None) -> np.ndarray:
    return acc if scale is None else acc * scale


def _pad(x: np.ndarray, n: int) -> np.ndarray:
    return x if x.shape[-1] == n else np.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, n - x.shape[-1])])


# ------------------------------------------------------------ float path --

def _term_f(t, arrays, x: np.ndarray, record: dict | None, name: str) -> np.ndarray:
    kind = t["kind"]
    if kind == "dense":
        w, s = _fmat(arrays, t["a"])
        return _scaled(x @ w.T, s)
    if kind == "csr":
        w = _csr_dense(t, arrays[t["a"]["data"]].astype(np.float32), arrays)
        return _scaled(x @ w.T, _row_scale(arrays, t["a"]))
    if kind == "lowrank":
        (v, sv), (u, su) = _fmat(arrays, t["a"]), _fmat(arrays, t["b"])
        mid = _scaled(x @ v.T, sv)
        if record is not None:
            record[name] = max(record.get(name, 0.0), float(np.abs(mid).max(initial=0)))
        return _scaled(mid @ u.T, su)
    (a, sa), (b, sb) = _fmat(arrays, t["a"]), _fmat(arrays, t["b"])
    (m1, n1), (m2, n2) = a.shape, b.shape
    x3 = _pad(x, n1 * n2).reshape(-1, n1, n2)
    if t["order"] == 1:
        mid = _scaled(x3 @ b.T, sb)                              # (batch, n1, m2)
        y = a @ mid
        y = y if sa is None else y * sa[:, None]
    else:
        mid = a @ x3
        mid = mid if sa is None else mid * sa[:, None]           # (batch, m1, n2)
        y = _scaled(mid @ b.T, sb)
    if record is not None:
        record[name] = max(record.get(name, 0.0), float(np.abs(mid).max(initial=0)))
    return y.reshape(-1, m1 * m2)[:, : t["out"]]


def _linear_f(layer, arrays, x, record, name) -> np.ndarray:
    y = np.zeros((x.shape[0], layer["out"]), np.float32)
    if layer["bias"] is not None:
        y = y + arrays[layer["bias"]]
    for i, t in enumerate(layer["terms"]):
        y = y + _term_f(t, arrays, x, record, f"{name}_t{i}")
    return y.astype(np.float32)


def _sigmoid(x):
    return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)


def _run_f(s, arrays, x: np.ndarray, record: dict | None) -> np.ndarray:
    L, n = s["layers"], s["hidden"]
    batch = x.shape[0]
    h = np.zeros((batch, n), np.float32)
    c = np.zeros((batch, n), np.float32)
    for t in range(s["seq_len"]):
        xp = _linear_f(L["ih"], arrays, x[:, t], record, "ih")
        hp = _linear_f(L["hh"], arrays, h, record, "hh")
        if s["cell"] == "lstm":
            pre = xp + hp
            i, f, o = _sigmoid(pre[:, :n]), _sigmoid(pre[:, n:2 * n]), _sigmoid(pre[:, 3 * n:])
            g = np.tanh(pre[:, 2 * n:3 * n])
            c = f * c + i * g
            h = o * np.tanh(c)
        elif s["cell"] == "gru":
            r = _sigmoid(xp[:, :n] + hp[:, :n])
            z = _sigmoid(xp[:, n:2 * n] + hp[:, n:2 * n])
            g = np.tanh(xp[:, 2 * n:] + r * hp[:, 2 * n:])
            h = (1.0 - z) * g + z * h
        else:
            fg = s["fastgrnn"]
            pre = xp + hp
            z = _sigmoid(pre + arrays[fg["bias_z"]])
            g = np.tanh(pre + arrays[fg["bias_h"]])
            h = (np.float32(fg["zeta"]) * (1.0 - z) + np.float32(fg["nu"])) * g + z * h
        h, c = h.astype(np.float32), c.astype(np.float32)
    return _linear_f(L["head"], arrays, h, record, "head")


# ---------------------------------------------------------- integer path --

def _rq(arrays, rq, acc, axis_shape=None) -> np.ndarray:
    mult, shift = arrays[rq["mult"]].astype(np.int64), arrays[rq["shift"]].astype(np.int64)
    if axis_shape is not None:
        mult, shift = mult.reshape(axis_shape), shift.reshape(axis_shape)
    return qz.requant(acc, mult, shift)


def _term_q(t, arrays, x: np.ndarray) -> np.ndarray:
    kind = t["kind"]
    a = arrays[t["a"]["data"]].astype(np.int64)
    if kind == "dense":
        return _rq(arrays, t["acc"], _imatmul(x, a.T))
    if kind == "csr":
        return _rq(arrays, t["acc"], _imatmul(x, _csr_dense(t, a, arrays).T))
    b = arrays[t["b"]["data"]].astype(np.int64)
    if kind == "lowrank":
        mid = qz.sat16(_rq(arrays, t["mid"], _imatmul(x, a.T)))
        return _rq(arrays, t["acc"], _imatmul(mid, b.T))
    (m1, n1), (m2, n2) = a.shape, b.shape
    x3 = _pad(x, n1 * n2).reshape(-1, n1, n2)
    if t["order"] == 1:
        mid = qz.sat16(_rq(arrays, t["mid"], _imatmul(x3, b.T), (1, 1, m2)))      # (batch, n1, m2)
        y = _rq(arrays, t["acc"], _imatmul(a, mid), (1, m1, 1))                    # (batch, m1, m2)
    else:
        mid = qz.sat16(_rq(arrays, t["mid"], _imatmul(a, x3), (1, m1, 1)))        # (batch, m1, n2)
        y = _rq(arrays, t["acc"], _imatmul(mid, b.T), (1, 1, m2))
    return y.reshape(-1, m1 * m2)[:, : t["out"]]


def _linear_q(layer, arrays, x) -> np.ndarray:
    y = np.zeros((x.shape[0], layer["out"]), np.int64)
    if layer["bias"] is not None:
        y = y + arrays[layer["bias"]].astype(np.int64)
    for t in layer["terms"]:
        y = qz.sat32(y + _term_q(t, arrays, x))
    return y


def _to_hidden(q30: np.ndarray) -> np.ndarray:
    return np.clip((q30 + (1 << 22)) >> 23, -128, 127)


def _run_q(s, arrays, x: np.ndarray) -> np.ndarray:
    L, n = s["layers"], s["hidden"]
    one = 1 << qz.GATE_FRAC
    up = qz.GATE_FRAC - qz.HIDDEN_FRAC
    batch = x.shape[0]
    x = x.astype(np.int64)
    h = np.zeros((batch, n), np.int64)
    c = np.zeros((batch, n), np.int64)
    sig, tanh = (lambda v: lut(SIGMOID, v)), (lambda v: lut(TANH, v))
    for t in range(s["seq_len"]):
        xp = _linear_q(L["ih"], arrays, x[:, t])
        hp = _linear_q(L["hh"], arrays, h)
        if s["cell"] == "lstm":
            pre = xp + hp
            i, f, o = sig(pre[:, :n]), sig(pre[:, n:2 * n]), sig(pre[:, 3 * n:])
            g = tanh(pre[:, 2 * n:3 * n])
            acc = f * c + ((i * g + 8) >> 4)
            c = qz.sat16((acc + (1 << 14)) >> 15)
            h = _to_hidden(o * tanh(qz.sat16(c * 2)))
        elif s["cell"] == "gru":
            r = sig(xp[:, :n] + hp[:, :n])
            z = sig(xp[:, n:2 * n] + hp[:, n:2 * n])
            rh = (r * hp[:, 2 * n:] + (1 << 14)) >> 15
            g = tanh(qz.sat32(xp[:, 2 * n:] + rh))
            h = _to_hidden((one - z) * g + z * (h << up))
        else:
            fg = s["fastgrnn"]
            pre = xp + hp
            z = sig(pre + arrays[fg["bias_z"]].astype(np.int64))
            g = tanh(pre + arrays[fg["bias_h"]].astype(np.int64))
            coef = ((fg["zeta"] * (one - z) + (1 << 14)) >> 15) + fg["nu"]
            h = _to_hidden(coef * g + z * (h << up))
    return _linear_q(L["head"], arrays, h)


def run(structure: dict[str, Any], arrays: dict[str, np.ndarray], x: np.ndarray,
        *, record: dict | None = None) -> np.ndarray:
    """Logits for a batch of device inputs: int32 values in Q.12 for int8, float32 otherwise.

    `record` (float formats only) collects the largest |value| of each
    two-stage term's intermediate: the calibration the int8 format needs.
    """
    x = np.asarray(x)
    if x.ndim == 2:
        x = x[None]
    want = (s := structure)["seq_len"], s["input_size"]
    if x.shape[1:] != want:
        raise ValueError(f"input must be (batch, {want[0]}, {want[1]}), got {tuple(x.shape)}")
    if s["dtype"] == "int8":
        if x.dtype != np.int8:
            raise ValueError(f"the int8 model takes int8 input (quantize with the manifest's input scale), got {x.dtype}")
        return _run_q(s, arrays, x).astype(np.int32)
    return _run_f(s, arrays, x.astype(np.float32), record)


def logits_as_float(structure: dict[str, Any], out: np.ndarray) -> np.ndarray:
    """Device or reference output as real-valued logits."""
    if structure["dtype"] == "int8":
        return np.asarray(out, np.float64) * 2.0 ** -qz.PRE_FRAC
    return np.asarray(out, np.float64)


def predict(out: np.ndarray) -> np.ndarray:
    """Class per row: the first largest logit, as the device picks it."""
    return np.argmax(out, axis=-1)
