"""The default zoo shipped in the package: current with the recipes, complete, small, loadable."""

import json

import pytest

from harness import train as tr
from harness import zoo

SHIPPED = zoo.SHIPPED
ENTRIES = zoo.plan(tasks=tr.TASKS, methods=tr.METHODS, cells=("lstm",), seeds=(0,))


def _fits(entry) -> bool:
    shape = {"kws": (10, 128, 12, 49), "har": (9, 32, 6, 128)}[entry.task]
    try:
        tr.build_model(entry.method, entry.cell, *shape, entry.recipe)
    except tr.TrainError:
        return False
    return True


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.directory("").name)
def test_every_default_model_is_shipped_and_trained_by_the_current_recipe(entry):
    d = entry.directory(SHIPPED)
    if not _fits(entry):
        assert not d.exists(), f"{d.name} cannot fit its budget, yet a model is shipped"
        return
    assert (d / "model.pt").is_file(), f"{d.name} is not shipped; regenerate the zoo (README)"
    card = json.loads((d / "model.json").read_text())
    tr.validate_card(card)
    assert card["training"]["config_hash"] == zoo.expected_hash(entry), (
        f"{d.name} was trained by another recipe than the current one; regenerate the shipped zoo (README)")
    assert card["data"]["test"]["synthetic"] is True
    assert (d / "model.pt").stat().st_size < 512 * 1024


def test_nothing_else_is_shipped():
    names = {e.directory("").name for e in ENTRIES}
    extra = {p.name for p in SHIPPED.iterdir() if p.is_dir()} - names
    assert not extra, f"shipped models no recipe trains: {sorted(extra)}"


def test_shipped_models_load_and_the_zoo_copies_them(tmp_path):
    logs = []
    kp = next(e for e in ENTRIES if e.task == "har" and e.method == "kp")
    dense = next(e for e in ENTRIES if e.task == "har" and e.method == "dense")
    model, card = tr.load_model(kp.directory(SHIPPED))
    assert card["method"] == "kp"
    # Copying needs no data and no training: the hashes alone decide.
    table = zoo.build_zoo(tmp_path, tasks=("har",), methods=("dense", "kp"), progress=False, log=logs.append,
                          splits={"har": "never loaded"})
    assert logs == [f"{dense.directory('').name}: copied from the shipped zoo",
                    f"{kp.directory('').name}: copied from the shipped zoo"]
    assert list(table["method"]) == ["dense", "kp"]
