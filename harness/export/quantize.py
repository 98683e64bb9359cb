"""Quantization rules of the w8 and int8 formats (device_fw/runtime/README.md).

- Weights: symmetric int8 per row, scale = max|row| / 127 (1 for an all-zero
  row), values rounded to nearest and clipped to ±127.
- Input (int8 only): symmetric per tensor, scale = the 99.99th percentile of
  |x| over the calibration set / 127; values beyond it saturate.
- Requantization: a real factor m is applied as round(acc · mult / 2^shift)
  with 0 < mult < 2^31, computed in 64 bits. A vector of factors is stored
  with shift 32 throughout (one SMMULR on the device) when every multiplier
  then keeps at least SHIFT32_BITS significant bits; otherwise each factor
  gets mult in [2^30, 2^31) and its own shift.
"""

from __future__ import annotations

import math

import numpy as np

INPUT_PERCENTILE = 99.99
MID_HEADROOM = 2.0     # int16 intermediates: scale = 2 · (largest calibration value) / 32767
PRE_FRAC, GATE_FRAC, CELL_FRAC, HIDDEN_FRAC = 12, 15, 11, 7


_TINY = float(np.finfo(np.float32).tiny)


class QuantizationError(ValueError):
    """A value cannot be represented in the chosen format; the message says which."""


def quantize_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(int8 values, float32 scale per row) of a 2-D float matrix."""
    m = np.asarray(matrix, np.float32)
    peak = np.abs(m).max(axis=1) if m.shape[1] else np.zeros(m.shape[0], np.float32)
    # The floor keeps a row of subnormal weights from dividing by a zero scale.
    scale = np.where(peak > 0, np.maximum(peak / 127.0, _TINY), 1.0).astype(np.float32)
    q = np.clip(np.rint(m / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale


def quantize_csr_rows(indptr: np.ndarray, values: np.ndarray, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """(int8 values, float32 scale per row) of CSR values, each row scaled on its own."""
    values = np.asarray(values, np.float32)
    scale = np.ones(rows, np.float32)
    q = np.zeros(values.shape, np.int8)
    for i in range(rows):
        seg = values[indptr[i]:indptr[i + 1]]
        if seg.size and np.abs(seg).max() > 0:
            scale[i] = max(np.abs(seg).max() / 127.0, _TINY)
        q[indptr[i]:indptr[i + 1]] = np.clip(np.rint(seg / scale[i]), -127, 127)
    return q, scale


def input_scale(x: np.ndarray) -> float:
    peak = float(np.percentile(np.abs(np.asarray(x, np.float64)), INPUT_PERCENTILE)) if np.size(x) else 0.0
    return peak / 127.0 if peak > 0 else 1.0 / 127.0


def quantize_input(x: np.ndarray, scale: float) -> np.ndarray:
    """Standardised float input -> int8 with the manifest's input scale (the host does this, not the device)."""
    return np.clip(np.floor(np.asarray(x, np.float64) / scale + 0.5), -128, 127).astype(np.int8)


def multiplier(m: float) -> tuple[int, int]:
    """(mult, shift) with mult / 2^shift ≈ m, mult in [2^30, 2^31) and 1 <= shift <= 62."""
    if not m > 0 or not math.isfinite(m):
        raise QuantizationError(f"requantization factor {m!r} must be positive and finite")
    mant, exp = math.frexp(m)              # m = mant · 2^exp, mant in [0.5, 1)
    mult = int(round(mant * (1 << 31)))
    if mult == 1 << 31:
        mult, exp = 1 << 30, exp + 1
    shift = 31 - exp
    if shift > 62:                         # vanishingly small factor: as good as zero
        return 0, 62
    if shift < 1:
        raise QuantizationError(f"requantization factor {m:g} is too large for the int8 format (at most 2^30)")
    return mult, shift


SHIFT32_BITS = 16   # relative error of the factor at most 2^-17


def multipliers(ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mult, shift) per factor: shift 32 for the whole vector when precise enough, else normalized."""
    ms = np.asarray(ms, np.float64).ravel()
    for m in ms:
        if not m > 0 or not math.isfinite(m):
            raise QuantizationError(f"requantization factor {m!r} must be positive and finite")
    at32 = np.rint(ms * 2.0 ** 32)
    if ms.size and at32.min() >= 2 ** SHIFT32_BITS and at32.max() < 2 ** 31:
        return at32.astype(np.int32), np.full(ms.size, 32, np.uint8)
    pairs = [multiplier(float(m)) for m in ms]
    return (np.array([p[0] for p in pairs], np.int32), np.array([p[1] for p in pairs], np.uint8))


def requant(acc: np.ndarray, mult: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """The runtime's requantization on int64 arrays (broadcasting mult and shift)."""
    shift = np.asarray(shift, np.int64)
    p = np.asarray(acc, np.int64) * np.asarray(mult, np.int64) + (np.int64(1) << (shift - 1))
    return np.clip(p >> shift, -(1 << 31), (1 << 31) - 1)


def sat16(v: np.ndarray) -> np.ndarray:
    return np.clip(v, -32768, 32767)


def sat32(v: np.ndarray) -> np.ndarray:
    return np.clip(v, -(1 << 31), (1 << 31) - 1)


def fixed(value: np.ndarray, frac: int) -> np.ndarray:
    """Float -> int32 with `frac` fractional bits, rounded to nearest."""
    v = np.floor(np.asarray(value, np.float64) * (1 << frac) + 0.5)
    if np.abs(v).max(initial=0) >= 2 ** 31:
        raise QuantizationError(f"a bias or constant of {np.abs(value).max():g} does not fit int32 with {frac} fraction bits")
    return v.astype(np.int32)
