"""RNN cells whose input and recurrent matrices are weight layers of any kind, and a sequence classifier.

Every cell has two weight layers, `ih` (input x -> gates) and `hh`
(hidden h -> gates), each made by `make_linear(kind, ...)`:

- LSTM: gates i, f, g, o stacked, so ih is 4h x in (with the bias) and hh is
  4h x h (no bias: one bias per gate is enough).
  c' = σ(f)·c + σ(i)·tanh(g), h' = σ(o)·tanh(c').
- GRU: gates r, z, n stacked, ih 3h x in and hh 3h x h, both with bias
  (PyTorch's formulation, where the n gate needs hh's bias inside r·(...)).
  h' = (1 - z)·n + z·h, n = tanh(x_n + r·(h_n)).
- FastGRNN (Kusupati et al., NeurIPS 2018): ih = W (h x in) and hh = U (h x h)
  shared by the gate and the update, neither with bias;
  z = σ(Wx + Uh + b_z), h~ = tanh(Wx + Uh + b_h),
  h' = (σ(ζ)·(1 - z) + σ(ν))·h~ + z·h, with ζ, ν trained scalars.

The input matrix is applied to the whole sequence at once (one large
product) and only the recurrent one step by step. Input is batch-first,
(batch, time, features).
"""

from __future__ import annotations

import torch
from torch import nn

from .factory import make_linear
from .layer import KINDS

CELL_NAMES = ("lstm", "gru", "fastgrnn")


def _opts(name: str, value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a dict of layer options, got {value!r}")
    return dict(value)


def _size(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


class RecurrentCell(nn.Module):
    """Common part of the cells: `ih` and `hh` weight layers and the step interface."""

    gates = 1
    ih_bias = True
    hh_bias = False

    def __init__(self, input_size: int, hidden_size: int, kind: str = "dense",
                 ih_opts: dict | None = None, hh_opts: dict | None = None):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"unknown weight kind {kind!r}; use one of {', '.join(KINDS)}")
        self.input_size = _size("input_size", input_size)
        self.hidden_size = _size("hidden_size", hidden_size)
        self.kind = kind
        rows = self.gates * hidden_size
        self.ih = make_linear(kind, input_size, rows, bias=self.ih_bias, **_opts("ih_opts", ih_opts))
        self.hh = make_linear(kind, hidden_size, rows, bias=self.hh_bias, **_opts("hh_opts", hh_opts))

    def init_state(self, batch: int, like: torch.Tensor):
        return like.new_zeros(batch, self.hidden_size)

    def hidden(self, state) -> torch.Tensor:
        return state

    def input_projection(self, x: torch.Tensor) -> torch.Tensor:
        return self.ih(x)

    def step(self, x_proj: torch.Tensor, state):
        raise NotImplementedError

    def forward(self, x: torch.Tensor, state=None):
        """One time step: x (batch, input_size) -> (h, state)."""
        if state is None:
            state = self.init_state(x.shape[0], x)
        state = self.step(self.input_projection(x), state)
        return self.hidden(state), state


class LSTMCell(RecurrentCell):
    gates = 4

    def init_state(self, batch, like):
        zeros = like.new_zeros(batch, self.hidden_size)
        return (zeros, zeros)

    def hidden(self, state):
        return state[0]

    def step(self, x_proj, state):
        h, c = state
        i, f, g, o = (x_proj + self.hh(h)).chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c


class GRUCell(RecurrentCell):
    gates = 3
    hh_bias = True

    def step(self, x_proj, h):
        xr, xz, xn = x_proj.chunk(3, dim=-1)
        hr, hz, hn = self.hh(h).chunk(3, dim=-1)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        return (1 - z) * n + z * h


class FastGRNNCell(RecurrentCell):
    gates = 1
    ih_bias = False

    def __init__(self, input_size, hidden_size, kind="dense", ih_opts=None, hh_opts=None,
                 zeta_init: float = 1.0, nu_init: float = -4.0):
        super().__init__(input_size, hidden_size, kind, ih_opts, hh_opts)
        # Biases start at 1 and σ(ν) near 0, so an untrained cell mostly keeps its state.
        self.bias_gate = nn.Parameter(torch.ones(hidden_size))
        self.bias_update = nn.Parameter(torch.ones(hidden_size))
        self.zeta = nn.Parameter(torch.tensor(float(zeta_init)))
        self.nu = nn.Parameter(torch.tensor(float(nu_init)))

    def step(self, x_proj, h):
        pre = x_proj + self.hh(h)
        z = torch.sigmoid(pre + self.bias_gate)
        h_new = torch.tanh(pre + self.bias_update)
        return (torch.sigmoid(self.zeta) * (1 - z) + torch.sigmoid(self.nu)) * h_new + z * h


CELLS: dict[str, type[RecurrentCell]] = {"lstm": LSTMCell, "gru": GRUCell, "fastgrnn": FastGRNNCell}


def run_sequence(cell: RecurrentCell, x: torch.Tensor) -> torch.Tensor:
    """Last hidden state of `cell` over x (batch, time, features), starting from zeros."""
    if x.dim() != 3 or x.shape[-1] != cell.input_size:
        raise ValueError(
            f"input must be (batch, time, {cell.input_size}), got {tuple(x.shape)}")
    projected = cell.input_projection(x)
    state = cell.init_state(x.shape[0], x)
    for t in range(x.shape[1]):
        state = cell.step(projected[:, t], state)
    return cell.hidden(state)


_CONFIG_KEYS = ("cell", "input_size", "hidden_size", "num_classes", "kind", "ih_opts", "hh_opts",
                "head_kind", "head_opts", "seq_len")


class SequenceClassifier(nn.Module):
    """RNN over time, last hidden state, linear head: (batch, time, features) -> (batch, classes) logits.

    `seq_len` is not needed to run; it records the intended sequence length
    so that `summarize()` can count MACs per sequence.
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, num_classes: int, kind: str = "dense",
                 ih_opts: dict | None = None, hh_opts: dict | None = None,
                 head_kind: str = "dense", head_opts: dict | None = None, seq_len: int | None = None):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"unknown cell {cell!r}; use one of {', '.join(CELL_NAMES)}")
        self.cell_name = cell
        self.num_classes = _size("num_classes", num_classes)
        self.seq_len = None if seq_len is None else _size("seq_len", seq_len)
        self.cell = CELLS[cell](input_size, hidden_size, kind, ih_opts, hh_opts)
        self.head = make_linear(head_kind, hidden_size, num_classes, **_opts("head_opts", head_opts))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(run_sequence(self.cell, x))

    def config(self) -> dict:
        """Plain values that rebuild this model's structure with `from_config` (weights not included)."""
        return {"cell": self.cell_name, "input_size": self.cell.input_size, "hidden_size": self.cell.hidden_size,
                "num_classes": self.num_classes, "kind": self.cell.kind,
                "ih_opts": self.cell.ih.config(), "hh_opts": self.cell.hh.config(),
                "head_kind": self.head.kind, "head_opts": self.head.config(), "seq_len": self.seq_len}

    @classmethod
    def from_config(cls, cfg: dict) -> "SequenceClassifier":
        if not isinstance(cfg, dict):
            raise ValueError(f"a classifier config must be a dict, got {type(cfg).__name__}")
        unknown = sorted(set(cfg) - set(_CONFIG_KEYS))
        if unknown:
            raise ValueError(f"unknown classifier config keys {unknown}; known: {', '.join(_CONFIG_KEYS)}")
        missing = [k for k in ("cell", "input_size", "hidden_size", "num_classes") if k not in cfg]
        if missing:
            raise ValueError(f"classifier config lacks {', '.join(missing)}")
        return cls(**cfg)


def dense_param_count(cell: str, input_size: int, hidden_size: int, num_classes: int) -> int:
    """Parameters of a dense SequenceClassifier (cell, its biases and scalars, and the head)."""
    h, i = hidden_size, input_size
    head = num_classes * h + num_classes
    if cell == "lstm":
        return 4 * h * (i + h) + 4 * h + head
    if cell == "gru":
        return 3 * h * (i + h) + 6 * h + head
    if cell == "fastgrnn":
        return h * (i + h) + 2 * h + 2 + head
    raise ValueError(f"unknown cell {cell!r}; use one of {', '.join(CELL_NAMES)}")


def small_hidden_size(cell: str, input_size: int, num_classes: int, budget: int) -> int:
    """Largest hidden size whose dense classifier has at most `budget` parameters (the 'smaller dense' baseline)."""
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ValueError(f"budget must be a positive integer number of parameters, got {budget!r}")
    if dense_param_count(cell, input_size, 1, num_classes) > budget:
        raise ValueError(
            f"budget {budget} is below a dense {cell} classifier with hidden size 1 "
            f"({dense_param_count(cell, input_size, 1, num_classes)} parameters); raise the budget")
    h = 1
    while dense_param_count(cell, input_size, h + 1, num_classes) <= budget:
        h += 1
    return h


__all__ = ["CELLS", "CELL_NAMES", "RecurrentCell", "LSTMCell", "GRUCell", "FastGRNNCell", "SequenceClassifier",
           "run_sequence", "dense_param_count", "small_hidden_size"]
