import numpy as np
import pytest

from harness.data.har_synth import _generate

from harness.data import (CHANNELS, HAR_CLASSES, HarSynthParams, detect_layout, generate_har, inertial_channels,
                          load_har, load_hapt, load_har_synth, load_uci_har, split_by_group)

SMALL = HarSynthParams(n_subjects=10, sessions=1, windows_per_session=6, validation_subjects=0.2,
                       test_subjects=0.2)


def test_uci_har_layout_and_channel_order(uci_har_tree):
    assert detect_layout(uci_har_tree) == "uci-har"
    tr = load_har(uci_har_tree, "train")
    assert tr.x.shape == (6, 128, 9) and tr.x.dtype == np.float32 and tr.name == "uci-har" and not tr.synthetic
    # The fixture writes channel index + 0.01 x row into every sample.
    np.testing.assert_allclose(tr.x[2, 0], np.arange(9) + 0.02, atol=1e-6)
    assert tr.y.tolist() == [0, 2, 4, 5, 0, 1] and tr.classes == HAR_CLASSES
    assert tr.subject.tolist() == ["1", "1", "3", "3", "5", "5"]
    te = load_uci_har(uci_har_tree / "UCI HAR Dataset", "test")
    assert len(te) == 3 and set(te.subject) == {"2", "4", "9"}
    assert len(load_har(uci_har_tree, "all")) == 9
    with pytest.raises(ValueError, match="split_by_group"):
        load_har(uci_har_tree, "validation")


def test_uci_har_second_load_is_cached(uci_har_tree):
    a = load_har(uci_har_tree, "train")
    b = load_har(uci_har_tree, "train")
    assert not a.from_cache and b.from_cache and a.content_hash == b.content_hash


def test_uci_har_missing_file_is_one_line(uci_har_tree):
    (uci_har_tree / "UCI HAR Dataset" / "test" / "Inertial Signals" / "body_gyro_y_test.txt").unlink()
    with pytest.raises(FileNotFoundError) as e:
        load_har(uci_har_tree, "test")
    assert "body_gyro_y_test.txt" in str(e.value) and "\n" not in str(e.value)


def test_uci_har_row_mismatch_is_reported(uci_har_tree):
    (uci_har_tree / "UCI HAR Dataset" / "train" / "y_train.txt").write_text("1\n2\n")
    with pytest.raises(ValueError, match="expected"):
        load_har(uci_har_tree, "train")


def test_hapt_windows_stay_inside_one_activity(hapt_tree):
    assert detect_layout(hapt_tree) == "hapt-raw"
    ds = load_hapt(hapt_tree, "all")
    # Per experiment: standing 4 windows, walking 2, transition none, lying 5.
    assert len(ds) == 22 and ds.x.shape[1:] == (128, 9)
    assert ds.class_counts() == {"walking": 4, "upstairs": 0, "downstairs": 0, "sitting": 0, "standing": 8,
                                 "lying": 10}
    lying = ds.x[ds.y == 5]
    # total_acc (channels 6-8) keeps gravity; body_acc (0-2) has it removed away from the segment edges.
    assert np.abs(lying[:, 40:90, 6:].mean(axis=(0, 1)) - [0.0, 0.7, 0.7]).max() < 0.05
    standing = ds.x[ds.y == 4]
    assert abs(standing[:, :, 6].mean() - 1.0) < 0.05 and np.abs(standing[:, :, :3].mean()) < 0.05
    tr, va = load_hapt(hapt_tree, "train", validation=0.5), load_hapt(hapt_tree, "validation", validation=0.5)
    assert len(tr) + len(va) == 22 and not set(tr.subject) & set(va.subject)


def test_hapt_missing_gyro_file(hapt_tree):
    (hapt_tree / "RawData" / "gyro_exp02_user02.txt").unlink()
    with pytest.raises(FileNotFoundError, match="gyro_exp02_user02.txt"):
        load_hapt(hapt_tree, "all")


def test_pipeline_separates_gravity_from_motion():
    t = np.arange(2000) / 50.0
    acc = np.stack([1 + 0.3 * np.sin(2 * np.pi * 2 * t), np.zeros_like(t), np.zeros_like(t)], axis=1)
    out = inertial_channels(acc, np.zeros_like(acc))
    mid = out[300:-300]
    assert abs(mid[:, 0].std() - 0.3 / np.sqrt(2)) < 0.01 and abs(mid[:, 0].mean()) < 0.01
    assert abs(mid[:, 6].mean() - 1.0) < 0.01
    assert CHANNELS[0] == "body_acc_x" and CHANNELS[3] == "body_gyro_x" and CHANNELS[6] == "total_acc_x"


def test_synthetic_har_is_deterministic_and_subject_disjoint():
    a = generate_har(SMALL)
    _generate.cache_clear()  # generate afresh, not from the in-process memo
    b = generate_har(SMALL)
    np.testing.assert_array_equal(a["x"], b["x"])
    assert not np.array_equal(a["x"], generate_har(SMALL, seed=1)["x"])
    parts = [load_har_synth(s, SMALL) for s in ("train", "validation", "test")]
    assert [len(p) for p in parts] == [6 * 6 * 6, 2 * 6 * 6, 2 * 6 * 6]
    subj = [set(p.subject) for p in parts]
    assert not subj[0] & subj[1] and not subj[0] & subj[2] and not subj[1] & subj[2]
    assert parts[0].synthetic and parts[0].name == "har-synth" and parts[0].x.shape[1:] == (128, 9)
    assert load_har_synth("train", SMALL).content_hash == parts[0].content_hash


def test_synthetic_har_looks_like_the_real_signals():
    ds = load_har_synth("all", SMALL)
    x, y = ds.x, ds.y
    for c in (3, 4):  # sitting, standing: phone nearly upright, body nearly still
        assert 0.85 < x[y == c][:, :, 6].mean() < 1.05 and x[y == c][:, :, :3].std() < 0.05
    assert abs(x[y == 5][:, :, 6].mean()) < 0.3  # lying: gravity across the trunk
    walk = [x[y == c][:, :, 0].std() for c in (0, 1, 2)]
    assert all(0.1 < s < 0.6 for s in walk) and walk[2] > walk[0]  # downstairs hits hardest


def _nearest_centroid_accuracy(tr, te):
    feats = lambda d: np.concatenate([d.x.mean(1), d.x.std(1)], axis=1)
    ftr, fte = feats(tr), feats(te)
    mu, sd = ftr.mean(0), ftr.std(0) + 1e-9
    cent = np.stack([((ftr - mu) / sd)[tr.y == c].mean(0) for c in range(6)])
    dist = ((((fte - mu) / sd)[:, None, :] - cent[None]) ** 2).sum(-1)
    pred = np.argmin(dist, axis=1)
    return pred, (pred == te.y).mean()


def test_synthetic_har_is_not_trivially_separable():
    p = HarSynthParams(n_subjects=20, sessions=1, windows_per_session=8)
    tr, te = load_har_synth("train", p), load_har_synth("test", p)
    pred, acc = _nearest_centroid_accuracy(tr, te)
    assert 0.5 < acc < 0.97
    # The confusions are the realistic ones: static postures among themselves, gaits among themselves.
    static, moving = te.y >= 3, te.y <= 2
    assert (pred[static] >= 3).mean() > 0.95 and (pred[moving] <= 2).mean() > 0.95
    easy = HarSynthParams(n_subjects=20, sessions=1, windows_per_session=8, variability=0.0)
    assert _nearest_centroid_accuracy(load_har_synth("train", easy), load_har_synth("test", easy))[1] > acc


def test_split_by_group_on_subjects():
    ds = load_har_synth("all", SMALL)
    ds.x[:] = 0  # a caller's changes must not reach the memoised arrays
    assert load_har_synth("all", SMALL).x.any()
    a, b = split_by_group(ds, holdout=0.3, seed=1)
    assert len(a) + len(b) == len(ds) and not set(a.subject) & set(b.subject)
    with pytest.raises(AttributeError, match="subject"):
        ds.speaker
