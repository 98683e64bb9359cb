"""A small trained model directory for the runner tests."""

import pytest


@pytest.fixture(scope="session")
def har_model(tmp_path_factory):
    from harness import train as tr
    out = tmp_path_factory.mktemp("models") / "har-kp-lstm"
    tr.train("har", "kp", out, hidden=8, epochs=1, progress=False)
    return out
