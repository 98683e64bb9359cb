"""summarize(): per-matrix rows and totals against hand counts."""

import math

import pandas as pd
import pytest
import torch

from harness.compress import DopedKroneckerLinear, KroneckerLinear, SequenceClassifier, set_progress, summarize


def row(frame, name):
    return frame.set_index("name").loc[name]


def test_kp_lstm_hand_count():
    model = SequenceClassifier("lstm", 9, 8, 6, kind="kp", ih_opts={"factors": [[8, 3], [4, 3]]},
                               hh_opts={"factors": [[8, 2], [4, 4]]}, seq_len=20)
    s = summarize(model)
    assert list(s["name"]) == ["cell.ih", "cell.hh", "head", "total"]
    ih, hh, head, total = (row(s, n) for n in ("cell.ih", "cell.hh", "head", "total"))
    # ih: 32x9 as A 8x3 ⊗ B 4x3; B first costs 3·4·(3+8) = 132 MACs, A first 8·3·(3+4) = 168.
    assert (ih["kind"], ih["shape"], ih["factors"]) == ("kp", "32x9", "A 8x3 ⊗ B 4x3")
    assert (ih["weights"], ih["bias"], ih["params"], ih["nnz"]) == (36, 32, 68, 36)
    assert (ih["bytes_fp32"], ih["bytes_int8"]) == (4 * 68, 36 + 4 * 32)
    assert (ih["macs_step"], ih["uses_per_seq"], ih["macs_seq"]) == (132, 20, 2640)
    assert ih["compression"] == 288 / 36
    # hh: 32x8 as A 8x2 ⊗ B 4x4, no bias; 2·4·(4+8) = 96 MACs.
    assert (hh["weights"], hh["bias"], hh["macs_step"], hh["macs_seq"]) == (32, 0, 96, 1920)
    # head: dense 6x8, used once per sequence.
    assert (head["kind"], head["weights"], head["bias"], head["macs_step"], head["uses_per_seq"]) == \
        ("dense", 48, 6, 48, 1)
    assert (total["weights"], total["bias"], total["params"]) == (116, 38, 154)
    assert total["params"] == sum(p.numel() for p in model.parameters())
    assert (total["bytes_fp32"], total["bytes_int8"]) == (616, 116 + 4 * 38)
    assert (total["macs_step"], total["macs_seq"], total["dense_weights"]) == (276, 4608, 592)
    assert total["compression"] == pytest.approx(592 / 116)


def test_pruned_fastgrnn_counts_csr_indices_and_other_parameters():
    model = SequenceClassifier("fastgrnn", 9, 8, 6, kind="prune", ih_opts={"budget": 10}, hh_opts={"budget": 12})
    set_progress(model, 1.0)
    s = summarize(model, seq_len=128)
    ih, hh, other, total = (row(s, n) for n in ("cell.ih", "cell.hh", "other", "total"))
    # CSR with 16-bit indices: nnz column indices + (rows + 1) row pointers, 2 bytes each.
    assert (ih["weights"], ih["bytes_fp32"], ih["bytes_int8"]) == (10, 40 + 2 * 10 + 2 * 9, 10 + 2 * 10 + 2 * 9)
    assert (hh["weights"], hh["macs_step"], hh["macs_seq"]) == (12, 12, 12 * 128)
    assert (other["params"], other["bytes_fp32"]) == (8 + 8 + 1 + 1, 72)  # b_z, b_h, ζ, ν
    assert total["params"] == 10 + 12 + 54 + 18
    assert total["bytes_fp32"] == (40 + 38) + (48 + 42) + 4 * 54 + 72
    assert total["bytes_int8"] == (10 + 38) + (12 + 42) + (48 + 24) + 72


def test_dkp_row_counts_kp_factors_plus_stored_s():
    layer = DopedKroneckerLinear(128, 512, target_density=0.01)
    with torch.no_grad():
        layer.S.normal_()
    layer.set_progress(1.0)
    s = summarize(layer)
    r = row(s, "DopedKroneckerLinear")
    assert r["weights"] == 512 + 655
    assert r["macs_step"] == 6144 + 655
    assert r["bytes_fp32"] == 4 * (512 + 655 + 512) + 2 * 655 + 2 * 513
    assert r["compression"] == pytest.approx(65536 / 1167)


def test_plain_torch_modules_and_missing_seq_len():
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2, bias=False))
    s = summarize(model)
    assert list(s["kind"]) == ["dense", "dense", ""]
    assert row(s, "total")["params"] == 4 * 3 + 3 + 6
    lstm = summarize(SequenceClassifier("lstm", 3, 4, 2))  # no seq_len anywhere
    assert pd.isna(row(lstm, "cell.ih")["macs_seq"]) and pd.isna(row(lstm, "total")["macs_seq"])
    assert row(lstm, "head")["macs_seq"] == 8


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError, match="seq_len"):
        summarize(torch.nn.Linear(2, 2), seq_len=0)
    with pytest.raises(ValueError, match="nn.Module"):
        summarize("model")
    assert math.isnan(row(summarize(torch.nn.ReLU()), "total")["compression"])


def test_flash_int8_counts_per_row_scales_and_requantization():
    # Dense: int8 values, float32 scale + int32 multiplier + uint8 shift per row, int32 bias.
    r = row(summarize(torch.nn.Linear(10, 6)), "Linear")
    assert r["flash_int8"] == 6 * 10 + 9 * 6 + 4 * 6 and r["bytes_int8"] == 6 * 10 + 4 * 6
    # KP, B first (order 1): A rows and B rows each carry a scale; B's rows the first requantization, A's the second.
    kp = KroneckerLinear(128, 512, factors=[[32, 8], [16, 16]], bias=False)
    assert row(summarize(kp), "KroneckerLinear")["flash_int8"] == 256 + 256 + 4 * (32 + 16) + 5 * (16 + 32)
    # DKP adds S as CSR: values, 16-bit indices and row pointers, a scale and a requantization per row.
    layer = DopedKroneckerLinear(128, 512, target_density=0.01)
    with torch.no_grad():
        layer.S.normal_()
    layer.set_progress(1.0)
    kron = 512 + 4 * (32 + 16) + 5 * (16 + 32)
    csr_part = 655 + 2 * 655 + 2 * 513 + 9 * 512
    assert row(summarize(layer), "DopedKroneckerLinear")["flash_int8"] == kron + csr_part + 4 * 512
