"""Fixtures: run directories written by hand in the runner's layout (see report_runs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from report_runs import write_run


@pytest.fixture
def emulated_run(tmp_path) -> Path:
    return write_run(tmp_path / "emulated-run")


@pytest.fixture
def hardware_run(tmp_path) -> Path:
    return write_run(tmp_path / "hardware-run", emulated=False)
