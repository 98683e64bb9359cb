"""The baselines KP is judged against: gradual magnitude pruning and low-rank factorization.

Both take a parameter `budget` (weight values, bias not counted) so that
they can be matched to a KP layer's `weight_count()`:

- pruning keeps floor(budget) weights: target density budget / (out·in);
- low-rank uses the largest rank r with r·(out + in) <= budget.

The third baseline, a smaller dense network, is a model-level choice:
`harness.compress.cells.small_hidden_size`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .kronecker import _dense_weight_of
from .layer import WeightLayer, check_features, csr, csr_index_bytes, init_bias, to_numpy
from .sparsity import DensitySchedule, kept_count, prune_mask, random_mask


def _budget(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"budget must be a positive integer number of weights, got {value!r}")
    return value


def density_for_budget(in_features: int, out_features: int, budget: int) -> float:
    """Target density that keeps `budget` weights of an out x in matrix."""
    check_features(in_features, out_features)
    size = in_features * out_features
    if _budget(budget) > size:
        raise ValueError(
            f"budget {budget} is more than the {out_features}x{in_features} dense matrix ({size} weights); "
            "use the dense kind or a smaller budget")
    return budget / size


def rank_for_budget(in_features: int, out_features: int, budget: int) -> int:
    """Largest rank r with r·(in + out) <= budget."""
    check_features(in_features, out_features)
    rank = _budget(budget) // (in_features + out_features)
    if rank < 1:
        raise ValueError(
            f"budget {budget} is below one rank of a {out_features}x{in_features} low-rank layer "
            f"({in_features + out_features} weights); raise the budget or use another kind")
    return min(rank, min(in_features, out_features))


class PrunedLinear(WeightLayer):
    """Dense weight with a magnitude-pruning mask that tightens on a schedule. Exports W as CSR.

    Pass `target_density` or `budget` (weights kept at the end), not both;
    the default is 10 % density. The density follows the same gradual
    schedule as DKP's S, driven by `set_progress(fraction)`.
    """

    kind = "prune"

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 density: float = 1.0, target_density: float | None = None, budget: int | None = None,
                 prune_begin: float = 0.0, prune_end: float = 0.75):
        super().__init__()
        check_features(in_features, out_features)
        if target_density is not None and budget is not None:
            raise ValueError("give target_density or budget for a pruned layer, not both")
        if budget is not None:
            target_density = density_for_budget(in_features, out_features, budget)
        elif target_density is None:
            target_density = 0.1
        self.in_features, self.out_features = in_features, out_features
        self.schedule = DensitySchedule(initial=density, final=target_density, begin=prune_begin, end=prune_end)
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        self.register_buffer("mask", random_mask((out_features, in_features), density))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        init_bias(self.bias, self.in_features)

    @classmethod
    def from_dense(cls, linear: nn.Module, **opts) -> "PrunedLinear":
        """Start from a trained dense layer (all weights kept, or the largest if density < 1)."""
        weight = _dense_weight_of(linear)
        layer = cls(linear.in_features, linear.out_features, bias=linear.bias is not None, **opts)
        layer = layer.to(device=weight.device, dtype=weight.dtype)
        with torch.no_grad():
            layer.weight.copy_(weight)
            layer.mask.fill_(True)
            prune_mask(layer.weight, layer.mask, kept_count(layer.schedule.initial, layer.mask.numel()))
            if linear.bias is not None:
                layer.bias.copy_(linear.bias)
        return layer

    @property
    def density(self) -> float:
        return int(self.mask.sum()) / self.mask.numel()

    def set_progress(self, fraction: float) -> float:
        """Prune to the schedule's density at this fraction of training; returns the density now."""
        with torch.no_grad():
            prune_mask(self.weight, self.mask, kept_count(self.schedule.density(fraction), self.mask.numel()))
            self.weight.mul_(self.mask)
        return self.density

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.dense_weight(), self.bias)

    def dense_weight(self) -> torch.Tensor:
        return self.weight * self.mask

    def export(self) -> dict:
        indptr, indices, values = csr(self.weight, self.mask)
        return self._export_bias({"W_indptr": indptr, "W_indices": indices, "W_values": values})

    def weight_count(self) -> int:
        return int(self.mask.sum())

    def nnz(self) -> int:
        return int(torch.count_nonzero(self.dense_weight()))

    def macs(self) -> int:
        return self.weight_count()

    def index_bytes(self) -> int:
        return csr_index_bytes(self.out_features, self.in_features, self.weight_count())

    def factor_shapes(self) -> str:
        return f"{self.weight_count()}/{self.mask.numel()} kept ({100 * self.density:.3g}%)"

    def config(self) -> dict:
        return {"density": self.schedule.initial, "target_density": self.schedule.final,
                "prune_begin": self.schedule.begin, "prune_end": self.schedule.end}


class LowRankLinear(WeightLayer):
    """W = U·V with U (out x r), V (r x in). Exports U, V. Pass `rank` or `budget`."""

    kind = "lowrank"

    def __init__(self, in_features: int, out_features: int, rank: int | None = None, bias: bool = True,
                 budget: int | None = None):
        super().__init__()
        check_features(in_features, out_features)
        if (rank is None) == (budget is None):
            raise ValueError("a low-rank layer needs exactly one of rank= or budget=")
        if budget is not None:
            rank = rank_for_budget(in_features, out_features, budget)
        if isinstance(rank, bool) or not isinstance(rank, int) or not 1 <= rank <= min(in_features, out_features):
            raise ValueError(
                f"rank must be an integer from 1 to min(in, out) = {min(in_features, out_features)}, got {rank!r}")
        self.in_features, self.out_features, self.rank = in_features, out_features, rank
        self.U = nn.Parameter(torch.empty(out_features, rank))
        self.V = nn.Parameter(torch.empty(rank, in_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Entries of U·V then have variance 1/(3·in), as nn.Linear's.
        with torch.no_grad():
            self.V.uniform_(-1 / math.sqrt(self.in_features), 1 / math.sqrt(self.in_features))
            self.U.uniform_(-math.sqrt(3 / self.rank), math.sqrt(3 / self.rank))
        init_bias(self.bias, self.in_features)

    @classmethod
    def from_dense(cls, linear: nn.Module, rank: int | None = None, budget: int | None = None) -> "LowRankLinear":
        """The best rank-r approximation (truncated SVD) of a trained dense layer's weight."""
        weight = _dense_weight_of(linear)
        layer = cls(linear.in_features, linear.out_features, rank=rank, bias=linear.bias is not None, budget=budget)
        layer = layer.to(device=weight.device, dtype=weight.dtype)
        u, s, vh = torch.linalg.svd(weight.to(torch.float64), full_matrices=False)
        root = s[: layer.rank].sqrt()
        with torch.no_grad():
            layer.U.copy_(u[:, : layer.rank] * root)
            layer.V.copy_(root[:, None] * vh[: layer.rank])
            if linear.bias is not None:
                layer.bias.copy_(linear.bias)
        return layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(F.linear(x, self.V), self.U, self.bias)

    def dense_weight(self) -> torch.Tensor:
        return self.U @ self.V

    def export(self) -> dict:
        return self._export_bias({"U": to_numpy(self.U), "V": to_numpy(self.V)})

    def weight_count(self) -> int:
        return self.U.numel() + self.V.numel()

    def nnz(self) -> int:
        return int(torch.count_nonzero(self.U)) + int(torch.count_nonzero(self.V))

    def macs(self) -> int:
        return self.rank * (self.in_features + self.out_features)

    def factor_shapes(self) -> str:
        return f"U {self.out_features}x{self.rank} · V {self.rank}x{self.in_features}"

    def config(self) -> dict:
        return {"rank": self.rank}
