"""Doped Kronecker product (DKP): W = A ⊗ B + S with S extremely sparse.

Following Thakker et al. ("Compressing language models using doped
Kronecker products", arXiv:2001.08896; "Doping", arXiv:2102.07071):

- S starts dense (or at a stated density) and is pruned by magnitude down to
  a target density (1 % by default) on the gradual schedule of
  `harness.compress.sparsity`, driven by `set_progress(fraction)`.
- Co-matrix dropout regularization (CMR). Training A ⊗ B and S together lets
  the two co-adapt: the Kronecker part comes to rely on S, and accuracy
  drops as S is sparsified. During training the output of each part is
  passed through its own dropout before they are added,

      y = dropout_p_kp(x (A ⊗ B)^T) + dropout_p_s(x S^T) + b,

  element-wise (per example and output unit) with the usual 1/(1-p)
  scaling. By default only S's output is dropped (p_s = 0.5, p_kp = 0):
  that is the dependence which hurts when S is pruned. Both rates are
  settable. In eval mode nothing is dropped.
- Exported as A, B and S in CSR form (indptr, indices, values).

S is kept as a dense parameter with a boolean mask while training; the mask
is a buffer, so a pruned model's state_dict reloads as pruned.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .factors import nearest_kronecker
from .kronecker import KroneckerLinear, _dense_weight_of, kron_linear
from .layer import csr, csr_index_bytes
from .sparsity import DensitySchedule, kept_count, prune_mask, random_mask


def _dropout_rate(name: str, p) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1), got {p!r}")
    return float(p)


class DopedKroneckerLinear(KroneckerLinear):
    """y = x (A ⊗ B + S)^T + b, S pruned on a schedule; co-matrix dropout while training."""

    kind = "dkp"

    def __init__(self, in_features: int, out_features: int, factors=None, bias: bool = True,
                 density: float = 1.0, target_density: float = 0.01,
                 prune_begin: float = 0.0, prune_end: float = 0.75,
                 kp_dropout: float = 0.0, s_dropout: float = 0.5):
        super().__init__(in_features, out_features, factors=factors, bias=bias)
        self.schedule = DensitySchedule(initial=density, final=target_density, begin=prune_begin, end=prune_end)
        self.kp_dropout = _dropout_rate("kp_dropout", kp_dropout)
        self.s_dropout = _dropout_rate("s_dropout", s_dropout)
        # Zero S: the layer starts as the plain KP layer and S learns the correction.
        self.S = nn.Parameter(torch.zeros(out_features, in_features))
        self.register_buffer("mask", random_mask((out_features, in_features), density))

    @classmethod
    def from_dense(cls, linear: nn.Module, factors=None, **opts) -> "DopedKroneckerLinear":
        """A ⊗ B the nearest Kronecker product, S the residual W - A ⊗ B (its largest entries if density < 1)."""
        weight = _dense_weight_of(linear)
        layer = cls(linear.in_features, linear.out_features, factors=factors, bias=linear.bias is not None, **opts)
        layer = layer.to(device=weight.device, dtype=weight.dtype)
        a, b = nearest_kronecker(weight, layer.shape)
        with torch.no_grad():
            layer.A.copy_(a)
            layer.B.copy_(b)
            layer.S.copy_(weight - layer.kron_weight())
            layer.mask.fill_(True)
            prune_mask(layer.S, layer.mask, kept_count(layer.schedule.initial, layer.mask.numel()))
            layer.S.mul_(layer.mask)
            if linear.bias is not None:
                layer.bias.copy_(linear.bias)
        return layer

    @property
    def density(self) -> float:
        """Fraction of S's entries still kept."""
        return int(self.mask.sum()) / self.mask.numel()

    def sparse_weight(self) -> torch.Tensor:
        return self.S * self.mask

    def set_progress(self, fraction: float) -> float:
        """Prune S to the schedule's density at this fraction of training; returns the density now."""
        target = self.schedule.density(fraction)
        with torch.no_grad():
            prune_mask(self.S, self.mask, kept_count(target, self.mask.numel()))
            self.S.mul_(self.mask)
        return self.density

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = kron_linear(x, self.A, self.B, None, self.shape)
        if self.training and self.kp_dropout:
            y = F.dropout(y, self.kp_dropout, training=True)
        if self.training or bool(self.mask.any()):
            s = F.linear(x, self.sparse_weight())
            if self.training and self.s_dropout:
                s = F.dropout(s, self.s_dropout, training=True)
            y = y + s
        return y if self.bias is None else y + self.bias

    def dense_weight(self) -> torch.Tensor:
        return self.kron_weight() + self.sparse_weight()

    def export(self) -> dict:
        out = super().export()
        indptr, indices, values = csr(self.S, self.mask)
        out.update(S_indptr=indptr, S_indices=indices, S_values=values)
        return out

    def stored_sparse(self) -> int:
        return int(self.mask.sum())

    def weight_count(self) -> int:
        return super().weight_count() + self.stored_sparse()

    def nnz(self) -> int:
        return super().nnz() + int(torch.count_nonzero(self.sparse_weight()))

    def macs(self) -> int:
        return self.shape.macs + self.stored_sparse()

    def index_bytes(self) -> int:
        return csr_index_bytes(self.out_features, self.in_features, self.stored_sparse())

    def factor_shapes(self) -> str:
        return f"{super().factor_shapes()} + S {self.stored_sparse()}/{self.mask.numel()} ({100 * self.density:.3g}%)"

    def config(self) -> dict:
        return {**super().config(), "density": self.schedule.initial, "target_density": self.schedule.final,
                "prune_begin": self.schedule.begin, "prune_end": self.schedule.end,
                "kp_dropout": self.kp_dropout, "s_dropout": self.s_dropout}
