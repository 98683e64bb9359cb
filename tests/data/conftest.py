"""Fixture trees in the published dataset layouts (the shared real data: tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf



@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own feature cache, so none reads another's entries or ~/.cache."""
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


def write_wav(path: Path, seconds: float = 1.0, freq: float = 440.0, sr: int = 16000, seed: int = 0,
              level: float = 0.3) -> None:
    """A short tone with a little noise, 16-bit PCM like Speech Commands."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(seed)
    y = level * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(len(t))
    sf.write(str(path), y.astype(np.float32), sr, subtype="PCM_16")


@pytest.fixture
def speech_commands_full(tmp_path) -> Path:
    """A tiny Speech Commands v2 tree: 3 keywords + 2 other words, 4 speakers, lists, background noise."""
    root = tmp_path / "speech_commands_v0.02"
    speakers = ["0a7c2a8d", "1b4c9b89", "2c5d0e1f", "3d6e1f20"]
    words = {"yes": 300, "no": 500, "stop": 700, "bed": 900, "marvin": 1100}
    for wi, (word, freq) in enumerate(words.items()):
        for si, spk in enumerate(speakers):
            # One short clip per word, to check padding to 1 s.
            secs = 0.8 if (wi, si) == (0, 0) else 1.0
            write_wav(root / word / f"{spk}_nohash_0.wav", secs, freq + 10 * si, seed=wi * 10 + si)
    (root / "validation_list.txt").write_text(
        "".join(f"{w}/{speakers[2]}_nohash_0.wav\n" for w in words))
    (root / "testing_list.txt").write_text(
        "".join(f"{w}/{speakers[3]}_nohash_0.wav\n" for w in words))
    bg = root / "_background_noise_"
    bg.mkdir()
    rng = np.random.default_rng(1)
    sf.write(str(bg / "white_noise.wav"), (0.1 * rng.standard_normal(3 * 16000)).astype(np.float32), 16000,
             subtype="PCM_16")
    (bg / "README.md").write_text("noise\n")
    return root


@pytest.fixture
def speech_commands_test12(tmp_path) -> Path:
    """A tiny 12-class test-set tree: every class folder, testing_list.txt."""
    from harness.data import KEYWORDS

    root = tmp_path / "speech_commands_test_set_v0.02"
    files = []
    for ki, word in enumerate(KEYWORDS):
        for spk in ("aaaa1111", "bbbb2222"):
            rel = f"{word}/{spk}_nohash_0.wav"
            write_wav(root / rel, freq=200 + 50 * ki, seed=ki)
            files.append(rel)
    for rel in ("_unknown_/bed_aaaa1111_nohash_0.wav", "_unknown_/marvin_cccc3333_nohash_1.wav",
                "_silence_/1024.wav", "_silence_/1037.wav"):
        write_wav(root / rel, freq=3000, seed=len(files), level=0.01 if "silence" in rel else 0.3)
        files.append(rel)
    (root / "testing_list.txt").write_text("".join(f"{f}\n" for f in files))
    return root


UCI_CHANNELS = ["body_acc_x", "body_acc_y", "body_acc_z", "body_gyro_x", "body_gyro_y", "body_gyro_z",
                "total_acc_x", "total_acc_y", "total_acc_z"]


@pytest.fixture
def uci_har_tree(tmp_path) -> Path:
    """'UCI HAR Dataset' with a few rows per split; each channel's value encodes (channel, row)."""
    root = tmp_path / "UCI HAR Dataset"
    spec = {"train": ([1, 3, 5, 6, 1, 2], [1, 1, 3, 3, 5, 5]), "test": ([2, 4, 6], [2, 4, 9])}
    for split, (labels, subjects) in spec.items():
        sig = root / split / "Inertial Signals"
        sig.mkdir(parents=True)
        for ci, ch in enumerate(UCI_CHANNELS):
            rows = np.array([[ci + 0.01 * r] * 128 for r in range(len(labels))])
            np.savetxt(sig / f"{ch}_{split}.txt", rows, fmt="%.8e")
        np.savetxt(root / split / f"y_{split}.txt", np.array(labels)[:, None], fmt="%d")
        np.savetxt(root / split / f"subject_{split}.txt", np.array(subjects)[:, None], fmt="%d")
    (root / "activity_labels.txt").write_text("1 WALKING\n2 WALKING_UPSTAIRS\n3 WALKING_DOWNSTAIRS\n"
                                              "4 SITTING\n5 STANDING\n6 LAYING\n")
    return tmp_path


@pytest.fixture
def hapt_tree(tmp_path) -> Path:
    """RawData/ with two experiments of two users; standing, walking, a transition, lying."""
    raw = tmp_path / "HAPT Data Set" / "RawData"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    n = 1200
    labels = []
    for exp, user in ((1, 1), (2, 2)):
        acc = np.tile([1.0, -0.1, 0.05], (n, 1)) + 0.01 * rng.standard_normal((n, 3))
        acc[600:1000] = [0.0, 0.7, 0.7]  # lying
        gyro = 0.01 * rng.standard_normal((n, 3))
        np.savetxt(raw / f"acc_exp{exp:02d}_user{user:02d}.txt", acc, fmt="%.6f")
        np.savetxt(raw / f"gyro_exp{exp:02d}_user{user:02d}.txt", gyro, fmt="%.6f")
        # standing: rows 1-320 -> (320-128)//64+1 = 4 windows; walking 321-560 (240 rows) -> 2;
        # stand-to-lie transition 561-600 -> none; lying 601-1000 (400 rows) -> 5.
        labels += [(exp, user, 5, 1, 320), (exp, user, 1, 321, 560), (exp, user, 11, 561, 600),
                   (exp, user, 6, 601, 1000)]
    np.savetxt(raw / "labels.txt", np.array(labels), fmt="%d")
    return raw.parent
