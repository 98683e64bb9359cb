"""The model card: one reader for train, export and the runner; its schema agrees with the CLI's choices."""

import json

import pytest

from harness.choices import CELLS, METHODS, TASKS
from harness.model_card import CARD_SCHEMA, CARD_VERSION, CardError, read_card


def test_the_schema_names_what_the_command_line_offers():
    props = json.loads(CARD_SCHEMA.read_text())["properties"]
    assert props["card_version"] == {"const": CARD_VERSION}
    assert set(props["task"]["enum"]) == set(TASKS)
    assert set(props["method"]["enum"]) == set(METHODS)
    assert set(props["cell"]["enum"]) == set(CELLS)


def test_a_directory_without_a_model_is_one_line(tmp_path):
    with pytest.raises(CardError, match="is not a model directory .*train one with"):
        read_card(tmp_path)
