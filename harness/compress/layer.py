"""What every weight-bearing layer offers, and the plain dense layer.

The exporter and `summarize()` walk a model and talk to each weight layer
through this interface only, whatever its kind:

- `kind`: 'dense' | 'kp' | 'dkp' | 'prune' | 'lowrank'
- `in_features`, `out_features`, `bias` (a parameter or None)
- `dense_weight()`: the out x in matrix the layer applies (for tests)
- `export()`: the tensors a device stores, as numpy arrays (see each class)
- `weight_count()`: weight values stored (CSR index arrays not included)
- `param_count()`: weight values plus bias values
- `nnz()`: non-zero weight values
- `macs()`: multiply-accumulates for one input vector (bias adds not counted)
- `index_bytes()`: bytes of CSR index arrays, 0 for kinds without them
- `factor_shapes()`: a short text such as "A 32x8 ⊗ B 16x16"
- `config()`: keyword arguments that rebuild the layer with `make_linear`
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

KINDS = ("dense", "kp", "dkp", "prune", "lowrank")


def check_features(in_features, out_features) -> None:
    for name, value in (("in_features", in_features), ("out_features", out_features)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def to_numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().to(torch.float32).numpy().copy()


def csr(matrix: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(indptr, indices, values) in row-major CSR, int32 / int32 / float32.

    Stored entries are the mask's positions when a mask is given (a kept
    weight that happens to be zero is still stored), else the non-zeros.
    """
    dense = matrix.detach().cpu().to(torch.float32)
    keep = (dense != 0) if mask is None else mask.detach().cpu().bool()
    rows, cols = keep.nonzero(as_tuple=True)
    counts = torch.bincount(rows, minlength=dense.shape[0])
    indptr = torch.zeros(dense.shape[0] + 1, dtype=torch.int64)
    indptr[1:] = torch.cumsum(counts, 0)
    return (indptr.to(torch.int32).numpy(), cols.to(torch.int32).numpy(), dense[rows, cols].numpy().copy())


def csr_index_bytes(rows: int, cols: int, stored: int) -> int:
    """Bytes of CSR indices: column indices and row pointers, 16-bit where they fit, else 32-bit."""
    index_width = 2 if cols <= 1 << 16 else 4
    pointer_width = 2 if stored < 1 << 16 else 4
    return stored * index_width + (rows + 1) * pointer_width


def init_bias(bias: torch.Tensor | None, fan_in: int) -> None:
    # Same range as nn.Linear, so swapping kinds does not change the starting point.
    if bias is not None:
        bound = 1.0 / math.sqrt(fan_in)
        with torch.no_grad():
            bias.uniform_(-bound, bound)


class WeightLayer(nn.Module):
    """Base of the compressed layers; subclasses fill in the interface above."""

    kind = "?"

    def dense_weight(self) -> torch.Tensor:
        raise NotImplementedError

    def export(self) -> dict:
        raise NotImplementedError

    def weight_count(self) -> int:
        raise NotImplementedError

    def nnz(self) -> int:
        raise NotImplementedError

    def macs(self) -> int:
        raise NotImplementedError

    def factor_shapes(self) -> str:
        return ""

    def index_bytes(self) -> int:
        return 0

    def config(self) -> dict:
        return {}

    def bias_count(self) -> int:
        return 0 if self.bias is None else self.bias.numel()

    def param_count(self) -> int:
        return self.weight_count() + self.bias_count()

    def _export_bias(self, out: dict) -> dict:
        if self.bias is not None:
            out["bias"] = to_numpy(self.bias)
        return out

    def extra_repr(self) -> str:
        text = f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
        shapes = self.factor_shapes()
        return f"{text}, {shapes}" if shapes else text


class DenseLinear(WeightLayer):
    """An ordinary dense layer (y = x W^T + b) with the common interface. Exports W."""

    kind = "dense"

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        check_features(in_features, out_features)
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        init_bias(self.bias, self.in_features)

    @classmethod
    def from_dense(cls, linear: nn.Linear) -> "DenseLinear":
        layer = cls(linear.in_features, linear.out_features, bias=linear.bias is not None)
        layer = layer.to(device=linear.weight.device, dtype=linear.weight.dtype)
        with torch.no_grad():
            layer.weight.copy_(linear.weight)
            if linear.bias is not None:
                layer.bias.copy_(linear.bias)
        return layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias)

    def dense_weight(self) -> torch.Tensor:
        return self.weight

    def export(self) -> dict:
        return self._export_bias({"W": to_numpy(self.weight)})

    def weight_count(self) -> int:
        return self.weight.numel()

    def nnz(self) -> int:
        return int(torch.count_nonzero(self.weight))

    def macs(self) -> int:
        return self.in_features * self.out_features
