"""KWS audio augmentation: shift, reverberation, noise from the split's own recordings, fresh MFCCs."""

import numpy as np
import pytest

from harness.data import load_kws, load_speech_commands
from harness.data.augment import KwsAugment, KwsAugmentParams, room_impulse
from harness.data.speech_commands import KWS_CLASSES

OFF = KwsAugmentParams(shift_ms=0, noise_p=0, reverb_p=0)


def test_no_augmentation_reproduces_the_loaders_features(speech_commands_test12):
    ds = load_speech_commands(speech_commands_test12, "test")
    x = KwsAugment.for_dataset(ds, OFF).epoch(np.random.default_rng(0))
    keep = ds.y != KWS_CLASSES.index("_silence_")   # silence is redrawn at a random volume
    assert np.allclose(x[keep], ds.x[keep], atol=1e-4)


def test_epochs_differ_and_are_reproducible_from_the_generator(speech_commands_test12):
    ds = load_speech_commands(speech_commands_test12, "test")
    aug = KwsAugment.for_dataset(ds)
    a = aug.epoch(np.random.default_rng(1))
    b = aug.epoch(np.random.default_rng(1))
    c = aug.epoch(np.random.default_rng(2))
    assert a.shape == ds.x.shape and np.array_equal(a, b) and not np.allclose(a, c)


def test_test12_layout_draws_noise_from_its_own_silence_clips(speech_commands_test12):
    ds = load_speech_commands(speech_commands_test12, "test")
    assert len(KwsAugment.for_dataset(ds).noises) == 2


def test_full_layout_draws_noise_from_background_recordings(speech_commands_full):
    ds = load_kws(speech_commands_full, "train", silence_fraction=0.5)
    aug = KwsAugment.for_dataset(ds)
    assert len(aug.noises) == 1 and len(aug.noises[0]) == 3 * 16000
    assert aug.epoch(np.random.default_rng(0)).shape == ds.x.shape


def test_shift_moves_the_clip_and_zero_fills():
    audio = np.zeros((1, 16000), np.float32)
    audio[0, 8000:8100] = 0.5
    aug = KwsAugment(audio, np.array([2]), [], KwsAugmentParams(shift_ms=50, noise_p=0, reverb_p=0))
    out = aug.augment_audio(np.random.default_rng(3))
    moved = np.flatnonzero(out[0])
    assert len(moved) == 100 and abs(int(moved[0]) - 8000) <= 800 and moved[0] != 8000


def test_room_impulse_decays_and_keeps_the_direct_path():
    h = room_impulse(np.random.default_rng(0), 0.4)
    assert h[0] == 1.0 and len(h) == 6400
    early, late = np.abs(h[1:800]).mean(), np.abs(h[-800:]).mean()
    assert late < early / 100


def test_bad_settings_and_sources_are_refused(speech_commands_test12):
    with pytest.raises(ValueError, match="noise_p must be a probability"):
        KwsAugmentParams(noise_p=1.5).validate()
    with pytest.raises(ValueError, match="rt60_s"):
        KwsAugmentParams(rt60_s=(0.5, 0.1)).validate()
    ds = load_speech_commands(speech_commands_test12, "test")
    from dataclasses import replace
    with pytest.raises(ValueError, match="does not name its clips' audio"):
        KwsAugment.for_dataset(replace(ds, files=None))
