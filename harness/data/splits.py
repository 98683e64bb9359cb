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
