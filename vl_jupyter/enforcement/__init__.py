"""Enforcement: evaluate a policy on a DataFrame, judge each control, keep the evidence."""

from ._baseline import resolve_baseline
from ._compare import Comparison, ControlChange, compare_reports
from ._enforce import enforce
from ._record import sdk_record
from ._report import STATUSES, ControlResult, Report

__all__ = [
    "STATUSES",
    "Comparison",
    "ControlChange",
    "ControlResult",
    "Report",
    "compare_reports",
    "enforce",
    "resolve_baseline",
    "sdk_record",
]
