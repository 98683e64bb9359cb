"""The automatic factor rule: the compression the docs state, and full rank reachable."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.compress import KroneckerShape, SequenceClassifier, choose_factors, summarize


def reachable_rank(shape: KroneckerShape, seed: int = 0) -> int:
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(shape.m1, shape.n1, generator=gen, dtype=torch.float64)
    b = torch.randn(shape.m2, shape.n2, generator=gen, dtype=torch.float64)
    return int(torch.linalg.matrix_rank(torch.kron(a, b)[: shape.out_features, : shape.in_features]))


# (out, in) -> (A shape, B shape, stored parameters); the table in docs/compression.md.
DOCUMENTED = {
    (512, 10): ((32, 2), (16, 5), 144),     # KWS LSTM (Hello Edge, hidden 128, 10 MFCC): input gates
    (512, 128): ((32, 8), (16, 16), 512),   # KWS LSTM: recurrent gates
    (128, 9): ((16, 3), (8, 3), 72),        # UCI HAR LSTM (hidden 32, 9 channels): input gates
    (128, 32): ((16, 4), (8, 8), 128),      # UCI HAR LSTM: recurrent gates
    (1024, 1024): ((32, 32), (32, 32), 2048),
}


@pytest.mark.parametrize("size", list(DOCUMENTED))
def test_documented_choices_and_full_rank(size):
    a_shape, b_shape, params = DOCUMENTED[size]
    shape = choose_factors(*size)
    assert (shape.a_shape, shape.b_shape, shape.params) == (a_shape, b_shape, params)
    assert not shape.padded
    assert shape.full_rank_reachable and shape.max_rank == min(size)
    if max(size) <= 512:
        assert reachable_rank(shape) == min(size)


def test_kws_and_har_lstm_compression_as_documented():
    kws = summarize(SequenceClassifier("lstm", 10, 128, 12, kind="kp", seq_len=49))
    ih, hh = kws.iloc[0], kws.iloc[1]
    assert (ih["shape"], ih["weights"], round(ih["compression"], 1)) == ("512x10", 144, 35.6)
    assert (hh["shape"], hh["weights"], hh["compression"]) == ("512x128", 512, 128.0)
    lstm = (ih["dense_weights"] + hh["dense_weights"]) / (ih["weights"] + hh["weights"])
    assert round(lstm, 1) == 107.7
    har = summarize(SequenceClassifier("lstm", 9, 32, 6, kind="kp", seq_len=128))
    ih, hh = har.iloc[0], har.iloc[1]
    assert (ih["shape"], ih["weights"], ih["compression"]) == ("128x9", 72, 16.0)
    assert (hh["shape"], hh["weights"], hh["compression"]) == ("128x32", 128, 32.0)
    assert round((1152 + 4096) / (72 + 128), 2) == 26.24


@settings(max_examples=80, deadline=None)
@given(out_f=st.integers(1, 48), in_f=st.integers(1, 48))
def test_full_rank_reachable_for_any_size(out_f, in_f):
    shape = choose_factors(out_f, in_f)
    assert shape.full_rank_reachable
    assert reachable_rank(shape) == min(out_f, in_f)
    assert shape.out_padded >= out_f and shape.in_padded >= in_f
    assert shape.out_padded <= out_f + max(1, out_f // 8) and shape.in_padded <= in_f + max(1, in_f // 8)


@settings(max_examples=60, deadline=None)
@given(out_f=st.integers(1, 64), in_f=st.integers(1, 64))
def test_no_exact_split_meeting_the_rank_rule_is_smaller(out_f, in_f):
    shape = choose_factors(out_f, in_f)
    best_exact = min(m1 * n1 + (out_f // m1) * (in_f // n1)
                     for m1 in range(1, out_f + 1) if out_f % m1 == 0
                     for n1 in range(1, in_f + 1) if in_f % n1 == 0
                     if min(m1, n1) * min(out_f // m1, in_f // n1) >= min(out_f, in_f))
    if shape.padded:
        assert 2 * shape.params <= best_exact  # padding only when it halves the parameters
    else:
        assert shape.params == best_exact


def test_prime_sizes_are_padded_not_rejected():
    shape = choose_factors(1021, 1021)
    assert shape.padded and (shape.out_padded, shape.in_padded) == (1024, 1024)
    assert shape.params == 2048
    small = choose_factors(13, 7)
    assert small.padded and small.params < 13 * 7 / 2


@pytest.mark.parametrize("args", [(0, 4), (4, -1), (2.5, 4), (True, 4)])
def test_bad_sizes_raise_value_error(args):
    with pytest.raises(ValueError, match="positive integer"):
        choose_factors(*args)


@pytest.mark.parametrize("out_features,in_features", [(512, 10), (512, 128), (128, 9), (128, 32), (96, 40)])
@pytest.mark.parametrize("target", [4, 16, 30])
def test_factors_for_compression_meets_the_target_with_full_rank(out_features, in_features, target):
    from harness.compress import factors_for_compression
    shape = factors_for_compression(out_features, in_features, target)
    assert shape.full_rank_reachable
    if not shape.padded:
        assert shape.compression >= target or shape == choose_factors(out_features, in_features)


def test_factors_for_compression_is_the_least_compression_above_the_target():
    from harness.compress import factors_for_compression
    assert factors_for_compression(512, 128, 16).describe() == "A 64x32 ⊗ B 8x4"   # 31.5x: 8x2 ⊗ 64x64 (15.9x) is just below
    assert factors_for_compression(128, 9, 16).params == 72


def test_factors_for_compression_rejects_nonsense():
    from harness.compress import factors_for_compression
    with pytest.raises(ValueError, match="compression must be a number >= 1"):
        factors_for_compression(8, 8, 0.5)
