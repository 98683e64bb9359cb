"""UCI HAR raw inertial signals in the published layout.

    UCI HAR Dataset/{train,test}/Inertial Signals/{body_acc,body_gyro,total_acc}_{x,y,z}_{split}.txt
    UCI HAR Dataset/{train,test}/y_{split}.txt, subject_{split}.txt

Each signal file has one 128-sample window per row. The published split is
by subject (21 train, 9 test); labels 1-6 become class indices 0-5.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .cache import cache_dir, hash_files, key_of, load_arrays, save_arrays
from .dataset import Dataset, normalize_split
from .har_signal import CHANNELS, HAR_CLASSES, WINDOW

NAME = "uci-har"


def find_uci_har_root(path: Path) -> Path | None:
    """The folder holding train/ and test/ ("UCI HAR Dataset"), given it or its parent."""
    path = Path(path)
    for cand in (path, path / "UCI HAR Dataset"):
        if any((cand / s / "Inertial Signals").is_dir() for s in ("train", "test")):
            return cand
    return None


def _files(split: str) -> list[str]:
    return ([f"{split}/Inertial Signals/{c}_{split}.txt" for c in CHANNELS]
            + [f"{split}/y_{split}.txt", f"{split}/subject_{split}.txt"])


def _read_table(path: Path) -> np.ndarray:
    try:
        return pd.read_csv(path, sep=r"\s+", header=None, dtype=np.float64).to_numpy()
    except (pd.errors.ParserError, ValueError) as exc:
        raise ValueError(f"{path} is not a whitespace-separated numeric table ({exc}); "
                         "re-extract the UCI HAR archive") from None


def _read_split(root: Path, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    missing = [f for f in _files(split) if not (root / f).is_file()]
    if missing:
        raise FileNotFoundError(f"UCI HAR file {root / missing[0]} is missing "
                                f"({len(missing)} of the {split} files); re-extract the archive")
    sig = [_read_table(root / f) for f in _files(split)[:9]]
    y = _read_table(root / f"{split}/y_{split}.txt")[:, 0]
    subj = _read_table(root / f"{split}/subject_{split}.txt")[:, 0]
    for f, s in zip(CHANNELS, sig):
        if s.shape != (len(y), WINDOW):
            raise ValueError(f"{f}_{split}.txt has shape {s.shape}, expected ({len(y)}, {WINDOW}) to match "
                             f"y_{split}.txt; the files are from different versions")
    if len(subj) != len(y):
        raise ValueError(f"subject_{split}.txt has {len(subj)} rows but y_{split}.txt has {len(y)}")
    if not np.isin(y, np.arange(1, 7)).all():
        raise ValueError(f"y_{split}.txt holds labels outside 1-6; this is not the 6-activity UCI HAR set")
    return np.stack(sig, axis=-1).astype(np.float32), (y - 1).astype(np.int64), subj.astype(int).astype(str)


def load_uci_har(path, split: str = "train", *, cache: str | Path | None = None) -> Dataset:
    """Windows (N, 128, 9) of the published train or test split (or both: "all")."""
    path = Path(path).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"UCI HAR folder {path} does not exist; pass the 'UCI HAR Dataset' folder")
    root = find_uci_har_root(path)
    if root is None:
        raise ValueError(f"{path} is not in the UCI HAR layout (train/Inertial Signals/...); "
                         "pass the 'UCI HAR Dataset' folder or its parent")
    split = normalize_split(split, ("train", "test", "all"), f"UCI HAR at {root} (validation: use split_by_group)")
    splits = ["train", "test"] if split == "all" else [split]
    rel = [f for s in splits for f in _files(s) if (root / f).is_file()]
    cdir = cache_dir(cache)
    source_hash = hash_files(root, rel, cache=cdir)
    entry = cdir / "features" / f"har-{key_of({'loader': NAME, 'source': source_hash, 'split': split})[:40]}.npz"
    cached = load_arrays(entry)
    if cached is None:
        parts = [_read_split(root, s) for s in splits]
        arrays = {"x": np.concatenate([p[0] for p in parts]), "y": np.concatenate([p[1] for p in parts]),
                  "groups": np.concatenate([p[2] for p in parts])}
        save_arrays(entry, **arrays)
    else:
        arrays = cached
    return Dataset(name=NAME, task="har", split=split, synthetic=False, x=arrays["x"], y=arrays["y"],
                   classes=HAR_CLASSES, groups=arrays["groups"], source=str(root), source_hash=source_hash,
                   params={"channels": CHANNELS, "window": WINDOW}, from_cache=cached is not None)
