"""Enforcement: evaluate a policy on a DataFrame, judge each control, keep the evidence."""

from ._combine import combine
from ._enforce import enforce
from ._record import on_recorded, sdk_record
from ._report import STATUSES, ControlResult, Report

__all__ = ["STATUSES", "ControlResult", "Report", "combine", "enforce", "on_recorded", "sdk_record"]
