"""Uncertainty of accuracies measured on a finite test set; numpy only.

- `wilson_interval(correct, n, z=1.96)`: the Wilson score interval of a
  proportion (95 % by default). Unlike the normal approximation it stays
  inside [0, 1] and is sensible at 0 or n correct.
- `mcnemar_exact(a_correct, b_correct)`: two models scored on the same
  samples; the exact two-sided McNemar test, i.e. a binomial test with
  p = 1/2 on the discordant pairs (samples one model gets right and the
  other wrong). Returns the p-value; 1.0 when there are no discordant pairs.
- `paired_difference_interval(a_correct, b_correct, z=1.96)`: accuracy of A
  minus accuracy of B on the same samples, with a 95 % interval. Arrays of
  shape (samples,) or (seeds, samples): each sample's correctness is
  averaged over seeds, and the interval is the normal one of the mean of the
  per-sample differences (for one seed, the Wald interval of a paired
  difference). It treats the test samples, not the seeds, as the random
  draw: the spread between seeds is reported separately.
"""

from __future__ import annotations

import math

import numpy as np


def _count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def wilson_interval(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """(lo, hi) of the Wilson score interval for `correct` successes out of `n`."""
    correct, n = _count("correct", correct), _count("n", n)
    if correct > n:
        raise ValueError(f"correct ({correct}) cannot exceed n ({n})")
    if isinstance(z, bool) or not isinstance(z, (int, float)) or not z > 0 or not math.isfinite(z):
        raise ValueError(f"z must be a positive number, got {z!r}")
    if n == 0:
        return (0.0, 1.0)
    p = correct / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # The exact bounds at 0 and n correct; rounding could otherwise leave 1e-17 outside [0, 1].
    lo = 0.0 if correct == 0 else max(0.0, centre - half)
    hi = 1.0 if correct == n else min(1.0, centre + half)
    return (lo, hi)


def _binom_two_sided(k: int, n: int) -> float:
    """P(X <= min(k, n-k)) + P(X >= max(k, n-k)) for X ~ Binomial(n, 1/2), capped at 1."""
    small = min(k, n - k)
    # log C(n, i) - n log 2, summed in log space so that large n cannot overflow.
    logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2.0)
            for i in range(small + 1)]
    peak = max(logs)
    tail = math.exp(peak) * sum(math.exp(v - peak) for v in logs)
    return min(1.0, 2.0 * tail)


def mcnemar_exact(a_correct, b_correct) -> float:
    """Two-sided exact McNemar p-value for paired per-sample correctness of two models."""
    a = np.asarray(a_correct)
    b = np.asarray(b_correct)
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"a_correct and b_correct must be 1-D arrays of one length (paired samples), "
                         f"got shapes {a.shape} and {b.shape}")
    for name, v in (("a_correct", a), ("b_correct", b)):
        if v.dtype != bool and not (np.issubdtype(v.dtype, np.integer) and np.isin(v, (0, 1)).all()):
            raise ValueError(f"{name} must hold booleans (or 0/1), got dtype {v.dtype}")
    a, b = a.astype(bool), b.astype(bool)
    only_a = int(np.count_nonzero(a & ~b))
    only_b = int(np.count_nonzero(~a & b))
    n = only_a + only_b
    if n == 0:
        return 1.0
    return _binom_two_sided(only_a, n)


def paired_difference_interval(a_correct, b_correct, z: float = 1.96) -> tuple[float, float, float]:
    """(difference, lo, hi): accuracy of A minus that of B on paired samples, and its interval (see above)."""
    a = np.asarray(a_correct, dtype=float)
    b = np.asarray(b_correct, dtype=float)
    if a.shape != b.shape or a.ndim not in (1, 2) or a.shape[-1] == 0:
        raise ValueError(f"a_correct and b_correct must have one shape, (samples,) or (seeds, samples), with at "
                         f"least one sample; got {a.shape} and {b.shape}")
    if not (np.isin(a, (0.0, 1.0)).all() and np.isin(b, (0.0, 1.0)).all()):
        raise ValueError("a_correct and b_correct must hold booleans (or 0/1)")
    d = (a - b).reshape(-1, a.shape[-1]).mean(axis=0)
    n = d.size
    mean = float(d.mean())
    half = z * float(d.std(ddof=1)) / math.sqrt(n) if n > 1 else float("inf")
    return (mean, max(-1.0, mean - half), min(1.0, mean + half))


__all__ = ["wilson_interval", "mcnemar_exact", "paired_difference_interval"]
