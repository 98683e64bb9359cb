import numpy as np
import pytest

from harness.data import Dataset, detect_layout, load_har, load_kws


def one_line(exc_info):
    msg = str(exc_info.value)
    assert msg and "\n" not in msg
    return msg


def test_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        load_kws(tmp_path / "nowhere")
    assert "does not exist" in one_line(e)
    with pytest.raises(FileNotFoundError):
        load_har(tmp_path / "nowhere")


def test_folder_in_no_known_layout(tmp_path):
    (tmp_path / "yes").mkdir()
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError) as e:
        load_kws(tmp_path)
    msg = one_line(e)
    assert "no known dataset layout" in msg and "UCI HAR" in msg and "testing_list.txt" in msg
    with pytest.raises(ValueError):
        detect_layout(tmp_path / "notes.txt")


def test_wrong_task_for_the_folder(uci_har_tree, speech_commands_test12):
    with pytest.raises(ValueError) as e:
        load_kws(uci_har_tree)
    assert "load_har" in one_line(e)
    with pytest.raises(ValueError) as e:
        load_har(speech_commands_test12)
    assert "load_kws" in one_line(e)


def test_unknown_split_names_the_available_ones(uci_har_tree):
    with pytest.raises(ValueError) as e:
        load_har("synthetic", "holdout")
    assert "train, validation, test, all" in one_line(e)
    assert load_har(uci_har_tree, "eval").split == "test"


def test_synthetic_har_is_the_default():
    ds = load_har(split="val")
    assert ds.split == "validation" and ds.synthetic and ds.name == "har-synth"
    card = ds.card()
    assert card["synthetic"] is True and card["content_hash"] == ds.content_hash and card["n"] == len(ds)
    assert card["n_subjects"] == 3 and len(card["content_hash"]) == 64


def test_dataset_checks_its_arrays():
    with pytest.raises(ValueError, match="inconsistent"):
        Dataset(name="x", task="har", split="all", synthetic=True, x=np.zeros((3, 128, 9)), y=np.zeros(2),
                classes=["a"], groups=np.array(["1", "1", "2"]), source="s", source_hash="h")
    ds = Dataset(name="x", task="kws", split="all", synthetic=True, x=np.zeros((2, 49, 10), np.float64),
                 y=[0, 1], classes=["a", "b"], groups=["s1", "s2"], source="s", source_hash="h")
    assert ds.x.dtype == np.float32 and ds.y.dtype == np.int64 and ds.speaker.tolist() == ["s1", "s2"]
    other = Dataset(name="x", task="kws", split="all", synthetic=True, x=np.zeros((2, 49, 10)), y=[1, 0],
                    classes=["a", "b"], groups=["s1", "s2"], source="s", source_hash="h")
    assert ds.content_hash != other.content_hash
