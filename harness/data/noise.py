"""Coloured noise and mixing at a given signal-to-noise ratio."""

from __future__ import annotations

import numpy as np

# Power spectral density ~ 1/f**exponent.
NOISE_EXPONENTS = {"white": 0.0, "pink": 1.0, "brown": 2.0}


def colored_noise(color: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise of n samples with the spectrum of `color`."""
    if color not in NOISE_EXPONENTS:
        raise ValueError(f"unknown noise colour {color!r}; choose one of {', '.join(NOISE_EXPONENTS)}")
    white = rng.standard_normal(n)
    exponent = NOISE_EXPONENTS[color]
    if exponent == 0.0:
        out = white
    else:
        spec = np.fft.rfft(white)
        f = np.fft.rfftfreq(n)
        f[0] = f[1]  # no infinite gain at DC
        spec *= f ** (-exponent / 2.0)
        out = np.fft.irfft(spec, n)
    out = out - out.mean()
    return (out / (np.sqrt(np.mean(out ** 2)) + 1e-12)).astype(np.float32)


def active_rms(x: np.ndarray, frame: int = 320, top: float = 0.5) -> float:
    """RMS over the loudest frames, so SNR refers to the speech, not the pauses around it."""
    n = len(x) // frame
    if n == 0:
        return float(np.sqrt(np.mean(x ** 2)))
    e = np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1)
    k = max(1, int(np.ceil(top * np.count_nonzero(e > 1e-10))))
    return float(np.sqrt(np.mean(np.sort(e)[-k:])))


def mix_at_snr(signal: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """signal + noise scaled so that active signal power / noise power = snr_db."""
    s = active_rms(signal)
    nrms = float(np.sqrt(np.mean(noise ** 2))) + 1e-12
    return signal + noise * (s / nrms) * 10.0 ** (-snr_db / 20.0)
