"""Exported models in firmware: on emulated boards the device gives the reference's outputs;
a model that does not fit fails the build with needed and available bytes; a device running
another model is refused."""

import numpy as np
import pytest
import torch

from harness import firmware
from harness.boards import get_board
from harness.compress import SequenceClassifier
from harness.export import export_graph, from_model, load_exported
from harness.choices import CELLS, DTYPES
from harness.device import open_device, plan_device
from harness.targets import ModelMismatch, check_hello

from export_models import EXPORT_METHODS, inputs, tiny_model
from test_export_host import check_device_against_reference


def _export(model, dtype, out, x):
    return load_exported(export_graph(from_model(model, x.shape[1]), dtype, out, calibration=x).path)


def _run_on(board_name, e, x):
    xd = e.device_input(x)
    ref = e.reference(xd)
    with open_device(plan_device(get_board(board_name)), model=e) as dev:
        results = [dev.link.infer(xd[i].tobytes()) for i in range(len(xd))]
    got = np.stack([np.frombuffer(r.output, ref.dtype) for r in results])
    pred = np.array([r.predicted for r in results])
    check_device_against_reference(got, pred, ref, e.dtype)
    return results


@pytest.mark.emulator
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("method", EXPORT_METHODS)
def test_device_matches_reference_on_qemu_m4(method, cell, dtype, export_root):
    x = inputs(3, seed=7)
    e = _export(tiny_model(method, cell), dtype, export_root / f"fw-{method}-{cell}-{dtype}", inputs(16))
    results = _run_on("qemu-m4", e, x)
    # Inference is deterministic under -icount: the same work gives the same count.
    assert all(r.counter_delta > 0 for r in results)


@pytest.mark.emulator
@pytest.mark.parametrize("method,dtype", [("kp", "int8"), ("dkp", "fp32"), ("lowrank", "w8")])
def test_device_matches_reference_on_the_nucleo_twin(method, dtype, export_root):
    e = _export(tiny_model(method, "lstm"), dtype, export_root / f"nucleo-{method}-{dtype}", inputs(16))
    _run_on("nucleo-f446re", e, inputs(3, seed=8))


def test_model_too_big_for_flash_fails_the_build_with_the_figures(export_root):
    torch.manual_seed(0)
    model = SequenceClassifier("lstm", 10, 256, 12, kind="dense", seq_len=4).eval()   # ~1.1 MB of fp32
    e = _export(model, "fp32", export_root / "too-big-flash", inputs(2, seq=4))
    with pytest.raises(firmware.ModelDoesNotFit) as err:
        firmware.build(get_board("nucleo-f446re"), model=e)
    msg = str(err.value)
    assert "\n" not in msg
    assert "does not fit nucleo-f446re: flash needs" in msg and "524,288 available" in msg


def test_model_too_big_for_ram_fails_the_build_with_the_figures(export_root):
    torch.manual_seed(0)
    model = SequenceClassifier("gru", 16, 8, 4, kind="dense", seq_len=3000).eval()    # 192 KB fp32 input
    x = inputs(1, seq=3000, feat=16)
    e = _export(model, "fp32", export_root / "too-big-ram", x)
    with pytest.raises(firmware.ModelDoesNotFit, match=r"ram needs [\d,]+ bytes, 131,072 available"):
        firmware.build(get_board("nucleo-f446re"), model=e)


@pytest.mark.emulator
def test_a_device_running_another_model_is_refused(export_root):
    x = inputs(8)
    a = _export(tiny_model("kp", "gru", seed=1), "int8", export_root / "mm-a", x)
    b = _export(tiny_model("kp", "gru", seed=2), "int8", export_root / "mm-b", x)
    assert a.model_hash != b.model_hash
    with open_device(plan_device(get_board("qemu-m4")), model=a) as dev:
        check_hello(dev.hello, dev.plan.board, a.model_hash)
        with pytest.raises(ModelMismatch, match=r"runs model [0-9a-f]{12}…, the manifest describes model") as err:
            check_hello(dev.hello, dev.plan.board, b.model_hash)
        assert "\n" not in str(err.value)
    with open_device(plan_device(get_board("qemu-m4"))) as dev:   # the link-only firmware
        with pytest.raises(ModelMismatch, match="without a model"):
            check_hello(dev.hello, dev.plan.board, a.model_hash)
