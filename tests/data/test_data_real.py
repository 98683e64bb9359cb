"""The loaders against the real data in shared/data (skipped when it is absent)."""

import numpy as np
import pytest

from harness.data import KWS_CLASSES, detect_layout, load_har, load_kws, speaker_disjoint_split


@pytest.fixture(scope="module")
def sc_test(shared_data):
    root = shared_data / "speech-commands-test-v0.02-a"
    if not root.is_dir():
        pytest.skip(f"{root} is absent")
    return root


@pytest.fixture(scope="module")
def hapt_root(shared_data):
    root = shared_data / "hapt-raw-train"
    if not root.is_dir():
        pytest.skip(f"{root} is absent")
    return root


def test_speech_commands_test_subset(sc_test):
    assert detect_layout(sc_test) == "speech-commands-test12"
    ds = load_kws(sc_test, "test")
    assert ds.x.shape == (2714, 49, 10) and ds.classes == KWS_CLASSES and not ds.synthetic
    assert all(n > 150 for n in ds.class_counts().values())
    assert (ds.speaker[ds.y == 0] == "").all() and (ds.speaker[ds.y != 0] != "").all()
    fit, held = speaker_disjoint_split(ds, holdout=0.5, seed=0)
    assert not (set(fit.speaker) & set(held.speaker)) - {""}
    assert 0.35 < len(held) / len(ds) < 0.65
    assert set(fit.y) == set(held.y) == set(range(12))


def test_hapt_windows_resemble_uci_har(hapt_root):
    assert detect_layout(hapt_root) == "hapt-raw"
    ds = load_har(hapt_root, "all")
    # UCI HAR cut 7,352 training windows from these subjects; ours are close but not identical.
    assert 6800 < len(ds) < 8000 and ds.x.shape[1:] == (128, 9)
    assert len(set(ds.subject)) == 21 and min(ds.class_counts().values()) > 800
    standing = ds.x[ds.y == 4]
    assert 0.9 < standing[:, :, 6].mean() < 1.1  # total_acc_x carries gravity when upright
    assert abs(ds.x[:, :, :3].mean()) < 0.01  # body_acc has gravity removed
    tr, va = load_har(hapt_root, "train"), load_har(hapt_root, "validation")
    assert len(tr) + len(va) == len(ds) and not set(tr.subject) & set(va.subject)
    assert np.isfinite(ds.x).all()
