"""Enforcement: evaluate a policy on a DataFrame, judge each control, keep the evidence."""

from ._enforce import enforce
from ._record import sdk_record
from ._report import STATUSES, ControlResult, Report

__all__ = ["STATUSES", "ControlResult", "Report", "enforce", "sdk_record"]
