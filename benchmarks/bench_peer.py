"""Our runtime and CMSIS-NN side by side: one image per board, one run, one table.

    .venv/bin/python benchmarks/bench_peer.py [--board qemu-m4 ...] [--json OUT] [--out FILE.md]

Boards: qemu-m4, qemu-m7, qemu-m33, corstone-300, and corstone-300+mve (both sides built for Helium).

The image holds, at the exact shapes of the default KWS and HAR models
(docs/training.md): CMSIS-NN's `arm_lstm_unidirectional_s8` with a dense
head (`arm_fully_connected_s8`), its `arm_lstm_unidirectional_f32`, its
`arm_fully_connected_s8` alone at 512x128, and our runtime for dense, kp,
dkp, prune and lowrank in int8 and fp32, whole inferences and the weight
layers alone. It runs under QEMU `-icount shift=0`; figures are executed
instructions (never time), all from that one run. Weights are drawn at
random (the recipes' shapes and final densities), which does not change the
counts.

CMSIS-NN is found at $CMSIS_NN_DIR, else ../shared/peers/CMSIS-NN beside the
repository; without it the benchmark says so and stops. Before its counts
are used, the image runs CMSIS-NN's own LSTM unit tests (lstm_1, lstm_2,
lstm_small_f32: inputs and expected outputs from its Tests/ tree) and
reports any mismatch; the test data is found at $CMSIS_NN_TESTS (the
TestData folder), else <CMSIS-NN>/Tests/UnitTest/TestCases/TestData; where
neither exists the table says "unverified". Nothing of CMSIS-NN is copied
into the project: its sources and test data are compiled from where they lie.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import attrs
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.boards import get_board  # noqa: E402
from harness.export import cgen, from_model, lower  # noqa: E402
from harness.export.exporter import calibrate, model_hash  # noqa: E402
from harness import __version__  # noqa: E402
from harness.paths import build_root, firmware_source  # noqa: E402

from default_models import SHAPES, calibration_inputs, random_model  # noqa: E402

METHODS = ("dense", "kp", "dkp", "prune", "lowrank")
DTYPES = ("int8", "fp32")
# Cores with the DSP extension CMSIS-NN's s8 kernels use. "corstone-300+mve" is the same board with both
# sides built for integer Helium (-mcpu=cortex-m55+nomve.fp: CMSIS-NN's float LSTM does not build with MVE float):
# CMSIS-NN's MVE kernels, and our C as the compiler vectorises it.
PEER_BOARDS = ("qemu-m4", "qemu-m7", "qemu-m33", "corstone-300", "corstone-300+mve")
# Boards whose flash cannot hold the benchmark's constants: a larger memory of the emulated board for them.
BIG_CONST = {"corstone-300": (0x70000000, 16 << 20)}   # the AN547's DDR, Secure alias
CMSIS_DIRS = ("ActivationFunctions", "BasicMathFunctions", "FullyConnectedFunctions", "LSTMFunctions",
              "NNSupportFunctions")
UNIT_TESTS_S8 = ("lstm_1", "lstm_2")
UNIT_TESTS_F32 = ("lstm_small_f32",)


class Skip(RuntimeError):
    """The benchmark cannot run here; one line says why."""


def cmsis_dir() -> Path:
    env = os.environ.get("CMSIS_NN_DIR")
    for d in ([Path(env)] if env else []) + [REPO.parent / "shared" / "peers" / "CMSIS-NN"]:
        if (d / "Include" / "arm_nnfunctions.h").is_file():
            return d
    raise Skip("CMSIS-NN not found: set CMSIS_NN_DIR or place it at ../shared/peers/CMSIS-NN "
               "(see ../shared/peers/README.md); skipping the side-by-side benchmark")


def cmsis_tests(cmsis: Path) -> Path | None:
    env = os.environ.get("CMSIS_NN_TESTS")
    for d in ([Path(env)] if env else []) + [cmsis / "Tests" / "UnitTest" / "TestCases" / "TestData"]:
        if all((d / t / "test_data.h").is_file() for t in UNIT_TESTS_S8 + UNIT_TESTS_F32):
            return d
    return None


# ------------------------------------------------------------------ models --

@dataclass
class Model:
    task: str
    method: str
    macs: int                 # per inference
    layer_macs: dict          # ih, hh: per step
    lowered: dict             # dtype -> Lowered


def build_models() -> list[Model]:
    out = []
    for task, (seq, _, _) in SHAPES.items():
        x = calibration_inputs(task)
        for method in METHODS:
            model, table = random_model(task, method)
            graph = from_model(model, seq)
            scale, peaks = calibrate(graph, x)
            lowered = {"int8": lower(graph, "int8", input_scale=scale, mid_peaks=peaks), "fp32": lower(graph, "fp32")}
            out.append(Model(task, method, int(table.loc["total", "macs_seq"]),
                             {n: int(table.loc[f"cell.{n}", "macs_step"]) for n in ("ih", "hh")}, lowered))
    return out


# --------------------------------------------------------------- C sources --

def _c_array(ctype: str, name: str, values) -> str:
    v = np.asarray(values).ravel()
    if ctype == "float":
        items = [f"{float(np.float32(a)).hex()}f" for a in v]
    else:
        items = [str(int(a)) for a in v]
    rows = "\n".join("    " + ", ".join(items[i:i + 16]) + "," for i in range(0, len(items), 16))
    return f"static const {ctype} {name}[{max(1, len(v))}] = {{\n{rows or '    0,'}\n}};\n"


def _tflite_multiplier(m: float) -> tuple[int, int]:
    """TFLite's (multiplier, shift): m = multiplier / 2^31 · 2^shift."""
    mant, exp = math.frexp(m)
    q = int(round(mant * (1 << 31)))
    if q == 1 << 31:
        q, exp = q // 2, exp + 1
    return q, exp


def _peer_lstm_s8(prefix: str, m: Model) -> tuple[str, str, str]:
    """CMSIS-NN's int8 LSTM and head at this model's shapes, with our dense model's int8 weights."""
    s, arrays = m.lowered["int8"].structure, m.lowered["int8"].arrays
    seq, feat, hidden, classes = s["seq_len"], s["input_size"], s["hidden"], s["classes"]
    L = s["layers"]
    w_ih = arrays[L["ih"]["terms"][0]["a"]["data"]].reshape(4, hidden, feat)
    w_hh = arrays[L["hh"]["terms"][0]["a"]["data"]].reshape(4, hidden, hidden)
    bias = arrays[L["ih"]["bias"]].reshape(4, hidden) if L["ih"]["bias"] else np.zeros((4, hidden), np.int32)
    w_head = arrays[L["head"]["terms"][0]["a"]["data"]]
    b_head = arrays[L["head"]["bias"]] if L["head"]["bias"] else np.zeros(classes, np.int32)
    # Plausible TFLite-style scales: gates in Q.12, cell state in Q.11, hidden 1/128.
    s_x, s_w, s_h = s["input_scale"], 0.5 / 127, 1.0 / 128
    in_m, in_s = _tflite_multiplier(s_x * s_w * 4096)
    h_m, h_s = _tflite_multiplier(s_h * s_w * 4096)
    f2c = _tflite_multiplier(2.0 ** -15)
    i2c = _tflite_multiplier(2.0 ** -19)
    out_m, out_s = _tflite_multiplier(2.0 ** -30 / s_h)
    head_m, head_s = _tflite_multiplier(s_h * s_w / 0.1)
    gates = {"forget": 1, "input": 0, "cell": 2, "output": 3}   # our rows are i, f, g, o
    data = []
    for g, k in gates.items():
        data.append(_c_array("int8_t", f"{prefix}_{g}_wi", w_ih[k]))
        data.append(_c_array("int8_t", f"{prefix}_{g}_wh", w_hh[k]))
        data.append(_c_array("int32_t", f"{prefix}_{g}_bias", bias[k]))
        data.append(f"static int32_t {prefix}_{g}_ksum_i[{hidden}], {prefix}_{g}_ksum_h[{hidden}];\n")
    data.append(_c_array("int8_t", f"{prefix}_head_w", w_head))
    data.append(_c_array("int32_t", f"{prefix}_head_b", b_head))
    data.append(f"static int16_t {prefix}_t1[{hidden}], {prefix}_t2[{hidden}], {prefix}_cell[{hidden}];\n"
                f"static int8_t {prefix}_out[{seq * hidden}], {prefix}_logits[{classes}];\n"
                f"static int32_t {prefix}_head_ksum[{classes}];\n")

    def gate(g, act):
        return (f"{{{in_m}, {in_s}, {prefix}_{g}_wi, {prefix}_{g}_ksum_i, {h_m}, {h_s}, {prefix}_{g}_wh, "
                f"{prefix}_{g}_ksum_h, {prefix}_{g}_bias, {act}}}")
    data.append(
        f"static const cmsis_nn_lstm_params {prefix}_params = {{1, 1, {seq}, {feat}, {hidden}, 0, "
        f"{f2c[0]}, {f2c[1]}, {i2c[0]}, {i2c[1]}, 32767, -11, {out_m}, {out_s}, 0,\n"
        f"    {gate('forget', 'ARM_SIGMOID')}, {gate('input', 'ARM_SIGMOID')},\n"
        f"    {gate('cell', 'ARM_TANH')}, {gate('output', 'ARM_SIGMOID')}}};\n")
    setup = "".join(
        f"    arm_vector_sum_s8({prefix}_{g}_ksum_i, {feat}, {hidden}, {prefix}_{g}_wi, 0, 0, {prefix}_{g}_bias);\n"
        f"    arm_vector_sum_s8({prefix}_{g}_ksum_h, {hidden}, {hidden}, {prefix}_{g}_wh, 0, 0, NULL);\n"
        for g in gates)
    # The head's kernel sums (with its bias folded in): the buffer arm_fully_connected_s8 reads on Helium.
    setup += f"    arm_vector_sum_s8({prefix}_head_ksum, {hidden}, {classes}, {prefix}_head_w, 0, 0, {prefix}_head_b);\n"
    run = (f"static void {prefix}_run(void)\n{{\n"
           f"    cmsis_nn_lstm_context ctx = {{{prefix}_t1, {prefix}_t2, {prefix}_cell, NULL}};\n"
           f"    (void)arm_lstm_unidirectional_s8(input_{m.task}_s8, {prefix}_out, &{prefix}_params, &ctx);\n"
           f"    const cmsis_nn_context c = {{{prefix}_head_ksum, sizeof {prefix}_head_ksum}};\n"
           f"    const cmsis_nn_fc_params fc = {{0, 0, 0, {{-128, 127}}}};\n"
           f"    const cmsis_nn_per_tensor_quant_params q = {{{head_m}, {head_s}}};\n"
           f"    const cmsis_nn_dims in = {{1, 1, 1, {hidden}}}, filter = {{{hidden}, 1, 1, {classes}}}, "
           f"bias = {{1, 1, 1, {classes}}}, out = {{1, 1, 1, {classes}}};\n"
           f"    (void)arm_fully_connected_s8(&c, &fc, &q, &in, &{prefix}_out[{(seq - 1) * hidden}], &filter, "
           f"{prefix}_head_w, &bias, {prefix}_head_b, &out, {prefix}_logits);\n}}\n")
    return "".join(data), setup, run


def _peer_lstm_f32(prefix: str, m: Model) -> tuple[str, str]:
    s, arrays = m.lowered["fp32"].structure, m.lowered["fp32"].arrays
    seq, feat, hidden = s["seq_len"], s["input_size"], s["hidden"]
    L = s["layers"]
    w_ih = arrays[L["ih"]["terms"][0]["a"]["data"]].reshape(4, hidden, feat)
    w_hh = arrays[L["hh"]["terms"][0]["a"]["data"]].reshape(4, hidden, hidden)
    bias = arrays[L["ih"]["bias"]].reshape(4, hidden)
    gates = {"forget": 1, "input": 0, "cell": 2, "output": 3}
    data = []
    for g, k in gates.items():
        data += [_c_array("float", f"{prefix}_{g}_wi", w_ih[k]), _c_array("float", f"{prefix}_{g}_wh", w_hh[k]),
                 _c_array("float", f"{prefix}_{g}_bias", bias[k])]
    data.append(f"static float {prefix}_t1[{hidden}], {prefix}_t2[{hidden}], {prefix}_cell[{hidden}], "
                f"{prefix}_out[{seq * hidden}];\n")

    def gate(g, act):
        return f"{{{prefix}_{g}_wi, {prefix}_{g}_wh, {prefix}_{g}_bias, {act}}}"
    data.append(f"static const cmsis_nn_lstm_params_f32 {prefix}_params = {{1, 1, {seq}, {feat}, {hidden}, 0.0f,\n"
                f"    {gate('forget', 'ARM_NN_FLT_ACT_SIGMOID')}, {gate('input', 'ARM_NN_FLT_ACT_SIGMOID')},\n"
                f"    {gate('cell', 'ARM_NN_FLT_ACT_TANH')}, {gate('output', 'ARM_NN_FLT_ACT_SIGMOID')}}};\n")
    run = (f"static void {prefix}_run(void)\n{{\n"
           f"    cmsis_nn_lstm_context_f32 ctx = {{{prefix}_t1, {prefix}_t2, {prefix}_cell}};\n"
           f"    (void)arm_lstm_unidirectional_f32(input_{m.task}_f32, {prefix}_out, &{prefix}_params, &ctx);\n}}\n")
    return "".join(data), run


def _unit_test_s8(name: str) -> tuple[str, str]:
    """A check of arm_lstm_unidirectional_s8 on one of CMSIS-NN's own test cases (its data, our code)."""
    P, p = name.upper(), name
    gates = ("forget", "input", "cell", "output")
    decl = [f'#include "{name}/test_data.h"\n',
            f"static int8_t {p}_got[{P}_BATCH_SIZE * {P}_TIME_STEPS * {P}_HIDDEN_SIZE];\n",
            f"static int16_t {p}_b1[{P}_HIDDEN_SIZE * {P}_BATCH_SIZE], {p}_b2[{P}_HIDDEN_SIZE * {P}_BATCH_SIZE], "
            f"{p}_b3[{P}_HIDDEN_SIZE * {P}_BATCH_SIZE];\n"]
    for g in gates:
        decl.append(f"static int32_t {p}_{g}_ki[{P}_HIDDEN_SIZE], {p}_{g}_kh[{P}_HIDDEN_SIZE];\n")
    body = [f"static uint32_t check_{p}(void)\n{{\n"]
    for g in gates:
        body.append(f"    arm_vector_sum_s8({p}_{g}_ki, {P}_INPUT_SIZE, {P}_HIDDEN_SIZE, {p}_{g}_gate_input_weights, "
                    f"{P}_INPUT_ZERO_POINT, 0, {p}_{g}_gate_bias);\n"
                    f"    arm_vector_sum_s8({p}_{g}_kh, {P}_HIDDEN_SIZE, {P}_HIDDEN_SIZE, {p}_{g}_gate_hidden_weights, "
                    f"-{P}_OUTPUT_ZERO_POINT, 0, NULL);\n")

    def gate(g, act):
        G = g.upper()
        return (f"{{{P}_{G}_GATE_INPUT_MULTIPLIER, {P}_{G}_GATE_INPUT_SHIFT, {p}_{g}_gate_input_weights, {p}_{g}_ki, "
                f"{P}_{G}_GATE_HIDDEN_MULTIPLIER, {P}_{G}_GATE_HIDDEN_SHIFT, {p}_{g}_gate_hidden_weights, {p}_{g}_kh, "
                f"{p}_{g}_gate_bias, {act}}}")
    body.append(
        f"    const cmsis_nn_lstm_params params = {{{P}_TIME_MAJOR, {P}_BATCH_SIZE, {P}_TIME_STEPS, {P}_INPUT_SIZE, "
        f"{P}_HIDDEN_SIZE, {P}_INPUT_ZERO_POINT, {P}_FORGET_TO_CELL_MULTIPLIER, {P}_FORGET_TO_CELL_SHIFT, "
        f"{P}_INPUT_TO_CELL_MULTIPLIER, {P}_INPUT_TO_CELL_SHIFT, {P}_CELL_CLIP, {P}_CELL_SCALE_POWER, "
        f"{P}_OUTPUT_MULTIPLIER, {P}_OUTPUT_SHIFT, {P}_OUTPUT_ZERO_POINT,\n"
        f"        {gate('forget', 'ARM_SIGMOID')}, {gate('input', 'ARM_SIGMOID')}, {gate('cell', 'ARM_TANH')}, "
        f"{gate('output', 'ARM_SIGMOID')}}};\n"
        f"    cmsis_nn_lstm_context ctx = {{{p}_b1, {p}_b2, {p}_b3, NULL}};\n"
        f"    if (arm_lstm_unidirectional_s8({p}_input_tensor, {p}_got, &params, &ctx) != ARM_CMSIS_NN_SUCCESS) {{\n"
        f"        return 0xFFFFFFFFu;\n    }}\n"
        f"    uint32_t bad = 0;\n"
        f"    for (uint32_t i = 0; i < sizeof {p}_got; i++) {{\n"
        f"        bad += {p}_got[i] != {p}_output[i];\n    }}\n    return bad;\n}}\n")
    return "".join(decl), "".join(body)


def _unit_test_f32(name: str) -> tuple[str, str]:
    P, p = name.upper(), name
    gates = ("forget", "input", "cell", "output")
    decl = (f'#include "{name}/test_data.h"\n'
            f"static float {p}_got[{P}_DST_SIZE], {p}_t1[{P}_CELL_STATE_SIZE], {p}_t2[{P}_CELL_STATE_SIZE], "
            f"{p}_cell[{P}_CELL_STATE_SIZE];\n")

    def gate(g, act):
        return f"{{{p}_{g}_input_weights, {p}_{g}_hidden_weights, {p}_{g}_bias, {act}}}"
    body = (f"static uint32_t check_{p}(void)\n{{\n"
            f"    const cmsis_nn_lstm_params_f32 params = {{{P}_TIME_MAJOR, {P}_BATCH_SIZE, {P}_TIME_STEPS, "
            f"{P}_INPUT_SIZE, {P}_HIDDEN_SIZE, {P}_CELL_CLIP,\n"
            f"        {gate('forget', 'ARM_NN_FLT_ACT_SIGMOID')}, {gate('input', 'ARM_NN_FLT_ACT_SIGMOID')},\n"
            f"        {gate('cell', 'ARM_NN_FLT_ACT_TANH')}, {gate('output', 'ARM_NN_FLT_ACT_SIGMOID')}}};\n"
            f"    cmsis_nn_lstm_context_f32 ctx = {{{p}_t1, {p}_t2, {p}_cell}};\n"
            f"    if (arm_lstm_unidirectional_f32({p}_input, {p}_got, &params, &ctx) != ARM_CMSIS_NN_SUCCESS) {{\n"
            f"        return 0xFFFFFFFFu;\n    }}\n"
            f"    uint32_t bad = 0;\n"
            f"    for (uint32_t i = 0; i < {P}_DST_SIZE; i++) {{\n"
            f"        float d = {p}_got[i] - {p}_output_ref[i];\n"
            f"        bad += d > 2.0e-5f || d < -2.0e-5f;   /* the tolerance of CMSIS-NN's own test */\n"
            f"    }}\n    return bad;\n}}\n")
    del gates
    return decl, body


def _dkp_term_cases(m: Model, prefix: str, cases: list) -> str:
    """DKP's Kronecker and sparse terms timed apart, one step of both layers each: what the overlay costs
    per stored value against what the Kronecker part costs per MAC. The overlay adds in place onto the
    Kronecker part's output, as rt_linear_s8 runs it (rows without entries are then skipped outright)."""
    calls = {"kron": [], "csr": []}
    for layer, x in (("ih", f"input_{m.task}_s8"), ("hh", "hidden_s8")):
        for k, t in enumerate(m.lowered["int8"].structure["layers"][layer]["terms"]):
            term, bias = f"{prefix}desc.{layer}.terms[{k}].p", f"{prefix}desc.{layer}.bias_q"
            calls[t["kind"]].append(f"    rt_kron_s8(&ctx, &{term}.kron, {x}, {bias}, (int32_t *)out_buf);\n"
                                    if t["kind"] == "kron" else
                                    f"    rt_csr_s8(&{term}.csr, {x}, (const int32_t *)out_buf, (int32_t *)out_buf);\n")
    out = ""
    for kind, body in calls.items():
        out += f"static void run_{prefix}{kind}(void)\n{{\n{''.join(body)}}}\n"
        cases.append((f"term/{m.task}/{m.method}/{kind}", f"run_{prefix}{kind}", 16))
    return out


def dkp_terms(models: list[Model], cases: dict) -> list[dict]:
    """Per task: the sparse overlay's instructions per stored value against the Kronecker part's per MAC."""
    out = []
    for m in models:
        if m.method != "dkp":
            continue
        s, arrays = m.lowered["int8"].structure, m.lowered["int8"].arrays
        nnz = sum(len(arrays[t["indices"]]) for n in ("ih", "hh") for t in s["layers"][n]["terms"] if t["kind"] == "csr")
        kron_macs = m.layer_macs["ih"] + m.layer_macs["hh"] - nnz   # a DKP layer's MACs are its Kronecker MACs plus S's
        kron, csr = cases[f"term/{m.task}/dkp/kron"], cases[f"term/{m.task}/dkp/csr"]
        out.append({"task": m.task, "kron_instructions": int(round(kron)), "kron_macs": kron_macs,
                    "csr_instructions": int(round(csr)), "csr_nnz": nnz,
                    "ratio": (csr / nnz) / (kron / kron_macs)})
    return out


def generate(models: list[Model], gen: Path, tests: Path | None) -> None:
    """bench_models.c (our exports), bench_cases.c (inputs, the peer, the case table)."""
    gen.mkdir(parents=True, exist_ok=True)
    ours = ['#include "rt.h"\n']
    for m in models:
        for dtype, lw in m.lowered.items():
            prefix = f"{m.task}_{m.method}_{dtype}_"
            ours.append(cgen.model_c(lw.structure, lw.arrays, model_hash(lw), prefix=prefix, header="rt.h"))
    (gen / "bench_models.c").write_text("\n".join(ours))

    c = ['#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n#include "arm_nnfunctions.h"\n#include "bench.h"\n#include "rt.h"\n']
    arena = max(lw.structure["arena_bytes"] for m in models for lw in m.lowered.values())
    c.append(f"static uint32_t arena[{(arena + 3) // 4}];\nstatic int32_t out_buf[512];\n"
             f"static struct rt_context ctx = {{&arena[0], sizeof arena}};\n")
    rng = np.random.default_rng(1)
    for task, (seq, feat, _) in SHAPES.items():
        x = rng.standard_normal((seq, feat)).astype(np.float32)
        c.append(_c_array("int8_t", f"input_{task}_s8", np.clip(np.rint(x * 32), -128, 127).astype(np.int8)))
        c.append(_c_array("float", f"input_{task}_f32", x))
    c.append(_c_array("int8_t", "hidden_s8", rng.integers(-128, 128, 128)))
    c.append(_c_array("float", "hidden_f32", rng.standard_normal(128).astype(np.float32)))
    cases, setup = [], []
    for m in models:
        for dtype in DTYPES:
            prefix = f"{m.task}_{m.method}_{dtype}_"
            c.append(f"extern const struct rt_model {prefix}desc;\n")
            sfx = "s8" if dtype == "int8" else "f32"
            c.append(f"static void run_{prefix}model(void)\n{{\n    (void)rt_infer(&{prefix}desc, input_{m.task}_{sfx}, "
                     f"out_buf, arena, sizeof arena);\n}}\n")
            cases.append((f"ours/{m.task}/{m.method}/{dtype}", f"run_{prefix}model", 1))
            if dtype == "int8":
                # The two weight layers of one step alone: the kernels' own cost.
                c.append(f"static void run_{prefix}layers(void)\n{{\n"
                         f"    rt_linear_s8(&ctx, &{prefix}desc.ih, input_{m.task}_s8, (int32_t *)out_buf);\n"
                         f"    rt_linear_s8(&ctx, &{prefix}desc.hh, hidden_s8, (int32_t *)out_buf);\n}}\n")
                cases.append((f"layers/{m.task}/{m.method}/{dtype}", f"run_{prefix}layers", 16))
                if m.method == "dkp":
                    c.append(_dkp_term_cases(m, prefix, cases))
        if m.method == "dense":
            d, s_, r = _peer_lstm_s8(f"peer_{m.task}_s8", m)
            c += [d, r]
            setup.append(s_)
            cases.append((f"peer/{m.task}/dense/int8", f"peer_{m.task}_s8_run", 1))
            d, r = _peer_lstm_f32(f"peer_{m.task}_f32", m)
            c += [d, r]
            cases.append((f"peer/{m.task}/dense/fp32", f"peer_{m.task}_f32_run", 1))
            if m.task == "kws":
                # The dense kernel alone at 512x128: CMSIS-NN's fully connected against rt_dense_s8.
                c.append("static int8_t fc_out[512];\nstatic int32_t fc_ksum[512];\n"
                         "static void peer_fc_run(void)\n{\n"
                         "    const cmsis_nn_context cc = {fc_ksum, sizeof fc_ksum};\n"
                         "    const cmsis_nn_fc_params fc = {0, 0, 0, {-128, 127}};\n"
                         f"    const cmsis_nn_per_tensor_quant_params q = {{{_tflite_multiplier(1e-3)[0]}, "
                         f"{_tflite_multiplier(1e-3)[1]}}};\n"
                         "    const cmsis_nn_dims in = {1, 1, 1, 128}, filter = {128, 1, 1, 512}, bias = {1, 1, 1, 512}, "
                         "out = {1, 1, 1, 512};\n"
                         "    (void)arm_fully_connected_s8(&cc, &fc, &q, &in, hidden_s8, &filter, "
                         "kws_dense_int8_desc.hh.terms[0].p.dense.w.q, &bias, NULL, &out, fc_out);\n}\n"
                         "static void ours_fc_run(void)\n{\n"
                         "    rt_dense_s8(&ctx, &kws_dense_int8_desc.hh.terms[0].p.dense, hidden_s8, NULL, "
                         "(int32_t *)out_buf);\n}\n")
                cases += [("peer/fc512x128/dense/int8", "peer_fc_run", 8), ("ours/fc512x128/dense/int8", "ours_fc_run", 8)]
                setup.append("    arm_vector_sum_s8(fc_ksum, 128, 512, kws_dense_int8_desc.hh.terms[0].p.dense.w.q, 0, 0, NULL);\n")
    checks = []
    if tests is not None:
        for t in UNIT_TESTS_S8:
            d, b = _unit_test_s8(t)
            c += [d, b]
            checks.append(t)
        for t in UNIT_TESTS_F32:
            d, b = _unit_test_f32(t)
            c += [d, b]
            checks.append(t)
    c.append("void bench_setup(void)\n{\n" + "".join(setup) + "}\n")
    c.append("const struct bench_case bench_cases[] = {\n"
             + "".join(f'    {{"{n}", {f}, {r}u}},\n' for n, f, r in cases) + "};\n"
             f"const uint32_t bench_case_count = {len(cases)}u;\n")
    c.append("const struct bench_check bench_checks[] = {\n"
             + ("".join(f'    {{"{t}", check_{t}}},\n' for t in checks) or '    {"none", NULL},\n') + "};\n"
             f"const uint32_t bench_check_count = {len(checks)}u;\n")
    (gen / "bench_cases.c").write_text("".join(c))


# ------------------------------------------------------------------- build --

def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{proc.stdout[-4000:]}")


def _config_files(board, out: Path) -> None:
    fw = firmware_source()
    values = {"BOARD": board.name, "CPU": board.core, "FW_VERSION": __version__, "CLOCK_HZ": str(board.clock_hz),
              "BAUD": str(board.serial.baud), "FW_TENSOR_BYTES": "4", "FW_SHARED_TENSORS": "0", "FW_HAS_MODEL": "0",
              "FLASH_ORIGIN": str(board.flash.origin), "FLASH_SIZE": str(board.flash.size),
              "RAM_ORIGIN": str(board.ram.origin), "RAM_SIZE": str(board.ram.size),
              "STACK_SIZE": str(board.stack_size)}
    for src, dst in (("cmake/fw_config.h.in", "fw_config.h"), ("cmake/memory.ld.in", "memory.ld")):
        text = (fw / src).read_text()
        for k, v in values.items():
            text = text.replace(f"@{k}@", v)
        (out / dst).write_text(text)
    # The models and inputs of every case (about 1 MB) do not fit a 512 KiB ITCM: where the board has more
    # memory the emulator maps, they go there (QEMU counts instructions, not wait states, so the counts hold).
    origin, size = BIG_CONST.get(board.name, (None, None))
    text = "" if origin is None else (
        f"MEMORY {{ BIGCONST (r) : ORIGIN = 0x{origin:08x}, LENGTH = {size} }}\n"
        "SECTIONS { .bench_const : { *bench_models.o(.rodata .rodata.*) *bench_cases.o(.rodata .rodata.*) } > BIGCONST }\n"
        "INSERT BEFORE .text;\n")
    (out / "bench_const.ld").write_text(text)


def build_image(board, gen: Path, cmsis: Path, tests: Path | None, out: Path) -> Path:
    fw = firmware_source()
    out.mkdir(parents=True, exist_ok=True)
    _config_files(board, out)
    core = [f"-mcpu={board.core}{board.cpu_features}", "-mthumb", f"-mfpu={board.fpu}", "-mfloat-abi=hard"]
    common = core + ["-std=c11", "-fno-common", "-ffunction-sections", "-fdata-sections", "-DARM_NN_ENABLE_F32=1"]
    inc = [f"-I{out}", f"-I{fw}", f"-I{fw / 'boards'}", f"-I{fw / 'boards' / board.name}", f"-I{fw / 'runtime'}",
           f"-I{cmsis / 'Include'}", f"-I{REPO / 'benchmarks' / 'peer'}"] + ([f"-I{tests}"] if tests else [])
    # Our code with the firmware's own flags; CMSIS-NN as its README advises.
    ours = ([fw / "startup" / f for f in ("startup.c", "fault.c")]
            + [fw / "boards" / "common" / f for f in ("mps2.c", "cmsdk_uart.c", "counter.c", "uart_rx.c")]
            + sorted((fw / "runtime").glob("*.c")) + [REPO / "benchmarks" / "peer" / "bench_main.c",
                                                     gen / "bench_models.c"])
    objs = []
    jobs = []
    # -ffreestanding as in the firmware; not for CMSIS-NN, whose word loads are
    # memcpy calls that only become single loads when memcpy is a builtin.
    for src in ours:
        jobs.append((src, ["-O2", "-ffreestanding"]))
    jobs.append((fw / "startup" / "libc_min.c", ["-O2", "-ffreestanding", "-fno-tree-loop-distribute-patterns"]))
    jobs.append((gen / "bench_cases.c", ["-O2"]))
    for d in CMSIS_DIRS:
        for src in sorted((cmsis / "Source" / d).glob("*.c")):
            if src.stem.endswith("_f16"):   # half precision is not built (no float16 on these cores)
                continue
            jobs.append((src, ["-Ofast", "-DARM_MATH_DSP"]))
    procs = []
    for i, (src, flags) in enumerate(jobs):
        obj = out / f"{i:03d}-{src.stem}.o"
        objs.append(obj)
        procs.append((src, subprocess.Popen(["arm-none-eabi-gcc", *common, *flags, *inc, "-c", str(src), "-o", str(obj)],
                                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
        while sum(p.poll() is None for _, p in procs) >= (os.cpu_count() or 2):
            time.sleep(0.05)
    for src, p in procs:
        text = p.communicate()[0]
        if p.returncode != 0:
            raise RuntimeError(f"compiling {src} failed:\n{text[-3000:]}")
    elf = out / "bench.elf"
    _run(["arm-none-eabi-gcc", *core, "-nostdlib", "-nostartfiles", f"-L{out}", f"-T{out / 'bench_const.ld'}", f"-T{fw / 'startup' / 'sections.ld'}",
          "-Wl,--gc-sections", *map(str, objs), "-lgcc", "-o", str(elf)], "linking the benchmark image")
    _run(["arm-none-eabi-objcopy", "-O", "binary", str(elf), str(out / "bench.bin")], "objcopy")
    return elf


def run_image(board, elf: Path, timeout: float = 600.0) -> tuple[dict, dict]:
    """Start the image on the board's QEMU twin, read its lines, stop QEMU (always)."""
    from harness.targets.qemu import QemuTarget
    cases, checks = {}, {}
    with QemuTarget(board, elf, elf.with_suffix(".bin")) as target:
        port = target.port
        port.timeout = 1.0
        deadline = time.monotonic() + timeout
        buf = b""
        while time.monotonic() < deadline:
            buf += port.read(4096)
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                parts = line.decode(errors="replace").split()
                if not parts:
                    continue
                if parts[0] == "case":
                    cases[parts[1]] = int(parts[3]) / int(parts[2])
                elif parts[0] == "check":
                    checks[parts[1]] = int(parts[2])
                elif parts[0] == "end":
                    if int(parts[1]) != 2:
                        raise RuntimeError("the image did not count instructions (counter kind "
                                           f"{parts[1]}); run it on a QEMU twin")
                    return cases, checks
        raise RuntimeError(f"the benchmark image did not finish within {timeout:.0f} s")


# ------------------------------------------------------------------- table --

def rows_for(board: str, models: list[Model], cases: dict, verified: str) -> list[dict]:
    rows = []
    for m in models:
        for dtype in DTYPES:
            peer = cases.get(f"peer/{m.task}/dense/{dtype}")
            n = cases[f"ours/{m.task}/{m.method}/{dtype}"]
            layers = cases.get(f"layers/{m.task}/{m.method}/{dtype}")
            lm = m.layer_macs["ih"] + m.layer_macs["hh"]
            rows.append({"board": board, "task": m.task, "method": m.method, "dtype": dtype, "impl": "ours",
                         "instructions": int(round(n)), "macs": m.macs, "per_mac": n / m.macs,
                         "kernel_per_mac": None if layers is None else layers / lm,
                         "peer_instructions": None if peer is None else int(round(peer)),
                         "vs_peer": None if peer is None else peer / n, "peer_check": verified})
    for task in SHAPES:
        dense = next(m for m in models if m.task == task and m.method == "dense")
        for dtype in DTYPES:
            peer = cases[f"peer/{task}/dense/{dtype}"]
            macs = dense.macs if dtype == "int8" else dense.macs - dense.lowered["fp32"].structure["hidden"] * \
                dense.lowered["fp32"].structure["classes"]
            rows.append({"board": board, "task": task, "method": "dense", "dtype": dtype, "impl": "cmsis-nn",
                         "instructions": int(round(peer)), "macs": macs, "per_mac": peer / macs,
                         "kernel_per_mac": None, "peer_instructions": int(round(peer)), "vs_peer": 1.0,
                         "peer_check": verified})
    fc_macs = 512 * 128
    for impl, key in (("cmsis-nn", "peer/fc512x128/dense/int8"), ("ours", "ours/fc512x128/dense/int8")):
        n = cases[key]
        rows.append({"board": board, "task": "fc512x128", "method": "dense", "dtype": "int8", "impl": impl,
                     "instructions": int(round(n)), "macs": fc_macs, "per_mac": n / fc_macs, "kernel_per_mac": n / fc_macs,
                     "peer_instructions": int(round(cases["peer/fc512x128/dense/int8"])),
                     "vs_peer": cases["peer/fc512x128/dense/int8"] / n, "peer_check": verified})
    return rows


def to_markdown(rows: list[dict]) -> str:
    ours_dense = {(r["board"], r["task"], r["dtype"]): r["instructions"] for r in rows
                  if r["impl"] == "ours" and r["method"] == "dense"}
    out = ["| board | task | method | dtype | implementation | MACs/inference | instructions/inference | instr/MAC "
           "| kernel instr/MAC | vs CMSIS-NN dense | vs our dense |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        kern = "" if r["kernel_per_mac"] is None else f"{r['kernel_per_mac']:.2f}"
        peer = "" if r["vs_peer"] is None else f"{r['vs_peer']:.2f}x"
        own = ours_dense.get((r["board"], r["task"], r["dtype"]))
        vs_own = f"{own / r['instructions']:.2f}x" if own and r["impl"] == "ours" else ""
        out.append(f"| {r['board']} | {r['task']} | {r['method']} | {r['dtype']} | {r['impl']} | {r['macs']:,} | "
                   f"{r['instructions']:,} | {r['per_mac']:.2f} | {kern} | {peer} | {vs_own} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", action="append", choices=PEER_BOARDS)
    ap.add_argument("--json", type=Path, help="write the rows as a JSON list of objects")
    ap.add_argument("--out", type=Path, help="also write the table to this markdown file")
    args = ap.parse_args()
    try:
        cmsis = cmsis_dir()
    except Skip as exc:
        print(f"skipped: {exc}")
        return
    tests = cmsis_tests(cmsis)
    for tool in ("arm-none-eabi-gcc", "qemu-system-arm"):
        if shutil.which(tool) is None:
            print(f"skipped: {tool} not found on PATH (run `make setup`)")
            return
    t0 = time.perf_counter()
    models = build_models()
    work = build_root() / "bench-peer"
    gen = work / "gen"
    generate(models, gen, tests)
    rows = []
    for name in args.board or ["qemu-m4"]:
        base, _, ext = name.partition("+")
        board = attrs.evolve(get_board(base), mve="int") if ext == "mve" else get_board(base)
        elf = build_image(board, gen, cmsis, tests, work / name)
        cases, checks = run_image(board, elf)
        if tests is None:
            verified = "unverified (no CMSIS-NN test data: set CMSIS_NN_TESTS)"
        elif any(checks.values()):
            bad = ", ".join(f"{k}: {v} mismatches" for k, v in checks.items() if v)
            raise SystemExit(f"CMSIS-NN's LSTM does not reproduce its own unit tests on {name} ({bad}); "
                             "its counts cannot be trusted")
        else:
            verified = "reproduces " + ", ".join(checks)
        print(f"{name}: CMSIS-NN {verified}", flush=True)
        rows += rows_for(name, models, cases, verified)
        for t in dkp_terms(models, cases):
            print(f"{name} {t['task']} dkp: Kronecker part {t['kron_instructions'] / t['kron_macs']:.2f} instr/MAC "
                  f"({t['kron_instructions']:,} for {t['kron_macs']:,}), sparse overlay "
                  f"{t['csr_instructions'] / t['csr_nnz']:.2f} instr per stored value ({t['csr_instructions']:,} for "
                  f"{t['csr_nnz']:,}): {t['ratio']:.2f}x", flush=True)
    table = to_markdown(rows)
    print(table)
    print(f"({time.perf_counter() - t0:.0f} s)")
    if args.out:
        args.out.write_text(table + "\n")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
