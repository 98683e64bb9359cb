"""Synthetic waist-phone recordings of the six UCI HAR activities, from a physical model.

The phone is worn as in UCI HAR: x points up along the trunk, y sideways, z
forward. Each subject has a cadence, gait amplitudes and harmonic shape, a
tilt of the phone on the belt, sensor bias and noise. Each session of an
activity has a posture (the direction of gravity in the trunk frame), slow
postural sway and fidgets, and for walking activities a gait: trunk
rotations at step and stride frequency (whose derivatives are the gyroscope
signal and which also tilt gravity) plus linear acceleration harmonics.
Stairs add a forward or backward lean and landing turns. The recordings go
through the same filter and windowing pipeline as HAPT/UCI HAR.

The class statistics are made to overlap where real ones do: sitting and
standing differ only by a few degrees of tilt that vary between subjects, and
walking, upstairs and downstairs differ by cadence, impact sharpness and lean
within ranges that overlap across subjects.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
import scipy.signal

from .cache import key_of
from .dataset import Dataset, assign_groups, normalize_split
from .har_signal import CHANNELS, FS, HAR_CLASSES, STEP, WINDOW, inertial_channels, window_starts

NAME = "har-synth"
WALKING, UPSTAIRS, DOWNSTAIRS, SITTING, STANDING, LYING = range(6)


@dataclass(frozen=True)
class HarSynthParams:
    n_subjects: int = 30
    sessions: int = 2  # per subject and activity
    windows_per_session: int = 20
    seed: int = 0
    validation_subjects: float = 0.1
    test_subjects: float = 0.2
    # Multiplies every between-subject and between-session spread: 0 makes
    # all subjects alike (an easy task), 1 is the calibrated default.
    variability: float = 1.0


def _smooth_noise(rng, n: int, cutoff_hz: float, sd: float) -> np.ndarray:
    """Band-limited Gaussian noise of standard deviation sd (per column if 2-D)."""
    sos = scipy.signal.butter(2, cutoff_hz, fs=FS, output="sos")
    w = scipy.signal.sosfiltfilt(sos, rng.standard_normal(n))
    return w * (sd / (w.std() + 1e-12))


def _tilt_direction(roll_deg: float, pitch_deg: float) -> np.ndarray:
    """Gravity direction in the phone frame for a trunk rolled sideways / pitched forward."""
    v = np.array([1.0, np.tan(np.radians(roll_deg)), np.tan(np.radians(pitch_deg))])
    return v / np.linalg.norm(v)


def _rotation(rng, sd_deg: float) -> np.ndarray:
    """A random small rotation matrix (phone tilted on the belt)."""
    a = np.radians(rng.normal(0.0, sd_deg, 3))
    cx, cy, cz, sx, sy, sz = *np.cos(a), *np.sin(a)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def _subject(rng, v: float) -> dict:
    def spread(mean, sd):
        return rng.normal(mean, sd * v)

    return {
        "mount": _rotation(rng, 6.0 * v),
        "cadence": spread(1.85, 0.12),  # steps per second
        "amp": np.exp(spread(0.0, 0.15)),  # overall gait vigour
        "harm": np.clip(np.array([1.0, 0.45, 0.22, 0.10]) * np.exp(rng.normal(0, 0.3 * v, 4)), 0.02, 1.5),
        "phase": rng.uniform(0, 2 * np.pi, 8),
        "stand": (spread(-8.0, 5.0), spread(0.0, 4.0)),  # roll, pitch in degrees
        "sit": (spread(9.0, 5.0), spread(12.0, 5.0)),
        "lean_up": spread(8.0, 4.0),
        "lean_down": spread(-2.0, 4.0),
        "acc_bias": rng.normal(0, 0.015, 3),
        "gyro_bias": rng.normal(0, 0.01, 3),
        "acc_noise": abs(rng.normal(0.008, 0.002)),
        "gyro_noise": abs(rng.normal(0.012, 0.003)),
    }


def _fidgets(rng, n: int, rate_hz: float, deg: float) -> np.ndarray:
    """Occasional smooth posture shifts (3 rotation angles, radians)."""
    out = np.zeros((n, 3))
    t = np.arange(n)
    for _ in range(rng.poisson(rate_hz * n / FS)):
        c, w = rng.uniform(0, n), rng.uniform(0.5, 2.0) * FS
        bump = np.exp(-0.5 * ((t - c) / (w / 2.5)) ** 2)
        out += bump[:, None] * np.radians(rng.normal(0, deg, 3))
    return out


def _session(rng, s: dict, activity: int, n: int, v: float) -> tuple[np.ndarray, np.ndarray]:
    """(n, 3) total acceleration in g and (n, 3) angular rate in rad/s in the phone frame."""
    t = np.arange(n) / FS
    angles = np.zeros((n, 3))  # small trunk rotations about x (yaw), y (pitch), z (roll)
    # Turning about the vertical axis changes no gravity reading: rate only.
    turn_rate = np.zeros(n)
    lin = np.zeros((n, 3))
    if activity in (WALKING, UPSTAIRS, DOWNSTAIRS):
        roll, pitch = s["stand"]
        cadence = s["cadence"] * {WALKING: 1.0, UPSTAIRS: rng.normal(0.80, 0.05 * v),
                                  DOWNSTAIRS: rng.normal(0.97, 0.06 * v)}[activity]
        amp = s["amp"] * {WALKING: 1.0, UPSTAIRS: rng.normal(1.05, 0.12 * v),
                          DOWNSTAIRS: rng.normal(1.5, 0.15 * v)}[activity] * rng.normal(1.0, 0.08 * v)
        harm = s["harm"].copy()
        if activity == DOWNSTAIRS:
            harm[2:] *= 1.8  # heel strikes on the way down are sharper
        elif activity == UPSTAIRS:
            harm[1] *= 1.3
        pitch += {WALKING: 0.0, UPSTAIRS: s["lean_up"], DOWNSTAIRS: s["lean_down"]}[activity]
        freq = cadence * (1.0 + _smooth_noise(rng, n, 0.2, 0.03))
        step = 2 * np.pi * np.cumsum(freq) / FS + rng.uniform(0, 2 * np.pi)
        stride = step / 2.0
        ph = s["phase"]
        envelope = amp * (1.0 + _smooth_noise(rng, n, 0.3, 0.1))
        vert = sum(h * np.cos((k + 1) * step + ph[k]) for k, h in enumerate(harm))
        lin[:, 0] = 0.30 * envelope * vert
        lin[:, 1] = 0.17 * envelope * (np.sin(stride + ph[4]) + 0.3 * np.sin(step + ph[5]))
        lin[:, 2] = 0.14 * envelope * (np.sin(step + ph[6]) + 0.4 * harm[1] * np.sin(2 * step + ph[7]))
        lin += np.stack([_smooth_noise(rng, n, 8.0, 0.04) for _ in range(3)], axis=1)
        angles[:, 0] = 0.10 * envelope * np.sin(stride + ph[1])  # pelvic yaw, once per stride
        angles[:, 1] = 0.042 * envelope * np.sin(step + ph[2])  # forward tilt, once per step
        angles[:, 2] = 0.075 * envelope * np.sin(stride + ph[3])  # pelvic roll, once per stride
        # Turns: corridor ends when walking, landings on stairs (direction per staircase).
        turn_every = {WALKING: 15.0, UPSTAIRS: 7.0, DOWNSTAIRS: 7.0}[activity]
        # One staircase for everybody (as in the UCI recordings): landings turn one way going up and
        # the other way going down, except in some sessions.
        usual = {WALKING: rng.choice([-1.0, 1.0]), UPSTAIRS: 1.0, DOWNSTAIRS: -1.0}[activity]
        sign = usual if activity == WALKING or rng.random() < 0.85 else -usual
        turn_rate = np.zeros(n)
        for c in np.arange(rng.uniform(0, turn_every), t[-1], turn_every * rng.uniform(0.8, 1.2)):
            turn_rate += sign * rng.uniform(1.0, 1.8) * np.exp(-0.5 * ((t - c) / 0.6) ** 2)
        sway = (0.4, 0.5)  # low-pass corner in Hz, degrees
    elif activity == STANDING:
        roll, pitch = s["stand"]
        sway = (1.5, 1.0)  # balancing on two feet: faster, larger sway
        angles += _fidgets(rng, n, 0.04, 4.0)
    elif activity == SITTING:
        roll, pitch = s["sit"]
        sway = (0.4, 0.6)
        angles += _fidgets(rng, n, 0.06, 5.0)
    else:  # lying: gravity across the trunk, on the back or partly on a side
        roll, pitch = 0.0, 0.0
        sway = (0.3, 0.4)
        angles += _fidgets(rng, n, 0.03, 6.0)
    roll += rng.normal(0, 3.0 * v)
    pitch += rng.normal(0, 3.0 * v)
    angles[:, 1:] += np.stack([_smooth_noise(rng, n, sway[0], np.radians(sway[1])) for _ in range(2)], axis=1)
    if activity == LYING:
        az = np.radians(rng.normal(40.0, 35.0 * v))
        up = np.array([np.tan(np.radians(rng.normal(4.0, 4.0))), np.cos(az), np.sin(az)])
        up /= np.linalg.norm(up)
    else:
        up = _tilt_direction(roll, pitch)
    # Breathing moves the trunk a little in every posture.
    angles[:, 1] += np.radians(0.3) * np.sin(2 * np.pi * rng.uniform(0.2, 0.33) * t)
    # Gravity seen by a phone rotated by `angles`: u - angles x u (small rotations).
    grav = up[None, :] - np.cross(angles, up[None, :])
    grav /= np.linalg.norm(grav, axis=1, keepdims=True)
    gyro = np.gradient(angles, 1.0 / FS, axis=0)
    gyro[:, 0] += turn_rate
    m = s["mount"]
    acc = (grav + lin) @ m.T + s["acc_bias"] + rng.normal(0, s["acc_noise"], (n, 3))
    gyro = gyro @ m.T + s["gyro_bias"] + rng.normal(0, s["gyro_noise"], (n, 3))
    return acc, gyro


def generate_har(params: HarSynthParams | None = None, **overrides) -> dict[str, np.ndarray]:
    """All windows: x (N, 128, 9), y (N,), groups (subject id strings)."""
    p = params or HarSynthParams()
    if overrides:
        p = HarSynthParams(**{**asdict(p), **overrides})
    return {k: v.copy() for k, v in _generate(p).items()}


@lru_cache(maxsize=4)
def _generate(p: HarSynthParams) -> dict[str, np.ndarray]:
    # Memoised: loading train, validation and test generates the set once.
    if p.n_subjects < 3 or p.sessions < 1 or p.windows_per_session < 1:
        raise ValueError(f"need at least 3 subjects, 1 session and 1 window per session, got {p}")
    v = p.variability
    pad = 4 * WINDOW  # filter edges are cut away
    n = 2 * pad + WINDOW + STEP * (p.windows_per_session - 1)
    xs, ys, gs = [], [], []
    for subj in range(1, p.n_subjects + 1):
        s = _subject(np.random.default_rng([p.seed, subj]), v)
        for act in range(6):
            for sess in range(p.sessions):
                # One generator per recording: the result does not depend on loop order.
                rng = np.random.default_rng([p.seed, subj, act, sess])
                acc, gyro = _session(rng, s, act, n, v)
                sig = inertial_channels(acc, gyro, FS)
                for st in window_starts(pad, n - pad + 1, WINDOW, STEP):
                    xs.append(sig[st:st + WINDOW])
                ys += [act] * p.windows_per_session
                gs += [str(subj)] * p.windows_per_session
    return {"x": np.stack(xs).astype(np.float32), "y": np.asarray(ys, np.int64), "groups": np.asarray(gs)}


def load_har_synth(split: str = "train", params: HarSynthParams | None = None, **overrides) -> Dataset:
    """Subject-disjoint train / validation / test split (or "all") of the synthetic set."""
    p = params or HarSynthParams()
    if overrides:
        p = HarSynthParams(**{**asdict(p), **overrides})
    split = normalize_split(split, ("train", "validation", "test", "all"), "the synthetic HAR set")
    arrays = _generate(p)
    ds = Dataset(name=NAME, task="har", split="all", synthetic=True, x=arrays["x"], y=arrays["y"],
                 classes=HAR_CLASSES, groups=arrays["groups"], source="synthetic",
                 source_hash=key_of({"generator": NAME, "params": asdict(p)}),
                 params={**asdict(p), "channels": CHANNELS, "window": WINDOW})
    if split == "all":
        return ds.subset(np.arange(len(ds)))  # a copy: the memoised arrays stay intact
    table = assign_groups(ds.groups, {"train": 1 - p.validation_subjects - p.test_subjects,
                                      "validation": p.validation_subjects, "test": p.test_subjects}, p.seed)
    return ds.subset(np.array([table[g] == split for g in ds.groups]), split)
