"""Magnitude pruning on a schedule, shared by DKP's sparse part and the pruning baseline.

The schedule is the gradual one of Zhu & Gupta (2017, arXiv:1710.01878):
the density falls from `initial` to `final` between the fractions `begin`
and `end` of training as

    density(p) = final + (initial - final) · (1 - (p - begin) / (end - begin))^3

(fast at first, slow near the end), and stays at `final` afterwards. The
training loop reports how far it is with `set_progress(model, fraction)`;
every layer with a schedule then prunes to its density. Pruning only ever
removes entries: the mask never grows back.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn


def _fraction(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number from 0 to 1, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class DensitySchedule:
    """Density of kept weights as a function of training progress (0 to 1)."""

    initial: float = 1.0
    final: float = 0.01
    begin: float = 0.0
    end: float = 0.75
    exponent: float = 3.0

    def __post_init__(self):
        for name in ("initial", "final", "begin", "end"):
            _fraction(name, getattr(self, name))
        if self.final > self.initial:
            raise ValueError(
                f"final density {self.final} is above the initial density {self.initial}; pruning only removes weights")
        if self.end <= self.begin:
            raise ValueError(f"schedule end {self.end} must come after begin {self.begin}")
        if isinstance(self.exponent, bool) or not isinstance(self.exponent, (int, float)) or self.exponent <= 0:
            raise ValueError(f"exponent must be a positive number, got {self.exponent!r}")

    def density(self, progress: float) -> float:
        p = _fraction("progress", progress)
        t = min(max((p - self.begin) / (self.end - self.begin), 0.0), 1.0)
        return self.final + (self.initial - self.final) * (1.0 - t) ** self.exponent

    def as_dict(self) -> dict:
        return asdict(self)


def kept_count(density: float, size: int) -> int:
    """Entries kept at a density: floor, so a budget given as a density is never exceeded."""
    return min(size, max(0, math.floor(density * size + 1e-9)))


def prune_mask(values: torch.Tensor, mask: torch.Tensor, keep: int) -> None:
    """Shrink `mask` in place to the `keep` largest |values| among the entries it still keeps."""
    if keep >= int(mask.sum()):
        return
    scores = values.detach().abs().flatten().clone()
    scores[~mask.flatten()] = -1.0
    kept = torch.zeros_like(mask.flatten())
    if keep > 0:
        kept[torch.topk(scores, keep, sorted=False).indices] = True
    mask.copy_(kept.view_as(mask))


def random_mask(shape: tuple[int, int], density: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """A mask keeping exactly kept_count(density) entries at random positions."""
    size = shape[0] * shape[1]
    mask = torch.zeros(size, dtype=torch.bool)
    mask[torch.randperm(size, generator=generator)[: kept_count(density, size)]] = True
    return mask.view(shape)


def set_progress(model: nn.Module, fraction: float) -> dict[str, float]:
    """Tell every scheduled layer of `model` how much of training is done; returns its new densities by name."""
    _fraction("fraction of training done", fraction)
    return {name: module.set_progress(fraction)
            for name, module in model.named_modules()
            if callable(getattr(module, "set_progress", None)) and hasattr(module, "schedule")}
