"""Every method x cell x dtype: the runtime compiled for the host against the numpy reference,
and the float reference against the torch model."""

import numpy as np
import pytest
import torch

from harness.export import export_graph, from_model, load_exported, reference
from harness.export.host_runtime import HostRuntime
from harness.choices import CELLS, DTYPES

from export_models import EXPORT_METHODS, inputs, padded_kp_model, tiny_model

FLOAT_TOL = 1e-5


def _export(model, dtype, out, x):
    return load_exported(export_graph(from_model(model, x.shape[1]), dtype, out, calibration=x).path)


def check_device_against_reference(got, pred, ref, dtype):
    if dtype == "int8":
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, ref)
    else:
        scale = np.abs(ref).max()
        assert np.abs(got - ref).max() <= FLOAT_TOL * scale
    np.testing.assert_array_equal(pred, reference.predict(ref))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("method", EXPORT_METHODS)
def test_host_runtime_matches_reference(method, cell, dtype, export_root):
    x = inputs(24)
    e = _export(tiny_model(method, cell), dtype, export_root / f"{method}-{cell}-{dtype}", x)
    rt = HostRuntime(e)
    xd = e.device_input(x)
    got, pred = rt.infer(xd)
    check_device_against_reference(got, pred, e.reference(xd), dtype)
    assert rt.arena_bytes == e.manifest["arena_bytes"]   # one arena rule in C and in Python
    assert rt.model_hash.hex() == e.model_hash


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("method", EXPORT_METHODS)
def test_float_reference_matches_torch(method, cell, export_root):
    model, x = tiny_model(method, cell), inputs(16, seed=1)
    e = _export(model, "fp32", export_root / f"torch-{method}-{cell}", x)
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    assert np.abs(e.reference(x) - want).max() <= 1e-4 * np.abs(want).max()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_padded_kronecker_factors(cell, dtype, export_root):
    model = padded_kp_model(cell)
    assert model.cell.ih.shape.padded and model.cell.hh.shape.padded
    x = inputs(12, seq=5, feat=7, seed=2)
    e = _export(model, dtype, export_root / f"padded-{cell}-{dtype}", x)
    xd = e.device_input(x)
    got, pred = HostRuntime(e).infer(xd)
    check_device_against_reference(got, pred, e.reference(xd), dtype)
    if dtype == "fp32":
        with torch.no_grad():
            want = model(torch.from_numpy(x)).numpy()
        assert np.abs(e.reference(x) - want).max() <= 1e-4 * np.abs(want).max()


def test_nothing_is_expanded_to_a_dense_matrix(export_root):
    """KP stores its two factors, DKP its factors and CSR values, low rank its two factors."""
    for method, kinds in (("kp", ["kron"]), ("dkp", ["kron", "csr"]), ("prune", ["csr"]), ("lowrank", ["lowrank"])):
        model = tiny_model(method, "lstm")
        e = _export(model, "fp32", export_root / f"shape-{method}", inputs(4))
        for name in ("ih", "hh"):
            layer = e.structure["layers"][name]
            assert [t["kind"] for t in layer["terms"]] == kinds
            stored = sum(e.arrays[t[p]["data"]].size for t in layer["terms"] for p in ("a", "b") if t[p])
            assert stored == getattr(model.cell, name).weight_count() < layer["in"] * layer["out"]


def test_w8_weights_take_a_quarter_of_fp32(export_root):
    """Weight values shrink 4x; the per-row scales come on top."""
    model, x = tiny_model("dense", "lstm"), inputs(8)
    got = {}
    for dtype in ("fp32", "w8"):
        e = _export(model, dtype, export_root / f"bytes-{dtype}", x)
        values = [t["a"]["data"] for layer in e.structure["layers"].values() for t in layer["terms"]]
        got[dtype] = sum(e.arrays[v].nbytes for v in values)
    assert got["w8"] * 4 == got["fp32"]


def test_int8_export_needs_calibration(export_root):
    from harness.export import ExportError
    with pytest.raises(ExportError, match="calibration"):
        export_graph(from_model(tiny_model("kp", "lstm"), 6), "int8", export_root / "nocal")


def test_a_tampered_export_is_refused(export_root):
    from harness.export import ExportError
    e = _export(tiny_model("kp", "gru"), "w8", export_root / "tamper", inputs(4))
    arrays = dict(e.arrays)
    first = sorted(arrays)[0]
    arrays[first] = arrays[first].copy()
    arrays[first].flat[0] += 1
    np.savez(e.path / "weights.npz", **arrays)
    with pytest.raises(ExportError, match="does not match manifest"):
        load_exported(e.path)
