"""Wilson intervals and the exact McNemar test (harness/stats.py)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.stats import mcnemar_exact, paired_difference_interval, wilson_interval

counts = st.integers(0, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@given(counts)
def test_wilson_contains_the_estimate_and_stays_in_unit_interval(kn):
    k, n = kn
    lo, hi = wilson_interval(k, n)
    assert 0.0 <= lo <= hi <= 1.0
    if n:
        assert lo <= k / n <= hi


@given(counts)
def test_wilson_is_symmetric_under_swapping_successes_and_failures(kn):
    k, n = kn
    lo, hi = wilson_interval(k, n)
    lo2, hi2 = wilson_interval(n - k, n)
    assert lo == pytest.approx(1 - hi2, abs=1e-12) and hi == pytest.approx(1 - lo2, abs=1e-12)


@given(st.integers(1, 2000), st.floats(0.05, 0.95))
def test_wilson_narrows_with_more_samples(n, p):
    k = int(round(p * n))
    lo, hi = wilson_interval(k, n)
    lo4, hi4 = wilson_interval(4 * k, 4 * n)
    assert hi4 - lo4 < hi - lo


def test_wilson_known_values():
    # Textbook example (Newcombe 1998): 81 of 263 -> 0.2553 to 0.3662.
    lo, hi = wilson_interval(81, 263)
    assert (round(lo, 4), round(hi, 4)) == (0.2553, 0.3662)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 0) == (0.0, 1.0)
    wide, narrow = wilson_interval(45, 50, z=2.576), wilson_interval(45, 50)
    assert wide[0] < narrow[0] and wide[1] > narrow[1]


@pytest.mark.parametrize("args", [(-1, 5), (6, 5), (1.5, 5), (True, 5)])
def test_wilson_refuses_bad_counts(args):
    with pytest.raises(ValueError, match="correct|n must"):
        wilson_interval(*args)


pairs = st.integers(1, 300).flatmap(lambda n: st.tuples(st.lists(st.booleans(), min_size=n, max_size=n),
                                                         st.lists(st.booleans(), min_size=n, max_size=n)))


@given(pairs)
@settings(max_examples=200)
def test_mcnemar_is_a_probability_and_symmetric(ab):
    a, b = (np.array(v) for v in ab)
    p = mcnemar_exact(a, b)
    assert 0.0 < p <= 1.0
    assert p == pytest.approx(mcnemar_exact(b, a), rel=1e-12)


@given(pairs)
def test_mcnemar_ignores_concordant_pairs(ab):
    a, b = (np.array(v) for v in ab)
    extra = np.ones(17, bool)
    assert mcnemar_exact(np.r_[a, extra], np.r_[b, extra]) == pytest.approx(mcnemar_exact(a, b), rel=1e-12)
    assert mcnemar_exact(np.r_[a, ~extra], np.r_[b, ~extra]) == pytest.approx(mcnemar_exact(a, b), rel=1e-12)


@given(st.integers(0, 60), st.integers(0, 60))
def test_mcnemar_matches_the_binomial_sum(only_a, only_b):
    a = np.array([True] * only_a + [False] * only_b, dtype=bool)
    b = ~a
    n, k = only_a + only_b, min(only_a, only_b)
    expected = 1.0 if n == 0 else min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n)
    assert mcnemar_exact(a, b) == pytest.approx(expected, rel=1e-9)


def test_mcnemar_known_values_and_extremes():
    a = np.array([True] * 10 + [False] * 0)
    assert mcnemar_exact(a, ~a) == pytest.approx(2 / 2 ** 10)
    assert mcnemar_exact(a, a) == 1.0
    # 1,000 discordant pairs all one way: a p-value far below any threshold, not an overflow.
    big = np.ones(1000, bool)
    assert 0.0 <= mcnemar_exact(big, ~big) < 1e-250
    assert mcnemar_exact([1, 0, 1], [0, 0, 1]) == 1.0


def test_mcnemar_refuses_unpaired_or_non_boolean_input():
    with pytest.raises(ValueError, match="paired"):
        mcnemar_exact([True, False], [True])
    with pytest.raises(ValueError, match="booleans"):
        mcnemar_exact([0.5, 1.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="booleans"):
        mcnemar_exact([2, 0], [1, 0])


@given(pairs)
def test_paired_difference_is_the_accuracy_difference_inside_its_interval(ab):
    a, b = (np.array(v) for v in ab)
    d, lo, hi = paired_difference_interval(a, b)
    assert d == pytest.approx(a.mean() - b.mean(), abs=1e-12)
    assert -1.0 <= lo <= d <= hi <= 1.0
    d2, lo2, hi2 = paired_difference_interval(b, a)
    assert d2 == pytest.approx(-d, abs=1e-12)
    if len(a) > 1:
        assert lo2 == pytest.approx(-hi, abs=1e-12)


def test_paired_difference_averages_seeds_and_narrows_with_samples():
    rng = np.random.default_rng(0)
    a = rng.random((3, 4000)) < 0.9
    b = rng.random((3, 4000)) < 0.8
    d, lo, hi = paired_difference_interval(a, b)
    assert d == pytest.approx(a.mean() - b.mean())
    assert lo < 0.1 < hi and lo > 0.07
    _, lo1, hi1 = paired_difference_interval(a[0, :400], b[0, :400])
    assert hi1 - lo1 > hi - lo
    same = paired_difference_interval(a[0], a[0])
    assert same == (0.0, 0.0, 0.0)


def test_paired_difference_refuses_bad_shapes():
    with pytest.raises(ValueError, match="one shape"):
        paired_difference_interval(np.ones(3, bool), np.ones(4, bool))
    with pytest.raises(ValueError, match="booleans"):
        paired_difference_interval([0.5], [1.0])
