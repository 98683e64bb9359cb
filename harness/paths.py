"""Where the project's own trees are: firmware sources, build output, reports."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def firmware_source() -> Path:
    src = Path(os.environ.get("HARNESS_FW_DIR", REPO_ROOT / "device_fw"))
    if not (src / "CMakeLists.txt").is_file():
        raise FileNotFoundError(
            f"firmware sources not found at {src}; run from a checkout of the repository or set HARNESS_FW_DIR")
    return src


def build_root() -> Path:
    """Build trees live outside the source tree, one per board."""
    return Path(os.environ.get("HARNESS_BUILD_DIR", REPO_ROOT / "build"))


def reports_root() -> Path:
    return Path(os.environ.get("HARNESS_REPORTS_DIR", REPO_ROOT / "reports"))
