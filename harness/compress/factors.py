"""Factor shapes for a Kronecker-product weight, and the nearest Kronecker product.

A weight of `out_features` x `in_features` is replaced by A ⊗ B with
A (m1 x n1) and B (m2 x n2). When m1·m2 > out or n1·n2 > in the layer pads
its input with zeros and crops its output rows ("padding"), so
W = (A ⊗ B)[:out, :in].

The automatic rule (`choose_factors`), in order:

1. Full rank must be reachable: rank(A ⊗ B) = rank(A)·rank(B) is at most
   min(m1, n1)·min(m2, n2), which must be >= min(out, in) (Thakker et al.
   2019, arXiv:1906.02876). Two factors only, as in that paper.
2. Exact sizes first: over every split out = m1·m2, in = n1·n2 meeting (1),
   the fewest stored parameters m1·n1 + m2·n2 (the largest compression);
   ties go to fewer MACs, then to shapes where contracting B first is the
   cheaper order, then to the taller A (both measured faster on the CPU for
   the same MACs, see docs/compression.md).
3. Padding only when it pays: over padded sizes out' in [out, out + pad(out)],
   in' in [in, in + pad(in)], pad(s) = max(1, s // 8), the same search; the
   padded choice is taken only if it needs at most half the parameters of
   the best exact split (prime sizes such as 13 or 1021). A padded candidate
   must also pass a numerical check that the cropped product reaches rank
   min(out, in) with random factors, since cropping can lose rank where
   (1) alone does not show it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import torch


@dataclass(frozen=True)
class KroneckerShape:
    """Shapes of A (m1 x n1) and B (m2 x n2) standing in for an out x in weight."""

    out_features: int
    in_features: int
    m1: int
    n1: int
    m2: int
    n2: int

    def __post_init__(self):
        for name in ("out_features", "in_features", "m1", "n1", "m2", "n2"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.m1 * self.m2 < self.out_features or self.n1 * self.n2 < self.in_features:
            raise ValueError(
                f"factors A {self.m1}x{self.n1}, B {self.m2}x{self.n2} give a "
                f"{self.m1 * self.m2}x{self.n1 * self.n2} product, smaller than the "
                f"{self.out_features}x{self.in_features} weight; choose m1*m2 >= out and n1*n2 >= in")

    @property
    def a_shape(self) -> tuple[int, int]:
        return (self.m1, self.n1)

    @property
    def b_shape(self) -> tuple[int, int]:
        return (self.m2, self.n2)

    @property
    def out_padded(self) -> int:
        return self.m1 * self.m2

    @property
    def in_padded(self) -> int:
        return self.n1 * self.n2

    @property
    def padded(self) -> bool:
        return self.out_padded != self.out_features or self.in_padded != self.in_features

    @property
    def params(self) -> int:
        return self.m1 * self.n1 + self.m2 * self.n2

    @property
    def order(self) -> int:
        """1: contract B first (X @ B.T, then A @ ·); 2: contract A first. The cheaper one, B first on a tie."""
        return 1 if self.macs_b_first <= self.macs_a_first else 2

    @property
    def macs_b_first(self) -> int:
        return self.n1 * self.m2 * (self.n2 + self.m1)

    @property
    def macs_a_first(self) -> int:
        return self.m1 * self.n2 * (self.n1 + self.m2)

    @property
    def macs(self) -> int:
        """min(n1·m2·(n2+m1), m1·n2·(n1+m2)) per input vector."""
        return min(self.macs_b_first, self.macs_a_first)

    @property
    def max_rank(self) -> int:
        return min(self.m1, self.n1) * min(self.m2, self.n2)

    @property
    def full_rank_reachable(self) -> bool:
        return self.max_rank >= min(self.out_features, self.in_features)

    @property
    def compression(self) -> float:
        return self.out_features * self.in_features / self.params

    def as_config(self) -> list[list[int]]:
        """[[m1, n1], [m2, n2]], the form `factors=` takes and configs store."""
        return [[self.m1, self.n1], [self.m2, self.n2]]

    def describe(self) -> str:
        return f"A {self.m1}x{self.n1} ⊗ B {self.m2}x{self.n2}"


def _positive_int(name: str, value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _divisors(n: int) -> list[int]:
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


def _pad_limit(size: int) -> int:
    return max(1, size // 8)


def _search(out_sizes, in_sizes, need: int, bound: float, exclude: frozenset) -> tuple | None:
    """The best (key, shape) over the given padded sizes whose parameters stay under `bound`."""
    best = None
    for out_p in out_sizes:
        for in_p in in_sizes:
            # m1·n1 + m2·n2 >= 2·sqrt(out'·in'): skip sizes that cannot beat the best so far.
            limit = best[0][0] if best is not None else bound
            if 2 * math.sqrt(out_p * in_p) > limit:
                continue
            for m1 in _divisors(out_p):
                m2 = out_p // m1
                for n1 in _divisors(in_p):
                    n2 = in_p // n1
                    if min(m1, n1) * min(m2, n2) < need or (m1, n1, m2, n2) in exclude:
                        continue
                    params = m1 * n1 + m2 * n2
                    if params > bound:
                        continue
                    b_first, a_first = n1 * m2 * (n2 + m1), m1 * n2 * (n1 + m2)
                    key = (params, out_p * in_p, min(b_first, a_first), b_first > a_first, -m1, -n1)
                    if best is None or key < best[0]:
                        best = (key, (m1, n1, m2, n2))
    return best


def _crop_reaches_full_rank(out_features: int, in_features: int, m1: int, n1: int, m2: int, n2: int) -> bool:
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(m1, n1, generator=gen, dtype=torch.float64)
    b = torch.randn(m2, n2, generator=gen, dtype=torch.float64)
    w = torch.kron(a, b)[:out_features, :in_features]
    return int(torch.linalg.matrix_rank(w)) == min(out_features, in_features)


@lru_cache(maxsize=4096)
def _choose(out_features: int, in_features: int) -> KroneckerShape:
    need = min(out_features, in_features)
    exact = _search([out_features], [in_features], need, math.inf, frozenset())
    assert exact is not None  # A 1x1 times B out x in always qualifies
    out_sizes = range(out_features, out_features + _pad_limit(out_features) + 1)
    in_sizes = range(in_features, in_features + _pad_limit(in_features) + 1)
    rejected: set = set()
    while True:
        padded = _search(out_sizes, in_sizes, need, exact[0][0] / 2, frozenset(rejected))
        if padded is None:
            return KroneckerShape(out_features, in_features, *exact[1])
        if _crop_reaches_full_rank(out_features, in_features, *padded[1]):
            return KroneckerShape(out_features, in_features, *padded[1])
        rejected.add(padded[1])


def choose_factors(out_features: int, in_features: int) -> KroneckerShape:
    """The factor shapes the automatic rule picks (see the module docstring)."""
    return _choose(_positive_int("out_features", out_features), _positive_int("in_features", in_features))


def factors_for_compression(out_features: int, in_features: int, compression: float) -> KroneckerShape:
    """Exact factor shapes compressing the matrix at least `compression` times, as little beyond it as possible.

    The automatic rule compresses as far as full rank allows, which can cost
    accuracy; a recipe that wants a stated compression (e.g. 16x, inside the
    16-38x range of Thakker et al. 2019) asks for it here. Among exact splits
    whose rank can reach min(out, in) and that store at most out·in/compression
    weights, the one storing the most wins (ties: fewer MACs). When no exact
    split compresses that far, the automatic rule's shape is returned.
    """
    out_features = _positive_int("out_features", out_features)
    in_features = _positive_int("in_features", in_features)
    if isinstance(compression, bool) or not isinstance(compression, (int, float)) or compression < 1:
        raise ValueError(f"compression must be a number >= 1, got {compression!r}")
    need, bound = min(out_features, in_features), out_features * in_features / compression
    best = None
    for m1 in _divisors(out_features):
        m2 = out_features // m1
        for n1 in _divisors(in_features):
            n2 = in_features // n1
            params = m1 * n1 + m2 * n2
            if min(m1, n1) * min(m2, n2) < need or params > bound:
                continue
            key = (-params, min(n1 * m2 * (n2 + m1), m1 * n2 * (n1 + m2)), -m1, -n1)
            if best is None or key < best[0]:
                best = (key, (m1, n1, m2, n2))
    if best is None:
        return choose_factors(out_features, in_features)
    return KroneckerShape(out_features, in_features, *best[1])


def resolve_factors(out_features: int, in_features: int, factors=None) -> KroneckerShape:
    """`factors` as given ([[m1, n1], [m2, n2]] or a KroneckerShape), or the automatic choice."""
    if factors is None:
        return choose_factors(out_features, in_features)
    if isinstance(factors, KroneckerShape):
        if (factors.out_features, factors.in_features) != (out_features, in_features):
            raise ValueError(
                f"factors were chosen for {factors.out_features}x{factors.in_features}, "
                f"not {out_features}x{in_features}; pass [[m1, n1], [m2, n2]] instead")
        return factors
    try:
        (m1, n1), (m2, n2) = factors
    except (TypeError, ValueError):
        raise ValueError(
            f"factors must be [[m1, n1], [m2, n2]] (shapes of A and B), got {factors!r}") from None
    return KroneckerShape(_positive_int("out_features", out_features),
                          _positive_int("in_features", in_features),
                          _positive_int("m1", m1), _positive_int("n1", n1),
                          _positive_int("m2", m2), _positive_int("n2", n2))


def rearrange(weight: torch.Tensor, shape: KroneckerShape) -> torch.Tensor:
    """Van Loan–Pitsianis rearrangement R, (m1·n1) x (m2·n2), with R = vec(A) vec(B)^T iff W = A ⊗ B.

    The weight is zero-padded to the padded size first.
    """
    m1, n1, m2, n2 = shape.m1, shape.n1, shape.m2, shape.n2
    if weight.shape != (shape.out_features, shape.in_features):
        raise ValueError(
            f"weight is {tuple(weight.shape)}, expected {(shape.out_features, shape.in_features)}")
    padded = weight.new_zeros(shape.out_padded, shape.in_padded)
    padded[: shape.out_features, : shape.in_features] = weight
    # W[i·m2 + k, j·n2 + l] = A[i, j]·B[k, l]  ->  R[i·n1 + j, k·n2 + l]
    return padded.reshape(m1, m2, n1, n2).permute(0, 2, 1, 3).reshape(m1 * n1, m2 * n2)


def nearest_kronecker(weight: torch.Tensor, shape: KroneckerShape) -> tuple[torch.Tensor, torch.Tensor]:
    """A, B minimizing ||W - A ⊗ B||_F: the rank-1 SVD of the rearranged weight.

    Exact when W is a Kronecker product of these shapes. With padding, the
    padded rows and columns are fitted to zero, so the fit to the cropped
    weight is close but not always the best possible.
    """
    r = rearrange(weight.detach().to(torch.float64), shape)
    u, s, vh = torch.linalg.svd(r, full_matrices=False)
    scale = s[0].sqrt()
    a = (u[:, 0] * scale).reshape(shape.m1, shape.n1)
    b = (vh[0] * scale).reshape(shape.m2, shape.n2)
    # Sign is free (A⊗B = (-A)⊗(-B)); fix it so results are reproducible.
    if a.sum() < 0:
        a, b = -a, -b
    return a.to(weight.dtype), b.to(weight.dtype)
