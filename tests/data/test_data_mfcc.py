import numpy as np
import pytest

from harness.data import DEFAULT_MFCC, MfccParams, compute_mfcc as mfcc, mfcc_batch


def tone(freq, n=16000, sr=16000):
    return (0.5 * np.sin(2 * np.pi * freq * np.arange(n) / sr)).astype(np.float32)


def test_one_second_gives_49_frames_of_10_coefficients():
    assert DEFAULT_MFCC.n_frames == 49
    out = mfcc(tone(440))
    assert out.shape == (49, 10) and out.dtype == np.float32
    assert np.isfinite(out).all()


def test_batch_equals_single_clips_and_short_clips_are_padded():
    clips = np.stack([tone(300), tone(1200), np.zeros(16000, np.float32)])
    batch = mfcc_batch(clips)
    assert batch.shape == (3, 49, 10)
    for i in range(3):
        np.testing.assert_allclose(batch[i], mfcc(clips[i]), rtol=1e-5, atol=1e-4)
    # A 0.5 s clip is zero-padded to 1 s, the same as padding it by hand.
    short = tone(700, n=8000)
    np.testing.assert_allclose(mfcc(short), mfcc(np.pad(short, (0, 8000))), atol=1e-4)


def test_frame_count_follows_the_parameters():
    p = MfccParams(frame_length=400, hop_length=160, n_mfcc=13)
    assert p.n_frames == 1 + (16000 - 400) // 160
    assert mfcc(tone(440), p).shape == (p.n_frames, 13)


def test_higher_tone_moves_energy_to_other_coefficients():
    low, high = mfcc(tone(200)), mfcc(tone(3000))
    assert np.abs(low[:, 1:] - high[:, 1:]).mean() > 1.0


def test_bad_parameters_are_refused_in_one_line():
    with pytest.raises(ValueError) as e:
        mfcc(tone(440), MfccParams(n_mfcc=50))
    assert "\n" not in str(e.value) and "n_mfcc" in str(e.value)


@pytest.mark.slow
def test_same_numbers_as_librosa_feature_mfcc():
    """The batched computation is librosa.feature.mfcc with center=False (slow: librosa's JIT warm-up)."""
    librosa = pytest.importorskip("librosa")
    rng = np.random.default_rng(0)
    y = (tone(523) + 0.05 * rng.standard_normal(16000)).astype(np.float32)
    ref = librosa.feature.mfcc(y=y, sr=16000, n_mfcc=10, n_fft=640, hop_length=320, center=False,
                               n_mels=40, fmin=20, fmax=4000).T
    assert ref.shape == (49, 10)
    np.testing.assert_allclose(mfcc(y), ref, rtol=1e-4, atol=1e-3)
    # librosa's default centred framing would give 51 frames, not Hello Edge's 49.
    assert librosa.feature.mfcc(y=y, sr=16000, n_mfcc=10, n_fft=640, hop_length=320).shape[1] == 51
