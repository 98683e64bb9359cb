"""Training-time augmentation of keyword-spotting audio, re-featurised every epoch.

    aug = KwsAugment.for_dataset(train_ds, KwsAugmentParams(...))
    x_epoch = aug.epoch(rng)          # (N, 49, 10) MFCC of freshly augmented clips

What one epoch does to each clip (Hello Edge's and TensorFlow's
speech_commands recipe, plus reverberation):

- time shift: the clip moves by up to ±`shift_ms`, zeros filling the gap;
- reverberation, with probability `reverb_p`: convolution with a synthetic
  room impulse response (exponentially decaying noise, RT60 drawn from
  `rt60_s`, a direct path first), the result rescaled to the clip's peak;
- background noise, with probability `noise_p`: a random 1 s stretch of a
  noise clip of the same data set (its `_background_noise_` recordings in the
  full layout, its own `_silence_` clips in the 12-class test layout), at a
  volume drawn uniformly from [0, `noise_volume`];
- `_silence_` samples are re-drawn as a fresh noise stretch at a random
  volume in [0, 1] (as the loader makes them).

Only the training split's own audio is used, so no test clip or test
speaker leaks in. The features are the loader's MFCC (same parameters), so
an augmented clip looks to the model exactly like a recorded one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy.signal import fftconvolve

from . import mfcc as mfcc_mod
from .dataset import Dataset
from .speech_commands import BACKGROUND, KWS_CLASSES, SAMPLE_RATE, SILENCE, read_wav

_SILENCE = KWS_CLASSES.index(SILENCE)


@dataclass(frozen=True)
class KwsAugmentParams:
    shift_ms: float = 100.0
    noise_p: float = 0.8
    noise_volume: float = 0.1
    reverb_p: float = 0.3
    rt60_s: tuple[float, float] = (0.2, 0.7)

    def validate(self) -> None:
        for name in ("noise_p", "reverb_p"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be a probability from 0 to 1, got {v!r}")
        if self.shift_ms < 0 or self.noise_volume < 0:
            raise ValueError(f"shift_ms and noise_volume must be >= 0, got {self.shift_ms} and {self.noise_volume}")
        lo, hi = self.rt60_s
        if not 0 < lo <= hi <= 2.0:
            raise ValueError(f"rt60_s must be (lo, hi) with 0 < lo <= hi <= 2 seconds, got {self.rt60_s!r}")

    def as_dict(self) -> dict:
        return asdict(self)


def _clip_audio(root: Path, name: str) -> np.ndarray | None:
    """A clip's 1 s of audio from its file name in the dataset; None for a loader-made silence slice."""
    if "@" in name:
        return None
    return read_wav(root / name)


def _noise_sources(root: Path, names: list[str], labels: np.ndarray) -> list[np.ndarray]:
    """The noise recordings a split may draw from: background files, else its own silence clips."""
    bg_names = sorted({n.split("@")[0] for n in names if n.startswith(BACKGROUND + "/")})
    if bg_names:
        from soundfile import info
        return [read_wav(root / n, n=max(info(str(root / n)).frames, SAMPLE_RATE)) for n in bg_names]
    return [read_wav(root / n) for n, y in zip(names, labels) if y == _SILENCE and "@" not in n]


def room_impulse(rng: np.random.Generator, rt60: float, rate: int = SAMPLE_RATE) -> np.ndarray:
    """A synthetic room response: unit direct path, then noise decaying 60 dB over rt60 seconds."""
    n = max(2, int(rt60 * rate))
    t = np.arange(n) / rate
    tail = rng.standard_normal(n) * np.exp(-6.9078 * t / rt60)   # ln(1000) = 6.9078: -60 dB at rt60
    tail[0] = 0.0
    tail *= 0.3 / (np.sqrt(np.sum(tail ** 2)) + 1e-12)
    tail[0] = 1.0
    return tail.astype(np.float32)


class KwsAugment:
    """Per-epoch augmented MFCCs of a KWS training split (see the module docstring)."""

    def __init__(self, audio: np.ndarray, labels: np.ndarray, noises: list[np.ndarray],
                 params: KwsAugmentParams, mfcc: mfcc_mod.MfccParams = mfcc_mod.DEFAULT_MFCC):
        params.validate()
        self.audio = np.asarray(audio, np.float32)
        self.labels = np.asarray(labels)
        self.noises = [np.asarray(n, np.float32) for n in noises if len(n) >= SAMPLE_RATE]
        self.params = params
        self.mfcc = mfcc
        if (self.labels == _SILENCE).any() and not self.noises:
            raise ValueError("the training split has silence samples but no noise recordings to redraw them from")

    @classmethod
    def for_dataset(cls, ds: Dataset, params: KwsAugmentParams | None = None) -> "KwsAugment":
        if ds.task != "kws":
            raise ValueError(f"{ds.name} is a {ds.task} dataset; audio augmentation is for keyword spotting")
        if ds.files is None or not ds.source or not Path(ds.source).is_dir():
            raise ValueError(f"{ds.name} does not name its clips' audio files (source {ds.source!r}); "
                             "augmentation needs the audio the features came from")
        root = Path(ds.source)
        names = list(ds.files)
        noises = _noise_sources(root, names, ds.y)
        audio = np.zeros((len(names), SAMPLE_RATE), np.float32)
        for i, n in enumerate(names):
            clip = _clip_audio(root, n)
            if clip is not None:
                audio[i] = clip
        mfcc = mfcc_mod.MfccParams(**ds.params["mfcc"]) if "mfcc" in ds.params else mfcc_mod.DEFAULT_MFCC
        return cls(audio, ds.y, noises, params or KwsAugmentParams(), mfcc)

    def _noise(self, rng: np.random.Generator) -> np.ndarray:
        src = self.noises[int(rng.integers(len(self.noises)))]
        start = int(rng.integers(len(src) - SAMPLE_RATE + 1))
        return src[start:start + SAMPLE_RATE]

    def augment_audio(self, rng: np.random.Generator) -> np.ndarray:
        p = self.params
        out = np.empty_like(self.audio)
        max_shift = int(p.shift_ms * SAMPLE_RATE / 1000)
        for i, (clip, y) in enumerate(zip(self.audio, self.labels)):
            if y == _SILENCE:
                out[i] = self._noise(rng) * np.float32(rng.uniform(0.0, 1.0))
                continue
            a = clip
            if max_shift:
                s = int(rng.integers(-max_shift, max_shift + 1))
                a = np.roll(a, s)
                if s > 0:
                    a[:s] = 0.0
                elif s < 0:
                    a[s:] = 0.0
            if p.reverb_p and rng.random() < p.reverb_p:
                peak = float(np.max(np.abs(a))) or 1.0
                wet = fftconvolve(a, room_impulse(rng, float(rng.uniform(*p.rt60_s))))[:SAMPLE_RATE]
                a = wet * (peak / (float(np.max(np.abs(wet))) or 1.0))
            if self.noises and p.noise_p and rng.random() < p.noise_p:
                a = a + self._noise(rng) * np.float32(rng.uniform(0.0, p.noise_volume))
            out[i] = np.clip(a, -1.0, 1.0)
        return out

    def epoch(self, rng: np.random.Generator) -> np.ndarray:
        return mfcc_mod.mfcc_batch(self.augment_audio(rng), self.mfcc)


__all__ = ["KwsAugmentParams", "KwsAugment", "room_impulse"]
