"""The three splits of a task's data source, each disjoint by speaker or subject."""

from __future__ import annotations

from .api import load_har, load_kws
from .dataset import Dataset, split_by_group


def load_splits(task: str, data: str = "synthetic", *, seed: int = 0) -> tuple[Dataset, Dataset, Dataset]:
    """(train, validation, test) for a task, every split disjoint by speaker or subject.

    Sources without all three are completed from what they have: HAPT (train
    and validation subjects) gives its validation subjects as the test set and
    a fifth of the training subjects as validation; a set with one split only
    (the Speech Commands 12-class test layout) is halved by speaker into a
    fine-tuning part and an evaluation part, and a fifth of the fine-tuning
    speakers validate.
    """
    loader = load_kws if task == "kws" else load_har
    got = {}
    for split in ("train", "validation", "test"):
        try:
            got[split] = loader(data, split=split)
        except ValueError as exc:
            if "split" not in str(exc):  # a missing split; anything else is a real error
                raise
    if "train" not in got:
        whole = got.get("test") or got.get("validation") or loader(data, split="all")
        got["train"], got["test"] = split_by_group(whole, 0.5, seed, names=("train", "test"))
        got.pop("validation", None)
    elif "test" not in got and "validation" in got:
        got["test"] = got.pop("validation")
    if "validation" not in got:
        got["train"], got["validation"] = split_by_group(got["train"], 0.2, seed, names=("train", "validation"))
    return got["train"], got["validation"], got["test"]


def stratified_subset(labels, n: int, seed: int = 0):
    """Indices (sorted) of `n` samples drawn per class in proportion to the classes' counts.

    The class shares follow the largest remainder, so they add up to `n`; a
    class gets at least one sample while `n` allows every class one. Within a
    class the samples are a seeded random choice: the same labels, `n` and
    seed give the same subset on every machine."""
    import numpy as np
    y = np.asarray(labels)
    if n >= len(y):
        return np.arange(len(y))
    classes, counts = np.unique(y, return_counts=True)
    exact = counts * n / len(y)
    take = np.floor(exact).astype(int)
    if n >= len(classes):
        take = np.maximum(take, 1)
    floor = 1 if n >= len(classes) else 0
    while take.sum() > n:   # the floors of one each may overshoot: take back where it stays above the floor
        over = np.where(take > floor, take - exact, -np.inf)
        take[np.argmax(over)] -= 1
    order = np.argsort(-(exact - take), kind="stable")
    for k in order[: n - take.sum()]:
        take[k] += 1
    rng = np.random.default_rng(seed)
    chosen = [rng.choice(np.flatnonzero(y == c), size=int(t), replace=False) for c, t in zip(classes, take) if t > 0]
    return np.sort(np.concatenate(chosen)) if chosen else np.arange(0)
