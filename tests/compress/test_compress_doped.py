"""DopedKroneckerLinear: A ⊗ B + S, the density schedule, co-matrix dropout and the CSR export."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.compress import (DensitySchedule, DopedKroneckerLinear, KroneckerLinear, SequenceClassifier,
                              set_progress)

SIZES = st.sampled_from([1, 2, 3, 5, 7, 9, 10, 12, 13, 16, 24, 31])


def reference(layer, x):
    w = torch.kron(layer.A, layer.B)[: layer.out_features, : layer.in_features] + layer.S * layer.mask
    y = x @ w.T
    return y if layer.bias is None else y + layer.bias


@settings(max_examples=50, deadline=None)
@given(out_f=SIZES, in_f=SIZES, batch=st.sampled_from([1, 64]), density=st.sampled_from([1.0, 0.3, 0.05]),
       seed=st.integers(0, 2**16))
def test_output_and_gradients_match_explicit_kron_plus_s(out_f, in_f, batch, density, seed):
    torch.manual_seed(seed)
    layer = DopedKroneckerLinear(in_f, out_f, density=density, target_density=0.0).double().eval()
    with torch.no_grad():
        layer.S.normal_()
    x = torch.randn(batch, in_f, dtype=torch.float64, requires_grad=True)
    y, ref = layer(x), reference(layer, x)
    torch.testing.assert_close(y, ref, rtol=1e-10, atol=1e-10)
    grad_out = torch.randn_like(y)
    params = [x, layer.A, layer.B, layer.S, layer.bias]
    # An empty mask leaves S out of the eval graph: its gradient is zero either way.
    got = torch.autograd.grad(y, params, grad_out, allow_unused=True, materialize_grads=True)
    for g, w in zip(got, torch.autograd.grad(ref, params, grad_out)):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-10)
    assert layer.stored_sparse() == int(layer.mask.sum())


@pytest.mark.parametrize("train", [True, False])
def test_zero_s_equals_the_kp_layer(train):
    torch.manual_seed(0)
    kp = KroneckerLinear(128, 512)
    dkp = DopedKroneckerLinear(128, 512, factors=kp.config()["factors"], s_dropout=0.5)
    dkp.load_state_dict({**kp.state_dict(), "S": torch.zeros(512, 128), "mask": dkp.mask}, strict=True)
    dkp.train(train)
    x = torch.randn(64, 128)
    torch.testing.assert_close(dkp(x), kp(x))
    torch.testing.assert_close(dkp(x[:1]), kp(x[:1]))


def test_reaches_target_density_on_schedule():
    layer = DopedKroneckerLinear(128, 512, target_density=0.01, prune_begin=0.1, prune_end=0.6)
    with torch.no_grad():
        layer.S.normal_()
    size = 512 * 128
    seen = []
    for step in range(101):
        p = step / 100
        seen.append(layer.set_progress(p))
        expected = layer.schedule.density(p)
        assert int(layer.mask.sum()) == int(expected * size + 1e-9)
        if p <= 0.1:
            assert layer.density == 1.0
        if p >= 0.6:
            assert int(layer.mask.sum()) == int(0.01 * size) == 655
    assert all(a >= b for a, b in zip(seen, seen[1:]))  # never grows back
    assert torch.count_nonzero(layer.S) <= 655          # pruned entries are zeroed


def test_pruning_keeps_the_largest_magnitudes():
    layer = DopedKroneckerLinear(10, 20, target_density=0.1, prune_begin=0.0, prune_end=1.0)
    with torch.no_grad():
        layer.S.copy_(torch.arange(200, dtype=torch.float32).view(20, 10) - 100)
    layer.set_progress(1.0)
    kept = layer.S[layer.mask].abs()
    assert int(layer.mask.sum()) == 20
    assert kept.min() >= (layer.S.detach().abs() * ~layer.mask).max()


def test_schedule_curve():
    s = DensitySchedule(initial=1.0, final=0.01, begin=0.2, end=0.7)
    assert s.density(0.0) == s.density(0.2) == 1.0
    assert s.density(0.7) == pytest.approx(0.01) and s.density(1.0) == pytest.approx(0.01)
    assert s.density(0.45) == pytest.approx(0.01 + 0.99 * 0.5 ** 3)


def test_set_progress_walks_the_model():
    model = SequenceClassifier("lstm", 9, 32, 6, kind="dkp", ih_opts={"target_density": 0.05},
                               hh_opts={"target_density": 0.02})
    densities = set_progress(model, 1.0)
    assert densities == {"cell.ih": pytest.approx(int(0.05 * 128 * 9) / (128 * 9)),
                         "cell.hh": pytest.approx(int(0.02 * 128 * 32) / (128 * 32))}


def test_co_matrix_dropout_only_in_training():
    torch.manual_seed(1)
    layer = DopedKroneckerLinear(16, 32, kp_dropout=0.3, s_dropout=0.5)
    with torch.no_grad():
        layer.S.normal_()
    x = torch.randn(64, 16)
    layer.eval()
    torch.testing.assert_close(layer(x), reference(layer, x))
    torch.testing.assert_close(layer(x), layer(x))
    layer.train()
    a, b = layer(x), layer(x)
    assert not torch.allclose(a, b)
    assert not torch.allclose(a, reference(layer, x))


def test_co_matrix_dropout_drops_each_part_with_its_own_rate():
    torch.manual_seed(2)
    layer = DopedKroneckerLinear(16, 32, kp_dropout=0.0, s_dropout=0.5, bias=False).train()
    with torch.no_grad():
        layer.S.normal_()
    x = torch.randn(4000, 16)
    kp_out = x @ layer.kron_weight().T
    s_out = x @ layer.sparse_weight().T
    y = layer(x)
    # With S dropped the unit outputs exactly the KP part; kept, the KP part plus S's output doubled.
    dropped = torch.isclose(y, kp_out, atol=1e-5)
    kept = torch.isclose(y, kp_out + 2 * s_out, atol=1e-4)
    assert bool((dropped | kept).all())
    assert 0.45 < dropped.float().mean().item() < 0.55
    reps = 1000
    with torch.no_grad():  # the expectation is the eval output (inverted dropout)
        mean = torch.stack([layer(x[:50]) for _ in range(reps)]).mean(0)
        z = (mean - reference(layer, x[:50])) / (s_out[:50].abs() / reps ** 0.5 + 1e-6)
    assert z.abs().mean() < 1.0 and z.abs().max() < 6


def test_csr_export_and_counts():
    torch.manual_seed(3)
    layer = DopedKroneckerLinear(24, 40, target_density=0.05)
    with torch.no_grad():
        layer.S.normal_()
    layer.set_progress(1.0)
    out = layer.export()
    assert set(out) == {"A", "B", "bias", "S_indptr", "S_indices", "S_values"}
    indptr, indices, values = out["S_indptr"], out["S_indices"], out["S_values"]
    stored = int(0.05 * 40 * 24)
    assert len(values) == len(indices) == indptr[-1] == stored == layer.stored_sparse()
    s = np.zeros((40, 24), dtype=np.float32)
    for row in range(40):
        s[row, indices[indptr[row]:indptr[row + 1]]] = values[indptr[row]:indptr[row + 1]]
    np.testing.assert_array_equal(s, layer.sparse_weight().detach().numpy())
    assert layer.weight_count() == layer.A.numel() + layer.B.numel() + stored
    assert layer.macs() == layer.shape.macs + stored
    assert layer.index_bytes() == 2 * stored + 2 * 41


def test_from_dense_residual_is_exact_then_pruned():
    torch.manual_seed(4)
    dense = torch.nn.Linear(12, 20).double()
    layer = DopedKroneckerLinear.from_dense(dense, target_density=0.1)
    torch.testing.assert_close(layer.dense_weight(), dense.weight)
    layer.set_progress(1.0)
    residual = dense.weight - layer.kron_weight()
    # The kept entries of S are the largest entries of the residual.
    assert layer.sparse_weight().abs().sum() > 0
    assert residual.abs()[layer.mask].min() >= residual.abs()[~layer.mask].max() - 1e-12


def test_state_dict_round_trip_keeps_the_mask():
    layer = DopedKroneckerLinear(10, 16, target_density=0.1)
    with torch.no_grad():
        layer.S.normal_()
    layer.set_progress(1.0)
    other = DopedKroneckerLinear(10, 16, **{k: v for k, v in layer.config().items()})
    other.load_state_dict(layer.state_dict())
    assert torch.equal(other.mask, layer.mask)
    assert other.stored_sparse() == layer.stored_sparse() == 16


@pytest.mark.parametrize("kwargs,match", [
    ({"s_dropout": 1.0}, "s_dropout"),
    ({"kp_dropout": -0.1}, "kp_dropout"),
    ({"target_density": 1.5}, "final"),
    ({"density": 0.1, "target_density": 0.2}, "above the initial"),
    ({"prune_begin": 0.8, "prune_end": 0.5}, "after begin"),
])
def test_bad_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DopedKroneckerLinear(8, 8, **kwargs)


def test_bad_progress_raises_value_error():
    with pytest.raises(ValueError, match="progress"):
        DopedKroneckerLinear(8, 8).set_progress(1.5)
