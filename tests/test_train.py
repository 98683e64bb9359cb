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


@pytest.fixture(autouse=True)
def _private_teachers(tmp_path_factory, monkeypatch):
    """Dense teachers that `train` makes for itself go to a temporary folder, not the user's cache."""
    monkeypatch.setattr(tr, "TEACHERS", tmp_path_factory.mktemp("teachers"))


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


@pytest.mark.parametrize("method", [m for m in tr.METHODS if not m.endswith("-bytes")])
@pytest.mark.parametrize("cell", tr.CELLS)
def test_every_method_and_cell_builds_and_runs(method, cell):
    model = tr.build_model(method, cell, 9, 32, 6, 128)
    assert model(torch.zeros(2, 5, 9)).shape == (2, 6)


@pytest.mark.parametrize("method", ["prune-bytes", "lowrank-bytes"])
def test_byte_budget_baselines_fit_the_kp_flash_bytes_or_say_why_not(method):
    from harness.compress import set_progress
    # Wide input: the KP matrices are large against the baselines' per-row costs, so they fit.
    kp = tr.build_model("kp", "lstm", 512, 16, 6, 4)
    model = tr.build_model(method, "lstm", 512, 16, 6, 4)
    set_progress(model, 1.0)
    budget = tr._total(kp, "flash_int8")
    assert 0.9 * budget < tr._total(model, "flash_int8") <= budget
    # The HAR LSTM: 128 rows of per-row scales and requantization already exceed KP's whole matrices.
    with pytest.raises(tr.TrainError, match=rf"^{method}: .* more than the KP model's \d+$"):
        tr.build_model(method, "lstm", 9, 32, 6, 128)


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


ZOO_KW = dict(tasks=("har",), methods=("kp", "small", "dense"), epochs=1, seeds=(0, 1), progress=False,
              shipped=None)


@pytest.fixture(scope="module")
def small_zoo(har_splits, tmp_path_factory):
    root, logs = tmp_path_factory.mktemp("zoo"), []
    table = zoo.build_zoo(root, log=logs.append, splits={"har": har_splits}, **ZOO_KW)
    return root, table, logs


def test_zoo_trains_once_and_then_reuses(small_zoo, har_splits):
    root, table, logs = small_zoo
    assert list(table["method"]) == ["dense", "kp", "small"] * 2   # the teacher first, for each seed
    assert (root / "zoo.md").is_file() and (root / "zoo.png").stat().st_size > 1000
    assert logs == [f"har-{m}-lstm{s}: training" for s in ("", "-s1") for m in ("dense", "kp", "small")]
    assert cards_teacher(root, "har-kp-lstm") == "har-dense-lstm"
    logs = []
    again = zoo.build_zoo(root, log=logs.append, splits={"har": har_splits}, **ZOO_KW)
    assert logs == [f"har-{m}-lstm{s}: up to date" for s in ("", "-s1") for m in ("dense", "kp", "small")]
    assert np.allclose(again["test_acc"], table["test_acc"])


def test_zoo_seeds_share_one_test_set_and_the_table_pairs_them(small_zoo, har_splits):
    root, table, _ = small_zoo
    assert sorted(table["model"]) == ["har-dense-lstm", "har-dense-lstm-s1", "har-kp-lstm", "har-kp-lstm-s1",
                                      "har-small-lstm", "har-small-lstm-s1"]
    assert cards_teacher(root, "har-kp-lstm-s1") == "har-dense-lstm-s1"
    cards = {m: json.loads((root / m / "model.json").read_text()) for m in table["model"]}
    assert len({c["data"]["test"]["content_hash"] for c in cards.values()}) == 1
    assert cards["har-kp-lstm-s1"]["training"]["recipe"]["seed"] == 1
    md = (root / "zoo.md").read_text()
    small = next(line for line in md.splitlines() if line.startswith("| small |"))
    n = len(har_splits[2])
    assert f"n = {n} test samples" in md
    # mean ± std over two seeds, two per-seed intervals, a difference to KP and two McNemar p-values
    assert " ± " in small and small.count("[") == 3 and len(small.split("|")[-2].split(",")) == 2


def cards_teacher(root, name):
    return json.loads((root / name / "model.json").read_text())["training"]["teacher"]


def test_zoo_refuses_a_compressed_model_without_its_teacher(har_splits, tmp_path):
    with pytest.raises(tr.TrainError, match="learns from har-dense-lstm, which is missing or stale"):
        zoo.build_zoo(tmp_path, tasks=("har",), methods=("kp",), epochs=1, progress=False, log=lambda _: None,
                      splits={"har": har_splits}, shipped=None)


def test_zoo_reports_a_byte_budget_baseline_that_cannot_fit(har_splits, tmp_path):
    logs = []
    table = zoo.build_zoo(tmp_path, tasks=("har",), methods=("dense", "kp", "prune-bytes"), epochs=1, progress=False,
                          log=logs.append, splits={"har": har_splits}, shipped=None)
    assert any("har-prune-bytes-lstm: not trained: prune-bytes:" in line for line in logs)
    assert not (tmp_path / "har-prune-bytes-lstm").exists()
    assert "| prune-bytes | | | | | not trained: prune-bytes:" in (tmp_path / "zoo.md").read_text()
    assert table.set_index("method").loc["prune-bytes", "note"]


def test_a_pruned_kind_trained_for_one_epoch_is_valid_and_at_its_final_size(har_splits, tmp_path):
    from harness.compress.sparsity import kept_count
    card = tr.train("har", "dkp", tmp_path / "d", hidden=8, epochs=1, progress=False, splits=har_splits)
    assert 0.0 <= card["accuracy"]["validation"] <= 1.0 and card["training"]["best_epoch"] == 0
    model, _ = tr.load_model(tmp_path / "d")
    for layer in (model.cell.ih, model.cell.hh):
        assert int(layer.mask.sum()) == kept_count(layer.schedule.final, layer.mask.numel())


def test_a_failed_run_leaves_no_folder(har_splits, tmp_path, monkeypatch):
    def refuse(card):
        raise tr.TrainError("model card field accuracy/test: refused")
    monkeypatch.setattr(tr, "validate_card", refuse)
    with pytest.raises(tr.TrainError, match="refused"):
        tr.train("har", "kp", tmp_path / "never", hidden=8, epochs=1, progress=False, splits=har_splits)
    assert not (tmp_path / "never").exists()


def test_card_accuracies_carry_n_interval_and_per_sample_correctness(trained, har_splits):
    from harness.stats import wilson_interval
    out, card = trained
    test = card["accuracy"]["test_detail"]
    assert test["n"] == len(har_splits[2]) and card["accuracy"]["test"] == test["accuracy"]
    assert test["ci95"] == pytest.approx(list(wilson_interval(test["correct"], test["n"])))
    model, card2 = tr.load_model(out)
    pred = tr.predict(model, mc.model_input(card2, har_splits[2].x))
    assert np.array_equal(tr.per_sample_correct(test), pred == har_splits[2].y)
    assert card["accuracy"]["validation_detail"]["n"] == len(har_splits[1])


def test_flash_bytes_of_the_card_are_what_the_int8_export_writes(har_splits, tmp_path):
    from harness.export import export_model_dir
    for method in ("kp", "dkp", "prune", "lowrank", "dense"):
        d = tmp_path / method
        card = tr.train("har", method, d, hidden=8, epochs=1, progress=False, splits=har_splits)
        manifest = export_model_dir(d, "int8", tmp_path / f"{method}-x", calibration=16, evaluation=0,
                                    splits=har_splits).manifest
        assert manifest["weight_bytes"] == card["size"]["flash_int8"], method
        assert card["size"]["flash_int8"] > card["size"]["bytes_int8"]


def test_a_compressed_model_can_start_from_its_dense_teacher(trained, har_splits, tmp_path):
    from harness.compress import nearest_kronecker
    teacher, tcard = tr.load_model(trained[0])
    recipe = tr.make_recipe("har", hidden=32, epochs=1, init="dense", distill=0.5, lr=1e-9)
    card = tr.train("har", "kp", tmp_path / "kp", progress=False, splits=har_splits, teacher=trained[0],
                    recipe=recipe)
    assert card["training"]["teacher_hash"] == tcard["training"]["config_hash"]
    model, _ = tr.load_model(tmp_path / "kp")
    a, b = nearest_kronecker(teacher.cell.hh.dense_weight(), model.cell.hh.shape)
    # A learning rate of 1e-9: the weights are still the Van Loan factors of the teacher's.
    assert torch.allclose(torch.kron(model.cell.hh.A, model.cell.hh.B), torch.kron(a, b), atol=1e-5)
    assert torch.equal(model.head.weight, teacher.head.weight) or torch.allclose(model.head.weight,
                                                                                 teacher.head.weight, atol=1e-5)
    with pytest.raises(tr.TrainError, match="must be a dense"):
        tr.train("har", "kp", tmp_path / "bad", progress=False, splits=har_splits, teacher=tmp_path / "kp",
                 recipe=recipe)


def test_unknown_recipe_settings_are_refused():
    with pytest.raises(tr.TrainError, match="unknown recipe setting 'warmup'"):
        tr.make_recipe("har", warmup=3)


@pytest.mark.parametrize("task,name", [("har", "hapt-raw-train"), ("kws", "speech-commands-test-v0.02-a")])
def test_sources_with_missing_splits_get_three_disjoint_ones(task, name, shared_data):
    if not (shared_data / name).is_dir():
        pytest.skip(f"real data {shared_data / name} is absent")
    train_ds, val_ds, test_ds = load_splits(task, str(shared_data / name))
    groups = [set(d.groups) - {""} for d in (train_ds, val_ds, test_ds)]
    assert all(groups) and not (groups[0] & groups[1]) and not (groups[0] & groups[2]) and not (groups[1] & groups[2])
    assert not train_ds.synthetic


def test_set_options_become_recipe_overrides():
    assert tr.parse_settings(["distill=0", "augment=True", "init=dense", "lr=3e-3"]) == {
        "distill": 0, "augment": True, "init": "dense", "lr": 0.003}
    assert tr.recipe_for("har", "kp", overrides={"distill": 0.0}).distill == 0.0
    assert tr.needs_teacher("kp", tr.recipe_for("har", "kp", overrides={"distill": 0.0}))   # it still starts from it
    assert not tr.needs_teacher("kp", tr.recipe_for("har", "kp", overrides={"distill": 0.0, "init": "random"}))
    assert tr.needs_teacher("kp", tr.recipe_for("har", "kp")) and not tr.needs_teacher("dense", tr.recipe_for("har", "dense"))
    with pytest.raises(tr.TrainError, match="--set takes KEY=VALUE"):
        tr.parse_settings(["distill"])
    with pytest.raises(tr.TrainError, match="--set takes KEY=VALUE"):
        tr.parse_settings(["warmup=3"])
