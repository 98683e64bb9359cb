"""Training recipes and model cards, on a small synthetic activity set (seconds, not minutes)."""

import json

import numpy as np
import pytest
import torch

from harness import model_card as mc
from harness import train as tr
from harness import zoo
from harness.data import HarSynthParams, load_har
from harness.data.splits import load_splits

SMALL = HarSynthParams(n_subjects=10, windows_per_session=6)


@pytest.fixture(scope="module")
def har_splits():
    return tuple(load_har("synthetic", split=s, synth=SMALL) for s in ("train", "validation", "test"))


@pytest.fixture(scope="module")
def trained(har_splits, tmp_path_factory):
    out = tmp_path_factory.mktemp("m") / "har-dense"
    card = tr.train("har", "dense", out, hidden=32, epochs=12, progress=False, splits=har_splits)
    return out, card


def test_short_training_beats_chance_clearly(trained):
    _, card = trained
    assert card["accuracy"]["test"] > 0.4  # chance is 1/6


def test_card_names_the_data_and_says_it_is_synthetic(trained):
    out, card = trained
    assert json.loads((out / "model.json").read_text()) == card
    assert card["data"]["test"]["synthetic"] is True
    assert card["data"]["test"]["name"]
    assert len(card["data"]["train"]["content_hash"]) == 64
    assert card["size"]["params"] == card["layers"][-1]["params"]
    mc.validate_card(card)


def test_reloaded_model_gives_the_same_predictions(trained, har_splits):
    out, card = trained
    model, card2 = tr.load_model(out)
    x = mc.model_input(card2, har_splits[2].x)
    acc = float((tr.predict(model, x) == har_splits[2].y).mean())
    assert acc == pytest.approx(card["accuracy"]["test"], abs=1e-12)


def test_a_broken_card_is_refused_naming_the_field(trained, tmp_path):
    _, card = trained
    bad = json.loads(json.dumps(card))
    bad["accuracy"]["test"] = 1.5
    with pytest.raises(mc.CardError, match="accuracy/test"):
        mc.validate_card(bad)


def test_training_is_deterministic_for_a_seed(har_splits, tmp_path):
    a = tr.train("har", "kp", tmp_path / "a", hidden=8, epochs=1, progress=False, splits=har_splits)
    b = tr.train("har", "kp", tmp_path / "b", hidden=8, epochs=1, progress=False, splits=har_splits)
    sa = torch.load(tmp_path / "a" / "model.pt", weights_only=True)
    sb = torch.load(tmp_path / "b" / "model.pt", weights_only=True)
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert a["accuracy"] == b["accuracy"]


@pytest.mark.parametrize("method", tr.METHODS)
@pytest.mark.parametrize("cell", tr.CELLS)
def test_every_method_and_cell_builds_and_runs(method, cell):
    model = tr.build_model(method, cell, 9, 32, 6, 128)
    assert model(torch.zeros(2, 5, 9)).shape == (2, 6)


def test_baselines_are_matched_to_the_kp_budget():
    kp = tr.build_model("kp", "lstm", 9, 32, 6, 128)
    small = tr.build_model("small", "lstm", 9, 32, 6, 128)
    prune = tr.build_model("prune", "lstm", 9, 32, 6, 128)
    from harness.compress import set_progress, summarize
    set_progress(prune, 1.0)
    kp_total = summarize(kp).set_index("name").loc["total", "params"]
    assert summarize(small).set_index("name").loc["total", "params"] <= kp_total
    assert prune.cell.ih.weight_count() <= kp.cell.ih.weight_count()
    assert prune.cell.hh.weight_count() <= kp.cell.hh.weight_count()


def test_bad_arguments_are_one_line():
    with pytest.raises(tr.TrainError, match="unknown method 'magic'; use one of dense"):
        tr.train("har", "magic", "/nonexistent")
    with pytest.raises(mc.CardError, match="not a model directory"):
        tr.load_model("/nonexistent")


def test_zoo_trains_once_and_then_reuses(har_splits, tmp_path):
    logs = []
    kw = dict(tasks=("har",), methods=("kp", "small"), epochs=1, progress=False, log=logs.append,
              splits={"har": har_splits})
    table = zoo.build_zoo(tmp_path, **kw)
    assert list(table["method"]) == ["kp", "small"]
    assert (tmp_path / "zoo.md").is_file() and (tmp_path / "zoo.png").stat().st_size > 1000
    assert logs == ["har-kp-lstm: training", "har-small-lstm: training"]
    logs.clear()
    again = zoo.build_zoo(tmp_path, **kw)
    assert logs == ["har-kp-lstm: up to date", "har-small-lstm: up to date"]
    assert np.allclose(again["test_acc"], table["test_acc"])


@pytest.mark.parametrize("task,name", [("har", "hapt-raw-train"), ("kws", "speech-commands-test-v0.02-a")])
def test_sources_with_missing_splits_get_three_disjoint_ones(task, name, shared_data):
    if not (shared_data / name).is_dir():
        pytest.skip(f"real data {shared_data / name} is absent")
    train_ds, val_ds, test_ds = load_splits(task, str(shared_data / name))
    groups = [set(d.groups) - {""} for d in (train_ds, val_ds, test_ds)]
    assert all(groups) and not (groups[0] & groups[1]) and not (groups[0] & groups[2]) and not (groups[1] & groups[2])
    assert not train_ds.synthetic
