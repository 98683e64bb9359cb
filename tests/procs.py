"""Helpers for tests that start processes and send them signals."""

from __future__ import annotations

import signal


def default_signals() -> None:
    """preexec_fn for a child that a test will interrupt: SIGINT and SIGTERM at their defaults, whatever the
    test process inherited (a suite started in the background from a shell ignores SIGINT, and so would
    its children)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
