"""Number formatting shared by summary.md, index.html and compare's text."""

from __future__ import annotations

import math
from typing import Any

DASH = "–"


def missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return bool(x != x) or (isinstance(x, float) and math.isnan(x))   # NaN and pd.NA
    except TypeError:
        return True


def pct(x: Any, digits: int = 1) -> str:
    """A fraction as a percentage that never rounds to 100 % or 0 % unless it is exactly that."""
    if missing(x):
        return DASH
    x = float(x)
    for d in range(digits, digits + 4):
        s = f"{100 * x:.{d}f}"
        if (0 < x < 1) and (float(s) >= 100 or float(s) <= 0):
            continue
        return f"{s} %"
    return "> 99.99 %" if x > 0.5 else "< 0.01 %"


def pp(delta: Any, digits: int = 2) -> str:
    """A difference of fractions in percentage points, signed."""
    return DASH if missing(delta) else f"{100 * float(delta):+.{digits}f} pp"


def num(x: Any, digits: int = 0) -> str:
    """Thousands separators; `digits` decimals."""
    if missing(x):
        return DASH
    return f"{float(x):,.{digits}f}" if digits else f"{round(float(x)):,}"


def nbytes(x: Any) -> str:
    return DASH if missing(x) else f"{round(float(x)):,} B"


def bytes_share(x: Any, share: Any) -> str:
    """'16,948 B (3.2 %)': bytes and their share of the board's capacity."""
    if missing(x):
        return DASH
    return nbytes(x) if missing(share) else f"{nbytes(x)} ({pct(share)})"


def growth(base: Any, new: Any) -> float:
    """Relative change new/base - 1; NaN when either is missing; +inf when base is 0 and new is not."""
    if missing(base) or missing(new):
        return float("nan")
    base, new = float(base), float(new)
    if base == 0:
        return 0.0 if new == 0 else math.copysign(float("inf"), new)
    return new / base - 1


def signed_pct(x: Any, digits: int = 2) -> str:
    if missing(x):
        return DASH
    if math.isinf(float(x)):
        return "+inf %" if x > 0 else "-inf %"
    return f"{100 * float(x):+.{digits}f} %"


def ratio(x: Any) -> str:
    return DASH if missing(x) else f"{float(x):.1f}×"


def short_hash(h: Any, n: int = 12) -> str:
    return DASH if missing(h) or not h else str(h)[:n]


def pct_ci(x: Any, lo: Any, hi: Any, digits: int = 1) -> str:
    """An accuracy with its 95 % interval: "83.3 % (55.2–95.3)"."""
    if missing(x):
        return DASH
    if missing(lo) or missing(hi):
        return pct(x, digits)
    return f"{pct(x, digits)} ({100 * float(lo):.{digits}f}–{100 * float(hi):.{digits}f})"
