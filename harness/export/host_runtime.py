"""The device runtime compiled for this machine with the system C compiler, called through ctypes.

The very sources of device_fw/runtime/ and an export's model.c, so kernel and
model tests run in milliseconds without an emulator.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from ..paths import build_root, firmware_source
from .artefact import Exported

CFLAGS = ["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-Wshadow", "-fPIC", "-shared"]


class HostBuildError(RuntimeError):
    pass


def runtime_sources() -> list[Path]:
    return sorted((firmware_source() / "runtime").glob("*.c"))


def _compiler() -> str:
    for cc in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if cc and shutil.which(cc):
            return cc
    raise HostBuildError("no C compiler found (cc, gcc or clang); install build-essential")


def build_library(exported: Exported) -> Path:
    """Compile (or reuse) the shared library for one export."""
    rt = firmware_source() / "runtime"
    return _build([rt / "host" / "rt_host.c", exported.path / "model.c"], [exported.path / "model.h"],
                  [f"-I{exported.path}"])


def build_kernel_library() -> Path:
    """The runtime with host/rt_kernels.c: each kernel callable on its own (tests/export/test_kernels_host.py)."""
    return _build([firmware_source() / "runtime" / "host" / "rt_kernels.c"], [], [])


def _build(extra_sources: list[Path], extra_headers: list[Path], extra_flags: list[str]) -> Path:
    rt = firmware_source() / "runtime"
    sources = runtime_sources() + extra_sources
    headers = sorted(rt.glob("*.h")) + extra_headers
    key = hashlib.sha256()
    for f in sources + headers:
        key.update(f.name.encode() + f.read_bytes())
    key.update(" ".join(CFLAGS).encode())
    out = build_root() / "host-rt" / f"{key.hexdigest()[:20]}.so"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    cmd = [_compiler(), *CFLAGS, f"-I{rt}", *extra_flags, *map(str, sources), "-o", str(tmp)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise HostBuildError(f"host build of the runtime failed:\n{proc.stdout[-3000:]}")
    os.replace(tmp, out)   # atomic: parallel test workers never load a half-written file
    return out


class HostRuntime:
    """rt_infer of one export, on this machine."""

    def __init__(self, exported: Exported):
        self.exported = exported
        self.lib = ctypes.CDLL(str(build_library(exported)))
        self.lib.rt_host_infer.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        self.lib.rt_host_infer.restype = ctypes.c_int
        self.lib.rt_host_arena_bytes.restype = ctypes.c_size_t
        self.lib.rt_host_model_hash.restype = ctypes.POINTER(ctypes.c_uint8 * 32)
        s = exported.structure
        self.in_dtype = np.int8 if s["dtype"] == "int8" else np.float32
        self.out_dtype = np.int32 if s["dtype"] == "int8" else np.float32
        self.in_shape = (s["seq_len"], s["input_size"])
        self.classes = s["classes"]

    @property
    def arena_bytes(self) -> int:
        return int(self.lib.rt_host_arena_bytes())

    @property
    def model_hash(self) -> bytes:
        return bytes(self.lib.rt_host_model_hash().contents)

    def infer(self, x_device: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(logits (batch, classes), predicted class (batch,)) for device inputs (batch, seq_len, input_size)."""
        x = np.asarray(x_device)
        if x.ndim == 2:
            x = x[None]
        if x.shape[1:] != self.in_shape or x.dtype != self.in_dtype:
            raise ValueError(f"input must be {self.in_dtype.__name__} (batch, {self.in_shape[0]}, {self.in_shape[1]}), "
                             f"got {x.dtype} {x.shape}")
        logits = np.zeros((len(x), self.classes), self.out_dtype)
        pred = np.zeros(len(x), np.int64)
        for i in range(len(x)):
            xi = np.ascontiguousarray(x[i])
            rc = self.lib.rt_host_infer(xi.ctypes.data, logits[i].ctypes.data)
            if rc < 0:
                raise RuntimeError(f"rt_infer failed with {rc}")
            pred[i] = rc
        return logits, pred
