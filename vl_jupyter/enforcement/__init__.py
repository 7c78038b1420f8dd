"""Enforcement: evaluate a policy on a DataFrame, judge each control, keep the evidence."""

from ._baseline import resolve_baseline
from ._compare import Comparison, ControlChange, compare_reports
from ._enforce import enforce
from ._record import sdk_record
from ._report import (
    STATUSES,
    CIMetadata,
    ControlMetadata,
    ControlResult,
    RegressionMetadata,
    Report,
    Status,
)

__all__ = [
    "STATUSES",
    "CIMetadata",
    "Comparison",
    "ControlChange",
    "ControlMetadata",
    "ControlResult",
    "RegressionMetadata",
    "Report",
    "Status",
    "compare_reports",
    "enforce",
    "resolve_baseline",
    "sdk_record",
]
