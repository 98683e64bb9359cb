"""The UCI HAR signal pipeline, shared by the HAPT loader and the synthetic generator.

Anguita et al. filtered the raw 50 Hz phone signals with a median filter and
a 3rd-order Butterworth low-pass at 20 Hz, separated gravity from body
acceleration with a 0.3 Hz Butterworth low-pass, and cut windows of 128
samples (2.56 s) with 50% overlap.
"""

from __future__ import annotations

import numpy as np
import scipy.signal

FS = 50.0
WINDOW = 128
STEP = 64
HAR_CLASSES = ["walking", "upstairs", "downstairs", "sitting", "standing", "lying"]
# Order of the 9 input channels, the same for every HAR source.
CHANNELS = ["body_acc_x", "body_acc_y", "body_acc_z", "body_gyro_x", "body_gyro_y", "body_gyro_z",
            "total_acc_x", "total_acc_y", "total_acc_z"]


def _lowpass(x: np.ndarray, cutoff: float, fs: float) -> np.ndarray:
    sos = scipy.signal.butter(3, cutoff, btype="low", fs=fs, output="sos")
    # Zero phase, so gravity and body motion stay aligned in time.
    return scipy.signal.sosfiltfilt(sos, x, axis=0)


def denoise(x: np.ndarray, fs: float = FS) -> np.ndarray:
    """Median filter (3 samples) then 20 Hz low-pass, per column of (T, C)."""
    med = scipy.signal.medfilt(x, kernel_size=[3] + [1] * (x.ndim - 1))
    return _lowpass(med, 20.0, fs)


def inertial_channels(acc_g: np.ndarray, gyro_rad_s: np.ndarray, fs: float = FS) -> np.ndarray:
    """(T, 3) total acceleration in g and (T, 3) angular rate -> (T, 9) in CHANNELS order."""
    if acc_g.shape != gyro_rad_s.shape or acc_g.ndim != 2 or acc_g.shape[1] != 3:
        raise ValueError(f"accelerometer {acc_g.shape} and gyroscope {gyro_rad_s.shape} must both be (T, 3)")
    total = denoise(np.asarray(acc_g, dtype=np.float64), fs)
    gyro = denoise(np.asarray(gyro_rad_s, dtype=np.float64), fs)
    body = total - _lowpass(total, 0.3, fs)
    return np.concatenate([body, gyro, total], axis=1).astype(np.float32)


def window_starts(start: int, stop: int, window: int = WINDOW, step: int = STEP) -> range:
    """Start indices of full windows inside [start, stop)."""
    return range(start, stop - window + 1, step)
