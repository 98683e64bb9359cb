import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import harness.data.kws_synth as ks
from harness.data import KwsSynthParams, detect_layout, generate_kws_corpus, load_kws, load_speech_commands

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                reason="espeak-ng is not installed (apt-get install espeak-ng)")

SMALL = KwsSynthParams(clips_per_word=5, accents=("en-us", "en-gb"), variants=("m1", "f2", "m3", "f4", "klatt"),
                       validation_voices=0.2, test_voices=0.2, background_seconds=3)
TINY = KwsSynthParams(clips_per_word=3, keywords=("yes", "no"), unknown_words=("bed",), accents=("en-us",),
                      variants=("m1", "f1", "m2", "f2", "m3"), validation_voices=0.2, test_voices=0.2,
                      background_seconds=2)


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory):
    return generate_kws_corpus(SMALL, out_dir=tmp_path_factory.mktemp("espeak") / "corpus", workers=2)


def tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name != "corpus.json":
            h.update(str(p.relative_to(root)).encode() + p.read_bytes())
    return h.hexdigest()


def test_corpus_is_in_the_speech_commands_layout(small_corpus):
    root = small_corpus.root
    assert small_corpus.generated and detect_layout(root) == "speech-commands"
    for word in SMALL.keywords:
        assert len(list((root / word).glob("*.wav"))) == 5
    assert sum(len(list((root / w).glob("*.wav"))) for w in SMALL.unknown_words) == 6
    assert sorted(p.name for p in (root / "_background_noise_").glob("*.wav")) == [
        "brown_noise.wav", "pink_noise.wav", "white_noise.wav"]
    data, sr = sf.read(str(next((root / "yes").glob("*.wav"))), dtype="int16")
    assert sr == 16000 and data.shape == (16000,) and np.abs(data).max() > 1000


def test_splits_are_disjoint_by_voice(small_corpus):
    root = small_corpus.root
    tr = load_speech_commands(root, "train", synthetic=True, name="kws-espeak")
    va = load_speech_commands(root, "validation", synthetic=True, name="kws-espeak")
    te = load_speech_commands(root, "test", synthetic=True, name="kws-espeak")
    spk = [set(d.speaker) - {""} for d in (tr, va, te)]
    assert all(spk) and not (spk[0] & spk[1]) and not (spk[0] & spk[2]) and not (spk[1] & spk[2])
    by_split = {s: {ks.speaker_id(v) for v, sp in small_corpus.voice_split.items() if sp == s}
                for s in ("train", "validation", "test")}
    assert spk[0] <= by_split["train"] and spk[1] <= by_split["validation"] and spk[2] <= by_split["test"]
    assert tr.synthetic and tr.x.shape[1:] == (49, 10)
    assert len(set(small_corpus.voice_split.values())) == 3


def test_same_parameters_reuse_the_corpus(small_corpus):
    marker = small_corpus.root / "corpus.json"
    mtime = marker.stat().st_mtime_ns
    again = generate_kws_corpus(SMALL, out_dir=small_corpus.root)
    assert not again.generated and marker.stat().st_mtime_ns == mtime


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path):
    a = generate_kws_corpus(TINY, out_dir=tmp_path / "a", workers=2)
    b = generate_kws_corpus(TINY, out_dir=tmp_path / "b", workers=1)
    c = generate_kws_corpus(TINY, out_dir=tmp_path / "c", workers=2, seed=1)
    assert tree_digest(a.root) == tree_digest(b.root) != tree_digest(c.root)
    da = load_speech_commands(a.root, "train", cache=tmp_path / "ca")
    db = load_speech_commands(b.root, "train", cache=tmp_path / "cb")
    assert da.content_hash == db.content_hash


def test_other_parameters_refuse_a_finished_folder(small_corpus):
    with pytest.raises(ValueError, match="other parameters"):
        generate_kws_corpus(SMALL, out_dir=small_corpus.root, seed=7)


def test_load_kws_synthetic_generates_once_into_the_cache(monkeypatch):
    made = []
    real = ks.plan_corpus
    monkeypatch.setattr(ks, "plan_corpus", lambda p: made.append(p) or real(p))
    first = load_kws("synthetic", "validation", synth=TINY)
    second = load_kws("synthetic", "validation", synth=TINY)
    assert len(made) == 1 and second.from_cache
    assert first.synthetic and first.name == "kws-espeak" and first.content_hash == second.content_hash
    assert first.card()["params"]["generator"]["clips_per_word"] == 3


def test_plan_is_deterministic_and_in_range():
    p1, split1 = ks.plan_corpus(SMALL)
    p2, split2 = ks.plan_corpus(SMALL)
    assert p1 == p2 and split1 == split2
    assert len({s.rel_path for s in p1}) == len(p1)
    for s in p1:
        assert SMALL.speed_wpm[0] <= s.speed <= SMALL.speed_wpm[1]
        assert s.snr_db in SMALL.snr_db and s.color in SMALL.noise_colors
        assert s.rel_path.split("/")[1].startswith(ks.speaker_id(s.voice) + "_nohash_")


def test_resampling_keeps_the_band_and_removes_aliases():
    t = np.arange(22050) / 22050
    low = ks.resample_to_16k(np.sin(2 * np.pi * 1000 * t))
    assert low.shape == (16000,)
    spec = np.abs(np.fft.rfft(low))
    assert abs(np.argmax(spec) - 1000) <= 1 and np.sqrt(np.mean(low ** 2)) > 0.69
    # 9 kHz is above the new Nyquist (8 kHz): it must be filtered out, not folded to 7 kHz.
    high = ks.resample_to_16k(np.sin(2 * np.pi * 9000 * t))
    assert np.sqrt(np.mean(high[200:-200] ** 2)) < 1e-3


def test_missing_espeak_is_one_clear_line(monkeypatch):
    monkeypatch.setattr(ks.shutil, "which", lambda name: None)
    with pytest.raises(FileNotFoundError) as e:
        generate_kws_corpus(TINY)
    assert "apt-get install espeak-ng" in str(e.value) and "\n" not in str(e.value)


def test_unknown_voice_is_reported(tmp_path):
    bad = KwsSynthParams(clips_per_word=1, keywords=("yes",), unknown_words=("bed",), accents=("en-us",),
                         variants=("nosuchvariant",), validation_voices=0, test_voices=0, background_seconds=1)
    with pytest.raises(ValueError, match="nosuchvariant"):
        generate_kws_corpus(bad, out_dir=tmp_path / "x", workers=1)


def test_concurrent_callers_share_one_generation(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as ex:
        results = list(ex.map(lambda _: generate_kws_corpus(TINY, cache=tmp_path, workers=1), range(2)))
    assert sorted(r.generated for r in results) == [False, True]
    assert results[0].root == results[1].root and (results[0].root / "corpus.json").is_file()


def test_half_written_cache_entry_is_regenerated(tmp_path):
    first = generate_kws_corpus(TINY, cache=tmp_path, workers=1)
    digest = tree_digest(first.root)
    (first.root / "corpus.json").unlink()  # as if the run had been killed before finishing
    (first.root / "yes" / "junk.wav").write_bytes(b"partial")
    again = generate_kws_corpus(TINY, cache=tmp_path, workers=1)
    assert again.generated and tree_digest(again.root) == digest
