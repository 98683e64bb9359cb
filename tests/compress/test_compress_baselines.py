"""Pruning and low-rank baselines: parameter budgets, schedules, conversion and export."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.compress import (KroneckerLinear, LowRankLinear, PrunedLinear, dense_param_count, make_linear,
                              set_progress, small_hidden_size)


@settings(max_examples=40, deadline=None)
@given(out_f=st.integers(1, 64), in_f=st.integers(1, 64), frac=st.floats(0.01, 1.0))
def test_pruning_hits_its_budget(out_f, in_f, frac):
    budget = max(1, int(frac * out_f * in_f))
    layer = make_linear("prune", in_f, out_f, budget=budget)
    assert layer.weight_count() == out_f * in_f  # starts dense
    set_progress(layer, 1.0)
    assert layer.weight_count() == budget
    assert layer.nnz() <= budget
    assert layer.macs() == budget


@settings(max_examples=40, deadline=None)
@given(out_f=st.integers(1, 64), in_f=st.integers(1, 64), budget=st.integers(1, 5000))
def test_low_rank_hits_its_budget(out_f, in_f, budget):
    if budget < in_f + out_f:
        with pytest.raises(ValueError, match="below one rank"):
            make_linear("lowrank", in_f, out_f, budget=budget)
        return
    layer = make_linear("lowrank", in_f, out_f, budget=budget)
    r = layer.rank
    assert layer.weight_count() == r * (in_f + out_f) <= budget
    assert r == min(in_f, out_f) or (r + 1) * (in_f + out_f) > budget


def test_budgets_matched_to_a_kp_layer():
    kp = KroneckerLinear(128, 512)
    budget = kp.weight_count()  # 512
    pruned = make_linear("prune", 128, 512, budget=budget)
    set_progress(pruned, 1.0)
    assert pruned.weight_count() == 512
    # A low-rank 512x128 layer cannot be that small: one rank is 640 weights.
    with pytest.raises(ValueError, match="640"):
        make_linear("lowrank", 128, 512, budget=budget)
    assert make_linear("lowrank", 128, 512, budget=4 * 640).rank == 4


def test_gradual_pruning_schedule_and_magnitudes():
    torch.manual_seed(0)
    layer = PrunedLinear(20, 30, target_density=0.1, prune_begin=0.0, prune_end=0.5)
    before = layer.weight.detach().abs().clone()
    assert layer.set_progress(0.25) == pytest.approx(int((0.1 + 0.9 * 0.5 ** 3) * 600) / 600)
    layer.set_progress(0.5)
    assert layer.weight_count() == 60
    assert before[layer.mask].min() >= before[~layer.mask].max()
    x = torch.randn(5, 20)
    torch.testing.assert_close(layer(x), x @ (layer.weight * layer.mask).T + layer.bias)
    layer(x).sum().backward()
    assert torch.all(layer.weight.grad[~layer.mask] == 0)


def test_pruned_export_is_csr_of_the_masked_weight():
    layer = PrunedLinear(12, 8, budget=20)
    layer.set_progress(1.0)
    out = layer.export()
    indptr, indices, values = out["W_indptr"], out["W_indices"], out["W_values"]
    w = np.zeros((8, 12), dtype=np.float32)
    for row in range(8):
        w[row, indices[indptr[row]:indptr[row + 1]]] = values[indptr[row]:indptr[row + 1]]
    np.testing.assert_array_equal(w, layer.dense_weight().detach().numpy())
    assert layer.index_bytes() == 20 * 2 + 9 * 2


def test_low_rank_forward_and_svd_conversion():
    torch.manual_seed(1)
    dense = torch.nn.Linear(16, 24).double()
    layer = LowRankLinear.from_dense(dense, rank=5)
    u, s, vh = torch.linalg.svd(dense.weight.detach())
    best = (u[:, :5] * s[:5]) @ vh[:5]
    torch.testing.assert_close(layer.dense_weight(), best)
    x = torch.randn(3, 16, dtype=torch.float64)
    torch.testing.assert_close(layer(x), x @ best.T + dense.bias)
    full = LowRankLinear.from_dense(dense, rank=16)
    torch.testing.assert_close(full.dense_weight(), dense.weight)
    assert set(layer.export()) == {"U", "V", "bias"}
    assert layer.macs() == 5 * (16 + 24)


def test_pruned_from_dense_keeps_the_trained_weights():
    dense = torch.nn.Linear(6, 4)
    layer = PrunedLinear.from_dense(dense, target_density=0.5)
    torch.testing.assert_close(layer.dense_weight(), dense.weight)
    layer.set_progress(1.0)
    assert layer.weight_count() == 12


@pytest.mark.parametrize("cell", ["lstm", "gru", "fastgrnn"])
def test_smaller_dense_network_fits_the_budget(cell):
    budget = 3000
    h = small_hidden_size(cell, 9, 6, budget)
    assert dense_param_count(cell, 9, h, 6) <= budget < dense_param_count(cell, 9, h + 1, 6)


@pytest.mark.parametrize("kind,kwargs,match", [
    ("prune", {"budget": 10, "target_density": 0.1}, "not both"),
    ("prune", {"budget": 1000}, "more than"),
    ("prune", {"budget": 0}, "positive integer"),
    ("lowrank", {}, "exactly one of"),
    ("lowrank", {"rank": 9}, "from 1 to"),
    ("lowrank", {"rank": 2, "budget": 100}, "exactly one of"),
    ("banana", {}, "unknown weight kind"),
    ("kp", {"rank": 2}, "bad option"),
])
def test_bad_arguments_raise_value_error(kind, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_linear(kind, 8, 12, **kwargs)


def test_small_hidden_size_rejects_tiny_budgets():
    with pytest.raises(ValueError, match="hidden size 1"):
        small_hidden_size("lstm", 10, 12, 20)
