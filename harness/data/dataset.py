"""The one dataset object every loader returns, and splits that keep groups apart."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

SPLITS = ("train", "validation", "test", "all")

_SPLIT_ALIASES = {"val": "validation", "valid": "validation", "dev": "validation", "eval": "test"}


def normalize_split(split: str, available: tuple[str, ...], source: str) -> str:
    s = _SPLIT_ALIASES.get(str(split).lower(), str(split).lower())
    if s not in available:
        raise ValueError(f"split {split!r} is not available for {source}; choose one of {', '.join(available)}")
    return s


def array_hash(x: np.ndarray, y: np.ndarray, groups: np.ndarray, classes: list[str]) -> str:
    """sha256 over the exact arrays a model sees, their labels and group ids."""
    h = hashlib.sha256()
    for a in (np.ascontiguousarray(x, dtype=np.float32), np.ascontiguousarray(y, dtype=np.int64)):
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    h.update("\0".join(map(str, groups)).encode())
    h.update("\0".join(classes).encode())
    return h.hexdigest()


@dataclass(frozen=True, eq=False)
class Dataset:
    """Features, labels and who produced each sample.

    x: float32 (N, T, F); y: int64 (N,) indexing `classes`; groups: speaker
    (KWS) or subject (HAR) id per sample, the unit that splits keep disjoint.
    `content_hash` identifies the arrays; `source_hash` the raw input (files
    or generation parameters) they were computed from.
    """

    name: str
    task: str  # "kws" | "har"
    split: str
    synthetic: bool
    x: np.ndarray
    y: np.ndarray
    classes: list[str]
    groups: np.ndarray
    source: str
    source_hash: str
    params: dict[str, Any] = field(default_factory=dict)
    files: tuple[str, ...] | None = None
    from_cache: bool = False
    content_hash: str = ""

    def __post_init__(self):
        x = np.ascontiguousarray(self.x, dtype=np.float32)
        y = np.ascontiguousarray(self.y, dtype=np.int64)
        g = np.asarray(self.groups).astype(str)
        if x.ndim != 3 or len(x) != len(y) or len(y) != len(g):
            raise ValueError(f"inconsistent dataset arrays: x {x.shape}, y {y.shape}, groups {g.shape}")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "groups", g)
        object.__setattr__(self, "classes", list(self.classes))
        object.__setattr__(self, "content_hash", array_hash(x, y, g, self.classes))

    @property
    def group_kind(self) -> str:
        return "speaker" if self.task == "kws" else "subject"

    @property
    def speaker(self) -> np.ndarray:
        if self.task != "kws":
            raise AttributeError(f"{self.name} is a {self.task} dataset: it has `subject`, not `speaker`")
        return self.groups

    @property
    def subject(self) -> np.ndarray:
        if self.task != "har":
            raise AttributeError(f"{self.name} is a {self.task} dataset: it has `speaker`, not `subject`")
        return self.groups

    def __len__(self) -> int:
        return len(self.y)

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, split={self.split!r}, synthetic={self.synthetic}, "
                f"x={self.x.shape}, classes={len(self.classes)}, hash={self.content_hash[:12]})")

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.y, minlength=len(self.classes))
        return {c: int(n) for c, n in zip(self.classes, counts)}

    def subset(self, index, split: str | None = None) -> "Dataset":
        """A new dataset of the selected samples (boolean mask or indices)."""
        idx = np.asarray(index)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        files = tuple(self.files[i] for i in idx) if self.files is not None else None
        return replace(self, x=self.x[idx], y=self.y[idx], groups=self.groups[idx], files=files,
                       split=split or self.split)

    def card(self) -> dict[str, Any]:
        """What a model card or report records about the data."""
        return {
            "name": self.name, "task": self.task, "split": self.split, "synthetic": self.synthetic,
            "content_hash": self.content_hash, "source": self.source, "source_hash": self.source_hash,
            "n": len(self), "shape": list(self.x.shape[1:]), "classes": self.classes,
            "class_counts": self.class_counts(), f"n_{self.group_kind}s": int(len(np.unique(self.groups))),
            "params": json.loads(json.dumps(self.params, default=str)),
        }


def assign_groups(groups, fractions: dict[str, float], seed: int) -> dict[str, str]:
    """Deterministically give each distinct group one split name.

    Groups are sorted before a seeded shuffle so the result depends on the
    set of ids only, not on file order. Every split with a positive fraction
    gets at least one group when there are enough groups.
    """
    uniq = sorted(set(map(str, groups)))
    rng = np.random.default_rng(seed)
    order = [uniq[i] for i in rng.permutation(len(uniq))]
    names = list(fractions)
    counts = [int(round(fractions[n] * len(order))) for n in names]
    for i, n in enumerate(names):
        if fractions[n] > 0 and counts[i] == 0 and len(order) > len(names):
            counts[i] = 1
    # The first split takes whatever rounding left over.
    counts[0] = len(order) - sum(counts[1:])
    if counts[0] < 0:
        raise ValueError(f"too few groups ({len(order)}) for split fractions {fractions}")
    out, start = {}, 0
    for n, c in zip(names, counts):
        for g in order[start:start + c]:
            out[g] = n
        start += c
    return out


def split_by_group(ds: Dataset, holdout: float = 0.5, seed: int = 0,
                   names: tuple[str, str] = ("train", "test")) -> tuple[Dataset, Dataset]:
    """Split into two datasets whose speakers (or subjects) never overlap.

    Samples without a group id (empty string, e.g. background-noise silence
    clips) are split one by one with the same fraction.
    """
    if not 0.0 < holdout < 1.0:
        raise ValueError(f"holdout must be between 0 and 1 (exclusive), got {holdout}")
    g = ds.groups.copy()
    anonymous = g == ""
    # Each anonymous sample becomes its own group so it can land on either side.
    g[anonymous] = np.char.add("\0", np.flatnonzero(anonymous).astype(str))
    real = sorted(set(g[~anonymous]))
    anon = sorted(set(g[anonymous]))
    table = {}
    if real:
        table.update(assign_groups(real, {names[0]: 1 - holdout, names[1]: holdout}, seed))
    if anon:
        table.update(assign_groups(anon, {names[0]: 1 - holdout, names[1]: holdout}, seed + 1))
    side = np.array([table[v] for v in g])
    return ds.subset(side == names[0], names[0]), ds.subset(side == names[1], names[1])


def speaker_disjoint_split(ds: Dataset, holdout: float = 0.5, seed: int = 0) -> tuple[Dataset, Dataset]:
    """(fine-tune part, evaluation part) of a KWS set, no speaker in both."""
    if ds.task != "kws":
        raise ValueError(f"{ds.name} is not a keyword-spotting set; use split_by_group for subjects")
    return split_by_group(ds, holdout, seed, names=("finetune", "eval"))
