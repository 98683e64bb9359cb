"""Evaluation on a board: the runner behind `python -m harness run` and the model scenarios."""

from .folder import RunError, RunFolder
from .journal import Journal, read_journal
from .prepare import Prepared, find_model_dirs, prepare
from .runner import ModelOutcome, Run, run
from .stream import stream_model

__all__ = ["Journal", "ModelOutcome", "Prepared", "Run", "RunError", "RunFolder", "find_model_dirs", "prepare",
           "read_journal", "run", "stream_model"]
