"""Judgement: turn a measured value into pass / warn / fail, with the reason in words."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..policy import fail_sentence
from ._report import Status

if TYPE_CHECKING:
    from ..metrics import Measurement
    from ..policy import Control


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def judge(control: Control, m: Measurement) -> tuple[Status, str | None]:
    """Status and, for anything but a clean pass, one sentence saying why.

    Comparison is strict (``0.8 gt 0.8`` fails). A pass becomes ``warn`` when the value
    lies inside the warn band (it misses ``warn_threshold``) or when its confidence interval
    reaches across the threshold: on a resample of the same data it could have failed.
    """
    symbol = control.operator_symbol
    value = m.value
    threshold = control.threshold
    assert threshold is not None  # judge() runs only on judgeable controls (enforce checks)
    if not control.compare(value):
        return Status.FAIL, fail_sentence(control.metric, value, control.operator, threshold)
    if control.warn_threshold is not None and not control.compare(value, control.warn_threshold):
        return Status.WARN, (
            f"{control.metric} = {_fmt(value)} passes {symbol} {_fmt(threshold)} but is "
            f"inside the warn band (not {symbol} {_fmt(control.warn_threshold)})"
        )
    if m.ci is not None and control.operator not in ("eq", "ne"):
        low, high = m.ci
        if not (control.compare(low) and control.compare(high)):
            return Status.WARN, (
                f"{control.metric} = {_fmt(value)} passes, but its confidence interval "
                f"[{_fmt(low)}, {_fmt(high)}] crosses the threshold {_fmt(threshold)}"
            )
    return Status.PASS, None
