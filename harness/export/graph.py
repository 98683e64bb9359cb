"""A trained classifier as plain arrays: the float graph every export starts from (numpy only).

Each weight layer becomes a list of terms, exactly what the device will
compute, with nothing expanded to a dense matrix:

    dense   -> dense W
    kp      -> kron A, B (order as the layer's MAC rule chose)
    dkp     -> kron A, B  +  csr S (when S keeps any entry)
    prune   -> csr W
    lowrank -> lowrank V (first), U (second)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

GATES = {"lstm": 4, "gru": 3, "fastgrnn": 1}
LAYERS = ("ih", "hh", "head")


@dataclass
class Term:
    kind: str                       # dense | kron | csr | lowrank
    in_features: int
    out_features: int
    a: np.ndarray                   # W, A, CSR values, or V
    b: np.ndarray | None = None     # B or U
    order: int = 0                  # kron: 1 = B first, 2 = A first
    indptr: np.ndarray | None = None
    indices: np.ndarray | None = None


@dataclass
class Layer:
    in_features: int
    out_features: int
    terms: list[Term]
    bias: np.ndarray | None


@dataclass
class Graph:
    cell: str
    seq_len: int
    input_size: int
    hidden: int
    classes: int
    layers: dict[str, Layer]
    extra: dict[str, np.ndarray | float] = field(default_factory=dict)   # FastGRNN biases, σ(ζ), σ(ν)

    @property
    def gates(self) -> int:
        return GATES[self.cell]
