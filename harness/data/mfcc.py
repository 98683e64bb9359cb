"""MFCC features as in Hello Edge (arXiv:1711.07128): 49x10 per 1 s clip at 16 kHz.

40 ms frames (640 samples), 20 ms stride (320), 40 mel bands (20 Hz-4 kHz, the
band limits of the Hello Edge reference code), log power in dB, DCT-II, first
10 coefficients.

Frame count: frames start at t*hop and must lie inside the clip (librosa's
`center=False`), giving 1 + (16000 - 640) // 320 = 49. librosa's default
`center=True` pads the clip and gives 1 + 16000 // 320 = 51 instead, and an
FFT size above 640 with `center=False` gives fewer than 49.

The mel filterbank is librosa's; the framing, FFT and DCT are the same
operations librosa.feature.mfcc performs (the tests check equality), done
here in batched numpy so that importing librosa's JIT-compiled modules
(about 16 s on a cold machine) is never needed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
import scipy.fft
import scipy.signal


@dataclass(frozen=True)
class MfccParams:
    sample_rate: int = 16000
    clip_samples: int = 16000
    frame_length: int = 640
    hop_length: int = 320
    n_mels: int = 40
    n_mfcc: int = 10
    fmin: float = 20.0
    fmax: float = 4000.0
    top_db: float | None = 80.0

    @property
    def n_frames(self) -> int:
        return 1 + (self.clip_samples - self.frame_length) // self.hop_length

    def as_dict(self) -> dict:
        return asdict(self)

    def validate(self) -> None:
        if self.frame_length > self.clip_samples:
            raise ValueError(f"frame_length {self.frame_length} is longer than the clip ({self.clip_samples} samples)")
        if not 0 <= self.fmin < self.fmax <= self.sample_rate / 2:
            raise ValueError(f"mel band {self.fmin}-{self.fmax} Hz must lie within 0-{self.sample_rate / 2} Hz")
        if self.n_mfcc > self.n_mels:
            raise ValueError(f"n_mfcc ({self.n_mfcc}) cannot exceed n_mels ({self.n_mels})")


DEFAULT_MFCC = MfccParams()


@lru_cache(maxsize=8)
def _mel_basis(p: MfccParams) -> np.ndarray:
    # Only the filterbank module: it does not pull in librosa's numba kernels.
    from librosa.filters import mel

    return mel(sr=p.sample_rate, n_fft=p.frame_length, n_mels=p.n_mels, fmin=p.fmin, fmax=p.fmax,
               htk=False, norm="slaney").astype(np.float32)


@lru_cache(maxsize=8)
def _window(n: int) -> np.ndarray:
    # Periodic Hann, as librosa.stft uses (scipy get_window with fftbins=True).
    return scipy.signal.get_window("hann", n, fftbins=True).astype(np.float32)


def fit_length(y: np.ndarray, n: int) -> np.ndarray:
    """Zero-pad at the end or cut to exactly n samples (last axis)."""
    if y.shape[-1] >= n:
        return y[..., :n]
    pad = [(0, 0)] * (y.ndim - 1) + [(0, n - y.shape[-1])]
    return np.pad(y, pad)


def mfcc_batch(audio: np.ndarray, params: MfccParams = DEFAULT_MFCC, chunk: int = 512) -> np.ndarray:
    """MFCCs of clips (N, samples) -> float32 (N, n_frames, n_mfcc), time first."""
    params.validate()
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None]
    audio = fit_length(audio, params.clip_samples)
    basis, win = _mel_basis(params), _window(params.frame_length)
    out = np.empty((len(audio), params.n_frames, params.n_mfcc), dtype=np.float32)
    for s in range(0, len(audio), chunk):
        a = audio[s:s + chunk]
        frames = np.lib.stride_tricks.sliding_window_view(a, params.frame_length, axis=-1)[:, ::params.hop_length]
        frames = frames[:, :params.n_frames] * win
        power = np.abs(scipy.fft.rfft(frames, axis=-1)) ** 2
        mel = power.astype(np.float32) @ basis.T  # (n, frames, mels)
        db = 10.0 * np.log10(np.maximum(mel, 1e-10))
        if params.top_db is not None:
            # Per clip, like librosa.power_to_db on a single clip.
            db = np.maximum(db, db.max(axis=(1, 2), keepdims=True) - params.top_db)
        out[s:s + chunk] = scipy.fft.dct(db, type=2, norm="ortho", axis=-1)[..., :params.n_mfcc]
    return out


def compute_mfcc(audio: np.ndarray, params: MfccParams = DEFAULT_MFCC) -> np.ndarray:
    """MFCCs of one clip -> float32 (n_frames, n_mfcc)."""
    return mfcc_batch(np.asarray(audio)[None], params)[0]
