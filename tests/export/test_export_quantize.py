"""Quantization arithmetic, checked against exact rational arithmetic."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.export import quantize as qz

factors = st.floats(min_value=1e-12, max_value=2.0 ** 29, allow_nan=False, allow_infinity=False)


@given(factors)
def test_multiplier_represents_the_factor_closely(m):
    mult, shift = qz.multiplier(m)
    assert 1 <= shift <= 62
    if mult:
        assert (1 << 30) <= mult < (1 << 31)
        assert abs(mult / 2.0 ** shift - m) <= m * 2.0 ** -30


@settings(max_examples=300)
@given(st.integers(-(1 << 31), (1 << 31) - 1), st.floats(min_value=1e-9, max_value=8.0))
def test_requant_rounds_half_up_exactly(acc, m):
    mult, shift = qz.multiplier(m)
    got = int(qz.requant(np.array([acc]), np.array([mult]), np.array([shift]))[0])
    exact = Fraction(acc * mult, 1 << shift) + Fraction(1, 2)
    want = max(-(1 << 31), min((1 << 31) - 1, exact.numerator // exact.denominator))
    assert got == want


def test_multiplier_refuses_what_int8_cannot_hold():
    with pytest.raises(qz.QuantizationError, match="too large"):
        qz.multiplier(2.0 ** 32)
    with pytest.raises(qz.QuantizationError, match="positive"):
        qz.multiplier(0.0)


@given(st.lists(st.floats(-100, 100, width=32), min_size=1, max_size=40), st.integers(1, 5))
def test_row_quantization_error_is_within_half_a_step(values, rows):
    m = np.array(values * rows, np.float32).reshape(rows, -1)
    q, scale = qz.quantize_rows(m)
    assert q.dtype == np.int8 and np.abs(q).max() <= 127
    assert np.all(np.abs(q * scale[:, None] - m) <= scale[:, None] * 0.5 + 1e-6 * np.abs(m).max())


def test_input_quantization_saturates_and_rounds():
    x = np.array([-1000.0, -0.5, 0.0, 0.26, 1000.0])
    assert list(qz.quantize_input(x, 0.5)) == [-128, -1, 0, 1, 127]
