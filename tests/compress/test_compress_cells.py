"""RNN cells with any weight kind, and the sequence classifier built from a plain config."""

import json

import pytest
import torch

from harness.compress import (CELL_NAMES, KINDS, FastGRNNCell, GRUCell, LSTMCell, SequenceClassifier, run_sequence,
                              set_progress)

KIND_OPTS = {"dense": {}, "kp": {}, "dkp": {"target_density": 0.05}, "prune": {"target_density": 0.2},
             "lowrank": {"rank": 3}}


def test_dense_lstm_cell_equals_torch_lstm():
    torch.manual_seed(0)
    ref = torch.nn.LSTM(10, 16, batch_first=True).double()
    cell = LSTMCell(10, 16).double()
    with torch.no_grad():
        cell.ih.weight.copy_(ref.weight_ih_l0)
        cell.ih.bias.copy_(ref.bias_ih_l0 + ref.bias_hh_l0)
        cell.hh.weight.copy_(ref.weight_hh_l0)
    x = torch.randn(4, 7, 10, dtype=torch.float64)
    out, (h, _) = ref(x)
    torch.testing.assert_close(run_sequence(cell, x), h[0])
    h1, _ = cell(x[:, 0])
    torch.testing.assert_close(h1, out[:, 0])


def test_dense_gru_cell_equals_torch_gru():
    torch.manual_seed(1)
    ref = torch.nn.GRU(9, 12, batch_first=True).double()
    cell = GRUCell(9, 12).double()
    with torch.no_grad():
        cell.ih.weight.copy_(ref.weight_ih_l0)
        cell.ih.bias.copy_(ref.bias_ih_l0)
        cell.hh.weight.copy_(ref.weight_hh_l0)
        cell.hh.bias.copy_(ref.bias_hh_l0)
    x = torch.randn(3, 6, 9, dtype=torch.float64)
    _, h = ref(x)
    torch.testing.assert_close(run_sequence(cell, x), h[0])


def test_fastgrnn_cell_follows_the_paper():
    torch.manual_seed(2)
    cell = FastGRNNCell(5, 8).double()
    with torch.no_grad():
        for p in cell.parameters():
            p.normal_()
    x = torch.randn(2, 4, 5, dtype=torch.float64)
    w, u = cell.ih.weight, cell.hh.weight
    h = torch.zeros(2, 8, dtype=torch.float64)
    for t in range(4):
        pre = x[:, t] @ w.T + h @ u.T
        z = torch.sigmoid(pre + cell.bias_gate)
        h_tilde = torch.tanh(pre + cell.bias_update)
        h = (torch.sigmoid(cell.zeta) * (1 - z) + torch.sigmoid(cell.nu)) * h_tilde + z * h
    torch.testing.assert_close(run_sequence(cell, x), h)
    assert cell.ih.bias is None and cell.hh.bias is None


@pytest.mark.parametrize("cell_name", CELL_NAMES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_cell_takes_every_kind(cell_name, kind):
    torch.manual_seed(3)
    opts = KIND_OPTS[kind]
    model = SequenceClassifier(cell_name, 9, 16, 6, kind=kind, ih_opts=opts, hh_opts=opts, seq_len=12)
    assert model.cell.ih.kind == model.cell.hh.kind == kind
    gates = {"lstm": 4, "gru": 3, "fastgrnn": 1}[cell_name]
    assert (model.cell.ih.out_features, model.cell.ih.in_features) == (gates * 16, 9)
    assert (model.cell.hh.out_features, model.cell.hh.in_features) == (gates * 16, 16)
    x = torch.randn(5, 12, 9)
    logits = model(x)
    assert logits.shape == (5, 6)
    logits.logsumexp(-1).mean().backward()
    assert all(p.grad is not None for p in model.parameters())
    set_progress(model, 1.0)

    # The config is plain data: it survives JSON and rebuilds the same model.
    cfg = json.loads(json.dumps(model.config()))
    rebuilt = SequenceClassifier.from_config(cfg)
    rebuilt.load_state_dict(model.state_dict())
    model.eval()
    rebuilt.eval()
    torch.testing.assert_close(rebuilt(x), model(x))
    assert rebuilt.config() == model.config()


def test_kinds_replace_the_weights_they_should():
    model = SequenceClassifier("lstm", 10, 128, 12, kind="kp", seq_len=49)
    assert model.cell.ih.factor_shapes() == "A 32x2 ⊗ B 16x5"
    assert model.cell.hh.factor_shapes() == "A 32x8 ⊗ B 16x16"
    assert model.head.kind == "dense"


@pytest.mark.parametrize("cfg,match", [
    ({"cell": "rnn", "input_size": 3, "hidden_size": 4, "num_classes": 2}, "unknown cell"),
    ({"cell": "lstm", "input_size": 3, "hidden_size": 0, "num_classes": 2}, "hidden_size"),
    ({"cell": "lstm", "input_size": 3, "hidden_size": 4}, "lacks num_classes"),
    ({"cell": "lstm", "input_size": 3, "hidden_size": 4, "num_classes": 2, "colour": 1}, "unknown classifier config"),
    ({"cell": "lstm", "input_size": 3, "hidden_size": 4, "num_classes": 2, "kind": "kron"}, "unknown weight kind"),
    ({"cell": "lstm", "input_size": 3, "hidden_size": 4, "num_classes": 2, "ih_opts": 5}, "ih_opts"),
])
def test_bad_configs_raise_value_error(cfg, match):
    with pytest.raises(ValueError, match=match):
        SequenceClassifier.from_config(cfg)


def test_wrong_input_shape_raises_value_error():
    model = SequenceClassifier("gru", 9, 8, 6)
    with pytest.raises(ValueError, match=r"\(batch, time, 9\)"):
        model(torch.randn(4, 9))


@pytest.mark.parametrize("kind", ["kp", "dkp", "prune"])
def test_a_short_training_run_learns_and_follows_the_schedule(kind):
    torch.manual_seed(4)
    x = torch.randn(64, 8, 9)
    labels = (x[:, :, 0].mean(1) > 0).long()  # sign of channel 0's mean
    opts = {"dkp": {"target_density": 0.05}, "prune": {"target_density": 0.3}}.get(kind, {})
    model = SequenceClassifier("gru", 9, 16, 2, kind=kind, ih_opts=opts, hh_opts=opts, seq_len=8)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    steps = 60
    losses = []
    for step in range(steps):
        set_progress(model, step / (steps - 1))
        loss = torch.nn.functional.cross_entropy(model(x), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    if kind != "kp":
        assert model.cell.ih.density == pytest.approx(int(opts["target_density"] * 48 * 9) / (48 * 9))
