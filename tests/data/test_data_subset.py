"""--limit's class-stratified subset: its size, its share per class, and the same subset every time."""

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from harness.data.splits import stratified_subset


@settings(max_examples=200, deadline=None)
@example([0, 0, 0, 1, 2, 3], 4, 0)   # the floors of one overshoot: take back only where a class keeps one
@given(st.lists(st.integers(0, 5), min_size=1, max_size=300), st.integers(1, 400), st.integers(0, 3))
def test_the_subset_is_stratified_deterministic_and_of_the_size_asked(labels, n, seed):
    y = np.asarray(labels)
    idx = stratified_subset(y, n, seed)
    assert len(idx) == min(n, len(y))
    assert np.all(np.diff(idx) > 0) and (len(idx) == 0 or (idx[0] >= 0 and idx[-1] < len(y)))
    assert np.array_equal(idx, stratified_subset(y, n, seed))
    if n < len(y):
        classes, counts = np.unique(y, return_counts=True)
        got = np.array([np.sum(y[idx] == c) for c in classes])
        share = counts * n / len(y)
        if n >= len(classes):
            assert np.all(got >= 1)
            assert np.all(np.abs(got - share) < len(classes) + 1)   # the floor of one may move a few
        else:
            assert np.all(np.abs(got - share) < 1 + 1e-9)


def test_a_sorted_test_set_is_no_longer_cut_to_its_first_classes():
    y = np.repeat(np.arange(6), 240)           # what the synthetic HAR test set looks like, sorted by class
    idx = stratified_subset(y, 100)
    assert np.bincount(y[idx]).tolist() == [17, 17, 17, 17, 16, 16]
