"""UCI-HAR-style windows cut from the raw HAPT recordings.

Layout (UCI "Smartphone-Based Recognition of Human Activities and Postural
Transitions", RawData/):

    RawData/acc_expXX_userYY.txt   x y z in g, gravity included, 50 Hz
    RawData/gyro_expXX_userYY.txt  x y z in rad/s
    RawData/labels.txt             experiment user activity first last (1-based, inclusive)

Each experiment is filtered as a whole (har_signal.inertial_channels), then
windows of 128 samples with 50% overlap are cut inside labelled segments of
activities 1-6; postural transitions (7-12) and unlabelled stretches give no
window. Train and validation are split by subject with a seed.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .cache import cache_dir, hash_files, key_of, load_arrays, save_arrays
from .dataset import Dataset, assign_groups, normalize_split
from .har_signal import CHANNELS, FS, HAR_CLASSES, STEP, WINDOW, inertial_channels, window_starts

NAME = "hapt"
_ACC = re.compile(r"acc_exp(\d+)_user(\d+)\.txt$")


def find_hapt_root(path: Path) -> Path | None:
    """The RawData folder (holding labels.txt and acc_exp*_user*.txt), given it or its parent."""
    path = Path(path)
    for cand in (path / "RawData", path):
        if (cand / "labels.txt").is_file() and any(cand.glob("acc_exp*_user*.txt")):
            return cand
    return None


def _table(path: Path, cols: int) -> np.ndarray:
    try:
        a = pd.read_csv(path, sep=r"\s+", header=None, dtype=np.float64).to_numpy()
    except (pd.errors.ParserError, ValueError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"{path} is not a whitespace-separated numeric table ({exc}); re-extract RawData") from None
    if a.ndim != 2 or a.shape[1] != cols:
        raise ValueError(f"{path} has {a.shape[1] if a.ndim == 2 else 0} columns, expected {cols}")
    return a


def hapt_windows(raw: Path) -> dict[str, np.ndarray]:
    """All windows of activities 1-6: x (N, 128, 9), y (N,), groups (subject), experiment, start."""
    labels = _table(raw / "labels.txt", 5).astype(int)
    xs, ys, subj, exps, starts = [], [], [], [], []
    for acc_path in sorted(raw.glob("acc_exp*_user*.txt")):
        exp, user = (int(v) for v in _ACC.search(acc_path.name).groups())
        gyro_path = raw / acc_path.name.replace("acc_", "gyro_", 1)
        if not gyro_path.is_file():
            raise FileNotFoundError(f"{gyro_path} is missing (every acc_ file needs its gyro_ twin); "
                                    "re-extract RawData")
        acc, gyro = _table(acc_path, 3), _table(gyro_path, 3)
        if len(acc) != len(gyro):
            raise ValueError(f"{acc_path.name} has {len(acc)} rows but {gyro_path.name} has {len(gyro)}")
        signals = inertial_channels(acc, gyro, FS)
        for _, _, act, first, last in labels[(labels[:, 0] == exp) & (labels[:, 1] == user)]:
            if not 1 <= act <= 6:
                continue
            lo, hi = first - 1, min(last, len(signals))  # 1-based inclusive -> half-open
            for s in window_starts(lo, hi, WINDOW, STEP):
                xs.append(signals[s:s + WINDOW])
                ys.append(act - 1)
                subj.append(str(user))
                exps.append(exp)
                starts.append(s)
    if not xs:
        raise ValueError(f"{raw} yields no windows: labels.txt names no activity 1-6 segment of 128+ samples "
                         "in the recordings present")
    return {"x": np.stack(xs).astype(np.float32), "y": np.asarray(ys, np.int64), "groups": np.asarray(subj),
            "experiment": np.asarray(exps, np.int64), "start": np.asarray(starts, np.int64)}


def load_hapt(path, split: str = "train", *, validation: float = 0.2, seed: int = 0,
              cache: str | Path | None = None) -> Dataset:
    """HAPT windows of one subject-disjoint split: "train", "validation" or "all"."""
    path = Path(path).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"HAPT folder {path} does not exist; pass the folder that holds RawData/")
    raw = find_hapt_root(path)
    if raw is None:
        raise ValueError(f"{path} is not in the HAPT raw layout (RawData/labels.txt, acc_expXX_userYY.txt, "
                         "gyro_expXX_userYY.txt); pass the folder that holds RawData/")
    split = normalize_split(split, ("train", "validation", "all"), f"HAPT at {raw}")
    cdir = cache_dir(cache)
    rel = ["labels.txt"] + [p.name for p in raw.glob("*_exp*_user*.txt")]
    source_hash = hash_files(raw, rel, cache=cdir)
    entry = cdir / "features" / f"har-{key_of({'loader': NAME, 'source': source_hash})[:40]}.npz"
    arrays = load_arrays(entry)
    from_cache = arrays is not None
    if arrays is None:
        arrays = hapt_windows(raw)
        save_arrays(entry, **arrays)
    groups = arrays["groups"].astype(str)
    params = {"channels": CHANNELS, "window": WINDOW, "step": STEP, "validation": validation, "seed": seed,
              "pipeline": "median(3) + 20 Hz low-pass; gravity by 0.3 Hz low-pass"}
    ds = Dataset(name=NAME, task="har", split="all", synthetic=False, x=arrays["x"], y=arrays["y"],
                 classes=HAR_CLASSES, groups=groups, source=str(raw), source_hash=source_hash,
                 params=params, from_cache=from_cache)
    if split == "all":
        return ds
    table = assign_groups(groups, {"train": 1.0 - validation, "validation": validation}, seed)
    return ds.subset(np.array([table[g] == split for g in groups]), split)
