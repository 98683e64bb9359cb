"""Each kernel of the runtime on its own, compiled for the host, against the numpy reference:
int8 bit for bit (every shape class the kernels specialise: factor dimensions 1, 2, 3, 4 and more,
both contraction orders, padded inputs and cropped outputs, both requantization forms, with and
without an accumulator), float within rounding."""

import ctypes

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.export import quantize as qz
from harness.export import reference as ref
from harness.export.host_runtime import build_kernel_library

P = ctypes.c_void_p


U8, U16, U32 = ctypes.c_uint8, ctypes.c_uint16, ctypes.c_uint32
SIGNATURES = {
    "k_dense_s8": [U16, U16] + [P] * 7 + [U32],
    "k_dense_s8_buffer": [U16, U16],
    "k_kron_s8": [U8] + [U16] * 6 + [P] * 10 + [U32],
    "k_kron_s8_buffer": [U8] + [U16] * 6,
    "k_csr_s8": [U16, U16] + [P] * 8,
    "k_lowrank_s8": [U16, U16, U16] + [P] * 10 + [U32],
    "k_lowrank_s8_buffer": [U16, U16],
    "k_kron_f32": [U8] + [U16] * 6 + [P] * 6 + [U32],
    "k_kron_f32_buffer": [U8] + [U16] * 6,
    "k_dense_f32": [U16, U16] + [P] * 4,
}


@pytest.fixture(scope="module")
def lib():
    lib = ctypes.CDLL(str(build_kernel_library()))
    for name, args in SIGNATURES.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = ctypes.c_size_t if name.endswith("_buffer") else None
    return lib


def _p(a):
    return None if a is None else a.ctypes.data


def _factors(rng, n, regime):
    """Requant factors: small ones (stored at shift 32), or spread ones (normalized per row)."""
    if regime == "shift32":
        return rng.uniform(2.0 ** -12, 2.0 ** -6, n)
    return np.exp(rng.uniform(np.log(1e-9), np.log(4.0), n))


def _rq(rng, name, n, regime, arrays):
    mult, shift = qz.multipliers(_factors(rng, n, regime))
    arrays[name + "_m"], arrays[name + "_s"] = mult, shift
    return {"mult": name + "_m", "shift": name + "_s"}


def _acc(rng, n, with_acc):
    return rng.integers(-(1 << 31), 1 << 31, n, dtype=np.int64).astype(np.int32) // 64 if with_acc else None


def _check(got, want_term, acc):
    base = np.zeros(len(got), np.int64) if acc is None else acc.astype(np.int64)
    np.testing.assert_array_equal(got, qz.sat32(base + want_term.reshape(-1)))


dims = st.integers(1, 9)
settings_ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@settings_
@given(m1=dims, n1=dims, m2=dims, n2=dims, order=st.sampled_from([1, 2]), crop=st.integers(0, 3),
       pad=st.integers(0, 3), regime=st.sampled_from(["shift32", "spread"]), with_acc=st.booleans(),
       seed=st.integers(0, 2 ** 16))
def test_kron_s8_matches_the_reference(lib, m1, n1, m2, n2, order, crop, pad, regime, with_acc, seed):
    rng = np.random.default_rng(seed)
    n_in, n_out = max(1, n1 * n2 - pad), max(1, m1 * m2 - crop)
    arrays = {"a": rng.integers(-127, 128, (m1, n1)).astype(np.int8),
              "b": rng.integers(-127, 128, (m2, n2)).astype(np.int8)}
    first, second = (m2, m1) if order == 1 else (m1, m2)
    t = {"kind": "kron", "order": order, "in": n_in, "out": n_out,
         "a": {"rows": m1, "cols": n1, "data": "a", "scale": None},
         "b": {"rows": m2, "cols": n2, "data": "b", "scale": None},
         "mid": _rq(rng, "mid", first, regime, arrays), "acc": _rq(rng, "acc", second, regime, arrays)}
    x = rng.integers(-128, 128, (1, n_in)).astype(np.int8)
    acc = _acc(rng, n_out, with_acc)
    y = np.zeros(n_out, np.int32)
    size = lib.k_kron_s8_buffer(order, n_in, n_out, m1, n1, m2, n2)
    scratch = np.zeros(size // 4 + 1, np.int32)
    lib.k_kron_s8(order, n_in, n_out, m1, n1, m2, n2, _p(arrays["a"]), _p(arrays["b"]), _p(arrays["mid_m"]),
                  _p(arrays["mid_s"]), _p(arrays["acc_m"]), _p(arrays["acc_s"]), _p(x), _p(acc), _p(y),
                  _p(scratch), size)
    _check(y, ref._term_q(t, arrays, x.astype(np.int64)), acc)


@settings_
@given(rows=st.integers(1, 13), cols=st.integers(1, 40), regime=st.sampled_from(["shift32", "spread"]),
       with_acc=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_dense_s8_matches_the_reference(lib, rows, cols, regime, with_acc, seed):
    rng = np.random.default_rng(seed)
    arrays = {"w": rng.integers(-127, 128, (rows, cols)).astype(np.int8)}
    t = {"kind": "dense", "a": {"rows": rows, "cols": cols, "data": "w", "scale": None},
         "acc": _rq(rng, "acc", rows, regime, arrays)}
    x = rng.integers(-128, 128, (1, cols)).astype(np.int8)
    acc = _acc(rng, rows, with_acc)
    y = np.zeros(rows, np.int32)
    size = lib.k_dense_s8_buffer(rows, cols)
    scratch = np.zeros(size // 4 + 1, np.int32)
    lib.k_dense_s8(rows, cols, _p(arrays["w"]), _p(arrays["acc_m"]), _p(arrays["acc_s"]), _p(x), _p(acc), _p(y),
                   _p(scratch), size)
    _check(y, ref._term_q(t, arrays, x.astype(np.int64)), acc)


@settings_
@given(rows=st.integers(1, 12), cols=st.integers(1, 30), density=st.floats(0.0, 1.0),
       regime=st.sampled_from(["shift32", "spread"]), with_acc=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_csr_s8_matches_the_reference(lib, rows, cols, density, regime, with_acc, seed):
    rng = np.random.default_rng(seed)
    mask = rng.random((rows, cols)) < density
    indptr = np.concatenate([[0], np.cumsum(mask.sum(1))]).astype(np.uint16)
    indices = np.nonzero(mask)[1].astype(np.uint16)
    arrays = {"v": rng.integers(-127, 128, int(mask.sum())).astype(np.int8), "ip": indptr, "ix": indices}
    t = {"kind": "csr", "in": cols, "out": rows, "a": {"rows": rows, "cols": cols, "data": "v", "scale": None},
         "indptr": "ip", "indices": "ix", "acc": _rq(rng, "acc", rows, regime, arrays)}
    x = rng.integers(-128, 128, (1, cols)).astype(np.int8)
    acc = _acc(rng, rows, with_acc)
    y = np.zeros(rows, np.int32)
    v = arrays["v"] if arrays["v"].size else np.zeros(1, np.int8)
    ix = indices if indices.size else np.zeros(1, np.uint16)
    lib.k_csr_s8(cols, rows, _p(v), _p(indptr), _p(ix), _p(arrays["acc_m"]), _p(arrays["acc_s"]), _p(x),
                 _p(acc), _p(y))
    _check(y, ref._term_q(t, arrays, x.astype(np.int64)), acc)


@settings_
@given(rank=st.integers(1, 9), n_in=st.integers(1, 20), n_out=st.integers(1, 12),
       regime=st.sampled_from(["shift32", "spread"]), with_acc=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_lowrank_s8_matches_the_reference(lib, rank, n_in, n_out, regime, with_acc, seed):
    rng = np.random.default_rng(seed)
    arrays = {"v": rng.integers(-127, 128, (rank, n_in)).astype(np.int8),
              "u": rng.integers(-127, 128, (n_out, rank)).astype(np.int8)}
    t = {"kind": "lowrank", "a": {"rows": rank, "cols": n_in, "data": "v", "scale": None},
         "b": {"rows": n_out, "cols": rank, "data": "u", "scale": None},
         "mid": _rq(rng, "mid", rank, regime, arrays), "acc": _rq(rng, "acc", n_out, regime, arrays)}
    x = rng.integers(-128, 128, (1, n_in)).astype(np.int8)
    acc = _acc(rng, n_out, with_acc)
    y = np.zeros(n_out, np.int32)
    size = lib.k_lowrank_s8_buffer(rank, n_in)
    scratch = np.zeros(size // 4 + 1, np.int32)
    lib.k_lowrank_s8(rank, n_in, n_out, _p(arrays["v"]), _p(arrays["u"]), _p(arrays["mid_m"]), _p(arrays["mid_s"]),
                     _p(arrays["acc_m"]), _p(arrays["acc_s"]), _p(x), _p(acc), _p(y), _p(scratch), size)
    _check(y, ref._term_q(t, arrays, x.astype(np.int64)), acc)


@settings_
@given(m1=dims, n1=dims, m2=dims, n2=dims, order=st.sampled_from([1, 2]), crop=st.integers(0, 3),
       pad=st.integers(0, 3), seed=st.integers(0, 2 ** 16))
def test_kron_f32_matches_the_reference(lib, m1, n1, m2, n2, order, crop, pad, seed):
    rng = np.random.default_rng(seed)
    n_in, n_out = max(1, n1 * n2 - pad), max(1, m1 * m2 - crop)
    arrays = {"a": rng.standard_normal((m1, n1)).astype(np.float32),
              "b": rng.standard_normal((m2, n2)).astype(np.float32)}
    t = {"kind": "kron", "order": order, "in": n_in, "out": n_out,
         "a": {"rows": m1, "cols": n1, "data": "a", "scale": None},
         "b": {"rows": m2, "cols": n2, "data": "b", "scale": None}}
    x = rng.standard_normal((1, n_in)).astype(np.float32)
    acc = rng.standard_normal(n_out).astype(np.float32)
    y = np.zeros(n_out, np.float32)
    size = lib.k_kron_f32_buffer(order, n_in, n_out, m1, n1, m2, n2)
    scratch = np.zeros(size // 4 + 1, np.float32)
    lib.k_kron_f32(order, n_in, n_out, m1, n1, m2, n2, _p(arrays["a"]), _p(arrays["b"]), _p(x), _p(acc), _p(y),
                   _p(scratch), size)
    want = acc + ref._term_f(t, arrays, x, None, "t").reshape(-1)
    assert np.abs(y - want).max() <= 1e-5 * max(1.0, np.abs(want).max())


def test_dense_f32_matches_the_reference(lib):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((7, 13)).astype(np.float32)
    x = rng.standard_normal(13).astype(np.float32)
    y = np.zeros(7, np.float32)
    lib.k_dense_f32(7, 13, _p(w), _p(x), None, _p(y))
    assert np.abs(y - w @ x).max() <= 1e-5 * np.abs(w @ x).max()
