"""Fixtures of the export and runtime tests."""

import pytest


@pytest.fixture(scope="session")
def export_root(tmp_path_factory):
    return tmp_path_factory.mktemp("exports")
