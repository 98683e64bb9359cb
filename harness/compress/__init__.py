"""Kronecker (KP) and doped Kronecker (DKP) compression, the baselines, RNN cells and their accounting.

Only torch, numpy and pandas here: no serial, firmware or dataset code.
See docs/compression.md.
"""

from .baselines import LowRankLinear, PrunedLinear, density_for_budget, rank_for_budget
from .cells import (CELL_NAMES, CELLS, FastGRNNCell, GRUCell, LSTMCell, RecurrentCell, SequenceClassifier,
                    dense_param_count, run_sequence, small_hidden_size)
from .doped import DopedKroneckerLinear
from .factors import KroneckerShape, choose_factors, factors_for_compression, nearest_kronecker, rearrange, resolve_factors
from .factory import LAYERS, convert_linear, layer_class, make_linear
from .kronecker import KroneckerLinear, kron_linear
from .layer import KINDS, DenseLinear, WeightLayer, csr, csr_index_bytes
from .sparsity import DensitySchedule, set_progress
from .summary import summarize

__all__ = [
    "KINDS", "LAYERS", "CELLS", "CELL_NAMES",
    "WeightLayer", "DenseLinear", "KroneckerLinear", "DopedKroneckerLinear", "PrunedLinear", "LowRankLinear",
    "make_linear", "convert_linear", "layer_class",
    "KroneckerShape", "choose_factors", "factors_for_compression", "resolve_factors", "nearest_kronecker", "rearrange", "kron_linear",
    "DensitySchedule", "set_progress", "density_for_budget", "rank_for_budget",
    "RecurrentCell", "LSTMCell", "GRUCell", "FastGRNNCell", "SequenceClassifier", "run_sequence",
    "dense_param_count", "small_hidden_size",
    "csr", "csr_index_bytes", "summarize",
]
