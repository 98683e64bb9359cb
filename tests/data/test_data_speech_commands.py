import os

import numpy as np
import pytest
import soundfile as sf

import harness.data.mfcc as mfcc_mod
from harness.data import (KWS_CLASSES, MfccParams, detect_layout, load_kws, load_speech_commands,
                          speaker_disjoint_split, speaker_of)


@pytest.fixture
def count_mfcc(monkeypatch):
    """Counts feature computations (clips passed to mfcc_batch)."""
    calls = []
    real = mfcc_mod.mfcc_batch

    def counting(audio, *a, **k):
        calls.append(len(audio))
        return real(audio, *a, **k)

    monkeypatch.setattr(mfcc_mod, "mfcc_batch", counting)
    return calls


def test_full_layout_splits_follow_the_lists(speech_commands_full):
    assert detect_layout(speech_commands_full) == "speech-commands"
    tr = load_kws(speech_commands_full, "train")
    va = load_kws(speech_commands_full, "validation")
    te = load_kws(speech_commands_full, "test")
    assert tr.x.shape[1:] == (49, 10) and tr.x.dtype == np.float32 and tr.y.dtype == np.int64
    assert tr.classes == KWS_CLASSES and not tr.synthetic and tr.name == "speech-commands-v2"
    # 3 keyword clips per speaker; unknown and silence are ceil(10%) of the keyword clips.
    assert len(tr) == 6 + 1 + 1 and len(va) == 3 + 1 + 1 and len(te) == 3 + 1 + 1
    assert set(tr.speaker) - {""} == {"0a7c2a8d", "1b4c9b89"}
    assert set(va.speaker) - {""} == {"2c5d0e1f"} and set(te.speaker) - {""} == {"3d6e1f20"}
    counts = tr.class_counts()
    assert counts["yes"] == counts["no"] == counts["stop"] == 2 and counts["go"] == 0
    assert counts["_unknown_"] == 1 and counts["_silence_"] == 1
    # Silence is cut from the background noise and has no speaker.
    sil = [f for f, y in zip(tr.files, tr.y) if y == 0]
    assert sil[0].startswith("_background_noise_/white_noise.wav@") and tr.speaker[tr.y == 0][0] == ""
    assert [f.split("/")[0] for f, y in zip(tr.files, tr.y) if y == 1][0] in ("bed", "marvin")


def test_all_unknown_clips_when_unknown_fraction_is_none(speech_commands_full):
    ds = load_kws(speech_commands_full, "train", unknown_fraction=None, silence_fraction=0)
    assert ds.class_counts()["_unknown_"] == 4 and ds.class_counts()["_silence_"] == 0


def test_second_load_reads_the_cache(speech_commands_full, count_mfcc, tmp_path):
    cache = tmp_path / "c"
    first = load_speech_commands(speech_commands_full, "train", cache=cache)
    entries = list((cache / "features").glob("kws-*.npz"))
    assert len(entries) == 1 and not first.from_cache and sum(count_mfcc) == len(first)
    mtime = entries[0].stat().st_mtime_ns
    second = load_speech_commands(speech_commands_full, "train", cache=cache)
    assert second.from_cache and sum(count_mfcc) == len(first)  # no new feature computation
    assert entries[0].stat().st_mtime_ns == mtime
    assert second.content_hash == first.content_hash
    np.testing.assert_array_equal(second.x, first.x)
    assert second.files == first.files


def test_cache_key_covers_parameters_and_content(speech_commands_full, count_mfcc, tmp_path):
    cache = tmp_path / "c"
    a = load_speech_commands(speech_commands_full, "test", cache=cache)
    b = load_speech_commands(speech_commands_full, "test", cache=cache, params=MfccParams(n_mfcc=13))
    assert b.x.shape[1:] == (49, 13) and not b.from_cache
    # Changed audio (new size and mtime) is a new source: recomputed, new hashes.
    clip = speech_commands_full / "yes" / "3d6e1f20_nohash_0.wav"
    sf.write(str(clip), np.zeros(16000, np.float32), 16000, subtype="PCM_16")
    os.utime(clip, ns=(1, 1))
    c = load_speech_commands(speech_commands_full, "test", cache=cache)
    assert not c.from_cache and c.source_hash != a.source_hash and c.content_hash != a.content_hash
    assert len(count_mfcc) == 3


def test_harness_cache_dir_is_honoured(speech_commands_full, tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "env-cache"))
    load_kws(speech_commands_full, "validation")
    assert list((tmp_path / "env-cache" / "features").glob("kws-*.npz"))


def test_test12_layout_has_only_a_test_split(speech_commands_test12):
    assert detect_layout(speech_commands_test12) == "speech-commands-test12"
    ds = load_kws(speech_commands_test12, "test")
    assert len(ds) == 24 and ds.name == "speech-commands-v2-test12"
    assert ds.class_counts()["_unknown_"] == 2 and ds.class_counts()["_silence_"] == 2
    assert set(ds.speaker) == {"aaaa1111", "bbbb2222", "cccc3333", ""}
    with pytest.raises(ValueError) as e:
        load_kws(speech_commands_test12, "train")
    assert "speaker_disjoint_split" in str(e.value) and "\n" not in str(e.value)


def test_speaker_disjoint_split_of_the_test_layout(speech_commands_test12):
    ds = load_kws(speech_commands_test12, "test")
    fit, held = speaker_disjoint_split(ds, holdout=0.5, seed=3)
    assert len(fit) + len(held) == len(ds)
    assert not (set(fit.speaker) & set(held.speaker)) - {""}
    assert fit.split == "finetune" and held.split == "eval"
    again = speaker_disjoint_split(ds, holdout=0.5, seed=3)
    assert again[0].content_hash == fit.content_hash


def test_speaker_ids_come_from_file_names():
    assert speaker_of("yes/0a7c2a8d_nohash_3.wav") == "0a7c2a8d"
    assert speaker_of("_unknown_/backward_0cb74144_nohash_2.wav") == "0cb74144"
    assert speaker_of("_silence_/1024.wav") == ""


def test_wrong_sample_rate_is_one_clear_line(speech_commands_full):
    sf.write(str(speech_commands_full / "no" / "0a7c2a8d_nohash_0.wav"), np.zeros(8000, np.float32), 8000)
    with pytest.raises(ValueError) as e:
        load_kws(speech_commands_full, "train")
    msg = str(e.value)
    assert "\n" not in msg and "8000 Hz" in msg and "resample" in msg


def test_missing_clip_of_test12_list(speech_commands_test12):
    (speech_commands_test12 / "yes" / "aaaa1111_nohash_0.wav").unlink()
    with pytest.raises(FileNotFoundError) as e:
        load_kws(speech_commands_test12, "test")
    assert "yes/aaaa1111_nohash_0.wav" in str(e.value) and "\n" not in str(e.value)


def test_missing_background_noise_folder(speech_commands_full):
    for f in (speech_commands_full / "_background_noise_").iterdir():
        f.unlink()
    (speech_commands_full / "_background_noise_").rmdir()
    with pytest.raises(ValueError, match="silence_fraction=0"):
        load_kws(speech_commands_full, "train")
    assert len(load_kws(speech_commands_full, "train", silence_fraction=0)) == 7
