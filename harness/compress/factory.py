"""`make_linear(kind, in, out, **opts)`: one weight layer of any kind, by name."""

from __future__ import annotations

from torch import nn

from .baselines import LowRankLinear, PrunedLinear
from .doped import DopedKroneckerLinear
from .kronecker import KroneckerLinear
from .layer import KINDS, DenseLinear, WeightLayer

LAYERS: dict[str, type[WeightLayer]] = {
    "dense": DenseLinear,
    "kp": KroneckerLinear,
    "dkp": DopedKroneckerLinear,
    "prune": PrunedLinear,
    "lowrank": LowRankLinear,
}
assert tuple(LAYERS) == KINDS


def layer_class(kind: str) -> type[WeightLayer]:
    if kind not in LAYERS:
        raise ValueError(f"unknown weight kind {kind!r}; use one of {', '.join(KINDS)}")
    return LAYERS[kind]


def make_linear(kind: str, in_features: int, out_features: int, bias: bool = True, **opts) -> WeightLayer:
    """A weight layer of `kind` ('dense'|'kp'|'dkp'|'prune'|'lowrank') with that kind's options.

    Options: kp: factors; dkp: factors, density, target_density, prune_begin,
    prune_end, kp_dropout, s_dropout; prune: density, target_density or
    budget, prune_begin, prune_end; lowrank: rank or budget; dense: none.
    """
    cls = layer_class(kind)
    try:
        return cls(in_features, out_features, bias=bias, **opts)
    except TypeError as err:
        raise ValueError(f"bad option for a {kind!r} layer ({err}); see make_linear's docstring") from None


def convert_linear(kind: str, linear: nn.Module, **opts) -> WeightLayer:
    """A trained dense layer converted to `kind` (nearest KP, residual S, SVD, or a pruning start)."""
    cls = layer_class(kind)
    try:
        return cls.from_dense(linear, **opts)
    except TypeError as err:
        raise ValueError(f"bad option for converting to a {kind!r} layer ({err})") from None
