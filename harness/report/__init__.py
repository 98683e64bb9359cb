"""Reports from a run directory: metrics, tables, summary.md, index.html, and the run-to-run gate.

    write_report(run_dir) -> Path          # every report file into run_dir; returns index.html
    compare_runs(base_dir, new_dir)        # what changed per model; .failed is the regression gate
    main(base, new, thresholds_path) -> int

Heavy imports (pandas, matplotlib) happen on first use, so importing this
package stays cheap. See docs/reports.md for every file and column.
"""

from __future__ import annotations

from .errors import ReportError

__all__ = ["ReportError", "write_report", "compare_runs", "load_thresholds", "main", "Thresholds",
           "CompareResult", "load_samples", "summarize"]


def __getattr__(name: str):
    if name == "write_report":
        from .writer import write_report
        return write_report
    if name in ("compare_runs", "load_thresholds", "main", "Thresholds", "CompareResult"):
        from . import compare
        return getattr(compare, name)
    if name in ("load_samples", "summarize"):
        from . import metrics
        return getattr(metrics, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
