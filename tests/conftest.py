"""Fixtures shared by all host tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# Helper modules beside this file (simboard, procs) are importable from the test folders below it.
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data next to the repository, or $HARNESS_SHARED_DATA."""
    root = Path(os.environ.get("HARNESS_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
    if not root.is_dir():
        pytest.skip(f"real data folder {root} is absent; set HARNESS_SHARED_DATA to run the real-data tests")
    return root
