"""The firmware's frame parser and dispatcher under libFuzzer, with AddressSanitizer and
UndefinedBehaviorSanitizer, for a bounded time (tests/firmware/fuzz/fuzz_proto.c says what it checks).

Built with the host's clang (installed by `make setup`); the corpus starts from valid frames of every
request type, so the fuzzer begins inside the protocol rather than at random bytes.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from harness.link import frame as fr
from harness.link.messages import Msg
from harness.paths import build_root, firmware_source

HERE = Path(__file__).resolve().parent
SECONDS = int(os.environ.get("HARNESS_FUZZ_SECONDS", "20"))


def _corpus(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    nonce = 0x1234
    hello = fr.Frame(Msg.HELLO, 1, nonce, struct.pack("<I", nonce)).encode() + fr.DELIMITER
    requests = {
        "write": (Msg.WRITE, struct.pack("<I", 0) + bytes(range(40))),
        "read": (Msg.READ, struct.pack("<BIH", 0, 0, 32)),
        "echo": (Msg.ECHO, struct.pack("<I", 16)),
        "status": (Msg.STATUS, b""),
        "infer": (Msg.INFER, bytes(range(16))),
        "infer-buffer": (Msg.INFER, b""),
    }
    for name, (msg, payload) in requests.items():
        frame = fr.Frame(msg, 2, nonce, payload).encode() + fr.DELIMITER
        (folder / name).write_bytes(hello + frame + frame)   # the second one is a retransmission
    (folder / "hello").write_bytes(hello)


@pytest.fixture(scope="module")
def fuzzer(tmp_path_factory):
    clang = shutil.which("clang")
    if clang is None:
        pytest.skip("clang is not installed; `make setup` installs it (Debian packages clang, libclang-rt-14-dev)")
    out = build_root() / "fuzz"
    out.mkdir(parents=True, exist_ok=True)
    exe = out / "fuzz_proto"
    proto = firmware_source() / "proto"
    cmd = [clang, "-g", "-O1", "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=undefined",
           f"-I{proto}", str(HERE / "fuzz" / "fuzz_proto.c"), *map(str, sorted(proto.glob("*.c"))), "-o", str(exe)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0 and "libclang_rt.fuzzer" in r.stderr:
        pytest.skip("libFuzzer's runtime is missing; `make setup` installs it (Debian package libclang-rt-14-dev)")
    assert r.returncode == 0, r.stderr[-3000:]
    return exe


def test_the_frame_parser_and_dispatcher_survive_the_fuzzer(fuzzer, tmp_path):
    corpus = tmp_path / "corpus"
    _corpus(corpus)
    # The target allocates nothing; what the process holds is the sanitizers' and libFuzzer's own (a small
    # ASan quarantine keeps that bounded), so the memory limit only guards against a runaway.
    env = {**os.environ, "ASAN_OPTIONS": "quarantine_size_mb=16:detect_leaks=1"}
    r = subprocess.run([str(fuzzer), f"-max_total_time={SECONDS}", "-timeout=5", "-rss_limit_mb=4096",
                        "-print_final_stats=1", str(corpus)], capture_output=True, text=True, timeout=SECONDS + 120,
                       cwd=tmp_path, env=env)
    log = r.stdout + r.stderr
    assert r.returncode == 0, log[-4000:]
    runs = int(re.search(r"stat::number_of_executed_units:\s+(\d+)", log).group(1))
    assert runs > 1000, log[-2000:]
    print(f"\nlibFuzzer: {runs} runs in {SECONDS} s, no finding")
