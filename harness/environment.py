"""The environment record of a run: what ran where, with which tools."""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys

from . import __version__
from .paths import REPO_ROOT


def _first_line(cmd: list[str]) -> str | None:
    if shutil.which(cmd[0]) is None:
        return None
    try:
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.strip().splitlines()[0] if out.strip() else None


def git_commit() -> str | None:
    line = _first_line(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"])
    if line and len(line) == 40:
        dirty = _first_line(["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"])
        return line + ("-dirty" if dirty else "")
    return None


def toolchain() -> dict[str, str | None]:
    return {
        "harness": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "arm-none-eabi-gcc": _first_line(["arm-none-eabi-gcc", "--version"]),
        "cmake": _first_line(["cmake", "--version"]),
        "qemu-system-arm": _first_line(["qemu-system-arm", "--version"]),
    }
