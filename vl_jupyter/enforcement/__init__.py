"""Enforcement: evaluate a policy on a DataFrame, judge each control, keep the evidence."""

from ._baseline import resolve_baseline
from ._combine import combine
from ._compare import Comparison, ControlChange, compare_reports
from ._enforce import enforce
from ._record import on_recorded, sdk_record
from ._report import (
    STATUSES,
    CIMetadata,
    ControlMetadata,
    ControlResult,
    RegressionMetadata,
    Report,
    Status,
)
from ._retain import retain
from ._scan import ScanResult, scan
from ._views import register_view

__all__ = [
    "STATUSES",
    "CIMetadata",
    "Comparison",
    "ControlChange",
    "ControlMetadata",
    "ControlResult",
    "RegressionMetadata",
    "Report",
    "ScanResult",
    "Status",
    "combine",
    "compare_reports",
    "enforce",
    "on_recorded",
    "register_view",
    "resolve_baseline",
    "retain",
    "scan",
    "sdk_record",
]
