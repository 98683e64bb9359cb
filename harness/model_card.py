"""The model card (`model.json` beside `model.pt`): read, validated and interpreted in one place.

Training writes it, export and the runner read it; all three go through
this module, which needs numpy and jsonschema but never torch. A card that
cannot be read fails with one line naming the file and, for bad JSON, the
line, or for a schema violation, the field.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

CARD_VERSION = 2   # 2: accuracy details (n, Wilson interval, per-sample correctness), flash_int8
CARD_FILE = "model.json"
WEIGHTS_FILE = "model.pt"
CARD_SCHEMA = Path(__file__).with_name("model_card.schema.json")


class CardError(ValueError):
    """A model directory or its card is unusable; the message is one line naming the file."""


def validate_card(card: dict[str, Any], where: str = "model card") -> None:
    """Raise CardError naming the first field that breaks the model card schema."""
    import jsonschema   # first use only: it costs a few hundred milliseconds to import
    try:
        jsonschema.validate(card, json.loads(CARD_SCHEMA.read_text()))
    except jsonschema.ValidationError as exc:
        field = "/".join(map(str, exc.absolute_path)) or "(top level)"
        raise CardError(f"{where} field {field}: {exc.message}") from None


def is_model_dir(path: Path) -> bool:
    return (Path(path) / CARD_FILE).is_file()


def read_card(model_dir: Path) -> dict[str, Any]:
    """The validated card of a model directory written by `python -m harness train`."""
    model_dir = Path(model_dir)
    path = model_dir / CARD_FILE
    if not path.is_file() or not (model_dir / WEIGHTS_FILE).is_file():
        raise CardError(f"{model_dir} is not a model directory (needs {CARD_FILE} and {WEIGHTS_FILE}); train one with "
                        "`python -m harness train`")
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise CardError(f"{path} is not UTF-8 text; train the model again") from None
    except json.JSONDecodeError as exc:
        raise CardError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
                        "restore it or train the model again") from None
    if not isinstance(card, dict):
        raise CardError(f"{path} must hold a JSON object, found {type(card).__name__}")
    validate_card(card, str(path))
    weights = model_dir / WEIGHTS_FILE
    if not zipfile.is_zipfile(weights):   # what torch.save writes; caught here without importing torch
        raise CardError(f"{weights} is not a PyTorch checkpoint (not the zip archive torch.save writes); "
                        "train the model again")
    return card


def data_source(card: dict[str, Any]) -> str:
    """The `--data` value a model was trained with: 'synthetic' or a folder."""
    train = card["data"]["train"]
    return "synthetic" if train["synthetic"] else str(train["source"])


def standardize(x: np.ndarray, mean, std) -> np.ndarray:
    return ((x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)).astype(np.float32)


def model_input(card: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Raw features as the card's model expects them (standardised per feature with the training set's figures)."""
    return standardize(x, card["input"]["mean"], card["input"]["std"])
