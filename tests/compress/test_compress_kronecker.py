"""KroneckerLinear against the explicit x @ kron(A, B).T + b, and the nearest-Kronecker conversion."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.compress import KroneckerLinear, KroneckerShape, choose_factors, kron_linear, nearest_kronecker, rearrange

SIZES = st.sampled_from([1, 2, 3, 5, 7, 8, 9, 10, 12, 13, 16, 17, 23, 24, 31, 32, 37])


def reference(layer, x):
    w = torch.kron(layer.A, layer.B)[: layer.out_features, : layer.in_features]
    y = x @ w.T
    return y if layer.bias is None else y + layer.bias


def check_against_reference(layer, x):
    layer = layer.double()
    x = x.double().requires_grad_(True)
    y = layer(x)
    ref = reference(layer, x)
    torch.testing.assert_close(y, ref, rtol=1e-10, atol=1e-10)
    grad_out = torch.randn_like(y)
    params = [p for p in (layer.A, layer.B, layer.bias) if p is not None]
    got = torch.autograd.grad(y, [x, *params], grad_out)
    want = torch.autograd.grad(ref, [x, *params], grad_out)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-10)


@settings(max_examples=60, deadline=None)
@given(out_f=SIZES, in_f=SIZES, batch=st.sampled_from([1, 2, 64]), bias=st.booleans(), seed=st.integers(0, 2**16))
def test_output_and_gradients_match_explicit_kron(out_f, in_f, batch, bias, seed):
    torch.manual_seed(seed)
    layer = KroneckerLinear(in_f, out_f, bias=bias)
    check_against_reference(layer, torch.randn(batch, in_f))


@settings(max_examples=40, deadline=None)
@given(m1=st.integers(1, 6), n1=st.integers(1, 6), m2=st.integers(1, 6), n2=st.integers(1, 6),
       crop_out=st.integers(0, 3), crop_in=st.integers(0, 3), batch=st.sampled_from([1, 64]), seed=st.integers(0, 999))
def test_explicit_factors_including_padding(m1, n1, m2, n2, crop_out, crop_in, batch, seed):
    torch.manual_seed(seed)
    out_f, in_f = max(1, m1 * m2 - crop_out), max(1, n1 * n2 - crop_in)
    layer = KroneckerLinear(in_f, out_f, factors=[[m1, n1], [m2, n2]])
    assert (layer.A.shape, layer.B.shape) == ((m1, n1), (m2, n2))
    check_against_reference(layer, torch.randn(batch, in_f))


@pytest.mark.parametrize("out_f,in_f", [(512, 10), (512, 128), (128, 9), (128, 32), (64, 64), (13, 7), (1021, 17)])
@pytest.mark.parametrize("batch", [1, 64])
def test_named_shapes(out_f, in_f, batch):
    torch.manual_seed(0)
    check_against_reference(KroneckerLinear(in_f, out_f), torch.randn(batch, in_f))


def test_both_contraction_orders_and_leading_dims():
    torch.manual_seed(1)
    for factors in ([[8, 2], [4, 6]], [[4, 6], [8, 2]]):
        layer = KroneckerLinear(12, 32, factors=factors).double()
        x = torch.randn(3, 5, 12, dtype=torch.float64)
        torch.testing.assert_close(layer(x), reference(layer, x))
        torch.testing.assert_close(layer(x[0, 0]), reference(layer, x[0, 0]))
    orders = {KroneckerShape(32, 12, 8, 2, 4, 6).order, KroneckerShape(32, 12, 4, 6, 8, 2).order}
    assert orders == {1, 2}


def test_no_grad_path_and_input_without_grad_match():
    torch.manual_seed(2)
    layer = KroneckerLinear(128, 512).double()
    x = torch.randn(16, 128, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(layer(x), reference(layer, x))
    y = layer(x)  # x needs no gradient: only the parameters get one
    ga, gb = torch.autograd.grad(y.sum(), [layer.A, layer.B])
    ra, rb = torch.autograd.grad(reference(layer, x).sum(), [layer.A, layer.B])
    torch.testing.assert_close(ga, ra)
    torch.testing.assert_close(gb, rb)


def test_forward_never_builds_the_kronecker_product(monkeypatch):
    layer = KroneckerLinear(128, 512)

    def forbidden(*args, **kwargs):
        raise AssertionError("forward built A ⊗ B")

    monkeypatch.setattr(torch, "kron", forbidden)
    for batch in (1, 8):
        layer(torch.randn(batch, 128)).sum().backward()


@settings(max_examples=30, deadline=None)
@given(m1=st.integers(1, 5), n1=st.integers(1, 5), m2=st.integers(1, 5), n2=st.integers(1, 5), seed=st.integers(0, 999))
def test_from_dense_recovers_exact_kronecker_product(m1, n1, m2, n2, seed):
    gen = torch.Generator().manual_seed(seed)
    a, b = torch.randn(m1, n1, generator=gen, dtype=torch.float64), torch.randn(m2, n2, generator=gen, dtype=torch.float64)
    dense = torch.nn.Linear(n1 * n2, m1 * m2).double()
    with torch.no_grad():
        dense.weight.copy_(torch.kron(a, b))
    layer = KroneckerLinear.from_dense(dense, factors=[[m1, n1], [m2, n2]])
    torch.testing.assert_close(layer.dense_weight(), dense.weight, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(layer.bias, dense.bias)
    x = torch.randn(4, n1 * n2, dtype=torch.float64)
    torch.testing.assert_close(layer(x), dense(x), rtol=1e-9, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(m1=st.integers(1, 5), n1=st.integers(1, 5), m2=st.integers(1, 5), n2=st.integers(1, 5), seed=st.integers(0, 999))
def test_from_dense_is_the_best_rank_one_fit(m1, n1, m2, n2, seed):
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(m1 * m2, n1 * n2, generator=gen, dtype=torch.float64)
    shape = KroneckerShape(m1 * m2, n1 * n2, m1, n1, m2, n2)
    a, b = nearest_kronecker(w, shape)
    err = torch.linalg.norm(w - torch.kron(a, b))
    # Eckart–Young on the rearranged matrix: the error is what the top singular value leaves.
    s = torch.linalg.svdvals(rearrange(w, shape))
    torch.testing.assert_close(err ** 2, (s ** 2).sum() - s[0] ** 2, rtol=1e-8, atol=1e-10)
    for _ in range(5):  # and no nearby Kronecker product does better
        da = 1e-3 * torch.randn(m1, n1, generator=gen, dtype=torch.float64)
        db = 1e-3 * torch.randn(m2, n2, generator=gen, dtype=torch.float64)
        assert torch.linalg.norm(w - torch.kron(a + da, b + db)) >= err - 1e-12


def test_from_dense_converts_a_trained_layer_and_trains_on():
    torch.manual_seed(3)
    dense = torch.nn.Linear(128, 512)
    layer = KroneckerLinear.from_dense(dense)
    assert layer.shape == choose_factors(512, 128)
    loss = layer(torch.randn(8, 128)).pow(2).mean()
    loss.backward()
    assert layer.A.grad is not None and layer.B.grad is not None


def test_interface_figures():
    layer = KroneckerLinear(128, 512)
    assert layer.kind == "kp"
    assert layer.weight_count() == 32 * 8 + 16 * 16 == 512
    assert layer.param_count() == 512 + 512
    assert layer.macs() == min(8 * 16 * (16 + 32), 32 * 16 * (8 + 16)) == 6144
    exported = layer.export()
    assert set(exported) == {"A", "B", "bias"}
    assert exported["A"].shape == (32, 8) and exported["B"].shape == (16, 16)
    assert KroneckerLinear(128, 512, **layer.config()).shape == layer.shape


@pytest.mark.parametrize("kwargs,match", [
    ({"in_features": 0, "out_features": 4}, "in_features"),
    ({"in_features": 4, "out_features": 4, "factors": [[2, 2], [1, 1]]}, "smaller than"),
    ({"in_features": 4, "out_features": 4, "factors": [2, 2]}, r"\[\[m1, n1\], \[m2, n2\]\]"),
    ({"in_features": 4, "out_features": 4, "factors": [[2, 0], [2, 2]]}, "n1"),
])
def test_bad_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        KroneckerLinear(**kwargs)


def test_wrong_input_width_raises_value_error():
    with pytest.raises(ValueError, match="expects 10"):
        kron_linear(torch.randn(2, 9), torch.randn(4, 2), torch.randn(4, 5), None, KroneckerShape(16, 10, 4, 2, 4, 5))
