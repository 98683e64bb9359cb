"""The one error the report code raises for bad input."""

from __future__ import annotations


class ReportError(ValueError):
    """A run directory or thresholds file that cannot be read; one line says what is wrong and what to do."""
